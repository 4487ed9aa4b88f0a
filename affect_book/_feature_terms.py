"""The trainer's representation terms (chapter 09): checks of their config fields and their part of the loss.

Private: :func:`affect_book.train.validate_config` and :func:`affect_book.train.multitask_loss` call these. The
terms act on the model's penultimate ``features``: the supervised contrastive loss
(:func:`affect_book.losses.supcon_loss`, weight ``lambda_supcon``) and the pair margin that pushes two named
classes apart (:func:`affect_book.losses.pair_margin_loss`, weight ``lambda_pair``).
"""

from __future__ import annotations

import torch


def check_feature_terms(config, bad, classes_known: bool = True) -> None:
    """Check ``supcon_temperature``, ``pair_margin`` and ``margin_pair`` of a TrainConfig.

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
    from .losses import pair_margin_loss, supcon_loss

    if config.lambda_supcon > 0:
        terms["supcon"] = supcon_loss(out["features"], y, config.supcon_temperature)
        total = total + config.lambda_supcon * terms["supcon"]
    if config.lambda_pair > 0:
        pair = tuple(config.classes.index(c) for c in config.margin_pair)
        terms["pair"] = pair_margin_loss(out["features"], y, pair, config.pair_margin)
        total = total + config.lambda_pair * terms["pair"]
    return total
