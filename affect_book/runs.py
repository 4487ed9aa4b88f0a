"""The files of a training run on disk: its key, its checkpoint, its finished record, and what to do when one of
them is corrupt. Used by :mod:`affect_book.train`.

A run lives in ``<root>/<run key>/``; the key hashes the full :class:`~affect_book.train.TrainConfig` together
with the fingerprints of the train, validation and test sets, so editing a dataset's labels or images gives a new
run instead of returning the old one. Files: ``config.json``, ``log.csv``, ``checkpoint.pt`` (after each epoch,
removed when the run finishes), ``best_model.pt``, ``predictions.npz`` and ``result.json``, the "finished" marker,
written last. A file that cannot be read (truncated, garbage) is reported by name, renamed to
``<name>.corrupt-<n>`` and the run rebuilt from what is still valid.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .cache import atomic_write_bytes, config_hash

__all__ = ["CHECKPOINT_KEYS", "RESULT_KEYS", "RunResult", "TrainingDiverged", "load_checkpoint", "load_finished",
           "move_aside", "rng_state", "run_key", "save_torch", "set_rng_state", "write_log"]

#: What a checkpoint and a finished record must hold to be used.
CHECKPOINT_KEYS = ("model", "optimiser", "scheduler", "rng", "epoch", "history", "best_epoch", "best_score")
RESULT_KEYS = ("history", "best_epoch", "val_metrics", "test_metrics", "has_predictions")


class TrainingDiverged(RuntimeError):
    """The loss or the weights became non-finite: the run stopped, no result was recorded."""


@dataclass
class RunResult:
    """A finished run: its directory, config hash, per-epoch history, best epoch, validation and test metrics,
    the path of the saved test predictions (``predictions.npz``), whether it was loaded rather than trained, the
    measured training rate, and ``run_key``, the name of its folder (config hash and data fingerprints)."""

    run_dir: Path
    config_hash: str
    history: list[dict]
    best_epoch: int
    val_metrics: dict
    test_metrics: dict
    predictions_path: Path | None
    loaded_from_cache: bool = False
    images_per_second: float = float("nan")
    run_key: str | None = None

    def predictions(self) -> dict[str, np.ndarray]:
        """The saved test predictions.

        Returns
        -------
        dict
            ``logits``, ``va``, ``au_prob``, ``features``, ``expression``, ``va_true``, ``au_true``, ``index``.
        """
        with np.load(self.predictions_path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}

    def model_state(self) -> dict:
        """The best epoch's weights.

        Returns
        -------
        dict
            The model's state dict (``torch.load(..., weights_only=True)``).
        """
        return torch.load(self.run_dir / "best_model.pt", map_location="cpu", weights_only=True)


def run_key(config, train_set, val_set, test_set=None) -> str:
    """The name of a run's folder: a hash of the config and of the fingerprints of its data.

    Parameters
    ----------
    config : TrainConfig
        The run's configuration.
    train_set, val_set : ArrayDataset
        The training and validation sets.
    test_set : ArrayDataset, optional
        The test set (None: no test predictions).

    Returns
    -------
    str
        16 hex digits. Datasets without a ``fingerprint`` are hashed from their arrays (one pass over the images,
        see :func:`affect_book.data.base.array_fingerprint`).
    """
    from .data.base import dataset_fingerprint

    data = {name: None if ds is None else dataset_fingerprint(ds)
            for name, ds in (("train", train_set), ("val", val_set), ("test", test_set))}
    return config_hash({"config": config, "data": data})


def move_aside(path: Path, reason: str, log: Callable[[str], None] = print) -> Path:
    """Rename a corrupt or stale run file to ``<name>.corrupt-<n>`` (first free n) and report it by name.

    Parameters
    ----------
    path : Path
        The file to move aside.
    reason : str
        What is wrong with it (reported).
    log : callable
        Receives the one-line report.

    Returns
    -------
    Path
        Where the file now is.
    """
    n = 1
    while (target := path.with_name(f"{path.name}.corrupt-{n}")).exists():
        n += 1
    path.replace(target)
    log(f"warning: {path} {reason}; moved aside to {target.name}, the run is rebuilt from what is valid")
    return target


def _unreadable(err: Exception) -> str:
    """A short description of why a file could not be loaded."""
    first = str(err).splitlines()[0][:120] if str(err) else ""
    return f"cannot be read ({type(err).__name__}: {first})"


def _readable_state_dict(path: Path) -> str | None:
    """None when ``path`` holds a dict of tensors loadable with ``weights_only=True``, else what is wrong."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # garbage gives UnpicklingError, RuntimeError, EOFError, zipfile errors...
        return _unreadable(err)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return "does not hold a state dict of tensors"
    return None


def _readable_npz(path: Path) -> str | None:
    """None when every array of the ``.npz`` at ``path`` can be read, else what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as f:
            for k in f.files:
                f[k]
    except Exception as err:
        return _unreadable(err)
    return None


def load_finished(folder: Path, log: Callable[[str], None] = print) -> dict | None:
    """The finished record of the run in ``folder`` when it and the files it names are readable, else None.

    A truncated or malformed ``result.json``, or a ``best_model.pt`` / ``predictions.npz`` that cannot be read, is
    moved aside with a report naming it (:func:`move_aside`); ``result.json`` is then moved aside too, since the
    run it records is no longer complete, and the caller trains again.

    Parameters
    ----------
    folder : Path
        The run's folder.
    log : callable
        Receives the reports.

    Returns
    -------
    dict or None
        The parsed ``result.json`` (keys :data:`RESULT_KEYS`, maybe ``images_per_second``), or None.
    """
    done = folder / "result.json"
    if not done.is_file():
        return None
    try:
        info = json.loads(done.read_text())
        missing = [k for k in RESULT_KEYS if k not in info] if isinstance(info, dict) else list(RESULT_KEYS)
        problem = f"lacks {missing}" if missing else None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        problem = f"is not valid JSON (truncated or corrupt: {err})"
    if problem:
        move_aside(done, problem, log)
        return None
    files = [("best_model.pt", _readable_state_dict)]
    if info["has_predictions"]:
        files.append(("predictions.npz", _readable_npz))
    for name, check in files:
        path = folder / name
        problem = check(path) if path.is_file() else "is missing"
        if problem:
            if path.is_file():
                move_aside(path, problem, log)
            else:
                log(f"warning: {path} is missing")
            move_aside(done, f"records a finished run whose {name} is unusable", log)
            return None
    return info


def load_checkpoint(path: Path, log: Callable[[str], None] = print) -> dict | None:
    """The checkpoint at ``path`` (loaded with ``weights_only=True``), None when absent; a corrupt one is moved
    aside with a report (:func:`move_aside`) and None returned, so the run starts again from epoch 1.

    Parameters
    ----------
    path : Path
        ``<run>/checkpoint.pt``.
    log : callable
        Receives the report.

    Returns
    -------
    dict or None
        The checkpoint (keys :data:`CHECKPOINT_KEYS`).
    """
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing = [k for k in CHECKPOINT_KEYS if k not in state] if isinstance(state, dict) else CHECKPOINT_KEYS
        problem = f"lacks {list(missing)}" if missing else None
    except Exception as err:
        problem = _unreadable(err)
    if problem:
        move_aside(path, problem, log)
        return None
    return state


def save_torch(path: Path, obj) -> Path:
    """``torch.save`` to ``path`` atomically (a temporary file, then a rename).

    Parameters
    ----------
    path : Path
        Destination.
    obj : object
        What to save (tensors and plain values, so it loads with ``weights_only=True``).

    Returns
    -------
    Path
        ``path``.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def rng_state() -> dict:
    """Every global RNG state (torch, NumPy, Python) as tensors and plain values, so a checkpoint holding it loads
    with ``weights_only=True``.

    Returns
    -------
    dict
        Keys ``torch``, ``numpy``, ``python``; restore with :func:`set_rng_state`.
    """
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"torch": torch.get_rng_state(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                      int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_next]}


def set_rng_state(state: dict) -> None:
    """Restore the global RNG states saved by :func:`rng_state`.

    Parameters
    ----------
    state : dict
        As returned by :func:`rng_state`.
    """
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def write_log(path: Path, history: Sequence[dict]) -> None:
    """Write the per-epoch history as CSV (one row per epoch, the union of the rows' keys as columns), atomically.

    Parameters
    ----------
    path : Path
        ``<run>/log.csv``.
    history : sequence of dict
        One dict per epoch.
    """
    keys = list(dict.fromkeys(k for row in history for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_bytes(path, buffer.getvalue().encode())
