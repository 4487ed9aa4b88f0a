"""The controlled study of chapter 07: a grid of (preset, condition, seed) runs, its runner and its results table.

A frozen :class:`StudyConfig` expands (:func:`expand_study`) into one validated
:class:`~affect_book.trainer.TrainConfig` per run; :func:`run_study` loads or trains each through
:func:`affect_book.trainer.train` (so a rerun trains only what is missing) on a local process pool or on Slurm
(submitit), and writes one tidy row per run to ``cache_root()/studies/<study key>/results.csv``
(:func:`study_key`; :func:`check_results` holds a table against its grid). The conditions are in
:data:`CONDITIONS`; :func:`lambda_sweep` chooses the OT weight once, on the validation split. Command line:
``affect-book study run|report``; :func:`study_statistics` compares every condition with base and circumplex, paired
by seed. :func:`study_predictions` reads the finished runs' saved test predictions without training, for the geometry
of the errors (:func:`study_geometry`, :func:`geometry_statistics`) and of the features (:func:`study_separability`,
:func:`study_cka`, :func:`study_class_table`).
"""

from ._chapter import chapter_grid, chapter_study
from ._claims import VERDICTS, directional_verdict, equivalence_verdict, flat_numbers, paired_by_seed, write_claim
from ._conditions import CONDITIONS, Condition, NotYetSupported, get_condition
from ._config import (CHAPTER_CONDITIONS, DEFAULT_CONDITIONS, READING_CONDITIONS, StudyConfig, StudyRun,
                      designated_pair_of, expand_study, study_dir, study_identity, study_key)
from ._factorial import (FACTORIAL_CONDITIONS, FACTORIAL_DATA, FACTORS, FIX_CONDITIONS, HOLD, FactorialDesign,
                         as_sources, cell_config, cell_label, factorial_cells, factorial_studies, fix_cells, n_runs,
                         run_factorial)
from ._factorial_stats import (cell_contrasts, condition_differences, degeneracy_verdict, factorial_effects,
                               factorial_outcomes, index_frame, levels_table, pair_outcomes,
                               representation_verdict, versus_reference)
from ._geometry import (GEOMETRY_METRICS, RunPredictions, geometry_metrics, geometry_statistics, study_cka,
                        study_class_table, study_geometry, study_predictions, study_separability)
from ._executors import available_cores, local_workers, run_splits, run_task
from ._run import StudyFailed, run_studies, run_study
from ._sweep import DEFAULT_LAMBDAS, lambda_sweep
from ._stats import DEFAULT_MARGINS, REFERENCES, study_metrics, study_rare_classes, study_statistics
from ._table import (KEY_COLUMNS, VOLATILE_COLUMNS, ResultsTableError, check_results, json_records, json_safe,
                     per_class_scores, read_results, result_row, results_frame, rows_as_json, write_results)

__all__ = ["FACTORIAL_CONDITIONS", "FACTORIAL_DATA", "FACTORS", "FIX_CONDITIONS", "HOLD", "FactorialDesign",
           "as_sources", "cell_config", "cell_contrasts", "cell_label", "condition_differences", "degeneracy_verdict",
           "factorial_cells", "factorial_effects", "factorial_outcomes", "factorial_studies", "fix_cells",
           "index_frame", "levels_table", "n_runs", "pair_outcomes", "representation_verdict",
           "versus_reference", "run_factorial",
           "CHAPTER_CONDITIONS", "CONDITIONS", "Condition", "DEFAULT_CONDITIONS", "DEFAULT_LAMBDAS", "DEFAULT_MARGINS",
           "GEOMETRY_METRICS", "KEY_COLUMNS", "NotYetSupported", "READING_CONDITIONS", "REFERENCES", "RunPredictions",
           "ResultsTableError", "StudyConfig", "StudyFailed", "StudyRun", "VERDICTS", "VOLATILE_COLUMNS",
           "available_cores", "chapter_grid", "chapter_study", "check_results", "directional_verdict",
           "designated_pair_of", "equivalence_verdict", "expand_study", "flat_numbers",
           "geometry_metrics", "geometry_statistics", "get_condition", "json_records", "json_safe", "lambda_sweep",
           "local_workers", "paired_by_seed", "per_class_scores", "read_results", "result_row", "results_frame",
           "rows_as_json", "run_splits", "run_studies", "run_study", "run_task", "study_cka", "study_class_table",
           "study_dir", "study_geometry", "study_identity", "study_key",
           "study_metrics", "study_predictions", "study_rare_classes", "study_separability", "study_statistics",
           "write_claim", "write_results"]
