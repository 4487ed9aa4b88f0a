"""Official affect-recognition metrics (ABAW / AffectNet conventions). Introduced in chapter 05.

- CCC = 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2) with **population** moments (ddof = 0);
- P_VA = (CCC_valence + CCC_arousal) / 2;
- P_EXPR = macro-F1 over **all** classes of the set (a class never predicted nor present scores 0; Aff-Wild2's
  "Other" counts);
- P_AU = mean over the AUs of binary F1 at a threshold (0.5 unless tuned on validation);
- P_MTL = P_VA + P_EXPR + P_AU (range [-1, 3]).

Only valid labels count: expression -1, valence-arousal NaN (or an invalid marker below -1) and AU -1 are skipped,
per task, per AU. All functions take NumPy arrays (torch tensors are converted).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["accuracy", "au_f1", "ccc", "confusion_matrix", "expression_f1", "mtl_score", "p_va",
           "per_class_report"]


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return np.asarray(x)


def ccc(pred, target) -> float:
    """Concordance correlation coefficient of two (N,) arrays over the rows where both are finite and target
    >= -1. Population moments. Returns NaN when fewer than 2 rows remain or both are constant and equal means.
    """
    pred, target = _np(pred).astype(float).ravel(), _np(target).astype(float).ravel()
    if pred.shape != target.shape:
        raise ValueError(f"pred has shape {pred.shape}, target {target.shape}; expected the same")
    valid = np.isfinite(pred) & np.isfinite(target) & (target >= -1)
    x, y = pred[valid], target[valid]
    if x.size < 2:
        return float("nan")
    mx, my = x.mean(), y.mean()
    sxy = ((x - mx) * (y - my)).mean()
    denom = x.var() + y.var() + (mx - my) ** 2
    if denom == 0:
        return float("nan")
    return float(2 * sxy / denom)


def p_va(pred_va, true_va) -> dict:
    """CCC of valence, of arousal, and their mean P_VA. ``pred_va``, ``true_va``: (N, 2)."""
    pred_va, true_va = _np(pred_va), _np(true_va)
    if pred_va.ndim != 2 or pred_va.shape[1] != 2 or pred_va.shape != true_va.shape:
        raise ValueError(f"expected (N, 2) valence-arousal arrays, found {pred_va.shape} and {true_va.shape}")
    v, a = ccc(pred_va[:, 0], true_va[:, 0]), ccc(pred_va[:, 1], true_va[:, 1])
    return {"ccc_valence": v, "ccc_arousal": a, "p_va": (v + a) / 2}


def _valid_expression(pred, true, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    pred, true = _np(pred).astype(np.int64).ravel(), _np(true).astype(np.int64).ravel()
    if pred.shape != true.shape:
        raise ValueError(f"pred has shape {pred.shape}, true {true.shape}; expected the same")
    keep = true >= 0
    pred, true = pred[keep], true[keep]
    if true.size and (true.max() >= n_classes or pred.min() < 0 or pred.max() >= n_classes):
        raise ValueError(f"labels or predictions outside 0..{n_classes - 1}")
    return pred, true


def confusion_matrix(pred, true, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts, rows = true class, columns = predicted; rows with true = -1 are skipped."""
    pred, true = _valid_expression(pred, true, n_classes)
    return np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _prf(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diag(cm).astype(float)
    predicted, actual = cm.sum(0).astype(float), cm.sum(1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def expression_f1(pred, true, n_classes: int) -> float:
    """P_EXPR: macro-F1 over all ``n_classes`` classes (absent and never-predicted classes score 0)."""
    return float(_prf(confusion_matrix(pred, true, n_classes))[2].mean())


def accuracy(pred, true) -> float:
    """Fraction of rows with a valid label (true >= 0) predicted correctly."""
    pred, true = _np(pred).ravel(), _np(true).ravel()
    keep = true >= 0
    return float((pred[keep] == true[keep]).mean()) if keep.any() else float("nan")


def per_class_report(pred, true, classes: Sequence[str]) -> pd.DataFrame:
    """Per class: precision, recall, F1, support (valid labels only)."""
    cm = confusion_matrix(pred, true, len(classes))
    precision, recall, f1 = _prf(cm)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": cm.sum(1)},
                        index=pd.Index(list(classes), name="class"))


def au_f1(prob, true, threshold: float | Sequence[float] = 0.5) -> dict:
    """P_AU: mean over AUs of binary F1, each AU over its valid rows (label 0 or 1; -1 skipped).

    ``prob``: (N, n_aus) probabilities; ``true``: (N, n_aus) 0/1/-1; ``threshold``: a scalar or one per AU.
    Returns ``{"per_au": array, "p_au": mean}``. An AU with no valid row is NaN and left out of the mean.
    """
    prob, true = _np(prob).astype(float), _np(true).astype(np.int64)
    if prob.shape != true.shape or prob.ndim != 2:
        raise ValueError(f"expected (N, n_aus) arrays of the same shape, found {prob.shape} and {true.shape}")
    thr = np.broadcast_to(np.asarray(threshold, dtype=float), (prob.shape[1],))
    scores = np.full(prob.shape[1], np.nan)
    for k in range(prob.shape[1]):
        keep = true[:, k] >= 0
        if not keep.any():
            continue
        y, p = true[keep, k], prob[keep, k] >= thr[k]
        tp, fp, fn = np.sum(p & (y == 1)), np.sum(p & (y == 0)), np.sum(~p & (y == 1))
        scores[k] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) > 0 else 0.0
    return {"per_au": scores, "p_au": float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan")}


def mtl_score(pred_expr=None, true_expr=None, n_classes: int | None = None, pred_va=None, true_va=None,
              au_prob=None, true_au=None, au_threshold: float | Sequence[float] = 0.5) -> dict:
    """The ABAW multi-task score P_MTL = P_VA + P_EXPR + P_AU, with each term; a task whose labels are not given
    contributes 0 to P_MTL and is reported as NaN."""
    out = {"p_va": float("nan"), "p_expr": float("nan"), "p_au": float("nan")}
    if pred_va is not None and true_va is not None:
        out.update(p_va(pred_va, true_va))
    if pred_expr is not None and true_expr is not None:
        if n_classes is None:
            raise ValueError("n_classes is required with expression predictions")
        out["p_expr"] = expression_f1(pred_expr, true_expr, n_classes)
        out["accuracy"] = accuracy(pred_expr, true_expr)
    if au_prob is not None and true_au is not None:
        out["p_au"] = au_f1(au_prob, true_au, au_threshold)["p_au"]
    out["p_mtl"] = float(sum(v for k in ("p_va", "p_expr", "p_au") if np.isfinite(v := out[k])))
    return out
