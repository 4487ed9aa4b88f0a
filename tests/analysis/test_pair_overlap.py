"""Chapter 09 on real data: the per-pair table of valence-arousal overlap, label frequency and confusion, checked
against independent references (numeric integration, scipy, numpy least squares, hand counts) and on the manifest
fixture of small faces with per-image valence-arousal."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.spatial.distance import mahalanobis
from support.real_fixtures import MANIFEST_VA, manifest_faces, manifest_va

from affect_book.analysis import (bhattacharyya_coefficient, pair_associations, pair_overlap_table, study_pair_table,
                                  summed_confusion, va_labels)
from affect_book.data import manifest
from affect_book.metrics import confusion_matrix
from affect_book.params import ParameterError


def _numeric_bc(mean_a, cov_a, mean_b, cov_b, points=801):
    """The integral of sqrt(p_a p_b) by Simpson's rule on a grid 10 SDs wide around both means (scipy)."""
    means = np.array([mean_a, mean_b], float)
    sd = np.sqrt(max(np.max(np.diag(cov_a)), np.max(np.diag(cov_b))))
    axes = [np.linspace(means[:, d].min() - 10 * sd, means[:, d].max() + 10 * sd, points) for d in range(2)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    pa, pb = stats.multivariate_normal(mean_a, cov_a).pdf(grid), stats.multivariate_normal(mean_b, cov_b).pdf(grid)
    return integrate.simpson(integrate.simpson(np.sqrt(pa * pb), x=axes[1], axis=1), x=axes[0])


@pytest.mark.parametrize("mean_b,cov_b", [((0.3, -0.2), ((0.05, 0.01), (0.01, 0.02))),
                                          ((0.0, 0.1), ((0.02, -0.005), (-0.005, 0.04))),
                                          ((0.9, 0.9), ((0.01, 0.0), (0.0, 0.01)))])
def test_the_closed_form_equals_numeric_integration_of_sqrt_pq(mean_b, cov_b):
    mean_a, cov_a = (0.0, 0.0), ((0.04, 0.01), (0.01, 0.03))
    assert bhattacharyya_coefficient(mean_a, cov_a, mean_b, cov_b) == pytest.approx(
        _numeric_bc(mean_a, cov_a, mean_b, cov_b), abs=1e-7)


def test_identical_gaussians_overlap_fully_and_far_ones_not_at_all():
    cov = np.array([[0.02, 0.004], [0.004, 0.03]])
    assert bhattacharyya_coefficient((0.1, 0.2), cov, (0.1, 0.2), cov) == pytest.approx(1.0, abs=1e-12)
    assert bhattacharyya_coefficient((-0.8, -0.8), cov, (0.8, 0.8), cov) < 1e-6
    # equal isotropic covariances s^2 I: BC = exp(-|d|^2 / (8 s^2)) by hand
    assert bhattacharyya_coefficient((0, 0), 0.01 * np.eye(2), (0.3, 0.4), 0.01 * np.eye(2)) == pytest.approx(
        np.exp(-0.25 / 0.08))


def _hand_case():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [40, 25, 10])
    centres = np.array([[0.5, 0.2], [-0.4, 0.5], [-0.3, 0.4]])
    va = centres[labels] + rng.normal(0, [0.1, 0.15], (75, 2))
    va[[3, 50]] = np.nan  # two labelled images without valence-arousal (one of class 0, one of class 1)
    labels = np.concatenate([labels, [-1, -1]])  # two images without an expression label
    va = np.vstack([va, [[0.0, 0.0], [np.nan, np.nan]]])
    confusion = np.array([[30, 6, 4], [2, 15, 3], [1, 5, 4]])
    return va, labels, ("Happy", "Anger", "Fear"), confusion


def test_every_column_equals_an_independent_computation():
    va, labels, classes, confusion = _hand_case()
    table = pair_overlap_table(va, labels, classes, confusion=confusion, ridge=0.0)
    assert list(zip(table.class_a, table.class_b)) == [("Happy", "Anger"), ("Happy", "Fear"), ("Anger", "Fear")]
    row = table.iloc[2].to_dict()  # Anger (1) - Fear (2)
    assert (row["n_a"], row["n_b"], row["va_a"], row["va_b"]) == (25, 10, 24, 10)
    assert row["share_a"] == pytest.approx(25 / 75) and row["rarer_share"] == pytest.approx(10 / 75)
    xa = va[:75][(labels[:75] == 1) & np.isfinite(va[:75, 0])]
    xb = va[:75][labels[:75] == 2]
    ca, cb = np.cov(xa.T), np.cov(xb.T)
    assert row["bhattacharyya"] == pytest.approx(_numeric_bc(xa.mean(0), ca, xb.mean(0), cb), abs=1e-7)
    pooled = ((len(xa) - 1) * ca + (len(xb) - 1) * cb) / (len(xa) + len(xb) - 2)
    assert row["mahalanobis"] == pytest.approx(mahalanobis(xa.mean(0), xb.mean(0), np.linalg.inv(pooled)))
    assert row["mean_distance"] == pytest.approx(np.linalg.norm(xa.mean(0) - xb.mean(0)))
    # row-normalised: 3 of Anger's 20 test images predicted Fear, 5 of Fear's 10 predicted Anger
    assert (row["test_a"], row["test_b"]) == (20, 10)
    assert row["confusion_ab"] == pytest.approx(3 / 20) and row["confusion_ba"] == pytest.approx(5 / 10)
    assert row["confusion"] == pytest.approx((3 / 20 + 5 / 10) / 2) and row["reason"] == ""
    assert table.attrs["n_images"] == 77 and table.attrs["n_unlabelled"] == 2 and table.attrs["n_without_va"] == 2
    assert table.attrs["without_va"] == {"Happy": 1, "Anger": 1, "Fear": 0}


def test_the_ridge_floors_the_variance_and_given_counts_set_the_frequencies():
    va, labels, classes, confusion = _hand_case()
    bare = pair_overlap_table(va, labels, classes, ridge=0.0)
    floored = pair_overlap_table(va, labels, classes, ridge=0.05)
    assert (floored.bhattacharyya > bare.bhattacharyya).all()  # wider Gaussians overlap more
    assert "confusion" not in bare.columns
    published = pair_overlap_table(va, labels, classes, counts=[1000, 100, 10])
    assert published.rarer_share.tolist() == pytest.approx([100 / 1110, 10 / 1110, 10 / 1110])
    assert published.bhattacharyya.tolist() == pytest.approx(pair_overlap_table(va, labels, classes).bhattacharyya)


def test_a_class_with_too_few_labels_gets_nan_with_its_reason():
    va, labels, classes, confusion = _hand_case()
    va = va.copy()
    va[(labels == 2)[: len(va)]] = np.nan
    va[np.flatnonzero(labels == 2)[0]] = (-0.3, 0.4)  # one Fear image keeps its valence-arousal
    confusion = confusion.copy()
    confusion[0] = 0  # no Happy test image
    table = pair_overlap_table(va, labels, classes, confusion=confusion).set_index(["class_a", "class_b"])
    assert np.isnan(table.loc[("Anger", "Fear"), "bhattacharyya"])
    assert table.loc[("Anger", "Fear"), "reason"] == "Fear has 1 image with valence-arousal (fewer than 2)"
    assert np.isnan(table.loc[("Happy", "Anger"), "confusion"])
    assert table.loc[("Happy", "Anger"), "reason"] == "Happy has no test image"
    assert table.loc[("Happy", "Fear"), "reason"] == ("Fear has 1 image with valence-arousal (fewer than 2); Happy has "
                                                      "no test image")
    assert table.attrs["without_va"]["Fear"] == 9


def test_bad_inputs_name_what_was_expected():
    va, labels, classes, confusion = _hand_case()
    with pytest.raises(ValueError, match=r"expected va of shape \(N, 2\) and labels of shape \(N,\) with the same "
                                         r"N; found va \(77, 2\) and labels \(76,\)"):
        pair_overlap_table(va, labels[:-1], classes)
    with pytest.raises(ValueError, match=r"expected class indices 0\.\.1 \(or -1, no label\) for 2 classes"):
        pair_overlap_table(va, labels, classes[:2])
    with pytest.raises(ValueError, match=r"confusion: expected a \(3, 3\) matrix"):
        pair_overlap_table(va, labels, classes, confusion=confusion[:2])
    with pytest.raises(ValueError, match=r"counts: expected 3 counts"):
        pair_overlap_table(va, labels, classes, counts=[1, 2])
    with pytest.raises(ValueError, match="min_va=1"):
        pair_overlap_table(va, labels, classes, min_va=1)
    with pytest.raises(ParameterError, match="none of the 75 labelled images has valence-arousal"):
        pair_overlap_table(np.full_like(va, np.nan), labels, classes)
    with pytest.raises(ValueError, match=r"va: expected shape \(3, 2\)"):
        va_labels({"expression": np.array([0, 1, 2]), "va": np.zeros((2, 2))}, classes)


def test_associations_equal_scipy_and_least_squares():
    rng = np.random.default_rng(1)
    k = 8
    classes = tuple(f"c{i}" for i in range(k))
    n = rng.integers(3, 60, k)
    labels = np.repeat(np.arange(k), n)
    va = rng.uniform(-0.7, 0.7, (k, 2))[labels] + rng.normal(0, 0.2, (len(labels), 2))
    confusion = rng.integers(0, 20, (k, k)) + np.diag(rng.integers(20, 80, k))
    table = pair_overlap_table(va, labels, classes, confusion=confusion)
    assert len(table) == 28
    out = pair_associations(table)
    assert out.n.tolist() == [28] * 5 and out.n_left_out.tolist() == [0] * 5 and (out.reason == "").all()
    rho, p = stats.spearmanr(table.bhattacharyya, table.confusion)
    first = out.iloc[0]
    assert (first.analysis, first.x, first.y) == ("spearman", "bhattacharyya", "confusion")
    assert first.estimate == pytest.approx(rho) and first.pvalue == pytest.approx(p)
    rho, _ = stats.spearmanr(table.rarer_share, table.confusion)  # ranks: the log changes nothing
    assert out.iloc[1].estimate == pytest.approx(rho)
    design = np.column_stack([np.ones(28), table.bhattacharyya, np.log(table.rarer_share)])
    coef, *_ = np.linalg.lstsq(design, table.confusion, rcond=None)
    ols = out[out.analysis == "ols"]
    assert ols.x.tolist() == ["bhattacharyya", "log_rarer_share"]
    assert ols.estimate.tolist() == pytest.approx(coef[1:])
    residual = table.confusion - design @ coef
    assert out.attrs["r_squared"] == pytest.approx(1 - residual.var() / table.confusion.var())
    assert "n = 28 class pairs" in out.attrs["note"] and "no causal claim" in out.attrs["note"]
    distance = pair_associations(table, overlap="mahalanobis")
    assert distance.x.tolist()[0] == "mahalanobis"
    with pytest.raises(ParameterError, match="no confusion column"):
        pair_associations(pair_overlap_table(va, labels, classes))
    with pytest.raises(ParameterError, match="3 of 3 pairs .* need at least 4"):
        pair_associations(pair_overlap_table(va[labels < 3], labels[labels < 3], classes[:3],
                                             confusion=confusion[:3, :3]))


def test_the_manifest_fixture_carries_va_and_the_table_reads_it(tmp_path):
    root = manifest_faces(tmp_path / "faces", n=24, va=True)
    records = manifest.index(root)
    labels = va_labels(records)
    assert labels.classes == records.classes and len(labels.labels) == 24 and labels.n_without_va == 1
    assert labels.source == "manifest all" and labels.n_unlabelled == 0
    assert "24 expression-labelled images, 23 with valence-arousal, 1 without" in labels.report()
    hand = {name: np.array([manifest_va(k) for k in range(23) if k % 4 == i]) for i, name in enumerate(MANIFEST_VA)}
    # predictions given (not trained): every image right except Anger taken for Sad twice and Sad for Anger once
    y_true = labels.labels
    y_pred = y_true.copy()
    anger, sad = records.classes.index("Anger"), records.classes.index("Sad")
    y_pred[np.flatnonzero(y_true == anger)[:2]] = sad
    y_pred[np.flatnonzero(y_true == sad)[:1]] = anger
    confusion = confusion_matrix(y_true, y_pred, n_classes=len(records.classes))
    table = pair_overlap_table(labels.va, labels.labels, labels.classes, confusion=confusion)
    row = table.set_index(["class_a", "class_b"]).loc[("Sad", "Anger")]
    assert (row.n_a, row.n_b, row.va_a, row.va_b) == (6, 6, 6, 6)
    assert row.confusion == pytest.approx((1 / 6 + 2 / 6) / 2)
    cov = [np.cov(hand[c].T) + 1e-4 * np.eye(2) for c in ("Sad", "Anger")]
    assert row.bhattacharyya == pytest.approx(
        bhattacharyya_coefficient(hand["Sad"].mean(0), cov[0], hand["Anger"].mean(0), cov[1]))
    assert row.mean_distance == pytest.approx(np.linalg.norm(hand["Sad"].mean(0) - hand["Anger"].mean(0)))
    assert table.attrs["without_va"]["Neutral"] == 1
    # the classes of the auto set that the fixture lacks: NaN rows, each with its reason
    absent = table[table.class_b == "Fear"].set_index("class_a")
    assert absent.bhattacharyya.isna().all() and absent.confusion.isna().all()
    assert absent.loc["Happy", "reason"] == ("Fear has 0 images with valence-arousal (fewer than 2); Fear has no "
                                             "test image")
    complete = table.dropna(subset=["bhattacharyya", "confusion"])
    assert len(complete) == 6  # the four present classes' pairs
    out = pair_associations(table)  # every present class has 6 images: the rarer share is constant
    assert out.n.iloc[0] == 6 and np.isfinite(out.estimate.iloc[0]) and out.reason.iloc[0] == ""
    assert out.reason.iloc[1] == "log_rarer_share takes one value over the pairs: no rank correlation"
    assert out[out.analysis == "ols"].estimate.isna().all()
    assert out.reason.iloc[-1].startswith("the two predictors are collinear")


@pytest.mark.slow
def test_a_study_trained_on_the_manifest_fixture_gives_its_pair_table(tmp_path, monkeypatch):
    """The chapter's real-data path end to end: two tiny base runs (seeds) trained on the fixture, read back."""
    from affect_book.study import StudyConfig, run_study, study_dir
    from affect_book.study import read_results

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    root = manifest_faces(tmp_path / "faces", n=49, va=True, splits=("train", "val", "test"))
    study = StudyConfig(presets=(), dataset="manifest", data_root=str(root), conditions=("base",), seeds=2,
                        profile="smoke", epochs=1, width=4, batch_size=16)
    frame = run_study(study, workers=1, progress=False)
    table, train = study_pair_table(study)
    # the chapter passes its results frame, with columns of its own added: the same table
    again, _ = study_pair_table(study, frame.assign(cell="manifest", pair_f1=0.0))
    pd.testing.assert_frame_equal(again, table)
    assert train.source == "manifest train" and len(train.labels) == 17 and train.n_without_va == 1
    assert table.attrs["runs"] == 2 and table.attrs["condition"] == "base"
    expected = 0
    for run_dir in read_results(study_dir(study) / "results.csv").run_dir:  # summed over the two seeds
        with np.load(f"{run_dir}/predictions.npz") as saved:
            expected = expected + confusion_matrix(saved["expression"], saved["logits"].argmax(1),
                                                   n_classes=len(train.classes))
    k = train.classes.index
    row = table.set_index(["class_a", "class_b"]).loc[("Sad", "Anger")]
    assert row.test_a == expected[k("Sad")].sum() and row.confusion_ab == pytest.approx(
        expected[k("Sad"), k("Anger")] / expected[k("Sad")].sum())
    assert isinstance(table, pd.DataFrame) and len(table) == 21  # affectnet7: the auto set of the four names
    with pytest.raises(ParameterError, match="no 'circumplex' run"):
        study_pair_table(study, condition="circumplex")
    with pytest.raises(ParameterError, match="no run to count"):
        summed_confusion([])
