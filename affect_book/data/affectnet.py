"""AffectNet (Mollahosseini, Hasani & Mahoor 2017) in its three common layouts, labels mapped by class name.

Layouts (``layout=``; ``"auto"`` detects them in this order):

``original``
    The release: ``Manually_Annotated_file_lists/{training,validation}.csv`` with the columns
    ``subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal``
    (matched by name, any case, spaces ignored), images under ``Manually_Annotated_Images/`` (or
    ``Manually_Annotated/Manually_Annotated_Images/``, or the root). The face is cropped from the box at prepare
    time. Expression codes: 0 Neutral, 1 Happy, 2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt,
    8 None, 9 Uncertain, 10 Non-Face. Codes 8, 9 and 10 are outside the 8-class task (and 7, Contempt, outside
    the 7-class task): those rows are left out and counted by code. Valence/arousal -2 means "no label" (NaN).
``npy``
    The per-image redistribution: ``{train_set,val_set}/images/<id>.jpg`` with
    ``annotations/<id>_exp.npy`` (code, same order), ``<id>_val.npy``, ``<id>_aro.npy`` (and ``<id>_lnd.npy``,
    not used). Images are already face crops.
``folders``
    Class-named folder copies: ``<split>/<class>/<image>`` (``train``/``training``, ``val``/``valid``/
    ``validation``, ``test``). Folders are mapped **by name** (``anger``, ``Happy``, ``5_neutral``...), never by
    position; the order a positional loader (torchvision ``ImageFolder``) would give is detected and reported.
    Purely numeric folders are ambiguous and need ``numeric_order="affectnet"`` or ``"alphabetical"``.

Splits: ``train`` and ``val`` (the test set was never released, so papers report on validation). Tasks:
``classes="affectnet8"`` (codes 0..7) or ``"affectnet7"`` (no Contempt). AffectNet has no identity labels: the
``subject`` of a record is its image id.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np

from ..circumplex import CLASS_SETS, concept_of
from .records import (DataFormatError, ExistingFiles, RecordBuilder, RecordIndex, canonical_split, parse_float,
                      parse_int, read_text)

__all__ = ["CODE_NAMES", "LAYOUTS", "ORIGINAL_COLUMNS", "detect_layout", "index"]

#: AffectNet expression codes, in code order (0..10).
CODE_NAMES: tuple[str, ...] = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt",
                               "None", "Uncertain", "Non-Face")
#: Columns of the original release's CSV files.
ORIGINAL_COLUMNS: tuple[str, ...] = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                                     "facial_landmarks", "expression", "valence", "arousal")
LAYOUTS: tuple[str, ...] = ("original", "npy", "folders")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_NON_CLASS_CODES = {"none": 8, "uncertain": 9, "nonface": 10, "noface": 10}
_ORIGINAL_CSV = {"train": "training.csv", "val": "validation.csv"}
_NPY_SPLIT = {"train": "train_set", "val": "val_set"}
_FOLDER_SPLIT = {"train": ("train", "training", "Train", "Training"),
                 "val": ("val", "valid", "validation", "Val", "Valid", "Validation"),
                 "test": ("test", "Test")}


def _split_name(split: str) -> str:
    return canonical_split(split, ("train", "val", "test"), " ('test' only for folder copies that have one)")


def _task_classes(classes: str) -> tuple[str, ...]:
    if classes not in ("affectnet8", "affectnet7"):
        raise ValueError(f"classes={classes!r}; expected 'affectnet8' or 'affectnet7'")
    return CLASS_SETS[classes]


def _code_to_class(classes: tuple[str, ...]) -> dict[int, int]:
    """AffectNet code -> index into ``classes``, by name (codes whose class is not in the task are absent)."""
    position = {concept_of(c): i for i, c in enumerate(classes)}
    return {code: position[concept_of(name)] for code, name in enumerate(CODE_NAMES[:8])
            if concept_of(name) in position}


def _excluded_reason(code: int, classes: tuple[str, ...]) -> str:
    return f"expression code {code} ({CODE_NAMES[code]}): not in the {len(classes)}-class task"


def _csv_dir(root: Path) -> Path | None:
    for folder in (root / "Manually_Annotated_file_lists", root):
        if (folder / "training.csv").is_file() or (folder / "validation.csv").is_file():
            return folder
    return None


def detect_layout(root: str | os.PathLike) -> str:
    """Which AffectNet layout ``root`` holds.

    Parameters
    ----------
    root : str or PathLike
        The top folder of a licensed AffectNet copy.

    Returns
    -------
    str
        ``original`` (``Manually_Annotated_file_lists/*.csv``), ``npy`` (``train_set/annotations/``) or
        ``folders`` (``train/<class>/``), checked in that order.

    Raises
    ------
    FileNotFoundError
        When ``root`` is not a directory or holds none of the three layouts.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"AffectNet root {root} is not a directory")
    if _csv_dir(root) is not None:
        return "original"
    if any((root / d / "annotations").is_dir() for d in _NPY_SPLIT.values()):
        return "npy"
    if any((root / d).is_dir() for names in _FOLDER_SPLIT.values() for d in names):
        return "folders"
    raise FileNotFoundError(
        f"{root} holds no AffectNet layout; expected Manually_Annotated_file_lists/training.csv (original), "
        f"train_set/annotations/ (npy), or train/<class>/ folders (folders)")


def index(root: str | os.PathLike, split: str = "train", layout: str = "auto", classes: str = "affectnet8",
          numeric_order: str | None = None) -> RecordIndex:
    """Read one split of AffectNet into a :class:`~affect_book.data.records.RecordIndex` (no image decoded).

    Parameters
    ----------
    root : str or PathLike
        The folder of the copy.
    split : str
        ``train`` or ``val`` (also ``training``, ``validation``, ``valid``); ``test`` for folder copies with one.
    layout : str
        ``auto``, ``original``, ``npy`` or ``folders``.
    classes : str
        ``affectnet8`` or ``affectnet7``.
    numeric_order : str, optional
        Only for folder copies with purely numeric folder names: ``"affectnet"`` (0 Neutral ...) or
        ``"alphabetical"`` (0 Anger ...).

    Returns
    -------
    RecordIndex
        Rows left out (codes outside the task, missing images, repeated rows) are counted by reason in
        ``skipped``.

    Raises
    ------
    DataFormatError
        A malformed annotation file (not UTF-8, a bad header or field), naming the file and the line.
    """
    root = Path(root).expanduser()
    split = _split_name(split)
    task = _task_classes(classes)
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "original":
        return _index_original(root, split, task)
    if layout == "npy":
        return _index_npy(root, split, task)
    if layout == "folders":
        return _index_folders(root, split, task, numeric_order)
    raise ValueError(f"layout={layout!r}; expected 'auto' or one of {list(LAYOUTS)}")


# --- original release -------------------------------------------------------------------------------------------

def _normalize_column(name: str) -> str:
    return re.sub(r"[\s_]", "", name).lower()


def _check_va(value: float, path, line, what) -> float:
    if value == -2:
        return np.nan
    if not -1 <= value <= 1:
        raise DataFormatError(path, line, f"{what} in [-1, 1] or -2 (no label)", repr(value))
    return value


def _image_folder(root: Path) -> Path:
    for folder in (root / "Manually_Annotated_Images", root / "Manually_Annotated" / "Manually_Annotated_Images"):
        if folder.is_dir():
            return folder
    return root


def _index_original(root: Path, split: str, task: tuple[str, ...]) -> RecordIndex:
    if split not in _ORIGINAL_CSV:
        raise ValueError(f"split={split!r}: the original release has 'train' and 'val' only")
    folder = _csv_dir(root)
    if folder is None:
        raise FileNotFoundError(f"no Manually_Annotated_file_lists/training.csv or validation.csv under {root}")
    path = folder / _ORIGINAL_CSV[split]
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (split {split!r} of the original AffectNet layout)")
    images = _image_folder(root)
    exists = ExistingFiles()
    code_to_class = _code_to_class(task)
    out = RecordBuilder("affectnet", split, "original", task)
    wanted = {_normalize_column(c): c for c in ORIGINAL_COLUMNS}
    no_va = 0
    with io.StringIO(read_text(path), newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        found = [_normalize_column(h) for h in header or []]
        if header is None or not set(wanted) <= set(found):
            raise DataFormatError(path, 1, "a header naming the columns " + ",".join(ORIGINAL_COLUMNS),
                                  repr(",".join(header or [])))
        col = {wanted[k]: found.index(k) for k in wanted}
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise DataFormatError(path, line, f"{len(header)} comma-separated fields as in the header",
                                      f"{len(row)}")
            code = parse_int(row[col["expression"]], path, line, "expression")
            if not 0 <= code <= 10:
                raise DataFormatError(path, line, "an expression code 0..10", str(code))
            box = tuple(parse_int(row[col[c]], path, line, c)
                        for c in ("face_x", "face_y", "face_width", "face_height"))
            if box[0] < 0 or box[1] < 0 or box[2] <= 0 or box[3] <= 0:
                raise DataFormatError(path, line, "face_x, face_y >= 0 and face_width, face_height > 0",
                                      str(box))
            valence = _check_va(parse_float(row[col["valence"]], path, line, "valence"), path, line, "valence")
            arousal = _check_va(parse_float(row[col["arousal"]], path, line, "arousal"), path, line, "arousal")
            if code not in code_to_class:
                out.skip(_excluded_reason(code, task))
                continue
            relative = row[col["subDirectory_filePath"]].strip()
            image = images / relative
            if not exists(image):
                out.skip("image missing")
                continue
            va = (valence, arousal) if np.isfinite(valence) and np.isfinite(arousal) else (np.nan, np.nan)
            no_va += not np.isfinite(va[0])
            out.add(image, code_to_class[code], va, subject=Path(relative).stem, box=box,
                    where=f"{path.name} line {line}")
    if no_va:
        out.notes.append(f"{no_va} kept records have valence/arousal -2 (no label): their VA is missing")
    out.notes.append(f"labels read from {path}; images under {images}; faces cropped from the boxes")
    return out.build()


# --- per-image .npy redistribution ------------------------------------------------------------------------------

def _read_scalar(path: Path) -> float:
    try:
        value = np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - any unreadable array is a format error naming the file
        raise DataFormatError(path, None, "a .npy file holding one number", f"unreadable ({err})") from None
    if value.size != 1:
        raise DataFormatError(path, None, "a .npy file holding one number", f"an array of shape {value.shape}")
    item = value.reshape(()).item()
    try:
        number = float(item.decode() if isinstance(item, bytes) else item)
    except (TypeError, ValueError):
        raise DataFormatError(path, None, "a .npy file holding one number", repr(item)) from None
    if not np.isfinite(number):
        raise DataFormatError(path, None, "a finite number", repr(item))
    return number


def _index_npy(root: Path, split: str, task: tuple[str, ...]) -> RecordIndex:
    if split not in _NPY_SPLIT:
        raise ValueError(f"split={split!r}: the .npy redistribution has 'train' and 'val' only")
    base = root / _NPY_SPLIT[split]
    image_dir, ann_dir = base / "images", base / "annotations"
    for folder in (image_dir, ann_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} does not exist (split {split!r} of the AffectNet .npy layout)")
    code_to_class = _code_to_class(task)
    out = RecordBuilder("affectnet", split, "npy", task)
    images = {}
    for name in sorted(os.listdir(image_dir)):
        stem, suffix = os.path.splitext(name)
        if suffix.lower() in IMAGE_SUFFIXES:
            if stem in images:  # x.jpg and x.png: one annotation, two images
                out.skip("duplicate image (another file with the same id): the first in name order kept")
                continue
            images[stem] = image_dir / name
        else:
            out.skip("not an image file")
    annotated = set()
    for name in os.listdir(ann_dir):
        if name.endswith("_exp.npy"):
            annotated.add(name[: -len("_exp.npy")])
    no_va = 0
    for image_id in sorted(annotated | set(images)):
        if image_id not in annotated:
            out.skip("no expression annotation (_exp.npy) for the image")
            continue
        code_value = _read_scalar(ann_dir / f"{image_id}_exp.npy")
        if code_value != int(code_value) or not 0 <= code_value <= 10:
            raise DataFormatError(ann_dir / f"{image_id}_exp.npy", None, "an expression code 0..10",
                                  repr(code_value))
        code = int(code_value)
        va = []
        for part, what in (("val", "valence"), ("aro", "arousal")):
            file = ann_dir / f"{image_id}_{part}.npy"
            va.append(_check_va(_read_scalar(file), file, None, what) if file.is_file() else np.nan)
        if code not in code_to_class:
            out.skip(_excluded_reason(code, task))
            continue
        if image_id not in images:
            out.skip("image missing")
            continue
        pair = (va[0], va[1]) if np.isfinite(va).all() else (np.nan, np.nan)
        no_va += not np.isfinite(pair[0])
        out.add(images[image_id], code_to_class[code], pair, subject=image_id)
    if no_va:
        out.notes.append(f"{no_va} kept records have no valence/arousal (-2 or no _val/_aro file)")
    return out.build()


# --- class-named folder copies ----------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(\d+)[\s_\-.]*(.*)$")


def _folder_key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def _index_folders(root: Path, split: str, task: tuple[str, ...], numeric_order: str | None) -> RecordIndex:
    base = next((root / d for d in _FOLDER_SPLIT[split] if (root / d).is_dir()), None)
    if base is None:
        raise FileNotFoundError(f"no folder for split {split!r} under {root}; expected one of "
                                f"{list(_FOLDER_SPLIT[split])}")
    folders = sorted(d for d in os.listdir(base) if (base / d).is_dir())
    if not folders:
        raise DataFormatError(base, None, "one sub-folder per class", "no sub-folders")
    out = RecordBuilder("affectnet", split, "folders", task)
    code_to_class = _code_to_class(task)
    by_concept = {concept_of(name): code for code, name in enumerate(CODE_NAMES[:8])}
    numeric = all(f.isdigit() for f in folders)
    folder_code: dict[str, int] = {}
    if numeric:
        if numeric_order not in ("affectnet", "alphabetical"):
            raise DataFormatError(base, None, "class folders named by class (anger, happy, ...); these are numbers "
                                  "only, which is ambiguous: pass numeric_order='affectnet' (0 Neutral, 1 Happy, "
                                  "...) or numeric_order='alphabetical' (0 Anger, 1 Contempt, ...)", str(folders))
        eight = len(folders) > 7 or max(int(f) for f in folders) >= 7
        names = CODE_NAMES[:8] if eight else CODE_NAMES[:7]
        order = list(names) if numeric_order == "affectnet" else sorted(names)
        for f in folders:
            if int(f) >= len(order):
                raise DataFormatError(base / f, None, f"a folder number 0..{len(order) - 1}", f)
            folder_code[f] = CODE_NAMES.index(order[int(f)])
        out.notes.append(f"numeric class folders read in the {numeric_order} order, as declared by numeric_order: "
                         + ", ".join(f"{f}={order[int(f)]}" for f in folders))
    else:
        numbers = {}
        for f in folders:
            match = _NUMBERED.match(f)
            label = match.group(2) if match and match.group(2) else f
            if match and match.group(2):
                numbers[f] = int(match.group(1))
            key = _folder_key(label)
            if key in _NON_CLASS_CODES:
                folder_code[f] = _NON_CLASS_CODES[key]
                continue
            try:
                folder_code[f] = by_concept[concept_of(label)]
            except (ValueError, KeyError):
                raise DataFormatError(base / f, None, "a class folder named after an AffectNet class "
                                      f"({', '.join(CODE_NAMES[:8])}, or None/Uncertain/Non-Face)", repr(f)) from None
        class_folders = [f for f in folders if folder_code[f] < 8]
        alphabetical = sorted(class_folders, key=lambda f: CODE_NAMES[folder_code[f]].lower())
        positional = ", ".join(f"{i}={f}" for i, f in enumerate(sorted(class_folders)))
        out.notes.append(f"class folders mapped by name; a positional loader (sorted folder names, as torchvision "
                         f"ImageFolder does) would number them {positional}, which is "
                         + ("the alphabetical class order, not AffectNet's code order (0 Neutral, 1 Happy, ...)"
                            if sorted(class_folders) == alphabetical else "an order of its own"))
        if numbers:
            by_code = all(numbers.get(f) == folder_code[f] for f in class_folders if f in numbers)
            full = sorted(n.lower() for n in CODE_NAMES[:8 if any(folder_code[f] == 7 for f in class_folders) else 7])
            by_alpha = all(numbers.get(f) == full.index(CODE_NAMES[folder_code[f]].lower())
                           for f in class_folders if f in numbers)
            kind = ("AffectNet code order" if by_code else "alphabetical order" if by_alpha else "an order of its own")
            out.notes.append(f"folder names carry numbers in {kind}; the numbers are ignored, names decide")
    for f in folders:
        code = folder_code[f]
        files = sorted(os.listdir(base / f))
        for name in files:
            path = base / f / name
            if os.path.splitext(name)[1].lower() not in IMAGE_SUFFIXES or not path.is_file():
                out.skip("not an image file")
                continue
            if code not in code_to_class:
                out.skip(_excluded_reason(code, task))
                continue
            out.add(path, code_to_class[code], subject=os.path.splitext(name)[0])
    out.notes.append("folder copies carry no valence/arousal: VA is missing for every record")
    return out.build()
