"""Circumplex coordinates, costs and degeneracy measures against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest

from affect_book import circumplex as cx
from affect_book import costs, degeneracy

# Russell, J. A. & Mehrabian, A. (1977). Evidence for a three-factor theory of emotions. Journal of Research in
# Personality 11, 273-294: pleasure-arousal-dominance means, typed here from the paper's table, independent of the
# module.
V_A_D = {"happy": (0.81, 0.51, 0.46), "surprise": (0.40, 0.67, -0.13), "anger": (-0.51, 0.59, 0.25),
         "fear": (-0.64, 0.60, -0.43), "disgust": (-0.60, 0.35, 0.11), "sad": (-0.63, -0.27, -0.33)}


def test_anger_fear_distance_by_hand():
    coords = cx.coordinates(["Anger", "Fear", "Happy"], "russell1977")
    cost = costs.va_distance_cost(coords)
    # sqrt(0.13^2 + 0.01^2) = sqrt(0.0170) and sqrt(1.32^2 + 0.08^2) = sqrt(1.7488)
    assert cost[0, 1] == pytest.approx(math.sqrt(0.0170), abs=1e-12)
    assert cost[0, 1] == pytest.approx(0.130, abs=5e-4)
    assert cost[0, 2] == pytest.approx(math.sqrt(1.7488), abs=1e-12)
    assert np.allclose(cost, cost.T) and np.all(np.diag(cost) == 0)


def test_all_1977_distances_match_hand_table():
    names = list(V_A_D)
    coords = cx.coordinates([n.capitalize() for n in names], "russell1977")
    cost = costs.va_distance_cost(coords)
    vad = costs.vad_distance_cost(coords)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            (va, aa, da), (vb, ab, db) = V_A_D[a], V_A_D[b]
            assert cost[i, j] == pytest.approx(math.hypot(va - vb, aa - ab), abs=1e-12)
            assert vad[i, j] == pytest.approx(math.sqrt((va - vb) ** 2 + (aa - ab) ** 2 + (da - db) ** 2), abs=1e-12)


def test_anger_fear_is_the_nearest_1977_pair_and_next_ones():
    cost = costs.cost_matrix(["Neutral", "Happy", "Surprise", "Anger", "Fear", "Disgust", "Sad"], "va", "russell1977")
    pairs = degeneracy.degenerate_pairs(cost)
    assert {pairs.a[0], pairs.b[0]} == {"Anger", "Fear"}
    assert pairs.distance[0] == pytest.approx(0.1304, abs=1e-4)
    assert {pairs.a[1], pairs.b[1]} == {"Fear", "Disgust"} and pairs.distance[1] == pytest.approx(0.253, abs=1e-3)
    assert {pairs.a[2], pairs.b[2]} == {"Anger", "Disgust"} and pairs.distance[2] == pytest.approx(0.256, abs=1e-3)
    # relative: over the median of the 21 pairwise distances
    upper = cost.to_numpy()[np.triu_indices(7, 1)]
    assert pairs.relative[0] == pytest.approx(pairs.distance[0] / np.median(upper))


def test_nearest_neighbours_by_hand():
    # three points on a line: 0, 1, 3 -> nearest of 0 is 1 (d=1), of 1 is 0 (d=1), of 3 is 1 (d=2); median of {1,3,2}=2
    cost = np.array([[0, 1, 3], [1, 0, 2], [3, 2, 0]], float)
    nn = degeneracy.nearest_neighbours(cost, ["a", "b", "c"])
    assert list(nn.nearest) == ["b", "a", "b"]
    assert list(nn.distance) == [1, 1, 2]
    assert list(nn.relative) == [0.5, 0.5, 1.0]


def test_mapping_by_name_not_position():
    a = cx.coordinates("affectnet8", "russell1977")
    w = cx.coordinates("affwild2", "russell1977")
    pos_a = dict(zip(map(cx.concept_of, a.classes), map(tuple, a.values)))
    pos_w = dict(zip(map(cx.concept_of, w.classes), map(tuple, w.values)))
    for concept in ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"):
        assert pos_a[concept] == pos_w[concept] == tuple(V_A_D.get(concept, (0.0, 0.0, 0.0)))
    shuffled = cx.coordinates(["Fear", "Happiness", "Anger"], "russell1977")
    assert tuple(shuffled.values[1]) == V_A_D["happy"]
    assert cx.class_set("affwild2")[1] == "Anger" and cx.class_set("affectnet8")[6] == "Anger"


def test_missing_classes_are_explicit():
    a = cx.coordinates("affectnet8", "russell1977")
    assert a.missing == ("Contempt",) and np.isnan(a.values[7]).all()
    assert cx.coordinates("affwild2", "russell1977").missing == ("Other",)
    assert cx.coordinates("affectnet8", "russell1980").missing == ("Disgust", "Contempt")
    with pytest.raises(ValueError, match=r"\['Contempt'\].*fill=.*class_mean_coordinates"):
        costs.va_distance_cost(a)
    filled = cx.coordinates("affectnet8", "russell1977", fill={"contempt": (-0.6, 0.35)})
    assert filled.missing == () and filled.filled == ("Contempt",)
    assert costs.va_distance_cost(filled)[5, 7] == pytest.approx(0.0)  # placed on disgust
    assert filled.to_frame().loc["Contempt", "from"] == "placed by hand (fill)"
    with pytest.raises(ValueError, match="dominance"):
        costs.vad_distance_cost(filled)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="unknown coordinate set 'russel1980'.*russell1980"):
        cx.coordinates("affwild2", "russel1980")
    with pytest.raises(ValueError, match="unknown class set"):
        cx.class_set("affectnet9")
    with pytest.raises(ValueError, match="unknown class name 'Joyful'"):
        cx.coordinates(["Joyful"])
    with pytest.raises(ValueError, match="same emotion twice"):
        cx.coordinates(["Happy", "Happiness"])
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        cx.coordinates("affectnet8", fill={"Contempt": (2.0, 0.0)})
    with pytest.raises(ValueError, match="not among the classes"):
        cx.coordinates("affwild2", fill={"Contempt": (0.0, 0.0)})
    with pytest.raises(ValueError, match="unknown cost kind"):
        costs.cost_matrix("affectnet7", "euclid")


def test_class_mean_coordinates_by_hand():
    va = np.array([[0.2, 0.4], [0.4, 0.6], [-0.5, -0.5], [np.nan, 0.1], [-2.0, -2.0], [0.9, 0.9]])
    labels = np.array([0, 0, 1, 1, 1, -1])
    coords = cx.class_mean_coordinates(va, labels, ["Happy", "Sad", "Fear"])
    assert coords.va[0] == pytest.approx([0.3, 0.5])
    assert coords.va[1] == pytest.approx([-0.5, -0.5])  # NaN row and the -2 marker are ignored
    assert coords.counts == {"Happy": 2, "Sad": 1, "Fear": 0}
    assert coords.missing == ("Fear",)
    with pytest.raises(ValueError, match="labels range"):
        cx.class_mean_coordinates(va, np.array([0, 0, 1, 1, 3, -1]), ["Happy", "Sad", "Fear"])


def test_separability_index_by_hand():
    # class a: points (0,0),(2,0): centroid (1,0), mean sq dist 1. class b: (5,1),(5,-1): centroid (5,0), msd 1.
    # class c: (1,0) x2: centroid (1,0), msd 0.
    va = np.array([[0, 0], [2, 0], [5, 1], [5, -1], [1, 0], [1, 0]], float) / 10
    labels = np.array([0, 0, 1, 1, 2, 2])
    out = degeneracy.separability_index(va, labels, ["Happy", "Sad", "Fear"]).set_index(["a", "b"])
    assert out.loc[("Happy", "Sad"), "centroid_distance"] == pytest.approx(0.4)
    assert out.loc[("Happy", "Sad"), "index"] == pytest.approx(0.4 / math.sqrt(0.01))
    assert out.loc[("Sad", "Fear"), "index"] == pytest.approx(0.4 / math.sqrt((2 * 0.01 + 2 * 0) / 4))
    assert out.loc[("Happy", "Fear"), "index"] == pytest.approx(0.0)  # same centroid
    assert isinstance(out, pd.DataFrame)


def test_separability_sorted_and_degenerate_first():
    rng = np.random.default_rng(0)
    centres = np.array([[0.8, 0.5], [-0.5, 0.6], [-0.55, 0.6]])
    labels = np.repeat([0, 1, 2], 200)
    va = centres[labels] + rng.normal(0, 0.05, (600, 2))
    out = degeneracy.separability_index(va, labels, ["Happy", "Anger", "Fear"])
    assert (out.a[0], out.b[0]) == ("Anger", "Fear")
    assert out["index"].is_monotonic_increasing


# --- hand placements, the rule for Other, and ties -----------------------------------------------------------------

ANGER_DISGUST_MIDPOINT = ((-0.51 - 0.60) / 2, (0.59 + 0.35) / 2)  # from the 1977 table, by hand: (-0.555, 0.47)


def test_hand_placements_by_hand():
    assert cx.DEFAULT_PLACEMENT == "contempt_at_midpoint"
    assert cx.hand_placements()["contempt"] == pytest.approx(ANGER_DISGUST_MIDPOINT, abs=1e-12)
    assert cx.hand_placements("contempt_at_disgust") == {"contempt": (-0.60, 0.35)}
    assert cx.hand_placements("contempt_at_anger") == {"contempt": (-0.51, 0.59)}
    assert all(len(p.why) > 80 for p in cx.HAND_PLACEMENTS.values())  # each set documents why it exists
    assert not any("other" in p.at for p in cx.HAND_PLACEMENTS.values())  # the book's rule: Other is never placed
    with pytest.raises(ValueError, match="unknown hand placement 'midpoint'.*contempt_at_midpoint"):
        cx.hand_placements("midpoint")
    with pytest.raises(ValueError, match="no coordinate for \\['disgust'\\]"):
        cx.hand_placements("contempt_at_midpoint", "russell1980")


def test_coordinates_with_a_named_placement_say_so():
    a = cx.coordinates("affectnet8", placement=cx.DEFAULT_PLACEMENT)
    assert a.missing == () and a.filled == ("Contempt",) and a.placement == "contempt_at_midpoint"
    assert tuple(a.va[7]) == pytest.approx(ANGER_DISGUST_MIDPOINT, abs=1e-12)
    assert a.to_frame().loc["Contempt", "from"] == "placed by hand (contempt_at_midpoint)"
    assert a.to_frame().loc["Anger", "from"] == "angry"
    w = cx.coordinates("affwild2", placement=cx.DEFAULT_PLACEMENT)  # no contempt here; Other stays unplaced
    assert w.missing == ("Other",) and w.filled == () and w.placement is None
    placed = w.placed_only()
    assert placed.classes == cx.class_set("affwild2")[:7] and not np.isnan(placed.va).any()
    with pytest.raises(ValueError, match="both place \\['contempt'\\]"):
        cx.coordinates("affectnet8", fill={"Contempt": (0.0, 0.5)}, placement=cx.DEFAULT_PLACEMENT)


def test_default_placement_ties_anger_and_disgust_with_contempt():
    coords = cx.coordinates("affectnet8", placement=cx.DEFAULT_PLACEMENT)
    d_anger = math.dist(V_A_D["anger"][:2], ANGER_DISGUST_MIDPOINT)
    d_disgust = math.dist(V_A_D["disgust"][:2], ANGER_DISGUST_MIDPOINT)
    assert d_anger == pytest.approx(d_disgust, abs=1e-15) and d_anger < math.dist(V_A_D["anger"][:2],
                                                                                   V_A_D["fear"][:2])
    cost = pd.DataFrame(costs.va_distance_cost(coords), index=coords.classes, columns=coords.classes)
    pairs = degeneracy.degenerate_pairs(cost)
    first = pairs[pairs["rank"] == 1]
    assert {frozenset((r.a, r.b)) for r in first.itertuples()} == {frozenset(("Anger", "Contempt")),
                                                                     frozenset(("Disgust", "Contempt"))}
    assert first.tied.all() and not pairs.tied.iloc[2] and pairs["rank"].iloc[2] == 2
    assert first.distance.to_numpy() == pytest.approx([d_anger, d_anger], abs=1e-12)
    # top=1 keeps the whole tie, not one pair of it chosen by name
    assert len(degeneracy.degenerate_pairs(cost, top=1)) == 2
    nn = degeneracy.nearest_neighbours(cost)
    assert nn.loc["Contempt", "n_nearest"] == 2 and set(nn.loc["Contempt", "nearest"].split(" = ")) == {
        "Anger", "Disgust"}
    assert nn.loc["Anger", "nearest"] == "Contempt" and nn.loc["Anger", "n_nearest"] == 1


def test_ties_do_not_depend_on_names():
    # an equilateral triangle plus a far point: the three short sides tie whatever the names
    cost = np.array([[0, 1, 1, 5], [1, 0, 1, 5], [1, 1, 0, 5], [5, 5, 5, 0]], float)
    for names in (["a", "b", "c", "d"], ["z", "y", "x", "w"]):
        pairs = degeneracy.degenerate_pairs(cost, names)
        assert list(pairs["rank"]) == [1, 1, 1, 2, 2, 2] and list(pairs.tied) == [True] * 6
        assert [(r.a, r.b) for r in pairs.head(3).itertuples()] == [(names[0], names[1]), (names[0], names[2]),
                                                                   (names[1], names[2])]  # class order, not names
    near_tie = cost.copy()
    near_tie[0, 1] = near_tie[1, 0] = 1 - 1e-6
    assert list(degeneracy.degenerate_pairs(near_tie, list("abcd"))["rank"])[:3] == [1, 2, 2]
    assert list(degeneracy.degenerate_pairs(near_tie, list("abcd"), tol=1e-5)["rank"])[:3] == [1, 1, 1]


def test_nearest_pair_states_the_tie():
    coords = cx.coordinates("affectnet8", placement=cx.DEFAULT_PLACEMENT)
    cost = pd.DataFrame(costs.va_distance_cost(coords), index=coords.classes, columns=coords.classes)
    with pytest.raises(ValueError, match="tie.*Anger-Contempt.*Disgust-Contempt.*prefer="):
        degeneracy.nearest_pair(cost)
    chosen = degeneracy.nearest_pair(cost, prefer=("Contempt", "Anger"))
    assert chosen.pair == ("Anger", "Contempt") and chosen.chosen_by == "prefer" and len(chosen.tied) == 2
    assert "tied with Disgust-Contempt" in chosen.statement()
    with pytest.raises(ValueError, match="not among the tied"):
        degeneracy.nearest_pair(cost, prefer=("Anger", "Fear"))
    # Aff-Wild2 without Other: anger-fear, unique, 0.130 apart (by hand above)
    w = cx.coordinates("affwild2").placed_only()
    unique = degeneracy.nearest_pair(costs.va_distance_cost(w), w.classes)
    assert unique.pair == ("Anger", "Fear") and unique.tied == (("Anger", "Fear"),)
    assert unique.distance == pytest.approx(math.sqrt(0.0170)) and unique.chosen_by == "geometry"
    assert set(degeneracy.nearest_pair(cost, involving="Fear").pair) == {"Anger", "Fear"}  # 0.130 < 0.155 to contempt


def test_other_is_left_out_of_degeneracy_measures():
    # Other charged the mean off-diagonal cost of the placed classes (the book's rule for the OT term)
    coords = cx.coordinates("affwild2").placed_only()
    placed = costs.va_distance_cost(coords)
    mean = placed[~np.eye(7, dtype=bool)].mean()
    full = np.full((8, 8), mean)
    full[:7, :7] = placed
    full[7, 7] = 0
    names = cx.class_set("affwild2")
    pairs = degeneracy.degenerate_pairs(full, names)
    assert "Other" not in set(pairs.a) | set(pairs.b) and pairs.attrs["excluded"] == ["Other"]
    assert len(pairs) == 21
    nn = degeneracy.nearest_neighbours(full, names)
    assert "Other" not in nn.index and nn.attrs["excluded"] == ["Other"]
    kept = degeneracy.degenerate_pairs(full, names, exclude_other=False)
    assert len(kept) == 28
    with pytest.raises(ValueError, match="non-finite"):
        degeneracy.degenerate_pairs(np.array([[0, np.nan], [np.nan, 0]]), ["Anger", "Fear"])


def test_degeneracy_measures_read_coordinates_directly():
    coords = cx.coordinates("affwild2")  # Other has no coordinate: excluded, and said so
    pairs = degeneracy.degenerate_pairs(coords)
    assert pairs.attrs["excluded"] == ["Other"] and len(pairs) == 21
    assert (pairs.a[0], pairs.b[0]) == ("Anger", "Fear") and pairs.distance[0] == pytest.approx(math.sqrt(0.0170))
    nn = degeneracy.nearest_neighbours(cx.coordinates("affectnet8", placement=cx.DEFAULT_PLACEMENT))
    assert nn.loc["Contempt", "n_nearest"] == 2
    with pytest.raises(ValueError, match="classes must be None"):
        degeneracy.degenerate_pairs(coords, ["a"])
    with pytest.raises(ValueError, match="top=0; expected a positive integer"):
        degeneracy.degenerate_pairs(coords, top=0)


def test_placement_only_computed_where_needed():
    # Aff-Wild2 has no contempt, so the midpoint set (which needs disgust, absent in 1980) is not needed there
    w = cx.coordinates("affwild2", "russell1980", placement=cx.DEFAULT_PLACEMENT)
    assert w.filled == () and "Disgust" in w.missing
    with pytest.raises(ValueError, match="no coordinate for"):
        cx.coordinates("affectnet8", "russell1980", placement=cx.DEFAULT_PLACEMENT)
    with pytest.raises(ValueError, match="unknown hand placement"):
        cx.coordinates("affwild2", placement="origin")


def test_class_positions_published_by_hand_data_mean_and_other():
    class_positions = degeneracy.class_positions
    classes = ["Neutral", "Anger", "Disgust", "Contempt", "Other"]
    published = cx.coordinates(classes, "russell1977", placement="contempt_at_midpoint")
    pos, origin = class_positions(classes, "russell1977", "contempt_at_midpoint")
    assert set(pos) == {"Neutral", "Anger", "Disgust", "Contempt"}
    assert pos["Contempt"] == tuple(published.va[classes.index("Contempt")])
    assert origin == ["russell1977", "russell1977", "russell1977", "placed by hand (contempt_at_midpoint)",
                      "no coordinate (the book's rule for Other)"]
    va = np.array([[0.5, 0.1], [0.3, 0.3], [0.9, 0.9], [0.0, 0.0]])
    labels = np.array([1, 1, 4, -1])  # two Anger samples, one Other (never placed), one unlabelled
    pos, origin = class_positions(classes, "russell1977", "contempt_at_midpoint", va, labels)
    assert pos["Anger"] == pytest.approx((0.4, 0.2)) and "Other" not in pos
    assert origin[1] == "data mean of 2 samples" and origin[0] == "russell1977"
    with pytest.raises(ValueError, match=r"no position for \['Disgust'\] in russell1980"):
        class_positions(["Anger", "Disgust"], "russell1980", "contempt_at_midpoint")
