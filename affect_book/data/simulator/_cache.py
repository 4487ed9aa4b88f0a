"""The simulator's on-disk cache: :func:`simulate_all` and :func:`simulate` build each configuration once under
``cache_root()/simulator/<config_hash>/`` and load it (images memory-mapped) afterwards."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ...cache import cache_root, config_hash
from ...params import ParameterError, check_choice
from ..base import ArrayDataset
from ._config import SPLITS, SimulatorConfig, make_config
from ._generate import generate_split

__all__ = ["simulate", "simulate_all"]


def _to_dataset(config: SimulatorConfig, arrays: Mapping[str, np.ndarray], split: str) -> ArrayDataset:
    subject = np.char.add("sim", np.asarray(arrays["subject"]).astype(str))
    ds = ArrayDataset(arrays["images"], arrays["expression"], arrays["va"], arrays["au"], subject, config.classes,
                      f"simulator:{config.preset}:{split}")
    ds.truth = {k: arrays[k] for k in ("true_expression", "true_va", "intensity", "au_intensity", "confound")}
    ds.config = config
    ds.split = split
    return ds


def simulate_all(config: SimulatorConfig, workers: int | None = None,
                 use_cache: bool = True) -> dict[str, ArrayDataset]:
    """All three splits as :class:`~affect_book.data.base.ArrayDataset` objects, built once and cached.

    Each dataset also carries ``truth`` (a dict of ground-truth arrays, see :func:`generate_split`), ``config`` and
    ``split``. ``workers``: processes used to render (default: every core, at most 16; the output does not
    depend on it). Images are written straight into memory-mapped files, so the ``gpu`` profile's sets need disk,
    not memory.
    """
    if not isinstance(config, SimulatorConfig):
        raise ParameterError(f"config: expected a SimulatorConfig (see make_config), found {type(config).__name__}")
    workers = workers or min(16, os.cpu_count() or 1)
    directory = cache_root() / "simulator" / config_hash(config)
    if not use_cache:
        return {s: _to_dataset(config, generate_split(config, s, workers), s) for s in SPLITS}
    if not (directory / "done.json").is_file():
        _build(directory, config, workers)
    return {s: _to_dataset(config, _load(directory / s), s) for s in SPLITS}


def simulate(config: SimulatorConfig | str = "balanced", split: str = "train", profile: str = "cpu",
             **knobs) -> ArrayDataset:
    """One split of a simulated dataset (cached). ``config``: a :class:`SimulatorConfig` or a preset name, in
    which case ``profile`` and ``knobs`` go to :func:`make_config`."""
    check_choice("split", split, SPLITS)
    if isinstance(config, str):
        config = make_config(config, profile, **knobs)
    elif knobs:
        raise ParameterError(f"knobs {sorted(knobs)} given with a ready SimulatorConfig; pass them to make_config "
                             f"instead, so they are validated")
    return simulate_all(config)[split]


def _load(directory: Path) -> dict[str, np.ndarray]:
    return {p.stem: np.load(p, mmap_mode="r" if p.stem == "images" else None) for p in directory.glob("*.npy")}


def _build(directory: Path, config: SimulatorConfig, workers: int) -> None:
    """Generate every split into a temporary directory next to ``directory``, then rename it (atomic)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        for split in SPLITS:
            (tmp / split).mkdir()
            size = config.image_size
            images = np.lib.format.open_memmap(tmp / split / "images.npy", mode="w+", dtype=np.uint8,
                                               shape=(config.size(split), size, size, 3))
            parts = generate_split(config, split, workers, out=images)
            images.flush()
            del images, parts["images"]
            for name, arr in parts.items():
                np.save(tmp / split / f"{name}.npy", np.asarray(arr), allow_pickle=False)
        (tmp / "done.json").write_text(json.dumps(asdict(config), indent=1, default=str))
        try:
            os.rename(tmp, directory)
        except OSError:  # another process finished first: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
