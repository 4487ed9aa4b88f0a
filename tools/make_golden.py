"""Regenerate the golden notebooks that nbval checks: ``tests/golden/NN_slug.ipynb``.

Each golden notebook is the chapter executed with papermill in the ``smoke`` profile, keeping only the outputs of
cells marked ``# NBVAL_CHECK_OUTPUT`` (nbval is run with ``--nbval-lax``, so only those are compared). Run it
after a deliberate change to a published number, and review the diff: it is the change readers will see.
"""

import sys
from pathlib import Path

import nbformat
import papermill as pm

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ["01_circumplex"]
MARK = "# NBVAL_CHECK_OUTPUT"


def make(stem: str) -> Path:
    src = ROOT / "notebooks" / f"{stem}.ipynb"
    dst = ROOT / "tests" / "golden" / f"{stem}.ipynb"
    dst.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(src), str(dst), parameters={"PROFILE": "smoke"}, kernel_name="python3",
                        cwd=str(src.parent), progress_bar=False)
    nb = nbformat.read(dst, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and MARK not in cell.source:
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, dst)
    return dst


if __name__ == "__main__":
    for stem in sys.argv[1:] or GOLDEN:
        print(f"golden: {make(stem).relative_to(ROOT)}")
