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
from real_fixtures import (AFFECTNET_ORDER, AFFECTNET_ROWS, HEADER, affectnet_folders, affectnet_npy,
                           affectnet_original, affwild2_multitask, affwild2_unitask, write_face)

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
