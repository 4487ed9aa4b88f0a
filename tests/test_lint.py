"""ruff, configured in pyproject.toml ([tool.ruff]), runs as part of the test command."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["affect_book", "tests", "benchmarks", "tools", *sorted(str(p.relative_to(ROOT))
                                                                  for p in (ROOT / "notebooks").glob("*.py"))]


def _ruff(*args):
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_installed():
    """ruff is a [dev] dependency: a missing ruff is a broken environment, not a reason to skip the lint."""
    proc = _ruff("--version")
    assert proc.returncode == 0, f"python -m ruff is not available ({proc.stderr.strip()}); pip install -e '.[dev]'"


def test_ruff_check_is_clean():
    proc = _ruff("check", "--no-cache", "--output-format", "concise", *TARGETS)
    assert proc.returncode == 0, f"ruff check {' '.join(TARGETS)} found problems:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("source, code", [("x = '" + "a" * 114 + "'\n", None),  # 120 columns
                                          ("x = '" + "a" * 115 + "'\n", "E501"),  # 121 columns
                                          ("def f(x=[]):\n    return x\n", "B006"),  # bugbear: mutable default
                                          ("from typing import List\nx: List[int] = []\n", "UP0")])  # pyupgrade
def test_ruff_reads_the_projects_configuration(source, code):
    """The configuration is in force (read from stdin as if it were a file of the package)."""
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                           "--stdin-filename", "affect_book/_probe.py"], cwd=ROOT, input=source,
                          capture_output=True, text=True)
    if code is None:
        assert proc.returncode == 0, proc.stdout
    else:
        assert proc.returncode == 1 and code in proc.stdout, proc.stdout + proc.stderr
