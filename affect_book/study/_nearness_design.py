"""Chapter 09's rebuilt factorial: circumplex nearness as a dose that reaches the data, and a fair test of the fixes.

:class:`~affect_book.study.FactorialDesign` moved the designated pair's valence-arousal centroids, which reached only
the VA labels and the cost, never the images or the expression labels. A :class:`NearnessDesign` lets nearness reach
the data through the simulator's two causal paths (:mod:`affect_book.data.simulator`, ``_paths``) and varies it as a
dose, on one preset's designated pair (anger-fear on ``affwild2``):

- **dose cells** (base only): ``frequency`` (the preset's published training frequencies, or every class equally
  frequent; validation and test keep the published mix) x the pair's valence-arousal ``distance`` (``dose``:
  fractions of the preset's **published** pair distance, computed from its centroids, never typed; default 0, 1/3,
  2/3 and 1 of it) x ``path``:

  - ``annotation``: ``annotation_geometry="cell"``, ``appearance_from_va=0`` (the annotator confuses the pair as
    its distance in the cell says; only where ``annotation_noise > 0``);
  - ``appearance``: ``annotation_geometry="published"``, ``appearance_from_va=appearance_weight`` (faces drawn
    towards the valence-arousal kernel mean of the cell's faces);
  - ``both``: both knobs (as on the real benchmarks, where both would act).

  Every dose cell has the pair visually distinct (``visual_degeneracy=0``), no ``visual_partner`` and the pair's
  own ``class_intensity`` factors removed (as the earlier design did), so the pair's faces differ only as the path
  says; ``annotation_noise`` is the design's (default: the preset's calibrated value) in every cell.
- **fix cells**: ``fix_frequency`` (default ``"balanced"``: every class equally frequent in training, so the test
  is of degeneracy, not of a class too rare to learn; at the published frequencies chapter 09's cpu run found the
  base model's pair F1 near 0 in the partly and fully shared cells, where no fix and no cost could be told apart),
  the preset's own (published) pair distance, both paths off, the pair's visual overlap ``visual_degeneracy`` at
  each of ``visual_levels`` (0 distinct, 0.5 and 0.8 partly shared, 1 fully shared), with the ``fix_conditions``
  (base, the cost aimed at the pair, the circumplex and valence-arousal-dominance costs) and the representation
  ``fixes`` (``pair_margin`` the primary one).

Each cell is a :class:`~affect_book.study.StudyConfig` whose OT cost is filled from that cell's own centroids (with the
published dominance, :func:`nearness_fill`, for the ``vad`` cost); all run
in one pool (:func:`~affect_book.study.run_studies`) through the load-or-train cache. :func:`run_nearness` returns one
row per run with the pair's F1, its two test confusions and the pair's label confusion in the cell's training labels
(observed label against the class the face shows), so the annotation path's dose is visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from .. import circumplex as cx
from ..params import ParameterError, check_choice, check_number
from ..profiles import get_profile
from ._chapter import _names
from ._conditions import _check_conditions
from ._config import StudyConfig, _pairs
from ._factorial import FACTORIAL_DATA, FACTORIAL_N_TEST
from ._nearness_rows import pair_label_confusion, pair_test_confusion
from ._run import run_studies

__all__ = ["DOSE", "NEARNESS_LEVELS", "NEARNESS_PATHS", "NearnessDesign", "nearness_cell_config",
           "nearness_cell_knobs", "nearness_cells", "nearness_fill", "nearness_label", "nearness_n_runs",
           "nearness_studies", "published_pair_distance", "run_nearness"]

#: The causal paths of the dose cells, in the order the chapter reports them; fix cells have path ``"none"``.
NEARNESS_PATHS = ("annotation", "appearance", "both")
#: The default dose: fractions of the preset's published pair distance.
DOSE = (0.0, 1 / 3, 2 / 3, 1.0)
#: The levels of the fix cells per profile (None fields of a design take these). ``gpu`` runs the full design;
#: ``cpu`` (and ``smoke``, the same cells at tiny size) drop what chapter 09's 45-minute budget on 2 cores cannot
#: hold: the 0.8 visual level, and the ``supcon``, ``au_off`` and ``au_strong`` fixes (the primary fix,
#: ``pair_margin``, stays). 24 dose cells x 5 seeds + 3 x 5 fix cell-conditions x 5 seeds = 195 cpu runs.
NEARNESS_LEVELS: dict[str, dict] = {
    "smoke": {"visual_levels": (0.0, 0.5, 1.0), "fix_conditions": ("base", "pair_cost", "circumplex", "vad"),
              "fixes": ("pair_margin",)},
    "cpu": {"visual_levels": (0.0, 0.5, 1.0), "fix_conditions": ("base", "pair_cost", "circumplex", "vad"),
            "fixes": ("pair_margin",)},
    "gpu": {"visual_levels": (0.0, 0.5, 0.8, 1.0), "fix_conditions": ("base", "pair_cost", "circumplex", "vad"),
            "fixes": ("pair_margin", "supcon", "au_off", "au_strong")}}


def published_pair_distance(preset: str, profile: str = "cpu") -> float:
    """The designated pair's valence-arousal distance in the preset's own (published) geometry.

    Parameters
    ----------
    preset, profile : str

    Returns
    -------
    float
    """
    from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

    sim = make_config(preset, profile)
    va = sim.centroids()
    i, j = (sim.classes.index(c) for c in sim.pair)
    return float(np.hypot(*(va[i] - va[j])))


@dataclass(frozen=True)
class NearnessDesign:
    """The rebuilt factorial: dose cells (frequency x distance x path, base only) and fix cells (visual overlap x
    costs and representation fixes).

    Attributes
    ----------
    preset : str
        The simulator preset (it needs a designated pair).
    dose : tuple of float
        The pair's distances as fractions of the preset's published pair distance, in [0, 2], at least two distinct.
    paths : tuple of str
        The paths of the dose cells (names of :data:`NEARNESS_PATHS`).
    appearance_weight : float
        ``appearance_from_va`` of the appearance path, in [0, 1] (0: the path is off, its verdict "not testable").
    annotation_noise : float or None
        ``annotation_noise`` of every cell, in [0, 0.9] (None: the preset's calibrated value; 0: the annotation path
        is off, its verdict "not testable").
    visual_levels : tuple of float or None
        ``visual_degeneracy`` of the fix cells, in [0, 1] (None: :data:`NEARNESS_LEVELS` of the profile).
    fix_conditions : tuple of str or None
        The conditions of every fix cell, with ``base`` (None: the profile's).
    fixes : tuple of str or None
        The representation fixes of the fix cells (None: the profile's; may be empty).
    seeds : int, tuple or None
        As :class:`StudyConfig` (None: the profile's).
    profile : str
        ``smoke``, ``cpu`` or ``gpu``.
    lambda_ot : float
        The OT weight of the cost conditions.
    data : tuple or dict
        Extra data options of every cell (default: :data:`~affect_book.study.FACTORIAL_DATA` of the profile).
    data_draw : {"shared", "per_seed"}
        As :class:`StudyConfig`: ``"shared"`` (chapter 09) or ``"per_seed"`` (a recorded study).
    fix_frequency : {"balanced", "published"}
        The training frequencies of the fix cells (validation and test keep the published mix, as in the dose
        cells).
    """

    preset: str = "affwild2"
    dose: tuple = DOSE
    paths: tuple = NEARNESS_PATHS
    appearance_weight: float = 0.75
    annotation_noise: float | None = None
    visual_levels: tuple | None = None
    fix_conditions: tuple | None = None
    fixes: tuple | None = None
    seeds: int | tuple | None = None
    profile: str = "cpu"
    lambda_ot: float = 0.5
    data: tuple = ()
    data_draw: str = "shared"
    fix_frequency: str = "balanced"

    def __post_init__(self):
        from ..data.simulator import PRESETS, make_config  # deferred: the data package imports torch

        setattr_ = object.__setattr__
        get_profile(self.profile)
        check_choice("preset", self.preset, PRESETS)
        if not PRESETS[self.preset].get("pair"):
            raise ParameterError(f"preset {self.preset!r} has no designated pair; expected one with a pair, e.g. "
                                 f"'affwild2'")
        levels = NEARNESS_LEVELS[self.profile]
        dose = tuple(float(x) for x in np.atleast_1d(self.dose))
        for x in dose:
            check_number("dose", x, low=0, high=2)
        if len(set(dose)) < 2 or len(set(dose)) != len(dose):
            raise ParameterError(f"dose={list(dose)}: expected two or more different fractions of the published "
                                 f"pair distance, e.g. {list(DOSE)}")
        setattr_(self, "dose", tuple(sorted(dose)))
        paths = _names(self.paths)
        for name in paths:
            check_choice("paths", name, NEARNESS_PATHS)
        if not paths or len(set(paths)) != len(paths):
            raise ParameterError(f"paths={list(paths)}: expected one or more different paths among "
                                 f"{list(NEARNESS_PATHS)}")
        setattr_(self, "paths", tuple(p for p in NEARNESS_PATHS if p in paths))
        check_number("appearance_weight", self.appearance_weight, low=0, high=1)
        setattr_(self, "appearance_weight", float(self.appearance_weight))
        noise = make_config(self.preset, self.profile).annotation_noise if self.annotation_noise is None \
            else self.annotation_noise
        check_number("annotation_noise", noise, low=0, high=0.9)
        setattr_(self, "annotation_noise", float(noise))
        visual = levels["visual_levels"] if self.visual_levels is None else self.visual_levels
        visual = tuple(float(x) for x in np.atleast_1d(visual))
        for x in visual:
            check_number("visual_levels", x, low=0, high=1)
        if len(set(visual)) != len(visual):
            raise ParameterError(f"visual_levels={list(visual)}: expected different levels in [0, 1]")
        setattr_(self, "visual_levels", tuple(sorted(visual)))
        conditions = _check_conditions(levels["fix_conditions"] if self.fix_conditions is None
                                       else self.fix_conditions)
        if "base" not in conditions:
            raise ParameterError(f"fix_conditions={list(conditions)} lacks 'base': every comparison is against it")
        setattr_(self, "fix_conditions", conditions)
        fixes = levels["fixes"] if self.fixes is None else self.fixes
        fixes = _check_conditions(fixes) if _names(fixes) else ()
        setattr_(self, "fixes", tuple(f for f in fixes if f not in conditions))
        check_number("lambda_ot", self.lambda_ot, low=0)
        check_choice("data_draw", self.data_draw, ("shared", "per_seed"))
        check_choice("fix_frequency", self.fix_frequency, ("balanced", "published"))
        setattr_(self, "data", _pairs({**FACTORIAL_DATA[self.profile], **dict(_pairs(self.data, "data"))}, "data"))

    @property
    def pair(self) -> tuple[str, str]:
        """The preset's designated pair."""
        from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

        return tuple(make_config(self.preset, self.profile).pair)

    @property
    def published_distance(self) -> float:
        """The pair's distance in the preset's published geometry (:func:`published_pair_distance`)."""
        return published_pair_distance(self.preset, self.profile)

    @property
    def distances(self) -> tuple[float, ...]:
        """The dose in valence-arousal units: ``dose`` x :attr:`published_distance`."""
        d = self.published_distance
        return tuple(float(f * d) for f in self.dose)

    @property
    def carried(self) -> dict[str, bool]:
        """Whether each path reaches the data: annotation needs ``annotation_noise > 0``, appearance
        ``appearance_weight > 0``, both needs both."""
        annotation, appearance = self.annotation_noise > 0, self.appearance_weight > 0
        return {"annotation": annotation, "appearance": appearance, "both": annotation and appearance}


def _fraction_name(x: float) -> str:
    return str(Fraction(x).limit_denominator(12))


def nearness_label(cell: Mapping) -> str:
    """A cell's name: ``dose/<frequency>/<path>/d=<fraction>`` or ``fix/visual=<level>``.

    Parameters
    ----------
    cell : mapping
        From :func:`nearness_cells`.

    Returns
    -------
    str
    """
    if cell["kind"] == "dose":
        return f"dose/{cell['frequency']}/{cell['path']}/d={_fraction_name(cell['dose'])}"
    return f"fix/visual={cell['visual']:g}"


def nearness_cells(design: NearnessDesign) -> list[dict]:
    """Every cell: the dose cells (frequency slowest, then path, then dose), then the fix cells.

    Parameters
    ----------
    design : NearnessDesign

    Returns
    -------
    list of dict
        ``kind`` ("dose" or "fix"), ``frequency``, ``path`` ("none" in fix cells), ``dose`` (fraction; 1 in fix
        cells), ``distance`` (valence-arousal units), ``visual`` (the pair's ``visual_degeneracy``).
    """
    d = design.published_distance
    cells = [{"kind": "dose", "frequency": f, "path": p, "dose": x, "distance": float(x * d), "visual": 0.0}
             for f in ("published", "balanced") for p in design.paths for x in design.dose]
    cells += [{"kind": "fix", "frequency": design.fix_frequency, "path": "none", "dose": 1.0, "distance": d,
               "visual": v}
              for v in design.visual_levels]
    return cells


def nearness_cell_knobs(design: NearnessDesign, cell: Mapping) -> dict:
    """The simulator knobs of a cell (on top of the preset's own values).

    Parameters
    ----------
    design : NearnessDesign
    cell : mapping
        From :func:`nearness_cells`.

    Returns
    -------
    dict
        ``train_proportions``, ``pair_va_distance`` (None in fix cells and at dose 1: the preset's own centroids,
        which are the published distance apart), ``annotation_noise``, ``annotation_geometry``,
        ``appearance_from_va``, ``visual_degeneracy``, ``visual_partner`` (None) and ``class_intensity`` (the
        preset's, without the pair's own factors).

    Notes
    -----
    At dose 1 the pair sits at the preset's own centroids, where the annotation path's geometry is the published one
    (the annotator's confusions, and so every face and label, are those of ``annotation_geometry="published"``). The
    knobs say so (``pair_va_distance=None``, ``"published"``), so cells that draw the same data have one config and
    share their cached runs instead of training them twice: the appearance and both paths at dose 1, and the
    annotation path at dose 1 with the fix cell at visual overlap 0 on the same frequencies.
    """
    from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

    if cell.get("kind") not in ("dose", "fix"):
        raise ParameterError(f"cell {dict(cell)}: kind={cell.get('kind')!r}; expected 'dose' or 'fix'")
    check_choice("frequency", cell.get("frequency"), ("published", "balanced"))
    check_choice("path", cell.get("path"), (*NEARNESS_PATHS, "none"))
    preset = make_config(design.preset, design.profile)
    n = len(preset.classes)
    own_centroids = cell["kind"] == "fix" or float(cell["dose"]) == 1.0  # the published distance (see Notes)
    annotation = cell["path"] in ("annotation", "both") and not own_centroids
    appearance = cell["path"] in ("appearance", "both")
    return {"train_proportions": preset.train_proportions if cell["frequency"] == "published" else (1 / n,) * n,
            "pair_va_distance": None if own_centroids else float(cell["distance"]),
            "annotation_noise": design.annotation_noise,
            "annotation_geometry": "cell" if annotation else "published",
            "appearance_from_va": design.appearance_weight if appearance else 0.0,
            "visual_degeneracy": float(cell["visual"]),
            "visual_partner": None,
            "class_intensity": tuple((c, f) for c, f in preset.class_intensity if c not in preset.pair)}


def _cell_data(design: NearnessDesign, cell: Mapping) -> dict:
    prof = get_profile(design.profile)
    n_test = FACTORIAL_N_TEST[design.profile] if design.data_draw == "shared" else prof.study_n_test
    sizes = {"image_size": prof.study_image_size, "n_train": prof.study_n_train, "n_val": prof.study_n_val,
             "n_test": n_test}
    return {**sizes, **dict(design.data), **nearness_cell_knobs(design, cell)}


def nearness_cell_config(design: NearnessDesign, cell: Mapping):
    """The cell's :class:`~affect_book.data.simulator.SimulatorConfig` (the shared draw's; a per-seed draw adds the
    seed).

    Parameters
    ----------
    design : NearnessDesign
    cell : mapping

    Returns
    -------
    SimulatorConfig
    """
    from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

    return make_config(design.preset, design.profile, **_cell_data(design, cell))


def nearness_fill(sim) -> tuple:
    """The cell's cost placements: every placed class at its centroid in the cell, with its published dominance
    (Russell & Mehrabian 1977, the book's default hand placement), so that the ``vad`` cost can run in every cell;
    a class without a published dominance gets its valence and arousal only. Other has no position.

    Parameters
    ----------
    sim : SimulatorConfig
        The cell's draw.

    Returns
    -------
    tuple
        ((class, (valence, arousal[, dominance])), ...).
    """
    published = cx.coordinates(sim.classes, "russell1977", placement=cx.DEFAULT_PLACEMENT).values
    out = []
    for c, va, vad in zip(sim.classes, sim.centroids(), published):
        if cx.concept_of(c) == "other":
            continue
        point = tuple(float(x) for x in va)
        out.append((c, point + ((float(vad[2]),) if np.isfinite(vad[2]) else ())))
    return tuple(out)


def nearness_studies(design: NearnessDesign) -> list[tuple[dict, StudyConfig]]:
    """One :class:`StudyConfig` per cell: dose cells run ``base``, fix cells ``fix_conditions + fixes``.

    Parameters
    ----------
    design : NearnessDesign

    Returns
    -------
    list of (cell, StudyConfig)
    """
    out = []
    for cell in nearness_cells(design):
        sim = nearness_cell_config(design, cell)
        conditions = ("base",) if cell["kind"] == "dose" else design.fix_conditions + design.fixes
        out.append((cell, StudyConfig(presets=(design.preset,), conditions=conditions, seeds=design.seeds,
                                      profile=design.profile, data=_cell_data(design, cell),
                                      lambda_ot=design.lambda_ot, cost_fill=nearness_fill(sim),
                                      data_draw=design.data_draw)))
    return out


def nearness_n_runs(design: NearnessDesign) -> int:
    """Runs in the design (every cell's conditions x seeds).

    Parameters
    ----------
    design : NearnessDesign

    Returns
    -------
    int
    """
    return int(sum(s.n_runs for _, s in nearness_studies(design)))


def run_nearness(design: NearnessDesign, executor="local", workers: int | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """Run (or load) every cell in one pool; one row per run.

    Parameters
    ----------
    design : NearnessDesign
    executor : {"local", "slurm"} or executor object
        As :func:`affect_book.study.run_study`.
    workers : int, optional
        Local processes.
    progress : bool

    Returns
    -------
    pandas.DataFrame
        The cells' results tables stacked (``seed``, ``condition``, the metrics, ``f1/<Class>`` ...) with ``cell``
        (:func:`nearness_label`), ``kind``, ``frequency``, ``path`` ("none" in fix cells), ``dose``, ``distance``,
        ``visual``, ``pair_f1`` (mean F1 of the pair), ``confusion_ab`` and ``confusion_ba`` (share of the test
        images labelled a predicted b, and b predicted a, :func:`pair_test_confusion`), ``pair_confusion`` (their
        mean), ``label_confusion_ab``, ``label_confusion_ba`` and ``label_confusion`` (the same shares between the
        observed training label and the class the face shows, :func:`pair_label_confusion`).
    """
    from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

    studies = nearness_studies(design)
    frames = run_studies([s for _, s in studies], executor=executor, workers=workers, progress=progress)
    a, b = design.pair
    classes = tuple(make_config(design.preset, design.profile).classes)
    labels = {}
    out = []
    for (cell, study), frame in zip(studies, frames):
        frame = frame.assign(cell=nearness_label(cell), **cell)
        frame["pair_f1"] = (frame[f"f1/{a}"] + frame[f"f1/{b}"]) / 2
        rows = []
        for run_dir, seed in zip(frame["run_dir"], frame["seed"]):
            test = pair_test_confusion(run_dir, classes, (a, b))
            options = {k: v for k, v in study.load_options(design.preset, int(seed)).items() if k != "preset"}
            key = repr(sorted(options.items()))
            if key not in labels:
                labels[key] = pair_label_confusion(make_config(design.preset, design.profile, **options), (a, b))
            rows.append({**{f"confusion_{k}": v for k, v in test.items()},
                         **{f"label_confusion_{k}": v for k, v in labels[key].items()}})
        extra = pd.DataFrame(rows, index=frame.index)
        frame = pd.concat([frame, extra], axis=1)
        frame["pair_confusion"] = (frame["confusion_ab"] + frame["confusion_ba"]) / 2
        frame["label_confusion"] = (frame["label_confusion_ab"] + frame["label_confusion_ba"]) / 2
        out.append(frame)
    return pd.concat(out, ignore_index=True)
