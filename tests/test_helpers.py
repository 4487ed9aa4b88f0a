"""Profiles, parameter validation, device choice, seeding and the config-hash cache."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from affect_book import cache, device, params, profiles


def test_check_choice_lists_valid_values_and_suggests():
    with pytest.raises(params.ParameterError) as err:
        params.check_choice("COORDINATES", "russel1980", ("russell1977", "russell1980"))
    msg = str(err.value)
    assert "COORDINATES='russel1980'" in msg and "'russell1977'" in msg and "'russell1980'" in msg
    assert "Did you mean 'russell1980'" in msg
    assert params.check_choice("X", "a", ["a", "b"]) == "a"


def test_check_number():
    assert params.check_number("SEEDS", 5, low=1, integer=True) == 5
    with pytest.raises(params.ParameterError, match="integer"):
        params.check_number("SEEDS", 2.5, integer=True)
    with pytest.raises(params.ParameterError, match="integer"):
        params.check_number("SEEDS", True, integer=True)
    with pytest.raises(params.ParameterError, match=r"out of range.*\[0, 1\]"):
        params.check_number("LAMBDA", 1.5, low=0, high=1)


def test_check_path(tmp_path):
    assert params.check_path("DATA_ROOT", None) is None
    assert params.check_path("DATA_ROOT", str(tmp_path)) == tmp_path
    with pytest.raises(params.ParameterError, match="no such file"):
        params.check_path("DATA_ROOT", str(tmp_path / "nope"))


def test_profiles_in_one_place():
    assert list(profiles.PROFILES) == ["smoke", "cpu", "gpu"]
    smoke, cpu, gpu = (profiles.get_profile(n) for n in ("smoke", "cpu", "gpu"))
    assert smoke.n_train < cpu.n_train < gpu.n_train
    assert 32 <= smoke.image_size <= cpu.image_size <= gpu.image_size <= 224
    with pytest.raises(params.ParameterError, match="'smoke', 'cpu', 'gpu'"):
        profiles.get_profile("fast")
    assert list(profiles.profiles_table().index) == ["smoke", "cpu", "gpu"]


def test_choose_device_cpu_note(capsys):
    dev = device.choose_device("cpu")
    assert dev.type == "cpu"
    assert "running on the CPU" in capsys.readouterr().out
    if not torch.cuda.is_available():
        assert device.choose_device("auto", verbose=False).type in ("cpu", "mps")
        with pytest.raises(RuntimeError, match="not available"):
            device.choose_device("cuda")
    with pytest.raises(params.ParameterError, match="'auto', 'cuda', 'mps', 'cpu'"):
        device.choose_device("gpu")


def test_seed_everything_reproducible():
    import random

    device.seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3))
    rng_a = device.seed_everything(7).normal(size=3)
    device.seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3))
    rng_b = device.seed_everything(7).normal(size=3)
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    assert np.array_equal(rng_a, rng_b)
    with pytest.raises(ValueError, match="non-negative integer"):
        device.seed_everything(-1)


def test_import_has_no_side_effects():
    code = ("import random, numpy as np; s = random.getstate(); n = np.random.get_state()[1].copy();"
            "import affect_book, affect_book.circumplex, affect_book.profiles, affect_book.params,"
            " affect_book.device, affect_book.cache, affect_book.site.book, affect_book.cli;"
            "assert random.getstate() == s; assert (np.random.get_state()[1] == n).all()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


@dataclasses.dataclass
class _Config:
    lr: float = 1e-3
    seed: int = 0
    cost: str = "va"
    layers: tuple = (1, 2)


def test_config_hash_changes_with_every_field_and_ignores_key_order():
    base = cache.config_hash(_Config())
    assert base == cache.config_hash(_Config())
    for change in ({"lr": 2e-3}, {"seed": 1}, {"cost": "uniform"}, {"layers": (1, 3)}):
        assert cache.config_hash(dataclasses.replace(_Config(), **change)) != base
    assert cache.config_hash({"a": 1, "b": [1, 2]}) == cache.config_hash({"b": [1, 2], "a": 1})
    assert cache.config_hash({"a": np.int64(3)}) == cache.config_hash({"a": 3})
    with pytest.raises(TypeError, match="cannot hash"):
        cache.config_hash({"a": object()})


def test_a_field_added_with_omit_default_keeps_old_keys():
    """A field declared with OMIT_DEFAULT is left out of the hash at its default (old configurations keep their
    key), and changes it at any other value; the hash is that of the dataclass without the field."""

    @dataclasses.dataclass(frozen=True)
    class _Config:  # the same name, so the '__type__' entry matches the older class's
        lr: float = 1e-3
        seed: int = 0
        cost: str = "va"
        layers: tuple = (1, 2)
        noise: float = dataclasses.field(default=0.0, metadata=cache.OMIT_DEFAULT)

    old = cache.config_hash(globals()["_Config"]())
    assert cache.config_hash(_Config()) == old
    assert cache.config_hash(_Config(noise=0.1)) != old
    assert cache.config_hash(_Config(noise=0.1)) != cache.config_hash(_Config(noise=0.2))


def test_cache_root_and_atomic_write(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    d = cache.run_dir("model", {"x": 1})
    assert d.parent == tmp_path / "c" / "model" and len(d.name) == 16
    target = cache.atomic_write_bytes(d / "result.bin", b"abc")
    assert target.read_bytes() == b"abc"
    assert [p.name for p in d.iterdir()] == ["result.bin"]  # no temporary file left behind
    monkeypatch.delenv("AFFECT_BOOK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "affect-book"
    assert os.environ.get("AFFECT_BOOK_CACHE") is None


def test_file_lock_excludes_a_second_process_and_is_released_when_its_holder_is_killed(tmp_path):
    """Two processes: while one holds the lock the other times out; SIGKILL of the holder frees it (no stale lock)."""
    import signal
    import subprocess
    import sys
    import time

    from affect_book.cache import file_lock

    lock = tmp_path / "run.lock"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\nfrom affect_book.cache import file_lock\n"
                               f"with file_lock({str(lock)!r}):\n    print('held', flush=True)\n    time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        with pytest.raises(TimeoutError, match="run.lock"):
            with file_lock(lock, timeout=0.3):
                pass
        assert time.perf_counter() - t0 >= 0.25
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with file_lock(lock, timeout=5):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_seed_everything_leaves_pythonhashseed_alone(monkeypatch):
    """Issue 9, point 13: setting PYTHONHASHSEED at run time has no effect on the running interpreter."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    device.seed_everything(5)
    assert "PYTHONHASHSEED" not in os.environ
