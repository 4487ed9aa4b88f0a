"""``affect-book train --config run.json [--set KEY=VALUE ...] [--root DIR]``: one training run from the shell (also
``python -m affect_book.trainer``, which ``torchrun`` can launch on several GPUs). The top of the trainer.

The config is read and checked completely before any data is loaded (a typo in a key costs nothing); only the
checks that need the class list wait for the data. Mistakes give one line on stderr and exit status 2; a
diverged run exits with 1; Ctrl-C exits with 130 (SIGTERM with 143) from the first line on and says how to resume
(run the same command again: the run resumes from its last checkpoint). The result is printed as JSON on stdout;
progress and notes go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..interrupts import run_command
from ..data import sources
from .api import train
from .config import TrainConfig, coerce_values, config_from_dict, parse_assignment, validate_config
from .runs import TrainingDiverged
from .steps import rank_and_world

__all__ = ["main", "read_config"]

PROG = "affect-book train"


def read_config(path: Path) -> dict[str, Any]:
    """The JSON object in the config file ``path``.

    Parameters
    ----------
    path : Path
        A JSON file holding one object of :class:`~affect_book.trainer.config.TrainConfig` fields.

    Returns
    -------
    dict
        The parsed object (not yet type-checked).

    Raises
    ------
    ValueError
        A missing or unreadable file, invalid JSON (with line and column), or JSON that is not an object.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"config file {path} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"config file {path} cannot be read: {err}") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"config file {path} is not valid JSON: {err.msg} at line {err.lineno}, column "
                         f"{err.colno}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path}: expected a JSON object of TrainConfig fields, found a "
                         f"{type(values).__name__}")
    return values


def _checked_values(config_path: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """The config file's values with the ``--set`` overrides, type-checked and validated as far as possible
    without the data (everything but the checks that need the class list)."""
    values = coerce_values(TrainConfig, read_config(config_path))
    for text in overrides:
        key, value = parse_assignment(text, TrainConfig)
        values[key] = value
    known = "classes" in values
    validate_config(TrainConfig(**{"classes": ("?", "??"), **values}), classes_known=known)
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """``affect-book train --config run.json [--set key=value ...]`` (also ``python -m affect_book.trainer``, which
    ``torchrun`` can launch on several GPUs). Loads the data named by the config, trains (or loads the cached run)
    and prints the validation and test metrics as JSON.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``train`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when training diverged, 2 for a usage or config error, 130 when interrupted (143 for
        SIGTERM).
    """
    parser = argparse.ArgumentParser(prog=PROG, description=main.__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="JSON file of TrainConfig fields; data options under 'data'")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, read by the field's type (e.g. --set lambda_ot=0.5 "
                             "--set cost=va --set augment=false)")
    parser.add_argument("--root", type=Path, default=None, help="run directory root (default: the cache)")
    args = parser.parse_args(argv)
    if args.config is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: --config is required: a JSON file of TrainConfig fields, e.g. "
              '{"dataset": "synthetic", "data": {"preset": "affwild2"}, "epochs": 3}', file=sys.stderr)
        return 2
    return run_command(PROG, "resume with the same command", lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    """Check the config, load the data, train, print the result (``main`` without the interrupt handling)."""
    try:
        values = _checked_values(args.config, args.set)
    except ValueError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    try:
        if distributed:
            torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        with contextlib.redirect_stdout(sys.stderr):  # progress and notes to stderr: stdout is the JSON result
            splits = sources.load_splits(values.get("dataset", "synthetic"), profile=values.get("profile", "cpu"),
                                         **dict(values.get("data") or ()))
            config = config_from_dict(values, splits["train"].classes)
            validate_config(config)
            result = train(config, splits["train"], splits["val"], splits["test"], root=args.root)
        if rank_and_world()[0] == 0:
            print(json.dumps({"run_dir": str(result.run_dir), "run_key": result.run_key,
                              "config_hash": result.config_hash, "best_epoch": result.best_epoch,
                              "val": result.val_metrics, "test": result.test_metrics,
                              "loaded_from_cache": result.loaded_from_cache}, indent=1, default=float))
    except TrainingDiverged as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, TimeoutError) as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    finally:
        if distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0
