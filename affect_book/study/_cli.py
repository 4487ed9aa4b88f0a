"""``affect-book study run|report``: run a grid from the command line, and print its results table.

``study run`` writes progress to stderr and one summary line to stdout; ``study report --json`` prints
``{"rows": [...], "statistics": [...]}`` on stdout and nothing else: the raw rows, and the statistics table
(:func:`affect_book.study.study_statistics`: every condition against base and circumplex, paired by seed).
Both take the same grid options, which name the study (its hash).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence

from ..params import ParameterError
from ._conditions import CONDITIONS, NotYetSupported
from ._config import DEFAULT_CONDITIONS, StudyConfig, study_dir
from ._run import StudyFailed

__all__ = ["main"]


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
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds, >= 2 (default: the profile's)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the profile's")
    parser.add_argument("--width", type=int, default=None, help="default: the profile's")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the profile's")
    parser.add_argument("--lambda-ot", type=float, default=0.5, help="OT weight of every cost condition")
    parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE",
                        help="a data option, e.g. --data n_train=500 (JSON values)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another TrainConfig field, e.g. --set lr=0.001 (JSON values)")


def _study(args) -> StudyConfig:
    presets = tuple(args.preset) if args.preset else (("affwild2", "affectnet") if args.dataset == "synthetic"
                                                      else ())
    return StudyConfig(presets=presets, conditions=args.conditions, seeds=args.seeds, profile=args.profile,
                       dataset=args.dataset, data_root=args.data_root, data=_pairs(args.data, "--data"),
                       epochs=args.epochs, width=args.width, batch_size=args.batch_size, lambda_ot=args.lambda_ot,
                       train_options=_pairs(args.set, "--set"))


def main(argv: Sequence[str] | None = None) -> int:
    """``affect-book study run ...`` or ``affect-book study report ... [--json]``; returns the exit status.

    Ctrl-C (or SIGTERM) stops the workers and exits with 130 (143) and how to resume: the same command again loads
    the finished runs from the cache and resumes the interrupted ones from their last checkpoint.
    """
    from .._interrupts import run_command
    from ..cli import RESUME_HINTS

    return run_command("affect-book study", RESUME_HINTS["study"], lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="affect-book study",
                                     description="The controlled study: run a grid of (preset, condition, seed) "
                                                 "runs through the cache, and report its results table.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="load or train every run of the grid, then write the results table")
    _grid_options(run)
    run.add_argument("--executor", default="local", choices=("local", "slurm"))
    run.add_argument("--workers", type=int, default=None, help="local processes (default: min(cores, runs))")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    report = sub.add_parser("report", help="print the results table of a grid already run")
    _grid_options(report)
    report.add_argument("--json", action="store_true",
                        help='{"rows": [...], "statistics": [...]} on stdout, nothing else')
    report.add_argument("--rare-fraction", type=float, default=0.5,
                        help="chapter 02's rule: a class is rare below this fraction of a uniform share")
    args = parser.parse_args(argv)
    from ._table import json_records, read_results

    try:
        study = _study(args)
        if args.command == "run":
            from ._run import _summary, run_study

            with contextlib.redirect_stdout(sys.stderr):  # stdout: the summary line only
                frame = run_study(study, executor=args.executor, workers=args.workers, progress=not args.quiet)
            print(f"{_summary(frame)}; results: {study_dir(study) / 'results.csv'}")
            return 0
        frame = read_results(study_dir(study) / "results.csv")
        from ._stats import study_rare_classes, study_statistics

        with contextlib.redirect_stdout(sys.stderr):  # anything a data loader prints stays off stdout
            statistics = study_statistics(frame, study_rare_classes(study, args.rare_fraction))
    except (ParameterError, NotYetSupported, ValueError, FileNotFoundError, ImportError) as err:
        print(f"affect-book study {args.command}: {err}", file=sys.stderr)
        return 2
    except (StudyFailed, RuntimeError) as err:  # failed runs; no Slurm cluster
        print(f"affect-book study {args.command}: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"rows": json_records(frame), "statistics": json_records(statistics)}, indent=1,
                         allow_nan=False))
    else:
        import pandas as pd

        with pd.option_context("display.max_columns", 12, "display.width", 160):
            print(frame.drop(columns=["run_dir"], errors="ignore").to_string(index=False, max_cols=14))
            columns = ["source", "metric", "label", "n", "hl_estimate", "hl_low", "hl_high", "pvalue", "pvalue_holm"]
            print(statistics[[c for c in columns if c in statistics]].to_string(index=False))
    return 0
