"""The book's recorded studies under docs/results: enough seeds, every exact p recomputed with scipy from the
committed rows, the stored verdicts recomputed by the book's rule, a provenance a reader can check, and a lambda
tuning on seeds no verdict uses over a grid that holds every weight a chapter uses."""

import numpy as np
import pytest
from scipy import stats as sps
from support.recorded import row_differences

from affect_book.analysis import (CHAPTER_07_TESTS, CHAPTER_08_TESTS, claim_verdicts, load_recorded, load_tuning,
                                  recorded_root, recorded_verdicts)
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
