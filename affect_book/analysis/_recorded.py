"""Recorded studies: a long grid run once, committed under ``docs/results/<profile>/<name>/`` with its provenance,
so that every chapter can show the reader's own run beside it. Introduced in chapter 07.

A recorded study is three files (and a fourth for chapter 08):

- ``results.csv``: one row per run (the study's results table, without the machine-specific run folders);
- ``statistics.json``: the statistics table (every exact p), the claims' verdicts with their numbers, the power
  plan computed from the recorded spread and the power reached;
- ``provenance.json``: the command, the commit (and whether the tree was clean), the machine, the software, the
  study's configuration and key, the start, the end and the wall time;
- ``geometry.csv``: each run's error-geometry metrics (chapter 08), when the grid has base and circumplex runs.

The exact p-values of ``statistics.json`` recompute from ``results.csv`` with
``scipy.stats.wilcoxon(method="exact")`` (the tests do it). A lambda tuning is recorded the same way, with its
sweep table and choice (:func:`record_tuning`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import atomic_write_bytes, make_dirs
from ..params import ParameterError
from ..study import StudyConfig, json_records, lambda_sweep, run_study, study_key
from ._geometry import study_geometry
from .claims import recorded_root
from ._power_plan import CHAPTER_07_TESTS, CHAPTER_08_TESTS, claim_verdicts, power_plan
from ._stats import DEFAULT_MARGINS, study_rare_classes, study_statistics

__all__ = ["DISTANCE_MARGIN", "RecordedStudy", "load_recorded", "load_tuning", "record_study", "record_tuning",
           "recorded_lambda", "recorded_root"]

#: Chapter 08's equivalence margin of the mean error distance (valence-arousal units): an assumption, stated there.
DISTANCE_MARGIN = 0.05
_REPO = Path(__file__).resolve().parents[2]
#: The StudyConfig fields a recorded tuning must share with a grid for its weight to stand for the grid's sweep.
_TUNING_FIELDS = ("profile", "dataset", "data_root", "data", "epochs", "width", "batch_size", "lr", "crop", "norm",
                  "coordinates", "cost_fill", "train_options", "data_draw")


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    versions = {}
    for name in ("numpy", "scipy", "pandas", "torch", "statsmodels"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    return {"host": platform.node(), "cpu": cpu, "cores": cores, "system": platform.platform(),
            "python": platform.python_version(), "packages": versions}


def _write_json(path: Path, payload) -> None:
    atomic_write_bytes(path, (json.dumps(payload, indent=1, allow_nan=False, default=_plain) + "\n").encode())


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _finite(obj):
    """NaN and infinities as None (JSON has neither); lists and dicts at any depth."""
    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


def _source_state() -> dict:
    """The commit and whether the tracked files are unchanged, read when a recording starts (the code that runs)."""
    return {"commit": _git("rev-parse", "HEAD"),
            "tree_clean": _git("status", "--porcelain", "--untracked-files=no") == ""}


def _design_of(recorded, kind: str, design_type, maker: str):
    """The design dataclass a recorded study of ``kind`` was made with, rebuilt from its provenance (JSON lists back
    to tuples); a ParameterError naming the recorder ``maker`` when the folder holds another kind."""
    if recorded.statistics.get("kind") != kind:
        raise ParameterError(f"{recorded.path} is not a recorded {kind} (statistics.json kind "
                             f"{recorded.statistics.get('kind')!r}); expected one made by {maker}")
    return design_type(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.provenance["study"].items()})


def _timed(run):
    """``run()`` with what a provenance needs: its result, the start time, :func:`_source_state` at the start and
    the wall seconds."""
    started, source = time.time(), _source_state()
    t0 = time.perf_counter()
    result = run()
    return result, started, source, time.perf_counter() - t0


def _provenance(study, command: str, started: float, wall: float, frame: pd.DataFrame | None,
                previous: Path | None = None, key: str | None = None, source: dict | None = None) -> dict:
    """This call's provenance; ``training`` is the call that trained the runs: this one, or (when this one loaded
    every run from the cache and ``previous`` records the same study) the one recorded there. ``study`` is a
    :class:`StudyConfig` (its key: :func:`study_key`) or another design as a dict with its ``key``; ``source`` is
    :func:`_source_state` at the start (default: now)."""
    trained = int((~frame["loaded_from_cache"].astype(bool)).sum()) if frame is not None and \
        "loaded_from_cache" in frame else None
    record = {"command": command, **(source or _source_state()),
              "machine": _machine(),
              "study": _finite(study if isinstance(study, dict) else dataclasses.asdict(study)),
              "study_key": key or study_key(study),
              "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
              "wall_seconds": round(wall, 1), "runs": None if frame is None else len(frame), "trained": trained}
    training = {k: record[k] for k in ("command", "commit", "machine", "started", "wall_seconds", "trained")}
    if trained == 0 and previous is not None and previous.is_file():
        try:
            before = json.loads(previous.read_text())
        except (OSError, json.JSONDecodeError):
            before = {}
        if before.get("study_key") == record["study_key"]:
            if before.get("training"):
                training = before["training"]
            elif before.get("trained"):  # a file written before the training block existed: its own call trained
                training = {k: before.get(k) for k in ("command", "commit", "machine", "started", "wall_seconds",
                                                       "trained")}
    record["training"] = training
    record["note"] = ("wall_seconds is this command's time; 'training' is the command that trained the runs (a "
                      "later call that only loaded them from the cache recomputes the statistics); the sum of "
                      "train_seconds in results.csv is the runs' own training time")
    return record


def record_study(study: StudyConfig, out: str | os.PathLike, *, command: str, alpha: float = 0.05,
                 rare_fraction: float = 0.5, geometry: bool = True, n_draws: int = 20_000,
                 **run_options) -> Path:
    """Run (or load) a grid and record it under ``out``: results, statistics, verdicts, power plan, provenance.

    Parameters
    ----------
    study : StudyConfig
        The grid.
    out : path
        The folder (created): ``docs/results/<profile>/<name>`` for the book's recorded studies.
    command : str
        The command line that made it (kept in the provenance).
    alpha : float
        Level of every test.
    rare_fraction : float
        Chapter 02's rule for the rare classes of the statistics table.
    geometry : bool
        Also compute each run's error geometry (``geometry.csv``) and chapter 08's verdicts.
    n_draws : int
        Monte Carlo draws of each power in the plan.
    **run_options
        Passed to :func:`affect_book.study.run_study` (``executor``, ``workers``, ``progress``).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    out = Path(out)
    make_dirs(out)
    frame, started, source, wall = _timed(lambda: run_study(study, **run_options))
    rare = study_rare_classes(study, rare_fraction)
    statistics = study_statistics(frame, rare, margins=DEFAULT_MARGINS)
    verdicts = claim_verdicts(frame, CHAPTER_07_TESTS, DEFAULT_MARGINS, alpha)
    plan = power_plan(frame, CHAPTER_07_TESTS, DEFAULT_MARGINS, alpha=alpha, n_draws=n_draws)
    _plan_seeds(verdicts, plan)
    rows = frame.drop(columns=["run_dir"], errors="ignore")
    atomic_write_bytes(out / "results.csv", rows.to_csv(index=False).encode())
    payload = {"alpha": alpha, "margins": DEFAULT_MARGINS, "rare": rare,
               "statistics": json_records(statistics), "verdicts": _finite(verdicts),
               "power_plan": json_records(plan)}
    if geometry and {"base", "circumplex"} <= set(study.conditions):
        geo = study_geometry(study)
        atomic_write_bytes(out / "geometry.csv", geo.to_csv(index=False).encode())
        margins = {"error_distance": DISTANCE_MARGIN}
        defined = geo[np.isfinite(pd.to_numeric(geo["error_distance"], errors="coerce"))]  # as chapter 08
        payload["geometry_runs_without_error_distance"] = int(len(geo) - len(defined))
        geo_verdicts = claim_verdicts(defined, CHAPTER_08_TESTS, margins, alpha)
        geo_plan = power_plan(defined, CHAPTER_08_TESTS, margins, alpha=alpha, n_draws=n_draws)
        _plan_seeds(geo_verdicts, geo_plan)
        payload["geometry_verdicts"] = _finite(geo_verdicts)
        payload["geometry_power_plan"] = json_records(geo_plan)
        payload["distance_margin"] = DISTANCE_MARGIN
    _write_json(out / "statistics.json", payload)
    _write_json(out / "provenance.json", _provenance(study, command, started, wall, frame, out / "provenance.json",
                                                    source=source))
    return out


def _plan_seeds(verdicts: dict, plan: pd.DataFrame) -> None:
    """Add to each verdict ``seeds_planned``: the most seeds any of its parts needs by the power plan (the recorded
    spread), so an inconclusive verdict says how many seeds would have decided it."""
    for claim, verdict in verdicts.items():
        needed = plan.loc[plan["claim"] == claim, "seeds needed"] if not plan.empty else pd.Series(dtype=float)
        verdict["seeds_planned"] = float(needed.max()) if len(needed) else None


def record_tuning(study: StudyConfig, lambdas: Sequence[float], out: str | os.PathLike, *, command: str,
                  metric: str = "p_mtl", **run_options) -> Path:
    """Run (or load) the lambda sweep of ``study`` on its seeds and record it: ``sweep.csv``, ``choice.json``
    (the chosen lambda, the metric, the mean per lambda) and ``provenance.json``.

    Parameters
    ----------
    study : StudyConfig
        The sweep's sources, seeds (the tuning seeds, disjoint from every verdict's) and settings.
    lambdas : sequence of float
        The grid of weights: it must hold every weight a chapter uses.
    out : path
        The folder (created).
    command : str
        The command line (provenance).
    metric : str
        Validation metric maximised.
    **run_options
        Passed to :func:`affect_book.study.lambda_sweep`.

    Returns
    -------
    pathlib.Path
    """
    out = Path(out)
    make_dirs(out)
    (best, sweep), started, source, wall = _timed(lambda: lambda_sweep(study, lambdas, metric=metric, **run_options))
    means = sweep.groupby("lambda_ot")[f"val/{metric}"].agg(["mean", "std", "count"]).reset_index()
    atomic_write_bytes(out / "sweep.csv", sweep.drop(columns=["run_dir"], errors="ignore").to_csv(index=False)
                       .encode())
    _write_json(out / "choice.json", {"lambda_ot": best, "metric": f"val/{metric}", "seeds": list(study.seeds),
                                      "lambdas": [float(v) for v in lambdas], "means": json_records(means)})
    _write_json(out / "provenance.json", _provenance(study, command, started, wall, sweep, out / "provenance.json",
                                                    source=source))
    return out


@dataclass(frozen=True)
class RecordedStudy:
    """A recorded study, as :func:`load_recorded` reads it.

    Attributes
    ----------
    path : pathlib.Path
        Its folder.
    results : pandas.DataFrame
        One row per run.
    statistics : dict
        ``statistics.json``: ``statistics`` (records), ``verdicts``, ``power_plan``, ``alpha``, ``margins``
        (and the geometry verdicts and plan when recorded).
    provenance : dict
        ``provenance.json``.
    geometry : pandas.DataFrame or None
        ``geometry.csv`` when recorded.
    """

    path: Path
    results: pd.DataFrame
    statistics: dict
    provenance: dict
    geometry: pd.DataFrame | None

    @property
    def seeds(self) -> int:
        """Seeds per source and condition (the smallest count in the table)."""
        return int(self.results.groupby(["preset", "condition"], dropna=False)["seed"].nunique().min())

    def describe(self) -> str:
        """Where it came from, in one line.

        Returns
        -------
        str
            Runs, seeds, commit, machine and wall time.
        """
        p = self.provenance
        t = p.get("training", p)
        return (f"recorded study {self.path.name} ({p['study']['profile']}): {len(self.results)} runs, "
                f"{self.seeds} seeds per source and condition, trained at commit {str(t.get('commit'))[:10]} on "
                f"{t['machine']['cores']} cores ({t['machine']['cpu']}) in {t['wall_seconds'] / 60:.1f} min wall; "
                f"statistics at commit {str(p.get('commit'))[:10]}")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: a recorded study holds results.csv, statistics.json and "
                                f"provenance.json") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err


def load_recorded(profile: str, name: str = "decisive", root: str | os.PathLike | None = None) -> RecordedStudy:
    """A recorded study: ``<root>/<profile>/<name>`` (root: :func:`recorded_root`).

    Parameters
    ----------
    profile : str
        The profile it was run in.
    name : str
        Its folder's name.
    root : path, optional
        Default :func:`recorded_root`.

    Returns
    -------
    RecordedStudy

    Raises
    ------
    FileNotFoundError
        Naming the folder and what it must hold.
    """
    path = Path(root or recorded_root()) / profile / name
    if not path.is_dir():
        raise FileNotFoundError(f"no recorded study at {path}; recorded: "
                                f"{sorted(p.name for p in path.parent.glob('*')) if path.parent.is_dir() else []}")
    results_path = path / "results.csv"
    if not results_path.is_file():
        raise FileNotFoundError(f"{results_path} is missing")
    results = pd.read_csv(results_path)
    geometry = pd.read_csv(path / "geometry.csv") if (path / "geometry.csv").is_file() else None
    return RecordedStudy(path, results, _read_json(path / "statistics.json"), _read_json(path / "provenance.json"),
                         geometry)


def load_tuning(profile: str, name: str = "lambda", root: str | os.PathLike | None = None) -> dict:
    """A recorded lambda tuning: ``choice.json`` with the sweep table (``"sweep"``) and the provenance.

    Parameters
    ----------
    profile, name, root
        As :func:`load_recorded`.

    Returns
    -------
    dict
        ``lambda_ot``, ``metric``, ``seeds``, ``lambdas``, ``means``, ``sweep`` (DataFrame), ``provenance``.
    """
    path = Path(root or recorded_root()) / profile / name
    if not (path / "choice.json").is_file():
        raise FileNotFoundError(f"no recorded lambda tuning at {path} (choice.json)")
    choice = _read_json(path / "choice.json")
    if not isinstance(choice.get("lambda_ot"), (int, float)):
        raise ParameterError(f"{path / 'choice.json'}: lambda_ot {choice.get('lambda_ot')!r} is not a number")
    return {**choice, "sweep": pd.read_csv(path / "sweep.csv"), "provenance": _read_json(path / "provenance.json")}


def recorded_lambda(design: StudyConfig, name: str = "lambda", root: str | os.PathLike | None = None) -> dict | None:
    """The recorded tuning that stands for ``design``'s lambda sweep, or None.

    A recorded tuning (:func:`record_tuning`) stands for a grid's sweep when it was made on the same sources and
    every training and data setting is the same (the study size, the epochs, the costs' placements, the data
    draw), so its weight is the one this grid's own sweep would have tuned on those seeds.

    Parameters
    ----------
    design : StudyConfig
        The grid (its conditions, seeds and ``lambda_ot`` do not matter).
    name, root
        As :func:`load_tuning`.

    Returns
    -------
    dict or None
        :func:`load_tuning`'s dict, or None when there is none for the profile or it was made for another grid.
    """
    try:
        tuning = load_tuning(design.profile, name, root)
    except FileNotFoundError:
        return None
    recorded = tuning["provenance"].get("study", {})
    mine = _finite(dataclasses.asdict(design))
    same = all(json.dumps(recorded.get(k), sort_keys=True) == json.dumps(mine.get(k), sort_keys=True, default=_plain)
               for k in _TUNING_FIELDS)
    return tuning if same and sorted(recorded.get("presets", [])) == sorted(mine["presets"]) else None
