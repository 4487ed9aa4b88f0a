"""Degeneracy: how close classes are on the circumplex, and a degeneracy index computed before training.

Four homes, re-exported here so ``from affect_book.degeneracy import X`` is stable:

- :mod:`._circumplex` (chapter 01): the rule for Other (:func:`is_other`), nearest neighbours, degenerate pairs,
  the designated pair and the separability index on the circumplex's positions.
- :mod:`._positions` (chapter 02): each class's position for a table of classes and where it comes from (published,
  placed by hand, the data's class mean; :func:`class_positions`).
- :mod:`._index` (chapter 09): per-class components known before a run (:func:`degeneracy_components`:
  valence-arousal nearest-neighbour distance, AU-prototype overlap, a cheap pixel probe's F1 on
  :func:`probe_features`, training share) and the unfitted :func:`degeneracy_index`. The probe's images are the
  caller's (:func:`affect_book.data.simulator.probe_split` renders them);
- :mod:`._prediction` (chapter 09): its fitted alternative evaluated on held-out groups
  (:func:`held_out_prediction`) and the rank agreement with a group bootstrap (:func:`rank_agreement`).

**What it may import**: :mod:`affect_book.circumplex` (positions) and :mod:`affect_book.params` (checks), below it;
never :mod:`affect_book.data`, which sits above it (the simulator's presets take their designated pair from
:func:`nearest_pair`), so the probe's images come in as an argument.
"""

from ._circumplex import (
    NearestPair,
    degenerate_pairs,
    is_other,
    nearest_neighbours,
    nearest_pair,
    separability_index,
)
from ._index import VA_FAR, degeneracy_components, degeneracy_index, degeneracy_scores, probe_features
from ._positions import class_positions
from ._prediction import DEFAULT_FEATURES, held_out_prediction, rank_agreement

__all__ = [
    "DEFAULT_FEATURES", "NearestPair", "VA_FAR", "class_positions", "degeneracy_components", "degeneracy_index",
    "degeneracy_scores", "degenerate_pairs", "held_out_prediction", "is_other", "nearest_neighbours", "nearest_pair",
    "probe_features", "rank_agreement", "separability_index",
]
