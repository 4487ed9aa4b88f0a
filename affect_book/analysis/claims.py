"""The study's claims: the tracker (each claim, the chapter that tests it, its status), the rules that compute a
verdict from a results table, and the verdict files that carry it. Introduced in chapter 00.

The study the book follows states its claims in its abstract (arXiv 2606.15763, 2026). :data:`CLAIMS` lists them,
each with the chapter that tests it. A claim's **status is never typed**: it is read from a *verdict file* that the
testing chapter writes after it has computed its evidence, and a claim without one is ``"not run yet"``.

Verdict rules
-------------
A claim holds on every part it names (each source, each metric), so a verdict tests every part at ``alpha`` and
calls the claim ``reproduced`` only when every part rejects its null (the intersection-union principle: a
conjunction needs no multiplicity correction); ``not reproduced`` when some part's *contrary* test rejects
(Holm-adjusted across the claim's parts, since any one of them suffices). The contrary of "``a`` beats ``b``" is
"``b`` beats ``a``" (the opposite one-sided test); the contrary of "``a`` matches ``b`` within a margin" is "the
shift lies outside the margin" (:func:`~affect_book.stats.outside_margin_paired`), never "differs from 0". A verdict
that is neither is ``undecidable`` when the run's seeds could not have given the contrary at all (its smallest
attainable Holm-adjusted p is above ``alpha``: the verdict file carries ``n`` and the seeds it would need), and
``inconclusive`` when they could have and did not (:func:`directional_verdict`, :func:`equivalence_verdict`;
chapter 09's rules build on the same decision).

Verdict-file contract
---------------------
A chapter that tests claim ``<id>`` under profile ``<profile>`` writes, with :func:`write_claim` (a verdict of the
rules above) or :func:`write_verdict` (any numbers), the JSON file ``cache_root()/claims/<profile>/<id>.json``
(:func:`verdict_path`)::

    {"claim": "<id>",                    # one of CLAIMS' ids
     "verdict": "reproduced",            # one of VERDICTS: "reproduced", "not reproduced", "inconclusive",
                                         # "undecidable" (numbers then hold "n" and "seeds needed")
     "numbers": {"p_value": 0.41, ...},  # the numbers the verdict rests on (name -> finite number), as computed
     "chapter": "07",                    # the chapter that computed them
     "profile": "cpu",                   # the profile they were computed in (also the folder's name)
     "dataset": "simulator:affwild2",    # what they were computed on ("simulator:<preset>", "affectnet", ...)
     "rule": "reproduced: ..."}          # optional: how the verdict was decided

The file is written atomically, so a reader never sees half a verdict; a file that breaks the contract is an error
naming the file and the field (:func:`read_verdict`), never a silent "not run yet". Verdicts are kept per profile:
a ``smoke`` run (whose numbers are not meant to be read) never stands in for a ``cpu`` or ``gpu`` one.

The study's own results store (``cache_root()/studies/<study hash>/results.csv``, written by the study runner)
holds the raw numbers; :func:`study_results` lists the stores that exist, so the preface can say whether a study
has run even before a chapter has judged a claim from it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cache import cache_root, write_unless_same
from ..params import ParameterError, check_choice
from ..profiles import PROFILES
from ..stats import (hodges_lehmann, holm, outside_margin_paired, seeds_to_reach, smallest_pvalue, tost_paired,
                     wilcoxon_paired)

__all__ = ["CLAIMS", "NOT_RUN", "VERDICTS", "Claim", "claim_status", "claims_table", "directional_verdict",
           "equivalence_verdict", "flat_numbers", "paired_by_seed", "read_verdict", "recorded_root",
           "recorded_verdicts",
           "study_results", "verdict_path", "verdict_text", "verdicts_frame", "write_claim", "write_verdict"]

_REPO = Path(__file__).resolve().parents[2]
#: The verdicts a chapter may record.
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "undecidable")
#: The status of a claim that has no verdict file.
NOT_RUN = "not run yet"
_FIELDS = ("claim", "verdict", "numbers", "chapter", "profile", "dataset")


@dataclass(frozen=True)
class Claim:
    """One claim of the study.

    Attributes
    ----------
    id : str
        Short identifier, the verdict file's name.
    claim : str
        The claim, in the book's words.
    study_reports : str
        What the study's abstract reports for it (the study's numbers, not the book's).
    chapter : str
        The chapter that tests it (``"07"``).
    """

    id: str
    claim: str
    study_reports: str
    chapter: str


#: The study's claims (from its abstract) and the chapter that tests each: 07 the controlled study, 08 the geometry
#: of the errors, 09 beyond the cost.
CLAIMS = (
    Claim("degeneracy-not-imbalance",
          "The rare classes fail because of circumplex degeneracy (anger-fear on Aff-Wild2, anger-contempt on "
          "AffectNet), not because of class imbalance.", "stated in the abstract", "09"),
    Claim("ot-raises-score",
          "The circumplex OT cost raises the official score and the expression macro-F1 over the base model.",
          "stated in the abstract", "07"),
    Claim("uniform-matches-affwild2",
          "On Aff-Wild2 a uniform cost of the same scale matches the circumplex cost.",
          "no difference, p = 0.625", "07"),
    Claim("uniform-beats-affectnet",
          "On AffectNet the uniform cost beats the circumplex cost.", "+0.057 over the base model", "07"),
    Claim("geometry-nearer-affwild2",
          "On Aff-Wild2 the circumplex cost puts the errors affectively nearer the truth.", "p = 0.031", "08"),
    Claim("geometry-not-affectnet",
          "On AffectNet it does not (the study points to a visual confound).", "stated in the abstract", "08"),
    Claim("uniform-is-confidence-penalty",
          "The uniform cost acts as a generic confidence penalty (the study's reading; tested as equivalence with "
          "Pereyra et al.'s entropy penalty).", "stated in the abstract", "07"),
    Claim("uniform-is-noise-robust",
          "The uniform cost acts as a noise-robust reweighting of cross-entropy (the book's reading of chapter 04; "
          "tested as equivalence with generalised cross-entropy).", "not a claim of the study: the book's "
          "alternative reading", "07"),
    Claim("representations-must-separate",
          "A cost cannot separate degenerate classes; the representation must.", "stated in the abstract", "09"),
)
_IDS = tuple(c.id for c in CLAIMS)


def verdict_path(claim_id: str, profile: str, root: Path | None = None) -> Path:
    """Where the verdict of one claim under one profile lives (the file may not exist).

    Parameters
    ----------
    claim_id : str
        One of the ids in :data:`CLAIMS`.
    profile : str
        One of :data:`affect_book.profiles.PROFILES`.
    root : pathlib.Path, optional
        The cache root (default: :func:`affect_book.cache.cache_root`).

    Returns
    -------
    pathlib.Path
        ``root/claims/<profile>/<claim_id>.json``.
    """
    check_choice("claim", claim_id, _IDS)
    check_choice("profile", profile, PROFILES)
    return Path(root or cache_root()) / "claims" / profile / f"{claim_id}.json"


def _checked(record: Any, where: str, claim_id: str | None = None, profile: str | None = None) -> dict:
    """Check a verdict record against the contract; raise ``ValueError`` naming ``where`` and the field."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object with fields {list(_FIELDS)}, got {type(record).__name__}")
    missing = [f for f in _FIELDS if f not in record]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing}; a verdict has {list(_FIELDS)}")
    if record["claim"] not in _IDS or (claim_id is not None and record["claim"] != claim_id):
        raise ValueError(f"{where}: claim {record['claim']!r}; expected {claim_id or 'one of ' + str(list(_IDS))!r}")
    if record["verdict"] not in VERDICTS:
        raise ValueError(f"{where}: verdict {record['verdict']!r}; expected one of {list(VERDICTS)}")
    if record["profile"] not in PROFILES or (profile is not None and record["profile"] != profile):
        raise ValueError(f"{where}: profile {record['profile']!r}; expected {profile or list(PROFILES)!r}")
    numbers = record["numbers"]
    if not isinstance(numbers, dict) or not numbers:
        raise ValueError(f"{where}: numbers must be a non-empty object of name -> number, got {numbers!r}")
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: numbers[{name!r}] = {value!r}; expected a finite number")
    for field in ("chapter", "dataset"):
        if not isinstance(record[field], str) or not record[field]:
            raise ValueError(f"{where}: {field} {record[field]!r}; expected a non-empty string")
    return record


def write_verdict(claim_id: str, verdict: str, numbers: dict[str, float], chapter: str, profile: str,
                  dataset: str, root: Path | None = None, rule: str | None = None) -> Path:
    """Record a chapter's verdict on a claim (the contract in the module docstring); atomic.

    Parameters
    ----------
    claim_id : str
        One of the ids in :data:`CLAIMS`.
    verdict : str
        One of :data:`VERDICTS`.
    numbers : dict of str to float
        The computed numbers the verdict rests on (at least one; finite).
    chapter : str
        The chapter that computed them.
    profile : str
        The profile they were computed in.
    dataset : str
        What they were computed on, e.g. ``"simulator:affwild2"`` or ``"affectnet"``.
    root : pathlib.Path, optional
        The cache root (default: :func:`affect_book.cache.cache_root`).
    rule : str, optional
        How the verdict was decided (kept in the file as ``"rule"``, an optional field).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ParameterError
        For an unknown claim or profile.
    ValueError
        For a verdict, numbers, chapter or dataset that break the contract.
    """
    path = verdict_path(claim_id, profile, root)
    numbers = {str(k): float(v) if not isinstance(v, bool) and isinstance(v, (int, float)) else v
               for k, v in dict(numbers).items()}
    record = _checked({"claim": claim_id, "verdict": verdict, "numbers": numbers, "chapter": str(chapter),
                       "profile": profile, "dataset": dataset}, f"verdict for {claim_id!r}", claim_id, profile)
    if rule is not None:
        record["rule"] = str(rule)
    return write_unless_same(path, (json.dumps(record, indent=2) + "\n").encode())  # a read-only cache holding it: fine


def read_verdict(claim_id: str, profile: str, root: Path | None = None) -> dict | None:
    """The recorded verdict on a claim under a profile, or None when no chapter has written one.

    Parameters
    ----------
    claim_id, profile, root
        As in :func:`verdict_path`.

    Returns
    -------
    dict or None
        The record (fields as in the module docstring), or None when the file does not exist.

    Raises
    ------
    ValueError
        When the file exists but is not valid JSON or breaks the contract (naming the file and the field).
    """
    path = verdict_path(claim_id, profile, root)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a valid verdict file ({err}); delete it and rerun chapter "
                         f"{dict((c.id, c.chapter) for c in CLAIMS)[claim_id]}") from err
    return _checked(record, str(path), claim_id, profile)


def claim_status(claim_id: str, profile: str, root: Path | None = None) -> str:
    """A claim's status in words: ``"not run yet"``, or the verdict with its numbers and their provenance.

    Parameters
    ----------
    claim_id, profile, root
        The claim, the profile whose verdict is wanted and the cache root, as :func:`read_verdict` takes them.

    Returns
    -------
    str
        E.g. ``"reproduced (chapter 07, cpu, simulator:affwild2; p_value = 0.41)"``.
    """
    record = read_verdict(claim_id, profile, root)
    if record is None:
        return NOT_RUN
    numbers = ", ".join(f"{name} = {value:.4g}" for name, value in record["numbers"].items())
    return f"{verdict_text(record)} (chapter {record['chapter']}, {record['profile']}, {record['dataset']}; {numbers})"


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
    if record["verdict"] != "undecidable":
        return str(record["verdict"])
    n = record.get("n", numbers.get("n"))
    needed = record.get("seeds_needed", numbers.get("seeds needed"))
    if n is None or needed is None:
        return "undecidable"
    return f"undecidable at n = {int(n)} (needs >= {int(needed)} seeds)"


def recorded_root() -> Path:
    """Where the book's recorded studies live: ``$AFFECT_BOOK_RESULTS`` when set, else the repository's
    ``docs/results`` (one folder per profile, one per study: :func:`affect_book.analysis.record_study`).

    Returns
    -------
    pathlib.Path
    """
    return Path(os.environ.get("AFFECT_BOOK_RESULTS") or _REPO / "docs" / "results")


def recorded_verdicts(profile: str, root: Path | None = None) -> dict[str, dict]:
    """The verdicts of the recorded studies of a profile, by claim: ``{"verdict", "n", "seeds_needed", "study"}``.

    Read from every ``<root>/<profile>/<study>/statistics.json`` (its ``verdicts`` and ``geometry_verdicts``); a
    claim recorded by two studies keeps the one with more seeds.

    Parameters
    ----------
    profile : str
        One of :data:`affect_book.profiles.PROFILES`.
    root : pathlib.Path, optional
        Default :func:`recorded_root`.

    Returns
    -------
    dict
        Claim id to its recorded verdict; empty when nothing is recorded for the profile.

    Raises
    ------
    ValueError
        For a statistics file that is not valid JSON, or a verdict not among :data:`VERDICTS` (naming the file).
    """
    check_choice("profile", profile, PROFILES)
    out: dict[str, dict] = {}
    for path in sorted((Path(root or recorded_root()) / profile).glob("*/statistics.json")):
        try:
            record = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        for claim, verdict in {**record.get("verdicts", {}), **record.get("geometry_verdicts", {})}.items():
            if verdict.get("verdict") not in VERDICTS or claim not in _IDS:
                raise ValueError(f"{path}: claim {claim!r} has verdict {verdict.get('verdict')!r}; expected a claim "
                                 f"of CLAIMS and one of {list(VERDICTS)}")
            entry = {"verdict": verdict["verdict"], "n": verdict.get("n"), "seeds_needed": verdict.get("seeds_needed"),
                     "seeds_planned": verdict.get("seeds_planned"), "study": path.parent.name}
            if claim not in out or (entry["n"] or 0) > (out[claim]["n"] or 0):
                out[claim] = entry
    return out


def study_results(root: Path | None = None) -> list[Path]:
    """The study results stores that exist: ``cache_root()/studies/<study hash>/results.csv``.

    Parameters
    ----------
    root : pathlib.Path, optional
        The cache root (default: :func:`affect_book.cache.cache_root`).

    Returns
    -------
    list of pathlib.Path
        The ``results.csv`` files, sorted; empty when no study has run.
    """
    return sorted((Path(root or cache_root()) / "studies").glob("*/results.csv"))


def claims_table(profile: str, root: Path | None = None, results_root: Path | None = None) -> pd.DataFrame:
    """The claim tracker: every claim, what the study reports, the chapter that tests it, and its status.

    Parameters
    ----------
    profile : str
        The profile whose verdicts are shown (one of :data:`affect_book.profiles.PROFILES`).
    root : pathlib.Path, optional
        The cache root (default: :func:`affect_book.cache.cache_root`).
    results_root : pathlib.Path, optional
        Where the recorded studies are (default :func:`recorded_root`).

    Returns
    -------
    pandas.DataFrame
        Indexed by claim id; columns "claim", "the study reports", "tested in", "status" (this run's verdict with
        its numbers), "this run" (its verdict and number of seeds) and "recorded (cpu)" (the book's recorded
        study's verdict, its number of seeds and its folder).

    Raises
    ------
    ParameterError
        For an unknown profile.
    ValueError
        For a verdict file that breaks the contract.
    """
    check_choice("profile", profile, PROFILES)
    recorded = recorded_verdicts("cpu", results_root)
    rows = []
    for c in CLAIMS:
        mine = read_verdict(c.id, profile, root)
        n = mine["numbers"].get("n") if mine else None
        rec = recorded.get(c.id)
        rows.append({"id": c.id, "claim": c.claim, "the study reports": c.study_reports,
                     "tested in": f"chapter {c.chapter}", "status": claim_status(c.id, profile, root),
                     "this run": (f"{verdict_text(mine)} (n = {int(n)})" if n is not None else verdict_text(mine))
                     if mine else NOT_RUN,
                     "recorded (cpu)": f"{verdict_text(rec)} (n = {rec['n']}, docs/results/cpu/{rec['study']})"
                     if rec else "not recorded"})
    return pd.DataFrame(rows).set_index("id")


# The verdict rules: a verdict on a claim, computed from a results table.

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

    Returns ``{"verdict", "n", "n_nonzero", "seeds_needed"}``: ``n`` the fewest paired seeds of a part,
    ``n_nonzero`` the fewest nonzero differences (the exact test drops zeros, so these decide what p is reachable)
    and ``seeds_needed`` the fewest nonzero differences that could give the contrary (at alpha, Holm over the
    parts). With
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
    if all(n[claimed] <= alpha for n in numbers.values()):
        verdict = "reproduced"
    elif adjusted.min() <= alpha:
        verdict = "not reproduced"
    elif contrary_sides is not None and parts * smallest_pvalue(nonzero, contrary_sides) > alpha:
        verdict = "undecidable"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "n": n_min, "n_nonzero": nonzero, "seeds_needed": needed}


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
        ``verdict`` (one of :data:`VERDICTS`), ``n`` (the fewest paired seeds of a part), ``seeds_needed``
        (the fewest that could refute), ``rule`` (in words) and ``numbers``: per ``source/metric`` the
        differences, Hodges-Lehmann shift and exact interval (with its attained coverage), the exact one-sided p
        in the claimed direction (``p_claimed``), the one in the opposite direction with its Holm-adjusted value
        (``p_opposite_holm``), and the smallest one-sided p the seeds allow.
    """
    numbers = {}
    for source in sources:
        for metric in metrics:
            seeds, d = paired_by_seed(frame, source, condition, reference, metric)
            numbers[f"{source}/{metric}"] = {**_part(d, seeds),
                                             "p_claimed": wilcoxon_paired(d, alternative="greater").pvalue,
                                             "p_opposite": wilcoxon_paired(d, alternative="less").pvalue}
    decision = _decide(numbers, "p_claimed", "p_opposite", alpha, "greater")
    rule = (f"reproduced: every part's exact one-sided Wilcoxon p ({condition} > {reference}) <= {alpha}; "
            f"not reproduced: some part's opposite one-sided p, Holm-adjusted over the {len(numbers)} parts, "
            f"<= {alpha}; else undecidable when the seeds cannot give that (fewer than "
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


def write_claim(claim: str, verdict: Mapping, profile: str, dataset: str, chapter: str = "07",
                root: str | Path | None = None) -> Path:
    """Record a verdict for the book's claim tracker (:func:`write_verdict`).

    Parameters
    ----------
    claim : str
        A claim id of :data:`CLAIMS` (e.g. ``"ot-raises-score"``).
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
    if verdict.get("verdict") not in VERDICTS:
        raise ParameterError(f"verdict {verdict.get('verdict')!r}: expected one of {list(VERDICTS)}")
    numbers = flat_numbers(verdict)
    for key, name in (("n", "n"), ("seeds_needed", "seeds needed")):
        if verdict.get(key) is not None:
            numbers[name] = float(verdict[key])
    return write_verdict(claim, verdict["verdict"], numbers, chapter, profile, dataset,
                         root=Path(root) if root is not None else None, rule=verdict.get("rule"))



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
