"""The power plan of the study's claims, and their verdicts from one results table. Introduced in chapter 07.

A verdict must be able to go against its claim, so the plan comes first: for each claim, the smallest effect of
interest (and why), the seed spread of its paired differences (from a pilot: the reader's run or the recorded
study), the seeds the claimed test needs for 80 % power, and the seeds the contrary test needs before it can reject
at all (an exact test on few seeds has a floor: 5 seeds give no one-sided p below 1/32). The margins of the
equivalence claims are the same smallest effects, so "matches" means "within an effect we would care about".

The smallest effect of interest is an **assumption**, labelled as one: half of the one effect size the study's
abstract reports (the uniform cost's +0.057 over the base model on AffectNet; the abstract does not name the
metric), on P_MTL and on P_EXPR alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..params import ParameterError, check_choice
from ..stats import paired_power, seeds_for_power, seeds_to_reach
from ._stats import SMALLEST_EFFECT, STUDY_EFFECT, _source
from .verdicts import directional_verdict, equivalence_verdict, paired_by_seed

__all__ = ["CHAPTER_07_TESTS", "CHAPTER_08_TESTS", "ClaimTest", "SMALLEST_EFFECT", "STUDY_EFFECT", "claim_verdicts",
           "power_plan"]



@dataclass(frozen=True)
class ClaimTest:
    """How one claim is tested on a results table.

    Attributes
    ----------
    claim : str
        A claim id of :data:`~affect_book.analysis.CLAIMS`.
    kind : {"directional", "equivalence"}
        "``condition`` beats ``reference``" or "``condition`` matches ``reference`` within a margin".
    condition, reference : str
        The conditions compared (paired by seed).
    sources : tuple of str
        The sources the claim names; empty: every source of the table.
    metrics : tuple of str
        The metrics the claim names.
    """

    claim: str
    kind: str
    condition: str
    reference: str
    sources: tuple = ()
    metrics: tuple = ("p_mtl", "p_expr")

    def __post_init__(self):
        check_choice("kind", self.kind, ("directional", "equivalence"))

    def parts(self, frame: pd.DataFrame) -> list[str]:
        """The sources of ``frame`` this claim covers.

        Parameters
        ----------
        frame : pandas.DataFrame
            A results (or geometry) table.

        Returns
        -------
        list of str
            The named sources (or every source) present in ``frame``; empty when a condition is missing.
        """
        present = set(_source(frame))
        conditions = set(frame["condition"])
        if not {self.condition, self.reference} <= conditions:
            return []
        return [s for s in (self.sources or sorted(present)) if s in present]


#: Chapter 07's claims (the readings of the uniform term are tested where the grid holds their conditions).
CHAPTER_07_TESTS = (
    ClaimTest("ot-raises-score", "directional", "circumplex", "base", ("affwild2", "affectnet")),
    ClaimTest("uniform-matches-affwild2", "equivalence", "uniform", "circumplex", ("affwild2",)),
    ClaimTest("uniform-beats-affectnet", "directional", "uniform", "circumplex", ("affectnet",)),
    ClaimTest("uniform-is-confidence-penalty", "equivalence", "uniform", "confidence_penalty"),
    ClaimTest("uniform-is-noise-robust", "equivalence", "uniform", "gce"),
)
#: Chapter 08's claims, on the geometry table (:func:`~affect_book.analysis.study_geometry`): the errors of the
#: base model lie farther from the truth than the circumplex model's on Aff-Wild2, and not on AffectNet.
CHAPTER_08_TESTS = (
    ClaimTest("geometry-nearer-affwild2", "directional", "base", "circumplex", ("affwild2",), ("error_distance",)),
    ClaimTest("geometry-not-affectnet", "equivalence", "circumplex", "base", ("affectnet",), ("error_distance",)),
)


def claim_verdicts(frame: pd.DataFrame, tests: Sequence[ClaimTest], margins: Mapping[str, float],
                   alpha: float = 0.05) -> dict[str, dict]:
    """The verdict of every claim ``frame`` can test (:func:`directional_verdict`, :func:`equivalence_verdict`).

    Parameters
    ----------
    frame : pandas.DataFrame
        A results table (or a geometry table), one row per run.
    tests : sequence of ClaimTest
        The claims and how each is tested (:data:`CHAPTER_07_TESTS`, :data:`CHAPTER_08_TESTS`).
    margins : mapping
        Metric to its smallest effect of interest: the equivalence margin of an equivalence claim, and the
        threshold of a directional claim's contrary ("raises it by less than that").
    alpha : float
        Level of each test.

    Returns
    -------
    dict
        Claim id to verdict, in the order of ``tests``; a claim whose conditions or sources are not in ``frame``
        is left out.
    """
    out = {}
    for test in tests:
        sources = test.parts(frame)
        if not sources:
            continue
        if test.kind == "directional":
            out[test.claim] = directional_verdict(frame, test.condition, test.reference, test.metrics, sources, alpha,
                                                  smallest_effects=margins)
        else:
            missing = [m for m in test.metrics if m not in margins]
            if missing:
                raise ParameterError(f"claim {test.claim!r} is an equivalence claim on {missing}, which have no "
                                     f"margin; margins given: {dict(margins)}")
            out[test.claim] = equivalence_verdict(frame, test.condition, test.reference,
                                                  {m: margins[m] for m in test.metrics}, sources, alpha)
    return out


def power_plan(frame: pd.DataFrame, tests: Sequence[ClaimTest], effects: Mapping[str, float], *,
               alpha: float = 0.05, power: float = 0.8, n_draws: int = 20_000, max_seeds: int = 400,
               seed: int = 0) -> pd.DataFrame:
    """Seeds each claim needs, from a pilot's spread: one row per claim and part.

    For a directional part: the seeds for ``power`` to find the smallest effect of interest with the exact
    one-sided test (:func:`~affect_book.stats.seeds_for_power`, differences Normal(effect, pilot sd)). For an
    equivalence part: the seeds for the exact TOST within the margin (the smallest effect) to conclude equivalence
    with ``power`` when the true shift is 0. Either way, also the seeds below which the contrary cannot reject at
    ``alpha`` (Holm over the claim's parts; :func:`~affect_book.stats.seeds_to_reach`), and what the pilot's own n
    can decide.

    Parameters
    ----------
    frame : pandas.DataFrame
        The pilot: a results (or geometry) table.
    tests : sequence of ClaimTest
        The claims.
    effects : mapping
        Metric to its smallest effect of interest (and equivalence margin), on the metric's scale.
    alpha, power : float
        Level and target power.
    n_draws, max_seeds, seed : int
        Monte Carlo draws of each power, the largest number of seeds searched, the seed of the draws.

    Returns
    -------
    pandas.DataFrame
        ``claim``, ``part``, ``kind``, ``effect of interest``, ``pilot n``, ``pilot sd``, ``seeds for power``,
        ``power at pilot n``, ``seeds for the contrary``, ``seeds needed`` (the larger), ``pilot decides``
        (whether the pilot's n reaches both). A part whose pilot has no spread (fewer than 2 seeds, or all
        differences equal) gets NaN seeds for power.
    """
    rows = []
    for test in tests:
        sources = test.parts(frame)
        if not sources:  # a condition or a named source not in this table: nothing to plan from
            continue
        parts = len(sources) * len(test.metrics)
        contrary = int(seeds_to_reach(alpha, "greater" if test.kind == "directional" else "two-sided", parts=parts))
        for source in sources:
            for metric in test.metrics:
                if metric not in effects:
                    raise ParameterError(f"no smallest effect of interest for {metric!r} (claim {test.claim!r}); "
                                         f"given: {dict(effects)}")
                effect = float(effects[metric])
                _, d = paired_by_seed(frame, source, test.condition, test.reference, metric)
                sd = float(np.std(d, ddof=1)) if d.size > 1 else float("nan")
                options = {"alpha": alpha, "n_draws": n_draws, "seed": seed}
                if test.kind == "directional":
                    options.update(alternative="greater", test="shift")
                    shift = effect
                else:
                    options.update(test="equivalence", margin=effect)
                    shift = 0.0
                if np.isfinite(sd) and sd > 0:
                    try:
                        needed = float(seeds_for_power(shift, sd, power=power, max_seeds=max_seeds, **options))
                    except ValueError:
                        needed = float("inf")
                    at_n = float(paired_power(shift, sd, int(d.size), **options)) if d.size else float("nan")
                else:
                    needed, at_n = float("nan"), float("nan")
                total = max(needed, contrary) if np.isfinite(needed) or needed == float("inf") else float(contrary)
                rows.append({"claim": test.claim, "part": f"{source}/{metric}", "kind": test.kind,
                             "effect of interest": effect, "pilot n": int(d.size), "pilot sd": sd,
                             "seeds for power": needed, "power at pilot n": at_n,
                             "seeds for the contrary": contrary, "seeds needed": total,
                             "pilot decides": bool(d.size >= total)})
    return pd.DataFrame(rows)
