import os

import pytest
from support import ROOT


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
