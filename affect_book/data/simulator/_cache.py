"""The simulator's on-disk cache: :func:`simulate_all` and :func:`simulate` build each configuration once under
``cache_root()/simulator/<config_hash>/`` and load it (images memory-mapped) afterwards.

**Safe under concurrency and interruption.** A build holds ``.<config_hash>.lock`` (:func:`affect_book.cache.file_lock`,
released by the operating system when its holder dies), writes into a temporary folder with a unique name
(``.<config_hash>.tmp-<pid>-<random>``) and renames it into place when complete; a process that waited for the lock
loads what the holder built. A build killed mid-way (SIGKILL, power loss) leaves its temporary folder behind: the
next build removes every such orphan whose configuration's lock is free (its builder is dead). A cache file that
cannot be read back (truncated, missing, garbage) is named in a warning and its configuration built again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ...cache import is_denied, cache_root, config_hash, file_lock, permission_error, umask
from ...params import ParameterError, check_choice
from ..base import ArrayDataset
from ._config import SIMULATOR_VERSION, SPLITS, SimulatorConfig, make_config
from ._generate import generate_split

__all__ = ["dataset_fingerprint", "simulate", "simulate_all"]


def dataset_fingerprint(config: SimulatorConfig, split: str) -> str:
    """A digest of everything that determines a simulated split's content.

    Parameters
    ----------
    config : SimulatorConfig
        The configuration (its full :func:`~affect_book.cache.config_hash` enters the digest).
    split : str
        "train", "val" or "test".

    Returns
    -------
    str
        64 hex digits: sha256 of the config hash, :data:`SIMULATOR_VERSION` and the split. Every simulated dataset
        carries it as ``fingerprint`` (the trainer keys its runs on it).
    """
    check_choice("split", split, SPLITS)
    text = json.dumps({"config": config_hash(config, length=64), "simulator_version": SIMULATOR_VERSION,
                       "split": split}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _to_dataset(config: SimulatorConfig, arrays: Mapping[str, np.ndarray], split: str) -> ArrayDataset:
    subject = np.char.add("sim", np.asarray(arrays["subject"]).astype(str))
    ds = ArrayDataset(arrays["images"], arrays["expression"], arrays["va"], arrays["au"], subject, config.classes,
                      f"simulator:{config.preset}:{split}")
    ds.truth = {k: arrays[k] for k in ("true_expression", "true_va", "intensity", "au_intensity", "confound")}
    ds.config = config
    ds.split = split
    ds.fingerprint = dataset_fingerprint(config, split)
    return ds


def simulate_all(config: SimulatorConfig, workers: int | None = None,
                 use_cache: bool = True) -> dict[str, ArrayDataset]:
    """All three splits as :class:`~affect_book.data.base.ArrayDataset` objects, built once and cached.

    Concurrent calls (processes, ranks) build once: the first holds the build lock, the others wait and load its
    result. Images are written straight into memory-mapped files, so the ``gpu`` profile's sets need disk, not
    memory.

    Parameters
    ----------
    config : SimulatorConfig
        What to simulate (see :func:`make_config`).
    workers : int or None
        Processes used to render (default: every core, at most 16); the output does not depend on it.
    use_cache : bool
        False: generate in memory without reading or writing the cache.

    Returns
    -------
    dict
        ``{"train", "val", "test"}`` -> ArrayDataset, each also carrying ``truth`` (a dict of ground-truth arrays,
        see :func:`generate_split`), ``config``, ``split`` and ``fingerprint`` (:func:`dataset_fingerprint`).
    """
    if not isinstance(config, SimulatorConfig):
        raise ParameterError(f"config: expected a SimulatorConfig (see make_config), found {type(config).__name__}")
    workers = workers or min(16, os.cpu_count() or 1)
    directory = cache_root() / "simulator" / config_hash(config)
    if not use_cache:
        return {s: _to_dataset(config, generate_split(config, s, workers), s) for s in SPLITS}
    if (directory / "done.json").is_file():
        try:
            return _datasets(config, directory)
        except _Unreadable:
            pass  # repaired below, under the lock
    with file_lock(_lock_path(directory.parent, directory.name), what=f"the simulator build {directory.name}"):
        if (directory / "done.json").is_file():
            try:
                return _datasets(config, directory)  # built or repaired while this process waited for the lock
            except _Unreadable as err:
                warnings.warn(f"{err}; removing {directory} and building it again", RuntimeWarning, stacklevel=2)
                shutil.rmtree(directory)
        _remove_orphans(directory.parent, directory.name)
        _build(directory, config, workers)
    return _datasets(config, directory)


def simulate(config: SimulatorConfig | str = "balanced", split: str = "train", profile: str = "cpu",
             **knobs) -> ArrayDataset:
    """One split of a simulated dataset (cached).

    Parameters
    ----------
    config : SimulatorConfig or str
        A config, or a preset name, in which case ``profile`` and ``knobs`` go to :func:`make_config`.
    split : {"train", "val", "test"}
        The split.
    profile : str
        Sizes, with a preset name.
    **knobs
        :func:`make_config` keywords, with a preset name.

    Returns
    -------
    ArrayDataset
        Memory-mapped images and labels, with ``fingerprint`` set.
    """
    check_choice("split", split, SPLITS)
    if isinstance(config, str):
        config = make_config(config, profile, **knobs)
    elif knobs:
        raise ParameterError(f"knobs {sorted(knobs)} given with a ready SimulatorConfig; pass them to make_config "
                             f"instead, so they are validated")
    return simulate_all(config)[split]


#: The arrays a cached split holds (those :func:`generate_split` returns).
_ARRAYS = ("images", "expression", "va", "au", "subject", "true_expression", "true_va", "intensity", "au_intensity",
           "confound")


class _Unreadable(Exception):
    """A cache file is missing, truncated or not the array it should be (the message names it)."""


def _datasets(config: SimulatorConfig, directory: Path) -> dict[str, ArrayDataset]:
    return {s: _to_dataset(config, _load(directory / s, config.size(s), config.image_size), s) for s in SPLITS}


def _load(directory: Path, n: int, size: int) -> dict[str, np.ndarray]:
    """The arrays of one cached split (images memory-mapped), each checked to open and to hold ``n`` rows."""
    out = {}
    for name in _ARRAYS:
        path = directory / f"{name}.npy"
        try:
            arr = np.load(path, mmap_mode="r" if name == "images" else None, allow_pickle=False)
        except OSError as err:
            if is_denied(err):  # not damage: another user's file (rebuilding would delete their build)
                raise permission_error(path, "read", "to load the simulated split", err) from None
            raise _Unreadable(f"simulator cache file {path} is unreadable ({type(err).__name__}: {err})") from err
        except (ValueError, EOFError) as err:
            raise _Unreadable(f"simulator cache file {path} is unreadable ({type(err).__name__}: {err})") from err
        expected = (n, size, size, 3) if name == "images" else (n,)
        if arr.shape[:len(expected)] != expected:
            raise _Unreadable(f"simulator cache file {path} holds an array of shape {arr.shape}; expected "
                              f"{expected} in its leading axes")
        out[name] = arr
    return out


def _lock_path(root: Path, key: str) -> Path:
    return root / f".{key}.lock"


def _remove_orphans(root: Path, own: str) -> list[Path]:
    """Remove the temporary folders of dead builds under ``root``; the caller holds the lock of config ``own``.

    A temporary folder is a hidden directory ``.<config_hash>.<suffix>`` (this version names them
    ``.<hash>.tmp-<pid>-<random>``; earlier ones ``.<hash>.<random>``). Those of ``own`` are orphans (their build
    would hold the lock the caller holds); those of another configuration are removed only if its lock is free.
    Returns the folders removed.
    """
    by_key: dict[str, list[Path]] = {}
    for path in root.glob(".*.*"):
        if path.is_dir():
            by_key.setdefault(path.name[1:].split(".", 1)[0], []).append(path)
    removed = []
    for key, paths in sorted(by_key.items()):
        if key == own:
            removed += _rmtrees(paths)
            continue
        try:
            with file_lock(_lock_path(root, key), timeout=0, what=f"the simulator build {key}"):
                removed += _rmtrees(paths)
        except TimeoutError:  # that configuration is being built right now: its folder is not an orphan
            continue
    directory = root / own
    if directory.is_dir() and not (directory / "done.json").is_file():  # incomplete (only by hand): rebuild it
        removed += _rmtrees([directory])
    return removed


def _rmtrees(paths: list[Path]) -> list[Path]:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
    return paths


def _build(directory: Path, config: SimulatorConfig, workers: int) -> None:
    """Generate every split into a uniquely named temporary directory next to ``directory``, then rename it (atomic).
    The caller holds the build lock."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp-{os.getpid()}-"))
    try:
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp gives 0700 whatever the umask: a shared cache's group could not read
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
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
