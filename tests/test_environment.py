"""environment.yml (conda, exact pins) and pyproject.toml (ranges) name the same runtime dependencies."""

import re
import subprocess
import sys
import tomllib

import yaml
from support import ROOT

CONDA_NAME = {"torch": "pytorch"}  # PyPI name -> conda-forge name where they differ


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _conda_pins():
    pins = {}
    for dep in _environment()["dependencies"]:
        if isinstance(dep, str):
            name, _, version = dep.partition("=")
            pins[name.strip().lower()] = version
    return pins


def _pip_pins():
    """The exact pins of environment.yml's nested pip list (PyPI packages), besides the project itself."""
    pip_part = [d for d in _environment()["dependencies"] if isinstance(d, dict)]
    entries = pip_part[0]["pip"] if pip_part else []
    return {name.strip().lower(): version for name, _, version in (e.partition("==") for e in entries if e != "-e .")}


def test_every_runtime_dependency_is_pinned_in_environment_yml():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {**_conda_pins(), **_pip_pins()}
    runtime = [_name(r) for r in project["dependencies"]]
    extras = [_name(r) for group in ("dev", "book") for r in project["optional-dependencies"][group]]
    for name in runtime + extras:
        conda = CONDA_NAME.get(name, name)
        assert conda in pins, f"{name} is in pyproject.toml but not in environment.yml"
        assert re.fullmatch(r"\d+(\.\d+)*", pins[conda]), f"{conda} is not pinned exactly: {pins[conda]!r}"
    pypi_names = {CONDA_NAME.get(n, n) for n in runtime + extras}
    extra_in_env = set(pins) - pypi_names - {"python", "pip"}
    assert not extra_in_env, f"environment.yml pins packages pyproject.toml does not name: {extra_in_env}"


def test_environment_yml_shape():
    env = _environment()
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in env["dependencies"]
    pip_part = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pip_part) == 1 and pip_part[0]["pip"][0] == "-e .", "the pip list must start with the project itself"
    for entry in pip_part[0]["pip"][1:]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==\d+(\.\d+)*", entry), f"pip entry {entry!r} is not an exact pin"
        assert _name(entry) not in _conda_pins(), f"{entry} is pinned twice (conda and pip)"
    for needed in ("jupyterlab", "jupytext", "papermill", "pytorch", "torchvision", "pot", "seaborn", "pandas",
                   "nbval", "pytest"):
        assert needed in _conda_pins()


def test_pyproject_uses_ranges_not_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    for req in project["dependencies"]:
        assert "==" not in req, f"{req}: exact pins belong in environment.yml"
    assert any(_name(r) == "jupyter-book" and "<2" in r for r in project["optional-dependencies"]["book"])


def test_pip_constraints_follow_the_pins():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "pip_constraints.py"), str(ROOT / "environment.yml")],
                         capture_output=True, text=True, check=True).stdout.split()
    pins = {**_conda_pins(), **_pip_pins()}
    expected = {f"{('torch' if n == 'pytorch' else n)}=={v}.*" for n, v in pins.items() if n not in ("python", "pip")}
    assert set(out) == expected
