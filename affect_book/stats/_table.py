"""One tidy row per paired comparison, and a table of them with Holm-adjusted p-values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ._shift import bootstrap_interval, hodges_lehmann
from ._signed_rank import wilcoxon_paired
from ._tests import holm, tost_paired
from ..params import check_alternative, paired_differences


@dataclass(frozen=True)
class PairedComparison:
    """One row of a comparison table (see :func:`paired_comparison` for the meaning of each field).

    Attributes
    ----------
    n, n_zeros : int
        Paired differences, and how many of them are zero (dropped by the signed-rank test only).
    mean_difference, median_difference : float
        Of ``d = a - b``.
    differences : tuple of float
        The signed differences, in input (seed) order.
    w_plus, statistic, pvalue : float
        Exact signed-rank W+, scipy's statistic (min(W+, W-) two-sided, W+ one-sided) and the exact p-value.
    alternative : str
        Alternative of the test and side of the intervals.
    hl_estimate, hl_low, hl_high, hl_level, hl_achieved_level : float
        Hodges-Lehmann shift, its exact interval, the nominal level and the attained coverage: where these seeds
        cannot reach the nominal level (95 % needs 6 differences), the widest finite interval and its lower
        coverage (e.g. 1 - 2/32 at n = 5), never an interval that only looks like a 95 % one.
    boot_low, boot_high : float
        Paired percentile-bootstrap interval of the Hodges-Lehmann shift (NaN when n < 2).
    margin_low, margin_high, tost_method, tost_pvalue, equivalent : float, float, str, float, bool or None
        Equivalence test (TOST, exact by default) when a margin was given, else None.
    label : str or None
        Name of the comparison (e.g. "circumplex - base").
    """

    n: int
    n_zeros: int
    mean_difference: float
    median_difference: float
    differences: tuple
    w_plus: float
    statistic: float
    pvalue: float
    alternative: str
    hl_estimate: float
    hl_low: float
    hl_high: float
    hl_level: float
    hl_achieved_level: float
    boot_low: float
    boot_high: float
    margin_low: float | None = None
    margin_high: float | None = None
    tost_method: str | None = None
    tost_pvalue: float | None = None
    equivalent: bool | None = None
    label: str | None = None

    def to_dict(self) -> dict:
        """The row as a plain dict (field order kept).

        Returns
        -------
        dict
            Field name to value.
        """
        return asdict(self)


def paired_comparison(a, b, *, alternative: str = "two-sided", margin=None, level: float = 0.95,
                      tost_alpha: float = 0.05, tost_method: str = "exact", n_resamples: int = 9999, random_state=0,
                      label: str | None = None) -> PairedComparison:
    """Everything a table reports about one paired comparison ``a - b`` (e.g. one condition against base).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements, one per seed, in the same seed order.
    alternative : {"two-sided", "greater", "less"}
        Alternative of the exact Wilcoxon test; the Hodges-Lehmann interval takes the same side.
    margin : float or (float, float), optional
        Equivalence margin: when given, an exact TOST (:func:`tost_paired`) is added.
    level : float
        Nominal level of the Hodges-Lehmann and bootstrap intervals.
    tost_alpha : float
        Level of the equivalence test.
    tost_method : {"exact", "t"}
        Exact Wilcoxon TOST (default; distribution-free) or the paired t version.
    n_resamples : int
        Bootstrap resamples.
    random_state : int or numpy.random.Generator
        Bootstrap seed.
    label : str, optional
        Name of the comparison, kept in the row.

    Returns
    -------
    PairedComparison
        One row; ``to_dict()`` gives a dict for :func:`comparison_table`.
    """
    check_alternative(alternative)
    d = paired_differences(a, b)
    test = wilcoxon_paired(d, alternative=alternative)
    hl = hodges_lehmann(d, level=level, alternative=alternative, unattainable="widest")
    boot_low = boot_high = float("nan")
    if d.size >= 2:
        boot = bootstrap_interval(d, level=level, n_resamples=n_resamples, random_state=random_state)
        boot_low, boot_high = boot.low, boot.high
    extra = {}
    if margin is not None:
        tost = tost_paired(d, margin=margin, method=tost_method, alpha=tost_alpha)
        extra = {"margin_low": tost.margin[0], "margin_high": tost.margin[1], "tost_method": tost.method,
                 "tost_pvalue": tost.pvalue, "equivalent": tost.equivalent}
    return PairedComparison(n=int(d.size), n_zeros=test.n_zeros, mean_difference=float(d.mean()),
                            median_difference=float(np.median(d)), differences=test.differences,
                            w_plus=test.w_plus, statistic=test.statistic, pvalue=test.pvalue,
                            alternative=alternative, hl_estimate=hl.estimate, hl_low=hl.low, hl_high=hl.high,
                            hl_level=hl.level, hl_achieved_level=hl.achieved_level, boot_low=boot_low,
                            boot_high=boot_high, label=label, **extra)


def comparison_table(rows: Sequence | Mapping) -> pd.DataFrame:
    """A table of paired comparisons with Holm-adjusted p-values across its rows (one family).

    Parameters
    ----------
    rows : sequence of PairedComparison or dict, or mapping from label to either
        The comparisons of one family (e.g. every condition against base on one metric). With a mapping, its keys
        become the ``label`` column.

    Returns
    -------
    pandas.DataFrame
        One row per comparison, the fields of :class:`PairedComparison` plus ``pvalue_holm`` (Holm over the
        rows' ``pvalue``).
    """
    items = list(rows.items()) if isinstance(rows, Mapping) else [(None, r) for r in rows]
    if not items:
        raise ValueError("rows must hold at least one comparison; found none")
    records = []
    for i, (key, row) in enumerate(items):
        if isinstance(row, PairedComparison):
            record = row.to_dict()
        elif isinstance(row, Mapping):
            record = dict(row)
        else:
            raise TypeError(f"rows[{key if key is not None else i}] must be a PairedComparison or a dict; "
                            f"found {type(row).__name__}")
        if "pvalue" not in record:
            raise ValueError(f"rows[{key if key is not None else i}] has no 'pvalue' field")
        if key is not None:
            record["label"] = key
        records.append(record)
    table = pd.DataFrame.from_records(records)
    table["pvalue_holm"] = holm(table["pvalue"].to_numpy(dtype=float))
    return table
