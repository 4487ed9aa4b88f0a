"""``run_study``: every run of a grid through the load-or-train cache, then the results table."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from ..cache import write_unless_same
from ._config import StudyConfig, expand_study, study_dir, study_identity, study_key
from ._executors import (batches, cached_row, local_workers, make_executor, run_splits, run_task, stop_executor,
                         wait_any)
from ._table import check_results, results_frame, write_results

__all__ = ["StudyFailed", "run_studies", "run_study", "run_summary"]


class StudyFailed(RuntimeError):
    """Some runs of a grid failed; the message names each with its error, the runs not started and the finished
    (cached) ones. Finished runs stay in the cache."""


class WorkerLost(RuntimeError):
    """The worker process running a run died (a signal: the out-of-memory killer, a kill)."""


def _names(labels: list[str], limit: int = 12) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _failure_report(total: int, errors: list, not_started: list[str], finished: list[str]) -> str:
    """The message of :class:`StudyFailed`: the failed runs with their errors, then the runs not started (a lost
    worker stops the pool) and the finished ones, which are cached."""
    lines = [f"{len(errors)} of {total} runs failed"
             + (f", {len(not_started)} not started (a worker process was lost, the pool stopped)" if not_started
                else "")
             + f"; {len(finished)} finished and are cached (rerun the same command to retry only the missing ones):"]
    lines += [f"  FAILED {name}: {type(err).__name__}: {err}" for name, err in errors]
    if not_started:
        lines.append(f"  not started: {_names(not_started)}")
    if finished:
        lines.append(f"  cached: {_names(finished)}")
    return "\n".join(lines)


class _Progress:
    """A tqdm bar over the grid when stderr is a terminal, else one line per finished run on stderr."""

    def __init__(self, total: int, enabled: bool, stream=None):
        self.total, self.enabled, self.count = total, enabled, 0
        self.stream = stream or sys.stderr
        self.bar = None
        if enabled and self.stream.isatty():
            self.bar = tqdm(total=total, desc="study", unit="run", file=self.stream)

    def update(self, label: str, row: dict | None, error: BaseException | None = None) -> None:
        self.count += 1
        if not self.enabled:
            return
        if error is not None:
            text = f"FAILED: {type(error).__name__}: {error}"
        elif row["loaded_from_cache"]:
            text = f"loaded from the cache, P_MTL {row['p_mtl']:.3f}"
        else:
            text = f"trained in {row['wall_seconds']:.1f} s, P_MTL {row['p_mtl']:.3f}"
        if self.bar is not None:
            self.bar.set_postfix_str(f"{label}: {text}", refresh=False)
            self.bar.update(1)
        else:
            print(f"[{self.count}/{self.total}] {label}: {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_study(study: StudyConfig, executor: str | Any = "local", workers: int | None = None, progress: bool = True,
              root: str | Path | None = None, slurm_options: dict | None = None) -> pd.DataFrame:
    """Run (or load) every run of ``study`` and write its results table; return the table.

    Parameters
    ----------
    study : StudyConfig
        The grid; validated and expanded (:func:`expand_study`) before anything trains.
    executor : {"local", "slurm"} or executor object
        ``local``: this machine, ``workers`` processes (default: min(cores, runs), one on a GPU) each with
        cores // workers torch threads; ``slurm``: submitit on Slurm (``slurm_options`` go to
        ``update_parameters``); or any object with ``submit(fn, *args)`` returning a handle with ``done()`` and
        ``result()`` (e.g. ``submitit.LocalExecutor(folder=...)``). A submitit executor (``slurm``, or one given,
        such as ``submitit.AutoExecutor(folder, cluster="local")``) gets the runs that are not yet in the cache in
        one ``with executor.batch():`` block, one job array (a thousand runs are one Slurm array, not a thousand
        jobs); the cached ones are loaded here and not submitted, so a rerun of a finished grid submits nothing.
    workers : int, optional
        Local processes (``local`` only).
    progress : bool
        A progress bar over the grid (one line per finished run when stderr is not a terminal).
    root : path, optional
        Run directory root (default: the cache's ``runs``); the table is written under the cache either way.
    slurm_options : dict, optional
        Parameters of the submitit executor for ``executor="slurm"``.

    Returns
    -------
    pandas.DataFrame
        One row per run (see :func:`result_row`), also written atomically to
        ``cache_root()/studies/<study key>/results.csv`` beside ``study.json`` (:func:`study_key`: the order of
        the conditions does not matter). On a read-only cache whose table already holds these runs, nothing is
        written.

    Raises
    ------
    StudyFailed
        When a run failed (after every other run finished); no table is written then.
    ResultsTableError
        When a finished run's scores are not finite (named with the run and metric); no table is written then.
    """
    return run_studies([study], executor, workers, progress, root, slurm_options)[0]


def run_studies(studies, executor: str | Any = "local", workers: int | None = None, progress: bool = True,
                root: str | Path | None = None, slurm_options: dict | None = None) -> list[pd.DataFrame]:
    """Run (or load) the runs of several grids in one pool, then write each grid's results table.

    One pool for all grids keeps every worker busy until the last run (grids run one after another would idle the
    pool at each grid's tail); a run two grids share is trained once (the second finds it in the cache). With a
    submitit executor the runs of every grid that are not yet cached are one job array.

    Parameters
    ----------
    studies : sequence of StudyConfig
        The grids, all with one profile and device (they share the pool).
    executor, workers, progress, root, slurm_options
        As in :func:`run_study`.

    Returns
    -------
    list of pandas.DataFrame
        One results table per grid, in the order given, each also written to its ``study_dir``.

    Raises
    ------
    StudyFailed
        When a run failed (after every other run finished; a lost worker process stops the pool at once): names the
        failed runs, those not started and the finished ones; no table is written then.
    ValueError
        For an empty list, or grids with different profiles or devices.
    """
    studies = list(studies)
    if not studies:
        raise ValueError("studies is empty; expected one or more StudyConfig")
    shared = {(s.profile, s.device) for s in studies}
    if len(shared) > 1:
        raise ValueError(f"the grids differ in (profile, device): {sorted(shared)}; expected one pair (they share "
                         f"one pool)")
    tagged = [(k, run) for k, study in enumerate(studies) for run in expand_study(study)]
    runs = [run for _, run in tagged]
    first = studies[0]
    if isinstance(executor, str):
        n = local_workers(len(runs), first.profile, first.device, workers) if executor == "local" else len(runs)
        pool = make_executor(executor, n, study_dir(first) / "submitit", slurm_options)
        in_flight = n if executor == "local" else len(runs)
    else:
        pool, in_flight = executor, len(runs)
    if in_flight > 1:  # build (simulator) or prepare (real data) each source once here, not in racing workers
        for run in {(r.dataset, r.data_root, r.load): r for r in runs}.values():
            run_splits(run)
    root_arg = str(root) if root is not None else None
    bar = _Progress(len(runs), progress)

    def label(k: int, run) -> str:  # several grids can share a preset (chapter 09's cells): name the grid too
        return run.label if len(studies) == 1 else f"grid {k + 1}/{len(studies)}: {run.label}"

    rows: list[list[dict]] = [[] for _ in studies]
    errors, pending, queue, finished, twins = [], {}, list(tagged), [], []

    def load_cached(k: int, run, absent: str | None = None) -> bool:
        """Record the row of a run finished in the cache, or its error (e.g. NaN scores); False: not there (and
        ``absent`` is None; else it is recorded as failed with that message)."""
        try:
            row = cached_row(run, root_arg)
            if row is None and absent:
                raise RuntimeError(absent)
        except Exception as err:  # noqa: BLE001 -- every failure is reported below, none dropped
            errors.append((label(k, run), err))
            bar.update(label(k, run), None, err)
            return True
        if row is not None:
            rows[k].append(row)
            finished.append(label(k, run))
            bar.update(label(k, run), row)
        return row is not None

    lost = False  # a worker process died (out-of-memory killer, kill): the pool is broken, nothing more starts
    completed = False
    try:
        if batches(pool):  # submitit: load the cached runs here, submit the others as one job array
            queue, missing, arrayed = [], [], set()
            # source by source: this process keeps only its last few data sources in memory (each seed may draw its own)
            for k, run in sorted(tagged, key=lambda t: json.dumps([t[1].dataset, t[1].data_root, t[1].load],
                                                                  sort_keys=True, default=str)):
                if not load_cached(k, run):
                    what = (run.dataset, run.data_root, run.load, run.config)  # what its run key hashes
                    (twins if what in arrayed else missing).append((k, run))  # a run two grids share: one task
                    arrayed.add(what)
            if missing:  # an error or Ctrl-C inside the block drops every submission: none or all are submitted
                with pool.batch():
                    handles = [pool.submit(run_task, run, None, root_arg) for _, run in missing]
                pending = dict(zip(handles, missing))
        while pending or (queue and not lost):
            while queue and not lost and len(pending) < in_flight:
                try:
                    handle = pool.submit(run_task, queue[0][1], None, root_arg)
                except cf.BrokenExecutor:
                    lost = True
                    break
                pending[handle] = queue.pop(0)
            if not pending:
                break
            for handle in wait_any(list(pending)):
                k, run = pending.pop(handle)
                try:
                    row = handle.result()
                except cf.BrokenExecutor:
                    lost = True
                    err = WorkerLost("a worker process of the pool ended abruptly while this run was in flight "
                                     "(killed by a signal: the out-of-memory killer or a kill; fewer --workers "
                                     "need less memory)")
                    errors.append((label(k, run), err))
                    bar.update(label(k, run), None, err)
                    continue
                except Exception as err:  # noqa: BLE001 -- every failure is reported below, none dropped
                    errors.append((label(k, run), err))
                    bar.update(label(k, run), None, err)
                    continue
                rows[k].append(row)
                finished.append(label(k, run))
                bar.update(label(k, run), row)
        for k, run in twins:  # the array trained them for another grid: load them now
            load_cached(k, run, absent="not run: the same run of another grid failed (see above)")
        completed = True
    finally:
        bar.close()
        stop_executor(pool, wait=completed)  # interrupted or failed: end the workers now, not after their runs
    if errors or queue:
        raise StudyFailed(_failure_report(len(runs), errors, [label(k, run) for k, run in queue], finished))
    frames = []
    for k, (study, study_rows) in enumerate(zip(studies, rows)):
        folder = study_dir(study)
        frame = check_results(results_frame(study_rows), study, [run for j, run in tagged if j == k],
                              folder / "results.csv")  # e.g. a run just trained whose scores are NaN
        write_unless_same(folder / "study.json", json.dumps({"hash": study_key(study),
                                                             "study": _plain(study_identity(study))},
                                                            indent=1).encode())
        write_results(study_rows, folder / "results.csv")
        frames.append(frame)
    return frames


def _plain(study: StudyConfig) -> dict:
    return {f.name: getattr(study, f.name) for f in dataclasses.fields(study)}


def run_summary(frame: pd.DataFrame) -> str:
    """The CLI's summary line of a results table.

    Parameters
    ----------
    frame : DataFrame
        A results table with a ``loaded_from_cache`` column.

    Returns
    -------
    str
        ``"<n> runs: <t> trained, <l> loaded from the cache"``.
    """
    trained = int((~frame["loaded_from_cache"].astype(bool)).sum()) if len(frame) else 0
    return f"{len(frame)} runs: {trained} trained, {len(frame) - trained} loaded from the cache"


