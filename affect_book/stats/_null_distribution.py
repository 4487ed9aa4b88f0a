"""The exact null distribution of the signed-rank statistic W+, shared by the test and the Hodges-Lehmann interval.

The lowest module of the signed-rank family: :mod:`._shift` inverts this distribution into the Hodges-Lehmann
interval and :mod:`._signed_rank` computes the test's p-values with its dynamic programming; neither is imported
here, so imports run one way (``_null_distribution`` <- ``_shift`` <- ``_signed_rank``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..params import check_alternative


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
