"""Chapter 09 on real data: does a class pair that overlaps in its valence-arousal labels get confused more often?

One row per unordered class pair (:func:`pair_overlap_table`), three things side by side:

- **label frequency**: each class's expression-labelled training images (``n_a``, ``n_b``, with or without
  valence-arousal) and their shares of all labelled images; ``rarer_share`` is the smaller share;
- **valence-arousal overlap** of the two classes' *per-image* labels. Primary: the Bhattacharyya coefficient of the
  two bivariate Gaussians fitted to them (mean, covariance with ``ddof=1``, plus ``ridge`` on the diagonal),
  ``BC = exp(-D_B)``, ``D_B = (1/8) d' S^-1 d + (1/2) ln(det S / sqrt(det S_a det S_b))``, ``S = (S_a + S_b) / 2``,
  ``d = m_a - m_b``: ``BC = integral of sqrt(p_a p_b)``, 1 for identical Gaussians, towards 0 for far ones
  (:func:`bhattacharyya_coefficient`). Beside it, ``mahalanobis``: the distance between the class means over their
  pooled within-class covariance, ``sqrt(d' P^-1 d)``, ``P = ((n_a - 1) S_a + (n_b - 1) S_b) / (n_a + n_b - 2)``
  (the two-dimensional "difference of means over the pooled SD"), and ``mean_distance``, the plain Euclidean distance
  between the means;
- **confusion** in a trained model, from a confusion matrix ``C`` (rows the true class, columns the predicted one,
  as :func:`affect_book.metrics.confusion_matrix`), **row-normalised**: ``confusion_ab = C[a, b] / sum_j C[a, j]``,
  the share of class a's test images predicted as b, and the symmetric rate ``confusion = (confusion_ab +
  confusion_ba) / 2``.

:func:`pair_associations` relates them across pairs: Spearman rank correlations (scipy) of the overlap and of the
rarer class's share with the confusion, and an OLS (statsmodels) of the confusion on the overlap and the log share of
the rarer class. These are **descriptive**: n is the number of pairs (28 for 8 classes), the pairs share classes so
they are not independent (the p values treat them as if they were), and nothing here is causal.

:func:`va_labels` takes what the loaders return (a :class:`~affect_book.data.records.RecordIndex`, an
:class:`~affect_book.data.base.ArrayDataset`, or the simulator's label arrays) and counts the images left out or
without valence-arousal, so nothing is dropped silently; :func:`study_pair_table` does all of it for one source's
finished study (its training labels and its base runs' test predictions; nothing trains).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import spearmanr

from ..metrics import confusion_matrix
from ..params import ParameterError
from ..study import expand_study, run_splits
from ._geometry import study_predictions

__all__ = ["OVERLAP_RIDGE", "VALabels", "bhattacharyya_coefficient", "pair_associations", "pair_overlap_table",
           "study_pair_table", "summed_confusion", "va_labels"]

#: Added to the diagonal of every fitted valence-arousal covariance: a variance floor of (0.01)^2, about the
#: resolution of the labels, so that a class whose labels lie on a line (two images, or one repeated value) still has
#: a defined overlap.
OVERLAP_RIDGE = 1e-4


@dataclass(frozen=True)
class VALabels:
    """The per-image labels :func:`pair_overlap_table` reads, and what was left out on the way.

    Attributes
    ----------
    va : numpy.ndarray
        (N, 2) float valence, arousal of the expression-labelled images; NaN: no valence-arousal label.
    labels : numpy.ndarray
        (N,) int class index into ``classes``.
    classes : tuple of str
    source : str
        Where the labels come from (``affectnet train``, ``simulator``...).
    n_unlabelled : int
        Images without an expression label (not in ``va``/``labels``).
    skipped : dict
        What the loader left out before (reason -> count; a RecordIndex's ``skipped``).
    """

    va: np.ndarray
    labels: np.ndarray
    classes: tuple
    source: str
    n_unlabelled: int = 0
    skipped: dict = field(default_factory=dict)

    @property
    def n_without_va(self) -> int:
        """Expression-labelled images without valence-arousal (kept for the frequencies, not for the overlap)."""
        return int((~np.isfinite(self.va).all(axis=1)).sum())

    def report(self) -> str:
        """What was read and what was left out, for a log.

        Returns
        -------
        str
            One line: images used, images without valence-arousal, without an expression label, left out by the
            loader (by reason).
        """
        left = ", ".join(f"{r}: {c}" for r, c in sorted(self.skipped.items(), key=lambda rc: -rc[1]) if c) or "nothing"
        return (f"{self.source}: {len(self.labels)} expression-labelled images, {len(self.labels) - self.n_without_va}"
                f" with valence-arousal, {self.n_without_va} without (counted in the frequencies, not the overlap); "
                f"{self.n_unlabelled} without an expression label (not used); left out by the loader: {left}")


def va_labels(source, classes: Sequence[str] | None = None, name: str | None = None) -> VALabels:
    """The expression labels and per-image valence-arousal of a data source, images without VA counted.

    Parameters
    ----------
    source : RecordIndex, ArrayDataset or mapping
        Anything with ``expression`` (N,) and ``va`` (N, 2) (attributes, or keys of a mapping such as
        :func:`affect_book.data.simulator.split_labels`' result) and, unless ``classes`` is given, ``classes``.
    classes : sequence of str, optional
        The class names (required for a mapping).
    name : str, optional
        What to call the source (default: its ``dataset`` and ``split``, or its ``source``).

    Returns
    -------
    VALabels
        The images with an expression label; those without are counted in ``n_unlabelled``.

    Raises
    ------
    ValueError
        When the arrays have the wrong shapes (naming what was expected) or a label is outside the classes.
    """
    get = source.__getitem__ if isinstance(source, Mapping) else lambda key: getattr(source, key)
    classes = tuple(classes if classes is not None else get("classes"))
    expression = np.asarray(get("expression"))
    va = np.asarray(get("va"), dtype=float)
    if expression.ndim != 1:
        raise ValueError(f"expression: expected an (N,) array of class indices, found shape {expression.shape}")
    if va.shape != (len(expression), 2):
        raise ValueError(f"va: expected shape ({len(expression)}, 2), one valence-arousal row per expression label; "
                         f"found {va.shape}")
    if name is None:
        parts = [getattr(source, k, None) for k in ("dataset", "split")] if not isinstance(source, Mapping) else []
        name = " ".join(str(p) for p in parts if p) or str(getattr(source, "source", "labels"))
    keep = expression >= 0
    skipped = dict(Counter(getattr(source, "skipped", {}) or {}))
    return VALabels(va[keep], _check_labels(expression[keep], len(classes)), classes, name, int((~keep).sum()),
                    skipped)


def _check_labels(labels: np.ndarray, k: int) -> np.ndarray:
    if len(labels) and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < -1 or labels.max() >= k):
        raise ValueError(f"labels: expected class indices 0..{k - 1} (or -1, no label) for {k} classes; found "
                         f"{labels.dtype} values in [{labels.min()}, {labels.max()}]")
    return labels.astype(np.int64)


def bhattacharyya_coefficient(mean_a, cov_a, mean_b, cov_b) -> float:
    """The Bhattacharyya coefficient of two Gaussians, ``exp(-D_B)`` (the closed form in the module docstring).

    Parameters
    ----------
    mean_a, mean_b : array_like
        (d,) means.
    cov_a, cov_b : array_like
        (d, d) positive definite covariances.

    Returns
    -------
    float
        In (0, 1]: the integral of ``sqrt(p_a p_b)``; 1 when the two Gaussians are identical.
    """
    diff = np.asarray(mean_a, float) - np.asarray(mean_b, float)
    cov_a, cov_b = np.asarray(cov_a, float), np.asarray(cov_b, float)
    mixed = (cov_a + cov_b) / 2
    _, log_det = np.linalg.slogdet(mixed)
    _, log_det_a = np.linalg.slogdet(cov_a)
    _, log_det_b = np.linalg.slogdet(cov_b)
    distance = diff @ np.linalg.solve(mixed, diff) / 8 + (log_det - (log_det_a + log_det_b) / 2) / 2
    return float(np.exp(-distance))


def _class_fits(va: np.ndarray, labels: np.ndarray, k: int, ridge: float):
    """Per class: images with VA, mean and covariance (ddof=1, plus ridge) where there are at least 2."""
    fits = []
    for c in range(k):
        x = va[(labels == c) & np.isfinite(va).all(axis=1)]
        if len(x) < 2:
            fits.append((len(x), None, None))
            continue
        fits.append((len(x), x.mean(0), np.cov(x, rowvar=False, ddof=1) + ridge * np.eye(2)))
    return fits


def _check_confusion(confusion, k: int) -> np.ndarray | None:
    if confusion is None:
        return None
    confusion = np.asarray(confusion, dtype=float)
    if confusion.shape != (k, k):
        raise ValueError(f"confusion: expected a ({k}, {k}) matrix (rows the true class, columns the predicted) for "
                         f"{k} classes; found shape {confusion.shape}")
    if (confusion < 0).any() or not np.isfinite(confusion).all():
        raise ValueError("confusion: expected finite counts >= 0")
    return confusion


def pair_overlap_table(va, labels, classes: Sequence[str], *, confusion=None, counts=None, min_va: int = 2,
                       ridge: float = OVERLAP_RIDGE) -> pd.DataFrame:
    """One row per unordered class pair: label frequencies, valence-arousal overlap and (given a confusion matrix)
    the symmetric confusion rate (definitions in the module docstring).

    Parameters
    ----------
    va : array_like
        (N, 2) valence, arousal per image; a row with a NaN has no valence-arousal label (counted, see Returns).
    labels : array_like
        (N,) class indices into ``classes``; -1: no expression label (counted, otherwise ignored).
    classes : sequence of str
        K class names.
    confusion : array_like, optional
        (K, K) counts, rows the true class (a trained model's test predictions); None: no confusion columns.
    counts : array_like, optional
        (K,) training counts per class for the frequencies (default: counted from ``labels``, VA or not).
    min_va : int
        Images with valence-arousal a class needs for its Gaussian (at least 2); a pair with a class below it gets
        NaN overlaps and the reason in ``reason``.
    ridge : float
        Added to each fitted covariance's diagonal (:data:`OVERLAP_RIDGE`).

    Returns
    -------
    DataFrame
        ``class_a``, ``class_b``, ``n_a``, ``n_b`` (labelled images), ``share_a``, ``share_b``, ``rarer_share``,
        ``va_a``, ``va_b`` (of them, with valence-arousal), ``bhattacharyya``, ``mahalanobis``, ``mean_distance``,
        then with ``confusion``: ``test_a``, ``test_b`` (row sums), ``confusion_ab``, ``confusion_ba`` and
        ``confusion`` (NaN where a class has no test image); ``reason`` (empty, or why a value is NaN). ``attrs``:
        ``n_images``, ``n_unlabelled``, ``n_without_va``, ``without_va`` (class -> count), ``ridge``, ``overlap``
        (the definition).

    Raises
    ------
    ValueError
        Arrays of mismatched lengths or shapes (naming what was expected), a label outside the classes, fewer than
        two classes, ``min_va`` below 2.
    ParameterError
        No labelled image has valence-arousal (a folder copy of AffectNet carries none).
    """
    classes = tuple(classes)
    k = len(classes)
    va, labels = np.asarray(va, dtype=float), np.asarray(labels)
    if k < 2:
        raise ValueError(f"classes: expected at least two class names, found {list(classes)}")
    if labels.ndim != 1 or va.shape != (len(labels), 2):
        raise ValueError(f"va and labels: expected va of shape (N, 2) and labels of shape (N,) with the same N; found "
                         f"va {va.shape} and labels {labels.shape}")
    if min_va < 2:
        raise ValueError(f"min_va={min_va}: a Gaussian needs at least 2 images")
    labels = _check_labels(labels, k)
    labelled = labels >= 0
    va, labels_all, labels = va[labelled], labels, labels[labelled]
    has_va = np.isfinite(va).all(axis=1)
    if not has_va.any():
        raise ParameterError(f"none of the {len(labels)} labelled images has valence-arousal labels; this table needs "
                             f"per-image valence-arousal (AffectNet's original or .npy layout, Aff-Wild2, a manifest "
                             f"with valence and arousal columns; folder copies carry none)")
    if counts is None:
        counts = np.bincount(labels, minlength=k)
    counts = np.asarray(counts, dtype=float)
    if counts.shape != (k,) or (counts < 0).any():
        raise ValueError(f"counts: expected {k} counts >= 0, one per class of {list(classes)}; found {counts.shape}")
    shares = counts / counts.sum() if counts.sum() else np.full(k, np.nan)
    confusion = _check_confusion(confusion, k)
    fits = _class_fits(va, labels, k, ridge)
    rows = []
    for a, b in combinations(range(k), 2):
        (na_va, mean_a, cov_a), (nb_va, mean_b, cov_b) = fits[a], fits[b]
        row = {"class_a": classes[a], "class_b": classes[b], "n_a": int(counts[a]), "n_b": int(counts[b]),
               "share_a": shares[a], "share_b": shares[b], "rarer_share": min(shares[a], shares[b]),
               "va_a": na_va, "va_b": nb_va, "bhattacharyya": np.nan, "mahalanobis": np.nan,
               "mean_distance": np.nan}
        reasons = [f"{classes[c]} has {n} image{'s' * (n != 1)} with valence-arousal (fewer than {min_va})"
                   for c, n in ((a, na_va), (b, nb_va)) if n < min_va]
        if not reasons:
            diff = mean_a - mean_b
            pooled = ((na_va - 1) * cov_a + (nb_va - 1) * cov_b) / (na_va + nb_va - 2)
            row.update(bhattacharyya=bhattacharyya_coefficient(mean_a, cov_a, mean_b, cov_b),
                       mahalanobis=float(np.sqrt(diff @ np.linalg.solve(pooled, diff))),
                       mean_distance=float(np.hypot(*diff)))
        if confusion is not None:
            test_a, test_b = confusion[a].sum(), confusion[b].sum()
            ab = confusion[a, b] / test_a if test_a else np.nan
            ba = confusion[b, a] / test_b if test_b else np.nan
            row.update(test_a=int(test_a), test_b=int(test_b), confusion_ab=ab, confusion_ba=ba,
                       confusion=(ab + ba) / 2)
            reasons += [f"{classes[c]} has no test image" for c, n in ((a, test_a), (b, test_b)) if not n]
        row["reason"] = "; ".join(reasons)
        rows.append(row)
    table = pd.DataFrame(rows)
    without = {classes[c]: int(((labels == c) & ~has_va).sum()) for c in range(k)}
    table.attrs.update(n_images=len(labels_all), n_unlabelled=int((~labelled).sum()),
                       n_without_va=int((~has_va).sum()), without_va=without, ridge=ridge,
                       overlap="Bhattacharyya coefficient of the two classes' fitted bivariate Gaussians")
    return table


def pair_associations(table: pd.DataFrame, overlap: str = "bhattacharyya") -> pd.DataFrame:
    """Across the pairs of :func:`pair_overlap_table`: Spearman rank correlations and an OLS, descriptive only.

    Spearman's rho (``scipy.stats.spearmanr``) of the overlap with the confusion, of the rarer class's log share
    with the confusion, and of the overlap with the rarer share; then ``confusion ~ 1 + overlap +
    log(rarer_share)`` by OLS (statsmodels, classical standard errors): the partial association of each with the
    other held. Pairs with a NaN in a column used are left out and counted. The pairs are not independent (each class
    is in K - 1 of them), so the p values are descriptive, and so is everything here: no causal claim.

    Parameters
    ----------
    table : DataFrame
        From :func:`pair_overlap_table` with a confusion matrix.
    overlap : str
        The overlap column (``bhattacharyya``; or ``mahalanobis``, ``mean_distance``: distances, so the sign flips).

    Returns
    -------
    DataFrame
        ``analysis`` (``spearman`` or ``ols``), ``x``, ``y``, ``estimate`` (rho, or the coefficient),
        ``std_error`` (OLS), ``pvalue``, ``n`` (pairs used), ``n_left_out``, ``reason`` (empty, or why a row is NaN:
        a column constant over the pairs, collinear predictors); ``attrs["r_squared"]`` of the OLS and
        ``attrs["note"]``.

    Raises
    ------
    ParameterError
        No ``confusion`` column, or fewer than 4 complete pairs (an OLS with 3 coefficients needs more).
    """
    if "confusion" not in table.columns:
        raise ParameterError("the table has no confusion column: pass a confusion matrix to pair_overlap_table")
    if overlap not in ("bhattacharyya", "mahalanobis", "mean_distance"):
        raise ParameterError(f"overlap={overlap!r}; expected 'bhattacharyya', 'mahalanobis' or 'mean_distance'")
    data = pd.DataFrame({overlap: table[overlap], "confusion": table["confusion"],
                         "log_rarer_share": np.log(table["rarer_share"].where(table["rarer_share"] > 0))})
    complete = data.dropna()
    if len(complete) < 4:
        raise ParameterError(f"{len(complete)} of {len(data)} pairs have an overlap, a confusion rate and a positive "
                             f"share; the associations need at least 4 (see the table's reason column)")
    rows = []
    for x, y in ((overlap, "confusion"), ("log_rarer_share", "confusion"), (overlap, "log_rarer_share")):
        both = data[[x, y]].dropna()
        row = {"analysis": "spearman", "x": x, "y": y, "estimate": np.nan, "std_error": np.nan, "pvalue": np.nan,
               "n": len(both), "n_left_out": len(data) - len(both), "reason": ""}
        constant = [c for c in (x, y) if both[c].nunique() < 2]
        if constant:
            row["reason"] = f"{constant[0]} takes one value over the pairs: no rank correlation"
        else:
            rho, p = spearmanr(both[x], both[y])
            row.update(estimate=float(rho), pvalue=float(p))
        rows.append(row)
    design = sm.add_constant(complete[[overlap, "log_rarer_share"]], has_constant="add")
    fit = None
    if np.linalg.matrix_rank(design.to_numpy()) == design.shape[1]:
        fit = sm.OLS(complete["confusion"], design).fit()
    for term in (overlap, "log_rarer_share"):
        rows.append({"analysis": "ols", "x": term, "y": "confusion", "n": len(complete),
                     "n_left_out": len(data) - len(complete), **(
                         {"estimate": float(fit.params[term]), "std_error": float(fit.bse[term]),
                          "pvalue": float(fit.pvalues[term]), "reason": ""} if fit is not None else
                         {"estimate": np.nan, "std_error": np.nan, "pvalue": np.nan,
                          "reason": "the two predictors are collinear (or one is constant): no partial association"})})
    out = pd.DataFrame(rows)
    out.attrs.update(r_squared=float(fit.rsquared) if fit is not None else np.nan, note=(
        f"descriptive: n = {len(complete)} class pairs, which share classes and are not independent; the p values "
        f"treat them as independent; no causal claim"))
    return out


def summed_confusion(runs, n_classes: int | None = None) -> np.ndarray:
    """The confusion matrix of several runs' test predictions, summed (each run's test images counted once).

    Parameters
    ----------
    runs : iterable of RunPredictions
        From :func:`~affect_book.analysis.study_predictions`, all of one source (same classes).
    n_classes : int, optional
        Default: the first run's number of classes.

    Returns
    -------
    numpy.ndarray
        (K, K) int counts, rows the true class (:func:`affect_book.metrics.confusion_matrix`).

    Raises
    ------
    ParameterError
        No run, or runs with different classes.
    """
    runs = list(runs)
    if not runs:
        raise ParameterError("no run to count: the study has no finished run of that condition")
    if len({tuple(r.classes) for r in runs}) > 1:
        raise ParameterError("runs of different class sets cannot be summed into one confusion matrix")
    k = n_classes or len(runs[0].classes)
    return sum(confusion_matrix(r.y_true, r.y_pred, n_classes=k) for r in runs)


def study_pair_table(study, results: pd.DataFrame | None = None, *, condition: str = "base",
                     train: VALabels | None = None, **options) -> tuple[pd.DataFrame, VALabels]:
    """:func:`pair_overlap_table` of one source's finished study: the training labels and the summed test confusion
    of the ``condition`` runs (over seeds); nothing trains.

    Parameters
    ----------
    study : StudyConfig
        A study of one source (one preset, or a licensed copy) that has run.
    results : DataFrame, optional
        Its results table (default: the one on disk).
    condition : str
        The runs whose confusion is counted.
    train : VALabels, optional
        The training labels (default: :func:`va_labels` of the first ``condition`` run's training split, what the
        runs trained on; with per-seed data draws, the first seed's).
    **options
        Passed to :func:`pair_overlap_table` (``min_va``, ``ridge``, ``counts``).

    Returns
    -------
    table : DataFrame
    train : VALabels
        The labels used (its ``report()`` counts what was left out).

    Raises
    ------
    ParameterError
        A study of several sources, or none of ``condition``.
    """
    runs = [r for r in expand_study(study) if r.condition == condition]
    if not runs:
        raise ParameterError(f"the study has no {condition!r} run (conditions {list(study.conditions)})")
    if len({r.preset or r.dataset for r in runs}) > 1:
        raise ParameterError("study_pair_table reads one source; this study has "
                             f"{sorted({r.preset or r.dataset for r in runs})}: pass a study of one")
    if train is None:
        train = va_labels(run_splits(runs[0])["train"], name=f"{runs[0].preset or runs[0].dataset} train")
    predictions = [p for p in study_predictions(study, results) if p.condition == condition]
    confusion = summed_confusion(predictions, len(train.classes))
    table = pair_overlap_table(train.va, train.labels, train.classes, confusion=confusion, **options)
    table.attrs.update(source=train.source, condition=condition, runs=len(predictions))
    return table, train
