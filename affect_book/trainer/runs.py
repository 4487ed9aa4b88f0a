"""The files of a training run on disk: its key, its checkpoint, its finished record, and what to do when one of
them is corrupt. Used by :func:`affect_book.trainer.train`; imports no other module of the trainer.

A run lives in ``<root>/<run key>/``; the key hashes the full :class:`~affect_book.trainer.TrainConfig` together
with the fingerprints of the train, validation and test sets, so editing a dataset's labels or images gives a new
run instead of returning the old one. Files: ``config.json``, ``log.csv``, ``checkpoint.pt`` (after each epoch,
removed when the run finishes), ``best_model.pt``, ``predictions.npz`` and ``result.json``, the "finished" marker,
written last. A file that cannot be read (truncated, garbage) is reported by name, renamed to
``<name>.corrupt-<n>`` and the run rebuilt from what is still valid. A file this user may not read is not damage:
it raises a one-line PermissionError naming it and nothing is moved. Loading a finished run writes nothing
(:func:`load_finished` with ``repair=False``), so a read-only cache loads; a finished record whose scores are not
finite is refused (:class:`NonFiniteMetrics`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..cache import is_denied, atomic_write_bytes, config_hash, permission_error
from ..data.base import dataset_fingerprint

__all__ = ["CHECKPOINT_KEYS", "RESULT_KEYS", "NonFiniteMetrics", "RunResult", "TrainingDiverged", "load_checkpoint",
           "load_finished", "move_aside", "nonfinite_metrics", "rng_state", "run_key", "save_torch", "set_rng_state",
           "write_log"]

#: What a checkpoint and a finished record must hold to be used.
CHECKPOINT_KEYS = ("model", "optimiser", "scheduler", "rng", "epoch", "history", "best_epoch", "best_score")
RESULT_KEYS = ("history", "best_epoch", "val_metrics", "test_metrics", "has_predictions")


class TrainingDiverged(RuntimeError):
    """The loss or the weights became non-finite: the run stopped, no result was recorded."""


class NonFiniteMetrics(ValueError):
    """A finished run records a score that is NaN or infinite; the message names its folder and the metrics.

    Parameters
    ----------
    run_dir : Path
        The run's folder (kept as ``run_dir``).
    bad : list of str
        ``"<split> <metric> = <value>"`` for each non-finite score (kept as ``bad``).
    """

    def __init__(self, run_dir: Path, bad: list[str]):
        self.run_dir, self.bad = Path(run_dir), list(bad)
        super().__init__(f"finished run {self.run_dir} records non-finite scores ({', '.join(self.bad)}): its "
                         f"result cannot be used; delete the folder to train the run again")


#: The metrics of one task: NaN by design (:func:`affect_book.metrics.mtl_score`) when the task is not scored, i.e.
#: not among the terms of P_MTL (``p_mtl_terms``).
_TASK_METRICS = {"P_VA": ("p_va", "ccc_valence", "ccc_arousal"), "P_EXPR": ("p_expr", "accuracy"),
                 "P_AU": ("p_au",)}


def nonfinite_metrics(metrics: dict) -> list[str]:
    """The numeric scores of ``metrics`` that are NaN or infinite and should not be.

    Every number must be finite except the metrics of a task that is not scored: with ``p_mtl_terms``
    (e.g. ``"P_VA + P_EXPR"``), those of the tasks it does not name (``p_au`` there); without it, the task metrics
    (P_MTL, their sum, is checked either way).

    Parameters
    ----------
    metrics : dict
        Metric name to value (numbers and labels such as ``p_mtl_terms``), as in ``result.json``.

    Returns
    -------
    list of str
        The offending names, in the dict's order (empty when all is well).
    """
    terms = metrics.get("p_mtl_terms")
    scored = {t.strip() for t in terms.split("+")} if isinstance(terms, str) else set(_TASK_METRICS)
    optional = {m for task, names in _TASK_METRICS.items() if task not in scored or not isinstance(terms, str)
                for m in names}
    bad = []
    for name, value in metrics.items():
        if isinstance(value, (str, bool)) or value is None and name in optional:
            continue
        try:
            finite = math.isfinite(float(value))
        except (TypeError, ValueError):
            finite = False
        if not finite and name not in optional:
            bad.append(name)
    return bad


@dataclass
class RunResult:
    """A finished run, trained now or loaded from its ``result.json``.

    Parameters
    ----------
    run_dir : Path
        The run's folder.
    config_hash : str
        Hash of the :class:`~affect_book.trainer.TrainConfig` alone (``run_key`` adds the data).
    history : list of dict
        One row per epoch: ``epoch`` (from 1), ``train_<term>`` (mean training loss terms), ``val_<metric>``,
        ``lr``.
    best_epoch : int
        The epoch (from 1) with the highest validation P_MTL, whose weights are ``best_model.pt``.
    val_metrics, test_metrics : dict
        Scores of the best model (:func:`~affect_book.trainer.evaluate`); ``test_metrics`` is empty without a test
        set.
    predictions_path : Path or None
        The saved test predictions (``predictions.npz``; see :meth:`predictions`); None without a test set.
    loaded_from_cache : bool
        True when the run was found finished on disk rather than trained by this call.
    images_per_second : float
        Training images per second of wall time over the epochs this process trained (NaN when it trained none
        or the record does not say).
    run_key : str or None
        The name of the run's folder (config hash and data fingerprints).
    """

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
    _check_readable(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # garbage gives UnpicklingError, RuntimeError, EOFError, zipfile errors...
        return _unreadable(err)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return "does not hold a state dict of tensors"
    return None


def _readable_npz(path: Path) -> str | None:
    """None when every array of the ``.npz`` at ``path`` can be read, else what is wrong."""
    _check_readable(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            for k in f.files:
                f[k]
    except Exception as err:
        return _unreadable(err)
    return None


def _check_readable(path: Path) -> None:
    """Raise a one-line PermissionError naming ``path`` when this user may not read it (not damage: it must not be
    moved aside, it may be another user's finished run)."""
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        if is_denied(err):
            raise permission_error(path, "read", "to load the finished run", err) from None


def load_finished(folder: Path, log: Callable[[str], None] = print, repair: bool = True) -> dict | None:
    """The finished record of the run in ``folder`` when it and the files it names are readable, else None.

    With ``repair``, a truncated or malformed ``result.json``, or a ``best_model.pt`` / ``predictions.npz`` that
    cannot be read, is moved aside with a report naming it (:func:`move_aside`); ``result.json`` is then moved aside
    too, since the run it records is no longer complete, and the caller trains again. Without ``repair`` nothing
    is written or reported: None says "not usable as it is" (the caller may then repair under the run's lock).

    Parameters
    ----------
    folder : Path
        The run's folder.
    log : callable
        Receives the reports.
    repair : bool
        Move damaged files aside (needs write access to the folder).

    Returns
    -------
    dict or None
        The parsed ``result.json`` (keys :data:`RESULT_KEYS`, maybe ``images_per_second``), or None.

    Raises
    ------
    NonFiniteMetrics
        The record's test or validation scores hold NaN or infinity (:func:`nonfinite_metrics`), naming the folder
        and the metrics; nothing is moved.
    PermissionError
        A file of the run cannot be read by this user (one line naming it); nothing is moved.
    """
    done = folder / "result.json"
    if not done.is_file():
        return None
    _check_readable(done)
    try:
        info = json.loads(done.read_text())
        missing = [k for k in RESULT_KEYS if k not in info] if isinstance(info, dict) else list(RESULT_KEYS)
        problem = f"lacks {missing}" if missing else None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        problem = f"is not valid JSON (truncated or corrupt: {err})"
    if problem:
        if repair:
            move_aside(done, problem, log)
        return None
    bad = [f"{split} {name} = {metrics[name]!r}" for split, key in (("test", "test_metrics"), ("val", "val_metrics"))
           if isinstance(metrics := info[key], dict) for name in nonfinite_metrics(metrics)]
    if bad:
        raise NonFiniteMetrics(folder, bad)
    files = [("best_model.pt", _readable_state_dict)]
    if info["has_predictions"]:
        files.append(("predictions.npz", _readable_npz))
    for name, check in files:
        path = folder / name
        problem = check(path) if path.is_file() else "is missing"
        if problem:
            if not repair:
                return None
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
