"""The claim tracker: each claim of the study, the chapter that tests it, and its status. Introduced in chapter 00.

The study the book follows states its claims in its abstract (arXiv 2606.15763, 2026). :data:`CLAIMS` lists them,
each with the chapter that tests it. A claim's **status is never typed**: it is read from a *verdict file* that the
testing chapter writes after it has computed its evidence, and a claim without one is ``"not run yet"``.

Verdict-file contract
---------------------
A chapter that tests claim ``<id>`` under profile ``<profile>`` writes, with :func:`write_verdict`, the JSON file
``cache_root()/claims/<profile>/<id>.json`` (:func:`verdict_path`)::

    {"claim": "<id>",                    # one of CLAIMS' ids
     "verdict": "reproduced",            # one of VERDICTS: "reproduced", "not reproduced", "inconclusive"
     "numbers": {"p_value": 0.41, ...},  # the numbers the verdict rests on (name -> finite number), as computed
     "chapter": "07",                    # the chapter that computed them
     "profile": "cpu",                   # the profile they were computed in (also the folder's name)
     "dataset": "simulator:affwild2"}    # what they were computed on ("simulator:<preset>", "affectnet", ...)

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .cache import cache_root, write_unless_same
from .params import check_choice
from .profiles import PROFILES

__all__ = ["CLAIMS", "NOT_RUN", "VERDICTS", "Claim", "claim_status", "claims_table", "read_verdict",
           "study_results", "verdict_path", "write_verdict"]

#: The verdicts a chapter may record.
VERDICTS = ("reproduced", "not reproduced", "inconclusive")
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
    return f"{record['verdict']} (chapter {record['chapter']}, {record['profile']}, {record['dataset']}; {numbers})"


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


def claims_table(profile: str, root: Path | None = None) -> pd.DataFrame:
    """The claim tracker: every claim, what the study reports, the chapter that tests it, and its status.

    Parameters
    ----------
    profile : str
        The profile whose verdicts are shown (one of :data:`affect_book.profiles.PROFILES`).
    root : pathlib.Path, optional
        The cache root (default: :func:`affect_book.cache.cache_root`).

    Returns
    -------
    pandas.DataFrame
        Indexed by claim id; columns "claim", "the study reports", "tested in", "status".

    Raises
    ------
    ParameterError
        For an unknown profile.
    ValueError
        For a verdict file that breaks the contract.
    """
    check_choice("profile", profile, PROFILES)
    rows = [{"id": c.id, "claim": c.claim, "the study reports": c.study_reports, "tested in": f"chapter {c.chapter}",
             "status": claim_status(c.id, profile, root)} for c in CLAIMS]
    return pd.DataFrame(rows).set_index("id")
