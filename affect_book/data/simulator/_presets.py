"""The simulator's presets: class frequencies, label fractions and knobs copied from the published benchmarks.

See the package docstring (:mod:`affect_book.data.simulator`) for what each preset calibrates and its sources.
"""

from __future__ import annotations

from collections.abc import Mapping

from ... import circumplex as cx
from ..published import PUBLISHED

__all__ = ["PRESETS"]

# The published class counts the presets are calibrated to, from their one home (which cites the sources).
_AFFWILD2_TRAIN = PUBLISHED["s-affwild2-train"].counts
_AFFWILD2_VAL = PUBLISHED["s-affwild2-val"].counts
_AFFECTNET_TRAIN = PUBLISHED["affectnet-train"].counts


def _proportions(classes, counts: Mapping[str, float]) -> tuple[float, ...]:
    total = float(sum(counts[c] for c in classes))
    return tuple(counts[c] / total for c in classes)


# s-Aff-Wild2 multi-task train rows: the fraction with an expression label and with AU labels, from the same home
_AFFWILD2_ROWS = PUBLISHED["s-affwild2-train"].rows
_AFFWILD2_EXPRESSION_FRACTION = PUBLISHED["s-affwild2-train"].total / _AFFWILD2_ROWS
_AFFWILD2_AU_FRACTION = PUBLISHED["s-affwild2-train"].extra["AU valid"] / _AFFWILD2_ROWS

#: Preset definitions (see the module docstring for the calibration and its sources).
PRESETS: dict[str, dict] = {
    "affwild2": dict(
        classes=cx.CLASS_SETS["affwild2"],
        train_proportions=_proportions(cx.CLASS_SETS["affwild2"], _AFFWILD2_TRAIN),
        eval_proportions=_proportions(cx.CLASS_SETS["affwild2"], _AFFWILD2_VAL),
        pair=("Anger", "Fear"), confound_class=None, confound_strength=0.0,
        label_fractions=(_AFFWILD2_EXPRESSION_FRACTION, 1.0, _AFFWILD2_AU_FRACTION)),
    "affectnet": dict(
        classes=cx.CLASS_SETS["affectnet8"],
        train_proportions=_proportions(cx.CLASS_SETS["affectnet8"], _AFFECTNET_TRAIN),
        eval_proportions=tuple([1 / 8] * 8),
        pair=("Anger", "Contempt"), confound_class="Contempt", confound_strength=0.5,
        label_fractions=(1.0, 1.0, 0.0)),
    "balanced": dict(
        classes=cx.CLASS_SETS["affectnet8"], train_proportions=tuple([1 / 8] * 8),
        eval_proportions=tuple([1 / 8] * 8), pair=("Anger", "Fear"), confound_class=None, confound_strength=0.0,
        label_fractions=(1.0, 1.0, 1.0)),
}
