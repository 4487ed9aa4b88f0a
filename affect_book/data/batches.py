"""Fast training input from an ArrayDataset: whole batches sliced from the (memory-mapped) image array, and
augmentation done on batched tensors rather than image by image. The trainer draws its flips and shifts for a whole
epoch from a generator seeded by (seed, epoch) and applies them with :func:`flip_images` and :func:`shift_images`.

A ``DataLoader`` over single records builds one dict per image and collates them; at 112 px that costs more than
the model's input needs. :func:`iterate_batches` reads the array once per batch; :func:`random_flip` and
:func:`random_crop` transform the (B, C, H, W) uint8 batch (one tensor copy per image, no padded batch, no index
gather: measured the fastest on one core); :func:`to_float` scales it last, ideally on the training device.
``benchmarks/bench_data.py`` measures the rate.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from ..arrays import to_numpy

__all__ = ["flip_images", "iterate_batches", "random_crop", "random_flip", "shift_images", "to_float"]


def iterate_batches(dataset, batch_size: int = 256, shuffle: bool = True, seed: int = 0,
                    drop_last: bool = False, indices: np.ndarray | None = None) -> Iterator[dict]:
    """Yield batches ``{"image": (B, 3, H, W) uint8, "expression": (B,) int64, "va": (B, 2) float32,
    "au": (B, 12) int64, "index": (B,) int64}`` from an :class:`~affect_book.data.base.ArrayDataset`.

    Rows of a batch are read in increasing order (kind to memory-mapped files) and the batch keeps that order.
    Images are channels-last in memory (a view of the array, no copy beyond the batch read).

    Parameters
    ----------
    dataset : ArrayDataset
        The source of images and labels.
    batch_size : int
        Records per batch (at least 1).
    shuffle : bool
        Draw a permutation seeded by ``seed`` (else the records' order).
    seed : int
        Seed of the permutation.
    drop_last : bool
        Leave out a last, smaller batch.
    indices : np.ndarray, optional
        The records to draw from (default: all).

    Yields
    ------
    dict
        One batch, keys as above.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; expected at least 1")
    order = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64)
    if shuffle:
        order = order[np.random.default_rng(seed).permutation(len(order))]
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        rows = np.sort(order[start:start + batch_size])
        images = torch.from_numpy(np.take(dataset.images, rows, axis=0)).permute(0, 3, 1, 2)
        yield {"image": images, "expression": torch.from_numpy(dataset.expression[rows]),
               "va": torch.from_numpy(dataset.va[rows]), "au": torch.from_numpy(dataset.au[rows]),
               "index": torch.from_numpy(rows)}


def flip_images(images: torch.Tensor, flip) -> torch.Tensor:
    """Mirror left-right the images of a (B, C, H, W) batch where ``flip`` is True; returns a new batch.

    Parameters
    ----------
    images : torch.Tensor
        (B, C, H, W), any dtype.
    flip : sequence of bool or torch.Tensor
        (B,) which images to mirror.

    Returns
    -------
    torch.Tensor
        A new (B, C, H, W) batch.
    """
    flip = to_numpy(flip).astype(bool).tolist()
    out = images.clone()
    for i, do in enumerate(flip):
        if do:
            out[i] = images[i].flip(-1)
    return out


def shift_images(images: torch.Tensor, offsets) -> torch.Tensor:
    """Translate each image of a (B, C, H, W) batch, the gap filled with zeros: image i becomes the H x W window
    whose top-left corner is at ``offsets[i] = (dy, dx)`` in its own coordinates (a crop of the zero-padded image).

    Parameters
    ----------
    images : torch.Tensor
        (B, C, H, W), any dtype.
    offsets : torch.Tensor or array-like
        (B, 2) integer (dy, dx) per image; (0, 0) leaves it unchanged.

    Returns
    -------
    torch.Tensor
        A new (B, C, H, W) batch, same dtype.
    """
    b, c, h, w = images.shape
    offsets = to_numpy(offsets).astype(np.int64).reshape(b, 2).tolist()
    out = torch.zeros_like(images)
    for i, (dy, dx) in enumerate(offsets):
        y0, y1, x0, x1 = max(0, dy), min(h, h + dy), max(0, dx), min(w, w + dx)
        if y1 > y0 and x1 > x0:
            out[i, :, y0 - dy:y1 - dy, x0 - dx:x1 - dx] = images[i, :, y0:y1, x0:x1]
    return out


def random_flip(images: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each image of a (B, C, H, W) batch left-right with probability ``p``.

    Parameters
    ----------
    images : torch.Tensor
        (B, C, H, W).
    generator : torch.Generator, optional
        Source of the draws (one uniform per image).
    p : float
        Probability of a flip.

    Returns
    -------
    torch.Tensor
        A new batch (:func:`flip_images`).
    """
    return flip_images(images, torch.rand(images.shape[0], generator=generator) < p)


def random_crop(images: torch.Tensor, padding: int = 8, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random translation by up to ``padding`` pixels per image, the gap filled with zeros: the same as padding
    each image by ``padding`` zeros on every side and cutting a random H x W window (CIFAR-style crop), without
    building the padded batch.

    Parameters
    ----------
    images : torch.Tensor
        (B, C, H, W).
    padding : int
        Largest shift in pixels, per axis.
    generator : torch.Generator, optional
        Source of the offsets (drawn per image: all vertical ones, then all horizontal ones).

    Returns
    -------
    torch.Tensor
        A new (B, C, H, W) batch, same dtype (:func:`shift_images`).
    """
    if padding == 0:
        return images.clone()
    b = images.shape[0]
    oy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    ox = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    return shift_images(images, torch.stack([oy, ox], 1) - padding)


def to_float(images: torch.Tensor, mean: float | tuple = 0.5, std: float | tuple = 0.5) -> torch.Tensor:
    """uint8 (B, C, H, W) in [0, 255] -> float32 ``(x / 255 - mean) / std`` (default: [-1, 1]), computed in place
    on one float copy. On a GPU, move the uint8 batch first and convert there (4x less to transfer).

    Parameters
    ----------
    images : torch.Tensor
        (B, C, H, W) uint8.
    mean, std : float or tuple of float
        One value for all channels, or one per channel.

    Returns
    -------
    torch.Tensor
        (B, C, H, W) float32.
    """
    x = images.float()
    if isinstance(mean, (int, float)) and isinstance(std, (int, float)):
        return x.mul_(1.0 / (255.0 * std)).sub_(mean / std)
    mean = torch.as_tensor(mean, dtype=torch.float32, device=x.device).reshape(-1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32, device=x.device).reshape(-1, 1, 1)
    return x.div_(255.0).sub_(mean).div_(std)
