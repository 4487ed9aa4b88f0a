"""The controlled study of chapter 07, its design and its execution: a grid of (preset, condition, seed) runs, its
runner and its results table.

A frozen :class:`StudyConfig` expands (:func:`expand_study`) into one validated
:class:`~affect_book.trainer.TrainConfig` per run; :func:`run_study` loads or trains each through
:func:`affect_book.trainer.train` (so a rerun trains only what is missing) on a local process pool or on Slurm
(submitit), and writes one tidy row per run to ``cache_root()/studies/<study key>/results.csv``
(:func:`study_key`; :func:`check_results` holds a table against its grid). The conditions are in
:data:`CONDITIONS`; :func:`lambda_sweep` chooses the OT weight once, on the validation split; chapter 09's factorial
design is :class:`FactorialDesign` (:func:`run_factorial`; :func:`chapter_factorial` checks the chapter's parameters),
rebuilt as :class:`NearnessDesign` (:func:`run_nearness`: circumplex nearness as a dose through the simulator's
annotation and appearance paths, and the fix cells at several visual overlaps).

What lives here: design (``_config``, ``_conditions``, ``_factorial``, ``_chapter``, ``_factorial_chapter``,
``_nearness_design``, ``_nearness_rows``, ``_nearness_chapter``) and
execution (``_run``, ``_executors``, ``_sweep``, ``_table``); the calibration runs of a preset (``_calibrate``,
:func:`calibration_run`). What it may import: the layers below it (the trainer,
the data, the costs, ``params``, ``cache``), never :mod:`affect_book.analysis`, which reads the finished runs
(statistics, geometry, claims) and holds the ``affect-book study run|report`` command line.
"""

from ._calibrate import calibration_run, calibration_study, simulator_hash
from ._chapter import chapter_grid, chapter_study
from ._conditions import CONDITIONS, Condition, NotYetSupported, get_condition
from ._config import (CHAPTER_CONDITIONS, CHAPTER_LEAVES_OUT, DATA_DRAWS, DEFAULT_CONDITIONS, READING_CONDITIONS,
                      StudyConfig, StudyRun, chapter_conditions, designated_pair_of, expand_study, study_cost_fill,
                      study_dir, study_identity, study_key)
from ._factorial import (FACTORIAL_CONDITIONS, FACTORIAL_DATA, FACTORS, FIX_CONDITIONS, HOLD, FactorialDesign,
                         as_sources, cell_config, cell_knobs, cell_label, factorial_cells, factorial_studies, fix_cells,
                         n_runs, run_factorial)
from ._factorial_chapter import chapter_factorial
from ._nearness_design import (DOSE, NEARNESS_LEVELS, NEARNESS_PATHS, NearnessDesign, nearness_cell_config,
                               nearness_cell_knobs, nearness_cells, nearness_fill, nearness_label, nearness_n_runs,
                               nearness_studies, published_pair_distance, run_nearness)
from ._nearness_chapter import chapter_nearness
from ._nearness_rows import pair_label_confusion, pair_test_confusion
from ._executors import (CheckedJob, UnsafeJobFolder, available_cores, batches, cached_row, check_private_folder,
                         local_workers, private_job_folder, run_splits, run_task)
from ._run import StudyFailed, run_studies, run_study, run_summary
from ._sweep import DEFAULT_LAMBDAS, TUNING_FIRST_SEED, lambda_sweep, tuning_seeds
from ._table import (KEY_COLUMNS, VOLATILE_COLUMNS, ResultsTableError, check_results, json_records, json_safe,
                     per_class_scores, read_results, result_row, results_frame, rows_as_json, write_results)

__all__ = ["calibration_run", "calibration_study", "simulator_hash",
           "FACTORIAL_CONDITIONS", "FACTORIAL_DATA", "FACTORS", "FIX_CONDITIONS", "HOLD", "FactorialDesign",
           "as_sources", "cell_config", "cell_knobs", "cell_label", "factorial_cells", "factorial_studies", "fix_cells",
           "n_runs", "run_factorial", "chapter_factorial",
           "DOSE", "NEARNESS_LEVELS", "NEARNESS_PATHS", "NearnessDesign", "nearness_cell_config",
           "nearness_cell_knobs", "nearness_cells", "nearness_fill", "nearness_label", "nearness_n_runs",
           "nearness_studies", "published_pair_distance", "run_nearness", "chapter_nearness", "pair_label_confusion",
           "pair_test_confusion",
           "CHAPTER_CONDITIONS", "CHAPTER_LEAVES_OUT", "CONDITIONS", "CheckedJob", "UnsafeJobFolder",
           "check_private_folder",
           "private_job_folder", "Condition", "DATA_DRAWS", "DEFAULT_CONDITIONS", "DEFAULT_LAMBDAS", "KEY_COLUMNS",
           "TUNING_FIRST_SEED", "tuning_seeds",
           "NotYetSupported", "READING_CONDITIONS", "ResultsTableError", "StudyConfig", "StudyFailed", "StudyRun",
           "VOLATILE_COLUMNS", "available_cores", "batches", "cached_row", "chapter_conditions", "chapter_grid",
           "chapter_study",
           "check_results",
           "designated_pair_of", "expand_study", "get_condition", "json_records", "json_safe", "lambda_sweep",
           "local_workers", "per_class_scores", "read_results", "result_row", "results_frame", "rows_as_json",
           "run_splits", "run_studies", "run_study", "run_summary", "run_task", "study_cost_fill", "study_dir",
           "study_identity", "study_key", "write_results"]
