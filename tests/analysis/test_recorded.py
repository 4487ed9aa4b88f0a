"""Recorded studies and the power plan: a tiny grid recorded into a temporary ``docs/results``, its files read back,
every exact p recomputed with scipy from its rows, its verdicts recomputed by the same rule, the lambda tuning found
for the grid it was made for (and not for another), and the power plan equal to direct calls of the stats layer."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from support.recorded import row_differences

from affect_book.analysis import (CHAPTER_07_TESTS, CHAPTER_08_TESTS, DEFAULT_MARGINS, SUPERSEDES, ClaimTest,
                                  claim_verdicts, claims_table, load_recorded, load_tuning, power_plan, record_study,
                                  record_tuning, recorded_lambda, recorded_verdicts)
from affect_book.analysis.cli import main as study_cli
from affect_book.params import ParameterError
from affect_book.stats import paired_power, seeds_for_power, seeds_to_reach
from affect_book.study import StudyConfig, tuning_seeds

SETTINGS = {"profile": "smoke", "data": {"n_train": 160, "n_val": 48, "n_test": 96}, "epochs": 1, "width": 4,
            "batch_size": 64}


def exact_p(d: np.ndarray) -> float:
    """The two-sided exact signed-rank p by scipy (zeros dropped); ties go to every sign flip of the signed ranks."""
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    if np.unique(np.abs(d)).size == d.size:
        return float(sps.wilcoxon(d, method="exact").pvalue)
    signed = np.sign(d) * sps.rankdata(np.abs(d))
    return float(sps.permutation_test((signed,), lambda x, axis: np.sum(np.where(x > 0, x, 0), axis=axis),
                                      permutation_type="samples", n_resamples=np.inf, vectorized=True).pvalue)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    cache, results = tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("results")
    patch = pytest.MonkeyPatch()
    patch.setenv("AFFECT_BOOK_CACHE", str(cache))
    patch.setenv("AFFECT_BOOK_RESULTS", str(results))
    study = StudyConfig(presets=("affwild2", "affectnet"), conditions=("base", "circumplex", "uniform"), seeds=3,
                        **SETTINGS)
    out = record_study(study, results / "cpu" / "tiny", command="test record", workers=1, progress=False,
                       n_draws=2000)
    yield study, out, results
    patch.undo()


def test_a_recorded_study_holds_rows_statistics_and_provenance(recorded):
    study, out, root = recorded
    assert {p.name for p in out.iterdir()} >= {"results.csv", "statistics.json", "provenance.json", "geometry.csv"}
    rec = load_recorded("cpu", "tiny", root=root)
    assert len(rec.results) == study.n_runs and rec.seeds == 3 and "run_dir" not in rec.results
    prov = rec.provenance
    assert prov["command"] == "test record" and prov["runs"] == study.n_runs and prov["wall_seconds"] >= 0
    assert prov["machine"]["cores"] >= 1 and prov["study"]["conditions"] == ["base", "circumplex", "uniform"]
    assert prov["study"]["data_draw"] == "per_seed"
    # each seed drew its own data: the seeds' test sets differ (their rare-class counts or their scores)
    assert rec.describe().startswith("recorded study tiny (smoke): 18 runs, 3 seeds")


def test_every_recorded_p_recomputes_with_scipy_from_the_rows(recorded):
    _, _, root = recorded
    rec = load_recorded("cpu", "tiny", root=root)
    rows = rec.results
    checked = 0
    for entry in rec.statistics["statistics"]:
        d = row_differences(rows, entry)
        np.testing.assert_allclose(d, entry["differences"], rtol=1e-9, atol=1e-12)
        assert entry["pvalue"] == pytest.approx(exact_p(d), rel=1e-9)
        checked += 1
    assert checked > 0


def test_recorded_verdicts_recompute_and_reach_the_tracker(recorded):
    _, _, root = recorded
    rec = load_recorded("cpu", "tiny", root=root)
    again = claim_verdicts(rec.results, CHAPTER_07_TESTS, rec.statistics["margins"], rec.statistics["alpha"])
    assert set(again) == {"ot-raises-score", "uniform-matches-affwild2", "uniform-beats-affectnet"}
    for claim, verdict in again.items():
        stored = rec.statistics["verdicts"][claim]
        assert (stored["verdict"], stored["n"], stored["seeds_needed"]) == (verdict["verdict"], verdict["n"],
                                                                             verdict["seeds_needed"])
    # three seeds cannot refute: a one-sided exact p is at least 1/8, so these verdicts are not "not reproduced"
    assert all(v["verdict"] in ("reproduced", "undecidable") for v in again.values())
    geo = claim_verdicts(rec.geometry[np.isfinite(rec.geometry["error_distance"])], CHAPTER_08_TESTS,
                         {"error_distance": rec.statistics["distance_margin"]}, rec.statistics["alpha"])
    assert {k: v["verdict"] for k, v in geo.items()} == {
        k: v["verdict"] for k, v in rec.statistics["geometry_verdicts"].items()}
    tracked = recorded_verdicts("cpu", root=root)
    n = again["ot-raises-score"]["n"]  # the fewest nonzero differences of a part (a tiny model ties often)
    assert tracked["ot-raises-score"]["n"] == n <= 3 and tracked["ot-raises-score"]["study"] == "tiny"
    table = claims_table("smoke", root=root / "no-cache", results_root=root)
    assert f"n = {n}, docs/results/cpu/tiny" in table.loc["ot-raises-score", "recorded (cpu)"]
    assert table.loc["degeneracy-not-imbalance", "recorded (cpu)"] == "not recorded"


def test_recording_again_from_the_cache_keeps_the_training_provenance(recorded):
    study, out, root = recorded
    first = json.loads((out / "provenance.json").read_text())
    assert first["trained"] == study.n_runs and first["training"]["trained"] == study.n_runs
    record_study(study, out, command="test record again", workers=1, progress=False, n_draws=2000)
    again = json.loads((out / "provenance.json").read_text())
    assert again["command"] == "test record again" and again["trained"] == 0
    assert again["training"] == first["training"]  # who trained the runs, and how long it took, is kept


def test_the_tracker_takes_a_superseding_design_over_more_seeds(tmp_path):
    """Chapter 09's nearness design replaces the earlier factorial's verdicts on the claims both record, although
    the factorial has more seeds; between two studies of one kind, or of unrelated kinds, more seeds win."""
    def write(name, kind, claims):
        folder = tmp_path / "cpu" / name
        folder.mkdir(parents=True)
        (folder / "statistics.json").write_text(json.dumps({"kind": kind, "verdicts": {
            claim: {"verdict": verdict, "n": n} for claim, (verdict, n) in claims.items()}}))

    assert SUPERSEDES == {"nearness": ("factorial",)}
    write("factorial", "factorial", {"degeneracy-not-imbalance": ("not reproduced", 20),
                                     "representations-must-separate": ("not reproduced", 20)})
    write("nearness", "nearness", {"degeneracy-not-imbalance": ("undecidable", 14)})
    write("grid-small", None, {"ot-raises-score": ("undecidable", 5)})
    write("grid-large", None, {"ot-raises-score": ("reproduced", 24)})
    tracked = recorded_verdicts("cpu", root=tmp_path)
    assert tracked["degeneracy-not-imbalance"] == {"verdict": "undecidable", "n": 14, "seeds_needed": None,
                                                   "seeds_planned": None, "below_effect": None,
                                                   "study": "nearness", "kind": "nearness"}
    assert tracked["representations-must-separate"]["study"] == "factorial"  # only the factorial records it here
    assert tracked["ot-raises-score"]["study"] == "grid-large"
    write("nearness-bigger", "nearness", {"degeneracy-not-imbalance": ("not reproduced", 30)})
    assert recorded_verdicts("cpu", root=tmp_path)["degeneracy-not-imbalance"]["study"] == "nearness-bigger"


def test_a_broken_statistics_file_is_named(tmp_path):
    folder = tmp_path / "cpu" / "broken"
    folder.mkdir(parents=True)
    (folder / "statistics.json").write_text(json.dumps({"verdicts": {"ot-raises-score": {"verdict": "maybe"}}}))
    with pytest.raises(ValueError, match="broken/statistics.json.*'maybe'"):
        recorded_verdicts("cpu", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="no recorded study"):
        load_recorded("cpu", "absent", root=tmp_path)


def test_a_recorded_tuning_stands_only_for_its_own_grid(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    design = StudyConfig(presets=("affwild2",), conditions=("base", "circumplex"), seeds=2, **SETTINGS)
    sweep = StudyConfig(presets=("affwild2",), conditions=("circumplex",), seeds=tuning_seeds(2), **SETTINGS)
    record_tuning(sweep, (0.3, 0.5), tmp_path / "results" / "smoke" / "lambda", command="test tune", workers=1,
                  progress=False)
    tuning = load_tuning("smoke", root=tmp_path / "results")
    assert tuning["lambdas"] == [0.3, 0.5] and tuning["seeds"] == [1000, 1001] and tuning["lambda_ot"] in (0.3, 0.5)
    assert len(tuning["sweep"]) == 4 and tuning["provenance"]["command"] == "test tune"
    means = tuning["sweep"].groupby("lambda_ot")["val/p_mtl"].mean()
    assert tuning["lambda_ot"] == float(means.idxmax())
    assert recorded_lambda(design, root=tmp_path / "results")["lambda_ot"] == tuning["lambda_ot"]
    other = StudyConfig(presets=("affwild2",), conditions=("base", "circumplex"), seeds=2,
                        **{**SETTINGS, "epochs": 2})
    assert recorded_lambda(other, root=tmp_path / "results") is None  # trained longer: its own sweep
    assert recorded_lambda(StudyConfig(presets=("affwild2",), conditions=("base", "circumplex"), seeds=2,
                                       data_draw="shared", **SETTINGS), root=tmp_path / "results") is None


def _pilot(diffs: dict, metric="p_mtl"):
    rows = []
    for (source, condition), d in diffs.items():
        for seed, x in enumerate(d):
            rows += [{"dataset": "synthetic", "preset": source, "condition": "base", "seed": seed, metric: 0.5},
                     {"dataset": "synthetic", "preset": source, "condition": condition, "seed": seed,
                      metric: 0.5 + x}]
    return pd.DataFrame(rows).drop_duplicates(["preset", "condition", "seed"])


def test_power_plan_equals_the_stats_layer():
    rng = np.random.default_rng(5)
    d = rng.normal(0.01, 0.03, 8)
    frame = _pilot({("affwild2", "circumplex"): d, ("affwild2", "uniform"): d / 2})
    tests = (ClaimTest("ot-raises-score", "directional", "circumplex", "base", ("affwild2",), ("p_mtl",)),
             ClaimTest("uniform-matches-affwild2", "equivalence", "uniform", "base", ("affwild2",), ("p_mtl",)))
    plan = power_plan(frame, tests, {"p_mtl": 0.03}, n_draws=3000).set_index("claim")
    sd = float(np.std(d, ddof=1))
    row = plan.loc["ot-raises-score"]
    assert row["pilot sd"] == pytest.approx(sd) and row["pilot n"] == 8
    needed = seeds_for_power(0.03, sd, alternative="greater", n_draws=3000)
    assert row["seeds for power"] == needed and row["seeds for the contrary"] == seeds_to_reach(0.05, "greater")
    assert row["seeds needed"] == max(needed, 5) and row["pilot decides"] == (8 >= max(needed, 5))
    assert row["power at pilot n"] == pytest.approx(paired_power(0.03, sd, 8, alternative="greater", n_draws=3000))
    eq = plan.loc["uniform-matches-affwild2"]
    assert eq["seeds for power"] == seeds_for_power(0.0, sd / 2, test="equivalence", margin=0.03, n_draws=3000)
    assert eq["seeds for the contrary"] == 6  # two sides at alpha / 2 each: 2 / 2**6 <= 0.05
    with pytest.raises(ParameterError, match="no smallest effect of interest"):
        power_plan(frame, tests, {"p_expr": 0.03})
    assert DEFAULT_MARGINS["p_mtl"] == DEFAULT_MARGINS["p_expr"]


def test_claim_verdicts_skip_what_the_table_cannot_test():
    frame = _pilot({("affwild2", "circumplex"): [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]})
    frame["p_expr"] = frame["p_mtl"]
    out = claim_verdicts(frame, CHAPTER_07_TESTS, DEFAULT_MARGINS)
    assert list(out) == ["ot-raises-score"]  # no uniform, no affectnet, no readings
    assert out["ot-raises-score"]["verdict"] == "reproduced" and out["ot-raises-score"]["n"] == 6
    with pytest.raises(ParameterError, match="no margin"):
        claim_verdicts(_pilot({("affwild2", "uniform"): [0.01] * 5}).assign(
            p_expr=lambda f: f["p_mtl"]).pipe(lambda f: pd.concat([f, f.assign(condition="circumplex")])
                                              .drop_duplicates(["preset", "condition", "seed"])),
            CHAPTER_07_TESTS, {"p_mtl": 0.02})


def test_the_record_and_tune_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    tiny = ["--profile", "smoke", "--preset", "affwild2", "--epochs", "1", "--width", "4", "--batch-size", "64",
            "--data", "n_train=128", "--data", "n_val=32", "--data", "n_test=64", "--seeds", "2"]
    assert study_cli(["tune", *tiny, "--first-seed", "1000", "--lambdas", "0.3,x", "--out", str(tmp_path / "t")]) == 2
    assert "--lambdas" in capsys.readouterr().err
    assert study_cli(["record", *tiny, "--conditions", "base,circumplex", "--no-geometry",
                      "--out", str(tmp_path / "r"), "--workers", "1"]) == 0
    assert f"recorded: {tmp_path / 'r'}" in capsys.readouterr().out
    prov = json.loads((tmp_path / "r" / "provenance.json").read_text())
    assert prov["command"].startswith("affect-book study record --profile smoke") and prov["study"]["seeds"] == [0, 1]
    assert not (tmp_path / "r" / "geometry.csv").exists()
    assert study_cli(["run", *tiny, "--conditions", "base", "--first-seed", "7", "--data-draw", "shared",
                      "--quiet", "--workers", "1"]) == 0
    assert "2 runs" in capsys.readouterr().out
