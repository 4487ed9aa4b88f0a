"""Seeds as the unit of the models: the factorial's effects clustered by seed (or a mixed model with a random
intercept per seed) and chapter 08's per-class regression (rows clustered by seed, and the per-class means), each
checked against statsmodels fitted directly on synthetic tables."""

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from affect_book.analysis import MIN_CLUSTERS, class_regression, degeneracy_verdict, factorial_effects
from affect_book.params import ParameterError
from affect_book.study import FACTORS

SHORT = {"frequency": "fr", "circumplex": "ci", "visual": "vi", "partner": "pa"}
FORMULA = "y ~ fr * ci * vi * pa"


def factorial(seeds: int = 6, noise: float = 0.05, seed_sd: float = 0.0, slope_sd: float = 0.0, rng: int = 0,
              planted: dict | None = None) -> pd.DataFrame:
    """The full 2^4 design, one row per (cell, seed): planted effects, a seed intercept shared by all of the seed's
    cells (``seed_sd``), a seed-specific frequency effect (``slope_sd``) and row noise."""
    gen = np.random.default_rng(rng)
    planted = planted or {"visual": -0.3, "circumplex": -0.1}
    shift, slope = gen.normal(0, seed_sd, seeds), gen.normal(0, slope_sd, seeds)
    rows = []
    for levels in itertools.product(*FACTORS.values()):
        cell = dict(zip(FACTORS, levels))
        x = {f: 0.5 if cell[f] == FACTORS[f][1] else -0.5 for f in FACTORS}
        mu = 0.5 + sum(v * np.prod([x[f] for f in t.split(":")]) for t, v in planted.items())
        rows += [{"cell": "/".join(levels), **cell, "seed": s,
                  "y": mu + shift[s] + slope[s] * x["frequency"] + noise * gen.normal()} for s in range(seeds)]
    return pd.DataFrame(rows)


def coded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{SHORT[f]: np.where(frame[f] == FACTORS[f][1], 0.5, -0.5) for f in FACTORS})


def sm_names(terms) -> list[str]:
    return [t if t == "Intercept" else ":".join(SHORT[f] for f in t.split(":")) for t in terms]


# ------------------------------------------------------------------------------------------ the factorial effects

def test_clustered_effects_equal_statsmodels_cluster_fit():
    frame = factorial(seeds=6, seed_sd=0.1, slope_sd=0.05, rng=1)
    effects = factorial_effects(frame, "y")
    data = coded(frame)
    fit = smf.ols(FORMULA, data).fit(cov_type="cluster", cov_kwds={"groups": data["seed"]}, use_t=True)
    names = sm_names(effects["term"])
    np.testing.assert_allclose(effects["estimate"], fit.params[names], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(effects["se"], fit.bse[names], rtol=1e-9)
    np.testing.assert_allclose(effects["pvalue"], fit.pvalues[names], rtol=1e-9)
    ci = fit.conf_int(alpha=0.05).loc[names]
    np.testing.assert_allclose(effects["low"], ci[0], rtol=1e-9)
    np.testing.assert_allclose(effects["high"], ci[1], rtol=1e-9)
    # the t reference has seeds - 1 degrees of freedom (statsmodels' use_t with clusters), not n - k
    assert fit.df_resid_inference == 5
    assert (effects["df"] == 5).all() and effects.attrs["df"] == 5 and effects.attrs["df_resid"] == 96 - 16
    t = effects["estimate"] / effects["se"]
    np.testing.assert_allclose(effects["pvalue"], 2 * stats.t.sf(np.abs(t), 5), rtol=1e-9)
    assert (effects["cov"] == "cluster(seed)").all() and (effects["n_clusters"] == 6).all()
    # 6 seeds < MIN_CLUSTERS: the table says the errors are unreliable (a column, not a print)
    assert MIN_CLUSTERS == 10 and effects["warning"].str.contains("only 6 clusters").all()
    many = factorial_effects(factorial(seeds=MIN_CLUSTERS, rng=1), "y")
    assert (many["warning"] == "").all() and (many["df"] == MIN_CLUSTERS - 1).all()


def test_hc3_stays_available_and_the_verdict_uses_the_tables_df():
    frame = factorial(seeds=5, noise=0.02, rng=2, planted={"circumplex": -0.3})
    hc3 = factorial_effects(frame, "y", cov="HC3")
    fit = smf.ols(FORMULA, coded(frame)).fit(cov_type="HC3", use_t=True)
    names = sm_names(hc3["term"])
    np.testing.assert_allclose(hc3["se"], fit.bse[names], rtol=1e-9)
    np.testing.assert_allclose(hc3["pvalue"], fit.pvalues[names], rtol=1e-9)
    assert (hc3["df"] == 80 - 16).all() and (hc3["cov"] == "HC3").all() and hc3["n_clusters"].isna().all()
    assert (hc3["warning"] == "").all()
    for effects, df in ((factorial_effects(frame, "y"), 4), (hc3, 64)):
        verdict = degeneracy_verdict(effects, margin=0.05)
        c = effects.set_index("term").loc["circumplex"]
        assert verdict["df"] == df
        assert verdict["numbers"]["circumplex"]["p_claimed"] == pytest.approx(
            stats.t.cdf(c["estimate"] / c["se"], df), rel=1e-9, abs=1e-300)
        assert f"{df} degrees of freedom" in verdict["rule"]
    # a table built before the df column existed falls back on its residual degrees of freedom
    old = hc3.drop(columns=["df", "cov", "n_clusters", "warning"])
    old.attrs = {"df_resid": 64.0}
    assert degeneracy_verdict(old, margin=0.05)["df"] == 64


def test_mixed_model_equals_statsmodels_mixedlm():
    frame = factorial(seeds=8, seed_sd=0.1, rng=3)
    effects = factorial_effects(frame, "y", model="mixed")
    data = coded(frame)
    fit = smf.mixedlm(FORMULA, data, groups=data["seed"]).fit(reml=True)
    names = sm_names(effects["term"])
    np.testing.assert_allclose(effects["estimate"], fit.fe_params[names], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(effects["se"], fit.bse_fe[names], rtol=1e-4)
    np.testing.assert_allclose(effects["pvalue"], fit.pvalues[names], rtol=1e-3, atol=1e-12)
    ci = fit.conf_int(alpha=0.05).loc[names]
    np.testing.assert_allclose(effects["low"], ci[0], rtol=1e-4, atol=1e-8)
    assert effects.attrs["group_var"] == pytest.approx(float(fit.cov_re.iloc[0, 0]), rel=1e-3)
    assert (effects["cov"] == "mixed(seed)").all() and np.isinf(effects["df"]).all()
    assert effects["warning"].str.contains("only 8 clusters").all() and np.isnan(effects.attrs["r_squared"])
    verdict = degeneracy_verdict(effects, margin=0.05)  # z tests (infinite df) on the mixed model's errors
    c = effects.set_index("term").loc["circumplex"]
    assert verdict["numbers"]["circumplex"]["p_claimed"] == pytest.approx(stats.norm.cdf(c["estimate"] / c["se"]))


def test_clustering_matters_when_a_seed_effect_is_shared_across_cells():
    """A seed's intercept and its frequency effect are shared by all of its cells: the rows of one seed are
    correlated, the naive errors treat them as 96 independent rows and are too small."""
    frame = factorial(seeds=12, noise=0.02, seed_sd=0.1, slope_sd=0.1, rng=4)
    clustered = factorial_effects(frame, "y").set_index("term")
    naive = smf.ols(FORMULA, coded(frame)).fit()  # classical OLS errors
    hc3 = factorial_effects(frame, "y", cov="HC3").set_index("term")
    for term, name in (("Intercept", "Intercept"), ("frequency", "fr")):
        assert clustered.loc[term, "se"] > 1.5 * naive.bse[name], term
        assert clustered.loc[term, "se"] > 1.5 * hc3.loc[term, "se"], term
    # the seed's shared effect is not in the other factors: there clustering changes little
    assert clustered.loc["visual", "se"] < 2 * naive.bse["vi"]
    # and its true variability is what the clustered interval covers: over many draws, the naive one misses often
    covered = {"cluster": 0, "HC3": 0}
    for r in range(40):
        draw = factorial(seeds=12, noise=0.02, seed_sd=0.1, slope_sd=0.1, rng=100 + r)
        for cov in covered:
            row = factorial_effects(draw, "y", cov=cov, factors=["frequency", "visual"]).set_index("term")
            covered[cov] += row.loc["frequency", "low"] <= 0 <= row.loc["frequency", "high"]
    assert covered["cluster"] >= 36 and covered["HC3"] <= 30, covered  # of 40, at a nominal 95%


def test_clustering_needs_a_seed_column_and_known_options():
    frame = factorial(seeds=3).drop(columns="seed")
    with pytest.raises(ParameterError, match="no 'seed' column.*cov='HC3'"):
        factorial_effects(frame, "y")
    assert len(factorial_effects(frame, "y", cov="HC3")) == 16
    with pytest.raises(ParameterError, match="cov='robust'"):
        factorial_effects(factorial(seeds=3), "y", cov="robust")
    with pytest.raises(ParameterError, match="model='gee'"):
        factorial_effects(factorial(seeds=3), "y", model="gee")
    run_wise = factorial(seeds=3).rename(columns={"seed": "run_seed"})
    assert (factorial_effects(run_wise, "y", groups="run_seed")["cov"] == "cluster(run_seed)").all()
    # one seed: nothing to cluster over; the estimates stand, without errors, and the table says why
    single = factorial_effects(factorial(seeds=1, planted={"circumplex": -0.3}), "y")
    assert single["se"].isna().all() and single["pvalue_holm"].isna().all() and np.isnan(single.attrs["df"])
    assert single.set_index("term").loc["circumplex", "estimate"] == pytest.approx(-0.3, abs=0.1)
    assert single["warning"].str.startswith("one cluster (seed)").all()
    with pytest.raises(ParameterError, match="no standard errors.*one cluster"):
        degeneracy_verdict(single, margin=0.05)


# ---------------------------------------------------------------------------------- the per-class regression

def class_table(seeds: int = 6, sources: tuple = ("affwild2", "affectnet"), rng: int = 0) -> pd.DataFrame:
    """(run, class) rows: class-level predictors (one value per class of a source), a run-level feature index, a
    class effect shared by every run of the class, a seed effect and noise; Other has no circumplex distance."""
    gen = np.random.default_rng(rng)
    names = ["Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Other"]
    rows = []
    seed_shift = gen.normal(0, 0.05, seeds)
    for source in sources:
        share = gen.dirichlet(np.ones(len(names)))
        nn = gen.uniform(0.2, 1.0, len(names))
        class_shift = gen.normal(0, 0.05, len(names))
        for condition in ("base", "circumplex"):
            for s in range(seeds):
                for k, name in enumerate(names):
                    feature = nn[k] + gen.normal(0, 0.1)
                    rows.append({"dataset": "simulator", "preset": source, "condition": condition, "seed": s,
                                 "run": f"{source}/{condition}/{s}", "class": name,
                                 "log_train_share": np.log(share[k]),
                                 "nn_distance": np.nan if name == "Other" else nn[k], "feature_index": feature,
                                 "f1": 0.3 + 0.05 * np.log(share[k]) + 0.2 * nn[k] + class_shift[k]
                                 + seed_shift[s] + gen.normal(0, 0.03)})
    return pd.DataFrame(rows)


PREDICTORS = ["log_train_share", "nn_distance", "feature_index"]


def test_class_regression_rows_equal_statsmodels_cluster_fit_by_seed():
    table = class_table()
    fit = class_regression(table, predictors=PREDICTORS, standardize=False)
    runs = fit[fit["fit"] == "runs"].set_index("term")
    usable = table.dropna(subset=["f1", *PREDICTORS])
    assert fit.attrs["n"] == len(usable) and fit.attrs["n_dropped"] == (table["class"] == "Other").sum()
    direct = sm.OLS(usable["f1"], sm.add_constant(usable[PREDICTORS])).fit(
        cov_type="cluster", cov_kwds={"groups": usable["seed"].to_numpy()}, use_t=True)
    np.testing.assert_allclose(runs["estimate"], direct.params[runs.index], rtol=1e-9)
    np.testing.assert_allclose(runs["std_error"], direct.bse[runs.index], rtol=1e-9)
    np.testing.assert_allclose(runs["pvalue"], direct.pvalues[runs.index], rtol=1e-9)
    np.testing.assert_allclose(runs["ci_low"], direct.conf_int().loc[runs.index, 0], rtol=1e-9)
    assert (runs["df"] == 6 - 1).all() and (runs["n_clusters"] == 6).all() and (runs["cov"] == "cluster(seed)").all()
    assert runs["warning"].str.contains("only 6 clusters").all()
    assert list(fit["fit"].unique()) == ["runs", "classes"] and list(runs.index) == ["const", *PREDICTORS]


def test_class_regression_class_level_fit_is_ols_on_per_class_means():
    table = class_table()
    for standardize in (False, True):
        fit = class_regression(table, predictors=PREDICTORS, standardize=standardize)
        classes = fit[fit["fit"] == "classes"].set_index("term")
        usable = table.dropna(subset=["f1", *PREDICTORS]).copy()
        if standardize:  # by the rows' standard deviations, before the means: the same units in both fits
            usable[PREDICTORS] = (usable[PREDICTORS] - usable[PREDICTORS].mean()) / usable[PREDICTORS].std(ddof=0)
        means = usable.groupby(["preset", "class"])[["f1", *PREDICTORS]].mean()
        assert len(means) == 2 * 7 == fit.attrs["n_classes"]
        direct = sm.OLS(means["f1"], sm.add_constant(means[PREDICTORS])).fit()
        np.testing.assert_allclose(classes["estimate"], direct.params[classes.index], rtol=1e-9)
        np.testing.assert_allclose(classes["std_error"], direct.bse[classes.index], rtol=1e-9)
        np.testing.assert_allclose(classes["pvalue"], direct.pvalues[classes.index], rtol=1e-9)
        np.testing.assert_allclose(classes["ci_high"], direct.conf_int().loc[classes.index, 1], rtol=1e-9)
        assert (classes["df"] == 14 - 4).all() and (classes["n"] == 14).all() and (classes["cov"] == "OLS").all()
        assert (classes["warning"] == "").all()
        assert fit.attrs["r_squared"]["classes"] == pytest.approx(direct.rsquared)
    # the class effect is shared by every run of a class: the class-level errors of the class-level predictors are
    # the honest (larger) ones, not the rows' clustered-by-seed ones
    runs = fit[fit["fit"] == "runs"].set_index("term")
    assert classes.loc["nn_distance", "std_error"] > runs.loc["nn_distance", "std_error"]


def test_class_regression_keys_groups_and_errors():
    table = class_table(sources=("affwild2",)).assign(preset=None, dataset="affwild2")  # a real dataset: no preset
    fit = class_regression(table, predictors=("log_train_share", "nn_distance"))
    assert fit.attrs["n_classes"] == 7 and fit[fit["fit"] == "classes"]["warning"].str.contains("only 7").all()
    single = class_regression(table[table["seed"] == 0], predictors=("log_train_share", "nn_distance"))
    runs, classes = single[single["fit"] == "runs"], single[single["fit"] == "classes"]
    assert runs["std_error"].isna().all() and runs["warning"].str.startswith("one cluster").all()
    assert classes["std_error"].notna().all()
    with pytest.raises(ParameterError, match="lacks the columns"):
        class_regression(table.drop(columns="seed"))
    with pytest.raises(ParameterError, match="constant"):
        class_regression(table.assign(nn_distance=1.0))
    with pytest.raises(ParameterError, match="not identified"):
        class_regression(table.assign(feature_index=lambda t: 2 * t["nn_distance"]),
                         predictors=("nn_distance", "feature_index"))
