"""The runner's timing records, and the note that shows them on each chapter's page. Used by the book runner.

Each chapter the runner executes adds a record to ``timings.json`` beside the executed copies
(``_build/executed/timings.json`` by default)::

    {"records": [{"profile": "smoke", "chapter": "01", "notebook": "01_circumplex", "seconds": 7.3,
                  "date": "2026-11-28T07:12:03+00:00",
                  "machine": {"cpu_count": 2, "torch_device": "cpu", "platform": "Linux-6.1-x86_64"}}, ...]}

Records are merged across runs: the latest record of each (profile, chapter) replaces the earlier one, so a run in
the ``smoke`` profile and a later one in ``cpu`` both stay. Before the HTML build, :func:`inject_timing_note` puts a
note with the chapter's measured times, one row per profile, after the chapter's first cell; the times on the
pages are therefore read from the records, never typed.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
from collections.abc import Iterable
from pathlib import Path

from .cache import atomic_write_bytes, file_lock
from .profiles import PROFILES

__all__ = ["TIMINGS_FILE", "TIMING_TAG", "format_seconds", "inject_timing_note", "machine_info", "read_timings",
           "record_timings", "timing_note", "timing_record"]

#: The file name of the records, in the executed-copies folder.
TIMINGS_FILE = "timings.json"
#: The cell tag of the injected note (a rebuild replaces the cell that carries it).
TIMING_TAG = "chapter-timing"
_FIELDS = ("profile", "chapter", "notebook", "seconds", "date", "machine")


def machine_info() -> dict:
    """What the runner ran on: CPU count, the device the chapters choose (``choose_device("auto")``), platform.

    Returns
    -------
    dict
        ``cpu_count`` (int), ``torch_device`` (str: cuda, mps or cpu), ``platform`` (str).
    """
    from .device import choose_device

    return {"cpu_count": os.cpu_count() or 1, "torch_device": choose_device("auto", verbose=False).type,
            "platform": platform.platform(terse=True)}


def timing_record(profile: str, chapter: str, notebook: str, seconds: float, machine: dict | None = None,
                  date: str | None = None) -> dict:
    """One chapter run as a record (the fields of the module docstring).

    Parameters
    ----------
    profile : str
        The profile it ran in.
    chapter : str
        The chapter number (``"01"``).
    notebook : str
        The notebook's stem.
    seconds : float
        Wall time, non-negative.
    machine : dict, optional
        Default: :func:`machine_info`.
    date : str, optional
        ISO 8601 time of the run (default: now, UTC).

    Returns
    -------
    dict
    """
    if profile not in PROFILES:
        raise ValueError(f"profile {profile!r}; expected one of {list(PROFILES)}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or seconds < 0:
        raise ValueError(f"seconds={seconds!r}; expected a finite number >= 0")
    return {"profile": profile, "chapter": str(chapter), "notebook": str(notebook), "seconds": float(seconds),
            "date": date or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": dict(machine) if machine is not None else machine_info()}


def read_timings(path: Path) -> list[dict]:
    """The records in a timings file; an empty list when it does not exist.

    Parameters
    ----------
    path : pathlib.Path
        The ``timings.json`` file.

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        When the file is not valid JSON or a record lacks a field (naming the file).
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        records = json.loads(path.read_text())["records"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a timings file ({err}); expected {{\"records\": [...]}}; delete it and "
                         f"rerun the chapters") from err
    for i, record in enumerate(records):
        missing = [f for f in _FIELDS if not isinstance(record, dict) or f not in record]
        if missing:
            raise ValueError(f"{path}: record {i} lacks {missing}; a record has {list(_FIELDS)}")
    return records


def record_timings(path: Path, records: Iterable[dict]) -> list[dict]:
    """Merge records into a timings file (latest per profile and chapter wins); atomic, under a lock.

    Parameters
    ----------
    path : pathlib.Path
        The ``timings.json`` file (created if missing).
    records : iterable of dict
        New records (:func:`timing_record`).

    Returns
    -------
    list of dict
        Every record now in the file, sorted by chapter and profile.
    """
    path = Path(path)
    with file_lock(path.with_name(f".{path.name}.lock"), timeout=60, what="the timing records"):
        merged = {(r["profile"], r["chapter"]): r for r in read_timings(path)}
        for record in records:
            merged[(record["profile"], record["chapter"])] = record
        order = list(PROFILES)
        out = sorted(merged.values(), key=lambda r: (r["chapter"], order.index(r["profile"])
                                                      if r["profile"] in order else len(order), r["profile"]))
        atomic_write_bytes(path, (json.dumps({"records": out}, indent=1) + "\n").encode())
    return out


def format_seconds(seconds: float) -> str:
    """A wall time for readers: ``"7.1 s"``, ``"3 min 12 s"``, ``"1 h 04 min"``.

    Parameters
    ----------
    seconds : float

    Returns
    -------
    str
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def timing_note(records: Iterable[dict], chapter: str) -> str | None:
    """The Markdown of a chapter's timing note: one row per profile with a record; None without any.

    Parameters
    ----------
    records : iterable of dict
        Records as :func:`read_timings` returns them.
    chapter : str
        The chapter number.

    Returns
    -------
    str or None
    """
    rows = [r for r in records if r["chapter"] == str(chapter)]
    if not rows:
        return None
    lines = ["```{note}", "**Measured run time of this chapter** (the book runner's records, not an estimate):", "",
             "| profile | wall time | run on | machine |", "|---|---|---|---|"]
    for r in rows:
        m = r["machine"]
        lines.append(f"| `{r['profile']}` | {format_seconds(r['seconds'])} | {r['date'][:10]} | "
                     f"{m.get('cpu_count', '?')} CPU cores, torch device {m.get('torch_device', '?')} |")
    lines.append("```")
    return "\n".join(lines)


def inject_timing_note(notebook: Path, records: Iterable[dict], chapter: str) -> bool:
    """Put the chapter's timing note after its first cell (replacing an earlier note); no note, no change.

    Parameters
    ----------
    notebook : pathlib.Path
        An executed copy (rewritten in place).
    records, chapter
        As in :func:`timing_note`.

    Returns
    -------
    bool
        Whether a note was written.
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if TIMING_TAG not in c.get("metadata", {}).get("tags", [])]
    text = timing_note(records, chapter)
    if text is not None:
        cells.insert(1 if cells else 0, nbformat.v4.new_markdown_cell(text, metadata={"tags": [TIMING_TAG]}))
    if len(cells) != len(nb.cells) or text is not None:
        nb.cells = cells
        nbformat.write(nb, notebook)
    return text is not None
