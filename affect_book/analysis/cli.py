"""``affect-book study run|record|record-factorial|record-nearness|tune|report``: run a grid from the command line,
record it (a recorded study under ``docs/results``, :func:`affect_book.analysis.record_study`), record chapter 09's
earlier factorial (:func:`affect_book.analysis.record_factorial`) or its rebuilt design
(:func:`affect_book.analysis.record_nearness`), record a lambda tuning, and print a results table.

It lives in :mod:`affect_book.analysis`, above :mod:`affect_book.study`, because ``report`` prints the statistics
table: the study's design and execution never import the analysis.

``study run`` writes progress to stderr and one summary line to stdout; ``study report --json`` prints
``{"rows": [...], "statistics": [...], "calibration": {...}}`` on stdout and nothing else: the raw rows, the
statistics table (:func:`affect_book.analysis.study_statistics`: every condition against base and circumplex, paired
by seed), and for the base runs of a calibrated preset chapter 03's calibration criteria
(:func:`affect_book.data.simulator.study_calibration`). Both take the same grid options, which name the study
(:func:`affect_book.study.study_key`: the order of ``--conditions``, of the presets and of explicit seeds does not
matter). A grid without a comparison (base or circumplex and another condition) gets its rows and no statistics
table, which ``report`` says on stderr. ``report`` holds the table against the grid
(:func:`affect_book.study.check_results`): a run missing, extra or repeated, or a score that is not finite, is named
and the exit status is 1. Exit status 2: invalid options; 1: failed runs, a table that does not hold the grid, a
file this user may not read or write (one line naming it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shlex
import sys
from collections.abc import Sequence

import pandas as pd

from ..data.simulator import TARGETS, study_calibration
from ..interrupts import RESUME_HINTS, run_command
from ..params import ParameterError
from ..study import (CONDITIONS, DEFAULT_CONDITIONS, FACTORS, FactorialDesign, NearnessDesign, NotYetSupported,
                     ResultsTableError, StudyConfig, StudyFailed, check_results, json_records, read_results,
                     run_study, run_summary, study_dir)
from ._recorded import record_study, record_tuning
from ._recorded_factorial import record_factorial
from ._nearness import PAIR_F1_FLOOR
from ._recorded_nearness import record_nearness
from ._stats import check_comparable, study_rare_classes, study_statistics

__all__ = ["main"]


def _integer(low: int):
    """An argparse type: an integer >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer; expected one >= {low}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected an integer >= {low}")
        return value
    return parse


def _finite(low: float, strict: bool = False):
    """An argparse type: a finite number >= ``low`` (> ``low`` when ``strict``); NaN and infinity refused."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"{text} is not valid; expected a finite number {'>' if strict else '>='} "
                                             f"{low:g}")
        return value
    return parse


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: Sequence[str], flag: str) -> dict:
    out = {}
    for text in items:
        if "=" not in text:
            raise ParameterError(f"{flag} {text!r}: expected KEY=VALUE")
        key, raw = text.split("=", 1)
        out[key] = _value(raw)
    return out


def _grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="cpu", help="smoke, cpu or gpu (default: cpu)")
    parser.add_argument("--preset", action="append", default=None,
                        help="a simulator preset; repeat for several (default: affwild2 and affectnet)")
    parser.add_argument("--dataset", default="synthetic", help="synthetic (default) or a licensed copy's source")
    parser.add_argument("--data-root", default=None, help="folder of the licensed copy (real datasets)")
    parser.add_argument("--conditions", default=",".join(DEFAULT_CONDITIONS),
                        help=f"comma-separated, among {','.join(CONDITIONS)} (default: %(default)s)")
    parser.add_argument("--seeds", type=_integer(2), default=None,
                        help="number of seeds, >= 2 (default: the profile's)")
    parser.add_argument("--first-seed", type=_integer(0), default=0,
                        help="the first seed: the grid runs seeds FIRST..FIRST+SEEDS-1 (default 0; the lambda "
                             "tuning uses its own seeds, 1000 and up)")
    parser.add_argument("--data-draw", default="per_seed", choices=("per_seed", "shared"),
                        help="per_seed (default): each seed draws its own simulated data; shared: one draw")
    parser.add_argument("--epochs", type=_integer(1), default=None, help="default: the profile's")
    parser.add_argument("--width", type=_integer(1), default=None, help="default: the profile's")
    parser.add_argument("--batch-size", type=_integer(1), default=None, help="default: the profile's")
    parser.add_argument("--lambda-ot", type=_finite(0), default=0.5,
                        help="OT weight of every cost condition (finite, >= 0)")
    parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE",
                        help="a data option, e.g. --data n_train=500 (JSON values)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another TrainConfig field, e.g. --set lr=0.001 (JSON values)")


def _study(args) -> StudyConfig:
    presets = tuple(args.preset) if args.preset else (("affwild2", "affectnet") if args.dataset == "synthetic"
                                                      else ())
    seeds = args.seeds
    if args.first_seed:
        count = seeds if seeds is not None else StudyConfig(presets=presets, profile=args.profile,
                                                            dataset=args.dataset, data_root=args.data_root).seeds
        seeds = tuple(range(args.first_seed, args.first_seed + (count if isinstance(count, int) else len(count))))
    study = StudyConfig(presets=presets, conditions=args.conditions, seeds=seeds, profile=args.profile,
                        dataset=args.dataset, data_root=args.data_root, data=_pairs(args.data, "--data"),
                        epochs=args.epochs, width=args.width, batch_size=args.batch_size, lambda_ot=args.lambda_ot,
                        train_options=_pairs(args.set, "--set"), data_draw=args.data_draw)
    return study


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _record_factorial(args, argv) -> int:
    """``study record-factorial``: chapter 09's design from the options, run and recorded."""
    costs, fixes = _names(args.costs), _names(args.fixes)
    seeds = tuple(range(args.first_seed, args.first_seed + args.seeds))
    design = FactorialDesign(preset=args.preset, vary=_names(args.vary), conditions=("base",),
                             fixes=(*costs, *fixes), seeds=seeds, profile=args.profile, lambda_ot=args.lambda_ot,
                             data=_pairs(args.data, "--data"), data_draw=args.data_draw)
    command = "affect-book study " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    with contextlib.redirect_stdout(sys.stderr):
        out = record_factorial(design, args.out, command=command, primary_fix=args.primary_fix, costs=costs,
                               frequency_margin=args.frequency_margin,
                               separability_margin=args.separability_margin, executor=args.executor,
                               workers=args.workers, progress=True)
    print(f"recorded: {out}")
    return 0


def _record_nearness(args, argv) -> int:
    """``study record-nearness``: chapter 09's rebuilt design from the options, run and recorded."""
    costs = _names(args.costs)
    seeds = tuple(range(args.first_seed, args.first_seed + args.seeds))
    visual = tuple(float(v) for v in _names(args.visual_levels)) if args.visual_levels else None
    design = NearnessDesign(preset=args.preset, appearance_weight=args.appearance_weight,
                            annotation_noise=args.annotation_noise, visual_levels=visual,
                            fix_conditions=("base", *costs, *_names(args.vad)), fixes=_names(args.fixes),
                            seeds=seeds, profile=args.profile, lambda_ot=args.lambda_ot,
                            data=_pairs(args.data, "--data"), data_draw=args.data_draw,
                            fix_frequency=args.fix_frequency)
    command = "affect-book study " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    with contextlib.redirect_stdout(sys.stderr):
        out = record_nearness(design, args.out, command=command, primary_fix=args.primary_fix, costs=costs,
                              smallest_effect=args.smallest_effect, f1_margin=args.f1_margin,
                              floor=args.floor, primary_visual=args.primary_visual, executor=args.executor,
                              workers=args.workers,
                              progress=True)
    print(f"recorded: {out}")
    return 0


def _calibration(frame, study: StudyConfig) -> dict:
    """Chapter 03's calibration criteria for the base runs of a calibrated preset in the table (none otherwise)."""
    out = {}
    if study.dataset != "synthetic" or "base" not in study.conditions:
        return out
    for preset in study.presets:
        if preset in TARGETS:
            score = study_calibration(frame, preset)
            out[preset] = {k: score[k] for k in ("metric", "scores", "spearman", "spearman_per_seed", "macro",
                                                 "max_abs_diff", "mean_abs_diff", "lowest", "met", "seeds")}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``affect-book study run ...`` or ``affect-book study report ... [--json]``; returns the exit status.

    Ctrl-C (or SIGTERM) stops the workers and exits with 130 (143) and how to resume: the same command again loads
    the finished runs from the cache and resumes the interrupted ones from their last checkpoint.

    Parameters
    ----------
    argv : sequence of str, optional
        The options after ``affect-book study`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, 1 when a run failed or the table does not hold against its grid, 2 for a usage error,
        130/143 when interrupted.
    """
    return run_command("affect-book study", RESUME_HINTS["study"], lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="affect-book study",
                                     description="The controlled study: run a grid of (preset, condition, seed) "
                                                 "runs through the cache, and report its results table.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="load or train every run of the grid, then write the results table")
    _grid_options(run)
    run.add_argument("--executor", default="local", choices=("local", "slurm"))
    run.add_argument("--workers", type=_integer(1), default=None, help="local processes (default: min(cores, runs))")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    record = sub.add_parser("record", help="run (or load) a grid and record it under --out: results.csv, "
                                           "statistics.json (every exact p, the verdicts, the power plan), "
                                           "provenance.json")
    _grid_options(record)
    record.add_argument("--out", required=True, help="the folder, e.g. docs/results/cpu/decisive")
    record.add_argument("--executor", default="local", choices=("local", "slurm"))
    record.add_argument("--workers", type=_integer(1), default=None, help="local processes")
    record.add_argument("--no-geometry", action="store_true", help="skip chapter 08's error geometry")
    factorial = sub.add_parser("record-factorial",
                               help="run (or load) chapter 09's factorial and record its two verdicts under --out: "
                                    "results.csv, statistics.json (effects, verdicts with every exact p, the "
                                    "negative control, the power plan), provenance.json")
    factorial.add_argument("--profile", default="cpu", help="smoke, cpu or gpu (default: cpu)")
    factorial.add_argument("--preset", default="affwild2", help="the preset whose designated pair is studied")
    factorial.add_argument("--vary", default="frequency,circumplex",
                           help=f"factors crossed, among {','.join(FACTORS)} (default: %(default)s: what the "
                                f"degeneracy verdict needs)")
    factorial.add_argument("--costs", default="circumplex,uniform",
                           help="cost conditions, run in the two fix cells (default: %(default)s)")
    factorial.add_argument("--fixes", default="pair_margin", help="representation fixes, run in the fix cells")
    factorial.add_argument("--primary-fix", default="pair_margin", help="the fix the verdict tests")
    factorial.add_argument("--seeds", type=_integer(2), required=True, help="seeds per cell and condition")
    factorial.add_argument("--first-seed", type=_integer(0), default=0, help="the first seed (default 0)")
    factorial.add_argument("--data-draw", default="per_seed", choices=("per_seed", "shared"),
                           help="per_seed (default): each seed draws its own data in every cell")
    factorial.add_argument("--lambda-ot", type=_finite(0), default=0.5,
                           help="OT weight of the cost conditions (default 0.5, chapter 09's)")
    factorial.add_argument("--data", action="append", default=[], metavar="KEY=VALUE",
                           help="a data option of every cell, e.g. --data n_train=5000 (JSON values)")
    factorial.add_argument("--frequency-margin", type=_finite(0, strict=True), default=0.05,
                           help="equivalence margin of the frequency effect on the pair's F1 (default 0.05)")
    factorial.add_argument("--separability-margin", type=_finite(0, strict=True), default=0.05,
                           help="equivalence margin of a cost's effect on pair separability (default 0.05)")
    factorial.add_argument("--out", required=True, help="the folder, e.g. docs/results/cpu/factorial")
    factorial.add_argument("--executor", default="local", choices=("local", "slurm"))
    factorial.add_argument("--workers", type=_integer(1), default=None, help="local processes")
    nearness = sub.add_parser("record-nearness",
                              help="run (or load) chapter 09's rebuilt design (NearnessDesign) and record its "
                                   "statistics and verdicts under --out: results.csv, statistics.json, "
                                   "provenance.json")
    nearness.add_argument("--profile", default="cpu", help="smoke, cpu or gpu (default: cpu)")
    nearness.add_argument("--preset", default="affwild2", help="the preset whose designated pair is studied")
    nearness.add_argument("--appearance-weight", type=_finite(0), default=0.75,
                          help="appearance_from_va of the appearance path (default 0.75)")
    nearness.add_argument("--annotation-noise", type=_finite(0), default=None,
                          help="annotation_noise of every cell (default: the preset's)")
    nearness.add_argument("--visual-levels", default=None,
                          help="visual_degeneracy of the fix cells, comma-separated (default: the profile's)")
    nearness.add_argument("--costs", default="pair_cost,circumplex",
                          help="costs that should stay within the margin (default: %(default)s)")
    nearness.add_argument("--vad", default="vad", help="further fix-cell conditions, reported (default: vad)")
    nearness.add_argument("--fixes", default="pair_margin", help="representation fixes of the fix cells")
    nearness.add_argument("--primary-fix", default="pair_margin", help="the fix the verdict tests")
    nearness.add_argument("--primary-visual", type=_finite(0), default=0.5, help="the fix cell of the claim")
    nearness.add_argument("--fix-frequency", default="balanced", choices=("balanced", "published"),
                          help="training frequencies of the fix cells (default: balanced)")
    nearness.add_argument("--seeds", type=_integer(2), required=True, help="seeds per cell and condition")
    nearness.add_argument("--first-seed", type=_integer(0), default=0, help="the first seed (default 0)")
    nearness.add_argument("--data-draw", default="per_seed", choices=("per_seed", "shared"),
                          help="per_seed (default): each seed draws its own data in every cell")
    nearness.add_argument("--lambda-ot", type=_finite(0), default=0.5, help="OT weight (default 0.5)")
    nearness.add_argument("--data", action="append", default=[], metavar="KEY=VALUE",
                          help="a data option of every cell (JSON values)")
    nearness.add_argument("--smallest-effect", type=_finite(0, strict=True), default=0.05,
                          help="smallest rise of the pair's F1 over the dose range that matters (default 0.05)")
    nearness.add_argument("--f1-margin", type=_finite(0, strict=True), default=0.05,
                          help="equivalence margin of a cost's effect on the pair's F1 (default 0.05)")
    nearness.add_argument("--floor", type=_finite(0), default=PAIR_F1_FLOOR,
                          help="a path's frequency level whose base pair F1 stays below this at every distance is "
                               "left out of the nearness verdicts (default %(default)s; 0 keeps every level)")
    nearness.add_argument("--out", required=True, help="the folder, e.g. docs/results/cpu/nearness")
    nearness.add_argument("--executor", default="local", choices=("local", "slurm"))
    nearness.add_argument("--workers", type=_integer(1), default=None, help="local processes")
    tune = sub.add_parser("tune", help="run (or load) the lambda sweep of the circumplex cost on its own seeds and "
                                       "record it under --out: sweep.csv, choice.json, provenance.json")
    _grid_options(tune)
    tune.add_argument("--lambdas", default="0.1,0.3,0.5,1,3",
                      help="comma-separated weights; every weight a chapter uses (default: %(default)s)")
    tune.add_argument("--out", required=True, help="the folder, e.g. docs/results/cpu/lambda")
    tune.add_argument("--executor", default="local", choices=("local", "slurm"))
    tune.add_argument("--workers", type=_integer(1), default=None, help="local processes")
    report = sub.add_parser("report", help="print the results table of a grid already run")
    _grid_options(report)
    report.add_argument("--json", action="store_true",
                        help='{"rows": [...], "statistics": [...], "calibration": {...}} on stdout, nothing else')
    report.add_argument("--rare-fraction", type=_finite(0, strict=True), default=0.5,
                        help="chapter 02's rule: a class is rare below this fraction of a uniform share")
    args = parser.parse_args(argv)
    try:
        if args.command == "record-factorial":
            return _record_factorial(args, argv)
        if args.command == "record-nearness":
            return _record_nearness(args, argv)
        study = _study(args)
        if args.command == "run":
            with contextlib.redirect_stdout(sys.stderr):  # stdout: the summary line only
                frame = run_study(study, executor=args.executor, workers=args.workers, progress=not args.quiet)
            print(f"{run_summary(frame)}; results: {study_dir(study) / 'results.csv'}")
            return 0
        command = "affect-book study " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
        if args.command == "record":
            with contextlib.redirect_stdout(sys.stderr):
                out = record_study(study, args.out, command=command, executor=args.executor, workers=args.workers,
                                   geometry=not args.no_geometry, progress=True)
            print(f"recorded: {out}")
            return 0
        if args.command == "tune":
            try:
                lambdas = [_finite(0, strict=True)(v) for v in args.lambdas.split(",") if v.strip()]
            except argparse.ArgumentTypeError as err:
                raise ParameterError(f"--lambdas {args.lambdas!r}: {err}") from None
            with contextlib.redirect_stdout(sys.stderr):
                out = record_tuning(study, lambdas, args.out, command=command, executor=args.executor,
                                    workers=args.workers, progress=True)
            print(f"recorded: {out}")
            return 0
        path = study_dir(study) / "results.csv"
        frame = check_results(read_results(path), study, path=path)
        try:
            check_comparable(study.conditions)
        except ParameterError as err:  # rows without statistics: said, never an empty table in silence
            print(f"affect-book study report: no statistics table: {err}", file=sys.stderr)
            statistics = pd.DataFrame()
        else:
            with contextlib.redirect_stdout(sys.stderr):  # anything a data loader prints stays off stdout
                statistics = study_statistics(frame, study_rare_classes(study, args.rare_fraction))
        calibration = _calibration(frame, study)
    except ResultsTableError as err:  # the data are wrong, not the options
        print(f"affect-book study {args.command}: {err}", file=sys.stderr)
        return 1
    except (ParameterError, NotYetSupported, ValueError, FileNotFoundError, ImportError) as err:
        print(f"affect-book study {args.command}: {err}", file=sys.stderr)
        return 2
    except (StudyFailed, RuntimeError, OSError) as err:  # failed runs; no Slurm cluster; a file denied (one line)
        print(f"affect-book study {args.command}: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"rows": json_records(frame), "statistics": json_records(statistics),
                          "calibration": calibration}, indent=1, allow_nan=False))
    else:
        with pd.option_context("display.max_columns", 12, "display.width", 160):
            print(frame.drop(columns=["run_dir"], errors="ignore").to_string(index=False, max_cols=14))
            columns = ["source", "metric", "label", "n", "hl_estimate", "hl_low", "hl_high", "pvalue", "pvalue_holm"]
            if not statistics.empty:
                print(statistics[[c for c in columns if c in statistics]].to_string(index=False))
        for preset, score in calibration.items():
            print(f"{preset}: base runs (seeds {score['seeds']}) against chapter 03's calibration target "
                  f"({score['metric']}): Spearman {score['spearman']:.2f}, mean |difference| "
                  f"{score['mean_abs_diff']:.3f}, largest {score['max_abs_diff']:.3f}; criteria met: {score['met']}")
    return 0
