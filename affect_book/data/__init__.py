"""Data sources of the book, one module per source, all yielding the same records (see :mod:`.base`).

Real benchmarks: :mod:`.affectnet`, :mod:`.affwild2`, :mod:`.manifest` (index the files), :mod:`.prepare` (decode
once into a cache), :mod:`.sources` (registry, ``load``, ``summary``), :mod:`.published` (published counts),
:mod:`.batches` (fast batches and tensor augmentation), :mod:`.decode` (one image: crop and resize),
:mod:`.parameters` (a chapter's ``DATASET``, ``DATA_ROOT`` and ``PRESET`` checked).
"""

from .base import AU_COLUMNS, ArrayDataset
from .parameters import check_data_parameters
from .records import DataFormatError, RecordIndex
from .simulator import PRESETS, SimulatorConfig, generate_split, make_config, render_examples, simulate, simulate_all

__all__ = ["AU_COLUMNS", "ArrayDataset", "DataFormatError", "PRESETS", "RecordIndex", "SimulatorConfig",
           "check_data_parameters", "generate_split", "make_config", "render_examples", "simulate", "simulate_all"]
