"""Chapter 09's recorded factorial: a tiny design (per-seed draws) recorded into a temporary ``docs/results``, read
back, its effects refitted with statsmodels from its rows, every exact p of the representation verdict recomputed
with scipy from its rows, its verdicts recomputed by the same rule, its power plan checked against statsmodels and
the stats layer, and both claims found by the claim tracker."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.power import TTestPower

from affect_book.analysis import (FACTORIAL_CLAIMS, claims_table, load_recorded, recompute_factorial,
                                  record_factorial, recorded_design, recorded_verdicts)
from affect_book.analysis.cli import main as study_cli
from affect_book.params import ParameterError
from affect_book.stats import seeds_for_power
from affect_book.study import FactorialDesign, cell_label, fix_cells

OPTIONS = {"primary_fix": "pair_margin", "costs": ("circumplex", "uniform"), "frequency_margin": 0.05,
           "separability_margin": 0.05}


def one_sided_exact_p(d: np.ndarray, alternative: str) -> float:
    """The exact signed-rank p by scipy (zeros dropped): scipy's exact Wilcoxon without ties, else every sign flip
    of the signed ranks (scipy's permutation test)."""
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    if np.unique(np.abs(d)).size == d.size:
        return float(sps.wilcoxon(d, alternative=alternative, method="exact").pvalue)
    signed = np.sign(d) * sps.rankdata(np.abs(d))
    return float(sps.permutation_test((signed,), lambda x, axis: np.sum(np.where(x > 0, x, 0), axis=axis),
                                      permutation_type="samples", n_resamples=np.inf, vectorized=True,
                                      alternative=alternative).pvalue)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    cache, results = tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("results")
    patch = pytest.MonkeyPatch()
    patch.setenv("AFFECT_BOOK_CACHE", str(cache))
    design = FactorialDesign(preset="affwild2", vary=("frequency", "circumplex"), conditions=("base",),
                             fixes=("circumplex", "uniform", "pair_margin"), seeds=3, profile="smoke",
                             data={"n_test": 400}, data_draw="per_seed")
    out = record_factorial(design, results / "cpu" / "factorial", command="test record-factorial", workers=1,
                           progress=False, n_draws=2000, **OPTIONS)
    yield design, out, results
    patch.undo()


def test_a_recorded_factorial_holds_its_rows_verdicts_and_provenance(recorded):
    design, out, root = recorded
    assert {p.name for p in out.iterdir()} == {"results.csv", "statistics.json", "provenance.json"}
    rec = load_recorded("cpu", "factorial", root=root)
    # 4 crossed cells of base, the distinct fix cell's 3 more conditions, the shared fix cell's 4: 11 runs a seed
    assert len(rec.results) == 11 * 3 and rec.seeds == 3 and "run_dir" not in rec.results
    assert rec.results.groupby("cell")["condition"].nunique().to_dict() == {
        "balanced/degenerate/distinct/off": 1, "balanced/separated/distinct/off": 1,
        "published/degenerate/distinct/off": 4, "published/separated/distinct/off": 1,
        "published/degenerate/shared/off": 4}
    prov = rec.provenance
    assert prov["command"] == "test record-factorial" and prov["study"]["data_draw"] == "per_seed"
    assert prov["runs"] == 33 and prov["trained"] == 33 and len(prov["study_key"]) == 16
    stats_ = rec.statistics
    assert stats_["kind"] == "factorial" and set(stats_["verdicts"]) == set(FACTORIAL_CLAIMS)
    assert stats_["not_tested"] == {} and stats_["negative_control"]["verdict"]
    # each seed drew its own data: the base model's test scores differ between seeds in the same cell
    hold = rec.results[(rec.results["cell"] == cell_label(fix_cells()[0])) & (rec.results["condition"] == "base")]
    assert hold["p_expr"].nunique() == 3


def test_the_effects_refit_with_statsmodels_from_the_rows(recorded):
    _, _, root = recorded
    rec = load_recorded("cpu", "factorial", root=root)
    rows = rec.results
    base = rows[(rows["condition"] == "base") & (rows["visual"] == "distinct")]
    data = base.assign(fr=np.where(base["frequency"] == "balanced", 0.5, -0.5),
                       ci=np.where(base["circumplex"] == "degenerate", 0.5, -0.5))
    fit = smf.ols("pair_f1 ~ fr * ci", data).fit(cov_type="cluster", cov_kwds={"groups": data["seed"]}, use_t=True)
    stored = pd.DataFrame(rec.statistics["effects"]).set_index("term")
    for term, name in (("frequency", "fr"), ("circumplex", "ci"), ("frequency:circumplex", "fr:ci")):
        assert stored.loc[term, "estimate"] == pytest.approx(fit.params[name], rel=1e-9, abs=1e-12)
        assert stored.loc[term, "se"] == pytest.approx(fit.bse[name], rel=1e-6, abs=1e-12)
    verdict = rec.statistics["verdicts"]["degeneracy-not-imbalance"]
    c = verdict["numbers"]["circumplex"]
    t = (fit.params["ci"] + 0.05) / fit.bse["ci"]  # contrary: lowers it by less than the smallest effect
    assert c["p_contrary"] == pytest.approx(sps.t.sf(t, 3 - 1), rel=1e-6)
    assert c["p_claimed"] == pytest.approx(sps.t.cdf(fit.params["ci"] / fit.bse["ci"], 2), rel=1e-6)
    assert verdict["n"] == 3


def test_every_exact_p_of_the_representation_verdict_recomputes_from_the_rows(recorded):
    _, _, root = recorded
    rec = load_recorded("cpu", "factorial", root=root)
    rows = rec.results
    checked = 0
    for role, verdict in (("claim", rec.statistics["verdicts"]["representations-must-separate"]),
                          ("control", rec.statistics["negative_control"])):
        cell = cell_label(fix_cells()[0 if role == "claim" else 1])
        wide = rows[rows["cell"] == cell].pivot(index="seed", columns="condition", values="pair_separability")
        for part, numbers in verdict["numbers"].items():
            condition = part.removesuffix("-base")
            d = (wide[condition] - wide["base"]).dropna().to_numpy(float)
            np.testing.assert_allclose(d, numbers["differences"], rtol=1e-9, atol=1e-12)
            if condition == "pair_margin":
                assert numbers["p_claimed"] == pytest.approx(one_sided_exact_p(d, "greater"), rel=1e-9)
                # contrary: raised by less than the smallest effect of interest (the margin)
                assert numbers["p_contrary"] == pytest.approx(one_sided_exact_p(d - 0.05, "less"), rel=1e-9)
            else:  # TOST within the margin; contrary: raised by more than the margin
                tost = max(one_sided_exact_p(d + 0.05, "greater"), one_sided_exact_p(d - 0.05, "less"))
                assert numbers["p_claimed"] == pytest.approx(tost, rel=1e-9)
                assert numbers["p_contrary"] == pytest.approx(one_sided_exact_p(d - 0.05, "greater"), rel=1e-9)
            checked += 1
    assert checked == 6


def test_the_verdicts_recompute_from_the_recorded_rows(recorded):
    design, _, root = recorded
    rec = load_recorded("cpu", "factorial", root=root)
    assert recorded_design(rec) == design
    again = recompute_factorial(rec)
    for claim, verdict in again["verdicts"].items():
        stored = rec.statistics["verdicts"][claim]
        assert stored["verdict"] == verdict["verdict"] and stored["n"] == verdict["n"]
    # three seeds, three parts: a Holm-adjusted one-sided exact p cannot fall below 3/8, so no "not reproduced"
    assert again["verdicts"]["representations-must-separate"]["verdict"] in ("reproduced", "undecidable")


def test_the_power_plan_matches_statsmodels_and_the_stats_layer(recorded):
    _, _, root = recorded
    rec = load_recorded("cpu", "factorial", root=root)
    plan = pd.DataFrame(rec.statistics["power_plan"]).set_index("part")
    effects = pd.DataFrame(rec.statistics["effects"]).set_index("term")
    for part, power in (("circumplex", 0.8), ("frequency", 0.9)):  # equivalence at 0: one side at 1 - 0.2 / 2
        row = plan.loc[f"{part} effect on pair_f1"]
        sd = effects.loc[part, "se"] * np.sqrt(3)
        assert row["pilot sd"] == pytest.approx(sd, rel=1e-9)
        n = int(row["seeds for power"])  # the fewest seeds (from 2) whose one-sided t test reaches the power

        def t_power(k, sd=sd):
            return TTestPower().power(effect_size=0.05 / sd, nobs=k, alpha=0.05, alternative="larger")
        assert t_power(n) >= power and (n == 2 or t_power(n - 1) < power)
    rows = rec.results[rec.results["cell"] == cell_label(fix_cells()[0])]
    wide = rows.pivot(index="seed", columns="condition", values="pair_separability")
    row = plan.loc["uniform-base pair_separability"]
    sd = float(np.std((wide["uniform"] - wide["base"]).dropna(), ddof=1))
    if sd > 0:
        assert row["seeds for power"] == seeds_for_power(0.0, sd, test="equivalence", margin=0.05, n_draws=2000)
    verdict = rec.statistics["verdicts"]["representations-must-separate"]
    assert verdict["seeds_planned"] == plan.loc[plan["claim"] == "representations-must-separate",
                                                "seeds needed"].max()


def test_the_claim_tracker_reads_both_recorded_claims(recorded):
    _, _, root = recorded
    tracked = recorded_verdicts("cpu", root=root)
    assert {c: tracked[c]["study"] for c in FACTORIAL_CLAIMS} == {c: "factorial" for c in FACTORIAL_CLAIMS}
    assert tracked["degeneracy-not-imbalance"]["n"] == 3
    table = claims_table("smoke", root=root / "no-cache", results_root=root)
    assert "docs/results/cpu/factorial" in table.loc["representations-must-separate", "recorded (cpu)"]


def test_a_design_whose_fix_does_not_run_is_refused_before_any_training(tmp_path):
    design = FactorialDesign(preset="affwild2", vary=("frequency", "circumplex"), conditions=("base",),
                             fixes=("circumplex",), seeds=2, profile="smoke")
    with pytest.raises(ParameterError, match="pair_margin"):
        record_factorial(design, tmp_path / "out", command="x", primary_fix="pair_margin", costs=("circumplex",))
    assert not (tmp_path / "out").exists()
    with pytest.raises(ParameterError, match="data_draw"):
        FactorialDesign(data_draw="per-seed")


def test_the_command_line_names_a_bad_option(tmp_path, capsys):
    assert study_cli(["record-factorial", "--profile", "smoke", "--seeds", "2", "--vary", "frequency,circumplx",
                      "--out", str(tmp_path / "out")]) == 2
    assert "circumplx" in capsys.readouterr().err
    assert study_cli(["record-factorial", "--profile", "smoke", "--seeds", "2", "--primary-fix", "supcon",
                      "--out", str(tmp_path / "out")]) == 2
    assert "supcon" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
