"""The package's one validation layer: notebook parameters and the arrays its functions take.

Notebook parameters (papermill passes whatever the reader typed; introduced in chapter 00): :func:`check_choice`,
:func:`check_number` and :func:`check_path` run in the cell after ``parameters``, so a typo fails at the top of a
chapter, with the valid values listed, instead of deep inside a computation; they raise :class:`ParameterError`.

Arrays (a ValueError naming the argument and what was expected, as scikit-learn's ``utils.validation`` does): a
per-seed sample (:func:`as_sample`, :func:`paired_differences`), a test's ``alternative``, a ``level``, a seed
(:func:`check_seed`), class counts (:func:`check_counts`) and class labels against predictions
(:func:`check_labels`). Checks of torch tensors stay with the losses that take them (``affect_book.losses``), so
this module loads without torch; checks of circumplex coordinates stay with the geometry metrics.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from .arrays import to_numpy

__all__ = ["ALTERNATIVES", "ParameterError", "as_sample", "check_alternative", "check_choice", "check_counts",
           "check_labels", "check_level", "check_number", "check_path", "check_seed", "paired_differences"]

#: The alternatives of a one- or two-sided test (:func:`check_alternative`).
ALTERNATIVES = ("two-sided", "greater", "less")


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


def as_sample(x, name: str) -> np.ndarray:
    """A per-seed sample as a 1-D float array of finite values.

    Parameters
    ----------
    x : array-like
        One value per seed.
    name : str
        The argument's name, for the error.

    Returns
    -------
    numpy.ndarray
        (n,) float.

    Raises
    ------
    ValueError
        When ``x`` is not 1-D or holds a non-finite value (its position is named).
    """
    arr = to_numpy(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of numbers (one value per seed); found shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; found {arr[bad[0]]} at position {bad[0]} "
                         f"({bad.size} non-finite value(s) in all)")
    return arr


def paired_differences(a, b=None) -> np.ndarray:
    """Paired differences ``a - b`` (``a`` itself when ``b`` is None), one per seed.

    Parameters
    ----------
    a : array-like
        One value per seed (or the differences themselves).
    b : array-like, optional
        One value per seed, paired with ``a``.

    Returns
    -------
    numpy.ndarray
        (n,) float.

    Raises
    ------
    ValueError
        Naming the argument at fault (shape, non-finite value, unequal lengths).
    """
    a = as_sample(a, "a")
    if b is None:
        return a
    b = as_sample(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (one value each per seed); found {a.size} and {b.size} values")
    return a - b


def check_alternative(alternative: str) -> str:
    """A test's alternative hypothesis.

    Parameters
    ----------
    alternative : str
        One of :data:`ALTERNATIVES`.

    Returns
    -------
    str
        ``alternative``.

    Raises
    ------
    ValueError
        Listing the valid values.
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}; found {alternative!r}")
    return alternative


def check_level(level: float, name: str = "level") -> float:
    """A confidence level or a probability strictly between 0 and 1.

    Parameters
    ----------
    level : float
        E.g. 0.95.
    name : str
        The argument's name, for the error.

    Returns
    -------
    float
        ``level``.

    Raises
    ------
    ValueError
        When it is not strictly between 0 and 1.
    """
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1 (e.g. 0.95); found {level}")
    return level


def check_seed(random_state) -> np.random.Generator:
    """A NumPy Generator from an int seed or a Generator; None is refused (results must be reproducible).

    Parameters
    ----------
    random_state : int or numpy.random.Generator
        The seed.

    Returns
    -------
    numpy.random.Generator
        ``random_state`` itself, or a new generator seeded with it.

    Raises
    ------
    ValueError
        For None, a bool or anything else.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    raise ValueError(f"random_state must be an int seed or a numpy.random.Generator; found {random_state!r}")


def check_counts(counts, where: str = "counts", positive: bool = False) -> np.ndarray:
    """A vector of class counts (the class-frequency measures and the count-based losses).

    Parameters
    ----------
    counts : array-like
        (classes,), at least two classes, finite.
    where : str
        The argument's name, for the error.
    positive : bool
        Every count above zero (what a loss that weights a class by its frequency needs); otherwise non-negative
        and not all zero.

    Returns
    -------
    numpy.ndarray
        (classes,) float64.

    Raises
    ------
    ValueError
        Naming ``where`` and what was expected.
    """
    values = to_numpy(counts, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"{where} has shape {values.shape}; expected (classes,) with at least 2 classes")
    if positive:
        if not np.isfinite(values).all() or (values <= 0).any():
            raise ValueError(f"{where} = {values.tolist()}; every class needs a positive count (a class with no "
                             f"sample cannot be weighted by its frequency)")
    elif not np.isfinite(values).all() or (values < 0).any() or values.sum() == 0:
        raise ValueError(f"{where} must be finite, non-negative and not all zero")
    return values


def check_labels(y_true, y_pred, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class labels and predictions of the same samples, with the unlabelled rows (-1) left out.

    Parameters
    ----------
    y_true : array-like
        Class indices; -1 where a sample has no label.
    y_pred : array-like
        Predicted class indices, one per sample.
    n_classes : int
        Number of classes: every index must lie in 0..n_classes-1.

    Returns
    -------
    tuple of numpy.ndarray
        ``(y_true, y_pred)`` as int64, the labelled rows only.

    Raises
    ------
    ValueError
        On unequal shapes, non-integer or non-finite entries, or an index outside the classes.
    """
    y_true, y_pred = to_numpy(y_true).ravel(), to_numpy(y_pred).ravel()
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_true has shape {y_true.shape}, y_pred {y_pred.shape}; expected the same")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and np.array_equal(arr, np.round(arr))):
            raise ValueError(f"{name} has non-integer or non-finite entries; expected class indices")
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
    keep = y_true >= 0
    y_true, y_pred = y_true[keep], y_pred[keep]
    if y_true.size and (y_true.max() >= n_classes or y_pred.min() < 0 or y_pred.max() >= n_classes):
        raise ValueError(f"labels or predictions outside 0..{n_classes - 1}")
    return y_true, y_pred
