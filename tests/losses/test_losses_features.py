"""Representation terms on the features (issue 13, point 3): SupCon against its formula and its published reference
algorithm, the pair margin's gradient on a toy case, gradient checks, and the trainer's fields and wiring."""

import math

import numpy as np
import pytest
import torch
from support.toy import CLASSES, toy, toy_config

from affect_book.losses import pair_margin_loss, supcon_loss
from affect_book.params import ParameterError
from affect_book.trainer import (TrainConfig, config_from_dict, multitask_loss, parse_assignment, train,
                                 validate_config)


def _supcon_loop(features, targets, t):
    """Khosla et al. (2020), eq. 2 (L^sup_out), written as plain loops over anchors, positives and A(i)."""
    z = [np.asarray(f, float) / np.linalg.norm(f) for f in features]
    losses = []
    for i, yi in enumerate(targets):
        if yi < 0:
            continue
        others = [a for a, ya in enumerate(targets) if a != i and ya >= 0]
        positives = [p for p in others if targets[p] == yi]
        if not positives:
            continue
        denom = sum(math.exp(z[i] @ z[a] / t) for a in others)
        losses.append(-sum(math.log(math.exp(z[i] @ z[p] / t) / denom) for p in positives) / len(positives))
    return sum(losses) / len(losses)


# 2-D hand case: an unlabelled row (4) and a class-2 anchor without positives (5, the direction of row 0)
HAND_X = [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 1.0], [2.0, 0.0]]
HAND_Y = [0, 0, 1, 1, -1, 2]


def test_supcon_matches_eq2_on_a_hand_case():
    x, y = torch.tensor(HAND_X), torch.tensor(HAND_Y)
    # t = 1 by hand: anchor 0 = (1, 0) has dots 0, -1, 0, 1 with A(0) = {1, 2, 3, 5} and its positive 1 at dot 0,
    # so loss_0 = log(2 + e^-1 + e); likewise loss_1 = loss_3 = log(3 + e^-1), loss_2 = log(2 + 2 e^-1).
    anchor0 = math.log(2 + math.exp(-1) + math.e)
    by_hand = (anchor0 + 2 * math.log(3 + math.exp(-1)) + math.log(2 + 2 * math.exp(-1))) / 4
    assert supcon_loss(x, y, temperature=1.0).item() == pytest.approx(by_hand, rel=1e-6)
    for t in (1.0, 0.5, 0.1):
        assert supcon_loss(x, y, t).item() == pytest.approx(_supcon_loop(HAND_X, HAND_Y, t), rel=1e-6)
        assert supcon_loss(x.double(), y, t).item() == pytest.approx(_supcon_loop(HAND_X, HAND_Y, t), rel=1e-12)


def _supcon_reference(features, labels, temperature):
    """The algorithm of the authors' SupContrast ``SupConLoss`` (contrast_mode "all", one view, base_temperature =
    temperature), re-implemented: features are normalised by the caller, as in their training script."""
    feats = torch.nn.functional.normalize(features, dim=1)
    mask = torch.eq(labels[:, None], labels[None, :]).to(feats.dtype)
    anchor_dot_contrast = feats @ feats.T / temperature
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    n = len(labels)
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(n).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
    return (-(temperature / temperature) * mean_log_prob_pos).mean()


@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_supcon_matches_the_reference_algorithm(temperature):
    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3])[torch.randperm(12, generator=g)]
    x = torch.randn(12, 8, generator=g, dtype=torch.float64) * 3
    assert torch.allclose(supcon_loss(x, labels, temperature), _supcon_reference(x, labels, temperature),
                          rtol=1e-10, atol=0)
    assert torch.allclose(supcon_loss(x.float(), labels, temperature),
                          _supcon_reference(x, labels, temperature).float(), rtol=1e-5)


def test_gradcheck_both_terms():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 0, 1, -1, 2, 1])
    assert torch.autograd.gradcheck(lambda f: supcon_loss(f, y, 0.3), (x,))
    d = torch.cdist(torch.nn.functional.normalize(x.detach(), dim=1), torch.nn.functional.normalize(x.detach(), dim=1))
    cross = d[(y == 0)][:, (y == 1)]
    margin = 1.5
    assert (cross < margin).any() and ((cross - margin).abs() > 1e-3).all()  # active pairs, no kink at the margin
    assert torch.autograd.gradcheck(lambda f: pair_margin_loss(f, y, (0, 1), margin), (x,))


def test_pair_margin_step_pushes_the_pair_apart():
    x = torch.tensor([[1.0, 0.1, 0.0], [1.0, -0.1, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], requires_grad=True)
    y = torch.tensor([0, 1, 2, -1])
    loss = pair_margin_loss(x, y, (0, 1), margin=1.0)
    z = torch.nn.functional.normalize(x.detach(), dim=1)
    d0 = (z[0] - z[1]).norm().item()
    assert loss.item() == pytest.approx((1.0 - d0) ** 2, rel=1e-5)
    loss.backward()
    assert torch.equal(x.grad[2], torch.zeros(3)) and torch.equal(x.grad[3], torch.zeros(3))
    with torch.no_grad():
        z1 = torch.nn.functional.normalize(x - 0.1 * x.grad, dim=1)
    assert (z1[0] - z1[1]).norm().item() > d0 + 1e-3
    assert pair_margin_loss(z1, y, (0, 1)).item() < loss.item()


def test_pair_margin_zero_beyond_the_margin_and_without_the_pair():
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [-0.9, 0.1]], requires_grad=True)
    y = torch.tensor([0, 1, 2, 1])
    far = pair_margin_loss(x, y, (0, 1), margin=1.0)
    assert far.item() == 0.0
    far.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    for absent in ((0, 3), (3, 0)):  # class 3 is not in the batch
        loss = pair_margin_loss(x, y, absent)
        assert loss.item() == 0.0 and loss.grad_fn is not None
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.equal(grad, torch.zeros_like(x))
    assert pair_margin_loss(x, y, (0, 2), margin=2.0).item() == pytest.approx((2 - math.sqrt(2)) ** 2, rel=1e-5)


def test_supcon_without_positives_is_a_connected_zero():
    x = torch.randn(4, 3, requires_grad=True)
    loss = supcon_loss(x, torch.tensor([0, 1, -1, 2]))
    assert loss.item() == 0.0 and loss.grad_fn is not None
    (grad,) = torch.autograd.grad(loss, x)
    assert torch.equal(grad, torch.zeros_like(x))


@pytest.mark.parametrize("call, message", [
    (lambda x, y: supcon_loss(x, y, 0.0), r"temperature=0.0.*\(0.0, 10.0\]"),
    (lambda x, y: supcon_loss(x[0], y), r"features has shape \(3,\).*\(batch, dim\)"),
    (lambda x, y: supcon_loss(x, y[:2]), r"targets has shape \(2,\)"),
    (lambda x, y: pair_margin_loss(x, y, (0, 1), 0.0), r"margin=0.0.*\(0.0, 2.0\]"),
    (lambda x, y: pair_margin_loss(x, y, (0, 1), 2.5), "margin=2.5"),
    (lambda x, y: pair_margin_loss(x, y, (1, 1)), r"pair=\(1, 1\).*two different class indices"),
    (lambda x, y: pair_margin_loss(x, y, (0,)), "pair="),
])
def test_bad_arguments_name_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))


@pytest.mark.parametrize("change, message", [
    ({"lambda_pair": 0.5}, r"margin_pair=\(\).*two different class names"),
    ({"lambda_pair": 0.5, "margin_pair": ("Sad", "Fear")}, r"margin_pair=\('Sad', 'Fear'\).*\['Fear'\] are not"),
    ({"lambda_pair": 0.5, "margin_pair": ("Sad", "Sad")}, "two different class names"),
    ({"margin_pair": ("Sad",)}, "margin_pair"),
    ({"pair_margin": 0.0}, r"pair_margin=0.0.*\(0, 2\]"),
    ({"pair_margin": 2.5}, "pair_margin=2.5"),
    ({"supcon_temperature": 0.0}, r"supcon_temperature=0.0.*\(0, 10\]"),
    ({"lambda_supcon": -1.0}, "lambda_supcon=-1.0.*>= 0"),
    ({"lambda_pair": -0.1}, "lambda_pair=-0.1.*>= 0"),
    ({"margin_pair": "Sad"}, "margin_pair='Sad'.*a list"),
])
def test_validate_config_rejects_bad_feature_terms(change, message):
    with pytest.raises(ParameterError, match=message):
        validate_config(toy_config(**change))


def test_feature_term_fields_from_json_and_cli():
    config = config_from_dict({"lambda_pair": 1, "margin_pair": ["Sad", "Anger"]}, CLASSES)
    assert config.margin_pair == ("Sad", "Anger") and config.lambda_pair == 1.0
    validate_config(config)
    assert parse_assignment('margin_pair=["Sad", "Anger"]', TrainConfig) == ("margin_pair", ("Sad", "Anger"))
    # the membership check needs the real classes; without them only the form is checked
    validate_config(toy_config(lambda_pair=0.5, margin_pair=("Sad", "Fear")), classes_known=False)


def test_multitask_loss_adds_exactly_the_weighted_terms():
    g = torch.Generator().manual_seed(2)
    b = 10
    out = {"logits": torch.randn(b, 4, generator=g), "va": torch.rand(b, 2, generator=g) * 2 - 1,
           "au_logits": torch.randn(b, 12, generator=g), "features": torch.randn(b, 6, generator=g)}
    batch = {"expression": torch.tensor([0, 1, 2, 3, 2, 3, -1, 0, 3, 2]), "va": torch.rand(b, 2, generator=g),
             "au": torch.randint(0, 2, (b, 12), generator=g)}
    base = toy_config(lambda_ot=0.0, cost="none")
    total0, terms0 = multitask_loss(out, batch, base, None)
    assert set(terms0) == {"expression", "va", "au"}
    config = toy_config(lambda_ot=0.0, cost="none", lambda_supcon=0.3, supcon_temperature=0.2, lambda_pair=0.7,
                        pair_margin=1.2, margin_pair=("Anger", "Sad"))
    total, terms = multitask_loss(out, batch, config, None)
    supcon = supcon_loss(out["features"], batch["expression"], 0.2)
    pair = pair_margin_loss(out["features"], batch["expression"], (3, 2), 1.2)
    assert pair.item() > 0 and supcon.item() > 0
    assert torch.equal(terms["supcon"], supcon) and torch.equal(terms["pair"], pair)
    assert total.item() == pytest.approx(total0.item() + 0.3 * supcon.item() + 0.7 * pair.item(), rel=1e-6)


def test_training_logs_the_feature_terms(tmp_path):
    config = toy_config(epochs=1, lambda_supcon=0.1, lambda_pair=0.1, margin_pair=("Sad", "Anger"))
    result = train(config, toy(64, 0), toy(32, 1), root=tmp_path, progress=False)
    row = result.history[0]
    assert math.isfinite(row["train_supcon"]) and math.isfinite(row["train_pair"]) and row["train_supcon"] > 0
