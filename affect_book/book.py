"""The book runner: execute the chapters in ``_toc.yml`` order with papermill, then build the HTML site.

Usage (from the repository root)::

    python -m affect_book.book                        # every chapter, cpu profile
    python -m affect_book.book --profile smoke --only 01
    python -m affect_book.book -p COORDINATES russell1980 --only 01
    python -m affect_book.book --html                 # run, then build _build/html
    python -m affect_book.book --html-only            # build the site from the last executed copies

Executed copies go to ``_build/executed/notebooks/``. Each chapter prints one line with its wall time; a failure
stops the run with the chapter, the failing cell and the error, and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from .params import ParameterError, check_choice
from .profiles import PROFILES

__all__ = ["ChapterFailed", "build_html", "check_html", "find_root", "run_book", "toc_notebooks"]

SITE_FILES = ("_toc.yml", "_config.yml", "README.md", "docs")


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the message names the chapter, the cell and the error."""


@dataclass
class ChapterResult:
    chapter: str
    path: Path
    output: Path
    seconds: float


def find_root(start: Path | None = None) -> Path:
    """The book's root: the nearest folder at or above ``start`` (default: cwd) holding ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(f"no _toc.yml at or above {here}; run from the book's repository")


def _toc_files(node: Any) -> list[str]:
    files: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                files.append(node[key])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                files.extend(_toc_files(child))
    return files


def toc_notebooks(root: Path) -> list[Path]:
    """Notebooks listed in ``_toc.yml`` under ``notebooks/``, in reading order (paths to the ``.ipynb``)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    out = []
    for entry in _toc_files(toc):
        entry = re.sub(r"\.(ipynb|py|md)$", "", entry)
        if entry.startswith("notebooks/"):
            path = root / f"{entry}.ipynb"
            if not path.is_file():
                raise FileNotFoundError(f"_toc.yml lists {entry!r} but {path} does not exist")
            out.append(path)
    return out


def chapter_id(path: Path) -> str:
    """``notebooks/01_circumplex.ipynb`` -> ``01``."""
    return path.stem.split("_", 1)[0]


def parse_value(text: str) -> Any:
    """Parse a ``-p NAME VALUE`` value as papermill does: None, True/False, int, float, else the string."""
    if text in ("None", "null"):
        return None
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _failure_message(chapter: str, output: Path, err: Exception) -> str:
    import nbformat

    exec_count = getattr(err, "exec_count", None)
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    source, where = "", "an unknown cell"
    if exec_count is not None and output.is_file():
        # papermill adds cells (injected parameters, an error banner) to the executed copy, so find the failing
        # cell by its execution count and report its position among the chapter's own code cells
        nb = nbformat.read(output, as_version=4)
        own = [c for c in nb.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
        for number, cell in enumerate(own, start=1):
            if cell.get("execution_count") == exec_count:
                where = f"code cell {number} [In {exec_count}]"
                lines = cell.source.splitlines()
                source = "\n".join("    " + line for line in lines[:12]) + ("\n    ..." if len(lines) > 12 else "")
                break
    return (f"chapter {chapter} failed at {where} (executed copy: {output})\n{source}\n"
            f"{ename}: {evalue}").rstrip()


def run_book(profile: str = "cpu", only: Sequence[str] = (), parameters: dict[str, Any] | None = None,
             root: Path | None = None, out_dir: Path | None = None, kernel: str = "python3",
             log=print) -> list[ChapterResult]:
    """Execute the chapters in ``_toc.yml`` order and return their results.

    ``only``: chapter numbers ("01") or notebook stems to run; ``parameters``: overrides passed to every chapter
    that declares them (a name no selected chapter declares is an error). ``PROFILE`` is always passed.
    Raises :class:`ChapterFailed` on the first failing chapter.
    """
    import papermill as pm

    root = root or find_root()
    out_dir = out_dir or root / "_build" / "executed"
    check_choice("PROFILE", profile, PROFILES)
    parameters = dict(parameters or {})
    notebooks = toc_notebooks(root)
    if only:
        wanted = set(only)
        selected = [p for p in notebooks if chapter_id(p) in wanted or p.stem in wanted]
        unknown = wanted - {chapter_id(p) for p in selected} - {p.stem for p in selected}
        if unknown:
            raise ParameterError(f"--only {sorted(unknown)}: no such chapter; expected one of "
                                 f"{[chapter_id(p) for p in notebooks]}")
        notebooks = selected
    declared = {p: set(pm.inspect_notebook(str(p))) for p in notebooks}
    for name in parameters:
        if not any(name in names for names in declared.values()):
            valid = sorted(set().union(*declared.values()))
            raise ParameterError(f"parameter {name!r} is not declared by any selected chapter; "
                                 f"expected one of: {', '.join(valid)}")
    results = []
    for path in notebooks:
        chapter = chapter_id(path)
        if "PROFILE" not in declared[path]:
            raise ParameterError(f"{path} has no PROFILE parameter; every chapter must declare one")
        params = {"PROFILE": profile, **{k: v for k, v in parameters.items() if k in declared[path]}}
        output = out_dir / path.relative_to(root)
        output.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            pm.execute_notebook(str(path), str(output), parameters=params, kernel_name=kernel,
                                cwd=str(path.parent), progress_bar=False, log_output=False)
        except Exception as err:  # papermill raises PapermillExecutionError with the cell and the error
            raise ChapterFailed(_failure_message(chapter, output, err)) from err
        seconds = time.perf_counter() - start
        log(f"chapter {chapter}  {path.stem:<28} ok  {seconds:7.1f} s")
        results.append(ChapterResult(chapter, path, output, seconds))
    return results


#: What a Python traceback leaves in rendered HTML (IPython's header line; myst-nb's error output class).
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'class="output traceback')


def check_html(html_dir: Path) -> None:
    """Raise if any page of the built site contains a Python traceback."""
    bad = []
    for page in sorted(Path(html_dir).rglob("*.html")):
        text = page.read_text(errors="replace")
        if any(marker in text for marker in TRACEBACK_MARKERS):
            bad.append(str(page))
    if bad:
        raise RuntimeError(f"the built book shows a Python traceback in: {', '.join(bad)}")


def build_html(root: Path | None = None, executed_dir: Path | None = None, html_dir: Path | None = None) -> Path:
    """Build the Jupyter Book site offline from the executed notebooks into ``_build/html``; check for tracebacks."""
    root = root or find_root()
    executed_dir = executed_dir or root / "_build" / "executed"
    html_dir = html_dir or root / "_build" / "html"
    missing = [p for p in toc_notebooks(root) if not (executed_dir / p.relative_to(root)).is_file()]
    if missing:
        raise FileNotFoundError(f"no executed copy of {[p.name for p in missing]} under {executed_dir}; "
                                f"run the book first (python -m affect_book.book)")
    for name in SITE_FILES:
        src, dst = root / name, executed_dir / name
        if src.is_dir():
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)
        elif src.is_file():
            shutil.copy2(src, dst)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(executed_dir), "--path-output",
           str(executed_dir), "--keep-going"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    built = executed_dir / "_build" / "html"
    if proc.returncode != 0 or not built.is_dir():
        raise RuntimeError(f"jupyter-book build failed ({' '.join(cmd)}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    shutil.rmtree(html_dir, ignore_errors=True)
    shutil.copytree(built, html_dir)
    check_html(html_dir)
    return html_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m affect_book.book", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", help=f"one of {list(PROFILES)} (default: cpu)")
    parser.add_argument("--only", action="append", default=[], metavar="NN",
                        help="run only this chapter (number or notebook name); repeatable")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a notebook parameter, as papermill's -p")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    parser.add_argument("--root", type=Path, default=None, help="the book's root (default: found from cwd)")
    parser.add_argument("--out", type=Path, default=None, help="executed copies (default: _build/executed)")
    parser.add_argument("--html", action="store_true", help="build the HTML site after running")
    parser.add_argument("--html-only", action="store_true", help="build the HTML site from existing executed copies")
    args = parser.parse_args(argv)
    root = args.root.resolve() if args.root else find_root()
    out = args.out.resolve() if args.out else root / "_build" / "executed"
    try:
        if not args.html_only:
            params = {name: parse_value(value) for name, value in args.parameter}
            print(f"Running the book: profile {args.profile!r}, kernel {args.kernel!r}, executed copies in {out}")
            start = time.perf_counter()
            results = run_book(args.profile, args.only, params, root, out, args.kernel)
            print(f"{len(results)} chapter(s) ran in {time.perf_counter() - start:.1f} s")
        if args.html or args.html_only:
            html = build_html(root, out)
            print(f"HTML book built: {html / 'index.html'}")
    except (ChapterFailed, ParameterError, FileNotFoundError, RuntimeError) as err:
        print(f"\nERROR: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
