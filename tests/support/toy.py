"""A learnable toy data set for the trainer's tests (imported by the test modules and their worker scripts)."""

import numpy as np

from affect_book.data import ArrayDataset
from affect_book.trainer import TrainConfig

CLASSES = ("Neutral", "Happy", "Sad", "Anger")


def toy(n, seed, size=16):
    """Learnable toy images: the class sets the mean brightness of one colour channel; labels partly missing."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    images = rng.integers(0, 60, (n, size, size, 3)).astype(np.uint8)
    images[np.arange(n), :, :, y % 3] += np.uint8(120)
    va = np.stack([np.where(y == 1, 0.8, -0.4), np.where(y == 3, 0.7, 0.0)], 1) + rng.normal(0, 0.1, (n, 2))
    va = np.clip(va, -1, 1)
    va[rng.random(n) < 0.2] = np.nan
    au = rng.integers(0, 2, (n, 12))
    au[rng.random(n) < 0.3] = -1
    y[rng.random(n) < 0.1] = -1
    return ArrayDataset(images, y, va, au, [f"s{i % 7}" for i in range(n)], CLASSES, "toy")


def toy_config(**kw):
    """A tiny CPU config for the toy sets."""
    base = dict(classes=CLASSES, width=4, epochs=3, batch_size=32, lr=3e-3, device="cpu", lambda_ot=0.5, cost="va",
                profile="smoke")
    return TrainConfig(**{**base, **kw})
