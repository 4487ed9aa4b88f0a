"""The simulator's presets: class frequencies, label fractions and knobs copied from the published benchmarks.

See the package docstring (:mod:`affect_book.data.simulator`) for what each preset calibrates and its sources.
"""

from __future__ import annotations

from collections.abc import Mapping

from ... import circumplex as cx
from ..published import PUBLISHED

__all__ = ["PRESETS", "PUBLISHED_TRAIN_COUNTS", "designated_pair"]

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

def designated_pair(class_set: str, prefer: tuple[str, str] | None = None, involving: str | None = None):
    """The designated degenerate pair of a class set, derived from the geometry (never typed), with any tie stated.

    The nearest pair of the class set's placed classes on Russell & Mehrabian's (1977) coordinates with the book's
    default hand placement (:data:`affect_book.circumplex.DEFAULT_PLACEMENT`; Other has no coordinate and is left
    out). Where pairs tie, ``prefer`` designates one of them (the choice is stated in the result).

    Parameters
    ----------
    class_set : str
        A name of :data:`affect_book.circumplex.CLASS_SETS`.
    prefer : (str, str), optional
        The pair to designate among tied nearest pairs.
    involving : str, optional
        Only pairs containing this class.

    Returns
    -------
    affect_book.circumplex.NearestPair
        ``.pair``, ``.distance``, ``.tied`` and ``.statement()``.
    """
    placed = cx.coordinates(class_set, "russell1977", placement=cx.DEFAULT_PLACEMENT)
    return cx.nearest_pair(placed, prefer=prefer, involving=involving)


# The designated pairs: Anger-Fear is Aff-Wild2's nearest pair outright; on AffectNet's classes the default placement
# puts contempt exactly as near anger as disgust (a tie), and the preset designates anger-contempt, the pair the study
# names; the balanced preset takes fear's nearest partner.
_PAIRS = {"affwild2": designated_pair("affwild2"),
          "affectnet": designated_pair("affectnet8", prefer=("Anger", "Contempt")),
          "balanced": designated_pair("affectnet8", involving="Fear")}

#: Preset definitions (see the module docstring for the calibration and its sources).
PRESETS: dict[str, dict] = {
    "affwild2_posed": dict(
        classes=cx.CLASS_SETS["affwild2"],
        train_proportions=_proportions(cx.CLASS_SETS["affwild2"], _AFFWILD2_TRAIN),
        eval_proportions=_proportions(cx.CLASS_SETS["affwild2"], _AFFWILD2_VAL),
        pair=_PAIRS["affwild2"].pair, shortcut_class=None, shortcut_strength=0.0,
        label_fractions=(_AFFWILD2_EXPRESSION_FRACTION, 1.0, _AFFWILD2_AU_FRACTION)),
    "affectnet_posed": dict(
        classes=cx.CLASS_SETS["affectnet8"],
        train_proportions=_proportions(cx.CLASS_SETS["affectnet8"], _AFFECTNET_TRAIN),
        eval_proportions=tuple([1 / 8] * 8),
        pair=_PAIRS["affectnet"].pair, shortcut_class="Contempt", shortcut_strength=0.5,
        label_fractions=(1.0, 1.0, 0.0)),
    "balanced": dict(
        classes=cx.CLASS_SETS["affectnet8"], train_proportions=tuple([1 / 8] * 8),
        eval_proportions=tuple([1 / 8] * 8), pair=_PAIRS["balanced"].pair, shortcut_class=None, shortcut_strength=0.0,
        label_fractions=(1.0, 1.0, 1.0)),
}

PRESETS["affwild2"] = dict(PRESETS["affwild2_posed"])
PRESETS["affectnet"] = dict(PRESETS["affectnet_posed"])

#: The published training counts behind each preset (what ``count_scale`` multiplies).
PUBLISHED_TRAIN_COUNTS: dict[str, dict] = {"affwild2": dict(_AFFWILD2_TRAIN), "affwild2_posed": dict(_AFFWILD2_TRAIN),
                                           "affectnet": dict(_AFFECTNET_TRAIN),
                                           "affectnet_posed": dict(_AFFECTNET_TRAIN)}
