"""Input checks shared by the error-geometry metrics (labels, costs, coordinates)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import circumplex as cx
from ..arrays import to_numpy
from ..costs import validate_cost
from ..degeneracy import is_other
from ..params import check_labels


def _labels(y_true, y_pred, n_classes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Labelled rows as int arrays, and how many rows had no label (-1)."""
    t = to_numpy(y_true).ravel()
    if t.size == 0:
        raise ValueError("y_true is empty; expected class indices, one per sample")
    n_unlabelled = int(np.count_nonzero(t < 0)) if t.dtype.kind in "iuf" else 0
    y_true, y_pred = check_labels(y_true, y_pred, n_classes)
    return y_true, y_pred, n_unlabelled


def _cost(cost, classes) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """A validated float cost (rows predicted, columns true) and its class names when known."""
    if isinstance(cost, pd.DataFrame) and classes is None:
        classes = tuple(str(c) for c in cost.columns)
    matrix = validate_cost(cost, classes, where="cost", allow_zero_off_diagonal=True)
    return matrix, None if classes is None else tuple(classes)


def _coords(coords, classes) -> tuple[np.ndarray, tuple[str, ...]]:
    """(classes, 2) valence-arousal with NaN rows for the classes without a coordinate (Other always), and names."""
    if isinstance(coords, cx.Coordinates):
        names = tuple(coords.classes)
        if classes is not None and tuple(classes) != names:
            raise ValueError(f"classes {list(classes)} differ from the coordinates' classes {list(names)}; pass "
                             f"the same names in label order, or leave classes out")
        va = np.array(coords.va, dtype=float)
    else:
        if classes is None:
            raise ValueError("classes is required when coords is a plain array; expected one name per row")
        names = tuple(classes)
        va = to_numpy(coords, dtype=np.float64)
        if va.ndim != 2 or va.shape[0] != len(names) or va.shape[1] < 2:
            raise ValueError(f"coords has shape {va.shape}; expected ({len(names)}, 2) valence-arousal, one row "
                             f"per class of {list(names)}")
        va = va[:, :2].copy()
    for k, name in enumerate(names):
        if is_other(name):
            va[k] = np.nan
    if np.isfinite(va).all(1).sum() < 2:
        raise ValueError(f"coords place fewer than 2 of the classes {list(names)}; expected at least 2 positions")
    return va, names


def _placed(va: np.ndarray) -> np.ndarray:
    return np.isfinite(va).all(1)
