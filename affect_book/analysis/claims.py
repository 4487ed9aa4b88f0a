"""The study's claims: the tracker (each claim, the chapter that tests it, its status), the rules that compute a
verdict from a results table, and the verdict files that carry it. Introduced in chapter 00.

The study the book follows states its claims in its abstract (arXiv 2606.15763, 2026). :data:`CLAIMS` lists them,
each with the chapter that tests it. A claim's **status is never typed**: it is read from a *verdict file* that the
testing chapter writes after it has computed its evidence, and a claim without one is ``"not run yet"``.

Verdict rules
-------------
The rules that compute a verdict from a results table live in :mod:`affect_book.analysis.verdicts`
(:func:`~affect_book.analysis.verdicts.directional_verdict`, :func:`~affect_book.analysis.verdicts.equivalence_verdict`:
``reproduced``, ``not reproduced``, ``inconclusive`` or ``undecidable`` with the seeds it would need);
:func:`write_claim` records one here.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..cache import cache_root, write_unless_same
from ..params import ParameterError, check_choice
from ..profiles import PROFILES
from .verdicts import VERDICTS, flat_numbers, verdict_text

__all__ = ["CLAIMS", "NOT_RUN", "SUPERSEDES", "Claim", "claim_status", "claims_table", "read_verdict", "recorded_root",
           "recorded_verdicts", "study_results", "verdict_path", "write_claim", "write_verdict"]

_REPO = Path(__file__).resolve().parents[2]
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
#: Recorded designs that replace another design's verdicts on the claims both record, whatever their seeds: chapter
#: 09's nearness design (circumplex nearness reaching the labels and faces; fix cells scored on the pair's F1)
#: replaces the earlier factorial, whose circumplex factor never reached the images or the expression labels and
#: whose representation verdict scored the quantity the fix optimises (issue 22).
SUPERSEDES = {"nearness": ("factorial",)}


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


def recorded_root() -> Path:
    """Where the book's recorded studies live: ``$AFFECT_BOOK_RESULTS`` when set, else the repository's
    ``docs/results`` (one folder per profile, one per study: :func:`affect_book.analysis.record_study`).

    Returns
    -------
    pathlib.Path
    """
    return Path(os.environ.get("AFFECT_BOOK_RESULTS") or _REPO / "docs" / "results")


def recorded_verdicts(profile: str, root: Path | None = None) -> dict[str, dict]:
    """The verdicts of the recorded studies of a profile, by claim: ``{"verdict", "n", "seeds_needed", "study",
    "kind"}``.

    Read from every ``<root>/<profile>/<study>/statistics.json`` (its ``verdicts`` and ``geometry_verdicts``); a
    claim recorded by two studies keeps the one of a design that :data:`SUPERSEDES` the other's (by the statistics'
    ``kind``), else the one with more seeds.

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
        kind = record.get("kind")
        for claim, verdict in {**record.get("verdicts", {}), **record.get("geometry_verdicts", {})}.items():
            if verdict.get("verdict") not in VERDICTS or claim not in _IDS:
                raise ValueError(f"{path}: claim {claim!r} has verdict {verdict.get('verdict')!r}; expected a claim "
                                 f"of CLAIMS and one of {list(VERDICTS)}")
            entry = {"verdict": verdict["verdict"], "n": verdict.get("n"), "seeds_needed": verdict.get("seeds_needed"),
                     "seeds_planned": verdict.get("seeds_planned"), "below_effect": verdict.get("below_effect"),
                     "study": path.parent.name, "kind": kind}
            if claim not in out or _ranks_above(entry, out[claim]):
                out[claim] = entry
    return out


def _ranks_above(entry: dict, held: dict) -> bool:
    """Whether a recorded verdict replaces the one held for the same claim: a superseding design first, then more
    seeds."""
    if held["kind"] in SUPERSEDES.get(entry["kind"], ()):
        return True
    if entry["kind"] in SUPERSEDES.get(held["kind"], ()):
        return False
    return (entry["n"] or 0) > (held["n"] or 0)


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
    for key, name in (("n", "n"), ("seeds_needed", "seeds needed"), ("below_effect", "below effect")):
        if verdict.get(key) is not None:
            numbers[name] = float(verdict[key])
    return write_verdict(claim, verdict["verdict"], numbers, chapter, profile, dataset,
                         root=Path(root) if root is not None else None, rule=verdict.get("rule"))
