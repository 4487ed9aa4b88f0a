"""Official affect-recognition metrics (ABAW / AffectNet conventions). Introduced in chapter 05.

Every function takes the truth first and the prediction second, ``(y_true, y_pred, *, options)``, as
scikit-learn's metrics do; options are keyword-only.

- CCC = 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2) with **population** moments (ddof = 0);
- P_VA = (CCC_valence + CCC_arousal) / 2;
- P_EXPR = macro-F1 over **all** classes of the set: a class absent from the split and never predicted still
  counts, with F1 0 (Aff-Wild2's "Other" counts). This is the ABAW convention. scikit-learn's
  ``f1_score(y_true, y_pred, average="macro")`` differs when a class is absent: without ``labels=`` it averages
  over the labels that occur in ``y_true`` or ``y_pred`` only, so an absent, never-predicted class is left out and
  the mean is over fewer classes (higher). ``f1_score(..., labels=range(n_classes), average="macro",
  zero_division=0)`` equals :func:`expression_f1`;
- P_AU = mean over the AUs of binary F1 at a threshold (0.5 unless tuned on validation);
- P_MTL = the sum of the terms whose labels the set has: P_VA + P_EXPR + P_AU on Aff-Wild2 (range [-1, 3]);
  P_VA + P_EXPR on AffectNet, which has no AU labels (range [-1, 2]). :func:`mtl_score` says which terms it summed.

Sources: Kollias, D. (2022). ABAW: Learning from Synthetic Data & Multi-Task Learning Challenges. ECCV 2022
Workshops (the multi-task score and its terms); Lin, L. I.-K. (1989). A concordance correlation coefficient to
evaluate reproducibility. Biometrics 45, 255-268 (CCC).

Only valid labels count: expression -1, valence-arousal NaN (or an invalid marker below -1) and AU -1 are skipped,
per task, per AU. A non-finite *prediction* on a labelled row is not skipped: the score is NaN. All functions take
NumPy arrays (torch tensors are converted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .arrays import to_numpy
from .params import check_labels

__all__ = ["accuracy", "au_f1", "ccc", "confusion_matrix", "expression_f1", "mtl_score", "p_va",
           "per_class_report"]

_TERM_NAMES = {"p_va": "P_VA", "p_expr": "P_EXPR", "p_au": "P_AU"}


def ccc(y_true, y_pred) -> float:
    """Concordance correlation coefficient (Lin 1989) with population moments.

    Parameters
    ----------
    y_true : (N,) array
        Labels; rows that are non-finite or below -1 (Aff-Wild2's -5, AffectNet's -2) carry no label and are skipped.
    y_pred : (N,) array
        Predictions; a non-finite prediction on a labelled row makes the result NaN.

    Returns
    -------
    float
        CCC in [-1, 1]; NaN when fewer than 2 labelled rows remain, when a labelled row's prediction is not finite,
        or when both series are constant with equal means.
    """
    y_true, y_pred = to_numpy(y_true).astype(float).ravel(), to_numpy(y_pred).astype(float).ravel()
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_true has shape {y_true.shape}, y_pred {y_pred.shape}; expected the same")
    valid = np.isfinite(y_true) & (y_true >= -1)
    y, x = y_true[valid], y_pred[valid]
    if x.size < 2 or not np.isfinite(x).all():
        return float("nan")
    mx, my = x.mean(), y.mean()
    sxy = ((x - mx) * (y - my)).mean()
    denom = x.var() + y.var() + (mx - my) ** 2
    if denom == 0:
        return float("nan")
    return float(2 * sxy / denom)


def p_va(y_true, y_pred) -> dict:
    """CCC of valence, of arousal, and their mean P_VA.

    Parameters
    ----------
    y_true, y_pred : (N, 2) arrays
        Valence and arousal, labels first (invalid label rows skipped as in :func:`ccc`).

    Returns
    -------
    dict
        ``ccc_valence``, ``ccc_arousal`` and ``p_va`` (their mean; NaN if either is NaN).
    """
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    if y_pred.ndim != 2 or y_pred.shape[1] != 2 or y_pred.shape != y_true.shape:
        raise ValueError(f"expected (N, 2) valence-arousal arrays, found y_true {y_true.shape} and y_pred "
                         f"{y_pred.shape}")
    v, a = ccc(y_true[:, 0], y_pred[:, 0]), ccc(y_true[:, 1], y_pred[:, 1])
    return {"ccc_valence": v, "ccc_arousal": a, "p_va": (v + a) / 2}


def confusion_matrix(y_true, y_pred, *, n_classes: int) -> np.ndarray:
    """Counts of (true, predicted) class pairs, oriented as scikit-learn's.

    Parameters
    ----------
    y_true : (N,) int array
        Class indices; -1 (no label) rows are skipped.
    y_pred : (N,) int array
        Predicted class indices in 0..n_classes-1.
    n_classes : int
        Number of classes of the set (every class gets a row and a column, present or not).

    Returns
    -------
    (n_classes, n_classes) int array
        Rows = true class, columns = predicted class.
    """
    y_true, y_pred = check_labels(y_true, y_pred, n_classes)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _prf(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diag(cm).astype(float)
    predicted, actual = cm.sum(0).astype(float), cm.sum(1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def expression_f1(y_true, y_pred, *, n_classes: int) -> float:
    """P_EXPR: macro-F1 over **all** ``n_classes`` classes (ABAW); an absent, never-predicted class scores 0.

    Not scikit-learn's default ``average="macro"``, which leaves such a class out (see the module docstring).

    Parameters
    ----------
    y_true, y_pred : (N,) int arrays
        As in :func:`confusion_matrix`.
    n_classes : int
        Number of classes of the set; the mean is over all of them.

    Returns
    -------
    float
        Macro-F1 in [0, 1].
    """
    return float(_prf(confusion_matrix(y_true, y_pred, n_classes=n_classes))[2].mean())


def accuracy(y_true, y_pred) -> float:
    """Fraction of labelled rows (``y_true >= 0``) predicted correctly.

    Parameters
    ----------
    y_true, y_pred : (N,) int arrays
        Labels (-1 skipped) and predictions.

    Returns
    -------
    float
        Accuracy in [0, 1]; NaN when no row is labelled.
    """
    y_true, y_pred = to_numpy(y_true).ravel(), to_numpy(y_pred).ravel()
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_true has shape {y_true.shape}, y_pred {y_pred.shape}; expected the same")
    keep = y_true >= 0
    return float((y_pred[keep] == y_true[keep]).mean()) if keep.any() else float("nan")


def per_class_report(y_true, y_pred, *, classes: Sequence[str]) -> pd.DataFrame:
    """Per class: precision, recall, F1 and support over the labelled rows.

    Parameters
    ----------
    y_true, y_pred : (N,) int arrays
        As in :func:`confusion_matrix`.
    classes : sequence of str
        Class names in label order (their number is the number of classes).

    Returns
    -------
    DataFrame
        Indexed by class: ``precision``, ``recall``, ``f1`` (0 where undefined) and ``support``.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes=len(classes))
    precision, recall, f1 = _prf(cm)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": cm.sum(1)},
                        index=pd.Index(list(classes), name="class"))


def au_f1(y_true, y_prob, *, threshold: float | Sequence[float] = 0.5) -> dict:
    """P_AU: mean over AUs of binary F1, each AU over its labelled rows (label 0 or 1; -1 skipped).

    Parameters
    ----------
    y_true : (N, n_aus) int array
        0, 1, or -1 (no label).
    y_prob : (N, n_aus) array
        Probabilities; a non-finite probability on a labelled row makes that AU's F1, and P_AU, NaN.
    threshold : float or sequence of float
        One threshold for all AUs or one per AU.

    Returns
    -------
    dict
        ``per_au``: (n_aus,) F1 per AU (NaN for an AU with no labelled row); ``p_au``: the mean over the AUs that
        have labelled rows (those without are left out, counted in ``n_aus_scored``).
    """
    y_true, y_prob = to_numpy(y_true).astype(np.int64), to_numpy(y_prob).astype(float)
    if y_prob.shape != y_true.shape or y_prob.ndim != 2:
        raise ValueError(f"expected (N, n_aus) arrays of the same shape, found y_true {y_true.shape} and y_prob "
                         f"{y_prob.shape}")
    thr = np.broadcast_to(np.asarray(threshold, dtype=float), (y_prob.shape[1],))
    scores = np.full(y_prob.shape[1], np.nan)
    labelled = (y_true >= 0).any(axis=0)
    for k in np.flatnonzero(labelled):
        keep = y_true[:, k] >= 0
        y, prob = y_true[keep, k], y_prob[keep, k]
        if not np.isfinite(prob).all():
            continue  # NaN for this AU, and for P_AU below
        p = prob >= thr[k]
        tp, fp, fn = np.sum(p & (y == 1)), np.sum(p & (y == 0)), np.sum(~p & (y == 1))
        scores[k] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) > 0 else 0.0
    p_au = float(scores[labelled].mean()) if labelled.any() else float("nan")
    return {"per_au": scores, "p_au": p_au, "n_aus_scored": int(labelled.sum())}


def mtl_score(*, true_expr=None, pred_expr=None, n_classes: int | None = None, true_va=None, pred_va=None,
              true_au=None, au_prob=None, au_threshold: float | Sequence[float] = 0.5) -> dict:
    """The multi-task score P_MTL: the sum of the terms of the tasks given, with each term and their names.

    A task enters P_MTL when its labels and predictions are given: P_VA + P_EXPR + P_AU on Aff-Wild2;
    P_VA + P_EXPR on AffectNet (no AU labels). A term that is NaN (e.g. a head that predicts NaN) makes P_MTL NaN;
    it is never dropped from the sum.

    Parameters
    ----------
    true_expr, pred_expr : (N,) int arrays, optional
        Expression labels (-1 skipped) and predicted classes; scored by :func:`expression_f1` and :func:`accuracy`.
    n_classes : int, optional
        Number of expression classes (required with expressions).
    true_va, pred_va : (N, 2) arrays, optional
        Valence-arousal labels and predictions; scored by :func:`p_va`.
    true_au, au_prob : (N, n_aus) arrays, optional
        AU labels (0/1/-1) and probabilities; scored by :func:`au_f1` at ``au_threshold``.
    au_threshold : float or sequence of float
        As ``threshold`` in :func:`au_f1`.

    Returns
    -------
    dict
        ``p_va``, ``p_expr``, ``p_au`` (NaN for a task not given), ``ccc_valence``, ``ccc_arousal`` and ``accuracy``
        where computed, ``p_mtl`` (the sum) and ``p_mtl_terms`` (a string naming the summed terms, e.g.
        ``"P_VA + P_EXPR"``).
    """
    out = {"p_va": float("nan"), "p_expr": float("nan"), "p_au": float("nan")}
    summed = []
    for name, (truth, pred) in (("true_va/pred_va", (true_va, pred_va)), ("true_expr/pred_expr",
                                (true_expr, pred_expr)), ("true_au/au_prob", (true_au, au_prob))):
        if (truth is None) != (pred is None):
            raise ValueError(f"{name}: give both the labels and the predictions, or neither")
    if true_va is not None:
        out.update(p_va(true_va, pred_va))
        summed.append("p_va")
    if true_expr is not None:
        if n_classes is None:
            raise ValueError("n_classes is required with expression labels")
        out["p_expr"] = expression_f1(true_expr, pred_expr, n_classes=n_classes)
        out["accuracy"] = accuracy(true_expr, pred_expr)
        summed.append("p_expr")
    if true_au is not None:
        out["p_au"] = au_f1(true_au, au_prob, threshold=au_threshold)["p_au"]
        summed.append("p_au")
    if not summed:
        raise ValueError("mtl_score needs at least one task's labels and predictions")
    out["p_mtl"] = float(sum(out[k] for k in summed))  # NaN in, NaN out
    out["p_mtl_terms"] = " + ".join(_TERM_NAMES[k] for k in summed)
    return out
