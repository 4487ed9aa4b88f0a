"""Shared and read-only caches (issue 23, point 5) and finished runs whose scores are not finite (point 4): files
honour the umask, a finished run loads without writing anything, a file another user owns is named (never moved
aside as if damaged), a NaN score in a finished record is refused naming the run, and submitit's job folder must be
private before anything is unpickled from it."""

import builtins
import io
import json
import os
import stat
from pathlib import Path

import filelock
import pytest
from support.toy import toy, toy_config

from affect_book import cache
from affect_book.trainer import NonFiniteMetrics, load_finished, nonfinite_metrics, train


@pytest.fixture(scope="module")
def sets():
    return toy(96, 0), toy(32, 1), toy(32, 2)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


@pytest.mark.parametrize("mask", [0o002, 0o027])
def test_cache_files_honour_the_umask(sets, tmp_path, mask):
    """Every file was 0600 whatever the umask (mkstemp), so a second user of a lab's shared cache could read none."""
    old = os.umask(mask)
    try:
        assert cache.umask() == mask
        result = train(toy_config(epochs=1), *sets, root=tmp_path / "runs", progress=False)
        cache.atomic_write_bytes(tmp_path / "studies" / "x" / "results.csv", b"a\n1\n")
    finally:
        os.umask(old)
    modes = _modes(tmp_path)
    assert {"runs", str(result.run_dir.relative_to(tmp_path)), "studies/x/results.csv"} <= set(modes)
    for name, mode in modes.items():
        wanted = (0o777 if (tmp_path / name).is_dir() else 0o666) & ~mask
        assert mode == wanted, f"{name}: {oct(mode)}, expected {oct(wanted)} under umask {oct(mask)}"


def test_simulator_build_folder_honours_the_umask(tmp_path, monkeypatch):
    """The simulator's build folder came from mkdtemp (0700 whatever the umask)."""
    from affect_book.data.simulator import make_config, simulate_all

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    old = os.umask(0o002)
    try:
        simulate_all(make_config("balanced", "smoke", n_train=16, n_val=8, n_test=8, image_size=32), workers=1)
    finally:
        os.umask(old)
    modes = _modes(tmp_path / "simulator")
    assert len(modes) > 10
    for name, mode in modes.items():
        assert mode == (0o775 if (tmp_path / "simulator" / name).is_dir() else 0o664), (name, oct(mode))


def _no_writes(monkeypatch, root: Path) -> list[str]:
    """Make every write under ``root`` fail (open for writing, os.open with write flags, rename, mkdir, unlink,
    locks), as on a read-only cache; returns the list of attempts."""
    attempts = []
    real_open, real_os_open = builtins.open, os.open

    def under(path) -> bool:
        try:
            return Path(os.fspath(path)).resolve().is_relative_to(root.resolve())
        except TypeError:  # a file descriptor
            return False

    def deny(what, path):
        attempts.append(f"{what} {path}")
        raise PermissionError(13, "Permission denied (test: read-only cache)", str(path))

    def fake_open(file, mode="r", *args, **kwargs):
        if under(file) and any(c in mode for c in "wax+"):
            deny(f"open({mode!r})", file)
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC):
            deny("os.open(write)", path)
        return real_os_open(path, flags, *args, **kwargs)

    def wrap(name, module=os):
        real = getattr(module, name)

        def fake(path, *args, **kwargs):
            if under(path):
                deny(name, path)
            return real(path, *args, **kwargs)
        monkeypatch.setattr(module, name, fake)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)  # pathlib's
    monkeypatch.setattr(os, "open", fake_os_open)
    for name in ("replace", "rename", "mkdir", "makedirs", "unlink", "remove", "rmdir", "chmod"):
        wrap(name)
    real_acquire = filelock.FileLock.acquire

    def acquire(self, *args, **kwargs):
        if under(self.lock_file):
            deny("lock", self.lock_file)
        return real_acquire(self, *args, **kwargs)
    monkeypatch.setattr(filelock.FileLock, "acquire", acquire)
    return attempts


def test_a_finished_run_loads_without_writing_anything(sets, tmp_path, monkeypatch):
    """Loading a finished run took its lock for writing, so a read-only cache (a course's pre-computed runs) failed
    every run. Here every write under the cache fails, as on a read-only mount (the test runs as root, which
    permissions do not stop: the study-level test drops root's override instead)."""
    config = toy_config(epochs=1)
    first = train(config, *sets, root=tmp_path, progress=False)
    attempts = _no_writes(monkeypatch, tmp_path)
    with pytest.raises(PermissionError):  # the fake is effective: a write under the cache fails
        (tmp_path / "probe").write_text("x")
    attempts.clear()
    again = train(config, *sets, root=tmp_path, progress=False)
    assert again.loaded_from_cache and again.test_metrics == first.test_metrics and attempts == []
    # a run that is not there needs write access: one line naming the folder and the permission
    with pytest.raises(PermissionError) as err:
        train(toy_config(epochs=1, seed=5), *sets, root=tmp_path, progress=False)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path) in message and "needs write permission" in message


def test_a_finished_run_another_user_cannot_read_is_named_not_moved_aside(sets, tmp_path, monkeypatch):
    """A file this user may not read is not damage: moving it aside would take another user's finished run."""
    config = toy_config(epochs=1)
    first = train(config, *sets, root=tmp_path, progress=False)
    target = first.run_dir / "best_model.pt"
    real_open = builtins.open

    def fake_open(file, mode="r", *args, **kwargs):
        if str(file) == str(target):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    with pytest.raises(PermissionError, match=f"{target}: permission denied: needs read permission"):
        train(config, *sets, root=tmp_path, progress=False)
    monkeypatch.undo()
    assert sorted(p.name for p in first.run_dir.iterdir() if "corrupt" in p.name) == []
    assert train(config, *sets, root=tmp_path, progress=False).loaded_from_cache


@pytest.mark.parametrize("split, metric, value", [("test_metrics", "p_mtl", "NaN"),
                                                  ("test_metrics", "p_expr", "Infinity"),
                                                  ("val_metrics", "p_va", "NaN")])
def test_a_finished_run_with_non_finite_scores_is_refused_naming_the_run(sets, tmp_path, split, metric, value):
    """NaN written into a finished run's test metric was loaded, written to results.csv, and failed only later in
    the statistics ("b must be finite"), naming neither run nor metric."""
    config = toy_config(epochs=1)
    first = train(config, *sets, root=tmp_path, progress=False)
    done = first.run_dir / "result.json"
    text = done.read_text()
    info = json.loads(text)
    assert metric in info[split] and isinstance(info[split][metric], float)
    info[split][metric] = float(value.replace("Infinity", "inf"))
    done.write_text(json.dumps(info))
    label = "test" if split == "test_metrics" else "val"
    with pytest.raises(NonFiniteMetrics, match=f"{first.run_dir}.*{label} {metric} = "):
        train(config, *sets, root=tmp_path, progress=False)
    with pytest.raises(NonFiniteMetrics):
        load_finished(first.run_dir, repair=False)
    assert done.is_file() and not list(first.run_dir.glob("*.corrupt-*"))  # refused, nothing moved


def test_nonfinite_metrics_allow_only_the_tasks_not_scored():
    scored = {"p_va": 0.3, "p_expr": 0.5, "p_au": float("nan"), "p_mtl": 0.8, "p_mtl_terms": "P_VA + P_EXPR",
              "ccc_valence": 0.2, "ccc_arousal": 0.4, "accuracy": 0.6}
    assert nonfinite_metrics(scored) == []
    assert nonfinite_metrics({**scored, "p_va": float("nan")}) == ["p_va"]  # P_VA is a term of P_MTL
    assert nonfinite_metrics({**scored, "p_mtl": float("inf")}) == ["p_mtl"]
    assert nonfinite_metrics({**scored, "accuracy": None}) == ["accuracy"]
    assert nonfinite_metrics({**scored, "p_mtl_terms": "P_EXPR", "p_va": float("nan"),
                              "ccc_valence": float("nan")}) == []
    assert nonfinite_metrics({"p_mtl": float("nan"), "p_expr": float("nan")}) == ["p_mtl"]  # no terms: P_MTL


def test_permission_errors_are_one_line_naming_the_path(tmp_path):
    err = cache.permission_error(tmp_path, "write", "to lock training run abc")
    text = str(err)
    assert "\n" not in text and text.startswith(f"{tmp_path}: permission denied: needs write permission to lock")
    assert f"mode {cache.stat_mode(tmp_path.stat().st_mode)}" in text and f"owner uid {os.getuid()}" in text


# ------------------------------------------------------------------------------------------ submitit's pickles

def test_the_job_folder_must_be_private_before_anything_is_unpickled(tmp_path):
    from affect_book.study import CheckedJob, UnsafeJobFolder, check_private_folder, private_job_folder

    old = os.umask(0o002)  # a shared cache's umask: the folder is still created 0700
    try:
        folder = private_job_folder(tmp_path / "study" / "submitit")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    result = folder / "1_0_result.pkl"
    result.write_bytes(b"pickle")
    result.chmod(0o664)  # written by a job with umask 002: nobody else can reach it in a 0700 folder
    check_private_folder(folder, [result])

    class Job:
        class paths:
            result_pickle = result
        unpickled = False

        def done(self):
            return True

        def result(self):
            Job.unpickled = True
            return "row"

    assert CheckedJob(Job(), folder).result() == "row"
    folder.chmod(0o775)  # now group members can enter and write
    with pytest.raises(UnsafeJobFolder, match=f"{folder} is writable by group or others"):
        CheckedJob(Job(), folder).result()
    folder.chmod(0o755)
    with pytest.raises(UnsafeJobFolder, match=f"{result} is writable by group or others"):
        check_private_folder(folder, [result])
    result.chmod(0o644)
    check_private_folder(folder, [result])
    if os.geteuid() == 0:  # as root, hand the files to another uid
        os.chown(result, 12345, -1)
        with pytest.raises(UnsafeJobFolder, match=f"{result} is not yours"):
            check_private_folder(folder, [result])
        os.chown(folder, 12345, -1)
        with pytest.raises(UnsafeJobFolder, match=f"{folder} is not yours"):
            check_private_folder(folder)
        os.chown(folder, 0, -1)
        os.chown(result, 0, -1)
    link = folder / "2_0_result.pkl"
    link.symlink_to(tmp_path / "elsewhere.pkl")
    with pytest.raises(UnsafeJobFolder, match="not a regular file"):
        check_private_folder(folder, [link])
    Job.unpickled = False
    with pytest.raises(UnsafeJobFolder):
        CheckedJob(type("J", (Job,), {"paths": type("P", (), {"result_pickle": link})})(), folder).result()
    assert not Job.unpickled  # refused before the job's result() (the unpickling) is called
