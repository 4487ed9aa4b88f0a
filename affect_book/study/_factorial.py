"""Chapter 09's factorial experiment: each possible cause of the rare-class limit varied on its own.

On the real benchmarks frequency, circumplex degeneracy and visual similarity move together, so a study on them
cannot say which one makes a rare class fail. The simulator (chapter 03) has each as its own knob. A
:class:`FactorialDesign` crosses four two-level factors on one preset's designated pair (anger-fear on ``affwild2``):

- ``frequency``: the preset's published training frequencies, or every class equally frequent (``train_proportions``;
  validation and test keep the preset's frequencies, so F1 is measured on the same class mix in every cell);
- ``circumplex``: the pair's valence-arousal centroids ``separated_distance`` apart, or ``degenerate_distance``
  apart (``pair_va_distance``; the images are untouched: only the VA labels and the OT cost see it, since the design
  keeps both circumplex paths off, ``annotation_geometry="published"`` and ``appearance_from_va=0``, whatever the
  preset says: it is the earlier design, kept as recorded; :class:`~affect_book.study.NearnessDesign` is the one
  whose nearness reaches the data);
- ``visual``: the pair's AU prototypes distinct, or blended towards their mean by ``shared_visual``
  (``visual_degeneracy``; 1 makes them identical);
- ``partner``: no third class drawn towards the pair, or the preset's ``visual_partner`` (``affwild2``: surprise drawn
  towards fear, strength 0.5).

Everything else stays as the preset's calibration, except the pair's own per-class intensity factors, which are
removed so that the pair's faces differ only as the ``visual`` factor says. Each cell is a
:class:`~affect_book.study.StudyConfig` whose OT cost is the valence-arousal distance of **that cell's** centroids
(the cost prices confusions by the geometry of the world the model sees). All cells run in one pool
(:func:`affect_book.study.run_studies`), through the load-or-train cache, so a rerun trains only what is missing and
``executor="slurm"`` sends the runs not yet cached to Slurm as one job array.

The representation fixes (``supcon``, ``pair_margin``, ``au_off``, ``au_strong``) run in two cells that differ only in
``visual``: the benchmark-like cell (:data:`HOLD`: published frequencies, degenerate circumplex, no partner) with
the pair visually distinct, where a representation can separate it, and the same cell with the pair visually shared,
where nothing should (the negative control).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..circumplex import concept_of
from ..params import ParameterError, check_choice, check_number
from ..profiles import get_profile
from ._chapter import _names
from ._conditions import _check_conditions
from ._config import StudyConfig, _pairs
from ._run import run_studies

__all__ = ["FACTORIAL_CONDITIONS", "FACTORIAL_DATA", "FACTORS", "FIX_CONDITIONS", "HOLD", "FactorialDesign",
           "cell_label", "factorial_cells", "factorial_studies", "fix_cells", "run_factorial"]

#: The factors and their two levels (the first is the reference level of every contrast).
FACTORS: dict[str, tuple[str, str]] = {"frequency": ("published", "balanced"),
                                       "circumplex": ("separated", "degenerate"),
                                       "visual": ("distinct", "shared"),
                                       "partner": ("off", "on")}
#: Where a factor stays when it is not varied, and the cells of the representation fixes (with ``visual`` at each
#: level): the benchmark-like setting, rare pair at its published frequency and degenerate on the circumplex.
HOLD: dict[str, str] = {"frequency": "published", "circumplex": "degenerate", "visual": "distinct", "partner": "off"}
#: The conditions of every cell: the base model, the circumplex cost and its uniform control.
FACTORIAL_CONDITIONS = ("base", "circumplex", "uniform")
#: The representation fixes, run in :func:`fix_cells` only.
FIX_CONDITIONS = ("supcon", "pair_margin", "au_off", "au_strong")
#: Data size of one factorial run per profile, over the profile's study sizes (``Profile.study_*``). ``cpu`` was
#: measured on 2 cores: 6,000 training images at 48 px took 19 s per run and process (two processes), about 45 min
#: for the 280 runs of the full design; at 5,000 images the whole of chapter 09 (grid, outcomes, index) took 30 min
#: 09 s from an empty cache (the book runner's record in ``docs/timings.json``), and
#: ``benchmarks/bench_study.py --factorial`` projects 35 min from four runs (process start-up included).
FACTORIAL_DATA: dict[str, dict] = {"smoke": {}, "cpu": {"n_train": 5_000},
                                   "gpu": {}}


@dataclass(frozen=True)
class FactorialDesign:
    """The factorial experiment: which factors vary, the conditions, seeds and the levels' knob values.

    Attributes
    ----------
    preset : str
        The simulator preset (it needs a designated pair and a ``visual_partner``).
    vary : tuple of str
        The factors varied (names of :data:`FACTORS`); the others stay at :data:`HOLD`.
    conditions : tuple of str
        The conditions of every cell (must hold ``base``).
    fixes : tuple of str
        The representation fixes of the two :func:`fix_cells` (may be empty).
    seeds : int, tuple or None
        As :class:`StudyConfig` (None: the profile's).
    profile : str
        ``smoke``, ``cpu`` or ``gpu``.
    lambda_ot : float
        The OT weight of the cost conditions.
    separated_distance, degenerate_distance : float
        The pair's valence-arousal distance at the two ``circumplex`` levels.
    shared_visual : float
        ``visual_degeneracy`` at the ``shared`` level, in (0, 1].
    data : tuple or dict
        Extra data options of every cell (default: :data:`FACTORIAL_DATA` of the profile).
    data_draw : {"shared", "per_seed"}
        As :class:`StudyConfig`: ``"shared"`` (chapter 09's grid, as designed and timed) draws one data set per cell
        and varies only the training with the seed; ``"per_seed"`` (the recorded factorial) draws each seed's own
        train, validation and test data in every cell, so the seed is the unit of every test.
    """

    preset: str = "affwild2"
    vary: tuple = tuple(FACTORS)
    conditions: tuple = FACTORIAL_CONDITIONS
    fixes: tuple = FIX_CONDITIONS
    seeds: int | tuple | None = None
    profile: str = "cpu"
    lambda_ot: float = 0.5
    separated_distance: float = 0.6
    degenerate_distance: float = 0.05
    shared_visual: float = 1.0
    data: tuple = ()
    data_draw: str = "shared"

    def __post_init__(self):
        from ..data.simulator import PRESETS  # deferred: the data package imports torch; the study loads without

        setattr_ = object.__setattr__
        get_profile(self.profile)
        check_choice("preset", self.preset, PRESETS)
        if not PRESETS[self.preset].get("visual_partner"):
            raise ParameterError(f"preset {self.preset!r} has no visual_partner for the partner factor; expected a "
                                 f"preset with one, e.g. 'affwild2'")
        vary = _names(self.vary)
        for name in vary:
            check_choice("vary", name, FACTORS)
        if not vary or len(set(vary)) != len(vary):
            raise ParameterError(f"vary={vary}: expected one or more different factors among {list(FACTORS)}")
        setattr_(self, "vary", tuple(f for f in FACTORS if f in vary))
        conditions = _check_conditions(self.conditions)
        if "base" not in conditions:
            raise ParameterError(f"conditions={list(conditions)} lacks 'base': every comparison is against it")
        setattr_(self, "conditions", conditions)
        fixes = _check_conditions(self.fixes) if _names(self.fixes) else ()
        setattr_(self, "fixes", tuple(f for f in fixes if f not in conditions))
        check_number("lambda_ot", self.lambda_ot, low=0)
        check_number("degenerate_distance", self.degenerate_distance, low=1e-3, high=2)
        check_number("separated_distance", self.separated_distance, low=self.degenerate_distance, high=2)
        if self.separated_distance <= self.degenerate_distance:
            raise ParameterError(f"separated_distance={self.separated_distance} must exceed degenerate_distance="
                                 f"{self.degenerate_distance}")
        check_number("shared_visual", self.shared_visual, low=1e-3, high=1)
        check_choice("data_draw", self.data_draw, ("shared", "per_seed"))
        setattr_(self, "data", _pairs({**FACTORIAL_DATA[self.profile], **dict(_pairs(self.data, "data"))}, "data"))

    @property
    def partner_class(self) -> str:
        """The class the ``partner`` factor draws towards the pair (the preset's ``visual_partner`` class)."""
        from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

        return make_config(self.preset, self.profile).visual_partner[0]

    @property
    def pair(self) -> tuple[str, str]:
        """The preset's designated pair."""
        from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

        return tuple(make_config(self.preset, self.profile).pair)


def cell_label(cell: Mapping[str, str]) -> str:
    """A cell's name: its levels in :data:`FACTORS` order, e.g. ``published/degenerate/distinct/off``.

    Parameters
    ----------
    cell : mapping
        Factor -> level.

    Returns
    -------
    str
    """
    return "/".join(cell[f] for f in FACTORS)


def factorial_cells(design: FactorialDesign) -> list[dict[str, str]]:
    """Every cell of the design: the varied factors crossed, the others at :data:`HOLD`.

    Parameters
    ----------
    design : FactorialDesign

    Returns
    -------
    list of dict
        Factor -> level, for all four factors; the first factor varies slowest.
    """
    levels = [FACTORS[f] if f in design.vary else (HOLD[f],) for f in FACTORS]
    return [dict(zip(FACTORS, combo)) for combo in itertools.product(*levels)]


def fix_cells() -> list[dict[str, str]]:
    """The two cells of the representation fixes: :data:`HOLD` with the pair visually distinct, then shared.

    Returns
    -------
    list of dict
    """
    return [dict(HOLD, visual=level) for level in FACTORS["visual"]]


def cell_knobs(design: FactorialDesign, cell: Mapping[str, str]) -> dict:
    """The simulator knobs of a cell (on top of the preset's own values).

    Parameters
    ----------
    design : FactorialDesign
    cell : mapping
        Factor -> level (every factor).

    Returns
    -------
    dict
        ``train_proportions``, ``pair_va_distance``, ``visual_degeneracy``, ``visual_partner``,
        ``class_intensity`` (the preset's, without the pair's own factors), and both circumplex paths off
        (``annotation_geometry="published"``, ``appearance_from_va=0``).
    """
    from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

    for factor, levels in FACTORS.items():
        if cell.get(factor) not in levels:
            raise ParameterError(f"cell {dict(cell)}: {factor}={cell.get(factor)!r}; expected one of {list(levels)}")
    preset = make_config(design.preset, design.profile)
    n = len(preset.classes)
    return {"train_proportions": preset.train_proportions if cell["frequency"] == "published" else (1 / n,) * n,
            "pair_va_distance": design.separated_distance if cell["circumplex"] == "separated"
            else design.degenerate_distance,
            "visual_degeneracy": 0.0 if cell["visual"] == "distinct" else design.shared_visual,
            "visual_partner": preset.visual_partner if cell["partner"] == "on" else None,
            "class_intensity": tuple((c, f) for c, f in preset.class_intensity if c not in preset.pair),
            "annotation_geometry": "published", "appearance_from_va": 0.0}


def cell_config(design: FactorialDesign, cell: Mapping[str, str]):
    """The cell's :class:`~affect_book.data.simulator.SimulatorConfig` (what its runs train on).

    Parameters
    ----------
    design : FactorialDesign
    cell : mapping

    Returns
    -------
    SimulatorConfig
    """
    from ..data.simulator import make_config  # deferred: the data package imports torch; the study loads without

    return make_config(design.preset, design.profile, **_cell_data(design, cell))


#: The factorial's test split per profile: the size it was designed and timed at. Chapter 07's grid draws a larger
#: test split per seed (``Profile.study_n_test``); chapter 09's factorial keeps one shared draw of this size, within
#: its time budget. A design with ``data_draw="per_seed"`` (the recorded factorial) uses the profile's test size.
FACTORIAL_N_TEST = {"smoke": 128, "cpu": 2_000, "gpu": 20_000}


def _cell_data(design: FactorialDesign, cell: Mapping[str, str]) -> dict:
    """The cell's data options: the profile's study sizes (the test split: :data:`FACTORIAL_N_TEST` for a shared
    draw, the profile's ``study_n_test`` for per-seed draws, as chapter 07's grid), the design's data options, the
    cell's knobs."""
    prof = get_profile(design.profile)
    n_test = FACTORIAL_N_TEST[design.profile] if design.data_draw == "shared" else prof.study_n_test
    sizes = {"image_size": prof.study_image_size, "n_train": prof.study_n_train, "n_val": prof.study_n_val,
             "n_test": n_test}
    return {**sizes, **dict(design.data), **cell_knobs(design, cell)}


def _cell_fill(sim) -> tuple:
    """The cell's centroids as a cost's hand placements (every placed class; Other has no position)."""
    return tuple((c, tuple(float(x) for x in va)) for c, va in zip(sim.classes, sim.centroids())
                 if concept_of(c) != "other")


def factorial_studies(design: FactorialDesign) -> list[tuple[dict[str, str], StudyConfig]]:
    """One :class:`StudyConfig` per cell (the factorial's cells, then any fix cell not among them).

    Parameters
    ----------
    design : FactorialDesign

    Returns
    -------
    list of (cell, StudyConfig)
        The fix cells carry ``design.conditions + design.fixes``; every other cell ``design.conditions``.
    """
    cells = factorial_cells(design)
    fixes = fix_cells() if design.fixes else []
    labels = [cell_label(c) for c in cells]
    cells += [c for c in fixes if cell_label(c) not in labels]
    fix_labels = {cell_label(c) for c in fixes}
    out = []
    for cell in cells:
        sim = cell_config(design, cell)
        conditions = design.conditions + (design.fixes if cell_label(cell) in fix_labels else ())
        study = StudyConfig(presets=(design.preset,), conditions=conditions, seeds=design.seeds,
                            profile=design.profile, data=_cell_data(design, cell),
                            lambda_ot=design.lambda_ot, cost_fill=_cell_fill(sim), data_draw=design.data_draw)
        out.append((cell, study))
    return out


def run_factorial(design: FactorialDesign, executor="local", workers: int | None = None,
                  progress: bool = True) -> pd.DataFrame:
    """Run (or load) every cell of the design in one pool; one row per run, with its cell.

    Parameters
    ----------
    design : FactorialDesign
    executor : {"local", "slurm"} or executor object
        As :func:`affect_book.study.run_study`.
    workers : int, optional
        Local processes.
    progress : bool
        One line (or a bar) per finished run.

    Returns
    -------
    pandas.DataFrame
        The cells' results tables stacked, with ``cell`` (:func:`cell_label`), one column per factor, and
        ``pair_f1`` (mean F1 of the designated pair) and ``partner_f1`` (F1 of the partner class).
    """
    studies = factorial_studies(design)
    frames = run_studies([s for _, s in studies], executor=executor, workers=workers, progress=progress)
    a, b = design.pair
    partner = design.partner_class
    out = []
    for (cell, _), frame in zip(studies, frames):
        frame = frame.assign(cell=cell_label(cell), **cell)
        frame["pair_f1"] = (frame[f"f1/{a}"] + frame[f"f1/{b}"]) / 2
        frame["partner_f1"] = frame[f"f1/{partner}"]
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def as_sources(frame: pd.DataFrame) -> pd.DataFrame:
    """The factorial table with each cell as a source (``preset`` = cell label), for the paired-by-seed verdicts
    and tables of :mod:`affect_book.analysis`, which compare conditions within a source.

    Parameters
    ----------
    frame : DataFrame
        From :func:`run_factorial`.

    Returns
    -------
    DataFrame
    """
    return frame.assign(preset=frame["cell"])


def n_runs(design: FactorialDesign) -> int:
    """Runs in the design (every cell's conditions x seeds).

    Parameters
    ----------
    design : FactorialDesign

    Returns
    -------
    int
    """
    return int(np.sum([s.n_runs for _, s in factorial_studies(design)]))
