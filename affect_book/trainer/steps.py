"""The trainer's plumbing, shared by the loop (:mod:`affect_book.trainer.loop`), evaluation and the training
benchmark: a config's model, a dataset's arrays, gathering a batch, the learning-rate schedule, mixed precision and
the process's rank. Imports :mod:`affect_book.trainer.config` only.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import numpy as np
import torch

from ..arrays import to_numpy
from ..models import build_model
from .config import TrainConfig

__all__ = ["autocast", "batch_images", "channels_last_on", "dataset_arrays", "lr_schedule", "make_model",
           "rank_and_world"]


def make_model(config: TrainConfig) -> torch.nn.Module:
    """The untrained multi-task model of a config, on the CPU (seed first for a reproducible initialisation).

    Parameters
    ----------
    config : TrainConfig
        Its ``backbone``, ``classes`` (the outputs), ``weights_path``, ``width``, ``dropout`` and ``norm``.

    Returns
    -------
    torch.nn.Module
        :func:`affect_book.models.build_model`'s model for those settings.
    """
    return build_model(config.backbone, len(config.classes), weights_path=config.weights_path, width=config.width,
                       dropout=config.dropout, norm=config.norm)


def dataset_arrays(dataset) -> dict:
    """A dataset's arrays: its (N, H, W, 3) uint8 images as they are (memory-mapped ones stay on disk; batches are
    gathered by :func:`batch_images`) and its labels as tensors.

    Parameters
    ----------
    dataset : ArrayDataset
        Images and labels (:class:`~affect_book.data.base.ArrayDataset`).

    Returns
    -------
    dict
        ``image`` (the images), ``expression`` (N,) int64, ``va`` (N, 2) float32, ``au`` (N, 12) int64 and
        ``index`` (N,) (the row numbers).
    """
    return {"image": dataset.images, "expression": torch.from_numpy(np.asarray(dataset.expression, dtype=np.int64)),
            "va": torch.from_numpy(np.asarray(dataset.va, dtype=np.float32)),
            "au": torch.from_numpy(np.asarray(dataset.au, dtype=np.int64)),
            "index": torch.arange(len(dataset))}


def batch_images(images, rows) -> torch.Tensor:
    """The (B, 3, H, W) uint8 batch of ``rows`` from (N, H, W, 3) images.

    Parameters
    ----------
    images : array-like
        (N, H, W, 3) uint8 images (in memory or memory-mapped).
    rows : torch.Tensor, array-like or slice
        The rows of the batch.

    Returns
    -------
    torch.Tensor
        A contiguous copy, channels first.
    """
    rows = rows if isinstance(rows, slice) else to_numpy(rows)
    batch = np.array(images[rows]) if isinstance(rows, slice) else np.take(images, rows, axis=0)  # own copies
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes of the distributed run (``torchrun``).

    Returns
    -------
    tuple of int
        (rank, world size); (0, 1) outside a distributed run.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def lr_schedule(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate factor per optimiser step: a linear warm-up, then a cosine decay to 0 over the run.

    Parameters
    ----------
    config : TrainConfig
        Its ``epochs`` and ``warmup_epochs``.
    steps_per_epoch : int
        Optimiser steps per epoch.

    Returns
    -------
    callable
        ``factor(step)`` for ``torch.optim.lr_scheduler.LambdaLR``.
    """
    total = config.epochs * steps_per_epoch
    warm = max(1, int(config.warmup_epochs * steps_per_epoch)) if config.warmup_epochs > 0 else 0

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def channels_last_on(config: TrainConfig, device: torch.device) -> bool:
    """Whether a run keeps its images and weights in channels-last memory: ``config.channels_last`` on a CUDA GPU
    (tensor cores prefer it) and on the CPU (oneDNN's pooling and batch-norm kernels are vectorised over channels
    in it; ``benchmarks/bench_memory_format.py`` measures the ratio); not on Apple MPS.

    Parameters
    ----------
    config : TrainConfig
        Supplies ``channels_last``.
    device : torch.device
        Where the model runs.

    Returns
    -------
    bool
        True where the run converts to channels-last.
    """
    return bool(config.channels_last) and device.type in ("cuda", "cpu")


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on a CUDA device when ``enabled``, else nothing.

    Parameters
    ----------
    device : torch.device
        Where the model runs.
    enabled : bool
        ``TrainConfig.amp``.

    Returns
    -------
    context manager
        ``torch.autocast("cuda", dtype=torch.bfloat16)`` or a null context.
    """
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
