"""Metrics against scikit-learn and a NumPy CCC reference, masked labels included."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as sk_confusion

from affect_book import metrics


def ccc_reference(x, y):
    """Lin's CCC written from its definition with population moments."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    cov = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * cov / (np.var(x) + np.var(y) + (x.mean() - y.mean()) ** 2)


@pytest.mark.parametrize("seed", range(5))
def test_ccc_matches_reference_with_masks(seed):
    rng = np.random.default_rng(seed)
    y = rng.uniform(-1, 1, 300)
    x = 0.6 * y + rng.normal(0, 0.3, 300)
    y_masked = y.copy()
    y_masked[rng.random(300) < 0.2] = np.nan
    y_masked[:5] = -5.0  # Aff-Wild2's invalid marker
    keep = np.isfinite(y_masked) & (y_masked >= -1)
    assert metrics.ccc(x, y_masked) == pytest.approx(ccc_reference(x[keep], y[keep]), rel=1e-12)
    assert metrics.ccc(y, y) == pytest.approx(1.0)
    assert metrics.ccc(-y, y) < 0


def test_ccc_is_not_pearson():
    y = np.linspace(-1, 1, 50)
    assert metrics.ccc(y + 0.5, y) < 1 and np.corrcoef(y + 0.5, y)[0, 1] == pytest.approx(1)
    assert metrics.ccc(y + 0.5, y) == pytest.approx(ccc_reference(y + 0.5, y))


def test_p_va():
    rng = np.random.default_rng(1)
    t = rng.uniform(-1, 1, (100, 2))
    p = t + rng.normal(0, 0.2, (100, 2))
    out = metrics.p_va(p, t)
    assert out["p_va"] == pytest.approx((ccc_reference(p[:, 0], t[:, 0]) + ccc_reference(p[:, 1], t[:, 1])) / 2)


@pytest.mark.parametrize("seed", range(5))
def test_expression_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n_classes = 8
    true = rng.integers(0, n_classes, 400)
    true[rng.random(400) < 0.15] = -1
    true[true == 7] = 6  # class 7 absent from the labels: it must still count (as 0) in the macro-F1
    pred = np.where(rng.random(400) < 0.5, np.maximum(true, 0), rng.integers(0, n_classes - 1, 400))
    keep = true >= 0
    labels = list(range(n_classes))
    assert metrics.expression_f1(pred, true, n_classes) == pytest.approx(
        f1_score(true[keep], pred[keep], labels=labels, average="macro", zero_division=0))
    assert metrics.accuracy(pred, true) == pytest.approx(accuracy_score(true[keep], pred[keep]))
    assert np.array_equal(metrics.confusion_matrix(pred, true, n_classes),
                          sk_confusion(true[keep], pred[keep], labels=labels))
    p, r, f, s = precision_recall_fscore_support(true[keep], pred[keep], labels=labels, zero_division=0)
    report = metrics.per_class_report(pred, true, [f"c{k}" for k in labels])
    assert np.allclose(report.precision, p) and np.allclose(report.recall, r) and np.allclose(report.f1, f)
    assert np.array_equal(report.support, s)


@pytest.mark.parametrize("seed", range(3))
def test_au_f1_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 2, (300, 12))
    true[rng.random((300, 12)) < 0.1] = -1
    prob = np.clip(true * 0.6 + rng.uniform(0, 0.5, (300, 12)), 0, 1)
    thr = rng.uniform(0.3, 0.7, 12)
    ref = [f1_score(true[true[:, k] >= 0, k], prob[true[:, k] >= 0, k] >= thr[k], zero_division=0)
           for k in range(12)]
    out = metrics.au_f1(prob, true, thr)
    assert np.allclose(out["per_au"], ref) and out["p_au"] == pytest.approx(np.mean(ref))


def test_mtl_score_sums_the_terms():
    rng = np.random.default_rng(0)
    t_va = rng.uniform(-1, 1, (50, 2))
    t_e = rng.integers(0, 8, 50)
    t_au = rng.integers(0, 2, (50, 12))
    out = metrics.mtl_score(t_e, t_e, 8, t_va, t_va, t_au.astype(float), t_au)
    assert out["p_mtl"] == pytest.approx(3.0)
    only_expr = metrics.mtl_score(t_e, t_e, 8)
    assert only_expr["p_mtl"] == pytest.approx(1.0) and np.isnan(only_expr["p_va"])


def test_bad_shapes():
    with pytest.raises(ValueError, match="same"):
        metrics.ccc(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="outside"):
        metrics.expression_f1(np.array([9]), np.array([0]), 8)
    with pytest.raises(ValueError, match="n_classes"):
        metrics.mtl_score(np.array([0]), np.array([0]))
