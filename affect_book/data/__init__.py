"""Data sources of the book, one module per source, all yielding the same records (see :mod:`.base`)."""

from .base import AU_COLUMNS, ArrayDataset

__all__ = ["AU_COLUMNS", "ArrayDataset"]
