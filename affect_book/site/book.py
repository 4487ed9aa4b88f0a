"""The book runner: execute the chapters in ``_toc.yml`` order with papermill, then build the HTML site.

Usage (from the repository root)::

    python -m affect_book.site.book                   # every chapter, cpu profile
    python -m affect_book.site.book --profile smoke --only 01
    python -m affect_book.site.book -p COORDINATES russell1980 --only 01
    python -m affect_book.site.book --html            # run, then build _build/html
    python -m affect_book.site.book --html-only       # build the site from the last executed copies

Executed copies go to ``_build/executed/notebooks/``. Each chapter prints one line with its wall time and adds a
timing record (profile, chapter, seconds, date, machine) to ``timings.json`` beside the executed copies; the HTML
build shows each chapter's recorded times per profile on its page (:mod:`affect_book.site.timings`). A failure
stops the run with the chapter, the failing cell and the error, and a non-zero exit status.

The runner never touches the sources: an output folder that is or contains the book's root, or lies inside
``notebooks/`` or ``docs/``, is refused. In its output folders it records every file it writes in a manifest
(``.affect_book_outputs.json``), overwrites or removes only those, and refuses to overwrite a file it did not write.
Kernels talk to the runner over IPC sockets (TCP on Windows), so a run prints one line per chapter and no kernel
transport warnings.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..interrupts import RESUME_HINTS, interrupt_status, run_command
from ..params import ParameterError, check_choice
from ..profiles import PROFILES
from .course import math_renderer_problems, prepare_html_notebook
from .outputs import OutputFolderError, OutputManifest, check_output_folder, check_tree, copy_claimed
from .timings import (MEASURED_TIMINGS, TIMINGS_FILE, inject_timing_note, machine_info, read_timings, record_timings,
                      timing_record)
from .toc import chapter_id, find_root, toc_notebooks

__all__ = ["ChapterFailed", "ChapterResult", "build_html", "check_html", "find_root", "run_book", "toc_notebooks"]

#: What the site build copies from the book's root next to the executed notebooks.
SITE_FILES = ("_toc.yml", "_config.yml", "README.md", "docs", "references.bib", "_static")
class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the message names the chapter, the cell and the error."""


@dataclass
class ChapterResult:
    """One executed chapter.

    Parameters
    ----------
    chapter : str
        The chapter number, e.g. ``"01"``.
    path : pathlib.Path
        The source notebook (``notebooks/NN_slug.ipynb``).
    output : pathlib.Path
        The executed copy.
    seconds : float
        Wall time of the execution, in seconds.
    """

    chapter: str
    path: Path
    output: Path
    seconds: float


def parse_value(text: str) -> Any:
    """Parse a ``-p NAME VALUE`` value as papermill does: None, True/False, int, float, else the string.

    Parameters
    ----------
    text : str
        The value as typed on the command line.

    Returns
    -------
    object
        ``None``, a bool, an int, a float or ``text`` itself.
    """
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
    import nbformat  # deferred: nbformat is optional (notebook extras) and slow to import

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


#: Chapters executed after all the others (in reading order otherwise): the preface, whose claim tracker reads the
#: verdicts that the later chapters write.
RUN_LAST = ("00",)


def run_book(profile: str = "cpu", only: Sequence[str] = (), parameters: dict[str, Any] | None = None,
             root: Path | None = None, out_dir: Path | None = None, kernel: str = "python3",
             log=print) -> list[ChapterResult]:
    """Execute the chapters in ``_toc.yml`` order (the chapters of :data:`RUN_LAST` after the others) and return
    their results.

    Parameters
    ----------
    profile : str, default "cpu"
        The sizes profile passed to every chapter as ``PROFILE`` (one of :data:`affect_book.profiles.PROFILES`).
    only : sequence of str, optional
        Chapter numbers (``"01"``) or notebook stems to run; default: every chapter.
    parameters : dict, optional
        Overrides passed to every selected chapter that declares them; a name no selected chapter declares is an
        error.
    root : pathlib.Path, optional
        The book's root (default: found from the working directory, see :func:`find_root`).
    out_dir : pathlib.Path, optional
        Where the executed copies go, as ``out_dir/notebooks/NN_slug.ipynb`` (default: ``<root>/_build/executed``).
        It may not be or contain the sources (see :func:`affect_book.site.outputs.check_output_folder`), and a file
        there that the runner did not write is never overwritten.
    kernel : str, default "python3"
        The Jupyter kernel name.
    log : callable, default print
        Receives one line per executed chapter (number, name, wall time).

    Returns
    -------
    list of ChapterResult
        One per executed chapter, in reading order.

    Raises
    ------
    ParameterError
        For an unknown profile, chapter or parameter name, or a chapter without a ``PROFILE`` parameter.
    affect_book.site.outputs.OutputFolderError
        For an output folder that would overwrite the sources or a file the runner did not write.
    ChapterFailed
        On the first failing chapter, naming the chapter, the cell and the error.
    """
    import papermill as pm  # deferred: papermill (dev extra) is slow to import; only running notebooks needs it

    root = Path(root or find_root()).resolve()
    out_dir = check_output_folder(out_dir or root / "_build" / "executed", root, "the executed folder")
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
    missing = [p for p in notebooks if "PROFILE" not in declared[p]]
    if missing:
        raise ParameterError(f"{missing[0]} has no PROFILE parameter; every chapter must declare one")
    manifest = OutputManifest(out_dir)
    outputs = [out_dir / path.relative_to(root) for path in notebooks]
    timings = out_dir / TIMINGS_FILE
    for output in (*outputs, timings):  # refuse before executing anything
        manifest.check(output)
    machine = machine_info()
    results = []
    # the preface (chapter 00) reports what the other chapters computed (the claim tracker): it runs after them,
    # so a whole-book run shows this run's verdicts; the results keep the reading order
    order = sorted(range(len(notebooks)), key=lambda i: chapter_id(notebooks[i]) in RUN_LAST)
    for path, output in ((notebooks[i], outputs[i]) for i in order):
        chapter = chapter_id(path)
        params = {"PROFILE": profile, **{k: v for k, v in parameters.items() if k in declared[path]}}
        manifest.claim(output)
        # papermill writes its copy as the cells run: into a hidden file, renamed once the chapter ends, so an
        # interrupted chapter leaves no partial copy as if complete (the previous executed copy stays)
        running = manifest.claim(output.with_name(f".{output.stem}.running{output.suffix}"))
        # what the kernel process (and the workers it starts) writes outside the notebook: kept, never on the
        # runner's console (libzmq can abort a kernel at exit after the chapter is saved, printing an assertion)
        kernel_log = manifest.claim(output.with_name(f"{output.stem}{KERNEL_LOG_SUFFIX}"))
        output.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            _execute(path, running, params, kernel, kernel_log)
        except Exception as err:  # papermill raises PapermillExecutionError with the cell and the error
            if running.is_file():  # the failed copy, with papermill's error banner, for inspection
                os.replace(running, output)
            raise ChapterFailed(_failure_message(chapter, output, err) + _kernel_log_tail(kernel_log)) from err
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): not a chapter's copy
            running.unlink(missing_ok=True)
            _kernel_log_note(kernel_log)  # an empty log goes; what the kernel said as it was stopped stays
            raise
        os.replace(running, output)
        seconds = time.perf_counter() - start
        manifest.claim(timings)
        record_timings(timings, [timing_record(profile, chapter, path.stem, seconds, machine)])
        log(f"chapter {chapter}  {path.stem:<28} ok  {seconds:7.1f} s{_kernel_log_note(kernel_log)}")
        results.append(ChapterResult(chapter, path, output, seconds))
    reading = {path: i for i, path in enumerate(notebooks)}
    return sorted(results, key=lambda r: reading[r.path])


#: The suffix of the file beside an executed copy that holds what its kernel process wrote to its own stdout and
#: stderr (not the cells' output, which the notebook keeps); removed when empty.
KERNEL_LOG_SUFFIX = ".kernel.log"


def _kernel_log_note(kernel_log: Path) -> str:
    """The chapter line's note on its kernel log: empty (and the log removed) when the kernel wrote nothing."""
    if not kernel_log.is_file() or kernel_log.stat().st_size == 0:
        kernel_log.unlink(missing_ok=True)
        return ""
    lines = len(kernel_log.read_text(errors="replace").splitlines())
    return f"  (the kernel process wrote {lines} line(s) outside the notebook: {kernel_log})"


def _kernel_log_tail(kernel_log: Path, lines: int = 20) -> str:
    """The last lines of a failed chapter's kernel log, for its error message (a kernel that crashed says why
    there); empty when the kernel wrote nothing."""
    if not kernel_log.is_file() or kernel_log.stat().st_size == 0:
        return ""
    tail = kernel_log.read_text(errors="replace").splitlines()[-lines:]
    return f"\nthe kernel process wrote (last {len(tail)} line(s) of {kernel_log}):\n" + "\n".join(tail)


def _kernel_manager_class(kernel_log: Path | None = None):
    """Jupyter's kernel manager, except that

    - the kernel process's own stdout and stderr go to ``kernel_log`` (appended) instead of the runner's console;
    - once the runner is interrupted (Ctrl-C, SIGTERM) it kills the kernel's process group at once (the kernel and
      what it started, such as a grid's workers) instead of asking a kernel busy in a cell to shut down, which makes
      it print tracebacks and wait seconds;
    - otherwise it asks the kernel to shut down without interrupting it first. jupyter_client sends SIGINT before
      every shutdown request; a chapter that ran to its end (or stopped at a failing cell) has nothing to interrupt,
      and a signal landing while ipykernel still finishes a message makes it log "KeyboardInterrupt caught in
      kernel." to its console, a kernel log for a quiet chapter (seen under load). A kernel that does not exit
      within ``shutdown_wait_time`` is killed, as before."""
    from jupyter_client.manager import AsyncKernelManager  # deferred: optional (comes with papermill), only to run

    class RunnerKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if kernel_log is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(kernel_log, "ab") as sink:  # the child keeps its own copy of the descriptor
                return await super()._async_launch_kernel(kernel_cmd, **{**kw, "stdout": sink, "stderr": sink})

        async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            if not self.owns_kernel or restart:
                return await super()._async_shutdown_kernel(now=now, restart=restart)
            self.shutting_down = True
            self.stop_restarter()
            if now or interrupt_status() is not None:
                await self._async_kill_kernel()
            else:
                await self._async_request_shutdown()
                await self._async_finish_shutdown()  # waits shutdown_wait_time, then kills
            await self._async_cleanup_resources()

        shutdown_kernel = _async_shutdown_kernel

    return RunnerKernelManager


def _execute(path: Path, output: Path, params: dict[str, Any], kernel: str, kernel_log: Path | None = None) -> None:
    """Execute one notebook with papermill, the kernel on IPC sockets in a private temporary folder and its process's
    own output in ``kernel_log`` (see :func:`_kernel_manager_class`).

    Over TCP, ipykernel prints a warning that the connection is unencrypted for every chapter; IPC sockets are
    files only the user can reach, so the warning does not apply (Windows has no IPC transport: TCP there).
    """
    import papermill as pm  # deferred: papermill (dev extra) is slow to import; only running notebooks needs it
    from traitlets.config import Config  # deferred: optional (comes with papermill), only to run

    # The kernel inherits the environment: a runner started from a JupyterLab kernel would otherwise pass on the
    # variable that makes affect_book.site.widgets.live_front_end() show live widgets; executed copies get static
    # figures.
    previous = os.environ.get("AFFECT_BOOK_INTERACTIVE")
    os.environ["AFFECT_BOOK_INTERACTIVE"] = "0"
    try:
        with tempfile.TemporaryDirectory(prefix="affect-book-kernel-") as sockets:
            config = Config()
            if kernel_log is not None:
                kernel_log.write_bytes(b"")  # this run's log only
            config.NotebookClient.kernel_manager_class = _kernel_manager_class(kernel_log)
            if sys.platform != "win32":
                config.KernelManager.transport = "ipc"
                config.KernelManager.ip = os.path.join(sockets, "kernel")
            pm.execute_notebook(str(path), str(output), parameters=params, kernel_name=kernel,
                                cwd=str(path.parent), progress_bar=False, log_output=False, config=config)
    finally:
        if previous is None:
            os.environ.pop("AFFECT_BOOK_INTERACTIVE", None)
        else:
            os.environ["AFFECT_BOOK_INTERACTIVE"] = previous
    # For the HTML book: papermill's injected-parameters cell removed, solutions behind a toggle (cell tags only).
    prepare_html_notebook(output)


#: What a Python traceback leaves in rendered HTML (IPython's header line; myst-nb's error output class).
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'class="output traceback')


def check_html(html_dir: Path) -> None:
    """Raise if any page of the built site contains a Python traceback or cannot render its formulas offline.

    Parameters
    ----------
    html_dir : pathlib.Path
        The built site; every ``*.html`` below it is read, except the source listings under ``_modules/``.

    Raises
    ------
    RuntimeError
        Naming every page that shows a traceback, or whose math renderer is missing or on the web
        (:func:`affect_book.site.course.math_renderer_problems`).
    """
    bad = []
    for page in sorted(Path(html_dir).rglob("*.html")):
        if page.relative_to(html_dir).parts[0] == "_modules":
            continue  # viewcode's highlighted source listings: the runner's own source names the markers
        text = page.read_text(errors="replace")
        if any(marker in text for marker in TRACEBACK_MARKERS):
            bad.append(str(page))
    if bad:
        raise RuntimeError(f"the built book shows a Python traceback in: {', '.join(bad)}")
    math = math_renderer_problems(html_dir)
    if math:
        raise RuntimeError("the built book cannot render its formulas offline:\n" + "\n".join(math))


def build_html(root: Path | None = None, executed_dir: Path | None = None, html_dir: Path | None = None) -> Path:
    """Build the Jupyter Book site offline from the executed notebooks; check it for tracebacks.

    The site files (``_toc.yml``, ``_config.yml``, ``README.md``, ``docs/``) are copied next to the executed
    notebooks, each executed chapter gets a note with its recorded run times per profile (read from
    ``executed_dir/timings.json``, :func:`affect_book.site.timings.inject_timing_note`), Jupyter Book builds into
    ``executed_dir/_build``, and the HTML is copied to ``html_dir``. In both folders only files the runner wrote
    earlier (its manifest) are overwritten or removed.

    Parameters
    ----------
    root : pathlib.Path, optional
        The book's root (default: found from the working directory, see :func:`find_root`).
    executed_dir : pathlib.Path, optional
        The executed copies (default: ``<root>/_build/executed``), as written by :func:`run_book`.
    html_dir : pathlib.Path, optional
        Where the site goes (default: ``<root>/_build/html``).

    Returns
    -------
    pathlib.Path
        ``html_dir``, holding ``index.html``.

    Raises
    ------
    OutputFolderError
        When a folder is or contains the sources (see :func:`check_output_folder`), the two folders overlap, or a
        file the runner did not write is in the way.
    FileNotFoundError
        When a chapter has no executed copy.
    RuntimeError
        When Jupyter Book fails or a page shows a Python traceback.
    """
    root = Path(root or find_root()).resolve()
    executed_dir = check_output_folder(executed_dir or root / "_build" / "executed", root, "the executed folder")
    html_dir = check_output_folder(html_dir or root / "_build" / "html", root, "the HTML folder")
    if html_dir == executed_dir or executed_dir in html_dir.parents or html_dir in executed_dir.parents:
        raise OutputFolderError(f"the HTML folder {html_dir} and the executed copies' folder {executed_dir} "
                                f"overlap; choose separate folders")
    missing = [p for p in toc_notebooks(root) if not (executed_dir / p.relative_to(root)).is_file()]
    if missing:
        raise FileNotFoundError(f"no executed copy of {[p.name for p in missing]} under {executed_dir}; "
                                f"run the book first (python -m affect_book.site.book)")
    manifest = OutputManifest(executed_dir)
    sources = [name for name in SITE_FILES if (root / name).exists()]
    for name in sources:  # refuse before writing anything
        check_tree(root / name, executed_dir / name, manifest)
    manifest.check(executed_dir / "_build")
    for name in sources:
        written = copy_claimed(root / name, executed_dir / name, manifest)
        manifest.remove_stale(name, keep=written)
    fresh = read_timings(executed_dir / TIMINGS_FILE)  # this build's runs win over the committed measurements
    seen = {(r["profile"], r["chapter"]) for r in fresh}
    records = fresh + [r for r in read_timings(MEASURED_TIMINGS) if (r["profile"], r["chapter"]) not in seen]
    for path in toc_notebooks(root):  # each executed chapter shows its recorded times per profile
        copy = executed_dir / path.relative_to(root)
        if copy.is_file() and manifest.owns(copy):
            inject_timing_note(copy, records, chapter_id(path))
    manifest.claim(executed_dir / "_build")  # Jupyter Book's own output tree
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(executed_dir), "--path-output",
           str(executed_dir), "--keep-going"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    built = executed_dir / "_build" / "html"
    if proc.returncode != 0 or not built.is_dir():
        raise RuntimeError(f"jupyter-book build failed ({' '.join(cmd)}):\n{proc.stdout[-3000:]}\n"
                           f"{proc.stderr[-3000:]}")
    site = OutputManifest(html_dir)
    check_tree(built, html_dir, site)
    site.remove_stale("", keep=copy_claimed(built, html_dir, site))
    check_html(html_dir)
    return html_dir


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m affect_book.site.book`` command (also ``affect-book book``).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``); ``--help`` lists them.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when a chapter, a parameter or an output folder is at fault, 130 after
        Ctrl-C (143 after SIGTERM; the interrupted chapter's kernel is shut down and no partial executed copy is
        left; the training runs finished so far are loaded from the cache by the next run).
    """
    parser = argparse.ArgumentParser(prog="python -m affect_book.site.book", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", help=f"one of {list(PROFILES)} (default: cpu)")
    parser.add_argument("--only", action="append", default=[], metavar="NN",
                        help="run only this chapter (number or notebook name); repeatable")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a notebook parameter, as papermill's -p")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    parser.add_argument("--root", type=Path, default=None, help="the book's root (default: found from cwd)")
    parser.add_argument("--out", type=Path, default=None,
                        help="executed copies (default: _build/executed); not the book's folder, a folder above it, "
                             "or one inside notebooks/ or docs/")
    parser.add_argument("--html", action="store_true", help="build the HTML site after running")
    parser.add_argument("--html-only", action="store_true", help="build the HTML site from existing executed copies")
    args = parser.parse_args(argv)
    return run_command("affect-book book", RESUME_HINTS["book"], lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    """``main`` after parsing, without the interrupt handling."""
    try:
        root = args.root.resolve() if args.root else find_root()
        out = check_output_folder(args.out if args.out else root / "_build" / "executed", root, "--out")
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
