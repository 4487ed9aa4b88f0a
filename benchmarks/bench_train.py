"""Trainer overhead and training time, measured in one run on the same in-memory tensors.

Data: the simulator's ``affwild2`` preset at a profile's sizes (``--profile``, default ``cpu``). Prints:

1. the trainer's training throughput (``RunResult.images_per_second``: training images over the seconds spent in
   training steps, validation excluded) as a ratio of a **bare loop**: the same model, batch size, shuffling order,
   multi-task loss, AdamW step, learning-rate schedule and memory format (so both runs compute the same numbers),
   with nothing else (no augmentation, clipping, loss bookkeeping, progress bar, logging or checkpointing). Bare
   epochs and trainer runs alternate ``--repeats`` times (the machine may be shared: alternating spreads its noise
   over both) and the medians are compared. Target: overhead (1 - ratio) at most 10 %.
2. the wall time of the first ``train()`` (training, per-epoch validation, checkpoints, test predictions) for the
   profile's epochs, or ``--epochs`` of them (then per epoch too, so the reader can scale it; the scaled figure is
   labelled as such, not measured).

Usage: ``python benchmarks/bench_train.py [--profile cpu] [--epochs N] [--width 32] [--max-train N]``
(``--max-train`` cuts the training split to its first N images, for a quicker check).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from affect_book.data.base import ArrayDataset
from affect_book.data.sources import load_splits
from affect_book.device import seed_everything
from affect_book.profiles import get_profile
from affect_book.trainer import (TrainConfig, batch_images, channels_last_on, dataset_arrays, lr_schedule,
                                 make_model, multitask_loss, train)


def subset(data: ArrayDataset, n: int) -> ArrayDataset:
    """The first ``n`` rows of ``data``."""
    return ArrayDataset(data.images[:n], data.expression[:n], data.va[:n], data.au[:n], data.subject[:n],
                        data.classes, data.source)


def bare_epoch(config: TrainConfig, tensors: dict, epoch: int) -> float:
    """Images per second of one epoch of the bare loop (forward, loss, backward, AdamW step), CPU."""
    seed_everything(config.seed)
    model = make_model(config)
    last = channels_last_on(config, torch.device("cpu"))  # the trainer's memory format, so both compute alike
    if last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    n = len(tensors["image"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_schedule(config, math.ceil(n / config.batch_size)))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed * 1_000_003 + epoch))
    start = time.perf_counter()
    for step in range(math.ceil(n / config.batch_size)):
        idx = order[step * config.batch_size:(step + 1) * config.batch_size]
        batch = {k: tensors[k][idx] for k in ("expression", "va", "au")}
        batch["image"] = batch_images(tensors["image"], idx)
        if last:
            batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)
        loss, _ = multitask_loss(model(batch["image"]), batch, config, None)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        scheduler.step()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--epochs", type=int, default=None, help="default: the profile's")
    parser.add_argument("--width", type=int, default=TrainConfig.width)
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=2, help="alternations of bare epoch and trainer run")
    args = parser.parse_args()
    profile = get_profile(args.profile)
    epochs = args.epochs or profile.epochs
    t0 = time.perf_counter()
    splits = load_splits("synthetic", profile=profile.name, preset="affwild2", progress=False)
    train_set = splits["train"] if args.max_train is None else subset(splits["train"], args.max_train)
    print(f"data: simulator affwild2 preset, profile {profile.name}: {len(train_set)} train, "
          f"{len(splits['val'])} val, {len(splits['test'])} test images at {profile.image_size} px "
          f"(made in {time.perf_counter() - t0:.1f} s); {torch.get_num_threads()} torch threads")
    config = TrainConfig(classes=tuple(train_set.classes), epochs=epochs, batch_size=profile.batch_size,
                         width=args.width, profile=profile.name, device="cpu", seed=0)
    tensors = dataset_arrays(train_set)
    bare_rates, trainer_rates, wall, result = [], [], None, None
    for _ in range(args.repeats):
        bare_rates.append(bare_epoch(config, tensors, 0))
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            run = train(config, train_set, splits["val"], splits["test"], root=Path(root), progress=False)
            if wall is None:
                wall, result = time.perf_counter() - start, run
        trainer_rates.append(run.images_per_second)
    bare, trained = float(np.median(bare_rates)), float(np.median(trainer_rates))
    ratio = trained / bare
    print(f"bare loop: {', '.join(f'{r:.1f}' for r in bare_rates)} images/s (median {bare:.1f}); trainer: "
          f"{', '.join(f'{r:.1f}' for r in trainer_rates)} images/s (median {trained:.1f}), {epochs} epoch(s) a run")
    pairs = ", ".join(f"{t / b:.3f}" for b, t in zip(bare_rates, trainer_rates))
    print(f"trainer / bare, pair by pair (each trainer run against the bare epoch just before it): {pairs}")
    print(f"trainer / bare (medians) = {ratio:.3f}: overhead {100 * (1 - ratio):.1f} % (target <= 10 %) -> "
          f"{'met' if ratio >= 0.9 else 'NOT met'}")
    print(f"train() wall time, {epochs} epoch(s) of {len(train_set)} images, width {config.width}, batch "
          f"{config.batch_size}: {wall:.1f} s ({wall / epochs:.1f} s per epoch incl. validation)")
    if epochs != profile.epochs or len(train_set) != len(splits["train"]):
        steps_minutes = profile.epochs * len(splits["train"]) / trained / 60
        print(f"estimate (not measured): the {profile.name} profile's {profile.epochs} epochs of "
              f"{len(splits['train'])} images at the trainer's median rate: {steps_minutes:.1f} min of training "
              f"steps, plus validation")
    print(f"best epoch {result.best_epoch}; test P_MTL {result.test_metrics['p_mtl']:.3f} "
          f"(P_EXPR {result.test_metrics['p_expr']:.3f})")
    np.testing.assert_(np.isfinite(ratio))


if __name__ == "__main__":
    main()
