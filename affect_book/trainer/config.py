"""The trainer's configuration, at the bottom of :mod:`affect_book.trainer`: :class:`TrainConfig` (every choice of a
run; its hash names the run), :func:`validate_config`, the OT term's cost matrix of a config (:func:`cost_tensor`),
and typed values from JSON files and ``--set KEY=VALUE`` overrides.

A dataclass field's annotation decides what a value may be: ``bool`` fields take only booleans (``true``/``false``
in JSON, ``True``/``False`` as Python literals), ``int`` fields only integers (never a bool: ``"epochs": true`` is
an error, not one epoch), ``float`` fields integers or floats (stored as float, so ``lr=1`` and ``lr=1.0`` are the
same run), ``str`` fields strings, ``tuple`` fields lists or tuples (a ``data`` dict becomes sorted pairs), and
``X | None`` fields also None. A wrong type is a :class:`~affect_book.params.ParameterError` naming the field, the
value and what was expected; an unknown key names the valid ones and the closest match.

Imports no other module of the trainer.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..cache import OMIT_DEFAULT
from ..costs import COST_KINDS, DEFAULT_PAIR_WEIGHT, ot_cost, validate_cost
from ..device import DEVICES
from ..losses import EXPRESSION_LOSSES
from ..losses import expression_param as check_expression_param
from ..models import BACKBONES
from ..params import ParameterError, check_choice
from ..profiles import PROFILES

__all__ = ["COSTS", "SAMPLERS", "TRAINER_VERSION", "TrainConfig", "coerce_values", "config_from_dict", "cost_tensor",
           "field_kinds", "parse_assignment", "validate_config"]

#: Bumped when the trainer or the models change what a config produces, so cached runs of older code are not
#: loaded as if they were current (it is a field of every config, hence part of its hash). 3: random shifts
#: (``crop``) join the flips; runs keyed on the data's fingerprint too. (``sampler`` and ``ldam_drw`` need no bump:
#: earlier configs train exactly as before; nor ``channels_last`` on the CPU, which computes the same function in
#: another memory order: runs differ from earlier ones only by rounding.)
TRAINER_VERSION = 3

#: Samplers of ``TrainConfig.sampler``: a shuffle of the training set, or class-balanced sampling with replacement.
SAMPLERS = ("none", "class_balanced")

#: Cost kinds of ``TrainConfig.cost``: none, the kinds :func:`affect_book.costs.ot_cost` builds, or a matrix.
COSTS = ("none", *COST_KINDS, "matrix")


@dataclass(frozen=True)
class TrainConfig:
    """Every choice of a training run. Its hash (``config_hash(config)``) names the run's cache directory.

    Types are checked (:func:`validate_config`): a bool is not a number, numbers are finite.

    Parameters
    ----------
    classes : tuple of str
        Expression class names in label-index order (the model's outputs); at least two.
    dataset : str
        The data source (:data:`affect_book.data.sources.SOURCES`) the train CLI loads.
    data : tuple
        Source-specific options as sorted (key, value) pairs, e.g. ``(("preset", "affwild2"),)``.
    backbone : str
        One of :data:`affect_book.models.BACKBONES`.
    width : int
        First-block channels of ``small_cnn`` (positive).
    norm : {"batch", "group"}
        Normalization of ``small_cnn``; ``group`` makes it independent of the batch split.
    weights_path : str, optional
        A local torchvision state dict for the backbone (nothing is downloaded).
    dropout : float
        Dropout on the features before the heads (>= 0).
    expression_loss : str
        The expression term, a key of :data:`affect_book.losses.EXPRESSION_LOSSES`.
    expression_param : float, optional
        Its hyper-parameter, inside the table's range; None: the table's default (none for a loss without one).
        ``ldam_drw``: the deferral point as a fraction of ``epochs`` (default 0.8: Cao et al.'s epoch 160 of 200,
        :func:`affect_book.losses.drw_defer_epoch`); the weights depend on the epoch number only (resumable).
    lambda_ot : float
        Weight of the OT term (>= 0); above 0 it needs a ``cost``.
    cost : str
        One of :data:`COSTS`: ``none``; a kind of :func:`affect_book.costs.ot_cost`, whose controls ``uniform``,
        ``uniform_column`` and ``permuted`` (permutation chosen by ``seed``) and aimed costs ``pair`` (needs
        ``cost_pair``) and ``inverse`` derive from the ``va`` cost; or ``matrix``.
    cost_matrix : tuple, optional
        For ``cost="matrix"``: the (classes, classes) matrix as nested tuples, rows predicted, columns true.
    coordinates : str
        The coordinate set of the cost (:func:`affect_book.circumplex.coordinates`).
    cost_fill : tuple
        Hand placements of classes the coordinate set lacks, as ``((name, (valence, arousal)), ...)``.
    cost_pair : tuple of str
        For ``cost="pair"``: the two different names of ``classes`` whose confusions the cost prices high
        (:func:`affect_book.costs.pair_weighted_cost`). Left out of the hash while empty.
    pair_weight : float
        For ``cost="pair"``: how many times dearer the pair's confusions are than any other (> 0; default
        :data:`affect_book.costs.DEFAULT_PAIR_WEIGHT`). Left out of the hash at its default.
    lambda_va, lambda_au : float
        Weights of the valence-arousal (1 - CCC) and AU terms (>= 0; 0 leaves the term out).
    lambda_supcon, lambda_pair : float
        Weights (>= 0; 0 leaves the term out) of the terms on the penultimate features: supervised contrastive
        (:func:`affect_book.losses.supcon_loss`) and pair margin (:func:`affect_book.losses.pair_margin_loss`).
    supcon_temperature, pair_margin : float
        The contrastive term's temperature, in (0, 10], and the pair term's margin, in (0, 2].
    margin_pair : tuple of str
        The two different names of ``classes`` the pair term pushes apart (needed when ``lambda_pair`` > 0).
    epochs : int
        Training epochs (positive).
    batch_size : int
        Images per optimiser step, over all ranks together (positive).
    lr : float
        Peak learning rate of AdamW (> 0).
    weight_decay : float
        AdamW's weight decay (>= 0).
    warmup_epochs : float
        Length of the linear warm-up before the cosine decay, in epochs (>= 0).
    grad_clip : float
        Largest gradient norm (>= 0; 0: no clipping).
    sampler : str
        One of :data:`SAMPLERS`. ``none``: each epoch visits every training image once, shuffled.
        ``class_balanced``: each epoch draws as many images (same steps) **with replacement**, each with probability
        proportional to ``1 / n_y`` (unlabelled: the mean weight), from the epoch's seeded generator
        (:func:`affect_book.trainer.epoch_order`; deterministic, resumable).
    seed : int
        Seeds the model's initialisation, the shuffling and augmentation, and the ``permuted`` cost.
    profile : str
        A run profile (:data:`affect_book.profiles.PROFILES`); the train CLI loads the data with it.
    device : str
        ``auto``, ``cuda``, ``mps`` or ``cpu`` (:func:`affect_book.device.choose_device`).
    amp : bool
        bf16 autocast on a CUDA GPU (ignored elsewhere).
    channels_last : bool
        Channels-last memory format on a CUDA GPU and on the CPU (oneDNN's pooling and batch norm are faster in
        it; ``benchmarks/bench_memory_format.py``); ignored on Apple MPS. The same computation in another memory
        order: runs differ only by rounding.
    compile : bool
        ``torch.compile`` the model on a CUDA GPU (ignored elsewhere).
    augment : bool
        Random horizontal flips of the training images, and random shifts when ``crop`` > 0.
    crop : float
        Largest shift, as a fraction of the image side, in [0, 0.5); the gap is zero-filled
        (:func:`affect_book.data.batches.shift_images`).
    au_threshold : float
        Probability in (0, 1) from which a predicted AU counts as present when scoring.
    version : int
        The trainer's code version (:data:`TRAINER_VERSION`), part of the hash so that runs of older code are not
        loaded.
    """

    classes: tuple[str, ...]
    dataset: str = "synthetic"
    data: tuple = ()
    backbone: str = "small_cnn"
    width: int = 32
    norm: str = "batch"
    weights_path: str | None = None
    dropout: float = 0.0
    expression_loss: str = "ce"
    expression_param: float | None = None
    lambda_ot: float = 0.0
    cost: str = "none"
    cost_matrix: tuple | None = None
    coordinates: str = "russell1977"
    cost_fill: tuple = ()
    cost_pair: tuple = field(default=(), metadata=OMIT_DEFAULT)
    pair_weight: float = field(default=DEFAULT_PAIR_WEIGHT, metadata=OMIT_DEFAULT)
    lambda_va: float = 1.0
    lambda_au: float = 1.0
    lambda_supcon: float = 0.0
    supcon_temperature: float = 0.1
    lambda_pair: float = 0.0
    pair_margin: float = 1.0
    margin_pair: tuple = ()
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    grad_clip: float = 5.0
    sampler: str = "none"
    seed: int = 0
    profile: str = "cpu"
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    augment: bool = True
    crop: float = 0.125
    au_threshold: float = 0.5
    version: int = TRAINER_VERSION


def validate_config(config: TrainConfig, classes_known: bool = True) -> None:
    """Fail before training with a clear message for a value the trainer cannot use.

    Parameters
    ----------
    config : TrainConfig
        The configuration to check: every field's type (a bool is not a number, numbers are finite, see
        :func:`coerce_values`), choices (with the closest valid name), ranges, and the cost.
    classes_known : bool
        False skips the checks that need the real class list (its length, ``cost_matrix``'s shape, building the
        cost), so a config can be checked before its data is loaded.

    Raises
    ------
    ValueError
        (:class:`~affect_book.params.ParameterError`) naming the field, its value and what was expected.
    """
    def bad(name, value, expected):
        raise ParameterError(f"TrainConfig.{name}={value!r} is not valid; expected {expected}")

    coerce_values(TrainConfig, {f.name: getattr(config, f.name) for f in dataclasses.fields(TrainConfig)})
    check_choice("TrainConfig.backbone", config.backbone, BACKBONES)
    check_choice("TrainConfig.expression_loss", config.expression_loss, EXPRESSION_LOSSES)
    check_choice("TrainConfig.cost", config.cost, COSTS)
    check_choice("TrainConfig.norm", config.norm, ("batch", "group"))
    check_choice("TrainConfig.sampler", config.sampler, SAMPLERS)
    check_choice("TrainConfig.device", config.device, DEVICES)
    check_choice("TrainConfig.profile", config.profile, PROFILES)
    for name in ("lambda_ot", "lambda_va", "lambda_au", "lambda_supcon", "lambda_pair", "weight_decay", "dropout",
                 "warmup_epochs", "grad_clip"):
        if getattr(config, name) < 0:
            bad(name, getattr(config, name), "a finite number >= 0")
    try:  # the loss table's range for its parameter (None for a loss without one)
        check_expression_param(config.expression_loss, config.expression_param)
    except ValueError as err:
        raise ParameterError(f"TrainConfig.{err}") from None
    if config.lambda_ot > 0 and config.cost == "none":
        bad("cost", config.cost, "a cost when lambda_ot > 0")
    if not config.pair_weight > 0:
        bad("pair_weight", config.pair_weight, "a finite number > 0")
    pair = config.cost_pair
    if config.cost == "pair" and (len(pair) != 2 or not all(isinstance(c, str) for c in pair) or pair[0] == pair[1]):
        bad("cost_pair", pair, "two different class names (the pair the 'pair' cost prices high)")
    for name in ("epochs", "batch_size", "width"):
        if getattr(config, name) < 1:
            bad(name, getattr(config, name), "a positive integer")
    if not config.lr > 0:
        bad("lr", config.lr, "a finite number > 0")
    if not 0 <= config.crop < 0.5:
        bad("crop", config.crop, "a fraction of the image side in [0, 0.5)")
    if not 0 < config.au_threshold < 1:
        bad("au_threshold", config.au_threshold, "a probability in (0, 1)")
    if not all(isinstance(c, str) for c in config.classes):
        bad("classes", config.classes, "class names (strings)")
    _check_feature_terms(config, bad, classes_known)
    if not classes_known:
        return
    if len(config.classes) < 2:
        bad("classes", config.classes, "at least two class names")
    if config.cost == "matrix":
        cost = np.asarray(config.cost_matrix, dtype=float)
        n = len(config.classes)
        if cost.shape != (n, n):
            bad("cost_matrix", f"shape {cost.shape}", f"({n}, {n}) for classes {list(config.classes)}")
    cost_tensor(config)  # a cost that cannot be built (a class without a coordinate) fails here, before training


def _check_feature_terms(config, bad, classes_known: bool = True) -> None:
    """Check ``supcon_temperature``, ``pair_margin`` and ``margin_pair`` of a TrainConfig (the representation terms
    of chapter 09, :func:`affect_book.trainer.objective.add_feature_terms`).

    Parameters
    ----------
    config : TrainConfig
        The configuration (types already checked; the weights' signs are checked with the other weights).
    bad : callable
        ``bad(field, value, expected)`` raises the trainer's :class:`~affect_book.params.ParameterError`.
    classes_known : bool
        False skips the check that the names of ``margin_pair`` are classes of ``config.classes``.
    """
    if not 0 < config.supcon_temperature <= 10:
        bad("supcon_temperature", config.supcon_temperature, "a number in (0, 10]")
    if not 0 < config.pair_margin <= 2:
        bad("pair_margin", config.pair_margin, "a distance in (0, 2] (the features are normalised to unit length)")
    pair = config.margin_pair
    if config.lambda_pair == 0 and pair == ():
        return
    if len(pair) != 2 or not all(isinstance(c, str) for c in pair) or pair[0] == pair[1]:
        bad("margin_pair", pair, "two different class names (the pair the lambda_pair term pushes apart)")
    missing = [c for c in pair if c not in config.classes]
    if classes_known and missing:
        bad("margin_pair", pair, f"names of classes {list(config.classes)}; {missing} are not among them")


def cost_tensor(config: TrainConfig) -> torch.Tensor | None:
    """The (classes, classes) cost matrix of the OT term (rows predicted, columns true), or None.

    Parameters
    ----------
    config : TrainConfig
        Its ``lambda_ot``, ``cost``, ``cost_matrix``, ``coordinates``, ``cost_fill``, ``classes``, ``seed`` (the
        ``permuted`` control's permutation), ``cost_pair`` and ``pair_weight`` (the ``pair`` cost).

    Returns
    -------
    torch.Tensor or None
        Float32; None when the config has no OT term (``lambda_ot == 0`` or ``cost == "none"``).
    """
    if config.lambda_ot == 0 or config.cost == "none":
        return None
    if config.cost == "matrix":
        cost = validate_cost(np.asarray(config.cost_matrix, dtype=float), config.classes, where="cost_matrix")
        return torch.tensor(np.asarray(cost), dtype=torch.float32)
    frame = ot_cost(config.classes, config.cost, config.coordinates, fill=dict(config.cost_fill) or None,
                    seed=config.seed, pair=config.cost_pair or None, pair_weight=config.pair_weight)
    return torch.tensor(frame.to_numpy(), dtype=torch.float32)


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
        The dataclass (e.g. :class:`TrainConfig`).
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
    """A :class:`TrainConfig` from plain values (a parsed JSON config file or ``--set`` overrides).

    Each value is checked against its field's type (:func:`coerce_values`: ``"epochs": true``
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
        Not yet checked as a whole: call :func:`validate_config`.
    """
    values = coerce_values(TrainConfig, values)
    if "classes" not in values:
        if classes is None:
            raise ValueError("the config names no classes and no data was loaded to take them from")
        values["classes"] = tuple(classes)
    return TrainConfig(**values)
