"""Multi-task terms: the valence-arousal CCC loss and the masked action-unit cross-entropy.

Private: the public names live in :mod:`affect_book.losses`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import _compute_dtype, _no_autocast, _reduce


def ccc(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Concordance correlation coefficient per column, population (ddof = 0) moments, masked.

    ``CCC = 2 s_xy / (s_x^2 + s_y^2 + (m_x - m_y)^2)``; a column with no valid entry or no variance gives 0.

    Parameters
    ----------
    pred, target : torch.Tensor, (batch,) or (batch, dims)
        E.g. dims = (valence, arousal). A target entry is missing when it is not finite or outside [-1, 1]
        (Aff-Wild2 marks -5, AffectNet -2).
    mask : torch.Tensor of bool, same shape, optional
        False marks further missing entries.

    Returns
    -------
    torch.Tensor
        (dims,), or a scalar for 1-D input.
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
    """The valence-arousal loss: ``1 - CCC``, averaged over columns (range [0, 2]); masking as in :func:`ccc`.

    Parameters
    ----------
    pred, target : torch.Tensor, (batch,) or (batch, dims)
    mask : torch.Tensor of bool, optional

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    return 1.0 - ccc(pred, target, mask).mean()


def masked_bce_with_logits(logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None = None,
                           reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy for action units, 0/1 targets, -1 = missing (masked).

    Parameters
    ----------
    logits, targets : torch.Tensor, (batch, aus)
    pos_weight : torch.Tensor, (aus,), optional
        Weight on positives, as in ``torch.nn.BCEWithLogitsLoss``.
    reduction : {"mean", "sum", "none"}
        "mean" averages over the labelled entries; "none" returns (batch, aus) with 0 where missing.

    Returns
    -------
    torch.Tensor
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
