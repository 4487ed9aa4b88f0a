"""Circumplex nearness as a dose: its effect on the designated pair's F1 after frequency is held fixed, per causal
path, and how much of it flows through each path (chapter 09).

The rebuilt factorial varies the pair's valence-arousal distance over several levels (a dose-response), crosses it
with frequency (published or balanced), and lets nearness reach the data by one path at a time: through the
annotators' labels (``annotation``), through the faces (``appearance``) or both. The paths are switched by the
design, so what flows through a path is read off the cells where only that path is on: a controlled decomposition,
not a regression on a measured mediator.

The unit is the seed (each seed draws its own data and initial weights in every cell): per seed and path,
:func:`nearness_effects` fits the outcome on distance with one intercept per frequency level (frequency held fixed)
and scales the slope to the design's range, so ``effect`` is the rise of the outcome from the nearest to the
farthest level: positive means nearness lowers it. :func:`nearness_verdict` tests "nearness lowers the pair's F1
after frequency is controlled" (the study's "not solely imbalance") on these per-seed effects with exact signed-rank
tests; :func:`path_decomposition` compares the paths. :func:`clustered_dose_response` is the same model on the rows,
with errors clustered by seed (statsmodels), the cross-check of the per-seed route.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from ..params import ParameterError
from ..stats import hodges_lehmann, wilcoxon_paired
from .verdicts import _decide

__all__ = ["PAIR_F1_FLOOR", "PATHS", "clustered_dose_response", "common_level_effects", "floor_table",
           "nearness_effects", "nearness_verdict", "off_floor", "path_decomposition"]

#: The causal paths of circumplex nearness to the data, in the order the chapter reports them.
PATHS = ("annotation", "appearance", "both")

#: The pair's F1 below which, at every distance, a path's frequency level is at a floor: nothing there can lower the
#: F1, so a dose-response on it would only repeat the floor. An assumption of the book, the same as the study-size
#: benchmark's ``--min-rare-f1`` default.
PAIR_F1_FLOOR = 0.05


def _check_columns(frame: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"the table lacks the column(s) {missing}; expected {list(columns)} "
                             f"(the rebuilt factorial's rows)")


def floor_table(frame: pd.DataFrame, floor: float = PAIR_F1_FLOOR, *, outcome: str = "pair_f1",
                distance: str = "distance", path: str = "path", control: str = "frequency") -> pd.DataFrame:
    """Per path and ``control`` level: the mean ``outcome`` over seeds at each distance, and whether it stays below
    ``floor`` at every distance (a floor: nearness has nothing to lower there).

    Parameters
    ----------
    frame : DataFrame
        One row per run (one condition), with the named columns.
    floor : float
        The floor (outcome units; default :data:`PAIR_F1_FLOOR`).
    outcome, distance, path, control : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed by (path, control level); one column per distance (the mean outcome) and ``at floor`` (bool).
    """
    _check_columns(frame, (outcome, distance, path, control))
    table = frame.pivot_table(index=[path, control], columns=distance, values=outcome, aggfunc="mean")
    table.columns = [float(c) for c in table.columns]
    table["at floor"] = (table < floor).all(axis=1)
    return table


def off_floor(frame: pd.DataFrame, floor: float | None = PAIR_F1_FLOOR, *, outcome: str = "pair_f1",
              distance: str = "distance", path: str = "path", control: str = "frequency") -> pd.DataFrame:
    """The rows of the path and ``control`` levels that are not at a floor (:func:`floor_table`); all rows when
    ``floor`` is None.

    Parameters
    ----------
    frame : DataFrame
        One row per run (one condition), with the named columns.
    floor : float or None
        The floor (outcome units).
    outcome, distance, path, control : str
        Column names.

    Returns
    -------
    DataFrame
        The kept rows (a path at the floor at every level has none).
    """
    if floor is None:
        return frame
    table = floor_table(frame, floor, outcome=outcome, distance=distance, path=path, control=control)
    at_floor = set(table.index[table["at floor"]])
    keep = [(p, c) not in at_floor for p, c in zip(frame[path], frame[control])]
    return frame[np.asarray(keep, dtype=bool)]


def nearness_effects(frame: pd.DataFrame, *, outcome: str = "pair_f1", distance: str = "distance",
                     path: str = "path", control: str = "frequency", seed: str = "seed",
                     floor: float | None = None) -> pd.DataFrame:
    """Per seed and path: the dose-response of ``outcome`` on the pair's distance, ``control`` held fixed.

    Within one seed and path, the least-squares fit ``outcome = a[control level] + slope * distance`` (one intercept
    per level of ``control``, a common slope); ``effect = slope * (max distance - min distance)``, the fitted rise
    from the nearest level to the farthest. With ``floor``, a path's ``control`` levels whose mean outcome stays
    below it at every distance are left out first (:func:`off_floor`): a slope of 0 there repeats the floor and
    would pull the effect towards 0.

    Parameters
    ----------
    frame : DataFrame
        One row per run (one condition), with the named columns.
    outcome, distance, path, control, seed : str
        Column names.
    floor : float, optional
        Leave out the levels at this floor (default: none left out).

    Returns
    -------
    DataFrame
        ``seed``, ``path``, ``slope``, ``effect``, ``rows`` (runs in the fit), ``levels`` (distinct distances),
        sorted by path then seed (a path left out entirely at the floor has no row).

    Raises
    ------
    ParameterError
        A column is missing, an outcome is not finite, or a seed and path has fewer than two distances.
    """
    _check_columns(frame, (outcome, distance, path, control, seed))
    frame = off_floor(frame, floor, outcome=outcome, distance=distance, path=path, control=control)
    bad = ~np.isfinite(frame[outcome].to_numpy(dtype=float))
    if bad.any():
        raise ParameterError(f"{int(bad.sum())} rows have no finite {outcome!r} (seeds "
                             f"{sorted(set(frame.loc[bad, seed]))}); expected a measured outcome in every run")
    out = []
    for (p, s), rows in frame.groupby([path, seed], sort=True):
        x = rows[distance].to_numpy(dtype=float)
        if len(np.unique(x)) < 2:
            raise ParameterError(f"path {p!r}, seed {s}: one distance level only ({sorted(set(x))}); expected two "
                                 f"or more for a dose-response")
        levels = pd.get_dummies(rows[control].astype(str)).to_numpy(dtype=float)
        design = np.column_stack([x, levels])
        coef, *_ = np.linalg.lstsq(design, rows[outcome].to_numpy(dtype=float), rcond=None)
        out.append({"seed": s, "path": p, "slope": float(coef[0]), "effect": float(coef[0] * (x.max() - x.min())),
                    "rows": len(rows), "levels": int(len(np.unique(x)))})
    return pd.DataFrame(out, columns=["seed", "path", "slope", "effect", "rows", "levels"])


def nearness_verdict(effects: pd.DataFrame, path: str, smallest_effect: float, *, alpha: float = 0.05,
                     carried: bool = True, reason: str = "") -> dict:
    """Verdict on "circumplex nearness lowers the pair's F1 after frequency is controlled", through one path.

    Claimed: the per-seed effects (:func:`nearness_effects`) are positive (exact one-sided Wilcoxon). Contrary:
    they lie below ``smallest_effect`` (exact one-sided test of ``effect - smallest_effect < 0``), so many seeds can
    say "no lowering of a size that matters". A path the data do not carry (``carried=False``: e.g. the annotation
    path with no annotation noise, where nearness cannot reach a label) is "not testable here", whatever its
    numbers.

    Parameters
    ----------
    effects : DataFrame
        :func:`nearness_effects`'s table.
    path : str
        One of its paths.
    smallest_effect : float
        The smallest rise of the outcome over the design's range that matters (outcome units; > 0).
    alpha : float
    carried : bool
        Whether this path reaches the data in the design.
    reason : str
        Why not, when ``carried`` is False (printed in the verdict).

    Returns
    -------
    dict
        ``verdict`` (``reproduced``, ``not reproduced``, ``undecidable``, ``inconclusive`` or ``not testable
        here``), ``path``, ``rule``, ``n``, ``seeds_needed``, ``below_effect`` and ``numbers`` (the effects, their
        mean, Hodges-Lehmann shift and 95 % interval with its attained coverage, the claimed and contrary p).
    """
    if not smallest_effect > 0:
        raise ParameterError(f"smallest_effect={smallest_effect!r}; expected a positive number (outcome units)")
    rule = (f"reproduced: the effect of nearness on the pair's F1 (its rise from the nearest to the farthest "
            f"distance, frequency held fixed) through the {path} path is positive over seeds (exact one-sided "
            f"Wilcoxon p <= {alpha}); not reproduced: it lies below {smallest_effect} (exact one-sided test of the "
            f"effect minus {smallest_effect}, p <= {alpha}); else undecidable when the seeds cannot give that, "
            f"inconclusive when they can")
    if not carried:
        return {"verdict": "not testable here", "path": path, "rule": rule, "reason": reason or
                f"the {path} path does not reach the data in this design", "numbers": {}, "n": None,
                "seeds_needed": None, "below_effect": False}
    d = effects.loc[effects["path"] == path].sort_values("seed")["effect"].to_numpy(dtype=float)
    if len(d) < 2:
        raise ParameterError(f"path {path!r} has {len(d)} seeds in the effects table; expected 2 or more "
                             f"(paths there: {sorted(set(effects['path']))})")
    hl = hodges_lehmann(d, unattainable="widest")
    part = {"differences": [float(x) for x in d], "mean_effect": float(d.mean()), "hl_estimate": hl.estimate,
            "hl_low": hl.low, "hl_high": hl.high, "hl_coverage": hl.achieved_level,
            "smallest_effect": float(smallest_effect),
            "p_claimed": wilcoxon_paired(d, alternative="greater").pvalue,
            "p_contrary": wilcoxon_paired(d - smallest_effect, alternative="less").pvalue}
    numbers = {path: part}
    decision = _decide(numbers, "p_claimed", "p_contrary", alpha, "greater")
    return {**decision, "path": path, "rule": rule, "alpha": alpha, "numbers": numbers}


def common_level_effects(frame: pd.DataFrame, floor: float | None = PAIR_F1_FLOOR, *, outcome: str = "pair_f1",
                         control: str = "frequency") -> tuple[pd.DataFrame, list]:
    """:func:`nearness_effects` on the ``control`` levels that every path keeps off the floor: the effects that
    :func:`path_decomposition` compares across paths (a share of one path over another fitted on other levels would
    mix levels).

    Parameters
    ----------
    frame : DataFrame
        The dose cells' rows of one condition, every path of :data:`PATHS`.
    floor : float or None
        As :func:`off_floor`.
    outcome, control : str
        Column names.

    Returns
    -------
    (DataFrame, list)
        The effects and the common levels.

    Raises
    ------
    ParameterError
        No level is off the floor in every path.
    """
    kept = off_floor(frame, floor, outcome=outcome, control=control)
    common = set.intersection(*(set(kept.loc[kept["path"] == p, control]) for p in PATHS))
    if not common:
        raise ParameterError(f"no {control} level is off the floor ({floor}) in all of {list(PATHS)}; "
                             f"the paths cannot be compared")
    return nearness_effects(kept[kept[control].isin(common)], outcome=outcome, control=control), sorted(common)


def path_decomposition(effects: pd.DataFrame, *, level: float = 0.95, n_resamples: int = 9_999,
                       seed: int = 0) -> dict:
    """How much of nearness's effect flows through each path, from the cells where one path only is on.

    Per seed: ``annotation``, ``appearance`` and ``both`` effects; the shares are the ratio of the mean effect with
    one path on to the mean with both (their seed-bootstrap percentile interval, seeds resampled with their three
    effects together, :func:`scipy.stats.bootstrap` with ``paired=True``); the non-additivity ``both - annotation -
    appearance`` per seed, with its Hodges-Lehmann shift, exact interval (attained coverage) and exact two-sided
    signed-rank p (0: the paths add up).

    Parameters
    ----------
    effects : DataFrame
        :func:`nearness_effects`'s table, with every path of :data:`PATHS`.
    level : float
        Level of the intervals.
    n_resamples : int
        Bootstrap resamples of the shares.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``seeds``, ``mean`` (per path), ``share`` (``annotation``, ``appearance``: estimate, low, high, or NaN when
        the mean through both is 0), ``non_additivity`` (estimate, low, high, coverage, p, mean).
    """
    wide = effects.pivot(index="seed", columns="path", values="effect")
    missing = [p for p in PATHS if p not in wide.columns]
    if missing:
        raise ParameterError(f"the effects table lacks the path(s) {missing}; expected {list(PATHS)}")
    wide = wide[list(PATHS)].dropna()
    if len(wide) < 2:
        raise ParameterError(f"{len(wide)} seeds have all three paths; expected 2 or more")
    a, b, both = (wide[p].to_numpy(dtype=float) for p in PATHS)
    share = {}
    for name, x in (("annotation", a), ("appearance", b)):
        if both.mean() == 0:
            share[name] = {"estimate": float("nan"), "low": float("nan"), "high": float("nan")}
            continue
        ci = stats.bootstrap((x, both), lambda u, v, axis=-1: u.mean(axis=axis) / v.mean(axis=axis), paired=True,
                             vectorized=True, confidence_level=level, n_resamples=n_resamples, method="percentile",
                             random_state=np.random.default_rng(seed)).confidence_interval
        share[name] = {"estimate": float(x.mean() / both.mean()), "low": float(ci.low), "high": float(ci.high)}
    extra = both - a - b
    hl = hodges_lehmann(extra, level=level, unattainable="widest")
    return {"seeds": [int(s) for s in wide.index], "mean": {p: float(wide[p].mean()) for p in PATHS},
            "share": share,
            "non_additivity": {"estimate": hl.estimate, "low": hl.low, "high": hl.high, "coverage": hl.achieved_level,
                               "p": wilcoxon_paired(extra).pvalue, "mean": float(extra.mean())}}


def clustered_dose_response(frame: pd.DataFrame, *, outcome: str = "pair_f1", distance: str = "distance",
                            path: str = "path", control: str = "frequency", seed: str = "seed") -> pd.DataFrame:
    """The dose-response on the rows: OLS of ``outcome`` on one distance slope and one intercept per path and
    ``control`` level, with errors clustered by seed (statsmodels, ``cov_type="cluster"``).

    With every seed running the same cells, each path's slope equals the mean of :func:`nearness_effects`'s
    per-seed slopes (the cross-check of the per-seed route); its standard error is the seed-clustered one.

    Parameters
    ----------
    frame : DataFrame
        One row per run, as :func:`nearness_effects`.
    outcome, distance, path, control, seed : str
        Column names.

    Returns
    -------
    DataFrame
        One row per path: ``path``, ``slope``, ``se``, ``low``, ``high`` (95 %, t with seeds - 1 degrees of
        freedom), ``n_clusters``; empty for no rows.
    """
    _check_columns(frame, (outcome, distance, path, control, seed))
    columns = ["path", "slope", "se", "low", "high", "n_clusters"]
    if frame.empty:  # e.g. every level at the floor (off_floor)
        return pd.DataFrame(columns=columns)
    data = pd.DataFrame({"y": frame[outcome].astype(float), "x": frame[distance].astype(float),
                         "p": frame[path].astype(str), "c": frame[control].astype(str)})
    # one intercept per (path, control) pair present in the rows: C(p):C(c) would add an all-zero column for each
    # pair left out (a level at the floor), a rank-deficient design
    data["pc"] = data["p"] + "|" + data["c"]
    groups = pd.factorize(frame[seed])[0]
    fit = smf.ols("y ~ 0 + C(pc) + C(p):x", data=data).fit(cov_type="cluster", cov_kwds={"groups": groups},
                                                            use_t=True)
    n = int(len(np.unique(groups)))
    t = stats.t.ppf(0.975, n - 1)
    out = []
    for p in sorted(data["p"].unique()):
        name = f"C(p)[{p}]:x"
        est, se = float(fit.params[name]), float(fit.bse[name])
        out.append({"path": p, "slope": est, "se": se, "low": est - t * se, "high": est + t * se, "n_clusters": n})
    return pd.DataFrame(out, columns=columns)
