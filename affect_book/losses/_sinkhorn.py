"""The OT term for soft targets: a batched Sinkhorn in torch (GPU or CPU), "log" and "scaling" methods.

Private: the public names live in :mod:`affect_book.losses`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ._common import (REDUCTIONS, _check_2d, _compute_dtype, _cost_tensor, _log_probs, _no_autocast, _reduce,
                      _soft_targets)


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


def _sinkhorn_log(log_a, log_b, cn, n_iter):
    """Log-domain Sinkhorn on scaled potentials F = f/reg, G = g/reg; returns (F, G) after a final G update."""
    g = torch.zeros_like(log_b)
    cn_t = cn.t()
    f = None
    for _ in range(n_iter):
        f = -torch.logsumexp((log_b + g)[:, None, :] - cn, dim=2)
        g = -torch.logsumexp((log_a + f)[:, None, :] - cn_t, dim=2)
    return f, g


def _sinkhorn_scaling(at, bt, kernel, n_iter, numpy_loop=False):
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
    through NumPy when ``numpy_loop`` (CPU tensors only), through torch otherwise."""
    kernel_t = kernel.t().contiguous()
    if torch.is_grad_enabled() and (at.requires_grad or bt.requires_grad):
        v = bt
        for _ in range(n_iter - 1):
            v = bt / (kernel_t @ (at / (kernel @ v)))
    elif numpy_loop:
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
    def forward(ctx, logits, b, valid, kernel, reg, n_iter, reduction, numpy_loop):
        at = torch.softmax(logits.t(), dim=0).contiguous()
        fpot, gpot = _sinkhorn_scaling(at, b.t().contiguous(), kernel, n_iter, numpy_loop)
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
        return grad.t(), None, None, None, None, None, None, None


def entropic_ot(inputs: torch.Tensor, target_probs: torch.Tensor, cost, reg: float = 0.05, n_iter: int = 100,
                value: str = "kl", method: str = "auto", from_logits: bool = True,
                reduction: str = "mean", numpy_loop: bool | None = None) -> torch.Tensor:
    """Entropic OT between predictions and target distributions, batched Sinkhorn in torch (runs on the GPU).

    Iterations: exactly ``n_iter``, no convergence test (a test would synchronise with the host); the last update
    makes the columns (target marginals) exact, the rows are exact at convergence. How far 50 and 100 iterations
    are from convergence at reg 0.05 (value and logit-gradient errors against 20000 iterations) is measured and
    printed by ``benchmarks/bench_losses.py``; raise ``n_iter`` (or ``reg``) where gradients must be tighter.

    ``method``: ``"log"``: log-sum-exp over each entry of a (batch, classes, classes) tensor, stable for any
    ``reg``; ``"scaling"``: the same iteration as matrix products with the kernel ``exp(-C/reg)`` (no rescaling
    needed, see ``_sinkhorn_scaling``), many times faster (``benchmarks/bench_losses.py``), valid while
    ``max(C) / reg <= SCALING_MAX_RATIO`` (120); ``"auto"``: "scaling" when that ratio is known to hold (a host
    cost, checked here), else "log". A CUDA cost tensor is not inspected (that would synchronise): "auto" then
    means "log"; :class:`OTLoss` checks its cost once at construction and picks "scaling" when it can. Both agree
    with POT's ``sinkhorn_log`` (tests/losses/test_losses.py).

    Precision: the iterations run in float64, except on the default path ("scaling", "kl", logits) with float32
    inputs and a known ``max(C)/reg <= FLOAT32_MAX_RATIO`` (40; the valence-arousal cost at reg 0.05 gives 33),
    where they run in float32: every iterate then stays within exp(+-80), inside float32's range. That path is one
    autograd node (``_ScalingKL``) whose backward applies the potential's gradient directly; nothing is recorded
    over the iterations.

    Parameters
    ----------
    inputs : torch.Tensor, (batch, classes)
        Logits (or probabilities with ``from_logits=False``).
    target_probs : torch.Tensor, (batch, classes)
        Target distributions (label smoothing, annotator votes); a row with a negative entry is missing.
    cost : array, DataFrame or tensor, (classes, classes)
        Rows predicted, columns true (:mod:`affect_book.costs`).
    reg : float
        Entropic regularisation in cost units, default 0.05 (about 1/17 of the mean valence-arousal distance
        between the Russell & Mehrabian 1977 classes); smaller is closer to exact OT and needs more iterations.
    n_iter : int
        Sinkhorn iterations, default 100.
    value : {"kl", "entropy", "linear"}
        What is returned per sample, with ``T`` the plan. "kl": ``<T, C> + reg KL(T || p t^T)`` = POT's
        ``ot.solve(..., reg_type="KL").value``; for a one-hot target exactly the closed form
        :func:`expected_cost`; computed as the dual value, its gradient the dual potential (envelope theorem), so
        the iterations run without autograd. "entropy": ``<T, C> + reg sum T log T`` (``reg_type="entropy"``),
        for a one-hot target the closed form plus ``reg sum p log p``. "linear": ``<T, C>`` only
        (``ot.sinkhorn2``), differentiated through the unrolled iterations (memory grows with ``n_iter``).
    method : {"auto", "log", "scaling"}
    from_logits : bool
    reduction : {"mean", "sum", "none"}
    numpy_loop : bool, optional
        Run the no-autograd "scaling" loop through NumPy on the tensors' memory (same arithmetic, lower per-call
        overhead for these tiny arrays). None (default): resolved from the inputs' device, True on a CPU, False
        elsewhere (as POT picks a backend from its inputs); True is refused for tensors off the CPU. Both loops
        give the same numbers (tests/losses/test_losses.py).

    Returns
    -------
    torch.Tensor
        A scalar, or (batch,) for ``reduction="none"`` (0 on missing rows), in cost units, in the inputs' dtype.
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
    if numpy_loop is None:
        numpy_loop = inputs.device.type == "cpu"
    elif numpy_loop and inputs.device.type != "cpu":
        raise ValueError(f"numpy_loop=True needs CPU tensors; the inputs are on {inputs.device}")
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
            out = _ScalingKL.apply(inputs.to(dtype), b, valid, kernel, reg, n_iter, reduction, numpy_loop)
            return out.to(out_dtype)
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
                fpot, gpot = _sinkhorn_scaling(at, b.t().contiguous(), torch.exp(-cn), n_iter, numpy_loop)
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
