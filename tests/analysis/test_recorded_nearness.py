"""The rebuilt design recorded (``affect_book.analysis._recorded_nearness``) and its verdict wiring on real runs of a
tiny design: one end-to-end run that also covers what chapter 09 computes from the rows."""

import json

import numpy as np
import pandas as pd
import pytest

from affect_book.analysis import (dominance_comparison, fix_cell_verdicts, load_recorded, nearness_path_verdicts,
                                  nearness_statistics, recompute_nearness, record_nearness, recorded_nearness_design,
                                  recorded_nearness_table)
from affect_book.analysis.cli import main as study_cli
from affect_book.params import ParameterError
from affect_book.study import NearnessDesign


def _design():
    return NearnessDesign(profile="smoke", dose=(0.0, 1.0), visual_levels=(0.5, 1.0),
                          fix_conditions=("base", "pair_cost", "circumplex", "vad"), fixes=("pair_margin",), seeds=2,
                          annotation_noise=0.3, data_draw="per_seed")


def test_the_recorded_table_puts_each_verdict_beside_this_runs():
    """By hand: one row per recorded path (the claim's marked) and per fix cell, this run's verdict matched by the
    cell's visual overlap, a cell the recording did not test shown with its reason, a path this run lacks as such."""
    path = {"verdict": "not reproduced", "levels": ["balanced"], "at_floor": ["published"]}
    stats = {"paths": {"annotation": {"verdict": "inconclusive", "levels": ["balanced", "published"], "at_floor": []},
                       "both": path},
             "fix_cells": [{"cell": "fix/visual=0.5", "visual": 0.5, "role": "claim", "base_f1": 0.2931,
                            "verdict": {"verdict": "undecidable", "n": 14, "seeds_needed": 20}, "error": ""},
                           {"cell": "fix/visual=1", "visual": 1.0, "role": "negative control", "base_f1": 0.01,
                            "verdict": None, "error": "at a floor"}]}
    mine = pd.DataFrame([{"cell": "fix/visual=1", "visual": 1.0, "verdict": {"verdict": "inconclusive"}},
                         {"cell": "fix/visual=0.5", "visual": 0.5, "verdict": {"verdict": "reproduced"}}])
    table = recorded_nearness_table(stats, {"both": {"verdict": "inconclusive"}}, mine)
    assert list(table.index) == ["nearness through annotation", "nearness through both (degeneracy-not-imbalance)",
                                 "fix cell visual 0.5 (claim)", "fix cell visual 1 (negative control)"]
    assert list(table["this run"]) == ["not run here", "inconclusive", "reproduced", "inconclusive"]
    assert list(table["recorded"]) == ["inconclusive", "not reproduced", "undecidable at n = 14 (needs >= 20 seeds)",
                                       "not tested: at a floor"]
    assert list(table["recorded levels"]) == ["balanced, published", "balanced", "base pair F1 0.293",
                                              "base pair F1 0.010"]
    assert table.loc["nearness through both (degeneracy-not-imbalance)", "recorded at the floor"] == "published"
    assert (recorded_nearness_table(stats)["this run"] == ["not run here"] * 2 + ["not tested here"] * 2).all()


def test_record_nearness_checks_its_options(tmp_path):
    with pytest.raises(ParameterError, match="supcon"):
        record_nearness(_design(), tmp_path / "x", command="test", primary_fix="supcon")
    with pytest.raises(ParameterError, match="primary_visual"):
        record_nearness(_design(), tmp_path / "x", command="test", primary_visual=0.8)
    with pytest.raises(ParameterError, match="costs"):
        record_nearness(_design(), tmp_path / "x", command="test", costs=())


@pytest.mark.slow
def test_record_load_and_recompute(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    design = _design()
    out = record_nearness(design, tmp_path / "results" / "smoke" / "nearness", command="test", workers=1,
                          progress=False)
    assert {p.name for p in out.iterdir()} >= {"results.csv", "statistics.json", "provenance.json"}
    stats = json.loads((out / "statistics.json").read_text())
    assert stats["kind"] == "nearness" and set(stats["paths"]) == {"annotation", "appearance", "both"}
    assert [c["role"] for c in stats["fix_cells"]] == ["claim", "negative control"]
    assert stats["floor"] == 0.05 and len(stats["floor_table"]) == 2 * 3  # (path, frequency) levels
    recorded = load_recorded("smoke", "nearness", root=tmp_path / "results")
    assert recorded_nearness_design(recorded) == design
    again = recompute_nearness(recorded)
    for path, verdict in again["paths"].items():
        assert verdict["verdict"] == stats["paths"][path]["verdict"], path
    for claim, verdict in again["verdicts"].items():
        assert verdict["verdict"] == stats["verdicts"][claim]["verdict"], claim
    # what chapter 09 computes from the same rows
    frame = recorded.results
    assert nearness_path_verdicts(frame, design.carried, 0.05)["both"]["control"] == "frequency"
    assert set(fix_cell_verdicts(frame, "pair_margin", ("pair_cost",), 0.05)["role"]) == {"claim",
                                                                                           "negative control"}
    dominance = dominance_comparison(frame, ["fix/visual=0.5", "fix/visual=1"])
    assert set(dominance["reference"]) == {"base", "circumplex"}
    near = frame[(frame["kind"] == "dose") & (frame["dose"] == 0) & (frame["path"] != "appearance")]
    far = frame[(frame["kind"] == "dose") & (frame["dose"] == 1) & (frame["path"] != "appearance")]
    assert near["label_confusion"].mean() > far["label_confusion"].mean()  # the annotation path's dose
    assert np.isfinite(frame["pair_f1"]).all()
    assert nearness_statistics(design, frame)["verdicts"].keys() == again["verdicts"].keys()


def test_record_nearness_command_line_builds_the_design(tmp_path, monkeypatch, capsys):
    import affect_book.analysis.cli as cli

    seen = {}

    def fake(design, out, **options):
        seen.update(design=design, out=out, **options)
        return out

    monkeypatch.setattr(cli, "record_nearness", fake)
    status = study_cli(["record-nearness", "--profile", "smoke", "--seeds", "3", "--visual-levels", "0.5,1",
                        "--annotation-noise", "0.3", "--out", str(tmp_path / "rec"), "--workers", "1"])
    assert status == 0 and "recorded:" in capsys.readouterr().out
    design = seen["design"]
    assert design.visual_levels == (0.5, 1.0) and design.annotation_noise == 0.3 and design.seeds == (0, 1, 2)
    assert design.fix_conditions == ("base", "pair_cost", "circumplex", "vad") and design.fixes == ("pair_margin",)
    assert design.data_draw == "per_seed" and seen["costs"] == ("pair_cost", "circumplex")
    assert design.fix_frequency == "balanced"
    assert seen["primary_fix"] == "pair_margin" and seen["primary_visual"] == 0.5 and seen["floor"] == 0.05


def test_power_plan_against_direct_calls():
    """The plan's seeds are seeds_for_power of each part's pilot SD (hand-made rows, no training)."""
    from affect_book.analysis import nearness_effects, nearness_power_plan
    from affect_book.stats import seeds_for_power, seeds_to_reach

    rng = np.random.default_rng(1)
    rows = []
    for seed in range(6):
        for path in ("annotation", "appearance", "both"):
            slope = {"annotation": 0.0, "appearance": 0.3, "both": 0.4}[path] + rng.normal(0, 0.2)
            for frequency in ("published", "balanced"):
                for distance in (0.0, 0.065, 0.13):
                    rows.append({"kind": "dose", "condition": "base", "path": path, "frequency": frequency,
                                 "distance": distance, "seed": seed, "pair_f1": 0.2 + slope * distance,
                                 "cell": f"dose/{path}", "visual": 0.0})
        for condition, shift in (("base", 0.0), ("pair_margin", 0.08), ("pair_cost", 0.0), ("circumplex", 0.01)):
            for visual in (0.5, 1.0):
                rows.append({"kind": "fix", "condition": condition, "path": "none", "frequency": "published",
                             "distance": 0.13, "seed": seed, "visual": visual, "cell": f"fix/visual={visual:g}",
                             "pair_f1": 0.3 + shift + rng.normal(0, 0.03)})
    frame = pd.DataFrame(rows)
    draws = 2000
    plan = nearness_power_plan(frame, carried={"annotation": False, "appearance": True, "both": True},
                               n_draws=draws, max_seeds=200).set_index("part")
    assert not any("annotation path" in p for p in plan.index)  # not carried: no row
    effects = nearness_effects(frame[frame["kind"] == "dose"])
    both = effects.loc[effects["path"] == "both", "effect"].to_numpy()
    row = plan.loc["nearness effect on pair_f1, both path (the claim)"]
    assert row["pilot sd"] == pytest.approx(np.std(both, ddof=1)) and row["pilot n"] == 6
    assert row["seeds for power"] == seeds_for_power(0.05, np.std(both, ddof=1), alternative="greater",
                                                     n_draws=draws, max_seeds=200)
    assert row["seeds for the contrary"] == seeds_to_reach(0.05, "greater") == 5
    fix = frame[(frame["kind"] == "fix") & (frame["visual"] == 0.5)].pivot(index="seed", columns="condition",
                                                                              values="pair_f1")
    d = (fix["pair_cost"] - fix["base"]).to_numpy()
    row = plan.loc["pair_cost-base pair_f1 in fix/visual=0.5"]
    assert row["test"] == "exact TOST" and row["seeds for the contrary"] == seeds_to_reach(0.05, "greater", parts=3)
    assert row["seeds for power"] == seeds_for_power(0.0, np.std(d, ddof=1), test="equivalence", margin=0.05,
                                                     n_draws=draws, max_seeds=200)
    assert row["seeds needed"] == max(row["seeds for power"], row["seeds for the contrary"])
    assert row["pilot decides"] == (6 >= row["seeds needed"])
