"""The run cache: keyed on the data as well as the config, one trainer per run across processes, corrupt files
named, moved aside and rebuilt."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from support import ROOT
from support.toy import CLASSES, toy, toy_config

from affect_book.cache import file_lock
from affect_book.data import ArrayDataset
from affect_book.data import base as data_base
from affect_book.trainer import run_key, train


@pytest.fixture(scope="module")
def sets():
    return toy(96, 0), toy(32, 1), toy(32, 2)


def _copy(ds, **change):
    arrays = {k: getattr(ds, k).copy() for k in ("images", "expression", "va", "au", "subject")}
    return ArrayDataset(**{**arrays, **change}, classes=ds.classes, source=ds.source)


@pytest.mark.slow
def test_edited_labels_are_a_new_run(sets, tmp_path):
    """Issue 9, point 18: after editing a dataset's labels the same config used to return the old run."""
    train_set, val_set, test_set = sets
    config = toy_config(epochs=1)
    first = train(config, train_set, val_set, test_set, root=tmp_path, progress=False)
    edited = _copy(train_set)
    edited.expression[:20] = (edited.expression[:20] + 1) % len(CLASSES)
    again = train(config, edited, val_set, test_set, root=tmp_path, progress=False)
    assert not first.loaded_from_cache and not again.loaded_from_cache
    assert again.run_dir != first.run_dir and again.config_hash == first.config_hash
    assert train(config, _copy(train_set), val_set, test_set, root=tmp_path, progress=False).loaded_from_cache
    # the test set is part of the key as well (its predictions are saved)
    other_test = _copy(test_set, va=np.where(np.isfinite(test_set.va), -test_set.va, np.nan))
    assert run_key(config, train_set, val_set, other_test) != run_key(config, train_set, val_set, test_set)


def test_fingerprint_covers_labels_and_every_image_byte(sets, monkeypatch):
    ds = sets[0]
    digest = data_base.dataset_fingerprint(ds)
    assert data_base.dataset_fingerprint(_copy(ds)) == digest  # content, not identity
    images = ds.images.copy()
    images[-1, -1, -1, -1] ^= 1
    au = ds.au.copy()
    au[3, 0] = -1 if au[3, 0] != -1 else 1
    changed = [_copy(ds, images=images), _copy(ds, au=au), _copy(ds, va=np.nan_to_num(ds.va, nan=0.5))]
    assert len({digest, *(data_base.dataset_fingerprint(c) for c in changed)}) == 4
    monkeypatch.setattr(data_base, "_HASH_CHUNK_BYTES", 1000)  # hashed in many chunks: the same digest
    assert data_base.dataset_fingerprint(ds) == digest
    own = _copy(ds)
    own.fingerprint = "prepared-cache-v3:abc"  # a source's own fingerprint is used as it is, without hashing
    assert data_base.dataset_fingerprint(own) == "prepared-cache-v3:abc"


@pytest.mark.slow
def test_two_processes_train_a_run_once(tmp_path):
    """Two processes asking for the same run: one trains it, the other waits for the lock and then loads it."""
    from support import train_lock_worker as worker

    folder = tmp_path / run_key(worker.CONFIG, *worker.sets())
    path = [str(ROOT / "tests"), str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(path)}
    with file_lock(folder / ".lock"):  # hold the run's lock until both processes are waiting on it
        procs = [subprocess.Popen([sys.executable, "-m", "support.train_lock_worker", str(tmp_path)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()[-2000:]
        time.sleep(2.0)
        assert not (folder / "checkpoint.pt").exists() and not (folder / "result.json").exists()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(o["loaded_from_cache"] for o in outputs) == [False, True]
    assert all(o["epochs"] == 2 for o in outputs)
    assert len(json.loads((folder / "result.json").read_text())["history"]) == 2


@pytest.fixture(scope="module")
def finished(sets, tmp_path_factory):
    """A reference run, trained once: corrupted copies are compared with it."""
    root = tmp_path_factory.mktemp("reference")
    return train(toy_config(epochs=2), *sets, root=root, progress=False)


def _garble(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if how == "truncate" else b"not what you think" * 10)


@pytest.mark.parametrize("name, how", [("result.json", "truncate"), ("result.json", "garbage"),
                                       ("best_model.pt", "garbage"), ("best_model.pt", "truncate"),
                                       ("predictions.npz", "garbage"), ("predictions.npz", "truncate")])
@pytest.mark.slow
def test_corrupt_finished_run_is_named_moved_aside_and_rebuilt(sets, finished, tmp_path, name, how):
    """Issue 9, point 22: a garbage best_model.pt or predictions.npz used to load as cached, a truncated
    result.json to fail with a JSON error that read like the user's config was wrong."""
    config = toy_config(epochs=2)
    first = train(config, *sets, root=tmp_path, progress=False)
    _garble(first.run_dir / name, how)
    lines = []
    again = train(config, *sets, root=tmp_path, progress=False, log=lines.append)
    assert not again.loaded_from_cache
    assert any(str(first.run_dir / name) in line and "moved aside" in line for line in lines), lines
    assert (first.run_dir / f"{name}.corrupt-1").is_file()
    assert again.test_metrics == finished.test_metrics  # rebuilt: the same run as the reference (CPU, seeded)
    state, reference = again.model_state(), finished.model_state()
    assert all(torch.equal(state[k], reference[k]) for k in reference)
    assert np.array_equal(again.predictions()["logits"], finished.predictions()["logits"])
    assert train(config, *sets, root=tmp_path, progress=False).loaded_from_cache


@pytest.mark.slow
def test_corrupt_checkpoint_is_named_moved_aside_and_the_run_restarts(sets, finished, tmp_path):
    """Issue 9, point 22: a garbage checkpoint.pt used to end in a bare traceback."""
    config = toy_config(epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train(config, *sets, root=tmp_path, stop_after_epoch=1, progress=False)
    checkpoint = tmp_path / run_key(config, *sets) / "checkpoint.pt"
    _garble(checkpoint, "truncate")
    lines = []
    resumed = train(config, *sets, root=tmp_path, progress=False, log=lines.append)
    assert any(str(checkpoint) in line and "moved aside" in line for line in lines), lines
    assert checkpoint.with_name("checkpoint.pt.corrupt-1").is_file() and not checkpoint.exists()
    assert len(resumed.history) == 2
    state, reference = resumed.model_state(), finished.model_state()
    assert all(torch.equal(state[k], reference[k]) for k in reference)
