"""Time of the chapter-07 grid, projected from measured runs at a profile's study size.

Measures, in a fresh temporary cache (so every run trains):

1. data: generating the simulator splits of the preset at the study size (once per source in a grid);
2. serial: a ``base`` and a ``circumplex`` run one after the other in this process (all cores to torch); prints
   seconds per run and the ``base`` run's test F1 of the rare classes (chapter 02's rule), so a size that leaves
   the rare classes at F1 0 is visible;
3. parallel: two other runs (the next seed) at once on a local process pool of 2 workers (cores // 2 threads each);
   prints the ratio serial / parallel time for the same amount of work (above 1: processes pay);
4. the projected grid time: runs x (parallel seconds per 2 runs) / 2 for the cpu profile's grid
   (presets x conditions x seeds, plus the lambda sweep: lambdas x presets x sweep seeds), and on a GPU, when one
   is present, from one measured GPU run (one process on the GPU); else it says the GPU was not measured.

Every figure is a measurement on this machine as it is now (load average printed): on a shared machine they are
upper bounds of what an idle one gives. The serial runs use the torch threads this process has (``OMP_NUM_THREADS``
or torch's default), printed beside them; the temporary cache is removed at the end.

With ``--factorial``, it measures chapter 09's factorial grid instead: four runs (base and circumplex, two seeds)
of its benchmark-like cell on a pool of 2 processes at the factorial's size for the profile
(:data:`affect_book.study.FACTORIAL_DATA`), and projects the whole design (every cell's conditions x seeds, the
representation fixes included) from them; the data of one cell are generated once (16 cells: 16 times).

Usage: ``python benchmarks/bench_study.py [--profile cpu] [--preset affwild2] [--n-train N] [--image-size S]
[--epochs E] [--width W] [--sweep-seeds 2] [--factorial]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
import time

from affect_book.profiles import get_profile
from affect_book.study import CHAPTER_CONDITIONS, DEFAULT_CONDITIONS, DEFAULT_LAMBDAS, StudyConfig, run_study
from affect_book.analysis import study_rare_classes


def _grid_runs(presets: int, conditions: int, seeds: int, lambdas: int, sweep_seeds: int) -> int:
    return presets * conditions * seeds + lambdas * presets * sweep_seeds


def factorial(profile: str) -> None:
    """Measure 4 runs of chapter 09's benchmark-like cell on 2 processes and project the factorial design."""
    from affect_book.study import HOLD, FactorialDesign, factorial_studies, n_runs

    design = FactorialDesign(profile=profile)
    cell_study = next(s for c, s in factorial_studies(design) if c == HOLD)
    probe = dataclasses.replace(cell_study, conditions=("base", "circumplex"), seeds=(0, 1))
    start = time.perf_counter()
    study_rare_classes(probe)  # generates the cell's splits
    data_s = time.perf_counter() - start
    start = time.perf_counter()
    run_study(probe, workers=2, progress=False)
    per_run = (time.perf_counter() - start) / 4
    total = n_runs(design)
    cells = len(factorial_studies(design))
    sizes = {k: v for k, v in probe.data if k in ("n_train", "n_val", "n_test", "image_size")}
    print(f"factorial ({profile}): sizes {sizes}, epochs {probe.epochs}; one cell's data {data_s:.1f} s; "
          f"{per_run:.1f} s per run on 2 processes (4 runs, process start-up included)")
    print(f"projected factorial design on this machine: {total} runs x {per_run:.1f} s + {cells} cells x "
          f"{data_s:.1f} s of data = {(total * per_run + cells * data_s) / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--preset", default="affwild2")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--sweep-seeds", type=int, default=2, help="seeds of the lambda sweep (default 2)")
    parser.add_argument("--skip-parallel", action="store_true")
    parser.add_argument("--factorial", action="store_true", help="measure chapter 09's factorial grid instead")
    args = parser.parse_args()
    get_profile(args.profile)  # a bad name fails here, before any work
    data = {k: v for k, v in (("n_train", args.n_train), ("image_size", args.image_size)) if v is not None}
    os.environ["AFFECT_BOOK_CACHE"] = tempfile.mkdtemp(prefix="bench-study-")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at the start")
    if args.factorial:
        factorial(args.profile)
        print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")
        return

    def study(conditions, seeds, device="cpu"):
        return StudyConfig(presets=(args.preset,), conditions=conditions, seeds=seeds, profile=args.profile,
                           data=data, epochs=args.epochs, width=args.width, device=device)

    first = study(("base", "circumplex"), (0, 1))
    sizes = dict(first.data)
    print(f"study size ({args.profile}): {sizes}, epochs {first.epochs}, width {first.width}, "
          f"batch {first.batch_size}")
    start = time.perf_counter()
    rare = study_rare_classes(first)[args.preset]  # generates the splits
    print(f"data: {time.perf_counter() - start:.1f} s to generate {args.preset} (once per source)")

    start = time.perf_counter()
    serial = run_study(study(("base", "circumplex"), (0, 1)), workers=1, progress=False)
    serial_s = time.perf_counter() - start
    per_run = serial_s / 4
    print(f"serial: {per_run:.1f} s per run ({serial_s:.1f} s for 4 runs, one process, "
          f"{serial['torch_threads'].iloc[0]} torch threads)")
    base = serial[(serial["condition"] == "base") & (serial["seed"] == 0)].iloc[0]
    print(f"base run, seed 0: P_MTL {base['p_mtl']:.3f}, P_EXPR {base['p_expr']:.3f}; rare classes (chapter 02's "
          f"rule) test F1: " + (", ".join(f"{c} {base[f'f1/{c}']:.3f}" for c in rare) or "none rare"))
    per_run_parallel = float("inf")  # not measured (--skip-parallel)
    if not args.skip_parallel:
        start = time.perf_counter()
        run_study(study(("base", "circumplex"), (2, 3)), workers=2, progress=False)
        parallel_s = time.perf_counter() - start
        per_run_parallel = parallel_s / 4
        print(f"parallel (2 processes): {parallel_s:.1f} s for 4 runs (includes process start-up); "
              f"serial / parallel = {serial_s / parallel_s:.2f}")
    cpu = get_profile("cpu")
    best, how = min((per_run, "serial"), (per_run_parallel, "2 processes"))
    for name, conditions in (("the issue's five-condition", DEFAULT_CONDITIONS),
                             ("chapter 07's (with the two readings)", CHAPTER_CONDITIONS)):
        # the sweep's circumplex runs at the chosen lambda on its seeds are reused by the grid
        n = _grid_runs(2, len(conditions), cpu.seeds, len(DEFAULT_LAMBDAS), args.sweep_seeds) - 2 * args.sweep_seeds
        print(f"projected {args.profile}-size grid, {name}, on this machine: {n} runs trained (2 presets x "
              f"{len(conditions)} conditions x {cpu.seeds} seeds + {len(DEFAULT_LAMBDAS)} lambdas x 2 presets x "
              f"{args.sweep_seeds} sweep seeds, less the {2 * args.sweep_seeds} shared) x {best:.1f} s ({how}, the "
              f"faster) = {n * best / 60:.1f} min (+ data generation of 2 presets)")
    import torch

    if torch.cuda.is_available():
        gpu = get_profile("gpu")
        gpu_study = StudyConfig(presets=(args.preset,), conditions=("circumplex",), seeds=2, profile="gpu",
                                device="cuda")
        study_rare_classes(gpu_study)
        start = time.perf_counter()
        run_study(gpu_study, workers=1, progress=False)
        per_gpu = (time.perf_counter() - start) / 2
        n_gpu = _grid_runs(2, len(DEFAULT_CONDITIONS), gpu.seeds, len(DEFAULT_LAMBDAS), args.sweep_seeds)
        print(f"gpu ({torch.cuda.get_device_name()}): {per_gpu:.1f} s per run at the gpu study size "
              f"{dict(gpu_study.data)}, epochs {gpu_study.epochs}; projected grid {n_gpu} runs = "
              f"{n_gpu * per_gpu / 60:.1f} min")
    else:
        print("gpu: not measured (no CUDA device here)")
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    try:
        main()
    finally:  # the temporary cache holds only this bench's runs
        if os.environ.get("AFFECT_BOOK_CACHE", "").startswith(os.path.join(tempfile.gettempdir(), "bench-study-")):
            shutil.rmtree(os.environ["AFFECT_BOOK_CACHE"], ignore_errors=True)
