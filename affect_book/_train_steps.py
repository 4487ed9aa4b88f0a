"""The trainer's plumbing shared by :mod:`affect_book.train`, :mod:`affect_book.fit` and the training benchmark: a
dataset's arrays, gathering a batch, the learning-rate schedule, mixed precision and the process's rank.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from .arrays import to_numpy

if TYPE_CHECKING:
    from .train import TrainConfig


def _arrays(dataset) -> dict:
    """A dataset's arrays: its (N, H, W, 3) uint8 images as they are (memory-mapped ones stay on disk; batches are
    gathered by :func:`_images`) and its labels as tensors."""
    return {"image": dataset.images, "expression": torch.from_numpy(np.asarray(dataset.expression, dtype=np.int64)),
            "va": torch.from_numpy(np.asarray(dataset.va, dtype=np.float32)),
            "au": torch.from_numpy(np.asarray(dataset.au, dtype=np.int64)),
            "index": torch.arange(len(dataset))}


def _images(images, rows) -> torch.Tensor:
    """The (B, 3, H, W) uint8 batch of ``rows`` (a tensor or slice) from (N, H, W, 3) images."""
    rows = rows if isinstance(rows, slice) else to_numpy(rows)
    batch = np.array(images[rows]) if isinstance(rows, slice) else np.take(images, rows, axis=0)  # own copies
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _schedule(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    total = config.epochs * steps_per_epoch
    warm = max(1, int(config.warmup_epochs * steps_per_epoch)) if config.warmup_epochs > 0 else 0

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
