"""Test helpers for the course layer: a tiny chapter with exercises, and a small HTML site built from it."""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat

from support import ROOT
#: What the site build needs from the repository besides the notebooks (book.SITE_FILES plus the course layer's).
SITE_EXTRA = ("references.bib", "_static")

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def tiny_chapter() -> nbformat.NotebookNode:
    """A chapter with a parameters cell, a citation, two formulas, one exercise of each kind and their solutions."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

    def solution():
        return {"tags": ["solution"], "jupyter": {"source_hidden": True}}

    cells = [
        md("# 98 · A tiny chapter\n\nThe circumplex {footcite:p}`russell1980circumplex`, an angle "
           "$\\theta = \\operatorname{atan2}(a, v)$ and a formula of its own:\n\n"
           "$$\\mathbb{E}[\\ell] = -\\sum_i p_i \\log q_i$$"),
        code('PROFILE = "cpu"  # a long comment that runs far past the width of the code box, to be wrapped by '
             'the book\'s custom CSS rather than scrolled off the right edge of the page',
             metadata={"tags": ["parameters"]}),
        code("import math\nresult = math.sqrt(2)\nprint(f'profile {PROFILE}: {result:.3f}')"),
        md("**1.** Predict, then check: is `sqrt(2) > 1.4`?", metadata={"tags": ["exercise", "predict"]}),
        code("print(math.sqrt(2) > 1.4)  # SOLUTION-ONE", metadata=solution()),
        md("**2.** Why is a uniform cost a confidence penalty?", metadata={"tags": ["exercise", "conceptual"]}),
        md("Because `1 - p_y` rewards a peaked prediction. SOLUTION-TWO", metadata=solution()),
        md("**3.** Compute `2 ** 10`.", metadata={"tags": ["exercise", "computational"]}),
        code("print(2 ** 10)  # SOLUTION-THREE", metadata=solution()),
        code("assert 2 ** 10 == 1024  # SOLUTION-THREE-CHECK", metadata=solution()),
        md("**4.** Compute `3 ** 3`.", metadata={"tags": ["exercise", "computational"]}),
        code("print(3 ** 3)  # SOLUTION-FOUR", metadata=solution()),
        md("**5.** What else would you try?", metadata={"tags": ["exercise", "open-ended"]}),
        md("Anything. SOLUTION-FIVE", metadata={"tags": ["solution"]}),
        md("## Next\n\nThe end.\n\n## References\n\n```{footbibliography}\n```"),
    ]
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC})


def copy_site_files(root: Path, target: Path, names: tuple[str, ...]) -> None:
    for name in names:
        src, dst = root / name, target / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


@functools.lru_cache(maxsize=1)
def mini_site() -> Path:
    """Build, once per test session, a small site: the repository's config, README, docs, bibliography and CSS,
    and the tiny chapter executed by papermill (injected parameters) and prepared for HTML. Returns the html dir."""
    import papermill as pm

    from affect_book.site.course import prepare_html_notebook

    work = Path(tempfile.mkdtemp(prefix="affect-book-minisite-"))
    atexit.register(shutil.rmtree, work, True)
    copy_site_files(ROOT, work, ("_config.yml", "docs", *SITE_EXTRA))
    (work / "README.md").write_text("# A mini book\n\nOptimal transport after {cite:t}`cuturi2013sinkhorn`.\n")
    (work / "notebooks").mkdir()
    source = work / "notebooks" / "98_tiny.source.ipynb"
    nbformat.write(tiny_chapter(), source)
    executed = work / "notebooks" / "98_tiny.ipynb"
    pm.execute_notebook(str(source), str(executed), parameters={"PROFILE": "smoke"}, kernel_name="python3",
                        progress_bar=False, log_output=False)
    source.unlink()
    prepare_html_notebook(executed)
    (work / "_toc.yml").write_text(textwrap.dedent("""\
        format: jb-book
        root: README
        chapters:
          - file: notebooks/98_tiny
          - file: docs/references
        """))
    exe = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(exe), "build", str(work), "--path-output", str(work), "--keep-going"],
                          check=False, capture_output=True, text=True)
    html = work / "_build" / "html"
    if proc.returncode != 0 or not html.is_dir():
        raise RuntimeError(f"jupyter-book build of the mini site failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return html
