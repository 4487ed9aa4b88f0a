"""The costs aimed at the pair as study conditions (``pair_cost``, ``inverse_distance``), and the dominance cost
(``vad``) in chapter 07's grid: what each run trains, that the new TrainConfig fields keep every existing hash,
the errors, and one tiny run through the command line."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT

from affect_book import circumplex as cx
from affect_book.cache import config_hash
from affect_book.costs import DEFAULT_PAIR_WEIGHT, mean_off_diagonal, ot_cost
from affect_book.params import ParameterError
from affect_book.study import (CHAPTER_CONDITIONS, StudyConfig, designated_pair_of, expand_study, read_results,
                               study_dir)
from affect_book.trainer import TrainConfig, cost_tensor, validate_config

SETTINGS = {"profile": "smoke", "data": {"n_train": 256, "n_val": 64, "n_test": 64}, "epochs": 1, "width": 4,
            "batch_size": 64}


def _runs(conditions, **kw):
    study = StudyConfig(presets=("affwild2", "affectnet"), conditions=conditions, seeds=2, **{**SETTINGS, **kw})
    return study, expand_study(study)


def test_pair_cost_prices_each_presets_designated_pair_at_the_matched_mean():
    study, runs = _runs(("circumplex", "pair_cost"))
    by = {(r.preset, r.condition, r.seed): r.config for r in runs}
    for preset, pair in (("affwild2", ("Anger", "Fear")), ("affectnet", ("Anger", "Contempt"))):
        config = by[preset, "pair_cost", 0]
        assert config.cost_pair == pair == designated_pair_of(study, preset, config.classes)
        assert (config.cost, config.lambda_ot, config.margin_pair, config.lambda_pair) == ("pair", 0.5, (), 0.0)
        cost = cost_tensor(config).numpy().astype(float)
        va = cost_tensor(by[preset, "circumplex", 0]).numpy().astype(float)
        a, b = (config.classes.index(c) for c in pair)
        assert cost[a, b] == cost[b, a] == pytest.approx(cost.max())
        assert cost[a, b] / cost[0, 2 if 2 not in (a, b) else 4] == pytest.approx(DEFAULT_PAIR_WEIGHT, rel=1e-5)
        assert mean_off_diagonal(cost) == pytest.approx(mean_off_diagonal(va), rel=1e-5)  # the uniform's scale
        assert config.cost_fill == by[preset, "circumplex", 0].cost_fill  # the same placements as every cost


def test_pair_weight_is_a_train_option_and_cost_pair_is_the_studys():
    _, runs = _runs(("pair_cost",), train_options={"pair_weight": 8.0})
    config = runs[0].config
    cost = cost_tensor(config).numpy().astype(float)
    a, b = (config.classes.index(c) for c in config.cost_pair)
    assert cost[a, b] / cost[0, 2] == pytest.approx(8.0, rel=1e-5)
    with pytest.raises(ParameterError, match=r"train_options sets \['cost_pair'\]"):
        _runs(("pair_cost",), train_options={"cost_pair": ["Anger", "Sad"]})


def test_the_new_fields_keep_every_existing_hash():
    # hashes computed by the trainer before cost_pair and pair_weight existed (main at 89fdd99)
    assert config_hash(TrainConfig(classes=("Anger", "Fear", "Happy"))) == "e75f6311227b3244"
    assert config_hash(TrainConfig(classes=("Anger", "Fear", "Happy"), cost="va", lambda_ot=0.5,
                                   seed=3)) == "82606feb4075a6df"
    plain = TrainConfig(classes=("Anger", "Fear", "Happy"), cost="pair", lambda_ot=0.5, cost_pair=("Anger", "Fear"))
    assert config_hash(plain) != config_hash(TrainConfig(**{**plain.__dict__, "pair_weight": 8.0}))


@pytest.mark.parametrize("change, message", [
    ({"cost_pair": ()}, r"cost_pair=\(\) is not valid; expected two different class names"),
    ({"cost_pair": ("Anger", "Anger")}, "cost_pair=.*two different class names"),
    ({"cost_pair": ("Anger", "Contempt")}, r"'Contempt', which is not one of the classes"),
    ({"pair_weight": 0.0}, r"pair_weight=0.0 is not valid; expected a finite number > 0"),
    ({"pair_weight": float("nan")}, "pair_weight=nan"),
])
def test_a_bad_pair_cost_fails_with_a_clear_message(change, message):
    config = TrainConfig(**{"classes": cx.class_set("affwild2"), "cost": "pair", "lambda_ot": 0.5,
                            "cost_pair": ("Anger", "Fear"), **change})
    with pytest.raises(ValueError, match=message):
        validate_config(config)


def test_a_designated_pair_the_source_lacks_fails_before_any_run():
    with pytest.raises(ParameterError, match=r"pair='Contempt' is not in this preset's classes"):
        expand_study(StudyConfig(presets=("affwild2",), conditions=("pair_cost",), seeds=2,
                                 **{**SETTINGS, "data": {**SETTINGS["data"], "pair": ["Anger", "Contempt"]}}))


def test_inverse_distance_keeps_the_va_mean_and_prices_the_nearest_pair_highest():
    _, runs = _runs(("circumplex", "inverse_distance"))
    by = {(r.preset, r.condition, r.seed): r.config for r in runs}
    for preset in ("affwild2", "affectnet"):
        config = by[preset, "inverse_distance", 1]
        cost = cost_tensor(config).numpy().astype(float)
        va = ot_cost(config.classes, "va", fill=dict(config.cost_fill) or None).to_numpy()
        assert config.cost == "inverse" and config.cost_pair == ()
        assert mean_off_diagonal(cost) == pytest.approx(mean_off_diagonal(va), rel=1e-5)
        off = ~np.eye(len(va), dtype=bool)
        nearest = np.unravel_index(np.argmin(np.where(off, va, np.inf)), va.shape)
        assert cost[nearest] == pytest.approx(cost.max(), rel=1e-5)


def test_vad_is_in_chapter_07s_grid_and_builds_on_both_presets():
    assert "vad" in CHAPTER_CONDITIONS
    _, runs = _runs(CHAPTER_CONDITIONS)
    vad = {r.preset: r.config for r in runs if r.condition == "vad" and r.seed == 0}
    circ = {r.preset: r.config for r in runs if r.condition == "circumplex" and r.seed == 0}
    assert vad["affwild2"].cost_fill == () == circ["affwild2"].cost_fill  # nothing placed by hand
    contempt = dict(vad["affectnet"].cost_fill)["Contempt"]
    assert contempt[:2] == dict(circ["affectnet"].cost_fill)["Contempt"]  # the same valence-arousal placement
    assert contempt[2] == pytest.approx((0.25 + 0.11) / 2)  # and the same rule's dominance
    cost = cost_tensor(vad["affectnet"]).numpy()
    assert np.isfinite(cost).all() and cost.shape == (8, 8)


@pytest.mark.slow
def test_pair_cost_trains_through_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    grid = ["--profile", "smoke", "--preset", "affwild2", "--epochs", "1", "--width", "4", "--batch-size", "64",
            "--data", "n_train=256", "--data", "n_val=64", "--data", "n_test=64", "--seeds", "2",
            "--conditions", "base,pair_cost"]
    proc = subprocess.run([sys.executable, "-m", "affect_book.cli", "study", "run", *grid, "--workers", "1",
                           "--quiet"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    study = StudyConfig(presets=("affwild2",), conditions=("base", "pair_cost"), seeds=2, **SETTINGS)
    frame = read_results(study_dir(study) / "results.csv")
    rows = frame[frame["condition"] == "pair_cost"]
    assert len(rows) == 2 and np.isfinite(rows["p_expr"]).all()
    saved = json.loads((next(p for p in (tmp_path / "runs").glob("*/config.json")
                             if json.loads(p.read_text()).get("cost") == "pair")).read_text())
    assert saved["cost_pair"] == ["Anger", "Fear"]

