"""Small trees in each real-data layout, with the edge cases the loaders must handle, written with PIL.

Each builder returns the root and a description of what a correct loader must find (hand-derived, not computed by
the package). Image colours encode the record so tests can check that the right pixels travel with each label.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

AFFECTNET_ORDER = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt")


def color_of(k: int) -> tuple[int, int, int]:
    """A distinct, JPEG-robust colour for record k."""
    return (40 + 23 * k % 200, 200 - 17 * k % 180, 60 + 31 * k % 190)


def write_face(path: Path, k: int, size=(64, 48), box=None) -> None:
    """A JPEG whose face box (x, y, w, h) is filled with colour k and the rest with grey."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((size[1], size[0], 3), 128, dtype=np.uint8)
    if box is None:
        pixels[:] = color_of(k)
    else:
        x, y, w, h = box
        pixels[y:y + h, x:x + w] = color_of(k)
    Image.fromarray(pixels).save(path, quality=95)


def write_corrupt(path: Path) -> None:
    """A file named .jpg that holds a truncated JPEG (the first bytes of a real one, then garbage)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.jpg")
    write_face(tmp, 99)
    data = tmp.read_bytes()
    tmp.unlink()
    path.write_bytes(data[:40] + b"\x00garbage" * 4)


# --- AffectNet --------------------------------------------------------------------------------------------------

#: (id, code, valence, arousal, state) of the original-release training rows; state: ok, missing, corrupt.
AFFECTNET_ROWS = [
    ("a00", 0, 0.1, 0.2, "ok"),
    ("a01", 1, 0.8, 0.5, "ok"),
    ("a02", 6, -0.5, 0.6, "ok"),
    ("a03", 7, -0.4, 0.3, "ok"),
    ("a04", 4, -2, -2, "ok"),  # a kept class with VA -2: VA missing
    ("a05", 8, 0.0, 0.1, "ok"),  # None: excluded
    ("a06", 9, -2, -2, "ok"),  # Uncertain: excluded
    ("a07", 10, -2, -2, "ok"),  # Non-Face: excluded
    ("a08", 5, -0.6, 0.3, "missing"),  # image not on disk
    ("a09", 2, -0.6, -0.3, "corrupt"),  # bytes that do not decode
    ("a10", 3, 0.4, 0.7, "ok"),
    ("a11", 1, 0.7, 0.2, "ok"),
]
BOX = (10, 6, 30, 32)
HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,"
          "arousal").split(",")


def affectnet_original(root: Path, rows=AFFECTNET_ROWS, header=HEADER, extra_lines=()) -> Path:
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    for name, subset in (("training.csv", rows), ("validation.csv", rows[:3])):
        with open(lists / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for k, (image_id, code, v, a, state) in enumerate(subset):
                rel = f"{k % 3 + 1}/{image_id}.jpg"
                landmarks = ";".join(str(x) for x in range(136))
                writer.writerow([rel, *BOX, landmarks, code, v, a])
                path = root / "Manually_Annotated_Images" / rel
                if state == "ok":
                    write_face(path, k, box=BOX)
                elif state == "corrupt":
                    write_corrupt(path)
            for line in extra_lines:
                handle.write(line + "\n")
    return root


def affectnet_folders(root: Path, original_root: Path, style: str = "names") -> Path:
    """A folder copy of the original fixture's kept training images (already cropped, as copies are).

    ``style``: ``names`` (anger/, happy/...), ``numbered`` (0_anger/, 1_contempt/... alphabetical numbering),
    ``numeric`` (0/, 1/, ... in alphabetical order).
    """
    alphabetical = sorted(AFFECTNET_ORDER)
    for k, (image_id, code, _valence, _arousal, state) in enumerate(AFFECTNET_ROWS):
        if code > 7 or state == "missing":
            continue
        name = AFFECTNET_ORDER[code]
        folder = {"names": name.lower(), "numbered": f"{alphabetical.index(name)}_{name.lower()}",
                  "numeric": str(alphabetical.index(name))}[style]
        source = original_root / "Manually_Annotated_Images" / f"{k % 3 + 1}/{image_id}.jpg"
        target = root / "train" / folder / f"{image_id}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        if state == "corrupt":
            target.write_bytes(source.read_bytes())
        else:
            with Image.open(source) as img:
                x, y, w, h = BOX
                img.crop((x, y, x + w, y + h)).save(target, quality=95)
    first = sorted((root / "train").iterdir())[0]
    (first / "Thumbs.db").write_bytes(b"not an image")  # a stray non-image file
    return root


def affectnet_npy(root: Path) -> Path:
    """val_set of the .npy redistribution: codes stored as strings (as in the public copy)."""
    base = root / "val_set"
    (base / "annotations").mkdir(parents=True, exist_ok=True)
    entries = [("0", "0", 0.05, -0.1, True), ("1", "7", -0.5, 0.4, True), ("2", "3", -2.0, -2.0, True),
               ("3", "8", 0.2, 0.2, True), ("4", "1", 0.9, 0.1, False), ("5", "6", -0.4, 0.8, True)]
    for k, (image_id, code, v, a, has_image) in enumerate(entries):
        np.save(base / "annotations" / f"{image_id}_exp.npy", np.array(code))
        np.save(base / "annotations" / f"{image_id}_val.npy", np.array(str(v)))
        np.save(base / "annotations" / f"{image_id}_aro.npy", np.array(a))
        np.save(base / "annotations" / f"{image_id}_lnd.npy", np.zeros(136))
        if has_image:
            write_face(base / "images" / f"{image_id}.jpg", k)
    write_face(base / "images" / "6.jpg", 6)  # an image without annotation
    return root


# --- Aff-Wild2 --------------------------------------------------------------------------------------------------

EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
AU_HEADER = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"


def _write(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def affwild2_unitask(root: Path, expr_folder: str = "EXPR_Classification_Challenge") -> Path:
    """Train: vidA (5 frames, frame 4 has no image, frame 5 all invalid), vidB_left / vidB_right (a two-person
    video; vidB_left's EXPR header spaced; vidB_right AU only, with an AU header in another column order).
    Val: vidC (2 frames, VA only)."""
    ann = root / "Annotations"
    va_dir, ex_dir, au_dir = (ann / n for n in ("VA_Estimation_Challenge", expr_folder, "AU_Detection_Challenge"))
    _write(va_dir / "Train_Set" / "vidA.txt",
           ["valence,arousal", "0.1,0.2", "-5,-5", "0.3,-0.4", "0.5,0.5", "-5,-5"])
    _write(ex_dir / "Train_Set" / "vidA.txt", [EXPR_HEADER, "0", "1", "-1", "3", "-1"])
    _write(au_dir / "Train_Set" / "vidA.txt",
           [AU_HEADER, "1,0,0,0,0,0,0,0,0,0,0,1", "-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1",
            "0,0,0,0,0,0,0,0,0,0,0,0", "0,1,0,0,0,0,0,0,0,0,0,0", "-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1"])
    _write(ex_dir / "Train_Set" / "vidB_left.txt",
           [" Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise, Other", "4", "7", "2"])
    au_reordered = AU_HEADER.split(",")[::-1]
    _write(au_dir / "Train_Set" / "vidB_right.txt",
           [",".join(au_reordered), "1,0,0,0,0,0,0,0,0,0,0,0", "0,0,0,0,0,0,0,0,0,0,0,1"])
    _write(va_dir / "Validation_Set" / "vidC.txt", ["valence,arousal", "-0.2,0.9", "0.0,0.0"])
    images = root / "cropped_aligned"
    for video, frames in (("vidA", (1, 2, 3, 5)), ("vidB_left", (1, 2, 3)), ("vidB_right", (1, 2)),
                          ("vidC", (1, 2))):
        for k in frames:
            write_face(images / video / f"{k:05d}.jpg", k, size=(32, 32))
    return root


MTL_HEADER = "image,valence,arousal,expression," + AU_HEADER


def affwild2_multitask(root: Path) -> Path:
    """s-Aff-Wild2 files: rows with every subset of labels, a frame without image, a row with no valid label."""
    zeros = ",".join(["0"] * 12)
    invalid_au = ",".join(["-1"] * 12)
    train = [MTL_HEADER,
             f"116/00001.jpg,0.602,0.389,4,{zeros}",  # all three
             f"116/00002.jpg,-5,-5,1,{invalid_au}",  # EXPR only
             f"116/00003.jpg,-0.5,0.6,-1,{invalid_au}",  # VA only
             f"116/00004.jpg,-5,-5,-1,{zeros}",  # AU only
             f"116/00005.jpg,-5,-5,-1,{invalid_au}",  # nothing valid
             f"117_left/00001.jpg,-0.6,0.5,3,{zeros}",  # two-person video
             f"117_right/00001.jpg,0.2,0.1,0,{zeros}",
             f"118/00009.jpg,0.1,0.1,5,{zeros}"]  # no image on disk
    val = [MTL_HEADER, f"200/00001.jpg,0.3,0.3,7,{zeros}", f"200/00002.jpg,-0.7,-0.2,5,{invalid_au}"]
    _write(root / "training_set_annotations.txt", train)
    _write(root / "validation_set_annotations.txt", val)
    for k, rel in enumerate(["116/00001.jpg", "116/00002.jpg", "116/00003.jpg", "116/00004.jpg", "116/00005.jpg",
                             "117_left/00001.jpg", "117_right/00001.jpg", "200/00001.jpg", "200/00002.jpg"]):
        write_face(root / "cropped_aligned" / rel, k, size=(32, 32))
    return root


# --- manifest ---------------------------------------------------------------------------------------------------

#: Valence-arousal centres of the manifest fixture's classes (hand-placed, roughly Russell's circumplex).
MANIFEST_VA = {"Happy": (0.6, 0.3), "Sad": (-0.5, -0.3), "Anger": (-0.5, 0.6), "Neutral": (0.0, 0.0)}


def manifest_va(k: int, n_classes: int = 4, classes=("Happy", "Sad", "Anger", "Neutral")) -> tuple[float, float]:
    """Record k's valence-arousal in :func:`manifest_faces` with ``va=True``: its class centre plus a small
    hand-chosen offset (valence -0.05, 0 or +0.05 and arousal 0 or +0.04, cycling with ``k // n_classes``)."""
    v, a = MANIFEST_VA[classes[k % n_classes]]
    j = k // n_classes
    return round(v + 0.05 * (j % 3 - 1), 4), round(a + 0.04 * (j % 2), 4)


def manifest_faces(root: Path, n: int = 24, classes=("Happy", "Sad", "Anger", "Neutral"), va: bool = False,
                   splits=("train",)) -> Path:
    """``n`` small faces listed in ``root/manifest.csv`` (class k % len(classes), subject p<k // 2>, split
    ``splits[k % len(splits)]``: all train by default).

    With ``va=True`` the manifest also has valence and arousal columns: :func:`manifest_va` for every record but the
    last, whose fields are empty (an image without valence-arousal)."""
    lines = ["image,expression," + ("valence,arousal," if va else "") + "subject,split"]
    for k in range(n):
        write_face(root / "img" / f"{k:03d}.jpg", k, size=(24, 24))
        labels = ""
        if va:
            labels = ",," if k == n - 1 else "{},{},".format(*manifest_va(k, len(classes), classes))
        lines.append(f"img/{k:03d}.jpg,{classes[k % len(classes)]},{labels}p{k // 2},{splits[k % len(splits)]}")
    _write(root / "manifest.csv", lines)
    return root
