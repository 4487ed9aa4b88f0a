"""Data sources of the book, one module per source, all yielding the same records (see :mod:`.base`).

Real benchmarks: :mod:`.affectnet`, :mod:`.affwild2`, :mod:`.manifest` (index the files), :mod:`.prepare` (decode
once into a cache), :mod:`.sources` (registry, ``load``, ``summary``), :mod:`.published` (published counts),
:mod:`.batches` (fast batches and tensor augmentation).
"""

from .base import AU_COLUMNS, ArrayDataset
from .records import DataFormatError, RecordIndex

__all__ = ["AU_COLUMNS", "ArrayDataset", "DataFormatError", "RecordIndex"]
