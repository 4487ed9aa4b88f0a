"""The OT term for hard labels in closed form, the POT reference, and the OT term as a module.

Private: the public names live in :mod:`affect_book.losses`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..costs import validate_cost
from ._common import _check_2d, _checked_dtype, _compute_dtype, _cost_tensor, _log_probs
from ._common import _no_autocast, _reduce
from ._common import _soft_targets
from ._sinkhorn import SCALING_MAX_RATIO, SINKHORN_METHODS, entropic_ot


def expected_cost(inputs: torch.Tensor, targets: torch.Tensor, cost, from_logits: bool = True,
                  reduction: str = "mean") -> torch.Tensor:
    """OT term for hard labels, in closed form: ``W_C(p, e_y) = sum_j p_j C[j, y]`` (cost units).

    Exact (the plan to a one-hot target is forced), differentiable, no host sync. Its gradient with respect to the
    logits is ``p * (C[:, y] - W)`` (:func:`expected_cost_logit_grad`).

    Parameters
    ----------
    inputs : torch.Tensor, (batch, classes)
        Logits (or probabilities with ``from_logits=False``).
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    cost : array, DataFrame or tensor, (classes, classes)
        Rows predicted, columns true (:mod:`affect_book.costs`).
    from_logits : bool
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        Mean expected cost over the labelled rows, in cost units; or (batch,) per row, 0 where unlabelled.
    """
    dtype = _checked_dtype(inputs, targets, "inputs")
    with _no_autocast(inputs.device):
        probs, _ = _log_probs(inputs, from_logits, dtype)
        c = _cost_tensor(cost, inputs, dtype)
        valid = targets >= 0
        column = c.t().index_select(0, targets.clamp_min(0))  # (batch, classes): C[:, y] per row
        per_sample = (probs * column).sum(-1)
        return _reduce(per_sample, valid, reduction)


def expected_cost_logit_grad(logits: torch.Tensor, targets: torch.Tensor, cost) -> torch.Tensor:
    """Analytic gradient of the per-sample closed-form OT term with respect to the logits.

    ``d/dz_k sum_j p_j C[j, y] = p_k (C[k, y] - W)`` with ``W`` the term's value; rows with no label are 0.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
    cost : array, DataFrame or tensor, (classes, classes)

    Returns
    -------
    torch.Tensor, (batch, classes)
    """
    dtype = _checked_dtype(logits, targets)
    probs = torch.softmax(logits.to(dtype), dim=-1)
    column = _cost_tensor(cost, logits, dtype).t().index_select(0, targets.clamp_min(0))
    value = (probs * column).sum(-1, keepdim=True)
    grad = probs * (column - value)
    return torch.where((targets >= 0)[:, None], grad, torch.zeros_like(grad))


POT_SOLVERS = ("emd2", "sinkhorn2", "solve", "batch")


def pot_ot(inputs: torch.Tensor, target_probs: torch.Tensor, cost, solver: str = "emd2", reg: float | None = None,
           from_logits: bool = True, reduction: str = "mean", **options) -> torch.Tensor:
    """The OT term through POT, differentiable through POT's torch backend: the reference the torch path is tested
    against (loops are slow).

    Parameters
    ----------
    inputs : torch.Tensor, (batch, classes)
        Logits (or probabilities with ``from_logits=False``).
    target_probs : torch.Tensor, (batch, classes)
        A row with a negative entry is missing.
    cost : array, DataFrame or tensor, (classes, classes)
    solver : {"emd2", "sinkhorn2", "solve", "batch"}
        "emd2": exact OT, one ``ot.emd2`` call per sample (CPU network simplex; GPU tensors are copied to the
        host); "sinkhorn2": ``ot.sinkhorn2(method="sinkhorn_log")`` per sample (linear value, like
        ``entropic_ot(value="linear")``); "solve": ``ot.solve(reg=reg, reg_type="KL")`` per sample (exact when
        ``reg`` is None, else the "kl" value); "batch": one ``ot.batch.solve_batch`` call (log-Sinkhorn, KL value;
        needs ``reg``; it returns NaN for targets with zero entries in POT 0.9.7, so use smoothed targets).
    reg : float, optional
        Entropic regularisation, cost units.
    from_logits : bool
    reduction : {"mean", "sum", "none"}
    **options
        Passed to the POT function.

    Returns
    -------
    torch.Tensor
        A scalar, or (batch,) for ``reduction="none"``.
    """
    import ot  # deferred: POT takes about 0.9 s to import (it probes its backends); only this solver uses it

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

    ``forward(logits, targets)``: integer ``targets`` (batch,) use the closed form :func:`expected_cost`; float
    ``targets`` (batch, classes) use :func:`entropic_ot` ("auto" method resolved here, once, from the cost).

    Parameters
    ----------
    cost : array or DataFrame, (classes, classes)
        Rows predicted, columns true; checked by :func:`affect_book.costs.validate_cost` (against ``classes`` when
        given).
    classes : sequence of str, optional
    weight : float
        The OT term's weight (lambda).
    reg, n_iter, value, method
        Of :func:`entropic_ot`, for soft targets.
    allow_zero_off_diagonal : bool
        Accept a zero cost between two distinct classes (see :func:`affect_book.costs.validate_cost`).
    """

    def __init__(self, cost, classes: Sequence[str] | None = None, weight: float = 1.0, reg: float = 0.05,
                 n_iter: int = 100, value: str = "kl", method: str = "auto", allow_zero_off_diagonal: bool = False):
        super().__init__()
        checked = validate_cost(cost, classes, allow_zero_off_diagonal=allow_zero_off_diagonal)
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
        """The weighted OT term of a batch.

        Parameters
        ----------
        logits : torch.Tensor
            (batch, classes) unnormalised scores.
        targets : torch.Tensor
            (batch,) integer labels (-1 = no label; closed form :func:`expected_cost`) or (batch, classes) target
            distributions (entropic OT, :func:`entropic_ot`).

        Returns
        -------
        torch.Tensor
            ``weight`` times the mean OT term over labelled rows (a scalar).
        """
        if targets.is_floating_point():
            loss = entropic_ot(logits, targets, self.cost, self.reg, self.n_iter, self.value, self.method)
        else:
            loss = expected_cost(logits, targets, self.cost)
        return self.weight * loss
