"""The designated pair's confusions in one run of the rebuilt factorial: in the model's test predictions, and in the
training labels (observed label against the class the face shows: the annotation path's dose)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["pair_label_confusion", "pair_test_confusion"]


def _shares(observed: np.ndarray, other: np.ndarray, i: int, j: int) -> dict[str, float]:
    """P(other = j | observed = i) and P(other = i | observed = j) (NaN where a class has no row)."""
    out = {}
    for name, (x, y) in (("ab", (i, j)), ("ba", (j, i))):
        rows = observed == x
        out[name] = float(np.mean(other[rows] == y)) if rows.any() else float("nan")
    return out


def pair_test_confusion(run_dir, classes: Sequence[str], pair: tuple[str, str]) -> dict[str, float]:
    """The pair's confusions in a run's saved test predictions (``predictions.npz``: logits and labels).

    Parameters
    ----------
    run_dir : str or Path
        The run's folder (the results table's ``run_dir``).
    classes : sequence of str
        The classes in label order.
    pair : (str, str)
        The pair (a, b).

    Returns
    -------
    dict
        ``ab``: the share of the test images labelled a that the model predicts b; ``ba``: b predicted a. Images
        without an expression label are left out; NaN where the test split has no image of the class.
    """
    with np.load(Path(run_dir) / "predictions.npz", allow_pickle=False) as f:
        labels, predicted = np.asarray(f["expression"]), np.asarray(f["logits"]).argmax(1)
    keep = labels >= 0
    return _shares(labels[keep], predicted[keep], classes.index(pair[0]), classes.index(pair[1]))


def pair_label_confusion(sim, pair: tuple[str, str], split: str = "train") -> dict[str, float]:
    """The pair's confusion in a split's labels: the observed label (``expression``) against the class the face
    shows (``true_expression``), sampled without rendering (:func:`affect_book.data.simulator.split_labels`).

    Parameters
    ----------
    sim : SimulatorConfig
        The cell's draw.
    pair : (str, str)
    split : {"train", "val", "test"}

    Returns
    -------
    dict
        ``ab``: the share of the images labelled a whose face shows b; ``ba``: labelled b, showing a.
    """
    from ..data.simulator import split_labels  # deferred: the data package imports torch; the study loads without

    labels = split_labels(sim, split)
    observed, shown = np.asarray(labels["expression"]), np.asarray(labels["true_expression"])
    keep = observed >= 0
    return _shares(observed[keep], shown[keep], sim.classes.index(pair[0]), sim.classes.index(pair[1]))
