"""The study's grid runner: expansion and validation, conditions, idempotence, kill-and-resume, concurrency, and
the submitit path. Every grid here is tiny (a few hundred 32-pixel images, width 4, one or two epochs)."""

import concurrent.futures as cf
import contextlib
import inspect
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import ROOT

import affect_book.trainer
import affect_book.trainer.api
from affect_book.data.simulator import make_config
from affect_book.params import ParameterError
from affect_book.profiles import get_profile
from affect_book.study import (CONDITIONS, VOLATILE_COLUMNS, Condition, NotYetSupported, StudyConfig, StudyFailed,
                               expand_study, read_results, run_studies, run_study, study_dir)
from affect_book.trainer import TrainConfig, validate_config

TINY = {"n_train": 256, "n_val": 64, "n_test": 64}
SETTINGS = {"profile": "smoke", "data": TINY, "epochs": 1, "width": 4, "batch_size": 64}
CLI_TINY = ["--profile", "smoke", "--preset", "affwild2", "--epochs", "2", "--width", "4", "--batch-size", "64",
            "--data", "n_train=512", "--data", "n_val=64", "--data", "n_test=64"]


def tiny_study(**kw):
    return StudyConfig(**{**dict(presets=("affwild2",), conditions=("base", "circumplex"), seeds=2, **SETTINGS),
                          **kw})


# ------------------------------------------------------------------------------------- expansion and validation

def test_expansion_one_config_per_preset_condition_seed():
    study = StudyConfig(presets=("affwild2", "affectnet"), conditions=("base", "circumplex", "class_balanced"),
                        seeds=(3, 7), lambda_ot=0.25, **SETTINGS)
    runs = expand_study(study)
    assert len(runs) == study.n_runs == 2 * 3 * 2
    assert {(r.preset, r.condition, r.seed) for r in runs} == {
        (p, c, s) for p in ("affwild2", "affectnet") for c in ("base", "circumplex", "class_balanced") for s in (3, 7)}
    by = {(r.preset, r.condition, r.seed): r.config for r in runs}
    base, circ, cb = by["affwild2", "base", 3], by["affwild2", "circumplex", 3], by["affwild2", "class_balanced", 7]
    assert (base.cost, base.lambda_ot, base.expression_loss) == ("none", 0.0, "ce")
    assert (circ.cost, circ.lambda_ot) == ("va", 0.25)
    contempt = dict(make_config("affectnet", "smoke").placements)["Contempt"]
    assert dict(by["affectnet", "circumplex", 3].cost_fill) == {"Contempt": contempt}  # the simulator's placement
    assert by["affectnet", "base", 3].cost_fill == ()  # no cost, no placement (base stays chapter 05's base model)
    assert (cb.expression_loss, cb.expression_param, cb.seed) == ("class_balanced", 0.9999, 7)
    assert "Contempt" in by["affectnet", "base", 3].classes and "Other" in base.classes
    assert dict(base.data) == {"image_size": get_profile("smoke").study_image_size, **TINY, "preset": "affwild2",
                               "seed": 3}  # each seed draws its own data (data_draw="per_seed")
    assert (base.epochs, base.width, base.batch_size, base.profile) == (1, 4, 64, "smoke")
    # the seeds of a condition differ in the seed only: the weights' seed and the data draw's
    assert by["affwild2", "circumplex", 7] == TrainConfig(**{**circ.__dict__, "seed": 7,
                                                             "data": tuple(sorted({**dict(circ.data),
                                                                                   "seed": 7}.items()))})
    # paired across conditions: one seed, one draw
    assert by["affwild2", "base", 7].data == by["affwild2", "circumplex", 7].data
    assert {r.load for r in runs if r.seed == 3} != {r.load for r in runs if r.seed == 7}


def test_shared_draw_trains_every_seed_on_one_draw():
    shared = StudyConfig(presets=("affwild2",), conditions=("base",), seeds=(3, 7), data_draw="shared", **SETTINGS)
    assert len({r.config.data for r in expand_study(shared)}) == 1
    assert "seed" not in dict(expand_study(shared)[0].config.data)
    with pytest.raises(ParameterError, match="data_draw='shared'"):
        StudyConfig(presets=("affwild2",), conditions=("base",), seeds=(3, 7), data={**TINY, "seed": 4},
                    **{k: v for k, v in SETTINGS.items() if k != "data"})
    with pytest.raises(ParameterError, match="data_draw"):
        StudyConfig(presets=("affwild2",), conditions=("base",), seeds=(3, 7), data_draw="per-seed", **SETTINGS)


def test_defaults_come_from_the_profile():
    study = StudyConfig(presets=("balanced",), conditions=("base",), profile="smoke")
    prof = get_profile("smoke")
    assert (study.epochs, study.width, study.batch_size, study.lr) == (prof.study_epochs, prof.study_width,
                                                                      prof.study_batch_size, prof.study_lr)
    assert study.seeds == tuple(range(prof.seeds))
    assert dict(study.data) == {"n_train": prof.study_n_train, "n_val": prof.study_n_val,
                                "n_test": prof.study_n_test, "image_size": prof.study_image_size}
    assert dict(StudyConfig(presets=("balanced",), profile="smoke", data={"n_train": 99}).data)["n_train"] == 99
    real = StudyConfig(presets=(), dataset="affectnet", data_root="/licensed/AffectNet", profile="smoke")
    assert dict(real.data) == {"image_size": prof.study_image_size}  # a licensed copy has its own split sizes
    assert StudyConfig(presets="balanced", conditions="base, circumplex", profile="smoke").conditions == (
        "base", "circumplex")
    assert study.crop == prof.study_crop and all(run.config.crop == prof.study_crop for run in expand_study(study))
    assert expand_study(StudyConfig(presets=("balanced",), conditions=("base",), profile="smoke",
                                    crop=0.1))[0].config.crop == 0.1


def test_knob_values_from_json_lists_hash_like_tuples():
    """A knob given as nested JSON lists (the CLI's --set, a papermill parameter) is the same study as tuples."""
    listed = StudyConfig(presets=("balanced",), conditions=("base",), profile="smoke",
                         data={"class_intensity": [["Disgust", 2.0]]})
    tupled = StudyConfig(presets=("balanced",), conditions=("base",), profile="smoke",
                         data={"class_intensity": (("Disgust", 2.0),)})
    assert listed == tupled and hash(listed) == hash(tupled)
    assert dict(expand_study(listed)[0].load)["class_intensity"] == (("Disgust", 2.0),)


@pytest.mark.parametrize("kw, words", [
    ({"conditions": ("base", "circumplx")}, ["circumplx", "Did you mean 'circumplex'", "'uniform_column'"]),
    ({"presets": ("afwild2",)}, ["afwild2", "Did you mean 'affwild2'", "'affectnet'", "'balanced'"]),
    ({"seeds": 1}, ["at least 2 seeds"]),
    ({"seeds": (4,)}, ["at least 2 seeds"]),
    ({"seeds": (1, 1)}, ["repeats a seed"]),
    ({"conditions": ("base", "base")}, ["more than once"]),
    ({"conditions": ()}, ["conditions is empty", "circumplex"]),
    ({"profile": "fast"}, ["'smoke'", "'cpu'", "'gpu'"]),
    ({"dataset": "affectnet", "presets": ()}, ["needs data_root"]),
    ({"dataset": "affectnet"}, ["leave presets empty"]),
    ({"train_options": {"lambda_ot": 1.0}}, ["sets itself"]),
])
def test_bad_grid_fails_before_anything_runs(kw, words):
    with pytest.raises(ParameterError) as err:
        tiny_study(**{**SETTINGS, **kw})
    for word in words:
        assert word in str(err.value)


def test_cost_that_does_not_fit_the_classes_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    # a stated placement of Contempt in valence-arousal only: a dominance cost cannot be built for it (the default
    # placement gets its dominance by the same rule, test_vad_cost_gets_the_default_placements_dominance)
    study = tiny_study(presets=("affectnet",), conditions=("base", "vad"), cost_fill={"Contempt": (-0.55, 0.47)})
    with pytest.raises(ParameterError, match=r"condition 'vad' on 'affectnet'.*dominance.*Contempt"):
        run_study(study, progress=False)
    assert not (tmp_path / "runs").exists()  # nothing trained
    bad_option = tiny_study(train_options={"learning_rate": 0.1})
    with pytest.raises(ParameterError, match="learning_rate.*not TrainConfig fields.*'lr'"):
        expand_study(bad_option)


def test_a_condition_the_trainer_lacks_says_so(monkeypatch):
    from affect_book.study import CONDITIONS

    lacking = Condition("lacking", "a condition without trainer support", unsupported="no such feature")
    monkeypatch.setitem(CONDITIONS, "lacking", lacking)  # the package's table itself
    with pytest.raises(NotYetSupported, match="'lacking'.*not yet supported by the trainer: no such feature"):
        expand_study(tiny_study(conditions=("base", "lacking")))
    assert not any(c.unsupported for name, c in CONDITIONS.items() if name != "lacking")


# -------------------------------------------------------------------------------------------------- conditions

EXPECTED = {  # condition -> the TrainConfig fields it must set (independent of the module's table)
    "base": {"expression_loss": "ce", "cost": "none", "lambda_ot": 0.0},
    "circumplex": {"cost": "va", "lambda_ot": 0.5, "expression_loss": "ce"},
    "uniform": {"cost": "uniform", "lambda_ot": 0.5},
    "uniform_column": {"cost": "uniform_column", "lambda_ot": 0.5},
    "permuted": {"cost": "permuted", "lambda_ot": 0.5},
    "vad": {"cost": "vad", "lambda_ot": 0.5},
    "au_augmented": {"cost": "au", "lambda_ot": 0.5},
    "pair_cost": {"cost": "pair", "lambda_ot": 0.5, "cost_pair": ("Anger", "Contempt"), "margin_pair": (),
                  "lambda_pair": 0.0},  # the affectnet preset's designated pair, priced by the cost only
    "inverse_distance": {"cost": "inverse", "lambda_ot": 0.5, "cost_pair": ()},
    "confidence_penalty": {"expression_loss": "confidence_penalty", "cost": "none"},
    "gce": {"expression_loss": "gce", "cost": "none"},
    "class_balanced": {"expression_loss": "class_balanced", "expression_param": 0.9999},
    "logit_adjusted": {"expression_loss": "logit_adjusted", "lambda_ot": 0.0},
    "balanced_softmax": {"expression_loss": "balanced_softmax", "lambda_ot": 0.0},
    "ldam_drw": {"expression_loss": "ldam_drw", "expression_param": 0.8, "lambda_ot": 0.0, "sampler": "none"},
    "resampling": {"sampler": "class_balanced", "expression_loss": "ce", "lambda_ot": 0.0},
    "supcon": {"lambda_supcon": 0.1, "supcon_temperature": 0.1, "lambda_pair": 0.0, "lambda_ot": 0.0},
    "pair_margin": {"lambda_pair": 0.5, "pair_margin": 1.0, "margin_pair": ("Anger", "Contempt"),
                    "lambda_supcon": 0.0},  # the affectnet preset's designated pair
    "au_off": {"lambda_au": 0.0, "lambda_ot": 0.0},
    "au_strong": {"lambda_au": 4.0, "lambda_ot": 0.0},
}


def test_condition_table_names():
    assert set(CONDITIONS) == set(EXPECTED)
    assert all(name.isidentifier() for name in CONDITIONS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_condition_resolves_to_trainconfig_fields(name):
    fill = (("Contempt", (-0.55, 0.47, 0.3)),)  # dominance too, so that vad can be built
    probe = {k: v for k, v in EXPECTED[name].items() if k in ("cost", "expression_loss", "cost_pair")}
    try:
        validate_config(TrainConfig(classes=("Anger", "Fear", "Happy", "Contempt"), cost_fill=fill,
                                    lambda_ot=0.5 if probe.get("cost", "none") != "none" else 0.0, **probe))
    except ValueError as err:
        if "is not valid; expected one of" in str(err):
            pytest.skip(f"this trainer does not accept {probe} yet ({err}); runs once the trainer has it")
        raise
    runs = expand_study(tiny_study(presets=("affectnet",), conditions=(name,), cost_fill=dict(fill)))
    for run in runs:
        for field, value in EXPECTED[name].items():
            assert getattr(run.config, field) == value, (name, field)


# ------------------------------------------------------------------------------------- running and the table

@pytest.mark.slow
def test_run_study_is_idempotent_and_its_table_matches_the_predictions(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    study = tiny_study()
    first = run_study(study, workers=1, progress=False)
    assert len(first) == 4 and not first["loaded_from_cache"].any()
    second = run_study(study, workers=2, progress=False)  # the pool path: loads everything, trains nothing
    assert second["loaded_from_cache"].all()
    assert (second["torch_threads"] == max(1, len(os.sched_getaffinity(0)) // 2)).all()  # cores // workers
    stable = [c for c in first if c not in VOLATILE_COLUMNS or c == "images_per_second"]
    pd.testing.assert_frame_equal(first[stable], second[stable])
    on_disk = read_results(study_dir(study) / "results.csv")
    pd.testing.assert_frame_equal(on_disk[stable], second[stable], check_dtype=False)
    # per-class F1 and recall against a hand-computed confusion matrix of the saved predictions
    row = first.iloc[0]
    with np.load(Path(row["run_dir"]) / "predictions.npz") as f:
        logits, y = f["logits"], f["expression"]
    keep = y >= 0
    pred, y = logits[keep].argmax(1), y[keep]
    classes = expand_study(study)[0].config.classes
    for k, name in enumerate(classes):
        tp, fp, fn = ((pred == k) & (y == k)).sum(), ((pred == k) & (y != k)).sum(), ((pred != k) & (y == k)).sum()
        assert row[f"recall/{name}"] == pytest.approx(tp / (tp + fn) if tp + fn else 0.0)
        assert row[f"f1/{name}"] == pytest.approx(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    assert np.mean([row[f"f1/{c}"] for c in classes]) == pytest.approx(row["p_expr"])  # P_EXPR is macro F1
    assert row["accuracy"] == pytest.approx((pred == y).mean())
    assert row["train_seconds"] > 0 and row["images_per_second"] > 0


def _cli(args, cache, **kw):
    env = {**os.environ, "AFFECT_BOOK_CACHE": str(cache), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "affect_book.cli", "study", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _report(cache, grid) -> pd.DataFrame:
    proc = _cli(["report", *grid, "--json"], cache)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    frame = pd.DataFrame(json.loads(out)["rows"])  # stdout is the JSON and nothing else
    return frame.drop(columns=list(VOLATILE_COLUMNS))


@pytest.mark.slow
def test_cli_grid_killed_midway_resumes_to_the_same_report(tmp_path):
    grid = [*CLI_TINY, "--conditions", "base,circumplex", "--seeds", "3"]
    run = ["run", *grid, "--workers", "1", "--quiet"]
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    proc = _cli(run, killed, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((killed / "runs").glob("*/result.json")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    finished = len(list((killed / "runs").glob("*/result.json")))
    assert 1 <= finished < 6, "the kill should land mid-grid"
    assert not list((killed / "studies").glob("*/results.csv"))
    rerun = _cli(run, killed)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    trained = int(re.search(r"6 runs: (\d+) trained", out).group(1))
    assert trained == 6 - finished
    whole = _cli(run, fresh)
    assert whole.communicate(timeout=300) and whole.returncode == 0
    pd.testing.assert_frame_equal(_report(killed, grid), _report(fresh, grid))


@pytest.mark.skipif("file_lock" not in inspect.getsource(affect_book.trainer.api),
                    reason="the trainer has no per-run-directory lock yet (affect_book.trainer.api does not use "
                           "cache.file_lock); two concurrent grids could train a run twice")
@pytest.mark.slow
def test_two_concurrent_grids_train_every_run_once(tmp_path):
    grid = [*CLI_TINY, "--conditions", "base,circumplex", "--seeds", "2", "--workers", "1", "--quiet"]
    procs = [_cli(["run", *grid], tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    trained = [int(re.search(r"4 runs: (\d+) trained", out).group(1)) for out, _ in outs]
    assert sum(trained) == 4, trained
    assert len(list((tmp_path / "runs").glob("*/result.json"))) == 4


def _spy_on_submitit(monkeypatch, submitit):
    """Record each submission (inside ``batch()`` or not) and each group of jobs submitit starts (one Slurm array)."""
    seen = {"submits": [], "arrays": []}
    submit, process = submitit.core.core.Executor.submit, submitit.LocalExecutor._internal_process_submissions

    def spy_submit(self, fn, *args, **kwargs):
        seen["submits"].append(self._delayed_batch is not None)  # True: within ``with executor.batch():``
        return submit(self, fn, *args, **kwargs)

    def spy_process(self, delayed):
        seen["arrays"].append(len(delayed))
        return process(self, delayed)

    monkeypatch.setattr(submitit.core.core.Executor, "submit", spy_submit)
    monkeypatch.setattr(submitit.LocalExecutor, "_internal_process_submissions", spy_process)
    return seen


def test_a_batching_executor_gets_the_grid_in_one_batch_and_each_failed_job_is_named(tmp_path):
    class Batching:  # submitit's shape: what is submitted inside ``batch()`` starts as one array when it ends
        def __init__(self):
            self.batches, self.inside, self.submitted = 0, False, []

        @contextlib.contextmanager
        def batch(self):
            self.batches, self.inside = self.batches + 1, True
            try:
                yield
            finally:
                self.inside = False

        def submit(self, fn, run, *args):
            assert self.inside, "submitted outside batch()"
            self.submitted.append(run.label)
            job = cf.Future()
            job.set_exception(RuntimeError(f"planted failure of seed {run.seed}"))
            return job

    executor = Batching()
    study = tiny_study()
    with pytest.raises(StudyFailed) as err:
        run_study(study, executor=executor, progress=False, root=tmp_path)
    assert executor.batches == 1 and sorted(executor.submitted) == sorted(r.label for r in expand_study(study))
    assert "4 of 4 runs failed" in str(err.value)
    for run in expand_study(study):
        assert f"FAILED {run.label}: RuntimeError: planted failure of seed {run.seed}" in str(err.value)
    executor.submitted.clear()
    with pytest.raises(StudyFailed) as err:  # a run two grids share is one task of the array
        run_studies([study, tiny_study(conditions=("base",))], executor=executor, progress=False, root=tmp_path)
    assert executor.batches == 2 and sorted(executor.submitted) == sorted(r.label for r in expand_study(study))
    assert "6 of 6 runs failed" in str(err.value)
    for run in expand_study(tiny_study(conditions=("base",))):
        assert (f"FAILED grid 2/2: {run.label}: RuntimeError: not run: the same run of another grid failed"
                in str(err.value))


@pytest.mark.slow
def test_submitit_local_executor_runs_the_missing_runs_as_one_array(tmp_path, monkeypatch):
    submitit = pytest.importorskip("submitit")
    from affect_book.study import batches

    study = tiny_study(conditions=("circumplex",), seeds=3)
    here = run_study(study, workers=1, progress=False, root=tmp_path / "here")
    cached = Path(here["run_dir"][0])  # one run of the grid is already in the cache: it is loaded, not submitted
    shutil.copytree(cached, tmp_path / "there" / cached.name)
    executor = submitit.LocalExecutor(folder=str(tmp_path / "submitit"))
    executor.update_parameters(timeout_min=4)
    assert batches(executor) and not batches(object())
    seen = _spy_on_submitit(monkeypatch, submitit)
    there = run_study(study, executor=executor, progress=False, root=tmp_path / "there")
    assert seen == {"submits": [True, True], "arrays": [2]}  # one batch: two runs, one array
    assert list(there["loaded_from_cache"]) == [True, False, False]
    assert all(str(tmp_path / "there") in d for d in there["run_dir"])
    metrics = [c for c in here if (c.startswith(("p_", "f1/", "recall/")) or c == "accuracy") and c != "p_mtl_terms"]
    assert list(here["config_hash"]) == list(there["config_hash"])
    assert list(here["p_mtl_terms"]) == list(there["p_mtl_terms"])
    np.testing.assert_allclose(here[metrics].to_numpy(float), there[metrics].to_numpy(float), atol=1e-6)
    again = run_study(study, executor=executor, progress=False, root=tmp_path / "there")
    assert seen == {"submits": [True, True], "arrays": [2]}  # all cached: nothing submitted, no batch opened
    assert again["loaded_from_cache"].all() and list(again["run_dir"]) == list(there["run_dir"])


@pytest.mark.slow
def test_slurm_executor_submits_checked_jobs_as_one_array(tmp_path, monkeypatch):
    submitit = pytest.importorskip("submitit")
    from affect_book.study import CheckedJob

    auto = submitit.AutoExecutor
    monkeypatch.setattr(submitit, "AutoExecutor", lambda folder, cluster: auto(folder=folder, cluster="local"))
    seen = _spy_on_submitit(monkeypatch, submitit)  # AutoExecutor(cluster="local") hands its batch to LocalExecutor
    checked = []
    result = CheckedJob.result

    def spy_result(self):
        checked.append(self)
        return result(self)

    monkeypatch.setattr(CheckedJob, "result", spy_result)
    study = tiny_study(conditions=("base",))
    frame = run_study(study, executor="slurm", progress=False, root=tmp_path / "runs",
                      slurm_options={"timeout_min": 4, "cpus_per_task": 1})
    assert seen == {"submits": [True, True], "arrays": [2]} and len(checked) == 2
    assert not frame["loaded_from_cache"].any()
    folder = study_dir(study) / "submitit"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and list(folder.glob("*_result.pkl"))
    folder.chmod(0o777)  # anyone may write there now: refused before anything is submitted or unpickled
    try:
        with pytest.raises(PermissionError, match="writable by group or others"):
            run_study(study, executor="slurm", progress=False, root=tmp_path / "runs")
    finally:
        folder.chmod(0o700)
    assert seen["arrays"] == [2]


@pytest.mark.slow
def test_lambda_sweep_picks_the_best_mean_validation_score(tmp_path, monkeypatch):
    from affect_book.study import lambda_sweep

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    study = tiny_study(conditions=("base",), lambda_ot=0.5)
    best, table = lambda_sweep(study, lambdas=(0.5, 2.0), metric="p_expr", workers=1, progress=False)
    assert sorted(set(table["lambda_ot"])) == [0.5, 2.0] and len(table) == 4
    assert set(table["condition"]) == {"circumplex"}
    means = {lam: table.loc[table["lambda_ot"] == lam, "val/p_expr"].mean() for lam in (0.5, 2.0)}
    assert best == max(means, key=lambda lam: (means[lam], -lam))
    # the sweep's run at the study's lambda is the study's own circumplex run: loaded, not retrained
    again = run_study(tiny_study(conditions=("circumplex",), lambda_ot=0.5), workers=1, progress=False)
    assert again["loaded_from_cache"].all()
    assert list(again["config_hash"]) == list(table.loc[table["lambda_ot"] == 0.5, "config_hash"])
    with pytest.raises(ParameterError, match="metric='p_xyz'.*p_mtl"):
        lambda_sweep(study, lambdas=(0.5,), metric="p_xyz", workers=1, progress=False)


def test_permuted_runs_record_their_permutation(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    study = tiny_study(conditions=("permuted",))
    try:
        expand_study(study)
    except ParameterError as err:
        if "is not valid; expected one of" in str(err):
            pytest.skip(f"this trainer has no 'permuted' cost yet ({err})")
        raise
    frame = run_study(study, workers=1, progress=False)
    classes = expand_study(study)[0].config.classes
    for _, row in frame.iterrows():
        priced_as = json.loads(row["cost_permutation"])
        placed = [c for c in classes if c != "Other"]  # Other has no position: never permuted
        assert sorted(priced_as) == sorted(placed) and sorted(priced_as.values()) == sorted(placed)
        assert any(k != v for k, v in priced_as.items())
        # the recorded relabelling is the trainer's: the run's cost equals the va cost relabelled that way
        from affect_book.costs import ot_cost

        config = next(r.config for r in expand_study(study) if r.seed == row["seed"])
        va = ot_cost(classes, "va", config.coordinates, fill=dict(config.cost_fill) or None)
        index = [classes.index(priced_as.get(c, c)) for c in classes]
        expected = va.to_numpy()[np.ix_(index, index)]
        got = affect_book.trainer.cost_tensor(config).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_run_splits_loads_a_sources_splits_once_per_process(tmp_path, monkeypatch):
    from affect_book.data import sources
    from affect_book.study import run_splits

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    study = tiny_study(data={"n_train": 48, "n_val": 16, "n_test": 16})
    runs = expand_study(study)
    first, second = runs[0], next(r for r in runs if r.condition == "circumplex" and r.seed == runs[0].seed)
    assert first.load == second.load  # base and circumplex on one seed: one data source
    splits = run_splits(first)
    assert set(splits) == {"train", "val", "test"} and len(splits["train"]) == 48
    direct = sources.load_splits(first.dataset, root=first.data_root, profile=first.config.profile, progress=False,
                                 **dict(first.load))
    for name in ("train", "val", "test"):
        assert splits[name].fingerprint == direct[name].fingerprint
        assert tuple(splits[name].classes) == first.config.classes

    def no_loading(*args, **kwargs):
        raise AssertionError("run_splits loaded a source it had already loaded")

    monkeypatch.setattr(sources, "load_splits", no_loading)
    assert run_splits(first) is splits and run_splits(second) is splits


def test_run_splits_keeps_the_last_sources_only(tmp_path, monkeypatch):
    from affect_book.study import run_splits

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    study = tiny_study(data={"n_train": 48, "n_val": 16, "n_test": 16}, seeds=4, conditions=("base",))
    runs = expand_study(study)  # four seeds, four draws
    held = [run_splits(r) for r in runs]
    assert run_splits(runs[-1]) is held[-1]  # the latest sources stay loaded
    assert run_splits(runs[0]) is not held[0]  # the oldest was let go, and loads again with the same images
    assert run_splits(runs[0])["train"].fingerprint == held[0]["train"].fingerprint


def test_local_workers_are_sized_to_the_cores_and_the_grid():
    from affect_book.study import available_cores, local_workers

    cores = available_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert local_workers(100, "smoke", "cpu") == cores
    assert local_workers(1, "smoke", "cpu") == 1
    assert local_workers(10, "smoke", "cpu", workers=3) == 3 and local_workers(2, "smoke", "cpu", workers=8) == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            local_workers(4, "smoke", "cpu", workers=bad)
    with pytest.raises(ParameterError, match="'smoke'"):
        local_workers(4, "smok", "cpu")


def test_slurm_without_submitit_and_unknown_executors_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if the [cluster] extra were not installed
    with pytest.raises(ImportError, match=r"affect_book\[cluster\]"):
        run_study(tiny_study(), executor="slurm", progress=False)
    with pytest.raises(ValueError, match="'local', 'slurm'"):
        run_study(tiny_study(), executor="cloud", progress=False)
    monkeypatch.delitem(sys.modules, "submitit")
    if pytest.importorskip("submitit") and not any(
            os.access(os.path.join(d, "srun"), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep)):
        with pytest.raises(RuntimeError, match="needs a Slurm cluster.*executor='local'"):
            run_study(tiny_study(), executor="slurm", progress=False)
    assert not (tmp_path / "runs").exists()
