"""Decode, crop and resize every image once into an on-disk cache that training reads as an ArrayDataset.

Decoding a JPEG costs far more than reading its pixels back from an uncompressed array, so the book decodes each
image once (:func:`prepare`) and trains from the cache (:meth:`PreparedCache.dataset`, images memory-mapped).

The cache of a :class:`~affect_book.data.records.RecordIndex` lives in ``cache_root()/prepared/<hash>/``, the
hash taken over the records (paths, boxes, labels) and the image size::

    config.json            what the cache is for (written first)
    chunks/00000.npz ...   decoded images of chunk k and the records that failed, one atomic file per chunk
    images.npy             (N, S, S, 3) uint8 RGB, assembled from the chunks once all exist
    labels.npz             expression, va, au, subject, path of the N kept records
    manifest.json          written LAST: its presence is what makes the cache complete

Chunks are decoded in parallel (``multiprocessing``), each written to a temporary file and renamed, so an
interrupted run leaves whole chunks or nothing; rerunning :func:`prepare` skips the finished chunks. Unreadable
images (corrupt bytes, a face box outside the image) are left out and counted by reason.

Several processes may prepare the same records at once (the ranks of a ``torchrun`` job, a parallel study): one
builds under a lock beside the cache (``.<hash>.lock``, an ``flock`` released if its holder dies) while the others
wait, then open it; temporary names are unique, and only the lock holder touches ``chunks/``. A damaged file
(truncated, garbage) raises :class:`CorruptCacheError` naming it; :func:`prepare` then warns, renames the folder
``<hash>.corrupt-<time>`` (never deletes it) and builds it again.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap
from tqdm.auto import tqdm

from ..cache import atomic_write_bytes, cache_root, config_hash, file_lock, make_dirs, umask
from ..progress import wants_bars
from ._cache_files import CorruptCacheError, check_images, check_labels, load_checked
from .base import ArrayDataset
from .decode import UnusableImage, decode_face
from .records import RecordIndex, format_skipped

__all__ = ["FORMAT_VERSION", "CorruptCacheError", "PreparedCache", "cache_dir_for", "open_prepared",
           "prepare", "records_fingerprint"]

#: Bumped whenever the decoding or the cache layout changes, so old caches are not reused.
FORMAT_VERSION = 1
_MANIFEST, _CONFIG, _IMAGES, _LABELS, _CHUNKS = "manifest.json", "config.json", "images.npy", "labels.npz", "chunks"


def records_fingerprint(records: RecordIndex) -> str:
    """SHA-256 over the paths, boxes and labels of the records (the identity of what a cache holds).

    Parameters
    ----------
    records : RecordIndex

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    digest.update("\n".join(map(str, records.paths)).encode())
    digest.update("\n".join(map(str, records.subject)).encode())
    for arr in (records.boxes, records.expression, records.va, records.au):
        digest.update(np.ascontiguousarray(arr).tobytes())
    digest.update(",".join(records.classes).encode())
    return digest.hexdigest()


def _config(records: RecordIndex, image_size: int, chunk_size: int) -> dict:
    return {"version": FORMAT_VERSION, "dataset": records.dataset, "split": records.split, "layout": records.layout,
            "classes": list(records.classes), "image_size": int(image_size), "chunk_size": int(chunk_size),
            "n_candidates": len(records), "records": records_fingerprint(records)}


def cache_dir_for(records: RecordIndex, image_size: int = 112, chunk_size: int = 512) -> Path:
    """Where :func:`prepare` puts the cache of these records by default.

    Parameters
    ----------
    records : RecordIndex
    image_size, chunk_size : int
        As for :func:`prepare`.

    Returns
    -------
    Path
        ``cache_root()/prepared/<hash>``, the hash over the records and the settings.
    """
    return cache_root() / "prepared" / config_hash(_config(records, image_size, chunk_size))


def _atomic_save_npz(target: Path, /, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(target, buffer.getvalue())


def _chunk_path(folder: Path, chunk: int) -> Path:
    return folder / _CHUNKS / f"{chunk:05d}.npz"


def _prepare_chunk(folder: str, chunk: int, paths: list, boxes: np.ndarray, size: int) -> int:
    """Decode one chunk and write it atomically; returns the chunk number. Runs in a worker process."""
    images = np.zeros((len(paths), size, size, 3), dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)
    reasons = []
    for i, (path, box) in enumerate(zip(paths, boxes)):
        try:
            images[i] = decode_face(path, box, size)
            ok[i] = True
            reasons.append("")
        except UnusableImage as err:
            reasons.append(err.reason)
    _atomic_save_npz(_chunk_path(Path(folder), chunk), images=images[ok], ok=ok, reasons=np.array(reasons))
    return chunk


@dataclass
class PreparedCache:
    """A complete prepared cache: decoded images plus labels, and what was left out.

    Made by :func:`prepare` and :func:`open_prepared`, which check the files first; the constructor does not.

    Parameters
    ----------
    path : Path
        The cache folder.
    manifest : dict
        The contents of its ``manifest.json``: ``config`` (dataset, split, classes, image size, records'
        fingerprint...), ``n_records`` (images kept), ``skipped`` (reason -> count), ``notes`` (the loader's),
        ``created`` (UTC time).
    """

    path: Path
    manifest: dict

    @property
    def skipped(self) -> Counter:
        """Reason -> count, over the loader's index and the decoding step."""
        return Counter(self.manifest["skipped"])

    @property
    def fingerprint(self) -> str:
        """A digest of everything that determines the cache's content: the records' fingerprint (paths, boxes,
        labels, classes; :func:`records_fingerprint`), :data:`FORMAT_VERSION` and the image size. Training keys
        its cached runs on it, so a run on edited labels is not mistaken for the old one."""
        cfg = self.manifest["config"]
        return config_hash({"records": cfg["records"], "version": cfg["version"], "image_size": cfg["image_size"]},
                           length=64)

    def __len__(self) -> int:
        return int(self.manifest["n_records"])

    def dataset(self, transform: Callable | None = None, mmap: bool = True):
        """The cache as an :class:`~affect_book.data.base.ArrayDataset`.

        Parameters
        ----------
        transform : callable, optional
            Applied to each (3, H, W) uint8 image tensor.
        mmap : bool
            Memory-map the images (default); False reads them into memory.

        Returns
        -------
        ArrayDataset
            Images and labels of the kept records; ``fingerprint`` is set to :attr:`fingerprint`.

        Raises
        ------
        CorruptCacheError
            When ``images.npy`` or ``labels.npz`` cannot be read (the error names the file).
        """
        images = load_checked(self.path / _IMAGES, mmap_mode="r" if mmap else None)
        arrays = load_checked(self.path / _LABELS, keys=("expression", "va", "au", "subject"))
        cfg = self.manifest["config"]
        data = ArrayDataset(images, arrays["expression"], arrays["va"], arrays["au"], arrays["subject"],
                            cfg["classes"], f"{cfg['dataset']}:{cfg['split']}", transform=transform)
        data.fingerprint = self.fingerprint
        return data

    def paths(self) -> np.ndarray:
        """The source image of each cached image.

        Returns
        -------
        numpy.ndarray
            (N,) str, in the order of the cached images.

        Raises
        ------
        CorruptCacheError
            When ``labels.npz`` cannot be read.
        """
        return load_checked(self.path / _LABELS, keys=("path",))["path"]

    def report(self) -> str:
        """A summary for a log.

        Returns
        -------
        str
            A few lines: images kept, image size and folder; skipped items by reason; one line per loader note.
        """
        cfg = self.manifest["config"]
        lines = [f"prepared {cfg['dataset']} {cfg['split']} at {cfg['image_size']} px: {len(self)} images in "
                 f"{self.path}", "skipped: " + format_skipped(self.skipped)]
        lines += [f"note: {n}" for n in self.manifest.get("notes", [])]
        return "\n".join(lines)


def open_prepared(path: str | os.PathLike) -> PreparedCache:
    """Open a complete cache after checking its files against its manifest.

    Parameters
    ----------
    path : str or PathLike
        The cache folder.

    Returns
    -------
    PreparedCache

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no cache or an unfinished one (no ``manifest.json``).
    CorruptCacheError
        When a file is damaged: ``manifest.json`` not JSON, ``images.npy`` truncated or not the array the manifest
        describes, ``labels.npz`` unreadable or of the wrong length. The error names the file.
    """
    path = Path(path)
    manifest_path = path / _MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{path} holds no complete prepared cache (no {_MANIFEST}); run prepare() again "
                                f"to finish it")
    try:
        manifest = json.loads(manifest_path.read_text())
        n, size = int(manifest["n_records"]), int(manifest["config"]["image_size"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise CorruptCacheError(manifest_path, f"not a prepared-cache manifest ({type(err).__name__}: {err})") \
            from None
    check_images(path / _IMAGES, n, size)
    check_labels(path / _LABELS, n)
    return PreparedCache(path, manifest)


def _mp_context():
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _move_aside(folder: Path, err: CorruptCacheError) -> Path:
    """Rename a damaged cache folder to ``<name>.corrupt-<UTC time>-<pid>`` (kept for inspection) and warn."""
    aside = folder.with_name(f"{folder.name}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}")
    os.replace(folder, aside)
    warnings.warn(f"{err}; moved the cache to {aside} and preparing it again", RuntimeWarning, stacklevel=4)
    return aside


def _complete(folder: Path, config: dict, repair: bool) -> PreparedCache | None:
    """The finished cache in ``folder``, or None when there is none (or, with ``repair``, a damaged one, which is
    then moved aside). Raises when ``folder`` holds a cache of other records or settings."""
    if not (folder / _MANIFEST).is_file():
        return None
    try:
        cache = open_prepared(folder)
    except CorruptCacheError as err:
        if repair:
            _move_aside(folder, err)
        return None
    if cache.manifest["config"] != config:
        raise ValueError(f"{folder} holds a cache of other records or settings; pass another cache_dir")
    return cache


def _lock(stack: ExitStack, folder: Path, timeout: float | None, progress: bool) -> None:
    """Take the build lock of ``folder`` (``.<name>.lock`` beside it), saying so when another process holds it."""
    path, what = folder.with_name(f".{folder.name}.lock"), f"the prepared cache {folder}"
    try:
        stack.enter_context(file_lock(path, timeout=0, what=what))
    except TimeoutError:
        if progress:
            print(f"waiting for another process preparing {folder} (lock {path})", file=sys.stderr, flush=True)
        stack.enter_context(file_lock(path, timeout=timeout, what=what))


def prepare(records: RecordIndex, image_size: int = 112, cache_dir: str | os.PathLike | None = None,
            workers: int | None = None, chunk_size: int = 512, progress: bool = False,
            on_chunk_done: Callable[[int], None] | None = None, lock_timeout: float | None = None,
            on_lock: Callable[[], None] | None = None) -> PreparedCache:
    """Decode, crop and resize every record's image once into a cache; return the (complete) cache.

    An existing complete cache is returned at once; an unfinished one is resumed, skipping its finished chunks; a
    damaged one is moved aside with a warning naming the damaged file, and built again. Safe to call from several
    processes at once: one builds under a lock while the others wait, then all return the same cache.

    Parameters
    ----------
    records : RecordIndex
        What to decode (from a loader of :mod:`affect_book.data`).
    image_size : int
        Pixels per side of the cached images (at least 8).
    cache_dir : str or PathLike, optional
        The cache folder; default :func:`cache_dir_for`.
    workers : int, optional
        Decoding processes (default: CPU count; 0 or 1 decodes in this process).
    chunk_size : int
        Images per chunk, the unit of parallel work and of resumption.
    progress : bool
        Show a progress bar, and say so when waiting for another process.
    on_chunk_done : callable, optional
        ``on_chunk_done(chunk)``, called in this process after each chunk is on disk (a progress hook).
    lock_timeout : float, optional
        Seconds to wait for another process building the same cache (default: as long as it takes); then
        ``TimeoutError`` naming the lock file.
    on_lock : callable, optional
        Called once this process holds the build lock, before it looks at the folder again (under
        ``torch.distributed``, rank 0 releases the other ranks with it: they then wait on the lock).

    Returns
    -------
    PreparedCache
        The complete cache.
    """
    if image_size < 8:
        raise ValueError(f"image_size={image_size}; expected at least 8 pixels")
    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size}; expected at least 1")
    config = _config(records, image_size, chunk_size)
    folder = Path(cache_dir) if cache_dir is not None else cache_dir_for(records, image_size, chunk_size)
    cache = _complete(folder, config, repair=False)
    if cache is not None:
        return cache
    make_dirs(folder.parent)  # a read-only cache without this one: one line naming the folder
    with ExitStack() as stack:
        _lock(stack, folder, lock_timeout, progress)
        if on_lock is not None:
            on_lock()
        cache = _complete(folder, config, repair=True)  # finished (or found damaged) while this process waited
        if cache is not None:
            return cache
        return _build(folder, records, config, workers, progress, on_chunk_done)


def _build(folder: Path, records: RecordIndex, config: dict, workers: int | None, progress: bool,
           on_chunk_done: Callable[[int], None] | None) -> PreparedCache:
    """Decode the missing chunks and assemble them. The caller holds the folder's lock."""
    (folder / _CHUNKS).mkdir(parents=True, exist_ok=True)
    config_path = folder / _CONFIG
    if config_path.is_file():
        if json.loads(config_path.read_text()) != config:
            raise ValueError(f"{folder} holds an unfinished cache of other records or settings; pass another "
                             f"cache_dir or delete the folder")
    else:
        atomic_write_bytes(config_path, json.dumps(config, indent=1).encode())
    for stale in (*(folder / _CHUNKS).glob(".*.tmp"), *folder.glob(".*.tmp")):  # left by a killed builder
        stale.unlink()
    n, chunk_size, image_size = len(records), config["chunk_size"], config["image_size"]
    n_chunks = -(-n // chunk_size)
    pending = [c for c in range(n_chunks) if not _chunk_path(folder, c).is_file()]
    bar = None
    if progress and pending and wants_bars():  # no bar in logs and pipes (one line per update there)
        bar = tqdm(total=len(pending), desc=f"decoding {records.dataset} {records.split}", unit="chunk")

    def done(chunk: int):
        if bar is not None:
            bar.update(1)
        if on_chunk_done is not None:
            on_chunk_done(chunk)

    def job(chunk: int):
        lo, hi = chunk * chunk_size, min(n, (chunk + 1) * chunk_size)
        return (str(folder), chunk, list(records.paths[lo:hi]), records.boxes[lo:hi], image_size)

    workers = (os.cpu_count() or 1) if workers is None else workers
    workers = min(workers, len(pending))
    try:
        if workers <= 1:
            for chunk in pending:
                done(_prepare_chunk(*job(chunk)))
        elif pending:
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as pool:
                futures = [pool.submit(_prepare_chunk, *job(chunk)) for chunk in pending]
                try:
                    for future in as_completed(futures):
                        done(future.result())
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    finally:
        if bar is not None:
            bar.close()
    return _assemble(folder, records, config, n_chunks)


def _assemble(folder: Path, records: RecordIndex, config: dict, n_chunks: int) -> PreparedCache:
    """Concatenate the chunks into images.npy and labels.npz, then write the manifest (last) and drop the chunks.
    The caller holds the folder's lock, so no other process reads the chunks."""
    size = config["image_size"]
    ok = np.zeros(len(records), dtype=bool)
    unreadable: Counter = Counter()
    for chunk in range(n_chunks):
        with np.load(_chunk_path(folder, chunk), allow_pickle=False) as data:
            lo = chunk * config["chunk_size"]
            ok[lo:lo + len(data["ok"])] = data["ok"]
            unreadable.update(r for r in data["reasons"].tolist() if r)
    n_ok = int(ok.sum())
    handle, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{_IMAGES}.", suffix=".tmp")
    os.fchmod(handle, 0o666 & ~umask())  # mkstemp gives 0600 whatever the umask
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        images = open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n_ok, size, size, 3))
        at = 0
        for chunk in range(n_chunks):
            with np.load(_chunk_path(folder, chunk), allow_pickle=False) as data:
                block = data["images"]
                images[at:at + len(block)] = block
                at += len(block)
        images.flush()
        del images
        with open(tmp, "rb+") as out:
            os.fsync(out.fileno())
        os.replace(tmp, folder / _IMAGES)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _atomic_save_npz(folder / _LABELS, expression=records.expression[ok], va=records.va[ok], au=records.au[ok],
                     subject=records.subject[ok].astype(str), path=records.paths[ok].astype(str))
    skipped = Counter(records.skipped)
    skipped.update(unreadable)
    manifest = {"config": config, "n_records": n_ok, "skipped": dict(skipped), "notes": list(records.notes),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    atomic_write_bytes(folder / _MANIFEST, json.dumps(manifest, indent=1).encode())
    shutil.rmtree(folder / _CHUNKS, ignore_errors=True)
    return PreparedCache(folder, manifest)
