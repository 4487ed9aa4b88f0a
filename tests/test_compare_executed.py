"""tools/compare_executed.py: masked times and paths compare equal, a changed number does not."""

import json
import subprocess
import sys
from pathlib import Path

from support import ROOT


def _chapter(folder: Path, text: str) -> None:
    cell = {"cell_type": "code", "source": "print(x)", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": [text]}]}
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "notebooks").mkdir(parents=True)
    (folder / "notebooks" / "07_x.ipynb").write_text(json.dumps(nb))


def _compare(tmp_path, before: str, after: str):
    _chapter(tmp_path / "a", before)
    _chapter(tmp_path / "b", after)
    return subprocess.run([sys.executable, str(ROOT / "tools" / "compare_executed.py"), str(tmp_path / "a"),
                           str(tmp_path / "b")], capture_output=True, text=True)


def test_times_dates_and_paths_are_masked(tmp_path):
    done = _compare(tmp_path, "P_MTL 0.867 in 81.5 s, 1,168 images/s, 2026-12-06T16:45:44+00:00, /tmp/a/run\n",
                    "P_MTL 0.867 in 12.0 s, 902 images/s, 2026-12-07T09:01:02+00:00, /tmp/b/other\n")
    assert done.returncode == 0, done.stdout
    assert "1 of 1 chapter(s) print the same" in done.stdout


def test_a_changed_number_is_reported(tmp_path):
    done = _compare(tmp_path, "P_MTL 0.867\n", "P_MTL 0.868\n")
    assert done.returncode == 1
    assert "DIFFERENT" in done.stdout and "-P_MTL 0.867" in done.stdout and "+P_MTL 0.868" in done.stdout


def test_cache_state_and_worker_order_are_masked(tmp_path):
    before = ("[1/2] grid 1/1: base / seed 0: trained in 18.2 s, P_MTL 0.253\n"
              "[2/2] grid 1/1: base / seed 1: trained in 17.2 s, P_MTL 0.154\n"
              "2 runs: 2 trained, 0 loaded from the cache\n")
    after = ("[1/2] grid 1/1: base / seed 1: loaded from the cache, P_MTL 0.154\n"
             "[2/2] grid 1/1: base / seed 0: loaded from the cache, P_MTL 0.253\n"
             "2 runs: 0 trained, 2 loaded from the cache\n")
    assert _compare(tmp_path, before, after).returncode == 0
    assert _compare(tmp_path / "x", before, after.replace("0.154", "0.155")).returncode == 1
