"""Power and seed counts for the package's exact paired tests: how many seeds a verdict needs before it can decide.

The tests are the exact Wilcoxon signed-rank test (:func:`wilcoxon_paired`), the exact paired TOST
(:func:`tost_paired`, ``method="exact"``) and its contrary (:func:`outside_margin_paired`). Their power under i.i.d.
Normal(effect, sd**2) differences has no closed form, so it is computed by a seeded, vectorised Monte Carlo: W+ of
each of ``n_draws`` simulated samples is compared with the rejection region read off the exact null distribution
(:func:`wilcoxon_null_distribution`). The floor of the exact test (its smallest p-value, ``0.5**n`` one-sided) is
exact arithmetic: :func:`smallest_pvalue` and :func:`seeds_to_reach`.
"""

from __future__ import annotations

import numpy as np

from ._null_distribution import wilcoxon_null_distribution
from ._tests import _margin
from ..params import check_alternative, check_choice, check_level, check_number, check_seed

_TESTS = ("shift", "equivalence", "outside")


def _integer(name: str, value, low: int, high: int | None = None) -> int:
    """An int in [low, high] (numpy integers accepted), through :func:`affect_book.params.check_number`."""
    if isinstance(value, np.integer):
        value = int(value)
    return check_number(name, value, low=low, high=high, integer=True)


def _finite(name: str, value) -> float:
    if isinstance(value, np.floating | np.integer):
        value = float(value)
    value = float(check_number(name, value))
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; found {value}")
    return value


def _rejection_table(n: int, alternative: str, alpha: float) -> np.ndarray:
    """Boolean array over W+ = 0..n(n+1)/2: True where the exact test's p-value (scipy's convention) <= alpha."""
    pmf = wilcoxon_null_distribution(n).pmf
    less, greater = np.cumsum(pmf), np.cumsum(pmf[::-1])[::-1]
    p = {"less": less, "greater": greater}.get(alternative, np.minimum(1.0, 2 * np.minimum(less, greater)))
    return p <= alpha * (1 + 1e-12)  # p-values are dyadic: a relative tolerance only absorbs rounding of the sums


def _w_plus(x: np.ndarray) -> np.ndarray:
    """W+ of each row of ``x`` (no zeros or ties, as continuous draws have): ranks of |x| summed over x > 0."""
    order = np.argsort(np.abs(x), axis=1)
    positive = np.take_along_axis(x > 0, order, axis=1)
    return positive.astype(np.int64) @ np.arange(1, x.shape[1] + 1, dtype=np.int64)


class _Design:
    """One power question, standardised by sd (the tests are invariant to scaling the differences)."""

    def __init__(self, effect, sd, alpha, alternative, test, margin):
        self.effect = _finite("effect", effect)
        sd = _finite("sd", sd)
        if sd <= 0:
            raise ValueError(f"sd must be positive (the standard deviation of the paired differences); found {sd}")
        self.sd = sd
        self.alpha = check_level(alpha, "alpha")
        self.alternative = check_alternative(alternative)
        self.test = check_choice("test", test, _TESTS)
        if test == "shift":
            if margin is not None:
                raise ValueError("margin applies to test='equivalence' or 'outside' only; found a margin with "
                                 "test='shift'")
            self.offsets = (0.0,)
        else:
            if margin is None:
                raise ValueError(f"test={test!r} needs a margin (delta for (-delta, delta), or (low, high))")
            if alternative != "two-sided":
                raise ValueError(f"alternative applies to test='shift' only; found {alternative!r} with "
                                 f"test={test!r}")
            low, high = _margin(margin)
            # equivalence: d - low "greater" and d - high "less", each at alpha (tost_paired's rule);
            # outside: d - high "greater" or d - low "less", each at alpha / 2 (outside_margin_paired's rule)
            self.offsets = (low / sd, high / sd)
        self.shift = self.effect / sd

    def floor_allows(self, n: int) -> bool:
        """Whether the exact test can reject at all with n differences (its smallest p-value <= its level)."""
        if self.test == "shift":
            return smallest_pvalue(n, self.alternative) <= self.alpha
        level = self.alpha if self.test == "equivalence" else self.alpha / 2
        return 0.5 ** n <= level

    def reject(self, w_plus: list[np.ndarray], n: int) -> np.ndarray:
        """Rejections per draw from W+ of ``x - offset`` for each offset."""
        if self.test == "shift":
            return _rejection_table(n, self.alternative, self.alpha)[w_plus[0]]
        if self.test == "equivalence":
            return (_rejection_table(n, "greater", self.alpha)[w_plus[0]]
                    & _rejection_table(n, "less", self.alpha)[w_plus[1]])
        return (_rejection_table(n, "less", self.alpha / 2)[w_plus[0]]
                | _rejection_table(n, "greater", self.alpha / 2)[w_plus[1]])

    def power(self, z: np.ndarray, shift: float | None = None) -> float:
        """Rejection rate over the rows of the standard-normal draws ``z`` (shape (n_draws, n))."""
        x = (self.shift if shift is None else shift) + z
        n = z.shape[1]
        if not self.floor_allows(n):
            return 0.0
        return float(self.reject([_w_plus(x - off) for off in self.offsets], n).mean())


def _normal_draws(rng: np.random.Generator, n: int, n_draws: int) -> np.ndarray:
    """(n_draws, n) standard normals drawn seed by seed (column j is the j-th call of ``standard_normal(n_draws)``),
    so that with the same seed the draws for n are the first n columns of those for n + 1: common random numbers."""
    return rng.standard_normal((n, n_draws)).T


def paired_power(effect: float, sd: float, n_seeds: int, *, alpha: float = 0.05, alternative: str = "two-sided",
                 test: str = "shift", margin=None, n_draws: int = 20_000, seed=0) -> float:
    """Power of the package's exact paired tests when the n paired differences are i.i.d. Normal(effect, sd**2).

    Method: seeded Monte Carlo, vectorised. ``n_draws`` samples of ``n_seeds`` differences are drawn at once (an
    ``(n_draws, n_seeds)`` array); per row the ``|d|`` are ranked and W+ (the sum of the ranks of the positive
    differences) is computed; a row rejects when its W+ falls in the exact test's rejection region, read off the
    exact null distribution (:func:`wilcoxon_null_distribution`) with scipy's p-value conventions, so each row's
    verdict is that of :func:`wilcoxon_paired` (continuous draws: no zeros or ties). The power is the rejection
    rate; its Monte Carlo standard error is ``sqrt(p (1 - p) / n_draws)`` (at most 0.0035 for the default 20,000
    draws, 0.0016 at p = 0.95). The draws depend only on ``seed`` (and the tests are invariant to scaling the
    differences), so with the same seed a power curve over ``effect`` or ``n_seeds`` uses common random numbers:
    the draws for n seeds are the first n columns of those for n + 1.

    Parameters
    ----------
    effect : float
        Mean of the paired differences (the true shift).
    sd : float
        Standard deviation of the paired differences (> 0).
    n_seeds : int
        Number of paired differences (seeds), 1 to 1000.
    alpha : float
        Level of the test.
    alternative : {"two-sided", "greater", "less"}
        Alternative of the shift test (``test="shift"`` only).
    test : {"shift", "equivalence", "outside"}
        "shift": :func:`wilcoxon_paired`, H0 shift = 0. "equivalence": the exact paired TOST within the margin
        (:func:`tost_paired` with ``method="exact"``: ``d - low`` "greater" and ``d - high`` "less", each at alpha,
        both rejecting declares equivalence). "outside": :func:`outside_margin_paired`, H0 ``low <= shift <= high``
        rejected when ``d - high`` "greater" or ``d - low`` "less" rejects at ``alpha / 2``.
    margin : float or (float, float), optional
        ``delta`` for ``(-delta, delta)`` or ``(low, high)``; required by "equivalence" and "outside".
    n_draws : int
        Monte Carlo samples.
    seed : int or numpy.random.Generator
        Seed of the draws (an int makes the result reproducible and the curves smooth).

    Returns
    -------
    float
        Estimated power (0.0 exactly when the exact test cannot reject at this n: its smallest p-value exceeds the
        level, see :func:`smallest_pvalue`).

    Examples
    --------
    Five seeds cannot reject two-sided at 0.05 however large the effect; one-sided they can.

    >>> paired_power(10.0, 1.0, 5)
    0.0
    >>> paired_power(10.0, 1.0, 5, alternative="greater")
    1.0
    """
    design = _Design(effect, sd, alpha, alternative, test, margin)
    n = _integer("n_seeds", n_seeds, 1, 1000)
    n_draws = _integer("n_draws", n_draws, 1)
    if not design.floor_allows(n):
        return 0.0
    return design.power(_normal_draws(check_seed(seed), n, n_draws))


class _RunningWPlus:
    """W+ per row of ``x`` as columns are appended one at a time, without re-sorting (O(n) per row and column).

    A new value v gets rank ``1 + #{|x_j| < |v|}``; each earlier value with ``|x_j| > |v|`` moves up one rank, which
    adds one to W+ for each positive one among them.
    """

    def __init__(self, n_rows: int, capacity: int = 16):
        self.abs = np.empty((n_rows, capacity))
        self.pos = np.empty((n_rows, capacity), dtype=bool)
        self.k = 0
        self.w_plus = np.zeros(n_rows, dtype=np.int64)

    def append(self, v: np.ndarray) -> np.ndarray:
        if self.k == self.abs.shape[1]:
            self.abs = np.concatenate([self.abs, np.empty_like(self.abs)], axis=1)
            self.pos = np.concatenate([self.pos, np.empty_like(self.pos)], axis=1)
        abs_v, pos_v = np.abs(v), v > 0
        larger = self.abs[:, : self.k] > abs_v[:, None]
        n_larger = larger.sum(axis=1)
        self.w_plus += (larger & self.pos[:, : self.k]).sum(axis=1) + pos_v * (self.k + 1 - n_larger)
        self.abs[:, self.k], self.pos[:, self.k] = abs_v, pos_v
        self.k += 1
        return self.w_plus


def seeds_for_power(effect: float, sd: float, *, power: float = 0.8, alpha: float = 0.05,
                    alternative: str = "two-sided", test: str = "shift", margin=None, max_seeds: int = 400,
                    n_draws: int = 20_000, seed=0) -> int:
    """The smallest number of seeds whose power (:func:`paired_power`) reaches ``power``.

    The exact tests are discrete, so power is not monotone in n (the achieved size jumps with the critical value);
    n is therefore scanned upward from 1, on common random numbers: with an int ``seed`` the draws for n seeds are
    the first n columns of those for n + 1, exactly those :func:`paired_power` uses with the same ``seed``. So
    ``paired_power(..., n, seed=seed) >= power`` at the returned n and ``< power`` at every smaller n. W+ is
    updated column by column (no re-sorting), so the scan costs about ``n**2 * n_draws / 2`` comparisons in all
    (a fraction of a second to n = 40, about 10 s for a scan to 400 seeds at 20,000 draws).

    Parameters
    ----------
    effect : float
        Mean of the paired differences.
    sd : float
        Standard deviation of the paired differences (> 0).
    power : float
        Target power, strictly between 0 and 1.
    alpha : float
        Level of the test.
    alternative : {"two-sided", "greater", "less"}
        Alternative of the shift test (``test="shift"`` only).
    test : {"shift", "equivalence", "outside"}
        As in :func:`paired_power`.
    margin : float or (float, float), optional
        Required by "equivalence" and "outside".
    max_seeds : int
        Largest n tried (at most 1000).
    n_draws : int
        Monte Carlo samples per n.
    seed : int or numpy.random.Generator
        Seed of the draws (an int: the same draws as :func:`paired_power` with that seed).

    Returns
    -------
    int
        The smallest n (>= 1) with power >= ``power``.

    Raises
    ------
    ValueError
        When no n up to ``max_seeds`` reaches ``power``.

    Examples
    --------
    >>> seeds_for_power(1.0, 1.0, alternative="greater", n_draws=4000)
    9
    """
    design = _Design(effect, sd, alpha, alternative, test, margin)
    target = check_level(power, "power")
    max_seeds = _integer("max_seeds", max_seeds, 1, 1000)
    n_draws = _integer("n_draws", n_draws, 1)
    rng = check_seed(seed)
    running = [_RunningWPlus(n_draws) for _ in design.offsets]
    for n in range(1, max_seeds + 1):
        x = design.shift + rng.standard_normal(n_draws)  # column n of _normal_draws(rng, ., n_draws)
        w_plus = [r.append(x - off) for r, off in zip(running, design.offsets, strict=True)]
        if design.floor_allows(n) and float(design.reject(w_plus, n).mean()) >= target:
            return n
    raise ValueError(f"power {target:g} is not reached with up to max_seeds={max_seeds} seeds (effect={effect:g}, "
                     f"sd={sd:g}, test={test!r}); raise max_seeds or revisit the effect")


def minimum_detectable_effect(sd: float, n_seeds: int, *, power: float = 0.8, alpha: float = 0.05,
                              alternative: str = "two-sided", n_draws: int = 20_000, seed=0) -> float:
    """The smallest |effect| that the exact signed-rank test detects with ``power`` at ``n_seeds`` seeds.

    Bisection on effect / sd (the test is invariant to scaling) over :func:`paired_power` with ``test="shift"``,
    on fixed draws (common random numbers), so power is a non-decreasing step function of the effect in the
    tested direction; the bisection stops at a relative width of 1e-4 and returns the upper end, whose power
    (``paired_power(..., seed=seed)``) is at least ``power``. For ``alternative="less"`` the effect is negative and
    its size is returned.

    Parameters
    ----------
    sd : float
        Standard deviation of the paired differences (> 0).
    n_seeds : int
        Number of seeds.
    power : float
        Target power, strictly between 0 and 1.
    alpha : float
        Level of the test.
    alternative : {"two-sided", "greater", "less"}
        Alternative of the test.
    n_draws : int
        Monte Carlo samples.
    seed : int or numpy.random.Generator
        Seed of the draws.

    Returns
    -------
    float
        The minimum detectable |effect|, in the units of ``sd``'s variable; ``inf`` when no effect reaches
        ``power`` (the exact test's floor: e.g. two-sided at alpha = 0.05 with 5 seeds, whose smallest p-value is
        0.0625).

    Examples
    --------
    >>> minimum_detectable_effect(1.0, 5)
    inf
    """
    design = _Design(1.0, sd, alpha, alternative, "shift", None)
    target = check_level(power, "power")
    n = _integer("n_seeds", n_seeds, 1, 1000)
    n_draws = _integer("n_draws", n_draws, 1)
    if not design.floor_allows(n):
        return float("inf")
    z = _normal_draws(check_seed(seed), n, n_draws)
    sign = -1.0 if alternative == "less" else 1.0

    def power_at(size: float) -> float:
        return design.power(z, sign * size)

    low, high = 0.0, 1.0
    while power_at(high) < target:
        low, high = high, 2 * high
        if high > 1e6:  # beyond ~40 sd every draw is positive: the power is that of the floor, reached or not
            return float("inf")
    while high - low > 1e-4 * high:
        mid = (low + high) / 2
        low, high = (low, mid) if power_at(mid) >= target else (mid, high)
    return float(high * design.sd)


def smallest_pvalue(n: int, alternative: str = "two-sided") -> float:
    """The smallest p-value the exact signed-rank test can give on n non-zero differences: the test's floor.

    All n signs in one direction give ``0.5**n`` one-sided and ``2 * 0.5**n`` two-sided (capped at 1). No test at
    a level below this floor can reject, whatever the data.

    Parameters
    ----------
    n : int
        Number of non-zero paired differences (>= 0).
    alternative : {"two-sided", "greater", "less"}
        Alternative of the test.

    Returns
    -------
    float
        The floor.

    Examples
    --------
    >>> smallest_pvalue(5), smallest_pvalue(5, "greater")
    (0.0625, 0.03125)
    """
    check_alternative(alternative)
    n = _integer("n", n, 0)
    one_sided = 0.5 ** n
    return min(1.0, 2 * one_sided) if alternative == "two-sided" else one_sided


def seeds_to_reach(alpha: float, alternative: str = "two-sided", parts: int = 1) -> int:
    """The smallest number of seeds at which the exact signed-rank test can reject at ``alpha``, after Holm.

    The smallest n with ``parts * smallest_pvalue(n, alternative) <= alpha``: with ``parts`` comparisons adjusted
    by Holm, the smallest raw p-value is multiplied by ``parts``, so below this n no comparison of the family can
    reject, whatever the effect.

    Parameters
    ----------
    alpha : float
        Level (family-wise with ``parts`` > 1).
    alternative : {"two-sided", "greater", "less"}
        Alternative of each test.
    parts : int
        Number of tests in the Holm family (>= 1).

    Returns
    -------
    int
        The number of seeds.

    Examples
    --------
    >>> seeds_to_reach(0.05), seeds_to_reach(0.05, "greater"), seeds_to_reach(0.05, "greater", parts=4)
    (6, 5, 7)
    """
    alpha = check_level(alpha, "alpha")
    check_alternative(alternative)
    parts = _integer("parts", parts, 1)
    n = 1
    while parts * smallest_pvalue(n, alternative) > alpha:
        n += 1
    return n
