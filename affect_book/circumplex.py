"""Russell's circumplex: published coordinates, class sets and hand placements.

The degeneracy measures on these coordinates (nearest neighbours, degenerate pairs, the designated pair, the
separability index, the rule for Other) live one floor up, in :mod:`affect_book.degeneracy`, which imports this
module (never the other way round).

Introduced in chapter 01 (``notebooks/01_circumplex``).

Coordinates are (valence, arousal) in [-1, 1], optionally with dominance for the
Russell & Mehrabian (1977) set. Two canonical class sets are defined:

- ``affectnet8``: the AffectNet code order 0..7 (Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt);
- ``affwild2``: the Aff-Wild2 / ABAW EXPR order 0..7 (Neutral, Anger, Disgust, Fear, Happiness, Sadness,
  Surprise, Other).

Class names are mapped onto published terms **by name, never by position** (``concept_of``), so "Happy" and
"Happiness" both land on the published term "happy". Where a class has no published coordinate (contempt in every
set; Other; disgust in Russell 1980), the coordinate is NaN, the class is listed in ``missing`` and functions that
need every class raise an error that says so and names the remedies: place it by hand with a named set of
:func:`hand_placements` (``placement=``) or ``fill=`` (an assumption the caller states), or derive it from labelled
data with :func:`class_mean_coordinates`.

**The book's rule for Other.** Aff-Wild2's "Other" is a catch-all, not an emotion: it has no circumplex coordinate
(no hand placement set places it), it is left out of every degeneracy measure
(:func:`affect_book.degeneracy.nearest_neighbours`, :func:`~affect_book.degeneracy.degenerate_pairs`,
:func:`~affect_book.degeneracy.nearest_pair`), and in every optimal-transport cost it is charged the mean
off-diagonal cost of the placed classes, in both its row and its column (never 0; see ``affect_book.costs``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "CLASS_SETS",
    "COORDINATE_SETS",
    "DEFAULT_PLACEMENT",
    "HAND_PLACEMENTS",
    "Coordinates",
    "class_mean_coordinates",
    "class_set",
    "concept_of",
    "coordinates",
    "hand_placements",
]

#: Canonical class sets, in the label order of each benchmark's files.
CLASS_SETS: dict[str, tuple[str, ...]] = {
    "affectnet8": ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt"),
    "affectnet7": ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger"),
    "affwild2": ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"),
}

# Every spelling a class name takes in the benchmarks and the literature, mapped to one concept.
_CONCEPTS: dict[str, str] = {
    "neutral": "neutral",
    "happy": "happy", "happiness": "happy", "joy": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "fear": "fear", "fearful": "fear", "afraid": "fear",
    "disgust": "disgust", "disgusted": "disgust",
    "anger": "anger", "angry": "anger",
    "contempt": "contempt",
    "other": "other",
}

#: Published coordinate sets, each value typed from the source cited above its entry.
#: Each entry: concept -> (valence, arousal, dominance or NaN). Concepts absent from a set have no published value.
_PUBLISHED: dict[str, dict[str, tuple[float, float, float]]] = {
    # Russell, J. A. & Mehrabian, A. (1977). Evidence for a three-factor theory of emotions.
    # Journal of Research in Personality 11, 273-294. Pleasure-arousal-dominance means of the emotion terms
    # "happy", "surprised", "angry", "fearful", "disgust", "sad"; "happy" arousal is 0.51 (one copy prints 0.61).
    "russell1977": {
        "happy": (0.81, 0.51, 0.46),
        "surprise": (0.40, 0.67, -0.13),
        "anger": (-0.51, 0.59, 0.25),
        "fear": (-0.64, 0.60, -0.43),
        "disgust": (-0.60, 0.35, 0.11),
        "sad": (-0.63, -0.27, -0.33),
        "neutral": (0.0, 0.0, 0.0),
    },
    # Russell, J. A. (1980). A circumplex model of affect. Journal of Personality and Social Psychology 39,
    # 1161-1178, positions digitized from its figure. Terms used: Happy, Astonished (for surprise), Afraid, Angry,
    # Sad. The figure has no disgust or contempt term. Neutral is placed at the origin, the centre of the
    # circumplex by construction (an assumption, not a published position). No dominance axis.
    "russell1980": {
        "happy": (0.826, 0.526, math.nan),
        "surprise": (0.158, 0.890, math.nan),
        "fear": (-0.34, 0.64, math.nan),
        "anger": (-0.523, 0.585, math.nan),
        "sad": (-0.648, -0.267, math.nan),
        "neutral": (0.0, 0.0, math.nan),
    },
}

#: Names of the published coordinate sets, for parameter validation.
COORDINATE_SETS: tuple[str, ...] = tuple(_PUBLISHED)

#: The published term each concept is read from, per set (for tables and citations).
PUBLISHED_TERMS: dict[str, dict[str, str]] = {
    "russell1977": {"happy": "happy", "surprise": "surprised", "anger": "angry", "fear": "fearful",
                    "disgust": "disgust", "sad": "sad", "neutral": "neutral"},
    "russell1980": {"happy": "Happy", "surprise": "Astonished", "fear": "Afraid", "anger": "Angry",
                    "sad": "Sad", "neutral": "(origin, by construction)"},
}

#: Further digitized terms of Russell (1980), for drawing the circumplex (not mapped to any class).
RUSSELL_1980_TERMS: dict[str, tuple[float, float]] = {
    "Happy": (0.826, 0.526), "Excited": (0.618, 0.757), "Astonished": (0.158, 0.890), "Afraid": (-0.34, 0.64),
    "Angry": (-0.523, 0.585), "Annoyed": (-0.545, 0.412), "Sad": (-0.648, -0.267), "Bored": (-0.664, -0.635),
}


@dataclass(frozen=True)
class _Placement:
    """A named hand placement: each placed concept sits at the mean of some published concepts' points."""

    at: Mapping[str, tuple[str, ...]]
    why: str


#: Named hand placements for classes no published set places (contempt). Each is an assumption, stated in every
#: table that uses it as "placed by hand (<name>)". No set places Other (the book's rule: Other has no coordinate).
HAND_PLACEMENTS: dict[str, _Placement] = {
    "contempt_at_midpoint": _Placement(
        {"contempt": ("anger", "disgust")},
        "Contempt at the midpoint of anger and disgust. Contempt forms the 'hostility triad' with anger and disgust "
        "(Izard, C. E. (1977). Human Emotions. New York: Plenum) and the CAD triad with them (Rozin, P., Lowery, L., "
        "Imada, S. & Haidt, J. (1999). The CAD triad hypothesis. Journal of Personality and Social Psychology 76, "
        "574-586); no published valence-arousal position favours either partner, so the midpoint commits to "
        "neither. By construction contempt is then equally far from anger and from disgust: the two pairs tie."),
    "contempt_at_disgust": _Placement(
        {"contempt": ("disgust",)},
        "Contempt on disgust's point, the reading that treats contempt as a variant of disgust. Disgust-contempt "
        "then costs 0: a sensitivity check, unusable in an optimal-transport cost (a zero-cost confusion between "
        "two classes)."),
    "contempt_at_anger": _Placement(
        {"contempt": ("anger",)},
        "Contempt on anger's point, the reading that treats contempt as cold anger. Anger-contempt then costs 0: a "
        "sensitivity check, unusable in an optimal-transport cost."),
}

#: The book's placement, used by chapters 01 and 02 and by the simulator.
DEFAULT_PLACEMENT = "contempt_at_midpoint"


def hand_placements(name: str = DEFAULT_PLACEMENT, source: str = "russell1977",
                    dims: int = 2) -> dict[str, tuple[float, ...]]:
    """The named hand-placement set ``name``, computed on the published coordinate set ``source``.

    Parameters
    ----------
    name : str
        One of :data:`HAND_PLACEMENTS` (``"contempt_at_midpoint"``, the book's default; ``"contempt_at_disgust"``;
        ``"contempt_at_anger"``). ``HAND_PLACEMENTS[name].why`` says why the set exists and what it implies.
    source : str
        The published coordinate set the reference points are read from (``"russell1977"`` by default).
    dims : {2, 3}
        2: (valence, arousal), the placement every cost and the simulator use; 3: with dominance too, the same rule
        applied to the reference points' published dominance (for a valence-arousal-dominance cost).

    Returns
    -------
    dict of str to tuple of float
        Concept name (``"contempt"``) to its (valence, arousal) (and dominance with ``dims=3``); pass it as
        ``fill=`` to :func:`coordinates`, or use ``coordinates(..., placement=name)`` (valence and arousal), which
        also records the set's name for tables.

    Raises
    ------
    ValueError
        For an unknown name or source, or when ``source`` lacks a reference point (Russell 1980 has no disgust) or,
        with ``dims=3``, its dominance.
    """
    if name not in HAND_PLACEMENTS:
        raise ValueError(f"unknown hand placement {name!r}; expected one of {list(HAND_PLACEMENTS)}")
    if source not in _PUBLISHED:
        raise ValueError(f"unknown coordinate set {source!r}; expected one of {list(COORDINATE_SETS)}")
    if dims not in (2, 3):
        raise ValueError(f"dims={dims!r}; expected 2 (valence, arousal) or 3 (with dominance)")
    table, out = _PUBLISHED[source], {}
    for concept, refs in HAND_PLACEMENTS[name].at.items():
        lacking = [r for r in refs if r not in table]
        if lacking:
            raise ValueError(f"hand placement {name!r} places {concept} from {list(refs)}, but {source!r} has no "
                             f"coordinate for {lacking}; use source='russell1977'")
        point = np.mean([table[r][:dims] for r in refs], axis=0)
        if np.isnan(point).any():
            raise ValueError(f"hand placement {name!r} places {concept} from {list(refs)}, but {source!r} has no "
                             f"dominance for them; use source='russell1977'")
        out[concept] = tuple(float(x) for x in point)
    return out


def class_set(name: str) -> tuple[str, ...]:
    """The class names of a canonical class set, in the benchmark's label order.

    Parameters
    ----------
    name : str
        ``"affectnet8"``, ``"affectnet7"`` or ``"affwild2"``.

    Returns
    -------
    tuple of str
        The class names, index = the benchmark's label code.
    """
    try:
        return CLASS_SETS[name]
    except KeyError:
        raise ValueError(f"unknown class set {name!r}; expected one of {sorted(CLASS_SETS)}") from None


def concept_of(name: str) -> str:
    """Map a class name in any benchmark spelling ("Happy", "happiness", "ANGRY") to its concept.

    Parameters
    ----------
    name : str
        A class name as a benchmark or paper spells it.

    Returns
    -------
    str
        The concept (``"happy"``, ``"anger"``, ..., ``"contempt"``, ``"other"``).
    """
    key = str(name).strip().lower()
    if key not in _CONCEPTS:
        raise ValueError(f"unknown class name {name!r}; expected one of {sorted(set(_CONCEPTS))}")
    return _CONCEPTS[key]


def _check_classes(classes: Sequence[str]) -> tuple[str, ...]:
    classes = tuple(classes)
    if not classes:
        raise ValueError("classes is empty; expected a sequence of class names")
    concepts = [concept_of(c) for c in classes]
    if len(set(concepts)) != len(concepts):
        raise ValueError(f"classes {classes} name the same emotion twice")
    return classes


@dataclass(frozen=True)
class Coordinates:
    """Class positions on the circumplex (built by :func:`coordinates` or :func:`class_mean_coordinates`).

    Parameters
    ----------
    classes : tuple of str
        Class names, in label order.
    values : (classes, 3) array
        Valence, arousal, dominance (dominance NaN when the source has none; rows of NaN for ``missing``).
    source : str
        The coordinate set's name, or ``"data"``.
    missing : tuple of str
        Classes without a published, placed or data-derived position (e.g. Other).
    filled : tuple of str
        Classes placed by hand (an assumption of the caller).
    counts : mapping of str to int
        Samples per class behind a data-derived position (empty otherwise).
    placement : str, optional
        The :data:`HAND_PLACEMENTS` set used, ``"fill"`` for an ad-hoc ``fill=``, or None when nothing was placed.
    """

    classes: tuple[str, ...]
    values: np.ndarray
    source: str
    missing: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    placement: str | None = None

    @property
    def va(self) -> np.ndarray:
        """(classes, 2) valence and arousal."""
        return self.values[:, :2]

    @property
    def vad(self) -> np.ndarray:
        """(classes, 3) valence, arousal and dominance."""
        return self.values

    def require_complete(self, what: str = "this computation", dims: int = 2) -> None:
        """Raise a clear error if a class has no position (or no dominance when ``dims == 3``).

        Parameters
        ----------
        what : str
            The computation that needs the positions, named in the error.
        dims : int
            2 (valence, arousal) or 3 (with dominance).
        """
        if self.missing:
            raise ValueError(
                f"{what} needs a position for every class, but {list(self.missing)} have no coordinate in "
                f"{self.source!r}. Place them by hand with fill={{name: (valence, arousal)}} and say so, or derive "
                f"positions from labelled data with class_mean_coordinates(...)."
            )
        if dims == 3 and np.isnan(self.values[:, 2]).any():
            lacking = [c for c, d in zip(self.classes, self.values[:, 2]) if np.isnan(d)]
            raise ValueError(f"{what} needs dominance, but {lacking} have none in {self.source!r}; "
                             f"the russell1977 set has dominance, or fill with (valence, arousal, dominance)")

    def to_frame(self) -> pd.DataFrame:
        """One row per class: valence, arousal, dominance, and where the position comes from.

        Returns
        -------
        DataFrame
            Indexed by class; ``from`` names the published term, "placed by hand (<name>)", the data, or
            "no coordinate".
        """
        origin = []
        for c in self.classes:
            if c in self.missing:
                origin.append("no coordinate")
            elif c in self.filled:
                origin.append(f"placed by hand ({self.placement or 'fill'})")
            elif self.source == "data":
                origin.append(f"class mean of {self.counts.get(c, 0)} samples")
            else:
                origin.append(PUBLISHED_TERMS.get(self.source, {}).get(concept_of(c), self.source))
        return pd.DataFrame({"valence": self.values[:, 0], "arousal": self.values[:, 1],
                             "dominance": self.values[:, 2], "from": origin},
                            index=pd.Index(self.classes, name="class"))

    def placed_only(self) -> Coordinates:
        """The same positions without the classes that have none (``missing``, e.g. Other).

        Returns
        -------
        Coordinates
            Only the placed classes, in the same order.
        """
        keep = [i for i, c in enumerate(self.classes) if c not in self.missing]
        return Coordinates(tuple(self.classes[i] for i in keep), self.values[keep], self.source, (),
                           tuple(c for c in self.filled if c not in self.missing),
                           {c: n for c, n in self.counts.items() if c not in self.missing}, self.placement)


def _as_point(name: str, value: Sequence[float]) -> tuple[float, float, float]:
    vals = [float(v) for v in value]
    if len(vals) not in (2, 3) or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"fill[{name!r}] = {value!r}; expected finite (valence, arousal) or "
                         f"(valence, arousal, dominance)")
    if any(abs(v) > 1 for v in vals):
        raise ValueError(f"fill[{name!r}] = {value!r}; coordinates must lie in [-1, 1]")
    return (vals[0], vals[1], vals[2] if len(vals) == 3 else math.nan)


def coordinates(classes: Sequence[str] | str, source: str = "russell1977",
                fill: Mapping[str, Sequence[float]] | None = None, *, placement: str | None = None) -> Coordinates:
    """Place ``classes`` on the circumplex from a published set, with the hand placements the caller states.

    Parameters
    ----------
    classes : str or sequence of str
        A class-set name (``"affwild2"``, ...) or class names in any benchmark spelling (mapped by name).
    source : str
        The published coordinate set, one of :data:`COORDINATE_SETS`.
    fill : mapping of str to (valence, arousal) or (valence, arousal, dominance), optional
        Ad-hoc hand placements (or overrides), e.g. ``{"Contempt": (-0.6, 0.35)}``; every name must be a class.
    placement : str, optional
        A named set of :func:`hand_placements` (e.g. :data:`DEFAULT_PLACEMENT`), applied to the classes of
        ``classes`` that ``source`` lacks; its entries for classes not in ``classes`` are ignored. Cannot name a
        class that ``fill`` also places.

    Returns
    -------
    Coordinates
        Positions, with ``missing`` (no position, e.g. Other), ``filled`` (placed by hand) and ``placement``
        (the set's name, or ``"fill"``) recorded so tables can say "placed by hand (<name>)".
    """
    if isinstance(classes, str):
        classes = class_set(classes)
    classes = _check_classes(classes)
    if source not in _PUBLISHED:
        raise ValueError(f"unknown coordinate set {source!r}; expected one of {list(COORDINATE_SETS)} "
                         f"(or use class_mean_coordinates for data-derived positions)")
    table = _PUBLISHED[source]
    fill = dict(fill or {})
    by_concept = {concept_of(k): (k, v) for k, v in fill.items()}
    present = {concept_of(c) for c in classes}
    unknown = [k for k in fill if concept_of(k) not in present]
    if unknown:
        raise ValueError(f"fill names {unknown}, which are not among the classes {list(classes)}")
    if placement is not None:
        if placement not in HAND_PLACEMENTS:
            raise ValueError(f"unknown hand placement {placement!r}; expected one of {list(HAND_PLACEMENTS)}")
        needed = [k for k in HAND_PLACEMENTS[placement].at if k in present and k not in table]
        named = {k: v for k, v in hand_placements(placement, source).items() if k in needed} if needed else {}
        both = sorted(set(named) & set(by_concept))
        if both:
            raise ValueError(f"fill and placement={placement!r} both place {both}; use one of the two")
        by_concept.update({k: (k, v) for k, v in named.items()})
    values = np.full((len(classes), 3), np.nan)
    missing, filled = [], []
    for i, c in enumerate(classes):
        concept = concept_of(c)
        if concept in by_concept:
            values[i] = _as_point(*by_concept[concept])
            filled.append(c)
        elif concept in table:
            values[i] = table[concept]
        else:
            missing.append(c)
    label = " + ".join(part for part in (placement, "fill" if fill else None) if part) if filled else None
    return Coordinates(classes, values, source, tuple(missing), tuple(filled), placement=label)


def class_mean_coordinates(va: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> Coordinates:
    """Data-derived positions: the mean valence-arousal of each class's samples.

    Parameters
    ----------
    va : (samples, 2) array
        Valence, arousal; rows with a NaN or an invalid marker (< -1, e.g. AffectNet's -2 or Aff-Wild2's -5) are
        ignored.
    labels : (samples,) int array
        Class indices into ``classes``; -1 means no label and is ignored.
    classes : sequence of str
        Class names, in label order.

    Returns
    -------
    Coordinates
        ``source="data"``; a class with no valid sample is in ``missing``; per-class sample counts in ``counts``.
    """
    classes = _check_classes(classes)
    va = np.asarray(va, dtype=float)
    labels = np.asarray(labels)
    if va.ndim != 2 or va.shape[1] != 2:
        raise ValueError(f"va has shape {va.shape}; expected (samples, 2) valence, arousal")
    if labels.shape != (va.shape[0],):
        raise ValueError(f"labels has shape {labels.shape}; expected ({va.shape[0]},) to match va")
    if labels.size and (labels.min() < -1 or labels.max() >= len(classes)):
        raise ValueError(f"labels range over [{labels.min()}, {labels.max()}]; expected -1 (no label) or "
                         f"0..{len(classes) - 1} for {len(classes)} classes")
    valid = (labels >= 0) & np.isfinite(va).all(axis=1) & (va >= -1).all(axis=1) & (va <= 1).all(axis=1)
    values = np.full((len(classes), 3), np.nan)
    counts, missing = {}, []
    for k, c in enumerate(classes):
        rows = va[valid & (labels == k)]
        counts[c] = int(rows.shape[0])
        if rows.shape[0]:
            values[k, :2] = rows.mean(axis=0)
        else:
            missing.append(c)
    return Coordinates(classes, values, "data", tuple(missing), (), counts)


