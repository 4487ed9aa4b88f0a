"""Test hook for the interrupt tests: holds a command in one phase, announced on stderr, until a signal arrives.

Loaded by a ``sitecustomize.py`` that :func:`install_dir` writes (every Python process of the command imports it:
the command, its spawned workers, its fork helpers), and active only when ``AFFECT_BOOK_TEST_PHASE`` names a phase:

- ``imports``: while ``torch`` imports ``torch.nn`` (a half-imported torch, what Ctrl-C in the first seconds hits);
- ``data``: while the simulator renders a chunk of images (the data preparation, in its fork pool or in-process);
- ``training``: in the first loss of a run (``AFFECT_BOOK_TEST_SEEDS``, optional: only runs of those seeds);
- ``evaluation``: in the final evaluation on the test set, after the training epochs;
- ``saving``: while the test predictions are written (their temporary file written, not yet renamed; no
  ``result.json``, the finished marker, yet). Linux only (reads ``/proc/self/fd``).

The process prints ``PHASE <phase> pid=<pid>`` on stderr, then sleeps (at most 60 s) in short steps, so a signal
lands in that phase: the tests wait for the line instead of sleeping a fixed time.
"""

import functools
import importlib.abc
import importlib.machinery
import os
import sys
import time
from pathlib import Path

PHASES = ("imports", "data", "training", "evaluation", "saving")
PHASE = os.environ.get("AFFECT_BOOK_TEST_PHASE", "")
SEEDS = {int(s) for s in os.environ.get("AFFECT_BOOK_TEST_SEEDS", "").split(",") if s.strip()}
HOLD_SECONDS = 60.0


def install_dir(folder: Path) -> Path:
    """Write ``folder/sitecustomize.py`` loading this module; put ``folder`` first on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    (folder / "sitecustomize.py").write_text(f"import sys\nsys.path.insert(0, {str(here)!r})\nimport signal_phases\n"
                                             f"signal_phases.activate()\n")
    return folder


def hold(phase: str, **info) -> None:
    """Announce ``phase`` on stderr, then wait for a signal (at most :data:`HOLD_SECONDS`)."""
    extra = "".join(f" {k}={v}" for k, v in info.items())
    os.write(2, f"PHASE {phase} pid={os.getpid()}{extra}\n".encode())
    deadline = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)


def _patch_render(module) -> None:
    real = module._render_chunk

    @functools.wraps(real)  # same name and module: the fork pool pickles it by reference
    def render(args):
        hold("data")
        return real(args)

    module._render_chunk = render


def _patch_fit(module) -> None:
    if PHASE == "training":
        real_loss = module.multitask_loss
        held = []

        def loss(out, batch, config, *args, **kwargs):
            if not held and (not SEEDS or config.seed in SEEDS):
                held.append(True)
                hold("training", seed=config.seed)
            return real_loss(out, batch, config, *args, **kwargs)

        module.multitask_loss = loss
    elif PHASE == "evaluation":
        real_evaluate = module.evaluate

        def evaluate(*args, keep_features=False, **kwargs):
            if keep_features:  # the test set's evaluation, after the epochs
                hold("evaluation")
            return real_evaluate(*args, keep_features=keep_features, **kwargs)

        module.evaluate = evaluate
    elif PHASE == "saving":
        real_fsync = os.fsync

        def fsync(fd):  # inside atomic_write_bytes: the temporary file written, not yet renamed
            if ".predictions.npz." in os.readlink(f"/proc/self/fd/{fd}"):
                hold("saving")
            return real_fsync(fd)

        os.fsync = fsync


#: The module each phase patches once it is executed, and how.
PATCHES = {"data": ("affect_book.data.simulator._generate", _patch_render),
           "training": ("affect_book.trainer.loop", _patch_fit), "evaluation": ("affect_book.trainer.loop", _patch_fit),
           "saving": ("affect_book.trainer.loop", _patch_fit)}


class _Finder(importlib.abc.MetaPathFinder):
    """Holds in the ``imports`` phase; patches the modules of the other phases once they are executed."""

    def __init__(self):
        self.held = False

    def find_spec(self, name, path, target=None):
        if PHASE == "imports" and name == "torch.nn" and not self.held:
            self.held = True
            hold("imports")
        module_name, patch = PATCHES.get(PHASE, (None, None))
        if name != module_name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return None
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            patch(module)

        spec.loader.exec_module = exec_module
        return spec


def activate() -> None:
    """Install the hook when ``AFFECT_BOOK_TEST_PHASE`` names a phase (called by the generated sitecustomize)."""
    if PHASE in PHASES:
        sys.meta_path.insert(0, _Finder())
