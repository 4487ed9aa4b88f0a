"""Annotation noise shaped like a benchmark's: a class-confusion matrix for the ``label_confusion`` knob, built from
published annotator agreement (:func:`confusion_from_agreement`), and the class means that let a run's OT cost
follow the simulated valence-arousal labels (:func:`class_mean_cost_fill`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ... import circumplex as cx
from ...params import ParameterError, check_number

__all__ = ["AFFECTNET_AGREEMENT", "class_mean_cost_fill", "confusion_from_agreement"]

#: Share of images on which two AffectNet annotators chose the same category, per category, as recalled from the
#: table of annotator agreement on the doubly annotated images in Mollahosseini, Hasani & Mahoor (2017, 'AffectNet:
#: A Database for Facial Expression, Valence, and Arousal Computing in the Wild', IEEE Trans. Affective Computing;
#: arXiv 1708.03985). UNVERIFIED: typed from memory. No readable copy of that table was found (the stored copies of
#: the paper show only its first page, and no repository, issue or later paper quoting the per-category figures
#: turned up), so these are plausible magnitudes (contempt far the lowest, happy the highest), not the published
#: numbers; replace them with the paper's table when it can be read.
AFFECTNET_AGREEMENT: dict[str, float] = {"Neutral": 0.508, "Happy": 0.796, "Sad": 0.697, "Surprise": 0.693,
                                         "Fear": 0.703, "Disgust": 0.676, "Anger": 0.623, "Contempt": 0.205}


def confusion_from_agreement(classes: Sequence[str], agreement: Mapping[str, float], scale: float = 1.0,
                             spread: float = 0.5, coordinates: str = "russell1977") -> tuple:
    """``label_confusion`` triples from per-class annotator agreement.

    If two independent annotators are each right with probability r, they agree about r * r of the time (chance
    agreement neglected), so a class with agreement p is mislabelled at rate ``scale * (1 - sqrt(p))``. That rate
    is shared among the other classes in proportion to ``exp(-d / spread)``, d their valence-arousal distance (the
    book's default placements; Other, without a position, gets the mean weight): an assumption standing in for the
    published confusion structure, which is not used here.

    Parameters
    ----------
    classes : sequence of str
        Class names in label order.
    agreement : mapping
        Agreement in [0, 1] per class (classes missing from it get no noise).
    scale : float
        Multiplies every rate (0 = no noise); rates out of one class are capped at 1 in total.
    spread : float
        Valence-arousal distance scale of the sharing (> 0).
    coordinates : str
        Coordinate set for the distances.

    Returns
    -------
    tuple
        ((true_class, label_class, rate), ...) for :class:`SimulatorConfig`'s ``label_confusion``.
    """
    check_number("scale", scale, low=0, high=10)
    check_number("spread", spread, low=1e-3, high=10)
    classes = tuple(classes)
    unknown = sorted(set(agreement) - set(classes))
    if unknown:
        raise ParameterError(f"agreement names {unknown}, not classes; expected names among {list(classes)}")
    coords = cx.coordinates(classes, coordinates, placement=cx.DEFAULT_PLACEMENT)
    va = coords.va
    placed = ~np.isnan(va).any(axis=1)
    dist = np.sqrt(((va[:, None] - va[None]) ** 2).sum(-1))
    weight = np.exp(-dist / spread)
    off = ~np.eye(len(classes), dtype=bool)
    mean_w = weight[np.ix_(placed, placed)][off[np.ix_(placed, placed)]].mean()
    weight[~placed, :] = mean_w
    weight[:, ~placed] = mean_w
    out = []
    for i, a in enumerate(classes):
        if a not in agreement:
            continue
        check_number(f"agreement[{a!r}]", agreement[a], low=0, high=1)
        rate = min(1.0, scale * (1 - float(np.sqrt(agreement[a]))))
        w = np.where(off[i], weight[i], 0.0)
        for j, b_ in enumerate(classes):
            if w[j] > 0 and rate > 0:
                out.append((a, b_, round(float(rate * w[j] / w.sum()), 6)))
    return tuple(out)


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
