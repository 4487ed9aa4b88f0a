"""The site's own math renderer: MathJax files from a pip package, copied into the build, and a check of a built site.

Used by the book's Sphinx extension (:mod:`affect_book.site.course`, ``config-inited``) and by the book runner's
HTML check (:func:`affect_book.site.book.check_html`): ``mathjax_path`` must name a file under ``_static/mathjax/``;
the MathJax files of the installed ``sphinx-mathjax-offline`` package are copied there at build time, so every
formula renders with no network, and :func:`math_renderer_problems` finds a page that would load MathJax from the web
or from a missing file.
"""

from __future__ import annotations

import html.parser
import importlib.metadata
import posixpath
import urllib.parse
from pathlib import Path
from typing import Any

__all__ = ["MATHJAX_DISTRIBUTION", "MATHJAX_IN_DISTRIBUTION", "MATHJAX_STATIC", "math_renderer_problems",
           "mathjax_files", "vendor_mathjax"]


#: The distribution whose files are the site's math renderer: MathJax 3.2.2, the ``es5/`` folder of npm's
#: ``mathjax@3.2.2`` byte for byte (what Sphinx's default CDN address served), in a wheel that needs only Sphinx.
MATHJAX_DISTRIBUTION = "sphinx-mathjax-offline"
#: Where that distribution keeps the MathJax files, relative to its install location.
MATHJAX_IN_DISTRIBUTION = "sphinx-mathjax-offline/static/mathjax"
#: The folder under the site's ``_static/`` that receives them; ``mathjax_path`` names a file in it.
MATHJAX_STATIC = "mathjax"


def mathjax_files() -> Path:
    """The folder of MathJax files shipped by the installed :data:`MATHJAX_DISTRIBUTION` package.

    Returns
    -------
    pathlib.Path
        The folder holding ``tex-mml-chtml.js`` and the rest of MathJax's ``es5/`` build (fonts, extensions).

    Raises
    ------
    FileNotFoundError
        When the package is not installed or its files are not where this version keeps them.
    """
    try:
        dist = importlib.metadata.distribution(MATHJAX_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f"the book's math renderer comes from the {MATHJAX_DISTRIBUTION!r} package, which is "
                                f"not installed; install the book's extra: pip install -e '.[book]'") from None
    folder = Path(str(dist.locate_file(MATHJAX_IN_DISTRIBUTION)))
    if not (folder / "tex-mml-chtml.js").is_file():
        raise FileNotFoundError(f"{MATHJAX_DISTRIBUTION} {dist.version} has no MathJax files in {folder} (expected "
                                f"tex-mml-chtml.js there); install the version pinned in environment.yml")
    return folder


def vendor_mathjax(app: Any, config: Any) -> None:
    """``config-inited``: check that ``mathjax_path`` names a local file under ``_static/mathjax/`` that the package
    ships, and add the package's folder to ``html_static_path`` so Sphinx copies it into the site.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application (unused).
    config : sphinx.config.Config
        The site's configuration (``mathjax_path``, ``html_static_path``).

    Raises
    ------
    sphinx.errors.ConfigError
        When ``mathjax_path`` is a web address, names a file the package lacks, or the package is not installed.
    """
    from sphinx.errors import ConfigError  # deferred: sphinx is optional (book extra); only the Sphinx hook needs it

    if "mathjax_path" not in config:  # another math renderer than MathJax: nothing to carry
        return
    path = str(config.mathjax_path or "")
    where = f"mathjax_path = {path!r} (sphinx: config: in _config.yml)"
    if urllib.parse.urlsplit(path).scheme or path.startswith("//"):
        raise ConfigError(f"{where} is a web address: the book renders its formulas offline, so it must name a "
                          f"file under _static/{MATHJAX_STATIC}/, e.g. {MATHJAX_STATIC}/tex-mml-chtml.js")
    head, _, rest = path.partition("/")
    try:
        folder = mathjax_files()
    except FileNotFoundError as err:
        raise ConfigError(str(err)) from None
    if head != MATHJAX_STATIC or not rest or not (folder / rest).is_file():
        raise ConfigError(f"{where} must name a file under _static/{MATHJAX_STATIC}/ that {MATHJAX_DISTRIBUTION} "
                          f"ships (in {folder}), e.g. {MATHJAX_STATIC}/tex-mml-chtml.js")
    if folder.name != MATHJAX_STATIC:  # html_static_path copies a folder's contents: its parent holds mathjax/
        raise ConfigError(f"{MATHJAX_DISTRIBUTION}'s MathJax folder {folder} is not named {MATHJAX_STATIC!r}")
    config.html_static_path = [*config.html_static_path, str(folder.parent)]


class _PageAssets(html.parser.HTMLParser):
    """The script sources of an HTML page and whether it holds a formula (an element of class ``math``)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.has_math = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "math" in (values.get("class") or "").split():
            self.has_math = True
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"])


def math_renderer_problems(html_dir: Path | str) -> list[str]:
    """What keeps a built site from rendering its formulas offline, one line per problem (empty when none).

    Every page holding a formula (an element of class ``math``) must load a MathJax script (a ``<script src>``
    naming ``mathjax``), and every MathJax script of every page must be a local file of the site that exists.

    Parameters
    ----------
    html_dir : pathlib.Path or str
        The built site.

    Returns
    -------
    list of str
        Each naming the page (relative to ``html_dir``) and the missing renderer, web address or missing file.
    """
    html_dir = Path(html_dir).resolve()
    problems = []
    for page in sorted(html_dir.rglob("*.html")):
        name = page.relative_to(html_dir).as_posix()
        parser = _PageAssets()
        parser.feed(page.read_text(errors="replace"))
        renderers = [src for src in parser.scripts if "mathjax" in src.lower()]
        if parser.has_math and not renderers:
            problems.append(f"{name}: has formulas but loads no MathJax script")
        for src in renderers:
            parts = urllib.parse.urlsplit(src)
            if parts.scheme or parts.netloc:
                problems.append(f"{name}: loads its math renderer from the web ({src}), not from the site")
                continue
            target = (page.parent / urllib.parse.unquote(parts.path)).resolve()
            if not target.is_file() or html_dir not in target.parents:
                where = posixpath.normpath(posixpath.join(posixpath.dirname(name), urllib.parse.unquote(parts.path)))
                problems.append(f"{name}: its math renderer {src} is not a file of the site (expected {where})")
    return problems
