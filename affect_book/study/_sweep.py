"""The lambda sweep: the OT weight chosen once, for the circumplex cost, on the validation split.

The study's matched-scale comparison fixes one ``lambda_ot`` for every cost condition; it is chosen here on the
validation split (never the test split) from a small sweep of circumplex runs, each cached like any run, so the
sweep and its choice are reproducible and cost nothing the second time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pandas as pd

from ..cache import config_hash
from ..params import ParameterError, check_number
from ._config import StudyConfig, study_dir
from ._run import run_study
from ._table import write_results

__all__ = ["DEFAULT_LAMBDAS", "TUNING_FIRST_SEED", "lambda_sweep", "tuning_seeds"]

#: A small log-spaced sweep around the trainer's default weight; it holds every weight a chapter uses (chapter 09's
#: factorial trains at 0.5).
DEFAULT_LAMBDAS = (0.1, 0.3, 0.5, 1.0, 3.0)
#: The first seed of the lambda tuning: the sweep runs on seeds 1000, 1001, ..., disjoint from every verdict's seeds
#: (0 .. n-1) and from the simulator's calibration seeds (100-104), each drawing its own data.
TUNING_FIRST_SEED = 1000


def tuning_seeds(n: int) -> tuple[int, ...]:
    """The lambda tuning's ``n`` seeds: ``TUNING_FIRST_SEED, ..., TUNING_FIRST_SEED + n - 1``.

    Parameters
    ----------
    n : int
        How many (>= 2).

    Returns
    -------
    tuple of int
    """
    check_number("tuning seeds", n, low=2, integer=True)
    return tuple(range(TUNING_FIRST_SEED, TUNING_FIRST_SEED + n))


def lambda_sweep(study: StudyConfig, lambdas: Sequence[float] = DEFAULT_LAMBDAS, metric: str = "p_mtl",
                 condition: str = "circumplex", **run_options) -> tuple[float, pd.DataFrame]:
    """Run ``condition`` at each ``lambda_ot`` of ``lambdas`` on the study's sources and seeds; pick the best.

    Parameters
    ----------
    study : StudyConfig
        Sources, seeds and training settings of the sweep (its conditions and lambda_ot are replaced).
    lambdas : sequence of float
        Candidate weights (> 0, distinct).
    metric : str
        Validation metric to maximize (a key of the runs' validation metrics, e.g. ``p_mtl`` or ``p_expr``),
        averaged over every source and seed.
    condition : str
        The cost condition the weight is tuned for (the study's: ``circumplex``).
    **run_options
        Passed to :func:`run_study` (``executor``, ``workers``, ``progress``, ``root``).

    Returns
    -------
    best : float
        The lambda with the largest mean validation ``metric`` (the smallest such lambda on a tie).
    table : pandas.DataFrame
        One row per (lambda, source, seed) run, with a ``lambda_ot`` column; also written atomically to
        ``cache_root()/studies/<hash of the sweep>/lambda_sweep.csv``.
    """
    lambdas = tuple(float(check_number("lambda", v, low=0)) for v in lambdas)
    if not lambdas or min(lambdas) <= 0 or len(set(lambdas)) != len(lambdas):
        raise ParameterError(f"lambdas={lambdas}: expected one or more distinct weights > 0")
    frames = []
    for value in lambdas:
        variant = dataclasses.replace(study, conditions=(condition,), lambda_ot=value)
        frame = run_study(variant, **run_options)
        frames.append(frame.assign(lambda_ot=value))
    table = pd.concat(frames, ignore_index=True)
    column = f"val/{metric}"
    if column not in table:
        valid = sorted(c[4:] for c in table if c.startswith("val/"))
        raise ParameterError(f"metric={metric!r} is not a validation metric of these runs; expected one of {valid}")
    means = table.groupby("lambda_ot")[column].mean()
    finite = means[means.map(math.isfinite)]
    if finite.empty:
        raise ValueError(f"no finite validation {metric} in the sweep; cannot choose lambda")
    best = float(finite[finite == finite.max()].index.min())
    key = {"study": dataclasses.replace(study, conditions=(condition,)), "lambdas": lambdas, "metric": metric}
    folder = study_dir(study).parent / f"sweep-{config_hash(key)}"
    write_results(table.to_dict("records"), folder / "lambda_sweep.csv")
    return best, table
