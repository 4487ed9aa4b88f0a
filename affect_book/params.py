"""Validation of notebook parameters (papermill passes whatever the reader typed).

Introduced in chapter 00. Checks run in the cell after ``parameters`` so a typo fails at the top of a chapter,
with the valid values listed, instead of deep inside a computation.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from pathlib import Path
from typing import Any

__all__ = ["ParameterError", "check_choice", "check_number", "check_path"]


class ParameterError(ValueError):
    """A notebook parameter has a value outside what the chapter accepts."""


def check_choice(name: str, value: Any, valid: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``valid``; otherwise raise with the valid values and a close match.

    The package's one "expected one of" check: notebook parameters, :func:`affect_book.trainer.validate_config`,
    the CLIs and the loaders use it.

    Parameters
    ----------
    name : str
        What the value is (``"DEVICE"``, ``"TrainConfig.cost"``), shown in the message.
    value : object
        The value to check.
    valid : collection
        The accepted values, listed in the message in this order.

    Returns
    -------
    object
        ``value``.

    Raises
    ------
    ParameterError
        Listing the valid values, with "Did you mean ...?" for a close string.
    """
    options = list(valid)
    if value in options:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [str(o) for o in options], n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    raise ParameterError(f"{name}={value!r} is not valid; expected one of: "
                         f"{', '.join(repr(o) for o in options)}.{hint}")


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None,
                 integer: bool = False) -> Any:
    """Return ``value`` if it is a number in [low, high] (an int when ``integer``); otherwise raise.

    Parameters
    ----------
    name : str
        The parameter's name, shown in the message.
    value : object
        The value to check (a bool is not a number).
    low, high : float, optional
        Inclusive bounds (None: unbounded).
    integer : bool
        Require an int.

    Returns
    -------
    int or float
        ``value``.

    Raises
    ------
    ParameterError
        Wrong type, or out of range (the range is stated).
    """
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        raise ParameterError(f"{name}={value!r} is not valid; expected {kind}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(f"{name}={value!r} is out of range; expected {kind} in "
                             f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]")
    return value


def check_path(name: str, value: Any, must_exist: bool = True, allow_none: bool = True):
    """Return ``value`` as a ``pathlib.Path`` (or None when allowed); a missing path fails with its name.

    Parameters
    ----------
    name : str
        The parameter's name, shown in the message.
    value : str, Path or None
        The path (``~`` is expanded).
    must_exist : bool
        Require the file or folder to exist.
    allow_none : bool
        Accept None (returned as is).

    Returns
    -------
    Path or None
        The expanded path.

    Raises
    ------
    ParameterError
        None when not allowed, a non-path value, or a missing path.
    """
    if value is None:
        if allow_none:
            return None
        raise ParameterError(f"{name} is None; expected a path")
    if not isinstance(value, (str, Path)):
        raise ParameterError(f"{name}={value!r} is not valid; expected a path string")
    path = Path(value).expanduser()
    if must_exist and not path.exists():
        raise ParameterError(f"{name}={str(value)!r}: no such file or directory")
    return path
