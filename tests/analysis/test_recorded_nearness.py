"""The rebuilt design recorded (``affect_book.analysis._recorded_nearness``) and its verdict wiring on real runs of a
tiny design: one end-to-end run that also covers what chapter 09 computes from the rows."""

import json

import numpy as np
import pytest

from affect_book.analysis import (dominance_comparison, fix_cell_verdicts, load_recorded, nearness_path_verdicts,
                                  nearness_statistics, recompute_nearness, record_nearness, recorded_nearness_design)
from affect_book.analysis.cli import main as study_cli
from affect_book.params import ParameterError
from affect_book.study import NearnessDesign


def _design():
    return NearnessDesign(profile="smoke", dose=(0.0, 1.0), visual_levels=(0.5, 1.0),
                          fix_conditions=("base", "pair_cost", "circumplex", "vad"), fixes=("pair_margin",), seeds=2,
                          annotation_noise=0.3, data_draw="per_seed")


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
    assert seen["primary_fix"] == "pair_margin" and seen["primary_visual"] == 0.5
