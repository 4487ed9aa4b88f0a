"""The calibration targets carry readable sources, the scorer agrees with scipy and numpy on hand cases, and the
committed calibration table (tools/calibrate_simulator.py's output) belongs to today's presets, uses seeds and a data
draw no verdict uses, and its summary numbers follow from its per-class scores."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from support import ROOT

from affect_book.cache import config_hash
from affect_book.data.simulator import (AFFECTNET_BASELINE_RECALL, CALIBRATION_DATA_SEED, CALIBRATION_N_TEST,
                                        CALIBRATION_PATH,
                                        CALIBRATION_SEEDS, TARGETS, calibration_scores, calibration_table,
                                        make_config, study_calibration)
from affect_book.profiles import get_profile

# Recall (%) of the last five validation epochs (25-29) of kiva12138/AffectNetBaseline,
# 'CategoricalBaseLine/Draw Valid Loss/Imbalance_log.out' (commit 0524497), typed here from the file.
LOG_ROWS = {"Neutral": [80, 78, 79, 79, 78], "Happy": [93] * 5, "Sad": [46, 47, 47, 45, 45],
            "Surprise": [37, 35, 36, 35, 36], "Fear": [30, 32, 30, 29, 30], "Disgust": [12, 13, 14, 13, 14],
            "Anger": [54, 55, 55, 56, 54], "Contempt": [0] * 5}


# Per-class F1 printed by av-savchenko/face-emotion-recognition, src/ABAW/abaw4_mtl_train.ipynb (commit 24c7b22),
# 'Combine all' cell, model mtl_enet0_slice.h5 on the s-Aff-Wild2 validation set, in ABAW's class order.
HSENN_F1 = [0.3309143686502177, 0.21268097853220172, 0.4306987399770905, 0.2674139311449159, 0.4919247295895688,
            0.45335129673290675, 0.17721518987341772, 0.31636363636363635]


@pytest.fixture(scope="module")
def table():
    return calibration_table()


def test_every_target_carries_a_source_and_a_metric():
    for preset, target in TARGETS.items():
        assert isinstance(target["source"], str) and len(target["source"]) > 80, preset
        assert target["metric"] in ("f1", "recall")
        assert set(target["scores"]) == set(make_config(preset, "smoke").classes)
        assert all(0 <= v <= 1 for v in target["scores"].values())
    assert "kiva12138/AffectNetBaseline" in TARGETS["affectnet"]["source"]
    assert "CategoricalBaseLine/Draw Valid Loss/Imbalance_log.out" in TARGETS["affectnet"]["source"]
    assert "src/ABAW/abaw4_mtl_train.ipynb" in TARGETS["affwild2"]["source"]


def test_affwild2_target_is_the_printed_row():
    order = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]
    assert list(TARGETS["affwild2"]["scores"]) == order
    assert [TARGETS["affwild2"]["scores"][c] for c in order] == pytest.approx(HSENN_F1, abs=5e-5)
    assert np.mean(HSENN_F1) == pytest.approx(0.33507035885799447)  # the macro-F1 printed beside it


def test_affectnet_target_is_the_mean_of_the_logged_epochs():
    assert {c: list(v) for c, v in AFFECTNET_BASELINE_RECALL.items()} == LOG_ROWS
    for c, rows in LOG_ROWS.items():
        assert TARGETS["affectnet"]["scores"][c] == pytest.approx(sum(rows) / 500, abs=1e-4)
    assert TARGETS["affectnet"]["scores"]["Contempt"] == 0.0  # the rare-class limit itself


def test_scorer_on_hand_cases():
    target = TARGETS["affectnet"]["scores"]
    classes = list(target)
    perfect = [dict(target), dict(target)]
    s = calibration_scores(perfect, "affectnet")
    assert s["spearman"] == pytest.approx(1.0) and s["max_abs_diff"] == pytest.approx(0) and s["met"]["all"]
    assert s["lowest"] == ["Contempt"]
    shifted = [{c: v + 0.3 for c, v in target.items()}] * 2  # same ranks, every class 0.3 off
    s = calibration_scores(shifted, "affectnet")
    assert s["met"]["spearman"] and not s["met"]["max_abs_diff"] and not s["met"]["all"]
    rng = np.random.default_rng(0)
    seeds = [{c: float(rng.uniform()) for c in classes} for _ in range(3)]
    s = calibration_scores(seeds, "affectnet")
    mean = [np.mean([d[c] for d in seeds]) for c in classes]
    assert s["spearman"] == pytest.approx(spearmanr(mean, [target[c] for c in classes]).statistic)
    assert s["mean_abs_diff"] == pytest.approx(np.mean(np.abs(np.subtract(mean, [target[c] for c in classes]))))
    assert s["met"]["contempt_lowest"] == bool(np.isclose(s["scores"]["Contempt"], min(mean)))
    with pytest.raises(ValueError, match="lacks scores"):
        calibration_scores([{"Neutral": 0.5}], "affectnet")


def test_study_calibration_reads_a_results_table():
    target = TARGETS["affwild2"]["scores"]
    rows = [{"preset": "affwild2", "condition": "base", "seed": s, **{f"f1/{c}": v for c, v in target.items()},
             **{f"recall/{c}": 0.0 for c in target}} for s in (0, 1)]
    rows.append({**rows[0], "condition": "uniform"})
    s = study_calibration(rows, "affwild2")
    assert s["seeds"] == [0, 1] and s["spearman"] == pytest.approx(1.0) and s["met"]["macro"]
    with pytest.raises(ValueError, match="no 'base' run of preset 'affectnet'"):
        study_calibration(rows, "affectnet")


@pytest.mark.parametrize("preset", sorted(TARGETS))
def test_calibration_belongs_to_todays_preset(table, preset):
    """Calibrated on chapter 07's base runs of the cpu profile (its study size and training settings), on the
    calibration seeds and data draw, which no chapter's verdict uses."""
    result = table["results"][preset]
    prof = get_profile("cpu")
    sim = make_config(preset, "cpu", n_train=prof.study_n_train, n_val=prof.study_n_val, n_test=CALIBRATION_N_TEST,
                      image_size=prof.study_image_size, seed=CALIBRATION_DATA_SEED)
    assert result["simulator_config_hash"] == config_hash(sim), \
        "the preset or the cpu study size changed since calibration: rerun tools/calibrate_simulator.py"
    assert result["study"]["seeds"] == list(CALIBRATION_SEEDS)
    # overrides, if any, only restate the preset's values (a search's cached runs written with --write)
    assert config_hash(make_config(preset, "cpu", **result["overrides"])) == config_hash(make_config(preset, "cpu"))
    assert not set(CALIBRATION_SEEDS) & set(range(prof.seeds)) and CALIBRATION_DATA_SEED != 0
    assert len(result["test"]["per_seed"]) == len(CALIBRATION_SEEDS)
    assert table["targets"][preset]["scores"] == TARGETS[preset]["scores"]


@pytest.mark.parametrize("preset", sorted(TARGETS))
@pytest.mark.parametrize("split", ["val", "test"])
def test_summary_numbers_follow_from_the_per_class_scores(table, preset, split):
    res = table["results"][preset][split]
    assert calibration_scores(res["per_seed"], preset)["spearman"] == pytest.approx(res["spearman"])
    classes = list(TARGETS[preset]["scores"])
    ours = [res["scores"][c] for c in classes]
    assert res["spearman"] == pytest.approx(spearmanr(ours, [TARGETS[preset]["scores"][c] for c in classes]).statistic)
    for c in classes:  # the reported score is the mean over the seeds
        assert res["scores"][c] == pytest.approx(np.mean([seed[c] for seed in res["per_seed"]]))


def test_missing_table_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="calibrate_simulator"):
        calibration_table(tmp_path / "none.json")
    assert CALIBRATION_PATH.name == "calibration.json"


def test_calibration_script_imports():
    """The script itself must stay importable (a refactor once broke its imports)."""
    import importlib.util

    path = ROOT / "tools" / "calibrate_simulator.py"
    spec = importlib.util.spec_from_file_location("calibrate_simulator", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    study = tool.calibration_study("affwild2")
    assert study.seeds == CALIBRATION_SEEDS and dict(study.data)["seed"] == CALIBRATION_DATA_SEED
