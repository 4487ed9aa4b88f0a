"""Chapter 07's grid from a chapter's parameters, and its sweep and grid run (or loaded) in one call, for the
chapters that read chapter 07's runs (08): one home for the checks, so both chapters build the same grid."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ..params import ParameterError, check_choice
from ._conditions import CONDITIONS
from ._config import CHAPTER_CONDITIONS, DEFAULT_CONDITIONS, StudyConfig, chapter_conditions  # noqa: F401 (docs)
from ._run import run_study
from ._sweep import DEFAULT_LAMBDAS, lambda_sweep, tuning_seeds

__all__ = ["chapter_grid", "chapter_study"]


def _names(value) -> tuple:
    """A list parameter, or the same as one comma-separated string (what ``-p NAME VALUE`` passes)."""
    return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else tuple(value)


def chapter_grid(presets, conditions, seeds, profile: str, dataset: str = "synthetic",
                 data_root=None) -> StudyConfig:
    """Chapter 07's grid (without its OT weight) from a chapter's parameters, every one checked.

    Parameters
    ----------
    presets : sequence of str or str
        ``PRESETS``: simulator presets, a list or ``"a,b"`` (ignored for a licensed copy).
    conditions : sequence of str, str or None
        ``CONDITIONS``: None for chapter 07's grid in ``profile`` (:func:`chapter_conditions`: of
        :data:`CHAPTER_CONDITIONS`, i.e. :data:`DEFAULT_CONDITIONS`, ``vad`` and the two readings of the uniform
        term, ``confidence_penalty`` and ``gce``, all but what :data:`CHAPTER_LEAVES_OUT` leaves out in that
        profile); must hold ``base`` and ``circumplex``.
    seeds : int, sequence of int or None
        ``SEEDS`` (None: the profile's).
    profile : str
        ``PROFILE``.
    dataset : str
        ``DATASET``: ``"synthetic"`` or a licensed copy's source name.
    data_root : str or Path, optional
        ``DATA_ROOT``: the licensed copy's folder (required unless ``dataset`` is synthetic).

    Returns
    -------
    StudyConfig
        The grid at the default ``lambda_ot``; :func:`chapter_study` sets the swept one.

    Raises
    ------
    ParameterError
        Naming the parameter and the values it accepts.
    """
    from ..data import check_data_parameters  # deferred: the data package imports torch; the study loads without
    from ..data.simulator import PRESETS  # deferred: the data package imports torch; the study loads without

    root = check_data_parameters(dataset, data_root)
    for preset in _names(presets):
        check_choice("PRESETS", preset, PRESETS)
    chosen = _names(conditions) if conditions is not None else chapter_conditions(profile)
    for name in chosen:
        check_choice("CONDITIONS", name, CONDITIONS)
    lacking = [c for c in ("base", "circumplex") if c not in chosen]
    if lacking:
        raise ParameterError(f"CONDITIONS={list(chosen)} lacks {lacking}: every comparison is against base and "
                             f"circumplex")
    return StudyConfig(presets=_names(presets) if dataset == "synthetic" else (), conditions=chosen, seeds=seeds,
                       profile=profile, dataset=dataset, data_root=None if root is None else str(root))


def chapter_study(design: StudyConfig, sweep_seeds: int = 2, executor: str = "local",
                  workers: int | None = None,
                  lambda_ot: float | None = None) -> tuple[StudyConfig, pd.DataFrame, pd.DataFrame | None]:
    """Chapter 07's lambda sweep (on the tuning seeds), then its grid at the chosen weight; each run is loaded when
    it is in the cache.

    Parameters
    ----------
    design : StudyConfig
        From :func:`chapter_grid`.
    sweep_seeds : int
        Seeds of the sweep: :func:`tuning_seeds` (1000, 1001, ...), never a verdict's seeds; chapter 07's
        ``TUNING_SEEDS``.
    executor : str
        ``"local"`` or ``"slurm"``, for the runs missing from the cache.
    workers : int, optional
        Local processes.
    lambda_ot : float, optional
        A weight chosen already (a recorded tuning, :func:`affect_book.analysis.load_tuning`): no sweep runs.

    Returns
    -------
    study : StudyConfig
        The grid with the chosen ``lambda_ot`` (the study chapter 07 ran).
    frame : DataFrame
        Its results table (:func:`run_study`).
    sweep : DataFrame or None
        The sweep's table (:func:`lambda_sweep`), None when ``lambda_ot`` was given.
    """
    sweep = None
    if lambda_ot is None:
        sweep_design = dataclasses.replace(design, conditions=("circumplex",), seeds=tuning_seeds(sweep_seeds))
        lambda_ot, sweep = lambda_sweep(sweep_design, DEFAULT_LAMBDAS, metric="p_mtl", executor=executor,
                                        workers=workers, progress=False)
    study = dataclasses.replace(design, lambda_ot=float(lambda_ot))
    return study, run_study(study, executor=executor, workers=workers, progress=False), sweep
