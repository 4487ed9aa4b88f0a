"""Reading and checking the files of a prepared cache (:mod:`affect_book.data.prepare`) without trusting them.

A damaged file (truncated, garbage, an array of another shape than the manifest says) raises
:class:`CorruptCacheError` naming it; the checks read headers only, never the image data.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from ..cache import is_denied, permission_error

__all__ = ["CorruptCacheError", "check_images", "check_labels", "load_checked"]


class CorruptCacheError(RuntimeError):
    """A file of a prepared cache is damaged (truncated, garbage, or not what the manifest says).

    Parameters
    ----------
    file : str or PathLike
        The damaged file; kept as ``file`` (a Path), its folder (the cache's) as ``folder``.
    reason : str
        What is wrong with it (``"missing"``, ``"unreadable (...)"``...); kept as ``reason``.
    """

    def __init__(self, file: str | os.PathLike, reason: str):
        self.file, self.folder, self.reason = Path(file), Path(file).parent, reason
        super().__init__(f"damaged prepared cache file {self.file}: {reason}")


# Its public home is affect_book.data.prepare, which re-exports it: tracebacks and the API docs name it there.
CorruptCacheError.__module__ = "affect_book.data.prepare"


_LABEL_KEYS = ("expression", "va", "au", "subject", "path")


def load_checked(path: Path, mmap_mode=None, keys: tuple[str, ...] | None = None):
    """``np.load`` of a cache file (the arrays ``keys`` of an .npz); a damaged file raises CorruptCacheError."""
    try:
        data = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
        if keys is None:
            return data
        with data:
            return {k: data[k] for k in keys}
    except FileNotFoundError:
        raise CorruptCacheError(path, "missing") from None
    except OSError as err:
        _raise_unless_damage(path, err)
        raise CorruptCacheError(path, f"unreadable ({type(err).__name__}: {err})") from None
    except (ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise CorruptCacheError(path, f"unreadable ({type(err).__name__}: {err})") from None


def _raise_unless_damage(path: Path, err: OSError) -> None:
    """A permission problem is not damage (moving the cache aside would take another user's files): raise it as a
    one-line PermissionError naming the file."""
    if is_denied(err):
        raise permission_error(path, "read", "to load the prepared cache", err) from None


def _npy_header(handle) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) from the header of a .npy stream; ValueError when it is not one."""
    version = npy.read_magic(handle)
    read_header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ValueError(f"unexpected .npy format version {version}")
    shape, fortran, dtype = read_header(handle)
    return tuple(shape), fortran, dtype


def check_images(path: Path, n: int, size: int) -> None:
    """The header of ``images.npy`` says (n, size, size, 3) uint8 and the file holds exactly that many bytes."""
    try:
        with open(path, "rb") as handle:
            shape, fortran, dtype = _npy_header(handle)
            offset = handle.tell()
    except FileNotFoundError:
        raise CorruptCacheError(path, "missing") from None
    except (ValueError, OSError, EOFError, SyntaxError) as err:
        if isinstance(err, OSError):
            _raise_unless_damage(path, err)
        raise CorruptCacheError(path, f"not a .npy array ({err})") from None
    expected = (n, size, size, 3)
    if shape != expected or dtype != np.uint8 or fortran:
        raise CorruptCacheError(path, f"holds a {'Fortran-ordered ' if fortran else ''}{shape} {dtype} "
                                      f"array; the manifest says {expected} uint8")
    length, wanted = path.stat().st_size, offset + int(np.prod(expected))
    if length != wanted:
        raise CorruptCacheError(path, f"{length} bytes, expected {wanted} "
                                      f"({'truncated' if length < wanted else 'trailing bytes'})")


def check_labels(path: Path, n: int) -> None:
    """``labels.npz`` is a whole zip archive whose label arrays all have ``n`` rows (headers read, not data)."""
    try:
        with zipfile.ZipFile(path) as archive:
            lengths = {}
            for key in _LABEL_KEYS:
                with archive.open(f"{key}.npy") as member:
                    lengths[key] = _npy_header(member)[0][:1]
    except FileNotFoundError:
        raise CorruptCacheError(path, "missing") from None
    except (ValueError, OSError, EOFError, KeyError, SyntaxError, zipfile.BadZipFile) as err:
        if isinstance(err, OSError):
            _raise_unless_damage(path, err)
        raise CorruptCacheError(path, f"unreadable ({type(err).__name__}: {err})") from None
    wrong = {k: v for k, v in lengths.items() if v != (n,)}
    if wrong:
        raise CorruptCacheError(path, f"label arrays of lengths {wrong}; the manifest says {n} records")
