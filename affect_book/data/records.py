"""The index of a real dataset before decoding: image paths, face boxes and labels, plus what was skipped and why.

Every real-data loader (:mod:`.affectnet`, :mod:`.affwild2`, :mod:`.manifest`) reads annotation files into a
:class:`RecordIndex` without touching pixels. :func:`affect_book.data.prepare.prepare` then decodes, crops and
resizes every image once into an on-disk cache that training reads as an :class:`~affect_book.data.base.ArrayDataset`.

Malformed annotation files raise :class:`DataFormatError`, naming the file, the line and what was expected. Items
that cannot be used (an image missing on disk, an excluded code, a frame without any valid label) are not fatal:
they are counted by reason in ``RecordIndex.skipped`` and reported.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .base import AU_COLUMNS, LabelMasks

__all__ = ["DUPLICATE", "DUPLICATE_CONFLICT", "SPLIT_ALIASES", "DataFormatError", "ExistingFiles", "RecordBuilder",
           "RecordIndex", "canonical_split", "format_skipped", "read_lines", "read_text"]


class DataFormatError(ValueError):
    """An annotation file does not have the expected form. The message names the file, the line and the form."""

    def __init__(self, path: str | os.PathLike, line: int | None, expected: str, found: str | None = None):
        where = f"{path}" if line is None else f"{path}, line {line}"
        text = f"{where}: expected {expected}"
        if found is not None:
            text += f"; found {found}"
        super().__init__(text)
        self.path, self.line, self.expected, self.found = str(path), line, expected, found


@dataclass
class RecordIndex(LabelMasks):
    """Image paths and labels of one split of a dataset, before any image is decoded.

    ``paths``: (N,) absolute image paths; ``boxes``: (N, 4) int face boxes ``x, y, width, height`` in source
    pixels, all -1 where the image is already a face crop; ``expression``: (N,) int index into ``classes``, -1 for
    no label; ``va``: (N, 2) float valence, arousal in [-1, 1], NaN for no label; ``au``: (N, 12) int 0/1 in
    :data:`~affect_book.data.base.AU_COLUMNS` order, -1 for no label; ``subject``: (N,) identity or video id
    (the unit to split by); ``skipped``: reason -> number of items left out; ``notes``: things the loader
    detected and wants the reader to know (a label order, a layout).
    """

    dataset: str
    split: str
    layout: str
    classes: tuple[str, ...]
    paths: np.ndarray
    boxes: np.ndarray
    expression: np.ndarray
    va: np.ndarray
    au: np.ndarray
    subject: np.ndarray
    skipped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        n = len(self.paths)
        self.paths = np.asarray(self.paths, dtype=object)
        self.boxes = np.asarray(self.boxes, dtype=np.int64).reshape(n, 4)
        self.expression = np.asarray(self.expression, dtype=np.int64).reshape(n)
        self.va = np.asarray(self.va, dtype=np.float32).reshape(n, 2)
        self.au = np.asarray(self.au, dtype=np.int64).reshape(n, len(AU_COLUMNS))
        self.subject = np.asarray(self.subject, dtype=object).reshape(n)
        self.classes = tuple(self.classes)
        self.skipped = Counter(self.skipped)

    def __len__(self) -> int:
        return len(self.paths)

    def expression_counts(self) -> dict[str, int]:
        """Number of records per expression class, by class name, in class order."""
        counts = np.bincount(self.expression[self.has_expression], minlength=len(self.classes))
        return dict(zip(self.classes, (int(c) for c in counts)))

    def label_counts(self) -> dict:
        """Valid labels per task and expression counts by class name (same form as ``ArrayDataset``)."""
        return {"n_records": len(self), "expression": self.expression_counts(),
                "valid": {"expression": int(self.has_expression.sum()), "va": int(self.has_va.sum()),
                          "au": int(self.has_au.sum())}}

    def select(self, keep: np.ndarray) -> "RecordIndex":
        """A new index holding the records where ``keep`` (bool mask or integer positions) selects them."""
        return RecordIndex(self.dataset, self.split, self.layout, self.classes, self.paths[keep], self.boxes[keep],
                           self.expression[keep], self.va[keep], self.au[keep], self.subject[keep],
                           Counter(self.skipped), list(self.notes))

    def report(self) -> str:
        """A few human-readable lines: records, valid labels, skipped items by reason, notes."""
        counts = self.label_counts()
        lines = [f"{self.dataset} {self.split} ({self.layout}): {len(self)} records; valid labels: "
                 + ", ".join(f"{k} {v}" for k, v in counts["valid"].items())]
        lines.append("skipped: " + format_skipped(self.skipped))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def format_skipped(skipped: Counter | dict) -> str:
    """``reason: count`` pairs, largest first, or ``nothing``."""
    if not skipped or not sum(skipped.values()):
        return "nothing"
    items = sorted(((r, c) for r, c in skipped.items() if c), key=lambda rc: (-rc[1], rc[0]))
    return "; ".join(f"{reason}: {count}" for reason, count in items)


DUPLICATE = "duplicate row (same image as an earlier row, same labels): the first kept"
DUPLICATE_CONFLICT = "duplicate row (same image as an earlier row, other labels): the first kept"


class RecordBuilder:
    """Collects records one by one and turns them into a :class:`RecordIndex`.

    A record whose image is already in the index (a repeated row of an annotation file) is not added twice: it is
    left out and counted as :data:`DUPLICATE`, or :data:`DUPLICATE_CONFLICT` when its labels differ from the first
    row's, and :meth:`build` adds a note naming the first few repeated rows.
    """

    def __init__(self, dataset: str, split: str, layout: str, classes: Sequence[str]):
        self.dataset, self.split, self.layout, self.classes = dataset, split, layout, tuple(classes)
        self.paths: list[str] = []
        self.boxes: list[tuple[int, int, int, int]] = []
        self.expression: list[int] = []
        self.va: list[tuple[float, float]] = []
        self.au: list[Sequence[int]] = []
        self.subject: list[str] = []
        self.skipped: Counter = Counter()
        self.notes: list[str] = []
        self._seen: dict[str, int] = {}  # image path -> its record (ints: no garbage-collector work on 1M frames)
        self._where: dict[int, str] = {}
        self._repeats: list[str] = []

    @staticmethod
    def _key(path: str) -> str:
        return os.path.normpath(path) if "/." in path or "//" in path or os.sep != "/" else path

    def _is_duplicate(self, path: str, labels: tuple, where: str | None) -> bool:
        key = self._key(path)
        k = self._seen.get(key)
        if k is None:
            self._seen[key] = len(self.paths)
            if where:
                self._where[len(self.paths)] = where
            return False
        first_where = self._where.get(k)
        same = labels[:4] == (self.expression[k], tuple(self.au[k]), self.subject[k], tuple(self.boxes[k])) and \
            np.array_equal(np.asarray(labels[-1], dtype=np.float32), np.asarray(self.va[k], dtype=np.float32),
                           equal_nan=True)
        self.skip(DUPLICATE if same else DUPLICATE_CONFLICT)
        if len(self._repeats) < 5:
            self._repeats.append(f"{where or path} repeats {first_where or 'an earlier row'}"
                                 + ("" if same else " with other labels"))
        return True

    def add(self, path: str, expression: int = -1, va: tuple[float, float] = (np.nan, np.nan),
            au: Sequence[int] | None = None, subject: str = "", box: tuple[int, int, int, int] = (-1, -1, -1, -1),
            where: str | None = None) -> bool:
        """Add one record; returns False (and counts the row) when its image is already in the index.

        Parameters
        ----------
        path : str
            The image file.
        expression, va, au, subject, box
            Its labels (see :class:`RecordIndex`); missing labels -1, NaN, -1.
        where : str, optional
            Where the record was read (``"training.csv, line 7"``), named in the note on duplicates.

        Returns
        -------
        bool
            True when added.
        """
        au = tuple(au) if au is not None else (-1,) * len(AU_COLUMNS)
        box = tuple(int(b) for b in box)
        if self._is_duplicate(str(path), (int(expression), au, subject, box, va), where):
            return False
        self.paths.append(str(path))
        self.boxes.append(box)
        self.expression.append(int(expression))
        self.va.append(va)
        self.au.append(au)
        self.subject.append(subject)
        return True

    def extend(self, paths: Sequence[str], expression: np.ndarray, va: np.ndarray, au: np.ndarray,
               subject: Sequence[str], where: Sequence[str] | None = None):
        """Add many records without face boxes (arrays of matching length); duplicates are counted as in
        :meth:`add`."""
        va = np.asarray(va, dtype=np.float32).tolist()
        au = np.asarray(au, dtype=np.int64).tolist()
        expression = np.asarray(expression, dtype=np.int64).tolist()
        lengths = {len(paths), len(expression), len(va), len(au), len(subject)} | ({len(where)} if where else set())
        if len(lengths) > 1:
            raise ValueError(f"extend: paths and labels of different lengths {sorted(lengths)}")
        keys = [self._key(str(p)) for p in paths]
        if len(set(keys)) != len(keys) or not self._seen.keys().isdisjoint(keys):  # rare: record by record
            for i, path in enumerate(paths):
                self.add(path, expression[i], tuple(va[i]), au[i], subject[i], where=where[i] if where else None)
            return
        start = len(self.paths)
        self._seen.update(zip(keys, range(start, start + len(keys))))
        if where:
            self._where.update(zip(range(start, start + len(keys)), where))
        self.paths.extend(map(str, paths))
        self.boxes.extend([(-1, -1, -1, -1)] * len(keys))
        self.expression.extend(expression)
        self.va.extend(map(tuple, va))
        self.au.extend(au)
        self.subject.extend(subject)

    def skip(self, reason: str, count: int = 1):
        """Count ``count`` items left out for ``reason``."""
        if count:
            self.skipped[reason] += count

    def build(self) -> RecordIndex:
        """The collected records as a :class:`RecordIndex` (with a note on repeated rows, if any)."""
        n = len(self.paths)
        notes = list(self.notes)
        repeated = self.skipped[DUPLICATE] + self.skipped[DUPLICATE_CONFLICT]
        if repeated:
            notes.append(f"{repeated} repeated rows left out (the first row of each image kept): "
                         + "; ".join(self._repeats) + (" ..." if repeated > len(self._repeats) else ""))
        return RecordIndex(self.dataset, self.split, self.layout, self.classes, np.array(self.paths, dtype=object),
                           np.array(self.boxes, dtype=np.int64).reshape(n, 4),
                           np.array(self.expression, dtype=np.int64),
                           np.array(self.va, dtype=np.float32).reshape(n, 2),
                           np.array(self.au, dtype=np.int64).reshape(n, len(AU_COLUMNS)),
                           np.array(self.subject, dtype=object), +self.skipped, notes)


class ExistingFiles:
    """Answers "does this image exist?" with one directory listing per folder (fast on 500k-frame trees)."""

    def __init__(self):
        self._listing: dict[str, frozenset[str]] = {}

    def __call__(self, path: str | os.PathLike) -> bool:
        folder, name = os.path.split(os.fspath(path))
        names = self._listing.get(folder)
        if names is None:
            try:
                names = frozenset(os.listdir(folder))
            except OSError:
                names = frozenset()
            self._listing[folder] = names
        return name in names


def read_text(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file (a byte-order mark is dropped).

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    str

    Raises
    ------
    DataFormatError
        When the bytes are not UTF-8: names the file, the line and the column of the first undecodable byte.
    """
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataFormatError(path, line, "a UTF-8 text file (save it as UTF-8)",
                              f"the byte 0x{data[err.start]:02x} at column {column}, not UTF-8 ({err.reason}); "
                              f"Latin-1 or Windows-1252 encoded?") from None


def read_lines(path: Path) -> Iterable[tuple[int, str]]:
    """(line number from 1, text without the line ending) of a text file; a decoding error names the file."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        yield number, line.rstrip("\r")


#: Spellings of the split names, by canonical name.
SPLIT_ALIASES: dict[str, tuple[str, ...]] = {"train": ("train", "training"), "val": ("val", "valid", "validation"),
                                             "test": ("test", "testing")}


def canonical_split(split: str, allowed: Sequence[str] = ("train", "val", "test"), why: str = "") -> str:
    """The canonical name (``train``, ``val``, ``test``) of a split spelled any documented way, any case.

    Parameters
    ----------
    split : str
        ``train``/``training``, ``val``/``valid``/``validation`` or ``test``/``testing``.
    allowed : sequence of str
        The canonical splits the caller has.
    why : str
        Appended to the error (e.g. why a split is missing).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Naming the valid splits and their spellings.
    """
    key = str(split).strip().lower()
    for name, spellings in SPLIT_ALIASES.items():
        if key in spellings and name in allowed:
            return name
    valid = "; ".join(f"{n} ({', '.join(SPLIT_ALIASES[n])})" for n in allowed)
    raise ValueError(f"split={split!r}; expected one of {valid}{why}")


def parse_float(text: str, path: Path, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataFormatError(path, line, f"a number for {what}", repr(text)) from None
    if not np.isfinite(value):
        raise DataFormatError(path, line, f"a finite number for {what}", repr(text))
    return value


def parse_int(text: str, path: Path, line: int, what: str) -> int:
    value = parse_float(text, path, line, what)
    if value != int(value):
        raise DataFormatError(path, line, f"an integer for {what}", repr(text))
    return int(value)
