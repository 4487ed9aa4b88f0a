"""Helpers shared by several test modules (one home, so no test module imports another's private names)."""

import hashlib

import numpy as np


def digest(arrays: dict) -> str:
    """sha256 of named arrays: every key (sorted), dtype, shape and byte, so any change of content, type or layout
    changes it (the simulator's pinned checksums)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()
