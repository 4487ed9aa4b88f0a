"""The cost matrices computed from the classes' positions or AU prototypes, the controls derived from a cost
(uniform, column-matched uniform, permuted) and the checks of a user matrix (:func:`validate_cost`). Conventions
(orientation, units, the rule for Other): the package's docstring, :mod:`affect_book.costs`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import circumplex as cx
from ..arrays import to_numpy
from ..facs import PROTOTYPES, prototype_matrix

__all__ = ["BASE_KINDS", "DEFAULT_AU_WEIGHT", "angular_cost", "au_augmented_cost", "au_prototype_distance",
           "mean_off_diagonal", "permuted_cost", "uniform_column_cost", "uniform_cost", "va_distance_cost",
           "vad_distance_cost", "validate_cost"]

#: Costs computed from the classes' positions (or AU prototypes).
BASE_KINDS: tuple[str, ...] = ("va", "vad", "angular", "au")
#: Default share of the AU-prototype distance in the AU-augmented cost (see :func:`au_augmented_cost`).
DEFAULT_AU_WEIGHT = 0.5


def mean_off_diagonal(cost) -> float:
    """Mean of the off-diagonal entries of a square matrix.

    Parameters
    ----------
    cost : array-like, (classes, classes)

    Returns
    -------
    float
        The mean over the ``classes * (classes - 1)`` entries off the diagonal.
    """
    cost = _square(cost)
    return float(cost[~np.eye(len(cost), dtype=bool)].mean())


def _square(cost) -> np.ndarray:
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
        raise ValueError(f"cost has shape {c.shape}; expected a square matrix with at least 2 classes")
    return c


def _normalize(cost: np.ndarray, normalize: str | None) -> np.ndarray:
    if normalize in (None, "none"):
        return cost
    if normalize == "max":
        return cost / cost.max()
    if normalize == "mean":
        return cost / mean_off_diagonal(cost)
    raise ValueError(f"normalize={normalize!r}; expected None, 'max' or 'mean'")


def _pairwise(points: np.ndarray) -> np.ndarray:
    diff = points[:, None, :] - points[None, :, :]
    return np.sqrt((diff ** 2).sum(-1))


def va_distance_cost(coords: cx.Coordinates | np.ndarray, normalize: str | None = None) -> np.ndarray:
    """Euclidean valence-arousal distance between classes.

    Parameters
    ----------
    coords : Coordinates or array, (classes, 2 or more)
        Positions; a :class:`~affect_book.circumplex.Coordinates` must place every class.
    normalize : {None, "max", "mean"}
        None: valence-arousal units (0 on the diagonal, at most ``2 * sqrt(2)``); "max": divided by the largest
        entry (range [0, 1]); "mean": divided by the mean off-diagonal entry (mean 1).

    Returns
    -------
    numpy.ndarray, (classes, classes)
        Symmetric, zero diagonal.
    """
    if isinstance(coords, cx.Coordinates):
        coords.require_complete("a valence-arousal cost")
        points = coords.va
    else:
        points = np.asarray(coords, dtype=float)[:, :2]
    return _normalize(_pairwise(points), normalize)


def vad_distance_cost(coords: cx.Coordinates | np.ndarray, normalize: str | None = None) -> np.ndarray:
    """Euclidean valence-arousal-dominance distance between classes (needs dominance for every class).

    Parameters
    ----------
    coords : Coordinates or array, (classes, 3)
    normalize : {None, "max", "mean"}
        As in :func:`va_distance_cost`; the largest possible raw entry is ``2 * sqrt(3)``.

    Returns
    -------
    numpy.ndarray, (classes, classes)
    """
    if isinstance(coords, cx.Coordinates):
        coords.require_complete("a valence-arousal-dominance cost", dims=3)
        points = coords.vad
    else:
        points = np.asarray(coords, dtype=float)
        if points.ndim != 2 or points.shape[1] != 3 or np.isnan(points).any():
            raise ValueError("vad_distance_cost needs (classes, 3) finite valence, arousal, dominance")
    return _normalize(_pairwise(points), normalize)


def angular_cost(coords: cx.Coordinates | np.ndarray, origin_cost: float = 0.5, tol: float = 1e-9) -> np.ndarray:
    """Angular distance around the circumplex, as a fraction of a half turn: 0 same direction, 1 opposite.

    Parameters
    ----------
    coords : Coordinates or array, (classes, 2 or more)
    origin_cost : float
        A class at the origin (neutral) has no angle; its cost to every other class is ``origin_cost`` (default
        0.5, a quarter turn: an assumption, overridable), and 0 to another class at the origin.
    tol : float
        Distance from the origin below which a class counts as at the origin.

    Returns
    -------
    numpy.ndarray, (classes, classes)
        In half turns, range [0, 1].
    """
    if isinstance(coords, cx.Coordinates):
        coords.require_complete("an angular cost")
        points = coords.va
    else:
        points = np.asarray(coords, dtype=float)[:, :2]
    if not 0 <= origin_cost <= 1:
        raise ValueError(f"origin_cost={origin_cost}; expected a value in [0, 1]")
    angle = np.arctan2(points[:, 1], points[:, 0])
    diff = np.abs(angle[:, None] - angle[None, :])
    cost = np.minimum(diff, 2 * np.pi - diff) / np.pi
    at_origin = np.hypot(points[:, 0], points[:, 1]) < tol
    cost[at_origin, :] = origin_cost
    cost[:, at_origin] = origin_cost
    cost[np.ix_(at_origin, at_origin)] = 0.0
    np.fill_diagonal(cost, 0.0)
    return cost


def uniform_cost(n_classes: int, match=None) -> np.ndarray:
    """Uniform cost ``s (1 - I)``: every confusion costs the same ``s``.

    Parameters
    ----------
    n_classes : int
    match : array-like, (n_classes, n_classes), optional
        Another cost; ``s`` is then its mean off-diagonal value, so both costs have the same mean price per
        confusion (the control for that cost at the same weight). Without it ``s = 1`` and the OT term is
        ``1 - p_y``.

    Returns
    -------
    numpy.ndarray, (n_classes, n_classes)
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes={n_classes!r}; expected an integer >= 2")
    scale = 1.0
    if match is not None:
        match = np.asarray(match, dtype=float)
        if match.shape != (n_classes, n_classes):
            raise ValueError(f"match has shape {match.shape}; expected ({n_classes}, {n_classes})")
        scale = mean_off_diagonal(match)
    return scale * (1.0 - np.eye(n_classes))


def uniform_column_cost(cost) -> np.ndarray:
    """Column-matched uniform cost: ``U[j, y] = mean over i != y of C[i, y]`` for ``j != y``, 0 on the diagonal.

    Every wrong prediction for a true class ``y`` costs the same, the mean price of a confusion of ``y`` under
    ``cost``; the OT term becomes ``m_y (1 - p_y)``. It keeps how dear each true class's errors are on average
    and removes where they land: the control that separates "which classes are expensive" from geometry.

    Parameters
    ----------
    cost : array-like, (classes, classes)
        Rows predicted, columns true.

    Returns
    -------
    numpy.ndarray, (classes, classes)
        Same column means off the diagonal as ``cost``, hence the same mean off-diagonal value.
    """
    c = _square(cost)
    n = len(c)
    off = ~np.eye(n, dtype=bool)
    column_means = (c * off).sum(0) / (n - 1)
    return np.where(off, column_means[None, :], 0.0)


def permuted_cost(cost, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The cost with its classes relabelled by a fixed permutation that moves every class.

    ``P[j, y] = C[perm[j], perm[y]]``: class ``j`` is priced as if it were class ``perm[j]``. ``perm`` is the first
    derangement (no class left in place) drawn by ``numpy.random.default_rng(seed)`` that changes the matrix, so
    a seed always gives the same permutation. The control keeps the cost's values (their spread, their mean) and
    destroys their meaning: a geometric effect vanishes under it, an effect of non-uniform prices alone does not.

    Parameters
    ----------
    cost : array-like, (classes, classes)
    seed : int
        Selects the permutation (the trainer passes the run's seed).

    Returns
    -------
    matrix : numpy.ndarray, (classes, classes)
    permutation : numpy.ndarray of int, (classes,)
        ``perm``: row ``j`` of ``matrix`` is row ``perm[j]`` of ``cost`` (columns alike).
    """
    c = _square(cost)
    n = len(c)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}; expected a non-negative integer")
    rng = np.random.default_rng(int(seed))
    for _ in range(10_000):
        perm = rng.permutation(n)
        if (perm != np.arange(n)).all():
            permuted = c[np.ix_(perm, perm)]
            if not np.allclose(permuted, c):
                return permuted, perm
    raise ValueError("cost is unchanged by every permutation tried (a uniform cost, or 2 classes with a symmetric "
                     "cost): a permuted control needs a cost whose entries differ")


def validate_cost(cost, classes: Sequence[str] | None = None, where: str = "cost",
                  allow_zero_off_diagonal: bool = False) -> np.ndarray:
    """Check a cost matrix and return it as a float64 array.

    Checks: 2-D, square, at least 2 classes, finite, non-negative, zero diagonal, no zero between two distinct
    classes (unless allowed), and (when ``classes`` is given) one row per class. A labelled ``DataFrame`` must
    carry the classes' names in the same order on both axes (compared by concept, so "Happy" matches
    "Happiness"). Runs on the host: call it once when a loss is built, not in a training step.

    Parameters
    ----------
    cost : numpy.ndarray, pandas.DataFrame or torch.Tensor, (classes, classes)
        Rows predicted, columns true.
    classes : sequence of str, optional
        The class names, in label order.
    where : str
        Names the matrix in error messages.
    allow_zero_off_diagonal : bool
        Accept a zero between two distinct classes (the OT term then rewards confusing them: say why).

    Returns
    -------
    numpy.ndarray, (classes, classes), float64
    """
    if isinstance(cost, pd.DataFrame):
        rows, cols = [str(c) for c in cost.index], [str(c) for c in cost.columns]
        if classes is not None:
            want = [cx.concept_of(c) for c in classes]
            for axis, names in (("rows", rows), ("columns", cols)):
                try:
                    got = [cx.concept_of(c) for c in names]
                except ValueError:
                    got = names
                if got != want:
                    raise ValueError(f"{where}: its {axis} are labelled {names}; expected the classes "
                                     f"{list(classes)} in that order")
        cost = cost.to_numpy()
    cost = to_numpy(cost, dtype=np.float64)
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"{where} has shape {cost.shape}; expected a square (classes, classes) matrix")
    n = cost.shape[0]
    if n < 2:
        raise ValueError(f"{where} has {n} class; expected at least 2")
    if classes is not None and n != len(classes):
        raise ValueError(f"{where} is {n} x {n} but there are {len(classes)} classes {list(classes)}")
    if not np.isfinite(cost).all():
        bad = np.argwhere(~np.isfinite(cost))[0]
        raise ValueError(f"{where}[{bad[0]}, {bad[1]}] = {cost[tuple(bad)]}; expected finite entries")
    if (cost < 0).any():
        bad = np.argwhere(cost < 0)[0]
        raise ValueError(f"{where}[{bad[0]}, {bad[1]}] = {cost[tuple(bad)]:.4g}; expected non-negative entries")
    diag = np.abs(np.diag(cost))
    if (diag > 0).any():
        k = int(np.argmax(diag))
        raise ValueError(f"{where}[{k}, {k}] = {cost[k, k]:.4g}; expected a zero diagonal (a correct prediction "
                         f"costs nothing)")
    zero = (cost == 0) & ~np.eye(n, dtype=bool)
    if zero.any() and not allow_zero_off_diagonal:
        j, y = np.argwhere(zero)[0]
        pair = f" (predicted {classes[j]!r}, true {classes[y]!r})" if classes is not None else ""
        raise ValueError(f"{where}[{j}, {y}] = 0{pair}: two distinct classes at zero cost, so the OT term would "
                         f"reward confusing them; place them apart, or pass allow_zero_off_diagonal=True")
    return cost


def au_prototype_distance(classes: Sequence[str], other: str | float = "mean") -> np.ndarray:
    """Euclidean distance between the classes' AU prototypes, in AU-activation units.

    Prototypes are the rows of :func:`affect_book.facs.prototype_matrix` (the table the face simulator renders):
    the distance between two 0/1 prototypes is the square root of the number of AUs in which they differ.

    Parameters
    ----------
    classes : sequence of str
        At least 2 need a prototype.
    other : "mean" or float
        Cost of a class without a prototype (Aff-Wild2's "Other") to every class: "mean" (the book's rule: the
        mean distance between the prototyped classes) or a non-negative number; 0 to itself.

    Returns
    -------
    numpy.ndarray, (classes, classes)
    """
    classes = list(classes)
    has = [cx.concept_of(c) in PROTOTYPES for c in classes]
    known = [c for c, h in zip(classes, has) if h]
    if len(known) < 2:
        raise ValueError(f"classes {classes}: at least 2 need an AU prototype; prototypes exist for "
                         f"{sorted(PROTOTYPES)}")
    protos = prototype_matrix(known)
    inner = np.sqrt(((protos[:, None, :] - protos[None, :, :]) ** 2).sum(-1))
    if other == "mean":
        fill = mean_off_diagonal(inner)
    elif isinstance(other, (int, float)) and not isinstance(other, bool) and other >= 0 and math.isfinite(other):
        fill = float(other)
    else:
        raise ValueError(f"other={other!r}; expected 'mean' or a non-negative number")
    out = np.full((len(classes), len(classes)), fill)
    idx = [i for i, h in enumerate(has) if h]
    out[np.ix_(idx, idx)] = inner
    np.fill_diagonal(out, 0.0)
    return out


def au_augmented_cost(coords: cx.Coordinates, au_weight: float = DEFAULT_AU_WEIGHT,
                      other: str | float = "mean") -> np.ndarray:
    """Valence-arousal distance combined with AU-prototype distance, in valence-arousal units.

    ``C = (1 - w) D_va + w (m_va / m_au) D_au`` with ``D_va`` the valence-arousal distance, ``D_au``
    :func:`au_prototype_distance` and ``m`` each matrix's mean off-diagonal entry: each part is brought to the
    same mean before mixing, so ``w`` is the share of the mean price that comes from the face, and ``C`` keeps
    the valence-arousal cost's mean off-diagonal value.

    Parameters
    ----------
    coords : Coordinates
        Every class placed.
    au_weight : float in [0, 1]
        ``w``; default 0.5, half geometry, half face.
    other : "mean" or float
        See :func:`au_prototype_distance`.

    Returns
    -------
    numpy.ndarray, (classes, classes)
    """
    if not 0.0 <= au_weight <= 1.0:
        raise ValueError(f"au_weight={au_weight}; expected a value in [0, 1]")
    d_va = va_distance_cost(coords)
    d_au = au_prototype_distance(coords.classes, other=other)
    m_va, m_au = mean_off_diagonal(d_va), mean_off_diagonal(d_au)
    return (1.0 - au_weight) * d_va + au_weight * (m_va / m_au) * d_au


