"""Frequency or geometry: per-class scores regressed on class frequency and degeneracy (statsmodels OLS)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..params import ParameterError, check_number


def frequency_or_geometry(frame: pd.DataFrame, *, response: str = "f1",
                          predictors: Sequence[str] = ("log_train_share", "nn_distance"), groups: str | None = None,
                          standardize: bool = False, level: float = 0.95) -> pd.DataFrame:
    """Per-class scores regressed on class frequency and degeneracy (ordinary least squares, statsmodels).

    ``response ~ 1 + predictors``, one row of ``frame`` per (run, class). The partial effect of each predictor is
    its coefficient: the change of the response per unit of that predictor with the others held fixed.

    Parameters
    ----------
    frame : DataFrame
        One row per (run, class), with the ``response`` and ``predictors`` columns (e.g. ``f1``,
        ``log_train_share``: natural log of the class's training share, ``nn_distance``: its circumplex
        nearest-neighbour distance, a feature-space separability). Rows with a missing or non-finite value in
        those columns are left out and counted in ``attrs["n_dropped"]``.
    response : str
        The response column.
    predictors : sequence of str
        Predictor columns (at least one).
    groups : str, optional
        A column naming each row's cluster (e.g. the run): the standard errors are then cluster-robust (rows of one
        run share its seed and its training); without it, the classical OLS standard errors.
    standardize : bool
        Divide each predictor by its standard deviation after centring, so effects are per standard deviation.
    level : float
        Level of the confidence intervals.

    Returns
    -------
    DataFrame
        One row per term (``const`` first): ``term``, ``estimate``, ``std_error``, ``statistic``, ``pvalue``,
        ``ci_low``, ``ci_high``; ``attrs`` hold ``n`` (rows used), ``n_dropped``, ``r_squared``, ``cov_type``,
        ``level`` and ``formula``.
    """
    import statsmodels.api as sm  # deferred: importing it takes about a second, for this one fit

    predictors = [str(p) for p in predictors]
    if not predictors:
        raise ValueError("predictors is empty; expected at least one column name")
    check_number("level", level, low=0, high=1)
    if not 0 < level < 1:
        raise ParameterError(f"level={level!r}; expected a number strictly between 0 and 1")
    needed = [response, *predictors, *([groups] if groups is not None else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the columns {missing}; expected {needed} (found {list(frame.columns)})")
    numeric = frame[[response, *predictors]].apply(pd.to_numeric, errors="coerce").astype(float)
    keep = np.isfinite(numeric.to_numpy()).all(1)
    if groups is not None:
        keep &= frame[groups].notna().to_numpy()
    data = numeric[keep]
    if len(data) <= len(predictors) + 1:
        raise ValueError(f"{len(data)} usable rows for {len(predictors) + 1} coefficients; expected more rows")
    x = data[predictors]
    if standardize:
        sd = x.std(ddof=0)
        flat = [c for c in predictors if not sd[c] > 0]
        if flat:
            raise ValueError(f"predictors {flat} are constant; they cannot be standardized or estimated")
        x = (x - x.mean()) / sd
    design = sm.add_constant(x, has_constant="add")
    if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        flat = [c for c in predictors if design[c].nunique() < 2]
        raise ValueError(f"the predictors {predictors} with a constant are collinear over the {len(data)} usable "
                         f"rows{f' ({flat} constant)' if flat else ''}: their effects are not identified; drop one or "
                         f"add rows where they vary")
    model = sm.OLS(data[response], design)
    if groups is not None:
        codes = pd.factorize(frame.loc[keep, groups])[0]
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": codes})
    else:
        fit = model.fit()
    ci = fit.conf_int(alpha=1 - level)
    table = pd.DataFrame({"term": list(design.columns), "estimate": fit.params.to_numpy(),
                          "std_error": fit.bse.to_numpy(), "statistic": fit.tvalues.to_numpy(),
                          "pvalue": fit.pvalues.to_numpy(), "ci_low": ci.iloc[:, 0].to_numpy(),
                          "ci_high": ci.iloc[:, 1].to_numpy()})
    table.attrs.update(n=int(len(data)), n_dropped=int((~keep).sum()), r_squared=float(fit.rsquared),
                       cov_type=fit.cov_type, level=float(level),
                       formula=f"{response} ~ 1 + {' + '.join(predictors)}")
    return table
