"""Data sources of the book, one module per source, all yielding the same records (see :mod:`.base`)."""

from .base import AU_COLUMNS, ArrayDataset
from .simulator import PRESETS, SimulatorConfig, generate_split, make_config, render_examples, simulate, simulate_all

__all__ = ["AU_COLUMNS", "ArrayDataset", "PRESETS", "SimulatorConfig", "generate_split", "make_config",
           "render_examples", "simulate", "simulate_all"]
