"""Measures of class imbalance over a vector of class counts. Introduced in chapter 02.

``counts``: (classes,) non-negative numbers of samples per class (a list, an array or a pandas Series; a Series
keeps its class names in the results).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .params import check_counts

__all__ = ["class_entropy", "effective_number", "imbalance_ratio", "imbalance_summary", "normalized_entropy",
           "rare_classes", "shares"]


def shares(counts) -> np.ndarray:
    """The fraction of the samples in each class.

    Parameters
    ----------
    counts : array-like of shape (classes,)
        Samples per class: non-negative, not all zero.

    Returns
    -------
    numpy.ndarray of shape (classes,)
        Shares summing to 1.
    """
    values = check_counts(counts)
    return values / values.sum()


def imbalance_ratio(counts) -> float:
    """The largest class count over the smallest; 1 means balanced.

    Parameters
    ----------
    counts : array-like of shape (classes,)
        Samples per class; an empty class makes the ratio infinite.

    Returns
    -------
    float
        ``max(counts) / min(counts)``; infinite when a class is empty.
    """
    values = check_counts(counts)
    return float(values.max() / values.min()) if values.min() > 0 else float("inf")


def effective_number(counts, beta: float = 0.9999) -> np.ndarray:
    """Effective number of samples per class (Cui et al. 2019, Class-Balanced Loss): ``(1 - beta^n) / (1 - beta)``.

    Each new sample adds less than the one before (overlap), so ``E_n`` saturates at ``1 / (1 - beta)``: with
    beta = 0.999, at most 1,000. ``beta = 0`` gives 1 per class (no sample counts more than one); beta -> 1 gives
    back n. The result depends on the absolute counts, not only on their ratios: the same shares at ten times the
    size give different effective numbers (and class-balanced weights).

    Parameters
    ----------
    counts : array-like of shape (classes,)
        Samples per class; the absolute numbers matter, not only their ratios.
    beta : float, default 0.9999
        The overlap parameter, ``0 <= beta < 1``; the default is the class-balanced loss's
        (:data:`affect_book.losses.EXPRESSION_LOSSES`), Cui et al.'s recommendation for counts like these.

    Returns
    -------
    numpy.ndarray of shape (classes,)
        ``(1 - beta^n) / (1 - beta)`` for each class count ``n``.
    """
    if not 0 <= beta < 1:
        raise ValueError(f"beta={beta}; expected 0 <= beta < 1")
    values = check_counts(counts)
    return (1.0 - np.power(beta, values)) / (1.0 - beta)


def class_entropy(counts) -> float:
    """Shannon entropy of the class distribution.

    Parameters
    ----------
    counts : array-like of shape (classes,)
        Samples per class (only their shares matter).

    Returns
    -------
    float
        The entropy in nats: 0 when one class holds every sample, log C when the C classes are balanced.
    """
    p = shares(counts)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def normalized_entropy(counts) -> float:
    """Entropy divided by its maximum, log C.

    Parameters
    ----------
    counts : array-like of shape (classes,)
        Samples per class, at least two classes.

    Returns
    -------
    float
        1 for balanced classes, toward 0 as one class dominates.
    """
    return class_entropy(counts) / float(np.log(len(check_counts(counts))))


def rare_classes(counts, classes: Sequence[str] | None = None, fraction: float = 0.5) -> list[str]:
    """Classes whose share is below ``fraction`` of a uniform share (1 / C).

    Parameters
    ----------
    counts : array-like of shape (classes,)
        Samples per class; a pandas Series lends its index as the class names.
    classes : sequence of str, optional
        Names of the entries (default: the index of a pandas Series, else the positions).
    fraction : float, default 0.5
        The threshold as a fraction of the uniform share, ``0 < fraction <= 1``: with 0.5, classes under half their
        fair share.

    Returns
    -------
    list
        The names (or positions) of the rare classes, in the order of ``counts``.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction}; expected 0 < fraction <= 1")
    p = shares(counts)
    names = list(classes) if classes is not None else (list(counts.index) if isinstance(counts, pd.Series)
                                                        else list(range(len(p))))
    return [n for n, share in zip(names, p) if share < fraction / len(p)]


def imbalance_summary(counts, betas: Sequence[float] = (0.99, 0.999, 0.9999)) -> dict:
    """All measures at once.

    Parameters
    ----------
    counts : array-like of shape (classes,)
        Samples per class, as for each measure above.
    betas : sequence of float, default (0.99, 0.999, 0.9999)
        The ``beta`` values of :func:`effective_number` to report.

    Returns
    -------
    dict
        Classes, samples, max/min ratio, entropy (nats), normalized entropy, and for each beta the ratio of the
        largest to the smallest effective number (how imbalanced the class-balanced weights see the counts).
    """
    values = check_counts(counts)
    out = {"classes": int(values.size), "samples": float(values.sum()), "max/min ratio": imbalance_ratio(values),
           "entropy (nats)": class_entropy(values), "normalized entropy": normalized_entropy(values)}
    for beta in betas:
        eff = effective_number(values, beta)
        out[f"effective-number ratio (beta={beta})"] = float(eff.max() / eff.min()) if eff.min() > 0 else np.inf
    return out
