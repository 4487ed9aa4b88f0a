"""affect_book.stats against independent references: scipy, statsmodels, brute-force enumeration, hand cases."""

import doctest
import inspect
import itertools

import matplotlib
import numpy as np
import pytest
import scipy.stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from affect_book import stats

matplotlib.use("Agg")
ALTS = ("two-sided", "greater", "less")


def brute_signed_rank_pvalue(d, alternative):
    """p-value by listing all 2**n sign patterns over the observed average ranks (zeros dropped)."""
    d = np.asarray(d, float)
    d = d[d != 0]
    ranks = sps.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    sums = np.array([np.dot(s, ranks) for s in itertools.product([0, 1], repeat=d.size)])
    greater, less = np.mean(sums >= observed - 1e-9), np.mean(sums <= observed + 1e-9)
    return {"greater": greater, "less": less}.get(alternative, min(1.0, 2 * min(greater, less)))


# --- exact Wilcoxon ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", range(5, 21))
def test_wilcoxon_equals_scipy_exact(n):
    rng = np.random.default_rng(1000 + n)
    for _ in range(3):
        a = rng.normal(size=n)
        b = a - rng.normal(loc=rng.uniform(-0.8, 0.8), size=n)  # continuous: no ties, no zeros
        for alt in ALTS:
            ours = stats.wilcoxon_paired(a, b, alternative=alt)
            ref = sps.wilcoxon(a, b, method="exact", alternative=alt)
            assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10, abs=1e-14)
            assert ours.statistic == pytest.approx(ref.statistic)
            assert ours.w_plus + ours.w_minus == n * (n + 1) / 2
            assert ours.differences == pytest.approx(a - b) and ours.n == n and ours.n_zeros == 0


def test_null_distribution_equals_brute_enumeration():
    for n in range(11):
        dist = stats.wilcoxon_null_distribution(n)
        sums = [sum(r for r, s in zip(range(1, n + 1), signs) if s) for signs in itertools.product([0, 1], repeat=n)]
        counts = np.bincount(sums, minlength=n * (n + 1) // 2 + 1) if n else np.array([1])
        np.testing.assert_allclose(dist.pmf, counts / 2 ** n, rtol=0, atol=1e-15)
        table = dist.to_frame()
        np.testing.assert_array_equal(table["count"], counts)
        assert table["cdf"].iloc[-1] == pytest.approx(1.0) and table["sf"].iloc[0] == pytest.approx(1.0)


def test_five_seeds_smallest_pvalues():
    dist = stats.wilcoxon_null_distribution(5)
    assert dist.pvalue(15, "greater") == 1 / 32 == 0.03125
    assert dist.pvalue(0, "less") == 0.03125
    assert min(dist.pvalue(w, "two-sided") for w in dist.support) == 0.0625
    assert min(dist.pvalue(w, "greater") for w in dist.support) == 0.03125


def test_study_pvalues_from_constructed_differences():
    # two-sided, n = 5, min(W+, W-) = 5: ranks 1, 4, 5 positive (W+ = 10), ranks 2, 3 negative (W- = 5)
    two = stats.wilcoxon_paired([0.01, -0.02, -0.03, 0.04, 0.05])
    assert (two.w_plus, two.w_minus, two.statistic) == (10, 5, 5)
    assert two.pvalue == 0.625 == sps.wilcoxon([0.01, -0.02, -0.03, 0.04, 0.05], method="exact").pvalue
    # one-sided, all five differences in the tested direction: W+ = 15, p = 1/32 = 0.03125 (reported as 0.031)
    one = stats.wilcoxon_paired([0.2, 0.1, 0.4, 0.3, 0.5], [0.0] * 5, alternative="greater")
    assert (one.statistic, one.pvalue) == (15, 0.03125) and round(one.pvalue, 3) == 0.031
    assert stats.wilcoxon_paired([0.2, 0.1, 0.4, 0.3, 0.5]).pvalue == 0.0625  # the same data, two-sided


def test_zero_rule_hand_case():
    res = stats.wilcoxon_paired([0.0, 0.0, 1.0, 2.0, 3.0], alternative="greater")
    assert (res.n, res.n_zeros, res.w_plus) == (3, 2, 6)
    assert res.pvalue == 1 / 8  # only the all-positive pattern of 2**3 reaches W+ = 6
    assert res.differences == (0.0, 0.0, 1.0, 2.0, 3.0)
    all_zero = stats.wilcoxon_paired([1.0, 2.0], [1.0, 2.0])
    assert (all_zero.n, all_zero.n_zeros, all_zero.pvalue) == (0, 2, 1.0)


def test_tie_rule_hand_case():
    # |d| = 1, 1, 2, 2, 3 -> average ranks 1.5, 1.5, 3.5, 3.5, 5; W+ = 13.5. W+ >= 13.5 iff W- <= 1.5:
    # no negative sign, or only one of the two rank-1.5 values negative -> 3 of 32 patterns.
    res = stats.wilcoxon_paired([1.0, -1.0, 2.0, 2.0, 3.0], alternative="greater")
    assert res.has_ties and res.w_plus == 13.5
    assert res.pvalue == 3 / 32
    assert stats.wilcoxon_paired([1.0, -1.0, 2.0, 2.0, 3.0]).pvalue == 6 / 32


def test_ties_and_zeros_equal_brute_enumeration_and_scipy_permutation():
    rng = np.random.default_rng(7)
    for n in (6, 9, 12):
        d = rng.integers(-3, 4, size=n).astype(float)  # many ties and zeros
        for alt in ALTS:
            ours = stats.wilcoxon_paired(d, alternative=alt).pvalue
            assert ours == pytest.approx(brute_signed_rank_pvalue(d, alt), abs=1e-12)
            nz = d[d != 0]
            ref = sps.permutation_test((nz,), lambda x, axis: np.sum(sps.rankdata(np.abs(x), axis=axis) * (x > 0),
                                                                     axis=axis),
                                       permutation_type="samples", alternative=alt, n_resamples=np.inf,
                                       vectorized=True)
            assert ours == pytest.approx(ref.pvalue, abs=1e-12)


def test_docstring_examples():
    # the examples in the docstrings of the package's public names (wilcoxon_null_distribution, wilcoxon_paired, ...)
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for name in stats.__all__:
        for test in finder.find(getattr(stats, name), name):
            runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted >= 4 and results.failed == 0


# --- Hodges-Lehmann and bootstrap -------------------------------------------------------------------------------

def test_hodges_lehmann_estimate_equals_direct_walsh_median():
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 10, 17):
        a, b = rng.normal(size=n), rng.normal(size=n)
        d = a - b
        walsh = [(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)]
        assert stats.hodges_lehmann(a, b).estimate == pytest.approx(np.median(walsh))
        assert stats.hodges_lehmann_estimate(d) == pytest.approx(np.median(walsh))


def test_hodges_lehmann_interval_hand_cases():
    d = np.arange(10.0)  # Walsh averages 0, 0.5, ..., 9
    res = stats.hodges_lehmann(d, level=0.95)
    # Table critical value for n = 10 at 5 % two-sided: P(T <= 8) = 25/1024, so [W_(9), W_(47)]
    walsh = np.sort([(d[i] + d[j]) / 2 for i in range(10) for j in range(i, 10)])
    assert (res.low, res.high) == (walsh[8], walsh[46])
    assert res.achieved_level == pytest.approx(1 - 2 * 25 / 1024) and res.achieved_level >= 0.95
    five = [0.1, 0.2, 0.3, 0.4, 0.5]
    assert stats.hodges_lehmann(five, level=0.95).confidence_interval() == (-np.inf, np.inf)  # 0.9375 < 0.95
    r90 = stats.hodges_lehmann(five, level=0.90)
    assert (r90.low, r90.high, r90.achieved_level) == (0.1, 0.5, 1 - 2 / 32)
    one = stats.hodges_lehmann(five, level=0.95, alternative="greater")
    assert (one.low, one.high, one.achieved_level) == (0.1, np.inf, 1 - 1 / 32)


def test_hodges_lehmann_widest_when_the_level_is_unattainable():
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4])
    walsh = [(d[i] + d[j]) / 2 for i in range(5) for j in range(i, 5)]
    widest = stats.hodges_lehmann(d, level=0.95, unattainable="widest")
    assert (widest.low, widest.high) == (min(walsh), max(walsh)) == (-0.1, 0.5)
    assert widest.achieved_level == 1 - 2 / 32 and widest.level == 0.95
    assert widest.estimate == stats.hodges_lehmann(d).estimate
    one = stats.hodges_lehmann(d, level=0.99, alternative="less", unattainable="widest")  # 1 - 1/32 < 0.99
    assert (one.low, one.high, one.achieved_level) == (-np.inf, 0.5, 1 - 1 / 32)
    # default unchanged (infinite), and a reachable level is not affected by the option
    assert stats.hodges_lehmann(d, level=0.95).confidence_interval() == (-np.inf, np.inf)
    assert stats.hodges_lehmann(d, level=0.9, unattainable="widest") == stats.hodges_lehmann(d, level=0.9)
    with pytest.raises(ValueError, match="unattainable"):
        stats.hodges_lehmann(d, unattainable="finite")


def test_hodges_lehmann_interval_inverts_the_test():
    d = np.random.default_rng(11).normal(size=12)
    res = stats.hodges_lehmann(d, level=0.9)
    alpha = 1 - res.achieved_level
    inside, outside = (res.low + res.high) / 2, res.high + 1e-6
    assert sps.wilcoxon(d - inside, method="exact").pvalue > alpha
    assert sps.wilcoxon(d - outside, method="exact").pvalue <= alpha + 1e-12


def test_hodges_lehmann_coverage_simulation():
    rng = np.random.default_rng(2024)
    draws, n, level, shift = 2000, 10, 0.90, 0.3
    covered = 0
    for _ in range(draws):
        d = shift + rng.standard_t(df=3, size=n)  # symmetric, heavy-tailed
        res = stats.hodges_lehmann(d, level=level)
        covered += res.low <= shift <= res.high
    se = np.sqrt(level * (1 - level) / draws)
    assert res.achieved_level >= level
    assert covered / draws >= level - 3 * se


def test_bootstrap_reproducible_and_equal_to_scipy():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=8), rng.normal(size=8)
    first = stats.bootstrap_interval(a, b, statistic="mean", random_state=42, n_resamples=2000)
    again = stats.bootstrap_interval(a, b, statistic="mean", random_state=42, n_resamples=2000)
    other = stats.bootstrap_interval(a, b, statistic="mean", random_state=43, n_resamples=2000)
    assert first == again and first != other
    ref = sps.bootstrap((a, b), lambda x, y, axis: np.mean(x - y, axis=axis), paired=True, n_resamples=2000,
                        method="percentile", rng=np.random.default_rng(42)).confidence_interval
    assert (first.low, first.high) == pytest.approx((ref.low, ref.high))
    hl = stats.bootstrap_interval(a, b, random_state=0, n_resamples=500)
    assert hl.low <= stats.hodges_lehmann(a, b).estimate <= hl.high


# --- Holm, TOST, sign flips -------------------------------------------------------------------------------------

def test_holm_equals_statsmodels():
    rng = np.random.default_rng(9)
    for m in (1, 2, 5, 12, 40):
        p = rng.uniform(size=m) ** 3
        np.testing.assert_allclose(stats.holm(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-15)
    tied = np.array([0.01, 0.04, 0.04, 0.03, 0.9, 0.0625])
    np.testing.assert_allclose(stats.holm(tied), multipletests(tied, method="holm")[1], rtol=0, atol=1e-15)


def test_tost_t_equals_statsmodels():
    rng = np.random.default_rng(13)
    for n, margin in ((5, 0.5), (10, (-0.3, 0.6)), (25, 0.2)):
        a = rng.normal(size=n)
        b = a + rng.normal(loc=0.05, scale=0.3, size=n)
        ours = stats.tost_paired(a, b, margin=margin, method="t")
        low, high = (-margin, margin) if np.isscalar(margin) else margin
        ref_p, (t1, p1, _), (t2, p2, _) = ttost_paired(a, b, low, high)
        assert ours.pvalue == pytest.approx(ref_p, rel=1e-10)
        assert ours.lower == pytest.approx((t1, p1)) and ours.upper == pytest.approx((t2, p2))
        assert ours.margin == (low, high) and ours.equivalent == (ref_p <= 0.05)


def test_tost_exact_hand_cases_and_scipy():
    inside = stats.tost_paired([0.01, -0.02, 0.03, 0.0, 0.005], margin=0.05)
    assert inside.pvalue == 1 / 32 and inside.equivalent
    assert "equivalent within (-0.05, 0.05)" in inside.summary()
    one_out = stats.tost_paired([0.01, -0.02, 0.03, 0.06, 0.005], margin=0.05)
    assert one_out.pvalue == 2 / 32 and not one_out.equivalent
    d = np.random.default_rng(17).normal(scale=0.1, size=12)
    ours = stats.tost_paired(d, margin=(-0.2, 0.25), method="exact")
    ref = max(sps.wilcoxon(d + 0.2, method="exact", alternative="greater").pvalue,
              sps.wilcoxon(d - 0.25, method="exact", alternative="less").pvalue)
    assert ours.pvalue == pytest.approx(ref, rel=1e-10)


def test_sign_flip_exact_equals_enumeration_and_scipy():
    rng = np.random.default_rng(21)
    for n in (4, 7, 10):
        a, b = rng.normal(size=n), rng.normal(loc=-0.5, size=n)
        d = a - b
        means = np.array([np.mean(np.array(s) * d) for s in itertools.product([-1, 1], repeat=n)])
        for alt in ALTS:
            ours = stats.sign_flip_test(a, b, alternative=alt)
            assert ours.method == "exact" and ours.n_resamples == 2 ** n
            greater, less = np.mean(means >= d.mean() - 1e-12), np.mean(means <= d.mean() + 1e-12)
            brute = {"greater": greater, "less": less}.get(alt, min(1.0, 2 * min(greater, less)))
            assert ours.pvalue == pytest.approx(brute, abs=1e-12)
            ref = sps.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis), vectorized=True,
                                       permutation_type="samples", alternative=alt, n_resamples=np.inf)
            assert ours.pvalue == pytest.approx(ref.pvalue, abs=1e-12)


def test_sign_flip_monte_carlo_close_to_scipy_for_n30():
    rng = np.random.default_rng(23)
    a = rng.normal(size=30)
    b = a - rng.normal(loc=0.35, size=30)
    B = 9999
    for alt in ("two-sided", "greater"):
        ours = stats.sign_flip_test(a, b, alternative=alt, n_resamples=B, random_state=1)
        assert ours.method == "monte_carlo" and ours.n_resamples == B
        assert ours == stats.sign_flip_test(a, b, alternative=alt, n_resamples=B, random_state=1)
        ref = sps.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis), vectorized=True,
                                   permutation_type="samples", alternative=alt, n_resamples=B,
                                   rng=np.random.default_rng(99)).pvalue
        se = np.sqrt(2 * ref * (1 - ref) / B) * (2 if alt == "two-sided" else 1)
        assert 0.001 < ref < 0.5 and abs(ours.pvalue - ref) <= 4 * se + 2 / B
    extreme = stats.sign_flip_test(np.arange(1.0, 31.0), alternative="greater", n_resamples=999, random_state=0)
    assert extreme.pvalue == 1 / 1000  # (1 + 0) / (1 + B): never zero


# --- the table, the plot, errors, docstrings --------------------------------------------------------------------

def test_paired_comparison_row_and_table():
    rng = np.random.default_rng(31)
    base = rng.normal(size=5)
    rows = {}
    for name, shift in (("circumplex", 0.5), ("uniform", 0.0), ("permuted", -0.2)):
        cond = base + shift + rng.normal(scale=0.3, size=5)
        row = stats.paired_comparison(cond, base, margin=0.4, level=0.9, n_resamples=999)
        d = cond - base
        assert row.n == 5 and row.differences == pytest.approx(d)
        assert row.mean_difference == pytest.approx(d.mean()) and row.median_difference == pytest.approx(np.median(d))
        assert row.pvalue == pytest.approx(sps.wilcoxon(cond, base, method="exact").pvalue)
        assert row.hl_estimate == stats.hodges_lehmann(d).estimate
        assert (row.hl_low, row.hl_high) == stats.hodges_lehmann(d, level=0.9).confidence_interval()
        assert row.tost_pvalue == stats.tost_paired(d, margin=0.4).pvalue
        assert row.equivalent == (row.tost_pvalue <= 0.05) and (row.margin_low, row.margin_high) == (-0.4, 0.4)
        assert row.boot_low <= row.boot_high
        rows[name] = row
    table = stats.comparison_table(rows)
    assert list(table["label"]) == list(rows)
    np.testing.assert_allclose(table["pvalue_holm"], multipletests(table["pvalue"], method="holm")[1])
    near = base + 0.1 + rng.normal(scale=0.05, size=5)
    t_row = stats.paired_comparison(near, base, margin=0.4, tost_method="t", n_resamples=99)
    assert t_row.tost_method == "t" and t_row.tost_pvalue == pytest.approx(ttost_paired(near, base, -0.4, 0.4)[0])
    from_dicts = stats.comparison_table([r.to_dict() for r in rows.values()])
    np.testing.assert_allclose(from_dicts["pvalue_holm"], table["pvalue_holm"])


def test_plot_wilcoxon_null():
    ax = stats.plot_wilcoxon_null(5, observed=10)
    assert len(ax.patches) == 16 and ax.get_xlabel().startswith("W+") and "probability" in ax.get_ylabel()
    assert "p = 0.625" in ax.get_title()
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == pytest.approx(1.0)
    matplotlib.pyplot.close(ax.figure)


@pytest.mark.parametrize("call, match", [
    (lambda: stats.wilcoxon_paired([1, 2, 3], [1, 2]), "paired"),
    (lambda: stats.wilcoxon_paired([1, np.nan, 3]), "finite.*position 1"),
    (lambda: stats.wilcoxon_paired([1, 2], alternative="bigger"), "alternative must be one of"),
    (lambda: stats.hodges_lehmann([1, 2], level=95), "level"),
    (lambda: stats.tost_paired([1, 2], margin=-1), "margin"),
    (lambda: stats.tost_paired([1, 2], margin=(1, 0)), "low < high"),
    (lambda: stats.bootstrap_interval([1, 2, 3], random_state=None), "random_state"),
    (lambda: stats.holm([0.1, 1.2]), r"\[0, 1\]"),
    (lambda: stats.wilcoxon_null_distribution(-1), "n must be"),
    (lambda: stats.sign_flip_test(np.ones(30), method="exact"), "monte_carlo"),
    (lambda: stats.comparison_table([]), "at least one"),
    (lambda: stats.wilcoxon_paired([]), "at least one"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_public_docstrings_are_numpydoc():
    for name in stats.__all__:
        obj = getattr(stats, name)
        if inspect.isclass(obj):
            assert "Attributes\n----------" in (inspect.getdoc(obj) or ""), name
            funcs = {f"{name}.{m}": v for m, v in vars(obj).items() if inspect.isfunction(v) and m[0] != "_"}
        else:
            funcs = {name: obj}
        for label, func in funcs.items():
            doc = inspect.getdoc(func) or ""
            assert "Returns\n-------" in doc, label
            if set(inspect.signature(func).parameters) - {"self"}:
                assert "Parameters\n----------" in doc, label
