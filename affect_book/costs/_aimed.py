"""Costs aimed at near classes (issue 22, item 5): the designated pair's confusion priced high
(:func:`pair_weighted_cost`), or every confusion priced by how near the two classes are
(:func:`inverse_distance_cost`). They are the costs the study's recommendation is about ("a cost that prices the
degenerate pair's confusion high cannot separate it, while a representation can"), so chapter 09 can test it
directly instead of reading it off the circumplex cost, which prices that confusion *low*.

Both keep a stated mean price per confusion (their mean off-diagonal entry), as the study's controls do
(:func:`~affect_book.costs.uniform_cost` with ``match``): at the study's one ``lambda_ot`` the OT term then has the
same size on average as with the cost it is matched to, and only where the price falls differs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import circumplex as cx
from ._matrices import _square, mean_off_diagonal

__all__ = ["DEFAULT_INVERSE_EPS", "DEFAULT_PAIR_WEIGHT", "inverse_distance_cost", "pair_weighted_cost"]

#: How many times dearer than any other confusion the pair-weighted cost prices the designated pair's two confusions.
#: An assumption: 5 is a round value below the factor by which the valence-arousal cost prices the designated pairs
#: *below* its mean (its mean off-diagonal entry over the pair's entry: 6.7 for anger-fear on Aff-Wild2's classes,
#: 6.3 for anger-contempt on AffectNet's, Russell & Mehrabian 1977 with contempt at the book's placement), so the
#: pair-aimed cost is a milder mirror image of the circumplex cost on the pair, and one number serves both presets.
DEFAULT_PAIR_WEIGHT = 5.0
#: The ``eps`` of :func:`inverse_distance_cost`, in the distance's units (valence-arousal units for the study's
#: ``inverse`` cost): it keeps two classes at the same point finite (``1 / eps``) and bounds how much dearer the
#: nearest pair is than the others (the designated pairs lie about 0.13 apart in valence-arousal).
DEFAULT_INVERSE_EPS = 0.1


def _index(name: str, classes: Sequence[str], what: str) -> int:
    """Position of ``name`` in ``classes``: by exact name, else by concept ("Angry" finds "Anger")."""
    if name in classes:
        return list(classes).index(name)
    try:
        concept = cx.concept_of(name)
        hits = [i for i, c in enumerate(classes) if _concept_or_none(c) == concept]
    except ValueError:
        hits = []
    if len(hits) != 1:
        raise ValueError(f"{what} names {name!r}, which is not one of the classes {list(classes)}")
    return hits[0]


def _concept_or_none(name: str) -> str | None:
    try:
        return cx.concept_of(name)
    except ValueError:
        return None


def pair_weighted_cost(classes: Sequence[str], pair: Sequence[str], weight: float = DEFAULT_PAIR_WEIGHT,
                       match=None) -> np.ndarray:
    """The uniform cost with the designated pair's two confusions ``weight`` times dearer, at a stated mean.

    ``B = 1 - I`` with ``B[a, b] = B[b, a] = weight`` for the pair ``(a, b)``; ``C = s B / m(B)``, where ``m`` is the
    mean off-diagonal entry and ``s`` the mean off-diagonal entry of ``match`` (1 without it). With ``n`` classes,
    every confusion outside the pair costs ``s n (n - 1) / (n (n - 1) - 2 + 2 weight)``, the pair's two confusions
    ``weight`` times that, and the mean price per confusion is ``s``: the same as ``match``'s, so the cost differs
    from the matched uniform control (:func:`~affect_book.costs.uniform_cost`) only in where the price falls.

    Parameters
    ----------
    classes : sequence of str
        The class names, in label order (at least 2).
    pair : (str, str)
        The designated pair: two different names of ``classes`` (matched by name, then by concept, so "Angry"
        finds "Anger").
    weight : float
        How many times dearer the pair's confusions are than any other (finite, > 0; 1 gives the uniform cost;
        default :data:`DEFAULT_PAIR_WEIGHT`).
    match : array-like, (classes, classes), optional
        The cost whose mean off-diagonal entry the result keeps (the study's valence-arousal cost).

    Returns
    -------
    numpy.ndarray, (classes, classes)
        Symmetric, zero diagonal, mean off-diagonal entry ``s``.

    Raises
    ------
    ValueError
        For a pair that is not two different names of ``classes``, or a weight that is not a finite number > 0.
    """
    classes = tuple(classes)
    n = len(classes)
    if n < 2:
        raise ValueError(f"classes {list(classes)}: a cost needs at least 2 classes")
    if isinstance(pair, str) or len(pair) != 2:
        raise ValueError(f"pair={pair!r}; expected two class names (the designated pair)")
    a, b = (_index(name, classes, f"pair {tuple(pair)}") for name in pair)
    if a == b:
        raise ValueError(f"pair {tuple(pair)} names one class twice; expected two different classes")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
        raise ValueError(f"weight={weight!r}; expected a finite number > 0 (how many times dearer the pair is)")
    scale = 1.0
    if match is not None:
        match = _square(match)
        if match.shape != (n, n):
            raise ValueError(f"match has shape {match.shape}; expected ({n}, {n}) for classes {list(classes)}")
        scale = mean_off_diagonal(match)
    base = 1.0 - np.eye(n)
    base[a, b] = base[b, a] = float(weight)
    return scale * base / mean_off_diagonal(base)


def inverse_distance_cost(distance, eps: float = DEFAULT_INVERSE_EPS) -> np.ndarray:
    """Every confusion priced by the inverse of the two classes' distance: near classes dear, far classes cheap.

    ``R[j, y] = 1 / (D[j, y] + eps)`` off the diagonal, 0 on it; ``C = m(D) R / m(R)`` with ``m`` the mean
    off-diagonal entry, so ``C`` keeps the distance cost's mean price per confusion (and its units). The nearest
    pair is the dearest; a class twice as far (plus ``eps``) costs half as much.

    Parameters
    ----------
    distance : array-like, (classes, classes)
        A distance between classes (e.g. :func:`~affect_book.costs.va_distance_cost`): non-negative, finite, zero
        diagonal, at least one positive entry.
    eps : float
        Added to every distance before inverting (finite, > 0; default :data:`DEFAULT_INVERSE_EPS`), in the
        distance's units.

    Returns
    -------
    numpy.ndarray, (classes, classes)
        Symmetric when ``distance`` is, zero diagonal, mean off-diagonal entry that of ``distance``.
    """
    d = _square(distance)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps={eps!r}; expected a finite number > 0")
    if not np.isfinite(d).all() or (d < 0).any() or np.any(np.diag(d) != 0):
        raise ValueError("distance must be finite and non-negative with a zero diagonal")
    if mean_off_diagonal(d) == 0:
        raise ValueError("distance is 0 between every pair of classes: nothing to invert")
    off = ~np.eye(len(d), dtype=bool)
    inverse = np.where(off, 1.0 / (d + eps), 0.0)
    return mean_off_diagonal(d) * inverse / mean_off_diagonal(inverse)
