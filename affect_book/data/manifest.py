"""A generic manifest: any labelled face collection as one CSV file.

The format (documented in the README)::

    image,expression,valence,arousal,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26,subject,split
    faces/0001.jpg,Happy,0.61,0.32,0,0,0,1,0,0,1,0,0,0,1,0,person_07,train
    faces/0002.jpg,anger,,,,,,,,,,,,,,,person_03,val

- ``image`` (required): the image path, relative to the manifest's folder (or absolute).
- ``expression`` (required column): a class name in any spelling the book knows (``Happy``, ``happiness``,
  ``ANGER``...), mapped by name; empty means no expression label.
- ``valence``, ``arousal`` (optional, together): numbers in [-1, 1]; empty means no label.
- ``AU1`` ... ``AU26`` (optional, any subset of the 12 ABAW AUs): 0 or 1; empty or -1 means no label.
- ``subject`` (optional): identity or video id, the unit to split by; default: the image path.
- ``split`` (optional): ``train``, ``val`` or ``test`` (also spelled ``training``, ``valid``, ``validation``,
  ``testing``, any case); when present, ``split=`` selects rows by it (spelled any of those ways too).
- ``face_x, face_y, face_width, face_height`` (optional, together): a face box in pixels, cropped at prepare time.

Columns are matched by name (any case); unknown columns are an error, so a typo cannot pass silently. The file
must be UTF-8 (an error names the line of the first byte that is not). A row repeating an earlier row's image is
left out and counted (the first row is kept).
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from ..circumplex import CLASS_SETS, concept_of
from .base import AU_COLUMNS
from .records import (SPLIT_ALIASES, DataFormatError, ExistingFiles, RecordBuilder, RecordIndex, canonical_split,
                      parse_float, parse_int, read_text)

__all__ = ["BOX_COLUMNS", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "index", "write_manifest"]

REQUIRED_COLUMNS: tuple[str, ...] = ("image", "expression")
BOX_COLUMNS: tuple[str, ...] = ("face_x", "face_y", "face_width", "face_height")
OPTIONAL_COLUMNS: tuple[str, ...] = ("valence", "arousal", *AU_COLUMNS, "subject", "split", *BOX_COLUMNS)


def _manifest_path(root: Path) -> Path:
    if root.is_file():
        return root
    path = root / "manifest.csv"
    if path.is_file():
        return path
    raise FileNotFoundError(f"no manifest at {root}; expected a CSV file or a folder holding manifest.csv")


def _choose_classes(classes, concepts: set[str], path: Path) -> tuple[tuple[str, ...], str | None]:
    if not isinstance(classes, str) or classes != "auto":
        names = CLASS_SETS[classes] if isinstance(classes, str) and classes in CLASS_SETS else tuple(classes)
        if isinstance(classes, str) and classes not in CLASS_SETS:
            raise ValueError(f"classes={classes!r}; expected 'auto', one of {sorted(CLASS_SETS)} or a list of names")
        return names, None
    if "other" in concepts and "contempt" in concepts:
        raise DataFormatError(path, None, "classes of one benchmark's set (Other is Aff-Wild2's, Contempt "
                              "AffectNet's); pass classes=[...] to name a set of your own", "both Other and Contempt")
    name = "affwild2" if "other" in concepts else "affectnet8" if "contempt" in concepts else "affectnet7"
    return CLASS_SETS[name], f"class set chosen from the names found: {name} ({', '.join(CLASS_SETS[name])})"


def _row_splits(body, col: dict, path: Path) -> list[str] | None:
    """The canonical split of each body row (None without a split column); an unknown value names its line."""
    if "split" not in col:
        return None
    spellings = ", ".join(s for names in SPLIT_ALIASES.values() for s in names)
    out = []
    for number, row in body:
        try:
            out.append(canonical_split(row[col["split"]]))
        except ValueError:
            raise DataFormatError(path, number, f"a split: {spellings} (any case)", repr(row[col["split"]])) from None
    return out


def index(root: str | os.PathLike, split: str = "all", classes: str | Sequence[str] = "auto") -> RecordIndex:
    """Read a manifest CSV (or ``<root>/manifest.csv``) into a :class:`~affect_book.data.records.RecordIndex`.

    Parameters
    ----------
    root : str or PathLike
        The manifest file, or a folder holding ``manifest.csv``.
    split : str
        ``all``, or ``train``, ``val``, ``test`` (or ``training``, ``valid``, ``validation``, ``testing``): the
        rows whose ``split`` column names that split, however spelled.
    classes : str or sequence of str
        ``auto`` (the smallest built-in class set holding every name found), a class-set name, or a list of class
        names (mapped by name).

    Returns
    -------
    RecordIndex
        Rows repeating an earlier row's image are left out and counted in ``skipped``.

    Raises
    ------
    DataFormatError
        A malformed file (not UTF-8, a bad header, field or split value), naming the file and the line.
    ValueError
        An unknown ``split``, or one that no row of a manifest with a split column has (naming the splits found).
    """
    path = _manifest_path(Path(root).expanduser())
    wanted = None if str(split).lower() == "all" else canonical_split(split, why=", or 'all'")
    with io.StringIO(read_text(path), newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise DataFormatError(path, 1, "a header line with columns image,expression,...", "an empty file")
    header = [h.strip() for h in rows[0]]
    known = {c.lower(): c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    lowered = [h.lower() for h in header]
    unknown = [h for h in header if h.lower() not in known]
    missing = [c for c in REQUIRED_COLUMNS if c not in lowered]
    if unknown or missing or len(set(lowered)) != len(lowered):
        raise DataFormatError(path, 1, f"a header with columns {','.join(REQUIRED_COLUMNS)} and optionally "
                              f"{','.join(OPTIONAL_COLUMNS)} (each once)", repr(",".join(header)))
    col = {known[h]: i for i, h in enumerate(lowered)}
    if ("valence" in col) != ("arousal" in col):
        raise DataFormatError(path, 1, "valence and arousal columns together", repr(",".join(header)))
    if any(c in col for c in BOX_COLUMNS) and not all(c in col for c in BOX_COLUMNS):
        raise DataFormatError(path, 1, f"all four box columns {','.join(BOX_COLUMNS)} or none",
                              repr(",".join(header)))
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(f.strip() for f in row)]
    concepts = set()
    for number, row in body:
        if len(row) != len(header):
            raise DataFormatError(path, number, f"{len(header)} comma-separated fields as in the header",
                                  f"{len(row)}")
        name = row[col["expression"]].strip()
        if name:
            try:
                concepts.add(concept_of(name))
            except ValueError:
                raise DataFormatError(path, number, "an expression class name (e.g. Neutral, Happy, Anger) or "
                                      "an empty field", repr(name)) from None
    names, note = _choose_classes(classes, concepts, path)
    position = {concept_of(c): i for i, c in enumerate(names)}
    row_splits = _row_splits(body, col, path)
    split_note = None
    if row_splits is None and wanted is not None:
        split_note = f"the manifest has no split column: every row is used for split {split!r}"
    if row_splits is not None and wanted is not None and wanted not in row_splits:
        found = ", ".join(f"{s} ({c} rows)" for s, c in sorted(Counter(row_splits).items())) or "no rows"
        raise ValueError(f"{path}: no row has split {split!r} (read as {wanted!r}); its split column holds {found}")
    out = RecordBuilder("manifest", wanted or "all", "manifest", names)
    if note:
        out.notes.append(note)
    if split_note:
        out.notes.append(split_note)
    exists = ExistingFiles()
    for k, (number, row) in enumerate(body):
        if row_splits is not None and wanted is not None and row_splits[k] != wanted:
            continue
        name = row[col["expression"]].strip()
        expression = -1
        if name:
            concept = concept_of(name)
            if concept not in position:
                raise DataFormatError(path, number, f"a class of {list(names)}", repr(name))
            expression = position[concept]
        va = (np.nan, np.nan)
        if "valence" in col:
            texts = (row[col["valence"]].strip(), row[col["arousal"]].strip())
            if all(texts):
                pair = tuple(parse_float(t, path, number, w) for t, w in zip(texts, ("valence", "arousal")))
                if not all(-1 <= p <= 1 for p in pair):
                    raise DataFormatError(path, number, "valence and arousal in [-1, 1]", repr(texts))
                va = pair
            elif any(texts):
                raise DataFormatError(path, number, "valence and arousal both given or both empty", repr(texts))
        au = [-1] * len(AU_COLUMNS)
        for k, name_au in enumerate(AU_COLUMNS):
            if name_au in col and row[col[name_au]].strip():
                value = parse_int(row[col[name_au]], path, number, name_au)
                if value not in (0, 1, -1):
                    raise DataFormatError(path, number, f"{name_au} 0, 1, -1 or empty", repr(row[col[name_au]]))
                au[k] = value
        box = (-1, -1, -1, -1)
        if "face_x" in col:
            box = tuple(parse_int(row[col[c]], path, number, c) for c in BOX_COLUMNS)
            if box[0] < 0 or box[1] < 0 or box[2] <= 0 or box[3] <= 0:
                raise DataFormatError(path, number, "face_x, face_y >= 0 and face_width, face_height > 0", str(box))
        relative = row[col["image"]].strip()
        if not relative:
            raise DataFormatError(path, number, "an image path", "an empty field")
        image = Path(relative) if os.path.isabs(relative) else path.parent / relative
        if not exists(image):
            out.skip("image missing")
            continue
        subject = row[col["subject"]].strip() if "subject" in col else ""
        out.add(image, expression, va, au, subject=subject or relative, box=box, where=f"line {number}")
    return out.build()


def write_manifest(path: str | os.PathLike, images: Sequence[str], expression: Sequence[str | None],
                   va: np.ndarray | None = None, subject: Sequence[str] | None = None,
                   split: Sequence[str] | None = None) -> Path:
    """Write a manifest CSV: image paths (relative to the manifest's folder), class names (None: no label),
    optional (N, 2) valence-arousal (NaN: no label), subjects and splits."""
    path = Path(path)
    header = ["image", "expression"] + (["valence", "arousal"] if va is not None else []) \
        + (["subject"] if subject is not None else []) + (["split"] if split is not None else [])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, image in enumerate(images):
            row = [image, expression[i] or ""]
            if va is not None:
                row += ["" if not np.isfinite(x) else f"{x:.6g}" for x in va[i]]
            if subject is not None:
                row.append(subject[i])
            if split is not None:
                row.append(split[i])
            writer.writerow(row)
    return path
