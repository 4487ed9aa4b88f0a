"""Representation terms on the penultimate features: supervised contrastive loss and a pair margin.

Private: the public names live in :mod:`affect_book.losses`. Both act on ``features`` (batch, dim), L2-normalised
inside, with the package's ``targets`` convention (-1 = no label, masked by multiplication and ``torch.where``).
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from ._common import _check_labels, _compute_dtype, _no_autocast, _reduce


def _checked_features(features: torch.Tensor, targets: torch.Tensor) -> torch.dtype:
    if not isinstance(features, torch.Tensor) or features.ndim != 2 or not features.is_floating_point():
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"features has shape {shape}; expected a (batch, dim) floating-point tensor")
    _check_labels(targets, features.shape[0])
    return _compute_dtype(features)


def _number(name: str, value, low: float, high: float, low_open: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name}={value!r}; expected a number in {bracket}{low}, {high}]")
    return float(value)


def supcon_loss(features: torch.Tensor, targets: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, "Supervised Contrastive Learning", NeurIPS; eq. 2).

    The ``L^sup_out`` form, one view per sample: with ``z`` the L2-normalised features, ``A(i)`` the other labelled
    samples and ``P(i)`` those of them with the label of anchor ``i``,
    ``loss_i = -1/|P(i)| sum_{p in P(i)} log( exp(z_i.z_p / t) / sum_{a in A(i)} exp(z_i.z_a / t) )``.
    Unlabelled rows (-1) are neither anchors nor in any ``A(i)``; anchors without a positive are left out of the
    mean. Stable: each row's logits are shifted by their maximum over ``A(i)``. No host synchronisation.

    Parameters
    ----------
    features : torch.Tensor, (batch, dim)
        Penultimate features (any scale: normalised here).
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    temperature : float
        ``t`` in (0, 10]; Khosla et al. use 0.1 (the reference code's default is 0.07).

    Returns
    -------
    torch.Tensor
        A scalar: the mean of ``loss_i`` over the anchors with at least one positive (denominator clamped at 1, so
        a batch with none gives 0, still connected to ``features``).
    """
    dtype = _checked_features(features, targets)
    t = _number("temperature", temperature, 0.0, 10.0)
    n = features.shape[0]
    with _no_autocast(features.device):
        z = F.normalize(features.to(dtype), dim=1)
        logits = z @ z.T / t
        labelled = targets >= 0
        eye = torch.eye(n, dtype=torch.bool, device=features.device)
        others = labelled[:, None] & labelled[None, :] & ~eye  # A(i), empty for an unlabelled i
        positives = others & (targets[:, None] == targets[None, :])  # P(i)
        row_max = torch.where(others, logits, torch.finfo(dtype).min).amax(1, keepdim=True)
        row_max = torch.where(others.any(1, keepdim=True), row_max, torch.zeros_like(row_max)).detach()
        shifted = logits - row_max
        denom = torch.exp(torch.where(others, shifted, -math.inf)).sum(1, keepdim=True)
        log_prob = shifted - denom.clamp_min(torch.finfo(dtype).tiny).log()
        n_pos = positives.sum(1)
        mean_pos = torch.where(positives, log_prob, torch.zeros_like(log_prob)).sum(1) / n_pos.clamp_min(1)
        return _reduce(-mean_pos, n_pos > 0, "mean")


def pair_margin_loss(features: torch.Tensor, targets: torch.Tensor, pair, margin: float = 1.0) -> torch.Tensor:
    """Push two designated classes apart in feature space: a margin on their cross-pair distances.

    The negative-pair term of the contrastive loss of Hadsell, Chopra & LeCun (2006, "Dimensionality Reduction by
    Learning an Invariant Mapping", CVPR), restricted to the cross pairs ``(a, b)`` with ``a`` in class
    ``pair[0]`` and ``b`` in class ``pair[1]``, on L2-normalised features ``z``:
    ``mean over cross pairs of relu(margin - ||z_a - z_b||)^2``. Pairs further apart than ``margin`` contribute 0;
    the distance is ``sqrt(||z_a - z_b||^2 + eps)`` (``eps`` the dtype's machine epsilon), so the gradient stays
    finite at identical features. Other classes and unlabelled rows (-1) get no gradient. No host synchronisation.

    Parameters
    ----------
    features, targets : torch.Tensor
        (batch, dim) features and (batch,) class indices, -1 = no label, as in :func:`supcon_loss`.
    pair : tuple of int
        The two different class indices ``(i, j)`` to separate.
    margin : float
        In (0, 2]: normalised features lie on the unit sphere, where no distance exceeds 2.

    Returns
    -------
    torch.Tensor
        A scalar; 0 (still connected to ``features``) when the batch lacks either class.
    """
    dtype = _checked_features(features, targets)
    m = _number("margin", margin, 0.0, 2.0)
    ok = (isinstance(pair, (tuple, list)) and len(pair) == 2
          and all(isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 0 for c in pair))
    if not ok or pair[0] == pair[1]:
        raise ValueError(f"pair={pair!r}; expected two different class indices (i, j) >= 0")
    with _no_autocast(features.device):
        z = F.normalize(features.to(dtype), dim=1)
        sq_norm = (z * z).sum(1)
        sq_dist = (sq_norm[:, None] + sq_norm[None, :] - 2 * z @ z.T).clamp_min(0)
        dist = torch.sqrt(sq_dist + torch.finfo(dtype).eps)
        cross = (targets == pair[0])[:, None] & (targets == pair[1])[None, :]
        per_pair = torch.relu(m - dist) ** 2
        return _reduce(per_pair.flatten(), cross.flatten(), "mean")
