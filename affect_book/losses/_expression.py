"""The table of expression losses: cross-entropy, the rare-class controls and the noise-robust alternatives.

Private: the public names live in :mod:`affect_book.losses`. The trainer reads this table (its
``expression_loss`` and ``expression_param`` fields), so a loss is added in one place. A loss with a schedule over
the run (``ldam_drw``) also receives the 0-based epoch and the run's number of epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..params import check_choice
from ._controls import (balanced_softmax_loss, class_balanced_weights, confidence_penalty_loss,
                        deferred_reweighting, focal_loss, gce_loss, inverse_frequency_weights, ldam_loss, ldam_margins,
                        logit_adjusted_loss, smooth_labels, soft_cross_entropy, weighted_cross_entropy)


@dataclass(frozen=True)
class ExpressionLoss:
    """One row of :data:`EXPRESSION_LOSSES`.

    Attributes
    ----------
    compute : callable
        ``compute(logits, targets, param, counts)`` returns the masked mean loss (a scalar tensor); when
        ``needs_epoch`` it is ``compute(logits, targets, param, counts, epoch, epochs)``.
    parameter : str or None
        The name of its one hyper-parameter (None when it has none).
    default : float or None
        That parameter's default.
    needs_counts : bool
        Whether it uses the training class counts.
    description : str
        One line for tables.
    low, high : float
        The parameter's valid range.
    high_open, low_open : bool
        Whether ``high`` (``low``) itself is excluded.
    needs_epoch : bool
        Whether it follows a schedule over the run (it then needs the 0-based epoch and the number of epochs).
    """

    compute: Callable[..., torch.Tensor]
    parameter: str | None
    default: float | None
    needs_counts: bool
    description: str
    low: float = 0.0
    high: float = math.inf
    high_open: bool = False
    low_open: bool = False
    needs_epoch: bool = False


def _ce(logits, y, param, counts):
    return weighted_cross_entropy(logits, y)


def _inverse_frequency(logits, y, param, counts):
    return weighted_cross_entropy(logits, y, inverse_frequency_weights(counts))


def _class_balanced(logits, y, beta, counts):
    return weighted_cross_entropy(logits, y, class_balanced_weights(counts, beta))


def _focal(logits, y, gamma, counts):
    return focal_loss(logits, y, gamma=gamma)


def _ldam(logits, y, max_margin, counts):
    return ldam_loss(logits, y, ldam_margins(counts, max_margin))


#: LDAM-DRW's fixed settings, as in Cao et al. (2019): the rarest class's margin and the class-balanced beta.
LDAM_DRW_MAX_MARGIN, LDAM_DRW_BETA = 0.5, 0.9999


def drw_defer_epoch(defer: float, epochs: int) -> int:
    """The first re-weighted epoch (0-based) of deferred re-weighting: ``defer * epochs`` rounded half up.

    Cao et al. (2019) train 200 epochs and re-weight from epoch 160 on: ``defer = 0.8`` (the default of the
    ``ldam_drw`` loss) gives 160 of 200, 4 of 5; ``defer = 0`` re-weights from the start, ``defer = 1`` never.

    Parameters
    ----------
    defer : float
        The deferral point as a fraction of the run, in [0, 1].
    epochs : int
        The run's number of epochs (positive).

    Returns
    -------
    int
        Epochs ``0 .. result - 1`` use plain LDAM, epochs ``result ..`` the class-balanced weights.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs={epochs!r}; expected a positive integer (the run's number of epochs)")
    if not 0 <= defer <= 1:
        raise ValueError(f"defer={defer!r}; expected a fraction of the run in [0, 1]")
    return int(math.floor(defer * epochs + 0.5))


def _ldam_drw(logits, y, defer, counts, epoch, epochs):
    start = drw_defer_epoch(defer, epochs)
    weights = deferred_reweighting(epoch, start, counts, LDAM_DRW_BETA) if epoch >= start else None
    return ldam_loss(logits, y, ldam_margins(counts, LDAM_DRW_MAX_MARGIN), weight=weights)


def _logit_adjusted(logits, y, tau, counts):
    return logit_adjusted_loss(logits, y, np.asarray(counts, dtype=float), tau=tau)


def _balanced_softmax(logits, y, param, counts):
    return balanced_softmax_loss(logits, y, counts)


def _label_smoothing(logits, y, eps, counts):
    return soft_cross_entropy(logits, smooth_labels(y, logits.shape[1], eps))


def _confidence_penalty(logits, y, beta, counts):
    return confidence_penalty_loss(logits, y, beta=beta)


def _gce(logits, y, q, counts):
    return gce_loss(logits, y, q=q)


#: Every expression loss by name: function, parameter name, default, whether it needs the class counts.
EXPRESSION_LOSSES: dict[str, ExpressionLoss] = {
    "ce": ExpressionLoss(_ce, None, None, False, "cross-entropy"),
    "inverse_frequency": ExpressionLoss(_inverse_frequency, None, None, True,
                                        "cross-entropy weighted by 1 / n_c"),
    "class_balanced": ExpressionLoss(_class_balanced, "beta", 0.9999, True,
                                     "cross-entropy weighted by Cui et al.'s effective number", high=1.0,
                                     high_open=True),
    "focal": ExpressionLoss(_focal, "gamma", 2.0, False, "focal loss (Lin et al. 2017)"),
    "ldam": ExpressionLoss(_ldam, "max_margin", 0.5, True, "LDAM margins (Cao et al. 2019), largest margin"),
    "ldam_drw": ExpressionLoss(_ldam_drw, "defer", 0.8, True,
                               "LDAM (largest margin 0.5) with deferred re-weighting (Cao et al. 2019): class-"
                               "balanced weights (beta 0.9999) from the given fraction of the epochs on",
                               high=1.0, needs_epoch=True),
    "logit_adjusted": ExpressionLoss(_logit_adjusted, "tau", 1.0, True,
                                     "logit-adjusted cross-entropy (Menon et al. 2021)"),
    "balanced_softmax": ExpressionLoss(_balanced_softmax, None, None, True, "balanced softmax (Ren et al. 2020)"),
    "label_smoothing": ExpressionLoss(_label_smoothing, "eps", 0.1, False, "cross-entropy on smoothed labels",
                                      high=1.0),
    "confidence_penalty": ExpressionLoss(_confidence_penalty, "beta", 0.1, False,
                                         "cross-entropy minus beta * entropy (Pereyra et al. 2017)"),
    "gce": ExpressionLoss(_gce, "q", 0.7, False, "generalised cross-entropy (Zhang & Sabuncu 2018)",
                          high=1.0, low_open=True),
}


def expression_param(name: str, param: float | None = None) -> float | None:
    """The checked hyper-parameter of expression loss ``name``: ``param``, or the table's default when None.

    Parameters
    ----------
    name : str
        A key of :data:`EXPRESSION_LOSSES`.
    param : float, optional
        Must be None for a loss without a parameter, else inside the loss's range.

    Returns
    -------
    float or None
    """
    check_choice("expression_loss", name, EXPRESSION_LOSSES)
    entry = EXPRESSION_LOSSES[name]
    if param is None:
        return entry.default
    if entry.parameter is None:
        raise ValueError(f"expression_loss={name!r} has no parameter, but expression_param={param!r} was given")
    if isinstance(param, bool) or not isinstance(param, (int, float)) or not math.isfinite(param):
        raise ValueError(f"expression_param={param!r}; expected a finite number ({entry.parameter} of {name!r})")
    too_low = param <= entry.low if entry.low_open else param < entry.low
    too_high = param >= entry.high if entry.high_open else param > entry.high
    if too_low or too_high:
        span = f"{'(' if entry.low_open else '['}{entry.low:g}, {entry.high:g}{')' if entry.high_open else ']'}"
        raise ValueError(f"expression_param={param!r} is out of range for {name!r}: {entry.parameter} in {span}")
    return float(param)


def expression_loss(name: str, logits: torch.Tensor, targets: torch.Tensor, param: float | None = None,
                    counts=None, epoch: int | None = None, epochs: int | None = None) -> torch.Tensor:
    """The masked mean expression loss ``name`` of :data:`EXPRESSION_LOSSES`.

    Parameters
    ----------
    name : str
        A key of :data:`EXPRESSION_LOSSES`.
    logits : torch.Tensor, (batch, classes)
    targets : torch.Tensor, (batch,)
        Integer class indices, -1 = no label.
    param : float, optional
        The loss's hyper-parameter; None takes the table's default.
    counts : array-like, (classes,), optional
        Training class counts, required by the losses whose ``needs_counts`` is True.
    epoch : int, optional
        The 0-based epoch of the batch, required by the losses whose ``needs_epoch`` is True (``ldam_drw``).
    epochs : int, optional
        The run's number of epochs, required with ``epoch``.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    value = expression_param(name, param)
    entry = EXPRESSION_LOSSES[name]
    if entry.needs_counts and counts is None:
        raise ValueError(f"expression_loss={name!r} needs the training class counts")
    if not entry.needs_epoch:
        return entry.compute(logits, targets, value, counts)
    if epoch is None or epochs is None:
        raise ValueError(f"expression_loss={name!r} follows a schedule over the run: it needs the 0-based epoch "
                         f"and the number of epochs (got epoch={epoch!r}, epochs={epochs!r})")
    if not 0 <= epoch < epochs:
        raise ValueError(f"epoch={epoch!r} is outside the run's epochs 0..{epochs - 1}")
    return entry.compute(logits, targets, value, counts, epoch, epochs)
