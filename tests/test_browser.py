"""The book as a reader sees it, in headless Chromium: the HTML book's pages and the chapters opened in JupyterLab.

Runs when Chromium is installed (Debian: ``apt-get install chromium``; ``.ci/run`` installs it), else skips saying so.
Screenshots go to ``_build/screenshots/html/`` and ``_build/screenshots/lab/``.

- HTML: the smoke-profile book (the session's ``smoke_book`` run, or the executed copies in ``$AFFECT_BOOK_EXECUTED``
  to skip the run) is built offline and every page of ``_toc.yml`` is loaded; a missing image, a link to a local file
  that does not exist, or a JavaScript error/exception/failed local load fails the page. External hosts are made
  unreachable on purpose; what a page fetched from them is reported as a warning, not hidden.
- JupyterLab: a server on 127.0.0.1 (random free port, no token) opens each chapter; its title must render.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import nbformat
import pytest
import yaml
from course_site import ROOT, SITE_EXTRA
from headless import Browser

from affect_book import book
from affect_book.course import prepare_html_notebook

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "_build" / "screenshots"

pytestmark = [
    pytest.mark.notebooks,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Chromium not found, browser checks skipped: enable them with "
                              "`apt-get install chromium chromium-driver` (Debian; `.ci/run` does it in CI)"),
]


def toc_pages(root: Path) -> list[str]:
    """Every page of ``_toc.yml`` (root, chapters, sections), as paths without suffix, in reading order."""
    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    yield os.path.splitext(node[key])[0] if node[key].endswith((".md", ".ipynb", ".py")) \
                        else node[key]
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    yield from walk(child)
    return list(walk(yaml.safe_load((root / "_toc.yml").read_text())))


PAGES = toc_pages(ROOT)
CHAPTERS = [p.stem for p in book.toc_notebooks(ROOT)]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chrome = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield chrome
    chrome.close()


@pytest.fixture(scope="module")
def html_site(request, tmp_path_factory):
    """The smoke book's HTML site, built offline from a copy of the executed chapters."""
    given = os.environ.get("AFFECT_BOOK_EXECUTED")
    if given:
        source = Path(given)
    else:
        smoke = request.getfixturevalue("smoke_book")
        assert smoke["error"] is None, smoke["error"]
        source = smoke["out"]
    executed = tmp_path_factory.mktemp("browser-executed")
    shutil.copytree(source / "notebooks", executed / "notebooks")
    for path in (executed / "notebooks").glob("*.ipynb"):
        prepare_html_notebook(path)
    with pytest.MonkeyPatch.context() as patch:  # until book.SITE_FILES lists the course layer's files itself
        patch.setattr(book, "SITE_FILES", tuple(dict.fromkeys((*book.SITE_FILES, *SITE_EXTRA))))
        return book.build_html(ROOT, executed, tmp_path_factory.mktemp("browser-html") / "html")


def local_path(url: str) -> Path | None:
    """The file a ``file://`` URL points to (fragment and query dropped), or None for any other URL."""
    parts = urllib.parse.urlsplit(url)
    return Path(urllib.parse.unquote(parts.path)) if parts.scheme == "file" else None


def is_local(url: str) -> bool:
    return not url or url.startswith(("file:", "data:", "blob:", "about:"))


#: A 1x1 transparent PNG.
PNG_1PX = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

PAGE_REPORT = """(() => ({
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, loaded: i.complete,
                                                 width: i.naturalWidth})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  assets: Array.from(document.querySelectorAll('link[href], script[src]')).map(e => e.href || e.src),
}))()"""


def check_page(browser: Browser, path: Path, screenshot: Path | None = None) -> tuple[list[str], list[str]]:
    """Load a built page; return (failures, external resources it could not load)."""
    problems = browser.load(path.as_uri())
    report = browser.evaluate(PAGE_REPORT)
    if screenshot is not None:
        browser.screenshot(screenshot)
    failures = [f"JavaScript {p['kind']}: {p['text']} {p['url']}".strip() for p in problems if is_local(p["url"])]
    external = [f"{p['kind']}: {p['text']} {p['url']}" for p in problems if not is_local(p["url"])]
    for image in report["images"]:
        target = local_path(image["src"])
        if target is not None and not target.is_file():
            failures.append(f"missing image: {image['src']}")
        elif is_local(image["src"]) and image["loaded"] and image["width"] == 0:
            failures.append(f"image does not decode: {image['src'][:120]}")
        elif not is_local(image["src"]):
            external.append(f"external image: {image['src']}")
    for url in report["links"] + report["assets"]:
        target = local_path(url)
        if target is not None and not (target.is_file() or (target / "index.html").is_file()):
            failures.append(f"broken internal link: {urllib.parse.unquote(url)}")
    return sorted(set(failures)), sorted(set(external))


def test_page_check_catches_missing_image_broken_link_and_javascript_errors(browser, tmp_path):
    (tmp_path / "there.png").write_bytes(PNG_1PX)
    (tmp_path / "good.html").write_text('<p><img src="there.png"><a href="good.html#top">self</a></p>')
    assert check_page(browser, tmp_path / "good.html") == ([], [])
    (tmp_path / "bad.html").write_text(
        '<img src="missing.png"><a href="nowhere.html">x</a><link rel="stylesheet" href="gone.css">'
        '<script>console.error("boom")</script><script>notAFunction()</script>'
        '<img src="https://example.org/remote.png">')
    failures, external = check_page(browser, tmp_path / "bad.html")
    text = "\n".join(failures)
    for expected in ("missing image: file://", "broken internal link: file://", "nowhere.html", "gone.css",
                     "JavaScript console: boom", "JavaScript exception: ReferenceError: notAFunction"):
        assert expected in text, f"{expected!r} not reported in:\n{text}"
    assert any("example.org/remote.png" in line for line in external)


@pytest.mark.parametrize("page", PAGES)
def test_html_page_renders_without_errors(html_site, browser, page):
    path = html_site / f"{page}.html"
    if page == PAGES[0] and not path.is_file():
        path = html_site / "index.html"
    assert path.is_file(), f"{page}: no page {path.relative_to(html_site)} in the built site"
    failures, external = check_page(browser, path, SCREENSHOTS / "html" / f"{page.replace('/', '_')}.png")
    if external:
        warnings.warn(f"{page}: {len(external)} external resource(s) not loaded (offline by design): "
                      + "; ".join(external[:5]), stacklevel=1)
    assert not failures, f"{page}:\n" + "\n".join(failures)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a copy of the chapters, without token or password; yields its URL."""
    port, state = free_port(), tmp_path_factory.mktemp("lab-state")
    served = state / "book"  # a copy: an autosave by JupyterLab must never rewrite the chapters' sources
    shutil.copytree(ROOT / "notebooks", served / "notebooks")
    shutil.copy2(ROOT / "jupytext.toml", served / "jupytext.toml")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.port_retries=0", "--ServerApp.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", "--allow-root", f"--ServerApp.root_dir={served}",
           f"--LabApp.workspaces_dir={state / 'workspaces'}", f"--LabApp.user_settings_dir={state / 'settings'}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    news = state / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "get notified about Jupyter news?" toast over the screenshots
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(state / "runtime"), "PYTHONWARNINGS": "ignore"}
    log = (state / "server.log").open("w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=served)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{(state / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield base
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


def chapter_title(stem: str) -> str:
    """The first heading of a chapter's first markdown cell, as the reader should see it."""
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    return next(line.lstrip("#").strip() for line in first.source.splitlines() if line.startswith("#"))


def shut_down_kernels(base: str) -> None:
    """Stop the kernels the opened notebooks started (keeps the 2-core CI machine free)."""
    for session in json.load(urllib.request.urlopen(f"{base}/api/sessions", timeout=10)):
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_jupyterlab_renders_chapter_title(lab, browser, stem):
    title = chapter_title(stem)
    browser.load(f"{lab}/lab/tree/notebooks/{stem}.ipynb?reset", settle=0)
    shown = browser.poll("Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-RenderedMarkdown h1'))"
                         ".map(h => h.textContent).join('\\n')", timeout=90)
    browser.screenshot(SCREENSHOTS / "lab" / f"{stem}.png")
    shut_down_kernels(lab)
    assert title in (shown or ""), f"{stem}: JupyterLab shows headings {shown!r}, expected the title {title!r}"
