"""Chapter 08's per-class regression, with the unit of independence made explicit.

One row per (run, class) is not one independent observation. The runs of one seed share its initial weights (and its
data draw), so the rows are clustered by seed; and the class-level predictors (training share, circumplex distance)
take one value per class of a source, so however many runs there are, the regression has only as many distinct
predictor values as classes. :func:`class_regression` therefore reports two fits side by side: the rows with
standard errors clustered by seed, and the honest small-n check, an OLS on the per-class means (one row per class).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..params import ParameterError, check_number

__all__ = ["MIN_CLUSTERS", "class_regression"]

#: With fewer clusters (seeds) or classes than this, :func:`class_regression` and
#: :func:`~affect_book.analysis.factorial_effects` flag their standard errors as unreliable in a ``warning`` column
#: (cluster-robust errors are biased downwards and noisy with few clusters).
MIN_CLUSTERS = 10


def _table(fit, names: list[str], level: float) -> pd.DataFrame:
    ci = np.asarray(fit.conf_int(alpha=1 - level))
    return pd.DataFrame({"term": names, "estimate": np.asarray(fit.params), "std_error": np.asarray(fit.bse),
                         "statistic": np.asarray(fit.tvalues), "pvalue": np.asarray(fit.pvalues),
                         "ci_low": ci[:, 0], "ci_high": ci[:, 1]})


def class_regression(table: pd.DataFrame, response: str = "f1",
                     predictors: Sequence[str] = ("log_train_share", "nn_distance"), *, groups: str = "seed",
                     classes: Sequence[str] = ("dataset", "preset", "class"), standardize: bool = True,
                     level: float = 0.95) -> pd.DataFrame:
    """Per-class scores regressed on class-level predictors, two ways: the (run, class) rows with standard errors
    clustered by seed, and the per-class means with plain OLS.

    ``response ~ 1 + predictors``. The seed is the unit that is independent (a seed's runs share their initial
    weights), so the row-level fit clusters by ``groups`` (CR1, statsmodels ``cov_type="cluster"``, a t reference on
    clusters - 1 degrees of freedom). Clustering by seed does not make the rows of one class in different seeds
    independent: predictors that vary only by class give the regression about as many independent pieces of
    information as there are classes. The class-level fit (one row per class: the mean response and predictors over
    its runs) is the honest small-n check; where the two disagree, believe the class-level one.

    Parameters
    ----------
    table : DataFrame
        One row per (run, class) (:func:`~affect_book.analysis.study_class_table`), with ``response``,
        ``predictors``, ``groups`` and ``classes``. Rows with a missing or non-finite response or predictor, or no
        group, are left out and counted in ``attrs["n_dropped"]`` (Other, which has no circumplex position).
    response : str
    predictors : sequence of str
        At least one.
    groups : str
        The cluster column of the row-level fit (the seed).
    classes : sequence of str
        The columns that name one class (a class of one source: its dataset, preset and name); missing values
        (no preset) are a level of their own.
    standardize : bool
        Centre each predictor and divide it by its standard deviation over the usable rows before both fits, so
        that each coefficient is the change of the response per row-level standard deviation of its predictor, in
        the same units in both fits.
    level : float
        Level of the confidence intervals.

    Returns
    -------
    DataFrame
        Per fit (``fit``: ``"runs"`` then ``"classes"``) one row per term (``const`` first): ``term``,
        ``estimate``, ``std_error``, ``statistic``, ``pvalue``, ``ci_low``, ``ci_high`` (t with ``df`` degrees of
        freedom), ``df`` (clusters - 1 for the rows; residual degrees of freedom of the class means), ``n`` (rows
        fitted), ``n_clusters`` (seeds for the rows; classes for the means), ``cov`` (``"cluster(seed)"``,
        ``"OLS"``) and ``warning`` (empty, or why the errors are unreliable: fewer than :data:`MIN_CLUSTERS`
        clusters or classes). ``attrs`` hold ``formula``, ``n`` (rows used), ``n_dropped``, ``n_classes``,
        ``n_clusters``, ``r_squared`` (per fit), ``standardized`` and ``level``.

    Raises
    ------
    ValueError
        A column is missing, a predictor is constant or the predictors are collinear, or too few rows or classes
        for the coefficients.
    """
    import statsmodels.api as sm  # deferred: importing it takes about a second, for these two fits

    predictors, classes = [str(p) for p in predictors], [str(c) for c in classes]
    if not predictors:
        raise ParameterError("predictors is empty; expected at least one column name")
    check_number("level", level, low=0, high=1)
    if not 0 < level < 1:
        raise ParameterError(f"level={level!r}; expected a number strictly between 0 and 1")
    needed = [response, *predictors, groups, *classes]
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise ParameterError(f"table lacks the columns {missing}; expected {needed} (found {list(table.columns)})")
    numeric = table[[response, *predictors]].apply(pd.to_numeric, errors="coerce").astype(float)
    keep = np.isfinite(numeric.to_numpy()).all(1) & table[groups].notna().to_numpy()
    data = numeric[keep].copy()
    k = len(predictors) + 1
    x = data[predictors]
    sd = x.std(ddof=0)
    flat = [c for c in predictors if not sd[c] > 0]
    if flat:
        raise ParameterError(f"predictors {flat} are constant over the {len(data)} usable rows; their effects are "
                             f"not identified")
    if standardize:
        data[predictors] = (x - x.mean()) / sd
    design = sm.add_constant(data[predictors], has_constant="add")
    if len(data) <= k or np.linalg.matrix_rank(design.to_numpy()) < k:
        raise ParameterError(f"the predictors {predictors} with a constant are not identified from the "
                             f"{len(data)} usable rows (collinear, or too few rows); drop one or add rows where "
                             f"they vary")
    codes = pd.factorize(table.loc[keep, groups])[0]
    n_clusters = int(codes.max() + 1)
    if n_clusters > 1:
        rows = sm.OLS(data[response], design).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
        rows_df = float(rows.df_resid_inference)
    else:  # one seed: nothing to cluster over (the table gives the estimates, with no errors)
        rows, rows_df = sm.OLS(data[response], design).fit(), np.nan
    keys = table.loc[keep, classes].astype(object).where(table.loc[keep, classes].notna(), "")  # no preset: ""
    means = data.groupby([keys[c] for c in classes], sort=True).mean()
    n_classes = len(means)
    class_design = sm.add_constant(means[predictors], has_constant="add")
    if n_classes <= k or np.linalg.matrix_rank(class_design.to_numpy()) < k:
        raise ParameterError(f"{n_classes} classes for {k} coefficients (or collinear class means): the "
                             f"class-level fit is not identified; expected more classes than coefficients")
    by_class = sm.OLS(means[response], class_design).fit()
    names = list(design.columns)
    parts = []
    for fit, label, df, n, units, what in (
            (rows, "runs", rows_df, len(data), n_clusters, f"cluster({groups})"),
            (by_class, "classes", float(by_class.df_resid), n_classes, n_classes, "OLS")):
        unit = f"clusters ({groups})" if label == "runs" else "classes"
        warning = (f"only {units} {unit}: standard errors are unreliable with fewer than {MIN_CLUSTERS}"
                   if units < MIN_CLUSTERS else "")
        part = _table(fit, names, level)
        if not np.isfinite(df):
            part[["std_error", "statistic", "pvalue", "ci_low", "ci_high"]] = np.nan
            warning = f"one cluster ({groups}): no standard errors, intervals or p-values"
        parts.append(part.assign(df=df, n=n, n_clusters=units, cov=what, warning=warning))
    out = pd.concat(parts, keys=["runs", "classes"], names=["fit", None]).reset_index(level=0).reset_index(drop=True)
    out.attrs.update(formula=f"{response} ~ 1 + {' + '.join(predictors)}", n=int(len(data)),
                     n_dropped=int((~keep).sum()), n_classes=n_classes, n_clusters=n_clusters,
                     r_squared={"runs": float(rows.rsquared), "classes": float(by_class.rsquared)},
                     standardized=bool(standardize), level=float(level))
    return out
