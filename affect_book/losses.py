"""Losses of the study: the optimal-transport (OT) term and its costs, the valence-arousal and AU losses, and the
rare-class controls it is compared with.

Introduced in chapter 04 (``notebooks/04_optimal_transport``).

Conventions, shared by every function here:

- ``logits``: (batch, classes) real scores; ``probs``: (batch, classes) rows summing to 1. Functions that accept
  either take ``from_logits`` (default ``True``).
- ``targets``: (batch,) integer class indices, **-1 = no label** (masked: contributes nothing, not even to the
  denominator of a mean). Soft targets: (batch, classes) distributions; a row holding a negative entry (for example
  filled with -1) is missing.
- ``cost``: (classes, classes), ``cost[j, y]`` = price of putting predicted mass on class ``j`` when the true class
  is ``y`` (POT's convention: rows are the prediction, the source; columns the target). Every built-in cost is
  symmetric, so the orientation only matters for a user matrix. Build one with :func:`ot_cost`; check a user
  matrix with :func:`validate_cost` (square, finite, non-negative, zero diagonal, labelled like the classes).
- ``reduction``: ``"mean"`` over the labelled rows (the denominator is clamped at 1, so a batch with no label gives
  0, not NaN), ``"sum"``, or ``"none"`` (per-sample values, 0 on unlabelled rows).
- Nothing in a loss's forward pass synchronises with the host: no ``.item()``, no boolean indexing, no
  data-dependent Python branching. Masks are multiplications and ``torch.where``. Input *values* (a label out of
  range, a negative probability) are therefore not checked there; shapes and dtypes are.
- Losses compute in float32 (float64 when given float64) with autocast disabled inside, so a bf16 autocast region
  around a training step leaves them exact.

The OT term for a hard label (one-hot target) needs no solver: the only coupling of a prediction ``p`` with
``e_y`` sends all of ``p`` to ``y``, so ``W_C(p, e_y) = sum_j p_j C[j, y]`` (:func:`expected_cost`). With the
uniform cost ``C = 1 - I`` this is ``1 - p_y``. Soft targets need a solver: :func:`entropic_ot` is a batched
Sinkhorn in torch (GPU or CPU); :func:`pot_ot` calls POT, the reference it is tested against.
"""

from __future__ import annotations

import contextlib
import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from . import circumplex as cx

__all__ = [
    "COST_KINDS",
    "OTLoss",
    "au_augmented_cost",
    "au_prototype_distance",
    "balanced_softmax_loss",
    "ccc",
    "ccc_loss",
    "class_balanced_weights",
    "class_counts",
    "confidence_penalty_loss",
    "deferred_reweighting",
    "entropic_ot",
    "expected_cost",
    "expected_cost_logit_grad",
    "focal_loss",
    "inverse_frequency_weights",
    "ldam_loss",
    "ldam_margins",
    "logit_adjust",
    "logit_adjusted_loss",
    "masked_bce_with_logits",
    "ot_cost",
    "pot_ot",
    "sampling_weights",
    "smooth_labels",
    "soft_cross_entropy",
    "validate_cost",
    "weighted_cross_entropy",
]

REDUCTIONS = ("mean", "sum", "none")

# --------------------------------------------------------------------------------------------------------------
# Costs
# --------------------------------------------------------------------------------------------------------------

#: Cost kinds :func:`ot_cost` builds.
COST_KINDS: tuple[str, ...] = ("va", "vad", "angular", "au", "uniform")

#: Default share of the AU-prototype distance in the AU-augmented cost (see :func:`au_augmented_cost`).
DEFAULT_AU_WEIGHT = 0.5


def validate_cost(cost: np.ndarray | pd.DataFrame | torch.Tensor, classes: Sequence[str] | None = None,
                  where: str = "cost") -> np.ndarray:
    """Check a cost matrix and return it as a float64 array, (classes, classes).

    Checks: square, 2-D, at least 2 classes, finite, non-negative, zero diagonal, and (when ``classes`` is given)
    one row per class. A labelled ``DataFrame`` must carry the classes' names in the same order on both axes
    (names are compared by concept, so "Happy" matches "Happiness"). ``where`` names the matrix in errors.
    Runs on the host: call it once when a loss is built, not in a training step.
    """
    if isinstance(cost, pd.DataFrame):
        rows, cols = [str(c) for c in cost.index], [str(c) for c in cost.columns]
        if classes is not None:
            want = [cx.concept_of(c) for c in classes]
            for axis, names in (("rows", rows), ("columns", cols)):
                try:
                    got = [cx.concept_of(c) for c in names]
                except ValueError:
                    got = names
                if got != want:
                    raise ValueError(f"{where}: its {axis} are labelled {names}; expected the classes "
                                     f"{list(classes)} in that order")
        cost = cost.to_numpy()
    elif isinstance(cost, torch.Tensor):
        cost = cost.detach().cpu().numpy()
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"{where} has shape {cost.shape}; expected a square (classes, classes) matrix")
    n = cost.shape[0]
    if n < 2:
        raise ValueError(f"{where} has {n} class; expected at least 2")
    if classes is not None and n != len(classes):
        raise ValueError(f"{where} is {n} x {n} but there are {len(classes)} classes {list(classes)}")
    if not np.isfinite(cost).all():
        bad = np.argwhere(~np.isfinite(cost))[0]
        raise ValueError(f"{where}[{bad[0]}, {bad[1]}] = {cost[tuple(bad)]}; expected finite entries")
    if (cost < 0).any():
        bad = np.argwhere(cost < 0)[0]
        raise ValueError(f"{where}[{bad[0]}, {bad[1]}] = {cost[tuple(bad)]:.4g}; expected non-negative entries")
    diag = np.abs(np.diag(cost))
    if (diag > 0).any():
        k = int(np.argmax(diag))
        raise ValueError(f"{where}[{k}, {k}] = {cost[k, k]:.4g}; expected a zero diagonal (a correct prediction "
                         f"costs nothing)")
    return cost


def au_prototype_distance(classes: Sequence[str], other: str | float = "mean") -> np.ndarray:
    """Euclidean distance between the classes' AU prototypes, (classes, classes), in AU-activation units.

    Prototypes are the rows of :func:`affect_book.facs.prototype_matrix` (the table the face simulator renders):
    the distance between two 0/1 prototypes is the square root of the number of AUs in which they differ.
    A class without a prototype (Aff-Wild2's "Other", faces outside the prototypes) gets, by decision of this
    book, ``other="mean"``: the mean distance between the prototyped classes, to every class (0 to itself), so
    the AU part neither favours nor penalises any confusion with it; or a number given by the caller.
    """
    from .facs import PROTOTYPES, prototype_matrix

    classes = list(classes)
    has = [cx.concept_of(c) in PROTOTYPES for c in classes]
    known = [c for c, h in zip(classes, has) if h]
    if len(known) < 2:
        raise ValueError(f"classes {classes}: at least 2 need an AU prototype; prototypes exist for "
                         f"{sorted(PROTOTYPES)}")
    protos = prototype_matrix(known)
    inner = np.sqrt(((protos[:, None, :] - protos[None, :, :]) ** 2).sum(-1))
    if other == "mean":
        fill = cx.mean_off_diagonal(inner)
    elif isinstance(other, (int, float)) and not isinstance(other, bool) and other >= 0 and math.isfinite(other):
        fill = float(other)
    else:
        raise ValueError(f"other={other!r}; expected 'mean' or a non-negative number")
    out = np.full((len(classes), len(classes)), fill)
    idx = [i for i, h in enumerate(has) if h]
    out[np.ix_(idx, idx)] = inner
    np.fill_diagonal(out, 0.0)
    return out


def au_augmented_cost(coords: cx.Coordinates, au_weight: float = DEFAULT_AU_WEIGHT,
                      other: str | float = "mean") -> np.ndarray:
    """Valence-arousal distance combined with AU-prototype distance, in valence-arousal units.

    ``C = (1 - w) * D_va + w * (m_va / m_au) * D_au`` with ``w = au_weight`` in [0, 1], ``D_va`` the
    valence-arousal distance, ``D_au`` :func:`au_prototype_distance` and ``m`` each matrix's mean off-diagonal
    entry. Each part is brought to the same mean before mixing, so ``w`` is the share of the mean price that comes
    from the face, and ``C`` keeps the valence-arousal cost's mean off-diagonal value (the uniform control matched
    to one is matched to the other). Default ``w = 0.5``: half geometry, half face. ``other``: see
    :func:`au_prototype_distance`.
    """
    if not 0.0 <= au_weight <= 1.0:
        raise ValueError(f"au_weight={au_weight}; expected a value in [0, 1]")
    d_va = cx.va_distance_cost(coords)
    d_au = au_prototype_distance(coords.classes, other=other)
    m_va, m_au = cx.mean_off_diagonal(d_va), cx.mean_off_diagonal(d_au)
    return (1.0 - au_weight) * d_va + au_weight * (m_va / m_au) * d_au


def ot_cost(classes: Sequence[str] | str, kind: str = "va", source: str = "russell1977",
            fill: Mapping[str, Sequence[float]] | None = None, au_weight: float = DEFAULT_AU_WEIGHT,
            other_au: str | float = "mean", match: str = "va") -> pd.DataFrame:
    """A validated, labelled cost matrix for the OT term (rows: predicted class, columns: true class).

    ``kind``: ``"va"`` valence-arousal distance, ``"vad"`` valence-arousal-dominance, ``"angular"``,
    ``"au"`` AU-augmented (:func:`au_augmented_cost`), or ``"uniform"``: every confusion the same price, scaled to
    the mean off-diagonal value of the ``match`` kind (default ``"va"``) for the same classes: the study's control.
    Coordinates come from :func:`affect_book.circumplex.coordinates` (``source``, ``fill``): a class without a
    published position (contempt, Other) must be placed with ``fill``. Entries are in the coordinates' units.
    """
    if kind not in COST_KINDS:
        raise ValueError(f"unknown cost kind {kind!r}; expected one of {list(COST_KINDS)}")
    coords = cx.coordinates(classes, source, fill)
    if kind == "va":
        cost = cx.va_distance_cost(coords)
    elif kind == "vad":
        cost = cx.vad_distance_cost(coords)
    elif kind == "angular":
        cost = cx.angular_cost(coords)
    elif kind == "au":
        cost = au_augmented_cost(coords, au_weight, other_au)
    else:
        if match == "uniform" or match not in COST_KINDS:
            raise ValueError(f"match={match!r}; expected one of {[k for k in COST_KINDS if k != 'uniform']}")
        base = ot_cost(coords.classes, match, source, fill, au_weight, other_au)
        cost = cx.uniform_cost(len(coords.classes), match=base.to_numpy())
    cost = validate_cost(cost, coords.classes, where=f"{kind} cost")
    return pd.DataFrame(cost, index=pd.Index(coords.classes, name="predicted"),
                        columns=pd.Index(coords.classes, name="true"))


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


# --------------------------------------------------------------------------------------------------------------
# Helpers: probabilities, masks, reductions
# --------------------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------------------
# OT term, hard labels: closed form
# --------------------------------------------------------------------------------------------------------------

def expected_cost(inputs: torch.Tensor, targets: torch.Tensor, cost, from_logits: bool = True,
                  reduction: str = "mean") -> torch.Tensor:
    """OT term for hard labels, in closed form: ``W_C(p, e_y) = sum_j p_j C[j, y]`` (cost units).

    ``inputs``: (batch, classes) logits (or probabilities with ``from_logits=False``); ``targets``: (batch,)
    class indices, -1 = no label; ``cost``: (classes, classes) array, DataFrame or tensor (see the module
    conventions). Exact (the plan to a one-hot target is forced), differentiable, no host sync. Its gradient with
    respect to the logits is ``p * (C[:, y] - W)`` (:func:`expected_cost_logit_grad`).
    """
    _check_2d(inputs, "inputs")
    _check_labels(targets, inputs.shape[0])
    dtype = _compute_dtype(inputs)
    with _no_autocast(inputs.device):
        probs, _ = _log_probs(inputs, from_logits, dtype)
        c = _cost_tensor(cost, inputs, dtype)
        valid = targets >= 0
        column = c.t().index_select(0, targets.clamp_min(0))  # (batch, classes): C[:, y] per row
        per_sample = (probs * column).sum(-1)
        return _reduce(per_sample, valid, reduction)


def expected_cost_logit_grad(logits: torch.Tensor, targets: torch.Tensor, cost) -> torch.Tensor:
    """Analytic gradient of the per-sample closed-form OT term with respect to the logits, (batch, classes).

    ``d/dz_k sum_j p_j C[j, y] = p_k (C[k, y] - W)`` with ``W`` the term's value; rows with no label are 0.
    """
    _check_2d(logits, "logits")
    _check_labels(targets, logits.shape[0])
    dtype = _compute_dtype(logits)
    probs = torch.softmax(logits.to(dtype), dim=-1)
    column = _cost_tensor(cost, logits, dtype).t().index_select(0, targets.clamp_min(0))
    value = (probs * column).sum(-1, keepdim=True)
    grad = probs * (column - value)
    return torch.where((targets >= 0)[:, None], grad, torch.zeros_like(grad))


# --------------------------------------------------------------------------------------------------------------
# OT term, soft targets: batched Sinkhorn in torch
# --------------------------------------------------------------------------------------------------------------

#: Sinkhorn values :func:`entropic_ot` returns.
OT_VALUES = ("kl", "entropy", "linear")
#: Sinkhorn implementations: per-entry log-sum-exp, or matrix products with the kernel exp(-C/reg).
SINKHORN_METHODS = ("auto", "log", "scaling")
#: Largest ``max(cost) / reg`` the "scaling" method accepts. Its iterates stay within exp(+-2 max(C)/reg) of the
#: target entries for every iteration count (see ``_sinkhorn_scaling``), so float64 (range exp(+-708)) has a
#: margin of almost 3 at this bound.
SCALING_MAX_RATIO = 120.0
#: Largest ``max(cost) / reg`` for which the "scaling" method iterates in float32 when given float32 inputs:
#: exp(+-2 * 40) stays inside float32's normal range (1.2e-38 to 3.4e38) with a margin of 1000. Above it, or when
#: the ratio is not known (a cost tensor on a GPU is not inspected), the iterations run in float64.
FLOAT32_MAX_RATIO = 40.0
#: Run the no-autograd "scaling" loop of CPU tensors through NumPy (same arithmetic, lower per-call overhead).
NUMPY_LOOP_ON_CPU = True


def _soft_targets(targets: torch.Tensor, batch: int, k: int, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(targets, torch.Tensor) or targets.shape != (batch, k) or not targets.is_floating_point():
        shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ValueError(f"target distributions have shape {shape}; expected ({batch}, {k}) float rows summing "
                         f"to 1 (a row with a negative entry = no label)")
    t = targets.to(dtype)
    valid = (t.amin(-1) >= 0) & (t.amax(-1) < math.inf)  # NaN propagates through amin/amax: invalid too
    uniform = torch.full_like(t, 1.0 / k)
    return torch.where(valid[:, None], t, uniform), valid


def _sinkhorn_log(log_a, log_b, cn, n_iter):
    """Log-domain Sinkhorn on scaled potentials F = f/reg, G = g/reg; returns (F, G) after a final G update."""
    g = torch.zeros_like(log_b)
    cn_t = cn.t()
    f = None
    for _ in range(n_iter):
        f = -torch.logsumexp((log_b + g)[:, None, :] - cn, dim=2)
        g = -torch.logsumexp((log_a + f)[:, None, :] - cn_t, dim=2)
    return f, g


def _sinkhorn_scaling(at, bt, kernel, n_iter):
    """Sinkhorn as matrix products with the kernel ``K = exp(-C/reg)``: ``u = a / (K v)``, ``v = b / (K^T u)``,
    4 small operations per iteration instead of a log-sum-exp over a (batch, classes, classes) tensor. ``at``,
    ``bt``: the marginals transposed, (classes, batch), contiguous (``K @ v`` on that layout is the faster product
    for a small ``K``). Returns scaled potentials (F, G) = (-log(K v), -log(K^T u)), (classes, batch) each, after
    a final G update (columns exact).

    No rescaling is needed inside the loop, for any ``n_iter``: the map ``v -> b / (K^T (a / (K v)))`` is monotone
    and positively homogeneous, so an iterate that starts between ``alpha v*`` and ``beta v*`` (``v*`` a fixed
    point) stays there. Starting from ``v = b`` (the same start, hence the same iterates, as the log method) and
    using ``exp(-max(C)/reg) <= K <= 1``, every ``v_j / b_j`` stays within ``exp(+-R)``, ``R = max(C)/reg``, and
    ``K v``, ``u``, ``K^T u`` within ``exp(+-2R)``: finite and normal in float64 while ``R <= SCALING_MAX_RATIO``
    and in float32 while ``R <= FLOAT32_MAX_RATIO``. Without autograd the loop writes into preallocated buffers,
    through NumPy on a CPU (while ``NUMPY_LOOP_ON_CPU``), through torch elsewhere."""
    kernel_t = kernel.t().contiguous()
    if torch.is_grad_enabled() and (at.requires_grad or bt.requires_grad):
        v = bt
        for _ in range(n_iter - 1):
            v = bt / (kernel_t @ (at / (kernel @ v)))
    elif at.device.type == "cpu" and NUMPY_LOOP_ON_CPU:
        # The same 4 operations on NumPy views of the same memory: for these tiny arrays the time is per-call
        # overhead, about half of torch's on a CPU (benchmarks/bench_losses.py).
        kn, ktn, an, bn = (x.detach().numpy() for x in (kernel, kernel_t, at, bt))
        v = bt.detach().clone()
        vn, u, w = v.numpy(), np.empty_like(an), np.empty_like(bn)
        dot, divide = np.dot, np.divide
        with np.errstate(all="ignore"):  # as torch: no warnings; the bound above keeps everything finite
            for _ in range(n_iter - 1):
                dot(kn, vn, out=w)
                divide(an, w, out=u)
                dot(ktn, u, out=w)
                divide(bn, w, out=vn)
    else:
        v, u, w = bt.clone(), torch.empty_like(at), torch.empty_like(bt)
        mm, div = torch.mm, torch.div
        for _ in range(n_iter - 1):
            mm(kernel, v, out=w)
            div(at, w, out=u)
            mm(kernel_t, u, out=w)
            div(bt, w, out=v)
    v = v / v.amax(0, keepdim=True)  # fixes the free constant of (F, G); the plan and the value do not depend on it
    w = kernel @ v
    z = kernel_t @ (at / w)
    return -torch.log(w), -torch.log(z)


class _ScalingKL(torch.autograd.Function):
    """The "kl" value from logits by the scaling method, masked and reduced, with its envelope-theorem gradient.

    ``forward(logits, b, valid, kernel, reg, n_iter, reduction)``: ``logits`` and ``b`` (batch, classes), ``valid``
    (batch,) bool, ``kernel`` ``exp(-C/reg)``; per sample ``reg * (<a, F> + <b, G>)`` with ``a`` the softmax, 0 on
    invalid rows, then reduced exactly as :func:`_reduce` does. Backward: with ``F`` held fixed,
    ``d/dz reg <softmax(z), F> = reg * a * (F - <a, F>)`` times the reduction's weight of the row: the gradient
    autograd would give for the dual value with detached potentials, computed without a graph."""

    @staticmethod
    def forward(ctx, logits, b, valid, kernel, reg, n_iter, reduction):
        at = torch.softmax(logits.t(), dim=0).contiguous()
        fpot, gpot = _sinkhorn_scaling(at, b.t().contiguous(), kernel, n_iter)
        per_sample = ((at * fpot).sum(0) + (b.t() * gpot).sum(0)) * reg
        per_sample = torch.where(valid, per_sample, torch.zeros_like(per_sample))
        weights = valid.to(per_sample.dtype)
        if reduction == "none":
            out = per_sample
        elif reduction == "sum":
            out = per_sample.sum()
        else:
            weights = weights / weights.sum().clamp_min(1.0)
            out = (per_sample * weights).sum()
        ctx.save_for_backward(at, fpot, weights)
        ctx.reg = reg
        return out

    @staticmethod
    def backward(ctx, grad_out):
        at, fpot, weights = ctx.saved_tensors
        scaled = fpot * ctx.reg
        grad = at * (scaled - (at * scaled).sum(0, keepdim=True)) * (weights * grad_out)
        return grad.t(), None, None, None, None, None, None


def entropic_ot(inputs: torch.Tensor, target_probs: torch.Tensor, cost, reg: float = 0.05, n_iter: int = 100,
                value: str = "kl", method: str = "auto", from_logits: bool = True,
                reduction: str = "mean") -> torch.Tensor:
    """Entropic OT between predictions and target distributions, batched Sinkhorn in torch (runs on the GPU).

    ``inputs``: (batch, classes) logits (or probabilities); ``target_probs``: (batch, classes) distributions
    (label smoothing, annotator votes), a row with a negative entry is missing; ``cost``: (classes, classes).

    Regularisation: ``reg`` (eps) in cost units, default 0.05, about 1/17 of the mean valence-arousal distance
    between the Russell & Mehrabian (1977) classes; smaller is closer to exact OT and needs more iterations.
    Iterations: exactly ``n_iter`` (default 100), no convergence test (a test would synchronise with the host);
    the last update makes the columns (target marginals) exact, the rows are exact at convergence. At reg 0.05
    with the valence-arousal cost, 100 iterations are not fully converged on diffuse predictions (measured once,
    256 samples): against 20000 iterations, label-smoothed targets (eps 0.1) and logits ``2 * randn`` left a
    per-sample value error of up to about 2e-3 and a logit-gradient error of up to about 3e-2 (largest gradient
    entry about 0.34); confident predictions and annotator-vote targets converge much faster. Fewer iterations
    were measured to be worse (50: up to 4e-3 and 5e-2), so 100 stays the default; raise ``n_iter`` (or
    ``reg``) where gradients must be tighter.

    ``value`` says what is returned, per sample, with ``T`` the Sinkhorn plan:

    - ``"kl"`` (default): ``<T, C> + reg * KL(T || p t^T)`` = POT's ``ot.solve(..., reg_type="KL").value``.
      For a one-hot target it equals the closed form :func:`expected_cost` exactly, for every ``reg``. Computed as
      the dual value; its gradient is the dual potential (envelope theorem, exact at convergence), so the
      iterations run without autograd and cost no memory.
    - ``"entropy"``: ``<T, C> + reg * sum T log T`` = ``ot.solve(..., reg_type="entropy").value``: the "kl"
      value plus ``reg * (sum p log p + sum t log t)``; for a one-hot target, the closed form plus
      ``reg * sum p log p``, an explicit confidence penalty.
    - ``"linear"``: ``<T, C>`` only, the entropic term excluded = ``ot.sinkhorn2``. Its gradient goes through
      the unrolled iterations (autograd), which costs memory and time in proportion to ``n_iter``.

    ``method``: ``"log"``: log-sum-exp over each entry of a (batch, classes, classes) tensor, stable for any
    ``reg``; ``"scaling"``: the same iteration as matrix products with the kernel ``exp(-C/reg)`` (no rescaling
    needed, see ``_sinkhorn_scaling``), many times faster (``benchmarks/bench_losses.py``), valid while
    ``max(C) / reg <= 120``; ``"auto"`` (default): "scaling" when that ratio is known to hold (a host cost,
    checked here), else "log". A CUDA cost tensor is not inspected (that would synchronise): "auto" then means
    "log"; :class:`OTLoss` checks its cost once at construction and picks "scaling" when it can. Both agree with
    POT's ``sinkhorn_log`` (tests/test_losses.py).

    Precision: the iterations run in float64, except on the default path ("scaling", "kl", logits) with float32
    inputs and a known ``max(C)/reg <= FLOAT32_MAX_RATIO`` (40; the valence-arousal cost at reg 0.05 gives 33),
    where they run in float32: every iterate then stays within exp(+-80), inside float32's range, and the result
    agrees with the float64 path to about 1e-6. That path is one autograd node (``_ScalingKL``) whose backward
    applies the potential's gradient directly; nothing is recorded over the iterations. On a CPU that path's
    loop runs through NumPy on the same memory (``NUMPY_LOOP_ON_CPU``; lower per-call overhead), elsewhere
    through torch; both give the same numbers (tests/test_losses.py).
    """
    _check_2d(inputs, "inputs")
    if value not in OT_VALUES:
        raise ValueError(f"value={value!r}; expected one of {list(OT_VALUES)}")
    if method not in SINKHORN_METHODS:
        raise ValueError(f"method={method!r}; expected one of {list(SINKHORN_METHODS)}")
    if not (isinstance(reg, (int, float)) and reg > 0 and math.isfinite(reg)):
        raise ValueError(f"reg={reg!r}; expected a positive number (in cost units)")
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter={n_iter!r}; expected a positive integer")
    ratio = math.inf  # max(cost) / reg, when known
    if method != "log" and not (isinstance(cost, torch.Tensor) and cost.device.type != "cpu"):
        host = cost.detach() if isinstance(cost, torch.Tensor) else np.asarray(
            cost.to_numpy() if isinstance(cost, pd.DataFrame) else cost, dtype=np.float64)
        ratio = float(host.max()) / reg
        if method == "auto":
            method = "scaling" if ratio <= SCALING_MAX_RATIO else "log"
        elif ratio > SCALING_MAX_RATIO:
            raise ValueError(f"method='scaling' needs max(cost)/reg <= {SCALING_MAX_RATIO:g}, got {ratio:.4g}; "
                             f"raise reg or use method='log'")
    elif method == "auto":
        method = "log"
    batch, k = inputs.shape
    out_dtype = _compute_dtype(inputs)
    single = method == "scaling" and value == "kl" and out_dtype == torch.float32 and ratio <= FLOAT32_MAX_RATIO
    dtype = torch.float32 if single else torch.float64
    with _no_autocast(inputs.device):
        if method == "scaling" and value == "kl" and from_logits:  # the default path: one autograd node
            if reduction not in REDUCTIONS:
                raise ValueError(f"reduction={reduction!r}; expected one of {list(REDUCTIONS)}")
            b, valid = _soft_targets(target_probs, batch, k, dtype)
            kernel = torch.exp(_cost_tensor(cost, inputs, dtype) * (-1.0 / reg))
            return _ScalingKL.apply(inputs.to(dtype), b, valid, kernel, reg, n_iter, reduction).to(out_dtype)
        a, log_a = _log_probs(inputs, from_logits, dtype)
        b, valid = _soft_targets(target_probs, batch, k, dtype)
        if method == "log" or value != "kl":
            log_b = b.clamp_min(torch.finfo(dtype).tiny).log()
            log_b = torch.where(b > 0, log_b, torch.full_like(log_b, -math.inf))
        else:
            log_b = None
        c = _cost_tensor(cost, inputs, dtype)
        cn = c / reg
        linear = value == "linear"  # only the linear value differentiates through the iterations
        with torch.set_grad_enabled(linear and torch.is_grad_enabled()):
            if method == "log":
                fpot, gpot = _sinkhorn_log(log_a if linear else log_a.detach(), log_b, cn, n_iter)
            else:
                at = (a if linear else a.detach()).t().contiguous()
                fpot, gpot = _sinkhorn_scaling(at, b.t().contiguous(), torch.exp(-cn), n_iter)
                fpot, gpot = fpot.t(), gpot.t()
        if value == "linear":
            log_plan = log_a[:, :, None] + log_b[:, None, :] + fpot[:, :, None] + gpot[:, None, :] - cn
            per_sample = (log_plan.exp() * c).sum((1, 2))
        else:
            with torch.no_grad():
                target_part = (b * gpot).sum(-1)
            # Dual value reg * (<a, F> + <b, G>); with F, G fixed its gradient is the potential (envelope theorem),
            # so only <a, F> joins the autograd graph. Zero-mass entries contribute 0 (their potential is finite).
            per_sample = reg * ((a * fpot).sum(-1) + target_part)
            if value == "entropy":
                per_sample = per_sample + reg * ((a * log_a).sum(-1)
                                                 + (b * log_b.clamp_min(torch.finfo(dtype).min)).sum(-1))
        return _reduce(per_sample, valid, reduction).to(out_dtype)


# --------------------------------------------------------------------------------------------------------------
# OT term through POT (the exact reference, and a backend)
# --------------------------------------------------------------------------------------------------------------

POT_SOLVERS = ("emd2", "sinkhorn2", "solve", "batch")


def pot_ot(inputs: torch.Tensor, target_probs: torch.Tensor, cost, solver: str = "emd2", reg: float | None = None,
           from_logits: bool = True, reduction: str = "mean", **options) -> torch.Tensor:
    """The OT term through POT, differentiable through POT's torch backend.

    ``solver``: ``"emd2"`` exact OT, one ``ot.emd2`` call per sample (CPU network simplex; GPU tensors are copied
    to the host); ``"sinkhorn2"`` ``ot.sinkhorn2(method="sinkhorn_log")`` per sample (linear value, like
    ``entropic_ot(value="linear")``); ``"solve"`` ``ot.solve(reg=reg, reg_type="KL")`` per sample (exact when
    ``reg`` is None, else the "kl" value); ``"batch"`` one ``ot.batch.solve_batch`` call (log-Sinkhorn, KL value;
    needs ``reg``; it returns NaN for targets with zero entries in POT 0.9.7, so use it with smoothed targets).
    ``options`` go to the POT function. Loops are slow: this is the reference the torch path is tested against.
    """
    import ot

    _check_2d(inputs, "inputs")
    if solver not in POT_SOLVERS:
        raise ValueError(f"solver={solver!r}; expected one of {list(POT_SOLVERS)}")
    if solver in ("sinkhorn2", "batch") and reg is None:
        raise ValueError(f"solver={solver!r} needs reg (entropic regularisation, cost units)")
    batch, k = inputs.shape
    dtype = torch.float64
    a, _ = _log_probs(inputs, from_logits, dtype)
    b, valid = _soft_targets(target_probs, batch, k, dtype)
    c = _cost_tensor(cost, inputs, dtype)
    if solver == "batch":
        res = ot.batch.solve_batch(c.expand(batch, k, k), reg, a, b, method="log_sinkhorn", reg_type="kl",
                                   **options)
        per_sample = res.value
    else:
        values = []
        for i in range(batch):
            if solver == "emd2":
                values.append(ot.emd2(a[i], b[i], c, **options))
            elif solver == "sinkhorn2":
                values.append(ot.sinkhorn2(a[i], b[i], c, reg, method="sinkhorn_log", **options))
            else:
                values.append(ot.solve(c, a[i], b[i], reg=reg, reg_type="KL", **options).value)
        per_sample = torch.stack([torch.as_tensor(v, dtype=dtype, device=inputs.device) for v in values])
    return _reduce(per_sample, valid, reduction).to(_compute_dtype(inputs))


class OTLoss(torch.nn.Module):
    """The study's OT term as a module: ``weight * W_C(p, target)`` with a cost validated once at construction.

    ``cost``: (classes, classes) array or DataFrame (validated by :func:`validate_cost`, against ``classes`` when
    given). ``forward(logits, targets)``: integer ``targets`` (batch,) use the closed form :func:`expected_cost`;
    float ``targets`` (batch, classes) use :func:`entropic_ot` with ``reg``, ``n_iter``, ``value``, ``method``
    ("auto" is resolved here, once, from the validated cost).
    """

    def __init__(self, cost, classes: Sequence[str] | None = None, weight: float = 1.0, reg: float = 0.05,
                 n_iter: int = 100, value: str = "kl", method: str = "auto"):
        super().__init__()
        checked = validate_cost(cost, classes)
        self.register_buffer("cost", torch.tensor(checked, dtype=torch.float64))
        if method not in SINKHORN_METHODS:
            raise ValueError(f"method={method!r}; expected one of {list(SINKHORN_METHODS)}")
        ratio = float(checked.max()) / reg
        if method == "scaling" and ratio > SCALING_MAX_RATIO:
            raise ValueError(f"method='scaling' needs max(cost)/reg <= {SCALING_MAX_RATIO:g}, got {ratio:.4g}")
        if method == "auto":
            method = "scaling" if ratio <= SCALING_MAX_RATIO else "log"
        self.weight, self.reg, self.n_iter, self.value, self.method = float(weight), reg, n_iter, value, method

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if targets.is_floating_point():
            loss = entropic_ot(logits, targets, self.cost, self.reg, self.n_iter, self.value, self.method)
        else:
            loss = expected_cost(logits, targets, self.cost)
        return self.weight * loss


# --------------------------------------------------------------------------------------------------------------
# Valence-arousal and action units
# --------------------------------------------------------------------------------------------------------------

def ccc(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Concordance correlation coefficient per column, population (ddof = 0) moments, masked.

    ``pred``, ``target``: (batch,) or (batch, dims), e.g. dims = (valence, arousal). A target entry is missing when
    it is not finite or outside [-1, 1] (Aff-Wild2 marks -5, AffectNet -2), or where ``mask`` (same shape) is
    False. ``CCC = 2 s_xy / (s_x^2 + s_y^2 + (m_x - m_y)^2)``; returns (dims,) (a scalar for 1-D input); a column
    with no valid entry or no variance gives 0.
    """
    if pred.shape != target.shape or pred.ndim not in (1, 2):
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)}: expected equal shapes "
                         f"(batch,) or (batch, dims)")
    dtype = _compute_dtype(pred)
    with _no_autocast(pred.device):
        x, y = pred.to(dtype), target.to(dtype)
        valid = torch.isfinite(y) & (y >= -1) & (y <= 1) & torch.isfinite(x)
        if mask is not None:
            valid = valid & mask.to(torch.bool)
        m = valid.to(dtype)
        x = torch.where(valid, x, torch.zeros_like(x))
        y = torch.where(valid, y, torch.zeros_like(y))
        n = m.sum(0).clamp_min(1.0)
        mx, my = (m * x).sum(0) / n, (m * y).sum(0) / n
        dx, dy = (x - mx) * m, (y - my) * m
        vx, vy, cov = (dx * dx).sum(0) / n, (dy * dy).sum(0) / n, (dx * dy).sum(0) / n
        return 2 * cov / (vx + vy + (mx - my) ** 2).clamp_min(torch.finfo(dtype).tiny)


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The valence-arousal loss: ``1 - CCC``, averaged over columns (range [0, 2]); masking as in :func:`ccc`."""
    return 1.0 - ccc(pred, target, mask).mean()


def masked_bce_with_logits(logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None = None,
                           reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy for action units, (batch, aus) logits and 0/1 targets, -1 = missing (masked).

    ``mean`` averages over the labelled entries. ``pos_weight``: (aus,) weight on positives, as in
    ``torch.nn.BCEWithLogitsLoss``. ``"none"`` returns (batch, aus) with 0 where missing.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)}: expected equal shapes")
    dtype = _compute_dtype(logits)
    with _no_autocast(logits.device):
        valid = targets >= 0
        y = torch.where(valid, targets.to(dtype), torch.zeros((), dtype=dtype, device=logits.device))
        pw = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=dtype, device=logits.device)
        per = F.binary_cross_entropy_with_logits(logits.to(dtype), y, pos_weight=pw, reduction="none")
        return _reduce(per, valid, reduction)


# --------------------------------------------------------------------------------------------------------------
# Rare-class controls (FACTS.md section 6)
# --------------------------------------------------------------------------------------------------------------

def class_counts(labels, n_classes: int) -> np.ndarray:
    """Samples per class, (n_classes,), from integer labels; -1 (no label) is not counted. Host-side (numpy)."""
    labels = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected a 1-D integer array, got dtype {labels.dtype} shape {labels.shape}")
    if labels.size and (labels.min() < -1 or labels.max() >= n_classes):
        raise ValueError(f"labels range over [{labels.min()}, {labels.max()}]; expected -1 or 0..{n_classes - 1}")
    return np.bincount(labels[labels >= 0], minlength=n_classes)


def _counts(counts, where: str = "counts") -> np.ndarray:
    c = np.asarray(counts.detach().cpu() if isinstance(counts, torch.Tensor) else counts, dtype=np.float64)
    if c.ndim != 1 or c.size < 2:
        raise ValueError(f"{where} has shape {c.shape}; expected (classes,) with at least 2 classes")
    if not np.isfinite(c).all() or (c <= 0).any():
        raise ValueError(f"{where} = {c.tolist()}; every class needs a positive count (a class with no sample "
                         f"cannot be weighted by its frequency)")
    return c


def inverse_frequency_weights(counts) -> np.ndarray:
    """Class weights ``w_c`` proportional to ``1 / n_c``, normalised to sum to the number of classes."""
    c = _counts(counts)
    w = 1.0 / c
    return w * len(c) / w.sum()


def class_balanced_weights(counts, beta: float = 0.999) -> np.ndarray:
    """Class-balanced weights (Cui et al. 2019): ``(1 - beta) / (1 - beta^n_c)``, normalised to sum to C.

    ``beta`` in [0, 1): 0 gives equal weights; towards 1 approaches inverse frequency.
    """
    from .imbalance import effective_number

    w = 1.0 / effective_number(_counts(counts), beta)  # (1 - beta) / (1 - beta^n_c)
    return w * len(w) / w.sum()


def _class_vector(values, like: torch.Tensor, dtype) -> torch.Tensor:
    out = torch.as_tensor(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=dtype,
                          device=like.device)
    if out.shape != (like.shape[-1],):
        raise ValueError(f"per-class vector has shape {tuple(out.shape)}; expected ({like.shape[-1]},)")
    return out


def weighted_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, weight=None,
                           reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy with optional class weights (e.g. :func:`inverse_frequency_weights`), -1 = no label.

    ``mean`` divides by the summed weight of the labelled samples, as ``torch.nn.functional.cross_entropy``.
    """
    _check_2d(logits, "logits")
    _check_labels(targets, logits.shape[0])
    dtype = _compute_dtype(logits)
    with _no_autocast(logits.device):
        logp = torch.log_softmax(logits.to(dtype), -1)
        valid = targets >= 0
        y = targets.clamp_min(0)
        nll = -logp.gather(1, y[:, None]).squeeze(1)
        if weight is None:
            return _reduce(nll, valid, reduction)
        w = _class_vector(weight, logits, dtype).index_select(0, y)
        return _reduce(nll, valid, reduction, weights=w)


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0, alpha=None,
               reduction: str = "mean") -> torch.Tensor:
    """Focal loss (Lin et al. 2017): ``-alpha_y (1 - p_y)^gamma log p_y``; ``alpha``: (classes,) or None (1).

    The mean is over labelled samples (not weighted by alpha). ``gamma = 0`` and no alpha is cross-entropy.
    """
    _check_2d(logits, "logits")
    _check_labels(targets, logits.shape[0])
    dtype = _compute_dtype(logits)
    with _no_autocast(logits.device):
        logp = torch.log_softmax(logits.to(dtype), -1)
        y = targets.clamp_min(0)
        logp_y = logp.gather(1, y[:, None]).squeeze(1)
        per = -((1.0 - logp_y.exp()).clamp_min(0.0) ** gamma) * logp_y
        if alpha is not None:
            per = per * _class_vector(alpha, logits, dtype).index_select(0, y)
        return _reduce(per, targets >= 0, reduction)


def ldam_margins(counts, max_margin: float = 0.5) -> np.ndarray:
    """LDAM margins (Cao et al. 2019): ``Delta_c = const / n_c^(1/4)``, ``const`` so the largest is max_margin."""
    c = _counts(counts)
    m = 1.0 / np.power(c, 0.25)
    return m * (max_margin / m.max())


def ldam_loss(logits: torch.Tensor, targets: torch.Tensor, margins, scale: float = 1.0, weight=None,
              reduction: str = "mean") -> torch.Tensor:
    """LDAM loss: cross-entropy on ``scale * (z - Delta_y e_y)`` (the true logit lowered by its class margin).

    Cao et al. use ``scale = 30`` with cosine-normalised logits; 1 suits plain logits. ``weight``: class weights
    for the deferred re-weighting phase (:func:`deferred_reweighting`).
    """
    _check_2d(logits, "logits")
    _check_labels(targets, logits.shape[0])
    dtype = _compute_dtype(logits)
    with _no_autocast(logits.device):
        delta = _class_vector(margins, logits, dtype)
        y = targets.clamp_min(0)
        onehot = F.one_hot(y, logits.shape[1]).to(dtype)
        adjusted = scale * (logits.to(dtype) - onehot * delta.index_select(0, y)[:, None])
        return weighted_cross_entropy(adjusted, targets, weight, reduction)


def deferred_reweighting(epoch: int, defer_epoch: int, counts, beta: float = 0.9999) -> np.ndarray:
    """DRW schedule (Cao et al. 2019): equal weights before ``defer_epoch``, class-balanced weights from it on."""
    c = _counts(counts)
    if epoch < defer_epoch:
        return np.ones_like(c)
    return class_balanced_weights(c, beta)


def _log_priors(priors, like, dtype) -> torch.Tensor:
    p = _counts(priors, "priors")
    return _class_vector(np.log(p / p.sum()), like, dtype)


def logit_adjusted_loss(logits: torch.Tensor, targets: torch.Tensor, priors, tau: float = 1.0,
                        reduction: str = "mean") -> torch.Tensor:
    """Logit-adjusted loss (Menon et al. 2021): cross-entropy on ``z_c + tau log pi_c``.

    ``priors``: (classes,) class frequencies or counts (normalised here). Predict with the raw logits.
    """
    dtype = _compute_dtype(logits)
    return weighted_cross_entropy(logits.to(dtype) + tau * _log_priors(priors, logits, dtype), targets,
                                  reduction=reduction)


def logit_adjust(logits: torch.Tensor, priors, tau: float = 1.0) -> torch.Tensor:
    """Post-hoc logit adjustment (Menon et al. 2021): ``z_c - tau log pi_c``; predict with its argmax."""
    dtype = _compute_dtype(logits)
    return logits.to(dtype) - tau * _log_priors(priors, logits, dtype)


def balanced_softmax_loss(logits: torch.Tensor, targets: torch.Tensor, counts,
                          reduction: str = "mean") -> torch.Tensor:
    """Balanced softmax (Ren et al. 2020): cross-entropy on ``z_c + log n_c``."""
    dtype = _compute_dtype(logits)
    log_n = _class_vector(np.log(_counts(counts)), logits, dtype)
    return weighted_cross_entropy(logits.to(dtype) + log_n, targets, reduction=reduction)


def smooth_labels(targets: torch.Tensor, n_classes: int, eps: float = 0.1) -> torch.Tensor:
    """Label smoothing: ``(1 - eps) e_y + eps / C``, (batch, classes); rows with no label (-1) are filled with -1."""
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps={eps}; expected a value in [0, 1]")
    if targets.ndim != 1 or targets.is_floating_point():
        raise ValueError(f"targets has shape {tuple(targets.shape)}; expected (batch,) integer indices")
    onehot = F.one_hot(targets.clamp_min(0), n_classes).to(torch.float32)
    smooth = (1.0 - eps) * onehot + eps / n_classes
    return torch.where((targets >= 0)[:, None], smooth, torch.full_like(smooth, -1.0))


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy against target distributions, ``-sum_c t_c log p_c``; a row with a negative entry is missing."""
    _check_2d(logits, "logits")
    dtype = _compute_dtype(logits)
    with _no_autocast(logits.device):
        t, valid = _soft_targets(target_probs, logits.shape[0], logits.shape[1], dtype)
        per = -(t * torch.log_softmax(logits.to(dtype), -1)).sum(-1)
        return _reduce(per, valid, reduction)


def confidence_penalty_loss(logits: torch.Tensor, targets: torch.Tensor, beta: float = 0.1,
                            reduction: str = "mean") -> torch.Tensor:
    """Confidence penalty (Pereyra et al. 2017): ``CE - beta H(p)``, rewarding less peaked predictions."""
    _check_2d(logits, "logits")
    _check_labels(targets, logits.shape[0])
    dtype = _compute_dtype(logits)
    with _no_autocast(logits.device):
        logp = torch.log_softmax(logits.to(dtype), -1)
        entropy = -(logp.exp() * logp).sum(-1)
        nll = -logp.gather(1, targets.clamp_min(0)[:, None]).squeeze(1)
        return _reduce(nll - beta * entropy, targets >= 0, reduction)


def sampling_weights(labels, missing: str = "raise") -> np.ndarray:
    """Per-sample weights for a class-balanced sampler: ``1 / n_y`` (every class drawn equally often).

    For ``torch.utils.data.WeightedRandomSampler``. ``missing`` decides unlabelled samples (-1): ``"raise"``
    (default, with their count), ``"zero"`` (never drawn) or ``"mean"`` (drawn at the mean labelled weight).
    """
    labels = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
    if missing not in ("raise", "zero", "mean"):
        raise ValueError(f"missing={missing!r}; expected 'raise', 'zero' or 'mean'")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.size == 0:
        raise ValueError(f"labels: expected a non-empty 1-D integer array, got {labels.dtype} {labels.shape}")
    n_missing = int((labels < 0).sum())
    if n_missing and missing == "raise":
        raise ValueError(f"{n_missing} of {labels.size} samples have no label (-1); pass missing='zero' or 'mean'")
    labelled = labels[labels >= 0]
    if labelled.size == 0:
        raise ValueError("no sample has a label")
    counts = np.bincount(labelled)
    w = np.zeros(labels.shape, dtype=np.float64)
    w[labels >= 0] = 1.0 / counts[labelled]
    if n_missing:
        w[labels < 0] = 0.0 if missing == "zero" else w[labels >= 0].mean()
    return w
