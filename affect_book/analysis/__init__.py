"""The analysis of finished study runs: statistics, factorial effects, the geometry of the errors and features, and
the study's claims. Nothing here trains.

- Study statistics (chapter 07): :func:`study_statistics` compares every condition with base and circumplex,
  paired by seed (exact Wilcoxon, Hodges-Lehmann, bootstrap, TOST, Holm); :func:`study_rare_classes`.
- The geometry of the errors and of the features (chapter 08): :func:`study_predictions` reads each run's saved test
  predictions as a :class:`RunPredictions` (labels, predictions, features, and its valence-arousal cost and
  circumplex positions, built once); :func:`study_geometry`, :func:`geometry_statistics`,
  :func:`study_separability`, :func:`study_cka`, :func:`study_class_table` and :func:`class_regression` (per-class F1
  on class-level predictors: the rows clustered by seed, and the per-class means).
- Factorial statistics (chapter 09): :func:`factorial_outcomes`, :func:`factorial_effects`,
  :func:`cell_contrasts`, :func:`index_frame` and the chapter's verdicts; effects have standard errors clustered
  by seed (or a mixed model with a random intercept per seed), flagged when there are fewer than
  :data:`MIN_CLUSTERS` seeds. Circumplex nearness as a dose, per causal path (annotation, appearance, both):
  :func:`nearness_effects` (per seed, frequency held fixed), :func:`nearness_verdict`, :func:`path_decomposition`
  and the seed-clustered cross-check :func:`clustered_dose_response`; wired to the rebuilt design's rows
  (:class:`affect_book.study.NearnessDesign`) by :func:`nearness_path_verdicts`, :func:`fix_cell_verdicts` (the
  pair's F1 in each fix cell, with its role) and the dominance section's :func:`pair_distances` and
  :func:`dominance_comparison`.
- Real data in chapter 09: :func:`pair_overlap_table` (per class pair: label frequencies, the valence-arousal
  overlap of the per-image labels, the symmetric confusion rate of a trained model), :func:`pair_associations`
  (descriptive rank correlations and an OLS across the pairs), :func:`va_labels`, :func:`summed_confusion`,
  :func:`study_pair_table`.
- Claims (:mod:`affect_book.analysis.claims`): the claim tracker (:data:`CLAIMS`, :func:`claims_table`), the verdict
  rules (:func:`directional_verdict`, :func:`equivalence_verdict`) and the verdict files (:func:`write_claim`,
  :func:`write_verdict`).
- The power plan and the claims' verdicts from one table (chapter 07): :func:`power_plan`, :func:`claim_verdicts`,
  :data:`CHAPTER_07_TESTS`, :data:`CHAPTER_08_TESTS`; the smallest effect of interest :data:`SMALLEST_EFFECT`.
- Recorded studies under ``docs/results`` (:func:`record_study`, :func:`record_tuning`, :func:`load_recorded`,
  :func:`load_tuning`; chapter 09's factorial: :func:`record_factorial`, :func:`factorial_verdicts`,
  :func:`factorial_power_plan`; its rebuilt design: :func:`record_nearness`, :func:`nearness_statistics`,
  :func:`recompute_nearness`).
- The ``affect-book study run|record|record-factorial|record-nearness|tune|report`` command line (``report`` prints
  the statistics).

What it may import: :mod:`affect_book.study` (the design and execution of the grid) and the layers below it
(``stats``, ``geometry``, ``representation``, ``degeneracy``, ``costs``, ``circumplex``, the data); nothing in those
imports it.
"""

from ._factorial_stats import (cell_contrasts, condition_differences, factorial_effects, factorial_outcomes,
                               index_frame, levels_table, main_effects, pair_outcomes, versus_reference)
from ._factorial_verdicts import degeneracy_verdict, representation_verdict
from ._nearness import (PAIR_F1_FLOOR, PATHS, clustered_dose_response, common_level_effects, floor_table,
                        nearness_effects, nearness_verdict, off_floor, path_decomposition)
from ._nearness_verdicts import (NOT_CARRIED, dominance_comparison, dose_rows, fix_cell_verdicts,
                                 nearness_index_frame, nearness_path_verdicts, pair_distances)
from ._geometry import (GEOMETRY_METRICS, RunPredictions, geometry_metrics, geometry_statistics, study_cka,
                        study_class_table, study_geometry, study_predictions, study_separability)
from ._pair_overlap import (OVERLAP_RIDGE, VALabels, bhattacharyya_coefficient, pair_associations,
                            pair_overlap_table, study_pair_table, summed_confusion, va_labels)
from ._power_plan import CHAPTER_07_TESTS, CHAPTER_08_TESTS, ClaimTest, claim_verdicts, power_plan
from ._recorded import (DISTANCE_MARGIN, RecordedStudy, load_recorded, load_tuning, record_study, record_tuning,
                        recorded_lambda)
from ._recorded_factorial import (FACTORIAL_CLAIMS, factorial_power_plan, factorial_rows, factorial_verdicts,
                                  record_factorial, recompute_factorial, recorded_design)
from ._recorded_nearness import (nearness_power_plan, nearness_statistics, record_nearness, recompute_nearness,
                                 recorded_nearness_design, recorded_nearness_table)
from ._regression import MIN_CLUSTERS, class_regression
from ._stats import (DEFAULT_MARGINS, REFERENCES, SMALLEST_EFFECT, STUDY_EFFECT, check_comparable, study_metrics,
                     study_rare_classes, study_statistics)
from .claims import (CLAIMS, NOT_RUN, SUPERSEDES, Claim, claim_status, claims_table, read_verdict, recorded_root,
                     recorded_verdicts, study_results, verdict_path, write_claim, write_verdict)
from .verdicts import (VERDICTS, directional_verdict, equivalence_verdict, flat_numbers, paired_by_seed, verdict_text,
                       verdicts_frame)

__all__ = ["nearness_power_plan",
           "PAIR_F1_FLOOR", "PATHS", "clustered_dose_response", "common_level_effects", "floor_table",
           "nearness_effects", "nearness_verdict",
           "off_floor", "path_decomposition",
           "NOT_CARRIED", "dominance_comparison", "dose_rows", "fix_cell_verdicts", "nearness_index_frame",
           "nearness_path_verdicts",
           "pair_distances", "nearness_statistics", "record_nearness", "recompute_nearness",
           "recorded_nearness_design", "recorded_nearness_table",
           "CHAPTER_07_TESTS", "CHAPTER_08_TESTS", "CLAIMS", "FACTORIAL_CLAIMS", "factorial_power_plan",
           "factorial_rows", "recompute_factorial", "recorded_design",
           "factorial_verdicts", "record_factorial", "DEFAULT_MARGINS", "DISTANCE_MARGIN", "GEOMETRY_METRICS",
           "MIN_CLUSTERS", "NOT_RUN", "SUPERSEDES", "REFERENCES", "SMALLEST_EFFECT", "STUDY_EFFECT", "VERDICTS",
           "Claim", "ClaimTest",
           "RecordedStudy", "claim_verdicts", "class_regression", "load_recorded", "load_tuning", "power_plan",
           "record_study", "record_tuning", "recorded_lambda", "recorded_root", "recorded_verdicts", "verdict_text",
           "RunPredictions", "cell_contrasts", "check_comparable", "claim_status", "claims_table",
           "condition_differences", "degeneracy_verdict", "directional_verdict", "equivalence_verdict",
           "factorial_effects", "factorial_outcomes", "flat_numbers", "geometry_metrics", "geometry_statistics",
           "index_frame", "levels_table", "main_effects", "pair_outcomes", "paired_by_seed", "read_verdict",
           "representation_verdict",
           "study_cka", "study_class_table", "study_geometry", "study_metrics", "study_predictions",
           "study_rare_classes", "study_results", "study_separability", "study_statistics", "verdict_path",
           "verdicts_frame", "versus_reference", "write_claim", "write_verdict",
           "OVERLAP_RIDGE", "VALabels", "bhattacharyya_coefficient", "pair_associations", "pair_overlap_table",
           "study_pair_table", "summed_confusion", "va_labels"]
