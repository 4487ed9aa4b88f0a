"""Errors within class pairs, and errors that go to the circumplex nearest neighbour (with a permutation baseline)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..degeneracy import nearest_neighbours
from ..params import check_choice, check_number
from ._checks import _coords, _labels, _placed


def _pair_list(pairs, names: tuple[str, ...]) -> list[tuple[str, str]]:
    if isinstance(pairs, pd.DataFrame):
        if not {"a", "b"} <= set(pairs.columns):
            raise ValueError(f"pairs has columns {list(pairs.columns)}; expected 'a' and 'b' (degenerate_pairs)")
        pairs = list(zip(pairs["a"], pairs["b"]))
    out = []
    for pair in pairs:
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"pairs entry {pair!r}; expected (class, class) pairs")
        a, b = (str(x) for x in pair)
        for name in (a, b):
            check_choice("pair class", name, names)
        if a == b:
            raise ValueError(f"pair ({a!r}, {b!r}) names one class twice; expected two distinct classes")
        out.append((a, b))
    if not out:
        raise ValueError("pairs is empty; expected at least one (class, class) pair")
    return out


def pair_confusion(y_true, y_pred, pairs, classes: Sequence[str]) -> pd.DataFrame:
    """Confusions within given class pairs (e.g. the degenerate pairs), both directions.

    Parameters
    ----------
    y_true, y_pred : (N,) int arrays
        True and predicted class indices (``y_true == -1`` skipped; their number is in ``attrs["n_unlabelled"]``).
    pairs : sequence of (str, str) or DataFrame
        Class-name pairs, or a table with columns ``a`` and ``b``
        (:func:`affect_book.degeneracy.degenerate_pairs`).
    classes : sequence of str
        Class names in label order.

    Returns
    -------
    DataFrame
        Two rows per pair (``a -> b`` and ``b -> a``): ``pair`` ("a-b"), ``true``, ``predicted``, ``count``,
        ``n_true`` (the true class's samples), ``rate`` (``count / n_true``; NaN when the class is absent),
        ``n_errors_true`` (the true class's errors) and ``share_of_errors`` (``count / n_errors_true``; NaN
        without errors).
    """
    names = tuple(classes)
    y_true, y_pred, n_unlabelled = _labels(y_true, y_pred, len(names))
    cm = np.bincount(y_true * len(names) + y_pred, minlength=len(names) ** 2).reshape(len(names), len(names))
    support, errors = cm.sum(1), cm.sum(1) - np.diag(cm)
    rows = []
    for a, b in _pair_list(pairs, names):
        for t, p in ((a, b), (b, a)):
            i, j = names.index(t), names.index(p)
            rows.append({"pair": f"{a}-{b}", "true": t, "predicted": p, "count": int(cm[i, j]),
                         "n_true": int(support[i]), "rate": cm[i, j] / support[i] if support[i] else np.nan,
                         "n_errors_true": int(errors[i]),
                         "share_of_errors": cm[i, j] / errors[i] if errors[i] else np.nan})
    frame = pd.DataFrame(rows)
    frame.attrs["n_unlabelled"] = n_unlabelled
    return frame


def _nearest_matrix(va: np.ndarray, names: tuple[str, ...], tol: float) -> tuple[np.ndarray, pd.Series]:
    """hit[t, p]: p is (one of the tied) nearest neighbours of t on the circumplex; False for unplaced classes."""
    placed = np.flatnonzero(_placed(va))
    pv = va[placed]
    dist = np.linalg.norm(pv[:, None] - pv[None], axis=-1)
    table = nearest_neighbours(dist, [names[k] for k in placed], tol=tol)
    hit = np.zeros((len(names), len(names)), dtype=bool)
    nearest = {}
    for name, row in table.iterrows():
        partners = tuple(row["nearest"].split(" = "))
        nearest[name] = partners
        for partner in partners:
            hit[names.index(name), names.index(partner)] = True
    return hit, pd.Series(nearest, dtype=object).rename_axis("class")


def nearest_error_rate(y_true, y_pred, coords, *, classes: Sequence[str] | None = None, n_permutations: int = 999,
                       seed: int = 0, tol: float = 1e-9) -> dict:
    """Share of the errors that go to the true class's circumplex nearest neighbour, against a permutation baseline.

    The baseline is a geometry-blind classifier with the same confusion totals: the predicted labels of the
    measured errors are shuffled among them (each true class keeps its number of errors, each class its number of
    wrong predictions), ``n_permutations`` times with ``numpy.random.default_rng(seed)``. A shuffled prediction
    that lands on its own true class is no error and is left out of that draw's rate (the mean share left out is
    reported). Tied nearest neighbours all count.

    Parameters
    ----------
    y_true, y_pred, coords, classes
        As in :func:`affect_book.geometry.affective_distance` (errors from or to Other are left out, counted).
    n_permutations : int
        Draws of the baseline.
    seed : int
        Seed of the draws: the same seed gives the same baseline.
    tol : float
        Distances within ``tol`` tie (:func:`affect_book.degeneracy.nearest_neighbours`).

    Returns
    -------
    dict
        ``rate`` (NaN without measured errors), ``n_nearest``, ``n_measured``, ``n_errors``, ``n_excluded``,
        ``n_unlabelled``, ``baseline_mean``, ``baseline_low`` and ``baseline_high`` (2.5th and 97.5th percentiles
        of the draws), ``pvalue`` (one-sided, rate above the baseline: ``(1 + #draws >= rate) / (1 +
        n_permutations)``), ``mean_share_on_diagonal``, ``n_permutations``, ``seed`` and ``nearest`` (Series: each
        placed class's nearest neighbours).
    """
    check_number("n_permutations", n_permutations, low=1, integer=True)
    check_number("seed", seed, low=0, integer=True)
    va, names = _coords(coords, classes)
    y_true, y_pred, n_unlabelled = _labels(y_true, y_pred, len(names))
    hit, nearest = _nearest_matrix(va, names, tol)
    wrong = y_true != y_pred
    placed = _placed(va)
    measured = wrong & placed[y_true] & placed[y_pred]
    t, p = y_true[measured], y_pred[measured]
    out = {"rate": float(hit[t, p].mean()) if t.size else float("nan"), "n_nearest": int(hit[t, p].sum()),
           "n_measured": int(t.size), "n_errors": int(wrong.sum()), "n_excluded": int((wrong & ~measured).sum()),
           "n_unlabelled": n_unlabelled, "n_permutations": int(n_permutations), "seed": int(seed),
           "nearest": nearest}
    rng = np.random.default_rng(seed)
    rates, on_diagonal = np.full(n_permutations, np.nan), np.zeros(n_permutations)
    for k in range(n_permutations if t.size else 0):
        shuffled = p[rng.permutation(t.size)]
        off = shuffled != t
        on_diagonal[k] = 1 - off.mean()
        if off.any():
            rates[k] = hit[t[off], shuffled[off]].mean()
    finite = rates[np.isfinite(rates)]
    if finite.size:
        out.update(baseline_mean=float(finite.mean()), baseline_low=float(np.percentile(finite, 2.5)),
                   baseline_high=float(np.percentile(finite, 97.5)),
                   pvalue=float((1 + np.sum(finite >= out["rate"] - 1e-12)) / (1 + finite.size)),
                   mean_share_on_diagonal=float(on_diagonal.mean()))
    else:
        out.update(baseline_mean=np.nan, baseline_low=np.nan, baseline_high=np.nan, pvalue=np.nan,
                   mean_share_on_diagonal=np.nan)
    return out
