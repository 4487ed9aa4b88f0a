"""Distance-based error metrics on the circumplex: how far the errors land, and whether they keep the quadrant."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..params import check_choice, check_number
from ._checks import _coords, _labels, _placed


#: How :func:`quadrant_preservation` treats a class at the valence-arousal origin (neutral), which has no quadrant.
QUADRANT_ORIGIN_RULES = ("exclude", "own")


def affective_distance(y_true, y_pred, coords, *, classes: Sequence[str] | None = None, bins=8) -> dict:
    """The valence-arousal distance between each error's predicted and true class.

    Parameters
    ----------
    y_true, y_pred : (N,) int arrays
        True and predicted class indices (``y_true == -1`` skipped and counted).
    coords : Coordinates or (classes, 2) array
        Class positions; a class without one (NaN row; Other always) leaves its errors out, counted.
    classes : sequence of str, optional
        Class names (required with a plain array).
    bins : int or sequence of float
        Histogram bins: a number of equal bins from 0 to the largest distance between placed classes, or edges.

    Returns
    -------
    dict
        ``distances`` (one per measured error, in sample order), ``mean_distance`` (NaN when none), ``n_errors``
        (all errors), ``n_excluded`` (errors from or to a class without a coordinate), ``n_unlabelled``,
        ``by_class`` (DataFrame indexed by true class: ``n_errors``, ``n_excluded``, ``mean_distance``) and
        ``histogram`` (DataFrame of counts, rows true class, columns the bins as intervals; as in
        ``numpy.histogram`` the last bin also holds its right edge).
    """
    va, names = _coords(coords, classes)
    y_true, y_pred, n_unlabelled = _labels(y_true, y_pred, len(names))
    wrong = y_true != y_pred
    placed = _placed(va)
    measured = wrong & placed[y_true] & placed[y_pred]
    d = np.linalg.norm(va[y_pred[measured]] - va[y_true[measured]], axis=1)
    if np.ndim(bins) == 0:
        pv = va[placed]
        far = float(np.max(np.linalg.norm(pv[:, None] - pv[None], axis=-1)))
        edges = np.linspace(0.0, far, check_number("bins", int(bins), low=1, integer=True) + 1)
    else:
        edges = np.asarray(bins, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or (np.diff(edges) <= 0).any():
            raise ValueError(f"bins={bins!r}; expected a number of bins or increasing edges")
    t_measured = y_true[measured]
    hist = np.stack([np.histogram(d[t_measured == k], bins=edges)[0] for k in range(len(names))])
    intervals = pd.IntervalIndex.from_breaks(np.round(edges, 6), closed="left", name="distance")
    by_class = pd.DataFrame({"n_errors": np.bincount(y_true[wrong], minlength=len(names)),
                             "n_excluded": np.bincount(y_true[wrong & ~measured], minlength=len(names)),
                             "mean_distance": [d[t_measured == k].mean() if (t_measured == k).any() else np.nan
                                               for k in range(len(names))]},
                            index=pd.Index(names, name="true"))
    return {"distances": d, "mean_distance": float(d.mean()) if d.size else float("nan"),
            "n_errors": int(wrong.sum()), "n_excluded": int((wrong & ~measured).sum()),
            "n_unlabelled": n_unlabelled, "by_class": by_class,
            "histogram": pd.DataFrame(hist, index=pd.Index(names, name="true"), columns=intervals)}


def quadrant_preservation(y_true, y_pred, coords, *, classes: Sequence[str] | None = None, origin: str = "exclude",
                          origin_tol: float = 1e-9) -> dict:
    """Share of the errors that stay in the true class's valence-arousal quadrant.

    A class's quadrant is the pair (sign of valence, sign of arousal) of its position; an error preserves it when
    the predicted class has the same two signs. This is the sign agreement of valence and of arousal reported by
    EmoNet (Toisoul, A., Kossaifi, J., Bulat, A., Tzimiropoulos, G. & Pantic, M. (2021). Estimation of continuous
    valence and arousal levels from faces in naturalistic conditions. Nature Machine Intelligence 3, 42-50), taken
    jointly, on class positions. **The neutral rule:** a class within ``origin_tol`` of the origin (neutral) has no
    quadrant; ``origin="exclude"`` (default) leaves out the errors from or to it, counted in ``n_origin``;
    ``origin="own"`` makes the origin a region of its own, so such an error never preserves the quadrant. A class
    on an axis (one coordinate exactly 0) has sign 0 there and agrees only with classes on the same half-axis.

    Parameters
    ----------
    y_true, y_pred, coords, classes
        As in :func:`affective_distance`.
    origin : {"exclude", "own"}
        The neutral rule above.
    origin_tol : float
        Distance from the origin below which a class is at the origin.

    Returns
    -------
    dict
        ``preserved`` (share of the measured errors; NaN when none), ``n_preserved``, ``n_measured``, ``n_errors``,
        ``n_excluded`` (no coordinate), ``n_origin`` (left out by the neutral rule; 0 with ``"own"``),
        ``n_unlabelled``, ``origin`` (the rule) and ``quadrants`` (Series of each class's (valence sign, arousal
        sign), None at the origin or without a coordinate).
    """
    check_choice("origin", origin, QUADRANT_ORIGIN_RULES)
    va, names = _coords(coords, classes)
    y_true, y_pred, n_unlabelled = _labels(y_true, y_pred, len(names))
    placed = _placed(va)
    at_origin = placed & (np.hypot(np.nan_to_num(va[:, 0]), np.nan_to_num(va[:, 1])) < origin_tol)
    signs = np.sign(np.nan_to_num(va))
    wrong = y_true != y_pred
    coordinate = wrong & placed[y_true] & placed[y_pred]
    touches_origin = at_origin[y_true] | at_origin[y_pred]
    measured = coordinate & ~touches_origin if origin == "exclude" else coordinate
    same = (signs[y_true] == signs[y_pred]).all(1) & ~touches_origin
    n_kept = int(measured.sum())
    quadrants = pd.Series([None if (a or not p) else (int(s[0]), int(s[1]))
                           for a, p, s in zip(at_origin, placed, signs)], index=pd.Index(names, name="class"),
                          dtype=object)
    n_preserved = int((measured & same).sum())
    return {"preserved": n_preserved / n_kept if n_kept else float("nan"), "n_preserved": n_preserved,
            "n_measured": n_kept, "n_errors": int(wrong.sum()), "n_excluded": int((wrong & ~coordinate).sum()),
            "n_origin": int((coordinate & ~measured).sum()), "n_unlabelled": n_unlabelled, "origin": origin,
            "quadrants": quadrants}
