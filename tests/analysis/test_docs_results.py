"""The book's recorded studies under docs/results: enough seeds, every exact p recomputed with scipy from the
committed rows, the stored verdicts recomputed by the book's rule, a provenance a reader can check, a lambda
tuning on seeds no verdict uses over a grid that holds every weight a chapter uses, and chapter 09's recorded
factorial deciding (or sizing) both of its claims."""

import numpy as np
import pytest
from scipy import stats as sps
from support.recorded import row_differences

from affect_book.analysis import (CHAPTER_07_TESTS, CHAPTER_08_TESTS, FACTORIAL_CLAIMS, claim_verdicts, load_recorded,
                                  load_tuning, recompute_factorial, recompute_nearness, recorded_root,
                                  recorded_verdicts)
from affect_book.study import DEFAULT_LAMBDAS, TUNING_FIRST_SEED


@pytest.fixture(scope="module")
def decisive():
    return load_recorded("cpu", "decisive")


def test_the_recorded_study_has_at_least_20_seeds_per_preset_and_condition(decisive):
    counts = decisive.results.groupby(["preset", "condition"])["seed"].nunique()
    for preset in ("affwild2", "affectnet"):
        for condition in ("base", "circumplex", "uniform"):
            assert counts[(preset, condition)] >= 20, (preset, condition)
    assert decisive.provenance["study"]["profile"] == "cpu"
    assert decisive.provenance["study"]["data_draw"] == "per_seed"  # each seed its own data
    for key in ("command", "commit", "machine", "wall_seconds", "started"):
        assert decisive.provenance[key], key
    assert decisive.provenance["command"].startswith("affect-book study record")


def test_every_recorded_p_recomputes_with_scipy_exact(decisive):
    rows = decisive.results
    checked = 0
    for entry in decisive.statistics["statistics"]:
        d = row_differences(rows, entry)
        d = d[d != 0]
        if d.size == 0 or np.unique(np.abs(d)).size != d.size:
            continue  # zeros or ties: scipy's exact method assumes neither (chapter 07 checks these another way)
        assert entry["pvalue"] == pytest.approx(sps.wilcoxon(d, method="exact").pvalue, rel=1e-9), entry["label"]
        checked += 1
    assert checked >= 0.8 * len(decisive.statistics["statistics"])  # almost every row is tie-free


def test_the_stored_verdicts_recompute_from_the_rows(decisive):
    stats = decisive.statistics
    again = claim_verdicts(decisive.results, CHAPTER_07_TESTS, stats["margins"], stats["alpha"])
    assert set(again) == set(stats["verdicts"]) == {"ot-raises-score", "uniform-matches-affwild2",
                                                    "uniform-beats-affectnet"}
    for claim, verdict in again.items():
        stored = stats["verdicts"][claim]
        assert (verdict["verdict"], verdict["n"]) == (stored["verdict"], stored["n"]), claim
        for part, numbers in verdict["numbers"].items():
            for key in ("p_claimed", "p_tost", "p_outside_holm", "p_opposite_holm"):
                if key in numbers:
                    assert numbers[key] == pytest.approx(stored["numbers"][part][key], rel=1e-9), (claim, part, key)
    # every verdict is decided or says how many seeds it needs; none is "inconclusive" for lack of the contrary
    for verdict in again.values():
        assert verdict["verdict"] in ("reproduced", "not reproduced", "inconclusive", "undecidable")
        if verdict["verdict"] == "undecidable":
            assert verdict["seeds_needed"] > verdict["n"]
    geometry = decisive.geometry[np.isfinite(decisive.geometry["error_distance"])]
    geo = claim_verdicts(geometry, CHAPTER_08_TESTS, {"error_distance": stats["distance_margin"]}, stats["alpha"])
    assert {k: v["verdict"] for k, v in geo.items()} == {k: v["verdict"] for k, v in stats["geometry_verdicts"].items()}
    tracked = recorded_verdicts("cpu")
    assert {k: tracked[k]["verdict"] for k in again} == {k: v["verdict"] for k, v in again.items()}


def test_the_lambda_tuning_is_on_its_own_seeds_over_every_weight_a_chapter_uses():
    tuning = load_tuning("cpu")
    assert min(tuning["seeds"]) >= TUNING_FIRST_SEED  # disjoint from the verdict seeds 0 .. n-1
    assert set(DEFAULT_LAMBDAS) <= set(tuning["lambdas"]) and 0.5 in tuning["lambdas"]  # chapter 09 trains at 0.5
    means = tuning["sweep"].groupby("lambda_ot")[tuning["metric"]].mean()
    assert tuning["lambda_ot"] == float(means.idxmax())
    decisive = load_recorded("cpu", "decisive")
    assert decisive.provenance["study"]["lambda_ot"] == tuning["lambda_ot"]  # the recorded grid used the tuned weight
    assert (recorded_root() / "cpu" / "lambda" / "provenance.json").is_file()


@pytest.fixture(scope="module")
def factorial():
    return load_recorded("cpu", "factorial")


def test_the_recorded_factorial_decides_or_sizes_both_chapter_09_claims(factorial):
    """Both of chapter 09's claims are in a recorded study: decided, or labelled with the seeds they would need."""
    stats = factorial.statistics
    assert stats["kind"] == "factorial" and set(stats["verdicts"]) == set(FACTORIAL_CLAIMS)
    assert factorial.provenance["study"]["data_draw"] == "per_seed"  # each seed its own data in every cell
    assert factorial.provenance["command"].startswith("affect-book study record-factorial")
    assert factorial.results.groupby(["cell", "condition"])["seed"].nunique().min() >= 20
    for claim, verdict in stats["verdicts"].items():
        assert verdict["verdict"] in ("reproduced", "not reproduced", "inconclusive", "undecidable"), claim
        if verdict["verdict"] in ("inconclusive", "undecidable"):
            assert (verdict.get("seeds_planned") or verdict.get("seeds_needed") or 0) > verdict["n"], claim
    again = recompute_factorial(factorial)
    for claim, verdict in again["verdicts"].items():
        assert verdict["verdict"] == stats["verdicts"][claim]["verdict"], claim
    tracked = recorded_verdicts("cpu")
    try:  # a recording of chapter 09's rebuilt design supersedes this one on the claims it records
        superseded = set(load_recorded("cpu", "nearness").statistics["verdicts"])
    except FileNotFoundError:
        superseded = set()
    assert {c: tracked[c]["study"] for c in FACTORIAL_CLAIMS} == {
        c: "nearness" if c in superseded else "factorial" for c in FACTORIAL_CLAIMS}


def test_every_exact_p_of_the_recorded_factorial_recomputes_with_scipy(factorial):
    rows, stats = factorial.results, factorial.statistics
    checked = 0
    for role, verdict in (("published/degenerate/distinct/off", stats["verdicts"]["representations-must-separate"]),
                          ("published/degenerate/shared/off", stats["negative_control"])):
        wide = rows[rows["cell"] == role].pivot(index="seed", columns="condition", values="pair_separability")
        for part, numbers in verdict["numbers"].items():
            condition = part.removesuffix("-base")
            d = (wide[condition] - wide["base"]).dropna().to_numpy(float)
            np.testing.assert_allclose(d, numbers["differences"], rtol=1e-9, atol=1e-12)
            if condition == stats["primary_fix"]:
                pairs = (("p_claimed", d, "greater"), ("p_contrary", d - stats["separability_margin"], "less"))
            else:
                pairs = (("p_contrary", d - stats["separability_margin"], "greater"),)
            for key, x, alternative in pairs:
                x = x[x != 0]
                if x.size and np.unique(np.abs(x)).size == x.size:  # scipy's exact method: no zeros, no ties
                    assert numbers[key] == pytest.approx(
                        sps.wilcoxon(x, alternative=alternative, method="exact").pvalue, rel=1e-9), (role, part, key)
                    checked += 1
    assert checked >= 4


@pytest.fixture(scope="module")
def nearness():
    try:
        return load_recorded("cpu", "nearness")
    except FileNotFoundError:
        pytest.skip("chapter 09's rebuilt design is not recorded yet (docs/results/cpu/nearness)")


def _exact(d, alternative):
    """scipy's exact one-sided signed-rank p of ``d`` (zeros dropped), or None where scipy's exact method does not
    apply (nothing left, or tied magnitudes)."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    if d.size == 0 or np.unique(np.abs(d)).size != d.size:
        return None
    return sps.wilcoxon(d, alternative=alternative, method="exact").pvalue


def test_the_recorded_nearness_design_recomputes_with_scipy_exact(nearness):
    """Chapter 09's rebuilt design, recorded: its verdicts recompute from its rows by the book's rules, the per-seed
    differences of the fix cells recompute from the rows, and every exact p of the path and fix-cell verdicts
    recomputes with ``scipy.stats.wilcoxon(method="exact")``; the claim tracker reads it over the earlier factorial."""
    stats, rows = nearness.statistics, nearness.results
    assert stats["kind"] == "nearness" and nearness.provenance["study"]["data_draw"] == "per_seed"
    assert nearness.provenance["command"].startswith("affect-book study record-nearness")
    again = recompute_nearness(nearness)
    assert {p: v["verdict"] for p, v in again["paths"].items()} == {p: v["verdict"] for p, v in stats["paths"].items()}
    assert {c: v["verdict"] for c, v in again["verdicts"].items()} == {
        c: v["verdict"] for c, v in stats["verdicts"].items()}
    checked = 0
    for verdict in stats["paths"].values():
        for numbers in verdict["numbers"].values():
            d = np.array(numbers["differences"])
            for key, shifted, alternative in (("p_claimed", d, "greater"),
                                              ("p_contrary", d - numbers["smallest_effect"], "less")):
                p = _exact(shifted, alternative)
                if p is not None:
                    assert numbers[key] == pytest.approx(p, rel=1e-9), key
                    checked += 1
    for cell in stats["fix_cells"]:
        if cell["verdict"] is None:
            continue
        wide = rows[rows["cell"] == cell["cell"]].pivot(index="seed", columns="condition", values="pair_f1")
        for part, numbers in cell["verdict"]["numbers"].items():
            condition, reference = part.split("-")
            d = (wide[condition] - wide[reference]).loc[numbers["seeds"]].to_numpy()
            assert np.allclose(d, numbers["differences"], atol=1e-12), part
            if "margin" in numbers:  # a cost: TOST within the margin, contrary above it
                m = numbers["margin"]
                parts = (_exact(d + m, "greater"), _exact(d - m, "less"))
                expected = {"p_claimed": None if None in parts else max(parts),
                            "p_contrary": _exact(d - m, "greater")}
            else:  # the fix: above base, contrary below the smallest effect
                expected = {"p_claimed": _exact(d, "greater"),
                            "p_contrary": _exact(d - numbers["smallest_effect"], "less")}
            for key, p in expected.items():
                if p is not None:
                    assert numbers[key] == pytest.approx(p, rel=1e-9), (cell["cell"], part, key)
                    checked += 1
    assert checked > 0
    tracked = recorded_verdicts("cpu")
    for claim in stats["verdicts"]:
        assert tracked[claim]["kind"] == "nearness", claim
