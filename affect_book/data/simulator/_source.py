"""The ``synthetic`` data source of :mod:`affect_book.data.sources` (looked up there on first use)."""

from __future__ import annotations

from ..base import ArrayDataset
from ._cache import simulate
from ._config import SimulatorConfig

__all__ = ["SOURCE_OPTIONS", "data_source", "load_synthetic"]

#: Options the ``synthetic`` source of :mod:`affect_book.data.sources` accepts (passed to :func:`make_config`).
SOURCE_OPTIONS: tuple[str, ...] = tuple(sorted(
    {"preset", "profile", "class_counts", "eval_counts", "placements"}
    | (set(SimulatorConfig.__dataclass_fields__) - {"preset", "version"})))


def load_synthetic(split: str = "train", preset: str = "balanced", profile: str = "cpu", **options) -> ArrayDataset:
    """The ``synthetic`` source: one split of the simulator's ``preset`` at ``profile`` sizes (cached).

    ``options``: any :func:`make_config` keyword (knobs, sizes, ``seed``). Used by
    ``affect_book.data.sources.load("synthetic", split=..., preset=..., ...)`` and ``affect-book data summary``.

    Parameters
    ----------
    split : {"train", "val", "test"}
        The split.
    preset : str
        A name of :data:`PRESETS`.
    profile : str
        Sizes.
    **options
        :func:`make_config` keywords.

    Returns
    -------
    ArrayDataset
    """
    return simulate(preset, split, profile, **options)



def data_source() -> dict:
    """Keyword arguments of :func:`affect_book.data.sources.register_source` for the ``synthetic`` source (called by
    :mod:`affect_book.data.sources` the first time the source is looked up)."""
    return {"loader": load_synthetic, "options": SOURCE_OPTIONS, "needs_root": False,
            "description": "the face simulator (chapter 03): presets affwild2, affectnet, balanced"}
