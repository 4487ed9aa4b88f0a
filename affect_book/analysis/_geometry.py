"""The geometry of a finished study's errors, read from its saved test predictions without training anything.

:func:`study_predictions` finds each run of a :class:`~affect_book.study.StudyConfig` through the study's results
table (written by :func:`~affect_book.study.run_study`: one row per run with its ``config_hash`` and ``run_dir``) and
loads its ``predictions.npz``; :func:`geometry_metrics` measures one run with :mod:`affect_book.geometry`;
:func:`study_geometry` gives one row per run and :func:`geometry_statistics` the paired comparisons between
conditions (:func:`study_statistics`, chapter 07's statistics, on the geometry metrics). Nothing here trains: a run
missing from the table or from disk is an error that says to run the study first. A run's valence-arousal cost
and circumplex positions are built once, on its :class:`RunPredictions` (:attr:`RunPredictions.cost`,
:attr:`RunPredictions.positions`), for every measure here, the factorial outcomes and chapter 08.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import circumplex as cx
from .. import geometry as geo
from ..cache import config_hash
from ..costs import ot_cost
from ..degeneracy import degenerate_pairs, nearest_neighbours
from ..params import ParameterError
from ..representation import fisher_ratio, linear_cka, pair_separability
from ..stats import holm
from ..study import expand_study, per_class_scores, read_results, run_splits, study_cost_fill, study_dir
from ._stats import _source, study_statistics

__all__ = ["GEOMETRY_METRICS", "RunPredictions", "geometry_metrics", "geometry_statistics", "study_cka",
           "study_class_table", "study_geometry", "study_predictions", "study_separability"]

#: The per-run geometry metrics of :func:`geometry_metrics`, compared between conditions by
#: :func:`geometry_statistics`. Lower is nearer for ``error_cost``, ``soft_error_cost`` and ``error_distance``.
GEOMETRY_METRICS = ("error_cost", "soft_error_cost", "error_distance", "quadrant_preserved", "nearest_error_rate",
                    "pair_error_share")


@dataclass(frozen=True)
class RunPredictions:
    """One finished run of a study and its saved test predictions (yielded by :func:`study_predictions`).

    The run's geometry is built once, on first use: :attr:`positions` (its classes on the study's coordinates) and
    :attr:`cost` (the valence-arousal cost every run is measured with, whatever cost it trained with).

    Attributes
    ----------
    dataset, preset, condition, seed
        The run's keys, as in :class:`~affect_book.study.StudyRun`.
    classes : tuple of str
        Class names in label order.
    cost_fill : tuple
        The hand placements of the study's costs for this source ((class, (valence, arousal)), ...).
    coordinates : str
        The study's coordinate set.
    run_dir : Path
        The run's folder.
    arrays : dict of str to numpy.ndarray
        ``logits``, ``va``, ``au_prob``, ``features``, ``expression``, ``va_true``, ``au_true``, ``index``.
    """

    dataset: str
    preset: str | None
    condition: str
    seed: int
    classes: tuple
    cost_fill: tuple
    coordinates: str
    run_dir: Path
    arrays: dict = field(repr=False)

    @property
    def source(self) -> str:
        """The preset, or for real data the dataset's name (the ``source`` of the statistics tables)."""
        return self.preset or self.dataset

    @property
    def y_true(self) -> np.ndarray:
        """(N,) true class indices (-1 unlabelled)."""
        return self.arrays["expression"]

    @property
    def y_pred(self) -> np.ndarray:
        """(N,) argmax of the logits."""
        return self.arrays["logits"].argmax(1)

    @cached_property
    def positions(self) -> cx.Coordinates:
        """The classes on the study's coordinates with the study's hand placements
        (:func:`affect_book.circumplex.coordinates`; Other has no position)."""
        return cx.coordinates(self.classes, self.coordinates, dict(self.cost_fill) or None)

    @cached_property
    def cost(self) -> pd.DataFrame:
        """The valence-arousal cost of the run's classes (:func:`affect_book.costs.ot_cost` kind ``"va"``: index
        "predicted", columns "true"; Other at the mean off-diagonal cost), built once per run."""
        return ot_cost(self.classes, "va", self.coordinates, dict(self.cost_fill) or None)


def study_predictions(study, results: pd.DataFrame | None = None) -> Iterator[RunPredictions]:
    """Every run's saved test predictions, in the order of :func:`~affect_book.study.expand_study`; nothing is trained.

    Parameters
    ----------
    study : StudyConfig
        A study that :func:`~affect_book.study.run_study` has run.
    results : DataFrame, optional
        Its results table (default: ``study_dir(study)/results.csv``).

    Yields
    ------
    RunPredictions
        One per run.

    Raises
    ------
    FileNotFoundError
        No results table, or a run's predictions are missing (run the study first).
    ParameterError
        A run of the grid is not in the table, or the table's config hash differs from the grid's (a stale table).
    """
    table = read_results(study_dir(study) / "results.csv") if results is None else results
    fills = {}
    for run in expand_study(study):
        source = run.preset or run.dataset
        if source not in fills:
            fills[source] = study_cost_fill(study, source)
        match = table[(table["dataset"] == run.dataset) & (table["condition"] == run.condition)
                      & (table["seed"] == run.seed)]
        if run.preset is not None:
            match = match[match["preset"] == run.preset]
        if len(match) != 1:
            raise ParameterError(f"run {run.label}: {len(match)} rows in the results table; expected 1 (run the "
                                 f"study with run_study or `affect-book study run` first)")
        row = match.iloc[0]
        if str(row["config_hash"]) != config_hash(run.config):
            raise ParameterError(f"run {run.label}: the results table records config {row['config_hash']} but the "
                                 f"grid expands to {config_hash(run.config)}; the table is stale, rerun the study")
        path = Path(str(row["run_dir"])) / "predictions.npz"
        if not path.is_file():
            raise FileNotFoundError(f"run {run.label}: no saved predictions at {path}; rerun the study to rebuild it")
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        yield RunPredictions(run.dataset, run.preset, run.condition, int(run.seed), tuple(run.config.classes),
                             tuple(fills[source]), study.coordinates, path.parent, arrays)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _top_pairs(coords) -> list[tuple[str, str]]:
    """The nearest circumplex pair, with every pair tied with it (ties are ties: none is chosen)."""
    top = degenerate_pairs(coords, top=1)
    return list(zip(top["a"], top["b"]))


def geometry_metrics(run: RunPredictions, *, n_permutations: int = 199, seed: int = 0) -> dict:
    """The geometry metrics of one run (:data:`GEOMETRY_METRICS`), measured with the valence-arousal cost.

    Every run is measured with the same cost whatever it trained with: the valence-arousal distance of the
    study's coordinates (:func:`affect_book.costs.ot_cost` kind ``"va"``, Other at the mean off-diagonal cost).

    Parameters
    ----------
    run : RunPredictions
        From :func:`study_predictions`.
    n_permutations, seed : int
        Of the nearest-error baseline (:func:`affect_book.geometry.nearest_error_rate`).

    Returns
    -------
    dict
        ``error_cost`` (mean cost of the errors), ``soft_error_cost`` (cost per unit of misplaced probability),
        ``error_distance`` (mean valence-arousal distance of the errors, Other left out), ``quadrant_preserved``,
        ``nearest_error_rate`` with ``nearest_baseline``, ``pair_error_share`` (confusions within the nearest
        circumplex pairs, both directions, over all the errors of their classes; every pair tied for nearest counts),
        ``pairs`` (those pairs), and the counts ``n_errors`` and ``n_excluded`` (errors from or to Other).
    """
    coords, cost = run.positions, run.cost
    y, p = run.y_true, run.y_pred
    severity = geo.error_severity(y, p, cost)
    distance = geo.affective_distance(y, p, coords)
    nearest = geo.nearest_error_rate(y, p, coords, n_permutations=n_permutations, seed=seed)
    pairs = _top_pairs(coords)
    confusion = geo.pair_confusion(y, p, pairs, run.classes)
    errors = confusion.drop_duplicates("true")["n_errors_true"].sum()
    return {"error_cost": severity["mean_error_cost"],
            "soft_error_cost": geo.expected_error_cost(y, _softmax(run.arrays["logits"]), cost)[
                "cost_per_error_mass"],
            "error_distance": distance["mean_distance"],
            "quadrant_preserved": geo.quadrant_preservation(y, p, coords)["preserved"],
            "nearest_error_rate": nearest["rate"], "nearest_baseline": nearest["baseline_mean"],
            "pair_error_share": confusion["count"].sum() / errors if errors else np.nan,
            "pairs": ", ".join(f"{a}-{b}" for a, b in pairs), "n_errors": severity["n_errors"],
            "n_excluded": distance["n_excluded"]}


def study_geometry(study, *, n_permutations: int = 199, seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """One row per run: its keys and :func:`geometry_metrics`, from the saved predictions (nothing trains).

    Parameters
    ----------
    study : StudyConfig
        A study that has run.
    n_permutations, seed : int
        Of the nearest-error baseline.
    progress : bool
        Show a progress bar over the runs.

    Returns
    -------
    DataFrame
        Columns ``dataset``, ``preset``, ``condition``, ``seed`` and the metrics: the shape of a results table, so
        :func:`geometry_statistics` and the verdict helpers (:func:`directional_verdict`) take it as one.
    """
    rows = []
    for run in tqdm(study_predictions(study), total=study.n_runs, disable=not progress, desc="geometry"):
        rows.append({"dataset": run.dataset, "preset": run.preset, "condition": run.condition, "seed": run.seed,
                     **geometry_metrics(run, n_permutations=n_permutations, seed=seed)})
    return pd.DataFrame(rows)


def geometry_statistics(frame: pd.DataFrame, *, metrics: Sequence[str] = GEOMETRY_METRICS,
                        references: Sequence[str] = ("base", "circumplex"), **options) -> pd.DataFrame:
    """Paired comparisons (by seed) of the geometry metrics between conditions, with chapter 07's statistics.

    Parameters
    ----------
    frame : DataFrame
        From :func:`study_geometry`.
    metrics : sequence of str
        Metric columns compared (default :data:`GEOMETRY_METRICS`).
    references : sequence of str
        Reference conditions (every other condition is compared with each).
    **options
        Passed to :func:`study_statistics` (``level``, ``n_resamples``, ``random_state``); no equivalence margins
        unless ``margins`` is given.

    Returns
    -------
    DataFrame
        :func:`study_statistics`' table: one row per (source, metric, condition, reference), exact Wilcoxon p,
        Hodges-Lehmann shift and intervals, Holm across the whole table. A metric undefined on a run (NaN: e.g. no
        error between the classes of the nearest pair) leaves that seed out of that metric's comparisons (its
        partner counts in ``n_unpaired``); ``attrs["undefined"]`` lists every (source, condition, seed, metric)
        left out.
    """
    options.setdefault("margins", {})
    missing = [m for m in metrics if m not in frame]
    if missing:
        raise ParameterError(f"metrics {missing} are not columns of the geometry table; expected among "
                             f"{list(GEOMETRY_METRICS)}")
    tables, undefined = [], []
    for metric in metrics:
        defined = np.isfinite(pd.to_numeric(frame[metric], errors="coerce").to_numpy(float))
        gone = frame[~defined]
        undefined += [(s, c, int(seed), metric) for s, c, seed in zip(_source(gone), gone["condition"], gone["seed"])]
        tables.append(study_statistics(frame[defined], metrics=[metric], references=references, **options))
    table = pd.concat([t for t in tables if not t.empty], ignore_index=True) if any(
        not t.empty for t in tables) else tables[0]
    if not table.empty:  # Holm across the testable rows of every metric (study_statistics' rule)
        testable = table["testable"].to_numpy(bool)
        table["pvalue_holm"] = np.nan
        if testable.any():
            table.loc[testable, "pvalue_holm"] = holm(table.loc[testable, "pvalue"].to_numpy(float))
    table.attrs["undefined"] = undefined
    return table


def _keys(run: RunPredictions) -> dict:
    return {"dataset": run.dataset, "preset": run.preset, "condition": run.condition, "seed": run.seed}


def study_separability(study, *, pairs: Sequence[tuple[str, str]] | None = None, cv: int = 5,
                       seed: int = 0) -> pd.DataFrame:
    """Linear separability of class pairs in every run's saved features (:func:`affect_book.representation`).

    Parameters
    ----------
    study : StudyConfig
        A study that has run.
    pairs : sequence of (str, str), optional
        Class pairs (default: each source's nearest circumplex pairs, ties included).
    cv, seed : int
        Of :func:`affect_book.representation.pair_separability`.

    Returns
    -------
    DataFrame
        One row per (run, pair): the run's keys, ``pair``, ``balanced_accuracy`` (mean over folds), ``fold_std``
        and ``skipped`` (why a pair was not measured, e.g. a class with fewer than ``cv`` test samples; None when
        measured). The spread over seeds is the spread of ``balanced_accuracy`` within (source, condition, pair).
    """
    rows = []
    for run in study_predictions(study):
        wanted = pairs if pairs is not None else _top_pairs(run.positions)
        for a, b in wanted:
            out, skipped = _run_separability(run, (a, b), cv, seed)
            rows.append({**_keys(run), "pair": f"{a}-{b}", "balanced_accuracy": out["mean"],
                         "fold_std": out["std"], "skipped": skipped})
    return pd.DataFrame(rows)


def _run_separability(run: RunPredictions, pair: tuple[str, str], cv: int, seed: int) -> tuple[dict, str | None]:
    """:func:`~affect_book.representation.pair_separability` of one run's test features, or NaNs and the reason
    when a class of the pair has fewer than ``cv`` test samples (any other error is raised)."""
    try:
        return pair_separability(run.arrays["features"], run.y_true, pair, run.classes, cv=cv, seed=seed), None
    except ValueError as err:
        if "fewer than cv" not in str(err):
            raise
        return {"mean": np.nan, "std": np.nan}, str(err)


def study_cka(study, reference: str = "base") -> pd.DataFrame:
    """Linear CKA between each condition's test features and the ``reference`` condition's, same source and seed.

    Parameters
    ----------
    study : StudyConfig
        A study that has run (``reference`` among its conditions).
    reference : str
        The condition every other is compared with.

    Returns
    -------
    DataFrame
        ``source``, ``seed``, ``condition``, ``reference``, ``cka`` (:func:`affect_book.representation.linear_cka`).

    Raises
    ------
    ParameterError
        When ``reference`` is not a condition of the study, or two runs' test sets differ (their ``index``).
    """
    if reference not in study.conditions:
        raise ParameterError(f"reference={reference!r} is not a condition of the study; expected one of "
                             f"{list(study.conditions)}")
    runs = {(r.source, r.condition, r.seed): r for r in study_predictions(study)}
    rows = []
    for (source, condition, seed), run in runs.items():
        if condition == reference:
            continue
        ref = runs[(source, reference, seed)]
        if not np.array_equal(ref.arrays["index"], run.arrays["index"]):
            raise ParameterError(f"{source} seed {seed}: {condition} and {reference} were tested on different "
                                 f"samples; CKA needs the same samples in the same order")
        rows.append({"source": source, "seed": seed, "condition": condition, "reference": reference,
                     "cka": linear_cka(ref.arrays["features"], run.arrays["features"])})
    return pd.DataFrame(rows)


def study_class_table(study, runs: Sequence[RunPredictions] | None = None) -> pd.DataFrame:
    """One row per (run, class): its F1 and its predictors for :func:`affect_book.geometry.frequency_or_geometry`.

    Parameters
    ----------
    study : StudyConfig
        A study that has run; each source's training split is loaded (from the data cache) for the class counts.
    runs : sequence of RunPredictions, optional
        The runs (default: :func:`study_predictions`).

    Returns
    -------
    DataFrame
        The run's keys, ``run`` (a label, for clustered errors), ``class``, ``f1`` (scikit-learn, on the saved
        predictions), ``train_share`` and ``log_train_share`` (natural log; NaN for a class absent from training),
        ``nn_distance`` (circumplex nearest-neighbour distance; NaN for Other, which has no coordinate) and
        ``feature_index`` (chapter 01's separability index to the least separable partner in the run's features,
        :func:`affect_book.representation.fisher_ratio`).
    """
    shares = {}
    for run in expand_study(study):
        source = run.preset or run.dataset
        if source not in shares:
            train = run_splits(run)["train"]
            labels = np.asarray(train.expression)[np.asarray(train.has_expression)]
            counts = np.bincount(labels, minlength=len(run.config.classes))
            shares[source] = counts / counts.sum()
    rows = []
    for run in (runs if runs is not None else study_predictions(study)):
        nn = nearest_neighbours(run.positions)["distance"]
        f1 = per_class_scores(run.arrays["logits"], run.y_true, run.classes)
        ratio = fisher_ratio(run.arrays["features"], run.y_true, run.classes)["index"]
        for k, name in enumerate(run.classes):
            share = float(shares[run.source][k])
            rows.append({**_keys(run), "run": f"{run.source}/{run.condition}/{run.seed}", "class": name,
                         "f1": f1[f"f1/{name}"], "train_share": share,
                         "log_train_share": np.log(share) if share > 0 else np.nan,
                         "nn_distance": float(nn.get(name, np.nan)), "feature_index": float(ratio[name])})
    return pd.DataFrame(rows)
