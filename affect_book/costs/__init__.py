"""Cost matrices between classes: the one home of every cost the book builds, checks or compares.

Introduced in chapter 01 (``notebooks/01_circumplex``), used as the ground cost of the optimal-transport (OT) term
in chapter 04 and by the trainer.

Conventions, shared by every function here:

- Orientation: ``cost[j, y]`` is the price of **predicting** class ``j`` when the **true** class is ``y``: rows
  are the prediction, columns the truth (POT's convention: rows the source, columns the target). Labelled
  matrices carry ``index`` named ``"predicted"`` and ``columns`` named ``"true"``. The geometric costs are
  symmetric, so the orientation matters for a user matrix and for :func:`uniform_column_cost`.
- Units: a valence-arousal cost is in valence-arousal units (coordinates in [-1, 1]); the angular cost in half
  turns; a cost derived from another (uniform, column-matched uniform, permuted, pair-weighted, inverse distance)
  keeps that cost's units and its mean off-diagonal value.
- **The rule for "Other"** (Aff-Wild2's eighth class, faces outside the basic emotions): it has no place on the
  circumplex, so :func:`ot_cost` charges it the mean off-diagonal cost of the placed classes, in its row and its
  column, never 0. Putting it at the origin would make Neutral-Other free and the OT term would reward confusing
  the two largest classes of Aff-Wild2; :func:`validate_cost` rejects such a zero between distinct classes.

Modules: ``_matrices`` (the costs from positions or AU prototypes, the controls derived from a cost, the checks of
a user matrix), ``_aimed`` (the costs aimed at near classes: :func:`pair_weighted_cost` prices the designated
pair's confusion high, :func:`inverse_distance_cost` every confusion by the inverse of its distance; issue 22) and
``_ot`` (:func:`ot_cost`, the labelled matrix of the OT term by kind).
"""

from ._aimed import DEFAULT_INVERSE_EPS, DEFAULT_PAIR_WEIGHT, inverse_distance_cost, pair_weighted_cost
from ._matrices import (
    BASE_KINDS,
    DEFAULT_AU_WEIGHT,
    angular_cost,
    au_augmented_cost,
    au_prototype_distance,
    mean_off_diagonal,
    permuted_cost,
    uniform_column_cost,
    uniform_cost,
    va_distance_cost,
    vad_distance_cost,
    validate_cost,
)
from ._ot import COST_KINDS, cost_matrix, ot_cost

__all__ = [
    "BASE_KINDS",
    "COST_KINDS",
    "DEFAULT_AU_WEIGHT",
    "DEFAULT_INVERSE_EPS",
    "DEFAULT_PAIR_WEIGHT",
    "angular_cost",
    "au_augmented_cost",
    "au_prototype_distance",
    "cost_matrix",
    "inverse_distance_cost",
    "mean_off_diagonal",
    "ot_cost",
    "pair_weighted_cost",
    "permuted_cost",
    "uniform_column_cost",
    "uniform_cost",
    "va_distance_cost",
    "vad_distance_cost",
    "validate_cost",
]
