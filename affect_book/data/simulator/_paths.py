"""The two causal paths from circumplex nearness to the data, and the prototype vectors both read (issue 22).

Without these paths, ``pair_va_distance`` and ``va_degeneracy`` move only the designated pair's valence-arousal
centroids and VA labels: the images and the expression labels stay byte-identical. Each path is one knob of
:class:`~affect_book.data.simulator.SimulatorConfig`, off by the field's default (the ``affwild2`` and ``affectnet``
presets switch the annotation path on), and reads the **cell's own geometry**
(:func:`cell_positions`: the centroids after ``coordinates``, ``placements``, ``va_degeneracy`` and
``pair_va_distance``; Other, a catch-all without a circumplex position, is left out as everywhere in the book):

- *annotation* (``annotation_geometry="cell"``): the annotator of the ``annotation_noise`` model
  (:func:`~affect_book.data.simulator.annotation_matrix`) confuses two classes with weight ``exp(-d / spread)``, d
  their distance in the cell's geometry instead of the published one, so moving the pair together raises their
  label confusion, in every split (the observed labels keep the published counts; the class each face shows moves,
  and stays in ``true_expression``). It acts only where ``annotation_noise > 0``. It draws nothing of its own: the
  ``annotation`` stream's draws are the same, only P(shown | observed) changes (:func:`config_annotation_matrix`).
- *appearance* (``appearance_from_va`` = a in [0, 1], ``appearance_spread`` = s): a face of placed class c is drawn
  towards the *valence-arousal-indexed prototype* at c's position, the kernel-weighted mean of the placed classes'
  faces ``sum_k W[c, k] E_k`` with ``W[c, k]`` proportional to ``exp(-d(c, k) / s)`` over the placed classes
  (:func:`appearance_weights`, rows summing to 1). The face's own term (``k = c``, weight ``exp(0) = 1`` before
  normalising) is the face itself (its sampled variant and side after the class-level knobs); every other class k
  enters with its mean face in the cell, ``E_k``: its mean prototype (the mean over its variants, a unilateral one at
  half intensity on both sides) through the same class-level knobs (``visual_degeneracy``, ``visual_partner``,
  ``contempt_scale``, ``class_intensity``). The face's AU pattern becomes
  ``(1 - a) * own + a * (W[c, c] * own + sum_{k != c} W[c, k] E_k)``, before AU dropout, the per-sample intensity,
  gains and noise. Two classes at one point weigh each other as they weigh themselves, so at a = 1 their faces have
  the same expectation (their distance shrinks with a and with their nearness); a class alone in its region (every
  other class far compared with s) keeps its own face. Other's faces, without a position, are untouched.
  Deterministic: no random stream, so every draw of every face stays as it was.

Why a kernel mean and not a map fitted to the prototypes: it needs no fit, it uses only the classes' own
prototypes and the cell's distances, it moves a face only as far as another class is near (a linear map from two
coordinates to 18 AUs would flatten every face onto a plane, changing far classes as much as near ones), and it
uses the same ``exp(-d / spread)`` form as the annotator, so both paths state nearness the same way. The
neighbours enter with their faces *in this cell* (after the class-level knobs), not their bare prototypes, so that
the path composes with the other knobs: two classes moved to one point get the same expected face at a = 1
whatever their ``class_intensity`` or ``visual_degeneracy`` (blending towards bare prototypes would overshoot a pair the
``visual_degeneracy`` blend already mixed, and leave classes of different intensity factors apart).
"""

from __future__ import annotations

import numpy as np

from ... import circumplex as cx
from ...facs import EMFACS_VARIANTS, PROTOTYPES, RENDERED_AUS, UNILATERAL
from ._annotation import annotation_matrix
from ._config import SimulatorConfig

__all__ = ["appearance_weights", "cell_positions", "config_annotation_matrix"]


def _variant_vectors(concept: str, extended: bool = False) -> np.ndarray:
    """(variants, len(RENDERED_AUS)) 0/1 prototype vectors of a concept (``extended``: with
    :data:`~affect_book.facs.EMFACS_VARIANTS`)."""
    rows = []
    for variant in PROTOTYPES[concept] + (EMFACS_VARIANTS.get(concept, ()) if extended else ()):
        row = np.zeros(len(RENDERED_AUS))
        for au in variant:
            row[RENDERED_AUS.index(au)] = 1.0
        rows.append(row)
    return np.array(rows)


def cell_positions(config: SimulatorConfig) -> np.ndarray:
    """The cell's own valence-arousal geometry, as both circumplex paths read it.

    :meth:`SimulatorConfig.centroids` (published coordinates, hand placements, ``va_degeneracy`` and
    ``pair_va_distance`` applied), with Other's row NaN: Other's VA labels are drawn around the origin, a generative
    choice, not a circumplex position, so (the book's rule) it takes part in no distance.

    Parameters
    ----------
    config : SimulatorConfig
        From :func:`make_config`.

    Returns
    -------
    numpy.ndarray
        (classes, 2) float64 valence, arousal; NaN for Other.
    """
    va = np.array(config.centroids(), dtype=np.float64)
    va[[cx.concept_of(c) == "other" for c in config.classes]] = np.nan
    return va


def config_annotation_matrix(config: SimulatorConfig) -> np.ndarray:
    """P(shown | observed) of a config's annotator: :func:`annotation_matrix` at its ``annotation_noise`` and
    ``annotation_spread``, on the geometry ``annotation_geometry`` names.

    ``"published"``: Russell & Mehrabian's (1977) coordinates with the book's default hand placement, whatever the
    cell's centroids (the field's default, and the model the presets were calibrated with); ``"cell"`` (the
    ``affwild2`` and ``affectnet`` presets: at their own centroids the same matrix): :func:`cell_positions`, so the
    pair's confusion follows ``pair_va_distance`` and ``va_degeneracy``. The identity matrix when
    ``annotation_noise`` is 0 (then the geometry changes nothing).

    Parameters
    ----------
    config : SimulatorConfig
        From :func:`make_config`.

    Returns
    -------
    numpy.ndarray
        (classes, classes) float64, rows summing to 1; row i is the distribution of the class shown by faces
        labelled ``classes[i]``.
    """
    positions = cell_positions(config) if config.annotation_geometry == "cell" else None
    return annotation_matrix(config.classes, config.annotation_noise, config.annotation_spread,
                             positions=positions)


def appearance_weights(config: SimulatorConfig) -> np.ndarray:
    """The appearance path's kernel: how much of each class's prototype the valence-arousal-indexed prototype at a
    class's position holds.

    ``W[c, k] = exp(-d(c, k) / appearance_spread) / sum_j exp(-d(c, j) / appearance_spread)`` over the placed
    classes (every class but Other), d the distance in the cell's geometry (:func:`cell_positions`), so
    ``W[c, c] = 1 / sum_j ...`` is the share of the face's own prototype. Other's row is the unit vector on Other
    (its faces keep their own AUs) and its column is 0 elsewhere. Independent of ``appearance_from_va`` (the blend's
    weight; see the module docstring for the blend).

    Parameters
    ----------
    config : SimulatorConfig
        From :func:`make_config`.

    Returns
    -------
    numpy.ndarray
        (classes, classes) float64, rows summing to 1.
    """
    va = cell_positions(config)
    placed = ~np.isnan(va).any(axis=1)
    dist = np.sqrt(((va[:, None] - va[None]) ** 2).sum(-1))
    weight = np.where(placed[:, None] & placed[None], np.exp(-np.nan_to_num(dist) / config.appearance_spread), 0.0)
    unplaced = np.flatnonzero(~placed)
    weight[unplaced, unplaced] = 1.0
    return weight / weight.sum(axis=1, keepdims=True)


def _mean_prototypes(config: SimulatorConfig) -> np.ndarray:
    """(classes, len(RENDERED_AUS), 2) each class's mean prototype: the mean over its variants (with the EMFACS ones
    when ``emfacs_variants``), a unilateral one at half on both sides (its side is random); Other's zero."""
    out = np.zeros((len(config.classes), len(RENDERED_AUS), 2))
    for k, c in enumerate(config.classes):
        concept = cx.concept_of(c)
        if concept == "other":
            continue
        mean = _variant_vectors(concept, config.emfacs_variants).mean(axis=0)
        out[k] = (mean / 2 if concept in UNILATERAL else mean)[:, None]
    return out


def _appearance_blend(config: SimulatorConfig, true_class: np.ndarray, base: np.ndarray,
                      class_faces: np.ndarray) -> np.ndarray:
    """The appearance path applied to (n, aus, 2) faces ``base`` of classes ``true_class`` (-1: no class, left as
    is), given each class's (classes, aus, 2) mean face in the cell ``class_faces``: placed classes' rows blended
    towards the valence-arousal-indexed prototype (module docstring); Other's rows untouched."""
    a = config.appearance_from_va
    if a == 0:
        return base
    weights = appearance_weights(config)
    placed = np.array([cx.concept_of(c) != "other" for c in config.classes])
    rows = np.flatnonzero((true_class >= 0) & placed[np.maximum(true_class, 0)])
    cls = true_class[rows]
    own = weights[cls, cls]
    neighbours = weights[cls] * (np.arange(len(config.classes))[None] != cls[:, None])
    target = own[:, None, None] * base[rows] + np.einsum("nk,kad->nad", neighbours, class_faces)
    out = base.copy()
    out[rows] = (1 - a) * base[rows] + a * target
    return out
