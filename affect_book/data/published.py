"""Published class counts of the benchmarks, with their sources, for chapters that run without the data.

Every number here is copied from the publication named in its entry's ``source``. Chapters print these tables and,
given ``DATA_ROOT``, recompute the same counts from the reader's copy (:func:`affect_book.data.sources.summary`)
beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..circumplex import CLASS_SETS
from ..params import check_choice

__all__ = ["PUBLISHED", "PublishedCounts", "published_counts", "published_table"]


@dataclass(frozen=True)
class PublishedCounts:
    """Expression counts of one split as published.

    Parameters
    ----------
    key : str
        The entry's name in :data:`PUBLISHED`, e.g. ``"affectnet-train"``.
    dataset : str
        The data source (``"affectnet"`` or ``"affwild2"``).
    split : str
        ``"train"`` or ``"val"``.
    classes : tuple of str
        The class set, in label order.
    counts : dict of str to int
        Class name (canonical) -> images or frames.
    source : str
        Where the numbers were published (authors, year, title, venue).
    rows : int, optional
        All rows of the split including those without an expression label (None if not published).
    note : str, default ""
        What a reader should know about the numbers.
    extra : dict of str to int, optional
        Other published numbers of the split (e.g. AU positives).
    """

    key: str
    dataset: str
    split: str
    classes: tuple[str, ...]
    counts: dict[str, int]
    source: str
    rows: int | None = None
    note: str = ""
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of expression labels (sum over classes)."""
        return sum(self.counts.values())


_AFFECTNET_SOURCE = ("Mollahosseini, Hasani & Mahoor (2017), AffectNet: A Database for Facial Expression, Valence, "
                     "and Arousal Computing in the Wild, IEEE Trans. Affective Computing; manually annotated "
                     "training set, 8 classes")
_SAW2_SOURCE = ("Kollias (2022), ABAW: Learning from Synthetic Data & Multi-Task Learning Challenges (ABAW4, "
                "ECCV workshops); s-Aff-Wild2 multi-task annotation files, valid expression labels")
_EXPR_SOURCE = ("Kollias et al. (2023), ABAW: Valence-Arousal Estimation, Expression Recognition, Action Unit "
                "Detection & Emotional Reaction Intensity Estimation Challenges (ABAW5, CVPR workshops); uni-task "
                "expression track of Aff-Wild2 (also ABAW6), training set")

PUBLISHED: dict[str, PublishedCounts] = {p.key: p for p in (
    PublishedCounts("affectnet-train", "affectnet", "train", CLASS_SETS["affectnet8"],
                    {"Neutral": 74_874, "Happy": 134_415, "Sad": 25_459, "Surprise": 14_090, "Fear": 6_378,
                     "Disgust": 3_803, "Anger": 24_882, "Contempt": 3_750}, _AFFECTNET_SOURCE,
                    note="codes 8-10 (None, Uncertain, Non-Face) are not counted"),
    PublishedCounts("affectnet-val", "affectnet", "val", CLASS_SETS["affectnet8"],
                    {c: 500 for c in CLASS_SETS["affectnet8"]}, _AFFECTNET_SOURCE,
                    note="balanced by design; the .npy redistribution holds 3,999 images (Contempt 499); the test "
                         "set was never released, so papers report on this set"),
    PublishedCounts("s-affwild2-train", "affwild2", "train", CLASS_SETS["affwild2"],
                    {"Neutral": 23_976, "Anger": 4_555, "Disgust": 3_168, "Fear": 3_122, "Happiness": 18_135,
                     "Sadness": 7_609, "Surprise": 5_228, "Other": 24_852}, _SAW2_SOURCE, rows=142_333,
                    extra={"AU valid": 103_316, "AU1": 18_713, "AU2": 8_745, "AU4": 20_342, "AU6": 30_605,
                           "AU7": 41_337, "AU10": 38_286, "AU12": 26_783, "AU15": 2_460, "AU23": 2_980,
                           "AU24": 5_003, "AU25": 70_584, "AU26": 10_756}),
    PublishedCounts("s-affwild2-val", "affwild2", "val", CLASS_SETS["affwild2"],
                    {"Neutral": 1_886, "Anger": 487, "Disgust": 565, "Fear": 1_254, "Happiness": 3_751,
                     "Sadness": 1_893, "Surprise": 1_003, "Other": 4_601}, _SAW2_SOURCE, rows=26_876),
    PublishedCounts("affwild2-expr-train", "affwild2", "train", CLASS_SETS["affwild2"],
                    {"Neutral": 177_198, "Anger": 16_573, "Disgust": 10_771, "Fear": 9_080, "Happiness": 95_463,
                     "Sadness": 78_751, "Surprise": 31_615, "Other": 165_866}, _EXPR_SOURCE, rows=585_317,
                    note="uni-task frames; its validation set has 280,532 frames"),
)}


def published_counts(key: str) -> pd.Series:
    """Published expression counts of one split.

    Parameters
    ----------
    key : str
        One of :data:`PUBLISHED`'s keys, e.g. ``"s-affwild2-train"``.

    Returns
    -------
    pandas.Series
        Counts indexed by class name, in the class set's label order, named ``key``.

    Raises
    ------
    ValueError
        For an unknown key, listing the known ones.
    """
    check_choice("published counts key", key, sorted(PUBLISHED))
    entry = PUBLISHED[key]
    return pd.Series(entry.counts, name=key).reindex(list(entry.classes))


def published_table() -> pd.DataFrame:
    """Every published split as a table.

    Returns
    -------
    pandas.DataFrame
        One row per entry of :data:`PUBLISHED`, indexed by key: dataset, split, classes, expression labels, rows,
        source.
    """
    return pd.DataFrame([{"key": p.key, "dataset": p.dataset, "split": p.split, "classes": len(p.classes),
                          "expression labels": p.total, "rows": p.rows, "source": p.source}
                         for p in PUBLISHED.values()]).set_index("key")
