"""The trainer's two schedule-dependent rare-class controls: LDAM with deferred re-weighting (Cao et al. 2019) and
class-balanced resampling; both must stay exactly resumable."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from support.toy import toy, toy_config

from affect_book import losses as L
from affect_book.trainer import TrainConfig, epoch_order, expression_term, multitask_loss, train, validate_config

COUNTS = np.array([400.0, 120.0, 30.0, 6.0])  # an imbalanced training set's class counts


@pytest.fixture(scope="module")
def sets():
    return toy(192, 0), toy(64, 1), toy(64, 2)


def hand_batch():
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(10, 4, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 3, 2, -1, 0, 3, 1])
    return z, y


def reference_ldam(z, y, weight=None):
    """LDAM written out with torch's cross-entropy: the true logit lowered by 0.5 * (n_min / n_y)^(1/4)."""
    margins = 0.5 * (COUNTS.min() / COUNTS) ** 0.25
    adjusted = z - F.one_hot(y.clamp_min(0), 4).double() * torch.tensor(margins)[y.clamp_min(0)][:, None]
    w = None if weight is None else torch.as_tensor(weight, dtype=torch.float64)
    return F.cross_entropy(adjusted, y, weight=w, ignore_index=-1)


def test_deferral_epoch_follows_cao_et_al():
    assert L.drw_defer_epoch(0.8, 200) == 160  # Cao et al. (2019): 200 epochs, re-weighted from epoch 160 on
    assert L.drw_defer_epoch(0.8, 5) == 4 and L.drw_defer_epoch(0.5, 3) == 2 and L.drw_defer_epoch(0.5, 5) == 3
    assert L.drw_defer_epoch(0.0, 7) == 0 and L.drw_defer_epoch(1.0, 7) == 7
    with pytest.raises(ValueError, match="positive integer"):
        L.drw_defer_epoch(0.8, 0)
    with pytest.raises(ValueError, match=r"defer.*\[0, 1\]"):
        L.drw_defer_epoch(1.5, 10)


def test_ldam_drw_is_plain_ldam_before_the_deferral_epoch_and_weighted_after():
    z, y = hand_batch()
    config = TrainConfig(classes=("a", "b", "c", "d"), expression_loss="ldam_drw", epochs=5)  # default: defer 0.8
    validate_config(config)
    plain = L.ldam_loss(z, y, L.ldam_margins(COUNTS, 0.5))
    weighted = L.ldam_loss(z, y, L.ldam_margins(COUNTS, 0.5), weight=L.class_balanced_weights(COUNTS, 0.9999))
    assert not torch.isclose(plain, weighted)  # the weights matter on this batch, so the comparison can fail
    torch.testing.assert_close(plain, reference_ldam(z, y))
    torch.testing.assert_close(weighted, reference_ldam(z, y, L.class_balanced_weights(COUNTS, 0.9999)))
    for epoch in range(4):  # 0.8 x 5 epochs: epochs 0..3 plain
        torch.testing.assert_close(expression_term(z, y, config, COUNTS, epoch), plain)
    torch.testing.assert_close(expression_term(z, y, config, COUNTS, 4), weighted)
    half = TrainConfig(classes=config.classes, expression_loss="ldam_drw", expression_param=0.5, epochs=4)
    torch.testing.assert_close(expression_term(z, y, half, COUNTS, 1), plain)
    torch.testing.assert_close(expression_term(z, y, half, COUNTS, 2), weighted)
    # through the multi-task loss as the training loop calls it
    out = {"logits": z}
    batch = {"expression": y}
    bare = TrainConfig(classes=config.classes, expression_loss="ldam_drw", epochs=5, lambda_va=0, lambda_au=0)
    torch.testing.assert_close(multitask_loss(out, batch, bare, None, COUNTS, epoch=4)[0], weighted)
    with pytest.raises(ValueError, match="needs the 0-based epoch"):
        multitask_loss(out, batch, bare, None, COUNTS)
    with pytest.raises(ValueError, match="outside the run's epochs"):
        expression_term(z, y, config, COUNTS, 5)


def test_ldam_drw_parameter_is_a_fraction_of_the_run():
    with pytest.raises(ValueError, match=r"defer in \[0, 1\]"):
        validate_config(TrainConfig(classes=("a", "b"), expression_loss="ldam_drw", expression_param=1.2))


def imbalanced_labels(n=4000, seed=3):
    rng = np.random.default_rng(seed)
    labels = rng.choice(4, size=n, p=[0.7, 0.2, 0.08, 0.02])
    labels[rng.random(n) < 0.05] = -1
    return labels


def test_class_balanced_sampler_draws_classes_about_equally():
    labels = imbalanced_labels()
    config = TrainConfig(classes=("a", "b", "c", "d"), sampler="class_balanced", seed=5)
    order, _ = epoch_order(config, labels, epoch=2)
    assert order.shape == (len(labels),) and order.dtype == torch.int64  # as many draws as images: same steps
    drawn = labels[order.numpy()]
    labelled = drawn[drawn >= 0]
    freq = np.bincount(labelled, minlength=4) / len(labelled)
    np.testing.assert_allclose(freq, 0.25, atol=0.04)  # binomial sd about 0.007 at this size
    # unlabelled images are drawn at the mean labelled weight: their share is about 5% x mean(1 / n_y) x n
    weights = L.sampling_weights(labels, missing="mean")
    expected_missing = weights[labels < 0].sum() / weights.sum()
    assert abs((drawn < 0).mean() - expected_missing) < 0.02
    assert len(np.unique(order.numpy())) < len(labels)  # with replacement: some images repeat
    shuffled, _ = epoch_order(TrainConfig(classes=config.classes, seed=5), labels, epoch=2)
    assert sorted(shuffled.tolist()) == list(range(len(labels)))  # the default visits each image once
    raw = np.bincount(labels[labels >= 0], minlength=4) / (labels >= 0).sum()
    assert raw[0] > 0.6 and raw[3] < 0.05  # ... so the toy set really is imbalanced


def test_sampler_order_depends_only_on_seed_and_epoch():
    labels = imbalanced_labels(500)
    config = TrainConfig(classes=("a", "b", "c", "d"), sampler="class_balanced", seed=1)
    first, g1 = epoch_order(config, labels, 3)
    again, g2 = epoch_order(config, labels, 3)
    assert torch.equal(first, again)
    assert torch.equal(torch.rand(5, generator=g1), torch.rand(5, generator=g2))  # augmentation draws follow
    assert not torch.equal(first, epoch_order(config, labels, 4)[0])
    assert not torch.equal(first, epoch_order(TrainConfig(classes=config.classes, sampler="class_balanced",
                                                          seed=2), labels, 3)[0])
    # the default keeps the trainer's earlier shuffle: a permutation from the generator seeded by (seed, epoch)
    plain = TrainConfig(classes=config.classes, seed=1)
    want = torch.randperm(500, generator=torch.Generator().manual_seed(1 * 1_000_003 + 3))
    assert torch.equal(epoch_order(plain, labels, 3)[0], want)


def test_bad_sampler_fails_before_training(sets, tmp_path):
    with pytest.raises(ValueError, match="sampler='balanced'.*class_balanced"):
        validate_config(TrainConfig(classes=("a", "b"), sampler="balanced"))
    train_set, val_set, _ = sets
    subset = type(train_set)(train_set.images, np.where(train_set.expression == 3, 0, train_set.expression),
                             train_set.va, train_set.au, train_set.subject, train_set.classes, "toy")
    with pytest.raises(ValueError, match=r"sampler='class_balanced' needs every class.*\['Anger'\]"):
        train(toy_config(epochs=1, sampler="class_balanced"), subset, val_set, root=tmp_path, progress=False)


@pytest.mark.parametrize("change", [{"expression_loss": "ldam_drw", "expression_param": 0.5},
                                    {"sampler": "class_balanced"}], ids=["ldam_drw", "resampling"])
@pytest.mark.slow
def test_each_control_trains_and_resumes_exactly(sets, tmp_path, change):
    train_set, val_set, test_set = sets
    config = toy_config(epochs=3, lambda_ot=0.0, cost="none", **change)  # ldam_drw: re-weighted from epoch 3 on
    full = train(config, train_set, val_set, test_set, root=tmp_path / "a", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, train_set, val_set, test_set, root=tmp_path / "b", stop_after_epoch=2, progress=False)
    resumed = train(config, train_set, val_set, test_set, root=tmp_path / "b", progress=False)
    a, b = full.model_state(), resumed.model_state()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["train_loss"] for r in full.history] == [r["train_loss"] for r in resumed.history]
    assert np.array_equal(full.predictions()["logits"], resumed.predictions()["logits"])
    plain = train(toy_config(epochs=3, lambda_ot=0.0, cost="none"), train_set, val_set, root=tmp_path / "c",
                  progress=False)
    assert [r["train_loss"] for r in plain.history] != [r["train_loss"] for r in full.history]  # it did change
