"""The course layer: bibliography and citations, exercise census, student copies, HTML copies' tags."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from support import ROOT
from support.course_site import mini_site, tiny_chapter
from pybtex.database import parse_file

from affect_book.site import book, course

BIB = ROOT / "references.bib"
#: MyST citation roles: {cite}`a,b`, {cite:p}`a`, {cite:t}`a`, {footcite:p}`a`, {cite:ps}`a`, ...
CITE_ROLE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]*)`")
#: The sources issue 14 lists (and the study), which the bibliography must hold.
REQUIRED_KEYS = {"study2026circumplex", "russell1980circumplex", "russell1977evidence", "mollahosseini2017affectnet",
                 "kollias2019expression", "kollias2022abaw", "cui2019classbalanced", "cao2019ldam", "menon2021logit",
                 "ren2020balanced", "lin2017focal", "pereyra2017confidence", "cuturi2013sinkhorn", "flamary2021pot",
                 "lin1989ccc", "ekman1978facs", "friesen1983emfacs", "khosla2020supcon", "zhang2018gce",
                 "ghosh2017robust", "toisoul2021emonet", "frogner2015wasserstein"}


def cited_keys(text: str) -> list[tuple[int, str]]:
    """(line number, key) of every citation role in a text."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in CITE_ROLE.finditer(line):
            found.extend((number, key.strip()) for key in match.group(1).split(",") if key.strip())
    return found


def citing_files() -> list[Path]:
    return sorted([*ROOT.glob("notebooks/*.py"), ROOT / "README.md", *ROOT.glob("docs/*.md")])


# ------------------------------------------------------------------------------------------------- bibliography

def test_bibliography_entries_are_complete():
    entries = parse_file(str(BIB), bib_format="bibtex").entries
    assert REQUIRED_KEYS <= set(entries), f"missing from references.bib: {sorted(REQUIRED_KEYS - set(entries))}"
    for key, entry in entries.items():
        assert entry.persons.get("author"), f"{key}: no author"
        assert entry.fields.get("title", "").strip(), f"{key}: no title"
        assert re.fullmatch(r"(19|20)\d\d", entry.fields.get("year", "")), f"{key}: year {entry.fields.get('year')!r}"
        doi = entry.fields.get("doi")
        assert doi is None or re.fullmatch(r"10\.\d{4,9}/\S+", doi), f"{key}: malformed DOI {doi!r}"
    # spot checks against the publications themselves
    assert entries["russell1980circumplex"].fields["doi"] == "10.1037/h0077714"
    assert entries["lin1989ccc"].fields["journal"] == "Biometrics"
    assert [str(p) for p in entries["russell1977evidence"].persons["author"]] == ["Russell, James A.",
                                                                                  "Mehrabian, Albert"]


def test_citation_collector_finds_every_role_form():
    text = "a {cite}`x` b {cite:p}`y, z`\n{cite:t}`w` and `{cite:ps}`v``, not {cite}`` nor cite`u`\n{footcite:t}`f`"
    assert cited_keys(text) == [(1, "x"), (1, "y"), (1, "z"), (2, "w"), (2, "v"), (3, "f")]


def test_every_citation_resolves():
    keys = set(parse_file(str(BIB), bib_format="bibtex").entries)
    unknown = [f"{path.relative_to(ROOT)}:{line}: {key}" for path in citing_files()
               for line, key in cited_keys(path.read_text()) if key not in keys]
    assert not unknown, "citation keys not in references.bib:\n" + "\n".join(unknown)


def test_bibliography_is_configured_and_listed():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["bibtex_bibfiles"] == ["references.bib"]
    toc = (ROOT / "_toc.yml").read_text()
    assert "docs/references" in toc and "{bibliography}" in (ROOT / "docs" / "references.md").read_text()


# ------------------------------------------------------------------------------------------------- exercises

def test_census_counts_kinds_and_solutions():
    census = course.exercise_census(tiny_chapter())
    assert census == {"predict": 1, "conceptual": 1, "computational": 2, "open-ended": 1, "total": 5, "solved": 5,
                      "solutions": 6, "uncollapsed": 1}
    assert course.missing_exercises(census) == []


def test_census_reports_what_a_chapter_lacks():
    nb = tiny_chapter()
    del nb.cells[10:12]  # exercise 4 (the second computational one) and its solution
    nb.cells[8].metadata.tags = []  # exercise 3's first solution cell ...
    nb.cells[9].metadata.tags = []  # ... and its second: exercise 3 is now unsolved
    lacking = course.missing_exercises(course.exercise_census(nb))
    assert lacking == ["4 exercise(s), at least 5 expected", "1 'computational' exercise(s), at least 2 expected",
                       "1 exercise(s) without a cell tagged 'solution'"]


@pytest.mark.parametrize("tags, message", [(["exercise"], "exactly one of"),
                                           (["exercise", "predict", "conceptual"], "exactly one of")])
def test_census_rejects_a_malformed_exercise(tags, message):
    nb = tiny_chapter()
    nb.cells[3].metadata.tags = tags
    with pytest.raises(ValueError, match=f"cell 3: .*{message}"):
        course.exercise_census(nb)


def test_census_rejects_a_solution_before_any_exercise():
    nb = tiny_chapter()
    nb.cells[2].metadata["tags"] = ["solution"]
    with pytest.raises(ValueError, match="cell 2: a cell tagged 'solution' comes before"):
        course.exercise_census(nb)


@pytest.mark.parametrize("path", book.toc_notebooks(ROOT), ids=lambda p: p.stem)
def test_every_chapter_has_the_required_exercises(path):
    census = course.exercise_census(path)
    assert course.missing_exercises(census) == [], f"{path.name}: {census}"
    assert census["uncollapsed"] == 0, f"{path.name}: solution cells JupyterLab would show expanded"


# ------------------------------------------------------------------------------------------------- student copies

def test_student_copy_has_no_solution_and_one_stub_per_exercise():
    student = course.make_student_notebook(tiny_chapter())
    text = "\n".join(cell.source for cell in student.cells)
    assert "SOLUTION" not in text
    assert not [c for c in student.cells if "solution" in c.metadata.get("tags", [])]
    stubs = [c for c in student.cells if "exercise-stub" in c.metadata.get("tags", [])]
    assert [c.cell_type for c in stubs] == ["code", "markdown", "code", "code", "markdown"]
    assert "NotImplementedError('exercise: 1. Predict, then check: is `sqrt(2) > 1.4`?')" in stubs[0].source
    assert len({c.id for c in student.cells}) == len(student.cells)
    nbformat.validate(student)


def test_make_student_copies_writes_every_toc_chapter(tmp_path):
    (tmp_path / "notebooks").mkdir()
    nbformat.write(tiny_chapter(), tmp_path / "notebooks" / "98_tiny.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/98_tiny\n")
    assert course.main(["--root", str(tmp_path), "--out", str(tmp_path / "student")]) == 0
    written = tmp_path / "student" / "notebooks" / "98_tiny.ipynb"
    assert "SOLUTION" not in written.read_text()
    assert (tmp_path / "notebooks" / "98_tiny.ipynb").read_text().count("SOLUTION") == 6, "the source was changed"


@pytest.mark.notebooks
def test_student_copy_runs_up_to_its_first_stub(tmp_path):
    path = tmp_path / "student.ipynb"
    nbformat.write(course.make_student_notebook(tiny_chapter()), path)
    stopped = course.run_student_copy(path, tmp_path / "out.ipynb", {"PROFILE": "smoke"})
    assert stopped == "exercise: 1. Predict, then check: is `sqrt(2) > 1.4`?"
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    printed = [o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert "profile smoke: 1.414\n" in printed, "the chapter's cells before the stub did not run"
    broken = course.make_student_notebook(tiny_chapter())
    broken.cells[2].source = "1 / 0"
    nbformat.write(broken, path)
    with pytest.raises(pm.PapermillExecutionError, match="ZeroDivisionError"):
        course.run_student_copy(path, tmp_path / "out.ipynb", {"PROFILE": "smoke"})


@pytest.mark.notebooks
@pytest.mark.parametrize("path", book.toc_notebooks(ROOT), ids=lambda p: p.stem)
def test_every_student_copy_runs_up_to_its_first_stub(path, tmp_path, smoke_book):
    """make student's copy of each chapter has no solution left and runs in the smoke profile up to its first stub
    (after the smoke book, whose runs and data come from the session's cache: conftest.py keeps this file on the
    smoke book's test process)."""
    student = course.make_student_notebook(path)
    assert not [c for c in student.cells if "solution" in c.metadata.get("tags", [])]
    copy = tmp_path / "notebooks" / path.name
    copy.parent.mkdir()
    nbformat.write(student, copy)
    stopped = course.run_student_copy(copy, tmp_path / "out.ipynb", {"PROFILE": "smoke"})
    stubs = [c for c in student.cells if c.cell_type == "code" and "exercise-stub" in c.metadata.get("tags", [])]
    if stubs:
        assert stopped is not None and stopped.startswith("exercise: "), f"{path.name} ran past its first stub"
    else:
        assert stopped is None


# ------------------------------------------------------------------------------------------------- HTML copies

def test_html_tags_injected_parameters_and_solutions():
    nb = tiny_chapter()
    nb.cells.insert(2, nbformat.v4.new_code_cell('PROFILE = "smoke"', metadata={"tags": ["injected-parameters"]}))
    assert course.tag_injected_parameters(nb) == 1 and course.tag_injected_parameters(nb) == 0
    assert nb.cells[2].metadata.tags == ["injected-parameters", "remove-cell"]
    assert course.hide_solutions(nb) == 6 and course.hide_solutions(nb) == 0
    assert "hide-cell" in nb.cells[5].metadata.tags
    assert nb.cells[7].source.startswith("```{dropdown} Solution\n") and nb.cells[7].source.endswith("\n```")


@pytest.mark.notebooks
def test_html_book_hides_parameters_and_solutions_and_renders_citations():
    html = mini_site()
    page = (html / "notebooks" / "98_tiny.html").read_text()
    assert page.count('PROFILE</span> <span class="o">=</span>') == 1, "papermill's injected cell is shown"
    assert re.search(r"tag_hide-cell[^>]*>\s*<details.*?SOLUTION-ONE", page, re.DOTALL), "code solution not in a toggle"
    assert re.search(r"<details[^>]*>\s*<summary.*?>Solution</span>.*?SOLUTION-TWO.*?</details>", page, re.DOTALL), \
        "markdown solution not in a dropdown"
    assert re.search(r'href="#footcite-russell1980circumplex".*<aside[^>]*id="footcite-russell1980circumplex".*'
                     r"A circumplex model of affect", page, re.DOTALL), "the chapter does not end with its references"
    index = (html / "README.html").read_text()
    assert 'href="docs/references.html#id' in index, "a plain citation does not link to the full bibliography"
    assert "custom.css" in page and "pre-wrap" in (html / "_static" / "custom.css").read_text()
    references = (html / "docs" / "references.html").read_text()
    assert "A circumplex model of affect" in references and "Sinkhorn distances" in references.replace("Distances",
                                                                                                        "distances")


@pytest.mark.notebooks
def test_html_book_carries_its_math_renderer():
    html = mini_site()
    page = (html / "notebooks" / "98_tiny.html").read_text()
    assert page.count('class="math notranslate nohighlight"') == 2, "the tiny chapter's two formulas are not math"
    assert re.search(r'<script defer="defer" src="\.\./_static/mathjax/tex-mml-chtml\.js(\?v=[0-9a-f]+)?">', page)
    assert "cdn.jsdelivr" not in page and "mathjax@3" not in page, "MathJax still comes from the web"
    assert course.math_renderer_problems(html) == []
    shipped = {p.relative_to(course.mathjax_files()) for p in course.mathjax_files().rglob("*") if p.is_file()}
    carried = {p.relative_to(html / "_static" / "mathjax") for p in (html / "_static" / "mathjax").rglob("*")
               if p.is_file()}
    assert len(shipped) > 100 and carried == shipped, "the site does not carry all of MathJax (fonts, extensions)"


def test_sphinx_hook_carries_mathjax_and_refuses_a_web_address():
    from types import SimpleNamespace

    from sphinx.errors import ConfigError

    class Config(SimpleNamespace):
        def __contains__(self, key):
            return hasattr(self, key)

    config = Config(mathjax_path="mathjax/tex-mml-chtml.js", html_static_path=["_static"])
    course.vendor_mathjax(None, config)
    assert config.html_static_path[0] == "_static"
    assert (Path(config.html_static_path[1]) / "mathjax" / "tex-mml-chtml.js").is_file()
    for bad, message in [("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", "is a web address"),
                         ("//cdn.example/tex-mml-chtml.js", "is a web address"),
                         ("mathjax/no-such-file.js", "must name a file under _static/mathjax/"),
                         ("tex-mml-chtml.js", "must name a file under _static/mathjax/")]:
        with pytest.raises(ConfigError, match=message):
            course.vendor_mathjax(None, Config(mathjax_path=bad, html_static_path=[]))
    course.vendor_mathjax(None, Config())  # another math renderer: nothing to do


def test_sphinx_hook_drops_repeated_scripts_only():
    from sphinx.builders.html._assets import _JavaScript  # noqa: PLC2701 (the hook under test handles this type)

    thebe = 'const THEBE_JS_URL = "x"'
    context = {"script_files": [_JavaScript(None, body=thebe), _JavaScript("a.js"), _JavaScript("", body=thebe),
                                _JavaScript("a.js", **{"async": "async"}), _JavaScript("a.js")]}
    course._dedupe_page_assets(None, "page", "page.html", context, None)
    assert context["script_files"] == [_JavaScript(None, body=thebe), _JavaScript("a.js"),
                                       _JavaScript("a.js", **{"async": "async"})]
