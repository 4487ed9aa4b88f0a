"""Shared helpers of the loss modules: input checks, probabilities, masked reductions, per-class vectors.

Private: the public names live in :mod:`affect_book.losses`.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd
import torch

from ..params import check_counts

REDUCTIONS = ("mean", "sum", "none")


def _cost_tensor(cost, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(cost, pd.DataFrame):
        cost = cost.to_numpy()
    if isinstance(cost, torch.Tensor):
        out = cost.to(device=like.device, dtype=dtype)
    else:
        out = torch.tensor(np.array(cost, dtype=np.float64), dtype=dtype, device=like.device)
    k = like.shape[-1]
    if out.shape != (k, k):
        raise ValueError(f"cost has shape {tuple(out.shape)}; expected ({k}, {k}) for {k} classes")
    return out


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _check_2d(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} has shape {shape}; expected a (batch, classes) tensor")


def _check_labels(targets: torch.Tensor, batch: int) -> None:
    if not isinstance(targets, torch.Tensor) or targets.shape != (batch,) or targets.is_floating_point():
        shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ValueError(f"targets has shape {shape}; expected ({batch},) integer class indices, -1 = no label")


def _checked_dtype(x: torch.Tensor, targets: torch.Tensor, name: str = "logits") -> torch.dtype:
    """Check (batch, classes) ``x`` and (batch,) integer ``targets``; return the dtype to compute in."""
    _check_2d(x, name)
    _check_labels(targets, x.shape[0])
    return _compute_dtype(x)


def _log_probs(inputs: torch.Tensor, from_logits: bool, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(probs, log_probs) in ``dtype``; log 0 is clamped to log(tiny) with zero gradient there."""
    x = inputs.to(dtype)
    if from_logits:
        logp = torch.log_softmax(x, dim=-1)
        return logp.exp(), logp
    return x, x.clamp_min(torch.finfo(dtype).tiny).log()


def _reduce(per_sample: torch.Tensor, valid: torch.Tensor, reduction: str,
            weights: torch.Tensor | None = None) -> torch.Tensor:
    """Masked reduction without host sync: invalid rows give 0; the mean's denominator is clamped at 1e-12."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}; expected one of {list(REDUCTIONS)}")
    w = valid.to(per_sample.dtype) if weights is None else valid.to(per_sample.dtype) * weights
    values = torch.where(valid, per_sample, torch.zeros_like(per_sample))
    if weights is not None:
        values = values * w
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    denom = w.sum().clamp_min(1.0) if weights is None else w.sum().clamp_min(1e-12)
    return values.sum() / denom


def _no_autocast(device: torch.device):
    """Disable autocast inside a loss (devices without autocast, such as "meta", need nothing)."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device_type=device.type, enabled=False)
    return contextlib.nullcontext()


def _soft_targets(targets: torch.Tensor, batch: int, k: int, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(targets, torch.Tensor) or targets.shape != (batch, k) or not targets.is_floating_point():
        shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ValueError(f"target distributions have shape {shape}; expected ({batch}, {k}) float rows summing "
                         f"to 1 (a row with a negative entry = no label)")
    t = targets.to(dtype)
    valid = (t.amin(-1) >= 0) & (t.amax(-1) < math.inf)  # NaN propagates through amin/amax: invalid too
    uniform = torch.full_like(t, 1.0 / k)
    return torch.where(valid[:, None], t, uniform), valid


def _counts(counts, where: str = "counts") -> np.ndarray:
    return check_counts(counts, where, positive=True)


def _class_vector(values, like: torch.Tensor, dtype) -> torch.Tensor:
    out = torch.as_tensor(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=dtype,
                          device=like.device)
    if out.shape != (like.shape[-1],):
        raise ValueError(f"per-class vector has shape {tuple(out.shape)}; expected ({like.shape[-1]},)")
    return out
