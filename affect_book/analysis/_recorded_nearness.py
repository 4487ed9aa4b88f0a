"""Chapter 09's rebuilt design in a recorded study: :class:`~affect_book.study.NearnessDesign` run once with per-seed
data draws and committed under ``docs/results/<profile>/<name>/``, beside the earlier design's recorded factorial
(:mod:`affect_book.analysis._recorded_factorial`), in the same layout (:func:`~affect_book.analysis.record_study`'s
files):

- ``results.csv``: one row per run (:func:`~affect_book.study.run_nearness`'s columns, without ``run_dir``);
- ``statistics.json`` (``kind`` "nearness"): the per-seed nearness effects, the seed-clustered cross-check, the path
  decomposition, ``degeneracy-not-imbalance`` per path (the claim on ``both``), ``representations-must-separate`` on
  the pair's F1 in every fix cell with its role (the claim in the primary partly shared cell, the negative control in
  the fully shared one), the fix cells' comparisons and the dominance comparison;
- ``provenance.json``: the design, the command, the machine, the time.

The power plan (:func:`nearness_power_plan`, also in ``statistics.json``) gives, for each part of the two verdicts,
the seeds its exact test needs at 80 % power for the smallest effect of interest, from a pilot's spread (chapter 09's
own run before a recording; the recording's own rows after it), and the seeds below which its contrary cannot
reject at all.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import atomic_write_bytes, config_hash, make_dirs
from ..params import ParameterError, check_choice
from ..stats import seeds_for_power, seeds_to_reach
from ..study import NearnessDesign, json_records, run_nearness
from ._factorial_stats import versus_reference
from ._nearness import (PAIR_F1_FLOOR, PATHS, clustered_dose_response, common_level_effects, floor_table,
                        nearness_effects, off_floor, path_decomposition)
from ._nearness_verdicts import dominance_comparison, dose_rows, fix_cell_verdicts, nearness_path_verdicts
from ._recorded import _design_of, _finite, _provenance, _timed, _write_json
from .verdicts import paired_by_seed, verdict_text

__all__ = ["nearness_power_plan", "nearness_statistics", "record_nearness", "recompute_nearness",
           "recorded_nearness_design", "recorded_nearness_table"]


def nearness_statistics(design: NearnessDesign, frame: pd.DataFrame, *, primary_fix: str = "pair_margin",
                        costs: Sequence[str] = ("pair_cost", "circumplex"), smallest_effect: float = 0.05,
                        f1_margin: float = 0.05, primary_visual: float = 0.5, alpha: float = 0.05,
                        floor: float | None = PAIR_F1_FLOOR) -> dict:
    """Chapter 09's statistics and verdicts on one table of the rebuilt design.

    Parameters
    ----------
    design : NearnessDesign
        The design (which paths its data carry).
    frame : DataFrame
        :func:`~affect_book.study.run_nearness`'s rows.
    primary_fix : str
        The representation fix the verdict tests.
    costs : sequence of str
        The costs that should stay within ``f1_margin`` of base.
    smallest_effect : float
        The smallest rise of the pair's F1 over the dose range that matters (the nearness verdicts).
    f1_margin : float
        The equivalence margin of a cost's effect on the pair's F1 (and the fix's smallest effect).
    primary_visual : float
        The fix cell of the claim.
    alpha : float
    floor : float or None
        The pair F1 floor (:data:`~affect_book.analysis.PAIR_F1_FLOOR`): the nearness effects, their clustered
        cross-check and the verdicts leave out each path's frequency levels at it (:func:`~affect_book.analysis.
        off_floor`); the decomposition uses the frequency levels off the floor in all three paths; a fix cell where
        every condition is below it is not tested (:func:`~affect_book.analysis.fix_cell_verdicts`). None: every
        level and cell.

    Returns
    -------
    dict
        ``floor`` (:func:`~affect_book.analysis.floor_table`'s rows, or None), ``effects``, ``clustered``,
        ``decomposition`` (or None, with the reason in ``not_tested``), ``paths``
        (path -> verdict), ``verdicts`` (claim id -> verdict: ``degeneracy-not-imbalance`` from the ``both`` path
        when it is testable, ``representations-must-separate`` from the primary fix cell), ``fix_cells`` (cell,
        visual, role, verdict, error), ``negative_control``, ``fix_comparisons``, ``dominance`` and ``not_tested``.
    """
    out = {"verdicts": {}, "not_tested": {}, "negative_control": None}
    rows = dose_rows(frame)
    kept = off_floor(rows, floor)
    out["floor"] = None if floor is None else floor_table(rows, floor).reset_index()
    effects = nearness_effects(kept)
    out["effects"] = effects
    out["clustered"] = clustered_dose_response(kept)
    try:  # the shares compare paths, so they rest on the frequency levels every path keeps
        common_effects, common = common_level_effects(rows, floor)
        out["decomposition"] = {**path_decomposition(common_effects), "frequency levels": common}
    except (ParameterError, ValueError) as err:
        out["decomposition"] = None
        out["not_tested"]["path decomposition"] = str(err)
    out["paths"] = nearness_path_verdicts(frame, design.carried, smallest_effect, alpha=alpha, floor=floor)
    both = out["paths"].get("both")
    if both is not None and both["verdict"] != "not testable here":
        out["verdicts"]["degeneracy-not-imbalance"] = {**both, "n": both.get("n") or len(both["numbers"]["both"]
                                                                                           ["differences"])}
    else:
        out["not_tested"]["degeneracy-not-imbalance"] = (both or {}).get("reason", "the both path was not run")
    cells = fix_cell_verdicts(frame, primary_fix, costs, f1_margin, primary_visual=primary_visual, alpha=alpha,
                              floor=floor)
    out["fix_cells"] = [{"cell": r.cell, "visual": r.visual, "role": r.role, "base_f1": r.base_f1,
                         "verdict": r.verdict, "error": r.error} for r in cells.itertuples()]
    for r in out["fix_cells"]:
        if r["role"] == "claim":
            if r["verdict"] is None:
                out["not_tested"]["representations-must-separate"] = r["error"]
            else:
                out["verdicts"]["representations-must-separate"] = r["verdict"]
        elif r["role"] == "negative control":
            out["negative_control"] = r["verdict"]
    labels = list(dict.fromkeys(frame.loc[frame["kind"] == "fix", "cell"]))
    out["fix_comparisons"] = versus_reference(frame, labels, (primary_fix, *costs),
                                              ("pair_f1", "pair_confusion", "p_mtl"))
    out["dominance"] = dominance_comparison(frame, labels)
    return out


def _needed(effect: float, sd: float, options: dict, power: float, alpha: float, max_seeds: int,
            n_draws: int) -> float:
    """Seeds for ``power`` (NaN without a spread, inf beyond ``max_seeds``)."""
    if not (np.isfinite(sd) and sd > 0):
        return float("nan")
    try:
        return float(seeds_for_power(effect, sd, power=power, alpha=alpha, max_seeds=max_seeds, n_draws=n_draws,
                                     **options))
    except ValueError:  # not reached within max_seeds
        return float("inf")


def nearness_power_plan(frame: pd.DataFrame, *, carried=None, primary_fix: str = "pair_margin",
                        costs: Sequence[str] = ("pair_cost", "circumplex"), primary_visual: float = 0.5,
                        smallest_effect: float = 0.05, f1_margin: float = 0.05, alpha: float = 0.05,
                        power: float = 0.8, n_draws: int = 20_000, max_seeds: int = 400,
                        floor: float | None = PAIR_F1_FLOOR) -> pd.DataFrame:
    """The seeds each part of chapter 09's two verdicts needs, from a pilot table's own spread.

    For ``degeneracy-not-imbalance``, per path the data carry: the SD of the per-seed nearness effects
    (:func:`~affect_book.analysis.nearness_effects`) and the seeds at which the exact one-sided signed-rank test
    detects ``smallest_effect`` with ``power`` (:func:`~affect_book.stats.seeds_for_power`, normal differences with
    the pilot's SD; by symmetry the same seeds give the contrary test that power against a null effect). For
    ``representations-must-separate``, in the primary fix cell: the fix's paired difference from base on the pair's
    F1 (shift ``f1_margin``, one-sided) and each cost's (exact TOST within ``f1_margin`` at a true shift of 0). "seeds
    for the contrary" is the fewest seeds at which a contrary can reject at all (Holm over the claim's parts,
    :func:`~affect_book.stats.seeds_to_reach`); "seeds needed" the larger of the two.

    Parameters
    ----------
    frame : DataFrame
        :func:`~affect_book.study.run_nearness`'s rows (the pilot).
    carried : mapping, optional
        Path -> whether the design carries it (:attr:`~affect_book.study.NearnessDesign.carried`); a path not
        carried gets no row.
    primary_fix, costs, primary_visual, smallest_effect, f1_margin, alpha, floor :
        As :func:`nearness_statistics` (a path at the floor at every frequency level gets no row).
    power : float
        Target power.
    n_draws, max_seeds : int
        Of :func:`~affect_book.stats.seeds_for_power`.

    Returns
    -------
    DataFrame
        ``claim``, ``part``, ``test``, ``effect of interest``, ``pilot n``, ``pilot sd``, ``seeds for power``
        (NaN without a spread, inf beyond ``max_seeds``), ``seeds for the contrary``, ``seeds needed``,
        ``pilot decides`` (the pilot has that many seeds).
    """
    rows = []
    effects = nearness_effects(dose_rows(frame), floor=floor)
    floor = float(seeds_to_reach(alpha, "greater"))
    for path in [p for p in PATHS if p in set(effects["path"])]:
        if carried is not None and not carried.get(path, False):
            continue
        d = effects.loc[effects["path"] == path, "effect"].to_numpy(dtype=float)
        sd = float(np.std(d, ddof=1)) if d.size > 1 else float("nan")
        need = _needed(smallest_effect, sd, {"alternative": "greater"}, power, alpha, max_seeds, n_draws)
        total = max(need, floor) if not np.isnan(need) else floor
        rows.append({"claim": "degeneracy-not-imbalance", "part": f"nearness effect on pair_f1, {path} path"
                     + (" (the claim)" if path == "both" else ""), "test": "exact Wilcoxon",
                     "effect of interest": smallest_effect, "pilot n": int(d.size), "pilot sd": sd,
                     "seeds for power": need, "seeds for the contrary": floor, "seeds needed": total,
                     "pilot decides": bool(d.size >= total)})
    fix = frame[(frame["kind"] == "fix") & np.isclose(frame["visual"].astype(float), primary_visual)]
    if len(fix):
        label = str(fix["cell"].iloc[0])
        floor = float(seeds_to_reach(alpha, "greater", parts=len(costs) + 1))
        for condition in (primary_fix, *costs):
            if condition not in set(fix["condition"]):
                continue
            _, d = paired_by_seed(frame.assign(preset=frame["cell"], dataset=frame["cell"]), label, condition,
                                  "base", "pair_f1")
            d = d[np.isfinite(d)]
            sd = float(np.std(d, ddof=1)) if d.size > 1 else float("nan")
            if condition == primary_fix:
                need = _needed(f1_margin, sd, {"alternative": "greater"}, power, alpha, max_seeds, n_draws)
            else:
                need = _needed(0.0, sd, {"test": "equivalence", "margin": f1_margin}, power, alpha, max_seeds,
                               n_draws)
            total = max(need, floor) if not np.isnan(need) else floor
            rows.append({"claim": "representations-must-separate", "part": f"{condition}-base pair_f1 in {label}",
                         "test": "exact Wilcoxon" if condition == primary_fix else "exact TOST",
                         "effect of interest": f1_margin, "pilot n": int(d.size), "pilot sd": sd,
                         "seeds for power": need, "seeds for the contrary": floor, "seeds needed": total,
                         "pilot decides": bool(d.size >= total)})
    return pd.DataFrame(rows)


def record_nearness(design: NearnessDesign, out: str | os.PathLike, *, command: str, primary_fix: str = "pair_margin",
                    costs: Sequence[str] = ("pair_cost", "circumplex"), smallest_effect: float = 0.05,
                    f1_margin: float = 0.05, primary_visual: float = 0.5, alpha: float = 0.05,
                    floor: float | None = PAIR_F1_FLOOR, **run_options) -> Path:
    """Run (or load) the rebuilt design and record chapter 09's statistics and verdicts on it under ``out``.

    Parameters
    ----------
    design : NearnessDesign
        ``data_draw="per_seed"`` for a recorded study (each seed its own data).
    out : path
        The folder, e.g. ``docs/results/cpu/nearness``.
    command : str
        The command line that made it (provenance).
    primary_fix, costs, smallest_effect, f1_margin, primary_visual, alpha, floor :
        As :func:`nearness_statistics` (chapter 09's stated choices by default).
    **run_options
        Passed to :func:`~affect_book.study.run_nearness` (``executor``, ``workers``, ``progress``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        A fix or cost that does not run in the fix cells, or a primary cell that is not one of them.
    """
    for name in (primary_fix, *costs):
        check_choice("fix or cost", name, (*design.fix_conditions, *design.fixes))
    if not costs:
        raise ParameterError("costs is empty; expected the costs the fix is compared with, e.g. "
                             "('pair_cost', 'circumplex')")
    check_choice("primary_visual", primary_visual, design.visual_levels)
    out = Path(out)
    make_dirs(out)
    frame, started, source, wall = _timed(lambda: run_nearness(design, **run_options))
    options = {"primary_fix": primary_fix, "costs": tuple(costs), "smallest_effect": smallest_effect,
               "f1_margin": f1_margin, "primary_visual": primary_visual, "alpha": alpha, "floor": floor}
    result = nearness_statistics(design, frame, **options)
    plan = nearness_power_plan(frame, carried=design.carried, **options)
    atomic_write_bytes(out / "results.csv", frame.drop(columns=["run_dir"], errors="ignore")
                       .to_csv(index=False).encode())
    payload = {"kind": "nearness", **options, "effects": json_records(result["effects"]),
               "floor_table": None if result["floor"] is None else json_records(result["floor"]),
               "clustered": json_records(result["clustered"]), "decomposition": _finite(result["decomposition"]),
               "paths": _finite(result["paths"]), "verdicts": _finite(result["verdicts"]),
               "fix_cells": _finite(result["fix_cells"]), "negative_control": _finite(result["negative_control"]),
               "fix_comparisons": json_records(result["fix_comparisons"]),
               "dominance": json_records(result["dominance"]), "not_tested": result["not_tested"],
               "power_plan": json_records(plan)}
    _write_json(out / "statistics.json", payload)
    config = dataclasses.asdict(design)
    _write_json(out / "provenance.json", _provenance(config, command, started, wall, frame, out / "provenance.json",
                                                     key=config_hash(config), source=source))
    return out


def recorded_nearness_design(recorded) -> NearnessDesign:
    """The :class:`~affect_book.study.NearnessDesign` a recorded study was made with (from its provenance).

    Parameters
    ----------
    recorded : RecordedStudy
        :func:`~affect_book.analysis.load_recorded` of a study made by :func:`record_nearness`.

    Returns
    -------
    NearnessDesign
    """
    return _design_of(recorded, "nearness", NearnessDesign, "record_nearness")


def recompute_nearness(recorded) -> dict:
    """Chapter 09's statistics recomputed from a recorded study's rows, with the options it was recorded with.

    Parameters
    ----------
    recorded : RecordedStudy

    Returns
    -------
    dict
        As :func:`nearness_statistics`.
    """
    s = recorded.statistics
    return nearness_statistics(recorded_nearness_design(recorded), recorded.results, primary_fix=s["primary_fix"],
                               costs=tuple(s["costs"]), smallest_effect=s["smallest_effect"],
                               f1_margin=s["f1_margin"], primary_visual=s["primary_visual"], alpha=s["alpha"],
                               floor=s.get("floor"))


def recorded_nearness_table(statistics: dict, paths: dict | None = None, fix_cells: pd.DataFrame | None = None
                            ) -> pd.DataFrame:
    """A recorded nearness study's verdicts beside a reader's run: one row per path and per fix cell.

    Parameters
    ----------
    statistics : dict
        The recording's ``statistics.json`` (:func:`record_nearness`).
    paths : dict, optional
        This run's path verdicts (:func:`~affect_book.analysis.nearness_path_verdicts`); None: not run here.
    fix_cells : DataFrame, optional
        This run's fix-cell verdicts (:func:`~affect_book.analysis.fix_cell_verdicts`), matched to the recording's
        cells by their visual overlap; None: not run here.

    Returns
    -------
    DataFrame
        Indexed by ``verdict on`` (``nearness through <path>``, the claim's path marked, then ``fix cell visual <v>
        (<role>)``), with ``this run``, ``recorded``, ``recorded levels`` (a path's frequency levels off the floor;
        a fix cell's base pair F1) and ``recorded at the floor`` (a path's levels left out).
    """
    paths = paths or {}
    rows = []
    for path, v in statistics["paths"].items():
        rows.append({"verdict on": f"nearness through {path}"
                     + (" (degeneracy-not-imbalance)" if path == "both" else ""),
                     "this run": verdict_text(paths[path]) if path in paths else "not run here",
                     "recorded": verdict_text(v), "recorded levels": ", ".join(v["levels"]) or "none",
                     "recorded at the floor": ", ".join(v["at_floor"]) or "none"})
    for cell in statistics["fix_cells"]:
        here = None
        if fix_cells is not None and len(fix_cells):
            mine = fix_cells[np.isclose(fix_cells["visual"].astype(float), cell["visual"])]
            here = mine.iloc[0]["verdict"] if len(mine) else None
        rows.append({"verdict on": f"fix cell visual {cell['visual']:g} ({cell['role']})",
                     "this run": verdict_text(here) if here is not None else "not tested here",
                     "recorded": verdict_text(cell["verdict"]) if cell["verdict"] is not None
                     else f"not tested: {cell['error']}",
                     "recorded levels": f"base pair F1 {cell['base_f1']:.3f}", "recorded at the floor": ""})
    return pd.DataFrame(rows).set_index("verdict on")
