"""The ``affect-book`` command line. ``affect-book book ...`` runs the book (see :mod:`affect_book.site.book`);
``affect-book data summary ...`` counts a data source (see :mod:`affect_book.data.sources`); ``affect-book train
--config run.json`` trains one run (see :mod:`affect_book.trainer`); ``affect-book study run|report`` runs the
controlled study's grid and prints its results (see :mod:`affect_book.study` and :mod:`affect_book.analysis`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .interrupts import RESUME_HINTS, run_command

__all__ = ["COMMANDS", "RESUME_HINTS", "main"]

COMMANDS = {"book": "run the chapters with papermill and build the HTML site",
            "data": "inspect a data source: `affect-book data summary --dataset NAME --root PATH`",
            "train": "train one run from a JSON config: `affect-book train --config run.json --set epochs=3`",
            "study": "the controlled study: `affect-book study run --profile cpu --preset affwild2`, "
                     "`affect-book study report --profile cpu --preset affwild2 --json`"}


def main(argv: Sequence[str] | None = None) -> int:
    """The ``affect-book`` command: dispatch to ``book``, ``data``, ``train`` or ``study``.

    SIGINT (Ctrl-C) and SIGTERM are handled from the first line on, before any heavy import (torch, pandas):
    exit status 130 (143 for SIGTERM) and one line saying how to resume, never a traceback
    (:func:`affect_book.interrupts.run_command`; the resume lines are
    :data:`affect_book.interrupts.RESUME_HINTS`).

    Parameters
    ----------
    argv : sequence of str, optional
        The command and its options (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: the sub-command's, 0 for ``--help``, 2 for an unknown command, 130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    prog = f"affect-book {command}" if command else "affect-book"
    return run_command(prog, RESUME_HINTS.get(command, "run the same command again"), lambda: _dispatch(argv))


def _dispatch(argv: list[str]) -> int:
    # each command's module is imported here, inside the interrupt handling and only for the command that runs
    # (the book's runner loads papermill, the trainer torch)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = "\n".join(f"  {name:<8} {text}" for name, text in COMMANDS.items())
        print(f"usage: affect-book COMMAND [options]\n\ncommands:\n{lines}")
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\naffect-book: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    if argv[0] == "book":
        from .site.book import main as book_main  # deferred: after run_command's handlers, and only for `book`

        return book_main(argv[1:])
    if argv[0] == "data":
        from .data.sources import main as data_main  # deferred: it imports torch, after the SIGINT handler

        return data_main(argv[1:])
    if argv[0] == "train":
        # Deferred: the trainer imports torch, which then loads under run_command's handlers (a Ctrl-C during the
        # import exits 130 with the resume hint), and `book`, `data` and `study` never pay for it.
        from .trainer.cli import main as train_main  # deferred: it imports torch, after the SIGINT handler

        return train_main(argv[1:])
    if argv[0] == "study":
        from .analysis.cli import main as study_main  # deferred: it imports torch, after the SIGINT handler

        return study_main(argv[1:])
    return 2


if __name__ == "__main__":
    sys.exit(main())
