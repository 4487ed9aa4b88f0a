import os

import pytest
from support import ROOT


# The test files that use the session's smoke book (``smoke_book`` below): under pytest-xdist they run on one process,
# which builds the book once; the student copies (test_course.py) find its runs and data in that process's cache.
SMOKE_BOOK_FILES = ("tests/site/test_book.py", "tests/site/test_browser.py", "tests/site/test_course.py")


def pytest_configure(config):
    """Under pytest-xdist (``-n``, on in pyproject's addopts) each test process and the kernels and workers it starts
    use one thread, so two processes on two cores do not oversubscribe them (set before torch is imported)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` (pyproject's addopts), with the files in ``SMOKE_BOOK_FILES`` as one unit.

    A file runs on one process: its module fixtures are built once and a golden notebook's cells run in order in one
    kernel. (pytest-xdist's ``xdist_group`` marks would say the same, but pytest-xdist 3.8 renames ``item._nodeid``,
    which pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SmokeBookWithItsFiles(LoadFileScheduling):
        def _split_scope(self, nodeid):
            scope = super()._split_scope(nodeid)
            return "smoke_book" if scope in SMOKE_BOOK_FILES else scope

    return SmokeBookWithItsFiles(config, log)


def pytest_collection_modifyitems(items):
    """The golden notebooks that nbval executes (tests/golden/*.ipynb) carry the ``notebooks`` marker, so
    ``-m "not notebooks"`` (and ``make test-fast``) leaves them out like the other notebook runs."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the tests' cached results out of the reader's cache."""
    old = os.environ.get("AFFECT_BOOK_CACHE")
    os.environ["AFFECT_BOOK_CACHE"] = str(tmp_path_factory.mktemp("affect_book_cache"))
    yield
    if old is None:
        os.environ.pop("AFFECT_BOOK_CACHE", None)
    else:
        os.environ["AFFECT_BOOK_CACHE"] = old


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """Every chapter of _toc.yml executed once in the smoke profile (shared by the execution and HTML tests)."""
    from affect_book.site.book import ChapterFailed, run_book

    out = tmp_path_factory.mktemp("executed")
    try:
        results = run_book("smoke", root=ROOT, out_dir=out, log=lambda line: None)
    except ChapterFailed as err:  # report it on every test that needs the book, with the chapter and cell
        return {"error": str(err), "out": out, "results": []}
    return {"error": None, "out": out, "results": results}


@pytest.fixture(scope="session")
def smoke_html(smoke_book, tmp_path_factory):
    """The smoke book's HTML site, built once (Jupyter Book, offline) for the HTML and the browser tests: a build
    takes about 100 s on one CI core, most of it the API page (autodoc and viewcode's source pages)."""
    from affect_book.site.book import build_html

    assert smoke_book["error"] is None, smoke_book["error"]
    return build_html(ROOT, smoke_book["out"], tmp_path_factory.mktemp("smoke-html") / "html")
