"""Pinned checksums of the simulator's output: a refactoring that changes no byte keeps them.

The digests were computed once from the simulator at ``SIMULATOR_VERSION = 1`` (before ``data/simulator.py`` was
split into a package and ``render_faces`` into one painter per face part). A deliberate change of the output bumps
``SIMULATOR_VERSION`` and updates these digests in the same commit, saying why; any other change that breaks them
is a regression. The configurations cover every code path: partial label masks (``affwild2``), the confound and
no-AU labels (``affectnet``), every knob at a non-neutral value, full nuisance at 64 px, and ``render_examples``.
"""

import hashlib

import numpy as np
import pytest

from affect_book.cache import config_hash
from affect_book.data.simulator import SPLITS, generate_split, make_config, render_examples


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def _knobs_config():
    return make_config("affectnet", "smoke", n_train=256, n_val=64, n_test=64, image_size=64, va_degeneracy=0.4,
                       visual_degeneracy=0.6, confound_strength=0.8, label_noise=(("Anger", "Contempt", 0.3),),
                       label_fractions=(0.7, 0.8, 0.9), seed=3)


CONFIGS = {
    "affwild2-smoke": lambda: make_config("affwild2", "smoke"),
    "affectnet-smoke": lambda: make_config("affectnet", "smoke"),
    "affectnet-knobs-64px": _knobs_config,
}

# (config_hash, {split: sha256 of every array generate_split returns})
PINNED = {
    "affectnet-knobs-64px": ("c9b6386a1001b625", {
        "train": "9c90952b3cff7ff5a9a3e32b843b5c256d6d6aefbc42b9d8c2f4211c6f915a17",
        "val": "c0f01c827c6b6f86c3d0886b37869988327d506ee80091b2b7b9666db6bfeb0f",
        "test": "11bfa52a820da5e93559c22f2522c666d4dbd43fd705ddd157aade271d56486d"}),
    "affectnet-smoke": ("d0a42bb22b5c0954", {
        "train": "3048ec48eee52b3863f163210867b56176a0652ef26b6f96a667fa6aa5ea8c91",
        "val": "3255cb9a4828063affc48bddc7134d3930c92bdbdfc5234294ffdd44b0cb1dda",
        "test": "a5e88f56c70bb31aa4fa42f497cb549138916080a7588e1c6f4e7edf99ad2e96"}),
    "affwild2-smoke": ("08caac522f687433", {
        "train": "2ddc17d83a45544efae3777bcc508746f0bd59288fba9bfea66fe125ac502841",
        "val": "fc6f5315faccebee286a6d61f145d0b465d3f4181d145b34ba8c23104a0ab789",
        "test": "c67a6bbdc17a933e95caa0fc93b39096af97ac481a1cf4380e962cea8a879b06"}),
}

EXAMPLES_PINNED = {
    "aus": "b78f09c5d3603c5fbc95cd202fc4e5d11d4b593cc9f521989d773939ca37ae05",
    "classes": "380d5b075645e5d9f8de47e03d220cecdecbf8a9134185d320442b6ca0d3eb0f",
    "nuisance": "e4ab06529275978e468859e86112253b645fc9bfb82586a2d43980cff51c0d5e",
    "pair": "8352863434c5baf78f3d50ddc189e7cce670a00d9fff597f2314c18f1128c11d",
}


def _examples():
    return {
        "classes": render_examples(["Neutral", "Happy", "Contempt", "Fear", "AU4"], intensity=[0.5, 1.0],
                                   n_identities=2, size=64),
        "nuisance": render_examples(["Anger", "Sad", "Surprise"], n_identities=3, size=48, nuisance=1.0,
                                    au_noise=0.1, identity_seed=4, seed=2, side=1),
        "pair": render_examples(["Anger", "Fear"], pair=("Anger", "Fear"), visual_degeneracy=0.7, size=40),
        "aus": render_examples(["custom"], aus={12: 0.8, 6: 0.5, 25: 0.3}, size=96),
    }


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_simulator_output_checksum_is_pinned(name):
    config = CONFIGS[name]()
    cache_key, digests = PINNED[name]
    assert config_hash(config) == cache_key, "the cache key changed"
    for split in SPLITS:
        assert _digest(generate_split(config, split)) == digests[split], (name, split)


@pytest.mark.parametrize("name", sorted(EXAMPLES_PINNED))
def test_render_examples_checksum_is_pinned(name):
    assert _digest({"images": _examples()[name]}) == EXAMPLES_PINNED[name], name
