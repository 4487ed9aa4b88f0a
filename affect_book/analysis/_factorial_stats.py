"""Chapter 09's analysis of the factorial experiment: outcomes per run, factor effects with intervals, the cost's
effect per cell (the two verdicts on them: :func:`degeneracy_verdict` and :func:`representation_verdict`).

**Effects.** Each factor is effect-coded (-1/2 at its first level, +1/2 at its second), so in a balanced design the
OLS coefficient of a factor is the difference between its two levels averaged over every other factor, and that of a
two-factor interaction is the difference of those differences between the levels of the other factor. The model is
the full factorial (every interaction), fitted to seed-level outcomes with statsmodels; p-values are Holm-adjusted
across the table's terms.

**Standard errors.** The rows are not independent: every cell of the factorial trains from the same seeds, and a
seed fixes a model's initial weights (and its data draw where draws are shared), so the runs of one seed are
correlated across cells. The default (``cov="cluster"``) therefore clusters the OLS standard errors by seed (CR1,
statsmodels ``cov_type="cluster"``) and reads them against a t distribution with (number of seeds - 1) degrees of
freedom, as statsmodels does with ``use_t``. With few seeds (the chapter's profiles run five) cluster-robust errors
are themselves noisy and tend to be too small; the table says so in its ``warning`` column when there are fewer than
:data:`MIN_CLUSTERS` clusters, and its ``n_clusters`` and ``df`` columns give what the intervals rest on.
``cov="HC3"`` keeps the earlier heteroskedasticity-robust errors (MacKinnon & White 1985), which treat every row as
independent; ``model="mixed"`` fits a linear mixed model with a random intercept per seed (statsmodels ``MixedLM``,
REML, Wald z intervals as statsmodels reports them).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import degeneracy as dg
from ..data.simulator import probe_split
from ..geometry import error_severity
from ..params import ParameterError
from ..stats import comparison_table, holm, paired_comparison
from ..study import FACTORS, FactorialDesign, cell_config, cell_label, factorial_cells, factorial_studies
from ._geometry import _run_separability, study_predictions
from ._regression import MIN_CLUSTERS

__all__ = ["cell_contrasts", "condition_differences", "factorial_effects", "factorial_outcomes", "index_frame",
           "levels_table", "main_effects", "pair_outcomes", "versus_reference"]


def pair_outcomes(study, rows: pd.DataFrame, pair: tuple[str, str], *, cv: int = 5, seed: int = 0) -> pd.DataFrame:
    """Each run's error severity and the pair's separability in its features, read from the saved test predictions
    of one grid (nothing is trained).

    Parameters
    ----------
    study : StudyConfig
        A grid that has run.
    rows : DataFrame
        Its results table (:func:`affect_book.study.run_study`).
    pair : (str, str)
        The class pair whose separability is measured.
    cv, seed : int
        Of :func:`affect_book.representation.pair_separability`.

    Returns
    -------
    DataFrame
        One row per run: ``condition``, ``seed``, ``severity`` (mean valence-arousal cost of the errors under the
        grid's cost geometry, :func:`affect_book.geometry.error_severity`), ``pair_separability`` (cross-validated
        balanced accuracy of a linear probe separating the pair's test features; NaN with the reason in
        ``separability_skipped`` when a class has fewer than ``cv`` test samples).
    """
    out = []
    for run in study_predictions(study, results=rows):
        cost = run.cost.to_numpy()
        separability, skipped = _run_separability(run, pair, cv, seed)
        out.append({"condition": run.condition, "seed": run.seed,
                    "severity": error_severity(run.y_true, run.y_pred, cost)["mean_error_cost"],
                    "pair_separability": separability["mean"], "separability_skipped": skipped})
    return pd.DataFrame(out)


def factorial_outcomes(design: FactorialDesign, frame: pd.DataFrame, *, cv: int = 5, seed: int = 0) -> pd.DataFrame:
    """Add each run's error severity (under its cell's own geometry) and the designated pair's separability in its
    features (:func:`pair_outcomes`, cell by cell; nothing is trained).

    Parameters
    ----------
    design : FactorialDesign
    frame : DataFrame
        From :func:`affect_book.study.run_factorial`.
    cv, seed : int
        Of :func:`affect_book.representation.pair_separability`.

    Returns
    -------
    DataFrame
        ``frame`` with ``severity``, ``pair_separability`` and ``separability_skipped``.
    """
    parts = []
    for cell, study in factorial_studies(design):
        label = cell_label(cell)
        parts.append(pair_outcomes(study, frame[frame["cell"] == label], design.pair, cv=cv, seed=seed)
                     .assign(cell=label))
    return frame.merge(pd.concat(parts, ignore_index=True), on=["cell", "condition", "seed"], how="left",
                       validate="one_to_one")


def _factors_of(frame: pd.DataFrame, factors: Sequence[str] | None) -> list[str]:
    chosen = [f for f in FACTORS if f in frame.columns] if factors is None else list(factors)
    varied = []
    for f in chosen:
        if f not in FACTORS:
            raise ParameterError(f"factor {f!r}: expected one of {list(FACTORS)}")
        levels = set(frame[f].unique())
        if not levels <= set(FACTORS[f]):
            raise ParameterError(f"factor {f!r} has levels {sorted(levels)}; expected {list(FACTORS[f])}")
        if len(levels) == 2:
            varied.append(f)
    if not varied:
        raise ParameterError(f"no factor of {chosen} takes both levels in the table; nothing to estimate")
    return varied


def factorial_effects(frame: pd.DataFrame, outcome: str, factors: Sequence[str] | None = None, *,
                      level: float = 0.95, max_order: int | None = None, cov: str = "cluster", model: str = "ols",
                      groups: str = "seed") -> pd.DataFrame:
    """Main effects and interactions of the factors on ``outcome``, with intervals (effect coding; OLS with
    standard errors clustered by seed by default, see the module docstring).

    The default clusters by seed because the rows are not independent: the cells share their seeds, and a seed
    fixes a model's initial weights, so one seed's runs are correlated across cells. HC3 errors (``cov="HC3"``)
    would treat the rows as independent. With fewer than :data:`MIN_CLUSTERS` seeds the ``warning`` column says
    that the clustered (or mixed-model) errors are unreliable.

    Parameters
    ----------
    frame : DataFrame
        Seed-level rows (one condition, or paired differences from :func:`condition_differences`) with one column
        per factor holding its level names, ``groups`` (the seed) and ``outcome``.
    outcome : str
        The response column (rows where it is NaN are left out and counted in ``attrs["n_dropped"]``).
    factors : sequence of str, optional
        Default: every factor of :data:`~affect_book.study.FACTORS` that takes both levels in ``frame``.
    level : float
        Confidence level of the intervals.
    max_order : int, optional
        Highest interaction order in the model (default: all, the full factorial).
    cov : {"cluster", "HC3"}
        Of the OLS fit: ``"cluster"`` (default) clusters the errors by ``groups`` (CR1) with a t reference on
        (clusters - 1) degrees of freedom; ``"HC3"`` treats every row as independent (t on the residual degrees of
        freedom). Ignored by ``model="mixed"``.
    model : {"ols", "mixed"}
        ``"mixed"``: a linear mixed model with the same effect-coded fixed effects and a random intercept per
        ``groups`` (statsmodels ``MixedLM``, REML); its intervals and p-values are statsmodels' Wald z ones
        (``df`` is infinite).
    groups : str
        The column of the clusters (the seed); needed unless ``cov="HC3"``.

    Returns
    -------
    DataFrame
        One row per term (``Intercept``, ``frequency``, ``frequency:visual``, ...): ``term``, ``order``,
        ``estimate`` (second level minus first, see the module docstring), ``low``, ``high``, ``se``, ``pvalue``
        (two-sided), ``pvalue_holm`` (Holm across the non-intercept terms with a finite p; an outcome without
        any variance, e.g. an F1 of 0 in every run, has none), ``df`` (of the t reference the p-values and intervals
        use: clusters - 1, the residual degrees of freedom for HC3, infinite for the mixed model), ``cov``
        (``"cluster(seed)"``, ``"HC3"`` or ``"mixed(seed)"``), ``n_clusters`` (seeds; NaN for HC3) and ``warning``
        (empty, or why the errors are unreliable: too few clusters, a mixed model that did not converge); ``attrs``
        hold ``n``, ``df_resid`` (of the OLS fit), ``df``, ``r_squared`` (of the OLS fit; NaN for the mixed model),
        ``n_dropped``, ``cov``, ``n_clusters``, ``warning`` and, for the mixed model, ``group_var`` (the variance
        of the seeds' random intercepts).
    """
    import statsmodels.api as sm  # deferred: importing it takes over a second, for this one fit

    if outcome not in frame.columns:
        raise ParameterError(f"outcome {outcome!r} is not a column; columns: {list(frame.columns)}")
    if model not in ("ols", "mixed"):
        raise ParameterError(f"model={model!r}; expected 'ols' or 'mixed'")
    if cov not in ("cluster", "HC3"):
        raise ParameterError(f"cov={cov!r}; expected 'cluster' (by {groups!r}) or 'HC3'")
    clustered = model == "mixed" or cov == "cluster"
    if clustered and groups not in frame.columns:
        raise ParameterError(f"no {groups!r} column to cluster by; pass groups=<the seed column>, or cov='HC3' to "
                             f"treat every row as independent")
    factors = _factors_of(frame, factors)
    data = frame[frame[outcome].notna()]
    if clustered and data[groups].isna().any():
        raise ParameterError(f"{int(data[groups].isna().sum())} rows have no {groups!r}; expected one per row")
    order = len(factors) if max_order is None else int(max_order)
    coded = {f: np.where(data[f].to_numpy() == FACTORS[f][1], 0.5, -0.5) for f in factors}
    columns, names = [np.ones(len(data))], ["Intercept"]
    for k in range(1, order + 1):
        for combo in itertools.combinations(factors, k):
            columns.append(np.prod([coded[f] for f in combo], axis=0))
            names.append(":".join(combo))
    x = np.column_stack(columns)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ParameterError(f"the design of {factors} up to order {order} is not estimable from these rows "
                             f"(a cell is missing); expected every combination of levels")
    y = data[outcome].to_numpy(float)
    codes = pd.factorize(data[groups])[0] if clustered else None
    n_clusters = int(codes.max() + 1) if clustered else np.nan
    notes = []
    if clustered and n_clusters < MIN_CLUSTERS:
        notes.append(f"only {n_clusters} clusters ({groups}): {'mixed-model' if model == 'mixed' else 'cluster-robust'}"
                     f" standard errors are unreliable with fewer than {MIN_CLUSTERS}")
    ols = sm.OLS(y, x)
    if clustered and n_clusters < 2:  # one seed: nothing to cluster over; the estimates, without errors
        fit = plain = ols.fit()
        params, nan = fit.params, np.full(x.shape[1], np.nan)
        se, pvalues, ci, df, extra = nan, nan, np.column_stack([nan, nan]), np.nan, {}
        label = f"{'mixed' if model == 'mixed' else 'cluster'}({groups})"
        notes = [f"one cluster ({groups}): no standard errors, intervals or p-values (pass cov='HC3' to treat the "
                 f"rows as independent)"]
    elif model == "mixed":
        with warnings.catch_warnings(record=True) as caught:  # recorded in the table, not printed
            warnings.simplefilter("always")
            fit = sm.MixedLM(y, x, groups=codes).fit(reml=True)
        notes += sorted({f"MixedLM: {w.message}" for w in caught if issubclass(w.category, Warning)})
        k = x.shape[1]
        params, se = np.asarray(fit.fe_params), np.asarray(fit.bse_fe)
        pvalues, ci = np.asarray(fit.pvalues)[:k], np.asarray(fit.conf_int(alpha=1 - level))[:k]
        df, label = np.inf, f"mixed({groups})"
        plain = ols.fit()
        extra = {"group_var": float(np.asarray(fit.cov_re).ravel()[0])}
    else:
        if cov == "cluster":
            fit = ols.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
            df, label = float(fit.df_resid_inference), f"cluster({groups})"
        else:
            fit = ols.fit(cov_type="HC3", use_t=True)
            df, label = float(fit.df_resid), "HC3"
        params, se, pvalues, ci = fit.params, fit.bse, fit.pvalues, fit.conf_int(alpha=1 - level)
        plain, extra = fit, {}
    warning = "; ".join(notes)
    out = pd.DataFrame({"term": names, "order": [0 if n == "Intercept" else n.count(":") + 1 for n in names],
                        "estimate": params, "low": ci[:, 0], "high": ci[:, 1], "se": se, "pvalue": pvalues})
    out["pvalue_holm"] = np.nan
    tested = (out["order"] > 0) & np.isfinite(out["pvalue"])  # NaN: an outcome without variance (no test)
    if tested.any():
        out.loc[tested, "pvalue_holm"] = holm(out.loc[tested, "pvalue"].to_numpy())
    out = out.assign(df=df, cov=label, n_clusters=n_clusters, warning=warning)
    out.attrs.update(n=int(plain.nobs), df_resid=float(plain.df_resid), df=df,
                     r_squared=float(plain.rsquared) if model == "ols" else np.nan,
                     n_dropped=int(len(frame) - len(data)), level=level, outcome=outcome, cov=label,
                     n_clusters=n_clusters, warning=warning, **extra)
    return out.reset_index(drop=True)


def condition_differences(frame: pd.DataFrame, outcome: str, condition: str, reference: str = "base") -> pd.DataFrame:
    """``condition - reference`` of ``outcome`` per cell and seed (paired by seed within each cell).

    Parameters
    ----------
    frame : DataFrame
        From :func:`affect_book.study.run_factorial` (or with :func:`factorial_outcomes`'s columns).
    outcome : str
    condition, reference : str

    Returns
    -------
    DataFrame
        ``cell``, the factor columns, ``seed`` and ``outcome`` (the difference); cells lacking either condition
        are left out.
    """
    keys = ["cell", *[f for f in FACTORS if f in frame.columns], "seed"]
    a = frame[frame["condition"] == condition].set_index(keys)[outcome]
    b = frame[frame["condition"] == reference].set_index(keys)[outcome]
    if a.empty or b.empty:
        raise ParameterError(f"no {condition!r} or no {reference!r} rows in the table; conditions there: "
                             f"{sorted(frame['condition'].unique())}")
    return (a - b).dropna().rename(outcome).reset_index()


def cell_contrasts(frame: pd.DataFrame, outcome: str, condition: str, reference: str = "base", *,
                   alternative: str = "two-sided") -> pd.DataFrame:
    """``condition`` against ``reference`` in every cell: exact paired Wilcoxon, Hodges-Lehmann shift with its
    exact interval, Holm across the cells (:func:`affect_book.stats.comparison_table`).

    Parameters
    ----------
    frame : DataFrame
        From :func:`affect_book.study.run_factorial`.
    outcome : str
    condition, reference : str
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    DataFrame
        One row per cell that ran both conditions (``label`` = the cell).
    """
    rows = {}
    for cell, part in frame.groupby("cell", sort=False):
        compared = _compare(part, outcome, condition, reference, alternative)
        if compared is not None:
            rows[cell] = compared
    if not rows:
        raise ParameterError(f"no cell ran both {condition!r} and {reference!r} on two or more seeds")
    return comparison_table(rows)


def _compare(part: pd.DataFrame, outcome: str, condition: str, reference: str, alternative: str = "two-sided"):
    """``condition`` against ``reference`` on the seeds where both have a measured ``outcome`` (one cell's rows),
    or None with fewer than two such seeds."""
    a = part[part["condition"] == condition].set_index("seed")[outcome]
    b = part[part["condition"] == reference].set_index("seed")[outcome]
    seeds = sorted(set(a.dropna().index) & set(b.dropna().index))
    if len(seeds) < 2:
        return None
    return paired_comparison(a.loc[seeds].to_numpy(float), b.loc[seeds].to_numpy(float), alternative=alternative)


def versus_reference(frame: pd.DataFrame, cells: Sequence[str], conditions: Sequence[str],
                     outcomes: Sequence[str], reference: str = "base") -> pd.DataFrame:
    """Every condition against ``reference`` in each of ``cells``, per outcome: exact two-sided Wilcoxon,
    Hodges-Lehmann shift with its exact interval, Holm across the conditions of one (cell, outcome) family.

    Parameters
    ----------
    frame : DataFrame
        The factorial table (or any table with ``cell``, ``condition``, ``seed`` and the outcomes).
    cells : sequence of str
        Cell labels.
    conditions : sequence of str
        The conditions compared (those with fewer than two measured seeds in a cell are left out of it).
    outcomes : sequence of str
        Outcome columns.
    reference : str

    Returns
    -------
    DataFrame
        The :func:`affect_book.stats.comparison_table` rows with ``cell`` and ``metric`` (``label`` = the
        condition); empty when nothing could be compared.
    """
    tables = []
    for cell in cells:
        part = frame[frame["cell"] == cell]
        for outcome in outcomes:
            rows = {c: r for c in conditions if (r := _compare(part, outcome, c, reference)) is not None}
            if rows:
                tables.append(comparison_table(rows).assign(cell=cell, metric=outcome))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def index_frame(design: FactorialDesign, frame: pd.DataFrame, n_probe: int = 480, seed: int = 0) -> pd.DataFrame:
    """The degeneracy index of every factorial cell (computed before training) beside the base model's F1.

    Parameters
    ----------
    design : FactorialDesign
    frame : DataFrame
        From :func:`affect_book.study.run_factorial`.
    n_probe, seed : int
        The probe's images (:func:`affect_book.data.simulator.probe_split`) and its fold shuffle
        (:func:`affect_book.degeneracy.degeneracy_components`).

    Returns
    -------
    DataFrame
        One row per (cell, class): ``class``, the components, ``degeneracy_index``, ``cell`` and ``f1`` (the base
        runs' test F1 of the class, mean over seeds).
    """
    rows = [cell_index_rows(cell_label(cell), cell_config(design, cell), frame, n_probe=n_probe, seed=seed)
            for cell in factorial_cells(design)]
    return pd.concat(rows, ignore_index=True)


def cell_index_rows(label: str, config, frame: pd.DataFrame, *, n_probe: int, seed: int) -> pd.DataFrame:
    """One cell's degeneracy index per class (its components on a probe of ``n_probe`` images) beside the cell's
    base runs' mean test F1 of the class: the rows of :func:`index_frame` and of the rebuilt design's
    :func:`~affect_book.analysis.nearness_index_frame`."""
    comp = dg.degeneracy_components(config, probe_split(config, n_probe=n_probe, seed=seed), seed=seed)
    comp = comp.assign(degeneracy_index=dg.degeneracy_index(comp), cell=label)
    runs = frame[(frame["cell"] == label) & (frame["condition"] == "base")]
    comp["f1"] = [runs[f"f1/{c}"].mean() for c in comp.index]
    return comp.rename_axis("class").reset_index()


def main_effects(effects: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The main effects of several :func:`factorial_effects` tables in one long table.

    Parameters
    ----------
    effects : mapping of str to DataFrame
        Outcome name -> its :func:`factorial_effects` table.

    Returns
    -------
    DataFrame
        One row per outcome and factor (the table's order-1 terms): ``outcome``, ``factor``, ``estimate``, ``low``,
        ``high`` and ``p_holm``.
    """
    rows = [{"outcome": outcome, "factor": r["term"], "estimate": r["estimate"], "low": r["low"], "high": r["high"],
             "p_holm": r["pvalue_holm"]}
            for outcome, table in effects.items() for _, r in table[table["order"] == 1].iterrows()]
    return pd.DataFrame(rows, columns=["outcome", "factor", "estimate", "low", "high", "p_holm"])


def levels_table(frame: pd.DataFrame, outcome: str, factor: str, by: Mapping | None = None) -> pd.DataFrame:
    """Mean ``outcome`` at each level of ``factor`` (over seeds and the other factors), with its standard error.

    Parameters
    ----------
    frame : DataFrame
    outcome, factor : str
    by : mapping, optional
        Column -> value filters applied first (e.g. ``{"condition": "base"}``).

    Returns
    -------
    DataFrame
        One row per level: ``level``, ``mean``, ``sem``, ``n``.
    """
    data = frame
    for k, v in (by or {}).items():
        data = data[data[k] == v]
    g = data.groupby(factor)[outcome]
    return pd.DataFrame({"mean": g.mean(), "sem": g.sem(), "n": g.count()}).reindex(FACTORS[factor]) \
        .rename_axis("level").reset_index()
