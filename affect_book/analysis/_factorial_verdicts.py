"""Chapter 09's two computed verdicts on the factorial experiment: ``degeneracy-not-imbalance`` from the effects
table (:func:`~affect_book.analysis.factorial_effects`) and ``representations-must-separate`` from a fix cell's
runs paired by seed. Each can go against its claim: the contrary of a directional part is a shift smaller than the
smallest effect of interest, the contrary of an equivalence part a shift outside the margin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..params import ParameterError
from ..stats import hodges_lehmann, tost_paired, wilcoxon_paired
from ..study import as_sources
from .verdicts import _decide, paired_by_seed

__all__ = ["degeneracy_verdict", "representation_verdict"]


def _one_sided(estimate: float, se: float, df: float, side: str) -> float:
    t = estimate / se
    return float(stats.t.sf(t, df) if side == "greater" else stats.t.cdf(t, df))


def degeneracy_verdict(effects: pd.DataFrame, margin: float, alpha: float = 0.05,
                       smallest_effect: float | None = None) -> dict:
    """Verdict on "rare classes fail because of circumplex degeneracy, not because of imbalance", on the
    factorial's base runs: the ``circumplex`` main effect on the pair's F1 is negative (degenerate below separated)
    and the ``frequency`` main effect is within ``margin`` of 0 (two one-sided t tests on its coefficient). The t
    tests use the table's standard errors and its ``df`` (by default clustered by seed, on seeds - 1 degrees of
    freedom; :func:`factorial_effects`).

    The contrary of "degeneracy lowers the pair's F1" is "it lowers it by less than the smallest effect of
    interest" (one-sided t test of H0: effect <= -``smallest_effect``), as for chapter 07's directional claims: with
    "it raises it" alone, an effect of 0 could never be refuted, however many seeds ran. A reproduced verdict whose
    contrary also rejects is flagged ``below_effect`` (a real lowering, smaller than the effect of interest).

    Parameters
    ----------
    effects : DataFrame
        :func:`factorial_effects` of the base runs' ``pair_f1`` (both factors varied).
    margin : float
        Equivalence margin of the frequency effect (F1 units; an assumption the chapter states).
    alpha : float
    smallest_effect : float, optional
        The smallest lowering of the pair's F1 that matters (F1 units; default ``margin``).

    Returns
    -------
    dict
        ``verdict``, ``below_effect``, ``rule`` and ``numbers`` (per part: estimate, interval, the one-sided p in the
        claimed direction, the contrary p and its Holm-adjusted value), ``cov``, ``df``, ``n_clusters`` and
        ``warning`` (of the effects table: what the tests rest on).

    Raises
    ------
    ParameterError
        A factor was not varied, or the table has no standard errors (clustered by one seed).
    """
    terms = effects.set_index("term")
    for name in ("circumplex", "frequency"):
        if name not in terms.index:
            raise ParameterError(f"the effects table has no {name!r} term; vary that factor")
    c, f = terms.loc["circumplex"], terms.loc["frequency"]
    if not (np.isfinite(c["se"]) and np.isfinite(f["se"])):
        raise ParameterError(f"the effects table has no standard errors ({effects.attrs.get('warning') or 'NaN'}); "
                             f"a verdict needs them (two or more seeds)")
    # the degrees of freedom of the table's own t reference (clusters - 1 by default); a table without the column
    # (built before it existed) has the residual ones
    df = float(c["df"]) if "df" in terms.columns else float(effects.attrs["df_resid"])
    effect = float(margin if smallest_effect is None else smallest_effect)
    numbers = {
        "circumplex": {"estimate": c["estimate"], "low": c["low"], "high": c["high"], "smallest_effect": effect,
                       "p_claimed": _one_sided(c["estimate"], c["se"], df, "less"),
                       # the contrary: degeneracy lowers the F1 by less than the smallest effect of interest
                       "p_contrary": _one_sided(c["estimate"] + effect, c["se"], df, "greater")},
        "frequency": {"estimate": f["estimate"], "low": f["low"], "high": f["high"], "margin": float(margin),
                      "p_claimed": max(_one_sided(f["estimate"] + margin, f["se"], df, "greater"),
                                       _one_sided(f["estimate"] - margin, f["se"], df, "less")),
                      # the contrary of "within the margin" is "outside it" (either side, Bonferroni), not "not 0"
                      "p_contrary": min(1.0, 2 * min(_one_sided(f["estimate"] - margin, f["se"], df, "greater"),
                                                     _one_sided(f["estimate"] + margin, f["se"], df, "less"))),
                      "p_difference": float(f["pvalue"])}}
    decision = _decide(numbers, "p_claimed", "p_contrary", alpha, None)  # adds p_contrary_holm to each part
    rule = (f"reproduced: the circumplex main effect on the pair's F1 is negative (one-sided t p <= {alpha}) and "
            f"the frequency main effect lies within +-{margin} (TOST p <= {alpha}); not reproduced: the circumplex "
            f"effect lies above -{effect} (degeneracy lowers the F1 by less than the smallest effect of interest, "
            f"or raises it) or the frequency effect lies outside +-{margin} (one-sided t tests of the effect "
            f"minus and plus the margin, Bonferroni over the two sides; Holm over the two parts, <= {alpha}); else "
            f"inconclusive; t tests on the table's {effects.attrs.get('cov', 'HC3')} standard errors, {df:g} degrees "
            f"of freedom")
    return {"verdict": decision["verdict"], "below_effect": decision["below_effect"], "rule": rule, "alpha": alpha,
            "smallest_effect": effect, "numbers": numbers, "df": df,
            **{k: effects.attrs.get(k) for k in ("cov", "n_clusters", "warning")}}


def representation_verdict(frame: pd.DataFrame, cell: str, fix: str, costs: Sequence[str], margin: float,
                           metric: str = "pair_separability", alpha: float = 0.05,
                           smallest_effect: float | None = None) -> dict:
    """Verdict on "a cost cannot separate degenerate classes; the representation must", in one cell (the
    visually distinct fix cell): ``fix`` raises ``metric`` over base (exact one-sided Wilcoxon) and every cost's
    difference from base lies within ``margin`` (exact TOST).

    The contrary of "the fix raises it" is "it raises it by less than the smallest effect of interest" (exact
    one-sided test of the differences minus ``smallest_effect``), as for chapter 07's directional claims; the
    contrary of "a cost stays within the margin" is "it raises it by more than the margin".

    Parameters
    ----------
    frame : DataFrame
        The factorial table with :func:`factorial_outcomes`'s columns.
    cell : str
        The cell's label.
    fix : str
        The representation fix named before the run (the primary one; the others are reported, not tested).
    costs : sequence of str
        The cost conditions.
    margin : float
        Equivalence margin of the costs' effect on ``metric``.
    metric : str
    alpha : float
    smallest_effect : float, optional
        The smallest rise of ``metric`` by the fix that matters (default ``margin``).

    Returns
    -------
    dict
        ``verdict``, ``rule``, ``numbers`` (per part: the seeds, how many seeds had no measured ``metric``,
        Hodges-Lehmann shift and interval, claimed and contrary p, the contrary ones Holm-adjusted over the parts)
        and ``contrary_floor``: the smallest Holm-adjusted contrary p these seeds allow (with 5 seeds and 3 parts,
        3/32 > 0.05: "not reproduced" is out of reach, a limit of the design the chapter states).
    """
    sources = as_sources(frame)
    effect = float(margin if smallest_effect is None else smallest_effect)
    numbers = {}
    for condition in (fix, *costs):
        seeds, d = paired_by_seed(sources, cell, condition, "base", metric)
        measured = np.isfinite(d)  # a run whose metric could not be measured (counted below) leaves its seed out
        seeds, d, unmeasured = [s for s, m in zip(seeds, measured) if m], d[measured], int((~measured).sum())
        if len(seeds) < 2:
            raise ParameterError(f"{condition!r} and base share {len(seeds)} seeds in cell {cell!r}; expected 2+")
        hl = hodges_lehmann(d, unattainable="widest")
        part = {"seeds": seeds, "unmeasured_seeds": unmeasured, "differences": [float(x) for x in d],
                "mean_difference": float(d.mean()), "hl_estimate": hl.estimate, "hl_low": hl.low,
                "hl_high": hl.high, "hl_coverage": hl.achieved_level}
        if condition == fix:  # the contrary: it raises the metric by less than the smallest effect of interest
            part.update(smallest_effect=effect, p_claimed=wilcoxon_paired(d, alternative="greater").pvalue,
                        p_contrary=wilcoxon_paired(d - effect, alternative="less").pvalue)
        else:  # the contrary of "stays within the margin": the cost raises it by more than the margin
            part.update(margin=float(margin), p_claimed=tost_paired(d, margin=margin, method="exact").pvalue,
                        p_contrary=wilcoxon_paired(d - margin, alternative="greater").pvalue)
        numbers[f"{condition}-base"] = part
    decision = _decide(numbers, "p_claimed", "p_contrary", alpha, "greater")  # adds p_contrary_holm to each part
    rule = (f"reproduced: {fix} raises {metric} over base (exact one-sided Wilcoxon p <= {alpha}) and each of "
            f"{list(costs)} stays within +-{margin} of base (exact TOST p <= {alpha}); not reproduced: {fix} raises "
            f"it by less than {effect} (or lowers it) or a cost raises it by more than {margin} (Holm over the "
            f"parts, <= {alpha}); else undecidable "
            f"when the seeds cannot give that (fewer than {decision['seeds_needed']}), inconclusive when they can")
    floor = min(1.0, len(numbers) * min(0.5 ** len(n["seeds"]) for n in numbers.values()))
    return {**decision, "rule": rule, "alpha": alpha, "numbers": numbers, "contrary_floor": floor}
