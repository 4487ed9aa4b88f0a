"""Chapter 09's dose-response of circumplex nearness, per path (``affect_book.analysis._nearness``), against scipy
and statsmodels references and hand-made cases."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from affect_book.analysis import (PATHS, clustered_dose_response, nearness_effects, nearness_verdict,
                                  path_decomposition)
from affect_book.params import ParameterError

DISTANCES = (0.05, 0.2, 0.4, 0.6)


def _rows(n_seeds=8, slopes=None, noise=0.02, rng=0, frequency_shift=0.3):
    """Runs of the rebuilt factorial's base condition: F1 = 0.1 + shift (balanced) + slope[path] x distance +
    a seed's offset + noise."""
    slopes = slopes or {"annotation": 0.2, "appearance": 0.4, "both": 0.6}
    rng = np.random.default_rng(rng)
    rows = []
    for s in range(n_seeds):
        offset = rng.normal(0, 0.05)
        for p in PATHS:
            for f in ("published", "balanced"):
                for d in DISTANCES:
                    y = 0.1 + frequency_shift * (f == "balanced") + slopes[p] * d + offset + rng.normal(0, noise)
                    rows.append({"seed": s, "path": p, "frequency": f, "distance": d, "pair_f1": y,
                                 "condition": "base"})
    return pd.DataFrame(rows)


def test_effects_are_the_within_frequency_slope_scaled_to_the_range():
    frame = _rows()
    effects = nearness_effects(frame)
    assert len(effects) == 8 * 3 and set(effects["levels"]) == {4} and set(effects["rows"]) == {8}
    for row in effects.itertuples():
        rows = frame[(frame["seed"] == row.seed) & (frame["path"] == row.path)].copy()
        # reference: demean outcome and distance within each frequency level, then a plain regression (scipy)
        for col in ("pair_f1", "distance"):
            rows[col] = rows[col] - rows.groupby("frequency")[col].transform("mean")
        ref = stats.linregress(rows["distance"], rows["pair_f1"]).slope
        assert row.slope == pytest.approx(ref, abs=1e-12)
        assert row.effect == pytest.approx(ref * (0.6 - 0.05), abs=1e-12)
    # noise-free: the slopes are the true ones, frequency's shift does not leak into them
    exact = nearness_effects(_rows(noise=0.0, frequency_shift=0.5))
    for p, slope in {"annotation": 0.2, "appearance": 0.4, "both": 0.6}.items():
        assert np.allclose(exact.loc[exact["path"] == p, "slope"], slope)


def test_clustered_model_matches_the_per_seed_route_and_statsmodels():
    frame = _rows(n_seeds=6, rng=3)
    table = clustered_dose_response(frame).set_index("path")
    per_seed = nearness_effects(frame).groupby("path")["slope"]
    for p in PATHS:
        assert table.loc[p, "slope"] == pytest.approx(per_seed.mean()[p], abs=1e-10)
        assert table.loc[p, "n_clusters"] == 6
        assert table.loc[p, "low"] < table.loc[p, "slope"] < table.loc[p, "high"]
    # the same model written independently, one path at a time with its own intercepts: the same slope
    rows = frame[frame["path"] == "appearance"]
    ref = smf.ols("pair_f1 ~ 0 + C(frequency) + distance", data=rows).fit()
    assert table.loc["appearance", "slope"] == pytest.approx(ref.params["distance"], abs=1e-10)


def test_clustered_model_with_a_level_left_out_stays_full_rank():
    """A path whose published level is at the floor (left out) has no intercept column for it, not a zero one."""
    frame = _rows(n_seeds=6, rng=3)
    kept = frame[~((frame["path"] == "appearance") & (frame["frequency"] == "published"))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels warns of a rank-deficient design
        table = clustered_dose_response(kept).set_index("path")
    ref = smf.ols("pair_f1 ~ distance", data=kept[kept["path"] == "appearance"]).fit()
    assert table.loc["appearance", "slope"] == pytest.approx(ref.params["distance"], abs=1e-10)
    assert table.loc["both", "slope"] == pytest.approx(clustered_dose_response(frame).set_index("path").loc[
        "both", "slope"], abs=1e-10)


def test_verdict_reproduced_not_reproduced_undecidable_not_testable():
    effects = nearness_effects(_rows(n_seeds=8))
    v = nearness_verdict(effects, "both", smallest_effect=0.05)
    d = effects[effects["path"] == "both"].sort_values("seed")["effect"].to_numpy()
    assert v["verdict"] == "reproduced" and v["n"] == 8
    part = v["numbers"]["both"]
    assert part["p_claimed"] == pytest.approx(stats.wilcoxon(d, alternative="greater", method="exact").pvalue)
    assert part["p_contrary"] == pytest.approx(stats.wilcoxon(d - 0.05, alternative="less",
                                                              method="exact").pvalue)
    # no effect of nearness, many seeds: the contrary (below the smallest effect) decides "not reproduced"
    flat = nearness_effects(_rows(n_seeds=8, slopes={"annotation": 0.0, "appearance": 0.0, "both": 0.0}))
    assert nearness_verdict(flat, "annotation", smallest_effect=0.05)["verdict"] == "not reproduced"
    # three seeds cannot give a one-sided exact p below 1/8: undecidable, with the seeds it would need
    few = nearness_effects(_rows(n_seeds=3, slopes={"annotation": 0.0, "appearance": 0.0, "both": 0.0}))
    v = nearness_verdict(few, "annotation", smallest_effect=0.05)
    assert v["verdict"] == "undecidable" and v["seeds_needed"] == 5
    off = nearness_verdict(effects, "annotation", smallest_effect=0.05, carried=False,
                           reason="annotation_noise is 0: no label can move")
    assert off["verdict"] == "not testable here" and "annotation_noise" in off["reason"] and not off["numbers"]
    with pytest.raises(ParameterError, match="smallest_effect"):
        nearness_verdict(effects, "both", smallest_effect=0)
    with pytest.raises(ParameterError, match="'vad' has 0 seeds"):
        nearness_verdict(effects, "vad", smallest_effect=0.05)


def test_path_decomposition_by_hand_and_against_scipy():
    exact = path_decomposition(nearness_effects(_rows(n_seeds=6, noise=0.0)))
    r = 0.6 - 0.05
    assert exact["mean"] == pytest.approx({"annotation": 0.2 * r, "appearance": 0.4 * r, "both": 0.6 * r})
    assert exact["share"]["annotation"]["estimate"] == pytest.approx(1 / 3)
    assert exact["share"]["appearance"]["estimate"] == pytest.approx(2 / 3)
    assert exact["non_additivity"]["estimate"] == pytest.approx(0, abs=1e-12)
    effects = nearness_effects(_rows(n_seeds=10, rng=5, noise=0.05))
    out = path_decomposition(effects, n_resamples=999)
    wide = effects.pivot(index="seed", columns="path", values="effect")
    ref = stats.bootstrap((wide["annotation"].to_numpy(), wide["both"].to_numpy()),
                          lambda u, v, axis=-1: u.mean(axis=axis) / v.mean(axis=axis), paired=True, vectorized=True,
                          n_resamples=999, method="percentile", random_state=np.random.default_rng(0))
    assert out["share"]["annotation"]["low"] == pytest.approx(ref.confidence_interval.low)
    assert out["share"]["annotation"]["high"] == pytest.approx(ref.confidence_interval.high)
    extra = (wide["both"] - wide["annotation"] - wide["appearance"]).to_numpy()
    assert out["non_additivity"]["p"] == pytest.approx(stats.wilcoxon(extra, method="exact").pvalue)
    with pytest.raises(ParameterError, match="lacks the path"):
        path_decomposition(effects[effects["path"] != "appearance"])


def test_bad_tables_are_named():
    frame = _rows(n_seeds=2)
    with pytest.raises(ParameterError, match="lacks the column"):
        nearness_effects(frame.drop(columns="frequency"))
    with pytest.raises(ParameterError, match="one distance level"):
        nearness_effects(frame[frame["distance"] == 0.05])
    broken = frame.copy()
    broken.loc[3, "pair_f1"] = np.nan
    with pytest.raises(ParameterError, match="1 rows have no finite 'pair_f1'"):
        nearness_effects(broken)
