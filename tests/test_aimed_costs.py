"""The costs aimed at near classes (affect_book.costs.pair_weighted_cost, inverse_distance_cost and ot_cost's kinds
"pair" and "inverse") against hand-computed matrices, and the numbers their defaults and chapter 07's dominance
condition rest on (the designated pairs' distances in valence-arousal and valence-arousal-dominance)."""

import math

import numpy as np
import pytest

from affect_book import circumplex as cx
from affect_book import costs

OFF4 = ~np.eye(4, dtype=bool)


def test_pair_weighted_cost_by_hand():
    classes = ("Anger", "Fear", "Happy", "Sad")
    cost = costs.pair_weighted_cost(classes, ("Anger", "Fear"), weight=5)
    # B = 1 - I with B[0, 1] = B[1, 0] = 5: mean off-diagonal (10 * 1 + 2 * 5) / 12 = 5 / 3, so C = 3 B / 5
    by_hand = np.array([[0.0, 3.0, 0.6, 0.6],
                        [3.0, 0.0, 0.6, 0.6],
                        [0.6, 0.6, 0.0, 0.6],
                        [0.6, 0.6, 0.6, 0.0]])
    assert np.allclose(cost, by_hand)
    assert np.allclose(cost, cost.T) and np.all(np.diag(cost) == 0)
    assert costs.mean_off_diagonal(cost) == pytest.approx(1.0)
    # the formula of the docstring: s n (n - 1) / (n (n - 1) - 2 + 2 w) off the pair
    assert cost[2, 3] == pytest.approx(12 / (12 - 2 + 2 * 5))


def test_pair_weighted_cost_keeps_the_matched_mean_and_reduces_to_uniform_at_weight_1():
    classes = ("Anger", "Fear", "Happy", "Sad")
    match = costs.va_distance_cost(cx.coordinates(classes))
    cost = costs.pair_weighted_cost(classes, ("Fear", "Anger"), weight=3.0, match=match)
    assert costs.mean_off_diagonal(cost) == pytest.approx(costs.mean_off_diagonal(match))
    assert cost[0, 1] == pytest.approx(3.0 * cost[2, 3])  # the pair, 3 times any other confusion
    assert np.allclose(costs.pair_weighted_cost(classes, ("Anger", "Fear"), 1.0, match=match),
                       costs.uniform_cost(4, match=match))


def test_pair_weighted_cost_finds_the_pair_whatever_the_class_order():
    cost = costs.pair_weighted_cost(("Sad", "Fear", "Happy", "Anger"), ("Angry", "Fear"), weight=5)  # by concept
    dear = np.argwhere(cost == cost.max())
    assert {tuple(x) for x in dear} == {(3, 1), (1, 3)}


@pytest.mark.parametrize("pair, weight, message", [
    (("Anger", "Contempt"), 5, r"'Contempt', which is not one of the classes \['Anger', 'Fear', 'Happy', 'Sad'\]"),
    (("Anger", "Angry"), 5, "names one class twice"),
    (("Anger",), 5, "expected two class names"),
    ("Anger", 5, "expected two class names"),
    (("Anger", "Fear", "Sad"), 5, "expected two class names"),
    (("Anger", "Fear"), 0, "weight=0"),
    (("Anger", "Fear"), -1.0, "weight=-1.0"),
    (("Anger", "Fear"), math.nan, "weight=nan"),
    (("Anger", "Fear"), True, "weight=True"),
])
def test_pair_weighted_cost_errors(pair, weight, message):
    with pytest.raises(ValueError, match=message):
        costs.pair_weighted_cost(("Anger", "Fear", "Happy", "Sad"), pair, weight)


def test_pair_weighted_cost_refuses_a_match_of_another_size():
    with pytest.raises(ValueError, match=r"match has shape \(3, 3\); expected \(4, 4\)"):
        costs.pair_weighted_cost(("Anger", "Fear", "Happy", "Sad"), ("Anger", "Fear"), match=1 - np.eye(3))


def test_inverse_distance_cost_by_hand():
    d = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    cost = costs.inverse_distance_cost(d, eps=1.0)
    # R = 1 / (d + 1): 1/2, 1/3, 1/4, mean 13/36; mean of d 2; C = 2 R / (13/36) = 72 R / 13
    by_hand = np.array([[0, 36 / 13, 24 / 13], [36 / 13, 0, 18 / 13], [24 / 13, 18 / 13, 0]])
    assert np.allclose(cost, by_hand)
    assert costs.mean_off_diagonal(cost) == pytest.approx(costs.mean_off_diagonal(d))
    assert np.allclose(cost, cost.T) and np.all(np.diag(cost) == 0)


@pytest.mark.parametrize("d, eps, message", [
    (np.array([[0.0, 1.0], [1.0, 0.0]]), 0.0, "eps=0.0"),
    (np.array([[0.0, 1.0], [1.0, 0.0]]), math.inf, "eps=inf"),
    (np.array([[0.0, -1.0], [1.0, 0.0]]), 0.1, "non-negative"),
    (np.array([[1.0, 1.0], [1.0, 0.0]]), 0.1, "zero diagonal"),
    (np.zeros((3, 3)), 0.1, "nothing to invert"),
    (np.zeros((2, 3)), 0.1, "square"),
])
def test_inverse_distance_cost_errors(d, eps, message):
    with pytest.raises(ValueError, match=message):
        costs.inverse_distance_cost(d, eps)


@pytest.mark.parametrize("classes, pair, fill", [
    ("affwild2", ("Anger", "Fear"), None),
    ("affectnet8", ("Anger", "Contempt"), cx.hand_placements()),
])
def test_ot_cost_pair_and_inverse_keep_the_va_mean_and_charge_other_the_mean(classes, pair, fill):
    names = cx.class_set(classes)
    va = costs.ot_cost(classes, "va", fill=fill).to_numpy()
    aimed = costs.ot_cost(classes, "pair", fill=fill, pair=pair).to_numpy()
    inverse = costs.ot_cost(classes, "inverse", fill=fill).to_numpy()
    off = ~np.eye(len(names), dtype=bool)
    a, b = names.index(pair[0]), names.index(pair[1])
    for cost in (aimed, inverse):
        assert costs.mean_off_diagonal(cost) == pytest.approx(costs.mean_off_diagonal(va))  # the matched scale
        assert np.allclose(cost, cost.T) and np.all(np.diag(cost) == 0)
    assert aimed[a, b] == aimed[b, a] == aimed.max()
    others = aimed[off & ~np.isin(np.arange(len(names)), [a, b])[:, None]]
    assert aimed[a, b] == pytest.approx(costs.DEFAULT_PAIR_WEIGHT * others.min())
    assert aimed[a, b] == pytest.approx(costs.ot_cost(classes, "pair", fill=fill, pair=pair[::-1]).to_numpy()[a, b])
    near = np.unravel_index(np.argmin(np.where(off, va, np.inf)), va.shape)
    assert inverse[near] == inverse.max()  # the nearest pair in valence-arousal is the dearest
    if "Other" in names:
        k = names.index("Other")
        assert np.allclose(np.delete(aimed[k], k), costs.mean_off_diagonal(np.delete(np.delete(aimed, k, 0), k, 1)))


def test_ot_cost_pair_errors():
    with pytest.raises(ValueError, match="kind 'pair' needs pair="):
        costs.ot_cost("affwild2", "pair")
    with pytest.raises(ValueError, match="names Other"):
        costs.ot_cost("affwild2", "pair", pair=("Anger", "Other"))
    with pytest.raises(ValueError, match="'Contempt', which is not one of the classes"):
        costs.ot_cost("affwild2", "pair", pair=("Anger", "Contempt"))
    frame = costs.cost_matrix("affwild2", "pair", pair=("Anger", "Fear"), pair_weight=2.0)  # cost_matrix passes it
    assert frame.loc["Anger", "Fear"] == pytest.approx(2.0 * frame.loc["Anger", "Disgust"])


def test_the_designated_pairs_distances_behind_the_defaults():
    """The numbers the docstrings of DEFAULT_PAIR_WEIGHT and DEFAULT_INVERSE_EPS and chapter 07's vad condition
    rest on, on Russell & Mehrabian (1977) with contempt at the book's default placement."""
    for classes, pair in (("affwild2", ("Anger", "Fear")), ("affectnet8", ("Anger", "Contempt"))):
        coords = cx.coordinates(classes, placement=cx.DEFAULT_PLACEMENT).placed_only()
        va = costs.va_distance_cost(coords)
        i, j = (coords.classes.index(c) for c in pair)
        assert va[i, j] == pytest.approx(0.13, abs=0.005)  # "about 0.13 apart in valence-arousal"
        mirror = costs.mean_off_diagonal(va) / va[i, j]  # how far below its mean the va cost prices the pair
        assert 6 < mirror < 7 and mirror > costs.DEFAULT_PAIR_WEIGHT
    anger_fear = cx.coordinates(("Anger", "Fear"))
    assert costs.va_distance_cost(anger_fear)[0, 1] == pytest.approx(math.hypot(0.13, 0.01))
    assert costs.vad_distance_cost(anger_fear)[0, 1] == pytest.approx(math.sqrt(0.13 ** 2 + 0.01 ** 2 + 0.68 ** 2))


def test_hand_placement_with_dominance_applies_the_same_rule():
    va, vad = cx.hand_placements(), cx.hand_placements(dims=3)
    assert vad["contempt"][:2] == pytest.approx(va["contempt"])
    assert vad["contempt"][2] == pytest.approx((0.25 + 0.11) / 2)  # anger's and disgust's published dominance
    with pytest.raises(ValueError, match="dims=4"):
        cx.hand_placements(dims=4)
