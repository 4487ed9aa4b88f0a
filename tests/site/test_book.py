"""The book runner: smoke execution of every chapter, parameters, failures, and the HTML site."""

import re
import textwrap
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from support import ROOT

from affect_book.site import book

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
def test_html_book_builds_offline_without_tracebacks(smoke_html):
    html = smoke_html  # build_html checked every page for tracebacks
    page = (html / "notebooks" / "01_circumplex.html").read_text()
    assert page.count("<img") >= 3, "chapter 01's figures are missing from its page"
    api = (html / "docs" / "api.html").read_text()
    assert ".. py:" not in api, "autodoc's directives are shown as text (they need an eval-rst block in MyST)"
    assert api.count('class="sig sig-object py"') >= 100, "the API page documents too few objects"
    # the API reference shows the numpydoc sections (napoleon): Parameters and Returns of run_book as field lists
    entry = api[api.index('id="affect_book.site.book.run_book"'):]
    entry = entry[:entry.index('id="affect_book.', 1)]  # up to the next documented object
    assert re.search(r'class="field-list[^"]*".*?>\s*Parameters', entry, re.S), "no Parameters field list"
    assert re.search(r">\s*Returns", entry) and "out_dir" in entry
    assert (html / "index.html").is_file()
    # A chapter with formulas loads MathJax from the site (Sphinx loads it only where there are formulas); none from a
    # CDN. check_html has checked every page's renderer too.
    for stem in CHAPTERS:
        text = (html / "notebooks" / f"{stem}.html").read_text()
        has_math = 'class="math notranslate' in text
        assert has_math == ('src="../_static/mathjax/tex-mml-chtml.js' in text), f"{stem}: formulas {has_math}, " \
            f"but {'no' if has_math else 'a'} local MathJax script"
        assert "mathjax@" not in text.lower(), f"{stem}: loads MathJax from a CDN"
    for stem in ("04_optimal_transport", "05_multitask_model"):  # display formulas in their prose
        assert 'class="math notranslate' in (html / "notebooks" / f"{stem}.html").read_text(), f"{stem}: no formula"
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


def test_check_html_catches_a_traceback(tmp_path):
    (tmp_path / "ok.html").write_text("<p>fine</p>")
    book.check_html(tmp_path)
    (tmp_path / "_modules").mkdir()  # viewcode's source listings may quote the marker
    (tmp_path / "_modules" / "book.html").write_text('MARKERS = ("Traceback (most recent call last)",)')
    book.check_html(tmp_path)
    (tmp_path / "bad.html").write_text("<pre>Traceback (most recent call last):\n  ValueError</pre>")
    with pytest.raises(RuntimeError, match="bad.html"):
        book.check_html(tmp_path)


def test_check_html_catches_formulas_without_a_local_math_renderer(tmp_path):
    math = '<span class="math notranslate nohighlight">\\(x\\)</span>'
    (tmp_path / "_static" / "mathjax").mkdir(parents=True)
    (tmp_path / "_static" / "mathjax" / "tex-mml-chtml.js").write_text("// MathJax")
    (tmp_path / "sub").mkdir()
    renderer = '<script defer src="../_static/mathjax/tex-mml-chtml.js?v=1"></script>'
    (tmp_path / "sub" / "ok.html").write_text(renderer + math)
    (tmp_path / "plain.html").write_text("<p>no formula, no renderer</p>")
    book.check_html(tmp_path)
    (tmp_path / "bare.html").write_text(math)
    with pytest.raises(RuntimeError, match="bare.html: has formulas but loads no MathJax script"):
        book.check_html(tmp_path)
    (tmp_path / "bare.html").write_text(f'<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js">'
                                        f'</script>{math}')
    with pytest.raises(RuntimeError, match=r"bare.html: loads its math renderer from the web \(https://cdn"):
        book.check_html(tmp_path)
    (tmp_path / "bare.html").unlink()
    (tmp_path / "_static" / "mathjax" / "tex-mml-chtml.js").unlink()
    with pytest.raises(RuntimeError, match=r"sub/ok.html: its math renderer .* is not a file of the site \(expected "
                                           r"_static/mathjax/tex-mml-chtml.js\)"):
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


# --- the runner never destroys files (issue 9, point 19); each test reproduces a failure seen on main -----------

SOURCES = ("_toc.yml", "_config.yml", "README.md", "docs", "notebooks")


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture
def book_copy(tmp_path):
    """A copy of the book's sources (the runner must leave every byte of it as it was)."""
    import shutil

    copy = tmp_path / "book"
    copy.mkdir()
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, copy / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            shutil.copy2(src, copy / name)
    return copy


def test_html_only_into_the_book_root_is_refused_and_changes_nothing(book_copy, capsys):
    """On main, `--html-only --out .` deleted docs/ (rmtree of the copy's destination, which was its source)."""
    before = _snapshot(book_copy)
    assert book.main(["--root", str(book_copy), "--html-only", "--out", str(book_copy)]) == 1
    assert "is or contains the book's root" in capsys.readouterr().err
    assert _snapshot(book_copy) == before


def test_out_dot_is_refused_before_any_chapter_runs(book_copy, monkeypatch, capsys):
    """On main, `--out .` overwrote the committed notebooks/01_circumplex.ipynb with an executed copy."""
    before = _snapshot(book_copy)
    monkeypatch.chdir(book_copy)
    assert book.main(["--profile", "smoke", "--only", "01", "--out", "."]) == 1
    captured = capsys.readouterr()
    assert "is or contains the book's root" in captured.err and "chapter 01" not in captured.out
    assert _snapshot(book_copy) == before


@pytest.mark.parametrize("where", [".", "..", "notebooks", "notebooks/executed", "docs/site"])
def test_output_folders_holding_or_inside_the_sources_are_refused(book_copy, where):
    with pytest.raises(book.OutputFolderError, match="book's root|inside the book's sources"):
        book.check_output_folder(book_copy / where, book_copy)
    with pytest.raises(book.OutputFolderError):
        book.run_book("smoke", only=["00"], root=book_copy, out_dir=book_copy / where)
    with pytest.raises(book.OutputFolderError):
        book.build_html(book_copy, executed_dir=book_copy / "_build" / "executed", html_dir=book_copy / where)


def test_separate_output_folders_are_accepted(book_copy, tmp_path):
    assert book.check_output_folder(book_copy / "_build" / "executed", book_copy) == book_copy / "_build/executed"
    assert book.check_output_folder(tmp_path / "elsewhere", book_copy) == tmp_path / "elsewhere"


def test_html_only_into_a_readers_folder_keeps_the_readers_files(book_copy, tmp_path, capsys):
    """On main, `--html-only --out DIR` deleted DIR/docs and overwrote DIR's README.md, _toc.yml and _config.yml."""
    import shutil

    mine = tmp_path / "mine"
    shutil.copytree(book_copy / "notebooks", mine / "notebooks")  # stand-ins for executed copies
    (mine / "docs").mkdir()
    (mine / "docs" / "notes.md").write_text("my notes")
    for name in ("README.md", "_toc.yml", "_config.yml"):
        (mine / name).write_text(f"my {name}")
    before = _snapshot(mine)
    assert book.main(["--root", str(book_copy), "--html-only", "--out", str(mine)]) == 1
    assert "was not written by the book runner" in capsys.readouterr().err
    assert _snapshot(mine) == before, "a refused build must leave the folder as it was"


def test_manifest_overwrites_and_removes_only_the_runners_files(tmp_path):
    from affect_book.site.outputs import MANIFEST, OutputManifest, copy_claimed

    src, out = tmp_path / "src", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "a.md").write_text("a1")
    (src / "sub" / "b.md").write_text("b1")
    (out / "docs").mkdir(parents=True)
    (out / "docs" / "readers.md").write_text("the reader's own file")
    manifest = OutputManifest(out)
    assert copy_claimed(src, out / "docs", manifest) == {"docs/a.md", "docs/sub/b.md"}
    # a second run (a new manifest object, as in a new process) overwrites its own files and removes stale ones
    (src / "a.md").write_text("a2")
    (src / "sub" / "b.md").unlink()
    again = OutputManifest(out)
    assert again.files == {"docs/a.md", "docs/sub/b.md"}
    written = copy_claimed(src, out / "docs", again)
    assert again.remove_stale("docs", keep=written) == ["docs/sub/b.md"]
    assert (out / "docs" / "a.md").read_text() == "a2" and not (out / "docs" / "sub" / "b.md").exists()
    assert (out / "docs" / "readers.md").read_text() == "the reader's own file"
    assert (out / MANIFEST).is_file()
    # a file of the reader's in the way stops the copy before anything is written
    (src / "readers.md").write_text("would overwrite")
    (src / "a.md").write_text("a3")
    with pytest.raises(book.OutputFolderError, match="readers.md.*not written by the book runner"):
        copy_claimed(src, out / "docs", OutputManifest(out))
    assert (out / "docs" / "a.md").read_text() == "a2"
    assert (out / "docs" / "readers.md").read_text() == "the reader's own file"


def test_a_corrupt_manifest_is_named(tmp_path):
    from affect_book.site.outputs import MANIFEST, OutputManifest

    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(book.OutputFolderError, match=MANIFEST):
        OutputManifest(tmp_path)


@pytest.mark.notebooks
def test_tiny_book_runs_builds_twice_and_prints_one_line_per_chapter(tmp_path, capfd):
    """End to end on a one-chapter book: the console shows one line per chapter and no kernel warnings (issue 14,
    point 8: over TCP every kernel printed an "unencrypted" warning); a rerun overwrites the runner's own files
    and keeps a file the reader put in the site folder. Without the API page, which takes most of a build (autodoc
    and viewcode, about 60 s); the smoke book's site checks it (test_html_book_builds_offline_without_tracebacks)."""
    import shutil

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(PROFILE)")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "97_tiny.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: README\nchapters:\n  - file: notebooks/97_tiny\n")
    (tmp_path / "README.md").write_text("# A tiny book\n")
    shutil.copy2(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    before = _snapshot(tmp_path)
    assert book.main(["--root", str(tmp_path), "--profile", "smoke", "--html"]) == 0
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("chapter")] == [lines[1]] and "97_tiny" in lines[1]
    assert len(lines) == 4 and lines[0].startswith("Running the book") and lines[3].startswith("HTML book built")
    assert err == "", f"the run printed to stderr:\n{err}"
    html = tmp_path / "_build" / "html"
    # the chapter's page shows the time the runner recorded for it (issue 14, point 6)
    from affect_book.site.timings import TIMINGS_FILE, format_seconds, read_timings

    (record,) = read_timings(tmp_path / "_build" / "executed" / TIMINGS_FILE)
    page = (html / "notebooks" / "97_tiny.html").read_text()
    assert "Measured run time of this chapter" in page
    assert f"<td><p>{format_seconds(record['seconds'])}</p></td>" in page
    (html / "readers_notes.txt").write_text("mine")
    assert book.main(["--root", str(tmp_path), "--profile", "smoke", "--only", "97", "--html"]) == 0  # a rerun
    assert (html / "readers_notes.txt").read_text() == "mine" and (html / "index.html").is_file()
    assert {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith("_build/")} == before


@pytest.mark.notebooks
def test_the_kernel_process_console_goes_to_a_log_beside_the_copy(tmp_path, capfd):
    """What a kernel process writes to its own console (libzmq's assertion when it aborts at exit, a crashing
    library) goes to NN_slug.kernel.log beside the executed copy, never to the runner's console: the chapter line
    names the log and its line count, a failing chapter's error shows its tail, an empty log is removed."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}

    def chapter(*code):
        nb = nbformat.v4.new_notebook(metadata=meta)
        nb.cells = [nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                    *(nbformat.v4.new_code_cell(c) for c in code)]
        nbformat.write(nb, tmp_path / "notebooks" / "01_noisy.ipynb")

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: README\nchapters:\n  - file: notebooks/01_noisy\n")
    # file descriptor 2 is the kernel process's own stderr (where ipykernel captures it, it echoes it there too)
    console = "import os\nos.write(2, b'first console line\\nsecond console line\\n')"
    chapter(console)
    out_dir = tmp_path / "out"
    lines = []
    book.run_book("smoke", root=tmp_path, out_dir=out_dir, log=lines.append)
    log = out_dir / "notebooks" / "01_noisy.kernel.log"
    assert "first console line\nsecond console line" in log.read_text()
    assert len(lines) == 1 and f"wrote {len(log.read_text().splitlines())} line(s)" in lines[0] and str(log) in lines[0]
    chapter(console, "raise ValueError('broken on purpose')")
    with pytest.raises(book.ChapterFailed, match=r"(?s)broken on purpose.*kernel process wrote.*second console line"):
        book.run_book("smoke", root=tmp_path, out_dir=out_dir, log=lines.append)
    chapter("print('quiet')")
    book.run_book("smoke", root=tmp_path, out_dir=out_dir, log=lines.append)
    assert not log.exists() and "kernel" not in lines[-1]
    out, err = capfd.readouterr()
    assert "console line" not in out + err


@pytest.mark.notebooks
def test_a_chapter_that_ends_is_shut_down_without_an_interrupt(tmp_path):
    """jupyter_client interrupts a kernel (SIGINT) before asking it to shut down; when the signal lands while the
    kernel is still finishing a message, ipykernel logs "KeyboardInterrupt caught in kernel." to its console, and
    a quiet chapter's line then reports a kernel log (seen in CI under load). A chapter that ran to its end has an
    idle kernel: the runner asks it to shut down without the signal. Here the kernel reports every SIGINT it gets
    on its console, so the old shutdown leaves a log every time, not only under load."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nb = nbformat.v4.new_notebook(metadata=meta)
    # ipykernel sets its own SIGINT handler around each message and restores the previous one afterwards
    # (pre_handler_hook / post_handler_hook): the reporting handler is put back after every message
    trap = ("import os, signal\n"
            "def _report(*_):\n"
            "    os.write(2, b'the kernel got SIGINT\\n')\n"
            "kernel = get_ipython().kernel\n"
            "kernel.post_handler_hook = lambda: signal.signal(signal.SIGINT, _report)")
    nb.cells = [nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(trap), nbformat.v4.new_code_cell("print('quiet')")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "01_quiet.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: README\nchapters:\n  - file: notebooks/01_quiet\n")
    lines = []
    book.run_book("smoke", root=tmp_path, out_dir=tmp_path / "out", log=lines.append)
    log = tmp_path / "out" / "notebooks" / "01_quiet.kernel.log"
    assert not log.exists(), log.read_text()
    assert len(lines) == 1 and "kernel" not in lines[0]


@pytest.mark.notebooks
def test_the_preface_runs_after_the_chapters_it_reports_on(tmp_path):
    """Chapter 00's claim tracker reads what later chapters write: the runner executes it last, and still returns
    (and the site shows) the chapters in reading order."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    marker = tmp_path / "verdict.txt"
    pre = nbformat.v4.new_notebook(metadata=meta)
    pre.cells = [nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                 nbformat.v4.new_code_cell(f"assert open({str(marker)!r}).read() == 'written by 01'")]
    later = nbformat.v4.new_notebook(metadata=meta)
    later.cells = [nbformat.v4.new_code_cell('PROFILE = "cpu"', metadata={"tags": ["parameters"]}),
                   nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').write('written by 01')")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(pre, tmp_path / "notebooks" / "00_preface.ipynb")
    nbformat.write(later, tmp_path / "notebooks" / "01_later.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: README\nchapters:\n  - file: notebooks/00_preface\n"
                                       "  - file: notebooks/01_later\n")
    lines = []
    results = book.run_book("smoke", root=tmp_path, out_dir=tmp_path / "out", log=lines.append)
    assert [r.chapter for r in results] == ["00", "01"]
    assert lines[0].startswith("chapter 01") and lines[1].startswith("chapter 00")
