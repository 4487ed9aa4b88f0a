"""The book runner: smoke execution of every chapter, parameters, failures, and the HTML site."""

import textwrap
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from affect_book import book

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [p.stem for p in book.toc_notebooks(ROOT)]


@pytest.mark.notebooks
@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_runs_in_smoke_profile(smoke_book, stem):
    assert smoke_book["error"] is None, smoke_book["error"]
    executed = smoke_book["out"] / "notebooks" / f"{stem}.ipynb"
    nb = nbformat.read(executed, as_version=4)
    assert nb.metadata.papermill.parameters["PROFILE"] == "smoke"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.notebooks
def test_html_book_builds_offline_without_tracebacks(smoke_book, tmp_path):
    assert smoke_book["error"] is None, smoke_book["error"]
    html = book.build_html(ROOT, smoke_book["out"], tmp_path / "html")
    page = (html / "notebooks" / "01_circumplex.html").read_text()
    assert page.count("<img") >= 3, "chapter 01's figures are missing from its page"
    assert "va_distance_cost" in (html / "docs" / "api.html").read_text(), "autodoc API page is empty"
    assert (html / "index.html").is_file()


def test_check_html_catches_a_traceback(tmp_path):
    (tmp_path / "ok.html").write_text("<p>fine</p>")
    book.check_html(tmp_path)
    (tmp_path / "bad.html").write_text("<pre>Traceback (most recent call last):\n  ValueError</pre>")
    with pytest.raises(RuntimeError, match="bad.html"):
        book.check_html(tmp_path)


@pytest.mark.notebooks
def test_misspelled_parameter_value_fails_with_valid_values(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(ROOT / "notebooks" / "01_circumplex.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters={"PROFILE": "smoke", "COORDINATES": "russel1980"}, kernel_name="python3",
                            progress_bar=False)
    assert err.value.ename == "ParameterError"
    assert "'russell1977', 'russell1980'" in err.value.evalue and "Did you mean 'russell1980'" in err.value.evalue
    assert err.value.cell_index <= 3, "the check must fail in the first cells"


def test_runner_rejects_unknown_names_and_chapters():
    with pytest.raises(book.ParameterError, match="COORDINATE.*not declared.*COORDINATES"):
        book.run_book("smoke", only=["01"], parameters={"COORDINATE": "russell1980"}, root=ROOT)
    with pytest.raises(book.ParameterError, match="no such chapter"):
        book.run_book("smoke", only=["99"], root=ROOT)
    with pytest.raises(book.ParameterError, match="PROFILE='fast'"):
        book.run_book("fast", root=ROOT)


@pytest.mark.notebooks
def test_runner_reports_chapter_cell_and_error(tmp_path):
    """A failing chapter stops the run with the chapter, the cell's source and the error."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("ratio = x / 0  # the failing line")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "98_broken.ipynb")
    nbformat.write(nb, tmp_path / "notebooks" / "99_never.ipynb")
    (tmp_path / "_toc.yml").write_text(textwrap.dedent("""\
        format: jb-book
        root: intro
        chapters:
          - file: notebooks/98_broken
          - file: notebooks/99_never
        """))
    lines = []
    with pytest.raises(book.ChapterFailed) as err:
        book.run_book("smoke", root=tmp_path, log=lines.append)
    msg = str(err.value)
    assert "chapter 98" in msg and "code cell 3" in msg and "x / 0" in msg and "ZeroDivisionError" in msg
    assert not (tmp_path / "_build" / "executed" / "notebooks" / "99_never.ipynb").exists(), "the run must stop"
    assert lines == []


def test_parse_value_like_papermill():
    assert book.parse_value("3") == 3 and book.parse_value("0.5") == 0.5
    assert book.parse_value("None") is None and book.parse_value("True") is True
    assert book.parse_value("russell1980") == "russell1980"


def test_cli_help_and_unknown_command(capsys):
    from affect_book.cli import main

    assert main(["--help"]) == 0 and "book" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
