"""The geometry of a finished study, read from its saved predictions: nothing trains, the metrics equal direct
computations on the saved arrays, the paired p-values equal scipy's exact Wilcoxon test. One tiny grid (two presets,
two conditions, two seeds; a few hundred 32-pixel images, width 4, one epoch) is trained once for the module."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon
from statsmodels.stats.multitest import multipletests

import affect_book.trainer
import affect_book.trainer.api
from affect_book import circumplex as cx
from affect_book import geometry as geo
from affect_book.costs import ot_cost
from affect_book.params import ParameterError
from affect_book.study import StudyConfig, run_study, study_dir, study_identity
from affect_book.analysis import (GEOMETRY_METRICS, RunPredictions, class_regression, geometry_statistics, study_cka,
                                  study_class_table, study_geometry, study_predictions, study_separability)

REAL_TRAIN = affect_book.trainer.train  # the module fixture forbids training; a test that trains restores it
SETTINGS = {"profile": "smoke", "data": {"n_train": 256, "n_val": 64, "n_test": 96}, "epochs": 1, "width": 4,
            "batch_size": 64}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A study run once, then training forbidden: anything below that trains fails."""
    cache = tmp_path_factory.mktemp("cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("AFFECT_BOOK_CACHE", str(cache))
    study = StudyConfig(presets=("affwild2", "affectnet"), conditions=("base", "circumplex"), seeds=2, **SETTINGS)
    results = run_study(study, workers=1, progress=False)

    def no_training(*args, **kwargs):
        raise AssertionError("a geometry function tried to train")

    patch.setattr(affect_book.trainer, "train", no_training)
    yield study, results
    patch.undo()


def test_a_run_builds_its_cost_and_positions_once():
    classes = tuple(cx.class_set("affwild2"))
    fill = (("Anger", (-0.5, 0.6)),)
    run = RunPredictions("synthetic", "affwild2", "base", 0, classes, fill, "russell1977", Path("."),
                         {"logits": np.zeros((2, len(classes))), "expression": np.array([0, -1])})
    assert run.cost is run.cost and run.positions is run.positions  # built on first use, then kept
    pd.testing.assert_frame_equal(run.cost, ot_cost(classes, "va", "russell1977", dict(fill)))
    expected = cx.coordinates(classes, "russell1977", dict(fill))
    np.testing.assert_array_equal(run.positions.va, expected.va)
    assert run.positions.classes == expected.classes and run.positions.missing == expected.missing


@pytest.mark.slow
def test_predictions_are_read_without_training(finished):
    study, results = finished
    runs = list(study_predictions(study))
    assert len(runs) == study.n_runs == 8
    for run in runs:
        row = results[(results.preset == run.preset) & (results.condition == run.condition)
                      & (results.seed == run.seed)].iloc[0]
        keep = run.y_true >= 0
        assert (run.y_pred[keep] == run.y_true[keep]).mean() == pytest.approx(row["accuracy"])
        assert run.arrays["features"].ndim == 2 and len(run.arrays["features"]) == len(run.y_true)
    assert {r.source for r in runs} == {"affwild2", "affectnet"}


@pytest.mark.slow
def test_geometry_rows_equal_direct_computations(finished):
    study, _ = finished
    frame = study_geometry(study, n_permutations=20)
    assert len(frame) == 8 and set(GEOMETRY_METRICS) <= set(frame.columns)
    run = next(r for r in study_predictions(study) if r.preset == "affectnet")
    coords = cx.coordinates(run.classes, "russell1977", dict(run.cost_fill))
    labelled = run.y_true >= 0
    d = [np.hypot(*(coords.va[p] - coords.va[t])) for t, p in zip(run.y_true[labelled], run.y_pred[labelled])
         if t != p]
    row = frame[(frame.preset == "affectnet") & (frame.condition == run.condition) & (frame.seed == run.seed)]
    assert row["error_distance"].iloc[0] == pytest.approx(np.mean(d))
    assert row["pairs"].iloc[0] == "Anger-Contempt, Disgust-Contempt"  # the midpoint placement ties them
    assert frame.loc[frame.preset == "affwild2", "pairs"].eq("Anger-Fear").all()


@pytest.mark.slow
def test_geometry_statistics_pvalues_equal_scipy(finished):
    study, _ = finished
    frame = study_geometry(study, n_permutations=20)
    table = geometry_statistics(frame, n_resamples=99)
    assert set(table.metric) == set(GEOMETRY_METRICS) and set(table.source) == {"affwild2", "affectnet"}
    checked = 0
    for row in table.itertuples():
        source = frame["preset"] == row.source
        by = frame[source].set_index(["condition", "seed"])[row.metric]
        a, b = by[row.condition].loc[list(row.seeds)].to_numpy(), by[row.reference].loc[list(row.seeds)].to_numpy()
        if (a != b).any():
            assert row.pvalue == pytest.approx(wilcoxon(a, b, method="exact").pvalue)
            checked += 1
    assert checked >= 1


def test_geometry_statistics_leaves_out_undefined_seeds_and_says_which():
    rng = np.random.default_rng(0)
    rows = [{"dataset": "synthetic", "preset": p, "condition": c, "seed": s, "error_distance": rng.normal(1, .1),
             "quadrant_preserved": rng.uniform()} for p in ("affwild2", "affectnet") for c in ("base", "circumplex")
            for s in range(6)]
    frame = pd.DataFrame(rows)
    frame.loc[(frame.preset == "affwild2") & (frame.condition == "base") & (frame.seed == 2), "quadrant_preserved"] \
        = np.nan
    table = geometry_statistics(frame, metrics=("error_distance", "quadrant_preserved"), n_resamples=99)
    assert table.attrs["undefined"] == [("affwild2", "base", 2, "quadrant_preserved")]
    row = table[(table.source == "affwild2") & (table.metric == "quadrant_preserved")].iloc[0]
    assert row.seeds == (0, 1, 3, 4, 5) and row.n_unpaired == 1
    by = frame[frame.preset == "affwild2"].set_index(["condition", "seed"])["quadrant_preserved"]
    seeds = [0, 1, 3, 4, 5]
    assert row.pvalue == pytest.approx(wilcoxon(by["circumplex"].loc[seeds], by["base"].loc[seeds],
                                                method="exact").pvalue)
    testable = table["testable"].to_numpy(bool)
    assert table.pvalue_holm[testable].tolist() == pytest.approx(
        multipletests(table.pvalue[testable], method="holm")[1].tolist())
    with pytest.raises(ParameterError, match="not columns of the geometry table"):
        geometry_statistics(frame, metrics=("error_cost",))


@pytest.mark.slow
def test_representation_tables(finished):
    study, _ = finished
    cka = study_cka(study)
    assert len(cka) == 4 and cka["cka"].between(0, 1).all() and (cka.reference == "base").all()
    sep = study_separability(study, cv=2)
    assert len(sep) == 2 * 2 * 1 + 2 * 2 * 2  # runs x pairs: affwild2 1 nearest pair, affectnet 2 tied pairs
    measured = sep[sep.skipped.isna()]
    assert measured.balanced_accuracy.between(0, 1).all()
    with pytest.raises(ParameterError, match="reference='uniform'"):
        study_cka(study, reference="uniform")


@pytest.mark.slow
def test_class_table_feeds_the_regression(finished):
    study, _ = finished
    table = study_class_table(study)
    assert len(table) == 8 * 8
    assert table.loc[table["class"] == "Other", "nn_distance"].isna().all()
    assert table.groupby("run")["train_share"].sum().round(6).eq(1).all()
    fit = geo.frequency_or_geometry(table, predictors=("log_train_share", "nn_distance"), groups="run")
    assert fit.attrs["n_dropped"] == int(table[["log_train_share", "nn_distance"]].isna().any(axis=1).sum()) > 0
    assert list(fit.term) == ["const", "log_train_share", "nn_distance"]
    # chapter 08's fits: the rows clustered by seed (2 here) and the per-class means (the classes of each preset with
    # both predictors)
    both = class_regression(table, predictors=("log_train_share", "nn_distance"))
    usable = table.dropna(subset=["log_train_share", "nn_distance"])
    n_classes = len(usable[["preset", "class"]].drop_duplicates())
    assert both.attrs["n_clusters"] == 2 and both.attrs["n_classes"] == n_classes > 8
    assert both.groupby("fit", sort=False)["n_clusters"].first().to_dict() == {"runs": 2, "classes": n_classes}
    assert both.loc[both["fit"] == "runs", "warning"].str.contains("only 2 clusters").all()


@pytest.mark.slow
def test_a_study_that_has_not_run_or_a_stale_table_says_so(finished):
    study, results = finished
    other = StudyConfig(presets=("affwild2",), conditions=("base", "uniform"), seeds=2, **SETTINGS)
    assert not (study_dir(other) / "results.csv").exists()
    with pytest.raises(FileNotFoundError, match="run the study first"):
        next(study_predictions(other))
    stale = results.assign(config_hash="0" * 16)
    with pytest.raises(ParameterError, match="stale"):
        next(study_predictions(study, stale))
    with pytest.raises(ParameterError, match="0 rows in the results table"):
        list(study_predictions(study, results.iloc[1:]))


def test_chapter_grid_builds_chapter_07s_grid_and_checks_its_parameters():
    import dataclasses

    from affect_book.cache import config_hash
    from affect_book.study import chapter_grid

    design = chapter_grid("affwild2, affectnet", None, None, "smoke")
    # chapter 07's own construction of the grid and of its sweep
    by_hand = StudyConfig(presets=("affwild2", "affectnet"), conditions=("base", "circumplex", "uniform",
                                                                          "uniform_column", "permuted", "vad",
                                                                          "confidence_penalty", "gce"),
                          seeds=None, profile="smoke", dataset="synthetic", data_root=None)
    assert config_hash(design) == config_hash(by_hand)
    sweep = StudyConfig(presets=("affwild2", "affectnet"), conditions=("circumplex",), seeds=by_hand.seeds[:2],
                        profile="smoke", dataset="synthetic", data_root=None)
    replaced = dataclasses.replace(design, conditions=("circumplex",), seeds=design.seeds[:2])
    assert config_hash(replaced) == config_hash(sweep)  # what chapter_study sweeps is what chapter 07 swept
    for prof in ("smoke", "cpu", "gpu"):  # the uniform term's two readings and dominance in every profile
        assert chapter_grid(["affwild2"], None, None, prof).conditions[-3:] == ("vad", "confidence_penalty", "gce")
    assert study_identity(design) is design  # the chapter's grid is in canonical order (its cache key is its hash)
    # cpu leaves out the two geometry-removing controls (its time budget); smoke and gpu run them; named, they run
    cpu = chapter_grid(["affwild2", "affectnet"], None, None, "cpu")
    assert cpu.conditions == ("base", "circumplex", "uniform", "vad", "confidence_penalty", "gce")
    assert cpu.n_runs == 2 * 6 * 5 and study_identity(cpu) is cpu
    assert "permuted" in chapter_grid(["affwild2"], None, None, "gpu").conditions
    assert chapter_grid(["affwild2"], "base,circumplex,permuted", None, "cpu").conditions == (
        "base", "circumplex", "permuted")
    with pytest.raises(ParameterError, match="lacks \\['circumplex'\\]"):
        chapter_grid(["affwild2"], "base,uniform", None, "smoke")
    with pytest.raises(ParameterError, match="Did you mean 'affwild2'"):
        chapter_grid(["afwild2"], None, None, "smoke")
    with pytest.raises(ParameterError, match="set DATA_ROOT"):
        chapter_grid([], None, None, "smoke", dataset="affectnet")


@pytest.mark.slow
def test_the_same_analyses_run_on_a_licensed_copy(tmp_path, monkeypatch):
    """A real-data study (the manifest layout of the real-data tests, with train/val/test splits) read back."""
    from support.real_fixtures import write_face

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(affect_book.trainer, "train", REAL_TRAIN)
    root, names = tmp_path / "copy", ("Happy", "Sad", "Anger", "Neutral")
    lines = ["image,expression,subject,split"]
    for k in range(64):
        write_face(root / "img" / f"{k:03d}.jpg", k, size=(24, 24))
        lines.append(f"img/{k:03d}.jpg,{names[k % 4]},p{k // 2},{'train' if k < 32 else 'val' if k < 48 else 'test'}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    study = StudyConfig(presets=(), dataset="manifest", data_root=str(root), conditions=("base", "circumplex"),
                        seeds=2, profile="smoke", epochs=1, width=4, batch_size=16)
    run_study(study, workers=1, progress=False)
    monkeypatch.setattr(affect_book.trainer, "train", lambda *a, **k: pytest.fail("trained"))
    frame = study_geometry(study, n_permutations=10)
    assert list(frame.dataset.unique()) == ["manifest"] and frame.preset.isna().all() and len(frame) == 4
    table = geometry_statistics(frame, n_resamples=99)
    assert set(table.source) == {"manifest"}
    assert len(study_cka(study)) == 2
    classes = study_class_table(study)
    present = classes[classes["class"].isin(names)]
    assert present.train_share.round(6).eq(0.25).all()  # 8 training images of each of the four classes


@pytest.mark.slow
def test_chapter_study_loads_chapter_07s_runs_without_training(tmp_path, monkeypatch):
    from affect_book.study import chapter_grid, chapter_study

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    monkeypatch.setattr(affect_book.trainer, "train", REAL_TRAIN)
    design = chapter_grid(["affwild2"], "base,circumplex", 2, "smoke")
    first, _, _ = chapter_study(design, workers=1)  # what chapter 07 runs (its sweep, then its grid)
    # train() is the load-or-train entry and runs either way; fit() is where a run actually trains
    monkeypatch.setattr(affect_book.trainer.api, "fit", lambda *a, **k: pytest.fail("chapter_study trained a run"))
    again, frame, sweep = chapter_study(design, workers=1)
    assert again == first and frame["loaded_from_cache"].all() and sweep["loaded_from_cache"].all()
    assert len(list(study_predictions(again))) == 4
