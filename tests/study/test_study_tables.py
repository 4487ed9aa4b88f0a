"""A study table you can trust, and a cache that can be copied, shared or read-only (issue 23, points 4 and 5):
``report`` holds the table against the grid (a truncated or NaN table is refused naming the runs and metrics), run
folders are stored relative to the cache (a copy reads its own predictions), a read-only cache still reports,
condition order does not change a study's identity, and the CLI refuses a grid without a comparison, a non-finite
OT weight and a negative seed count up front. One tiny grid (one preset, two conditions, two seeds; a few hundred
32-pixel images, width 4, one epoch) is trained once for the module; each test works on its own copy."""

import ctypes
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import ROOT

from affect_book.cache import config_hash
from affect_book.params import ParameterError
from affect_book.study import (ResultsTableError, StudyConfig, StudyFailed, check_results, expand_study, read_results,
                               run_study, study_dir, study_key)
from affect_book.analysis import study_predictions
from affect_book.analysis.cli import main as study_main

SETTINGS = {"profile": "smoke", "data": {"n_train": 256, "n_val": 64, "n_test": 64}, "epochs": 1, "width": 4,
            "batch_size": 64}
GRID = ["--profile", "smoke", "--preset", "affwild2", "--epochs", "1", "--width", "4", "--batch-size", "64",
        "--data", "n_train=256", "--data", "n_val=64", "--data", "n_test=64", "--seeds", "2"]


def tiny(conditions=("base", "circumplex"), **kw) -> StudyConfig:
    return StudyConfig(presets=("affwild2",), conditions=conditions, seeds=2, **SETTINGS, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny grid, run once into a cache of its own."""
    cache = tmp_path_factory.mktemp("study") / "cache"
    patch = pytest.MonkeyPatch()
    patch.setenv("AFFECT_BOOK_CACHE", str(cache))
    try:
        run_study(tiny(), workers=1, progress=False)
    finally:
        patch.undo()
    return cache


@pytest.fixture
def cache(built, tmp_path, monkeypatch):
    """This test's own copy of the built cache (``cp -a``), set as AFFECT_BOOK_CACHE."""
    copy = tmp_path / "cache"
    shutil.copytree(built, copy, symlinks=True)
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(copy))
    return copy


def _cli(args, cache, preexec_fn=None, timeout=300):
    env = {**os.environ, "AFFECT_BOOK_CACHE": str(cache), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "affect_book.cli", "study", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn)


def _labels(frame: pd.DataFrame) -> list[str]:
    return [f"{r.preset} / {r.condition} / seed {r.seed}" for r in frame.itertuples()]


# ------------------------------------------------------------------------------------------ the table's checks

@pytest.mark.slow
def test_a_truncated_table_is_refused_naming_the_runs(cache):
    """`head -c 1500 results.csv`, then `report` showed 2 of 12 rows, an empty statistics table, exit 0."""
    path = study_dir(tiny()) / "results.csv"
    full = path.read_bytes()
    whole = read_results(path)
    assert len(full) > 1500 and len(whole) == 4
    path.write_bytes(full[:1500])
    lines = full[:1500].decode().split("\n")
    complete = len(lines) - 2  # the header, and the last line cut short (or empty)
    out = _cli(["report", *GRID, "--conditions", "base,circumplex"], cache)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert f"{path}" in out.stderr and "does not hold the study's 4 runs" in out.stderr
    for label in _labels(whole.iloc[complete:]):  # every run whose row is missing or cut short is named
        assert label in out.stderr, (label, out.stderr)
    for label in _labels(whole.iloc[:complete]):
        assert f"  {label}\n" not in out.stderr + "\n"


@pytest.mark.slow
def test_a_nan_missing_extra_or_stale_row_is_refused_naming_run_and_metric(cache):
    study = tiny()
    path = study_dir(study) / "results.csv"
    table = read_results(path)
    check_results(table, study)  # the table as run_study wrote it holds the grid
    nan = table.copy()
    nan.loc[1, "p_mtl"] = math.nan
    nan.loc[2, "val/p_expr"] = math.inf
    nan.to_csv(path, index=False)
    out = _cli(["report", *GRID, "--conditions", "base,circumplex"], cache)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    first, second = _labels(table.iloc[[1, 2]])
    assert f"{first}: p_mtl" in out.stderr and f"{second}: val/p_expr" in out.stderr, out.stderr
    assert "b must be finite" not in out.stderr
    extra = pd.concat([table.iloc[1:], table.iloc[[1]].assign(seed=7)])
    with pytest.raises(ResultsTableError) as err:
        check_results(extra, study, path=path)
    text = str(err.value)
    assert "1 runs of the grid with no row" in text and _labels(table.iloc[[0]])[0] in text
    assert "rows of runs outside the grid" in text and "affwild2 / base / seed 7" in text
    with pytest.raises(ResultsTableError, match="more than one row"):
        check_results(pd.concat([table, table.iloc[[0]]]), study)
    with pytest.raises(ResultsTableError, match=r"another config \(a stale table\)"):
        check_results(table.assign(config_hash="0" * 16), study)
    with pytest.raises(ResultsTableError, match=r"lacks the columns \['p_mtl'\]"):
        check_results(table.drop(columns=["p_mtl"]), study)
    # another preset's classes (a column NaN for this source by design) is not a non-finite score of this run
    check_results(table.assign(**{"f1/NotAClassHere": math.nan}), study)


@pytest.mark.slow
def test_a_finished_run_with_a_nan_score_fails_the_grid_naming_its_folder(cache):
    study = tiny()
    table = read_results(study_dir(study) / "results.csv")
    run_dir = Path(table.loc[0, "run_dir"])
    done = run_dir / "result.json"
    info = json.loads(done.read_text())
    info["test_metrics"]["p_expr"] = math.nan
    done.write_text(json.dumps(info))
    with pytest.raises(StudyFailed, match=f"{run_dir} records non-finite scores \\(test p_expr = nan\\)"):
        run_study(study, workers=1, progress=False)


# -------------------------------------------------------------------------------- copied and read-only caches

@pytest.mark.slow
def test_a_copied_cache_reads_its_own_predictions(built, tmp_path, monkeypatch):
    """results.csv stored absolute run folders: a `cp -a` copy read the original's predictions (chapter 08), or
    failed once the original was gone."""
    original, copy = tmp_path / "original", tmp_path / "copy"
    shutil.copytree(built, original, symlinks=True)
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(original))
    study = tiny()
    on_disk = pd.read_csv(study_dir(study) / "results.csv")
    assert all(d.startswith("runs/") for d in on_disk["run_dir"]), list(on_disk["run_dir"])
    subprocess.run(["cp", "-a", str(original), str(copy)], check=True)
    # mark the copy's predictions, so reading the original's would show
    marked = {}
    for folder in (copy / "runs").iterdir():
        with np.load(folder / "predictions.npz") as f:
            arrays = {k: f[k] for k in f.files}
        arrays["logits"] = arrays["logits"] + 1.0
        np.savez(folder / "predictions.npz", **arrays)
        marked[folder.name] = arrays["logits"]
    shutil.rmtree(original)
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(copy))
    runs = list(study_predictions(study))
    assert len(runs) == 4
    for run in runs:
        assert run.run_dir.parent == copy / "runs"
        np.testing.assert_array_equal(run.arrays["logits"], marked[run.run_dir.name])
    assert all(Path(d).parent == copy / "runs" for d in read_results(study_dir(study) / "results.csv")["run_dir"])


def _drop_root_override():
    """preexec_fn: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from the bounding set, so a child of
    root obeys file permissions like any user (root ignores `chmod a-w` otherwise)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_a_user():
    """The preexec_fn that makes a child obey permissions, or None when this process is not root."""
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        pytest.skip("root elsewhere than Linux: no way here to make a child obey file permissions")
    return _drop_root_override


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode | 0o200 if writable else mode & ~0o222)


@pytest.mark.slow
def test_a_read_only_cache_still_reports_and_runs(cache):
    """Loading a finished run took its lock for writing: a read-only cache failed every run ("12 of 12 runs
    failed") and `report` showed a raw traceback."""
    preexec = _as_a_user()
    grid = [*GRID, "--conditions", "base,circumplex"]
    _chmod_tree(cache, writable=False)
    try:
        probe = subprocess.run([sys.executable, "-c", f"open({str(cache / 'probe')!r}, 'w')"], capture_output=True,
                               text=True, preexec_fn=preexec)
        assert probe.returncode != 0 and "PermissionError" in probe.stderr  # the child cannot write: a real test
        report = _cli(["report", *grid, "--json"], cache, preexec)
        assert report.returncode == 0, report.stderr
        assert len(json.loads(report.stdout)["rows"]) == 4
        again = _cli(["run", *grid, "--workers", "1", "--quiet"], cache, preexec)
        assert again.returncode == 0, again.stderr
        assert "4 runs: 0 trained, 4 loaded from the cache" in again.stdout
        # a run that is not in the cache needs write access: named in one line, no traceback
        more = _cli(["run", *GRID[:-2], "--seeds", "3", "--conditions", "base,circumplex", "--workers", "1",
                     "--quiet"], cache, preexec)
        assert more.returncode == 1 and "Traceback" not in more.stderr
        # (each seed draws its own data, so the new seed's simulator build is the first thing it must write)
        assert "needs write permission" in more.stderr and str(cache) in more.stderr, more.stderr
        # a table this user may not read: one line naming it and the permission
        table = study_dir(tiny()) / "results.csv"
        table.chmod(0o000)
        denied = _cli(["report", *grid], cache, preexec)
        assert denied.returncode == 1 and "Traceback" not in denied.stderr
        assert denied.stderr.strip() == denied.stderr.strip().splitlines()[0]
        assert f"{table}: permission denied: needs read permission" in denied.stderr, denied.stderr
    finally:
        _chmod_tree(cache, writable=True)
        table = study_dir(tiny()) / "results.csv"
        table.chmod(0o644)


# ------------------------------------------------------------------------------------- identity and the options

@pytest.mark.slow
def test_condition_order_does_not_change_the_study(cache):
    """The order of --conditions changed the study hash: `report` said "no results table" for a cached grid."""
    assert study_key(tiny(("circumplex", "base"))) == study_key(tiny()) == config_hash(tiny())
    assert study_dir(tiny(("circumplex", "base"))) == study_dir(tiny())
    assert study_key(tiny(), ) != study_key(tiny(("base", "uniform")))
    swapped = StudyConfig(presets=("affwild2",), conditions=("base", "circumplex"), seeds=(1, 0), **SETTINGS)
    assert study_key(swapped) == study_key(tiny())
    out = _cli(["report", *GRID, "--conditions", "circumplex,base", "--json"], cache)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["rows"]) == 4


@pytest.mark.parametrize("args, message", [
    (["--lambda-ot", "nan"], "--lambda-ot: nan is not valid; expected a finite number >= 0"),
    (["--lambda-ot", "inf"], "--lambda-ot: inf is not valid"),
    (["--lambda-ot", "-1"], "--lambda-ot: -1 is not valid"),
    (["--seeds", "-1"], "--seeds: -1 is out of range; expected an integer >= 2"),
    (["--seeds", "1"], "--seeds: 1 is out of range"),
    (["--epochs", "0"], "--epochs: 0 is out of range"),
])
def test_the_cli_refuses_bad_grids_up_front(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    grid = ["--profile", "smoke", "--preset", "affwild2", "--conditions", "base,circumplex", *args]
    try:
        status = study_main(["report", *grid])
    except SystemExit as exit_:  # argparse
        status = exit_.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "studies").exists()


def test_the_library_refuses_a_non_finite_weight_and_a_negative_seed_count():
    for value in (math.nan, math.inf, -1.0):
        with pytest.raises(ParameterError, match="lambda_ot"):
            tiny(lambda_ot=value)
    with pytest.raises(ParameterError, match=r"seeds=-1: expected a number of seeds >= 2"):
        StudyConfig(presets=("affwild2",), conditions=("base",), seeds=-1, **SETTINGS)
    with pytest.raises(ParameterError, match="lr=nan"):
        tiny(lr=math.nan)
    assert len(expand_study(tiny(lambda_ot=0.0))) == 4  # zero stays allowed (the OT term off)


@pytest.mark.slow
def test_a_base_only_grid_reports_its_rows_and_the_calibration_not_an_empty_table_in_silence(cache):
    """Issue 19's check (`study run --conditions base`, then `report --json`): the rows, no statistics, and the
    calibration criteria of chapter 03 scored on them (recomputed here with calibration_scores)."""
    from affect_book.data.simulator import calibration_scores

    base_only = [*GRID, "--conditions", "base"]
    ran = _cli(["run", *base_only, "--quiet"], cache)
    assert ran.returncode == 0, ran.stderr
    out = _cli(["report", *base_only, "--json"], cache)
    assert out.returncode == 0, out.stderr
    assert "no statistics table" in out.stderr and "give no comparison" in out.stderr
    report = json.loads(out.stdout)
    assert report["statistics"] == [] and len(report["rows"]) == 2
    score = report["calibration"]["affwild2"]
    per_seed = [{k.split("/", 1)[1]: v for k, v in row.items() if k.startswith("f1/")}
                for row in sorted(report["rows"], key=lambda r: r["seed"])]
    assert score["spearman"] == pytest.approx(calibration_scores(per_seed, "affwild2")["spearman"], nan_ok=True)
    assert score["seeds"] == [0, 1] and set(score["met"]) >= {"spearman", "max_abs_diff", "macro", "all"}
