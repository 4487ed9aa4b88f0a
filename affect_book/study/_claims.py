"""Computed verdicts on the study's claims, from a results table, and the claim files other tools read.

A claim holds on every part it names (each source, each metric), so a verdict tests every part at ``alpha`` and
calls the claim ``reproduced`` only when every part rejects its null (the intersection-union principle: a
conjunction needs no multiplicity correction); ``not reproduced`` when some part shows the opposite (Holm-adjusted
across the claim's parts, since any one of them suffices); ``inconclusive`` otherwise. Claim files:
``cache_root()/claims/<claim id>.json`` holding ``{"claim", "verdict", "numbers", "chapter", "profile", "dataset"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..claims import VERDICTS
from ..params import ParameterError

__all__ = ["VERDICTS", "directional_verdict", "equivalence_verdict", "flat_numbers", "paired_by_seed",
           "write_claim"]


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


def _part(d: np.ndarray, seeds) -> dict:
    from ..stats import hodges_lehmann

    hl = hodges_lehmann(d)
    return {"seeds": seeds, "differences": [float(x) for x in d], "mean_difference": float(d.mean()),
            "hl_estimate": hl.estimate, "hl_low": hl.low, "hl_high": hl.high,
            "smallest_one_sided_p": 0.5 ** int(np.count_nonzero(d))}


def _decide(numbers: dict, claimed: str, contrary: str, alpha: float) -> str:
    """Every part's ``claimed`` p <= alpha: reproduced; some part's ``contrary`` p, Holm-adjusted over the parts
    (added to each part as ``<contrary>_holm``), <= alpha: not reproduced; else inconclusive."""
    from ..stats import holm

    adjusted = holm([n[contrary] for n in numbers.values()])
    for n, p in zip(numbers.values(), adjusted):
        n[f"{contrary}_holm"] = float(p)
    if all(n[claimed] <= alpha for n in numbers.values()):
        return "reproduced"
    return "not reproduced" if adjusted.min() <= alpha else "inconclusive"


def directional_verdict(frame: pd.DataFrame, condition: str, reference: str, metrics: Sequence[str],
                        sources: Sequence[str], alpha: float = 0.05) -> dict:
    """Verdict on "``condition`` scores higher than ``reference`` on every metric and source".

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

    Returns
    -------
    dict
        ``verdict`` (one of :data:`VERDICTS`), ``rule`` (in words) and ``numbers``: per ``source/metric`` the
        differences, Hodges-Lehmann shift and exact interval, the exact one-sided p in the claimed direction
        (``p_claimed``), the one in the opposite direction with its Holm-adjusted value (``p_opposite_holm``), and
        the smallest one-sided p the seeds allow.
    """
    from ..stats import wilcoxon_paired

    numbers = {}
    for source in sources:
        for metric in metrics:
            seeds, d = paired_by_seed(frame, source, condition, reference, metric)
            numbers[f"{source}/{metric}"] = {**_part(d, seeds),
                                             "p_claimed": wilcoxon_paired(d, alternative="greater").pvalue,
                                             "p_opposite": wilcoxon_paired(d, alternative="less").pvalue}
    verdict = _decide(numbers, "p_claimed", "p_opposite", alpha)
    rule = (f"reproduced: every part's exact one-sided Wilcoxon p ({condition} > {reference}) <= {alpha}; "
            f"not reproduced: some part's opposite one-sided p, Holm-adjusted over the {len(numbers)} parts, "
            f"<= {alpha}; else inconclusive")
    return {"verdict": verdict, "rule": rule, "alpha": alpha, "numbers": numbers}


def equivalence_verdict(frame: pd.DataFrame, condition: str, reference: str, margins: Mapping[str, float],
                        sources: Sequence[str], alpha: float = 0.05) -> dict:
    """Verdict on "``condition`` matches ``reference``" (equivalence within a stated margin per metric).

    Parameters
    ----------
    frame : pandas.DataFrame
        A study's results table (one row per run, as :func:`run_study` returns it).
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
        ``verdict``, ``rule`` and ``numbers``: per ``source/metric`` the differences, Hodges-Lehmann shift and
        interval, the exact TOST p (``p_tost``) and the two-sided exact Wilcoxon p with its Holm-adjusted value.
    """
    from ..stats import tost_paired, wilcoxon_paired

    numbers = {}
    for source in sources:
        for metric, margin in margins.items():
            seeds, d = paired_by_seed(frame, source, condition, reference, metric)
            tost = tost_paired(d, margin=margin, method="exact", alpha=alpha)
            numbers[f"{source}/{metric}"] = {**_part(d, seeds), "margin": float(margin), "p_tost": tost.pvalue,
                                             "p_difference": wilcoxon_paired(d).pvalue}
    verdict = _decide(numbers, "p_tost", "p_difference", alpha)
    rule = (f"reproduced: every part's exact paired TOST p <= {alpha} (a large difference p is not evidence of "
            f"equality); not reproduced: some part's two-sided exact Wilcoxon p, Holm-adjusted over the "
            f"{len(numbers)} parts, <= {alpha}; else inconclusive")
    return {"verdict": verdict, "rule": rule, "alpha": alpha, "numbers": numbers}


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


def write_claim(claim: str, verdict: Mapping, profile: str, dataset: str, chapter: str = "07",
                root: str | Path | None = None) -> Path:
    """Record a verdict for the book's claim tracker (:func:`affect_book.claims.write_verdict`).

    Parameters
    ----------
    claim : str
        A claim id of :data:`affect_book.claims.CLAIMS` (e.g. ``"ot-raises-score"``).
    verdict : mapping
        From :func:`directional_verdict` or :func:`equivalence_verdict` (``verdict``, ``numbers``, ``rule``).
    profile, dataset : str
        Where the numbers come from (``dataset`` e.g. ``"simulator:affwild2"``).
    chapter : str
        The chapter that computed it.
    root : path, optional
        The cache root (default :func:`affect_book.cache.cache_root`).

    Returns
    -------
    Path
        ``<root>/claims/<profile>/<claim>.json``, with the numbers of :func:`flat_numbers` and the ``rule``.
    """
    from ..claims import write_verdict

    if verdict.get("verdict") not in VERDICTS:
        raise ParameterError(f"verdict {verdict.get('verdict')!r}: expected one of {list(VERDICTS)}")
    return write_verdict(claim, verdict["verdict"], flat_numbers(verdict), chapter, profile, dataset,
                         root=Path(root) if root is not None else None, rule=verdict.get("rule"))

