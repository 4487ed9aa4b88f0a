"""The verdict rules: a verdict on one of the study's claims, computed from a results table. Introduced in chapter 07.

A claim holds on every part it names (each source, each metric), so a verdict tests every part at ``alpha`` and
calls the claim ``reproduced`` only when every part rejects its null (the intersection-union principle: a
conjunction needs no multiplicity correction); ``not reproduced`` when some part's *contrary* test rejects
(Holm-adjusted across the claim's parts, since any one of them suffices). The contrary of "``a`` beats ``b``" is
"``a`` beats ``b`` by less than the smallest effect of interest" where one is stated (else "``b`` beats ``a``");
the contrary of "``a`` matches ``b`` within a margin" is "the
shift lies outside the margin" (:func:`~affect_book.stats.outside_margin_paired`), never "differs from 0". A verdict
that is neither is ``undecidable`` when the run's seeds could not have given the contrary at all (its smallest
attainable Holm-adjusted p is above ``alpha``: the verdict carries ``n`` and the seeds it would need), and
``inconclusive`` when they could have and did not (:func:`directional_verdict`, :func:`equivalence_verdict`;
chapter 09's rules build on the same decision). The claim tracker and the verdict files are
:mod:`affect_book.analysis.claims`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..params import ParameterError
from ..stats import (hodges_lehmann, holm, outside_margin_paired, seeds_to_reach, smallest_pvalue, tost_paired,
                     wilcoxon_paired)

__all__ = ["VERDICTS", "directional_verdict", "equivalence_verdict", "flat_numbers", "paired_by_seed",
           "verdict_text", "verdicts_frame"]

#: The verdicts a chapter may record.
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "undecidable")


def paired_by_seed(frame: pd.DataFrame, source: str, condition: str, reference: str, metric: str):
    """The seeds both conditions ran on one source, and ``condition - reference`` of ``metric`` on each.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results table.
    source : str
        A preset (or, for real data, the dataset's name).
    condition, reference : str
        Conditions of the table.
    metric : str
        A metric column.

    Returns
    -------
    seeds : list of int
        The paired seeds, sorted.
    differences : numpy.ndarray
        ``condition - reference`` per seed.
    """
    source_of = frame["preset"].where(frame["preset"].notna(), frame["dataset"]).astype(str)
    rows = frame[source_of == source]
    if metric not in rows:
        raise ParameterError(f"metric {metric!r} is not a column of the results table")
    values = {c: rows[rows["condition"] == c].set_index("seed")[metric] for c in (condition, reference)}
    for c, v in values.items():
        if v.empty:
            raise ParameterError(f"no {c!r} runs on {source!r} in the results table; conditions there: "
                                 f"{sorted(rows['condition'].unique())}")
    seeds = sorted(set(values[condition].index) & set(values[reference].index))
    return [int(s) for s in seeds], (values[condition].loc[seeds] - values[reference].loc[seeds]).to_numpy(float)


def _part(d: np.ndarray, seeds, level: float = 0.95) -> dict:
    """A part's numbers: the differences, the Hodges-Lehmann shift and its exact interval at ``level`` or, where
    these seeds cannot reach ``level``, the widest finite one with its attained coverage (``hl_coverage``)."""
    hl = hodges_lehmann(d, level=level, unattainable="widest")
    return {"seeds": seeds, "n": len(seeds), "differences": [float(x) for x in d], "mean_difference": float(d.mean()),
            "sd_difference": float(d.std(ddof=1)) if d.size > 1 else float("nan"),
            "hl_estimate": hl.estimate, "hl_low": hl.low, "hl_high": hl.high, "hl_coverage": hl.achieved_level,
            "smallest_one_sided_p": smallest_pvalue(int(np.count_nonzero(d)), "greater")}


def _decide(numbers: dict, claimed: str, contrary: str, alpha: float, contrary_sides: str | None) -> dict:
    """Every part's ``claimed`` p <= alpha: reproduced; some part's ``contrary`` p, Holm-adjusted over the parts
    (added to each part as ``<contrary>_holm``), <= alpha: not reproduced; else undecidable when the smallest
    Holm-adjusted contrary p these seeds allow (an exact test of ``contrary_sides``: "greater" for one side,
    "two-sided" for either of two) is above alpha, inconclusive when it is not.

    Returns ``{"verdict", "n", "n_nonzero", "seeds_needed", "below_effect"}`` (``below_effect``: reproduced, and
    some part's contrary rejects too, so the shift is real but below the smallest effect of interest): ``n`` the
    fewest paired seeds of a part, ``n_nonzero`` the fewest nonzero differences (the exact test drops zeros, so
    these decide what p is reachable) and ``seeds_needed`` the fewest nonzero differences that could give the
    contrary (at alpha, Holm over the parts). With
    ``contrary_sides=None`` (contrary tests without a floor, such as t tests of model coefficients) there is no
    "undecidable", and ``n`` and ``seeds_needed`` are None."""
    parts = len(numbers)
    adjusted = holm([n[contrary] for n in numbers.values()])
    for n, p in zip(numbers.values(), adjusted):
        n[f"{contrary}_holm"] = float(p)
    n_min = needed = nonzero = None
    if contrary_sides is not None:
        n_min = min(len(n["differences"]) for n in numbers.values())
        nonzero = min(int(np.count_nonzero(n["differences"])) for n in numbers.values())  # zeros carry no sign
        needed = int(seeds_to_reach(alpha, contrary_sides, parts=parts))
    small = False
    if all(n[claimed] <= alpha for n in numbers.values()):
        verdict = "reproduced"
        small = bool(adjusted.min() <= alpha)  # the contrary rejects too: a real shift, below the effect of interest
    elif adjusted.min() <= alpha:
        verdict = "not reproduced"
    elif contrary_sides is not None and parts * smallest_pvalue(nonzero, contrary_sides) > alpha:
        verdict = "undecidable"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "n": n_min, "n_nonzero": nonzero, "seeds_needed": needed, "below_effect": small}


def directional_verdict(frame: pd.DataFrame, condition: str, reference: str, metrics: Sequence[str],
                        sources: Sequence[str], alpha: float = 0.05,
                        smallest_effects: Mapping[str, float] | None = None) -> dict:
    """Verdict on "``condition`` scores higher than ``reference`` on every metric and source".

    The claimed test of a part is the exact one-sided Wilcoxon test of a positive shift. Its contrary is "the
    shift is below the smallest effect of interest" (the exact one-sided test of ``d - effect < 0``) when
    ``smallest_effects`` names one for the metric, so that a study with enough seeds can say "no raise of a size
    that matters"; without one it is the opposite direction (``d < 0``), which a true null effect never reaches.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results table.
    condition, reference : str
        The claimed winner and the condition it beats.
    metrics, sources : sequence of str
        The parts of the claim.
    alpha : float
        Level of each test.
    smallest_effects : mapping, optional
        Metric to its smallest effect of interest (:data:`~affect_book.analysis.SMALLEST_EFFECT` for P_MTL and
        P_EXPR); a metric without one keeps the opposite direction as its contrary.

    Returns
    -------
    dict
        ``verdict`` (one of :data:`VERDICTS`), ``n`` (the fewest paired seeds of a part), ``seeds_needed``
        (the fewest that could refute), ``rule`` (in words) and ``numbers``: per ``source/metric`` the
        differences, Hodges-Lehmann shift and exact interval (with its attained coverage), the exact one-sided p
        in the claimed direction (``p_claimed``), the one in the opposite direction (``p_opposite``), the
        contrary's p with its Holm-adjusted value (``p_contrary``, ``p_contrary_holm``; with the smallest effect
        ``effect`` when one was given), and the smallest one-sided p the seeds allow.
    """
    effects = dict(smallest_effects or {})
    numbers = {}
    for source in sources:
        for metric in metrics:
            seeds, d = paired_by_seed(frame, source, condition, reference, metric)
            part = {**_part(d, seeds), "p_claimed": wilcoxon_paired(d, alternative="greater").pvalue,
                    "p_opposite": wilcoxon_paired(d, alternative="less").pvalue}
            if metric in effects:
                part["effect"] = float(effects[metric])
                part["p_contrary"] = wilcoxon_paired(d - effects[metric], alternative="less").pvalue
            else:
                part["p_contrary"] = part["p_opposite"]
            numbers[f"{source}/{metric}"] = part
    decision = _decide(numbers, "p_claimed", "p_contrary", alpha, "greater")
    stated = ", ".join(f"{m} {effects[m]:g}" for m in metrics if m in effects)
    against = f"the shift lies below the smallest effect of interest ({stated})" if stated else \
        f"{reference} scores higher"
    rule = (f"reproduced: every part's exact one-sided Wilcoxon p ({condition} > {reference}) <= {alpha}; "
            f"not reproduced: some part's contrary ({against}; exact one-sided Wilcoxon), Holm-adjusted over the "
            f"{len(numbers)} parts, <= {alpha}; else undecidable when the seeds cannot give that (fewer than "
            f"{decision['seeds_needed']} nonzero differences), inconclusive when they can")
    return {**decision, "rule": rule, "alpha": alpha, "numbers": numbers}


def equivalence_verdict(frame: pd.DataFrame, condition: str, reference: str, margins: Mapping[str, float],
                        sources: Sequence[str], alpha: float = 0.05) -> dict:
    """Verdict on "``condition`` matches ``reference``" (equivalence within a stated margin per metric).

    Parameters
    ----------
    frame : pandas.DataFrame
        A study's results table (one row per run, as :func:`~affect_book.study.run_study` returns it).
    condition, reference : str
        The two conditions claimed to match.
    margins : mapping
        Metric to its equivalence margin (absolute, on the metric's scale); the metrics are the claim's parts.
    sources : sequence of str
        Sources the claim covers.
    alpha : float
        Level of each test.

    Returns
    -------
    dict
        ``verdict``, ``n``, ``seeds_needed``, ``rule`` and ``numbers``: per ``source/metric`` the differences,
        Hodges-Lehmann shift and interval (with its attained coverage), the exact TOST p (``p_tost``), the exact
        p of a shift outside the margin with its Holm-adjusted value (``p_outside``, ``p_outside_holm``: the
        contrary), and, for reading only, the two-sided exact Wilcoxon p of a difference from 0.
    """
    numbers = {}
    for source in sources:
        for metric, margin in margins.items():
            seeds, d = paired_by_seed(frame, source, condition, reference, metric)
            tost = tost_paired(d, margin=margin, method="exact", alpha=alpha)
            outside = outside_margin_paired(d, margin=margin, alpha=alpha)
            numbers[f"{source}/{metric}"] = {**_part(d, seeds), "margin": float(margin), "p_tost": tost.pvalue,
                                             "p_outside": outside.pvalue,
                                             "p_difference": wilcoxon_paired(d).pvalue}
    decision = _decide(numbers, "p_tost", "p_outside", alpha, "two-sided")
    rule = (f"reproduced: every part's exact paired TOST p <= {alpha} (a large difference p is not evidence of "
            f"equality); not reproduced: some part's shift lies outside its margin (exact Wilcoxon tests of the "
            f"differences minus and plus the margin, Bonferroni over the two sides), Holm-adjusted over the "
            f"{len(numbers)} parts, <= {alpha}; else undecidable when the seeds cannot give that (fewer than "
            f"{decision['seeds_needed']} nonzero differences), inconclusive when they can. A difference from 0 "
            f"(p_difference) is shown, never used")
    return {**decision, "rule": rule, "alpha": alpha, "numbers": numbers}


def flat_numbers(verdict: Mapping) -> dict[str, float]:
    """A verdict's per-part numbers as the claim tracker stores them: ``"<part> <name>"`` -> finite number.

    Lists (the signed differences) become ``"<part> <name>[i]"``; a non-finite value (the open end of an interval
    that few seeds allow) is left out and counted in ``"<part> non-finite values left out"``.

    Parameters
    ----------
    verdict : mapping
        From :func:`directional_verdict` or :func:`equivalence_verdict`.

    Returns
    -------
    dict of str to float
    """
    out: dict[str, float] = {}
    for part, numbers in verdict["numbers"].items():
        left_out = 0
        for name, value in numbers.items():
            values = list(np.ravel(value)) if isinstance(value, (list, tuple, np.ndarray)) else [value]
            for i, v in enumerate(values):
                key = f"{part} {name}" + (f"[{i}]" if len(values) > 1 or isinstance(value, (list, tuple)) else "")
                if isinstance(v, (bool, np.bool_)) or v is None:
                    continue
                if np.isfinite(float(v)):
                    out[key] = float(v)
                else:
                    left_out += 1
        if left_out:
            out[f"{part} non-finite values left out"] = float(left_out)
    return out


def verdicts_frame(claims: Mapping[str, Mapping], columns: Sequence[str],
                   names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A table of verdicts: one row per claim and part, with the part's numbers named in ``columns``.

    Parameters
    ----------
    claims : mapping
        Claim id to verdict (:func:`directional_verdict` or :func:`equivalence_verdict`), in the order to list.
    columns : sequence of str
        Numbers of a part to show (e.g. ``"hl_estimate"``, ``"p_claimed"``), in this order; a part without one of
        them leaves it out of its row (NaN in the table).
    names : mapping, optional
        Column headings for some of ``columns`` (e.g. ``{"smallest_one_sided_p": "smallest p the seeds allow"}``).

    Returns
    -------
    DataFrame
        Columns ``claim``, ``verdict``, ``part``, then ``columns`` (renamed by ``names``); empty without claims.
    """
    names = names or {}
    return pd.DataFrame([{"claim": claim, "verdict": verdict_text(verdict), "part": part,
                          **{names.get(k, k): numbers[k] for k in columns if k in numbers}}
                         for claim, verdict in claims.items() for part, numbers in verdict["numbers"].items()])


def verdict_text(record: Mapping) -> str:
    """A verdict in words, with the seeds an undecidable one would need: ``"undecidable at n = 5 (needs >= 7
    seeds)"``; an inconclusive one with the seeds its power plan asks for when the verdict carries them
    (``seeds_planned``: ``"inconclusive at n = 24 (the power plan asks for 31 seeds)"``); any other as it is.

    Parameters
    ----------
    record : mapping
        A verdict (``verdict`` and, for an undecidable one, ``n`` and ``seeds_needed`` at its top level or
        ``"n"`` and ``"seeds needed"`` among its ``numbers``).

    Returns
    -------
    str
    """
    numbers = record.get("numbers", {})
    planned = record.get("seeds_planned", numbers.get("seeds planned"))
    if record["verdict"] == "inconclusive" and planned is not None and np.isfinite(planned):
        n = record.get("n", numbers.get("n"))
        return f"inconclusive at n = {int(n)} (the power plan asks for {int(planned)} seeds)" if n is not None \
            else "inconclusive"
    if record["verdict"] == "reproduced" and record.get("below_effect", numbers.get("below effect")):
        return "reproduced (a shift smaller than the smallest effect of interest)"
    if record["verdict"] != "undecidable":
        return str(record["verdict"])
    n = record.get("n", numbers.get("n"))
    needed = record.get("seeds_needed", numbers.get("seeds needed"))
    if n is None or needed is None:
        return "undecidable"
    return f"undecidable at n = {int(n)} (needs >= {int(needed)} seeds)"
