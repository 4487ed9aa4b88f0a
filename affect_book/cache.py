"""On-disk cache keyed by a hash of a full configuration. Introduced in chapter 00.

Trained models and study results live under ``cache_root()/<kind>/<hash>/``: the same configuration always maps
to the same directory, so chapters that share a run load it instead of recomputing. Files are written atomically
(temporary file, then rename), so an interrupted run never leaves a file that looks complete.

**Shared and read-only caches.** Files are created with the usual permissions, ``0o666 & ~umask`` (folders
``0o777 & ~umask``), so a lab's shared cache with ``umask 002`` is group-writable. Reading a finished entry never
needs write access (a course's read-only, pre-computed cache loads); where a write is needed and not allowed, the
error is a one-line :class:`PermissionError` naming the path and the permission missing (:func:`permission_error`).
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock

__all__ = ["OMIT_DEFAULT", "atomic_write_bytes", "cache_root", "config_hash", "file_lock", "is_denied", "make_dirs",
           "permission_error", "run_dir", "stat_mode", "umask", "write_unless_same"]


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


def umask() -> int:
    """This process's umask, read without changing it (``/proc/self/status`` on Linux; elsewhere set and restored).

    Returns
    -------
    int
        The mask, e.g. ``0o022``.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def is_denied(err: OSError) -> bool:
    """Whether an OSError is a permission problem (not a missing file or damage): EACCES, EPERM or a read-only
    file system. Such an error is reported as :func:`permission_error`, never treated as a damaged file.

    Parameters
    ----------
    err : OSError
        The error caught.

    Returns
    -------
    bool
        True for PermissionError, EACCES, EPERM and EROFS.
    """
    return isinstance(err, PermissionError) or err.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def permission_error(path: str | os.PathLike, need: str, why: str = "",
                     err: OSError | None = None) -> PermissionError:
    """A one-line PermissionError naming ``path``, the permission missing, its owner and mode.

    Parameters
    ----------
    path : str or PathLike
        The file or folder that could not be used.
    need : str
        The permission missing: ``"read"`` or ``"write"``.
    why : str
        What it was needed for, e.g. ``"to lock training run abc"``.
    err : OSError, optional
        The original error (named when it is not a plain "Permission denied", e.g. a read-only file system).

    Returns
    -------
    PermissionError
        To raise (``from None``: the message says everything).
    """
    path = Path(path)
    try:
        st = path.stat()
        detail = f"owner uid {st.st_uid}, mode {stat_mode(st.st_mode)}"
    except OSError:
        detail = "cannot stat it"
    uid = os.geteuid() if hasattr(os, "geteuid") else "?"
    cause = f"; {err.strerror}" if err is not None and err.errno not in (None, errno.EACCES) else ""
    return PermissionError(f"{path}: permission denied: needs {need} permission{' ' + why if why else ''} "
                           f"({detail}; you are uid {uid}{cause})")


def stat_mode(mode: int) -> str:
    """A file mode's permission bits as text.

    Parameters
    ----------
    mode : int
        ``st_mode`` of a stat result.

    Returns
    -------
    str
        E.g. ``"0o644"``.
    """
    return f"0o{mode & 0o7777:03o}"


def write_unless_same(path: str | os.PathLike, data: bytes) -> Path:
    """:func:`atomic_write_bytes` unless ``path`` already holds exactly ``data`` (then nothing is written, so a
    read-only cache that already has the file is fine).

    Parameters
    ----------
    path : str or PathLike
        Destination.
    data : bytes
        The content.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    try:
        if path.is_file() and path.read_bytes() == data:
            return path
    except OSError:
        pass  # unreadable: try to write it, which reports the problem
    return atomic_write_bytes(path, data)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same directory and an atomic rename.

    The file gets ``0o666 & ~umask`` (``mkstemp`` alone would give 0600 whatever the umask, leaving a shared
    cache unreadable to the group). A folder that cannot be written raises a one-line PermissionError naming it.

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
    make_dirs(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        if is_denied(err):
            raise permission_error(path.parent, "write", f"to write {path.name} in it", err) from None
        raise
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def make_dirs(folder: str | os.PathLike) -> Path:
    """``mkdir -p`` (modes ``0o777 & ~umask``); a folder that cannot be created raises a one-line PermissionError
    naming the first existing parent that refused it.

    Parameters
    ----------
    folder : str or PathLike
        The folder.

    Returns
    -------
    Path
        ``folder``.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if not is_denied(err):
            raise
        parent = folder
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        raise permission_error(parent, "write", f"to create {folder}", err) from None
    return folder


@contextmanager
def file_lock(path: str | os.PathLike, timeout: float | None = None, what: str = "this cache entry"):
    """Hold an exclusive inter-process lock on ``path`` (a lock file, created if missing) for the ``with`` block.

    Built on ``filelock.FileLock``, which on POSIX uses ``fcntl.flock``: the operating system releases the lock when
    its holder dies (SIGKILL included), so a killed process never leaves a stale lock behind. ``timeout`` (seconds,
    None = wait for ever) raises ``TimeoutError`` naming the lock file and ``what`` it protects. Locks on network
    file systems depend on the server's flock support (NFSv4 and Lustre have it). The lock file gets
    ``0o666 & ~umask``; a folder or lock file this user may not write raises a one-line PermissionError naming it.

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
    path = Path(path)
    make_dirs(path.parent)
    lock = filelock.FileLock(str(path), timeout=-1 if timeout is None else timeout)
    try:
        lock.acquire()
    except filelock.Timeout as err:
        raise TimeoutError(f"could not lock {path} ({what}) within {timeout} s: another process holds it") from err
    except OSError as err:
        if not is_denied(err):
            raise
        target = path if path.exists() else path.parent
        raise permission_error(target, "write", f"to lock {what}", err) from None
    try:
        yield path
    finally:
        lock.release()
