"""Chapter 09's claims in a recorded study: the factorial run once with per-seed data draws and the seeds its
verdicts need, committed under ``docs/results/<profile>/<name>/`` beside chapter 07's grid. Introduced in chapter 09.

The recorded factorial holds what the chapter's two verdicts rest on, and nothing more (the chapter's own grid runs
every factor and fix; a recorded design may vary fewer):

- ``degeneracy-not-imbalance``: the base runs of the factorial cells, the pair's F1 regressed on the factors
  (:func:`~affect_book.analysis.factorial_effects`, standard errors clustered by seed) and
  :func:`~affect_book.analysis.degeneracy_verdict`;
- ``representations-must-separate``: in the two fix cells, the primary fix and each cost against base on the pair's
  separability (:func:`~affect_book.analysis.representation_verdict`); the visually shared cell is the negative
  control, recorded but not a verdict.

Its files are those of :func:`~affect_book.analysis.record_study`: ``results.csv`` (one row per run, with its cell,
the pair's F1 and separability), ``statistics.json`` (the effects table, both verdicts with every exact p, the
negative control, each fix cell's comparisons, the power plan) and ``provenance.json``.

**Power plan.** The degeneracy verdict rests on t tests of clustered coefficients, so its seeds come from the t test's
power (statsmodels ``TTestPower``; one seed's contribution to a coefficient has SD ``se * sqrt(seeds)``): the
circumplex part needs the seeds for 80 % power against the smallest effect of interest (the chapter's margin); the
frequency part is an equivalence test at a true effect of 0, whose seeds are those of a one-sided test at power
``1 - (1 - power) / 2`` against the margin (Julious 2004, *Statistics in Medicine* 23:1921, section 5.2). The
representation verdict rests on exact Wilcoxon tests, planned with :func:`~affect_book.stats.seeds_for_power` as
chapter 07's plan.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.power import TTestPower

from ..cache import atomic_write_bytes, config_hash, make_dirs
from ..params import ParameterError, check_choice
from ..stats import seeds_for_power, seeds_to_reach
from ..study import FactorialDesign, cell_label, factorial_cells, fix_cells, json_records, run_factorial
from ._factorial_stats import factorial_effects, factorial_outcomes, versus_reference
from ._factorial_verdicts import degeneracy_verdict, representation_verdict
from ._recorded import _design_of, _finite, _provenance, _timed, _write_json
from .verdicts import paired_by_seed

__all__ = ["FACTORIAL_CLAIMS", "factorial_power_plan", "factorial_rows", "factorial_verdicts", "record_factorial",
           "recorded_design", "recompute_factorial"]

#: The claims a recorded factorial decides.
FACTORIAL_CLAIMS = ("degeneracy-not-imbalance", "representations-must-separate")


def factorial_rows(design: FactorialDesign, frame: pd.DataFrame) -> pd.DataFrame:
    """The base runs of the factorial's own cells (a fix cell outside the crossed factors is left out, so that it
    does not unbalance the design).

    Parameters
    ----------
    design : FactorialDesign
    frame : DataFrame
        A factorial table (:func:`~affect_book.study.run_factorial`).

    Returns
    -------
    DataFrame
    """
    labels = {cell_label(c) for c in factorial_cells(design)}
    return frame[(frame["condition"] == "base") & frame["cell"].isin(labels)]


def factorial_verdicts(design: FactorialDesign, frame: pd.DataFrame, *, primary_fix: str, costs: Sequence[str],
                       frequency_margin: float, separability_margin: float, alpha: float = 0.05) -> dict:
    """Chapter 09's verdicts from one factorial table with its outcomes.

    Parameters
    ----------
    design : FactorialDesign
    frame : DataFrame
        :func:`~affect_book.study.run_factorial` with :func:`~affect_book.analysis.factorial_outcomes`.
    primary_fix : str
        The representation fix the verdict tests.
    costs : sequence of str
        The cost conditions it is compared with.
    frequency_margin, separability_margin : float
        The equivalence margins (the chapter's stated assumptions).
    alpha : float

    Returns
    -------
    dict
        ``effects`` (the pair-F1 effects table), ``verdicts`` (claim id to verdict, each with ``n``: the seeds it
        rests on), ``negative_control`` (the representation test in the visually shared cell, or None) and
        ``not_tested`` (a claim or the control that could not be tested, with the reason, e.g. no seed with a
        measured separability).
    """
    out = {"verdicts": {}, "negative_control": None, "effects": None, "not_tested": {}}
    if {"circumplex", "frequency"} <= set(design.vary):
        effects = factorial_effects(factorial_rows(design, frame), "pair_f1")
        verdict = degeneracy_verdict(effects, frequency_margin, alpha)
        verdict["n"] = int(effects.attrs["n_clusters"])
        out["effects"] = effects
        out["verdicts"]["degeneracy-not-imbalance"] = verdict
    labels = [cell_label(c) for c in fix_cells()]
    if primary_fix in frame["condition"].unique():
        try:
            out["verdicts"]["representations-must-separate"] = representation_verdict(
                frame, labels[0], primary_fix, costs, separability_margin, alpha=alpha)
        except ParameterError as err:  # e.g. no seed with a measured separability: said, not dropped in silence
            out["not_tested"]["representations-must-separate"] = str(err)
        try:
            out["negative_control"] = representation_verdict(frame, labels[1], primary_fix, costs,
                                                             separability_margin, alpha=alpha)
        except ParameterError as err:
            out["not_tested"]["negative control"] = str(err)
    return out


def _t_seeds(effect: float, sd: float, alpha: float, power: float, max_seeds: int = 400) -> float:
    """The fewest seeds (2 or more) for a one-sided one-sample t test (df = seeds - 1) to reach ``power`` at
    ``effect`` / ``sd`` (statsmodels ``TTestPower.power``, scanned upward); inf beyond ``max_seeds``, NaN without a
    spread."""
    if not (np.isfinite(sd) and sd > 0):
        return float("nan")
    n = np.arange(2, max_seeds + 1)
    reached = TTestPower().power(effect_size=effect / sd, nobs=n, alpha=alpha, alternative="larger") >= power
    return float(n[np.argmax(reached)]) if reached.any() else float("inf")


def factorial_power_plan(design: FactorialDesign, frame: pd.DataFrame, verdicts: dict, *, primary_fix: str,
                         costs: Sequence[str], frequency_margin: float, separability_margin: float,
                         alpha: float = 0.05, power: float = 0.8, n_draws: int = 20_000,
                         max_seeds: int = 400) -> pd.DataFrame:
    """The seeds each part of chapter 09's verdicts needs, from the table's own spread (see the module docstring).

    Parameters
    ----------
    design : FactorialDesign
    frame : DataFrame
        The factorial table with its outcomes.
    verdicts : dict
        :func:`factorial_verdicts`'s ``verdicts``.
    primary_fix, costs, frequency_margin, separability_margin, alpha :
        As :func:`factorial_verdicts`.
    power : float
        Target power.
    n_draws, max_seeds : int
        Of :func:`~affect_book.stats.seeds_for_power`.

    Returns
    -------
    DataFrame
        ``claim``, ``part``, ``test``, ``effect of interest``, ``pilot n``, ``pilot sd`` (of one seed's
        contribution), ``seeds for power``, ``seeds for the contrary``, ``seeds needed``, ``pilot decides``.
    """
    rows = []
    if "degeneracy-not-imbalance" in verdicts:
        effects = factorial_effects(factorial_rows(design, frame), "pair_f1")
        n = int(effects.attrs["n_clusters"])
        table = effects.set_index("term")
        for part, kind in (("circumplex", "directional"), ("frequency", "equivalence")):
            sd = float(table.loc[part, "se"]) * math.sqrt(n)
            target = power if kind == "directional" else 1 - (1 - power) / 2
            needed = _t_seeds(frequency_margin, sd, alpha, target, max_seeds)
            rows.append({"claim": "degeneracy-not-imbalance", "part": f"{part} effect on pair_f1",
                         "test": "t, clustered by seed", "effect of interest": frequency_margin, "pilot n": n,
                         "pilot sd": sd, "seeds for power": needed, "seeds for the contrary": 2.0,
                         "seeds needed": needed, "pilot decides": bool(n >= needed)})
    if "representations-must-separate" in verdicts:
        label = cell_label(fix_cells()[0])
        contrary = seeds_to_reach(alpha, "greater", parts=len(costs) + 1)  # every part's contrary is one-sided
        for condition in (primary_fix, *costs):
            _, d = paired_by_seed(frame.assign(preset=frame["cell"]), label, condition, "base", "pair_separability")
            d = d[np.isfinite(d)]
            sd = float(np.std(d, ddof=1)) if d.size > 1 else float("nan")
            if condition == primary_fix:
                options, shift = {"test": "shift", "alternative": "greater"}, separability_margin
            else:
                options, shift = {"test": "equivalence", "margin": separability_margin}, 0.0
            try:
                needed = float(seeds_for_power(shift, sd, power=power, alpha=alpha, max_seeds=max_seeds,
                                               n_draws=n_draws, **options)) if np.isfinite(sd) and sd > 0 \
                    else float("nan")
            except ValueError:
                needed = float("inf")
            total = max(needed, float(contrary)) if not np.isnan(needed) else float(contrary)
            rows.append({"claim": "representations-must-separate", "part": f"{condition}-base pair_separability",
                         "test": "exact Wilcoxon" if condition == primary_fix else "exact TOST",
                         "effect of interest": separability_margin, "pilot n": int(d.size), "pilot sd": sd,
                         "seeds for power": needed, "seeds for the contrary": float(contrary),
                         "seeds needed": total, "pilot decides": bool(d.size >= total)})
    return pd.DataFrame(rows)


def record_factorial(design: FactorialDesign, out: str | os.PathLike, *, command: str, primary_fix: str,
                     costs: Sequence[str], frequency_margin: float = 0.05, separability_margin: float = 0.05,
                     alpha: float = 0.05, n_draws: int = 20_000, **run_options) -> Path:
    """Run (or load) a factorial design and record chapter 09's verdicts on it under ``out``.

    Parameters
    ----------
    design : FactorialDesign
        The design; ``data_draw="per_seed"`` for a recorded study (each seed its own data).
    out : path
        The folder, e.g. ``docs/results/cpu/factorial``.
    command : str
        The command line that made it (provenance).
    primary_fix : str
        The representation fix the verdict tests; it must run in the fix cells (``design.fixes`` or
        ``design.conditions``).
    costs : sequence of str
        The cost conditions compared with it (they must run in the fix cells).
    frequency_margin, separability_margin : float
        The equivalence margins: chapter 09's stated assumptions (0.05 each).
    alpha : float
    n_draws : int
        Monte Carlo draws of each exact test's power in the plan.
    **run_options
        Passed to :func:`~affect_book.study.run_factorial` (``executor``, ``workers``, ``progress``).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ParameterError
        A fix or a cost that does not run in the fix cells.
    """
    fix_conditions = (*design.conditions, *design.fixes)
    for name in (primary_fix, *costs):
        check_choice("fix or cost", name, fix_conditions)
    if not costs:
        raise ParameterError("costs is empty; expected the cost conditions the fix is compared with, e.g. "
                             "('circumplex', 'uniform')")
    out = Path(out)
    make_dirs(out)
    frame, started, source, wall = _timed(lambda: run_factorial(design, **run_options))
    frame = factorial_outcomes(design, frame)
    options = {"primary_fix": primary_fix, "costs": tuple(costs), "frequency_margin": frequency_margin,
               "separability_margin": separability_margin, "alpha": alpha}
    result = factorial_verdicts(design, frame, **options)
    plan = factorial_power_plan(design, frame, result["verdicts"], n_draws=n_draws, **options)
    for claim, verdict in result["verdicts"].items():
        needed = plan.loc[plan["claim"] == claim, "seeds needed"]
        verdict["seeds_planned"] = float(needed.max()) if len(needed) else None
    fixes = versus_reference(frame, [cell_label(c) for c in fix_cells()], (primary_fix, *costs),
                             ("pair_separability", "pair_f1", "p_mtl"))
    rows = frame.drop(columns=["run_dir"], errors="ignore")
    atomic_write_bytes(out / "results.csv", rows.to_csv(index=False).encode())
    payload = {"kind": "factorial", "alpha": alpha, **{k: v for k, v in options.items() if k != "alpha"},
               "effects": None if result["effects"] is None else json_records(result["effects"]),
               "verdicts": _finite(result["verdicts"]), "negative_control": _finite(result["negative_control"]),
               "not_tested": result["not_tested"],
               "fix_comparisons": json_records(fixes), "power_plan": json_records(plan)}
    _write_json(out / "statistics.json", payload)
    config = dataclasses.asdict(design)
    _write_json(out / "provenance.json", _provenance(config, command, started, wall, frame, out / "provenance.json",
                                                     key=config_hash(config), source=source))
    return out


def recorded_design(recorded) -> FactorialDesign:
    """The :class:`~affect_book.study.FactorialDesign` a recorded factorial was made with (from its provenance).

    Parameters
    ----------
    recorded : RecordedStudy
        :func:`~affect_book.analysis.load_recorded` of a factorial.

    Returns
    -------
    FactorialDesign
    """
    return _design_of(recorded, "factorial", FactorialDesign, "record_factorial")


def recompute_factorial(recorded) -> dict:
    """Chapter 09's verdicts recomputed from a recorded factorial's rows, with the options it was recorded with.

    Parameters
    ----------
    recorded : RecordedStudy

    Returns
    -------
    dict
        As :func:`factorial_verdicts`.
    """
    stored = recorded.statistics
    return factorial_verdicts(recorded_design(recorded), recorded.results, primary_fix=stored["primary_fix"],
                              costs=tuple(stored["costs"]), frequency_margin=stored["frequency_margin"],
                              separability_margin=stored["separability_margin"], alpha=stored["alpha"])
