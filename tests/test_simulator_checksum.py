"""Pinned checksums of the simulator's output: a refactoring that changes no byte keeps them.

The digests were first computed at ``SIMULATOR_VERSION = 1`` (before ``data/simulator.py`` was split into a package
and ``render_faces`` into one painter per face part, which changed no byte). Version 2 re-pinned them: AU17 (chin
raiser) joined the rendered AUs, so the AU axis grew from 17 to 18 and every stream shaped by it draws differently;
the cache keys changed because the configuration gained the issue-10 knobs (all neutral in the first three
configurations, which pin the easy ``*_posed`` presets, the v1 ``affwild2``/``affectnet``); ``render_examples``
without AU noise kept its v1 bytes. A deliberate change of the output bumps ``SIMULATOR_VERSION`` and updates these
digests in the same commit, saying why; any other change that breaks them is a regression. The configurations cover
every code path: partial label masks (``affwild2_posed``), the shortcut mark and no-AU labels (``affectnet_posed``),
every v1 knob at a non-neutral value, every v2 knob at a non-neutral value (``v2-knobs``), full nuisance at 64 px,
and ``render_examples``.
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
    return make_config("affectnet_posed", "smoke", n_train=256, n_val=64, n_test=64, image_size=64, va_degeneracy=0.4,
                       visual_degeneracy=0.6, confound_strength=0.8, label_noise=(("Anger", "Contempt", 0.3),),
                       label_fractions=(0.7, 0.8, 0.9), seed=3)


def _v2_knobs_config():
    return make_config("affwild2_posed", "smoke", n_train=256, n_val=64, n_test=64, image_size=64, au_dropout=0.4,
                       intensity_beta=(1.5, 3.0), emfacs_variants=True, contempt_scale=0.5, wild=1.0,
                       label_confusion=(("Anger", "Neutral", 0.3), ("Fear", "Surprise", 0.2)),
                       pair_va_distance=0.3, visual_partner=("Sadness", "Happiness", 0.4), va_from_au=0.5, seed=5)


CONFIGS = {
    "affwild2_posed-smoke": lambda: make_config("affwild2_posed", "smoke"),
    "affectnet_posed-smoke": lambda: make_config("affectnet_posed", "smoke"),
    "affectnet-knobs-64px": _knobs_config,
    "v2-knobs": _v2_knobs_config,
}

# (config_hash, {split: sha256 of every array generate_split returns})
PINNED = {
    "affectnet-knobs-64px": ("9ce4f2367eb1f5e9", {
        "train": "d17af6c3ae15ab6e8f585014711068a3207379648ae98677e14ce174301226b9",
        "val": "4c468484f55b8ec189357990db07db3cb89b816b3542e1f44a04f4906f1ba1e5",
        "test": "b978744ca467eb59544821cba13a881497c2810c4437edae291f5963af14b8d8"}),
    "affectnet_posed-smoke": ("1eb78bb1a8dd030c", {
        "train": "b90e95f79899d624236dad4172e721e82ec09a5cdb077e1c3cdeb9f97f98ecdc",
        "val": "71ae47d282cf134a79da4e0134869ec86b92550087f85d1cb9286fffbfddbcb5",
        "test": "9885c6a70b507c04d7a0fb71d17ddd5b34df947a294ec621aaf7181a70e24237"}),
    "affwild2_posed-smoke": ("aca295038f365260", {
        "train": "3f32740bbf359280abce1f4a85834bc6167be421e3db6020c165f7010622b357",
        "val": "e20332ea5449dd9ad2b3f73faac95a7ad82aa68358f14ad3f00ef714fd6a7129",
        "test": "03f81028ba432ebbb891c15665e421ee34c11941e665b7a8b616e27470cca6ee"}),
    "v2-knobs": ("3462a597aa589e74", {
        "train": "baff5adbb51740efdff7be2411062a37169c092ff2ddfdb183f4791c0ab9ab97",
        "val": "0ce2a691ce201d5ded715cfce142bb56c40bf3f547096164f7f9fad798bcf859",
        "test": "8e4298c679ef62be48998da503a763904144c9c36e4c6a9b2d3934b4fc95c172"}),
}

EXAMPLES_PINNED = {
    "aus": "b78f09c5d3603c5fbc95cd202fc4e5d11d4b593cc9f521989d773939ca37ae05",
    "classes": "380d5b075645e5d9f8de47e03d220cecdecbf8a9134185d320442b6ca0d3eb0f",
    "nuisance": "63f463bea440b53fe4025f437fb2494bf8067217c5adc07b86ea7dd31d68f594",
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
