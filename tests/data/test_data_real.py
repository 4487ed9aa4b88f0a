"""Real-data loaders on fixture trees in every layout: exact counts and labels, hand-derived in real_fixtures."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from affect_book.circumplex import CLASS_SETS
from affect_book.cli import main as cli_main
from affect_book.data import DataFormatError, affectnet, affwild2, manifest, sources
from support.real_fixtures import (HEADER, affectnet_folders, affectnet_npy, affectnet_original,
                                   affwild2_multitask, affwild2_unitask, write_face)

AN8 = CLASS_SETS["affectnet8"]
AW2 = CLASS_SETS["affwild2"]
NAN = float("nan")


def _labels_by_id(records):
    return {Path(p).stem: records.classes[e] for p, e in zip(records.paths, records.expression)}


# --- AffectNet --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def an_root(tmp_path_factory):
    return affectnet_original(tmp_path_factory.mktemp("affectnet"))


def test_affectnet_original_counts_labels_and_exclusions(an_root):
    rec = affectnet.index(an_root, "train")
    assert rec.layout == "original" and rec.classes == AN8
    # kept: every row with code 0..7 whose image exists (a09 exists but is corrupt: found only when decoding)
    assert _labels_by_id(rec) == {"a00": "Neutral", "a01": "Happy", "a02": "Anger", "a03": "Contempt",
                                  "a04": "Fear", "a09": "Sad", "a10": "Surprise", "a11": "Happy"}
    assert dict(rec.skipped) == {"expression code 8 (None): not in the 8-class task": 1,
                                 "expression code 9 (Uncertain): not in the 8-class task": 1,
                                 "expression code 10 (Non-Face): not in the 8-class task": 1, "image missing": 1}
    va = dict(zip([Path(p).stem for p in rec.paths], rec.va.tolist()))
    assert np.allclose(va["a02"], [-0.5, 0.6]) and np.isnan(va["a04"]).all()  # -2 -> missing
    assert rec.label_counts()["valid"] == {"expression": 8, "va": 7, "au": 0}
    assert (rec.boxes == (10, 6, 30, 32)).all()
    assert rec.expression_counts() == {"Neutral": 1, "Happy": 2, "Sad": 1, "Surprise": 1, "Fear": 1,
                                       "Disgust": 0, "Anger": 1, "Contempt": 1}


def test_affectnet_seven_class_task_drops_and_counts_contempt(an_root):
    rec = affectnet.index(an_root, "train", classes="affectnet7")
    assert rec.classes == CLASS_SETS["affectnet7"] and "a03" not in _labels_by_id(rec)
    assert rec.skipped["expression code 7 (Contempt): not in the 7-class task"] == 1
    assert len(rec) == 7


@pytest.mark.parametrize("style,options", [("names", {}), ("numbered", {}),
                                           ("numeric", {"numeric_order": "alphabetical"})])
def test_alphabetical_folder_copy_gives_the_same_labels_as_the_original(an_root, tmp_path, style, options):
    original = _labels_by_id(affectnet.index(an_root, "train"))
    copy = affectnet.index(affectnet_folders(tmp_path, an_root, style), "train", **options)
    assert copy.layout == "folders"
    assert _labels_by_id(copy) == original  # mapped by name: the alphabetical order changes nothing
    assert copy.skipped == {"not an image file": 1}
    joined = " ".join(copy.notes)
    assert "alphabetical" in joined
    if style == "numbered":
        assert "numbers in alphabetical order" in joined


def test_numeric_folders_need_a_declared_order(an_root, tmp_path):
    root = affectnet_folders(tmp_path, an_root, "numeric")
    with pytest.raises(DataFormatError, match="numeric_order="):
        affectnet.index(root, "train")
    # read with the wrong declared order, the labels differ: positions are not names
    wrong = affectnet.index(root, "train", numeric_order="affectnet")
    assert _labels_by_id(wrong) != _labels_by_id(affectnet.index(an_root, "train"))


def test_affectnet_npy_layout(tmp_path):
    rec = affectnet.index(affectnet_npy(tmp_path), "val")
    assert rec.layout == "npy"
    assert _labels_by_id(rec) == {"0": "Neutral", "1": "Contempt", "2": "Surprise", "5": "Anger"}
    assert np.isnan(rec.va[list(rec.subject).index("2")]).all()  # -2 -> missing
    assert np.allclose(rec.va[list(rec.subject).index("0")], [0.05, -0.1])
    assert dict(rec.skipped) == {"expression code 8 (None): not in the 8-class task": 1, "image missing": 1,
                                 "no expression annotation (_exp.npy) for the image": 1}


def test_affectnet_npy_out_of_range_code_names_the_file(tmp_path):
    root = affectnet_npy(tmp_path)
    np.save(root / "val_set" / "annotations" / "0_exp.npy", np.array("12"))
    with pytest.raises(DataFormatError, match=r"0_exp\.npy: expected an expression code 0\.\.10; found 12"):
        affectnet.index(root, "val")


@pytest.mark.parametrize("header,extra,match", [
    (["image", *HEADER[1:]], (), r"training\.csv, line 1: expected a header naming the columns"),
    (HEADER, ("x/y.jpg,1,2,3,4,lm,1,0.1",), r"training\.csv, line 14: expected 9 comma-separated fields"),
    (HEADER, ("x/y.jpg,1,2,3,4,lm,1,1.5,0.1",), r"training\.csv, line 14: expected valence in \[-1, 1\] or -2"),
    (HEADER, ("x/y.jpg,1,2,3,4,lm,11,0.1,0.1",), r"training\.csv, line 14: expected an expression code 0\.\.10"),
])
def test_affectnet_malformed_csv_names_file_line_and_form(tmp_path, header, extra, match):
    root = affectnet_original(tmp_path, header=header, extra_lines=extra)
    with pytest.raises(DataFormatError, match=match):
        affectnet.index(root, "train")


def test_affectnet_header_variants_are_matched_by_name(tmp_path):
    spaced = [f" {h.upper()} " for h in HEADER]
    rec = affectnet.index(affectnet_original(tmp_path, header=spaced), "train")
    assert len(rec) == 8


# --- Aff-Wild2 --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expr_folder", ["EXPR_Classification_Challenge", "EXPR_Recognition_Challenge"])
def test_affwild2_unitask_merges_tracks_per_frame(tmp_path, expr_folder):
    rec = affwild2.index(affwild2_unitask(tmp_path, expr_folder), "train")
    assert rec.layout == "unitask" and rec.classes == AW2
    frames = [f"{s}/{Path(p).name}" for s, p in zip(rec.subject, rec.paths)]
    # vidA: frame 4 has no image; frame 5 has only invalid markers (-5, -1, -1)
    assert frames == ["vidA/00001.jpg", "vidA/00002.jpg", "vidA/00003.jpg", "vidB_left/00001.jpg",
                      "vidB_left/00002.jpg", "vidB_left/00003.jpg", "vidB_right/00001.jpg", "vidB_right/00002.jpg"]
    assert rec.expression.tolist() == [0, 1, -1, 4, 7, 2, -1, -1]
    np.testing.assert_allclose(rec.va[:3], [[0.1, 0.2], [NAN, NAN], [0.3, -0.4]])  # -5 -> missing
    assert np.isnan(rec.va[3:]).all()
    assert rec.au[0].tolist() == [1] + [0] * 10 + [1] and (rec.au[1] == -1).all()
    # vidB_right's AU header lists the AUs in reverse order: mapped by name
    assert rec.au[6].tolist() == [0] * 11 + [1] and rec.au[7].tolist() == [1] + [0] * 11
    assert dict(rec.skipped) == {"frame image missing": 1,
                                 "frame without any valid label (invalid markers only)": 1}
    assert rec.label_counts()["valid"] == {"expression": 5, "va": 2, "au": 4}


def test_affwild2_unitask_single_track_and_validation(tmp_path):
    root = affwild2_unitask(tmp_path)
    expr = affwild2.index(root, "train", track="expr")
    assert len(expr) == 5 and (expr.expression >= 0).all()  # vidA 1, 2, 4 (3 is -1, 5 invalid) + vidB_left 3
    assert dict(expr.skipped) == {"frame image missing": 1,
                                  "frame without any valid label (invalid markers only)": 2}
    val = affwild2.index(root, "val")
    assert len(val) == 2 and val.subject.tolist() == ["vidC", "vidC"]
    np.testing.assert_allclose(val.va, [[-0.2, 0.9], [0.0, 0.0]])


def test_affwild2_multitask(tmp_path):
    rec = affwild2.index(affwild2_multitask(tmp_path), "train")
    assert rec.layout == "multitask"
    assert rec.subject.tolist() == ["116"] * 4 + ["117_left", "117_right"]
    assert rec.expression.tolist() == [4, 1, -1, -1, 3, 0]
    assert rec.has_va.tolist() == [True, False, True, False, True, True]
    assert rec.has_au.tolist() == [True, False, False, True, True, True]
    assert dict(rec.skipped) == {"frame image missing": 1, "frame without any valid label (invalid markers only)": 1}
    val = affwild2.index(tmp_path, "val")
    assert [AW2[e] for e in val.expression] == ["Other", "Sadness"]


@pytest.mark.parametrize("lines,match", [
    (["valence;arousal", "0.1;0.2"], r"vidA\.txt, line 1: expected the header valence,arousal"),
    (["valence,arousal", "0.1,0.2", "0.1"], r"vidA\.txt, line 3: expected 2 comma-separated fields"),
    (["valence,arousal", "1.2,0.2"], r"vidA\.txt, line 2: expected valence in \[-1, 1\] or -5"),
    (["valence,arousal", "0.1,abc"], r"vidA\.txt, line 2: expected a number for arousal"),
])
def test_affwild2_malformed_files_name_file_line_and_form(tmp_path, lines, match):
    root = affwild2_unitask(tmp_path)
    (root / "Annotations" / "VA_Estimation_Challenge" / "Train_Set" / "vidA.txt").write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match=match):
        affwild2.index(root, "train")


def test_affwild2_bad_expr_header_and_code(tmp_path):
    root = affwild2_unitask(tmp_path)
    path = root / "Annotations" / "EXPR_Classification_Challenge" / "Train_Set" / "vidA.txt"
    path.write_text("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Contempt,Other\n0\n")
    with pytest.raises(DataFormatError, match=r"vidA\.txt, line 1: expected the header Neutral,Anger"):
        affwild2.index(root, "train")
    # the early 7-class header (no Other) is read by name; code 7 is then out of range
    path.write_text("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n6\n7\n")
    with pytest.raises(DataFormatError, match=r"line 3: expected an expression code 0\.\.6 or -1"):
        affwild2.index(root, "train")
    path.write_text("Happiness,Neutral,Anger,Disgust,Fear,Sadness,Surprise,Other\n0\n1\n")
    rec = affwild2.index(root, "train", track="expr")
    assert [AW2[e] for e in rec.expression[:2]] == ["Happiness", "Neutral"]  # a reordered header, mapped by name
    path.write_text("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n0\n8\n")
    with pytest.raises(DataFormatError, match=r"line 3: expected an expression code 0\.\.7 or -1"):
        affwild2.index(root, "train")


def test_split_by_video_keeps_recordings_whole(tmp_path):
    rec = affwild2.index(affwild2_unitask(tmp_path), "train")
    for seed in range(6):
        rest, held = affwild2.split_by_video(rec, 0.5, seed)
        assert len(rest) + len(held) == len(rec)
        groups = [{affwild2.video_group(s) for s in part.subject} for part in (rest, held)]
        assert not groups[0] & groups[1] and groups[0] and groups[1]
        assert {"vidB"} in groups  # both persons of the two-person video on one side


# --- manifest ---------------------------------------------------------------------------------------------------

def _manifest(tmp_path, lines):
    for k, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        write_face(tmp_path / "img" / name, k)
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_manifest_reads_names_va_au_and_splits(tmp_path):
    root = _manifest(tmp_path, ["image,expression,valence,arousal,AU12,subject,split",
                                "img/a.jpg,happiness,0.7,0.3,1,p1,train", "img/b.jpg,ANGER,,,,p2,train",
                                "img/c.jpg,,-0.1,0.1,0,p3,val", "img/missing.jpg,Sad,,,,p4,train"])
    rec = manifest.index(root, "train")
    assert rec.classes == CLASS_SETS["affectnet7"]  # no Contempt, no Other: the 7-class set
    assert [rec.classes[e] for e in rec.expression] == ["Happy", "Anger"]
    assert rec.au[0, 6] == 1 and (np.delete(rec.au[0], 6) == -1).all()
    assert dict(rec.skipped) == {"image missing": 1}
    assert len(manifest.index(root, "val")) == 1 and len(manifest.index(root, "all")) == 3


@pytest.mark.parametrize("lines,match", [
    (["image,expresion", "img/a.jpg,Happy"], r"manifest\.csv, line 1: expected a header with columns"),
    (["image,expression", "img/a.jpg,Happy,extra"], r"manifest\.csv, line 2: expected 2 comma-separated"),
    (["image,expression", "img/a.jpg,Happy", "img/b.jpg,Jealousy"], r"line 3: expected an expression class name"),
    (["image,expression,valence,arousal", "img/a.jpg,Happy,2,0"], r"line 2: expected valence and arousal in"),
])
def test_manifest_errors(tmp_path, lines, match):
    with pytest.raises(DataFormatError, match=match):
        manifest.index(_manifest(tmp_path, lines))


# --- summary: function, command line, registry -------------------------------------------------------------------

def test_summary_json_from_the_command_line(tmp_path, capsys):
    root = affwild2_multitask(tmp_path)
    assert cli_main(["data", "summary", "--dataset", "affwild2", "--root", str(root), "--split", "train",
                     "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"dataset", "split", "n_records", "expression_counts", "valid", "skipped"}
    assert result["n_records"] == 6 and result["valid"] == {"expression": 4, "va": 4, "au": 4}
    assert result["expression_counts"] == {"Neutral": 1, "Anger": 1, "Disgust": 0, "Fear": 1, "Happiness": 1,
                                           "Sadness": 0, "Surprise": 0, "Other": 0}
    assert result["skipped"] == {"frame image missing": 1,
                                 "frame without any valid label (invalid markers only)": 1}


def test_summary_text_and_options(an_root, capsys):
    assert cli_main(["data", "summary", "--dataset", "affectnet", "--root", str(an_root), "--layout",
                     "original"]) == 0
    text = capsys.readouterr().out
    assert "Contempt" in text and "image missing: 1" in text
    assert sources.summary("affectnet", an_root, "train", classes="affectnet7")["n_records"] == 7
    with pytest.raises(ValueError, match="takes no option"):
        sources.summary("affectnet", an_root, "train", track="va")


def test_synthetic_source_is_the_simulator(tmp_path, monkeypatch):
    # the simulator (chapter 03) registers itself under the name reserved for it
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    out = sources.summary("synthetic", split="val", preset="balanced", profile="smoke", n_train=16, n_val=40,
                          n_test=8)
    assert out["n_records"] == 40 and sum(out["expression_counts"].values()) == 40
    with pytest.raises(ValueError, match="takes no option"):
        sources.summary("synthetic", layout="original")


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).parent / "affect-book"
    if not script.exists():
        pytest.skip("affect-book console script not installed in this environment")
    root = affwild2_multitask(tmp_path)
    out = subprocess.run([str(script), "data", "summary", "--dataset", "affwild2", "--root", str(root), "--split",
                          "val", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["n_records"] == 2


def test_folder_copy_with_an_unknown_class_folder_is_an_error(an_root, tmp_path):
    root = affectnet_folders(tmp_path, an_root, "names")
    (root / "train" / "jealousy").mkdir()
    with pytest.raises(DataFormatError, match=r"jealousy: expected a class folder named after an AffectNet class"):
        affectnet.index(root, "train")


def test_vectorized_and_line_by_line_readers_agree(tmp_path, monkeypatch):
    root = affwild2_unitask(tmp_path)
    fast = affwild2.index(root, "train")
    monkeypatch.setattr(affwild2, "_read_track_fast", lambda *args: None)
    slow = affwild2.index(root, "train")
    for key in ("expression", "au", "subject", "paths"):
        assert getattr(fast, key).tolist() == getattr(slow, key).tolist()
    np.testing.assert_array_equal(fast.va, slow.va)
    assert fast.skipped == slow.skipped


# --- bad input: counted skips and named errors (each reproduced on the loaders before the fix) -----------------

from affect_book.data.records import DUPLICATE, DUPLICATE_CONFLICT  # noqa: E402

LANDMARKS = ";".join(str(x) for x in range(136))


def test_affectnet_repeated_rows_are_counted_once(tmp_path):
    # a01 (training.csv line 3, code 1, Happy) repeated as is, and a02 (line 4) repeated with another code:
    # before, both were indexed twice (10 records, Happy counted 3 times)
    extra = (f"2/a01.jpg,10,6,30,32,{LANDMARKS},1,0.8,0.5", f"3/a02.jpg,10,6,30,32,{LANDMARKS},5,-0.5,0.6")
    rec = affectnet.index(affectnet_original(tmp_path, extra_lines=extra), "train")
    assert len(rec) == 8 and rec.expression_counts()["Happy"] == 2 and rec.expression_counts()["Disgust"] == 0
    assert rec.skipped[DUPLICATE] == 1 and rec.skipped[DUPLICATE_CONFLICT] == 1
    note = next(n for n in rec.notes if "repeated rows" in n)
    assert "training.csv line 14 repeats training.csv line 3" in note
    assert "training.csv line 15 repeats training.csv line 4 with other labels" in note


def test_affwild2_and_manifest_repeated_rows_are_counted_once(tmp_path):
    root = affwild2_multitask(tmp_path / "aw")
    path = root / "training_set_annotations.txt"
    path.write_text(path.read_text() + path.read_text().splitlines()[1] + "\n")
    rec = affwild2.index(root, "train")
    assert len(rec) == 6 and rec.skipped[DUPLICATE] == 1  # was 7, frame 116/00001 twice
    root = _manifest(tmp_path / "m", ["image,expression", "img/a.jpg,Happy", "img/b.jpg,Sad", "img/./a.jpg,Anger"])
    rec = manifest.index(root)
    assert [rec.classes[e] for e in rec.expression] == ["Happy", "Sad"]  # was Happy, Sad, Anger
    assert rec.skipped == {DUPLICATE_CONFLICT: 1} and "line 4 repeats line 2 with other labels" in rec.notes[-1]


def test_affectnet_npy_two_images_of_one_id_are_counted(tmp_path):
    root = affectnet_npy(tmp_path)
    write_face(root / "val_set" / "images" / "0.png", 0)  # 0.jpg exists: one annotation, two images
    rec = affectnet.index(root, "val")
    assert rec.subject.tolist().count("0") == 1 and Path(rec.paths[0]).name == "0.jpg"
    assert rec.skipped["duplicate image (another file with the same id): the first in name order kept"] == 1


def test_affwild2_tracks_of_different_lengths_are_reported(tmp_path):
    root = affwild2_unitask(tmp_path)
    expr = root / "Annotations" / "EXPR_Classification_Challenge" / "Train_Set" / "vidA.txt"
    expr.write_text("\n".join(expr.read_text().splitlines()[:4]) + "\n")  # 3 frames; VA and AU have 5
    rec = affwild2.index(root, "train")
    note = next(n for n in rec.notes if "different lengths" in n)  # was padded without a word
    assert "1 videos" in note and "vidA (va 5, expr 3, au 5)" in note
    assert rec.expression[:3].tolist() == [0, 1, -1] and len(rec) == 8  # frames 4-5 keep VA/AU, no expression


def test_affwild2_upper_case_txt_files_are_read(tmp_path):
    root = affwild2_unitask(tmp_path)
    reference = affwild2.index(root, "train")
    folder = root / "Annotations" / "EXPR_Classification_Challenge" / "Train_Set"
    (folder / "vidB_left.txt").rename(folder / "vidB_left.TXT")  # was ignored: 5 records instead of 8
    (folder / "README.md").write_text("not an annotation")
    rec = affwild2.index(root, "train")
    assert rec.paths.tolist() == reference.paths.tolist() and rec.expression.tolist() == reference.expression.tolist()
    assert any("not .txt annotation files" in n and "README.md" in n for n in rec.notes)
    (folder / "vidA.TXT").write_text((folder / "vidA.txt").read_text())
    with pytest.raises(DataFormatError, match=r"vidA\.txt: expected one annotation file per video; vidA\.TXT"):
        affwild2.index(root, "train")


@pytest.mark.parametrize("value", ["validation", "Valid", "VAL"])
def test_manifest_split_spellings(tmp_path, value):
    root = _manifest(tmp_path, ["image,expression,split", "img/a.jpg,Happy,Training", f"img/b.jpg,Sad,{value}",
                                "img/c.jpg,Anger,test"])
    for split in ("val", "validation"):
        rec = manifest.index(root, split)  # 'validation' rows gave 0 records for split val before
        assert [rec.classes[e] for e in rec.expression] == ["Sad"] and rec.split == "val"
    assert len(manifest.index(root, "train")) == 1 and len(manifest.index(root, "all")) == 3


def test_manifest_bad_splits_are_named(tmp_path):
    root = _manifest(tmp_path, ["image,expression,split", "img/a.jpg,Happy,train", "img/b.jpg,Sad,holdout"])
    with pytest.raises(DataFormatError, match=r"manifest\.csv, line 3: expected a split: train, training, val"):
        manifest.index(root, "train")
    root = _manifest(tmp_path, ["image,expression,split", "img/a.jpg,Happy,train", "img/b.jpg,Sad,train"])
    with pytest.raises(ValueError, match=r"no row has split 'val'.*holds train \(2 rows\)"):
        manifest.index(root, "val")
    with pytest.raises(ValueError, match=r"split='dev'; expected one of train \(train, training\); val"):
        manifest.index(root, "dev")


def test_an_empty_split_fails_before_training(tmp_path):
    # every val image missing: the loader indexes 0 records; before, load returned an empty dataset and training
    # crashed after a full epoch (KeyError: 'logits')
    root = _manifest(tmp_path, ["image,expression,split", "img/a.jpg,Happy,train", "img/b.jpg,Sad,train",
                                "img/gone.jpg,Sad,val"])
    with pytest.raises(ValueError, match=r"split 'val' under .* has no usable record in its annotations; left out: "
                                         r"image missing: 1"):
        sources.load_splits("manifest", root, profile="smoke", progress=False)
    root = _manifest(tmp_path, ["image,expression,split", "img/a.jpg,Happy,train", "img/c.jpg,Sad,val"])
    (tmp_path / "img" / "c.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"has no usable record after decoding; left out: image unreadable"):
        sources.load("manifest", root, "val", image_size=8, workers=0, progress=False)


NOT_UTF8 = b"img/b.jpg,Sad" + b"\xe9"  # Latin-1 e-acute


def test_non_utf8_files_name_the_file_and_line(tmp_path):
    root = _manifest(tmp_path / "m", ["image,expression", "img/a.jpg,Happy"])
    with open(root / "manifest.csv", "ab") as handle:
        handle.write(NOT_UTF8 + b"\n")
    with pytest.raises(DataFormatError, match=r"manifest\.csv, line 3: expected a UTF-8 text file.*0xe9 at column "
                                              r"14"):
        manifest.index(root)  # was a bare UnicodeDecodeError naming no file
    root = affectnet_original(tmp_path / "an")
    with open(root / "Manually_Annotated_file_lists" / "training.csv", "ab") as handle:
        handle.write(b"1/caf\xe9.jpg,1,2,3,4,lm,1,0.1,0.1\n")
    with pytest.raises(DataFormatError, match=r"training\.csv, line 14: expected a UTF-8 text file"):
        affectnet.index(root, "train")
    root = affwild2_unitask(tmp_path / "aw")
    (root / "Annotations" / "VA_Estimation_Challenge" / "Train_Set" / "vidA.txt").write_bytes(
        b"valence,arousal\n0.1,0.2\n0.3\xff,0.1\n")
    with pytest.raises(DataFormatError, match=r"vidA\.txt, line 3: expected a UTF-8"):
        affwild2.index(root, "train")


def test_synthetic_summary_refuses_a_root(tmp_path, capsys):
    # before, --root was ignored without a word
    assert cli_main(["data", "summary", "--dataset", "synthetic", "--root", str(tmp_path)]) == 2
    assert "is generated and reads no root folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="reads no root folder"):
        sources.load_splits("synthetic", tmp_path, profile="smoke")


def test_data_summary_reaches_the_simulator_presets(tmp_path, monkeypatch, capsys):
    from affect_book.data.simulator import make_config
    from affect_book.profiles import get_profile

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    counts = {}
    for preset in ("affwild2", "balanced"):
        assert cli_main(["data", "summary", "--dataset", "synthetic", "--preset", preset, "--profile", "smoke",
                         "--split", "val", "--json"]) == 0
        counts[preset] = json.loads(capsys.readouterr().out)
        assert counts[preset]["n_records"] == get_profile("smoke").n_val == make_config(preset, "smoke").n_val
    assert list(counts["affwild2"]["expression_counts"]) == list(AW2)
    assert counts["affwild2"]["expression_counts"] != counts["balanced"]["expression_counts"]
    assert cli_main(["data", "summary", "--dataset", "affwild2", "--root", str(tmp_path), "--preset", "x"]) == 2
    assert "takes no option ['preset']" in capsys.readouterr().err


def test_check_data_parameters_names_the_parameter(tmp_path):
    from affect_book.data import check_data_parameters
    from affect_book.params import ParameterError

    assert check_data_parameters("synthetic", None, preset="affwild2") is None
    assert check_data_parameters("affectnet", str(tmp_path)) == tmp_path
    for args, words in [(("synthetc", None), ["DATASET='synthetc'", "Did you mean 'synthetic'?"]),
                        (("affectnet", None), ["DATASET='affectnet' reads a licensed copy: set DATA_ROOT"]),
                        (("affectnet", str(tmp_path / "missing")), ["DATA_ROOT=", "no such file or directory"]),
                        (("synthetic", None, "afwild2"), ["PRESET='afwild2'", "Did you mean 'affwild2'?"])]:
        with pytest.raises(ParameterError) as err:
            check_data_parameters(*args)
        for word in words:
            assert word in str(err.value)
