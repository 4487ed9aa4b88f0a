"""Cost-based error metrics: the price of the errors, hard and soft, and which confusions carry it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..arrays import to_numpy
from ..params import check_number
from ._checks import _cost, _labels


def error_severity(y_true, y_pred, cost, *, classes: Sequence[str] | None = None) -> dict:
    """Mean price ``cost[pred, true]`` of the errors, and over every sample (correct ones cost 0).

    Parameters
    ----------
    y_true, y_pred : (N,) int arrays
        True and predicted class indices (``y_true == -1`` skipped and counted).
    cost : (classes, classes) array or DataFrame
        Rows predicted, columns true (:mod:`affect_book.costs`), non-negative with a zero diagonal.
    classes : sequence of str, optional
        Class names (checked against a labelled cost).

    Returns
    -------
    dict
        ``mean_error_cost`` (over the errors; NaN without errors), ``mean_cost`` (over all labelled samples),
        ``n_errors``, ``n_samples``, ``n_unlabelled``.
    """
    cost, _ = _cost(cost, classes)
    y_true, y_pred, n_unlabelled = _labels(y_true, y_pred, len(cost))
    price = cost[y_pred, y_true]
    wrong = y_pred != y_true
    return {"mean_error_cost": float(price[wrong].mean()) if wrong.any() else float("nan"),
            "mean_cost": float(price.mean()) if price.size else float("nan"), "n_errors": int(wrong.sum()),
            "n_samples": int(y_true.size), "n_unlabelled": n_unlabelled}


def expected_error_cost(y_true, probs, cost, *, classes: Sequence[str] | None = None, atol: float = 1e-4) -> dict:
    """The soft version of :func:`error_severity`: the price of the predicted probability mass.

    For a sample of true class ``y``: expected cost ``sum_j probs[j] * cost[j, y]`` and error mass ``1 - probs[y]``.

    Parameters
    ----------
    y_true : (N,) int array
        True class indices (``-1`` skipped and counted).
    probs : (N, classes) array
        Rows summing to 1 (within ``atol``); apply a softmax to logits first.
    cost : (classes, classes) array or DataFrame
        Rows predicted, columns true.
    classes : sequence of str, optional
        Class names (checked against a labelled cost).
    atol : float
        Tolerance on the row sums.

    Returns
    -------
    dict
        ``mean_cost`` (mean expected cost per sample), ``mean_error_mass`` (mean ``1 - p_y``),
        ``cost_per_error_mass`` (total expected cost over total error mass: the mean price of a unit of misplaced
        probability, the soft ``mean_error_cost``; NaN when no mass is misplaced), ``n_samples``, ``n_unlabelled``.
    """
    cost, _ = _cost(cost, classes)
    p = to_numpy(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(cost):
        raise ValueError(f"probs has shape {p.shape}; expected (N, {len(cost)}) probabilities, one column per class")
    t = to_numpy(y_true).ravel()
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"y_true has {t.shape[0]} rows and probs {p.shape[0]}; expected the same")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("probs has negative or non-finite entries; expected probabilities (softmax of logits)")
    sums = p.sum(1)
    if not np.allclose(sums, 1.0, atol=atol):
        k = int(np.argmax(np.abs(sums - 1)))
        raise ValueError(f"probs row {k} sums to {sums[k]:.6g}; expected rows summing to 1 (apply a softmax to "
                         f"logits first)")
    y, _, n_unlabelled = _labels(t, p.argmax(1), len(cost))
    p = p[t >= 0]
    expected = (p * cost[:, y].T).sum(1)
    error_mass = 1.0 - p[np.arange(len(y)), y]
    total_mass = float(error_mass.sum())
    return {"mean_cost": float(expected.mean()), "mean_error_mass": float(error_mass.mean()),
            "cost_per_error_mass": float(expected.sum() / total_mass) if total_mass > 0 else float("nan"),
            "n_samples": int(y.size), "n_unlabelled": n_unlabelled}


def far_confusions(confusion, cost, *, classes: Sequence[str] | None = None, prototype_distance=None,
                   top: int | None = None) -> pd.DataFrame:
    """Which confusions carry the error cost: every off-diagonal cell with its count, its price and its share.

    The measured form of a visual confound: a confusion near in pixels (small ``prototype_distance``) but far on
    the circumplex (large ``cost``) that is frequent makes the errors land far from the truth whatever the loss.

    Parameters
    ----------
    confusion : (classes, classes) array
        Counts, rows true, columns predicted (:func:`sklearn.metrics.confusion_matrix`).
    cost : (classes, classes) array or DataFrame
        Rows predicted, columns true.
    classes : sequence of str, optional
        Class names (required unless ``cost`` is a labelled DataFrame).
    prototype_distance : (classes, classes) array, optional
        A symmetric similarity proxy in pixel or AU space (e.g. :func:`affect_book.costs.au_prototype_distance`).
    top : int, optional
        Keep the ``top`` cells with the largest share of the error cost.

    Returns
    -------
    DataFrame
        One row per off-diagonal cell: ``true``, ``predicted``, ``count``, ``rate`` (of the true class's samples),
        ``cost`` (``cost[predicted, true]``), ``cost_share`` (``count * cost`` over the total error cost) and
        ``prototype_distance`` when given; sorted by ``cost_share``, largest first.
    """
    cost, names = _cost(cost, classes)
    if names is None:
        raise ValueError("classes is required when cost is a plain array; expected one name per class")
    n = len(cost)
    cm = to_numpy(confusion, dtype=np.float64)
    if cm.shape != (n, n):
        raise ValueError(f"confusion has shape {cm.shape}; expected ({n}, {n}), rows true, columns predicted")
    if (cm < 0).any() or not np.isfinite(cm).all():
        raise ValueError("confusion has negative or non-finite entries; expected counts")
    t, p = np.nonzero(~np.eye(n, dtype=bool))
    price = cost[p, t]
    total = float((cm[t, p] * price).sum())
    support = cm.sum(1)
    frame = pd.DataFrame({"true": [names[k] for k in t], "predicted": [names[k] for k in p], "count": cm[t, p],
                          "rate": np.divide(cm[t, p], support[t], out=np.zeros(len(t)), where=support[t] > 0),
                          "cost": price,
                          "cost_share": cm[t, p] * price / total if total > 0 else np.zeros(len(t))})
    if prototype_distance is not None:
        proto = to_numpy(prototype_distance, dtype=np.float64)
        if proto.shape != (n, n):
            raise ValueError(f"prototype_distance has shape {proto.shape}; expected ({n}, {n})")
        frame["prototype_distance"] = proto[t, p]
    frame = frame.sort_values("cost_share", ascending=False, kind="stable").reset_index(drop=True)
    if top is not None:
        frame = frame.head(check_number("top", top, low=1, integer=True))
    return frame
