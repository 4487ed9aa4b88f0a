"""Metrics against scikit-learn and a NumPy CCC reference, masked labels included; (y_true, y_pred) order."""

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
    assert metrics.ccc(y_masked, x) == pytest.approx(ccc_reference(x[keep], y[keep]), rel=1e-12)
    assert metrics.ccc(y, y) == pytest.approx(1.0)
    assert metrics.ccc(y, -y) < 0


def test_ccc_is_not_pearson():
    y = np.linspace(-1, 1, 50)
    assert metrics.ccc(y, y + 0.5) < 1 and np.corrcoef(y + 0.5, y)[0, 1] == pytest.approx(1)
    assert metrics.ccc(y, y + 0.5) == pytest.approx(ccc_reference(y + 0.5, y))


def test_p_va():
    rng = np.random.default_rng(1)
    t = rng.uniform(-1, 1, (100, 2))
    p = t + rng.normal(0, 0.2, (100, 2))
    out = metrics.p_va(t, p)
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
    assert metrics.expression_f1(true, pred, n_classes=n_classes) == pytest.approx(
        f1_score(true[keep], pred[keep], labels=labels, average="macro", zero_division=0))
    assert metrics.accuracy(true, pred) == pytest.approx(accuracy_score(true[keep], pred[keep]))
    assert np.array_equal(metrics.confusion_matrix(true, pred, n_classes=n_classes),
                          sk_confusion(true[keep], pred[keep], labels=labels))
    p, r, f, s = precision_recall_fscore_support(true[keep], pred[keep], labels=labels, zero_division=0)
    report = metrics.per_class_report(true, pred, classes=[f"c{k}" for k in labels])
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
    out = metrics.au_f1(true, prob, threshold=thr)
    assert np.allclose(out["per_au"], ref) and out["p_au"] == pytest.approx(np.mean(ref))


def test_mtl_score_sums_the_terms():
    rng = np.random.default_rng(0)
    t_va = rng.uniform(-1, 1, (50, 2))
    t_e = rng.integers(0, 8, 50)
    t_au = rng.integers(0, 2, (50, 12))
    out = metrics.mtl_score(true_expr=t_e, pred_expr=t_e, n_classes=8, true_va=t_va, pred_va=t_va, true_au=t_au,
                            au_prob=t_au.astype(float))
    assert out["p_mtl"] == pytest.approx(3.0) and out["p_mtl_terms"] == "P_VA + P_EXPR + P_AU"
    only_expr = metrics.mtl_score(true_expr=t_e, pred_expr=t_e, n_classes=8)
    assert only_expr["p_mtl"] == pytest.approx(1.0) and np.isnan(only_expr["p_va"])
    assert only_expr["p_mtl_terms"] == "P_EXPR"


def test_bad_shapes():
    with pytest.raises(ValueError, match="same"):
        metrics.ccc(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="outside"):
        metrics.expression_f1(np.array([0]), np.array([9]), n_classes=8)
    with pytest.raises(ValueError, match="n_classes"):
        metrics.mtl_score(true_expr=np.array([0]), pred_expr=np.array([0]))
    with pytest.raises(ValueError, match="both the labels and the predictions"):
        metrics.mtl_score(true_va=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="at least one task"):
        metrics.mtl_score()
    with pytest.raises(ValueError, match="non-integer or non-finite"):
        metrics.expression_f1(np.array([0, 1]), np.array([0.0, np.nan]), n_classes=2)
    with pytest.raises(TypeError):  # options are keyword-only, as in scikit-learn
        metrics.confusion_matrix(np.array([0]), np.array([0]), 2)


@pytest.mark.parametrize("seed", range(5))
def test_argument_order_and_orientation_match_sklearn_on_random_draws(seed):
    # deliberately asymmetric draws: swapping y_true and y_pred changes every one of these numbers
    rng = np.random.default_rng(100 + seed)
    n_classes = 6
    true = rng.choice(n_classes, 300, p=[0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
    pred = np.where(rng.random(300) < 0.4, true, rng.choice(n_classes, 300, p=[0.1, 0.1, 0.1, 0.1, 0.1, 0.5]))
    labels = list(range(n_classes))
    cm = metrics.confusion_matrix(true, pred, n_classes=n_classes)
    assert np.array_equal(cm, sk_confusion(true, pred, labels=labels))
    assert not np.array_equal(cm, cm.T)
    assert np.array_equal(cm.sum(1), np.bincount(true, minlength=n_classes))  # rows are the true classes
    f1 = metrics.expression_f1(true, pred, n_classes=n_classes)
    assert f1 == pytest.approx(f1_score(true, pred, labels=labels, average="macro", zero_division=0))
    report = metrics.per_class_report(true, pred, classes=[str(k) for k in labels])
    p, r, _, _ = precision_recall_fscore_support(true, pred, labels=labels, zero_division=0)
    assert np.allclose(report.precision, p) and np.allclose(report.recall, r)
    assert not np.allclose(report.precision, report.recall)  # so a swapped order would fail above
    assert metrics.accuracy(true, pred) == pytest.approx(accuracy_score(true, pred))
    t_va, p_va = rng.uniform(-1, 1, 200), rng.uniform(-1, 1, 200) * 0.3 + 0.2
    t_va[:20] = -5.0  # labels masked, predictions never: the order matters
    assert metrics.ccc(t_va, p_va) == pytest.approx(ccc_reference(p_va[20:], t_va[20:]))
    assert metrics.ccc(t_va, p_va) != pytest.approx(metrics.ccc(p_va, t_va))


def test_abaw_macro_f1_differs_from_sklearn_default_when_a_class_is_absent():
    # 4 classes; class 3 is neither in the labels nor predicted
    true = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    # by hand: F1 class 0 = 2*(1/2*1/2)/(1) = 0.5; class 1: P 2/3, R 1 -> 0.8; class 2: P 1, R 1/2 -> 2/3; class 3: 0
    by_hand_abaw = (0.5 + 0.8 + 2 / 3 + 0.0) / 4
    ours = metrics.expression_f1(true, pred, n_classes=4)
    assert ours == pytest.approx(by_hand_abaw)
    assert ours == pytest.approx(f1_score(true, pred, labels=range(4), average="macro", zero_division=0))
    sk_default = f1_score(true, pred, average="macro")  # averages the 3 classes that occur
    assert sk_default == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert ours < sk_default
    # a class absent from the labels but predicted counts in both (it occurs in y_pred)
    pred[0] = 3
    assert f1_score(true, pred, average="macro", zero_division=0) == pytest.approx(
        metrics.expression_f1(true, pred, n_classes=4))


def test_a_nan_term_makes_the_score_nan_not_zero():
    rng = np.random.default_rng(3)
    t_va = rng.uniform(-1, 1, (40, 2))
    t_e = rng.integers(0, 8, 40)
    t_au = rng.integers(0, 2, (40, 12))
    nan_head = np.full((40, 2), np.nan)
    out = metrics.mtl_score(true_expr=t_e, pred_expr=t_e, n_classes=8, true_va=t_va, pred_va=nan_head)
    assert np.isnan(out["p_va"]) and np.isnan(out["p_mtl"]) and out["p_mtl_terms"] == "P_VA + P_EXPR"
    one_nan = t_va.copy()
    one_nan[5, 0] = np.nan  # one bad prediction on a labelled row: not skipped
    assert np.isnan(metrics.ccc(t_va[:, 0], one_nan[:, 0]))
    prob = t_au.astype(float)
    prob[0, 3] = np.nan
    au = metrics.au_f1(t_au, prob)
    assert np.isnan(au["per_au"][3]) and np.isnan(au["p_au"]) and au["n_aus_scored"] == 12
    # an AU with no labelled row is left out of the mean (and counted), not scored 0
    t_au[:, 4] = -1
    au = metrics.au_f1(t_au, t_au.astype(float))
    assert au["p_au"] == pytest.approx(1.0) and au["n_aus_scored"] == 11 and np.isnan(au["per_au"][4])
    # AffectNet: no AU labels, so P_MTL = P_VA + P_EXPR, named as such
    affectnet = metrics.mtl_score(true_expr=t_e, pred_expr=t_e, n_classes=8, true_va=t_va, pred_va=t_va)
    assert affectnet["p_mtl"] == pytest.approx(2.0) and affectnet["p_mtl_terms"] == "P_VA + P_EXPR"
