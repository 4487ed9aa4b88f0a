"""The simulator's fork pool under a command's signal handlers (:func:`affect_book.interrupts.fork_pool`).

A worker forked while :func:`~affect_book.interrupts.run_command`'s Python handler is installed could lose a
SIGTERM sent while it started (CPython clears the signals tripped in a forked child before its first bytecode), and
``Pool.terminate`` then waited for it forever: a plain ``multiprocessing`` pool opened and left at once hung within
20 rounds in every try here; the fork pool must never hang.
"""

import signal
import subprocess
import sys
import textwrap

from affect_book.interrupts import fork_pool, run_command

RACE = textwrap.dedent("""
    from affect_book.interrupts import fork_pool, run_command

    def main():
        for _ in range(100):  # an error right after the fork: Pool.terminate meets workers that are still starting
            try:
                with fork_pool(2):
                    raise ValueError("left at once")
            except ValueError:
                pass
        return 0

    raise SystemExit(run_command("race", "again", main))
""")


def _dispositions(_):
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), signal.SIGTERM in mask


def test_a_pool_left_at_once_never_hangs_its_terminate():
    done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_workers_ignore_ctrl_c_and_die_on_sigterm_with_it_unblocked():
    seen = {}

    def main():
        with fork_pool(2) as pool:
            seen["workers"] = pool.map(_dispositions, range(4))
        seen["parent"] = signal.pthread_sigmask(signal.SIG_BLOCK, set())
        return 0

    assert run_command("pool", "again", main) == 0
    assert set(seen["workers"]) == {(signal.SIG_IGN, signal.SIG_DFL, False)}
    assert signal.SIGTERM not in seen["parent"]  # the parent's mask is restored after the fork
