"""Russell's circumplex: published coordinates, class sets, cost matrices and degeneracy measures.

Introduced in chapter 01 (``notebooks/01_circumplex``).

Coordinates are (valence, arousal) in [-1, 1], optionally with dominance for the
Russell & Mehrabian (1977) set. Two canonical class sets are defined:

- ``affectnet8``: the AffectNet code order 0..7 (Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt);
- ``affwild2``: the Aff-Wild2 / ABAW EXPR order 0..7 (Neutral, Anger, Disgust, Fear, Happiness, Sadness,
  Surprise, Other).

Class names are mapped onto published terms **by name, never by position** (``concept_of``), so "Happy" and
"Happiness" both land on the published term "happy". Where a class has no published coordinate (contempt in every
set; Other; disgust in Russell 1980), the coordinate is NaN, the class is listed in ``missing`` and functions that
need every class raise an error that says so and names the remedies: place it by hand with ``fill=`` (an assumption
the caller states) or derive it from labelled data with :func:`class_mean_coordinates`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "CLASS_SETS",
    "COORDINATE_SETS",
    "Coordinates",
    "class_mean_coordinates",
    "class_set",
    "concept_of",
    "coordinates",
    "degenerate_pairs",
    "nearest_neighbours",
    "separability_index",
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

#: Published coordinate sets. Values are the numbers in ``shared/reference/FACTS.md`` section 4.
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


def class_set(name: str) -> tuple[str, ...]:
    """Return the class names of a canonical class set (``affectnet8``, ``affectnet7``, ``affwild2``)."""
    try:
        return CLASS_SETS[name]
    except KeyError:
        raise ValueError(f"unknown class set {name!r}; expected one of {sorted(CLASS_SETS)}") from None


def concept_of(name: str) -> str:
    """Map a class name in any benchmark spelling ("Happy", "happiness", "ANGRY") to its concept."""
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
    """Class positions on the circumplex.

    ``values``: (classes, 3) array of valence, arousal, dominance (dominance NaN when the source has none);
    ``missing``: classes without a published or data-derived position (rows of NaN);
    ``filled``: classes placed by hand through ``fill=`` (an assumption of the caller);
    ``source``: the coordinate set's name.
    """

    classes: tuple[str, ...]
    values: np.ndarray
    source: str
    missing: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def va(self) -> np.ndarray:
        """(classes, 2) valence and arousal."""
        return self.values[:, :2]

    @property
    def vad(self) -> np.ndarray:
        """(classes, 3) valence, arousal and dominance."""
        return self.values

    def require_complete(self, what: str = "this computation", dims: int = 2) -> None:
        """Raise a clear error if a class has no position (or no dominance when ``dims == 3``)."""
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
        """One row per class: valence, arousal, dominance, and where the position comes from."""
        origin = []
        for c in self.classes:
            if c in self.missing:
                origin.append("no coordinate")
            elif c in self.filled:
                origin.append("placed by hand")
            elif self.source == "data":
                origin.append(f"class mean of {self.counts.get(c, 0)} samples")
            else:
                origin.append(PUBLISHED_TERMS.get(self.source, {}).get(concept_of(c), self.source))
        return pd.DataFrame({"valence": self.values[:, 0], "arousal": self.values[:, 1],
                             "dominance": self.values[:, 2], "from": origin},
                            index=pd.Index(self.classes, name="class"))


def _as_point(name: str, value: Sequence[float]) -> tuple[float, float, float]:
    vals = [float(v) for v in value]
    if len(vals) not in (2, 3) or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"fill[{name!r}] = {value!r}; expected finite (valence, arousal) or "
                         f"(valence, arousal, dominance)")
    if any(abs(v) > 1 for v in vals):
        raise ValueError(f"fill[{name!r}] = {value!r}; coordinates must lie in [-1, 1]")
    return (vals[0], vals[1], vals[2] if len(vals) == 3 else math.nan)


def coordinates(classes: Sequence[str] | str, source: str = "russell1977",
                fill: Mapping[str, Sequence[float]] | None = None) -> Coordinates:
    """Place ``classes`` (a class-set name or a list of names) on the circumplex from a published set.

    ``fill`` places classes the set lacks (or overrides one) by hand: ``{"Contempt": (-0.6, 0.35)}``. The result
    records which classes were filled, so tables can say so.
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
    unknown = [k for k in fill if concept_of(k) not in {concept_of(c) for c in classes}]
    if unknown:
        raise ValueError(f"fill names {unknown}, which are not among the classes {list(classes)}")
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
    return Coordinates(classes, values, source, tuple(missing), tuple(filled))


def class_mean_coordinates(va: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> Coordinates:
    """Data-derived positions: the mean valence-arousal of each class's samples.

    ``va``: (samples, 2) valence, arousal; rows with a NaN or an invalid marker (< -1, e.g. AffectNet's -2 or
    Aff-Wild2's -5) are ignored. ``labels``: (samples,) class indices into ``classes``; -1 means no label and is
    ignored. A class with no valid sample is reported in ``missing``; per-class sample counts are in ``counts``.
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


def _labelled(cost: np.ndarray | pd.DataFrame, classes: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(cost, pd.DataFrame):
        names = tuple(cost.index) if classes is None else tuple(classes)
        cost = cost.to_numpy()
    else:
        if classes is None:
            raise ValueError("classes is required when cost is a plain array")
        names = tuple(classes)
    cost = np.asarray(cost, dtype=float)
    if cost.shape != (len(names), len(names)):
        raise ValueError(f"cost has shape {cost.shape}; expected ({len(names)}, {len(names)}) for classes {names}")
    return cost, names


def nearest_neighbours(cost: np.ndarray | pd.DataFrame, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """Each class's nearest other class, its distance, and that distance relative to the median pairwise distance.

    ``relative`` < 1 means closer than a typical pair; the median is over the off-diagonal upper triangle.
    """
    cost, names = _labelled(cost, classes)
    n = len(names)
    upper = cost[np.triu_indices(n, k=1)]
    median = float(np.median(upper))
    masked = cost + np.diag(np.full(n, np.inf))
    nearest = masked.argmin(axis=1)
    dist = masked[np.arange(n), nearest]
    return pd.DataFrame({"nearest": [names[j] for j in nearest], "distance": dist, "relative": dist / median},
                        index=pd.Index(names, name="class"))


def degenerate_pairs(cost: np.ndarray | pd.DataFrame, classes: Sequence[str] | None = None,
                     top: int | None = None) -> pd.DataFrame:
    """All class pairs sorted from nearest to farthest, with distance relative to the median pairwise distance."""
    cost, names = _labelled(cost, classes)
    n = len(names)
    i, j = np.triu_indices(n, k=1)
    d = cost[i, j]
    frame = pd.DataFrame({"a": [names[k] for k in i], "b": [names[k] for k in j], "distance": d,
                          "relative": d / np.median(d)})
    frame = frame.sort_values(["distance", "a", "b"], kind="mergesort").reset_index(drop=True)
    return frame.head(top) if top is not None else frame


def separability_index(va: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """Per pair of classes: centroid distance over pooled within-class spread, from per-sample labels.

    For classes i, j with ``n`` valid samples, centroid ``m`` and mean squared distance to the centroid ``s2``
    (the trace of the population covariance)::

        index = |m_i - m_j| / sqrt((n_i * s2_i + n_j * s2_j) / (n_i + n_j))

    Near 0: the pair overlaps on the circumplex. Rows with no label (-1) or invalid valence-arousal are ignored;
    pairs where a class has no valid sample get NaN. Sorted from least to most separable.
    """
    coords = class_mean_coordinates(va, labels, classes)
    va = np.asarray(va, dtype=float)
    labels = np.asarray(labels)
    valid = (labels >= 0) & np.isfinite(va).all(axis=1) & (va >= -1).all(axis=1) & (va <= 1).all(axis=1)
    spread = {}
    for k, c in enumerate(coords.classes):
        rows = va[valid & (labels == k)]
        spread[c] = float(((rows - rows.mean(0)) ** 2).sum(1).mean()) if len(rows) else math.nan
    out = []
    names = coords.classes
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            na, nb = coords.counts[names[a]], coords.counts[names[b]]
            dist = float(np.linalg.norm(coords.va[a] - coords.va[b]))
            if na and nb:
                pooled = math.sqrt((na * spread[names[a]] + nb * spread[names[b]]) / (na + nb))
                index = dist / pooled if pooled > 0 else math.inf
            else:
                index = math.nan
            out.append({"a": names[a], "b": names[b], "centroid_distance": dist, "index": index})
    frame = pd.DataFrame(out)
    return frame.sort_values(["index", "a", "b"], kind="mergesort", na_position="last").reset_index(drop=True)

