"""Annotation noise shaped like a benchmark's, and the class means that let a run's OT cost follow the simulated
valence-arousal labels (:func:`class_mean_cost_fill`).

The simulator's annotation model (:func:`annotation_matrix`, the ``annotation_noise`` knob) keeps the *published*
class counts for the labels an annotator gave, because the published counts are counts of annotators' labels: the
observed label is drawn from the split's class frequencies (exact quotas), and the class the face actually shows is
drawn from P(shown | observed), in every split (training, validation and test labels come from the same annotators
on the real benchmarks). With probability ``1 - noise`` the face shows the labelled class; otherwise it shows
another class, chosen with weight ``exp(-d / spread)``, d the two classes' valence-arousal distance (Other, without a
position, gets the mean weight of the placed classes). The noise level is a stated assumption of the book, not a
published figure (no per-category confusion or agreement table of AffectNet or Aff-Wild2 could be read here);
chapter 03 shows what changes when it moves.

**Which distances** (``annotation_geometry``, the annotation path of issue 22): ``"published"`` (the field's default,
the model the calibrated presets were tuned with) takes d on Russell & Mehrabian's (1977) coordinates with the book's
default hand placements, whatever the cell does to the centroids; ``"cell"`` takes d on the cell's own geometry
(:func:`~affect_book.data.simulator.cell_positions`: after ``placements``, ``va_degeneracy`` and
``pair_va_distance``), so an annotator who perceives valence-arousal confuses the designated pair more when the
cell moves it together (the ``affwild2`` and ``affectnet`` presets use it; at their own centroids both give one
matrix). Either way the observed labels stay the quota's and only the shown class (and with it the
face) moves; with ``annotation_noise`` 0 there is no annotator noise and the geometry changes nothing. A config's
own matrix is :func:`~affect_book.data.simulator.config_annotation_matrix`.
"""

from __future__ import annotations

import numpy as np

from ... import circumplex as cx
from ...params import ParameterError, check_number

__all__ = ["annotation_matrix", "class_mean_cost_fill"]


def annotation_matrix(classes, noise: float, spread: float = 0.5, coordinates: str = "russell1977",
                      positions=None) -> np.ndarray:
    """P(shown | observed): the class a face shows given the label an annotator gave it.

    Row ``i`` is the distribution of the shown class among faces labelled ``classes[i]``: ``1 - noise`` on the
    diagonal, and ``noise`` shared among the other classes in proportion to ``exp(-d / spread)``, d their
    valence-arousal distance on ``coordinates`` with the book's default hand placements, or on ``positions`` when
    given (Other, which has no position, gets the mean off-diagonal weight of the placed classes).

    Parameters
    ----------
    classes : sequence of str
        Class names in label order.
    noise : float
        In [0, 0.9]: the share of faces that show a class other than their label.
    spread : float
        Valence-arousal distance scale of the sharing (> 0).
    coordinates : str
        Coordinate set for the distances (ignored when ``positions`` is given).
    positions : array-like, optional
        (classes, 2) valence, arousal of each class in ``classes`` order, NaN for a class without a position (a
        cell's own geometry, :func:`~affect_book.data.simulator.cell_positions`); None: ``coordinates``.

    Returns
    -------
    numpy.ndarray
        (classes, classes) float64, rows summing to 1.
    """
    check_number("annotation_noise", noise, low=0, high=0.9)
    check_number("annotation_spread", spread, low=1e-3, high=10)
    classes = tuple(classes)
    if positions is None:
        va = cx.coordinates(classes, coordinates, placement=cx.DEFAULT_PLACEMENT).va
    else:
        va = np.asarray(positions, dtype=np.float64)
        if va.shape != (len(classes), 2):
            raise ParameterError(f"positions of shape {va.shape}: expected ({len(classes)}, 2), a valence and an "
                                 f"arousal per class (NaN for a class without a position)")
        if np.isnan(va).any(axis=1).sum() > len(classes) - 2:
            raise ParameterError("positions place fewer than two classes; expected at least two placed classes")
    placed = ~np.isnan(va).any(axis=1)
    dist = np.sqrt(((va[:, None] - va[None]) ** 2).sum(-1))
    weight = np.exp(-dist / spread)
    off = ~np.eye(len(classes), dtype=bool)
    mean_w = weight[np.ix_(placed, placed)][off[np.ix_(placed, placed)]].mean()
    weight[~placed, :] = mean_w
    weight[:, ~placed] = mean_w
    weight = np.where(off, weight, 0.0)
    matrix = noise * weight / weight.sum(axis=1, keepdims=True)
    matrix[np.diag_indices(len(classes))] = 1.0 - noise
    return matrix


def class_mean_cost_fill(train_set) -> tuple:
    """``TrainConfig.cost_fill`` placing every class at the mean valence-arousal of its training samples, so the
    run's OT cost follows the simulated labels (and the VA knobs reach it).

    Parameters
    ----------
    train_set : ArrayDataset
        The training split (its ``va``, ``expression`` and ``classes``).

    Returns
    -------
    tuple
        ((class, (valence, arousal)), ...) for every class except Other (which has no position: the OT cost charges
        it the book's rule), in class order.

    Raises
    ------
    ValueError
        If a class other than Other has no sample with both labels.
    """
    means = cx.class_mean_coordinates(train_set.va, train_set.expression, train_set.classes)
    out = []
    for k, c in enumerate(means.classes):
        if cx.concept_of(c) == "other":
            continue
        if c in means.missing:
            raise ValueError(f"class {c!r} has no training sample with valence-arousal and expression labels; "
                             f"expected at least one to place it")
        out.append((c, (round(float(means.va[k, 0]), 6), round(float(means.va[k, 1]), 6))))
    return tuple(out)
