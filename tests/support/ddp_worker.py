"""Run by tests/trainer/test_train.py (by path): a few training steps, in one process or under torchrun (gloo, CPU)."""

import os
import sys

import numpy as np
import torch

from affect_book.data import ArrayDataset
from affect_book.trainer import TrainConfig, train

CLASSES = ("Neutral", "Happy", "Sad", "Anger")


def toy(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    images = rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)
    va = rng.uniform(-1, 1, (n, 2))
    au = rng.integers(0, 2, (n, 12))
    return ArrayDataset(images, y, va, au, np.arange(n).astype(str), CLASSES, "toy")


if __name__ == "__main__":
    out = sys.argv[1]
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        torch.distributed.init_process_group("gloo")
    torch.set_num_threads(1)
    config = TrainConfig(classes=CLASSES, width=4, norm="group", epochs=2, batch_size=32, lr=3e-3, device="cpu",
                         lambda_ot=0.5, cost="va", lambda_va=0.0, lambda_au=1.0, profile="smoke")
    result = train(config, toy(128, 0), toy(32, 1), root=os.path.join(out, f"world{world}"), progress=False)
    if world == 1 or torch.distributed.get_rank() == 0:
        torch.save(result.model_state(), os.path.join(out, f"weights_world{world}.pt"))
    if world > 1:
        torch.distributed.destroy_process_group()
