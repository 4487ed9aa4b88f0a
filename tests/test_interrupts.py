"""Ctrl-C and kill end ``affect-book train``, ``study run`` and the book runner cleanly (issue 23, point 2).

Each command runs in its own session (its own process group, as a terminal's foreground job) with SIGINT and
SIGTERM at their default disposition (a background job of a non-interactive shell would inherit SIGINT as ignored),
and is always killed at the end. The signal is sent in a chosen phase: a test hook (:mod:`signal_phases`) holds the
command there and announces it on stderr, and the test waits for that line, never for a fixed time. Ctrl-C is what
a terminal sends, SIGINT to the whole process group; ``kill`` sends SIGTERM or SIGKILL to the command alone.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from support import ROOT, signal_phases

from affect_book.interrupts import raise_pending, run_command

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process groups from /proc")

TRAIN = {"dataset": "synthetic", "data": {"preset": "balanced", "n_train": 256, "n_val": 32, "n_test": 32},
         "profile": "smoke", "epochs": 2, "width": 4, "batch_size": 32, "device": "cpu"}
GRID = ["--profile", "smoke", "--preset", "affwild2", "--epochs", "2", "--width", "4", "--batch-size", "64",
        "--data", "n_train=512", "--data", "n_val=64", "--data", "n_test=64", "--conditions", "base,circumplex",
        "--seeds", "3", "--workers", "2"]
RESUME = "resume with the same command"


def _default_signals() -> None:
    """In the child before exec: SIGINT and SIGTERM at their defaults, whatever this test process inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def sigint_raises():
    """SIGINT raising KeyboardInterrupt in this process for one test, as in a shell at a terminal: a test process
    started in the background (``cmd &`` without job control, ``nohup``) inherits SIGINT ignored, which
    :func:`run_command` respects, so an in-process Ctrl-C test would otherwise see no signal at all."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of the process group ``pgid``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            alive.append(int(entry.name))
    return alive


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


class Command:
    """``python -m affect_book.cli ARGS`` in a new session with the phase hook; stdout and stderr read by threads."""

    def __init__(self, args: list[str], tmp_path: Path, phase: str = "", **env):
        hook = signal_phases.install_dir(tmp_path / "hook")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]), "OMP_NUM_THREADS": "1",
               "AFFECT_BOOK_CACHE": str(tmp_path / "cache"), "AFFECT_BOOK_TEST_PHASE": phase, **env}
        self.proc = subprocess.Popen([sys.executable, "-m", "affect_book.cli", *args], env=env, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True, preexec_fn=_default_signals)
        self.pgid = self.proc.pid
        self.out, self.err = [], []
        self.readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, pattern: str, timeout: float = 300) -> re.Match:
        """The first stderr line matching ``pattern``; fails if the command ends or ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.err):
                if match := re.search(pattern, line):
                    return match
            if self.proc.poll() is not None and not any(r.is_alive() for r in self.readers):
                pytest.fail(f"the command ended ({self.proc.returncode}) before {pattern!r}:\n{self.stderr}")
            time.sleep(0.05)
        pytest.fail(f"no {pattern!r} within {timeout} s:\n{self.stderr}")

    def ctrl_c(self) -> None:
        """What Ctrl-C in a terminal does: SIGINT to the whole foreground process group."""
        os.killpg(self.pgid, signal.SIGINT)

    def finish(self, timeout: float = 120) -> int:
        """Wait for the exit and the end of both outputs (every holder of the pipes gone); return the status."""
        code = self.proc.wait(timeout)
        for reader in self.readers:
            reader.join(timeout)
            assert not reader.is_alive(), f"a process still holds the command's output open:\n{self.stderr}"
        return code

    def kill(self) -> None:
        """Whatever happened, leave nothing running."""
        for pid in group_members(self.pgid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def assert_group_gone(pgid: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes left {within} s after the command ended: {left}"


def assert_nothing_partial(tmp_path: Path) -> None:
    """Atomic writes only: no temporary file left, every simulator build complete (``done.json``)."""
    temporary = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]
    assert not temporary, temporary
    simulator = tmp_path / "cache" / "simulator"
    built = [p for p in simulator.iterdir() if p.is_dir()] if simulator.is_dir() else []
    assert all((p / "done.json").is_file() for p in built), built


class _SignalledInDel:
    """Sends this process SIGINT from its ``__del__`` and lets the handler run there: Python cannot raise the
    handler's KeyboardInterrupt out of a finaliser (it prints "Exception ignored" and goes on), the way a Ctrl-C that
    lands while a tqdm bar or a data loader's iterator is collected would be lost."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100_000):  # the handler runs at one of these steps, inside __del__
            pass


def test_ctrl_c_landing_in_a_finaliser_stops_the_loop_at_its_next_step(capsys, sigint_raises):
    steps, hook = [], sys.unraisablehook

    def main() -> int:
        for step in range(5):
            raise_pending()  # what the trainer calls at every step
            steps.append(step)
            if step == 1:
                _SignalledInDel()  # collected at once
        return 0

    assert run_command("prog", "hint", main) == 130
    assert steps == [0, 1] and sys.unraisablehook is hook
    err = capsys.readouterr().err
    assert "prog: interrupted; hint" in err and "Exception ignored" not in err and "Traceback" not in err, err


def test_a_ctrl_c_swallowed_by_the_command_still_exits_130(capsys, sigint_raises):
    def main() -> int:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:  # a library's broad except
            pass
        return 0

    assert run_command("prog", "hint", main) == 130
    err = capsys.readouterr().err
    assert "prog: interrupted; hint" in err and "Traceback" not in err and "Exception ignored" not in err, err


def _train_command(tmp_path: Path, phase: str = "") -> Command:
    (tmp_path / "run.json").write_text(json.dumps(TRAIN))
    return Command(["train", "--config", str(tmp_path / "run.json"), "--root", str(tmp_path / "runs")], tmp_path,
                   phase)


@pytest.mark.parametrize("phase", signal_phases.PHASES)
@pytest.mark.slow
def test_train_ctrl_c_in_every_phase_exits_130_with_the_resume_hint(tmp_path, phase):
    """Issue 23: Ctrl-C in the first seconds (torch importing) gave a traceback; a background ``make test`` ran the
    trainer with SIGINT ignored (200 epochs, exit 0) and left it running when the test timed out."""
    command = _train_command(tmp_path, phase)
    try:
        command.wait_for(rf"^PHASE {phase} pid=")
        command.ctrl_c()
        code = command.finish()
    finally:
        command.kill()
    err = command.stderr
    assert code == 130, err
    assert f"affect-book train: interrupted; {RESUME}" in err and "Traceback" not in err, err
    assert not list((tmp_path / "runs").glob("*/result.json")), "an interrupted run was recorded as finished"
    assert_nothing_partial(tmp_path)
    assert_group_gone(command.pgid)
    if phase == "saving":  # interrupted while saving, no result.json: the same command finishes the run, not loads it
        again = _train_command(tmp_path)
        try:
            assert again.finish() == 0, again.stderr
        finally:
            again.kill()
        result = json.loads("".join(again.out))
        assert not result["loaded_from_cache"] and "resuming run" in again.stderr
        assert Path(result["run_dir"], "result.json").is_file()


@pytest.mark.slow
def test_train_sigterm_exits_143_with_the_resume_hint(tmp_path):
    command = _train_command(tmp_path, "training")
    try:
        command.wait_for(r"^PHASE training pid=")
        os.kill(command.proc.pid, signal.SIGTERM)
        code = command.finish()
    finally:
        command.kill()
    assert code == 143 and f"affect-book train: stopped by SIGTERM; {RESUME}" in command.stderr, command.stderr
    assert "Traceback" not in command.stderr


def _study(tmp_path: Path, phase: str = "", **env) -> Command:
    return Command(["study", "run", *GRID], tmp_path, phase, **env)


@pytest.mark.parametrize("phase", ["imports", "data", "training", "saving"])
@pytest.mark.slow
def test_study_ctrl_c_exits_130_with_the_resume_hint_and_ends_its_workers(tmp_path, phase):
    """Issue 23: Ctrl-C on ``study run`` printed tracebacks (the parent's and each worker's) and exited -2."""
    command = _study(tmp_path, phase)
    try:
        command.wait_for(rf"^PHASE {phase} pid=")
        command.ctrl_c()
        code = command.finish()
        assert_group_gone(command.pgid)
    finally:
        command.kill()
    err = command.stderr
    assert code == 130, err
    assert f"affect-book study: interrupted; {RESUME}" in err and "Traceback" not in err, err
    assert not list((tmp_path / "cache").glob("studies/*/results.csv"))
    assert not list((tmp_path / "cache").glob("runs/*/result.json")), "every run holds before its result.json"
    assert not list((tmp_path / "cache").glob("runs/*/predictions.npz")), "a half-written file was renamed"
    assert_nothing_partial(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
@pytest.mark.slow
def test_killing_study_run_leaves_no_process_behind(tmp_path, sig):
    """Issue 23: ``kill -TERM`` or ``kill -KILL`` of ``study run`` (timeout, CI cancellation, docker stop) left its
    spawned workers and the resource tracker running under PID 1, finishing queued runs and holding stdout open."""
    command = _study(tmp_path, "training")
    try:
        command.wait_for(r"^PHASE training pid=")
        os.kill(command.proc.pid, sig)
        start = time.monotonic()
        code = command.finish(timeout=10)  # both outputs closed: no worker holds them any more
        assert_group_gone(command.pgid, within=max(0.0, 10 - (time.monotonic() - start)))
    finally:
        command.kill()
    if sig == signal.SIGTERM:
        assert code == 143 and f"affect-book study: stopped by SIGTERM; {RESUME}" in command.stderr, command.stderr
        assert "Traceback" not in command.stderr
    else:
        assert code == -signal.SIGKILL
    assert not list((tmp_path / "cache").glob("runs/*/result.json"))  # no orphan went on training


@pytest.mark.slow
def test_a_lost_worker_ends_the_grid_with_the_failed_and_cached_runs(tmp_path):
    """Issue 23: a worker killed by the out-of-memory killer ended the grid with "A child process terminated
    abruptly" and no list of failed or cached runs. Seed 0's runs train; the others hold in their first step."""
    command = _study(tmp_path, "training", AFFECT_BOOK_TEST_SEEDS="1,2")
    try:
        command.wait_for(r"^\[1/6\] affwild2 / \w+ / seed 0: trained")
        worker = int(command.wait_for(r"^PHASE training pid=(\d+)").group(1))
        os.kill(worker, signal.SIGKILL)  # what the OOM killer does
        code = command.finish()
        assert_group_gone(command.pgid)
    finally:
        command.kill()
    err = command.stderr
    assert code == 1, err
    assert re.search(r"affect-book study run: \d of 6 runs failed, \d not started \(a worker process was lost", err)
    assert re.search(r"FAILED affwild2 / \w+ / seed [12]: WorkerLost: a worker process of the pool ended abruptly",
                     err), err
    assert re.search(r"cached: affwild2 / \w+ / seed 0", err) and "not started: affwild2" in err, err
    assert "Traceback" not in err
    assert not list((tmp_path / "cache").glob("studies/*/results.csv"))


def _tiny_book(tmp_path: Path) -> Path:
    """A one-chapter book whose chapter writes its kernel's pid to ``kernel.pid``, then sleeps (at most 60 s)."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nb = nbformat.v4.new_notebook(metadata=meta)
    marker = tmp_path / "kernel.pid"
    nb.cells = [nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                                          f"time.sleep(60)")]
    (tmp_path / "book" / "notebooks").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "book" / "notebooks" / "97_slow.ipynb")
    (tmp_path / "book" / "_toc.yml").write_text("format: jb-book\nroot: README\nchapters:\n"
                                                "  - file: notebooks/97_slow\n")
    return marker


@pytest.mark.notebooks
@pytest.mark.parametrize("how", ["ctrl-c", "TERM", "KILL"])
def test_book_runner_interrupted_leaves_no_kernel_and_no_partial_copy(tmp_path, how):
    marker = _tiny_book(tmp_path)
    out = tmp_path / "executed"
    command = Command(["book", "--root", str(tmp_path / "book"), "--profile", "smoke", "--out", str(out)], tmp_path)
    try:
        deadline = time.monotonic() + 300
        while not (marker.is_file() and marker.read_text()) and time.monotonic() < deadline:
            assert command.proc.poll() is None, command.stderr
            time.sleep(0.05)
        kernel = int(marker.read_text())
        if how == "ctrl-c":
            command.ctrl_c()
        else:
            os.kill(command.proc.pid, signal.SIGTERM if how == "TERM" else signal.SIGKILL)
        code = command.finish(timeout=30)
        deadline = time.monotonic() + 10
        while pid_alive(kernel) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(kernel), "the chapter's kernel outlived the runner"
    finally:
        command.kill()
        if marker.is_file() and pid_alive(int(marker.read_text())):
            os.kill(int(marker.read_text()), signal.SIGKILL)
    expected = {"ctrl-c": 130, "TERM": 143, "KILL": -signal.SIGKILL}[how]
    assert code == expected, command.stderr
    if how != "KILL":
        assert "affect-book book: " in command.stderr and RESUME in command.stderr
        assert "Traceback" not in command.stderr, command.stderr
        leftovers = [p.name for p in (out / "notebooks").iterdir()] if (out / "notebooks").is_dir() else []
        assert leftovers == [], f"an interrupted chapter left {leftovers}"
        assert not (out / "timings.json").exists()
