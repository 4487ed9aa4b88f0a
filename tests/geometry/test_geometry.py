"""Error-geometry metrics against hand-computed cases and independent implementations (scikit-learn's confusion
matrix, NumPy loops, statsmodels' formula interface)."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from sklearn.metrics import confusion_matrix

from affect_book import circumplex as cx
from affect_book import degeneracy
from affect_book import geometry as geo
from affect_book.costs import ot_cost
from affect_book.params import ParameterError

# A hand-made case: Neutral at the origin, Happy and Surprise in the (+, +) quadrant, Sad in (-, -), Other unplaced.
CLASSES = ("Neutral", "Happy", "Surprise", "Sad", "Other")
VA = np.array([[0.0, 0.0], [0.8, 0.5], [0.4, 0.7], [-0.6, -0.3], [np.nan, np.nan]])
Y_TRUE = np.array([1, 1, 1, 2, 3, 3, 0, 4, 4, -1])
Y_PRED = np.array([1, 2, 3, 1, 3, 1, 1, 1, 4, 0])
# errors (true -> predicted): Happy->Surprise, Happy->Sad, Surprise->Happy, Sad->Happy, Neutral->Happy, Other->Happy
HS, HSAD, NH = math.sqrt(0.2), math.sqrt(2.6), math.sqrt(0.89)


def asymmetric_cost(n=5):
    """cost[j, y] = (j + 1) + 10 (y + 1) off the diagonal: the orientation (rows predicted) matters."""
    j, y = np.indices((n, n))
    return np.where(j == y, 0.0, (j + 1) + 10.0 * (y + 1))


def test_error_severity_by_hand():
    out = geo.error_severity(Y_TRUE, Y_PRED, asymmetric_cost(), classes=CLASSES)
    # cost[pred, true]: [2,1]=23, [3,1]=24, [1,2]=32, [1,3]=42, [1,0]=12, [1,4]=52
    assert out["mean_error_cost"] == pytest.approx(185 / 6)
    assert out["mean_cost"] == pytest.approx(185 / 9)
    assert (out["n_errors"], out["n_samples"], out["n_unlabelled"]) == (6, 9, 1)


def test_error_severity_matches_sklearn_confusion_on_random_draws():
    rng = np.random.default_rng(1)
    cost = asymmetric_cost(6)
    for _ in range(5):
        y, p = rng.integers(0, 6, 300), rng.integers(0, 6, 300)
        cm = confusion_matrix(y, p, labels=range(6))  # rows true, columns predicted
        total = (cm * cost.T).sum()
        out = geo.error_severity(y, p, cost)
        assert out["mean_cost"] == pytest.approx(total / 300)
        assert out["mean_error_cost"] == pytest.approx(total / (cm.sum() - np.trace(cm)))


def test_expected_error_cost_by_hand_and_equal_to_the_hard_one_on_one_hot():
    cost = np.array([[0.0, 1, 2], [3, 0, 4], [5, 6, 0]])
    probs = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2]])
    out = geo.expected_error_cost([0, 1], probs, cost)
    assert out["mean_cost"] == pytest.approx((1.9 + 1.4) / 2)
    assert out["mean_error_mass"] == pytest.approx(0.45)
    assert out["cost_per_error_mass"] == pytest.approx(3.3 / 0.9)
    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    hard = geo.error_severity(y, p, asymmetric_cost())
    soft = geo.expected_error_cost(y, np.eye(5)[p], asymmetric_cost())
    assert soft["mean_cost"] == pytest.approx(hard["mean_cost"])
    assert soft["cost_per_error_mass"] == pytest.approx(hard["mean_error_cost"])


def test_labelled_cost_supplies_the_class_names_and_must_match():
    cost = ot_cost("affwild2")
    assert geo.error_severity([0, 1], [1, 1], cost)["n_errors"] == 1
    with pytest.raises(ValueError, match="labelled"):
        geo.error_severity([0, 1], [1, 1], cost, classes=cx.class_set("affectnet8"))


def test_affective_distance_by_hand_leaves_out_other_and_counts_it():
    out = geo.affective_distance(Y_TRUE, Y_PRED, VA, classes=CLASSES, bins=[0, 1, 2])
    np.testing.assert_allclose(out["distances"], [HS, HSAD, HS, HSAD, NH])
    assert out["mean_distance"] == pytest.approx((2 * HS + 2 * HSAD + NH) / 5)
    assert (out["n_errors"], out["n_excluded"], out["n_unlabelled"]) == (6, 1, 1)
    by = out["by_class"]
    assert by.loc["Happy", "mean_distance"] == pytest.approx((HS + HSAD) / 2)
    assert by.loc["Other", "n_excluded"] == 1 and np.isnan(by.loc["Other", "mean_distance"])
    assert out["histogram"].loc["Happy"].tolist() == [1, 1]  # 0.447 in [0, 1), 1.612 in [1, 2)
    assert out["histogram"].to_numpy().sum() == 5


def test_affective_distance_with_coordinates_equals_a_loop_on_random_draws():
    coords = cx.coordinates("affwild2")
    rng = np.random.default_rng(3)
    y, p = rng.integers(0, 8, 400), rng.integers(0, 8, 400)
    va = coords.va
    expected = [np.hypot(*(va[b] - va[a])) for a, b in zip(y, p)
                if a != b and coords.classes[a] != "Other" and coords.classes[b] != "Other"]
    out = geo.affective_distance(y, p, coords)
    np.testing.assert_allclose(out["distances"], expected)
    other = coords.classes.index("Other")
    assert out["n_excluded"] == int(((y != p) & ((y == other) | (p == other))).sum())


def test_quadrant_preservation_by_hand_under_both_neutral_rules():
    out = geo.quadrant_preservation(Y_TRUE, Y_PRED, VA, classes=CLASSES)
    # measured: Happy->Surprise (kept), Happy->Sad, Surprise->Happy (kept), Sad->Happy; Neutral->Happy by the rule
    assert (out["preserved"], out["n_measured"], out["n_origin"], out["n_excluded"]) == (0.5, 4, 1, 1)
    assert out["quadrants"]["Neutral"] is None and out["quadrants"]["Happy"] == (1, 1)
    own = geo.quadrant_preservation(Y_TRUE, Y_PRED, VA, classes=CLASSES, origin="own")
    assert (own["preserved"], own["n_measured"], own["n_origin"]) == (0.4, 5, 0)


def test_quadrant_preservation_equals_a_loop_on_random_draws():
    coords = cx.coordinates("affectnet8", placement=cx.DEFAULT_PLACEMENT)
    rng = np.random.default_rng(4)
    y, p = rng.integers(0, 8, 500), rng.integers(0, 8, 500)
    va = coords.va
    kept = total = 0
    for a, b in zip(y, p):
        if a == b or not va[a].any() or not va[b].any():  # correct, or from/to Neutral at the origin
            continue
        total += 1
        kept += (va[a][0] > 0) == (va[b][0] > 0) and (va[a][1] > 0) == (va[b][1] > 0)
    assert geo.quadrant_preservation(y, p, coords)["preserved"] == pytest.approx(kept / total)


def test_pair_confusion_by_hand_and_against_sklearn():
    table = geo.pair_confusion(Y_TRUE, Y_PRED, [("Happy", "Sad")], CLASSES).set_index("true")
    assert table.loc["Happy", ["count", "n_true", "n_errors_true"]].tolist() == [1, 3, 2]
    assert table.loc["Happy", "rate"] == pytest.approx(1 / 3) and table.loc["Happy", "share_of_errors"] == 0.5
    assert table.loc["Sad", "rate"] == 0.5 and table.loc["Sad", "share_of_errors"] == 1.0
    assert table.attrs["n_unlabelled"] == 1
    rng = np.random.default_rng(5)
    y, p = rng.integers(0, 8, 400), rng.integers(0, 8, 400)
    classes = cx.class_set("affwild2")
    pairs = degeneracy.degenerate_pairs(cx.coordinates("affwild2"), top=3)
    cm = confusion_matrix(y, p, labels=range(8))
    for row in geo.pair_confusion(y, p, pairs, classes).itertuples():
        i, j = classes.index(row.true), classes.index(row.predicted)
        assert row.count == cm[i, j]
        assert row.share_of_errors == pytest.approx(cm[i, j] / (cm[i].sum() - cm[i, i]))


def test_nearest_error_rate_by_hand():
    out = geo.nearest_error_rate(Y_TRUE, Y_PRED, VA, classes=CLASSES, n_permutations=200, seed=0)
    # nearest: Neutral-Sad, Happy-Surprise (both ways), Sad-Neutral; hits: Happy->Surprise, Surprise->Happy
    assert out["nearest"]["Neutral"] == ("Sad",) and out["nearest"]["Sad"] == ("Neutral",)
    assert (out["rate"], out["n_nearest"], out["n_measured"], out["n_excluded"]) == (0.4, 2, 5, 1)
    assert 0 <= out["baseline_low"] <= out["baseline_mean"] <= out["baseline_high"] <= 1
    assert 0 < out["pvalue"] <= 1


def test_nearest_error_rate_baseline_is_reproducible_and_below_a_nearest_only_classifier():
    coords = cx.coordinates("affwild2")
    nearest = {"Neutral": "Sadness", "Anger": "Fear", "Fear": "Anger", "Disgust": "Fear", "Happiness": "Surprise",
               "Surprise": "Happiness", "Sadness": "Disgust"}
    classes = coords.classes
    rng = np.random.default_rng(6)
    y = rng.integers(0, 7, 600)  # no Other
    p = np.array([classes.index(nearest[classes[t]]) if rng.random() < 0.5 else t for t in y])
    a = geo.nearest_error_rate(y, p, coords, n_permutations=300, seed=11)
    b = geo.nearest_error_rate(y, p, coords, n_permutations=300, seed=11)
    c = geo.nearest_error_rate(y, p, coords, n_permutations=300, seed=12)
    assert a["rate"] == 1.0
    assert {k: a[k] for k in ("baseline_mean", "baseline_low", "pvalue")} == \
        {k: b[k] for k in ("baseline_mean", "baseline_low", "pvalue")}
    assert a["baseline_mean"] != c["baseline_mean"]
    assert a["baseline_high"] < 1.0 and a["pvalue"] == pytest.approx(1 / 301)


def test_nearest_error_rate_equals_a_loop_with_scipy_distances_on_random_draws():
    from scipy.spatial.distance import cdist

    coords = cx.coordinates("affectnet8", placement=cx.DEFAULT_PLACEMENT)
    d = cdist(coords.va, coords.va)
    np.fill_diagonal(d, np.inf)
    nearest = [set(np.flatnonzero(np.isclose(row, row.min()))) for row in d]  # ties: every tied class counts
    rng = np.random.default_rng(7)
    y, p = rng.integers(0, 8, 500), rng.integers(0, 8, 500)
    hits = [b in nearest[a] for a, b in zip(y, p) if a != b]
    out = geo.nearest_error_rate(y, p, coords, n_permutations=5)
    assert out["rate"] == pytest.approx(np.mean(hits)) and out["n_measured"] == len(hits)
    assert out["nearest"]["Contempt"] == ("Disgust", "Anger")  # the midpoint placement: a tie, both kept


def test_far_confusions_by_hand():
    cm = np.array([[5, 2, 0], [1, 6, 3], [0, 0, 4]])  # rows true, columns predicted
    cost = np.array([[0.0, 1, 2], [3, 0, 4], [5, 6, 0]])  # rows predicted, columns true
    table = geo.far_confusions(cm, cost, classes=("A", "B", "C"), prototype_distance=np.ones((3, 3)))
    # cells: A->B 2 x cost[1,0]=3 -> 6; B->A 1 x cost[0,1]=1 -> 1; B->C 3 x cost[2,1]=6 -> 18; total 25
    top = table.iloc[0]
    assert (top.true, top.predicted, top["count"], top.cost) == ("B", "C", 3, 6)
    assert top.cost_share == pytest.approx(18 / 25) and top.rate == pytest.approx(0.3)
    assert table.cost_share.sum() == pytest.approx(1.0) and len(table) == 6
    assert len(geo.far_confusions(cm, cost, classes=("A", "B", "C"), top=2)) == 2


def _planted(n_runs=12, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        run_effect = rng.normal(0, 0.02)
        for _ in range(8):
            share = rng.uniform(0.01, 0.4)
            nn = rng.uniform(0.1, 1.0)
            f1 = 0.3 + 0.1 * np.log(share) + 0.25 * nn + run_effect + rng.normal(0, 0.03)
            rows.append({"run": run, "f1": f1, "log_train_share": np.log(share), "nn_distance": nn})
    return pd.DataFrame(rows)


def test_frequency_or_geometry_recovers_a_planted_effect_and_equals_statsmodels():
    data = _planted()
    table = geo.frequency_or_geometry(data).set_index("term")
    direct = smf.ols("f1 ~ log_train_share + nn_distance", data=data).fit()
    ci = direct.conf_int()
    for term, name in (("const", "Intercept"), ("log_train_share", "log_train_share"),
                       ("nn_distance", "nn_distance")):
        assert table.loc[term, "estimate"] == pytest.approx(direct.params[name])
        assert table.loc[term, "std_error"] == pytest.approx(direct.bse[name])
        assert table.loc[term, ["ci_low", "ci_high"]].tolist() == pytest.approx(ci.loc[name].tolist())
    assert table.loc["log_train_share", "ci_low"] < 0.1 < table.loc["log_train_share", "ci_high"]
    assert table.loc["nn_distance", "ci_low"] < 0.25 < table.loc["nn_distance", "ci_high"]
    assert table.attrs["n"] == len(data) and table.attrs["r_squared"] == pytest.approx(direct.rsquared)
    clustered = geo.frequency_or_geometry(data, groups="run").set_index("term")
    robust = smf.ols("f1 ~ log_train_share + nn_distance", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": data["run"].to_numpy()})
    assert clustered.loc["nn_distance", "std_error"] == pytest.approx(robust.bse["nn_distance"])
    assert clustered.attrs["cov_type"] == "cluster"


def test_frequency_or_geometry_counts_dropped_rows_and_standardizes():
    data = _planted()
    data.loc[[0, 5], "nn_distance"] = np.nan
    table = geo.frequency_or_geometry(data, standardize=True).set_index("term")
    assert table.attrs["n_dropped"] == 2 and table.attrs["n"] == len(data) - 2
    kept = data.dropna()
    z = kept.assign(**{c: (kept[c] - kept[c].mean()) / kept[c].std(ddof=0) for c in ("log_train_share",
                                                                                     "nn_distance")})
    direct = smf.ols("f1 ~ log_train_share + nn_distance", data=z).fit()
    assert table.loc["nn_distance", "estimate"] == pytest.approx(direct.params["nn_distance"])


@pytest.mark.parametrize("call, words", [
    (lambda: geo.error_severity([0, 1], [0], np.ones((2, 2)) - np.eye(2)), "expected the same"),
    (lambda: geo.error_severity([0, 3], [0, 1], np.ones((2, 2)) - np.eye(2)), "outside 0..1"),
    (lambda: geo.error_severity([0, 1], [0, 1], np.ones((2, 3))), "square"),
    (lambda: geo.error_severity([0, 1], [0, 1], np.ones((2, 2))), "zero diagonal"),
    (lambda: geo.expected_error_cost([0, 1], [[0.5, 0.6], [0.5, 0.5]], 1 - np.eye(2)), "row 0 sums to 1.1"),
    (lambda: geo.expected_error_cost([0, 1], [[0.5, 0.5]], 1 - np.eye(2)), "y_true has 2 rows"),
    (lambda: geo.affective_distance([0, 1], [1, 0], VA[:3], classes=CLASSES), r"expected \(5, 2\)"),
    (lambda: geo.affective_distance([0, 1], [1, 0], VA), "classes is required"),
    (lambda: geo.affective_distance([0], [1], cx.coordinates("affwild2"), classes=("A", "B")), "differ"),
    (lambda: geo.quadrant_preservation([0], [1], VA, classes=CLASSES, origin="drop"), "'exclude', 'own'"),
    (lambda: geo.pair_confusion([0], [1], [("Happy", "Angry")], CLASSES), "pair class='Angry'"),
    (lambda: geo.pair_confusion([0], [1], [("Happy", "Happy")], CLASSES), "one class twice"),
    (lambda: geo.nearest_error_rate([0], [1], VA, classes=CLASSES, n_permutations=0), "n_permutations"),
    (lambda: geo.far_confusions(np.ones((2, 2)), 1 - np.eye(2)), "classes is required"),
    (lambda: geo.frequency_or_geometry(pd.DataFrame({"f1": [1.0]})), "lacks the columns"),
    (lambda: geo.frequency_or_geometry(_planted().assign(log_train_share=1.0)), r"\['log_train_share'\] constant"),
    (lambda: geo.frequency_or_geometry(_planted().assign(nn_distance=lambda f: 2 * f.log_train_share)), "collinear"),
])
def test_bad_inputs_say_what_was_expected(call, words):
    with pytest.raises((ValueError, ParameterError), match=words):
        call()
