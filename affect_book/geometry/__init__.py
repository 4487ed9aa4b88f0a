"""Where the errors land: error-geometry metrics over ``(y_true, y_pred)`` (or probabilities), classes named.

Introduced in chapter 08 (``notebooks/08_error_geometry``). Conventions, shared by every function here:

- Arguments in scikit-learn's order, ``(y_true, y_pred, ...)``, options keyword-only. Labels are class indices;
  rows with ``y_true == -1`` (no label) are skipped and counted (``n_unlabelled``), as in
  :mod:`affect_book.metrics`; a prediction outside ``0..classes-1`` is an error.
- A cost matrix is oriented as in :mod:`affect_book.costs`: ``cost[j, y]`` is the price of predicting ``j`` when
  the truth is ``y`` (rows predicted, columns true). A confusion matrix is oriented as scikit-learn's (rows true,
  columns predicted).
- **Other** (Aff-Wild2's catch-all) has no circumplex coordinate (a NaN row in
  :class:`~affect_book.circumplex.Coordinates`). The *distance-based* metrics (:func:`affective_distance`,
  :func:`quadrant_preservation`, :func:`nearest_error_rate`) leave out every error whose true or predicted class
  has no coordinate, and count them (``n_excluded``); the *cost-based* ones (:func:`error_severity`,
  :func:`expected_error_cost`, :func:`far_confusions`) price Other as the cost does (the book's costs charge it the
  mean off-diagonal cost of the placed classes, :func:`affect_book.costs.ot_cost`). :func:`pair_confusion` counts
  whatever pairs it is given.
"""

from ._cost import error_severity, expected_error_cost, far_confusions
from ._distance import QUADRANT_ORIGIN_RULES, affective_distance, quadrant_preservation
from ._pairs import nearest_error_rate, pair_confusion
from ._regression import frequency_or_geometry

__all__ = ["QUADRANT_ORIGIN_RULES", "affective_distance", "error_severity", "expected_error_cost", "far_confusions",
           "frequency_or_geometry", "nearest_error_rate", "pair_confusion", "quadrant_preservation"]
