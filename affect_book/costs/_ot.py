"""The labelled cost matrix of the optimal-transport term, built by kind (:func:`ot_cost`, :func:`cost_matrix`):
the base costs and every control and aimed cost derived from one of them, with the book's rule for Other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import circumplex as cx
from ._aimed import DEFAULT_INVERSE_EPS, DEFAULT_PAIR_WEIGHT, inverse_distance_cost, pair_weighted_cost
from ._matrices import (BASE_KINDS, DEFAULT_AU_WEIGHT, _normalize, angular_cost, au_augmented_cost,
                        mean_off_diagonal, permuted_cost, uniform_column_cost, uniform_cost, va_distance_cost,
                        vad_distance_cost, validate_cost)

__all__ = ["COST_KINDS", "cost_matrix", "ot_cost"]

#: Every kind :func:`ot_cost` builds: the base kinds, the controls derived from one of them (``match``) and the
#: costs aimed at near classes, also derived from it: ``pair`` (:func:`~affect_book.costs.pair_weighted_cost`) and
#: ``inverse`` (:func:`~affect_book.costs.inverse_distance_cost`).
COST_KINDS: tuple[str, ...] = BASE_KINDS + ("uniform", "uniform_column", "permuted", "pair", "inverse")

_OTHER = "other"


def _base_cost(coords: cx.Coordinates, kind: str, au_weight: float, other_au) -> np.ndarray:
    if kind == "va":
        return va_distance_cost(coords)
    if kind == "vad":
        return vad_distance_cost(coords)
    if kind == "angular":
        return angular_cost(coords)
    return au_augmented_cost(coords, au_weight, other_au)


def ot_cost(classes: Sequence[str] | str, kind: str = "va", source: str = "russell1977",
            fill: Mapping[str, Sequence[float]] | None = None, au_weight: float = DEFAULT_AU_WEIGHT,
            other_au: str | float = "mean", match: str = "va", seed: int = 0,
            normalize: str | None = None, pair: Sequence[str] | None = None,
            pair_weight: float = DEFAULT_PAIR_WEIGHT) -> pd.DataFrame:
    """A validated, labelled cost matrix for the OT term (index "predicted", columns "true").

    The placed classes get the ``kind`` cost; "Other" gets the book's rule (module docstring): the mean
    off-diagonal cost of the placed classes in its row and column. Derived kinds are computed on the placed
    classes from the ``match`` kind before Other is added, so Other obeys the rule in every cost.

    Parameters
    ----------
    classes : str or sequence of str
        A class-set name (:data:`affect_book.circumplex.CLASS_SETS`) or class names, in label order.
    kind : str
        One of :data:`COST_KINDS`: "va" valence-arousal distance, "vad" valence-arousal-dominance, "angular",
        "au" (:func:`au_augmented_cost`); controls derived from the ``match`` kind: "uniform"
        (:func:`uniform_cost` at its mean off-diagonal value), "uniform_column" (:func:`uniform_column_cost`),
        "permuted" (:func:`permuted_cost` with ``seed``); aimed at near classes, also from ``match``: "pair" (the
        uniform cost with ``pair``'s confusions ``pair_weight`` times dearer, at ``match``'s mean off-diagonal value,
        :func:`~affect_book.costs.pair_weighted_cost`), "inverse" (``1 / (d + eps)`` of ``match``'s entries ``d``,
        ``eps`` = :data:`~affect_book.costs.DEFAULT_INVERSE_EPS`, at their mean,
        :func:`~affect_book.costs.inverse_distance_cost`).
    source : str
        Coordinate set (:func:`affect_book.circumplex.coordinates`).
    fill : mapping, optional
        Hand placements of classes the set lacks (e.g. contempt), stated by the caller. Other cannot be placed.
    au_weight, other_au
        For kind "au" (or ``match="au"``), see :func:`au_augmented_cost`.
    match : str
        The base kind a derived kind is computed from (default "va").
    seed : int
        Selects the permutation of kind "permuted".
    normalize : {None, "max", "mean"}
        Rescale the final matrix by its largest or its mean off-diagonal entry.
    pair : (str, str), optional
        The designated pair of kind "pair" (required there, ignored otherwise): two placed classes.
    pair_weight : float
        How many times dearer the pair's confusions are under kind "pair" than any other confusion among the
        placed classes (default :data:`~affect_book.costs.DEFAULT_PAIR_WEIGHT`).

    Returns
    -------
    pandas.DataFrame, (classes, classes)
        Entries in the base cost's units. For kind "permuted", ``attrs["priced_as"]`` maps each class to the
        class whose prices it carries.
    """
    cx_names = cx.class_set(classes) if isinstance(classes, str) else tuple(classes)
    if kind not in COST_KINDS:
        raise ValueError(f"unknown cost kind {kind!r}; expected one of {list(COST_KINDS)}")
    if match not in BASE_KINDS:
        raise ValueError(f"match={match!r}; expected one of {list(BASE_KINDS)}")
    concepts = [cx.concept_of(c) for c in cx_names]
    if len(set(concepts)) != len(concepts):
        raise ValueError(f"classes {list(cx_names)} name the same emotion twice")
    if fill and any(cx.concept_of(k) == _OTHER for k in fill):
        raise ValueError("fill places 'Other', but Other has no place on the circumplex: the OT term charges it "
                         "the mean off-diagonal cost of the placed classes (affect_book.costs); remove it from fill")
    placed_idx = [i for i, c in enumerate(concepts) if c != _OTHER]
    if len(placed_idx) < 2:
        raise ValueError(f"classes {list(cx_names)}: an OT cost needs at least 2 classes besides Other")
    coords = cx.coordinates([cx_names[i] for i in placed_idx], source, fill)
    block = _base_cost(coords, kind if kind in BASE_KINDS else match, au_weight, other_au)
    priced_as = None
    if kind == "uniform":
        block = uniform_cost(len(placed_idx), match=block)
    elif kind == "uniform_column":
        block = uniform_column_cost(block)
    elif kind == "pair":
        if pair is None:
            raise ValueError("kind 'pair' needs pair=(class, class), the designated pair it prices high")
        if not isinstance(pair, str) and any(isinstance(c, str) and _concept(c) == _OTHER for c in pair):
            raise ValueError(f"pair {tuple(pair)} names Other, which has no place on the circumplex: the OT term "
                             f"charges it the mean off-diagonal cost; name two placed classes")
        block = pair_weighted_cost(coords.classes, pair, pair_weight, match=block)
    elif kind == "inverse":
        block = inverse_distance_cost(block, DEFAULT_INVERSE_EPS)
    elif kind == "permuted":
        block, perm = permuted_cost(block, seed)
        priced_as = {coords.classes[j]: coords.classes[perm[j]] for j in range(len(perm))}
    n = len(cx_names)
    full = np.full((n, n), mean_off_diagonal(block))
    full[np.ix_(placed_idx, placed_idx)] = block
    np.fill_diagonal(full, 0.0)
    full = validate_cost(_normalize(full, normalize), cx_names, where=f"{kind} cost")
    frame = pd.DataFrame(full, index=pd.Index(cx_names, name="predicted"), columns=pd.Index(cx_names, name="true"))
    if priced_as is not None:
        frame.attrs["priced_as"] = priced_as
    return frame


def cost_matrix(classes: Sequence[str] | str, kind: str = "va", source: str = "russell1977",
                fill: Mapping[str, Sequence[float]] | None = None, normalize: str | None = None,
                **options) -> pd.DataFrame:
    """:func:`ot_cost` under its chapter-01 name: the labelled cost matrix of ``kind`` between ``classes``.

    Parameters
    ----------
    classes, kind, source, fill, normalize, **options
        As in :func:`ot_cost` (``options``: ``au_weight``, ``other_au``, ``match``, ``seed``, ``pair``,
        ``pair_weight``).

    Returns
    -------
    pandas.DataFrame, (classes, classes)
        Index "predicted", columns "true".
    """
    return ot_cost(classes, kind, source, fill, normalize=normalize, **options)


def _concept(name: str) -> str | None:
    try:
        return cx.concept_of(name)
    except ValueError:
        return None
