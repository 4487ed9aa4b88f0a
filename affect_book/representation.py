"""What the costs leave behind in the features: separability of class pairs, per-class Fisher ratios, linear CKA
between two representations, and 2-D views. Introduced in chapter 08 (``notebooks/08_error_geometry``), on the
penultimate features the trainer saves with each run's test predictions (``features`` in ``predictions.npz``).

Features are ``(N, dims)`` arrays, labels ``(N,)`` class indices with ``-1`` for unlabelled rows (left out and
counted). The separability index is chapter 01's (:func:`affect_book.degeneracy.separability_index`), computed in
feature space instead of on the circumplex.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .arrays import to_numpy
from .params import check_choice, check_number

__all__ = ["PROJECTIONS", "feature_separability_index", "fisher_ratio", "linear_cka", "pair_separability",
           "plot_projections", "project_2d", "separability_matrix"]

#: The 2-D projections :func:`project_2d` knows ("umap" needs the optional ``umap-learn`` package).
PROJECTIONS = ("pca", "umap")


def _features(features, labels, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Labelled rows of a (N, dims) finite feature matrix, their labels, and how many rows had no label."""
    x = to_numpy(features, dtype=np.float64)
    y = to_numpy(labels).ravel()
    if x.ndim != 2:
        raise ValueError(f"features has shape {x.shape}; expected (N, dims)")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"features has {x.shape[0]} rows and labels {y.shape[0]}; expected the same")
    if not np.isfinite(x).all():
        raise ValueError("features has non-finite entries; expected finite penultimate activations")
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise ValueError("labels has non-integer entries; expected class indices (-1 for unlabelled)")
    y = y.astype(np.int64)
    if y.size and y.max() >= len(classes):
        raise ValueError(f"labels reach {y.max()}; expected indices below {len(classes)} (classes {list(classes)})")
    keep = y >= 0
    return x[keep], y[keep], int((~keep).sum())


def _class_index(name: str, classes: Sequence[str]) -> int:
    return list(classes).index(check_choice("class", name, list(classes)))


def pair_separability(features, labels, pair: tuple[str, str], classes: Sequence[str], *, cv: int = 5,
                      seed: int = 0, C: float = 1.0) -> dict:
    """Linear separability of two classes: cross-validated balanced accuracy of a logistic regression.

    The model is ``make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))``, scored with
    ``cross_val_score(..., cv=StratifiedKFold(cv, shuffle=True, random_state=seed),
    scoring="balanced_accuracy")`` (scikit-learn) on the rows of the two classes. 0.5 is chance, 1 separable.

    Parameters
    ----------
    features : (N, dims) array
        Penultimate features.
    labels : (N,) int array
        Class indices (-1 left out).
    pair : (str, str)
        The two class names.
    classes : sequence of str
        Class names in label order.
    cv : int
        Folds (each class needs at least ``cv`` samples).
    seed : int
        Shuffles the folds.
    C : float
        Inverse regularisation strength.

    Returns
    -------
    dict
        ``mean`` and ``std`` of the folds' balanced accuracy, ``folds`` (the scores), ``n_a``, ``n_b``.

    Raises
    ------
    ValueError
        When a class has fewer than ``cv`` samples (naming it and its count).
    """
    check_number("cv", cv, low=2, integer=True)
    x, y, _ = _features(features, labels, classes)
    a, b = (_class_index(name, classes) for name in pair)
    if a == b:
        raise ValueError(f"pair {tuple(pair)} names one class twice; expected two distinct classes")
    counts = {pair[0]: int((y == a).sum()), pair[1]: int((y == b).sum())}
    few = {k: v for k, v in counts.items() if v < cv}
    if few:
        raise ValueError(f"pair {tuple(pair)}: {few} samples, fewer than cv={cv}; expected at least {cv} per class")
    rows = (y == a) | (y == b)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    folds = cross_val_score(model, x[rows], (y[rows] == b).astype(int),
                            cv=StratifiedKFold(cv, shuffle=True, random_state=seed), scoring="balanced_accuracy")
    return {"mean": float(folds.mean()), "std": float(folds.std(ddof=1)), "folds": folds,
            "n_a": counts[pair[0]], "n_b": counts[pair[1]]}


def separability_matrix(features, labels, classes: Sequence[str], *, cv: int = 5, seed: int = 0,
                        C: float = 1.0) -> pd.DataFrame:
    """:func:`pair_separability` of every class pair, as a symmetric matrix.

    Parameters
    ----------
    features, labels, classes, cv, seed, C
        As in :func:`pair_separability`.

    Returns
    -------
    DataFrame, (classes, classes)
        Mean balanced accuracy; NaN on the diagonal and for pairs where a class has fewer than ``cv`` samples
        (those pairs are listed in ``attrs["skipped"]``).
    """
    names = list(classes)
    x, y, _ = _features(features, labels, names)
    out = pd.DataFrame(np.nan, index=pd.Index(names, name="class"), columns=pd.Index(names, name="class"))
    skipped = []
    counts = np.bincount(y, minlength=len(names))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if min(counts[i], counts[j]) < cv:
                skipped.append((names[i], names[j]))
                continue
            score = pair_separability(x, y, (names[i], names[j]), names, cv=cv, seed=seed, C=C)["mean"]
            out.iloc[i, j] = out.iloc[j, i] = score
    out.attrs["skipped"] = skipped
    return out


def feature_separability_index(features, labels, classes: Sequence[str]) -> pd.DataFrame:
    """Chapter 01's separability index of every class pair, in feature space.

    For classes i, j with ``n`` samples, centroid ``m`` and mean squared distance to the centroid ``s2`` (the trace
    of the population covariance): ``|m_i - m_j| / sqrt((n_i s2_i + n_j s2_j) / (n_i + n_j))``, the formula of
    :func:`affect_book.degeneracy.separability_index` in any number of dimensions.

    Parameters
    ----------
    features, labels, classes
        As in :func:`pair_separability`.

    Returns
    -------
    DataFrame
        Columns ``a``, ``b``, ``centroid_distance``, ``index``; NaN where a class has no sample; sorted from least
        to most separable (NaN last).
    """
    names = list(classes)
    x, y, _ = _features(features, labels, names)
    n = np.bincount(y, minlength=len(names))
    centroid = np.stack([x[y == k].mean(0) if n[k] else np.full(x.shape[1], np.nan) for k in range(len(names))])
    s2 = np.array([((x[y == k] - centroid[k]) ** 2).sum(1).mean() if n[k] else np.nan for k in range(len(names))])
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            dist = float(np.linalg.norm(centroid[i] - centroid[j]))
            if n[i] and n[j]:
                pooled = math.sqrt((n[i] * s2[i] + n[j] * s2[j]) / (n[i] + n[j]))
                index = dist / pooled if pooled > 0 else math.inf
            else:
                index = math.nan
            rows.append({"a": names[i], "b": names[j], "centroid_distance": dist, "index": index})
    frame = pd.DataFrame(rows)
    return frame.sort_values("index", kind="mergesort", na_position="last").reset_index(drop=True)


def fisher_ratio(features, labels, classes: Sequence[str]) -> pd.DataFrame:
    """Per class: the separability index to its least separable partner in feature space.

    Parameters
    ----------
    features, labels, classes
        As in :func:`feature_separability_index`.

    Returns
    -------
    DataFrame
        Indexed by class: ``nearest`` (the partner with the smallest index), ``index`` (that index: small means
        the class overlaps some other class), ``n`` (samples).
    """
    names = list(classes)
    pairs = feature_separability_index(features, labels, names)
    _, y, _ = _features(features, labels, names)
    counts = np.bincount(y, minlength=len(names))
    rows = {}
    for k, name in enumerate(names):
        mine = pairs[((pairs.a == name) | (pairs.b == name)) & pairs["index"].notna()]
        if mine.empty:
            rows[name] = {"nearest": None, "index": np.nan, "n": int(counts[k])}
            continue
        best = mine.loc[mine["index"].idxmin()]
        rows[name] = {"nearest": best.b if best.a == name else best.a, "index": float(best["index"]),
                      "n": int(counts[k])}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("class")


def linear_cka(x, y) -> float:
    """Linear centred kernel alignment between two representations of the same samples.

    ``CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with column-centred ``Xc``, ``Yc`` (Kornblith, S.,
    Norouzi, M., Lee, H. & Hinton, G. (2019). Similarity of neural network representations revisited. ICML 2019).
    1 for representations equal up to an orthogonal transform and an isotropic scaling; near 0 for unrelated ones.

    Parameters
    ----------
    x : (N, d1) array
        One representation (e.g. the base model's features on the test set).
    y : (N, d2) array
        The other, same samples in the same order (e.g. the circumplex model's, same seed).

    Returns
    -------
    float
        In [0, 1].
    """
    x, y = to_numpy(x, dtype=np.float64), to_numpy(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x has shape {x.shape} and y {y.shape}; expected (N, d1) and (N, d2), same samples")
    if x.shape[0] < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("linear_cka needs at least 2 samples and finite entries")
    x, y = x - x.mean(0), y - y.mean(0)
    denom = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if denom == 0:
        raise ValueError("a representation is constant over the samples; CKA is undefined")
    return float(np.linalg.norm(y.T @ x) ** 2 / denom)


def project_2d(features, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """A 2-D view of the features: PCA (scikit-learn), or UMAP when ``umap-learn`` is installed.

    Parameters
    ----------
    features : (N, dims) array
        Penultimate features.
    method : {"pca", "umap"}
        The projection.
    seed : int
        Random state of the projection.

    Returns
    -------
    numpy.ndarray, (N, 2)
        The projected points.
    """
    check_choice("method", method, PROJECTIONS)
    x = to_numpy(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3 or x.shape[1] < 2:
        raise ValueError(f"features has shape {x.shape}; expected (N >= 3, dims >= 2)")
    if method == "umap":
        try:
            import umap  # deferred: umap-learn is optional (not a dependency)
        except ImportError:
            raise ImportError("method='umap' needs the optional umap-learn package (pip install umap-learn); "
                              "method='pca' needs nothing more") from None
        return umap.UMAP(n_components=2, random_state=seed).fit_transform(x)
    return PCA(n_components=2, random_state=seed).fit_transform(x)


def plot_projections(panels: dict, classes: Sequence[str], *, highlight: Sequence[str] = (), axes=None):
    """One scatter panel per condition, coloured by class, with the ``highlight`` classes drawn on top.

    Parameters
    ----------
    panels : dict of str to (points, labels)
        Panel title (e.g. the condition) to its (N, 2) points (:func:`project_2d`) and (N,) class indices.
    classes : sequence of str
        Class names in label order.
    highlight : sequence of str
        Classes drawn larger and on top (e.g. a degenerate pair); the others are faded.
    axes : sequence of matplotlib Axes, optional
        One per panel (default: a new row of panels).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib and seaborn for this one plot; the module otherwise computes
    import seaborn as sns  # deferred: as matplotlib above

    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4), squeeze=False)
        axes = axes[0]
    palette = dict(zip(classes, sns.color_palette("tab10", len(classes))))
    for ax, (title, (points, labels)) in zip(axes, panels.items()):
        points, labels = to_numpy(points, dtype=np.float64), to_numpy(labels).astype(int)
        for k, name in sorted(enumerate(classes), key=lambda kc: kc[1] in highlight):
            rows = labels == k
            strong = not highlight or name in highlight
            ax.scatter(points[rows, 0], points[rows, 1], s=14 if strong else 5, alpha=0.9 if strong else 0.25,
                       color=palette[name], label=name)
        ax.set(title=title, xlabel="component 1", ylabel="component 2")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize="small")
    return axes[0].figure
