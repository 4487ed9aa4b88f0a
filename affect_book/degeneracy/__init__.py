"""Degeneracy measures on the circumplex, re-exported here so ``from affect_book.degeneracy import X`` is stable.

- :mod:`._circumplex` (chapter 01): nearest neighbours, degenerate pairs, the designated pair and the
  separability index on the circumplex (also re-exported by :mod:`affect_book.circumplex`).
"""

from ._circumplex import (
    NearestPair,
    degenerate_pairs,
    is_other,
    nearest_neighbours,
    nearest_pair,
    separability_index,
)

__all__ = ["NearestPair", "degenerate_pairs", "is_other", "nearest_neighbours", "nearest_pair", "separability_index"]
