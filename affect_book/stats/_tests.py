"""Holm's correction, the paired TOST equivalence test, its contrary (a shift outside a margin) and the sign-flip
permutation test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _sp

from ._signed_rank import WilcoxonResult, wilcoxon_paired
from ..params import (
    as_sample,
    check_alternative,
    check_level,
    check_seed,
    paired_differences,
)


def holm(pvalues) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, controlling the family-wise error rate.

    The i-th smallest p-value ``p_(i)`` (of m) becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``; reject where the
    adjusted p-value is at most alpha. Equal to ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``.

    Parameters
    ----------
    pvalues : array_like, shape (m,)
        Raw p-values in [0, 1], one per comparison of the family.

    Returns
    -------
    numpy.ndarray, shape (m,)
        Adjusted p-values in the input order.
    """
    p = as_sample(pvalues, "pvalues")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"pvalues must lie in [0, 1]; found {p[(p < 0) | (p > 1)][0]}")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return out


@dataclass(frozen=True)
class TOSTResult:
    """Result of :func:`tost_paired`.

    Attributes
    ----------
    pvalue : float
        TOST p-value: the larger of the two one-sided p-values.
    equivalent : bool
        ``pvalue <= alpha``: the shift lies inside ``margin`` at this alpha.
    margin : tuple of float
        Equivalence interval ``(low, high)`` for the shift ``a - b``.
    alpha : float
        Test level.
    method : str
        "exact" (Wilcoxon signed-rank on ``d - low`` and ``d - high``) or "t" (paired t-tests).
    statistic : float
        Statistic of the one-sided test with the larger p-value.
    lower, upper : tuple of float
        ``(statistic, pvalue)`` of the test of H0: shift <= low (alternative greater) and of H0: shift >= high
        (alternative less).
    n : int
        Number of paired differences.
    """

    pvalue: float
    equivalent: bool
    margin: tuple
    alpha: float
    method: str
    statistic: float
    lower: tuple
    upper: tuple
    n: int

    def summary(self) -> str:
        """One line stating the verdict with its margin.

        Returns
        -------
        str
            E.g. ``"equivalent within (-0.01, 0.01) at alpha=0.05 (TOST exact, p=0.031, n=5)"``.
        """
        verdict = "equivalent" if self.equivalent else "not shown equivalent"
        return (f"{verdict} within ({self.margin[0]:g}, {self.margin[1]:g}) at alpha={self.alpha:g} "
                f"(TOST {self.method}, p={self.pvalue:.3g}, n={self.n})")


def _margin(margin) -> tuple[float, float]:
    if np.ndim(margin) == 0:
        delta = float(margin)
        if not np.isfinite(delta) or delta <= 0:
            raise ValueError(f"margin must be a positive number delta (interval (-delta, delta)) or a pair "
                             f"(low, high) with low < high; found {margin!r}")
        return (-delta, delta)
    low, high = (float(x) for x in margin)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"margin (low, high) must be finite with low < high; found {margin!r}")
    return (low, high)


def tost_paired(a, b=None, *, margin, method: str = "exact", alpha: float = 0.05) -> TOSTResult:
    """Paired two one-sided tests (Schuirmann, 1987) for equivalence of ``a`` and ``b`` within a stated margin.

    A large p-value of a difference test is not evidence of equality; TOST tests H0: the shift is outside
    ``margin``. It rejects (declares equivalence) when both one-sided tests reject at ``alpha``. With the exact
    method and 5 seeds the smallest one-sided p is 1/32, so equivalence at alpha = 0.05 requires all five
    differences strictly inside the margin.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements; ``b=None`` takes ``a`` as the differences.
    margin : float or (float, float)
        ``delta`` for the interval ``(-delta, delta)``, or ``(low, high)``.
    method : {"exact", "t"}
        "exact": exact Wilcoxon signed-rank tests of ``d - low`` (greater) and ``d - high`` (less), zeros dropped;
        "t": one-sample t-tests, equal to ``statsmodels.stats.weightstats.ttost_paired(a, b, low, high)``.
    alpha : float
        Level of each one-sided test.

    Returns
    -------
    TOSTResult
        ``pvalue``, ``equivalent``, the margin and both one-sided tests; ``summary()`` states the verdict.
    """
    low, high = _margin(margin)
    alpha = check_level(alpha, "alpha")
    d = paired_differences(a, b)
    if method == "exact":
        lower: WilcoxonResult = wilcoxon_paired(d - low, alternative="greater")
        upper: WilcoxonResult = wilcoxon_paired(d - high, alternative="less")
        lo, up = (lower.statistic, lower.pvalue), (upper.statistic, upper.pvalue)
    elif method == "t":
        if d.size < 2:
            raise ValueError(f"the t version needs at least 2 paired differences; found {d.size}")
        lower_t = _sp.ttest_1samp(d - low, 0.0, alternative="greater")
        upper_t = _sp.ttest_1samp(d - high, 0.0, alternative="less")
        lo, up = (float(lower_t.statistic), float(lower_t.pvalue)), (float(upper_t.statistic), float(upper_t.pvalue))
    else:
        raise ValueError(f"method must be 'exact' or 't'; found {method!r}")
    worst = lo if lo[1] >= up[1] else up
    return TOSTResult(pvalue=float(worst[1]), equivalent=bool(worst[1] <= alpha), margin=(low, high), alpha=alpha,
                      method=method, statistic=float(worst[0]), lower=lo, upper=up, n=int(d.size))


@dataclass(frozen=True)
class OutsideMarginResult:
    """Result of :func:`outside_margin_paired` (shaped like a scipy result: ``statistic``, ``pvalue``).

    Attributes
    ----------
    statistic : float
        W+ of the one-sided test with the smaller p-value (of ``d - high`` for "above", of ``d - low`` for
        "below").
    pvalue : float
        ``min(1, 2 * min(p_above, p_below))``: Bonferroni over the two directions.
    p_above : float
        Exact Wilcoxon p-value of H0: shift <= high against "greater" (test of ``d - high``).
    p_below : float
        Exact Wilcoxon p-value of H0: shift >= low against "less" (test of ``d - low``).
    margin : tuple of float
        The margin ``(low, high)``; H0 is ``low <= shift <= high``.
    n : int
        Number of paired differences (zeros of ``d - high`` or ``d - low`` are dropped by each test).
    alpha : float
        Test level.
    outside : bool
        ``pvalue <= alpha``: the shift lies outside the margin at this alpha.
    """

    statistic: float
    pvalue: float
    p_above: float
    p_below: float
    margin: tuple
    n: int
    alpha: float
    outside: bool

    def summary(self) -> str:
        """One line stating the verdict with its margin.

        Returns
        -------
        str
            E.g. ``"outside (-0.01, 0.01) at alpha=0.05 (exact, p=0.031, n=6)"``.
        """
        verdict = "outside" if self.outside else "not shown outside"
        return (f"{verdict} ({self.margin[0]:g}, {self.margin[1]:g}) at alpha={self.alpha:g} "
                f"(exact, p={self.pvalue:.3g}, n={self.n})")


def outside_margin_paired(a, b=None, *, margin, alpha: float = 0.05) -> OutsideMarginResult:
    """Paired exact test that the shift lies *outside* a margin: the contrary of :func:`tost_paired`.

    H0: ``low <= shift <= high`` (the difference is negligible); H1: the shift is above ``high`` or below ``low``.
    Two one-sided exact Wilcoxon signed-rank tests, of ``d - high`` ("greater") and of ``d - low`` ("less"), with
    Bonferroni over the two directions: ``pvalue = min(1, 2 * min(p_above, p_below))``, rejected when at most
    ``alpha`` (one of the two rejects at ``alpha / 2``). Zeros and ties are handled as :func:`wilcoxon_paired`
    does (zeros dropped, average ranks, exact over the observed ranks). With n differences the smallest p-value
    is ``2 * 0.5**n``: 5 seeds give 0.0625, so at alpha = 0.05 a difference can be shown outside a margin only
    from 6 seeds on.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements; ``b=None`` takes ``a`` as the differences.
    margin : float or (float, float)
        ``delta`` for the interval ``(-delta, delta)``, or ``(low, high)``.
    alpha : float
        Level of the test.

    Returns
    -------
    OutsideMarginResult
        ``statistic``, ``pvalue``, ``p_above``, ``p_below``, the margin and the verdict ``outside``.

    Examples
    --------
    >>> res = outside_margin_paired([0.3, 0.4, 0.5, 0.6, 0.7, 0.8], margin=0.1)
    >>> res.p_above, res.pvalue, res.outside
    (0.015625, 0.03125, True)
    """
    low, high = _margin(margin)
    alpha = check_level(alpha, "alpha")
    d = paired_differences(a, b)
    if d.size == 0:
        raise ValueError("a must hold at least one paired difference; found none")
    above = wilcoxon_paired(d - high, alternative="greater")
    below = wilcoxon_paired(d - low, alternative="less")
    best = above if above.pvalue <= below.pvalue else below
    pvalue = min(1.0, 2.0 * min(above.pvalue, below.pvalue))
    return OutsideMarginResult(statistic=float(best.statistic), pvalue=float(pvalue), p_above=float(above.pvalue),
                               p_below=float(below.pvalue), margin=(low, high), n=int(d.size), alpha=alpha,
                               outside=bool(pvalue <= alpha))


@dataclass(frozen=True)
class SignFlipResult:
    """Result of :func:`sign_flip_test`.

    Attributes
    ----------
    statistic : float
        Mean of the paired differences.
    pvalue : float
        Exact: share of the ``2**n`` sign patterns at least as extreme. Monte Carlo: ``(1 + #extreme) / (1 + B)``
        per tail (never 0); two-sided: twice the smaller tail, capped at 1 (scipy's convention).
    method : str
        "exact" or "monte_carlo".
    n_resamples : int
        Sign patterns evaluated (``2**n`` when exact, B otherwise).
    n : int
        Number of paired differences.
    alternative : str
        "two-sided", "greater" or "less".
    """

    statistic: float
    pvalue: float
    method: str
    n_resamples: int
    n: int
    alternative: str


def _exact_signs(n: int, chunk: int = 1 << 16):
    """All 2**n sign vectors, in chunks of rows (+1/-1)."""
    codes = np.arange(1 << n, dtype=np.int64)
    bits = np.arange(n, dtype=np.int64)
    for start in range(0, codes.size, chunk):
        yield 1 - 2 * ((codes[start: start + chunk, None] >> bits) & 1).astype(float)


def sign_flip_test(a, b=None, *, alternative: str = "two-sided", method: str = "auto", n_resamples: int = 9999,
                   random_state=0, max_exact_n: int = 20) -> SignFlipResult:
    """Paired sign-flip permutation test of the mean difference (Fisher, 1935), for seeds beyond exact reach.

    Under H0 the differences are symmetric about 0, so flipping any subset of signs leaves their distribution
    unchanged. Exact enumeration of the ``2**n`` patterns is used when ``n <= max_exact_n``; beyond, B random sign
    patterns from a seeded generator give ``p = (1 + #extreme) / (1 + B)`` (Phipson and Smyth, 2010), the observed
    pattern counted as one of the resamples.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements; ``b=None`` takes ``a`` as the differences.
    alternative : {"two-sided", "greater", "less"}
        "greater": the mean of ``a - b`` is positive.
    method : {"auto", "exact", "monte_carlo"}
        "auto": exact when ``n <= max_exact_n``.
    n_resamples : int
        B, the number of random sign patterns (Monte Carlo only).
    random_state : int or numpy.random.Generator
        Seed of the Monte Carlo draws.
    max_exact_n : int
        Largest n enumerated exactly by "auto" (2**20 patterns take about a second).

    Returns
    -------
    SignFlipResult
        ``statistic`` (mean difference), ``pvalue``, the method and the number of patterns used.
    """
    check_alternative(alternative)
    if method not in ("auto", "exact", "monte_carlo"):
        raise ValueError(f"method must be 'auto', 'exact' or 'monte_carlo'; found {method!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; found {n_resamples!r}")
    d = paired_differences(a, b)
    n = d.size
    if n == 0:
        raise ValueError("a must hold at least one paired difference; found none")
    observed = float(d.mean())
    exact = method == "exact" or (method == "auto" and n <= max_exact_n)
    if exact and n > 26:
        raise ValueError(f"exact enumeration of 2**{n} sign patterns is too large; use method='monte_carlo'")
    tol = 1e-12 * max(1.0, abs(observed))
    n_ge = n_le = 0
    if exact:
        total, adjust = 1 << n, 0
        for signs in _exact_signs(n):
            stats = signs @ d / n
            n_ge += int(np.count_nonzero(stats >= observed - tol))
            n_le += int(np.count_nonzero(stats <= observed + tol))
    else:
        rng = check_seed(random_state)
        total, adjust = int(n_resamples), 1
        for start in range(0, total, 1 << 14):
            size = min(1 << 14, total - start)
            stats = rng.choice([-1.0, 1.0], size=(size, n)) @ d / n
            n_ge += int(np.count_nonzero(stats >= observed - tol))
            n_le += int(np.count_nonzero(stats <= observed + tol))
    greater, less = (n_ge + adjust) / (total + adjust), (n_le + adjust) / (total + adjust)
    pvalue = {"greater": greater, "less": less}.get(alternative, min(1.0, 2 * min(greater, less)))
    return SignFlipResult(statistic=observed, pvalue=float(pvalue), method="exact" if exact else "monte_carlo",
                          n_resamples=total, n=int(n), alternative=alternative)
