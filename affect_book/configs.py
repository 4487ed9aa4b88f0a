"""Typed configuration values from JSON files and ``--set KEY=VALUE`` overrides.

A dataclass field's annotation decides what a value may be: ``bool`` fields take only booleans (``true``/``false``
in JSON, ``True``/``False`` as Python literals), ``int`` fields only integers (never a bool: ``"epochs": true`` is
an error, not one epoch), ``float`` fields integers or floats (stored as float, so ``lr=1`` and ``lr=1.0`` are the
same run), ``str`` fields strings, ``tuple`` fields lists or tuples (a ``data`` dict becomes sorted pairs), and
``X | None`` fields also None. A wrong type is a :class:`~affect_book.params.ParameterError` naming the field, the
value and what was expected; an unknown key names the valid ones and the closest match.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any

from .params import ParameterError, check_choice

__all__ = ["coerce_values", "config_from_dict", "field_kinds", "parse_assignment"]

_KINDS = ("bool", "int", "float", "str", "tuple")


def field_kinds(cls) -> dict[str, tuple[str, bool]]:
    """Each field of dataclass ``cls`` as (kind, accepts None), read from its annotation.

    Parameters
    ----------
    cls : type
        A dataclass whose field annotations use ``bool``, ``int``, ``float``, ``str``, ``tuple`` (optionally
        ``| None``).

    Returns
    -------
    dict
        Field name -> (kind, optional).
    """
    kinds = {}
    for f in dataclasses.fields(cls):
        text = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        parts = [p.strip() for p in text.split("|")]
        base = next((k for k in _KINDS if any(p == k or p.startswith(k + "[") for p in parts)), None)
        if base is None:
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported annotation {text!r}")
        kinds[f.name] = (base, "None" in parts)
    return kinds


def _frozen(value: Any) -> Any:
    """Lists become tuples and dicts sorted (key, value) pairs, recursively (configs are hashable)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _coerce(where: str, value: Any, kind: str, optional: bool) -> Any:
    if value is None and optional:
        return None
    expected = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
                "tuple": "a list"}[kind] + (" or null" if optional else "")
    ok = {"bool": isinstance(value, bool),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, (int, float)) and not isinstance(value, bool),
          "str": isinstance(value, str),
          "tuple": isinstance(value, (list, tuple, dict))}[kind]
    if not ok:
        raise ParameterError(f"{where}={value!r} is not valid; expected {expected}, found a {type(value).__name__}")
    if kind == "float":
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"{where}={value!r} is not valid; expected a finite number")
    return _frozen(value) if kind == "tuple" else value


def coerce_values(cls, values: dict[str, Any]) -> dict[str, Any]:
    """Check and convert plain values (a parsed JSON config) for dataclass ``cls`` field by field.

    Parameters
    ----------
    cls : type
        The dataclass (e.g. :class:`~affect_book.train.TrainConfig`).
    values : dict
        Field name -> value; need not name every field.

    Returns
    -------
    dict
        The values converted: ints to float for float fields, lists to tuples, dicts to sorted pairs.

    Raises
    ------
    ParameterError
        For an unknown key (with the closest valid one) or a value of the wrong type (naming the field).
    """
    kinds = field_kinds(cls)
    out = {}
    for key, value in values.items():
        check_choice("config key", key, sorted(kinds))
        out[key] = _coerce(f"{cls.__name__}.{key}", value, *kinds[key])
    return out


def _literal(raw: str) -> Any:
    """``raw`` read as JSON, else as a Python literal, else the text itself (a bare word is a string)."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return raw


def parse_assignment(text: str, cls) -> tuple[str, Any]:
    """One ``KEY=VALUE`` override for dataclass ``cls``, its value read according to the field's type.

    ``VALUE`` is read as JSON or as a Python literal (``augment=False``, ``amp=false``, ``lr=1e-3``,
    ``cost_fill=[["Other", [0, 0]]]``); for a string field the text is taken as it is unless it is a quoted string
    (``cost=va`` and ``cost='"va"'`` both give ``"va"``).

    Parameters
    ----------
    text : str
        ``KEY=VALUE``.
    cls : type
        The dataclass whose field ``KEY`` names.

    Returns
    -------
    tuple
        (key, value), the value checked by :func:`coerce_values`.

    Raises
    ------
    ParameterError
        No ``=``, an unknown key, or a value of the wrong type.
    """
    if "=" not in text:
        raise ParameterError(f"--set {text!r}: expected KEY=VALUE (e.g. --set epochs=3)")
    key, raw = (part.strip() for part in text.split("=", 1))
    kinds = field_kinds(cls)
    check_choice("config key", key, sorted(kinds))
    kind, optional = kinds[key]
    value = _literal(raw)
    if kind == "str" and not isinstance(value, str) and not (optional and value is None):
        value = raw
    return key, coerce_values(cls, {key: value})[key]


def config_from_dict(values: dict[str, Any], classes: Sequence[str] | None = None):
    """A :class:`~affect_book.train.TrainConfig` from plain values (a parsed JSON config file or ``--set`` overrides).

    Each value is checked against its field's type (:func:`affect_book.configs.coerce_values`: ``"epochs": true``
    and ``"lr": "0.1"`` are errors naming the field); ``data`` may be a dict, lists become tuples.

    Parameters
    ----------
    values : dict
        Field name -> value; an unknown key is an error naming the closest valid one.
    classes : sequence of str, optional
        The class names when ``values`` has none (the loaded data's).

    Returns
    -------
    TrainConfig
        Not yet checked as a whole: call :func:`affect_book.train.validate_config`.
    """
    from .train import TrainConfig  # the trainer imports this module

    values = coerce_values(TrainConfig, values)
    if "classes" not in values:
        if classes is None:
            raise ValueError("the config names no classes and no data was loaded to take them from")
        values["classes"] = tuple(classes)
    return TrainConfig(**values)
