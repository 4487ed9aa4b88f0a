"""The results table of a study: one tidy row per run, written atomically as CSV beside the cache.

On disk a row's ``run_dir`` is relative to the cache that holds the table (``runs/<run key>``; a run folder
outside that cache stays absolute), so a copied cache (``cp -a``) reads its own runs; :func:`read_results` gives
absolute paths again. :func:`check_results` holds a table against its grid: every run once, none other, the grid's
config hashes, finite scores.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, recall_score

from ..cache import is_denied, atomic_write_bytes, cache_root, config_hash, permission_error
from ..costs import ot_cost
from ._config import expand_study

__all__ = ["KEY_COLUMNS", "VOLATILE_COLUMNS", "ResultsTableError", "check_results", "json_records", "json_safe",
           "per_class_scores", "permutation_of", "read_results", "result_row", "results_frame", "rows_as_json",
           "write_results"]

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
    result : affect_book.trainer.RunResult
        What :func:`affect_book.trainer.train` returned for it (with test predictions).
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


class ResultsTableError(ValueError):
    """A results table that does not hold its grid: runs missing, extra or repeated, another config, or scores that
    are not finite. The message names the table, each such run and each non-finite metric."""


def _table_cache(path: Path) -> Path:
    """The cache a table belongs to: ``<cache>/studies/<folder>/<table>.csv``, else :func:`cache_root`."""
    path = Path(path)
    return path.parents[2] if len(path.parents) > 2 and path.parent.parent.name == "studies" else cache_root()


def _relative_runs(frame: pd.DataFrame, cache: Path) -> pd.DataFrame:
    """``run_dir`` relative to ``cache`` where the run lies inside it (POSIX separators), else as it is."""
    if "run_dir" not in frame:
        return frame

    def relative(value):
        if not isinstance(value, (str, Path)) or not str(value):
            return value
        try:
            return Path(value).relative_to(cache).as_posix()
        except ValueError:
            return str(value)

    return frame.assign(run_dir=frame["run_dir"].map(relative))


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in frame if c not in VOLATILE_COLUMNS]]


def _holds(path: Path, frame: pd.DataFrame) -> bool:
    """``path`` is a table with the rows of ``frame`` (volatile columns aside)."""
    try:
        old = read_results(path)
        if old.attrs.get("cut_short"):
            return False
        pd.testing.assert_frame_equal(_stable(old).reset_index(drop=True), _stable(frame).reset_index(drop=True),
                                      check_dtype=False, check_like=True)
    except (OSError, ValueError, AssertionError):
        return False
    return True


def write_results(rows: Sequence[dict], path: str | Path) -> Path:
    """Write the rows as a CSV table atomically (a complete file or none).

    ``run_dir`` is written relative to the table's cache (see the module's notes). Where the folder may not be
    written (a read-only cache) and the file already holds these rows (the volatile columns aside: timing, cache
    status), nothing is written; otherwise a one-line PermissionError names the folder.

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
    path = Path(path)
    frame = results_frame(rows)
    buffer = io.StringIO()
    _relative_runs(frame, _table_cache(path)).to_csv(buffer, index=False)
    try:
        return atomic_write_bytes(path, buffer.getvalue().encode())
    except PermissionError:
        if _holds(path, frame):
            return path
        raise


def read_results(path: str | Path) -> pd.DataFrame:
    """A results table written by :func:`write_results`.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The table, ``run_dir`` absolute again (a relative one is under the table's cache); a missing file raises
        FileNotFoundError saying how to make it, an unreadable one a one-line PermissionError naming it. Rows with
        fewer fields than the header, or a last line without its newline (a file cut short), are listed in
        ``attrs["cut_short"]`` (row positions), which :func:`check_results` reports.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results table at {path}: run the study first (`affect-book study run` with "
                                f"the same options, or affect_book.study.run_study)")
    try:
        text = path.read_text()
    except OSError as err:
        if is_denied(err):
            raise permission_error(path, "read", "to read the results table", err) from None
        raise
    try:
        frame = pd.read_csv(io.StringIO(text), keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise ResultsTableError(f"the results table {path} is empty (no header): rerun the study to rebuild it") \
            from None
    frame.attrs["cut_short"] = _cut_short(text)
    if "run_dir" in frame:
        cache = _table_cache(path)
        frame["run_dir"] = frame["run_dir"].map(
            lambda v: str(cache / v) if isinstance(v, str) and v and not Path(v).is_absolute() else v)
    return frame


def _cut_short(text: str) -> list[int]:
    """Positions of the data rows of a CSV text that lack fields, or lack the newline that ends every row."""
    records = [r for r in csv.reader(io.StringIO(text)) if r]
    if not records:
        return []
    width = len(records[0])
    cut = [i for i, r in enumerate(records[1:]) if len(r) != width]
    if not text.endswith(("\n", "\r")) and len(records) > 1 and len(records) - 2 not in cut:
        cut.append(len(records) - 2)
    return cut


def _key(row) -> tuple:
    """(dataset, preset or None, condition, seed) of a table row, as the grid's runs name them."""
    preset = row.get("preset")
    preset = None if preset is None or (isinstance(preset, float) and math.isnan(preset)) or preset == "" \
        else str(preset)
    seed = row.get("seed")
    try:
        seed = int(seed) if float(seed) == int(float(seed)) else seed
    except (TypeError, ValueError, OverflowError):
        pass
    return (str(row.get("dataset")), preset, str(row.get("condition")), seed)


def _label(key: tuple) -> str:
    dataset, preset, condition, seed = key
    return f"{preset or dataset} / {condition} / seed {seed}"


def _listed(labels: list[str], limit: int = 20) -> str:
    more = f" ... and {len(labels) - limit} more" if len(labels) > limit else ""
    return "\n".join(f"  {x}" for x in labels[:limit]) + more


def check_results(frame: pd.DataFrame, study, runs=None, path: str | Path | None = None) -> pd.DataFrame:
    """Hold a results table against its grid; return it unchanged when it holds the grid exactly.

    Checks: the key columns, ``config_hash`` and ``p_mtl`` are there; every run of the grid has exactly one row
    with the grid's config hash; no row names a run outside the grid; every score of a row is finite
    (:func:`affect_book.trainer.nonfinite_metrics` on its test and its ``val/`` scores; per-class scores of the run's
    own classes; the volatile columns are not scores). A table cut short (a truncated file) fails on the runs it
    lacks and on its last, partial row (from :func:`read_results`: ``attrs["cut_short"]``), which counts as missing.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (:func:`read_results`, or rows just computed).
    study : StudyConfig
        Its grid.
    runs : list of StudyRun, optional
        ``expand_study(study)`` when already at hand.
    path : str or Path, optional
        Where the table is, for the message.

    Returns
    -------
    pandas.DataFrame
        ``frame``.

    Raises
    ------
    ResultsTableError
        Naming the table, and each missing, extra, repeated or stale run and each non-finite score (with its run).
    """
    from ..trainer import nonfinite_metrics  # deferred: the trainer imports torch; the study loads without

    where = f"the results table {path}" if path is not None else "the results table"
    hint = ("rerun the study (`affect-book study run` with the same options, or run_study): finished runs are "
            "loaded from the cache, missing ones trained")
    lacking = [c for c in (*KEY_COLUMNS, "config_hash", "p_mtl") if c not in frame]
    if lacking:
        raise ResultsTableError(f"{where} lacks the columns {lacking} (a truncated or foreign file?); {hint}")
    runs = expand_study(study) if runs is None else runs
    expected = {(r.dataset, r.preset, r.condition, int(r.seed)): r for r in runs}
    seen: dict[tuple, int] = {}
    problems: dict[str, list[str]] = {"cut short": [], "missing": [], "extra": [], "repeated": [], "stale": [],
                                      "non-finite": []}
    cut = set(frame.attrs.get("cut_short", ()))
    per_class = [c for c in frame if c.startswith(("f1/", "recall/"))]
    skip = {*KEY_COLUMNS, *VOLATILE_COLUMNS, "config_hash", "cost_permutation", *per_class}
    for position, row in enumerate(frame.to_dict(orient="records")):
        key = _key(row)
        if position in cut:  # its values cannot be trusted, its run counts as missing
            problems["cut short"].append(f"row {position + 1} ({_label(key)})")
            continue
        seen[key] = seen.get(key, 0) + 1
        run = expected.get(key)
        if run is None:
            problems["extra"].append(_label(key))
            continue
        if seen[key] == 2:
            problems["repeated"].append(_label(key))
        if str(row["config_hash"]) != config_hash(run.config):
            problems["stale"].append(f"{_label(key)}: config {row['config_hash']}, the grid's is "
                                     f"{config_hash(run.config)}")
        test = {k: v for k, v in row.items() if k not in skip and not k.startswith("val/")}
        test.update({f"{m}/{c}": row.get(f"{m}/{c}") for m in ("f1", "recall") for c in run.config.classes})
        val = {k[4:]: v for k, v in row.items() if k.startswith("val/")}
        bad = nonfinite_metrics(test) + [f"val/{m}" for m in nonfinite_metrics(val)]
        if bad:
            problems["non-finite"].append(f"{_label(key)}: {', '.join(bad)}")
    problems["missing"] = [_label(k) for k in expected if k not in seen]
    found = {name: items for name, items in problems.items() if items}
    if not found:
        return frame
    what = {"cut short": "rows cut short (fewer fields than the header, or no final newline: a truncated file)",
            "missing": "runs of the grid with no row", "extra": "rows of runs outside the grid",
            "repeated": "runs with more than one row", "stale": "rows of another config (a stale table)",
            "non-finite": "rows with scores that are NaN or infinite (run: metrics)"}
    parts = "\n".join(f"{len(items)} {what[name]}:\n{_listed(items)}" for name, items in found.items())
    raise ResultsTableError(f"{where} does not hold the study's {len(expected)} runs ({len(frame)} rows); {hint}.\n"
                            f"{parts}")


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
