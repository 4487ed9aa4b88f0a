"""affect_book.costs against hand-computed cases: the geometric costs, the controls derived from them (uniform,
column-matched uniform, permuted), the rule for Other and the checks of validate_cost."""

import math

import numpy as np
import pandas as pd
import pytest

from affect_book import circumplex as cx
from affect_book import costs
from affect_book.facs import prototype_matrix


def test_angular_cost_by_hand():
    pts = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0], [1.0, -1.0]])
    cost = costs.angular_cost(pts)
    assert cost[0, 1] == pytest.approx(0.5)      # 90 degrees
    assert cost[0, 2] == pytest.approx(1.0)      # 180 degrees
    assert cost[1, 4] == pytest.approx(0.75)     # 90 to -45: 135 degrees
    assert cost[2, 4] == pytest.approx(0.75)     # 180 to -45 wraps: 135 degrees
    assert cost[3, 0] == cost[0, 3] == 0.5       # origin: documented default
    assert costs.angular_cost(pts, origin_cost=0.2)[3, 1] == pytest.approx(0.2)
    assert np.all(np.diag(cost) == 0)


def test_uniform_cost_matches_scale():
    va = costs.cost_matrix("affectnet7", "va").to_numpy()
    uni = costs.uniform_cost(7, match=va)
    off = ~np.eye(7, dtype=bool)
    assert np.allclose(uni[off], uni[off][0])            # every confusion the same price
    assert uni[off].mean() == pytest.approx(va[off].mean())  # same mean price
    assert va[off].mean() == pytest.approx(va.sum() / 42)
    assert np.all(np.diag(uni) == 0)
    assert np.array_equal(costs.uniform_cost(3), 1 - np.eye(3))
    frame = costs.cost_matrix("affectnet7", "uniform")
    assert costs.mean_off_diagonal(frame.to_numpy()) == pytest.approx(costs.mean_off_diagonal(va))


def test_normalizations():
    coords = cx.coordinates("affectnet7")
    raw = costs.va_distance_cost(coords)
    assert costs.va_distance_cost(coords, "max").max() == pytest.approx(1.0)
    assert costs.mean_off_diagonal(costs.va_distance_cost(coords, "mean")) == pytest.approx(1.0)
    assert np.allclose(costs.va_distance_cost(coords, "max") * raw.max(), raw)
    with pytest.raises(ValueError, match="normalize"):
        costs.va_distance_cost(coords, "sum")


def test_matched_uniform_cost_has_the_circumplex_mean_off_diagonal():
    for classes in ("affectnet7", "affwild2"):
        va = costs.ot_cost(classes, "va").to_numpy()
        uni = costs.ot_cost(classes, "uniform").to_numpy()
        off = ~np.eye(len(va), dtype=bool)
        assert np.allclose(uni[off], va[off].sum() / off.sum())  # every confusion at the mean price
        assert np.all(np.diag(uni) == 0)
    au = costs.ot_cost("affectnet8", "au", fill={"Contempt": (-0.6, 0.35)}).to_numpy()
    uni_au = costs.ot_cost("affectnet8", "uniform", fill={"Contempt": (-0.6, 0.35)}, match="au").to_numpy()
    off = ~np.eye(8, dtype=bool)
    assert np.allclose(uni_au[off], au[off].mean())



def test_validate_cost_errors():
    good = costs.uniform_cost(3)
    assert costs.validate_cost(good).shape == (3, 3)
    with pytest.raises(ValueError, match="square"):
        costs.validate_cost(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        costs.validate_cost(np.array([[0, -1.0], [1, 0]]))
    with pytest.raises(ValueError, match="zero diagonal"):
        costs.validate_cost(np.array([[0.5, 1.0], [1, 0]]))
    with pytest.raises(ValueError, match="finite"):
        costs.validate_cost(np.array([[0, np.nan], [1, 0]]))
    with pytest.raises(ValueError, match="3 classes"):
        costs.validate_cost(np.zeros((2, 2)), classes=["Anger", "Fear", "Sad"])
    frame = pd.DataFrame(good, index=["Anger", "Fear", "Sad"], columns=["Anger", "Fear", "Sad"])
    assert costs.validate_cost(frame, ["anger", "fearful", "Sadness"]).shape == (3, 3)  # names mapped by concept
    with pytest.raises(ValueError, match="rows are labelled"):
        costs.validate_cost(frame, ["Fear", "Anger", "Sad"])
    with pytest.raises(ValueError, match="unknown cost kind"):
        costs.ot_cost("affectnet7", "euclid")


def test_au_augmented_cost():
    classes = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger")
    coords = cx.coordinates(classes)
    va = costs.va_distance_cost(coords)
    au = costs.au_prototype_distance(classes)
    protos = prototype_matrix(classes)
    i, j = classes.index("Happy"), classes.index("Anger")
    assert math.isclose(au[i, j], math.sqrt(len({6, 12} ^ {4, 5, 7, 23})))  # 0/1 prototypes: sqrt(# AUs differing)
    assert math.isclose(au[i, j], np.linalg.norm(protos[i] - protos[j]))
    off = ~np.eye(7, dtype=bool)
    mixed = costs.au_augmented_cost(coords, au_weight=0.3)
    assert math.isclose(mixed[off].mean(), va[off].mean())  # same scale as the valence-arousal cost
    np.testing.assert_allclose(costs.au_augmented_cost(coords, au_weight=0.0), va)
    np.testing.assert_allclose(costs.au_augmented_cost(coords, au_weight=1.0), au * va[off].mean() / au[off].mean())
    np.testing.assert_allclose(mixed, 0.7 * va + 0.3 * au * va[off].mean() / au[off].mean())
    # Other has no prototype: its AU distance to every class is the mean between prototyped classes
    with_other = costs.au_prototype_distance(classes + ("Other",))
    assert np.allclose(with_other[-1, :-1], au[off].mean()) and with_other[-1, -1] == 0
    assert np.allclose(costs.au_prototype_distance(classes + ("Other",), other=0.4)[-1, :-1], 0.4)
    with pytest.raises(ValueError, match="au_weight"):
        costs.au_augmented_cost(coords, au_weight=1.5)


def test_validate_cost_rejects_a_zero_between_distinct_classes():
    cost = np.array([[0, 0.0, 1], [0.5, 0, 1], [1, 1, 0]])
    with pytest.raises(ValueError, match=r"cost\[0, 1\] = 0 \(predicted 'Neutral', true 'Other'\).*allow_zero"):
        costs.validate_cost(cost, ["Neutral", "Other", "Happy"])
    with pytest.raises(ValueError, match=r"cost\[0, 1\] = 0: two distinct classes"):
        costs.validate_cost(cost)
    assert costs.validate_cost(cost, allow_zero_off_diagonal=True)[0, 1] == 0
    # contempt placed on disgust by hand: the OT cost refuses the free confusion
    with pytest.raises(ValueError, match="'Disgust'.*'Contempt'|'Contempt'.*'Disgust'"):
        costs.ot_cost("affectnet8", fill={"Contempt": (-0.60, 0.35)})


@pytest.mark.parametrize("kind", costs.COST_KINDS)
def test_other_is_charged_the_mean_off_diagonal_cost_of_the_placed_classes(kind):
    names = cx.class_set("affwild2")
    options = {"pair": ("Anger", "Fear")} if kind == "pair" else {}  # the pair cost needs its pair
    full = costs.ot_cost(names, kind, **options)
    assert list(full.index) == list(names) and full.index.name == "predicted" and full.columns.name == "true"
    placed = [c for c in names if c != "Other"]
    block = full.loc[placed, placed].to_numpy()
    off = ~np.eye(len(placed), dtype=bool)
    mean = block[off].mean()  # computed here from the placed block, independent of the module's helper
    assert mean > 0
    np.testing.assert_allclose(full.loc["Other", placed], mean)
    np.testing.assert_allclose(full.loc[placed, "Other"], mean)
    assert full.loc["Other", "Other"] == 0
    assert full.loc["Neutral", "Other"] > 0  # never free, unlike Other placed at the origin
    # the placed block is the cost of the placed classes alone
    if kind != "permuted":
        np.testing.assert_allclose(block, costs.ot_cost(placed, kind, **options).to_numpy())
    with pytest.raises(ValueError, match="Other has no place"):
        costs.ot_cost(names, kind, fill={"Other": (0.0, 0.0)}, **options)


def test_uniform_column_cost_by_hand():
    cost = np.array([[0.0, 1.0, 4.0], [2.0, 0.0, 6.0], [3.0, 5.0, 0.0]])  # rows predicted, columns true
    got = costs.uniform_column_cost(cost)
    # column y: mean of the off-diagonal entries of that column: (2+3)/2, (1+5)/2, (4+6)/2
    want = np.array([[0.0, 3.0, 5.0], [2.5, 0.0, 5.0], [2.5, 3.0, 0.0]])
    np.testing.assert_allclose(got, want)
    frame = costs.ot_cost("affectnet7", "uniform_column")
    va = costs.ot_cost("affectnet7", "va").to_numpy()
    off = ~np.eye(7, dtype=bool)
    assert math.isclose(frame.to_numpy()[off].mean(), va[off].mean())
    for y in range(7):
        column = frame.to_numpy()[:, y][off[:, y]]
        assert np.allclose(column, va[:, y][off[:, y]].mean())


def test_permuted_cost_moves_every_class_and_is_fixed_per_seed():
    va = costs.ot_cost("affectnet7", "va").to_numpy()
    seen = set()
    for seed in range(6):
        matrix, perm = costs.permuted_cost(va, seed)
        again, perm_again = costs.permuted_cost(va, seed)
        assert np.array_equal(perm, perm_again) and np.array_equal(matrix, again)
        assert sorted(perm) == list(range(7)) and np.all(perm != np.arange(7))  # a derangement
        for j in range(7):
            for y in range(7):
                assert matrix[j, y] == va[perm[j], perm[y]]
        assert not np.allclose(matrix, va)
        assert sorted(matrix.ravel()) == pytest.approx(sorted(va.ravel()))  # the same prices, reassigned
        seen.add(tuple(perm))
    assert len(seen) > 1  # different seeds, different permutations
    frame = costs.ot_cost("affwild2", "permuted", seed=3)
    assert set(frame.attrs["priced_as"]) == set(cx.class_set("affwild2")) - {"Other"}
    assert all(k != v for k, v in frame.attrs["priced_as"].items())
    with pytest.raises(ValueError, match="unchanged by every permutation"):
        costs.permuted_cost(costs.uniform_cost(4), 0)


def test_cost_matrix_is_ot_cost_with_predicted_rows():
    frame = costs.cost_matrix("affectnet7", "va")
    assert frame.index.name == "predicted" and frame.columns.name == "true"
    pd.testing.assert_frame_equal(frame, costs.ot_cost("affectnet7", "va"))
    assert costs.mean_off_diagonal(costs.cost_matrix("affectnet7", "va", normalize="mean")) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="match="):
        costs.ot_cost("affectnet7", "uniform", match="uniform")


def test_ot_cost_bad_class_lists():
    with pytest.raises(ValueError, match="same emotion twice"):
        costs.ot_cost(["Other", "other", "Happy"])
    with pytest.raises(ValueError, match="at least 2 classes besides Other"):
        costs.ot_cost(["Other", "Happy"])
    with pytest.raises(ValueError, match=r"\['Contempt'\].*fill="):
        costs.ot_cost("affectnet8")
