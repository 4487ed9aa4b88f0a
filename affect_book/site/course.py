"""The course layer: exercise census, student copies without solutions, and the HTML copies' cell tags.

Usage (from the repository root)::

    python -m affect_book.site.course --out _build/student     # what `make student` runs

Exercise convention
-------------------
A chapter's exercises are marked by cell tags in its percent-format source (``notebooks/NN_slug.py``), so that
they can be counted, hidden and stripped by code rather than by hand:

- **An exercise** is a *markdown* cell tagged ``exercise`` plus exactly one kind tag: ``predict`` (the reader
  writes a prediction, then a cell computes the answer), ``conceptual``, ``computational`` or ``open-ended``.
  Its first non-empty line names it (``**3.** Which pair does dominance separate the most?``)::

      # %% [markdown] tags=["exercise", "computational"]

- **Its worked solution** is one or more cells tagged ``solution`` that follow the exercise cell, before the next
  exercise cell. Code solutions are executed with the chapter (so they cannot rot); a markdown solution holds a
  written answer. Add ``jupyter={"source_hidden": true}`` to a solution cell so that JupyterLab shows it
  collapsed::

      # %% tags=["solution"] jupyter={"source_hidden": true}

- **A chapter meets the course's bar** (:func:`missing_exercises`) with at least :data:`MIN_EXERCISES`
  exercises, at least :data:`REQUIRED_KINDS` of each kind, and a solution for every exercise.

What the tooling does with the tags
-----------------------------------
- **Student copies** (:func:`make_student_copies`): the first code cell of each exercise's solution becomes
  ``raise NotImplementedError("exercise: <the exercise's first line>")``; every other solution cell is dropped,
  and a markdown-only solution becomes a note asking for the reader's answer. Outputs are cleared. The instructor
  copy (``notebooks/``) stays the source: student copies are generated, never edited.
- **HTML copies** (:func:`prepare_html_notebook`, called on each executed copy before Jupyter Book builds it):
  papermill's injected-parameters cell is tagged ``remove-cell`` (:func:`tag_injected_parameters`), code solution
  cells are tagged ``hide-cell`` (shown behind a toggle) and markdown solution cells are wrapped in a
  ``{dropdown}`` directive (:func:`hide_solutions`).
- **Sphinx extension**: listed in ``_config.yml``, this module also removes repeated script tags from every page
  (see ``_dedupe_page_assets``), so the pages load without a JavaScript error, and makes the site carry its own
  math renderer (:mod:`affect_book.site.mathjax`, see :func:`mathjax_files`): ``mathjax_path`` must name a file under
  ``_static/mathjax/``, and the MathJax files of the installed ``sphinx-mathjax-offline`` package are copied there
  at build time, so every formula renders with no network. :func:`math_renderer_problems` checks a built site for it.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .mathjax import MATHJAX_DISTRIBUTION, MATHJAX_IN_DISTRIBUTION, MATHJAX_STATIC  # noqa: F401 (re-exported)
from .mathjax import math_renderer_problems, mathjax_files, vendor_mathjax
from .toc import find_root, toc_notebooks

__all__ = ["EXERCISE_KINDS", "MIN_EXERCISES", "REQUIRED_KINDS", "exercise_census", "first_line", "hide_solutions",
           "make_student_copies", "make_student_notebook", "math_renderer_problems", "mathjax_files",
           "missing_exercises", "prepare_html_notebook", "run_student_copy", "tag_injected_parameters"]

#: The kind tags an exercise cell carries (exactly one each).
EXERCISE_KINDS = ("predict", "conceptual", "computational", "open-ended")
#: The least number of exercises of each kind a chapter must have (issue 14: one predict-then-check, one
#: conceptual, two computational, one open-ended).
REQUIRED_KINDS = {"predict": 1, "conceptual": 1, "computational": 2, "open-ended": 1}
#: The least number of exercises a chapter must have.
MIN_EXERCISES = 5

EXERCISE_TAG, SOLUTION_TAG = "exercise", "solution"
STUB_PREFIX = "exercise: "
STUDENT_NOTE = "*Your answer here.* (The worked answer is in the instructor's copy of this chapter.)"


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _read(notebook: Any) -> tuple[Any, str]:
    """A notebook node and a name for messages, from a path or an already loaded notebook."""
    import nbformat  # deferred: nbformat is optional (notebook extras) and slow to import

    if isinstance(notebook, (str, Path)):
        path = Path(notebook)
        if not path.is_file():
            raise FileNotFoundError(f"no notebook at {path}")
        return nbformat.read(path, as_version=4), str(path)
    if not hasattr(notebook, "cells"):
        raise TypeError(f"expected a notebook path or an nbformat notebook, got {type(notebook).__name__}")
    return notebook, "<notebook>"


def _exercise_kind(cell: Any, index: int, where: str) -> str:
    kinds = [t for t in _tags(cell) if t in EXERCISE_KINDS]
    if cell.cell_type != "markdown" or len(kinds) != 1:
        raise ValueError(f"{where}, cell {index}: an exercise must be a markdown cell tagged 'exercise' and exactly "
                         f"one of {list(EXERCISE_KINDS)}; found a {cell.cell_type} cell tagged {_tags(cell)}")
    return kinds[0]


def _exercises(nb: Any, where: str) -> list[dict[str, Any]]:
    """Each exercise: its cell index, kind, first line and the indices of its solution cells."""
    found: list[dict[str, Any]] = []
    for index, cell in enumerate(nb.cells):
        tags = _tags(cell)
        if EXERCISE_TAG in tags:
            found.append({"index": index, "kind": _exercise_kind(cell, index, where),
                          "title": first_line(cell.source), "solutions": []})
        elif SOLUTION_TAG in tags:
            if not found:
                raise ValueError(f"{where}, cell {index}: a cell tagged 'solution' comes before any cell tagged "
                                 f"'exercise'; a solution must follow its exercise")
            found[-1]["solutions"].append(index)
    return found


def first_line(markdown: str, width: int = 100) -> str:
    """The first non-empty line of a markdown text, without heading marks, bold marks or bullets: an exercise's name.

    Parameters
    ----------
    markdown : str
        The exercise cell's source.
    width : int
        Longest result; a longer line is cut and ends with "...".

    Returns
    -------
    str
        The line, or "(untitled exercise)" for an empty cell.
    """
    for line in markdown.splitlines():
        line = re.sub(r"^\s*(#+\s*|[-*]\s+)", "", line)
        line = re.sub(r"\*\*|__", "", line).strip()
        if line:
            return line if len(line) <= width else line[: width - 3].rstrip() + "..."
    return "(untitled exercise)"


def exercise_census(notebook: Any) -> dict[str, int]:
    """Count a chapter's exercises by kind, from the cell tags described in the module docstring.

    Parameters
    ----------
    notebook : str, Path or nbformat.NotebookNode
        The chapter (``.ipynb`` path, or a notebook already read).

    Returns
    -------
    dict
        One count per kind of :data:`EXERCISE_KINDS`, and ``total`` (exercises), ``solved`` (exercises with at
        least one solution cell), ``solutions`` (solution cells) and ``uncollapsed`` (solution cells without
        ``jupyter.source_hidden``, which JupyterLab would show expanded).

    Raises
    ------
    ValueError
        An exercise cell that is not markdown or does not carry exactly one kind tag, or a solution cell before any
        exercise; the message names the notebook and the cell.
    """
    nb, where = _read(notebook)
    exercises = _exercises(nb, where)
    census = {kind: 0 for kind in EXERCISE_KINDS}
    for exercise in exercises:
        census[exercise["kind"]] += 1
    solution_cells = [nb.cells[i] for ex in exercises for i in ex["solutions"]]
    census.update(total=len(exercises), solved=sum(bool(ex["solutions"]) for ex in exercises),
                  solutions=len(solution_cells),
                  uncollapsed=sum(not c.metadata.get("jupyter", {}).get("source_hidden", False)
                                  for c in solution_cells))
    return census


def missing_exercises(census: dict[str, int]) -> list[str]:
    """What a chapter lacks to meet the course's bar; an empty list when it meets it.

    Parameters
    ----------
    census : dict
        The result of :func:`exercise_census`.

    Returns
    -------
    list of str
        One readable line per shortfall (too few exercises, too few of a kind, exercises without a solution).
    """
    lacking = []
    if census["total"] < MIN_EXERCISES:
        lacking.append(f"{census['total']} exercise(s), at least {MIN_EXERCISES} expected")
    for kind, least in REQUIRED_KINDS.items():
        if census[kind] < least:
            lacking.append(f"{census[kind]} '{kind}' exercise(s), at least {least} expected")
    if census["solved"] < census["total"]:
        lacking.append(f"{census['total'] - census['solved']} exercise(s) without a cell tagged 'solution'")
    return lacking


def make_student_notebook(notebook: Any) -> Any:
    """The student copy of one chapter: solutions replaced by stubs, outputs cleared.

    Parameters
    ----------
    notebook : str, Path or nbformat.NotebookNode
        The instructor copy (not modified).

    Returns
    -------
    nbformat.NotebookNode
        A new notebook. For each exercise, the first code solution cell becomes a code cell
        ``raise NotImplementedError("exercise: <the exercise's first line>")`` and the other solution cells are
        dropped; an exercise whose solutions are all markdown gets a markdown note asking for the reader's answer.
        No cell of the result is tagged ``solution``.
    """
    import nbformat  # deferred: nbformat is optional (notebook extras) and slow to import

    nb, where = _read(notebook)
    nb = copy.deepcopy(nb)
    replacement: dict[int, Any] = {}
    for exercise in _exercises(nb, where):
        cells = [nb.cells[i] for i in exercise["solutions"]]
        if not cells:
            continue
        message = STUB_PREFIX + exercise["title"]
        if any(c.cell_type == "code" for c in cells):
            stub = nbformat.v4.new_code_cell(f"# Your solution here.\nraise NotImplementedError({message!r})",
                                             metadata={"tags": ["exercise-stub"]})
        else:
            stub = nbformat.v4.new_markdown_cell(STUDENT_NOTE, metadata={"tags": ["exercise-stub"]})
        replacement[exercise["solutions"][0]] = stub
        replacement.update({i: None for i in exercise["solutions"][1:]})
    out = []
    for index, cell in enumerate(nb.cells):
        cell = replacement.get(index, cell)
        if cell is None:
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        out.append(cell)
    nb.cells = out
    nb.metadata.pop("papermill", None)
    return nb


def make_student_copies(root: Path | str | None = None, out_dir: Path | str | None = None) -> list[Path]:
    """Write the student copy of every chapter in ``_toc.yml`` to ``out_dir/notebooks/*.ipynb``.

    Parameters
    ----------
    root : Path or str, optional
        The book's root (the folder of ``_toc.yml``); default: found from the working directory.
    out_dir : Path or str, optional
        Where to write; default ``<root>/_build/student``.

    Returns
    -------
    list of Path
        The student notebooks written, in reading order.
    """
    import nbformat  # deferred: nbformat is optional (notebook extras) and slow to import

    root = Path(root).resolve() if root is not None else find_root()
    out_dir = Path(out_dir) if out_dir is not None else root / "_build" / "student"
    written = []
    for path in toc_notebooks(root):
        target = out_dir / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_student_notebook(path), target)
        written.append(target)
    return written


def run_student_copy(path: Path | str, output: Path | str, parameters: dict[str, Any] | None = None,
                     kernel: str = "python3") -> str | None:
    """Execute a student copy with papermill until its first exercise stub.

    Parameters
    ----------
    path, output : Path or str
        The student notebook and where to write its executed copy.
    parameters : dict, optional
        Papermill parameters (e.g. ``{"PROFILE": "smoke"}``).
    kernel : str
        Jupyter kernel name.

    Returns
    -------
    str or None
        The stub's message (``"exercise: ..."``) when execution stopped at a stub; None when the notebook ran to its
        end (a chapter whose exercises are all written answers).

    Raises
    ------
    papermill.PapermillExecutionError
        Any other error: the copy does not run up to its first stub.
    """
    import papermill as pm  # deferred: papermill (dev extra) is slow to import; only running notebooks needs it

    try:
        pm.execute_notebook(str(path), str(output), parameters=parameters or {}, kernel_name=kernel,
                            cwd=str(Path(path).parent), progress_bar=False, log_output=False)
    except pm.PapermillExecutionError as err:
        if err.ename == "NotImplementedError" and err.evalue.startswith(STUB_PREFIX):
            return err.evalue
        raise
    return None


def tag_injected_parameters(nb: Any) -> int:
    """Tag papermill's injected-parameters cell ``remove-cell`` so the HTML book does not show it.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed copy; modified in place.

    Returns
    -------
    int
        The number of cells newly tagged (0 or 1; 0 when papermill injected nothing or it was tagged already).
    """
    tagged = 0
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            tagged += 1
    return tagged


def _dropdown(markdown: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", markdown)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{dropdown}} Solution\n{markdown}\n{fence}"


def hide_solutions(nb: Any) -> int:
    """Put every solution cell behind a toggle in the HTML book.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed chapter, changed in place.

    Returns
    -------
    int
        The number of solution cells changed: code cells get the ``hide-cell`` tag (myst-nb's show/hide toggle),
        markdown cells are wrapped in a ``{dropdown}`` directive titled "Solution" (sphinx-design).
    """
    changed = 0
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if SOLUTION_TAG not in tags:
            continue
        if cell.cell_type == "code" and "hide-cell" not in tags:
            tags.append("hide-cell")
            changed += 1
        elif cell.cell_type == "markdown" and "{dropdown}" not in cell.source.split("\n", 1)[0]:
            cell.source = _dropdown(cell.source)
            changed += 1
    return changed


def prepare_html_notebook(path: Path | str) -> int:
    """Prepare one executed copy for the HTML build, in place: :func:`tag_injected_parameters`, :func:`hide_solutions`.

    Parameters
    ----------
    path : Path or str
        An executed ``.ipynb`` (rewritten only when something changed).

    Returns
    -------
    int
        The number of cells changed.
    """
    import nbformat  # deferred: nbformat is optional (notebook extras) and slow to import

    nb, _ = _read(path)
    changed = tag_injected_parameters(nb) + hide_solutions(nb)
    if changed:
        nbformat.write(nb, path)
    return changed


def _dedupe_page_assets(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop repeated script and stylesheet entries from a page (Jupyter Book 1 registers sphinx-thebe's inline
    ``const THEBE_JS_URL`` script twice, which the browser rejects with a SyntaxError on every page)."""
    for key in ("script_files", "css_files"):
        files = context.get(key)
        if not isinstance(files, list):
            continue
        seen, kept = set(), []
        for item in files:
            # the same script may be registered with filename None and "" (Sphinx 7): treat them alike
            ident = (getattr(item, "filename", str(item)) or "", repr(sorted(getattr(item, "attributes", {}).items())))
            if ident not in seen:
                seen.add(ident)
                kept.append(item)
        context[key] = kept


def setup(app: Any) -> dict[str, Any]:
    """Sphinx extension entry point (``sphinx: extra_extensions: [affect_book.site.course]`` in ``_config.yml``).

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.

    Returns
    -------
    dict
        Sphinx's extension metadata (safe for parallel reading and writing).
    """
    app.connect("html-page-context", _dedupe_page_assets)
    app.connect("config-inited", vendor_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of ``python -m affect_book.site.course``: write the student copies; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m affect_book.site.course",
                                     description="Write the student copies of the book's chapters.")
    parser.add_argument("--root", type=Path, default=None, help="the book's root (default: found from cwd)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: _build/student)")
    args = parser.parse_args(argv)
    try:
        written = make_student_copies(args.root, args.out)
    except (FileNotFoundError, ValueError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    for path in written:
        stubs = sum("exercise-stub" in _tags(cell) for cell in _read(path)[0].cells)
        print(f"student copy: {path} ({stubs} exercise stub(s))")
    print(f"{len(written)} student notebook(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
