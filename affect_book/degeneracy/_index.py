"""A degeneracy index computed before training, and how to test whether it predicts trained per-class F1.

Introduced in chapter 09 (``notebooks/09_beyond_the_cost``).

**Components** (:func:`degeneracy_components`), one row per class of a simulator config, all known before a run:
the valence-arousal distance to the nearest other placed class, the largest cosine similarity of the class's mean
AU activation vector to another class's (from the AU intensities the simulator samples), the per-class F1 of a
cheap pixel probe (logistic regression on a few hundred small grayscale images, cross-validated) and the training
share. **The index** (:func:`degeneracy_index`) is their unfitted mean, frequency left out: it measures degeneracy,
not rarity. Its fitted alternative and the test of both against trained F1 are in :mod:`._prediction`.

**The probe's images come from the caller.** This module never calls the simulator (it sits below
:mod:`affect_book.data`): the caller renders the probe set, usually with
:func:`affect_book.data.simulator.probe_split`, and passes it in.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ..params import ParameterError, check_number
from ._circumplex import is_other

__all__ = ["VA_FAR", "degeneracy_components", "degeneracy_index", "degeneracy_scores", "probe_features"]

#: Valence-arousal distance (coordinates in [-1, 1]) at and beyond which two classes count as far, not degenerate.
VA_FAR = 1.0
_FOLDS = 5
_PROBE_MAX_ITER = 5000
_COMPONENTS = ("va_nn_distance", "au_overlap", "probe_f1", "train_share")
_PROBE_ARRAYS = ("images", "true_expression", "au_intensity")


def _check_config(config) -> None:
    if not all(hasattr(config, a) for a in ("classes", "centroids", "train_proportions")):
        raise ParameterError(f"config={type(config).__name__}: expected a SimulatorConfig "
                             f"(affect_book.data.simulator.make_config)")


def _area_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) weights of area (box) downsampling: output pixel i averages the input span [i s, (i + 1) s),
    s = size / out, each input pixel weighted by its overlap with that span."""
    edges = np.arange(out + 1) * (size / out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(size)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
    return overlap / (size / out)


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2]:
        raise ParameterError(f"images has shape {images.shape}; expected (N, S, S, 3) RGB images in [0, 255]")
    return images


def probe_features(images, probe_size: int = 16) -> np.ndarray:
    """The pixel probe's inputs: grayscale, area-downsampled images, one row per image.

    Parameters
    ----------
    images : numpy.ndarray
        (N, S, S, 3) RGB in [0, 255] (uint8 as the simulator renders them).
    probe_size : int
        Side of the downsampled images, in [2, S].

    Returns
    -------
    numpy.ndarray
        (N, ``probe_size`` ** 2) float64: ITU-R BT.601 luma in [0, 1], area (box) downsampled to ``probe_size`` x
        ``probe_size`` (an output pixel averages the input span it covers, each input pixel weighted by its overlap
        with that span; a block mean when S is a multiple of ``probe_size``), not yet standardised.

    Raises
    ------
    ParameterError
        For images not shaped (N, S, S, 3) or ``probe_size`` out of range.
    """
    images = _check_images(images)
    size = images.shape[1]
    check_number("probe_size", probe_size, low=2, high=size, integer=True)
    gray = images.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
    area = _area_matrix(size, probe_size)
    small = np.einsum("ia,nab,jb->nij", area, gray, area)
    return small.reshape(len(small), -1)


def _probe_arrays(probe: Mapping, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The probe's images, true labels and AU intensities (mean over the face sides), checked."""
    if not isinstance(probe, Mapping) or any(a not in probe for a in _PROBE_ARRAYS):
        found = sorted(probe) if isinstance(probe, Mapping) else type(probe).__name__
        raise ParameterError(f"probe: expected a split of the simulator with {list(_PROBE_ARRAYS)} "
                             f"(affect_book.data.simulator.probe_split); got {found}")
    images = _check_images(probe["images"])
    labels = np.asarray(probe["true_expression"])
    au = np.asarray(probe["au_intensity"], dtype=np.float64)
    n = len(images)
    if labels.shape != (n,) or au.ndim not in (2, 3) or len(au) != n:
        raise ParameterError(f"probe: true_expression has shape {labels.shape} and au_intensity {au.shape}; "
                             f"expected ({n},) and ({n}, AUs[, sides]) for {n} images")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min(initial=0) < 0 or labels.max(initial=0) >= k:
        raise ParameterError(f"probe: true_expression must hold class indices in [0, {k - 1}] of the config's "
                             f"{k} classes")
    counts = np.bincount(labels, minlength=k)
    if counts.min() < _FOLDS:
        raise ParameterError(f"probe has {counts.tolist()} images per class; expected at least {_FOLDS} of every "
                             f"class ({_FOLDS}-fold cross-validation; with probe_split, n_probe >= {_FOLDS * k})")
    return images, labels, au.mean(axis=2) if au.ndim == 3 else au


def _va_nn_distance(config) -> np.ndarray:
    va = config.centroids()
    placed = np.array([not is_other(c) for c in config.classes])
    if placed.sum() < 2:
        raise ParameterError(f"classes {list(config.classes)}: expected at least 2 with a circumplex coordinate")
    d = cdist(va, va)
    d[np.eye(len(va), dtype=bool) | ~placed[None, :]] = np.inf
    out = d.min(axis=1)
    out[~placed] = np.nan  # Other's origin placement is where its labels are drawn, not a position
    return out


def _au_overlap(au: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    means = np.stack([au[labels == c].mean(axis=0) for c in range(k)])
    norm = np.linalg.norm(means, axis=1, keepdims=True)
    unit = np.divide(means, norm, out=np.zeros_like(means), where=norm > 0)  # an all-zero mean shares no AU: 0
    cos = np.clip(unit @ unit.T, 0.0, 1.0)  # activations are non-negative: cosines lie in [0, 1] up to rounding
    np.fill_diagonal(cos, -np.inf)
    return cos.max(axis=1)


def _probe_f1(features: np.ndarray, labels: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, int]:
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=_PROBE_MAX_ITER, random_state=0))
    folds = StratifiedKFold(n_splits=_FOLDS, shuffle=True, random_state=seed)
    # one BLAS thread: a 480 x 256 fit gains nothing from more, and beside busy training processes (chapter 09 runs
    # the probe next to its grid's pool) threads that oversubscribe the cores made each fit 30x slower (measured)
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(1):
        warnings.simplefilter("always", ConvergenceWarning)
        pred = cross_val_predict(probe, features, labels, cv=folds)
    unconverged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return f1_score(labels, pred, labels=list(range(k)), average=None, zero_division=0), unconverged


def degeneracy_components(config, probe: Mapping, probe_size: int = 16, seed: int = 0) -> pd.DataFrame:
    """Per-class degeneracy components of a simulator config, computed before any training.

    The probe set is rendered by the caller, usually the training split of a copy of ``config`` with every class
    equally frequent and no annotation noise (:func:`affect_book.data.simulator.probe_split`): its identities,
    nuisance, knobs and image size are the config's, so ``visual_degeneracy``, ``visual_partner``,
    ``class_intensity``, ``contempt_scale``, the shortcut mark and the rest act as in training; labels are the true
    classes (label noise left out).

    Parameters
    ----------
    config : SimulatorConfig
        From :func:`affect_book.data.simulator.make_config`: its classes, centroids and training proportions.
    probe : mapping of str to numpy.ndarray
        The probe set, a split as :func:`affect_book.data.simulator.generate_split` returns it: ``images``
        (N, S, S, 3) uint8, ``true_expression`` (N,) class indices of ``config.classes`` (at least 5 of every class:
        5-fold cross-validation) and ``au_intensity`` (N, AUs, 2) the sampled AU intensities per face side (or
        (N, AUs), already one value per AU). Built by :func:`affect_book.data.simulator.probe_split`.
    probe_size : int
        Side of the downsampled probe images, in [2, S] (:func:`probe_features`).
    seed : int
        Seed of the fold shuffle. :func:`~affect_book.data.simulator.probe_split` takes a ``seed`` for the probe
        images too; the book passes the same value to both.

    Returns
    -------
    DataFrame
        Indexed by class (``config.classes`` order), columns:

        - ``va_nn_distance``: valence-arousal distance from the class's centroid (``config.centroids()``, after the
          pair knobs) to the nearest other class with a coordinate; NaN for Other, which has none (the simulator
          draws Other's labels around the origin, a sampling choice, not a position; Other is no one's neighbour);
        - ``au_overlap``: the largest cosine similarity, in [0, 1], between the class's mean AU intensity vector
          (the sampled intensities before rendering, mean over the two face sides) and another class's, Other
          included (a class whose mean is all zero, possible only without AU noise, gets cosine 0);
        - ``probe_f1``: per-class F1 of a pixel probe: :func:`probe_features` (grayscale, BT.601 luma,
          area-downsampled to ``probe_size`` x ``probe_size``), standardised (inside each fold), multinomial
          logistic regression (lbfgs, C = 1, ``random_state=0``), predictions from 5-fold ``cross_val_predict``
          with ``StratifiedKFold(shuffle=True, random_state=seed)``;
        - ``train_share``: the class's training proportion in ``config``.

        ``attrs``: ``n_probe`` (the probe's images), ``probe_size``, ``seed`` and ``probe_unconverged`` (folds whose
        logistic regression hit ``max_iter``; 0 expected).

    Raises
    ------
    ParameterError
        For a config that is not a SimulatorConfig, a probe without the arrays above, with fewer than 5 images of
        a class or labels outside the config's classes, or ``probe_size`` or ``seed`` out of range.

    Notes
    -----
    Deterministic: the same arguments give an identical frame. Measured with the defaults on one core
    (``OMP_NUM_THREADS=1``, a shared 2-core machine), :func:`~affect_book.data.simulator.probe_split`'s rendering of
    the 480 probe images included: 0.6 to 0.7 s per config at ``image_size=48``, 0.8 to 0.9 s at 64 (affwild2,
    affectnet and balanced presets, visual_degeneracy 0 and 1); the probe's fits take most of it.
    """
    _check_config(config)
    k = len(config.classes)
    images, labels, au = _probe_arrays(probe, k)
    check_number("seed", seed, low=0, integer=True)
    features = probe_features(images, probe_size)
    f1, unconverged = _probe_f1(features, labels, k, seed)
    frame = pd.DataFrame({"va_nn_distance": _va_nn_distance(config),
                          "au_overlap": _au_overlap(au, labels, k),
                          "probe_f1": f1, "train_share": np.asarray(config.train_proportions, dtype=float)},
                         index=pd.Index(config.classes, name="class"))
    frame.attrs.update(n_probe=len(labels), probe_size=probe_size, seed=seed, probe_unconverged=unconverged)
    return frame


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{what} lacks column(s) {missing}; expected {list(columns)} "
                             f"(found {list(frame.columns)})")


def _check_unit(values: pd.Series, name: str) -> None:
    bad = values[~values.between(0, 1)]
    if len(bad):
        raise ParameterError(f"{name} has values outside [0, 1] or NaN in rows {list(bad.index[:5])}: "
                             f"{bad.to_numpy()[:5]}; expected values in [0, 1]")


def _nearness(dist: pd.Series) -> pd.Series:
    dist = dist.astype(float)
    if (dist < 0).any():
        raise ParameterError(f"va_nn_distance has negative values in rows {list(dist.index[dist < 0][:5])}; "
                             f"expected distances >= 0 (NaN for a class without a coordinate)")
    return (1.0 - dist / VA_FAR).clip(lower=0.0)


def degeneracy_scores(components: pd.DataFrame) -> pd.DataFrame:
    """The index's three scores, each in [0, 1], higher = more degenerate.

    Parameters
    ----------
    components : DataFrame
        With ``probe_f1``, ``au_overlap`` and ``va_nn_distance`` (from :func:`degeneracy_components`).

    Returns
    -------
    DataFrame
        Same index; ``probe_error`` = 1 - ``probe_f1``, ``au_overlap``, ``va_nearness`` =
        max(0, 1 - ``va_nn_distance`` / :data:`VA_FAR`) (NaN where the distance is NaN: no coordinate).
    """
    _require(components, ("probe_f1", "au_overlap", "va_nn_distance"), "components")
    _check_unit(components["probe_f1"], "probe_f1")
    _check_unit(components["au_overlap"], "au_overlap")
    return pd.DataFrame({"probe_error": 1.0 - components["probe_f1"].astype(float),
                         "au_overlap": components["au_overlap"].astype(float),
                         "va_nearness": _nearness(components["va_nn_distance"])}, index=components.index)


def degeneracy_index(components: pd.DataFrame) -> pd.Series:
    """An unfitted degeneracy index per class: the mean of three scores, higher = more degenerate.

    The scores (:func:`degeneracy_scores`) are the probe's error 1 - ``probe_f1``, ``au_overlap`` and the
    circumplex nearness max(0, 1 - ``va_nn_distance`` / D) with D = :data:`VA_FAR` = 1 valence-arousal unit. Why
    D = 1 (an assumption, not fitted): it is a round number just above the mean off-diagonal valence-arousal distance of
    the simulator's class sets (0.88 for Aff-Wild2's seven placed classes, 0.81 for AffectNet-8 with contempt's
    hand placement), the price the study's matched uniform control (``costs.ot_cost(kind="uniform")``) charges
    every confusion; a pair at least D apart costs more under the circumplex cost than an average confusion, so
    the cost treats it as far, not as a degenerate pair. A class without a coordinate
    (Other, NaN distance) gets the mean of the other two scores. Nothing is fitted, and the training share is
    left out on purpose: the index measures degeneracy, not rarity
    (:func:`affect_book.degeneracy.held_out_prediction` is the fitted alternative that may use frequency).

    Parameters
    ----------
    components : DataFrame
        From :func:`degeneracy_components` (or any frame with ``probe_f1``, ``au_overlap``, ``va_nn_distance``).

    Returns
    -------
    Series
        Named ``"degeneracy_index"``, same index, values in [0, 1].
    """
    return degeneracy_scores(components).mean(axis=1, skipna=True).rename("degeneracy_index")
