"""One validation layer for :mod:`affect_book.stats`: every public function checks its inputs here."""

from __future__ import annotations

import numpy as np

from ..arrays import to_numpy

ALTERNATIVES = ("two-sided", "greater", "less")


def as_sample(x, name: str) -> np.ndarray:
    """``x`` as a 1-D float array of finite values, or a ValueError naming ``name``."""
    arr = to_numpy(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of numbers (one value per seed); found shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; found {arr[bad[0]]} at position {bad[0]} "
                         f"({bad.size} non-finite value(s) in all)")
    return arr


def paired_differences(a, b=None) -> np.ndarray:
    """``a - b`` as a 1-D float array (``a`` itself when ``b`` is None); errors name the argument at fault."""
    a = as_sample(a, "a")
    if b is None:
        return a
    b = as_sample(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (one value each per seed); found {a.size} and {b.size} values")
    return a - b


def check_alternative(alternative: str) -> str:
    """``alternative`` if it is one of :data:`ALTERNATIVES`, else a ValueError listing them."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}; found {alternative!r}")
    return alternative


def check_level(level: float, name: str = "level") -> float:
    """``level`` as a float strictly between 0 and 1, else a ValueError."""
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1 (e.g. 0.95); found {level}")
    return level


def check_seed(random_state) -> np.random.Generator:
    """A NumPy Generator from an int seed or a Generator; None is refused (results must be reproducible)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    raise ValueError(f"random_state must be an int seed or a numpy.random.Generator; found {random_state!r}")
