"""The simulator's cache under concurrency and interruption: one build for concurrent callers, orphans of killed
builds removed by the next build, identical bytes (checked against the pinned checksums), and fingerprints."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import hashlib
import json

import numpy as np
import pytest
from support import ROOT, digest
from test_simulator_checksum import PINNED

from affect_book.cache import config_hash, file_lock
from affect_book.data.simulator import SIMULATOR_VERSION, SPLITS, dataset_fingerprint, make_config, simulate_all


# Builds the smoke affwild2_posed preset (pinned in test_simulator_checksum) after a start signal, and reports whether
# it built. A build writes into a new folder ".<config_hash>.tmp-<pid>-<random>" (the cache's documented layout): an
# audit hook (PEP 578) sees this process create one.
_BUILD = """
import os, sys, time
from affect_book.data.simulator import make_config, simulate_all
go = sys.argv[1]
while go and not os.path.exists(go):
    time.sleep(0.005)
built = []
own = f".tmp-{os.getpid()}-"
sys.addaudithook(lambda event, args: built.append(1) if event == "os.mkdir" and own in str(args[0]) else None)
cfg = make_config("affwild2_posed", "smoke")
simulate_all(cfg, workers=1)
print("built" if built else "loaded", flush=True)
"""


def _env(cache: Path) -> dict:
    return dict(os.environ, AFFECT_BOOK_CACHE=str(cache), OMP_NUM_THREADS="1",
                PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def _check_pinned(cache: Path) -> None:
    cfg = make_config("affwild2_posed", "smoke")
    key, digests = PINNED["affwild2_posed-smoke"]
    directory = cache / "simulator" / key
    assert config_hash(cfg) == key and (directory / "done.json").is_file()
    for split in SPLITS:  # the cache's files, <split>/<array>.npy, read as they lie
        arrays = {p.stem: np.load(p, allow_pickle=False) for p in (directory / split).glob("*.npy")}
        assert len(arrays) == 10 and digest(arrays) == digests[split], split


def _hidden_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("."))


@pytest.mark.slow
def test_concurrent_builds_of_one_config_build_once_with_identical_bytes(tmp_path):
    cache, go = tmp_path / "cache", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _BUILD, str(go)], env=_env(cache), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    time.sleep(1.0)  # let them import; they all wait for the start file
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    reports = sorted(out.strip() for out, _ in outs)
    assert reports == ["built", "loaded", "loaded"]  # one build; the others waited on the lock and loaded it
    assert _hidden_dirs(cache / "simulator") == []
    _check_pinned(cache)


@pytest.mark.slow
def test_a_killed_build_leaves_an_orphan_that_the_next_build_removes(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    root = cache / "simulator"
    proc = subprocess.Popen([sys.executable, "-c", _BUILD, ""], env=_env(cache))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if root.is_dir() and any((p / "train" / "images.npy").exists() for p in _hidden_dirs(root)):
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the build finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    orphans = _hidden_dirs(root)
    assert len(orphans) == 1 and ".tmp-" in orphans[0].name and not (root / PINNED["affwild2_posed-smoke"][0]).exists()
    # an orphan of another configuration whose builder is dead (name as earlier versions wrote it): removed; one
    # whose configuration is being built right now (its lock held): kept
    dead, alive = root / ".0123456789abcdef.x1y2z3", root / ".fedcba9876543210.tmp-1-abc"
    for folder in (dead, alive):
        (folder / "train").mkdir(parents=True)
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(cache))
    with file_lock(root / ".fedcba9876543210.lock"):
        simulate_all(make_config("affwild2_posed", "smoke"), workers=1)
    assert _hidden_dirs(root) == [alive]
    _check_pinned(cache)


@pytest.mark.parametrize("name,damage", [
    ("images.npy", lambda p: os.truncate(p, p.stat().st_size // 2)),
    ("au.npy", lambda p: p.write_bytes(b"not an array")),
    ("va.npy", lambda p: p.unlink()),
])
def test_an_unreadable_cache_file_is_named_and_the_entry_rebuilt(tmp_path, monkeypatch, name, damage):
    cache = tmp_path / "cache"
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(cache))
    cfg = make_config("affwild2_posed", "smoke")
    simulate_all(cfg, workers=1)
    path = cache / "simulator" / config_hash(cfg) / "train" / name
    damage(path)
    with pytest.warns(RuntimeWarning, match=re.escape(f"simulator cache file {path}")):
        simulate_all(cfg, workers=1)
    _check_pinned(cache)


def test_datasets_carry_a_fingerprint_of_config_version_and_split(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    cfg = make_config("balanced", "smoke", n_train=40, n_val=20, n_test=20)
    splits = simulate_all(cfg, workers=1)
    prints = {s: ds.fingerprint for s, ds in splits.items()}
    assert len(set(prints.values())) == 3 and all(len(p) == 64 for p in prints.values())
    assert prints == {s: dataset_fingerprint(cfg, s) for s in SPLITS}
    assert simulate_all(cfg, workers=1, use_cache=False)["val"].fingerprint == prints["val"]  # same content
    other = make_config("balanced", "smoke", n_train=40, n_val=20, n_test=20, label_noise=(("Anger", "Fear", 0.1),))
    assert dataset_fingerprint(other, "val") != prints["val"]

    # by hand, from the documented recipe: sha256 of the config hash, the simulator version and the split, so a new
    # simulator version changes every fingerprint
    def by_hand(version):
        text = json.dumps({"config": config_hash(cfg, length=64), "simulator_version": version, "split": "val"},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    assert by_hand(SIMULATOR_VERSION) == prints["val"] and by_hand(SIMULATOR_VERSION + 1) != prints["val"]
    with pytest.raises(ValueError, match="split"):
        dataset_fingerprint(cfg, "validation")
