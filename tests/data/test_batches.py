"""Batch augmentation (used by the trainer): flips and shifts against NumPy references."""

import numpy as np
import torch

from affect_book.data.batches import flip_images, random_crop, shift_images


def test_flip_and_shift_match_numpy():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (5, 3, 7, 9), dtype=np.uint8))
    flip = [True, False, True, True, False]
    ref = np.stack([im[:, :, ::-1] if f else im for im, f in zip(images.numpy(), flip)])
    assert np.array_equal(flip_images(images, torch.tensor(flip)).numpy(), ref)
    offsets = np.array([[0, 0], [2, -1], [-3, 4], [7, 0], [-1, -9]])
    pad = 10
    padded = np.pad(images.numpy(), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ref = np.stack([padded[i, :, pad + dy:pad + dy + 7, pad + dx:pad + dx + 9] for i, (dy, dx) in enumerate(offsets)])
    assert np.array_equal(shift_images(images, torch.from_numpy(offsets)).numpy(), ref)


def test_random_crop_is_a_shift_by_its_draws():
    images = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).reshape(2, 1, 6, 6)
    out = random_crop(images, padding=2, generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    oy, ox = torch.randint(0, 5, (2,), generator=g), torch.randint(0, 5, (2,), generator=g)
    assert torch.equal(out, shift_images(images, torch.stack([oy, ox], 1) - 2))


def test_to_numpy_converts_tensors_frames_and_lists():
    import pandas as pd

    from affect_book.arrays import to_numpy

    t = torch.tensor([1.5, -2.0], dtype=torch.bfloat16, requires_grad=True)
    assert to_numpy(t).dtype == np.float32 and to_numpy(t).tolist() == [1.5, -2.0]
    assert to_numpy(torch.tensor([1, 2])).dtype == np.int64
    assert to_numpy(pd.Series([1, 2]), dtype=float).tolist() == [1.0, 2.0]
    assert to_numpy([[1, 2]]).shape == (1, 2)
