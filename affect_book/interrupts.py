"""Ctrl-C and kill for the command lines (``affect-book train``, ``study``, ``book``) and their worker processes.

:func:`run_command` runs a command's ``main`` with SIGINT and SIGTERM turned into ``KeyboardInterrupt`` from its
first line on (before torch or pandas are imported): the command cleans up (a grid's pool stops its workers; files
are written atomically, so nothing partial is left as if complete) and exits with ``128 + signal`` (130 for Ctrl-C,
143 for ``kill``) and one line saying how to resume, never a traceback. A second signal during the clean-up ends the
process at once with the same status. Forked helpers (the simulator's :func:`fork_pool`) ignore Ctrl-C, which the
command's process handles, and die on SIGTERM as without the handlers, even one sent while they start. A SIGINT
the process inherited as ignored stays ignored, as POSIX asks (a background job of a non-interactive shell starts
so, so that Ctrl-C in the shell does not reach it): stop such a job with SIGTERM.

A signal is never lost once the handlers are installed: a ``KeyboardInterrupt`` that Python cannot raise where the
signal landed (in a ``__del__``, a weakref or gc callback: it would be printed as "Exception ignored" and training
would go on) is kept pending, silently, and raised by the next :func:`raise_pending` (the trainer calls it at every
step); and a ``main`` that returns after a signal was received (its exception swallowed or turned into an error
that was handled) still ends with ``128 + signal`` and the resume line.

:func:`watch_parent` runs in a worker process: the worker ends as soon as its parent dies, even by SIGKILL (which
the parent cannot handle), so no orphan keeps training, holding the caller's stdout open.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import wait

__all__ = ["RESUME_HINTS", "WorkerTerminated", "fork_pool", "interrupt_status", "raise_pending", "run_command",
           "terminable_task", "watch_parent"]

#: How to resume each ``affect-book`` command after Ctrl-C or a kill (printed after ``<prog>: interrupted;``), for
#: the dispatcher (:mod:`affect_book.cli`) and the commands that run on their own (``python -m affect_book.site.book``).
RESUME_HINTS = {"book": "resume with the same command (training runs already finished are loaded from the cache)",
                "data": "run the same command again",
                "train": "resume with the same command",
                "study": "resume with the same command (finished runs are loaded from the cache, interrupted ones "
                         "resume from their last checkpoint)"}

#: The signals turned into KeyboardInterrupt by :func:`run_command`.
HANDLED = (signal.SIGINT, signal.SIGTERM)

_received: list[int] = []  # the signals received by the command running now (the first one decides the status)
_message: list[str] = []  # the line printed when a second signal forces the exit
_owner: list[int] = []  # the process that installed the handlers (fork children inherit them)
_pending: list[int] = []  # a received signal whose KeyboardInterrupt was unraisable (raised by raise_pending)


def _handler(signum, frame) -> None:
    if _owner and os.getpid() != _owner[0]:  # a forked worker (a fork pool) inherited the handler: the parent decides
        if signum == signal.SIGINT:  # Ctrl-C reaches the whole process group; the parent stops its pool
            return
        signal.signal(signum, signal.SIG_DFL)  # SIGTERM from pool.terminate(): die as without the handler
        os.kill(os.getpid(), signum)
        return
    if _received:  # a second signal while cleaning up after the first: stop at once
        os.write(2, (_message[0] if _message else "\ninterrupted\n").encode())
        os._exit(128 + _received[0])
    _received.append(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _unraisable(previous):
    """A ``sys.unraisablehook`` that keeps the handler's KeyboardInterrupt pending instead of printing it."""

    def hook(unraisable) -> None:
        if (_received and isinstance(unraisable.exc_value, KeyboardInterrupt) and _owner
                and os.getpid() == _owner[0]):
            _pending[:] = [_received[0]]
            return
        previous(unraisable)

    return hook


def raise_pending() -> None:
    """Raise the ``KeyboardInterrupt`` of a signal whose exception could not be raised where it landed (inside a
    ``__del__`` or a callback); do nothing otherwise. Long loops call it once per step."""
    if _pending and _owner and os.getpid() == _owner[0]:
        signum = _pending.pop()
        raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def _handlers(message: str):
    """Install :func:`_handler` for SIGINT and SIGTERM (unless inherited as ignored) and restore the previous
    handlers afterwards, so a command called in-process (a test, a notebook) leaves its caller's handlers alone."""
    if threading.current_thread() is not threading.main_thread():  # signal.signal works in the main thread only
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in HANDLED}
    outer = list(_received), list(_message), list(_owner), list(_pending)
    previous_hook = sys.unraisablehook
    _received.clear()
    _pending.clear()
    _message[:], _owner[:] = [message], [os.getpid()]
    try:
        sys.unraisablehook = _unraisable(previous_hook)
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, _handler)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook
        _received[:], _message[:], _owner[:], _pending[:] = outer


def interrupt_status(err: BaseException | None = None) -> int | None:
    """The exit status of an interrupted command: ``128 + signal`` of the first signal received under
    :func:`run_command`, 130 for any other ``KeyboardInterrupt``, None when ``err`` is no interrupt.

    An exception that is not a KeyboardInterrupt counts as one when a signal was received: a KeyboardInterrupt raised
    inside an import or a library can come out as another error (a half-initialised module, an event loop's error).

    Parameters
    ----------
    err : BaseException, optional
        The exception that ended the command, if any.

    Returns
    -------
    int or None
        130 (Ctrl-C), 143 (SIGTERM), or None when no signal was received and ``err`` is no KeyboardInterrupt.
    """
    if _received:
        return 128 + _received[0]
    if isinstance(err, KeyboardInterrupt):
        return 128 + signal.SIGINT
    return None


def _line(prog: str, status: int, hint: str) -> str:
    what = "interrupted" if status == 128 + signal.SIGINT else f"stopped by {signal.Signals(status - 128).name}"
    return f"\n{prog}: {what}; {hint}\n"


def run_command(prog: str, hint: str, main: Callable[[], int]) -> int:
    """Run ``main()`` with SIGINT and SIGTERM raising ``KeyboardInterrupt``; return its status, or ``128 + signal``
    after printing ``<prog>: interrupted; <hint>`` (``stopped by SIGTERM`` for a kill) on stderr.

    Parameters
    ----------
    prog : str
        The command, e.g. ``affect-book train``.
    hint : str
        How to resume, e.g. ``resume with the same command``.
    main : callable
        The command; returns its exit status.

    Returns
    -------
    int
        ``main()``'s status, 130 after Ctrl-C (SIGINT), 143 after SIGTERM.
    """
    with _handlers(_line(prog, 128 + signal.SIGINT, hint)):
        try:
            status = main()
        except BaseException as err:
            status = interrupt_status(err)
            if status is None or isinstance(err, SystemExit):
                raise
        else:
            if not _received:
                return status
            status = 128 + _received[0]  # its exception was swallowed, or handled as an error: still an interrupt
        _message[:] = [_line(prog, status, hint)]
        sys.stderr.write(_line(prog, status, hint))
        sys.stderr.flush()
        return status


class WorkerTerminated(BaseException):
    """SIGTERM reached a pool worker inside a task (:func:`terminable_task`): the task unwinds, then the worker
    exits. A BaseException, so no ``except Exception`` of the task swallows it."""


_tasks: list[int] = []  # the worker's tasks running now (0 or 1), for _worker_sigterm


def _worker_sigterm(signum, frame) -> None:
    if _owner and os.getpid() != _owner[0]:  # a fork helper of the worker: die as without the handler
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _tasks:  # unwind the task first: atomic writes remove their temporary files, locks are released
        raise WorkerTerminated(signal.Signals(signum).name)
    os._exit(128 + signum)  # idle (waiting for a task): nothing to clean


@contextlib.contextmanager
def terminable_task():
    """Run a pool worker's task so that SIGTERM (the parent stopping its pool after Ctrl-C or a kill) unwinds it,
    then ends the worker with status 143 (after :func:`watch_parent` installed the handler).

    Returns
    -------
    contextlib.AbstractContextManager
        Wraps the task: ``with terminable_task(): ...``.
    """
    _tasks.append(1)
    try:
        yield
    except WorkerTerminated:
        os._exit(128 + signal.SIGTERM)
    finally:
        _tasks.pop()


def _pdeathsig() -> None:
    """Linux: ask the kernel to SIGKILL this process when the thread that started it ends (a complement to the
    watch thread, which needs the interpreter to run)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def watch_parent(parent_pid: int, poll: float = 0.5) -> threading.Thread:
    """End this worker process (``os._exit``) as soon as its parent ``parent_pid`` is gone.

    A daemon thread waits on the parent's sentinel (a pipe that multiprocessing gives spawned children: its end of
    file is the parent's death) and, as a fall-back, polls ``os.getppid()`` every ``poll`` seconds; on Linux the
    kernel's ``PR_SET_PDEATHSIG`` backs it up. It also ignores SIGINT: Ctrl-C in a terminal reaches the whole process
    group, and the parent, not each worker, decides what an interrupt stops (it terminates its workers). SIGTERM
    from the parent unwinds the task running in :func:`terminable_task` (its temporary files removed), then ends the
    worker; an idle worker ends at once.

    Parameters
    ----------
    parent_pid : int
        The parent's process id, taken in the parent (a child's ``getppid`` may already be a reaper's).
    poll : float
        Seconds between two ``getppid`` checks.

    Returns
    -------
    threading.Thread
        The watch thread (started).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)
    _owner[:] = [os.getpid()]
    _pdeathsig()
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)

    def gone() -> bool:
        return os.getppid() != parent_pid

    def watch() -> None:
        while not gone():
            if sentinel is not None and wait([sentinel], timeout=poll):
                break
            if sentinel is None:
                threading.Event().wait(poll)
        os._exit(128 + signal.SIGTERM)

    if gone():
        os._exit(128 + signal.SIGTERM)
    thread = threading.Thread(target=watch, name="affect-book-parent-watch", daemon=True)
    thread.start()
    return thread


def _worker_signals() -> None:
    """Pool initializer: Ctrl-C is the parent's to handle; SIGTERM (``Pool.terminate``) kills at once; then unblock."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


@contextlib.contextmanager
def fork_pool(workers: int):
    """A ``multiprocessing`` fork pool (a context manager) whose workers cannot lose the parent's SIGTERM, closed
    and joined when the work is done, terminated when the caller's block raises (Ctrl-C included).

    A worker forked while a command's Python handler is installed (:func:`run_command`) inherits it, and
    a SIGTERM that lands between the fork and the child's first bytecode is dropped: CPython clears the signals
    already tripped in a forked child, and the worker then waits for work forever while ``Pool.terminate`` waits
    for it (seen as a hung test). So SIGTERM is blocked while the workers are forked (they start with it pending, not
    lost) and unblocked by :func:`_worker_signals` after the default action is back; and a pool whose work is done is
    closed and joined (its workers exit on their own) rather than terminated. Workers ignore SIGINT: Ctrl-C reaches
    the whole process group, and the parent, which handles it, stops the pool.

    Parameters
    ----------
    workers : int
        Processes in the pool.

    Yields
    ------
    multiprocessing.pool.Pool
        The pool, for ``imap``/``map`` calls inside the ``with`` block.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_signals)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
