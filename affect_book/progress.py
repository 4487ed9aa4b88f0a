"""Progress display that suits where the output goes: bars on a terminal or in a notebook, nothing in a log file.

A tqdm bar redraws itself with carriage returns; when stderr is a file or a pipe (``affect-book train 2> log``, CI,
the study's parallel workers) every redraw becomes a new line, and one 8-epoch run writes about a thousand lines.
:func:`progress_bar` decides once, in one place: on a terminal or in a Jupyter kernel it wraps the iterable in a
``tqdm.auto`` bar; elsewhere it returns the iterable unchanged and the caller prints one summary line per unit of
work (the trainer prints one line per epoch with its figures).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

__all__ = ["in_notebook", "progress_bar", "wants_bars"]

T = TypeVar("T")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a notebook or JupyterLab console), False in a plain interpreter or IPython.

    Returns
    -------
    bool
        Whether the running IPython shell is a kernel (``ZMQInteractiveShell``).
    """
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def wants_bars(stream=None) -> bool:
    """Whether progress bars suit the output: ``stream`` (default ``sys.stderr``) is a terminal, or in a notebook.

    Parameters
    ----------
    stream : file-like, optional
        Where a bar would be written (tqdm writes to stderr).

    Returns
    -------
    bool
        True on a terminal or in a Jupyter kernel; False for files, pipes and closed streams.
    """
    if in_notebook():
        return True
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(iterable: Iterable[T], desc: str | None = None, total: int | None = None, leave: bool = False,
                 enabled: bool = True, **tqdm_options) -> Iterable[T]:
    """``iterable`` wrapped in a ``tqdm.auto`` bar where bars suit the output (:func:`wants_bars`), else as it is.

    Parameters
    ----------
    iterable : iterable
        What to iterate over.
    desc : str, optional
        The bar's label.
    total : int, optional
        Number of items, when ``len(iterable)`` is not defined.
    leave : bool
        Keep the finished bar on screen.
    enabled : bool
        False returns ``iterable`` unchanged whatever the output (the caller's own "no progress" switch).
    **tqdm_options
        Passed to ``tqdm`` (``unit``, ``position``, ...).

    Returns
    -------
    iterable
        A tqdm bar over ``iterable``, or ``iterable`` itself when bars are off. Callers that print a summary line
        when bars are off can test ``wants_bars()``.
    """
    if not (enabled and wants_bars()):
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=leave, **tqdm_options)
