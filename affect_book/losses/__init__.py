"""Losses of the study: the optimal-transport (OT) term, the valence-arousal and AU losses, and the expression
losses it is compared with (rare-class controls, confidence penalty, generalised cross-entropy).

Introduced in chapter 04 (``notebooks/04_optimal_transport``). The cost matrices the OT term uses are built and
checked in :mod:`affect_book.costs`. Modules: ``_ot`` (closed form, POT reference, :class:`OTLoss`),
``_sinkhorn`` (:func:`entropic_ot`), ``_multitask`` (CCC, masked AU cross-entropy), ``_controls`` (rare-class
controls and the other expression losses), ``_expression`` (the table :data:`EXPRESSION_LOSSES`), ``_features``
(representation terms on the penultimate features, chapter 09: :func:`supcon_loss`, :func:`pair_margin_loss`);
every public name is importable from here.

Conventions, shared by every function here:

- ``logits``: (batch, classes) real scores; ``probs``: (batch, classes) rows summing to 1. Functions that accept
  either take ``from_logits`` (default ``True``).
- ``targets``: (batch,) integer class indices, **-1 = no label** (masked: contributes nothing, not even to the
  denominator of a mean). Soft targets: (batch, classes) distributions; a row holding a negative entry (for example
  filled with -1) is missing.
- ``cost``: (classes, classes), ``cost[j, y]`` = price of predicting class ``j`` when the true class is ``y``
  (rows predicted, columns true; see :mod:`affect_book.costs`, where :func:`~affect_book.costs.ot_cost` builds
  one and :func:`~affect_book.costs.validate_cost` checks a user matrix).
- ``reduction``: ``"mean"`` over the labelled rows (the denominator is clamped at 1, so a batch with no label gives
  0, not NaN), ``"sum"``, or ``"none"`` (per-sample values, 0 on unlabelled rows).
- Nothing in a loss's forward pass synchronises with the host: no ``.item()``, no boolean indexing, no
  data-dependent Python branching. Masks are multiplications and ``torch.where``. Input *values* (a label out of
  range, a negative probability) are therefore not checked there; shapes and dtypes are.
- Losses compute in float32 (float64 when given float64) with autocast disabled inside, so a bf16 autocast region
  around a training step leaves them exact.
- No module state: the one implementation choice that depends on the hardware (the NumPy inner loop of
  :func:`entropic_ot`) is an argument resolved from the inputs' device on each call.

The OT term for a hard label (one-hot target) needs no solver: the only coupling of a prediction ``p`` with
``e_y`` sends all of ``p`` to ``y``, so ``W_C(p, e_y) = sum_j p_j C[j, y]`` (:func:`expected_cost`). With the
uniform cost ``C = s (1 - I)`` this is ``s (1 - p_y)``. Soft targets need a solver: :func:`entropic_ot` is a
batched Sinkhorn in torch (GPU or CPU); :func:`pot_ot` calls POT, the reference it is tested against.
"""

from ._common import REDUCTIONS
from ._controls import (balanced_softmax_loss, class_balanced_weights, class_counts, confidence_penalty_loss,
                        deferred_reweighting, focal_loss, gce_loss, inverse_frequency_weights, ldam_loss,
                        ldam_margins, logit_adjust, logit_adjusted_loss, sampling_weights, smooth_labels,
                        soft_cross_entropy, weighted_cross_entropy)
from ._expression import EXPRESSION_LOSSES, ExpressionLoss, drw_defer_epoch, expression_loss, expression_param
from ._features import pair_margin_loss, supcon_loss
from ._multitask import ccc, ccc_loss, masked_bce_with_logits
from ._ot import POT_SOLVERS, OTLoss, expected_cost, expected_cost_logit_grad, pot_ot
from ._sinkhorn import FLOAT32_MAX_RATIO, OT_VALUES, SCALING_MAX_RATIO, SINKHORN_METHODS, entropic_ot

__all__ = [
    "EXPRESSION_LOSSES",
    "ExpressionLoss",
    "FLOAT32_MAX_RATIO",
    "OTLoss",
    "OT_VALUES",
    "POT_SOLVERS",
    "REDUCTIONS",
    "SCALING_MAX_RATIO",
    "SINKHORN_METHODS",
    "balanced_softmax_loss",
    "ccc",
    "ccc_loss",
    "class_balanced_weights",
    "class_counts",
    "confidence_penalty_loss",
    "deferred_reweighting",
    "drw_defer_epoch",
    "entropic_ot",
    "expected_cost",
    "expected_cost_logit_grad",
    "expression_loss",
    "expression_param",
    "focal_loss",
    "gce_loss",
    "inverse_frequency_weights",
    "ldam_loss",
    "ldam_margins",
    "logit_adjust",
    "logit_adjusted_loss",
    "masked_bce_with_logits",
    "pair_margin_loss",
    "pot_ot",
    "sampling_weights",
    "smooth_labels",
    "soft_cross_entropy",
    "supcon_loss",
    "weighted_cross_entropy",
]
