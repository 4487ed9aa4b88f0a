"""One entry point for every data source: a registry of loaders, ``load`` (index, prepare, dataset) and ``summary``.

Sources are registered by name (:func:`register_source`): ``affectnet``, ``affwild2`` and ``manifest`` read
licensed copies from a root folder; ``synthetic`` is the face simulator, whose module is imported the first time
the source is looked up (not when this package is imported): :data:`DEFERRED_SOURCES`.

A loader returns either a :class:`~affect_book.data.records.RecordIndex` (real data: paths and labels, decoded later
by :func:`~affect_book.data.prepare.prepare`) or an :class:`~affect_book.data.base.ArrayDataset` (generated data).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch.distributed as dist

from ..params import check_choice
from ..profiles import get_profile
from . import affectnet, affwild2, manifest
from .prepare import prepare
from .records import RecordIndex, format_skipped

__all__ = ["SOURCES", "Source", "SourceNotAvailable", "get_records", "load", "load_splits", "register_source",
           "summary", "summary_of", "format_summary"]


class SourceNotAvailable(RuntimeError):
    """The data source is known but its loader is not installed in this version of the package."""


@dataclass(frozen=True)
class Source:
    """A registered data source (see :func:`register_source`).

    Parameters
    ----------
    name : str
        The name :func:`get_records` and :func:`load` take as ``dataset``.
    loader : callable or None
        ``loader(root, split, **options)`` (``loader(split=split, **options)`` when ``needs_root`` is False),
        returning a RecordIndex or an ArrayDataset. None: not importable yet (a deferred or unavailable source).
    options : tuple of str
        The keyword options the loader accepts (``layout``, ``track``, ...).
    needs_root : bool
        Whether it reads a folder (real data) rather than generating its data.
    description : str
        One line for listings.
    unavailable : str or None
        Why it cannot be used yet (the :class:`SourceNotAvailable` message); None when it can.
    """

    name: str
    loader: Callable[..., Any] | None
    options: tuple[str, ...] = ()
    needs_root: bool = True
    description: str = ""
    unavailable: str | None = None


SOURCES: dict[str, Source] = {}


def register_source(name: str, loader: Callable[..., Any] | None, options: tuple[str, ...] = (),
                    needs_root: bool = True, description: str = "", unavailable: str | None = None) -> Source:
    """Add (or replace) a data source in :data:`SOURCES`.

    Parameters
    ----------
    name, loader, options, needs_root, description, unavailable
        As for :class:`Source` (``options`` may be any iterable of str).

    Returns
    -------
    Source
        The registered entry.
    """
    SOURCES[name] = Source(name, loader, tuple(options), needs_root, description, unavailable)
    return SOURCES[name]


def _affectnet(root, split, layout=None, classes=None, numeric_order=None):
    return affectnet.index(root, split, layout or "auto", classes or "affectnet8", numeric_order)


def _affwild2(root, split, layout=None, track=None):
    return affwild2.index(root, split, layout or "auto", track or "all")


def _manifest(root, split, classes=None):
    return manifest.index(root, split, classes or "auto")


register_source("affectnet", _affectnet, ("layout", "classes", "numeric_order"),
                description="AffectNet: original CSV release, per-image .npy, or class-named folders")
register_source("affwild2", _affwild2, ("layout", "track"),
                description="Aff-Wild2 (ABAW): uni-task annotation folders or s-Aff-Wild2 multi-task files")
register_source("manifest", _manifest, ("classes",), description="any collection described by a manifest CSV")
register_source("synthetic", None, needs_root=False, description="the face simulator (chapter 03)")

#: Sources whose loader lives in a module imported on first look-up: name -> module (relative to this package)
#: whose ``data_source()`` returns :func:`register_source`'s keyword arguments.
DEFERRED_SOURCES: dict[str, str] = {"synthetic": ".simulator._source"}


def _source(name: str) -> Source:
    check_choice("dataset", name, sorted(SOURCES))
    source = SOURCES[name]
    if source.loader is None and name in DEFERRED_SOURCES:
        module = importlib.import_module(DEFERRED_SOURCES[name], __package__)
        source = Source(name, **module.data_source())  # resolved on each look-up; SOURCES is not mutated
    if source.loader is None or source.unavailable:
        raise SourceNotAvailable(source.unavailable or f"dataset {name!r} has no loader")
    return source


def get_records(dataset: str, root: str | os.PathLike | None = None, split: str = "train", **options):
    """Run a source's loader: a RecordIndex for real data, an ArrayDataset for generated data.

    Parameters
    ----------
    dataset : str
        A registered source name (:data:`SOURCES`).
    root : str or PathLike, optional
        The folder (or manifest file) of a licensed copy; required by real sources, refused by generated ones.
    split : str
        The split to read.
    **options
        Source options; one the source does not take is an error naming the ones it does. For a real source, an
        option set to None is dropped (its loader's default, e.g. ``layout`` auto); for a generated source, None is
        passed on, because it is a value there: ``visual_partner=None`` turns off a partner the preset sets (before,
        dropping it silently kept the preset's partner).

    Returns
    -------
    RecordIndex or ArrayDataset
    """
    source = _source(dataset)
    if source.needs_root:
        options = {k: v for k, v in options.items() if v is not None}
    bad = [k for k in options if k not in source.options]
    if bad:
        raise ValueError(f"dataset {dataset!r} takes no option {bad}; it takes {list(source.options) or 'none'}")
    if source.needs_root:
        if root is None:
            raise ValueError(f"dataset {dataset!r} needs root= (the folder of your licensed copy)")
        if not os.path.exists(root):
            raise FileNotFoundError(f"root {str(root)!r} for dataset {dataset!r} does not exist")
        return source.loader(root, split, **options)
    if root is not None:
        raise ValueError(f"dataset {dataset!r} is generated and reads no root folder; found root={str(root)!r} "
                         f"(drop it, or name a real source: {sorted(n for n, s in SOURCES.items() if s.needs_root)})")
    return source.loader(split=split, **options)


def _require_records(n: int, dataset: str, root, split: str, skipped=None, where: str = "") -> None:
    """Fail before training when a split has no record (an empty validation set would fail only after an epoch)."""
    if n:
        return
    left_out = f"; left out: {format_skipped(Counter(skipped))}" if skipped else ""
    raise ValueError(f"dataset {dataset!r} split {split!r}{f' under {root}' if root is not None else ''} has no "
                     f"usable record{where}{left_out}: nothing to train or evaluate on")


def _distributed():
    """``torch.distributed`` when a process group of several ranks is initialised, else None."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist
    return None


def _barrier(dist) -> None:
    if dist.get_backend() == "nccl":  # name the GPU: NCCL otherwise guesses one per rank, with a warning
        dist.barrier(device_ids=[int(os.environ.get("LOCAL_RANK", "0"))])
    else:
        dist.barrier()


def _prepare_once(records: RecordIndex, **kwargs):
    """:func:`~affect_book.data.prepare.prepare`, rank 0 first under ``torch.distributed``.

    Rank 0 takes the cache's build lock, then meets the other ranks at a barrier; they then wait on the lock (not
    on a collective, whose timeout a long decode would exceed) and open the cache rank 0 built. The lock alone
    also serialises processes that share no barrier, such as the runs of a parallel study.
    """
    dist = _distributed()
    if dist is None:
        return prepare(records, **kwargs)
    if dist.get_rank() == 0:
        released = []

        def release_others():
            if not released:
                released.append(True)
                _barrier(dist)

        try:
            return prepare(records, on_lock=release_others, **kwargs)
        finally:
            release_others()  # the cache was already complete (no lock taken), or preparing failed
    _barrier(dist)
    return prepare(records, **{**kwargs, "progress": False})


def load(dataset: str, root: str | os.PathLike | None = None, split: str = "train", image_size: int = 112,
         workers: int | None = None, progress: bool = True, transform: Callable | None = None, **options):
    """The dataset ready for training.

    For real data: index it, decode once into the prepared cache (:func:`~affect_book.data.prepare.prepare`; on
    rank 0 only under ``torch.distributed``, the other ranks wait for it), and return the cache as an
    ArrayDataset (images memory-mapped). Generated data is returned as the source makes it.

    Parameters
    ----------
    dataset, root, split, **options
        As for :func:`get_records`.
    image_size : int
        Pixels per side of the prepared images (real data).
    workers : int, optional
        Decoding processes (see :func:`~affect_book.data.prepare.prepare`).
    progress : bool
        Show a progress bar while decoding.
    transform : callable, optional
        Applied to each (3, H, W) uint8 image tensor (real data).

    Returns
    -------
    ArrayDataset
        For real data, ``dataset.prepared`` is the :class:`~affect_book.data.prepare.PreparedCache` (its
        ``report()`` lists the skipped items by reason and the loader's notes) and ``dataset.fingerprint`` its
        fingerprint.

    Raises
    ------
    ValueError
        When the split has no usable record (before any decoding, or when every image failed to decode).
    """
    records = get_records(dataset, root, split, **options)
    if not isinstance(records, RecordIndex):
        _require_records(len(records), dataset, root, split)
        return records
    _require_records(len(records), dataset, root, split, records.skipped, " in its annotations")
    cache = _prepare_once(records, image_size=image_size, workers=workers, progress=progress)
    _require_records(len(cache), dataset, root, split, cache.skipped, " after decoding")
    data = cache.dataset(transform=transform)
    data.prepared = cache
    return data


def load_splits(dataset: str, root: str | os.PathLike | None = None, profile: str = "cpu",
                image_size: int | None = None, progress: bool = True, **options) -> dict:
    """Train, val and test datasets for a training run: ``{"train": ..., "val": ..., "test": ...}``.

    ``synthetic``: the simulator's three identity-disjoint splits at ``profile`` sizes (options: ``preset`` and
    any knob). Real data (``affectnet``, ``affwild2``, ``manifest``): the official training split as ``train``, and
    the official validation split as both ``val`` (model selection) and ``test``: AffectNet's and Aff-Wild2's test
    labels were never released, so published results are validation results, and so are these (selecting the
    epoch on the split you report is optimistic; the book says so where it reports them).

    Parameters
    ----------
    dataset, root, **options
        As for :func:`get_records`.
    profile : str
        Run profile (sizes of the simulated splits; default image size).
    image_size : int, optional
        Pixels per side (default: the profile's).
    progress : bool
        Show a progress bar while decoding real data.

    Returns
    -------
    dict
        ``{"train", "val", "test"}`` -> ArrayDataset.

    Raises
    ------
    ValueError
        When a split has no usable record: it fails here, before training starts.
    """
    if dataset == "synthetic":
        if image_size is not None:
            options["image_size"] = image_size
        splits = {split: get_records("synthetic", root, split, profile=profile, **options)
                  for split in ("train", "val", "test")}
        for split, data in splits.items():
            _require_records(len(data), dataset, root, split)
        return splits
    size = image_size or get_profile(profile).image_size
    train = load(dataset, root, "train", image_size=size, progress=progress, **options)
    val = load(dataset, root, "val", image_size=size, progress=progress, **options)
    return {"train": train, "val": val, "test": val}


def summary_of(records, dataset: str, split: str) -> dict:
    """The summary dict (see :func:`summary`) of a RecordIndex or an ArrayDataset already loaded.

    Parameters
    ----------
    records : RecordIndex or ArrayDataset
    dataset, split : str
        Names recorded in the result.

    Returns
    -------
    dict
        As :func:`summary`.
    """
    counts = records.label_counts()
    skipped = dict(records.skipped) if isinstance(records, RecordIndex) else {}
    return {"dataset": dataset, "split": split, "n_records": counts["n_records"],
            "expression_counts": counts["expression"], "valid": counts["valid"],
            "skipped": {k: int(v) for k, v in sorted(skipped.items()) if v}}


def summary(dataset: str, root: str | os.PathLike | None = None, split: str = "train", **options) -> dict:
    """Counts of one split without decoding any image.

    Parameters
    ----------
    dataset, root, split, **options
        As for :func:`get_records`.

    Returns
    -------
    dict
        ``{"dataset", "split", "n_records", "expression_counts" (class name -> count), "valid" (expression, va,
        au -> number of records with that label), "skipped" (reason -> count)}``. The loader's notes (a detected
        label order, a layout, repeated rows) are on the records: ``get_records(...).notes``.
    """
    return summary_of(get_records(dataset, root, split, **options), dataset, split)


def format_summary(result: dict, notes: list[str] = ()) -> str:
    """A summary as readable text.

    Parameters
    ----------
    result : dict
        A summary dict (:func:`summary`, :func:`summary_of`).
    notes : sequence of str
        The loader's notes, one ``note:`` line each.

    Returns
    -------
    str
        Lines: records; per-class counts with their share in percent of the labelled records; valid labels per
        task; skipped items by reason; the notes.
    """
    total = sum(result["expression_counts"].values())
    lines = [f"{result['dataset']} / {result['split']}: {result['n_records']} records"]
    lines.append("expression counts:")
    width = max((len(c) for c in result["expression_counts"]), default=5)
    for name, count in result["expression_counts"].items():
        share = f"{100 * count / total:5.1f} %" if total else ""
        lines.append(f"  {name:<{width}} {count:>9}  {share}")
    lines.append("valid labels: " + ", ".join(f"{k} {v}" for k, v in result["valid"].items()))
    lines.append("skipped: " + format_skipped(Counter(result["skipped"])))
    for note in notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``affect-book data summary --dataset NAME [--root PATH] [--split SPLIT] [options] [--json]``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``data`` (default: ``sys.argv[2:]`` through the ``affect-book`` entry point).

    Returns
    -------
    int
        0 on success, 2 when the source, its root, an option or a file is wrong (the message goes to stderr).
    """
    parser = argparse.ArgumentParser(prog="affect-book data",
                                     description="Inspect a data source: counts per class, valid labels, skipped "
                                                 "items by reason (no image is decoded).")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("summary", help="per-class counts, valid VA/AU labels, skipped items by reason")
    s.add_argument("--dataset", required=True, choices=sorted(SOURCES))
    s.add_argument("--root", help="folder of the licensed copy (a manifest CSV for --dataset manifest); not for "
                                  "synthetic")
    s.add_argument("--split", default="train",
                   help="train or val (also training, validation; default: train); manifest: also test or all")
    s.add_argument("--layout", help="affectnet: original, npy, folders; affwild2: unitask, multitask (default auto)")
    s.add_argument("--track", help="affwild2 uni-task: all, or any of va, expr, au (comma-separated)")
    s.add_argument("--classes", help="affectnet: affectnet8 or affectnet7; manifest: a class-set name")
    s.add_argument("--preset", help="synthetic: the simulator preset (balanced, affwild2, affectnet)")
    s.add_argument("--profile", help="synthetic: the run profile that sets the split sizes (smoke, cpu, gpu)")
    s.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    options = {k: v for k, v in {"layout": args.layout, "track": args.track, "classes": args.classes,
                                  "preset": args.preset, "profile": args.profile}.items() if v is not None}
    try:
        records = get_records(args.dataset, args.root, args.split, **options)
    except (SourceNotAvailable, ValueError, FileNotFoundError) as err:
        print(f"affect-book data summary: {err}", file=sys.stderr)
        return 2
    result = summary_of(records, args.dataset, args.split)
    notes = list(getattr(records, "notes", []))
    if args.json:
        print(json.dumps(result, indent=1))
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    else:
        print(format_summary(result, notes))
    return 0
