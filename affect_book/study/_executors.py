"""Where the runs of a grid execute: in this process, in a local process pool, or on Slurm through submitit.

Every executor has the shape of ``concurrent.futures.Executor.submit(fn, *args)``, returning a handle with
``done()`` and ``result()`` (a Future, or a submitit Job). Each run is :func:`run_task`, which goes through
:func:`affect_book.trainer.train` (load or train), so any executor can run any part of a grid and a rerun trains only
what is missing. An executor with submitit's ``batch()`` (:func:`batches`) gets a grid's runs that are not yet in the
cache (:func:`cached_row` loads the others here) in one ``with executor.batch():`` block: one Slurm job array, not
one job per run.

**Slurm and pickles.** submitit keeps each job's call and result as pickles in ``<study>/submitit`` inside the cache;
unpickling a file someone else wrote runs their code as you. So that folder is created private (0700), and before
a job is submitted or its result unpickled (:func:`check_private_folder`) the folder and the job's result file must
be yours and not writable by group or others; otherwise the run stops with a message naming the file.
"""

from __future__ import annotations

from collections import OrderedDict

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import stat
import time
from pathlib import Path
from typing import Any

from ..cache import cache_root, make_dirs
from ..device import choose_device
from ..interrupts import terminable_task, watch_parent
from ..profiles import get_profile
from ._table import result_row

__all__ = ["CheckedJob", "UnsafeJobFolder", "available_cores", "batches", "cached_row", "check_private_folder",
           "local_workers", "make_executor", "private_job_folder", "run_splits", "run_task", "stop_executor"]

#: Loaded splits of this process, by (cache, dataset, root, profile, options): a worker loads each source once.
_SPLITS: OrderedDict[str, dict] = OrderedDict()
#: Data sources a process keeps in memory: a grid whose seeds draw their own data visits many, and each of the
#: ``gpu`` profile's draws is hundreds of megabytes; the simulator's disk cache makes a reload cheap.
_KEPT_SPLITS = 2


def available_cores() -> int:
    """CPU cores this process may use.

    Returns
    -------
    int
        The size of the process's affinity mask where the system has one, else ``os.cpu_count()``.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def local_workers(n_runs: int, profile: str, device: str = "auto", workers: int | None = None) -> int:
    """Processes for a local grid.

    Parameters
    ----------
    n_runs : int
        Runs in the grid (never more processes than runs).
    profile : str
        The study's profile (checked).
    device : str
        The runs' device: when it resolves to a GPU (cuda or mps, or auto with one present) the runs would share
        it, and several processes on one GPU do not pay: one process.
    workers : int, optional
        An explicit count (capped at ``n_runs``).

    Returns
    -------
    int
        ``workers`` if given, else min(cores, runs) on a CPU, 1 on a GPU.
    """
    get_profile(profile)
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r}: expected a positive integer or None")
        return min(workers, max(1, n_runs))
    if choose_device(device, verbose=False).type != "cpu":
        return 1
    return max(1, min(available_cores(), n_runs))


def _set_threads(threads: int | None) -> None:
    import torch  # deferred: the study loads without torch; it loads here, in the process that trains

    if threads:
        torch.set_num_threads(int(threads))


def run_splits(run) -> dict:
    """A run's train, validation and test sets, loaded once per process and data source (later calls for any run
    of the same source, profile, options and cache return the same objects while it is among the last
    ``_KEPT_SPLITS`` sources this process loaded).

    Parameters
    ----------
    run : StudyRun
        A run of a grid (:func:`~affect_book.study.expand_study`): its ``dataset``, ``data_root``, ``load``
        options and its config's ``profile``.

    Returns
    -------
    dict
        ``train``, ``val`` and ``test`` :class:`~affect_book.data.base.ArrayDataset` (what
        :func:`affect_book.data.sources.load_splits` returns), as the run trains on them.
    """
    key = json.dumps([str(cache_root()), run.dataset, run.data_root, run.config.profile, run.load], sort_keys=True,
                     default=str)
    if key not in _SPLITS:
        from ..data.sources import load_splits  # deferred: the data package imports torch; the study loads without

        _SPLITS[key] = load_splits(run.dataset, root=run.data_root, profile=run.config.profile, progress=False,
                                   **dict(run.load))
        while len(_SPLITS) > _KEPT_SPLITS:
            _SPLITS.popitem(last=False)
    _SPLITS.move_to_end(key)
    return _SPLITS[key]


def run_task(run, threads: int | None = None, root: str | None = None) -> dict:
    """Load or train one run of a grid; runs wherever an executor puts it (this process, a pool worker, a job).

    Parameters
    ----------
    run : StudyRun
        The run; its data are loaded once per process and source.
    threads : int, optional
        Torch threads for this process (None: leave as they are).
    root : str, optional
        Run directory root (None: the cache).

    Returns
    -------
    dict
        Its results row (:func:`~affect_book.study.result_row`).
    """
    from ..trainer import train  # deferred: the trainer imports torch; the study loads without

    _set_threads(threads)
    start = time.perf_counter()
    with terminable_task():  # in a pool worker, SIGTERM unwinds the run (no temporary file left), then exits
        splits = run_splits(run)
        result = train(run.config, splits["train"], splits["val"], splits["test"],
                       root=Path(root) if root is not None else None, progress=False)
    import torch  # deferred: the study loads without torch; it loads here, in the process that trains

    row = result_row(run, result, len(splits["train"]), time.perf_counter() - start)
    row["torch_threads"] = torch.get_num_threads()
    return row


def cached_row(run, root: str | None = None) -> dict | None:
    """The results row of a run that is finished in the cache (loaded here, nothing trained), else None.

    A run is finished when its folder holds a complete, readable record (what :func:`affect_book.trainer.train`
    would load without its lock); a damaged or diverged record counts as not finished, and the run's job repairs
    or retrains it under the run's lock.

    Parameters
    ----------
    run : StudyRun
        The run; its data are loaded once per process and source (:func:`run_splits`), which its run key hashes.
    root : str, optional
        Run directory root (None: the cache).

    Returns
    -------
    dict or None
        Its row (:func:`run_task`, ``loaded_from_cache`` true), or None when it still has to run.

    Raises
    ------
    NonFiniteMetrics
        The finished record holds a NaN or infinite score (as :func:`affect_book.trainer.train` raises).
    """
    # deferred: the trainer imports torch; the study loads without
    from ..trainer import load_finished, recorded_divergence, run_key

    splits = run_splits(run)
    key = run_key(run.config, splits["train"], splits["val"], splits["test"])
    folder = (Path(root) if root is not None else cache_root() / "runs") / key
    info = load_finished(folder, repair=False)  # reads only: no report, nothing moved
    if info is None or recorded_divergence(info):
        return None
    return run_task(run, None, root)


def batches(executor: Any) -> bool:
    """Whether ``executor`` packs submissions into one job array (submitit's ``with executor.batch():``).

    Parameters
    ----------
    executor : executor
        What :func:`make_executor` returned, or an executor object given to :func:`~affect_book.study.run_study`.

    Returns
    -------
    bool
        True for submitit's executors (``AutoExecutor``, ``SlurmExecutor``, ``LocalExecutor`` ...) and the checked
        one :func:`make_executor` builds on them; False for the local process pool and for this process.
    """
    return callable(getattr(executor, "batch", None))


class InProcessExecutor:
    """Runs each submitted call at once in this process (one worker: no process start-up, no pickling)."""

    def submit(self, fn, *args, **kwargs) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the caller through the future
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                raise
            future.set_exception(err)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Nothing to release."""


def _pool_initializer(threads: int, parent_pid: int | None = None) -> None:
    if parent_pid is not None:  # first: a worker whose parent dies (even by SIGKILL) ends, and ignores Ctrl-C
        watch_parent(parent_pid)
    _set_threads(threads)


class UnsafeJobFolder(PermissionError):
    """submitit's job folder, or a file in it, could have been written by another user: nothing is unpickled."""


def _unsafe(path: Path, st: os.stat_result, why: str) -> UnsafeJobFolder:
    return UnsafeJobFolder(f"refusing to unpickle submitit's job files: {path} {why} (owner uid {st.st_uid}, mode "
                           f"0o{stat.S_IMODE(st.st_mode):03o}; you are uid {os.geteuid()}); a user who can write there "
                           f"could run code as you. Use a folder you own that only you can write (chmod go-w), or "
                           f"another cache (AFFECT_BOOK_CACHE)")


def check_private_folder(folder: str | os.PathLike, files=()) -> None:
    """Refuse to unpickle from ``folder`` unless no other user could have written what is read.

    The folder must be a real directory (not a link) owned by this user and not writable by group or others. Each
    of ``files`` that exists must be a regular file (not a link) owned by this user, and not writable by group or
    others, except when the folder grants group and others no access at all (0700, as this module creates it):
    nobody else can reach a file there, so a job that wrote its result with a group-writable umask (002, as in a
    lab's shared cache) is still accepted.

    Parameters
    ----------
    folder : str or PathLike
        submitit's job folder.
    files : iterable of path
        The files about to be unpickled (e.g. a job's ``result_pickle``).

    Raises
    ------
    UnsafeJobFolder
        (a PermissionError) naming the folder or file, its owner and mode.
    """
    folder = Path(folder)
    uid = os.geteuid()
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode):
        raise _unsafe(folder, st, "is not a directory (a link?)")
    if st.st_uid != uid:
        raise _unsafe(folder, st, "is not yours")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _unsafe(folder, st, "is writable by group or others")
    closed = not st.st_mode & 0o077
    for file in files:
        try:
            fst = os.lstat(file)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(fst.st_mode):
            raise _unsafe(Path(file), fst, "is not a regular file (a link?)")
        if fst.st_uid != uid:
            raise _unsafe(Path(file), fst, "is not yours")
        if fst.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not closed:
            raise _unsafe(Path(file), fst, f"is writable by group or others, in a folder they can enter "
                                           f"({folder}, mode 0o{stat.S_IMODE(st.st_mode):03o})")


class CheckedJob:
    """A submitit Job whose ``result()`` first checks its folder and result file (:func:`check_private_folder`), so
    nothing is unpickled from a folder another user could have written into.

    Parameters
    ----------
    job : submitit.Job
        The job (any object with ``done()`` and ``result()``, and ``paths.result_pickle`` when it has one).
    folder : Path
        Its job folder.
    """

    def __init__(self, job, folder: Path):
        self._job, self._folder = job, folder

    def done(self) -> bool:
        """Whether the job has finished.

        Returns
        -------
        bool
            submitit's ``done()``.
        """
        return self._job.done()

    def result(self):
        """The job's result, unpickled only after its folder and result file pass :func:`check_private_folder`.

        Returns
        -------
        object
            What the job's function returned.
        """
        paths = getattr(self._job, "paths", None)
        check_private_folder(self._folder, [paths.result_pickle] if paths is not None else [])
        return self._job.result()

    def __getattr__(self, name):
        return getattr(self._job, name)


class _CheckedExecutor:
    """submitit's executor, checking its private job folder before each submission and each result."""

    def __init__(self, executor, folder: Path):
        self._executor, self._folder = executor, folder

    def submit(self, fn, *args, **kwargs) -> CheckedJob:
        check_private_folder(self._folder)
        return CheckedJob(self._executor.submit(fn, *args, **kwargs), self._folder)

    @contextlib.contextmanager
    def batch(self):
        """submitit's ``batch()``: the submissions inside it become one job array when it ends (checked first)."""
        check_private_folder(self._folder)
        with self._executor.batch():
            yield

    def __getattr__(self, name):
        return getattr(self._executor, name)


def private_job_folder(folder: Path) -> Path:
    """Create ``folder`` (mode 0700, whatever the umask) if missing, then check it (:func:`check_private_folder`).

    Parameters
    ----------
    folder : Path
        The job folder to be.

    Returns
    -------
    Path
        ``folder``, private to this user.

    Raises
    ------
    UnsafeJobFolder
        When it exists and another user owns it or may write into it.
    """
    make_dirs(folder.parent)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    check_private_folder(folder)
    return folder


def stop_executor(pool: Any, wait: bool, grace: float = 5.0) -> None:
    """Shut an executor down: after every run, let it finish (``wait``); after an error or an interrupt, end its
    local workers now (SIGTERM, then SIGKILL after ``grace`` seconds) instead of letting them finish their runs.

    A terminated worker leaves nothing as if complete: run files are written atomically and a run is finished only
    once its ``result.json`` exists; its last checkpoint lets the next call resume it. submitit's jobs (a Slurm job
    array) are not cancelled: each finishes into the cache, where the next call finds it (``scancel`` the array to
    stop them).

    Parameters
    ----------
    pool : executor
        What :func:`make_executor` returned, or any object with ``submit`` (``shutdown`` is used when it has one).
    wait : bool
        True: every run is done, shut down normally; False: end the local workers now.
    grace : float
        Seconds between SIGTERM and SIGKILL for a worker that does not end.
    """
    if not hasattr(pool, "shutdown"):
        return
    processes = list((getattr(pool, "_processes", None) or {}).values()) if not wait else []
    pool.shutdown(wait=wait, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(grace)


def make_executor(kind: str, workers: int, folder: Path, slurm_options: dict | None = None) -> Any:
    """An executor for ``kind`` (``local`` or ``slurm``).

    ``local``: this process for one worker, else a process pool (``spawn`` start method: safe with torch on every
    system) of ``workers`` processes with cores // workers threads each; each worker ends when this process dies,
    even by SIGKILL (:func:`affect_book.interrupts.watch_parent`), and leaves Ctrl-C to it
    (:func:`stop_executor`). ``slurm``: a ``submitit.AutoExecutor`` writing its logs and pickles under ``folder``
    (created 0700; checked before each submission and each result, see :func:`check_private_folder`) with
    ``slurm_options`` (``timeout_min``, ``slurm_partition``, ``gpus_per_node``, ``cpus_per_task``,
    ``slurm_array_parallelism`` (the array's tasks running at once) ...; see submitit's documentation); it has
    submitit's ``batch()``, so a grid goes to Slurm as one job array (:func:`batches`). It needs the ``[cluster]``
    extra and a machine where Slurm's ``srun`` is found (a RuntimeError says so otherwise).
    """
    if kind == "local":
        if workers == 1:
            return InProcessExecutor()
        threads = max(1, available_cores() // workers)
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_pool_initializer, initargs=(threads, os.getpid()))
        return pool
    if kind == "slurm":
        try:
            import submitit  # deferred: submitit is optional (cluster extra); only executor="slurm" needs it
        except ImportError:
            raise ImportError("executor='slurm' needs submitit: pip install 'affect_book[cluster]' "
                              "(or pip install submitit)") from None
        folder = private_job_folder(Path(folder))
        try:  # cluster="slurm": without it submitit would quietly run every job on this machine instead
            executor = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
        except RuntimeError as err:
            raise RuntimeError(f"executor='slurm' needs a Slurm cluster ({err}); submit from a login node, or use "
                               f"executor='local'") from None
        options = {"timeout_min": 240, "cpus_per_task": 4, **(slurm_options or {})}
        executor.update_parameters(**options)
        return _CheckedExecutor(executor, folder)
    raise ValueError(f"executor={kind!r}: expected 'local', 'slurm', or an object with submit(fn, *args)")


def wait_any(handles: list, poll: float = 0.5) -> list:
    """Block until at least one handle is done; return the done ones (Futures through ``cf.wait``, others such
    as submitit Jobs by polling ``done()`` every ``poll`` seconds)."""
    futures = [h for h in handles if isinstance(h, cf.Future)]
    if len(futures) == len(handles):
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return [h for h in handles if h in done]
    while True:
        done = [h for h in handles if h.done()]
        if done:
            return done
        time.sleep(poll)
