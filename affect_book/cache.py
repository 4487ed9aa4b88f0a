"""On-disk cache keyed by a hash of a full configuration. Introduced in chapter 00.

Trained models and study results live under ``cache_root()/<kind>/<hash>/``: the same configuration always maps
to the same directory, so chapters that share a run load it instead of recomputing. Files are written atomically
(temporary file, then rename), so an interrupted run never leaves a file that looks complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["OMIT_DEFAULT", "atomic_write_bytes", "cache_root", "config_hash", "file_lock", "run_dir"]


def cache_root() -> Path:
    """The root folder of cached results.

    Returns
    -------
    Path
        ``$AFFECT_BOOK_CACHE`` if set, else ``$XDG_CACHE_HOME/affect-book`` (default ``~/.cache/affect-book``).
    """
    env = os.environ.get("AFFECT_BOOK_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "affect-book"


#: Field metadata marking a field added after configurations were first cached: at its default value it is left
#: out of the hash, so every configuration that does not use it keeps its key (and its cached results).
OMIT_DEFAULT = {"omit_default_from_hash": True}


def _omitted(field: dataclasses.Field, value: Any) -> bool:
    return bool(field.metadata.get("omit_default_from_hash")) and value == field.default


def _canonical(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__, **{f.name: _canonical(getattr(obj, f.name))
                                                   for f in dataclasses.fields(obj)
                                                   if not _omitted(f, getattr(obj, f.name))}}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and obj != obj:
        return "nan"
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return _canonical(obj.tolist())
    raise TypeError(f"cannot hash a {type(obj).__name__} in a config; use plain values, lists, dicts, dataclasses")


def config_hash(config: Any, length: int = 16) -> str:
    """Hex digest of a configuration; key order does not matter. A dataclass field declared with
    ``metadata=OMIT_DEFAULT`` is left out while it holds its default (a field added later keeps old keys).

    Parameters
    ----------
    config : object
        A dataclass, dict, list or tuple of plain values (str, int, float, bool, None, Path, NumPy values).
    length : int
        Hex digits kept (of SHA-256).

    Returns
    -------
    str
        The digest.
    """
    text = json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def run_dir(kind: str, config: Any) -> Path:
    """Directory for one cached result (not created).

    Parameters
    ----------
    kind : str
        The kind of result (a subfolder of the cache root).
    config : object
        Its configuration (see :func:`config_hash`).

    Returns
    -------
    Path
        ``cache_root()/kind/config_hash(config)``.
    """
    return cache_root() / kind / config_hash(config)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same directory and an atomic rename.

    Parameters
    ----------
    path : str or PathLike
        Destination (its folder is created).
    data : bytes
        The content.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def file_lock(path: str | os.PathLike, timeout: float | None = None, what: str = "this cache entry"):
    """Hold an exclusive inter-process lock on ``path`` (a lock file, created if missing) for the ``with`` block.

    Built on ``filelock.FileLock``, which on POSIX uses ``fcntl.flock``: the operating system releases the lock when
    its holder dies (SIGKILL included), so a killed process never leaves a stale lock behind. ``timeout`` (seconds,
    None = wait for ever) raises ``TimeoutError`` naming the lock file and ``what`` it protects. Locks on network
    file systems depend on the server's flock support (NFSv4 and Lustre have it).

    Parameters
    ----------
    path : str or PathLike
        The lock file (its folder is created).
    timeout : float, optional
        Seconds to wait (None: for ever).
    what : str
        What the lock protects, for the timeout message.

    Yields
    ------
    Path
        ``path``, while the lock is held.
    """
    import filelock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), timeout=-1 if timeout is None else timeout)
    try:
        lock.acquire()
    except filelock.Timeout as err:
        raise TimeoutError(f"could not lock {path} ({what}) within {timeout} s: another process holds it") from err
    try:
        yield path
    finally:
        lock.release()
