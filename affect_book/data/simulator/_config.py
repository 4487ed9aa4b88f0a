"""The simulator's configuration: constants, :class:`SimulatorConfig` and its validating builder :func:`make_config`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field

import numpy as np

from ... import circumplex as cx
from ...cache import OMIT_DEFAULT
from ...params import ParameterError, check_choice, check_number
from ...profiles import get_profile
from ._presets import PRESETS, PUBLISHED_TRAIN_COUNTS, _proportions

__all__ = ["AU_THRESHOLD", "SIMULATOR_VERSION", "SPLITS", "SimulatorConfig", "make_config"]

#: Renderer and sampler version, part of the cache key: bump when a change alters any output byte.
#: 2: AU17 (chin raiser) joins the rendered AUs, low resolution joins the nuisance; 3: disgust's AUs (9, 10, 16) are
#: drawn larger.
SIMULATOR_VERSION = 3
#: Rendered AU intensity at or above which an ABAW AU is labelled present.
AU_THRESHOLD = 0.3
SPLITS: tuple[str, ...] = ("train", "val", "test")
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
_STREAMS = {"class": 1, "identity": 2, "assign": 3, "intensity": 4, "au": 5, "va": 6, "nuisance": 7, "noise": 8,
            "mask": 9, "flip": 10, "confound": 11, "dropout": 12, "confusion": 13, "wild": 14, "partner": 15,
            "annotation": 16}
_CHUNK = 64  # rendering chunk; fixed, so the per-chunk noise streams never depend on the machine
_Q = 4096.0  # parameter quantum


def _q(x) -> np.ndarray:
    """Quantise to multiples of 1/4096 (exact in float32 for the ranges used)."""
    return (np.round(np.asarray(x, np.float64) * _Q) / _Q).astype(np.float32)


def _quota(proportions: Sequence[float], n: int) -> np.ndarray:
    """Integer counts summing to ``n`` closest to ``proportions * n`` (largest remainder)."""
    raw = np.asarray(proportions, np.float64) * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    order = np.lexsort((np.arange(len(raw)), -(raw - counts)))
    counts[order[:rest]] += 1
    return counts


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that determines a simulated dataset (its hash is the cache key). Build with :func:`make_config`.

    Every realistic-difficulty and cause knob is neutral by default.

    Attributes
    ----------
    preset : str
        The preset it was built from.
    classes : tuple of str
        Class names in label order.
    train_proportions, eval_proportions : tuple of float
        Class frequencies (sum 1) of the train split and of val/test.
    n_train, n_val, n_test : int
        Images per split.
    image_size : int
        Pixels per side (32..224).
    pair : (str, str)
        The designated pair the degeneracy knobs act on.
    va_degeneracy, visual_degeneracy : float
        In [0, 1]: the pair's valence-arousal centroids and AU prototypes blended towards their means.
    shortcut_class : str or None
        The class a corner mark (a spurious shortcut cue) follows in training (None: none).
    shortcut_strength : float
        In [0, 1]: how often the mark follows it.
    label_noise : tuple
        ((a, b, rate), ...) training-label swaps.
    label_fractions : (float, float, float)
        Fractions of rows with an expression, VA and AU label.
    coordinates : str
        The published set the VA centroids come from.
    placements : tuple
        ((class, (valence, arousal)), ...) hand placements (assumptions).
    intensity_range : (float, float)
        Expression intensity bounds.
    au_noise : float
        Standard deviation of AU noise.
    nuisance : float
        Scale of pose, lighting, blur, noise and occlusion (0 = frontal, clean).
    images_per_identity : float
        Mean images per identity.
    seed : int
        The seed.
    au_dropout : float
        In [0, 0.9]: each prototype AU of a sample is left out with this probability (at least one stays).
    intensity_beta : (float, float) or None
        (a, b): expression intensity ``lo + (hi - lo) * Beta(a, b)`` (low-heavy when a < b) instead of uniform.
    emfacs_variants : bool
        Add the variants of :data:`affect_book.facs.EMFACS_VARIANTS`.
    contempt_scale : float
        In (0, 1]: contempt's AU intensity factor (e.g. 0.3: trace intensity, as EMFACS codes contempt).
    class_intensity : tuple
        ((class, factor), ...) per-class AU intensity factors in (0, 2] (rendered intensities capped at 1).
    label_confusion : tuple
        ((true, label, rate), ...) directed confusions applied to the training labels only (a teaching knob; the
        benchmark presets use ``annotation_noise``, which keeps the published label counts).
    wild : float
        In [0, 1]: in-the-wild nuisance on top of ``nuisance`` (large pose, more and larger occluders, strong
        blur, low resolution).
    pair_va_distance : float or None
        The designated pair's centroid distance in valence-arousal units, set directly (None: as placed).
    visual_partner : tuple or None
        (class, partner, strength): the class's faces drawn towards the partner's AU prototype.
    va_from_au : float
        In [0, 1]: weight of the valence-arousal read off the rendered AU intensities in the VA labels.
    count_scale : float or None
        Training counts = scale x the published benchmark counts (None: ``n_train`` with the preset's proportions).
    annotation_noise : float
        In [0, 0.9]: the share of faces, in every split, that show a class other than their (observed) label. The
        observed labels keep the split's class frequencies exactly; the shown class is drawn from
        :func:`annotation_matrix` (P(shown | observed)). 0: labels are the shown classes.
    annotation_spread : float
        Valence-arousal distance scale of that confusion (> 0): the nearer two classes, the likelier.
    other_aus : {"any", "shared"}
        The AUs an "Other" face's random 1-3 AU set draws from: ``"any"`` rendered AU (never a complete prototype
        variant), or only the ``"shared"`` ones -- no class's signature AU (one that a single class of the preset
        uses, :func:`signature_aus`), on the assumption that a face showing, say, a nose wrinkle would be labelled
        disgust rather than Other.
    annotation_geometry : {"published", "cell"}
        The valence-arousal distances of the ``annotation_noise`` model (the *annotation path*):
        ``"published"``, Russell & Mehrabian's (1977) coordinates with the default hand placements, whatever the
        cell's centroids; ``"cell"``, the cell's own geometry (:func:`cell_positions`: after ``placements``,
        ``va_degeneracy`` and ``pair_va_distance``), so moving the designated pair together raises its label
        confusion, in every split (:func:`config_annotation_matrix`). Acts only where ``annotation_noise > 0``.
    appearance_from_va : float
        In [0, 1], the *appearance path*: each face of a placed class is blended with this weight towards the
        valence-arousal-indexed prototype at its class's position in the cell's geometry (the
        :func:`appearance_weights` kernel mean of the placed classes' mean faces in the cell, the face itself as
        its own term), so classes near in valence-arousal get near faces. 0: off (faces as before).
    appearance_spread : float
        Valence-arousal distance scale of that kernel, ``exp(-d / spread)`` (> 0; default 0.25, about the radius of
        the anger-fear-disgust-contempt cluster of the published coordinates, so classes within it share
        appearance and classes in other quadrants, d > 0.6, hardly do).
    version : int
        The simulator's code version (part of the hash).
    """

    preset: str
    classes: tuple[str, ...]
    train_proportions: tuple[float, ...]
    eval_proportions: tuple[float, ...]
    n_train: int
    n_val: int
    n_test: int
    image_size: int
    pair: tuple[str, str]
    va_degeneracy: float = 0.0
    visual_degeneracy: float = 0.0
    shortcut_class: str | None = None
    shortcut_strength: float = 0.0
    label_noise: tuple = ()
    label_fractions: tuple[float, float, float] = (1.0, 1.0, 1.0)
    coordinates: str = "russell1977"
    placements: tuple = ()
    intensity_range: tuple[float, float] = (0.45, 1.0)
    au_noise: float = 0.08
    nuisance: float = 1.0
    images_per_identity: int = 20
    seed: int = 0
    au_dropout: float = 0.0
    intensity_beta: tuple | None = None
    emfacs_variants: bool = False
    contempt_scale: float = 1.0
    class_intensity: tuple = ()
    label_confusion: tuple = ()
    wild: float = 0.0
    pair_va_distance: float | None = None
    visual_partner: tuple | None = None
    va_from_au: float = 0.0
    count_scale: float | None = None
    annotation_noise: float = field(default=0.0, metadata=OMIT_DEFAULT)
    annotation_spread: float = field(default=0.5, metadata=OMIT_DEFAULT)
    other_aus: str = field(default="any", metadata=OMIT_DEFAULT)
    annotation_geometry: str = field(default="published", metadata=OMIT_DEFAULT)
    appearance_from_va: float = field(default=0.0, metadata=OMIT_DEFAULT)
    appearance_spread: float = field(default=0.25, metadata=OMIT_DEFAULT)
    version: int = SIMULATOR_VERSION

    def size(self, split: str) -> int:
        """Number of images in ``split``.

        Parameters
        ----------
        split : {"train", "val", "test"}

        Returns
        -------
        int
        """
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}[split]

    def class_counts(self, split: str = "train") -> dict[str, int]:
        """Images per class of ``split``'s quota, without generating anything: the observed labels' counts when
        ``annotation_noise`` is on (they keep the split's frequencies), else the shown classes' counts (before any
        training-label noise).

        Parameters
        ----------
        split : {"train", "val", "test"}

        Returns
        -------
        dict of str to int
        """
        props = self.train_proportions if split == "train" else self.eval_proportions
        return dict(zip(self.classes, _quota(props, self.size(split)).tolist()))

    def centroids(self) -> np.ndarray:
        """The valence-arousal centroids after hand placements and the VA-degeneracy knob.

        Returns
        -------
        numpy.ndarray
            (classes, 2) valence, arousal.
        """
        coords = cx.coordinates(self.classes, self.coordinates, fill=dict(self.placements))
        coords.require_complete("the simulator's valence-arousal labels")
        va = coords.va.copy()
        i, j = (self.classes.index(c) for c in self.pair)
        mid = (va[i] + va[j]) / 2
        va[i] = va[i] + self.va_degeneracy * (mid - va[i])
        va[j] = va[j] + self.va_degeneracy * (mid - va[j])
        if self.pair_va_distance is not None:
            half = (va[i] - va[j]) / 2
            norm = float(np.hypot(*half))
            if norm == 0:
                raise ValueError(f"pair {self.pair} has identical centroids: pair_va_distance has no direction to "
                                 f"move them along; expected a pair at distinct positions")
            scale = self.pair_va_distance / (2 * norm)
            va[i], va[j] = mid + half * scale, mid - half * scale
        return va


def _default_placements(classes, source) -> tuple:
    """Where classes the coordinate set lacks draw their valence-arousal labels: contempt at the book's default hand
    placement (:func:`affect_book.circumplex.hand_placements`, on the 1977 set), Other's samples around the origin
    (a generative choice for its labels, not a circumplex position: the OT cost charges Other the mean cost)."""
    out = []
    table = cx.coordinates(classes, source)
    missing = set(table.missing)
    names = {cx.concept_of(c): c for c in classes}
    if "contempt" in names and names["contempt"] in missing:
        point = cx.hand_placements(cx.DEFAULT_PLACEMENT, "russell1977")["contempt"]
        out.append((names["contempt"], tuple(float(x) for x in point)))
    if "other" in names and names["other"] in missing:
        out.append((names["other"], (0.0, 0.0)))
    return tuple(out)


def _canonical_class(name: str, classes: Sequence[str], what: str) -> str:
    if not isinstance(name, str):
        raise ParameterError(f"{what}={name!r}: expected a class name among {list(classes)}")
    try:
        concept = cx.concept_of(name)
    except ValueError:
        raise ParameterError(f"{what}={name!r} is not a class name; expected one of {list(classes)}") from None
    for c in classes:
        if cx.concept_of(c) == concept:
            return c
    raise ParameterError(f"{what}={name!r} is not in this preset's classes; expected one of {list(classes)}")


def _check_knobs(base: dict, classes: tuple, preset: str) -> None:
    """Validate (and normalise in place) the difficulty and cause knobs of :class:`SimulatorConfig`."""
    check_number("au_dropout", base["au_dropout"], low=0, high=0.9)
    check_number("annotation_noise", base["annotation_noise"], low=0, high=0.9)
    check_number("annotation_spread", base["annotation_spread"], low=1e-3, high=10)
    base["annotation_noise"] = float(base["annotation_noise"])
    base["annotation_spread"] = float(base["annotation_spread"])
    check_number("contempt_scale", base["contempt_scale"], low=0.01, high=1)
    check_choice("other_aus", base["other_aus"], ("any", "shared"))
    check_choice("annotation_geometry", base["annotation_geometry"], ("published", "cell"))
    for name, low, high in (("appearance_from_va", 0, 1), ("appearance_spread", 1e-3, 10)):
        check_number(name, base[name], low=low, high=high)
        if base[name] != base[name]:
            raise ParameterError(f"{name}=nan is not valid; expected a number in [{low}, {high}]")
    base["appearance_from_va"] = float(base["appearance_from_va"])
    base["appearance_spread"] = float(base["appearance_spread"])
    if not isinstance(base["emfacs_variants"], bool):
        raise ParameterError(f"emfacs_variants={base['emfacs_variants']!r}: expected True or False")
    factors = []
    for item in base["class_intensity"]:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ParameterError(f"class_intensity item {item!r}: expected (class, factor) with factor in (0, 2]")
        cls = _canonical_class(item[0], classes, "class_intensity")
        check_number(f"class_intensity factor of {cls}", item[1], low=0.01, high=2)
        factors.append((cls, float(item[1])))
    base["class_intensity"] = tuple(factors)
    beta = base["intensity_beta"]
    if beta is not None:
        if not isinstance(beta, (tuple, list)) or len(beta) != 2:
            raise ParameterError(f"intensity_beta={beta!r}: expected None or (a, b), Beta parameters in (0, 50]")
        for name, x in zip("ab", beta):
            check_number(f"intensity_beta[{name}]", x, low=0.05, high=50)
        base["intensity_beta"] = tuple(float(x) for x in beta)
    confusion, totals = [], {}
    for item in base["label_confusion"]:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ParameterError(f"label_confusion item {item!r}: expected (true_class, label_class, rate)")
        a, b_ = (_canonical_class(c, classes, "label_confusion") for c in item[:2])
        if a == b_:
            raise ParameterError(f"label_confusion item {item!r}: expected two different classes")
        check_number(f"label_confusion rate {a}->{b_}", item[2], low=0, high=1)
        totals[a] = totals.get(a, 0.0) + float(item[2])
        confusion.append((a, b_, float(item[2])))
    over = {a: t for a, t in totals.items() if t > 1 + 1e-9}
    if over:
        raise ParameterError(f"label_confusion rates out of {sorted(over)} sum to {over}; expected at most 1 per "
                             f"true class")
    base["label_confusion"] = tuple(confusion)
    if base["pair_va_distance"] is not None:
        check_number("pair_va_distance", base["pair_va_distance"], low=0, high=2.83)
        if base["va_degeneracy"]:
            raise ParameterError("pair_va_distance and va_degeneracy both move the pair; expected one of them "
                                 f"(got va_degeneracy={base['va_degeneracy']})")
        base["pair_va_distance"] = float(base["pair_va_distance"])
    partner = base["visual_partner"]
    if partner is not None:
        if not isinstance(partner, (tuple, list)) or len(partner) != 3:
            raise ParameterError(f"visual_partner={partner!r}: expected None or (class, partner, strength)")
        a, b_ = (_canonical_class(c, classes, "visual_partner") for c in partner[:2])
        if a == b_ or "other" in (cx.concept_of(a), cx.concept_of(b_)):
            raise ParameterError(f"visual_partner={partner!r}: expected two different classes with AU prototypes")
        check_number("visual_partner strength", partner[2], low=0, high=1)
        base["visual_partner"] = (a, b_, float(partner[2]))
    if base["count_scale"] is not None:
        check_number("count_scale", base["count_scale"], low=1e-4, high=10)
        counts = PUBLISHED_TRAIN_COUNTS.get(preset)
        if counts is None or any(c not in counts for c in classes):
            raise ParameterError(f"count_scale needs published counts for every class; preset {preset!r} has "
                                 f"them for {sorted(counts) if counts else 'no class'}; expected one of "
                                 f"{sorted(PUBLISHED_TRAIN_COUNTS)} with its own classes")
        base["train_proportions"] = _proportions(classes, counts)
        base["n_train"] = int(round(base["count_scale"] * sum(counts[c] for c in classes)))
        base["count_scale"] = float(base["count_scale"])


def make_config(preset: str = "balanced", profile: str = "cpu", *, class_counts: Mapping[str, float] | None = None,
                eval_counts: Mapping[str, float] | None = None, placements: Mapping | None = None,
                **overrides) -> SimulatorConfig:
    """A validated :class:`SimulatorConfig` for ``preset`` with sizes from ``profile``.

    ``class_counts``/``eval_counts``: explicit class counts (or weights) by class name, replacing the preset's
    train or val/test frequencies; ``placements``: ``{class: (valence, arousal)}`` hand placements, replacing the
    defaults; any other :class:`SimulatorConfig` field can be overridden by keyword (``va_degeneracy=0.5``,
    ``pair=("Anger", "Disgust")``, ``n_train=1000``, ``image_size=48`` ...). Bad values raise
    :class:`~affect_book.params.ParameterError` naming the field and what was expected.

    Parameters
    ----------
    preset : str
        A name of :data:`PRESETS`.
    profile : str
        Sizes (``smoke``, ``cpu``, ``gpu``).
    class_counts, eval_counts : mapping of str to float, optional
        Class counts or weights of the train split and of val/test.
    placements : mapping, optional
        Hand placements ``{class: (valence, arousal)}``.
    **overrides
        Any other :class:`SimulatorConfig` field.

    Returns
    -------
    SimulatorConfig
    """
    check_choice("preset", preset, PRESETS)
    for old, new in (("confound_class", "shortcut_class"), ("confound_strength", "shortcut_strength")):
        if old in overrides:  # the names before the corner mark was called what it is, a shortcut cue
            if new in overrides:
                raise ParameterError(f"{old} and {new} name the same knob; pass only {new}")
            overrides[new] = overrides.pop(old)
    prof = get_profile(profile)
    base = {f.name: f.default for f in SimulatorConfig.__dataclass_fields__.values()
            if f.default is not MISSING and f.name not in ("preset", "version")}
    base.update(PRESETS[preset])
    fields = set(SimulatorConfig.__dataclass_fields__) - {"preset", "version"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ParameterError(f"unknown simulator option(s) {unknown}; expected among {sorted(fields)} or "
                             f"class_counts, eval_counts, placements")
    base.update(n_train=prof.n_train, n_val=prof.n_val, n_test=prof.n_test, image_size=prof.image_size)
    base.update(overrides)
    if class_counts is not None and base.get("count_scale") is not None:
        raise ParameterError("class_counts and count_scale both set the training counts; expected one of them")
    if isinstance(base["classes"], str):  # a class-set name
        if base["classes"] not in cx.CLASS_SETS:
            raise ParameterError(f"classes={base['classes']!r}: expected a class-set name among "
                                 f"{sorted(cx.CLASS_SETS)} or a list of class names")
        base["classes"] = cx.CLASS_SETS[base["classes"]]
    classes = tuple(base["classes"])
    if "classes" in overrides:
        for c in classes:
            try:
                cx.concept_of(c)
            except ValueError as e:
                raise ParameterError(f"classes: {e}") from None
        if "train_proportions" not in overrides and class_counts is None:
            base["train_proportions"] = tuple([1 / len(classes)] * len(classes))
        if "eval_proportions" not in overrides and eval_counts is None:
            base["eval_proportions"] = tuple([1 / len(classes)] * len(classes))
    base["classes"] = classes
    for key, counts in (("train_proportions", class_counts), ("eval_proportions", eval_counts)):
        if counts is not None:
            named = {_canonical_class(k, classes, key.replace("proportions", "counts")): v for k, v in counts.items()}
            absent = [c for c in classes if c not in named]
            if absent:
                raise ParameterError(f"{key.replace('proportions', 'counts')} lacks {absent}; expected a count "
                                     f"for every class of {list(classes)}")
            for k, v in named.items():
                check_number(f"counts[{k!r}]", v, low=0)
            base[key] = _proportions(classes, named)
        props = tuple(float(p) for p in base[key])
        if len(props) != len(classes) or any(p < 0 for p in props) or abs(sum(props) - 1) > 1e-6:
            raise ParameterError(f"{key}={props}: expected {len(classes)} non-negative numbers summing to 1")
        base[key] = props
    for name in ("n_train", "n_val", "n_test"):
        check_number(name, base[name], low=0, integer=True)
    check_number("image_size", base["image_size"], low=32, high=224, integer=True)
    for name in ("va_degeneracy", "visual_degeneracy", "shortcut_strength", "nuisance", "wild", "va_from_au"):
        check_number(name, base[name], low=0, high=1)
    _check_knobs(base, classes, preset)
    check_number("au_noise", base["au_noise"], low=0, high=0.5)
    check_number("images_per_identity", base["images_per_identity"], low=1, integer=True)
    check_number("seed", base["seed"], low=0, integer=True)
    lo, hi = base["intensity_range"]
    check_number("intensity_range[0]", lo, low=0, high=1)
    check_number("intensity_range[1]", hi, low=lo, high=1)
    base["intensity_range"] = (float(lo), float(hi))
    fr = tuple(base["label_fractions"])
    if len(fr) != 3:
        raise ParameterError(f"label_fractions={fr}: expected (expression, va, au) fractions")
    for n, f in zip(("expression", "va", "au"), fr):
        check_number(f"label_fractions[{n}]", f, low=0, high=1)
    base["label_fractions"] = tuple(float(f) for f in fr)
    pair = tuple(base["pair"])
    if len(pair) != 2:
        raise ParameterError(f"pair={pair!r}: expected two class names")
    pair = tuple(_canonical_class(c, classes, "pair") for c in pair)
    if pair[0] == pair[1]:
        raise ParameterError(f"pair={pair!r}: expected two different classes")
    base["pair"] = pair
    if base["shortcut_class"] is not None:
        base["shortcut_class"] = _canonical_class(base["shortcut_class"], classes, "shortcut_class")
    noise = []
    for item in base["label_noise"]:
        if len(item) != 3:
            raise ParameterError(f"label_noise item {item!r}: expected (class_a, class_b, rate)")
        a, b_, rate = item
        a, b_ = _canonical_class(a, classes, "label_noise"), _canonical_class(b_, classes, "label_noise")
        check_number(f"label_noise rate for {a}-{b_}", rate, low=0, high=1)
        noise.append((a, b_, float(rate)))
    base["label_noise"] = tuple(noise)
    check_choice("coordinates", base["coordinates"], cx.COORDINATE_SETS)
    if placements is not None:
        base["placements"] = tuple((_canonical_class(k, classes, "placements"), tuple(float(x) for x in v))
                                   for k, v in placements.items())
    elif "placements" not in overrides:
        base["placements"] = _default_placements(classes, base["coordinates"])
    config = SimulatorConfig(preset=preset, **base)
    try:
        config.centroids()
    except ValueError as e:
        raise ParameterError(str(e)) from None
    return config
