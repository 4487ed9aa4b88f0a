"""ruff, configured in pyproject.toml ([tool.ruff]), runs as part of the test command."""

import os
import subprocess
import sys

import pytest
from support import ROOT

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



#: Outside the package, only public names: PLC2701 flags a private module or name imported from another package.
PUBLIC_ONLY = ["tools", "benchmarks", "tests", *TARGETS[4:]]


def test_tools_benchmarks_notebooks_and_tests_import_public_names_only():
    proc = _ruff("check", "--no-cache", "--preview", "--select", "PLC2701", "--output-format", "concise",
                 *PUBLIC_ONLY)
    assert proc.returncode == 0, f"private imports from affect_book (use or add a public name):\n{proc.stdout}"


def test_the_private_import_rule_can_fail():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--preview", "--select", "PLC2701",
                           "--stdin-filename", "tools/probe.py"], cwd=ROOT,
                          input="from affect_book.study._executors import run_task\n", capture_output=True, text=True)
    assert proc.returncode == 1 and "_executors" in proc.stdout, proc.stdout + proc.stderr


def _lint_imports(cwd, env=None):
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())", "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env=env)


def test_import_contract_is_kept():
    """The import contract of pyproject.toml ([tool.importlinter]): layers, no cycle in any package, private modules
    kept private. ``lint-imports`` (import-linter, a [dev] dependency) runs it; its report names each broken import."""
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, f"lint-imports found broken contracts:\n{proc.stdout}{proc.stderr}"
    assert "Contracts: 3 kept, 0 broken." in proc.stdout, proc.stdout


def test_the_import_contract_can_fail(tmp_path):
    """The contract is not vacuous: a lower layer importing a higher one breaks a layers contract, named."""
    pkg = tmp_path / "toy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("from . import high\n")
    (pkg / "high.py").write_text("")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_package = "toy"\n\n[[tool.importlinter.contracts]]\nname = "toy layers"\n'
        'type = "layers"\nlayers = ["toy.high", "toy.low"]\n')
    proc = _lint_imports(tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "toy.low -> toy.high" in proc.stdout
