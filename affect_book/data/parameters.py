"""A chapter's data parameters checked in one call: which source (``DATASET``), the licensed copy's folder
(``DATA_ROOT``) and the simulator preset (``PRESET``).

Chapters 06-09 read the same three parameters; :func:`check_data_parameters` is their one home, so a typo fails at
the top of every chapter with the same message (:class:`~affect_book.params.ParameterError`, naming the parameter and
the values it accepts).
"""

from __future__ import annotations

from pathlib import Path

from ..params import ParameterError, check_choice, check_path
from .simulator import PRESETS
from .sources import SOURCES

__all__ = ["check_data_parameters"]


def check_data_parameters(dataset: str, data_root=None, preset: str | None = None) -> Path | None:
    """Check a chapter's ``DATASET``, ``DATA_ROOT`` and (optionally) ``PRESET``; return the licensed copy's folder.

    Parameters
    ----------
    dataset : str
        ``DATASET``: ``"synthetic"`` (the simulator) or a licensed copy's source name (``"affectnet"``,
        ``"affwild2"``, ``"manifest"``).
    data_root : str or Path, optional
        ``DATA_ROOT``: the licensed copy's folder; required unless ``dataset`` is ``"synthetic"``.
    preset : str, optional
        ``PRESET``: a simulator preset (checked whatever ``dataset`` is: a chapter's parameters are all valid or it
        stops); None skips the check.

    Returns
    -------
    Path or None
        The expanded ``DATA_ROOT`` (None when not given).

    Raises
    ------
    ParameterError
        ``DATASET`` or ``PRESET`` not among the valid values (listed, with a close match), ``DATA_ROOT`` not an
        existing path, or a licensed ``DATASET`` without ``DATA_ROOT``.
    """
    check_choice("DATASET", dataset, SOURCES)
    root = check_path("DATA_ROOT", data_root)
    if dataset != "synthetic" and root is None:
        raise ParameterError(f"DATASET={dataset!r} reads a licensed copy: set DATA_ROOT to its folder")
    if preset is not None:
        check_choice("PRESET", preset, PRESETS)
    return root
