"""The exact Wilcoxon signed-rank test for paired samples and the exact null distribution of W+.

Rule for zeros and ties (stated once, used everywhere): differences equal to zero are **dropped** before ranking
(scipy's ``zero_method="wilcox"``) and counted in ``n_zeros``; the remaining ``|d|`` get average ranks (ties share
the mean of their ranks); the p-value is **exact** by enumerating all ``2**n`` sign patterns over the *observed*
ranks (the conditional permutation distribution), computed by dynamic programming over doubled ranks, which are
integers even with ties. Without ties this is the classical distribution of W+ and equals
``scipy.stats.wilcoxon(..., method="exact")``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ._validation import check_alternative, paired_differences


def _subset_sum_pmf(weights: np.ndarray) -> np.ndarray:
    """pmf of sum(s_i w_i), s_i iid Bernoulli(1/2), for non-negative integer weights; index = value of the sum."""
    weights = np.asarray(weights, dtype=np.int64)
    pmf = np.zeros(int(weights.sum()) + 1)
    pmf[0] = 1.0
    top = 0
    for w in weights:
        shifted = pmf[: top + 1].copy()
        pmf[: top + 1] *= 0.5
        pmf[w: w + top + 1] += 0.5 * shifted
        top += int(w)
    return pmf


def _tail_pvalue(pmf: np.ndarray, stat: int, alternative: str) -> float:
    """P-value of an integer statistic ``stat`` under ``pmf`` (index = value), scipy's two-sided convention."""
    less = float(pmf[: stat + 1].sum())
    greater = float(pmf[stat:].sum())
    if alternative == "less":
        return min(1.0, less)
    if alternative == "greater":
        return min(1.0, greater)
    return min(1.0, 2.0 * min(less, greater))


@dataclass(frozen=True)
class SignedRankDistribution:
    """Exact null distribution of W+ (sum of the ranks of the positive differences) for ``n`` untied differences.

    Attributes
    ----------
    n : int
        Number of non-zero differences.
    support : numpy.ndarray
        The values 0, 1, ..., n(n+1)/2 that W+ can take.
    pmf : numpy.ndarray
        P(W+ = w) for each value of ``support``; each sign pattern has probability 2**-n.
    """

    n: int
    support: np.ndarray
    pmf: np.ndarray

    def cdf(self, w: float) -> float:
        """The lower tail P(W+ <= w).

        Parameters
        ----------
        w : float
            The largest value of W+ counted (values within 1e-9 above count too).

        Returns
        -------
        float
            The probability of a statistic at most ``w`` under the null.
        """
        return float(self.pmf[self.support <= w + 1e-9].sum())

    def sf(self, w: float) -> float:
        """P(W+ >= w) (the upper tail *including* ``w``, as a p-value needs).

        Parameters
        ----------
        w : float
            A value of W+.

        Returns
        -------
        float
            The upper-tail probability.
        """
        return float(self.pmf[self.support >= w - 1e-9].sum())

    def pvalue(self, w_plus: float, alternative: str = "two-sided") -> float:
        """Exact p-value of an observed W+.

        Parameters
        ----------
        w_plus : float
            The observed sum of the positive ranks.
        alternative : {"two-sided", "greater", "less"}
            "greater": P(W+ >= w_plus); "less": P(W+ <= w_plus); two-sided: twice the smaller, capped at 1.

        Returns
        -------
        float
            The p-value.
        """
        check_alternative(alternative)
        less, greater = self.cdf(w_plus), self.sf(w_plus)
        return {"less": less, "greater": greater}.get(alternative, min(1.0, 2 * min(less, greater)))

    def to_frame(self) -> pd.DataFrame:
        """The distribution as a table: one row per value of W+.

        Returns
        -------
        pandas.DataFrame
            Columns ``w_plus``, ``count`` (sign patterns giving that value, out of 2**n), ``pmf``, ``cdf``
            (P(W+ <= w)) and ``sf`` (P(W+ >= w)).
        """
        return pd.DataFrame({"w_plus": self.support, "count": np.rint(self.pmf * 2.0 ** self.n).astype(np.int64),
                             "pmf": self.pmf, "cdf": np.cumsum(self.pmf),
                             "sf": np.cumsum(self.pmf[::-1])[::-1]})


def wilcoxon_null_distribution(n: int) -> SignedRankDistribution:
    """Exact null distribution of the signed-rank statistic W+ for ``n`` non-zero, untied differences.

    Under H0 (the differences are symmetric about 0) each of the ``2**n`` sign patterns is equally likely. With
    ``n = 5`` the most extreme patterns (all five signs equal) have probability ``1/32``: the smallest one-sided
    p-value is ``1/32 = 0.03125`` and the smallest two-sided one is ``2/32 = 0.0625``.

    Parameters
    ----------
    n : int
        Number of non-zero differences (0 <= n <= 1000).

    Returns
    -------
    SignedRankDistribution
        ``support`` 0..n(n+1)/2 and the exact ``pmf``; ``to_frame()`` prints it.

    Examples
    --------
    >>> dist = wilcoxon_null_distribution(5)
    >>> dist.sf(15), dist.pvalue(15, "two-sided")
    (0.03125, 0.0625)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 1000:
        raise ValueError(f"n must be an integer between 0 and 1000; found {n!r}")
    pmf = _subset_sum_pmf(np.arange(1, n + 1))
    return SignedRankDistribution(n=int(n), support=np.arange(pmf.size), pmf=pmf)


@dataclass(frozen=True)
class WilcoxonResult:
    """Result of :func:`wilcoxon_paired` (shaped like ``scipy.stats.wilcoxon``'s result).

    Attributes
    ----------
    statistic : float
        As scipy: ``min(W+, W-)`` for a two-sided test, ``W+`` for a one-sided one.
    pvalue : float
        Exact p-value (enumeration of the sign patterns over the observed ranks).
    w_plus, w_minus : float
        Sums of the ranks of the positive and of the negative differences (``W+ + W- = n(n+1)/2``).
    n : int
        Number of non-zero differences used (zeros dropped).
    n_zeros : int
        Number of zero differences dropped.
    has_ties : bool
        Whether some ``|d|`` were tied (average ranks used; the p-value is still exact, conditional on the ranks).
    differences : tuple of float
        All signed differences ``a - b`` in input order, zeros included, for display.
    alternative : str
        "two-sided", "greater" (``a`` tends to exceed ``b``) or "less".
    method : str
        Always "exact".
    """

    statistic: float
    pvalue: float
    w_plus: float
    w_minus: float
    n: int
    n_zeros: int
    has_ties: bool
    differences: tuple
    alternative: str
    method: str = "exact"

    def confidence_interval(self, level: float = 0.95):
        """Exact distribution-free interval for the shift (Hodges-Lehmann), which inverts this test.

        Parameters
        ----------
        level : float
            Nominal confidence level.

        Returns
        -------
        HodgesLehmannResult
            Estimate, interval (one-sided for a one-sided test) and achieved coverage.
        """
        from ._shift import hodges_lehmann

        return hodges_lehmann(np.asarray(self.differences), level=level, alternative=self.alternative)


def wilcoxon_paired(a, b=None, *, alternative: str = "two-sided", method: str = "exact") -> WilcoxonResult:
    """Paired Wilcoxon signed-rank test, exact for every n (with zeros and ties handled as below).

    Zeros of ``d = a - b`` are dropped (scipy's ``zero_method="wilcox"``) and counted; ``|d|`` is ranked with
    average ranks for ties; the p-value enumerates all ``2**n`` sign patterns over the observed ranks (dynamic
    programming, so n = 1000 is as cheap as n = 5). Without ties and zeros the p-value equals
    ``scipy.stats.wilcoxon(a, b, method="exact", alternative=...)``. When every difference is zero, ``n = 0``,
    W+ = W- = 0 and the p-value is 1 (no evidence either way).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements (one per seed); ``b=None`` tests ``a`` itself as the differences.
    alternative : {"two-sided", "greater", "less"}
        "greater": ``a - b`` tends to be positive.
    method : {"exact"}
        Only the exact method is offered (see :func:`sign_flip_test` for a Monte Carlo test of the mean).

    Returns
    -------
    WilcoxonResult
        ``statistic`` (scipy's convention), ``pvalue``, ``w_plus``, ``w_minus``, counts and the signed differences.

    Examples
    --------
    The study's two p-values with 5 seeds: a two-sided test whose smaller rank sum is 5 (W+ = 10, W- = 5), and a
    one-sided test with all five differences in the tested direction.

    >>> wilcoxon_paired([1.0, -2.0, -3.0, 4.0, 5.0]).pvalue  # W+ = 1 + 4 + 5 = 10, min(W+, W-) = 5
    0.625
    >>> wilcoxon_paired([0.1, 0.2, 0.3, 0.4, 0.5], alternative="greater").pvalue  # W+ = 15
    0.03125
    """
    check_alternative(alternative)
    if method != "exact":
        raise ValueError(f"method must be 'exact'; found {method!r}")
    d = paired_differences(a, b)
    if d.size == 0:
        raise ValueError("a must hold at least one paired difference; found none")
    nonzero = d[d != 0]
    n = nonzero.size
    ranks = rankdata(np.abs(nonzero)) if n else np.zeros(0)
    doubled = np.rint(2 * ranks).astype(np.int64)
    w_plus2 = int(doubled[nonzero > 0].sum())
    pvalue = _tail_pvalue(_subset_sum_pmf(doubled), w_plus2, alternative)
    w_plus, w_minus = w_plus2 / 2, n * (n + 1) / 2 - w_plus2 / 2
    statistic = min(w_plus, w_minus) if alternative == "two-sided" else w_plus
    return WilcoxonResult(statistic=float(statistic), pvalue=pvalue, w_plus=float(w_plus), w_minus=float(w_minus),
                          n=int(n), n_zeros=int(d.size - n), has_ties=bool(np.unique(ranks).size < n),
                          differences=tuple(float(x) for x in d), alternative=alternative)
