"""Power of the exact paired tests (affect_book.stats._power), checked against scipy on fresh draws."""

import numpy as np
import pytest
import scipy.stats as sps

from affect_book import stats

N_DRAWS = 10_000  # ours; the scipy reference uses its own, independent draws (different generator seed)
N_REF = 10_000


def scipy_rate(rng, effect, sd, n, reject):
    """Rejection rate of ``reject(d)`` (a boolean per row) on fresh Normal(effect, sd**2) samples of size n."""
    d = rng.normal(effect, sd, size=(N_REF, n))
    return float(np.mean(reject(d)))


def wilcoxon_p(x, alternative):
    return sps.wilcoxon(x, axis=1, alternative=alternative, method="exact").pvalue


@pytest.mark.parametrize("effect, sd, n, alternative", [
    (0.5, 1.0, 5, "greater"), (1.0, 0.5, 5, "less"), (-0.3, 0.3, 5, "less"), (2.0, 1.0, 5, "two-sided"),
    (0.8, 1.0, 8, "two-sided"), (0.4, 0.5, 8, "greater"), (-0.5, 1.0, 8, "less"),
    (0.5, 1.0, 20, "two-sided"), (0.3, 1.0, 20, "greater"), (0.0, 1.0, 20, "two-sided"), (-0.2, 0.4, 20, "less"),
])
def test_power_agrees_with_scipy_monte_carlo(effect, sd, n, alternative):
    ours = stats.paired_power(effect, sd, n, alternative=alternative, n_draws=N_DRAWS, seed=1)
    ref = scipy_rate(np.random.default_rng(12345), effect, sd, n, lambda d: wilcoxon_p(d, alternative) <= 0.05)
    assert ours == pytest.approx(ref, abs=0.03)


@pytest.mark.parametrize("effect, sd, n, margin", [(0.0, 0.1, 8, 0.1), (0.05, 0.1, 12, 0.15), (0.0, 1.0, 20, 0.8),
                                                  (0.1, 0.1, 6, 0.2)])
def test_equivalence_power_agrees_with_scipy_tost(effect, sd, n, margin):
    ours = stats.paired_power(effect, sd, n, test="equivalence", margin=margin, n_draws=N_DRAWS, seed=2)

    def reject(d):
        return (wilcoxon_p(d + margin, "greater") <= 0.05) & (wilcoxon_p(d - margin, "less") <= 0.05)

    assert ours == pytest.approx(scipy_rate(np.random.default_rng(777), effect, sd, n, reject), abs=0.03)


@pytest.mark.parametrize("effect, sd, n, margin", [(0.3, 0.1, 6, 0.1), (-0.25, 0.2, 10, 0.1), (0.15, 0.1, 20, 0.1)])
def test_outside_power_agrees_with_scipy(effect, sd, n, margin):
    ours = stats.paired_power(effect, sd, n, test="outside", margin=margin, n_draws=N_DRAWS, seed=3)

    def reject(d):
        return (wilcoxon_p(d - margin, "greater") <= 0.025) | (wilcoxon_p(d + margin, "less") <= 0.025)

    assert ours == pytest.approx(scipy_rate(np.random.default_rng(99), effect, sd, n, reject), abs=0.03)


def test_equivalence_power_matches_tost_paired_rule():
    # the power's verdict per sample is tost_paired(method="exact")'s: same draws, one sample at a time
    rng = np.random.default_rng(5)
    d = rng.normal(0.02, 0.1, size=(300, 7))
    rate = np.mean([stats.tost_paired(x, margin=0.15).equivalent for x in d])
    ours = stats.paired_power(0.02, 0.1, 7, test="equivalence", margin=0.15, n_draws=N_DRAWS, seed=5)
    assert ours == pytest.approx(rate, abs=0.09)  # 300 reference samples: SE <= 0.03


@pytest.mark.parametrize("n, alternative", [(6, "two-sided"), (8, "greater"), (12, "two-sided"), (20, "less")])
def test_size_at_zero_effect_is_at_most_alpha(n, alternative):
    p = stats.paired_power(0.0, 1.0, n, alternative=alternative, n_draws=20_000, seed=4)
    assert p <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 20_000)


def test_floor_gives_zero_power():
    assert stats.paired_power(100.0, 1.0, 5) == 0.0  # two-sided floor 0.0625 > 0.05
    assert stats.paired_power(100.0, 1.0, 5, alternative="greater") == 1.0
    assert stats.paired_power(0.0, 0.01, 4, test="equivalence", margin=1.0) == 0.0  # 1/16 > 0.05
    assert stats.paired_power(0.0, 0.01, 5, test="equivalence", margin=1.0) == 1.0
    assert stats.paired_power(10.0, 0.1, 5, test="outside", margin=1.0) == 0.0  # 2/32 > 0.05
    assert stats.paired_power(10.0, 0.1, 6, test="outside", margin=1.0) == 1.0


@pytest.mark.parametrize("kwargs", [
    dict(effect=0.5, sd=1.0, alternative="two-sided"),
    dict(effect=-0.7, sd=1.0, alternative="less", power=0.9),
    dict(effect=0.0, sd=0.1, test="equivalence", margin=0.1),
    dict(effect=0.25, sd=0.1, test="outside", margin=0.1),
])
def test_seeds_for_power_is_the_inverse(kwargs):
    n = stats.seeds_for_power(**kwargs, n_draws=4000, seed=8)
    target = kwargs.pop("power", 0.8)
    effect, sd = kwargs.pop("effect"), kwargs.pop("sd")
    assert stats.paired_power(effect, sd, n, **kwargs, n_draws=4000, seed=8) >= target
    assert all(stats.paired_power(effect, sd, m, **kwargs, n_draws=4000, seed=8) < target for m in range(1, n))


def test_seeds_for_power_hand_cases_and_limit():
    # one-sided with a huge effect: the floor decides (0.5**5 <= 0.05 < 0.5**4); two-sided needs 6
    assert stats.seeds_for_power(50.0, 1.0, alternative="greater", n_draws=1000) == 5
    assert stats.seeds_for_power(50.0, 1.0, n_draws=1000) == 6
    with pytest.raises(ValueError, match="max_seeds=10"):
        stats.seeds_for_power(0.1, 1.0, max_seeds=10, n_draws=1000)


def test_minimum_detectable_effect():
    assert stats.minimum_detectable_effect(1.0, 5) == np.inf  # two-sided floor 0.0625
    for alternative in ("two-sided", "greater", "less"):
        mde = stats.minimum_detectable_effect(2.0, 10, alternative=alternative, n_draws=4000, seed=6)
        signed = -mde if alternative == "less" else mde
        assert np.isfinite(mde) and mde > 0
        assert stats.paired_power(signed, 2.0, 10, alternative=alternative, n_draws=4000, seed=6) >= 0.8
        assert stats.paired_power(0.99 * signed, 2.0, 10, alternative=alternative, n_draws=4000, seed=6) < 0.8
    # scale: the test is invariant to scaling the differences
    assert stats.minimum_detectable_effect(2.0, 10, n_draws=4000) == pytest.approx(
        2 * stats.minimum_detectable_effect(1.0, 10, n_draws=4000), rel=1e-3)


def test_smallest_pvalue_and_seeds_to_reach_hand_cases():
    assert stats.smallest_pvalue(5) == 0.0625 and stats.smallest_pvalue(5, "greater") == 0.03125
    assert stats.smallest_pvalue(5, "less") == 0.03125 and stats.smallest_pvalue(0) == 1.0
    assert stats.smallest_pvalue(5) == sps.wilcoxon(np.arange(1.0, 6.0), method="exact").pvalue
    assert stats.seeds_to_reach(0.05) == 6 and stats.seeds_to_reach(0.05, "greater") == 5
    assert stats.seeds_to_reach(0.05, "greater", parts=4) == 7  # 4 / 64 > 0.05 >= 4 / 128
    assert stats.seeds_to_reach(0.01, parts=3) == 10  # 3 * 2 / 512 > 0.01 >= 3 * 2 / 1024


def test_outside_margin_paired_equals_scipy():
    rng = np.random.default_rng(31)
    for n, shift, margin in [(6, 0.3, 0.1), (9, -0.2, 0.1), (12, 0.05, 0.1), (15, 0.12, 0.1)]:
        a = rng.normal(size=n)
        b = a - rng.normal(shift, 0.1, size=n)
        res = stats.outside_margin_paired(a, b, margin=margin)
        d = a - b
        p_above = sps.wilcoxon(d - margin, method="exact", alternative="greater").pvalue
        p_below = sps.wilcoxon(d + margin, method="exact", alternative="less").pvalue
        assert res.p_above == pytest.approx(p_above, rel=1e-12) and res.p_below == pytest.approx(p_below, rel=1e-12)
        assert res.pvalue == pytest.approx(min(1, 2 * min(p_above, p_below)), rel=1e-12)
        assert res.outside == (res.pvalue <= 0.05) and res.n == n and res.margin == (-margin, margin)
    inside = stats.outside_margin_paired([0.01, -0.02, 0.03, 0.0, 0.005, 0.01], margin=0.05)
    assert inside.pvalue == 1.0 and not inside.outside and "not shown outside" in inside.summary()
    # zeros of d - high are dropped, as wilcoxon_paired does: five above the margin and one on it
    on_edge = stats.outside_margin_paired([0.2, 0.3, 0.4, 0.5, 0.6, 0.1], margin=0.1)
    assert on_edge.p_above == stats.wilcoxon_paired(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.0]),
                                                    alternative="greater").pvalue == 1 / 32


@pytest.mark.parametrize("call, match", [
    (lambda: stats.paired_power(0.1, 0.0, 5), "sd must be positive"),
    (lambda: stats.paired_power(0.1, -1.0, 5), "sd must be positive"),
    (lambda: stats.paired_power(0.1, 1.0, 0), "n_seeds"),
    (lambda: stats.paired_power(0.1, 1.0, 5.5), "n_seeds"),
    (lambda: stats.paired_power(0.1, 1.0, 5, test="equivalence"), "needs a margin"),
    (lambda: stats.paired_power(0.1, 1.0, 5, test="outside"), "needs a margin"),
    (lambda: stats.paired_power(0.1, 1.0, 5, test="shfit"), "Did you mean 'shift'"),
    (lambda: stats.paired_power(0.1, 1.0, 5, margin=0.1), "margin applies"),
    (lambda: stats.paired_power(0.1, 1.0, 5, test="outside", margin=0.1, alternative="less"), "alternative"),
    (lambda: stats.paired_power(0.1, 1.0, 5, alternative="bigger"), "alternative must be one of"),
    (lambda: stats.paired_power(0.1, 1.0, 5, alpha=5), "alpha"),
    (lambda: stats.paired_power(np.nan, 1.0, 5), "effect must be finite"),
    (lambda: stats.paired_power(0.1, 1.0, 5, test="equivalence", margin=-0.1), "margin"),
    (lambda: stats.seeds_for_power(0.1, 1.0, power=80), "power"),
    (lambda: stats.seeds_for_power(0.1, 1.0, max_seeds=0), "max_seeds"),
    (lambda: stats.minimum_detectable_effect(0.0, 5), "sd must be positive"),
    (lambda: stats.smallest_pvalue(-1), "n="),
    (lambda: stats.seeds_to_reach(0.05, parts=0), "parts"),
    (lambda: stats.outside_margin_paired([1.0, 2.0], margin=0), "margin"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
