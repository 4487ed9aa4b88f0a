"""Statistics of paired comparisons across seeds: exact tests, intervals, multiplicity and equivalence.
Introduced in chapter 07 (the controlled study).

- :func:`wilcoxon_paired`: exact Wilcoxon signed-rank test (zeros dropped, ties by average ranks, exact over the
  observed ranks), with :func:`wilcoxon_null_distribution` and :func:`plot_wilcoxon_null` to show why 5 seeds give
  p >= 0.0625 two-sided and p >= 0.03125 one-sided;
- :func:`hodges_lehmann`: the paired shift with its exact interval (achieved coverage stated; ``unattainable="widest"``
  gives the widest finite interval when the level cannot be reached);
  :func:`bootstrap_interval`: a paired bootstrap interval through ``scipy.stats.bootstrap``;
- :func:`holm`: Holm-adjusted p-values across the comparisons of a table;
- :func:`tost_paired`: paired equivalence (TOST) within a stated margin, exact or t; :func:`outside_margin_paired`:
  its contrary, an exact test that the shift lies outside the margin;
- :func:`sign_flip_test`: sign-flip permutation test of the mean difference (exact or seeded Monte Carlo);
- :func:`paired_comparison` and :func:`comparison_table`: one tidy row per comparison, and the table;
- :func:`paired_power`, :func:`seeds_for_power` and :func:`minimum_detectable_effect`: power of the exact tests
  (shift, equivalence, outside a margin) under normal differences, by seeded Monte Carlo, and its inverses;
  :func:`smallest_pvalue` and :func:`seeds_to_reach`: the exact test's floor and the seeds needed to get under
  alpha (Holm over several parts).

Results are frozen dataclasses shaped like scipy.stats' results (``statistic``, ``pvalue``, and an interval where
one is defined).
"""

from ._null_distribution import SignedRankDistribution, wilcoxon_null_distribution
from ._plot import plot_wilcoxon_null
from ._power import minimum_detectable_effect, paired_power, seeds_for_power, seeds_to_reach, smallest_pvalue
from ._shift import (
    BootstrapInterval,
    HodgesLehmannResult,
    bootstrap_interval,
    hodges_lehmann,
    hodges_lehmann_estimate,
    walsh_averages,
)
from ._signed_rank import WilcoxonResult, wilcoxon_paired
from ._table import PairedComparison, comparison_table, paired_comparison
from ._tests import (
    OutsideMarginResult,
    SignFlipResult,
    TOSTResult,
    holm,
    outside_margin_paired,
    sign_flip_test,
    tost_paired,
)

__all__ = ["BootstrapInterval", "HodgesLehmannResult", "OutsideMarginResult", "PairedComparison", "SignFlipResult",
           "SignedRankDistribution", "TOSTResult", "WilcoxonResult", "bootstrap_interval", "comparison_table",
           "hodges_lehmann", "hodges_lehmann_estimate", "holm", "minimum_detectable_effect", "outside_margin_paired",
           "paired_comparison", "paired_power", "plot_wilcoxon_null", "seeds_for_power", "seeds_to_reach",
           "sign_flip_test", "smallest_pvalue", "tost_paired", "walsh_averages", "wilcoxon_null_distribution",
           "wilcoxon_paired"]
