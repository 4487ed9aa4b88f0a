"""Chapter 09's factorial experiment: the design and its cells, the analysis (effects against pandas cell means,
statsmodels and scipy; the verdicts on cases whose answer is known) and a tiny end-to-end run (smoke profile)."""

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests
from support import ROOT

from affect_book.costs import ot_cost
from affect_book.degeneracy import degeneracy_components
from affect_book.data.simulator import make_config, probe_split
from affect_book.geometry import error_severity
from affect_book.params import ParameterError
from affect_book.study import (FACTORS, HOLD, VOLATILE_COLUMNS, FactorialDesign, StudyFailed, cell_config, cell_knobs,
                               expand_study, factorial_cells, factorial_studies, n_runs, run_factorial, run_studies,
                               run_study)
from affect_book.analysis import (cell_contrasts, condition_differences, degeneracy_verdict, factorial_effects,
                                  factorial_outcomes, index_frame, representation_verdict, versus_reference)

# the design's factors and levels, written out here (the first level is the reference of every contrast)
LEVELS = {"frequency": ("published", "balanced"), "circumplex": ("separated", "degenerate"),
          "visual": ("distinct", "shared"), "partner": ("off", "on")}
SHORT = {"frequency": "fr", "circumplex": "ci", "visual": "vi", "partner": "pa"}
PLANTED = {"visual": -0.3, "frequency": 0.1, "circumplex:visual": -0.2}
ALL_TERMS = ["Intercept"] + [":".join(c) for k in range(1, 5) for c in itertools.combinations(LEVELS, k)]


def test_factor_levels_and_hold():
    assert FACTORS == LEVELS
    assert HOLD == {"frequency": "published", "circumplex": "degenerate", "visual": "distinct", "partner": "off"}


def synthetic(planted: dict, noise: float, seed: int, seeds: int = 5, mean: float = 0.5) -> pd.DataFrame:
    """Seed-level outcomes on the full 2^4 design: ``mean`` + the planted terms (effect-coded) + normal noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for levels in itertools.product(*LEVELS.values()):
        cell = dict(zip(LEVELS, levels))
        x = {f: -0.5 if cell[f] == LEVELS[f][0] else 0.5 for f in LEVELS}
        mu = mean + sum(v * np.prod([x[f] for f in term.split(":")]) for term, v in planted.items())
        rows += [{"cell": "/".join(levels), **cell, "seed": s, "y": mu + noise * rng.normal()} for s in range(seeds)]
    return pd.DataFrame(rows)


def statsmodels_fit(frame: pd.DataFrame, outcome: str = "y"):
    """The full factorial with the same effect coding, through the formula API (HC3)."""
    data = frame.assign(**{SHORT[f]: np.where(frame[f] == LEVELS[f][1], 0.5, -0.5) for f in LEVELS})
    return smf.ols(f"{outcome} ~ fr * ci * vi * pa", data).fit(cov_type="HC3")


def sm_name(term: str) -> str:
    return term if term == "Intercept" else ":".join(SHORT[f] for f in term.split(":"))


# ---------------------------------------------------------------------------------------------- planted effects

def test_factorial_effects_recover_planted_effects():
    effects = factorial_effects(synthetic(PLANTED, noise=0.05, seed=3), "y", cov="HC3").set_index("term")
    assert list(effects.index) == ALL_TERMS
    assert effects.attrs["n"] == 80 and effects.attrs["df_resid"] == 80 - 16 and effects.attrs["n_dropped"] == 0
    for term in ALL_TERMS[1:]:
        truth = PLANTED.get(term, 0.0)
        assert effects.loc[term, "low"] <= truth <= effects.loc[term, "high"], term
        if term in PLANTED:  # the planted terms are detected, not only covered
            assert effects.loc[term, "pvalue_holm"] < 0.001, term
    # the default clusters by seed: t on seeds - 1 degrees of freedom, so detection needs more seeds than HC3 does
    clustered = factorial_effects(synthetic(PLANTED, noise=0.05, seed=3, seeds=12), "y", level=0.999)
    clustered = clustered.set_index("term")
    assert (clustered["df"] == 11).all() and (clustered["n_clusters"] == 12).all()
    assert (clustered["cov"] == "cluster(seed)").all() and (clustered["warning"] == "").all()
    for term in ALL_TERMS[1:]:
        assert clustered.loc[term, "low"] <= PLANTED.get(term, 0.0) <= clustered.loc[term, "high"], term
        if term in PLANTED:  # (a 99.9% interval: fifteen 95% intervals would miss now and then)
            assert clustered.loc[term, "pvalue_holm"] < 0.001, term
    exact = factorial_effects(synthetic(PLANTED, noise=1e-6, seed=0), "y").set_index("term")
    for term in ALL_TERMS[1:]:
        assert exact.loc[term, "estimate"] == pytest.approx(PLANTED.get(term, 0.0), abs=1e-5), term
    assert exact.loc["Intercept", "estimate"] == pytest.approx(0.5, abs=1e-5)


def test_effects_equal_cell_means_statsmodels_and_t_intervals():
    frame = synthetic(PLANTED, noise=0.1, seed=1)
    effects = factorial_effects(frame, "y", cov="HC3").set_index("term")
    for f, (first, second) in LEVELS.items():  # main effect: second level minus first, balanced design
        means = frame.groupby(f)["y"].mean()
        assert effects.loc[f, "estimate"] == pytest.approx(means[second] - means[first], abs=1e-12)
    for a, b in itertools.combinations(LEVELS, 2):  # two-way: the difference of differences
        m = frame.groupby([a, b])["y"].mean()
        (a1, a2), (b1, b2) = LEVELS[a], LEVELS[b]
        expected = (m[a2, b2] - m[a1, b2]) - (m[a2, b1] - m[a1, b1])
        assert effects.loc[f"{a}:{b}", "estimate"] == pytest.approx(expected, abs=1e-12)
    fit = statsmodels_fit(frame)
    names = [sm_name(t) for t in effects.index]
    np.testing.assert_allclose(effects["estimate"], fit.params[names], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(effects["se"], fit.bse[names], rtol=1e-9)
    # two-sided t with the residual degrees of freedom, as the docstring states
    df = fit.df_resid
    t = effects["estimate"] / effects["se"]
    np.testing.assert_allclose(effects["pvalue"], 2 * stats.t.sf(np.abs(t), df), rtol=1e-9)
    half = stats.t.ppf(0.975, df) * effects["se"]
    np.testing.assert_allclose(effects["low"], effects["estimate"] - half, rtol=1e-9)
    np.testing.assert_allclose(effects["high"], effects["estimate"] + half, rtol=1e-9)
    raw = effects.loc[ALL_TERMS[1:], "pvalue"].to_numpy()
    np.testing.assert_allclose(effects.loc[ALL_TERMS[1:], "pvalue_holm"], multipletests(raw, method="holm")[1])
    assert np.isnan(effects.loc["Intercept", "pvalue_holm"])
    assert effects.attrs["r_squared"] == pytest.approx(fit.rsquared)


def test_effects_missing_cell_nan_rows_and_bad_levels():
    frame = synthetic(PLANTED, noise=0.1, seed=2)
    with pytest.raises(ParameterError, match="not estimable.*a cell is missing"):
        factorial_effects(frame[frame["cell"] != "balanced/degenerate/shared/on"], "y")
    holed = frame.copy()
    holed.loc[[0, 17, 40], "y"] = np.nan
    effects = factorial_effects(holed, "y", cov="HC3").set_index("term")
    assert effects.attrs["n_dropped"] == 3 and effects.attrs["n"] == 77
    fit = statsmodels_fit(holed)  # the formula API drops the NaN rows
    assert fit.nobs == 77
    np.testing.assert_allclose(effects["estimate"], fit.params[[sm_name(t) for t in effects.index]], atol=1e-12)
    np.testing.assert_allclose(effects["se"], fit.bse[[sm_name(t) for t in effects.index]], rtol=1e-9)
    main = factorial_effects(frame, "y", max_order=1)
    assert list(main["term"]) == ["Intercept", *LEVELS]
    with pytest.raises(ParameterError, match="'blurry'.*expected.*'distinct', 'shared'"):
        factorial_effects(frame.replace({"visual": {"shared": "blurry"}}), "y")
    with pytest.raises(ParameterError, match="outcome 'f1'"):
        factorial_effects(frame, "f1")


# --------------------------------------------------------------------------------- paired differences per cell

def _paired_frame(values: dict) -> pd.DataFrame:
    """values: (cell, visual level) -> condition -> per-seed outcomes."""
    rows = []
    for (cell, visual), by_condition in values.items():
        for condition, ys in by_condition.items():
            rows += [{"cell": cell, "visual": visual, "condition": condition, "seed": s, "f1": y}
                     for s, y in enumerate(ys)]
    return pd.DataFrame(rows)


def test_condition_differences_by_hand():
    frame = _paired_frame({("A", "distinct"): {"base": [0.50, 0.40, 0.30], "circumplex": [0.55, 0.38, 0.30]},
                           ("B", "shared"): {"base": [0.10, 0.20, 0.25], "circumplex": [0.00, 0.30, 0.45]},
                           ("C", "shared"): {"base": [0.2, 0.2, 0.2]}})  # no circumplex: left out
    diff = condition_differences(frame, "f1", "circumplex").set_index(["cell", "seed"])["f1"]
    expected = {("A", 0): 0.05, ("A", 1): -0.02, ("A", 2): 0.0, ("B", 0): -0.10, ("B", 1): 0.10, ("B", 2): 0.20}
    assert set(diff.index) == set(expected)
    for key, value in expected.items():
        assert diff[key] == pytest.approx(value, abs=1e-12)
    out = condition_differences(frame, "f1", "circumplex")
    assert list(out.columns) == ["cell", "visual", "seed", "f1"]
    assert dict(zip(out["cell"], out["visual"])) == {"A": "distinct", "B": "shared"}
    with pytest.raises(ParameterError, match="no 'uniform'.*'base', 'circumplex'"):
        condition_differences(frame, "f1", "uniform")


def test_cell_contrasts_are_exact_wilcoxon_with_holm():
    d_a = np.array([0.031, -0.012, 0.044, 0.027, 0.053, -0.005])  # no ties, no zeros
    d_b = np.array([-0.021, 0.008, -0.034, -0.047, 0.015, -0.062])
    base = np.array([0.40, 0.35, 0.42, 0.38, 0.31, 0.45])
    frame = _paired_frame({("A", "distinct"): {"base": base, "circumplex": base + d_a},
                           ("B", "shared"): {"base": base - 0.1, "circumplex": base - 0.1 + d_b}})
    table = cell_contrasts(frame, "f1", "circumplex").set_index("label")
    p = [stats.wilcoxon(d, method="exact").pvalue for d in (d_a, d_b)]
    np.testing.assert_allclose(table.loc[["A", "B"], "pvalue"], p, rtol=1e-9)
    np.testing.assert_allclose(table.loc[["A", "B"], "pvalue_holm"], multipletests(p, method="holm")[1], rtol=1e-9)
    np.testing.assert_allclose(table.loc[["A", "B"], "mean_difference"], [d_a.mean(), d_b.mean()], rtol=1e-9)
    greater = cell_contrasts(frame, "f1", "circumplex", alternative="greater").set_index("label")
    assert greater.loc["A", "pvalue"] == pytest.approx(
        stats.wilcoxon(d_a, alternative="greater", method="exact").pvalue, rel=1e-9)


# ------------------------------------------------------------------------------------------------- the verdicts

def test_degeneracy_verdict_on_known_cases():
    fit_frame = synthetic({"circumplex": -0.3}, noise=0.01, seed=4)
    effects = factorial_effects(fit_frame, "y")
    found = degeneracy_verdict(effects, margin=0.05)
    assert found["verdict"] == "reproduced"
    # the one-sided t tests by hand from statsmodels' coefficient and seed-clustered error, on seeds - 1 df
    data = fit_frame.assign(**{SHORT[f]: np.where(fit_frame[f] == LEVELS[f][1], 0.5, -0.5) for f in LEVELS})
    fit = smf.ols("y ~ fr * ci * vi * pa", data).fit(cov_type="cluster", cov_kwds={"groups": data["seed"]},
                                                    use_t=True)
    df = 5 - 1
    assert found["df"] == df and found["n_clusters"] == 5 and "only 5 clusters" in found["warning"]
    c_t = fit.params["ci"] / fit.bse["ci"]
    assert found["numbers"]["circumplex"]["p_claimed"] == pytest.approx(stats.t.cdf(c_t, df), rel=1e-6, abs=1e-300)
    est, se = fit.params["fr"], fit.bse["fr"]
    tost = max(stats.t.sf((est + 0.05) / se, df), stats.t.cdf((est - 0.05) / se, df))
    assert found["numbers"]["frequency"]["p_claimed"] == pytest.approx(tost, rel=1e-6)
    assert tost < 1e-4  # (seeds - 1 degrees of freedom: far larger than 1e-6 at 64)
    imbalance = degeneracy_verdict(factorial_effects(synthetic({"circumplex": -0.3, "frequency": 0.2}, 0.01, 4), "y"),
                                   margin=0.05)
    assert imbalance["verdict"] == "not reproduced"
    assert imbalance["numbers"]["frequency"]["p_contrary_holm"] < 1e-6
    wrong_sign = degeneracy_verdict(factorial_effects(synthetic({"circumplex": 0.3}, 0.01, 4), "y"), margin=0.05)
    assert wrong_sign["verdict"] == "not reproduced"
    # no circumplex effect at all, measured precisely: refuted by the smallest effect of interest, not left open
    null = degeneracy_verdict(factorial_effects(synthetic({}, 0.01, 4), "y"), margin=0.05)
    assert null["verdict"] == "not reproduced" and null["smallest_effect"] == 0.05
    null_fit = factorial_effects(synthetic({}, 0.01, 4), "y").set_index("term").loc["circumplex"]
    assert null["numbers"]["circumplex"]["p_contrary"] == pytest.approx(
        stats.t.sf((null_fit["estimate"] + 0.05) / null_fit["se"], df), rel=1e-6, abs=1e-300)
    # a real lowering, smaller than the effect of interest: reproduced, and flagged as below it
    small = degeneracy_verdict(factorial_effects(synthetic({"circumplex": -0.02}, 0.002, 4), "y"), margin=0.05)
    assert small["verdict"] == "reproduced" and small["below_effect"]
    assert not found["below_effect"]
    noisy = degeneracy_verdict(factorial_effects(synthetic({"circumplex": -0.05}, 0.5, 4), "y"), margin=0.05)
    assert noisy["verdict"] == "inconclusive"
    assert noisy["numbers"]["frequency"]["p_claimed"] > 0.05
    only_visual = synthetic({}, 0.1, 0)
    only_visual = only_visual[(only_visual["circumplex"] == "degenerate")]
    with pytest.raises(ParameterError, match="no 'circumplex' term"):
        degeneracy_verdict(factorial_effects(only_visual, "y"), margin=0.05)


def _fix_frame(shifts: dict, seeds: int = 5) -> pd.DataFrame:
    """One cell, base plus one row per condition and seed with base + its shift."""
    base = np.array([0.62, 0.55, 0.71, 0.58, 0.66, 0.60, 0.69])[:seeds]
    rows = [{"cell": "X", "dataset": "simulator", "condition": "base", "seed": s, "sep": v} for s, v in enumerate(base)]
    for condition, shift in shifts.items():
        rows += [{"cell": "X", "dataset": "simulator", "condition": condition, "seed": s, "sep": v + d}
                 for s, (v, d) in enumerate(zip(base, shift))]
    return pd.DataFrame(rows)


def test_representation_verdict_on_known_cases():
    margin = 0.05
    fix = np.array([0.100, 0.104, 0.097, 0.108, 0.092])  # up by 0.1 on every seed
    small = np.array([0.001, -0.002, 0.0035, -0.004, 0.0025])  # |d| < margin / 10
    frame = _fix_frame({"supcon": fix, "circumplex": small, "uniform": -small[::-1]})
    found = representation_verdict(frame, "X", "supcon", ("circumplex", "uniform"), margin, metric="sep")
    assert found["verdict"] == "reproduced"
    part = found["numbers"]["supcon-base"]
    assert part["p_claimed"] == pytest.approx(stats.wilcoxon(fix, alternative="greater", method="exact").pvalue)
    assert part["p_claimed"] == pytest.approx(1 / 32)  # the smallest one-sided exact p with 5 seeds
    np.testing.assert_allclose(part["mean_difference"], fix.mean())
    # an exact TOST with 5 seeds all inside the margin: both one-sided p are 1/32
    assert found["numbers"]["circumplex-base"]["p_claimed"] == pytest.approx(1 / 32)
    # a cost that raises the metric on every seed: contrary p 1/32, Holm over three parts 3/32 > 0.05, so with 5
    # seeds "not reproduced" cannot be reached: undecidable at n = 5 (6 seeds would allow 3/64)
    raising = representation_verdict(_fix_frame({"supcon": fix, "circumplex": fix + 0.1, "uniform": small}), "X",
                                      "supcon", ("circumplex", "uniform"), margin, metric="sep")
    contrary = [raising["numbers"][k]["p_contrary"] for k in ("supcon-base", "circumplex-base", "uniform-base")]
    assert contrary[1] == pytest.approx(1 / 32)
    assert [raising["numbers"][k]["p_contrary_holm"] for k in raising["numbers"]] == pytest.approx(
        multipletests(contrary, method="holm")[1])
    assert (raising["verdict"], raising["n"], raising["seeds_needed"]) == ("undecidable", 5, 6)
    # with 6 seeds the smallest p is 1/64 and Holm's 3/64 < 0.05: not reproduced
    fix6, small6 = np.append(fix, 0.103), np.append(small, -0.0015)
    six = representation_verdict(_fix_frame({"supcon": fix6, "circumplex": fix6 + 0.1, "uniform": small6}, seeds=6),
                                 "X", "supcon", ("circumplex", "uniform"), margin, metric="sep")
    assert six["numbers"]["circumplex-base"]["p_contrary_holm"] == pytest.approx(3 / 64)
    assert six["verdict"] == "not reproduced"
    # a fix that does nothing (within a tenth of the margin) on 6 seeds: refuted by the smallest effect of interest
    idle = representation_verdict(_fix_frame({"supcon": small6, "circumplex": small6, "uniform": -small6}, seeds=6),
                                  "X", "supcon", ("circumplex", "uniform"), margin, metric="sep")
    idle_part = idle["numbers"]["supcon-base"]
    assert idle_part["p_contrary"] == pytest.approx(
        stats.wilcoxon(small6 - margin, alternative="less", method="exact").pvalue) == pytest.approx(1 / 64)
    assert idle["verdict"] == "not reproduced"
    # a real rise below the smallest effect of interest: reproduced, flagged as below it
    rise = np.array([0.020, 0.022, 0.018, 0.024, 0.019, 0.021])
    below = representation_verdict(_fix_frame({"supcon": rise, "circumplex": small6, "uniform": -small6}, seeds=6),
                                   "X", "supcon", ("circumplex", "uniform"), margin, metric="sep")
    assert below["verdict"] == "reproduced" and below["below_effect"]
    with pytest.raises(ParameterError, match="no 'au_off' runs"):
        representation_verdict(frame, "X", "au_off", ("circumplex",), margin, metric="sep")


# ----------------------------------------------------------------------------------------------------- the design

@pytest.mark.parametrize("kw, words", [
    ({"vary": ("frequency", "visuall")}, ["vary", "visuall", "'visual'", "'partner'"]),
    ({"vary": ()}, ["one or more different factors"]),
    ({"vary": ("visual", "visual")}, ["one or more different factors"]),
    ({"conditions": ("circumplex", "uniform")}, ["lacks 'base'"]),
    ({"separated_distance": 0.05, "degenerate_distance": 0.05}, ["separated_distance", "0.05"]),
    ({"separated_distance": 0.04, "degenerate_distance": 0.05}, ["separated_distance"]),
    ({"preset": "balanced"}, ["'balanced' has no visual_partner", "'affwild2'"]),
    ({"shared_visual": 0.0}, ["shared_visual"]),
])
def test_design_validation(kw, words):
    with pytest.raises(ParameterError) as err:
        FactorialDesign(**{"profile": "smoke", **kw})
    for word in words:
        assert word in str(err.value)


def test_cells_of_the_design():
    design = FactorialDesign(profile="smoke", vary="visual, frequency", seeds=2)
    assert design.vary == ("frequency", "visual")  # in FACTORS order
    for vary in [("visual",), ("frequency", "partner"), ("circumplex", "visual", "partner"), tuple(LEVELS)]:
        cells = factorial_cells(FactorialDesign(profile="smoke", vary=vary))
        assert len(cells) == 2 ** len(vary)
        assert {tuple(c[f] for f in LEVELS) for c in cells} == set(itertools.product(
            *[LEVELS[f] if f in vary else (HOLD[f],) for f in LEVELS]))
    # varying frequency only: its two cells, plus the fix cell with the pair visually shared (the distinct fix cell
    # is published/degenerate/distinct/off, already a factorial cell)
    freq = factorial_studies(FactorialDesign(profile="smoke", vary=("frequency",), seeds=2))
    labels = ["/".join(c[f] for f in LEVELS) for c, _ in freq]
    assert labels == ["published/degenerate/distinct/off", "balanced/degenerate/distinct/off",
                      "published/degenerate/shared/off"]
    conditions = {label: s.conditions for label, (_, s) in zip(labels, freq)}
    fixes = ("supcon", "pair_margin", "au_off", "au_strong")
    assert conditions["balanced/degenerate/distinct/off"] == ("base", "circumplex", "uniform")
    assert conditions["published/degenerate/distinct/off"] == ("base", "circumplex", "uniform", *fixes)
    assert conditions["published/degenerate/shared/off"] == ("base", "circumplex", "uniform", *fixes)
    assert n_runs(FactorialDesign(profile="smoke", vary=("frequency",), seeds=2)) == 3 * 2 + 2 * 7 * 2
    assert len(factorial_studies(FactorialDesign(profile="smoke", vary=("visual",), seeds=2))) == 2
    assert len(factorial_studies(FactorialDesign(profile="smoke", vary=("frequency",), seeds=2, fixes=()))) == 2


def test_cell_knobs_config_and_cost_fill():
    design = FactorialDesign(profile="smoke", vary=tuple(LEVELS), seeds=2, separated_distance=0.7,
                             degenerate_distance=0.1, shared_visual=0.8)
    preset = make_config("affwild2", "smoke")
    n = len(preset.classes)
    low = cell_knobs(design, HOLD)
    high = cell_knobs(design, {"frequency": "balanced", "circumplex": "separated", "visual": "shared",
                               "partner": "on"})
    assert low["train_proportions"] == preset.train_proportions and len(set(preset.train_proportions)) > 1
    assert high["train_proportions"] == pytest.approx([1 / n] * n) and sum(high["train_proportions"]) == 1
    assert (low["pair_va_distance"], high["pair_va_distance"]) == (0.1, 0.7)
    assert (low["visual_degeneracy"], high["visual_degeneracy"]) == (0.0, 0.8)
    assert low["visual_partner"] is None and high["visual_partner"] == ("Surprise", "Fear", 0.5)
    # the preset's per-class intensities, less the pair's own (the pair differs only as the visual factor says)
    expected = {c: f for c, f in preset.class_intensity if c not in design.pair}
    assert dict(low["class_intensity"]) == expected and set(dict(preset.class_intensity)) - set(expected) == {
        "Anger", "Fear"}
    with pytest.raises(ParameterError, match="visual='blurry'.*'distinct', 'shared'"):
        cell_knobs(design, dict(HOLD, visual="blurry"))
    i, j = (preset.classes.index(c) for c in design.pair)
    assert design.pair == ("Anger", "Fear")
    for level, distance in (("separated", 0.7), ("degenerate", 0.1)):
        va = cell_config(design, dict(HOLD, circumplex=level)).centroids()
        assert np.hypot(*(va[i] - va[j])) == pytest.approx(distance, abs=1e-9)
    for cell, study in factorial_studies(design):
        sim = cell_config(design, cell)
        expected = {c: sim.centroids()[k] for k, c in enumerate(sim.classes) if c != "Other"}
        fill = dict(study.cost_fill)
        assert set(fill) == set(expected)
        for c, va in expected.items():
            np.testing.assert_allclose(fill[c], va, atol=1e-12)
        if cell in ({**HOLD, "visual": "distinct"}, {**HOLD, "visual": "shared"}):
            margin_runs = [r for r in expand_study(study) if r.condition == "pair_margin"]
            assert len(margin_runs) == 2 and all(r.config.margin_pair == design.pair for r in margin_runs)


# ----------------------------------------------------------------------------------------- end to end (smoke)

@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the end-to-end tests (the simulator's data are built once per cell)."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("factorial_cache")
        mp.setenv("AFFECT_BOOK_CACHE", str(path))
        yield path


@pytest.mark.slow
def test_run_factorial_outcomes_and_rerun(cache):
    design = FactorialDesign(profile="smoke", vary=("visual",), conditions=("base", "circumplex"), seeds=2,
                             fixes=("pair_margin",))
    frame = run_factorial(design, workers=1, progress=False)
    assert len(frame) == n_runs(design) == 2 * 3 * 2 and not frame["loaded_from_cache"].any()
    outcomes = factorial_outcomes(design, frame)
    assert len(outcomes) == len(frame)
    assert not outcomes.duplicated(["cell", "condition", "seed"]).any()
    assert set(outcomes["cell"]) == {"published/degenerate/distinct/off", "published/degenerate/shared/off"}
    np.testing.assert_allclose(outcomes["pair_f1"], (outcomes["f1/Anger"] + outcomes["f1/Fear"]) / 2)
    np.testing.assert_allclose(outcomes["partner_f1"], outcomes["f1/Surprise"])
    skipped = outcomes["pair_separability"].isna()
    assert outcomes.loc[skipped, "separability_skipped"].str.contains("fewer than cv").all()
    assert outcomes.loc[~skipped, "separability_skipped"].isna().all()
    # severity recomputed from one run's saved predictions and the cell's own valence-arousal geometry
    row = outcomes[(outcomes["visual"] == "shared") & (outcomes["condition"] == "circumplex")].iloc[1]
    sim = cell_config(design, dict(HOLD, visual="shared"))
    fill = {c: tuple(v) for c, v in zip(sim.classes, sim.centroids()) if c != "Other"}
    cost = ot_cost(sim.classes, "va", fill=fill).to_numpy()
    with np.load(Path(row["run_dir"]) / "predictions.npz") as f:
        logits, y = f["logits"], f["expression"]
    expected = error_severity(y, logits.argmax(1), cost)["mean_error_cost"]
    assert np.isfinite(expected) and row["severity"] == pytest.approx(expected, rel=1e-9)
    again = run_factorial(design, workers=1, progress=False)
    assert again["loaded_from_cache"].all()
    # two grids in one pool: each table equals that grid run alone
    studies = [s for _, s in factorial_studies(design)]
    together = run_studies(studies, workers=1, progress=False)
    stable = [c for c in together[0] if c not in VOLATILE_COLUMNS]
    for study, table in zip(studies, together):
        alone = run_study(study, workers=1, progress=False)
        pd.testing.assert_frame_equal(table[stable], alone[stable])
    assert not together[0]["config_hash"].isin(together[1]["config_hash"]).any()
    # every condition against base per (cell, outcome): scipy's exact Wilcoxon and Holm over the family
    table = versus_reference(outcomes, ["published/degenerate/distinct/off"], ["circumplex", "pair_margin"],
                             ["p_mtl"])
    part = outcomes[outcomes["cell"] == "published/degenerate/distinct/off"].set_index(["condition", "seed"])
    for condition, p_value in zip(table["label"], table["pvalue"]):
        d = (part.loc[condition]["p_mtl"] - part.loc["base"]["p_mtl"]).to_numpy()
        if np.count_nonzero(d) == len(d):
            assert p_value == pytest.approx(stats.wilcoxon(d, method="exact").pvalue)
    np.testing.assert_allclose(table["pvalue_holm"], multipletests(table["pvalue"], method="holm")[1])
    # the index frame: each cell's components beside the base runs' mean F1 of each class
    rows = index_frame(design, outcomes, n_probe=80)
    assert len(rows) == 2 * 8 and set(rows["cell"]) == set(outcomes["cell"])
    shared = rows[rows["cell"] == "published/degenerate/shared/off"].set_index("class")
    shared_config = cell_config(design, dict(HOLD, visual="shared"))
    comp = degeneracy_components(shared_config, probe_split(shared_config, n_probe=80))
    pd.testing.assert_series_equal(shared["probe_f1"], comp["probe_f1"], check_names=False)
    base = outcomes[(outcomes["cell"] == "published/degenerate/shared/off") & (outcomes["condition"] == "base")]
    assert shared.loc["Fear", "f1"] == pytest.approx(base["f1/Fear"].mean())


@pytest.mark.slow
def test_a_failing_run_is_named_and_the_others_stay_cached(cache, monkeypatch):
    import affect_book.trainer as trainer  # run_task looks the trainer's train up when it runs (a deferred import)

    design = FactorialDesign(profile="smoke", vary=("visual",), conditions=("base",), seeds=(7, 8), fixes=())
    studies = [s for _, s in factorial_studies(design)]
    doomed = expand_study(studies[1])[1]
    real = trainer.train

    def flaky(config, *args, **kwargs):
        if config == doomed.config:
            raise RuntimeError("planted failure")
        return real(config, *args, **kwargs)

    monkeypatch.setattr(trainer, "train", flaky)
    with pytest.raises(StudyFailed) as err:
        run_studies(studies, workers=1, progress=False)
    assert "1 of 4 runs failed" in str(err.value)
    assert f"grid 2/2: {doomed.label}: RuntimeError: planted failure" in str(err.value)  # names the grid too
    monkeypatch.setattr(trainer, "train", real)
    first = run_study(studies[0], workers=1, progress=False)
    assert first["loaded_from_cache"].all()  # the other grid's runs were trained and cached
    second = run_study(studies[1], workers=1, progress=False)
    assert list(second["loaded_from_cache"]) == [True, False]  # only the failed run trains now


@pytest.mark.slow
def test_chapter_09_runs_on_a_licensed_copy(tmp_path, monkeypatch):
    """With DATASET and DATA_ROOT set, chapter 09 skips the simulator-only parts (saying so) and compares the fixes
    with the costs on the copy (a manifest of tiny faces), pushing apart the copy's nearest circumplex pair."""
    import nbformat
    from support.real_fixtures import write_face

    from affect_book.site import book

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    root, names = tmp_path / "copy", ("Anger", "Fear", "Happy", "Sad", "Neutral")
    lines = ["image,expression,subject,split"]
    for k in range(150):
        write_face(root / "img" / f"{k:03d}.jpg", k, size=(24, 24))
        lines.append(f"img/{k:03d}.jpg,{names[k % 5]},p{k // 2},{'train' if k < 80 else 'val' if k < 100 else 'test'}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "executed"
    book.run_book("smoke", only=["09"], parameters={"DATASET": "manifest", "DATA_ROOT": str(root),
                                                    "FIXES": ["pair_margin"], "PRIMARY_FIX": "pair_margin"},
                  root=ROOT, out_dir=out, log=lambda line: None)
    nb = nbformat.read(out / "notebooks" / "09_beyond_the_cost.ipynb", as_version=4)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "cannot be set on real faces" in text
    pair_line = next(line for line in text.splitlines() if "the designated pair is the nearest" in line)
    assert pair_line.endswith(("Anger-Fear", "Fear-Anger")), pair_line  # 0.13 apart on Russell & Mehrabian 1977
    assert "runs: " in text and "manifest (claim)" in text


@pytest.mark.slow
def test_each_cell_trains_on_its_own_simulator_config(cache):
    """What a cell's runs load is the cell's SimulatorConfig, a knob set to None included (a partner turned off):
    once, get_records dropped None options and the 'off' cells silently kept the preset's partner."""
    from affect_book.data.simulator import dataset_fingerprint
    from affect_book.study import run_splits

    design = FactorialDesign(profile="smoke", vary=("partner",), conditions=("base",), seeds=2, fixes=())
    prints = []
    for cell, study in factorial_studies(design):
        loaded = run_splits(expand_study(study)[0])["train"]
        expected = cell_config(design, cell)
        assert (expected.visual_partner is None) == (cell["partner"] == "off")
        assert loaded.fingerprint == dataset_fingerprint(expected, "train"), cell
        prints.append(loaded.fingerprint)
    assert len(set(prints)) == 2


CHAPTER09 = dict(preset="affwild2", vary=None, conditions=["base", "circumplex", "uniform"],
                 fixes=["supcon", "pair_margin", "au_off", "au_strong"], primary_fix="pair_margin", seeds=None,
                 profile="smoke", lambda_ot=0.5, separated_distance=0.6, degenerate_distance=0.05, shared_visual=1.0,
                 alpha=0.05, frequency_margin=0.05, separability_margin=0.05, n_probe=480, n_boot=2000)


def test_chapter_factorial_builds_the_design_and_names_bad_parameters(tmp_path):
    from affect_book.study import chapter_factorial

    design, costs, root, summary = chapter_factorial(**CHAPTER09)
    assert design == FactorialDesign(preset="affwild2", vary=tuple(FACTORS), conditions=CHAPTER09["conditions"],
                                     fixes=CHAPTER09["fixes"], seeds=None, profile="smoke")
    assert costs == ["circumplex", "uniform"] and root is None
    assert summary == (f"preset affwild2: designated pair Anger-Fear, partner class {design.partner_class}; "
                       f"{len(factorial_cells(design))} factorial cells, {n_runs(design)} runs in all")
    licensed = chapter_factorial(**{**CHAPTER09, "dataset": "affectnet", "data_root": str(tmp_path)})
    assert licensed[0] is None and licensed[2] == tmp_path and "cannot be set on real faces" in licensed[3]
    for kwargs, words in [({"alpha": 0.9}, ["ALPHA=0.9"]), ({"n_probe": 10}, ["N_PROBE=10"]),
                          ({"fixes": ["supcon", "pairmargin"]}, ["FIXES='pairmargin'", "'pair_margin'"]),
                          ({"primary_fix": "au_of"}, ["PRIMARY_FIX='au_of'"]),
                          ({"conditions": ["base"]}, ["CONDITIONS=['base'] has no cost condition"]),
                          ({"dataset": "affectnett"}, ["DATASET='affectnett'", "'affectnet'"]),
                          ({"dataset": "affectnet"}, ["set DATA_ROOT"]), ({"preset": "afwild2"}, ["PRESET='afwild2'"])]:
        with pytest.raises(ParameterError) as err:
            chapter_factorial(**{**CHAPTER09, **kwargs})
        for word in words:
            assert word in str(err.value)


def test_main_effects_gathers_the_order_one_terms_of_each_outcome():
    from affect_book.analysis import main_effects

    table = pd.DataFrame({"term": ["Intercept", "frequency", "visual", "frequency:visual"], "order": [0, 1, 1, 2],
                          "estimate": [0.3, 0.1, -0.3, 0.0], "low": [0.2, 0.0, -0.4, -0.1],
                          "high": [0.4, 0.2, -0.2, 0.1], "pvalue_holm": [np.nan, 0.04, 0.001, 1.0]})
    mains = main_effects({"pair_f1": table, "p_mtl": table.assign(estimate=table["estimate"] * 2)})
    assert mains["outcome"].tolist() == ["pair_f1", "pair_f1", "p_mtl", "p_mtl"]
    assert mains["factor"].tolist() == ["frequency", "visual"] * 2
    assert mains["estimate"].tolist() == [0.1, -0.3, 0.2, -0.6] and mains["p_holm"].tolist() == [0.04, 0.001] * 2
    assert list(main_effects({}).columns) == ["outcome", "factor", "estimate", "low", "high", "p_holm"]
