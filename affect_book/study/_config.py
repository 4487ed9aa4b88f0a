"""The grid of a study: a frozen :class:`StudyConfig` and its expansion into one TrainConfig per run.

Everything is validated before any training: an unknown preset or condition (with a close match), fewer than two
seeds, a cost that cannot be built for a preset's classes (every TrainConfig goes through
:func:`affect_book.trainer.validate_config`, which builds its cost).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from .. import circumplex as cx
from ..cache import cache_root, config_hash
from ..circumplex import concept_of
from ..degeneracy import nearest_pair
from ..profiles import get_profile
from ..params import ParameterError, check_choice, check_number
from ._conditions import CONDITIONS, _check_conditions, get_condition

__all__ = ["CHAPTER_CONDITIONS", "CHAPTER_LEAVES_OUT", "DATA_DRAWS", "DEFAULT_CONDITIONS", "READING_CONDITIONS",
           "StudyConfig", "StudyRun", "chapter_conditions", "designated_pair_of", "expand_study", "study_cost_fill",
           "study_dir", "study_identity", "study_key"]

#: The study's model, its control and the two geometry-removing controls (the CLI's default grid).
DEFAULT_CONDITIONS = ("base", "circumplex", "uniform", "uniform_column", "permuted")
#: The two readings of what the uniform term does (chapter 04): an entropy confidence penalty, a noise-robust loss.
READING_CONDITIONS = ("confidence_penalty", "gce")
#: Chapter 07's grid in every profile: the default conditions, the valence-arousal-dominance cost (does dominance,
#: which sets anger and fear apart, change what the circumplex cost does?) and the two readings, so the book tests
#: the study's "generic confidence penalty" reading wherever it runs. In :data:`CONDITIONS`' order (canonical).
CHAPTER_CONDITIONS = DEFAULT_CONDITIONS + ("vad",) + READING_CONDITIONS
#: What chapter 07's default grid leaves out, by profile: in ``cpu`` the two geometry-removing controls, which no claim
#: tests (20 of its 80 runs): with them the chapter took 34 min 50 s on 2 cores (measured 2026-12-07), over its
#: 30-minute budget; a reader adds them with ``CONDITIONS``. ``smoke`` keeps them (their code path runs in CI), as
#: does ``gpu``.
CHAPTER_LEAVES_OUT = {"cpu": ("uniform_column", "permuted")}


def chapter_conditions(profile: str) -> tuple[str, ...]:
    """Chapter 07's default grid in ``profile``: :data:`CHAPTER_CONDITIONS` less :data:`CHAPTER_LEAVES_OUT`'s.

    Parameters
    ----------
    profile : str
        A run profile (:data:`affect_book.profiles.PROFILES`).

    Returns
    -------
    tuple of str
        The conditions, in :data:`CONDITIONS`' order.
    """
    left_out = CHAPTER_LEAVES_OUT.get(profile, ())
    return tuple(c for c in CHAPTER_CONDITIONS if c not in left_out)


def _frozen(value):
    """Lists (at any depth, e.g. a knob's ``[["Disgust", 2.0]]`` from JSON) as tuples, so the value hashes."""
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def _pairs(value, what: str) -> tuple:
    """A dict or (key, value) pairs as sorted pairs (hashable, order-free)."""
    if value is None:
        return ()
    items = value.items() if isinstance(value, dict) else value
    try:
        pairs = tuple(sorted((str(k), _frozen(v)) for k, v in items))
    except (TypeError, ValueError):
        raise ParameterError(f"{what}={value!r}: expected a dict or (key, value) pairs") from None
    return pairs


def _check_finite(name: str, value, low: float | None = None, high: float | None = None):
    """:func:`check_number`, and NaN or infinity refused (NaN passes every comparison of a range check)."""
    check_number(name, value, low=low, high=high)
    if not math.isfinite(value):
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ParameterError(f"{name}={value!r} is not valid; expected a finite number in {bounds}")
    return value


@dataclass(frozen=True)
class StudyConfig:
    """A controlled study: every (preset, condition, seed) run of one grid, with shared training settings.

    Attributes
    ----------
    presets : tuple of str
        Simulator presets (``dataset="synthetic"``); with another ``dataset`` (a licensed copy under ``data_root``)
        the grid has one data source and ``presets`` must be empty.
    conditions : tuple of str
        Names from :data:`CONDITIONS`.
    seeds : int, tuple of int or None
        A number n (seeds 0..n-1) or explicit seeds, at least two (default: the profile's).
    profile : str
        Sizes: ``smoke``, ``cpu`` or ``gpu``.
    dataset, data_root : str
        The data source and, for a licensed copy, its folder.
    data : tuple or dict
        Extra data options ((key, value) pairs or a dict, e.g. ``{"n_train": 500}``; default: the profile's study
        size, ``study_n_train``, ``study_n_val``, ``study_n_test`` and ``study_image_size``, the last alone for
        real data).
    epochs, width, batch_size : int or None
        Shared training sizes (default: the profile's ``study_epochs``, ``study_width`` and ``study_batch_size``).
    lr : float or None
        Peak learning rate (default: the profile's ``study_lr``).
    crop : float or None
        The largest random shift of the training images (``TrainConfig.crop``; default: the profile's
        ``study_crop``).
    norm, device : str
        Shared training settings.
    lambda_ot : float
        The OT weight of every cost condition.
    coordinates : str
        The coordinate set of the costs.
    cost_fill : tuple or None
        Hand placements ((class, (valence, arousal)), ...) for classes without published coordinates (default:
        the simulator's placements for a preset, Other excepted; none for real data).
    train_options : tuple or dict
        Any other TrainConfig fields ((key, value) pairs or a dict, e.g. ``{"lr": 1e-3}``).
    data_draw : {"per_seed", "shared"}
        ``"per_seed"`` (default): each seed of a simulated grid draws its own data (train, val and test: the
        simulator's ``seed`` knob is the run's seed), so a seed is the unit of replication and the test split's
        sampling error differs between seeds instead of being the same in every run; runs are still paired across
        conditions (one seed, one draw, every condition). ``"shared"``: every seed trains on one draw (the
        ``data`` option ``seed``, default 0), so seeds vary only the initial weights, the order and the
        augmentation. A licensed copy has one fixed set of images either way.
    """

    presets: tuple = ("affwild2", "affectnet")
    conditions: tuple = DEFAULT_CONDITIONS
    seeds: int | tuple | None = None
    profile: str = "cpu"
    dataset: str = "synthetic"
    data_root: str | None = None
    data: tuple = ()
    epochs: int | None = None
    width: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    crop: float | None = None
    norm: str = "batch"
    device: str = "auto"
    lambda_ot: float = 0.5
    coordinates: str = "russell1977"
    cost_fill: tuple | None = None
    train_options: tuple = ()
    data_draw: str = "per_seed"

    def __post_init__(self):
        prof = get_profile(self.profile)
        setattr_ = object.__setattr__  # normalize once, so equal studies hash equally
        presets = (self.presets,) if isinstance(self.presets, str) else tuple(self.presets)
        setattr_(self, "presets", presets)
        setattr_(self, "conditions", _check_conditions(self.conditions))
        seeds = prof.seeds if self.seeds is None else self.seeds
        if isinstance(seeds, bool) or not isinstance(seeds, (int, tuple, list)):
            raise ParameterError(f"seeds={seeds!r}: expected a number of seeds (>= 2) or a list of seeds")
        if isinstance(seeds, int) and seeds < 2:
            raise ParameterError(f"seeds={seeds}: expected a number of seeds >= 2 (a paired comparison needs at "
                                 f"least 2 seeds; 5 or more for a two-sided p below 0.1) or a list of seeds")
        seeds = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
        for s in seeds:
            check_number("seed", s, low=0, integer=True)
        if len(seeds) < 2:
            raise ParameterError(f"seeds={seeds}: a paired comparison needs at least 2 seeds (5 or more for a "
                                 f"two-sided p below 0.1)")
        if len(set(seeds)) != len(seeds):
            raise ParameterError(f"seeds={seeds} repeats a seed")
        setattr_(self, "seeds", seeds)
        for name, default in (("epochs", prof.study_epochs), ("width", prof.study_width),
                              ("batch_size", prof.study_batch_size)):
            value = default if getattr(self, name) is None else getattr(self, name)
            setattr_(self, name, check_number(name, value, low=1, integer=True))
        _check_finite("lambda_ot", self.lambda_ot, low=0)
        setattr_(self, "lr", float(_check_finite("lr", prof.study_lr if self.lr is None else self.lr, low=1e-8,
                                                 high=10)))
        setattr_(self, "crop", float(_check_finite("crop", prof.study_crop if self.crop is None else self.crop,
                                                   low=0, high=0.49)))
        sizes = {"image_size": prof.study_image_size}
        if self.dataset == "synthetic":
            sizes.update(n_train=prof.study_n_train, n_val=prof.study_n_val, n_test=prof.study_n_test)
        setattr_(self, "data", _pairs({**sizes, **dict(_pairs(self.data, "data"))}, "data"))
        setattr_(self, "train_options", _pairs(self.train_options, "train_options"))
        check_choice("data_draw", self.data_draw, DATA_DRAWS)
        if self.data_draw == "per_seed" and self.dataset == "synthetic" and "seed" in dict(self.data):
            raise ParameterError(f"data sets seed={dict(self.data)['seed']} with data_draw='per_seed' (each seed "
                                 f"draws its own data); use data_draw='shared' to train every seed on one draw")
        if self.cost_fill is not None:
            fill = _pairs(self.cost_fill, "cost_fill")
            setattr_(self, "cost_fill", tuple((k, tuple(float(x) for x in v)) for k, v in fill))
        if self.data_root is not None:
            setattr_(self, "data_root", str(self.data_root))
        self._check_sources()

    def _check_sources(self) -> None:
        from ..data.sources import SOURCES  # deferred: the data package imports torch; the study loads without

        check_choice("dataset", self.dataset, sorted(SOURCES))
        if self.dataset == "synthetic":
            from ..data.simulator import PRESETS  # deferred: the data package imports torch; the study loads without

            if not self.presets:
                raise ParameterError(f"presets is empty; expected one or more of {list(PRESETS)}")
            for preset in self.presets:
                check_choice("preset", preset, PRESETS)
            if len(set(self.presets)) != len(self.presets):
                raise ParameterError(f"presets={self.presets} repeats a preset")
            if self.data_root is not None:
                raise ParameterError("data_root is set with dataset='synthetic'; the simulator reads no folder")
        elif self.presets:
            raise ParameterError(f"presets={self.presets} with dataset={self.dataset!r}: presets name simulator "
                                 f"settings; a licensed copy is one data source (leave presets empty)")
        elif self.data_root is None:
            raise ParameterError(f"dataset={self.dataset!r} needs data_root (the folder of your licensed copy)")
        clash = sorted(set(dict(self.train_options)) & _SET_BY_STUDY)
        if clash:
            raise ParameterError(f"train_options sets {clash}, which the study sets itself (use the StudyConfig "
                                 f"fields or a condition)")

    @property
    def sources(self) -> tuple[str, ...]:
        """One label per data source of the grid: the presets, or the dataset's name."""
        return self.presets if self.dataset == "synthetic" else (self.dataset,)

    def load_options(self, source: str, seed: int | None = None) -> dict:
        """Keyword arguments of :func:`affect_book.data.sources.load_splits` for ``source`` (data options only).

        Parameters
        ----------
        source : str
            A preset name (synthetic data) or the dataset's name.
        seed : int, optional
            The run's seed: with ``data_draw="per_seed"`` on simulated data it is the draw's ``seed`` option.
            None: the options every draw of the source shares (its classes, its designated pair).

        Returns
        -------
        dict
            The data options, with ``preset`` set for synthetic data (and ``seed`` for a per-seed draw).
        """
        options = dict(self.data)
        if self.dataset == "synthetic":
            options["preset"] = source
            if seed is not None and self.data_draw == "per_seed":
                options["seed"] = int(seed)
        return options

    @property
    def n_runs(self) -> int:
        """Runs in the grid: sources x conditions x seeds."""
        return len(self.sources) * len(self.conditions) * len(self.seeds)


#: How the seeds of a grid draw their data (:attr:`StudyConfig.data_draw`).
DATA_DRAWS = ("per_seed", "shared")

_SET_BY_STUDY = {"classes", "dataset", "data", "seed", "profile", "epochs", "width", "batch_size", "lr", "crop",
                 "norm", "device", "lambda_ot", "cost", "coordinates", "cost_fill", "cost_pair", "expression_loss",
                 "expression_param"}


@dataclass(frozen=True)
class StudyRun:
    """One run of a grid.

    Attributes
    ----------
    dataset : str
        The data source.
    preset : str or None
        The simulator preset (synthetic data), else None.
    condition : str
        The condition's name.
    seed : int
        The run's seed.
    config : TrainConfig
        What it trains.
    data_root : str or None
        A licensed copy's folder.
    load : tuple
        :func:`affect_book.data.sources.load_splits` options as (key, value) pairs.
    """

    dataset: str
    preset: str | None
    condition: str
    seed: int
    config: object
    data_root: str | None = None
    load: tuple = ()

    @property
    def label(self) -> str:
        """``source / condition / seed N``, for progress lines and errors."""
        return f"{self.preset or self.dataset} / {self.condition} / seed {self.seed}"


def _cost_placements(placements: tuple) -> tuple:
    """The simulator's hand placements as a cost's ``cost_fill``, without Other: the book's rule charges Other the
    mean off-diagonal cost of the placed classes (:func:`affect_book.costs.ot_cost`), never a position."""
    return tuple((name, va) for name, va in placements if concept_of(name) != "other")


def _with_dominance(fill: tuple) -> tuple:
    """The default hand placements with dominance, for a valence-arousal-dominance cost: a class placed at the
    book's default placement (contempt at the midpoint of anger and disgust) gets the same rule's dominance, the
    midpoint of theirs (:func:`affect_book.circumplex.hand_placements` with ``dims=3``, Russell & Mehrabian 1977,
    as the simulator's placement); any other placement is left as it is."""
    named = cx.hand_placements(cx.DEFAULT_PLACEMENT, "russell1977", dims=3)
    out = []
    for name, point in fill:
        ref = named.get(concept_of(name))
        if ref is not None and len(point) == 2 and all(math.isclose(p, r) for p, r in zip(point, ref)):
            point = ref
        out.append((name, tuple(point)))
    return tuple(out)


def _classes_and_fill(study: StudyConfig, source: str) -> tuple[tuple[str, ...], tuple]:
    """A source's class names (without generating or decoding any image) and its default hand placements."""
    options = study.load_options(source)
    if study.dataset == "synthetic":
        from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

        options.pop("preset")
        sim = make_config(source, study.profile, **options)
        return tuple(sim.classes), _cost_placements(tuple(sim.placements))
    from ..data.sources import get_records  # deferred: the data package imports torch; the study loads without

    options.pop("image_size", None)  # decoding size (load_splits), not an option of the record index
    return tuple(get_records(study.dataset, study.data_root, "train", **options).classes), ()


def study_cost_fill(study: StudyConfig, source: str) -> tuple:
    """The hand placements of a source's costs in the grid: the study's ``cost_fill`` when it states one, else the
    source's default (the simulator's placements without Other; none for a licensed copy).

    Parameters
    ----------
    study : StudyConfig
        The grid.
    source : str
        A preset or the dataset's name.

    Returns
    -------
    tuple
        ((class, (valence, arousal)), ...), as the grid's cost conditions train with (``TrainConfig.cost_fill``).
    """
    return study.cost_fill if study.cost_fill is not None else _classes_and_fill(study, source)[1]


def designated_pair_of(study: StudyConfig, source: str, classes: tuple[str, ...]) -> tuple[str, str]:
    """The degenerate pair a pair-acting condition (``pair_margin``) pushes apart on ``source``.

    Parameters
    ----------
    study : StudyConfig
        The grid.
    source : str
        A preset or the dataset's name.
    classes : tuple of str
        The source's classes.

    Returns
    -------
    (str, str)
        A simulator preset's designated pair (``SimulatorConfig.pair``, after the grid's data options); for a licensed
        copy, the nearest pair of its classes on Russell & Mehrabian's (1977) coordinates with the book's default
        hand placement (:func:`affect_book.degeneracy.nearest_pair`; Other left out).
    """
    if study.dataset == "synthetic":
        from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

        options = study.load_options(source)
        options.pop("preset")
        return tuple(make_config(source, study.profile, **options).pair)
    placed = cx.coordinates(classes, "russell1977", placement=cx.DEFAULT_PLACEMENT)
    return tuple(nearest_pair(placed).pair)


def expand_study(study: StudyConfig) -> list[StudyRun]:
    """Every run of the grid, each TrainConfig validated; nothing is trained or generated.

    Parameters
    ----------
    study : StudyConfig
        The grid.

    Returns
    -------
    list of StudyRun
        Source-major, then condition, then seed.

    Raises
    ------
    ParameterError
        (a ValueError) naming the source and condition whose config the trainer rejects (a cost that cannot be
        built for the classes, a loss or cost this trainer lacks), or a train option that is no TrainConfig field.
    NotYetSupported
        For a condition the trainer cannot run yet (none at present: the table keeps the mechanism).
    """
    from ..trainer import TrainConfig, validate_config  # deferred: the trainer imports torch; the study loads without

    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(dict(study.train_options)) - known)
    if unknown:
        raise ParameterError(f"train_options {unknown} are not TrainConfig fields; expected among {sorted(known)}")
    for name in study.conditions:
        if get_condition(name).unsupported:
            get_condition(name).train_overrides(0.0, "", ())  # raises NotYetSupported with the reason
    runs = []
    for source in study.sources:
        classes, default_fill = _classes_and_fill(study, source)
        fill = study.cost_fill if study.cost_fill is not None else default_fill
        pair = designated_pair_of(study, source, classes) if any(
            CONDITIONS[name].needs_pair for name in study.conditions) else ()
        for name in study.conditions:
            # a dominance cost needs the default placement's dominance too (a stated cost_fill stays as stated)
            own = _with_dominance(fill) if CONDITIONS[name].cost == "vad" and study.cost_fill is None else fill
            overrides = CONDITIONS[name].train_overrides(study.lambda_ot, study.coordinates, own, pair)
            for seed in study.seeds:
                data = tuple(sorted(study.load_options(source, seed).items()))
                config = TrainConfig(classes=classes, dataset=study.dataset, data=data, epochs=study.epochs,
                                     width=study.width, batch_size=study.batch_size, lr=study.lr, crop=study.crop,
                                     norm=study.norm, device=study.device, profile=study.profile, seed=seed,
                                     **dict(study.train_options), **overrides)
                try:
                    validate_config(config)
                except (ValueError, KeyError) as err:
                    raise ParameterError(f"condition {name!r} on {source!r} (classes {list(classes)}): {err}") \
                        from None
                preset = source if study.dataset == "synthetic" else None
                runs.append(StudyRun(study.dataset, preset, name, seed, config, study.data_root, data))
    return runs


def study_identity(study: StudyConfig) -> StudyConfig:
    """The study in its canonical order: conditions as :data:`CONDITIONS` lists them, presets as the simulator's
    ``PRESETS`` does, seeds ascending. The grid (its set of runs) is the same; only the order, which names nothing,
    is gone.

    Parameters
    ----------
    study : StudyConfig
        Any study.

    Returns
    -------
    StudyConfig
        ``study`` itself when already canonical (the default and chapter grids are), else a canonical copy.
    """
    from ..data.simulator import PRESETS  # deferred: the data package imports torch; the study loads without

    order = list(CONDITIONS)
    presets = list(PRESETS)
    canonical = {"conditions": tuple(sorted(study.conditions, key=order.index)),
                 "presets": tuple(sorted(study.presets, key=lambda p: (presets.index(p) if p in presets else
                                                                      len(presets), p))),
                 "seeds": tuple(sorted(study.seeds))}
    if all(getattr(study, k) == v for k, v in canonical.items()):
        return study
    return dataclasses.replace(study, **canonical)


def study_key(study: StudyConfig) -> str:
    """The study's name in the cache: the hash of :func:`study_identity`, so ``conditions=("base", "circumplex")``
    and ``("circumplex", "base")`` (or seeds, presets in another order) name one study and one results table.

    Parameters
    ----------
    study : StudyConfig
        Any study.

    Returns
    -------
    str
        16 hex digits (:func:`affect_book.cache.config_hash`); for a study already in canonical order, the hash of
        the study itself (so the folders of the default and chapter grids are those earlier versions wrote).
    """
    return config_hash(study_identity(study))


def study_dir(study: StudyConfig) -> Path:
    """Where a study's results live (not created).

    Parameters
    ----------
    study : StudyConfig
        The study whose folder is asked for (its :func:`study_key` names it: the order of its conditions, presets
        and seeds does not matter).

    Returns
    -------
    Path
        ``cache_root()/studies/<study_key(study)>``.
    """
    return cache_root() / "studies" / study_key(study)
