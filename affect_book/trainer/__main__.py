"""``python -m affect_book.trainer --config run.json``: the ``affect-book train`` command, as a module ``torchrun``
can launch (``torchrun --nproc_per_node=N -m affect_book.trainer --config run.json``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
