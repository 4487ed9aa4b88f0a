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
representation fixes included) from them; the data of one cell are generated once (16 cells: 16 times). From the same
four runs it projects the rebuilt design (:class:`affect_book.study.NearnessDesign` at the profile's defaults).

With ``--power``, it chooses the study size by power per CPU-minute (issue 21): for each candidate size
(``--candidates``, ``n_train:image_size:epochs`` triples; the rest of the study size from the profile) it trains
``base`` and ``circumplex`` on ``--seeds`` pilot seeds of the preset (each seed draws its own data, the study's
``data_draw="per_seed"``) on a local pool of ``--workers`` processes (default 2) in the same fresh temporary cache, and
reports, from these measurements alone (:func:`power_table`):

- wall seconds of the candidate's 2K runs and per run (wall / runs), and CPU-seconds per run =
  wall x workers / runs (each worker holds a core: cores // workers torch threads); the per-seed data generation
  is inside the seed's first run, so it is shared by 2 runs here against 2 x conditions in the grid (an upper bound);
- the mean and SD (ddof 1, over seeds) of the paired circumplex - base differences of test P_MTL and P_EXPR;
- the seeds the budget affords for chapter 07's grid: floor(budget_minutes x 60 x cores / (CPU-seconds per run x
  grid runs per seed)), grid runs per seed = 2 presets x chapter 07's conditions by default (capped at
  ``--max-seeds`` for the power figures);
- per metric the minimum detectable effect at 80 % power with that many seeds (one-sided exact signed-rank test,
  :func:`affect_book.stats.minimum_detectable_effect` with ``alternative="greater"``), the power at ``--effect`` with
  them (:func:`affect_book.stats.paired_power`) and the seeds needed for ``--effect``
  (:func:`affect_book.stats.seeds_for_power`; NaN beyond ``--max-seeds``);

- the level the base model reaches at that size: its mean test P_MTL and P_EXPR and the mean F1 of the preset's
  rare classes (chapter 02's rule), so that a size whose spread is small only because the model is at a floor
  (it never learns the rare classes, so no cost can move them) is seen as such;

- whether the calibrated presets still meet their calibration criteria at that size
  (:func:`affect_book.study.calibration_run`: the ``base`` runs of each preset on the calibration seeds and data
  draw, at the candidate's n_train, image size and epochs, scored on test against the published per-class target;
  skipped with ``--no-calibration``);

then names the eligible candidate with the smallest MDE on P_EXPR within the budget (ties: the cheaper) and says
whether it is the profile's current study size; a candidate whose base model scores the rare classes below
``--min-rare-f1`` (default 0.05, an assumption) is not eligible, nor is one at which a calibrated preset misses its
criteria (the presets were calibrated at the study size; at another size the study would train a simulator that
no longer matches the published scores it was calibrated to). A pilot of K seeds estimates an SD with about
sqrt(1 / (2 (K - 1))) relative error (41 % at K = 4): the choice ranks candidates, it does not certify a power.
The ranking also assumes that the effect of interest is the same at every size; the base levels printed beside it
are the check of that assumption.

Usage: ``python benchmarks/bench_study.py [--profile cpu] [--preset affwild2] [--n-train N] [--image-size S]
[--epochs E] [--width W] [--sweep-seeds 2] [--factorial]``, or ``python benchmarks/bench_study.py --power
[--profile cpu] [--preset affwild2] [--candidates 6000:48:8,12000:48:8,12000:40:6,20000:48:8] [--seeds 4]
[--workers 2] [--budget-minutes 30] [--cores 2] [--grid-runs-per-seed N] [--alpha 0.05] [--effect E]
[--max-seeds 400]`` (a smoke check of the path: ``--power --profile smoke --candidates 128:32:1,256:32:1
--seeds 2``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import shutil
import tempfile
import time

import numpy as np
import pandas as pd

from affect_book.profiles import get_profile
from affect_book.stats import minimum_detectable_effect, paired_power, seeds_for_power
from affect_book.data.simulator import TARGETS
from affect_book.study import (CHAPTER_CONDITIONS, DEFAULT_CONDITIONS, DEFAULT_LAMBDAS, StudyConfig, calibration_run,
                               chapter_conditions, run_study)
from affect_book.analysis import SMALLEST_EFFECT, study_rare_classes

#: The metrics whose circumplex - base difference sizes the study.
POWER_METRICS = ("p_mtl", "p_expr")
#: The default candidates of ``--power``: the cpu profile's study size, two cheaper and one larger.
DEFAULT_CANDIDATES = "6000:48:8,12000:48:8,12000:40:6,20000:48:8"


def _grid_runs(presets: int, conditions: int, seeds: int, lambdas: int, sweep_seeds: int) -> int:
    return presets * conditions * seeds + lambdas * presets * sweep_seeds


def parse_candidates(text: str) -> list[tuple[int, int, int]]:
    """``"n_train:image_size:epochs,..."`` as a list of integer triples."""
    out = []
    for item in text.split(","):
        parts = item.strip().split(":")
        if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
            raise ValueError(f"candidate {item!r}: expected n_train:image_size:epochs, three positive integers")
        out.append(tuple(int(p) for p in parts))
    return out


def power_table(measured: list[dict], *, budget_minutes: float, cores: int, grid_runs_per_seed: int, effect: float,
                alpha: float = 0.05, power: float = 0.8, max_seeds: int = 400, current=None,
                n_draws: int = 20_000, min_rare_f1: float = 0.0) -> tuple[pd.DataFrame, int | None]:
    """The power-per-CPU-minute table of ``--power`` from measured seconds and paired differences, and its choice.

    Parameters
    ----------
    measured : list of dict
        One per candidate: ``n_train``, ``image_size``, ``epochs``, ``runs`` (runs trained), ``workers`` (processes
        of the pool), ``wall_s`` (wall seconds of those runs), ``load_avg`` (1-min load average after them) and, per
        metric of :data:`POWER_METRICS`, ``d_<metric>``: the circumplex - base differences, one per seed; optionally
        ``base_<metric>`` (the base runs' values) and ``base_rare_f1`` (the base runs' mean F1 of the rare
        classes), reported as their means, and ``calibrated``: a dict preset -> whether the calibrated preset still
        meets every calibration criterion at this size (:func:`affect_book.study.calibration_run`, test split).
    budget_minutes, cores : float, int
        The CPU budget: ``budget_minutes`` of wall time on ``cores`` cores.
    grid_runs_per_seed : int
        Runs of chapter 07's grid per seed (presets x conditions).
    effect : float
        The effect whose power and required seeds are reported.
    alpha, power : float
        Level and target power of the one-sided (``"greater"``) exact signed-rank test.
    max_seeds : int
        Cap of the seeds used in the power figures (and of :func:`seeds_for_power`'s scan).
    current : (n_train, image_size, epochs), optional
        The profile's study size, flagged in the ``current`` column.
    n_draws : int
        Monte Carlo draws of the power functions (seed 0: common random numbers across candidates).
    min_rare_f1 : float
        A candidate whose base model's mean rare-class F1 (``base_rare_f1``, when measured) is below this is not
        eligible (column ``eligible``): a model at a floor on the rare classes has a small spread because nothing
        moves, not because it measures well, and no cost can change what it never learns. A candidate at which a
        calibrated preset misses its criteria (``calibrated``, when measured) is not eligible either: the presets
        were calibrated against published per-class scores at the study size, and at a size where they no longer
        match them the study would be of another simulator than the one the book describes.

    Returns
    -------
    (pandas.DataFrame, int or None)
        One row per candidate; the row index of the eligible candidate with the smallest finite ``mde_p_expr``
        (ties: the smaller ``cpu_s_per_run``), or None when no eligible candidate's budget reaches a finite MDE.
        Formulas:
        ``wall_s_per_run = wall_s / runs``; ``cpu_s_per_run = wall_s * workers / runs``;
        ``seeds_in_budget = floor(budget_minutes * 60 * cores / (cpu_s_per_run * grid_runs_per_seed))``;
        ``mde_<m> = minimum_detectable_effect(sd_<m>, min(seeds_in_budget, max_seeds), power=power, alpha=alpha,
        alternative="greater")`` (inf below the test's floor, NaN without a spread); ``power_at_effect_<m> =
        paired_power(effect, sd_<m>, n, alpha=alpha, alternative="greater")``; ``seeds_for_effect_<m> =
        seeds_for_power(effect, sd_<m>, power=power, alpha=alpha, alternative="greater", max_seeds=max_seeds)``
        (NaN when not reached).
    """
    rows = []
    for m in measured:
        cpu_s = m["wall_s"] * m["workers"] / m["runs"]
        seeds = math.floor(budget_minutes * 60 * cores / (cpu_s * grid_runs_per_seed))
        n = min(seeds, max_seeds)
        row = {"n_train": m["n_train"], "image_size": m["image_size"], "epochs": m["epochs"], "runs": m["runs"],
               "wall_s": m["wall_s"], "wall_s_per_run": m["wall_s"] / m["runs"], "cpu_s_per_run": cpu_s,
               "load_avg": m["load_avg"], "seeds_in_budget": seeds}
        for key in [f"base_{metric}" for metric in POWER_METRICS] + ["base_rare_f1"]:
            if key in m:  # the level the base model reaches at this size (a floor shows here)
                row[key] = float(np.mean(np.asarray(m[key], dtype=float)))
        for metric in POWER_METRICS:
            d = np.asarray(m[f"d_{metric}"], dtype=float)
            sd = float(np.std(d, ddof=1)) if d.size >= 2 else float("nan")
            row[f"mean_d_{metric}"] = float(d.mean()) if d.size else float("nan")
            row[f"sd_d_{metric}"] = sd
            mde = pw = need = float("nan")
            if np.isfinite(sd) and sd > 0:
                mde = (minimum_detectable_effect(sd, n, power=power, alpha=alpha, alternative="greater",
                                                 n_draws=n_draws) if n >= 1 else float("inf"))
                pw = (paired_power(effect, sd, n, alpha=alpha, alternative="greater", n_draws=n_draws)
                      if n >= 1 else 0.0)
                try:
                    need = float(seeds_for_power(effect, sd, power=power, alpha=alpha, alternative="greater",
                                                 max_seeds=max_seeds, n_draws=n_draws))
                except ValueError:  # not reached within max_seeds
                    pass
            row[f"mde_{metric}"] = mde
            row[f"power_at_effect_{metric}"] = pw
            row[f"seeds_for_effect_{metric}"] = need
        row["current"] = current is not None and (m["n_train"], m["image_size"], m["epochs"]) == tuple(current)
        calibrated = m.get("calibrated")
        row["calibrated"] = (",".join(p for p, ok in sorted(calibrated.items()) if not ok) or "all met"
                             if calibrated is not None else "not measured")
        row["eligible"] = (not (row.get("base_rare_f1", np.inf) < min_rare_f1)
                           and row["calibrated"] in ("all met", "not measured"))
        rows.append(row)
    table = pd.DataFrame(rows)
    finite = table[np.isfinite(table["mde_p_expr"]) & table["eligible"]] if len(table) else table
    best = None
    if len(finite):
        best = int(finite.sort_values(["mde_p_expr", "cpu_s_per_run"], kind="stable").index[0])
    return table, best


def power_mode(args) -> None:
    """Measure the candidates of ``--power`` and print :func:`power_table`'s table and choice."""
    prof = get_profile(args.profile)
    candidates = parse_candidates(args.candidates)
    grid_runs = args.grid_runs_per_seed or 2 * len(chapter_conditions(args.profile))
    current = (prof.study_n_train, prof.study_image_size, prof.study_epochs)
    print(f"power per CPU-minute ({args.profile}, {args.preset}): {len(candidates)} candidates x {args.seeds} seeds x "
          f"(base, circumplex) on {args.workers} processes; budget {args.budget_minutes:g} min x {args.cores} cores; "
          f"{grid_runs} grid runs per seed; effect {args.effect:g}; alpha {args.alpha:g} one-sided, 80 % power")
    measured = []
    for n_train, image_size, epochs in candidates:
        study = StudyConfig(presets=(args.preset,), conditions=("base", "circumplex"), seeds=args.seeds,
                            profile=args.profile, data={"n_train": n_train, "image_size": image_size},
                            epochs=epochs)
        start = time.perf_counter()
        table = run_study(study, workers=args.workers, progress=False)
        wall = time.perf_counter() - start
        table = table[table["preset"] == args.preset] if "preset" in table else table
        m = {"n_train": n_train, "image_size": image_size, "epochs": epochs, "runs": len(table),
             "workers": args.workers, "wall_s": wall, "load_avg": os.getloadavg()[0]}
        wide = {metric: table.pivot(index="seed", columns="condition", values=metric) for metric in POWER_METRICS}
        for metric, w in wide.items():
            m[f"d_{metric}"] = (w["circumplex"] - w["base"]).to_numpy()
            m[f"base_{metric}"] = w["base"].to_numpy()
        rare = study_rare_classes(study)[args.preset]
        base_rows = table[table["condition"] == "base"]
        m["base_rare_f1"] = base_rows[[f"f1/{c}" for c in rare]].mean(axis=1).to_numpy()
        print(f"  {n_train}:{image_size}:{epochs}: {len(table)} runs in {wall:.1f} s (data generation included), "
              f"load average {m['load_avg']:.1f}; sizes {dict(study.data)}")
        measured.append(m)
    for m in measured if args.calibration else ():  # after the timed runs, so they do not share the pool
        m["calibrated"] = {}
        for preset in sorted(TARGETS):
            cal = calibration_run(preset, {"n_train": m["n_train"], "image_size": m["image_size"]},
                                  study_options={"epochs": m["epochs"]}, workers=args.workers)
            test = cal["test"]
            m["calibrated"][preset] = bool(test["met"]["all"])
            missed = [k for k, ok in test["met"].items() if k != "all" and not ok]
            print(f"  calibration {m['n_train']}:{m['image_size']}:{m['epochs']} {preset} ({len(cal['study']['seeds'])}"
                  f" calibration seeds, test): Spearman {test['spearman']:.2f} (lowest seed "
                  f"{min(test['spearman_per_seed']):.2f}), mean |diff| {test['mean_abs_diff']:.3f}, max "
                  f"{test['max_abs_diff']:.3f}, macro {test['macro']:.3f}: "
                  + ("every criterion met" if not missed else f"MISSES {', '.join(missed)}"))
    result, best = power_table(measured, budget_minutes=args.budget_minutes, cores=args.cores,
                               grid_runs_per_seed=grid_runs, effect=args.effect, alpha=args.alpha,
                               max_seeds=args.max_seeds, current=current, min_rare_f1=args.min_rare_f1)
    for row in result[~result["eligible"]].itertuples():
        why = []
        if row.base_rare_f1 < args.min_rare_f1:
            why.append(f"its base model's rare-class F1 is {row.base_rare_f1:.3f} < --min-rare-f1 "
                       f"{args.min_rare_f1:g} (a floor: its spread is small because nothing moves)")
        if row.calibrated not in ("all met", "not measured"):
            why.append(f"the calibrated preset(s) {row.calibrated} miss their criteria at this size")
        print(f"not eligible: {row.n_train}:{row.image_size}:{row.epochs}: " + "; ".join(why))
    with pd.option_context("display.width", 250, "display.max_columns", None):
        print(result.to_string(float_format=lambda x: f"{x:.4g}"))
    if best is None:
        print("recommendation: none (no eligible candidate reaches a finite MDE on P_EXPR within the budget: too "
              "few seeds for the test's floor, or no spread of the differences measured)")
    else:
        row = result.loc[best]
        size = f"{row['n_train']}:{row['image_size']}:{row['epochs']}"
        print(f"recommendation: {size} (n_train:image_size:epochs), the smallest MDE on P_EXPR within the budget "
              f"among the eligible candidates "
              f"({row['mde_p_expr']:.4g} at {min(row['seeds_in_budget'], args.max_seeds)} seeds); "
              + ("it is the current" if row["current"] else "it is NOT the current")
              + f" {args.profile} study size {current[0]}:{current[1]}:{current[2]}")


def factorial(profile: str) -> None:
    """Measure 4 runs of chapter 09's benchmark-like cell on 2 processes and project the factorial design."""
    from affect_book.study import HOLD, FactorialDesign, NearnessDesign, factorial_studies, n_runs, nearness_studies

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
    rebuilt = nearness_studies(NearnessDesign(profile=profile))
    total, cells = sum(s.n_runs for _, s in rebuilt), len(rebuilt)
    print(f"projected rebuilt design (NearnessDesign, {profile} defaults) from the same runs: {total} runs x "
          f"{per_run:.1f} s + {cells} cells x {data_s:.1f} s of data = {(total * per_run + cells * data_s) / 60:.1f} "
          f"min (its appearance-path cells may draw their data more slowly than this cell)")


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
    parser.add_argument("--power", action="store_true", help="choose the study size by power per CPU-minute")
    parser.add_argument("--candidates", default=DEFAULT_CANDIDATES,
                        help=f"--power: n_train:image_size:epochs triples (default {DEFAULT_CANDIDATES})")
    parser.add_argument("--seeds", type=int, default=4, help="--power: pilot seeds per candidate (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="--power: local processes (default 2)")
    parser.add_argument("--budget-minutes", type=float, default=30.0, help="--power: wall minutes (default 30)")
    parser.add_argument("--cores", type=int, default=2, help="--power: cores of the budget (default 2)")
    parser.add_argument("--grid-runs-per-seed", type=int, default=None,
                        help="--power: default 2 presets x the profile's chapter-07 conditions (chapter_conditions)")
    parser.add_argument("--alpha", type=float, default=0.05, help="--power: one-sided level (default 0.05)")
    parser.add_argument("--effect", type=float, default=SMALLEST_EFFECT,
                        help=f"--power: effect of interest (default SMALLEST_EFFECT = {SMALLEST_EFFECT:g})")
    parser.add_argument("--max-seeds", type=int, default=400, help="--power: cap of the seeds (default 400)")
    parser.add_argument("--min-rare-f1", type=float, default=0.05,
                        help="--power: a candidate whose base model's mean rare-class F1 is below this is not "
                             "eligible (default 0.05, an assumption: near 0 is a floor)")
    parser.add_argument("--no-calibration", dest="calibration", action="store_false",
                        help="--power: skip the calibration check of each candidate (5 calibration seeds x 2 presets "
                             "of base runs per candidate)")
    args = parser.parse_args()
    get_profile(args.profile)  # a bad name fails here, before any work
    if args.power:
        parse_candidates(args.candidates)  # a bad candidate fails here, before any work
    data = {k: v for k, v in (("n_train", args.n_train), ("image_size", args.image_size)) if v is not None}
    os.environ["AFFECT_BOOK_CACHE"] = tempfile.mkdtemp(prefix="bench-study-")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at the start")
    if args.power:
        power_mode(args)
        print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")
        return
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
                             ("chapter 07's (with vad and the two readings)", CHAPTER_CONDITIONS),
                             ("chapter 07's cpu default", chapter_conditions("cpu"))):
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
