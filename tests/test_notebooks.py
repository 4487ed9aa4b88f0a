"""The book's invariants: paired notebooks, one parameters cell of literals, the table of contents, no outputs."""

import ast

import jupytext
import nbformat
import pytest
from support import ROOT

from affect_book.site.book import toc_notebooks

SOURCES = sorted((ROOT / "notebooks").glob("*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cells(nb):
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells]


def test_there_are_chapters():
    assert [p.stem for p in SOURCES][:2] == ["00_preface", "01_circumplex"]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_py_and_ipynb_are_paired_with_identical_cells(src):
    nb_path = src.with_suffix(".ipynb")
    assert nb_path.is_file(), f"{src.name} has no paired {nb_path.name} (run: jupytext --sync {src})"
    assert _cells(jupytext.read(src)) == _cells(jupytext.read(nb_path)), \
        f"{src.name} and {nb_path.name} differ (run: jupytext --sync {src})"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_ipynb_has_a_py_source(nb_path):
    assert nb_path.with_suffix(".py").is_file()


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exactly_one_parameters_cell_of_literals(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{nb_path.name}: expected one cell tagged 'parameters', found {len(cells)}"
    assert cells[0].cell_type == "code"
    names = []
    for stmt in ast.parse(cells[0].source).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name), \
            f"{nb_path.name}: the parameters cell may only hold NAME = literal lines, found {ast.unparse(stmt)!r}"
        ast.literal_eval(stmt.value)  # raises on anything but a literal
        names.append(stmt.targets[0].id)
    assert "PROFILE" in names and len(names) == len(set(names))
    assert all(n.isupper() for n in names), "parameters are UPPER_CASE"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_toc_lists_every_notebook_in_order():
    listed = toc_notebooks(ROOT)
    assert sorted(listed) == NOTEBOOKS, "every notebook must be in _toc.yml and every _toc.yml entry must exist"
    assert listed == sorted(listed), "chapters appear in _toc.yml in their numbered order"


def test_golden_notebooks_match_their_sources():
    """A golden notebook must be regenerated (make golden) when its chapter's code changes."""
    for golden in sorted((ROOT / "tests" / "golden").glob("*.ipynb")):
        src = nbformat.read(ROOT / "notebooks" / golden.name, as_version=4)
        gold = nbformat.read(golden, as_version=4)
        kept = [c for c in gold.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        assert _cells(src) == _cells(nbformat.from_dict({"cells": kept, "metadata": {}, "nbformat": 4,
                                                         "nbformat_minor": 5})), \
            f"{golden.name} is stale: run make golden and review the diff"
        checked = [c for c in kept if "# NBVAL_CHECK_OUTPUT" in c.source]
        assert checked and all(c.outputs for c in checked), f"{golden.name} stores no golden output"
