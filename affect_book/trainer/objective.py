"""The trainer's objective: the masked multi-task loss of a batch, assembled from :mod:`affect_book.losses`.

The loss is::

    loss = expression term (cross-entropy or a rare-class control)
         + lambda_ot * OT term (expected cost under the chosen cost matrix)
         + lambda_va * (1 - CCC)            (mean over valence and arousal)
         + lambda_au * masked AU cross-entropy
         + lambda_supcon * supervised contrastive loss + lambda_pair * pair margin   (on the features; chapter 09)

each term masked where its labels are missing (:func:`multitask_loss`). The representation terms of chapter 09 act
on the model's penultimate ``features`` (:func:`add_feature_terms`). Imports :mod:`affect_book.trainer.config` only.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import losses as L
from ..losses import pair_margin_loss, supcon_loss
from .config import TrainConfig

__all__ = ["add_feature_terms", "expression_term", "multitask_loss"]


def expression_term(logits: torch.Tensor, y: torch.Tensor, config: TrainConfig, counts: np.ndarray | None,
                    epoch: int | None = None) -> torch.Tensor:
    """The masked expression term (``config.expression_loss``, see :data:`affect_book.losses.EXPRESSION_LOSSES`).

    Parameters
    ----------
    logits, y : torch.Tensor
        (batch, classes) scores and (batch,) class indices, -1 = no label.
    config : TrainConfig
        Its ``expression_loss``, ``expression_param`` and ``epochs``.
    counts : np.ndarray or None
        Training class counts (for the losses that need them).
    epoch : int, optional
        The 0-based epoch, for a loss with a schedule over the run (``ldam_drw``: deferral at ``expression_param``
        times ``config.epochs``).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    return L.expression_loss(config.expression_loss, logits, y, config.expression_param, counts, epoch=epoch,
                             epochs=config.epochs)


def multitask_loss(out: dict, batch: dict, config: TrainConfig, cost: torch.Tensor | None,
                   counts: np.ndarray | None = None, epoch: int | None = None) -> tuple[torch.Tensor, dict]:
    """The masked multi-task loss of one batch and its terms (tensors; no host synchronisation).

    Each term is normalized over the labelled entries of the batch; a batch without a label for a task contributes
    0 for that task.

    Parameters
    ----------
    out : dict
        The model's outputs: ``logits`` (B, classes), ``va`` (B, 2), ``au_logits`` (B, 12), ``features`` (B, dim).
    batch : dict
        The labels: ``expression`` (B,), ``va`` (B, 2), ``au`` (B, 12), missing ones marked as in
        :class:`~affect_book.data.base.ArrayDataset`.
    config : TrainConfig
        The loss weights and the expression term.
    cost : torch.Tensor or None
        The OT term's (classes, classes) cost (:func:`cost_tensor`), None for no OT term.
    counts : np.ndarray, optional
        Training class counts (the rare-class controls need them).
    epoch : int, optional
        The 0-based epoch of the batch (an expression loss with a schedule over the run needs it, see
        :func:`expression_term`).

    Returns
    -------
    tuple
        (total loss, dict of the unweighted terms: ``expression``, and ``ot``, ``va``, ``au``, ``supcon``, ``pair``
        when used).
    """
    y = batch["expression"]
    logits = out["logits"]
    terms = {"expression": expression_term(logits, y, config, counts, epoch)}
    total = terms["expression"]
    if cost is not None:
        terms["ot"] = L.expected_cost(logits, y, cost)
        total = total + config.lambda_ot * terms["ot"]
    if config.lambda_va > 0:
        terms["va"] = L.ccc_loss(out["va"], batch["va"])
        total = total + config.lambda_va * terms["va"]
    if config.lambda_au > 0:
        terms["au"] = L.masked_bce_with_logits(out["au_logits"], batch["au"])
        total = total + config.lambda_au * terms["au"]
    return add_feature_terms(total, terms, out, y, config), terms


def add_feature_terms(total: torch.Tensor, terms: dict, out: dict, y: torch.Tensor, config) -> torch.Tensor:
    """Add the weighted representation terms a config asks for to ``total``, recording them in ``terms``.

    Parameters
    ----------
    total : torch.Tensor
        The loss so far (a scalar).
    terms : dict
        The unweighted terms so far; ``supcon`` and ``pair`` are added when their weight is above 0.
    out : dict
        The model's outputs; ``features`` (batch, dim) is used.
    y : torch.Tensor
        (batch,) expression labels, -1 = no label.
    config : TrainConfig
        ``lambda_supcon``, ``supcon_temperature``, ``lambda_pair``, ``pair_margin`` and ``margin_pair``.

    Returns
    -------
    torch.Tensor
        ``total + lambda_supcon * supcon + lambda_pair * pair`` (a term whose weight is 0 is left out).
    """
    if config.lambda_supcon > 0:
        terms["supcon"] = supcon_loss(out["features"], y, config.supcon_temperature)
        total = total + config.lambda_supcon * terms["supcon"]
    if config.lambda_pair > 0:
        pair = tuple(config.classes.index(c) for c in config.margin_pair)
        terms["pair"] = pair_margin_loss(out["features"], y, pair, config.pair_margin)
        total = total + config.lambda_pair * terms["pair"]
    return total
