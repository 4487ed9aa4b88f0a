"""Compare the printed outputs of two folders of executed chapters (the book runner's ``--out``), cell by cell.

A refactoring that changes no behaviour leaves every chapter's printed numbers as they were: run the book into two
folders, before and after the change, on the same cache, and compare::

    python -m affect_book.site.book --profile smoke --out /tmp/before    # on the old commit
    python -m affect_book.site.book --profile smoke --out /tmp/after     # on the new one
    python tools/compare_executed.py /tmp/before /tmp/after

Text outputs (stdout, stderr, ``text/plain`` results and error names) are compared after masking what differs from
run to run by design: wall times and rates (``12.3 s``, ``1,168 images/s``), dates, temporary and cache paths, and
object addresses, whether runs were trained or loaded from the cache, and a grid's progress counter; a stream's lines
are compared in sorted order (parallel workers print in any order). Images are compared by presence only. Exit
status 1 when any chapter differs (the differing cells are printed with both texts), 0 otherwise.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

MASKS = [
    (re.compile(r"\d[\d,]*(\.\d+)?\s*(s|ms|min|seconds?|images/s|img/s|it/s|runs?/s)\b"), "<time>"),
    (re.compile(r"\d+ min \d+ s"), "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(\+00:00|Z)?"), "<date>"),
    (re.compile(r"(/tmp|/var/folders|/root|/home)/\S+"), "<path>"),
    (re.compile(r"0x[0-9a-f]{6,}"), "<address>"),
    # whether a run was trained now or loaded from the cache depends on the cache, not on the code
    (re.compile(r"trained in <time>|loaded from the cache in <time>|loaded from the cache"), "<trained or loaded>"),
    (re.compile(r"\(\d+ trained\)|\(\d+ runs trained\)"), "(<n> trained)"),
    (re.compile(r"\d+ trained,? (and )?\d+ <trained or loaded>"), "<n> trained and <m> loaded"),
    (re.compile(r"^\[\d+/(\d+)\]", re.M), r"[<k>/\1]"),  # a grid's progress counter: runs end in any order
]


def _mask(text: str) -> str:
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    return text


def _texts(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    out = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        streams: dict[str, str] = {}
        parts = []
        for o in cell.get("outputs", []):
            if "text" in o:
                streams[o.get("name", "stdout")] = streams.get(o.get("name", "stdout"), "") + "".join(o["text"])
            elif o.get("output_type") == "error":
                parts.append(f"error {o.get('ename')}: {o.get('evalue')}")
            else:
                data = o.get("data", {})
                if "text/plain" in data:
                    parts.append("".join(data["text/plain"]))
                parts.extend(f"[{kind}]" for kind in sorted(data) if kind.startswith("image/"))
        # a stream's lines are compared as a sorted list: Jupyter splits a stream into chunks as it happens to flush
        # it, and parallel workers report their runs in any order
        parts = [f"{name}:\n" + "\n".join(sorted(_mask(text).splitlines())) for name, text in sorted(streams.items())
                 ] + parts
        out.append(f"cell {index}:\n" + _mask("\n".join(parts)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    names = sorted(p.relative_to(args.before) for p in args.before.rglob("*.ipynb"))
    if not names:
        parser.error(f"no executed notebooks under {args.before}")
    differ = 0
    for name in names:
        other = args.after / name
        if not other.exists():
            print(f"{name}: missing in {args.after}")
            differ += 1
            continue
        a, b = _texts(args.before / name), _texts(other)
        if a == b:
            print(f"{name}: same printed outputs ({len(a)} code cells)")
            continue
        differ += 1
        print(f"{name}: DIFFERENT")
        sys.stdout.writelines(difflib.unified_diff("\n".join(a).splitlines(True), "\n".join(b).splitlines(True),
                                                   str(args.before / name), str(other), n=1))
    print(f"{len(names) - differ} of {len(names)} chapter(s) print the same")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
