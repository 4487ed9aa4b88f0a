"""Channels-last against channels-first memory on the CPU, for one run of chapter 07's study, measured in one run.

The study's runs on the CPU (``cpu`` profile: the small CNN, width 8, at 48 px, one torch thread per process) spend
their time in the convolutions, max-pooling and batch norm of the backbone. oneDNN vectorises pooling and batch norm
over channels when the tensors are channels-last, so ``TrainConfig.channels_last`` (default True) applies on the CPU
as on a CUDA GPU. This benchmark trains the same run (chapter 07's ``circumplex`` condition on the ``affwild2``
preset, seed 0, the profile's study sizes) with ``channels_last`` True and False, alternating ``--repeats`` times
(the machine may be shared: alternating spreads its noise over both), and prints:

1. the training throughput of each (``RunResult.images_per_second``, training steps only) and the ratio of the
   medians, channels-last over channels-first (> 1: channels-last is faster);
2. the two runs' test P_MTL: the same computation in another memory order, so they differ only by floating-point
   rounding carried through training (not a target; printed so a reader sees the size).

Usage: ``python benchmarks/bench_memory_format.py [--profile cpu] [--epochs 1] [--repeats 3] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import torch

from affect_book.study import StudyConfig, expand_study, run_splits
from affect_book.trainer import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of each timed run")
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the two memory formats")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: as each of a study's worker processes on 2 cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = expand_study(StudyConfig(presets=("affwild2",), conditions=("circumplex",), seeds=(0, 1),
                                   profile=args.profile, device="cpu"))[0]
    splits = run_splits(run)
    print(f"run: {run.condition} on {run.preset}, seed {run.seed}, profile {args.profile}: "
          f"{len(splits['train'])} train images at {splits['train'].images.shape[1]} px, width {run.config.width}, "
          f"batch {run.config.batch_size}, "
          f"{args.epochs} epoch(s) per timed run, {torch.get_num_threads()} torch thread(s)")
    rates: dict[bool, list[float]] = {True: [], False: []}
    scores: dict[bool, float] = {}
    for _ in range(args.repeats):
        for flag in (True, False):
            config = dataclasses.replace(run.config, epochs=args.epochs, channels_last=flag)
            with tempfile.TemporaryDirectory() as root:
                result = train(config, splits["train"], splits["val"], splits["test"], root=Path(root),
                               progress=False)
            rates[flag].append(result.images_per_second)
            scores[flag] = result.test_metrics["p_mtl"]
    last, first = float(np.median(rates[True])), float(np.median(rates[False]))
    for flag, name in ((True, "channels-last"), (False, "channels-first")):
        print(f"{name}: {', '.join(f'{r:.0f}' for r in rates[flag])} images/s (median "
              f"{float(np.median(rates[flag])):.0f})")
    pairs = ", ".join(f"{a / b:.3f}" for a, b in zip(rates[True], rates[False]))
    print(f"channels-last / channels-first, pair by pair: {pairs}; medians: {last / first:.3f}")
    print(f"test P_MTL after {args.epochs} epoch(s): channels-last {scores[True]:.4f}, channels-first "
          f"{scores[False]:.4f} (difference {scores[True] - scores[False]:+.4f}: rounding only)")
    np.testing.assert_(np.isfinite(last / first))


if __name__ == "__main__":
    main()
