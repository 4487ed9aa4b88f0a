"""Rare-class controls and the other expression losses the OT term is compared with.

Private: the public names live in :mod:`affect_book.losses`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..arrays import to_numpy
from ..imbalance import effective_number
from ._common import (
    _check_2d,
    _checked_dtype,
    _class_vector,
    _compute_dtype,
    _counts,
    _no_autocast,
    _reduce,
    _soft_targets,
)


def class_counts(labels, n_classes: int) -> np.ndarray:
    """Samples per class from integer labels; -1 (no label) is not counted. Host-side (NumPy).

    Parameters
    ----------
    labels : array-like or torch.Tensor, (samples,)
        Integer labels in -1..n_classes-1.
    n_classes : int

    Returns
    -------
    numpy.ndarray of int, (n_classes,)
    """
    labels = to_numpy(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected a 1-D integer array, got dtype {labels.dtype} shape {labels.shape}")
    if labels.size and (labels.min() < -1 or labels.max() >= n_classes):
        raise ValueError(f"labels range over [{labels.min()}, {labels.max()}]; expected -1 or 0..{n_classes - 1}")
    return np.bincount(labels[labels >= 0], minlength=n_classes)


def inverse_frequency_weights(counts) -> np.ndarray:
    """Class weights ``w_c`` proportional to ``1 / n_c``, normalised to sum to the number of classes.

    Parameters
    ----------
    counts : array-like, (classes,)
        Training samples per class, all positive.

    Returns
    -------
    numpy.ndarray, (classes,)
    """
    c = _counts(counts)
    w = 1.0 / c
    return w * len(c) / w.sum()


def class_balanced_weights(counts, beta: float = 0.9999) -> np.ndarray:
    """Class-balanced weights (Cui et al. 2019, "Class-balanced loss based on effective number of samples", CVPR).

    ``w_c`` proportional to ``(1 - beta) / (1 - beta^n_c)``, one over the effective number of samples, normalised
    to sum to the number of classes. The weights depend on the **absolute** counts, not only on their ratios:
    ``beta^n_c`` is near 0 for every class once ``n_c >> 1 / (1 - beta)``, and the weights are then nearly equal.
    With thousands of samples per class, as in AffectNet or s-Aff-Wild2, beta = 0.999 gives a largest-to-smallest
    weight ratio near 1 (a no-op); the default 0.9999 is the value Cui et al. recommend for such counts.

    Parameters
    ----------
    counts : array-like, (classes,)
        Training samples per class, all positive.
    beta : float in [0, 1)
        0 gives equal weights; towards 1 the weights approach inverse frequency.

    Returns
    -------
    numpy.ndarray, (classes,)
        Weights summing to the number of classes.
    """
    w = 1.0 / effective_number(_counts(counts), beta)  # (1 - beta) / (1 - beta^n_c)
    return w * len(w) / w.sum()


def weighted_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, weight=None,
                           reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy with optional class weights (e.g. :func:`inverse_frequency_weights`), -1 = no label.

    ``"mean"`` divides by the summed weight of the labelled samples, as ``torch.nn.functional.cross_entropy``.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    weight : array-like, Series or tensor, (classes,), optional
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        Weighted mean negative log-likelihood; or (batch,) per-sample values, 0 where unlabelled.
    """
    dtype = _checked_dtype(logits, targets)
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
    """Focal loss (Lin et al. 2017, "Focal loss for dense object detection", ICCV):
    ``-alpha_y (1 - p_y)^gamma log p_y``.

    The mean is over labelled samples (not weighted by alpha). ``gamma = 0`` and no alpha is cross-entropy.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    gamma : float
        Focusing parameter, default 2.
    alpha : array-like, (classes,), optional
        Per-class factor (None: 1).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        Mean focal loss over the labelled samples; or (batch,) per sample, 0 where unlabelled.
    """
    dtype = _checked_dtype(logits, targets)
    with _no_autocast(logits.device):
        logp = torch.log_softmax(logits.to(dtype), -1)
        y = targets.clamp_min(0)
        logp_y = logp.gather(1, y[:, None]).squeeze(1)
        per = -((1.0 - logp_y.exp()).clamp_min(0.0) ** gamma) * logp_y
        if alpha is not None:
            per = per * _class_vector(alpha, logits, dtype).index_select(0, y)
        return _reduce(per, targets >= 0, reduction)


def ldam_margins(counts, max_margin: float = 0.5) -> np.ndarray:
    """LDAM margins (Cao et al. 2019, "Learning imbalanced datasets with label-distribution-aware margin loss",
    NeurIPS): ``Delta_c = const / n_c^(1/4)``, ``const`` chosen so the largest margin is ``max_margin``.

    Parameters
    ----------
    counts : array-like, (classes,)
        Training samples per class, all positive.
    max_margin : float
        The rarest class's margin, default 0.5.

    Returns
    -------
    numpy.ndarray, (classes,)
    """
    c = _counts(counts)
    m = 1.0 / np.power(c, 0.25)
    return m * (max_margin / m.max())


def ldam_loss(logits: torch.Tensor, targets: torch.Tensor, margins, scale: float = 1.0, weight=None,
              reduction: str = "mean") -> torch.Tensor:
    """LDAM loss: cross-entropy on ``scale * (z - Delta_y e_y)`` (the true logit lowered by its class margin).

    Cao et al. use ``scale = 30`` with cosine-normalised logits; 1 suits plain logits.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    margins : array-like, (classes,)
        From :func:`ldam_margins`.
    scale : float
    weight : array-like, (classes,), optional
        Class weights for the deferred re-weighting phase (:func:`deferred_reweighting`).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        LDAM cross-entropy (weighted mean when ``weight`` is given); or (batch,) per sample.
    """
    dtype = _checked_dtype(logits, targets)
    with _no_autocast(logits.device):
        delta = _class_vector(margins, logits, dtype)
        y = targets.clamp_min(0)
        onehot = F.one_hot(y, logits.shape[1]).to(dtype)
        adjusted = scale * (logits.to(dtype) - onehot * delta.index_select(0, y)[:, None])
        return weighted_cross_entropy(adjusted, targets, weight, reduction)


def deferred_reweighting(epoch: int, defer_epoch: int, counts, beta: float = 0.9999) -> np.ndarray:
    """Deferred re-weighting schedule (Cao et al. 2019): equal weights before ``defer_epoch``, class-balanced
    weights (:func:`class_balanced_weights`) from it on.

    Parameters
    ----------
    epoch, defer_epoch : int
    counts : array-like, (classes,)
    beta : float
        Of the class-balanced weights, default 0.9999.

    Returns
    -------
    numpy.ndarray, (classes,)
    """
    c = _counts(counts)
    if epoch < defer_epoch:
        return np.ones_like(c)
    return class_balanced_weights(c, beta)


def _log_priors(priors, like, dtype) -> torch.Tensor:
    p = _counts(priors, "priors")
    return _class_vector(np.log(p / p.sum()), like, dtype)


def logit_adjusted_loss(logits: torch.Tensor, targets: torch.Tensor, priors, tau: float = 1.0,
                        reduction: str = "mean") -> torch.Tensor:
    """Logit-adjusted loss (Menon et al. 2021, "Long-tail learning via logit adjustment", ICLR): cross-entropy
    on ``z_c + tau log pi_c``. Predict with the raw logits.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    priors : array-like, (classes,)
        Class frequencies or counts (normalised here).
    tau : float
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        Mean cross-entropy of the adjusted logits; or (batch,) per sample, 0 where unlabelled.
    """
    dtype = _compute_dtype(logits)
    return weighted_cross_entropy(logits.to(dtype) + tau * _log_priors(priors, logits, dtype), targets,
                                  reduction=reduction)


def logit_adjust(logits: torch.Tensor, priors, tau: float = 1.0) -> torch.Tensor:
    """Post-hoc logit adjustment (Menon et al. 2021): ``z_c - tau log pi_c``; predict with its argmax.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    priors : array-like, (classes,)
        Class frequencies or counts (normalised here).
    tau : float

    Returns
    -------
    torch.Tensor, (batch, classes)
    """
    dtype = _compute_dtype(logits)
    return logits.to(dtype) - tau * _log_priors(priors, logits, dtype)


def balanced_softmax_loss(logits: torch.Tensor, targets: torch.Tensor, counts,
                          reduction: str = "mean") -> torch.Tensor:
    """Balanced softmax (Ren et al. 2020, "Balanced meta-softmax for long-tailed visual recognition", NeurIPS):
    cross-entropy on ``z_c + log n_c``.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    counts : array-like, (classes,)
        Training samples per class, all positive.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        Mean balanced-softmax cross-entropy; or (batch,) per sample, 0 where unlabelled.
    """
    dtype = _compute_dtype(logits)
    log_n = _class_vector(np.log(_counts(counts)), logits, dtype)
    return weighted_cross_entropy(logits.to(dtype) + log_n, targets, reduction=reduction)


def smooth_labels(targets: torch.Tensor, n_classes: int, eps: float = 0.1) -> torch.Tensor:
    """Label smoothing: ``(1 - eps) e_y + eps / C``; rows with no label (-1) are filled with -1 (missing).

    Parameters
    ----------
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    n_classes : int
    eps : float in [0, 1]

    Returns
    -------
    torch.Tensor, (batch, n_classes), float32
    """
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps={eps}; expected a value in [0, 1]")
    if targets.ndim != 1 or targets.is_floating_point():
        raise ValueError(f"targets has shape {tuple(targets.shape)}; expected (batch,) integer indices")
    onehot = F.one_hot(targets.clamp_min(0), n_classes).to(torch.float32)
    smooth = (1.0 - eps) * onehot + eps / n_classes
    return torch.where((targets >= 0)[:, None], smooth, torch.full_like(smooth, -1.0))


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy against target distributions, ``-sum_c t_c log p_c``; a row with a negative entry is missing.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    target_probs : torch.Tensor, (batch, classes)
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        Mean over the rows with a target; or (batch,) per row, 0 where missing.
    """
    _check_2d(logits, "logits")
    dtype = _compute_dtype(logits)
    with _no_autocast(logits.device):
        t, valid = _soft_targets(target_probs, logits.shape[0], logits.shape[1], dtype)
        per = -(t * torch.log_softmax(logits.to(dtype), -1)).sum(-1)
        return _reduce(per, valid, reduction)


def confidence_penalty_loss(logits: torch.Tensor, targets: torch.Tensor, beta: float = 0.1,
                            reduction: str = "mean") -> torch.Tensor:
    """Confidence penalty (Pereyra et al. 2017, "Regularizing neural networks by penalizing confident output
    distributions", ICLR workshop): ``CE - beta H(p)``, an entropy bonus that pushes every prediction towards
    higher entropy.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    beta : float
        Weight of the entropy bonus, default 0.1.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        Mean of ``CE - beta H(p)`` over the labelled samples; or (batch,) per sample.
    """
    dtype = _checked_dtype(logits, targets)
    with _no_autocast(logits.device):
        logp = torch.log_softmax(logits.to(dtype), -1)
        entropy = -(logp.exp() * logp).sum(-1)
        nll = -logp.gather(1, targets.clamp_min(0)[:, None]).squeeze(1)
        return _reduce(nll - beta * entropy, targets >= 0, reduction)


def gce_loss(logits: torch.Tensor, targets: torch.Tensor, q: float = 0.7, reduction: str = "mean") -> torch.Tensor:
    """Generalised cross-entropy (Zhang & Sabuncu 2018, "Generalized cross entropy loss for training deep neural
    networks with noisy labels", NeurIPS): ``(1 - p_y^q) / q``, a noise-robust loss.

    ``q -> 0`` gives cross-entropy ``-log p_y``; ``q = 1`` gives ``1 - p_y``, the mean absolute error between
    ``p`` and ``e_y`` up to a factor 2, which is robust to symmetric label noise (Ghosh, Kumar & Sastry 2017, "Robust
    loss functions under label noise for deep neural networks", AAAI). Its logit gradient is cross-entropy's times
    ``p_y^q``: hard, possibly mislabelled samples get less weight. Computed as ``-expm1(q log p_y) / q``, accurate
    for small ``q``.

    Parameters
    ----------
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    q : float in (0, 1]
        Default 0.7, the value Zhang & Sabuncu use.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        A scalar, or (batch,) for ``reduction="none"``.
    """
    dtype = _checked_dtype(logits, targets)
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 < q <= 1.0:
        raise ValueError(f"q={q!r}; expected a number in (0, 1] (q -> 0 is cross-entropy, q = 1 is 1 - p_y)")
    with _no_autocast(logits.device):
        logp_y = torch.log_softmax(logits.to(dtype), -1).gather(1, targets.clamp_min(0)[:, None]).squeeze(1)
        return _reduce(-torch.expm1(q * logp_y) / q, targets >= 0, reduction)


def sampling_weights(labels, missing: str = "raise") -> np.ndarray:
    """Per-sample weights for a class-balanced sampler: ``1 / n_y`` (every class drawn equally often), for
    ``torch.utils.data.WeightedRandomSampler``.

    Parameters
    ----------
    labels : array-like, (samples,)
        Integer labels, -1 = no label.
    missing : {"raise", "zero", "mean"}
        Unlabelled samples: raise (default, with their count), never drawn, or drawn at the mean labelled weight.

    Returns
    -------
    numpy.ndarray, (samples,)
    """
    labels = to_numpy(labels)
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
