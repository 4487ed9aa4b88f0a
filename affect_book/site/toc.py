"""The book's table of contents: where the book's root is and which chapter notebooks ``_toc.yml`` lists, in reading
order. Read by the runner (:mod:`affect_book.site.book`) and the course tooling (:mod:`affect_book.site.course`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["chapter_id", "find_root", "toc_notebooks"]


def find_root(start: Path | None = None) -> Path:
    """The book's root: the nearest folder at or above ``start`` holding ``_toc.yml``.

    Parameters
    ----------
    start : pathlib.Path, optional
        Where to start looking (default: the working directory).

    Returns
    -------
    pathlib.Path
        The root, resolved.

    Raises
    ------
    FileNotFoundError
        When no folder at or above ``start`` holds ``_toc.yml``.
    """
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
    """The notebooks listed in ``_toc.yml`` under ``notebooks/``, in reading order.

    Parameters
    ----------
    root : pathlib.Path
        The book's root.

    Returns
    -------
    list of pathlib.Path
        Paths to the ``.ipynb`` files.

    Raises
    ------
    FileNotFoundError
        When ``_toc.yml`` lists a notebook that does not exist.
    """
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
    """The chapter number of a notebook: ``notebooks/01_circumplex.ipynb`` -> ``"01"``.

    Parameters
    ----------
    path : pathlib.Path
        A chapter notebook.

    Returns
    -------
    str
        The part of its name before the first underscore.
    """
    return path.stem.split("_", 1)[0]
