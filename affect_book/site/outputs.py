"""The book runner's output folders: never the sources, and only what the runner wrote.

Introduced with the runner (:mod:`affect_book.site.book`, chapter 00). An output folder that is or contains the book's
root, or lies inside ``notebooks/`` or ``docs/``, is refused: writing executed copies there would overwrite the
committed notebooks and site files. Inside an output folder the runner records every file it writes in a manifest
(``.affect_book_outputs.json``); it overwrites or removes only files listed there and refuses any other file in
its way, so a folder that already held the reader's own files keeps them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

__all__ = ["MANIFEST", "OutputFolderError", "OutputManifest", "check_output_folder", "check_tree", "copy_claimed"]

#: Folders of the book's root that hold sources: no output folder may lie inside them.
SOURCE_DIRS = ("notebooks", "docs")
#: The manifest, in each output folder, of the files the runner wrote there.
MANIFEST = ".affect_book_outputs.json"


class OutputFolderError(RuntimeError):
    """An output folder would overwrite the book's sources or a file the runner did not write."""


def check_output_folder(folder: Path, root: Path, what: str = "output folder") -> Path:
    """Refuse an output folder that is or contains the book's sources, or lies inside a source folder.

    Parameters
    ----------
    folder : pathlib.Path
        The folder the runner would write into (it need not exist yet).
    root : pathlib.Path
        The book's root (the folder holding ``_toc.yml``).
    what : str, default "output folder"
        How the error message names the folder (e.g. ``"--out"``).

    Returns
    -------
    pathlib.Path
        ``folder``, resolved to an absolute path.

    Raises
    ------
    OutputFolderError
        When ``folder`` is the root or one of its parents (writing there would overwrite the committed notebooks,
        ``README.md``, ``_toc.yml``, ``_config.yml`` or ``docs/``), or lies inside ``notebooks/`` or ``docs/``.
    """
    folder, root = Path(folder).resolve(), Path(root).resolve()
    default = root / "_build" / "executed"
    if folder == root or folder in root.parents:
        raise OutputFolderError(f"{what} {folder} is or contains the book's root {root}: writing there would "
                                f"overwrite the sources (notebooks/, docs/, README.md, _toc.yml, _config.yml); "
                                f"choose a separate folder, e.g. {default}")
    for name in SOURCE_DIRS:
        source = root / name
        if folder == source or source in folder.parents:
            raise OutputFolderError(f"{what} {folder} lies inside the book's sources ({source}); choose a separate "
                                    f"folder, e.g. {default}")
    return folder


class OutputManifest:
    """The files the runner wrote into one output folder, recorded in ``<folder>/.affect_book_outputs.json``.

    The runner claims a path before writing it: a path that exists and is not in the manifest was not written by
    the runner, so claiming it raises instead of overwriting it. Only manifest entries are ever removed.

    Parameters
    ----------
    folder : pathlib.Path
        The output folder (created if missing).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.path = self.folder / MANIFEST
        self.files: set[str] = set()
        if self.path.is_file():
            try:
                self.files = set(json.loads(self.path.read_text())["files"])
            except (ValueError, KeyError, TypeError) as err:
                raise OutputFolderError(f"{self.path} is not a valid runner manifest ({err}); it should be "
                                        f'{{"files": [relative paths]}}. Remove the folder {self.folder} '
                                        f"or choose another output folder") from err

    def relative(self, path: Path) -> str:
        """``path`` relative to the folder, as the manifest lists it.

        Parameters
        ----------
        path : pathlib.Path
            A path inside the folder (a link in its last component is not followed).

        Returns
        -------
        str
            The relative path with POSIX separators.
        """
        path = _no_follow(path)
        try:
            return path.relative_to(self.folder).as_posix()
        except ValueError:
            raise OutputFolderError(f"{path} is outside the output folder {self.folder}") from None

    def owns(self, path: Path) -> bool:
        """Whether the runner wrote ``path``.

        Parameters
        ----------
        path : pathlib.Path
            A file or folder the runner may have written.

        Returns
        -------
        bool
            True when ``path`` is recorded in the manifest.
        """
        return self.relative(path) in self.files

    def check(self, path: Path) -> Path:
        """Raise if ``path`` exists and the runner did not write it (see :meth:`claim`).

        Parameters
        ----------
        path : pathlib.Path
            The file about to be written.

        Returns
        -------
        pathlib.Path
            ``path``, made absolute (a link in its last component is not followed).

        Raises
        ------
        OutputFolderError
            When ``path`` exists and the manifest does not list it.
        """
        path = _no_follow(path)
        if os.path.lexists(path) and self.relative(path) not in self.files:
            raise OutputFolderError(f"{path} exists and was not written by the book runner (it is not listed in "
                                    f"{self.path}); refusing to overwrite it. Move it away or choose another "
                                    f"output folder (a folder written before the runner kept a manifest, such as "
                                    f"an old _build/, can be deleted: make clean)")
        return path

    def claim(self, path: Path) -> Path:
        """Record that the runner is about to write ``path``; refuse a file that exists and is not the runner's.

        Parameters
        ----------
        path : pathlib.Path
            The file (or, for a tool's whole output tree, the folder) about to be written, inside the folder.

        Returns
        -------
        pathlib.Path
            ``path`` as :meth:`check` returns it, now listed in the manifest (saved at once).

        Raises
        ------
        OutputFolderError
            As :meth:`check`.
        """
        path = self.check(path)
        name = self.relative(path)
        if name not in self.files:
            self.files.add(name)
            self.save()
        return path

    def remove_stale(self, under: str, keep: set[str]) -> list[str]:
        """Remove the runner's files under ``under`` that are not in ``keep``; never touch any other file.

        Parameters
        ----------
        under : str
            A folder, relative to the output folder (e.g. ``"docs"``; ``""`` for the whole folder).
        keep : set of str
            Relative paths (as in the manifest) to keep.

        Returns
        -------
        list of str
            The relative paths removed.
        """
        removed = []
        prefix = under.strip("/")
        for name in sorted(self.files):
            inside = not prefix or name == prefix or name.startswith(prefix + "/")
            if inside and name not in keep:
                target = self.folder / name
                if target.is_file() or target.is_symlink():
                    target.unlink()
                self.files.discard(name)
                removed.append(name)
        if removed:
            self.save()
        return removed

    def save(self) -> None:
        """Write the manifest (atomically: a temporary file, then a rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{MANIFEST}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"files": sorted(self.files)}, indent=1))
        tmp.replace(self.path)


def _no_follow(path: Path) -> Path:
    """``path`` made absolute with its folders resolved but its last component kept (a link is not followed)."""
    path = Path(path).absolute()
    return path.parent.resolve() / path.name


def _pairs(src: Path, dst: Path) -> list[tuple[Path, Path]]:
    """(source file, target) for copying a file or a folder tree ``src`` to ``dst``."""
    if src.is_file():
        return [(src, dst)]
    return [(file, dst / file.relative_to(src)) for file in sorted(src.rglob("*")) if file.is_file()]


def check_tree(src: Path, dst: Path, manifest: OutputManifest) -> None:
    """Raise if copying ``src`` to ``dst`` would overwrite a file the runner did not write.

    Parameters
    ----------
    src : pathlib.Path
        A file or a folder.
    dst : pathlib.Path
        Its destination inside ``manifest``'s folder.
    manifest : OutputManifest
        The runner's record of the destination folder.

    Raises
    ------
    OutputFolderError
        Naming the first file in the way.
    """
    for _, target in _pairs(src, dst):
        manifest.check(target)


def copy_claimed(src: Path, dst: Path, manifest: OutputManifest) -> set[str]:
    """Copy a file or a folder tree to ``dst``, recording every file written in ``manifest``.

    Every target is checked first (:func:`check_tree`), so a refusal leaves the folder as it was.

    Parameters
    ----------
    src, dst, manifest
        As for :func:`check_tree`: the file or folder, its destination, the destination folder's manifest.

    Returns
    -------
    set of str
        The files written, relative to the manifest's folder (as the manifest lists them).
    """
    pairs = _pairs(src, dst)
    for _, target in pairs:
        manifest.check(target)
    for file, target in pairs:
        manifest.claim(target)
        if target.is_symlink():  # never write through a link into another folder
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    return {manifest.relative(target) for _, target in pairs}
