"""Plot of the exact null distribution of the signed-rank statistic."""

from __future__ import annotations

import numpy as np

from ._null_distribution import wilcoxon_null_distribution
from ..params import check_alternative


def plot_wilcoxon_null(n: int, *, observed: float | None = None, alternative: str = "two-sided", ax=None):
    """Bar plot of the exact null distribution of W+ for ``n`` differences, with the observed tail shaded.

    Parameters
    ----------
    n : int
        Number of non-zero differences (e.g. 5 seeds).
    observed : float, optional
        Observed W+; the values at least as extreme (for ``alternative``) are drawn in a second colour and the
        exact p-value is written in the title.
    alternative : {"two-sided", "greater", "less"}
        Which tail(s) count as extreme.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a new figure when None).

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with labelled x ("W+") and y (probability under H0) axes.
    """
    import matplotlib.pyplot as plt  # deferred: the rest of affect_book.stats does not plot; pyplot loads with a figure

    check_alternative(alternative)
    dist = wilcoxon_null_distribution(n)
    new_figure = ax is None
    if new_figure:
        _, ax = plt.subplots(figsize=(6, 3.5))
    colors = np.full(dist.support.size, "tab:gray", dtype=object)
    title = f"Exact null distribution of W+, n = {n} ({2 ** n if n <= 62 else 'many'} sign patterns)"
    if observed is not None:
        total = n * (n + 1) / 2
        mirror = total - observed
        lo, hi = min(observed, mirror), max(observed, mirror)
        extreme = {"greater": dist.support >= observed - 1e-9, "less": dist.support <= observed + 1e-9,
                   "two-sided": (dist.support <= lo + 1e-9) | (dist.support >= hi - 1e-9)}[alternative]
        colors[extreme] = "tab:red"
        title += f"\nobserved W+ = {observed:g}, {alternative} p = {dist.pvalue(observed, alternative):.4g}"
    ax.bar(dist.support, dist.pmf, color=list(colors), width=0.85)
    ax.set_xlabel("W+ (sum of the ranks of the positive differences)")
    ax.set_ylabel("probability under H0")
    ax.set_title(title, fontsize=10)
    if new_figure:
        ax.figure.tight_layout()
    return ax
