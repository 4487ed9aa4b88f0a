"""Helpers shared by the test modules: one home, so no test module imports another's (private) names.

``tests/`` is on ``sys.path`` (``pythonpath`` in pyproject's pytest section), so a test module in any folder imports
``from support import ROOT, digest`` and the submodules by name: :mod:`support.toy` (a learnable toy data set),
:mod:`support.real_fixtures` (tiny AffectNet / Aff-Wild2 trees), :mod:`support.course_site` (a mini course site),
:mod:`support.headless` (a headless Chromium), :mod:`support.signal_phases` (the interrupt tests' phase hook),
:mod:`support.recorded` (a recorded study's paired differences). Two
are scripts that tests run in other processes: ``ddp_worker.py`` (by path, under torchrun) and
``train_lock_worker.py`` (``python -m support.train_lock_worker``).
"""

import hashlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
"""The repository root."""


def digest(arrays: dict) -> str:
    """sha256 of named arrays: every key (sorted), dtype, shape and byte, so any change of content, type or layout
    changes it (the simulator's pinned checksums)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()
