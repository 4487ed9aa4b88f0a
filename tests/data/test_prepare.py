"""The prepared cache: right pixels with right labels, parallel equals serial, interruption and resumption."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from affect_book.data import affectnet, affwild2
from affect_book.data.batches import iterate_batches, random_crop, random_flip, to_float
from affect_book.data.prepare import decode_face, open_prepared, prepare
from support import ROOT
from support.real_fixtures import AFFECTNET_ROWS, affectnet_original, affwild2_unitask, color_of


@pytest.fixture(scope="module")
def an_root(tmp_path_factory):
    return affectnet_original(tmp_path_factory.mktemp("affectnet"))


def test_prepare_crops_faces_and_keeps_labels_with_pixels(an_root, tmp_path):
    records = affectnet.index(an_root, "train")
    cache = prepare(records, image_size=16, cache_dir=tmp_path / "c", workers=0, chunk_size=3)
    data = cache.dataset()
    assert data.images.shape == (7, 16, 16, 3)
    assert not data.images.flags.owndata and not data.images.flags.writeable  # a read-only view of the mapped file
    assert cache.skipped["image unreadable (corrupt or not an image)"] == 1  # a09's bytes
    assert cache.skipped["image missing"] == 1 and len(cache) == 7
    row_of = {r[0]: k for k, r in enumerate(AFFECTNET_ROWS)}
    for i, path in enumerate(cache.paths()):
        k = row_of[Path(path).stem]
        # the face box is filled with colour k, the rest grey: a correct crop is colour k everywhere (up to JPEG
        # error, larger at the box edge where chroma subsampling mixes in the grey)
        interior = data.images[i, 2:-2, 2:-2].astype(int)
        assert np.abs(interior - color_of(k)).max() <= 15, Path(path).stem
        assert np.abs(data.images[i].astype(int) - color_of(k)).mean() <= 12, Path(path).stem
        assert data.classes[data.expression[i]] == affectnet.CODE_NAMES[AFFECTNET_ROWS[k][1]]
    assert "a09" not in {Path(p).stem for p in cache.paths()}
    assert open_prepared(cache.path).manifest == cache.manifest


def test_decode_face_matches_a_plain_pil_crop_and_resize(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    box = (5, 3, 30, 28)
    expected = np.asarray(Image.fromarray(pixels).crop((5, 3, 35, 31)).resize((12, 12), Image.BILINEAR))
    np.testing.assert_array_equal(decode_face(tmp_path / "x.png", box, 12), expected)


def test_parallel_prepare_equals_serial(tmp_path):
    records = affwild2.index(affwild2_unitask(tmp_path / "aw"), "train")
    serial = prepare(records, image_size=8, cache_dir=tmp_path / "s", workers=0, chunk_size=2)
    parallel = prepare(records, image_size=8, cache_dir=tmp_path / "p", workers=2, chunk_size=2)
    np.testing.assert_array_equal(serial.dataset().images, parallel.dataset().images)
    assert serial.manifest["skipped"] == parallel.manifest["skipped"]
    # a complete cache is reused, not rebuilt
    assert prepare(records, image_size=8, cache_dir=tmp_path / "s", workers=0, chunk_size=2,
                   on_chunk_done=lambda c: pytest.fail("rebuilt")).path == serial.path


def test_killed_prepare_resumes_to_the_same_cache(an_root, tmp_path):
    """A prepare killed (SIGKILL, no clean-up) after 2 of 4 chunks leaves no complete-looking cache and no stale
    lock; rerun, it decodes only the missing chunks and ends byte-identical to an uninterrupted run."""
    cache_dir = tmp_path / "interrupted"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from affect_book.data import affectnet
        from affect_book.data.prepare import prepare
        records = affectnet.index({str(an_root)!r}, "train")
        done = []
        def kill_after_two(chunk):
            done.append(chunk)
            if len(done) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        prepare(records, image_size=16, cache_dir={str(cache_dir)!r}, workers=0, chunk_size=2,
                on_chunk_done=kill_after_two)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    assert (tmp_path / ".interrupted.lock").exists()  # killed while holding the build lock: the OS released it
    assert not (cache_dir / "manifest.json").exists() and not (cache_dir / "images.npy").exists()
    assert sorted(p.name for p in (cache_dir / "chunks").glob("*.npz")) == ["00000.npz", "00001.npz"]
    with pytest.raises(FileNotFoundError, match="no complete prepared cache"):
        open_prepared(cache_dir)

    records = affectnet.index(an_root, "train")
    redone = []
    resumed = prepare(records, image_size=16, cache_dir=cache_dir, workers=0, chunk_size=2,
                      on_chunk_done=redone.append)
    assert redone == [2, 3]
    clean = prepare(records, image_size=16, cache_dir=tmp_path / "clean", workers=0, chunk_size=2)
    assert (resumed.path / "images.npy").read_bytes() == (clean.path / "images.npy").read_bytes()
    for key in ("expression", "va", "au", "subject", "path"):
        np.testing.assert_array_equal(np.load(resumed.path / "labels.npz")[key],
                                      np.load(clean.path / "labels.npz")[key])
    assert resumed.manifest["skipped"] == clean.manifest["skipped"]
    assert not (cache_dir / "chunks").exists()


def test_a_failure_inside_prepare_leaves_an_incomplete_cache(an_root, tmp_path):
    records = affectnet.index(an_root, "train")

    def fail(chunk):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare(records, image_size=8, cache_dir=tmp_path / "c", workers=0, chunk_size=2, on_chunk_done=fail)
    with pytest.raises(FileNotFoundError):
        open_prepared(tmp_path / "c")
    assert len(prepare(records, image_size=8, cache_dir=tmp_path / "c", workers=0, chunk_size=2)) == 7


def test_a_cache_dir_of_other_records_is_refused(an_root, tmp_path):
    records = affectnet.index(an_root, "train")
    prepare(records, image_size=8, cache_dir=tmp_path / "c", workers=0)
    with pytest.raises(ValueError, match="other records or settings"):
        prepare(records, image_size=12, cache_dir=tmp_path / "c", workers=0)


# --- batches and tensor augmentation ----------------------------------------------------------------------------

def test_random_crop_matches_a_per_image_reference():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (5, 3, 6, 7), dtype=torch.uint8)
    out = random_crop(images, padding=2, generator=g)
    g = torch.Generator().manual_seed(0)
    oy = torch.randint(0, 5, (5,), generator=g)
    ox = torch.randint(0, 5, (5,), generator=g)
    for b in range(5):
        padded = np.zeros((3, 10, 11), dtype=np.uint8)
        padded[:, 2:8, 2:9] = images[b].numpy()
        np.testing.assert_array_equal(out[b].numpy(), padded[:, oy[b]:oy[b] + 6, ox[b]:ox[b] + 7])


def test_random_flip_and_to_float():
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (64, 3, 4, 5), dtype=torch.uint8)
    out = random_flip(images, generator=g)
    flipped = [bool((out[b] == images[b].flip(-1)).all() and not (out[b] == images[b]).all()) for b in range(64)]
    kept = [bool((out[b] == images[b]).all()) for b in range(64)]
    assert all(f or k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 54
    x = to_float(torch.tensor([[[[0, 255]]]], dtype=torch.uint8))
    assert x.dtype == torch.float32 and x.flatten().tolist() == [-1.0, 1.0]


def test_iterate_batches_covers_every_record_once(an_root, tmp_path):
    data = prepare(affectnet.index(an_root, "train"), image_size=8, cache_dir=tmp_path / "c", workers=0).dataset()
    seen = []
    for batch in iterate_batches(data, batch_size=3, shuffle=True, seed=0):
        assert batch["image"].shape[1:] == (3, 8, 8) and batch["image"].dtype == torch.uint8
        rows = batch["index"].numpy()
        np.testing.assert_array_equal(batch["image"].permute(0, 2, 3, 1).numpy(), data.images[rows])
        np.testing.assert_array_equal(batch["expression"].numpy(), data.expression[rows])
        seen += rows.tolist()
    assert sorted(seen) == list(range(len(data)))


def test_load_indexes_prepares_and_returns_an_array_dataset(tmp_path, monkeypatch):
    from affect_book.data import sources
    from support.real_fixtures import affwild2_multitask

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    root = affwild2_multitask(tmp_path / "aw")
    data = sources.load("affwild2", root, "train", image_size=8, workers=0, progress=False)
    assert len(data) == 6 and data.images.shape == (6, 8, 8, 3) and data.source == "affwild2:train"
    assert data.expression.tolist() == [4, 1, -1, -1, 3, 0] and data.has_va.sum() == 4
    assert data.prepared.path.parent == tmp_path / "cache" / "prepared"
    record = data[0]
    assert record["image"].shape == (3, 8, 8) and record["subject"] == "116"


# --- concurrency, damage, fingerprint ----------------------------------------------------------------------------

_RACER = """
import hashlib, json, os, sys, time
from affect_book.data import manifest
from affect_book.data.prepare import prepare
root, cache_dir, ready, go = sys.argv[1:5]
records = manifest.index(root, "all")
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
cache = prepare(records, image_size=16, cache_dir=cache_dir, workers=0, chunk_size=2)
data = cache.dataset()
print(json.dumps({"n": len(data), "images": hashlib.sha256(data.images.tobytes()).hexdigest()}))
"""


@pytest.mark.slow
def test_three_processes_preparing_at_once_build_one_cache_identical_to_a_serial_build(tmp_path):
    """Before the lock, three processes released together crashed (FileNotFoundError on a chunk another had
    removed, or a bus error on an images.npy another was rewriting) in most runs; now one builds, two wait."""
    from support.real_fixtures import manifest_faces

    root = manifest_faces(tmp_path / "faces", n=40)
    shared, go = tmp_path / "shared", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(root), str(shared), str(tmp_path / f"ready{i}"),
                               str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(3)]
    while not all((tmp_path / f"ready{i}").exists() for i in range(3)):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in outputs]
    from affect_book.data import manifest

    serial = prepare(manifest.index(root, "all"), image_size=16, cache_dir=tmp_path / "serial", workers=0,
                     chunk_size=2)
    for name in ("images.npy",):
        assert (shared / name).read_bytes() == (serial.path / name).read_bytes()
    for key in ("expression", "va", "au", "subject", "path"):
        np.testing.assert_array_equal(np.load(shared / "labels.npz")[key], np.load(serial.path / "labels.npz")[key])
    import hashlib

    digest = hashlib.sha256(serial.dataset().images.tobytes()).hexdigest()
    assert [json.loads(out) for out, _ in outputs] == [{"n": 40, "images": digest}] * 3
    assert serial.dataset().images.any(axis=(1, 2, 3)).all()  # no all-zero image
    assert sorted(p.name for p in shared.iterdir()) == ["config.json", "images.npy", "labels.npz", "manifest.json"]


@pytest.fixture()
def built(an_root, tmp_path):
    records = affectnet.index(an_root, "train")
    clean = prepare(records, image_size=8, cache_dir=tmp_path / "clean", workers=0)
    return records, clean


def _damage(folder: Path, name: str, how: str) -> Path:
    target = folder / name
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2] if how == "truncate" else b"\x93NUMPY garbage" + bytes(range(50)))
    return target


@pytest.mark.parametrize("name,how,match", [
    ("images.npy", "truncate", "truncated"),  # was: "mmap length is greater than file size", no file named
    ("images.npy", "garbage", "not a .npy array"),
    ("labels.npz", "truncate", "unreadable"),
    ("labels.npz", "garbage", "unreadable"),
    ("manifest.json", "truncate", "not a prepared-cache manifest"),  # was: a JSON syntax error
])
def test_a_damaged_cache_file_is_named_moved_aside_and_rebuilt(built, tmp_path, name, how, match):
    from affect_book.data.prepare import CorruptCacheError

    records, clean = built
    folder = tmp_path / "c"
    prepare(records, image_size=8, cache_dir=folder, workers=0)
    damaged = _damage(folder, name, how)
    damaged_bytes = damaged.read_bytes()
    with pytest.raises(CorruptCacheError, match=match) as info:
        open_prepared(folder)
    assert info.value.file == damaged and str(damaged) in str(info.value)
    with pytest.warns(RuntimeWarning, match=f"{name}.*moved the cache to"):
        rebuilt = prepare(records, image_size=8, cache_dir=folder, workers=0)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("c.corrupt-")]
    assert len(aside) == 1 and (aside[0] / name).read_bytes() == damaged_bytes  # kept for inspection
    assert (rebuilt.path / "images.npy").read_bytes() == (clean.path / "images.npy").read_bytes()
    assert len(rebuilt.dataset()) == len(clean.dataset()) == 7


def test_dataset_names_a_file_damaged_after_opening(built):
    from affect_book.data.prepare import CorruptCacheError

    _, clean = built
    cache = open_prepared(clean.path)
    _damage(clean.path, "images.npy", "truncate")
    with pytest.raises(CorruptCacheError, match=r"images\.npy"):
        cache.dataset()


def test_fingerprint_follows_the_content(an_root, tmp_path):
    records = affectnet.index(an_root, "train")
    a = prepare(records, image_size=8, cache_dir=tmp_path / "a", workers=0)
    same = prepare(records, image_size=8, cache_dir=tmp_path / "b", workers=0, chunk_size=3)
    bigger = prepare(records, image_size=12, cache_dir=tmp_path / "d", workers=0)
    edited = records.select(np.arange(len(records)))
    edited.expression[0] = (edited.expression[0] + 1) % len(edited.classes)
    relabelled = prepare(edited, image_size=8, cache_dir=tmp_path / "e", workers=0)
    assert len(a.fingerprint) == 64 and a.fingerprint == same.fingerprint  # chunking changes no byte
    assert len({a.fingerprint, bigger.fingerprint, relabelled.fingerprint}) == 3
    assert a.dataset().fingerprint == a.fingerprint


_RANK = """
import datetime, json, os, sys, time
import torch.distributed as dist
from affect_book.data import prepare as prepare_module, sources
root, store, out = sys.argv[1:4]
rank = int(os.environ["RANK"])
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2,
                        timeout=datetime.timedelta(seconds=3))
if rank == 0:
    time.sleep(1.0)  # rank 1 reaches load first: without the barrier it would take the lock and decode
decoded = []
original = prepare_module._prepare_chunk


def slow_chunk(folder, chunk, *rest):  # a decode longer than a collective may wait
    decoded.append(chunk)
    time.sleep(5)
    return original(folder, chunk, *rest)


prepare_module._prepare_chunk = slow_chunk
data = sources.load("manifest", root, "train", image_size=8, workers=0, progress=False)
print(json.dumps({"rank": rank, "decoded": len(decoded), "n": len(data), "path": str(data.prepared.path),
                  "fingerprint": data.fingerprint}))
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_under_torch_distributed_rank_0_prepares_and_the_others_wait(tmp_path):
    """Rank 1 waits for rank 0's decode (5 s) on the lock, not at a collective (3 s timeout here; NCCL's default
    10 minutes is less than a real decode of AffectNet)."""
    from support.real_fixtures import manifest_faces

    root = manifest_faces(tmp_path / "faces", n=6)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "AFFECT_BOOK_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", _RANK, str(root), str(tmp_path / "store"), "x"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env, "RANK": str(r)})
             for r in (1, 0)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    result = {r["rank"]: r for r in (json.loads(out) for out, _ in outputs)}
    assert result[0]["decoded"] == 1 and result[1]["decoded"] == 0  # the one chunk, decoded on rank 0 only
    assert result[0]["path"] == result[1]["path"] and result[0]["n"] == result[1]["n"] == 6
    assert result[0]["fingerprint"] == result[1]["fingerprint"]


def test_files_that_disagree_with_the_manifest_are_named(built, tmp_path):
    from affect_book.data.prepare import CorruptCacheError

    records, clean = built
    folder = tmp_path / "c"
    prepare(records, image_size=8, cache_dir=folder, workers=0)
    np.save(folder / "images.npy", np.zeros((7, 8, 9, 3), dtype=np.uint8))  # a whole .npy of another shape
    with pytest.raises(CorruptCacheError, match=r"images\.npy: holds a \(7, 8, 9, 3\) uint8 array; the manifest "
                                                r"says \(7, 8, 8, 3\)"):
        open_prepared(folder)
    (folder / "images.npy").write_bytes((clean.path / "images.npy").read_bytes())
    with np.load(folder / "labels.npz") as labels:
        arrays = {k: labels[k][:-1] if k == "va" else labels[k] for k in labels.files}
    np.savez(folder / "labels.npz", **arrays)
    with pytest.raises(CorruptCacheError, match=r"labels\.npz: label arrays of lengths \{'va': \(6,\)\}"):
        open_prepared(folder)


def test_a_build_waits_for_the_lock_and_names_it_on_timeout(an_root, tmp_path, capsys):
    from affect_book.cache import file_lock

    records = affectnet.index(an_root, "train")
    with file_lock(tmp_path / ".c.lock"):  # another builder holds it
        with pytest.raises(TimeoutError, match=r"\.c\.lock \(the prepared cache .*c\)"):
            prepare(records, image_size=8, cache_dir=tmp_path / "c", workers=0, progress=True, lock_timeout=0.2)
    assert "waiting for another process preparing" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()  # nothing written without the lock
    assert len(prepare(records, image_size=8, cache_dir=tmp_path / "c", workers=0, lock_timeout=0.2)) == 7
