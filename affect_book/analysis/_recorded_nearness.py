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

No power plan yet: the recorded factorial's plan is built for its t tests and separability parts; this design's
exact tests are planned with :func:`~affect_book.stats.seeds_for_power` from its own spread once it is recorded.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..cache import atomic_write_bytes, config_hash, make_dirs
from ..params import ParameterError, check_choice
from ..study import NearnessDesign, json_records, run_nearness
from ._factorial_stats import versus_reference
from ._nearness import clustered_dose_response, nearness_effects, path_decomposition
from ._nearness_verdicts import dominance_comparison, dose_rows, fix_cell_verdicts, nearness_path_verdicts
from ._recorded import _finite, _provenance, _timed, _write_json

__all__ = ["nearness_statistics", "record_nearness", "recompute_nearness", "recorded_nearness_design"]


def nearness_statistics(design: NearnessDesign, frame: pd.DataFrame, *, primary_fix: str = "pair_margin",
                        costs: Sequence[str] = ("pair_cost", "circumplex"), smallest_effect: float = 0.05,
                        f1_margin: float = 0.05, primary_visual: float = 0.5, alpha: float = 0.05) -> dict:
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

    Returns
    -------
    dict
        ``effects``, ``clustered``, ``decomposition`` (or None, with the reason in ``not_tested``), ``paths``
        (path -> verdict), ``verdicts`` (claim id -> verdict: ``degeneracy-not-imbalance`` from the ``both`` path
        when it is testable, ``representations-must-separate`` from the primary fix cell), ``fix_cells`` (cell,
        visual, role, verdict, error), ``negative_control``, ``fix_comparisons``, ``dominance`` and ``not_tested``.
    """
    out = {"verdicts": {}, "not_tested": {}, "negative_control": None}
    rows = dose_rows(frame)
    effects = nearness_effects(rows)
    out["effects"], out["clustered"] = effects, clustered_dose_response(rows)
    try:
        out["decomposition"] = path_decomposition(effects)
    except (ParameterError, ValueError) as err:
        out["decomposition"] = None
        out["not_tested"]["path decomposition"] = str(err)
    out["paths"] = nearness_path_verdicts(frame, design.carried, smallest_effect, alpha=alpha)
    both = out["paths"].get("both")
    if both is not None and both["verdict"] != "not testable here":
        out["verdicts"]["degeneracy-not-imbalance"] = {**both, "n": both.get("n") or len(both["numbers"]["both"]
                                                                                           ["differences"])}
    else:
        out["not_tested"]["degeneracy-not-imbalance"] = (both or {}).get("reason", "the both path was not run")
    cells = fix_cell_verdicts(frame, primary_fix, costs, f1_margin, primary_visual=primary_visual, alpha=alpha)
    out["fix_cells"] = [{"cell": r.cell, "visual": r.visual, "role": r.role, "verdict": r.verdict, "error": r.error}
                        for r in cells.itertuples()]
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


def record_nearness(design: NearnessDesign, out: str | os.PathLike, *, command: str, primary_fix: str = "pair_margin",
                    costs: Sequence[str] = ("pair_cost", "circumplex"), smallest_effect: float = 0.05,
                    f1_margin: float = 0.05, primary_visual: float = 0.5, alpha: float = 0.05,
                    **run_options) -> Path:
    """Run (or load) the rebuilt design and record chapter 09's statistics and verdicts on it under ``out``.

    Parameters
    ----------
    design : NearnessDesign
        ``data_draw="per_seed"`` for a recorded study (each seed its own data).
    out : path
        The folder, e.g. ``docs/results/cpu/nearness``.
    command : str
        The command line that made it (provenance).
    primary_fix, costs, smallest_effect, f1_margin, primary_visual, alpha :
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
               "f1_margin": f1_margin, "primary_visual": primary_visual, "alpha": alpha}
    result = nearness_statistics(design, frame, **options)
    atomic_write_bytes(out / "results.csv", frame.drop(columns=["run_dir"], errors="ignore")
                       .to_csv(index=False).encode())
    payload = {"kind": "nearness", **options, "effects": json_records(result["effects"]),
               "clustered": json_records(result["clustered"]), "decomposition": _finite(result["decomposition"]),
               "paths": _finite(result["paths"]), "verdicts": _finite(result["verdicts"]),
               "fix_cells": _finite(result["fix_cells"]), "negative_control": _finite(result["negative_control"]),
               "fix_comparisons": json_records(result["fix_comparisons"]),
               "dominance": json_records(result["dominance"]), "not_tested": result["not_tested"]}
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
    if recorded.statistics.get("kind") != "nearness":
        raise ParameterError(f"{recorded.path} is not a recorded nearness design (statistics.json kind "
                             f"{recorded.statistics.get('kind')!r}); expected one made by record_nearness")
    return NearnessDesign(**{k: tuple(v) if isinstance(v, list) else v
                             for k, v in recorded.provenance["study"].items()})


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
                               f1_margin=s["f1_margin"], primary_visual=s["primary_visual"], alpha=s["alpha"])
