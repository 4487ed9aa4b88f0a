"""Chapter 09's verdicts on the rebuilt factorial (:class:`affect_book.study.NearnessDesign`), wired from its rows.

- ``degeneracy-not-imbalance``: :func:`nearness_path_verdicts` tests, per path, whether nearness lowers the pair's F1
  with frequency held fixed (:func:`nearness_effects` on the dose cells' base runs, :func:`nearness_verdict`); the
  claim rests on the path ``both`` (the real benchmarks carry both), the single paths are reported, and a path the
  design does not carry is "not testable here".
- ``representations-must-separate``: :func:`fix_cell_verdicts` runs :func:`representation_verdict` on the pair's
  **F1** in every fix cell, naming each cell's role: the primary partly shared cell is the claim, the fully shared
  cell the negative control, the others reported.
- The degeneracy index (:mod:`affect_book.degeneracy`, computed before training) beside the base model's per-class
  F1 in the design's cells: :func:`nearness_index_frame`.
- Dominance: :func:`pair_distances` (the pair's distance with and without dominance, from
  :mod:`affect_book.circumplex`) and :func:`dominance_comparison` (the ``vad`` cost against ``base`` and against
  ``circumplex`` in the fix cells, paired by seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import circumplex as cx
from ..params import ParameterError
from ..study import NearnessDesign, nearness_cell_config, nearness_cells, nearness_label
from ._factorial_stats import cell_index_rows, versus_reference
from ._factorial_verdicts import representation_verdict
from ._nearness import PATHS, floor_table, nearness_effects, nearness_verdict

__all__ = ["NOT_CARRIED", "dominance_comparison", "dose_rows", "fix_cell_verdicts", "nearness_index_frame",
           "nearness_path_verdicts", "pair_distances"]

#: Why a path does not reach the data when its knob is off (the reason of a "not testable here" verdict).
NOT_CARRIED = {"annotation": "annotation_noise is 0: the annotator never confuses a label, so the pair's distance "
                             "cannot reach the expression labels",
               "appearance": "appearance_weight is 0: the faces do not depend on the pair's distance",
               "both": "one of the two paths is off (annotation_noise or appearance_weight is 0), so the arm with "
                       "both carries one path only"}


def _check(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"the table lacks the column(s) {missing}; expected the rows of "
                             f"affect_book.study.run_nearness")


def dose_rows(frame: pd.DataFrame, condition: str = "base") -> pd.DataFrame:
    """The dose cells' runs of one condition (the rows the nearness verdicts rest on).

    Parameters
    ----------
    frame : DataFrame
        From :func:`affect_book.study.run_nearness`.
    condition : str

    Returns
    -------
    DataFrame
    """
    _check(frame, ("kind", "condition", "path", "distance", "frequency", "seed"))
    return frame[(frame["kind"] == "dose") & (frame["condition"] == condition)].reset_index(drop=True)


def nearness_path_verdicts(frame: pd.DataFrame, carried: Mapping[str, bool], smallest_effect: float, *,
                           alpha: float = 0.05, outcome: str = "pair_f1",
                           floor: float | None = None) -> dict[str, dict]:
    """``degeneracy-not-imbalance`` per path: does nearness lower ``outcome`` with frequency held fixed?

    Parameters
    ----------
    frame : DataFrame
        From :func:`affect_book.study.run_nearness` (the dose cells' base runs are used).
    carried : mapping
        Path -> whether the design's data carry it (:attr:`affect_book.study.NearnessDesign.carried`).
    smallest_effect : float
        The smallest rise of ``outcome`` from the nearest to the farthest distance that matters (> 0).
    alpha : float
    outcome : str
    floor : float, optional
        Leave out each path's frequency levels whose base ``outcome`` (mean over seeds) stays below ``floor`` at
        every distance (:func:`~affect_book.analysis.off_floor`; e.g. :data:`~affect_book.analysis.PAIR_F1_FLOOR`);
        a path at the floor at every level is "not testable here". Default: every level is used.

    Returns
    -------
    dict
        Path -> :func:`nearness_verdict` (with ``control`` = "frequency", ``outcome``, ``levels`` (the frequency
        levels the verdict rests on) and ``at_floor`` (those left out)), for every path the rows have, in
        :data:`PATHS` order; a path not carried is "not testable here" with its :data:`NOT_CARRIED` reason, one at
        the floor everywhere with the means that put it there.
    """
    rows = dose_rows(frame)
    if rows.empty:
        raise ParameterError("the table has no base run in a dose cell; expected the rows of run_nearness")
    effects = nearness_effects(rows, outcome=outcome, floor=floor)
    table = floor_table(rows, floor, outcome=outcome) if floor is not None else None
    out = {}
    for path in PATHS:
        if path not in set(rows["path"]):
            continue
        levels = sorted(set(rows.loc[rows["path"] == path, "frequency"]))
        at_floor = [] if table is None else [c for c in levels if table.loc[(path, c), "at floor"]]
        kept = [c for c in levels if c not in at_floor]
        is_carried, reason = bool(carried.get(path, False)), NOT_CARRIED[path]
        if is_carried and not kept:
            means = {c: [round(float(x), 4) for x in table.loc[(path, c)].drop("at floor")] for c in levels}
            is_carried, reason = False, (f"at a floor: the base model's {outcome} (mean over seeds) stays below "
                                         f"{floor} at every distance at every frequency level {means}, so nearness "
                                         f"has nothing to lower")
        v = nearness_verdict(effects, path, smallest_effect, alpha=alpha, carried=is_carried, reason=reason)
        out[path] = {**v, "control": "frequency", "outcome": outcome, "levels": kept, "at_floor": at_floor}
    return out


def fix_cell_verdicts(frame: pd.DataFrame, fix: str, costs: Sequence[str], margin: float, *,
                      primary_visual: float = 0.5, control_visual: float = 1.0, alpha: float = 0.05,
                      smallest_effect: float | None = None, floor: float | None = None) -> pd.DataFrame:
    """``representations-must-separate`` on the pair's F1 in every fix cell, each with its role.

    Parameters
    ----------
    frame : DataFrame
        From :func:`affect_book.study.run_nearness`.
    fix : str
        The primary representation fix (named before the run).
    costs : sequence of str
        The cost conditions that should stay within ``margin`` of base.
    margin : float
        Equivalence margin of a cost's effect on the pair's F1 (F1 units).
    primary_visual : float
        The visual overlap of the cell the claim rests on (a partly shared one, named before the run).
    control_visual : float
        The fully shared cell: the negative control (nothing should move the pair's F1 there).
    alpha : float
    smallest_effect : float, optional
        Of :func:`representation_verdict` (default ``margin``).
    floor : float, optional
        A cell where every condition's mean pair F1 (over seeds) stays below ``floor`` is not tested (nothing moved
        the pair there, so "the costs stay within the margin" would only repeat the floor); default: every cell is
        tested.

    Returns
    -------
    DataFrame
        One row per fix cell, by visual overlap: ``cell``, ``visual``, ``role`` ("claim", "negative control",
        "reported"), ``base_f1`` (the base runs' mean pair F1), ``verdict`` (the :func:`representation_verdict`
        dict, or None) and ``error`` (why it could not be tested, or "").
    """
    _check(frame, ("kind", "cell", "visual", "condition", "seed", "pair_f1"))
    cells = frame[frame["kind"] == "fix"].drop_duplicates("cell").sort_values("visual")
    out = []
    for cell, visual in zip(cells["cell"], cells["visual"]):
        role = ("claim" if np.isclose(visual, primary_visual) else
                "negative control" if np.isclose(visual, control_visual) else "reported")
        means = frame[frame["cell"] == cell].groupby("condition")["pair_f1"].mean()
        try:
            if floor is not None and (means < floor).all():
                raise ParameterError(f"at a floor: every condition's mean pair F1 stays below {floor} "
                                     f"({ {k: round(float(x), 4) for k, x in means.items()} })")
            v, error = representation_verdict(frame, cell, fix, costs, margin, metric="pair_f1", alpha=alpha,
                                              smallest_effect=smallest_effect), ""
        except ParameterError as err:
            v, error = None, str(err)
        out.append({"cell": cell, "visual": float(visual), "role": role,
                    "base_f1": float(means.get("base", np.nan)), "verdict": v, "error": error})
    return pd.DataFrame(out, columns=["cell", "visual", "role", "base_f1", "verdict", "error"])


def pair_distances(pair: Sequence[str], source: str = "russell1977") -> dict[str, float]:
    """The pair's distance on the published circumplex, in valence-arousal and in valence-arousal-dominance.

    Parameters
    ----------
    pair : (str, str)
    source : str
        A published coordinate set with dominance (:data:`affect_book.circumplex.COORDINATE_SETS`).

    Returns
    -------
    dict
        ``va``, ``vad`` (Euclidean distances) and ``dominance`` (the signed dominance gap, a - b).
    """
    c = cx.coordinates(list(pair), source, placement=cx.DEFAULT_PLACEMENT)
    c.require_complete("the pair's valence-arousal-dominance distance", dims=3)
    a, b = c.vad
    return {"va": float(np.linalg.norm(a[:2] - b[:2])), "vad": float(np.linalg.norm(a - b)),
            "dominance": float(a[2] - b[2])}


def dominance_comparison(frame: pd.DataFrame, cells: Sequence[str], metric: str = "pair_f1",
                         references: Sequence[str] = ("base", "circumplex")) -> pd.DataFrame:
    """The ``vad`` cost against each reference in each cell, paired by seed (exact two-sided Wilcoxon,
    Hodges-Lehmann shift with its exact interval; :func:`versus_reference`).

    Parameters
    ----------
    frame : DataFrame
        From :func:`affect_book.study.run_nearness`.
    cells : sequence of str
        Cell labels (the fix cells).
    metric : str
    references : sequence of str

    Returns
    -------
    DataFrame
        :func:`versus_reference`'s rows with ``reference``; empty when nothing could be compared (e.g. no ``vad``).
    """
    parts = [versus_reference(frame, cells, ("vad",), (metric,), reference=r).assign(reference=r)
             for r in references if {"vad", r} <= set(frame["condition"])]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def nearness_index_frame(design: NearnessDesign, frame: pd.DataFrame, *, paths: Sequence[str] = ("both",),
                         n_probe: int = 480, seed: int = 0) -> pd.DataFrame:
    """The degeneracy index of the design's cells (computed before training) beside the base model's F1: the dose
    cells of ``paths`` and every fix cell.

    Parameters
    ----------
    design : NearnessDesign
    frame : DataFrame
        From :func:`affect_book.study.run_nearness`.
    paths : sequence of str
        The dose cells' paths included (default: ``both``, the benchmark-like one).
    n_probe, seed : int
        The probe's images (:func:`affect_book.data.simulator.probe_split`) and its fold shuffle
        (:func:`affect_book.degeneracy.degeneracy_components`).

    Returns
    -------
    DataFrame
        One row per (cell, class): ``class``, the components, ``degeneracy_index``, ``cell`` and ``f1`` (the cell's
        base runs' test F1 of the class, mean over seeds).
    """
    rows = [cell_index_rows(nearness_label(cell), nearness_cell_config(design, cell), frame, n_probe=n_probe,
                            seed=seed)
            for cell in nearness_cells(design) if cell["kind"] != "dose" or cell["path"] in paths]
    return pd.concat(rows, ignore_index=True)
