"""Representation analysis against independent references: scikit-learn's cross_val_score called directly, a
direct NumPy formula of linear CKA and its invariances, chapter 01's separability index on 2-D data."""

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from affect_book import representation as rep
from affect_book.degeneracy import separability_index
from affect_book.params import ParameterError

CLASSES = ("Neutral", "Anger", "Fear", "Happy")


def blobs(seed=0, n=40, dims=6):
    """Neutral and Happy far apart; Anger and Fear overlapping (a degenerate pair); a few unlabelled rows."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((4, dims))
    centres[0, 0], centres[3, 0], centres[1, 1], centres[2, 1] = -4, 4, 0.2, -0.2
    labels = np.repeat(np.arange(4), n)
    x = centres[labels] + rng.normal(size=(len(labels), dims))
    return np.vstack([x, rng.normal(size=(3, dims))]), np.concatenate([labels, [-1, -1, -1]])


def test_pair_separability_equals_cross_val_score_called_directly():
    x, y = blobs()
    out = rep.pair_separability(x, y, ("Anger", "Fear"), CLASSES, cv=4, seed=3)
    rows = (y == 1) | (y == 2)
    direct = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), x[rows],
                             (y[rows] == 2).astype(int), cv=StratifiedKFold(4, shuffle=True, random_state=3),
                             scoring="balanced_accuracy")
    np.testing.assert_allclose(out["folds"], direct)
    assert out["mean"] == pytest.approx(direct.mean()) and out["std"] == pytest.approx(direct.std(ddof=1))
    assert (out["n_a"], out["n_b"]) == (40, 40)


def test_separability_matrix_is_symmetric_and_ranks_the_degenerate_pair_lowest():
    x, y = blobs()
    m = rep.separability_matrix(x, y, CLASSES, cv=4)
    np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T)
    assert np.isnan(np.diag(m.to_numpy())).all()
    assert m.loc["Neutral", "Happy"] == 1.0 and m.loc["Anger", "Fear"] < 0.8
    assert m.attrs["skipped"] == []
    few = rep.separability_matrix(x[:125], y[:125], CLASSES, cv=8)  # Happy keeps 5 samples < 8 folds
    assert few.attrs["skipped"] == [("Neutral", "Happy"), ("Anger", "Happy"), ("Fear", "Happy")]
    assert np.isnan(few.loc["Anger", "Happy"])


def test_feature_separability_index_equals_chapter_01s_on_2d_points():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 200)
    va = np.clip(rng.normal(scale=0.2, size=(200, 2)) + np.array([[0, 0], [-.5, .6], [-.6, .6], [.8, .5]])[labels],
                 -1, 1)
    mine = rep.feature_separability_index(va, labels, CLASSES)
    ref = separability_index(va, labels, CLASSES)
    np.testing.assert_allclose(mine["index"], ref["index"])
    assert list(zip(mine.a, mine.b)) == list(zip(ref.a, ref.b))


def test_fisher_ratio_by_hand():
    # class A: points 0 and 2 (centroid 1, s2 = 1); B: 3 and 5 (centroid 4, s2 = 1); C far away
    x = np.array([[0.0], [2.0], [3.0], [5.0], [100.0], [102.0]])
    y = np.array([0, 0, 1, 1, 2, 2])
    table = rep.fisher_ratio(x, y, ("A", "B", "C"))
    assert table.loc["A", "nearest"] == "B" and table.loc["A", "index"] == pytest.approx(3.0)
    assert table.loc["C", "nearest"] == "B" and table.loc["C", "index"] == pytest.approx(97.0)


def direct_cka(x, y):
    """Kornblith et al. (2019), through the centred Gram matrices: HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = h @ x @ x.T @ h, h @ y @ y.T @ h
    return np.sum(k * l_) / np.sqrt(np.sum(k * k) * np.sum(l_ * l_))


def test_linear_cka_equals_the_gram_formula_and_its_invariances():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 8)), rng.normal(size=(50, 5))
    y = y + x[:, :5]  # related, not equal
    assert rep.linear_cka(x, y) == pytest.approx(direct_cka(x, y))
    assert rep.linear_cka(x, x) == pytest.approx(1.0)
    q = ortho_group.rvs(8, random_state=3)
    assert rep.linear_cka(x @ q * 7.5 + 3.0, y) == pytest.approx(rep.linear_cka(x, y))
    assert rep.linear_cka(x, x @ q) == pytest.approx(1.0)
    assert rep.linear_cka(x, rng.normal(size=(50, 8))) < 0.5


def test_project_2d_pca_and_umap_when_missing():
    x, _ = blobs()
    points = rep.project_2d(x)
    assert points.shape == (len(x), 2)
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="umap-learn"):
            rep.project_2d(x, "umap")
    else:
        assert rep.project_2d(x, "umap").shape == (len(x), 2)


def test_plot_projections_draws_one_panel_per_condition():
    import matplotlib

    matplotlib.use("Agg")
    x, y = blobs()
    fig = rep.plot_projections({"base": (rep.project_2d(x), y), "circumplex": (rep.project_2d(-x), y)},
                               CLASSES, highlight=("Anger", "Fear"))
    assert [ax.get_title() for ax in fig.axes] == ["base", "circumplex"]


@pytest.mark.parametrize("call, words", [
    (lambda: rep.pair_separability(np.ones((4, 2)), [0, 1, 0], ("Neutral", "Anger"), CLASSES), "4 rows and labels 3"),
    (lambda: rep.pair_separability(*blobs(), ("Neutral", "Angry"), CLASSES), "class='Angry'"),
    (lambda: rep.pair_separability(*blobs(), ("Anger", "Anger"), CLASSES), "one class twice"),
    (lambda: rep.pair_separability(*blobs(n=3), ("Anger", "Fear"), CLASSES), "fewer than cv=5"),
    (lambda: rep.pair_separability(np.ones(4), [0, 1, 0, 1], ("Neutral", "Anger"), CLASSES), r"expected \(N, dims\)"),
    (lambda: rep.feature_separability_index(np.ones((2, 2)), [0, 9], CLASSES), "below 4"),
    (lambda: rep.linear_cka(np.ones((5, 2)), np.ones((4, 2))), "same samples"),
    (lambda: rep.linear_cka(np.ones((5, 2)), np.arange(10.0).reshape(5, 2)), "constant"),
    (lambda: rep.project_2d(np.ones((5, 2)), "tsne"), "'pca', 'umap'"),
])
def test_bad_inputs_say_what_was_expected(call, words):
    with pytest.raises((ValueError, ParameterError), match=words):
        call()
