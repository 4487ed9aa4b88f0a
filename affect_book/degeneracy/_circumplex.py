"""Degeneracy measures on the circumplex: nearest neighbours, degenerate pairs, the designated pair, separability.

Introduced in chapter 01 (``notebooks/01_circumplex``). The positions come from :mod:`affect_book.circumplex`, one
floor down.

**Ties are ties.** Two distances that agree within ``tol`` are equal: tied pairs share a rank and are reported
together, never ordered by name. **Other is left out** (the book's rule: Aff-Wild2's catch-all has no circumplex
coordinate), and every result lists what it left out in ``frame.attrs["excluded"]``.

Each measure takes a cost (distance) matrix with class names, or a :class:`affect_book.circumplex.Coordinates`
(valence-arousal distances of its placed classes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..circumplex import class_mean_coordinates

__all__ = ["NearestPair", "degenerate_pairs", "is_other", "nearest_neighbours", "nearest_pair",
           "separability_index"]


def is_other(name: str) -> bool:
    """Whether ``name`` is Aff-Wild2's catch-all class "Other", which has no circumplex coordinate.

    Parameters
    ----------
    name : str
        A class name (any capitalization).

    Returns
    -------
    bool
        True for "Other".
    """
    return str(name).strip().lower() == "other"


def _labelled(cost, classes: Sequence[str] | None,
              exclude_other: bool = True) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    unplaced: tuple[str, ...] = ()
    if hasattr(cost, "placed_only"):  # Coordinates: valence-arousal distances between the classes with a position
        if classes is not None:
            raise ValueError("classes must be None with Coordinates (they carry their class names)")
        unplaced, placed = cost.missing, cost.placed_only()
        classes, points = placed.classes, placed.va
        cost = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
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
    excluded = tuple(c for c in names if exclude_other and is_other(c))
    keep = [i for i, c in enumerate(names) if c not in excluded]
    excluded = unplaced + excluded
    if len(keep) < 2:
        raise ValueError(f"degeneracy needs at least 2 classes with a position; found {[names[i] for i in keep]}")
    if not np.isfinite(cost[np.ix_(keep, keep)]).all():
        raise ValueError("cost has non-finite entries; place every class (or leave it out) before measuring")
    return cost[np.ix_(keep, keep)], tuple(names[i] for i in keep), excluded


def _tie_groups(values: np.ndarray, tol: float) -> np.ndarray:
    """Dense rank (1 = smallest) of sorted ``values``, equal within ``tol`` of the previous value."""
    rank = np.ones(len(values), dtype=int)
    for k in range(1, len(values)):
        rank[k] = rank[k - 1] + int(values[k] - values[k - 1] > tol)
    return rank


def nearest_neighbours(cost, classes: Sequence[str] | None = None, *,
                       tol: float = 1e-9, exclude_other: bool = True) -> pd.DataFrame:
    """Each class's nearest other class(es), the distance, and that distance relative to the median pair.

    Parameters
    ----------
    cost : (classes, classes) array, DataFrame or Coordinates
        Symmetric distances (e.g. a valence-arousal cost); a DataFrame supplies the class names from its index;
        :class:`~affect_book.circumplex.Coordinates` give the valence-arousal distances of their placed classes
        (unplaced ones excluded).
    classes : sequence of str, optional
        Class names, required for a plain array.
    tol : float
        Distances within ``tol`` of the smallest count as tied: every tied neighbour is listed, never one chosen.
    exclude_other : bool
        Leave Aff-Wild2's Other out (the book's rule: it has no coordinate); the excluded names (and classes of
        ``Coordinates`` without a position) are in ``frame.attrs["excluded"]``.

    Returns
    -------
    DataFrame
        Indexed by class: ``nearest`` (the nearest class, or tied classes joined by " = "), ``n_nearest`` (how many
        tie), ``distance``, ``relative`` (distance over the median off-diagonal distance; < 1 is closer than a
        typical pair).
    """
    cost, names, excluded = _labelled(cost, classes, exclude_other)
    n = len(names)
    median = float(np.median(cost[np.triu_indices(n, k=1)]))
    masked = cost + np.diag(np.full(n, np.inf))
    dist = masked.min(axis=1)
    tied = [[names[j] for j in np.flatnonzero(masked[i] <= dist[i] + tol)] for i in range(n)]
    frame = pd.DataFrame({"nearest": [" = ".join(t) for t in tied], "n_nearest": [len(t) for t in tied],
                          "distance": dist, "relative": dist / median}, index=pd.Index(names, name="class"))
    frame.attrs["excluded"] = list(excluded)
    return frame


def degenerate_pairs(cost, classes: Sequence[str] | None = None,
                     top: int | None = None, *, tol: float = 1e-9, exclude_other: bool = True) -> pd.DataFrame:
    """All class pairs from nearest to farthest; pairs whose distances agree within ``tol`` share a rank.

    Ties are reported as ties, never broken by name: within a tie the rows keep the class order of ``cost``
    and ``rank`` is the same for all of them.

    Parameters
    ----------
    cost : (classes, classes) array, DataFrame or Coordinates
        As in :func:`nearest_neighbours`.
    classes : sequence of str, optional
        Class names, required for a plain array.
    top : int, optional
        Keep the pairs of the ``top`` nearest rows, extended to every pair tied with the last one kept.
    tol : float
        Absolute tolerance under which two distances are equal.
    exclude_other : bool
        Leave Aff-Wild2's Other out (it has no coordinate); excluded names are in ``frame.attrs["excluded"]``.

    Returns
    -------
    DataFrame
        Columns ``a``, ``b``, ``distance``, ``relative`` (over the median pairwise distance), ``rank`` (dense,
        1 = nearest) and ``tied`` (True when another pair has the same rank).
    """
    cost, names, excluded = _labelled(cost, classes, exclude_other)
    i, j = np.triu_indices(len(names), k=1)
    d = cost[i, j]
    order = np.argsort(d, kind="stable")
    i, j, d = i[order], j[order], d[order]
    rank = _tie_groups(d, tol)
    frame = pd.DataFrame({"a": [names[k] for k in i], "b": [names[k] for k in j], "distance": d,
                          "relative": d / np.median(d), "rank": rank})
    frame["tied"] = frame["rank"].map(frame["rank"].value_counts()) > 1
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
            raise ValueError(f"top={top!r}; expected a positive integer (or None for every pair)")
        frame = frame[frame["rank"] <= frame["rank"].iloc[min(top, len(frame)) - 1]]
    frame.attrs["excluded"] = list(excluded)
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class NearestPair:
    """The nearest pair of a cost, with every pair tied with it (returned by :func:`nearest_pair`).

    Parameters
    ----------
    pair : (str, str)
        The designated pair.
    distance : float
        Its distance.
    tied : tuple of (str, str)
        All pairs at that distance, ``pair`` included (one entry when there is no tie).
    chosen_by : str
        ``"geometry"`` when the nearest pair is unique, ``"prefer"`` when the caller chose among tied pairs.
    """

    pair: tuple[str, str]
    distance: float
    tied: tuple[tuple[str, str], ...]
    chosen_by: str

    def statement(self) -> str:
        """One sentence for tables and logs, stating the tie when there is one.

        Returns
        -------
        str
            E.g. "Anger-Fear is the nearest pair (0.130 apart)".
        """
        name = "-".join(self.pair)
        if len(self.tied) == 1:
            return f"{name} is the nearest pair ({self.distance:.3f} apart)"
        others = ", ".join("-".join(p) for p in self.tied if set(p) != set(self.pair))
        return (f"{name} is a nearest pair ({self.distance:.3f} apart), tied with {others}; "
                f"{name} chosen by the caller among the tied pairs")


def nearest_pair(cost, classes: Sequence[str] | None = None, *,
                 involving: str | None = None, prefer: Sequence[str] | None = None, tol: float = 1e-9,
                 exclude_other: bool = True) -> NearestPair:
    """The designated degenerate pair, derived from the geometry, with any tie stated.

    Parameters
    ----------
    cost, classes
        The distances and, for a plain array, the class names, as in :func:`nearest_neighbours`.
    involving : str, optional
        Only pairs that contain this class (e.g. the nearest partner of ``"Contempt"``).
    prefer : (str, str), optional
        The pair to designate when several tie at the smallest distance; it must be one of them.
    tol, exclude_other
        As in :func:`degenerate_pairs`.

    Returns
    -------
    NearestPair
        The pair, its distance and every pair tied with it.

    Raises
    ------
    ValueError
        When pairs tie and ``prefer`` is not given (the caller must state the choice), or ``prefer`` is not among
        the tied pairs.
    """
    pairs = degenerate_pairs(cost, classes, tol=tol, exclude_other=exclude_other)
    if involving is not None:
        if involving not in set(pairs.a) | set(pairs.b):
            raise ValueError(f"involving={involving!r} is not among the classes {sorted(set(pairs.a) | set(pairs.b))}")
        pairs = pairs[(pairs.a == involving) | (pairs.b == involving)].reset_index(drop=True)
    first = pairs[np.abs(pairs.distance - pairs.distance.iloc[0]) <= tol]
    tied = tuple((r.a, r.b) for r in first.itertuples())
    if len(tied) == 1:
        return NearestPair(tied[0], float(first.distance.iloc[0]), tied, "geometry")
    listed = [f"{a}-{b}" for a, b in tied]
    if prefer is None:
        raise ValueError(f"the nearest pairs tie within {tol}: {listed} ({first.distance.iloc[0]:.6f} apart); "
                         f"pass prefer=(a, b) to designate one of them and state the tie")
    match = [p for p in tied if set(p) == set(prefer)]
    if not match:
        raise ValueError(f"prefer={tuple(prefer)} is not among the tied nearest pairs {listed}")
    return NearestPair(match[0], float(first.distance.iloc[0]), tied, "prefer")


def separability_index(va: np.ndarray, labels: np.ndarray, classes: Sequence[str], *,
                       exclude_other: bool = True) -> pd.DataFrame:
    """Per pair of classes: centroid distance over pooled within-class spread, from per-sample labels.

    For classes i, j with ``n`` valid samples, centroid ``m`` and mean squared distance to the centroid ``s2``
    (the trace of the population covariance)::

        index = |m_i - m_j| / sqrt((n_i * s2_i + n_j * s2_j) / (n_i + n_j))

    Near 0: the pair overlaps on the circumplex. Rows with no label (-1) or invalid valence-arousal are ignored;
    pairs where a class has no valid sample get NaN.

    Parameters
    ----------
    va, labels, classes
        As in :func:`affect_book.circumplex.class_mean_coordinates`.
    exclude_other : bool
        Leave pairs with Aff-Wild2's Other out (the book's rule; listed in ``frame.attrs["excluded"]``).

    Returns
    -------
    DataFrame
        Columns ``a``, ``b``, ``centroid_distance``, ``index``; sorted from least to most separable (NaN last).
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
    excluded = [c for c in names if exclude_other and is_other(c)]
    frame = pd.DataFrame(out)
    frame = frame[~frame.a.isin(excluded) & ~frame.b.isin(excluded)]
    frame = frame.sort_values("index", kind="mergesort", na_position="last").reset_index(drop=True)
    frame.attrs["excluded"] = excluded
    return frame

