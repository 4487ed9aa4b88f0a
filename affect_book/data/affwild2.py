"""Aff-Wild2 (Kollias & Zafeiriou; the ABAW challenges) in the uni-task and multi-task layouts.

``unitask`` (ABAW uni-task tracks)::

    cropped_aligned/<video>/<00001>.jpg                      # 5-digit, 1-based frame number
    Annotations/VA_Estimation_Challenge/{Train_Set,Validation_Set}/<video>.txt
    Annotations/EXPR_Classification_Challenge/...            # or EXPR_Recognition_Challenge (ABAW6+)
    Annotations/AU_Detection_Challenge/...

Line 1 of a video's file is a header; line ``k + 1`` is frame ``k``, image ``cropped_aligned/<video>/{k:05d}.jpg``.
The tracks are merged per frame, so one record carries whichever of the three labels exist for it.

===== ===================================================== ================================= ===========
track header (line 1)                                         values                            invalid
===== ===================================================== ================================= ===========
VA    ``valence,arousal``                                   floats in [-1, 1]                 -5
EXPR  ``Neutral,Anger,Disgust,Fear,Happiness,Sadness,...``  int 0..7 in the header's order    -1
AU    ``AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,...``       0/1 per AU, in the header's order -1
===== ===================================================== ================================= ===========

Headers are matched by name (any case, spaces ignored): an EXPR header that lists the classes in another order, or
an AU header in another column order, is mapped by name. A frame whose labels are all invalid is left out and
counted; a frame without an image (faces are not found in every frame) is left out and counted. Two-person videos
come as ``<video>_left`` and ``<video>_right``.

``multitask`` (s-Aff-Wild2, ABAW4 and ABAW7): ``training_set_annotations.txt`` and
``validation_set_annotations.txt``, a header, then ``image,valence,arousal,expression,AU1..AU26`` (16 fields),
image relative to ``cropped_aligned/``. VA valid iff both > -5; EXPR valid iff >= 0; AU valid iff all >= 0.

Records are identified by video (``subject``): split by video, never by frame (:func:`split_by_video` keeps the
two persons of a ``_left``/``_right`` video on the same side).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..circumplex import CLASS_SETS, concept_of
from .base import AU_COLUMNS
from .records import (DataFormatError, ExistingFiles, RecordBuilder, RecordIndex, canonical_split, parse_float,
                      parse_int, read_lines)

__all__ = ["LAYOUTS", "MTL_FILES", "TRACKS", "TRACK_FOLDERS", "detect_layout", "index", "split_by_video",
           "video_group"]

LAYOUTS: tuple[str, ...] = ("unitask", "multitask")
#: Uni-task tracks and the folder names each has had across ABAW editions (first is the current name).
TRACK_FOLDERS: dict[str, tuple[str, ...]] = {
    "va": ("VA_Estimation_Challenge", "VA_Set"),
    "expr": ("EXPR_Classification_Challenge", "EXPR_Recognition_Challenge", "EXPR_Set"),
    "au": ("AU_Detection_Challenge", "AU_Set"),
}
TRACKS: tuple[str, ...] = tuple(TRACK_FOLDERS)
#: Multi-task annotation files per split.
MTL_FILES: dict[str, str] = {"train": "training_set_annotations.txt", "val": "validation_set_annotations.txt"}
_SPLIT_FOLDERS = {"train": ("Train_Set", "Training_Set"), "val": ("Validation_Set",)}
_ANNOTATION_DIRS = ("Annotations", "annotations", "")
_IMAGE_DIRS = ("cropped_aligned", "cropped-aligned", "cropped_aligned_images")
CLASSES = CLASS_SETS["affwild2"]
_VA_INVALID, _EXPR_INVALID, _AU_INVALID = -5.0, -1, -1


def _split_name(split: str) -> str:
    return canonical_split(split, ("train", "val"), " (the Aff-Wild2 test labels are not public)")


def video_group(video: str) -> str:
    """The recording a video id belongs to: ``"10-60-1280x720_left"`` -> ``"10-60-1280x720"``.

    Parameters
    ----------
    video : str
        A video id, as in the ``subject`` column of an index.

    Returns
    -------
    str
        The id without a trailing ``_left`` or ``_right`` (unchanged when it has none).
    """
    return re.sub(r"_(left|right)$", "", str(video))


def _mtl_file(root: Path, split: str) -> Path | None:
    for sub in _ANNOTATION_DIRS:
        path = root / sub / MTL_FILES[split]
        if path.is_file():
            return path
    return None


def _track_dir(root: Path, track: str) -> Path | None:
    for sub in _ANNOTATION_DIRS:
        for name in TRACK_FOLDERS[track]:
            if (root / sub / name).is_dir():
                return root / sub / name
    return None


def _image_root(root: Path) -> Path:
    for name in _IMAGE_DIRS:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"no cropped_aligned/ image folder under {root}")


def detect_layout(root: str | os.PathLike) -> str:
    """Which Aff-Wild2 layout ``root`` holds.

    Parameters
    ----------
    root : str or PathLike
        The top folder of a licensed Aff-Wild2 copy (the one holding ``cropped_aligned/``).

    Returns
    -------
    str
        ``multitask`` if an s-Aff-Wild2 annotation file (:data:`MTL_FILES`) is there, else ``unitask`` if a track
        folder (:data:`TRACK_FOLDERS`) is.

    Raises
    ------
    FileNotFoundError
        When ``root`` is not a directory or holds neither layout.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Aff-Wild2 root {root} is not a directory")
    if any(_mtl_file(root, s) for s in MTL_FILES):
        return "multitask"
    if any(_track_dir(root, t) for t in TRACKS):
        return "unitask"
    raise FileNotFoundError(f"{root} holds no Aff-Wild2 layout; expected Annotations/VA_Estimation_Challenge/ "
                            f"(or EXPR_/AU_ track folders) or {MTL_FILES['train']}")


def _tracks(track: str | Sequence[str] | None) -> tuple[str, ...]:
    if track in (None, "all"):
        return TRACKS
    names = track.split(",") if isinstance(track, str) else list(track)
    names = [n.strip().lower() for n in names]
    bad = [n for n in names if n not in TRACKS]
    if bad or not names:
        raise ValueError(f"track={track!r}; expected 'all' or any of {list(TRACKS)} (comma-separated)")
    return tuple(dict.fromkeys(names))


def index(root: str | os.PathLike, split: str = "train", layout: str = "auto",
          track: str | Sequence[str] | None = "all") -> RecordIndex:
    """Read one split of Aff-Wild2 into a :class:`~affect_book.data.records.RecordIndex` (no image decoded).

    Parameters
    ----------
    root : str or PathLike
        The folder of the copy.
    split : str
        ``train`` or ``val`` (also ``training``, ``validation``, ``valid``).
    layout : str
        ``auto`` (multitask files win when both are present), ``unitask`` or ``multitask``.
    track : str or sequence of str, optional
        Uni-task only: ``all`` or any of ``va``, ``expr``, ``au``.

    Returns
    -------
    RecordIndex
        Frames left out (no valid label, no image, repeated rows) are counted by reason in ``skipped``; the notes
        report videos whose tracks differ in length and files that are not ``.txt`` annotations.

    Raises
    ------
    DataFormatError
        A malformed annotation file (not UTF-8, a bad header or value, two files of one video), naming the file
        and the line.
    """
    root = Path(root).expanduser()
    split = _split_name(split)
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "unitask":
        return _index_unitask(root, split, _tracks(track))
    if layout == "multitask":
        if track not in (None, "all"):
            raise ValueError("track= selects uni-task annotation folders; the multi-task files carry all three")
        return _index_multitask(root, split)
    raise ValueError(f"layout={layout!r}; expected 'auto' or one of {list(LAYOUTS)}")


# --- headers ----------------------------------------------------------------------------------------------------

def _names(line: str) -> list[str]:
    return [re.sub(r"\s", "", field) for field in line.split(",")]


def _expr_header(path: Path, line: str) -> np.ndarray:
    """Map file code -> canonical class index, from the header's class names (any order; the 7-class header of
    the early ABAW editions, without Other, is accepted)."""
    names = _names(line)
    expected = ",".join(CLASSES)
    canonical = [concept_of(c) for c in CLASSES]
    try:
        concepts = [concept_of(n) for n in names]
    except ValueError:
        raise DataFormatError(path, 1, f"the header {expected}", repr(line)) from None
    if len(set(concepts)) != len(concepts) or not set(concepts) <= set(canonical) or len(concepts) < 7:
        raise DataFormatError(path, 1, f"the header {expected} (class names, any order, each once)", repr(line))
    return np.array([canonical.index(c) for c in concepts])


def _au_header(path: Path, line: str, prefix: int = 0) -> np.ndarray:
    """Column positions of AU_COLUMNS in the file (offset by ``prefix`` leading columns)."""
    names = [n.upper() for n in _names(line)[prefix:]]
    if sorted(names) != sorted(AU_COLUMNS):
        raise DataFormatError(path, 1, f"AU columns {','.join(AU_COLUMNS)}", repr(line))
    return np.array([names.index(a) for a in AU_COLUMNS])


def _va_header(path: Path, line: str) -> tuple[int, int]:
    names = [n.lower() for n in _names(line)]
    if sorted(names) != ["arousal", "valence"]:
        raise DataFormatError(path, 1, "the header valence,arousal", repr(line))
    return names.index("valence"), names.index("arousal")


# --- values -----------------------------------------------------------------------------------------------------

def _va_value(text: str, path: Path, line: int, what: str) -> float:
    value = parse_float(text, path, line, what)
    if value == _VA_INVALID:
        return np.nan
    if not -1 <= value <= 1:
        raise DataFormatError(path, line, f"{what} in [-1, 1] or -5 (invalid)", repr(text))
    return value


def _expr_value(text: str, path: Path, line: int, n_classes: int = 8) -> int:
    value = parse_int(text, path, line, "expression")
    if not -1 <= value < n_classes:
        raise DataFormatError(path, line, f"an expression code 0..{n_classes - 1} or -1 (invalid)", repr(text))
    return value


def _au_values(fields: Sequence[str], path: Path, line: int) -> list[int]:
    out = []
    for name, text in zip(AU_COLUMNS, fields):
        value = parse_int(text, path, line, name)
        if value not in (0, 1, -1):
            raise DataFormatError(path, line, f"{name} 0, 1 or -1 (invalid)", repr(text))
        out.append(value)
    return out


def _data_lines(path: Path) -> tuple[str, list[tuple[int, str]]]:
    lines = list(read_lines(path))
    while lines and not lines[-1][1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(path, 1, "a header line", "an empty file")
    header, body = lines[0][1], lines[1:]
    for number, text in body:
        if not text.strip():
            raise DataFormatError(path, number, "one frame per line", "an empty line")
    return header, body


def _fast_table(body: list[tuple[int, str]], n_fields: int) -> np.ndarray | None:
    """All lines parsed at once as a (lines, n_fields) float table, or None when any line is off (then the
    line-by-line reader finds and names it)."""
    try:
        table = np.array([text.split(",") for _, text in body], dtype=np.float64)
    except ValueError:
        return None
    if table.shape != (len(body), n_fields) or not np.isfinite(table).all():
        return None
    return table


def _read_track_fast(path: Path, track: str, header: str, body) -> np.ndarray | None:
    """The common case of a well-formed file, vectorized; None sends the file to the line-by-line reader."""
    if track == "va":
        iv, ia = _va_header(path, header)
        table = _fast_table(body, 2)
        if table is None:
            return None
        table = table[:, [iv, ia]]
        invalid = table == _VA_INVALID
        if ((np.abs(table) > 1) & ~invalid).any():
            return None
        va = table.astype(np.float32)
        va[invalid.any(axis=1)] = np.nan
        return va
    if track == "expr":
        code_to_class = _expr_header(path, header)
        table = _fast_table(body, 1)
        if table is None:
            return None
        codes = table[:, 0]
        if (codes != np.round(codes)).any() or (codes < -1).any() or (codes >= len(code_to_class)).any():
            return None
        codes = codes.astype(np.int64)
        return np.where(codes >= 0, code_to_class[np.maximum(codes, 0)], -1)
    columns = _au_header(path, header)
    table = _fast_table(body, len(AU_COLUMNS))
    if table is None or not np.isin(table, (0, 1, -1)).all():
        return None
    return table[:, columns].astype(np.int64)


def _read_track(path: Path, track: str) -> tuple[np.ndarray, ...]:
    """Per frame (index k - 1 for frame k) labels of one video file of one track."""
    header, body = _data_lines(path)
    fast = _read_track_fast(path, track, header, body) if body else None
    if fast is not None:
        return (fast,)
    n = len(body)
    if track == "va":
        iv, ia = _va_header(path, header)
        va = np.full((n, 2), np.nan, dtype=np.float32)
        for k, (number, text) in enumerate(body):
            fields = text.split(",")
            if len(fields) != 2:
                raise DataFormatError(path, number, "2 comma-separated fields: valence,arousal", f"{len(fields)}")
            v, a = _va_value(fields[iv], path, number, "valence"), _va_value(fields[ia], path, number, "arousal")
            if np.isfinite(v) and np.isfinite(a):
                va[k] = (v, a)
        return (va,)
    if track == "expr":
        code_to_class = _expr_header(path, header)
        expr = np.full(n, -1, dtype=np.int64)
        for k, (number, text) in enumerate(body):
            fields = text.split(",")
            if len(fields) != 1:
                raise DataFormatError(path, number, "1 field: the expression code", f"{len(fields)} fields")
            code = _expr_value(fields[0], path, number, len(code_to_class))
            expr[k] = code_to_class[code] if code >= 0 else -1
        return (expr,)
    columns = _au_header(path, header)
    au = np.full((n, len(AU_COLUMNS)), -1, dtype=np.int64)
    for k, (number, text) in enumerate(body):
        fields = text.split(",")
        if len(fields) != len(AU_COLUMNS):
            raise DataFormatError(path, number, f"{len(AU_COLUMNS)} comma-separated AU fields", f"{len(fields)}")
        au[k] = _au_values([fields[c] for c in columns], path, number)
    return (au,)


def _annotation_files(folder: Path, ignored: list[str]) -> dict[str, str]:
    """Video id -> file name of the ``.txt`` files (any case of the suffix) in ``folder``; other files are added to
    ``ignored``. Two files of one video (``vid.txt`` and ``vid.TXT``) are an error."""
    files: dict[str, str] = {}
    for name in sorted(os.listdir(folder)):
        stem, suffix = os.path.splitext(name)
        if suffix.lower() != ".txt" or not (folder / name).is_file():
            ignored.append(str(folder / name))
            continue
        if stem in files:
            raise DataFormatError(folder / name, None, f"one annotation file per video; {files[stem]} is the same "
                                  f"video", "two files")
        files[stem] = name
    return files


def _index_unitask(root: Path, split: str, tracks: tuple[str, ...]) -> RecordIndex:
    images = _image_root(root)
    per_video: dict[str, dict[str, np.ndarray]] = {}
    found_tracks, lacking, ignored = [], [], []
    for track in tracks:
        folder = _track_dir(root, track)
        if folder is None:
            continue
        split_dir = next((folder / s for s in _SPLIT_FOLDERS[split] if (folder / s).is_dir()), None)
        if split_dir is None:
            lacking.append(f"{folder.name} has no {_SPLIT_FOLDERS[split][0]} folder")
            continue
        found_tracks.append(f"{track} ({folder.name})")
        files = _annotation_files(split_dir, ignored)
        for video, name in files.items():
            per_video.setdefault(video, {})[track] = _read_track(split_dir / name, track)[0]
    if not found_tracks:
        raise FileNotFoundError(f"no annotation folder for track(s) {list(tracks)} and split {split!r} under "
                                f"{root}; expected e.g. Annotations/{TRACK_FOLDERS[tracks[0]][0]}/"
                                f"{_SPLIT_FOLDERS[split][0]}/" + (f" ({'; '.join(lacking)})" if lacking else ""))
    out = RecordBuilder("affwild2", split, "unitask", CLASSES)
    out.notes.append("tracks read: " + ", ".join(found_tracks))
    out.notes += [f"track not read: {text}" for text in lacking]
    if ignored:
        out.notes.append(f"{len(ignored)} files in the annotation folders are not .txt annotation files and were "
                         f"not read: {ignored[:5]}" + (" ..." if len(ignored) > 5 else ""))
    no_folder, uneven = [], []
    for video in sorted(per_video):
        labels = per_video[video]
        n = max(len(v) for v in labels.values())
        if len({len(v) for v in labels.values()}) > 1:
            uneven.append(f"{video} (" + ", ".join(f"{t} {len(v)}" for t, v in labels.items()) + ")")
        expr = np.full(n, -1, dtype=np.int64)
        va = np.full((n, 2), np.nan, dtype=np.float32)
        au = np.full((n, len(AU_COLUMNS)), -1, dtype=np.int64)
        if "expr" in labels:
            expr[: len(labels["expr"])] = labels["expr"]
        if "va" in labels:
            va[: len(labels["va"])] = labels["va"]
        if "au" in labels:
            au[: len(labels["au"])] = labels["au"]
        has_label = (expr >= 0) | np.isfinite(va).all(1) | (au >= 0).all(1)
        if not (images / video).is_dir():
            no_folder.append(video)
        folder = os.path.join(str(images), video)
        names = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        has_image = np.array([f"{k + 1:05d}.jpg" in names for k in range(n)], dtype=bool)
        out.skip("frame without any valid label (invalid markers only)", int((~has_label).sum()))
        out.skip("frame image missing", int((has_label & ~has_image).sum()))
        keep = np.flatnonzero(has_label & has_image)
        out.extend([f"{folder}/{k + 1:05d}.jpg" for k in keep], expr[keep], va[keep], au[keep], [video] * len(keep))
    if uneven:
        out.notes.append(f"{len(uneven)} videos have tracks of different lengths (frames): {'; '.join(uneven[:5])}"
                         + (" ..." if len(uneven) > 5 else "") + "; frames past the end of a shorter track have no "
                         "label of that track")
    if no_folder:
        out.notes.append(f"{len(no_folder)} annotated videos have no image folder: {no_folder[:5]}"
                         + (" ..." if len(no_folder) > 5 else ""))
    paired = sorted({video_group(v) for v in per_video if video_group(v) != v})
    if paired:
        out.notes.append(f"{len(paired)} two-person videos (_left/_right), kept together by split_by_video")
    return out.build()


def _index_multitask(root: Path, split: str) -> RecordIndex:
    path = _mtl_file(root, split)
    if path is None:
        raise FileNotFoundError(f"no {MTL_FILES[split]} under {root} (or its Annotations/ folder)")
    images = _image_root(root)
    header, body = _data_lines(path)
    names = [n.lower() for n in _names(header)]
    expected = "image,valence,arousal,expression," + ",".join(AU_COLUMNS)
    if len(names) != 4 + len(AU_COLUMNS) or [n for n in names[:4]] != ["image", "valence", "arousal", "expression"]:
        raise DataFormatError(path, 1, f"the header {expected}", repr(header))
    au_columns = _au_header(path, header, prefix=4) + 4
    out = RecordBuilder("affwild2", split, "multitask", CLASSES)
    exists = ExistingFiles()
    for number, text in body:
        fields = text.split(",")
        if len(fields) != len(names):
            raise DataFormatError(path, number, f"{len(names)} comma-separated fields: {expected}", f"{len(fields)}")
        relative = fields[0].strip()
        if not relative or "/" not in relative:
            raise DataFormatError(path, number, "an image path <video>/<frame>.jpg", repr(fields[0]))
        v, a = _va_value(fields[1], path, number, "valence"), _va_value(fields[2], path, number, "arousal")
        code = _expr_value(fields[3], path, number)
        au = _au_values([fields[c] for c in au_columns], path, number)
        va = (v, a) if np.isfinite(v) and np.isfinite(a) else (np.nan, np.nan)
        if code < 0 and not np.isfinite(va[0]) and min(au) < 0:
            out.skip("frame without any valid label (invalid markers only)")
            continue
        image = images / relative
        if not exists(image):
            out.skip("frame image missing")
            continue
        out.add(image, code, va, au, subject=relative.rsplit("/", 1)[0], where=f"{path.name} line {number}")
    out.notes.append(f"labels read from {path}")
    return out.build()


def split_by_video(records: RecordIndex, fraction: float = 0.2, seed: int = 0) -> tuple[RecordIndex, RecordIndex]:
    """Split an index by video into (rest, held-out), about ``fraction`` of the videos held out.

    Never by frame: all frames of a video, and both persons of a ``_left``/``_right`` recording, fall on the same
    side. The draw is a seeded permutation of the recordings.

    Parameters
    ----------
    records : RecordIndex
        The index to split; its ``subject`` column holds the video ids.
    fraction : float
        The share of recordings (not frames) held out, in (0, 1); rounded, and at least 1 recording on each side.
    seed : int
        Seed of the permutation (``numpy.random.default_rng``).

    Returns
    -------
    rest, held_out : tuple of RecordIndex
        The records of the recordings kept, then those of the recordings held out.

    Raises
    ------
    ValueError
        When ``fraction`` is outside (0, 1) or the index holds fewer than 2 recordings.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction={fraction}; expected a number in (0, 1)")
    groups = np.array([video_group(s) for s in records.subject], dtype=object)
    unique = np.array(sorted(set(groups)), dtype=object)
    if len(unique) < 2:
        raise ValueError(f"cannot split {len(unique)} recording(s) by video; need at least 2")
    order = np.random.default_rng(seed).permutation(len(unique))
    n_held = min(len(unique) - 1, max(1, round(fraction * len(unique))))
    held = set(unique[order[:n_held]])
    mask = np.array([g in held for g in groups], dtype=bool)
    return records.select(~mask), records.select(mask)
