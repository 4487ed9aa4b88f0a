"""Pinned checksums of the simulator's output: a refactoring that changes no byte keeps them.

The digests were first computed at ``SIMULATOR_VERSION = 1`` (before ``data/simulator.py`` was split into a package
and ``render_faces`` into one painter per face part, which changed no byte). Version 2 re-pinned them: AU17 (chin
raiser) joined the rendered AUs, so the AU axis grew from 17 to 18 and every stream shaped by it draws differently;
the cache keys changed because the configuration gained the issue-10 knobs (all neutral in the first three
configurations, which pin the easy ``*_posed`` presets, the v1 ``affwild2``/``affectnet``); ``render_examples``
without AU noise kept its v1 bytes. Version 3 re-pinned them again: disgust's AUs (9 nose wrinkler, 10 upper-lip
raiser, 16 lower-lip depressor) are drawn larger, so every face showing them changed; the ``other_aus="shared"`` knob
(Other's random AUs exclude every class's signature AU) is covered by ``v3-knobs``, and ``render_examples`` gained a
disgust pin. A deliberate change of the output bumps ``SIMULATOR_VERSION`` and updates these
digests in the same commit, saying why; any other change that breaks them is a regression. The configurations cover
every code path: partial label masks (``affwild2_posed``), the shortcut mark and no-AU labels (``affectnet_posed``),
every v1 knob at a non-neutral value, every v2 knob at a non-neutral value (``v2-knobs``), full nuisance at 64 px,
and ``render_examples``.
"""

import pytest
from support import digest

from affect_book.cache import config_hash
from affect_book.data.simulator import SPLITS, generate_split, make_config, render_examples


def _knobs_config():
    return make_config("affectnet_posed", "smoke", n_train=256, n_val=64, n_test=64, image_size=64, va_degeneracy=0.4,
                       visual_degeneracy=0.6, confound_strength=0.8, label_noise=(("Anger", "Contempt", 0.3),),
                       label_fractions=(0.7, 0.8, 0.9), seed=3)


def _v2_knobs_config():
    return make_config("affwild2_posed", "smoke", n_train=256, n_val=64, n_test=64, image_size=64, au_dropout=0.4,
                       intensity_beta=(1.5, 3.0), emfacs_variants=True, contempt_scale=0.5, wild=1.0,
                       label_confusion=(("Anger", "Neutral", 0.3), ("Fear", "Surprise", 0.2)),
                       pair_va_distance=0.3, visual_partner=("Sadness", "Happiness", 0.4), va_from_au=0.5, seed=5)


def _v3_knobs_config():
    return make_config("affwild2_posed", "smoke", n_train=256, n_val=64, n_test=64, other_aus="shared",
                       emfacs_variants=True, class_intensity=(("Disgust", 1.5), ("Other", 0.5)), seed=7)


CONFIGS = {
    "affwild2_posed-smoke": lambda: make_config("affwild2_posed", "smoke"),
    "affectnet_posed-smoke": lambda: make_config("affectnet_posed", "smoke"),
    "affectnet-knobs-64px": _knobs_config,
    "v2-knobs": _v2_knobs_config,
    "v3-knobs": _v3_knobs_config,
}

# (config_hash, {split: sha256 of every array generate_split returns})
PINNED = {
    "affectnet-knobs-64px": ("1cebd156d6769ece", {
        "train": "6cc7c97f83a26ee79705729827837f17d4f46f6e2e8a5f9dcc99f6dac80d5957",
        "val": "78c25686dd06fac80a6488f04d9b2b298a3fef55078ce487f2824bf8db30d56b",
        "test": "d82a84586115bf57058e09d34ce45907a09a84bd0c24aeb12b13ee429103ba4b"}),
    "affectnet_posed-smoke": ("ccc001abb7411f57", {
        "train": "afd995ed740dd85ddf9b1b5c0a78a1da159119fecf8d20ec567dda7ad593663b",
        "val": "8fadd65b931d1988a7dbb703c6bd186c3008ddc3926996f9030406789367aa0e",
        "test": "fed29b218ec348fd03db97880120a6a59d94c19b46cc727e0033caa8de6bc1c9"}),
    "affwild2_posed-smoke": ("571c8794a0779433", {
        "train": "b959b9e24a897f651ed160fb7678f92ff03729304fb2d976ba4c39b046e7827f",
        "val": "97db93ec4ea3d92123ed426425916cea50497bfce4a3c2a12f805ffe1a1398e1",
        "test": "b99c72b06ff7911c391d207bc641b902b39e67cab906abaf10cc6a53f1d2972a"}),
    "v2-knobs": ("81c6eaf78f755334", {
        "train": "be309801ed19a741741fe9b3d74de0664a7c0ff18c1ca085caa549510f001811",
        "val": "ca7d8a58afd9edd6c0bf70fa2844fa529d6dd14331c60f8131d69df1c2d69fc5",
        "test": "56e17339789db81d20f548b400aba7a7ef8db980e04c401efc0e2d1c36c5d5bf"}),
    "v3-knobs": ("39ecd439bc8dc34f", {
        "train": "df074fbceda51cadebc73e3ea7ebe59dde69afc571a2c8b7d84b050d47d0a10a",
        "val": "a825ee1585dba234906dee2c28f32bae2cd17a7e969eca5297a3d237252106e2",
        "test": "d6b478f935a7525c27555db8a9f67c662559188e94927f7ef1a2e804c27357cf"}),
}

EXAMPLES_PINNED = {
    "aus": "b78f09c5d3603c5fbc95cd202fc4e5d11d4b593cc9f521989d773939ca37ae05",
    "classes": "380d5b075645e5d9f8de47e03d220cecdecbf8a9134185d320442b6ca0d3eb0f",
    "disgust": "bf92df46bfb44e3ae1cf3d6e3e54bfa5cea190431d67f7836e31d774b85b1e22",
    "nuisance": "04ce99aa30481d7ea93dccbc57db9acd543afa61f41d3cca0702558528b8b050",
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
        "disgust": render_examples(["Disgust", "AU9", "AU10", "AU16"], intensity=[0.5, 1.0], size=48),
    }


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_simulator_output_checksum_is_pinned(name):
    config = CONFIGS[name]()
    cache_key, digests = PINNED[name]
    assert config_hash(config) == cache_key, "the cache key changed"
    for split in SPLITS:
        assert digest(generate_split(config, split)) == digests[split], (name, split)


@pytest.mark.parametrize("name", sorted(EXAMPLES_PINNED))
def test_render_examples_checksum_is_pinned(name):
    assert digest({"images": _examples()[name]}) == EXAMPLES_PINNED[name], name
