"""The results table of a study: one tidy row per run, written atomically as CSV beside the cache."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..cache import atomic_write_bytes

__all__ = ["KEY_COLUMNS", "VOLATILE_COLUMNS", "json_records", "json_safe", "per_class_scores", "permutation_of",
           "read_results", "result_row", "results_frame", "rows_as_json", "write_results"]

#: Columns that identify a run.
KEY_COLUMNS = ("dataset", "preset", "condition", "seed")
#: Columns that depend on how, when and where the grid ran (timing, cache status, paths), not on its results:
#: leave them out when comparing two tables of the same grid.
VOLATILE_COLUMNS = ("images_per_second", "train_seconds", "wall_seconds", "torch_threads", "loaded_from_cache",
                    "run_dir")


def per_class_scores(logits: np.ndarray, expression: np.ndarray, classes: Sequence[str]) -> dict[str, float]:
    """Per-class F1 and recall of argmax predictions (scikit-learn).

    Parameters
    ----------
    logits : numpy.ndarray, (N, classes)
        Expression logits (or probabilities).
    expression : numpy.ndarray, (N,)
        True class indices, -1 where unlabelled (those rows are left out).
    classes : sequence of str
        Class names in label order.

    Returns
    -------
    dict
        ``f1/<Class>`` and ``recall/<Class>`` for every class; a class with no true and no predicted sample
        scores 0 (``zero_division=0``), as in the ABAW expression F1.
    """
    from sklearn.metrics import f1_score, recall_score

    labelled = np.asarray(expression) >= 0
    y_true = np.asarray(expression)[labelled]
    y_pred = np.asarray(logits)[labelled].argmax(1)
    labels = list(range(len(classes)))
    f1 = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {**{f"f1/{c}": float(v) for c, v in zip(classes, f1)},
            **{f"recall/{c}": float(v) for c, v in zip(classes, recall)}}


def permutation_of(config) -> str:
    """The relabelling of a ``permuted`` cost run, rebuilt exactly as the trainer builds its cost.

    Parameters
    ----------
    config : TrainConfig
        A run with ``cost="permuted"`` (the permutation is drawn from its ``seed``).

    Returns
    -------
    str
        JSON ``{class: class whose prices it carries}``; Other, which has no position, is never permuted.
    """
    from ..costs import ot_cost

    frame = ot_cost(config.classes, "permuted", config.coordinates, fill=dict(config.cost_fill) or None,
                    seed=config.seed)
    return json.dumps(frame.attrs["priced_as"], sort_keys=True)


def _scalar(value):
    """A metric as a float; a label such as ``p_mtl_terms`` ("P_VA + P_EXPR") as it is."""
    return value if isinstance(value, str) else float(value)


def result_row(run, result, n_train: int, wall_seconds: float) -> dict:
    """One row of the results table for a finished run.

    Parameters
    ----------
    run : StudyRun
        The run (its keys and config).
    result : affect_book.train.RunResult
        What :func:`affect_book.train.train` returned for it (with test predictions).
    n_train : int
        Training images, for ``train_seconds`` = epochs x n_train / the trainer's measured images per second
        (the training steps only, without evaluation).
    wall_seconds : float
        The time the call took (near 0 for a run loaded from the cache).

    Returns
    -------
    dict
        Keys (``dataset``, ``preset``, ``condition``, ``seed``), ``config_hash``, ``best_epoch``, every test metric
        (``p_mtl``, ``p_va``, ``p_expr``, ``p_au``, ``accuracy`` ...), every validation metric (``val/<name>``: what
        model choices such as lambda may use), ``f1/<Class>`` and ``recall/<Class>``, for a ``permuted`` cost its
        ``cost_permutation`` (:func:`permutation_of`), and :data:`VOLATILE_COLUMNS` (timing, cache status, path).
    """
    row = {"dataset": run.dataset, "preset": run.preset, "condition": run.condition, "seed": run.seed,
           "config_hash": result.config_hash, "best_epoch": result.best_epoch}
    row.update({k: _scalar(v) for k, v in result.test_metrics.items()})
    row.update({f"val/{k}": _scalar(v) for k, v in result.val_metrics.items()})
    if result.predictions_path is None:
        raise ValueError(f"run {run.label} ({result.run_dir}) has no test predictions; the study needs a test set")
    with np.load(result.predictions_path, allow_pickle=False) as f:
        row.update(per_class_scores(f["logits"], f["expression"], run.config.classes))
    if run.config.cost == "permuted":
        row["cost_permutation"] = permutation_of(run.config)
    rate = float(result.images_per_second)
    row.update(images_per_second=rate,
               train_seconds=run.config.epochs * n_train / rate if rate > 0 and math.isfinite(rate) else math.nan,
               wall_seconds=float(wall_seconds), loaded_from_cache=bool(result.loaded_from_cache),
               run_dir=str(result.run_dir))
    return row


def results_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """Rows as a table: columns keys, hash, metrics, per-class and validation scores, volatile ones; rows sorted
    by the keys.

    Parameters
    ----------
    rows : sequence of dict
        Rows from :func:`result_row`.

    Returns
    -------
    pandas.DataFrame
        The table (empty when there are no rows).
    """
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return frame
    first = [c for c in (*KEY_COLUMNS, "config_hash", "best_epoch") if c in frame]
    last = [c for c in VOLATILE_COLUMNS if c in frame]
    per_class = sorted(c for c in frame if c.startswith(("f1/", "recall/", "val/")))
    metrics = [c for c in frame if c not in {*first, *last, *per_class}]
    frame = frame[first + metrics + per_class + last]
    keys = list(KEY_COLUMNS) + (["lambda_ot"] if "lambda_ot" in frame else [])
    return frame.sort_values(keys, key=lambda s: s.astype(str), kind="stable").reset_index(drop=True)


def write_results(rows: Sequence[dict], path: str | Path) -> Path:
    """Write the rows as a CSV table atomically (a complete file or none).

    Parameters
    ----------
    rows : sequence of dict
        Rows from :func:`result_row`.
    path : str or Path
        The CSV file.

    Returns
    -------
    Path
        ``path``.
    """
    buffer = io.StringIO()
    results_frame(rows).to_csv(buffer, index=False)
    return atomic_write_bytes(path, buffer.getvalue().encode())


def read_results(path: str | Path) -> pd.DataFrame:
    """A results table written by :func:`write_results`.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The table; a missing file raises FileNotFoundError saying how to make it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results table at {path}: run the study first (`affect-book study run` with "
                                f"the same options, or affect_book.study.run_study)")
    return pd.read_csv(path, keep_default_na=True)


def rows_as_json(frame: pd.DataFrame) -> str:
    """The table's rows as JSON.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results table.

    Returns
    -------
    str
        A JSON list of one object per row (NaN and missing values as null, floats at full precision).
    """
    return json.dumps(json_records(frame), indent=1, allow_nan=False)


def json_records(frame: pd.DataFrame) -> list[dict]:
    """The table's rows as JSON-ready dicts.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table (a results table, a statistics table).

    Returns
    -------
    list of dict
        One dict per row; NaN, infinite (an unbounded interval end) and missing values as None, so the text is
        strict JSON; tuples are written by ``json`` as lists.
    """
    return [{k: json_safe(v) for k, v in row.items()}
            for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")]


def json_safe(value):
    """``value`` with every non-finite float (NaN, +-inf) replaced by None, inside lists, tuples and dicts too.

    Parameters
    ----------
    value : object
        A JSON-like value.

    Returns
    -------
    object
        The same structure (tuples as lists), valid for ``json.dumps(..., allow_nan=False)``.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
