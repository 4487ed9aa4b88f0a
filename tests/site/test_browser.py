"""The book as a reader sees it, in headless Chromium: the HTML book's pages and the chapters opened in JupyterLab.

Runs when Chromium is installed (Debian: ``apt-get install chromium``; ``.ci/run`` installs it), else skips saying so.
Screenshots go to ``_build/screenshots/html/`` and ``_build/screenshots/lab/``.

- HTML: the smoke-profile book (the session's ``smoke_book`` run, or the executed copies in ``$AFFECT_BOOK_EXECUTED``
  to skip the run) is built offline and every page of ``_toc.yml`` is loaded with the network blocked in Chromium
  (``headless.py``); a missing image, a link to a local file that does not exist, a JavaScript error/exception/failed
  local load, or a formula MathJax did not typeset (MathJax not loaded, a formula left as TeX, a TeX error, an
  undefined macro, a math font that did not load) fails the page. What a page tried to fetch from other hosts is
  reported as a warning, not hidden.
- JupyterLab: a server on 127.0.0.1 (random free port, a random token, XSRF checks on) opens each chapter; its title
  must render.

Chromium runs sandboxed where the machine allows it; as root (CI) it cannot, and each module warns so. It is driven
over DevTools pipes (``headless.py``) and listens on no port.
"""

from __future__ import annotations

import base64
import json
import http.cookiejar
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import nbformat
import pytest
import yaml
from support import ROOT
from support.headless import Browser

from affect_book.site import book
from affect_book.site.course import mathjax_files, prepare_html_notebook

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
#: Pages whose prose holds display formulas, each to show at least one typeset (Sphinx loads MathJax on pages with
#: formulas and on the root page, whose table of contents holds them; where it is loaded, every formula must typeset).
FORMULA_PAGES = ["notebooks/04_optimal_transport", "notebooks/05_multitask_model"]
CHAPTERS = [p.stem for p in book.toc_notebooks(ROOT)]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chrome = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    if not chrome.sandboxed:
        warnings.warn(f"Chromium runs without its sandbox: {chrome.sandbox_note}", stacklevel=1)
    yield chrome
    chrome.close()


@pytest.fixture(scope="module")
def html_site(request, tmp_path_factory):
    """The smoke book's HTML site (the session's, built once), or one built offline from a copy of the executed
    chapters in ``AFFECT_BOOK_EXECUTED``."""
    given = os.environ.get("AFFECT_BOOK_EXECUTED")
    if not given:
        return request.getfixturevalue("smoke_html")
    source = Path(given)
    executed = tmp_path_factory.mktemp("browser-executed")
    shutil.copytree(source / "notebooks", executed / "notebooks")
    for path in (executed / "notebooks").glob("*.ipynb"):  # AFFECT_BOOK_EXECUTED may come from an older runner
        prepare_html_notebook(path)
    return book.build_html(ROOT, executed, tmp_path_factory.mktemp("browser-html") / "html")


def local_path(url: str) -> Path | None:
    """The file a ``file://`` URL points to (fragment and query dropped), or None for any other URL."""
    parts = urllib.parse.urlsplit(url)
    return Path(urllib.parse.unquote(parts.path)) if parts.scheme == "file" else None


def is_local(url: str) -> bool:
    return not url or url.startswith(("file:", "data:", "blob:", "about:"))


#: A 1x1 transparent PNG.
PNG_1PX = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
                           "AAAABJRU5ErkJggg==")

PAGE_REPORT = """(() => ({
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, loaded: i.complete,
                                                 width: i.naturalWidth})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  assets: Array.from(document.querySelectorAll('link[href], script[src]')).map(e => e.href || e.src),
}))()"""


#: What MathJax made of a page's formulas (elements of class ``math``, as Sphinx writes them), once its first typeset
#: and the fonts it asked for are done (30 s at most); ``renderer``: the page has a MathJax script.
MATH_REPORT = r"""(async () => {
  const formulas = Array.from(document.querySelectorAll('.math'));
  const renderer = Array.from(document.scripts).some(s => /mathjax/i.test(s.src));
  const report = {formulas: formulas.length, renderer, loaded: false};
  const mj = window.MathJax;
  if (!(formulas.length || renderer) || !mj || !mj.startup || !mj.startup.promise) return report;
  const late = new Promise(resolve => setTimeout(() => resolve('not finished after 30 s'), 30000));
  report.loaded = true;
  report.done = await Promise.race([mj.startup.promise.then(() => 'done', e => 'failed: ' + e), late]);
  await Promise.race([document.fonts.ready, late]);
  const text = e => e.textContent.trim().slice(0, 80);
  report.typeset = formulas.filter(f => f.querySelector('mjx-container')).length;
  report.untypeset = formulas.filter(f => !f.querySelector('mjx-container')).map(text);
  report.errors = Array.from(document.querySelectorAll('mjx-merror'))
    .map(e => e.getAttribute('data-mjx-error') || text(e));
  report.undefined = Array.from(mj.startup.document.math || [])
    .filter(m => /<mtext[^>]*mathcolor="red"[^>]*>\\/.test(mj.startup.toMML(m.root))).map(m => m.math.slice(0, 80));
  report.fonts = Array.from(document.fonts).filter(f => f.status === 'error').map(f => f.family);
  return report;
})()"""


def math_failures(report: dict) -> list[str]:
    """The failures a page's :data:`MATH_REPORT` shows: formulas or a renderer, but nothing properly typeset."""
    if not (report["formulas"] or report["renderer"]):
        return []
    if not report["loaded"]:
        return [f"MathJax did not load: {report['formulas']} formula(s) left as TeX"]
    failures = [] if report["done"] == "done" else [f"MathJax's typesetting {report['done']}"]
    if report["untypeset"]:
        failures.append(f"{len(report['untypeset'])} of {report['formulas']} formula(s) not typeset, e.g. "
                        f"{report['untypeset'][0]!r}")
    failures += [f"TeX error in a formula: {error}" for error in report["errors"]]
    failures += [f"undefined macro in the formula {tex}" for tex in report["undefined"]]
    failures += [f"math font did not load: {family}" for family in report["fonts"]]
    return failures


def check_page(browser: Browser, path: Path, screenshot: Path | None = None) -> tuple[list[str], list[str]]:
    """Load a built page; return (failures, external resources it could not load)."""
    problems = browser.load(path.as_uri())
    report = browser.evaluate(PAGE_REPORT)
    math = browser.evaluate(MATH_REPORT)
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
    failures += math_failures(math)
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


def math_page(path: Path, renderer: str, *formulas: str) -> Path:
    """A page with ``formulas`` in Sphinx's markup and MathJax loaded from ``renderer`` as Sphinx loads it."""
    spans = "".join(f'<p><span class="math notranslate nohighlight">\\({tex}\\)</span></p>' for tex in formulas)
    path.write_text(f'<html><head><script>window.MathJax = {{"options": {{"processHtmlClass": "math"}}}}</script>'
                    f'<script defer="defer" src="{renderer}"></script></head><body>{spans}</body></html>')
    return path


def test_math_check_needs_every_formula_typeset_offline(browser, tmp_path):
    local = (mathjax_files() / "tex-mml-chtml.js").as_uri()
    good = math_page(tmp_path / "good.html", local, r"\sqrt{x^2 + \alpha}", r"\mathbb{E}[\ell] = \sum_i p_i \log q_i")
    assert check_page(browser, good) == ([], [])
    assert browser.evaluate("document.querySelectorAll('.math mjx-container').length") == 2
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"  # the network is blocked: never loads
    failures, external = check_page(browser, math_page(tmp_path / "cdn.html", cdn, r"x^2"))
    assert failures == ["MathJax did not load: 1 formula(s) left as TeX"], failures
    assert any(cdn in line for line in external), external
    failures, _ = check_page(browser, math_page(tmp_path / "gone.html", "_static/mathjax/tex-mml-chtml.js", "x"))
    assert "MathJax did not load: 1 formula(s) left as TeX" in failures, failures
    failures, _ = check_page(browser, math_page(tmp_path / "wrong.html", local, r"\frac{1}{2}", r"\undefinedmacro x",
                                                r"x^2^3", r"x^{2"))
    assert r"undefined macro in the formula \undefinedmacro x" in failures, failures
    assert "TeX error in a formula: Double exponent: use braces to clarify" in failures, failures
    assert r"1 of 4 formula(s) not typeset, e.g. '\\(x^{2\\)'" in failures, failures
    assert len(failures) == 3, failures


def test_browser_falls_back_without_the_sandbox_saying_why(tmp_path, monkeypatch):
    """Where the sandbox cannot start (no user namespaces), Chromium runs without it and the note says why."""
    from support import headless

    fake = tmp_path / "chromium"  # a Chromium whose sandbox fails as it does on such a machine
    fake.write_text(f'#!/bin/sh\ncase " $* " in *" --no-sandbox "*) exec "{CHROMIUM}" "$@";; esac\n'
                    f'echo "[1:1:1206/050631.211550:FATAL:zygote_host_impl_linux.cc(128)] No usable sandbox!" >&2\n'
                    f"exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(headless, "sandbox_refusal", lambda: None)  # as a user other than root
    chrome = Browser(str(fake), tmp_path / "profile")
    try:
        assert not chrome.sandboxed
        assert chrome.sandbox_note == "Chromium did not start sandboxed (No usable sandbox!)"
        assert chrome.evaluate("1 + 1") == 2
    finally:
        chrome.close()


def listening_sockets(pid: int) -> list[str]:
    """The TCP sockets that process ``pid`` and its descendants listen on (``/proc``, Linux), as ``addr:port`` hex."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, inodes = [pid], set()
    for proc in tree:
        tree.extend(children.get(proc, []))
        for fd in Path(f"/proc/{proc}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                found.append(cols[1])
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc to list listening sockets")
def test_devtools_listens_on_no_port(browser):
    """DevTools goes over pipes to this process: no port that another local user or a web page could connect to."""
    assert browser.evaluate("1 + 1") == 2
    assert listening_sockets(browser.proc.pid) == [], "Chromium listens on a TCP port"
    assert not (browser.profile_dir / "DevToolsActivePort").exists()



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
    if page in FORMULA_PAGES:
        assert browser.evaluate("document.querySelectorAll('.math mjx-container').length") >= 1, \
            f"{page}: no formula typeset"


def test_html_formulas_fail_without_the_sites_math_renderer(html_site, browser, tmp_path):
    site = shutil.copytree(html_site, tmp_path / "html")
    (site / "_static" / "mathjax" / "tex-mml-chtml.js").unlink()
    failures, _ = check_page(browser, site / f"{FORMULA_PAGES[0]}.html")
    assert any(f.startswith("MathJax did not load: ") for f in failures), failures
    assert any(f.startswith("broken internal link: ") and "tex-mml-chtml.js" in f for f in failures), failures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A running JupyterLab server: its address and its token (``request`` adds the token to API calls)."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def request(self, path: str, method: str = "GET", timeout: float = 30) -> bytes:
        headers = {"Authorization": f"token {self.token}"}
        request = urllib.request.Request(f"{self.base}{path}", method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.read()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a copy of the chapters, with a random token and XSRF checks on.

    The token travels in the server's environment (``JUPYTER_TOKEN``), not on its command line, where any local user
    could read it; ``--allow-root`` is passed only when running as root (CI), since Jupyter refuses root without it.
    """
    port, state, token = free_port(), tmp_path_factory.mktemp("lab-state"), secrets.token_hex(32)
    served = state / "book"  # a copy: an autosave by JupyterLab must never rewrite the chapters' sources
    shutil.copytree(ROOT / "notebooks", served / "notebooks")
    shutil.copy2(ROOT / "jupytext.toml", served / "jupytext.toml")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.port_retries=0", f"--ServerApp.root_dir={served}",
           f"--LabApp.workspaces_dir={state / 'workspaces'}", f"--LabApp.user_settings_dir={state / 'settings'}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    news = state / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "get notified about Jupyter news?" toast over the screenshots
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(state / "runtime"), "PYTHONWARNINGS": "ignore",
           "JUPYTER_TOKEN": token}
    log = (state / "server.log").open("w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=served)
    running = Lab(f"http://127.0.0.1:{port}", token)
    deadline = time.monotonic() + 90
    while True:
        try:
            running.request("/api/status", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{(state / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield running
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


def test_jupyterlab_requires_its_token_and_xsrf(lab):
    """No token, no access; a browser session (login cookie) must also send the XSRF token to change anything."""
    for headers in ({}, {"Authorization": "token wrong"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"{lab.base}/api/contents", headers=headers), timeout=30)
        assert refused.value.code == 403, f"{headers}: status {refused.value.code}"
    jar = http.cookiejar.CookieJar()
    session = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    session.open(f"{lab.base}/lab?token={lab.token}", timeout=60).read()  # logs in: a login and an _xsrf cookie
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), None)
    assert xsrf, f"no _xsrf cookie after logging in: {[c.name for c in jar]}"
    folder = json.dumps({"type": "directory"}).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        session.open(urllib.request.Request(f"{lab.base}/api/contents", data=folder, method="POST"), timeout=30)
    assert refused.value.code == 403, "a cookie-authenticated POST without the XSRF token was accepted"
    made = session.open(urllib.request.Request(f"{lab.base}/api/contents", data=folder, method="POST",
                                               headers={"X-XSRFToken": xsrf}), timeout=30)
    assert made.status == 201
    path = json.load(made)["path"]
    session.open(urllib.request.Request(f"{lab.base}/api/contents/{urllib.parse.quote(path)}", method="DELETE",
                                        headers={"X-XSRFToken": xsrf}), timeout=30)


def chapter_title(stem: str) -> str:
    """The first heading of a chapter's first markdown cell, as the reader should see it."""
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    return next(line.lstrip("#").strip() for line in first.source.splitlines() if line.startswith("#"))


def shut_down_kernels(lab: Lab) -> None:
    """Stop the kernels the opened notebooks started (keeps the 2-core CI machine free)."""
    for session in json.loads(lab.request("/api/sessions", timeout=10)):
        lab.request(f"/api/sessions/{session['id']}", method="DELETE")


@pytest.mark.parametrize("stem", CHAPTERS)
def test_jupyterlab_renders_chapter_title(lab, browser, stem):
    title = chapter_title(stem)
    browser.load(f"{lab.base}/lab/tree/notebooks/{stem}.ipynb?reset&token={lab.token}", settle=0)
    shown = browser.poll("Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-RenderedMarkdown h1'))"
                         ".map(h => h.textContent).join('\\n')", timeout=90)
    browser.screenshot(SCREENSHOTS / "lab" / f"{stem}.png")
    shut_down_kernels(lab)
    assert title in (shown or ""), f"{stem}: JupyterLab shows headings {shown!r}, expected the title {title!r}"
