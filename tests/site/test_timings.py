"""The runner's timing records: written by a run, merged across runs, shown on each chapter's page; API links."""

import json
import os
import re

import nbformat
import pytest
from support import ROOT

from affect_book.site import book, timings

MACHINE = {"cpu_count": 2, "torch_device": "cpu", "platform": "Linux"}


def _record(profile, chapter, seconds, date="2026-11-28T07:00:00+00:00"):
    return timings.timing_record(profile, chapter, f"{chapter}_x", seconds, MACHINE, date)


def test_records_merge_latest_per_profile_and_chapter(tmp_path):
    path = tmp_path / "timings.json"
    assert timings.read_timings(path) == []
    timings.record_timings(path, [_record("smoke", "01", 7.25), _record("cpu", "01", 200.0)])
    later = _record("smoke", "01", 6.5, "2026-11-29T08:00:00+00:00")
    timings.record_timings(path, [later, _record("smoke", "00", 1.0)])
    records = json.loads(path.read_text())["records"]
    assert [(r["chapter"], r["profile"], r["seconds"]) for r in records] == [
        ("00", "smoke", 1.0), ("01", "smoke", 6.5), ("01", "cpu", 200.0)]
    assert timings.read_timings(path) == records
    path.write_text('{"records": [{"profile": "smoke"}]}')
    with pytest.raises(ValueError, match="lacks"):
        timings.read_timings(path)
    with pytest.raises(ValueError, match="seconds"):
        timings.timing_record("smoke", "01", "x", float("nan"), MACHINE)


@pytest.mark.parametrize("seconds, text", [(7.25, "7.2 s"), (59.94, "59.9 s"), (192, "3 min 12 s"),
                                           (3840, "1 h 04 min")])
def test_format_seconds(seconds, text):
    assert timings.format_seconds(seconds) == text


def test_the_note_shows_each_profiles_recorded_time_and_replaces_itself(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · Title"), nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    records = [_record("smoke", "01", 7.25), _record("cpu", "01", 192.0), _record("smoke", "02", 3.0)]
    assert timings.inject_timing_note(path, records, "01")
    assert timings.inject_timing_note(path, records[:1], "01")  # a rebuild replaces the note
    cells = nbformat.read(path, as_version=4).cells
    assert [c.cell_type for c in cells] == ["markdown", "markdown", "code"]
    note = cells[1].source
    assert "| `smoke` | 7.2 s | 2026-11-28 | 2 CPU cores, torch device cpu |" in note and "cpu`" not in note
    assert timings.TIMING_TAG in cells[1].metadata["tags"]
    assert not timings.inject_timing_note(path, records, "05")  # no record: no note, the old one removed
    assert [c.cell_type for c in nbformat.read(path, as_version=4).cells] == ["markdown", "code"]


@pytest.mark.slow
def test_a_run_writes_its_record_beside_the_executed_copies(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    # the runner's kernels draw static figures even when the runner itself was started from a JupyterLab kernel
    monkeypatch.setenv("JPY_SESSION_NAME", "started-from-jupyterlab.ipynb")
    monkeypatch.delenv("AFFECT_BOOK_INTERACTIVE", raising=False)
    nb.cells = [nbformat.v4.new_markdown_cell("# 98 · Tiny"),
                nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("from affect_book.site.widgets import live_front_end\n"
                                          "assert not live_front_end()")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "98_tiny.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: README\nchapters:\n  - file: notebooks/98_tiny\n")
    out = tmp_path / "out"
    results = book.run_book("smoke", root=tmp_path, out_dir=out, log=lambda line: None)
    (record,) = timings.read_timings(out / timings.TIMINGS_FILE)
    assert (record["profile"], record["chapter"], record["notebook"]) == ("smoke", "98", "98_tiny")
    assert record["seconds"] == pytest.approx(results[0].seconds)
    assert record["machine"]["cpu_count"] >= 1 and record["machine"]["torch_device"] in ("cpu", "cuda", "mps")
    assert "timings.json" in json.loads((out / ".affect_book_outputs.json").read_text())["files"]
    assert "AFFECT_BOOK_INTERACTIVE" not in os.environ  # the runner restored the environment


def test_api_sections_link_to_the_chapters_that_exist():
    api = (ROOT / "docs" / "api.md").read_text()
    chapters = {p.stem[:2]: p for p in book.toc_notebooks(ROOT)}
    headings = [line for line in api.splitlines() if line.startswith("## ")]
    linked = 0
    for heading in headings:
        for number, target in re.findall(r"\[chapter (\d\d)\]\(([^)]+)\)", heading):
            assert (ROOT / "docs" / target).resolve() == chapters[number].resolve(), heading
            linked += 1
        bare = re.findall(r"(?<!\[)chapters? (\d\d)", re.sub(r"\[chapter \d\d\]\([^)]+\)", "", heading))
        assert not set(bare) & set(chapters), f"{heading!r} names a chapter without linking it"
    assert linked >= 25


def test_readme_shows_exactly_the_committed_measured_timings():
    """The README's table of measured times is generated from docs/timings.json, never typed."""
    records = timings.read_timings(timings.MEASURED_TIMINGS)
    readme = ROOT / "README.md"
    assert timings.update_readme(readme, records, check=True), \
        "README's measured-times table differs from docs/timings.json: run python -m affect_book.site.timings readme"
    for r in records:  # the committed records are the runner's (full records, a profile the book knows)
        assert r["profile"] in ("cpu", "gpu") and r["seconds"] > 0 and r["machine"]["cpu_count"] >= 1


def test_record_command_copies_chosen_records_and_regenerates_the_table(tmp_path, monkeypatch):
    executed = tmp_path / "timings.json"
    timings.record_timings(executed, [_record("smoke", "07", 10.0), _record("cpu", "07", 1500.0),
                                      _record("cpu", "08", 90.0)])
    (tmp_path / "docs").mkdir()
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{timings.README_MARKERS[0]}\nold\n{timings.README_MARKERS[1]}\noutro\n")
    monkeypatch.setattr(timings, "MEASURED_TIMINGS", tmp_path / "docs" / "timings.json")
    assert timings._main(["record", str(executed), "--chapter", "07"]) == 0
    kept = timings.read_timings(tmp_path / "docs" / "timings.json")
    assert [(r["profile"], r["chapter"]) for r in kept] == [("cpu", "07")]  # smoke is never recorded by default
    text = readme.read_text()
    assert "25 min 00 s" in text and "old" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    assert timings.update_readme(readme, kept, check=True)
    assert not timings.update_readme(readme, [], check=True)
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="measured-timings"):
        timings.update_readme(readme, kept)
