"""Fast training input from an ArrayDataset: whole batches sliced from the (memory-mapped) image array, and
augmentation done on batched tensors rather than image by image.

A ``DataLoader`` over single records builds one dict per image and collates them; at 112 px that costs more than
the model's input needs. :func:`iterate_batches` indexes the array once per batch; :func:`random_flip` and
:func:`random_crop` transform the whole (B, C, H, W) uint8 batch at once; :func:`to_float` scales it last.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

__all__ = ["iterate_batches", "random_crop", "random_flip", "to_float"]


def iterate_batches(dataset, batch_size: int = 256, shuffle: bool = True, seed: int = 0,
                    drop_last: bool = False, indices: np.ndarray | None = None) -> Iterator[dict]:
    """Yield batches ``{"image": (B, 3, H, W) uint8, "expression": (B,) int64, "va": (B, 2) float32,
    "au": (B, 12) int64, "index": (B,) int64}`` from an :class:`~affect_book.data.base.ArrayDataset`.

    ``indices``: the records to draw from (default: all); ``shuffle``: a seeded permutation per call. Rows of a
    batch are read in increasing order (kind to memory-mapped files) and the batch keeps that order. Images are
    channels-last in memory (a view of the array, no copy beyond the batch read).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; expected at least 1")
    order = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64)
    if shuffle:
        order = order[np.random.default_rng(seed).permutation(len(order))]
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        rows = np.sort(order[start:start + batch_size])
        images = torch.from_numpy(np.ascontiguousarray(dataset.images[rows])).permute(0, 3, 1, 2)
        yield {"image": images, "expression": torch.from_numpy(dataset.expression[rows]),
               "va": torch.from_numpy(dataset.va[rows]), "au": torch.from_numpy(dataset.au[rows]),
               "index": torch.from_numpy(rows)}


def random_flip(images: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each image of a (B, C, H, W) batch left-right with probability ``p``."""
    flip = torch.rand(images.shape[0], generator=generator) < p
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_crop(images: torch.Tensor, padding: int = 8, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad a (B, C, H, W) batch by ``padding`` pixels of zeros on each side and cut a random H x W window per
    image (the translation augmentation of CIFAR-style training). Returns (B, C, H, W), same dtype."""
    if padding == 0:
        return images
    b, c, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding, padding, padding, padding))
    oy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    ox = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    rows = (oy[:, None] + torch.arange(h))[:, :, None]  # (B, H, 1)
    cols = (ox[:, None] + torch.arange(w))[:, None, :]  # (B, 1, W)
    batch = torch.arange(b)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # gather (B, H, W, C), back to BCHW


def to_float(images: torch.Tensor, mean: float | tuple = 0.5, std: float | tuple = 0.5) -> torch.Tensor:
    """uint8 (B, C, H, W) in [0, 255] -> float32 ``(x / 255 - mean) / std`` (default: [-1, 1])."""
    mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    return (images.float().div_(255.0) - mean) / std
