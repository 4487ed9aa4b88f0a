"""Does the degeneracy index predict? Its fitted alternative evaluated on held-out groups, and the rank agreement.

Introduced in chapter 09 (``notebooks/09_beyond_the_cost``). :func:`held_out_prediction` regresses an outcome
(trained per-class F1) on the components of :func:`affect_book.degeneracy.degeneracy_components` with each group (a
factorial cell) held out of its own fit; :func:`rank_agreement` scores the unfitted index or those predictions
against the observed outcome by Spearman's rho with a bootstrap interval that resamples whole groups.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..params import ParameterError, check_number
from ._index import _nearness, _require

__all__ = ["DEFAULT_FEATURES", "held_out_prediction", "rank_agreement"]

#: The features of :func:`held_out_prediction` by default: the index's three scores and the log training share.
DEFAULT_FEATURES = ("probe_error", "au_overlap", "va_nearness", "log_train_share")


def _log_share(share: pd.Series) -> pd.Series:
    share = share.astype(float)
    if not (share > 0).all():
        raise ParameterError(f"train_share has values <= 0 or NaN in rows {list(share.index[~(share > 0)][:5])}; "
                             f"expected positive shares for log_train_share")
    return np.log(share)


#: Features :func:`held_out_prediction` derives when the frame lacks them: name -> (source column, transform).
_DERIVED = {"probe_error": ("probe_f1", lambda f: 1.0 - f.astype(float)), "va_nearness": ("va_nn_distance", _nearness),
            "log_train_share": ("train_share", _log_share)}


def _design(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The feature columns: taken from ``frame`` or derived from a component column (:data:`_DERIVED`)."""
    out = {}
    for name in features:
        if name in frame.columns:
            out[name] = frame[name].astype(float)
        elif name in _DERIVED:
            source, make = _DERIVED[name]
            _require(frame, (source,), f"frame (for feature {name!r})")
            out[name] = make(frame[source])
        else:
            raise ParameterError(f"feature {name!r} is neither a column of frame {list(frame.columns)} nor one of "
                                 f"the derived features {sorted(_DERIVED)}")
    return pd.DataFrame(out, index=frame.index)


def held_out_prediction(frame: pd.DataFrame, outcome: str = "f1", group: str = "cell",
                        features: Sequence[str] = DEFAULT_FEATURES) -> pd.DataFrame:
    """Predict an outcome from the components with every group held out of its own fit (leave-one-group-out OLS).

    For each group g: an ordinary least-squares fit (with intercept, ``numpy.linalg.lstsq``) of ``outcome`` on
    ``features`` over the rows of the other groups only, then the prediction of g's rows. Nothing of g (features or
    outcome) enters the fit that predicts it.

    Parameters
    ----------
    frame : DataFrame
        One row per (group, class): the ``group`` column, the ``outcome`` and the features, or the component
        columns they derive from: ``probe_error`` (from ``probe_f1``), ``va_nearness`` (from ``va_nn_distance``,
        as in :func:`affect_book.degeneracy.degeneracy_scores`), ``log_train_share`` (from ``train_share``).
    outcome : str
        The column to predict (e.g. trained per-class F1, a seed mean).
    group : str
        The column whose values are held out together (e.g. the factorial cell).
    features : sequence of str
        Regressors; default :data:`DEFAULT_FEATURES`.

    Returns
    -------
    DataFrame
        A copy of ``frame`` with ``predicted``. Rows with a NaN feature (Other's ``va_nearness``) are left out of
        every fit and get NaN; rows with a NaN outcome are left out of the fits but predicted. ``attrs``:
        ``coefficients`` (DataFrame, one row per held-out group: intercept and features), ``n_unpredicted``
        (rows with a NaN feature) and ``n_outcome_missing``.

    Raises
    ------
    ParameterError
        A missing column, fewer than 2 groups, or a fit with fewer usable rows than coefficients.
    """
    _require(frame, (outcome, group), "frame")
    features = tuple(features)
    if not features:
        raise ParameterError("features is empty; expected at least one feature column")
    x = _design(frame, features).to_numpy()
    y = frame[outcome].astype(float).to_numpy()
    g = frame[group].to_numpy()
    names = pd.unique(g)
    if len(names) < 2:
        raise ParameterError(f"{group!r} has {len(names)} group(s); expected at least 2 to hold one out")
    has_x = np.isfinite(x).all(axis=1)
    usable = has_x & np.isfinite(y)
    design = np.column_stack([np.ones(len(x)), x])
    predicted = np.full(len(x), np.nan)
    coefs = {}
    for name in names:
        held = g == name
        fit = usable & ~held
        if fit.sum() < design.shape[1]:
            raise ParameterError(f"holding out {group}={name!r} leaves {int(fit.sum())} usable rows; expected at "
                                 f"least {design.shape[1]} (intercept + {len(features)} features)")
        beta = np.linalg.lstsq(design[fit], y[fit], rcond=None)[0]
        rows = held & has_x
        predicted[rows] = design[rows] @ beta
        coefs[name] = beta
    out = frame.copy()
    out["predicted"] = predicted
    out.attrs.update(coefficients=pd.DataFrame.from_dict(coefs, orient="index", columns=("intercept",) + features),
                     n_unpredicted=int((~has_x).sum()), n_outcome_missing=int((~np.isfinite(y)).sum()))
    return out


def rank_agreement(predicted, observed, groups, n_boot: int = 2000, seed: int = 0,
                   confidence: float = 0.95) -> dict:
    """Spearman's rho of predicted against observed, with a percentile bootstrap interval over whole groups.

    Each bootstrap replicate draws as many groups as there are, with replacement, and takes all rows of each drawn
    group (rows of one cell stay together, so the interval reflects how many cells were seen, not rows).

    Parameters
    ----------
    predicted, observed : array-like, (n,)
        E.g. ``-degeneracy_index`` or held-out ``predicted`` F1, and observed per-class F1.
    groups : array-like, (n,)
        The group (factorial cell) of each row.
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seed of the resampling (``numpy.random.default_rng``).
    confidence : float
        Interval level, in (0, 1).

    Returns
    -------
    dict
        ``rho`` (``scipy.stats.spearmanr`` on all rows), ``low``, ``high`` (percentiles of the replicates),
        ``n`` rows, ``n_groups``, ``n_boot``, ``n_boot_undefined`` (replicates with a constant input, left out of
        the interval), ``n_dropped`` (rows with a non-finite value, left out of everything) and ``replicates``.

    Raises
    ------
    ParameterError
        Lengths that differ, fewer than 3 usable rows or 2 groups, or bad ``n_boot``/``seed``/``confidence``.
    """
    check_number("n_boot", n_boot, low=1, integer=True)
    check_number("seed", seed, low=0, integer=True)
    check_number("confidence", confidence, low=1e-9, high=1 - 1e-9)
    p = np.asarray(predicted, dtype=float)
    o = np.asarray(observed, dtype=float)
    g = np.asarray(groups)
    if not (p.ndim == o.ndim == g.ndim == 1 and len(p) == len(o) == len(g)):
        raise ParameterError(f"predicted, observed and groups have shapes {p.shape}, {o.shape}, {g.shape}; "
                             f"expected three 1-d arrays of one length")
    keep = np.isfinite(p) & np.isfinite(o)
    p, o, g = p[keep], o[keep], g[keep]
    codes, names = pd.factorize(g)
    if len(p) < 3 or len(names) < 2:
        raise ParameterError(f"{len(p)} usable rows in {len(names)} groups; expected at least 3 rows and 2 groups")
    members = [np.flatnonzero(codes == k) for k in range(len(names))]
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a replicate with a constant input has no rho: counted below
        rho = float(spearmanr(p, o).statistic)
        for b in range(n_boot):
            rows = np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))])
            reps[b] = spearmanr(p[rows], o[rows]).statistic
    valid = reps[np.isfinite(reps)]
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(valid, [tail, 100 - tail]) if len(valid) else (math.nan, math.nan)
    return {"rho": rho, "low": float(low), "high": float(high), "n": len(p), "n_groups": len(names),
            "n_boot": n_boot, "n_boot_undefined": int(n_boot - len(valid)), "n_dropped": int((~keep).sum()),
            "replicates": reps}
