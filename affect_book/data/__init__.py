"""Data sources of the book, one module per source, all yielding the same records (see :mod:`.base`).

Real benchmarks: :mod:`.affectnet`, :mod:`.affwild2`, :mod:`.manifest` (index the files), :mod:`.prepare` (decode
once into a cache), :mod:`.sources` (registry, ``load``, ``summary``), :mod:`.published` (published counts),
:mod:`.batches` (fast batches and tensor augmentation), :mod:`.decode` (one image: crop and resize).
"""

from .base import AU_COLUMNS, ArrayDataset
from .records import DataFormatError, RecordIndex
from .simulator import PRESETS, SimulatorConfig, generate_split, make_config, render_examples, simulate, simulate_all

__all__ = ["AU_COLUMNS", "ArrayDataset", "DataFormatError", "PRESETS", "RecordIndex", "SimulatorConfig",
           "generate_split", "make_config", "render_examples", "simulate", "simulate_all"]
