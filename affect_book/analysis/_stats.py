"""The statistics table of a study: every condition against ``base`` and against ``circumplex``, paired by seed.

One row per (source, metric, comparison): the exact two-sided Wilcoxon signed-rank test, the Hodges-Lehmann shift
with its exact interval, a paired bootstrap interval, an equivalence test (TOST) where the metric has a stated
margin, and Holm-adjusted p-values across the whole table (one family). Every p-value can be recomputed from the
raw rows with ``scipy.stats.wilcoxon(a, b, method="exact")`` (tests/analysis/test_study_stats.py does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..imbalance import rare_classes
from ..params import ParameterError
from ..stats import holm, paired_comparison
from ..study import expand_study, run_splits

__all__ = ["DEFAULT_MARGINS", "REFERENCES", "SMALLEST_EFFECT", "STUDY_EFFECT", "check_comparable", "study_metrics",
           "study_rare_classes", "study_statistics"]

#: The conditions every other condition is compared with.
REFERENCES = ("base", "circumplex")
#: The one effect size the study's abstract reports: the uniform cost's +0.057 over the base model on AffectNet
#: (the abstract does not name the metric).
STUDY_EFFECT = 0.057
#: The smallest effect of interest on P_MTL and P_EXPR: an assumption, half of :data:`STUDY_EFFECT` (chapter 07's
#: power plan sizes the study by it).
SMALLEST_EFFECT = STUDY_EFFECT / 2
#: Equivalence margins (absolute, on the metric's scale) of the "matches" claims: the smallest effect of interest,
#: so "matches" means "differs by less than an effect we would care about". Metrics without a margin get no TOST.
DEFAULT_MARGINS = {"p_expr": SMALLEST_EFFECT, "p_mtl": SMALLEST_EFFECT}


def _source(frame: pd.DataFrame) -> pd.Series:
    """The data source of each row: its preset, else its dataset."""
    preset = frame["preset"] if "preset" in frame else pd.Series(None, index=frame.index, dtype=object)
    return preset.where(preset.notna() & (preset.astype(str) != ""), frame["dataset"]).astype(str)


def study_rare_classes(study, fraction: float = 0.5) -> dict[str, list[str]]:
    """The rare classes of each source of a study by chapter 02's rule (training share below ``fraction`` / C).

    Parameters
    ----------
    study : StudyConfig
        The grid (its sources' training splits are loaded, from the cache when present).
    fraction : float
        Chapter 02's ``RARE_FRACTION``.

    Returns
    -------
    dict
        Source label to its rare class names (:func:`affect_book.imbalance.rare_classes` of the training counts).
    """
    out = {}
    for run in expand_study(study):
        source = run.preset or run.dataset
        if source in out:
            continue
        train = run_splits(run)["train"]
        labels = np.asarray(train.expression)[np.asarray(train.has_expression)]
        counts = np.bincount(labels, minlength=len(run.config.classes))
        out[source] = rare_classes(counts, list(run.config.classes), fraction=fraction)
    return out


def study_metrics(rare: Sequence[str] = ()) -> tuple[str, ...]:
    """The metrics of the statistics table: P_MTL, P_EXPR and the per-class F1 of ``rare`` classes.

    Parameters
    ----------
    rare : sequence of str
        Class names.

    Returns
    -------
    tuple of str
        ``("p_mtl", "p_expr", "f1/<Class>", ...)``.
    """
    return ("p_mtl", "p_expr", *(f"f1/{c}" for c in rare))


def _pairs(conditions: Sequence[str], references: Sequence[str]) -> list[tuple[str, str]]:
    """(condition, reference) pairs, each unordered pair once (``base`` vs ``circumplex`` is not repeated)."""
    seen, out = set(), []
    for ref in references:
        if ref not in conditions:
            continue
        for cond in conditions:
            if cond != ref and frozenset((cond, ref)) not in seen:
                seen.add(frozenset((cond, ref)))
                out.append((cond, ref))
    return out


def check_comparable(conditions: Sequence[str], references: Sequence[str] = REFERENCES) -> None:
    """Refuse a grid whose statistics table would be empty: it needs a reference condition and another condition.

    Parameters
    ----------
    conditions : sequence of str
        The grid's conditions.
    references : sequence of str
        The reference conditions (default ``base`` and ``circumplex``).

    Raises
    ------
    ParameterError
        Naming the conditions and what a comparison needs (chapter 07's grid holds both references).
    """
    if not _pairs(list(conditions), references):
        raise ParameterError(f"conditions={list(conditions)} give no comparison: every condition is compared with "
                             f"{' and '.join(references)}, so a grid needs one of them and at least one other "
                             f"condition (chapter 07's grid holds both, e.g. --conditions base,circumplex)")


def study_statistics(frame: pd.DataFrame, rare: Mapping[str, Sequence[str]] | None = None, *,
                     metrics: Sequence[str] | None = None, references: Sequence[str] = REFERENCES,
                     margins: Mapping[str, float] | None = None, level: float = 0.95, n_resamples: int = 9999,
                     random_state: int = 0) -> pd.DataFrame:
    """Paired comparisons of a results table: every condition against each reference, per source and metric.

    Parameters
    ----------
    frame : pandas.DataFrame
        A study's results table (:func:`affect_book.study.run_study` or ``read_results``): columns ``dataset``,
        ``preset``, ``condition``, ``seed`` and the metrics.
    rare : mapping, optional
        Source label to its rare classes (:func:`study_rare_classes`); their ``f1/<Class>`` join the metrics.
    metrics : sequence of str, optional
        The metrics compared (default: :func:`study_metrics` of each source's rare classes).
    references : sequence of str
        Reference conditions (default ``base`` and ``circumplex``); a reference absent from the table is skipped,
        and an unordered pair is compared once (``base - circumplex`` is not added after ``circumplex - base``).
    margins : mapping, optional
        Metric to equivalence margin (default :data:`DEFAULT_MARGINS`); those metrics get an exact paired TOST.
    level : float
        Level of the Hodges-Lehmann and bootstrap intervals.
    n_resamples, random_state : int
        Of the bootstrap interval.

    Returns
    -------
    pandas.DataFrame
        One row per (source, metric, condition, reference): ``source``, ``metric``, ``condition``, ``reference``,
        ``seeds`` (the paired seeds, in order), ``n_unpaired`` (seeds present for only one of the two), then the
        fields of :class:`affect_book.stats.PairedComparison` for ``condition - reference`` (two-sided),
        ``testable`` and ``note``, and ``pvalue_holm``: Holm across every testable row of the table. A row whose
        differences are all zero (typically a rare class at F1 0 in every run of both conditions) is kept with its
        p = 1 but marked ``testable=False`` with a ``note`` saying why, and left out of the Holm family
        (``pvalue_holm`` NaN). Empty (with those columns) when no pair exists.

    Raises
    ------
    ParameterError
        When a key column or a metric is missing (naming what was expected), or a (source, condition, seed)
        appears twice.
    """
    missing = [c for c in ("dataset", "condition", "seed") if c not in frame]
    if missing:
        raise ParameterError(f"the results table lacks {missing}; expected the columns of a study's results table")
    margins = DEFAULT_MARGINS if margins is None else dict(margins)
    data = frame.assign(source=_source(frame))
    dup = data.duplicated(["source", "condition", "seed"])
    if dup.any():
        first = data.loc[dup, ["source", "condition", "seed"]].iloc[0].tolist()
        raise ParameterError(f"(source, condition, seed) {first} appears twice; one run per seed is expected")
    records = []
    for source, rows in data.groupby("source", sort=False):
        wanted = tuple(metrics) if metrics is not None else study_metrics((rare or {}).get(source, ()))
        absent = [m for m in wanted if m not in rows]
        if absent:
            raise ParameterError(f"metrics {absent} are not columns of the results table ({source}); expected "
                                 f"among {sorted(c for c in rows if c.startswith(('p_', 'f1/', 'recall/')))}")
        by_condition = {c: g.set_index("seed") for c, g in rows.groupby("condition", sort=False)}
        for metric in wanted:
            for cond, ref in _pairs(list(by_condition), references):
                a, b = by_condition[cond][metric], by_condition[ref][metric]
                seeds = sorted(set(a.index) & set(b.index))
                unpaired = len(set(a.index) ^ set(b.index))
                if len(seeds) < 1:
                    continue
                va, vb = a.loc[seeds].to_numpy(float), b.loc[seeds].to_numpy(float)
                row = paired_comparison(va, vb, margin=margins.get(metric), level=level, n_resamples=n_resamples,
                                        random_state=random_state, label=f"{cond} - {ref}")
                note = ""
                if not np.any(va) and not np.any(vb):
                    note = f"{metric} is 0 in every run of both conditions: nothing to test (p = 1 by construction)"
                elif np.array_equal(va, vb):
                    note = "equal on every seed: no nonzero difference to test (p = 1 by construction)"
                records.append({"source": source, "metric": metric, "condition": cond, "reference": ref,
                                "seeds": tuple(int(s) for s in seeds), "n_unpaired": unpaired, **row.to_dict(),
                                "testable": not note, "note": note})
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return pd.DataFrame(columns=["source", "metric", "condition", "reference", "seeds", "n_unpaired",
                                     "pvalue", "pvalue_holm", "testable", "note"])
    table["pvalue_holm"] = np.nan
    testable = table["testable"].to_numpy(bool)
    if testable.any():
        table.loc[testable, "pvalue_holm"] = holm(table.loc[testable, "pvalue"].to_numpy(float))
    return table
