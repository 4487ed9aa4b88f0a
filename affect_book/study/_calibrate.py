"""The calibration runs of a preset: chapter 07's ``base`` runs on the calibration seeds and data draw, scored
against the preset's published per-class target (:data:`affect_book.data.simulator.TARGETS`).

Used by ``tools/calibrate_simulator.py`` (which searches and writes the table) and by
``benchmarks/bench_study.py --power`` (a candidate study size is eligible only if the calibrated presets still meet
their criteria at that size).
"""

from __future__ import annotations

import time

from ..cache import config_hash
from ..data.simulator import (CALIBRATION_DATA_SEED, CALIBRATION_N_TEST, CALIBRATION_SEEDS, TARGETS, calibration_scores,
                              make_config)
from ..trainer import predict, train, trained_model
from ._config import StudyConfig, expand_study
from ._executors import run_splits
from ._run import run_study
from ._table import per_class_scores

__all__ = ["calibration_run", "calibration_study", "simulator_hash"]


def calibration_study(preset: str, overrides: dict | None = None, study_options: dict | None = None,
                      profile: str = "cpu") -> StudyConfig:
    """The ``base`` runs of chapter 07's grid on one preset, on the calibration seeds and data draw.

    Parameters
    ----------
    preset : str
        A preset with a published target (a key of :data:`~affect_book.data.simulator.TARGETS`).
    overrides : dict, optional
        Data options: simulator knobs (a search) or the study size (``n_train``, ``image_size``).
    study_options : dict, optional
        :class:`StudyConfig` fields, e.g. ``{"epochs": 6}``.
    profile : str
        The profile whose study size the runs take (the calibration is of ``cpu``).

    Returns
    -------
    StudyConfig
        ``base`` only, the calibration seeds, one shared data draw (the calibration draw).
    """
    data = {"seed": CALIBRATION_DATA_SEED, "n_test": CALIBRATION_N_TEST, **(overrides or {})}
    return StudyConfig(presets=(preset,), conditions=("base",), seeds=CALIBRATION_SEEDS, profile=profile, data=data,
                       data_draw="shared", **(study_options or {}))  # device "auto", as chapter 07's grid


def simulator_hash(study: StudyConfig, preset: str) -> str:
    """The config hash of the simulator a study's runs of ``preset`` train on (its data options applied).

    Parameters
    ----------
    study : StudyConfig
    preset : str

    Returns
    -------
    str
        :func:`affect_book.cache.config_hash` of the preset's :class:`~affect_book.data.simulator.SimulatorConfig`.
    """
    options = {k: v for k, v in study.load_options(preset).items() if k != "preset"}
    return config_hash(make_config(preset, study.profile, **options))


def calibration_run(preset: str, overrides: dict | None = None, *, study_options: dict | None = None,
                    workers: int = 2) -> dict:
    """Train (or load) the calibration runs of one preset configuration and score them on validation and test.

    Parameters
    ----------
    preset : str
        A preset with a published target.
    overrides : dict, optional
        Data options (simulator knobs or the study size), as :func:`calibration_study`.
    study_options : dict, optional
        :class:`StudyConfig` fields (e.g. ``{"epochs": 6}``).
    workers : int
        Local processes.

    Returns
    -------
    dict
        ``preset``, ``overrides``, ``metric``, ``study`` (seeds, epochs, width, batch size, data options),
        ``simulator_config_hash``, ``study_hash``, ``seconds`` (wall time of the runs), ``trained`` (runs not
        loaded from the cache), and ``val`` / ``test``: :func:`~affect_book.data.simulator.calibration_scores` of
        the per-seed scores on that split (``met["all"]`` says whether every criterion holds).
    """
    overrides = dict(overrides or {})
    study = calibration_study(preset, overrides, study_options)
    metric = TARGETS[preset]["metric"]
    t0 = time.perf_counter()
    table = run_study(study, workers=workers, progress=False)
    seconds = time.perf_counter() - t0
    per_seed = {"val": [], "test": []}
    for run in expand_study(study):
        splits = run_splits(run)
        result = train(run.config, splits["train"], splits["val"], splits["test"], progress=False)  # cached
        config = run.config
        val_pred = predict(trained_model(config, result), splits["val"], config, "cpu")
        for split, pred in (("val", val_pred), ("test", result.predictions())):
            scores = per_class_scores(pred["logits"], pred["expression"], config.classes)
            per_seed[split].append({c: scores[f"{metric}/{c}"] for c in config.classes})
    out = {"preset": preset, "overrides": overrides, "metric": metric,
           "study": {"seeds": list(study.seeds), "epochs": study.epochs, "width": study.width,
                     "batch_size": study.batch_size, "data": dict(study.data)},
           "simulator_config_hash": simulator_hash(study, preset), "study_hash": config_hash(study),
           "seconds": round(seconds, 1), "trained": int((~table["loaded_from_cache"]).sum())}
    for split in ("val", "test"):
        out[split] = calibration_scores(per_seed[split], preset)
    return out
