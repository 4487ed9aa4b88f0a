"""The degeneracy index computed before training (chapter 09) against scipy, sklearn, statsmodels and hand cases."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import spearmanr

from affect_book.data.simulator import generate_split, make_config, probe_config, probe_split
from affect_book.degeneracy import (
    VA_FAR,
    degeneracy_components,
    degeneracy_index,
    held_out_prediction,
    probe_features,
    rank_agreement,
)
from affect_book.params import ParameterError

N_PROBE = 160  # 20 per class: cheap, and enough for 5 stratified folds


@pytest.fixture(scope="module")
def affwild2():
    return make_config("affwild2", "smoke", image_size=48)


def components(config, n_probe=N_PROBE, seed=0, probe_size=16):
    """The components as the book computes them: the probe split rendered with the fold shuffle's seed."""
    return degeneracy_components(config, probe_split(config, n_probe, seed), probe_size=probe_size, seed=seed)


@pytest.fixture(scope="module")
def affwild2_probe(affwild2):
    return probe_split(affwild2, N_PROBE, seed=3)


@pytest.fixture(scope="module")
def affwild2_components(affwild2, affwild2_probe):
    return degeneracy_components(affwild2, affwild2_probe, seed=3)


def test_components_deterministic_and_shaped(affwild2, affwild2_components):
    again = components(affwild2, seed=3)
    pd.testing.assert_frame_equal(affwild2_components, again, check_exact=True)
    assert list(affwild2_components.index) == list(affwild2.classes)
    assert list(affwild2_components.columns) == ["va_nn_distance", "au_overlap", "probe_f1", "train_share"]
    assert affwild2_components.attrs["probe_unconverged"] == 0
    np.testing.assert_array_equal(affwild2_components["train_share"], affwild2.train_proportions)
    assert affwild2_components.attrs["n_probe"] == N_PROBE
    other = components(affwild2, seed=4)
    assert not other["probe_f1"].equals(affwild2_components["probe_f1"])  # the seed changes the probe set


def test_va_nn_distance_against_cdist_and_by_hand(affwild2, affwild2_components):
    va = affwild2.centroids()
    placed = [i for i, c in enumerate(affwild2.classes) if c != "Other"]
    d = cdist(va[placed], va[placed])
    np.fill_diagonal(d, np.inf)
    got = affwild2_components["va_nn_distance"]
    np.testing.assert_allclose(got.iloc[placed].to_numpy(), d.min(axis=1), rtol=0, atol=1e-12)
    assert math.isnan(got["Other"])  # no coordinate; and its origin placement is no one's neighbour:
    # Neutral (0, 0) to Sadness (-0.63, -0.27), Russell & Mehrabian (1977), typed by hand
    assert got["Neutral"] == pytest.approx(math.hypot(0.63, 0.27), abs=1e-12)
    assert got["Anger"] == pytest.approx(math.hypot(0.64 - 0.51, 0.60 - 0.59), abs=1e-12)  # Anger-Fear


def test_pair_va_distance_knob_sets_the_pair_distance():
    config = make_config("balanced", "smoke", pair_va_distance=0.05)
    comp = components(config)
    a, b = config.pair
    assert comp.loc[a, "va_nn_distance"] == pytest.approx(0.05, abs=1e-12)
    assert comp.loc[b, "va_nn_distance"] == pytest.approx(0.05, abs=1e-12)


def test_au_overlap_by_hand_and_rises_with_visual_degeneracy():
    base = make_config("balanced", "smoke", image_size=32)
    shared = make_config("balanced", "smoke", image_size=32, visual_degeneracy=1.0)
    a, b = base.pair
    comp0 = components(base)
    comp1 = components(shared)
    for c in (a, b):
        assert comp1.loc[c, "au_overlap"] > comp0.loc[c, "au_overlap"] + 0.1
    assert comp1.loc[a, "au_overlap"] > 0.95
    # by hand: class means of the sampled AU intensities, cosine with scikit-learn
    from sklearn.metrics.pairwise import cosine_similarity
    probe = probe_split(base, N_PROBE)
    au, labels = probe["au_intensity"].astype(np.float64).mean(axis=2), probe["true_expression"]  # mean of the sides
    means = np.stack([au[labels == k].mean(0) for k in range(len(base.classes))])
    cos = cosine_similarity(means)
    np.fill_diagonal(cos, -1)
    np.testing.assert_allclose(comp0["au_overlap"], cos.max(axis=1), atol=1e-12)
    assert comp0["au_overlap"].between(0, 1).all()


def test_probe_split_is_the_balanced_noise_free_training_split(affwild2, affwild2_probe):
    k = len(affwild2.classes)
    # the faces each labelled by the class it shows: no annotation noise in the probe (issue 19's presets carry it)
    config = dataclasses.replace(affwild2, n_train=N_PROBE, train_proportions=(1 / k,) * k, seed=3,
                                 annotation_noise=0.0)
    assert probe_config(affwild2, N_PROBE, seed=3) == config
    split = generate_split(config, "train")
    for name in ("images", "true_expression", "au_intensity"):
        np.testing.assert_array_equal(affwild2_probe[name], split[name])
    assert np.bincount(affwild2_probe["true_expression"]).tolist() == [N_PROBE // k] * k  # class-balanced
    with pytest.raises(ParameterError, match="n_probe"):
        probe_split(affwild2, k - 1)
    with pytest.raises(ParameterError, match="SimulatorConfig"):
        probe_config({"classes": affwild2.classes})


def test_probe_features_are_the_block_means_in_luma(affwild2_probe):
    features = probe_features(affwild2_probe["images"], probe_size=16)
    gray = affwild2_probe["images"].astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255
    blocks = gray.reshape(N_PROBE, 16, 3, 16, 3).mean(axis=(2, 4)).reshape(N_PROBE, -1)  # 48 px = 16 blocks of 3
    np.testing.assert_allclose(features, blocks, atol=1e-12)


def test_probe_features_non_integer_ratio_by_hand():
    # 5 pixels to 2: each output pixel covers 2.5 input pixels, the middle one shared half and half; a grey image
    # whose value depends on the column only, so each output row is the weighted mean of the five columns
    weights = np.array([[0.4, 0.4, 0.2, 0, 0], [0, 0, 0.2, 0.4, 0.4]])
    columns = np.array([0, 255, 51, 102, 204], dtype=np.uint8)
    image = np.broadcast_to(columns[None, :, None], (5, 5, 3))[None]
    expected = np.tile(weights @ (columns / 255.0), 2)  # the two output rows equal: rows are constant
    np.testing.assert_allclose(probe_features(image, probe_size=2)[0], expected, atol=1e-12)


@pytest.mark.slow
def test_probe_f1_equals_sklearn_cross_val_predict(affwild2, affwild2_probe, affwild2_components):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = probe_features(affwild2_probe["images"], 16), affwild2_probe["true_expression"]
    model = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=5000, random_state=0))])
    pred = cross_val_predict(model, features, labels, cv=StratifiedKFold(5, shuffle=True, random_state=3))
    expected = f1_score(labels, pred, average=None, labels=range(len(affwild2.classes)))
    np.testing.assert_array_equal(affwild2_components["probe_f1"].to_numpy(), expected)


def test_components_bad_input():
    config = make_config("balanced", "smoke")
    k = len(config.classes)
    probe = probe_split(config, 5 * k)
    with pytest.raises(ParameterError, match="n_probe"):  # 4 of a class: too few for 5 folds
        degeneracy_components(config, probe_split(config, 5 * k - 1))
    with pytest.raises(ParameterError, match="probe_size"):
        degeneracy_components(config, probe, probe_size=config.image_size + 1)
    with pytest.raises(ParameterError, match="SimulatorConfig"):
        degeneracy_components({"classes": config.classes}, probe)
    with pytest.raises(ParameterError, match="true_expression"):
        degeneracy_components(config, {"images": probe["images"]})
    with pytest.raises(ParameterError, match="class indices"):
        degeneracy_components(config, dict(probe, true_expression=probe["true_expression"] + 1))
    with pytest.raises(ParameterError, match="shape"):
        degeneracy_components(config, dict(probe, images=probe["images"][..., 0]))
    with pytest.raises(ParameterError, match="seed"):
        degeneracy_components(config, probe, seed=-1)


def test_index_hand_case_with_other_and_clipping():
    comp = pd.DataFrame({"va_nn_distance": [0.2, 1.5, VA_FAR, np.nan], "au_overlap": [0.5, 0.3, 0.6, 0.9],
                         "probe_f1": [0.6, 0.9, 0.4, 0.3]}, index=["A", "B", "C", "Other"])
    index = degeneracy_index(comp)
    assert index.name == "degeneracy_index"
    expected = [(0.4 + 0.5 + 0.8) / 3,  # nearness 1 - 0.2
                (0.1 + 0.3 + 0.0) / 3,  # 1.5 units apart: nearness clipped at 0
                (0.6 + 0.6 + 0.0) / 3,  # exactly D apart: nearness 0
                (0.7 + 0.9) / 2]  # Other: no coordinate, mean of the two other scores
    np.testing.assert_allclose(index.to_numpy(), expected, atol=1e-15)


def test_index_bad_input():
    comp = pd.DataFrame({"va_nn_distance": [0.2], "au_overlap": [0.5], "probe_f1": [0.6]})
    with pytest.raises(ParameterError, match="probe_f1"):
        degeneracy_index(comp.drop(columns="probe_f1"))
    with pytest.raises(ParameterError, match="au_overlap"):
        degeneracy_index(comp.assign(au_overlap=1.5))
    with pytest.raises(ParameterError, match="va_nn_distance"):
        degeneracy_index(comp.assign(va_nn_distance=-0.1))


def test_far_distance_is_above_the_mean_pair_distance_as_documented():
    for preset in ("affwild2", "affectnet"):
        config = make_config(preset, "smoke")
        va = config.centroids()[[c != "Other" for c in config.classes]]
        d = cdist(va, va)
        assert d[np.triu_indices(len(d), 1)].mean() < VA_FAR


def _synthetic(n_groups=6, per=8, seed=0):
    rng = np.random.default_rng(seed)
    n = n_groups * per
    frame = pd.DataFrame({"cell": np.repeat([f"c{g}" for g in range(n_groups)], per),
                          "probe_f1": rng.uniform(0, 1, n), "au_overlap": rng.uniform(0, 1, n),
                          "va_nn_distance": rng.uniform(0, 1.5, n), "train_share": rng.uniform(0.01, 0.4, n)})
    truth = (0.9 - 0.4 * (1 - frame.probe_f1) - 0.2 * frame.au_overlap
             - 0.1 * np.clip(1 - frame.va_nn_distance, 0, None) + 0.05 * np.log(frame.train_share))
    return frame, truth


def test_held_out_prediction_recovers_a_planted_relation():
    frame, truth = _synthetic()
    noisy = frame.assign(f1=truth + np.random.default_rng(1).normal(0, 1e-3, len(truth)))
    out = held_out_prediction(noisy)
    np.testing.assert_allclose(out["predicted"], truth, atol=5e-3)
    coef = out.attrs["coefficients"]
    np.testing.assert_allclose(coef[["probe_error", "au_overlap", "va_nearness", "log_train_share"]].mean(),
                               [-0.4, -0.2, -0.1, 0.05], atol=5e-3)
    # statsmodels on the other groups, by hand, for one held-out cell
    import statsmodels.api as sm
    x = pd.DataFrame({"pe": 1 - noisy.probe_f1, "au": noisy.au_overlap,
                      "near": np.clip(1 - noisy.va_nn_distance, 0, None), "ls": np.log(noisy.train_share)})
    rest, held = noisy.cell != "c2", noisy.cell == "c2"
    fit = sm.OLS(noisy.f1[rest], sm.add_constant(x[rest])).fit()
    np.testing.assert_allclose(out.loc[held, "predicted"], fit.predict(sm.add_constant(x[held])), atol=1e-10)


def test_held_out_group_never_reaches_its_own_fit():
    frame, truth = _synthetic(seed=2)
    a = held_out_prediction(frame.assign(f1=truth))
    changed = truth.where(frame.cell != "c3", np.random.default_rng(5).uniform(0, 1, len(truth)))
    b = held_out_prediction(frame.assign(f1=changed))
    held = frame.cell == "c3"
    np.testing.assert_array_equal(a.loc[held, "predicted"], b.loc[held, "predicted"])
    assert not np.allclose(a.loc[~held, "predicted"], b.loc[~held, "predicted"])  # the change did reach the others


def test_held_out_prediction_rows_without_a_feature_and_bad_input():
    frame, truth = _synthetic()
    frame = frame.assign(f1=truth)
    frame.loc[3, "va_nn_distance"] = np.nan  # an Other row
    out = held_out_prediction(frame)
    assert math.isnan(out.loc[3, "predicted"]) and out.attrs["n_unpredicted"] == 1
    assert np.isfinite(out["predicted"].drop(index=3)).all()
    with pytest.raises(ParameterError, match="train_share"):
        held_out_prediction(frame.drop(columns="train_share"))
    with pytest.raises(ParameterError, match="cell"):
        held_out_prediction(frame.drop(columns="cell"))
    with pytest.raises(ParameterError, match="at least 2"):
        held_out_prediction(frame.assign(cell="one"))


def test_rank_agreement_against_scipy_and_deterministic():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 7)
    observed = rng.uniform(0, 1, len(groups))
    predicted = observed + rng.normal(0, 0.3, len(groups))
    res = rank_agreement(predicted, observed, groups, n_boot=500, seed=1)
    assert res["rho"] == pytest.approx(spearmanr(predicted, observed).statistic, abs=1e-15)
    assert res["low"] <= res["rho"] <= res["high"] and res["low"] < res["high"]
    assert (res["n"], res["n_groups"], res["n_boot"], res["n_dropped"]) == (70, 10, 500, 0)
    again = rank_agreement(predicted, observed, groups, n_boot=500, seed=1)
    np.testing.assert_array_equal(res["replicates"], again["replicates"])
    assert (res["low"], res["high"]) == (again["low"], again["high"])
    assert not np.array_equal(res["replicates"], rank_agreement(predicted, observed, groups, 500, seed=2)["replicates"])
    predicted[4] = np.nan
    assert rank_agreement(predicted, observed, groups, n_boot=50)["n_dropped"] == 1


def test_rank_agreement_resamples_whole_groups():
    # two groups: a replicate is group A twice, B twice, or both, so its rho is one of three values
    rng = np.random.default_rng(3)
    groups = np.repeat(["A", "B"], 6)
    observed = rng.uniform(0, 1, 12)
    predicted = rng.uniform(0, 1, 12)
    res = rank_agreement(predicted, observed, groups, n_boot=300, seed=0)
    a, b = groups == "A", groups == "B"
    values = [spearmanr(predicted[a], observed[a]).statistic, spearmanr(predicted[b], observed[b]).statistic,
              spearmanr(predicted, observed).statistic]
    hits = np.isclose(res["replicates"][:, None], np.array(values)[None, :], atol=1e-12)
    assert hits.any(axis=1).all()
    assert all(hits[:, k].any() for k in range(3))  # every combination occurs in 300 draws


def test_rank_agreement_bad_input():
    with pytest.raises(ParameterError, match="shapes"):
        rank_agreement([1, 2, 3], [1, 2], [0, 0, 1])
    with pytest.raises(ParameterError, match="2 groups"):
        rank_agreement([1, 2, 3], [1, 2, 3], [0, 0, 0])
