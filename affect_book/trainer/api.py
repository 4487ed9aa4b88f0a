"""Load-or-train one run: :func:`train`, at the top of the trainer below its command line.

Introduced in chapter 06. ``train(config, train_set, val_set, test_set)`` returns a
:class:`~affect_book.trainer.runs.RunResult`; a finished run with the same config and the same data (the run key
hashes both, :func:`affect_book.trainer.runs.run_key`) is loaded, not retrained, and an interrupted one resumes from
its last checkpoint. A lock on the run's folder makes a second process wait for the first and then load its run; a
corrupt run file is named, moved aside and rebuilt (see :mod:`affect_book.trainer.runs`). A diverged run stops with
:class:`~affect_book.trainer.runs.TrainingDiverged`, never a "finished" run: a non-finite loss or weights, or an
epoch whose mean training loss exceeds 1000 times the run's initial loss (the first step's, floored at 1;
:data:`affect_book.trainer.loop.MAX_LOSS_RATIO`). The loss is :func:`affect_book.trainer.objective.multitask_loss`.

Optimiser: AdamW, linear warm-up then cosine decay (per step), gradient clipping. On a GPU: bf16 autocast,
channels-last, optional ``torch.compile``. On a CPU the run is deterministic for a given seed: shuffling and
augmentation (random flip and shift, :mod:`affect_book.data.batches`) draw from generators seeded by (seed, epoch),
and every RNG state is checkpointed, so a resumed run ends with the same weights as an uninterrupted one.

Several GPUs: ``torchrun --nproc_per_node=N -m affect_book.trainer --config run.json`` (DistributedDataParallel,
NCCL on GPU, gloo on CPU); every rank draws the same global permutation and takes its own slice of each batch.
Each rank normalizes its masked loss terms over its own slice, as per-GPU batches do, and the CCC term is computed
per rank; BatchNorm becomes SyncBatchNorm on GPUs (it cannot on CPUs, where ``norm="group"`` makes the small CNN
independent of the batch split).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch

from ..cache import cache_root, config_hash, file_lock
from ..losses import EXPRESSION_LOSSES
from .config import TrainConfig, cost_tensor, validate_config
from .loop import fit, recorded_divergence
from .runs import RunResult, load_finished, move_aside, run_key
from .steps import rank_and_world

__all__ = ["train"]


def train(config: TrainConfig, train_set, val_set, test_set=None, root: Path | None = None,
          stop_after_epoch: int | None = None, progress: bool = True, log=print) -> RunResult:
    """Load-or-train one run.

    The run's folder is ``<root>/<run key>`` (:func:`affect_book.trainer.run_key`: the config hash and the data's
    fingerprints). A finished run there is loaded (after checking its files); otherwise training starts, or resumes
    from the last checkpoint. The folder's lock (``.lock``) is held meanwhile, so a second process asking for the
    same run waits, then loads it. A finished run is loaded without the lock and without writing anything, so a
    read-only cache (a course's pre-computed runs) loads; training or repairing a run needs write access, and a
    folder that lacks it raises a one-line PermissionError naming it.

    Parameters
    ----------
    config : TrainConfig
        The run (checked by :func:`validate_config` first).
    train_set, val_set : ArrayDataset
        Training and validation data, with ``config.classes``.
    test_set : ArrayDataset, optional
        Test data: predictions are saved for it.
    root : Path, optional
        Folder of runs (default: ``cache_root() / "runs"``).
    stop_after_epoch : int, optional
        Raise ``KeyboardInterrupt`` after that epoch (to demonstrate and test resuming; calling ``train`` again with
        the same arguments resumes the run).
    progress : bool
        Show progress: a bar per epoch where bars suit the output (:func:`affect_book.progress.progress_bar`), and
        one line of figures per epoch.
    log : callable
        Receives the per-epoch lines and the reports of corrupt run files (those are reported even when
        ``progress`` is False).

    Returns
    -------
    RunResult
        The finished run.

    Raises
    ------
    NonFiniteMetrics
        The finished run records a NaN or infinite score (named with the run's folder).
    TrainingDiverged
        A non-finite loss or non-finite weights (names the epoch, the step and the term), or an epoch's mean
        training loss above :data:`affect_book.trainer.MAX_LOSS_RATIO` (1000) times the run's initial loss, the first
        step's, floored at 1 (names the epoch and both losses); the checkpoint of the last good epoch stays, no
        ``result.json`` is written. A finished record of older code that breaks this rule is moved aside and the
        run trained again.
    """
    validate_config(config)
    for name, ds in (("train_set", train_set), ("val_set", val_set), ("test_set", test_set)):
        if ds is not None and tuple(ds.classes) != tuple(config.classes):
            raise ValueError(f"{name} has classes {list(ds.classes)}; the config expects {list(config.classes)}")
        if ds is not None and len(ds) == 0:
            raise ValueError(f"{name} is empty; a run needs images to train on and to score")
    cost = cost_tensor(config)
    counts = np.bincount(np.asarray(train_set.expression)[np.asarray(train_set.expression) >= 0],
                         minlength=len(config.classes)).astype(float)
    loss_counts = EXPRESSION_LOSSES[config.expression_loss].needs_counts
    if (loss_counts or config.sampler != "none") and (counts == 0).any():
        empty = [c for c, n in zip(config.classes, counts) if n == 0]
        what = f"expression_loss={config.expression_loss!r}" if loss_counts else f"sampler={config.sampler!r}"
        raise ValueError(f"{what} needs every class in the training set; {empty} have no labelled sample")
    key = run_key(config, train_set, val_set, test_set)
    folder = (Path(root) if root is not None else cache_root() / "runs") / key
    rank, world = rank_and_world()

    def loaded(info: dict) -> RunResult:
        return RunResult(folder, config_hash(config), info["history"], info["best_epoch"], info["val_metrics"],
                         info["test_metrics"], folder / "predictions.npz" if info["has_predictions"] else None,
                         loaded_from_cache=True, images_per_second=info.get("images_per_second", float("nan")),
                         run_key=key)

    if world == 1:  # a finished run is immutable: load it without the lock, writing nothing (read-only caches)
        info = load_finished(folder, log, repair=False)
        if info is not None and not recorded_divergence(info):  # a diverged record is moved aside under the lock
            return loaded(info)
    lock = file_lock(folder / ".lock", what=f"training run {key}") if rank == 0 else contextlib.nullcontext()
    with lock:
        if world > 1 and rank != 0:
            torch.distributed.barrier()  # rank 0 checks the run's files first (and moves corrupt ones aside)
        info = load_finished(folder, log)
        if info is not None and rank == 0:  # recorded by older code, which stopped on non-finite values only
            if reason := recorded_divergence(info):
                move_aside(folder / "result.json", reason, log)
                info = None
        if world > 1 and rank == 0:
            torch.distributed.barrier()
        if info is not None:
            return loaded(info)
        return fit(config, key, folder, train_set, val_set, test_set, stop_after_epoch, progress, log, cost, counts)
