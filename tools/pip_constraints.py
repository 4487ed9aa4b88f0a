"""Print pip constraints (``name==version``) from the pins in environment.yml, for the pip route.

Standard library only: it runs before anything is installed. Reads the ``- name=version`` lines of the
``dependencies`` list and the ``- name==version`` lines of its nested ``pip`` list (packages conda-forge lacks);
conda names that differ on PyPI are mapped (pytorch -> torch). Unpinned entries (``-e .``), python and pip are
skipped.
"""

import re
import sys

CONDA_TO_PIP = {"pytorch": "torch"}



def constraints(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        m = (re.match(r"^\s{2}-\s+([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][A-Za-z0-9.]*)\s*$", line)
             or re.match(r"^\s{6}-\s+([A-Za-z0-9_.\-]+)\s*==\s*([0-9][A-Za-z0-9.]*)\s*$", line))
        if not m:
            continue
        name, version = m.groups()
        if name in ("python", "pip"):
            continue
        pip_name = CONDA_TO_PIP.get(name, name)
        # "==X.*" also admits PyPI post releases (POT 0.9.7.post1, jupyter-book 1.0.4.post1) and local labels.
        out.append(f"{pip_name}=={version}.*")
    return out


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "environment.yml"
    with open(path) as f:
        print("\n".join(constraints(f.read())))
