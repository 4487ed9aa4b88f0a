"""Device choice and seeding. Introduced in chapter 00.

``choose_device("auto")`` prefers CUDA, then Apple's MPS, then the CPU, and says so when it falls back to the CPU.
``seed_everything`` seeds Python, NumPy and torch in one call.

String hashing (``hash("abc")``, hence the iteration order of sets of strings) is randomised per interpreter and can
only be fixed before the interpreter starts: ``PYTHONHASHSEED=0 python ...``. Setting the variable from inside a
running process changes nothing for that process (it only leaks into child processes), so this module does not;
the package never depends on the order of a set of strings.
"""

from __future__ import annotations

import os
import random

import numpy as np

from .params import check_choice

__all__ = ["DEVICES", "choose_device", "seed_everything"]

#: Values the ``DEVICE`` parameter of a chapter accepts.
DEVICES = ("auto", "cuda", "mps", "cpu")


def choose_device(preference: str = "auto", verbose: bool = True):
    """The device to compute on: ``auto`` tries cuda, then mps, then cpu; a named device must be available.

    Parameters
    ----------
    preference : str
        One of :data:`DEVICES`.
    verbose : bool
        Print which device was chosen (with a note on the CPU about the profiles it suits).

    Returns
    -------
    torch.device
        The chosen device.

    Raises
    ------
    ParameterError
        An unknown name (with the closest valid one).
    RuntimeError
        A named device that this machine does not have.
    """
    import torch  # deferred: affect_book.device loads without torch (the study imports it; torch loads in its workers)

    check_choice("DEVICE", preference, DEVICES)
    mps_ok = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if preference == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu"
    else:
        available = {"cuda": torch.cuda.is_available(), "mps": mps_ok, "cpu": True}[preference]
        if not available:
            raise RuntimeError(f"DEVICE={preference!r} was asked for but is not available on this machine; "
                               f"use 'auto' or 'cpu'")
        name = preference
    if verbose:
        if name == "cpu":
            print(f"Note: running on the CPU ({torch.get_num_threads()} threads). The 'smoke' and 'cpu' profiles are "
                  f"sized for this; the 'gpu' profile wants a CUDA GPU.")
        elif name == "cuda":
            print(f"Running on {torch.cuda.get_device_name(0)}.")
        else:
            print("Running on Apple MPS.")
    return torch.device(name)


def seed_everything(seed: int, deterministic: bool = False) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and torch (CPU and CUDA).

    ``PYTHONHASHSEED`` is not touched: it only acts when set before the interpreter starts (see the module's
    docstring).

    Parameters
    ----------
    seed : int
        A non-negative integer (not a bool).
    deterministic : bool
        Also ask torch for deterministic algorithms (slower; some GPU ops then raise). This sets
        ``CUBLAS_WORKSPACE_CONFIG`` when unset, which cuBLAS reads when it first initialises.

    Returns
    -------
    np.random.Generator
        A fresh generator seeded with ``seed``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}; expected a non-negative integer")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch  # deferred: optional here (numpy-only use seeds without torch)
    except ImportError:  # numpy-only use of the package
        return np.random.default_rng(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    return np.random.default_rng(seed)
