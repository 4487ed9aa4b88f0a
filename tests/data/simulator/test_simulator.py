"""The face simulator: determinism, splits, calibration against the published counts, masks, knobs, errors."""

import subprocess
import sys

import numpy as np
import pytest
from support import digest
from torch.utils.data import DataLoader

from affect_book import circumplex as cx
from affect_book.data import ArrayDataset, generate_split, make_config, render_examples, simulate, simulate_all
from affect_book.data.simulator import AU_THRESHOLD
from affect_book.facs import ABAW_AUS, PROTOTYPES, RENDERED_AUS
from affect_book.params import ParameterError

SMALL = dict(n_train=600, n_val=200, n_test=200, image_size=32)

# Published counts, typed here from the original publications, independent of the package: s-Aff-Wild2 multi-task
# files (Kollias, D. (2022). ABAW: Learning from Synthetic Data & Multi-Task Learning Challenges. ECCV 2022
# Workshops) and AffectNet (Mollahosseini, A., Hasani, B. & Mahoor, M. H. (2019). AffectNet: A Database for Facial
# Expression, Valence, and Arousal Computing in the Wild. IEEE Transactions on Affective Computing 10, 18-31).
AFFWILD2_MTL_TRAIN = {"Neutral": 23976, "Anger": 4555, "Disgust": 3168, "Fear": 3122, "Happiness": 18135,
                      "Sadness": 7609, "Surprise": 5228, "Other": 24852}
AFFWILD2_MTL_VAL = {"Neutral": 1886, "Anger": 487, "Disgust": 565, "Fear": 1254, "Happiness": 3751,
                    "Sadness": 1893, "Surprise": 1003, "Other": 4601}
AFFECTNET_TRAIN = {"Neutral": 74874, "Happy": 134415, "Sad": 25459, "Surprise": 14090, "Fear": 6378,
                   "Disgust": 3803, "Anger": 24882, "Contempt": 3750}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))


_SCRIPT = """
import hashlib, sys, numpy as np
from affect_book.data import generate_split, make_config
cfg = make_config("affectnet", "smoke", n_train=300, n_val=100, n_test=100, image_size=40,
                  label_noise=(("Anger", "Contempt", 0.2),), visual_degeneracy=0.3)
h = hashlib.sha256()
for split in ("train", "val", "test"):
    arrays = generate_split(cfg, split, workers=int(sys.argv[1]))
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
print(h.hexdigest())
"""


@pytest.mark.slow
def test_byte_identical_across_processes_and_worker_counts():
    runs = [subprocess.run([sys.executable, "-c", _SCRIPT, w], capture_output=True, text=True, check=True)
            .stdout.strip() for w in ("1", "2")]
    assert len(runs[0]) == 64 and runs[0] == runs[1]
    other_seed = make_config("affectnet", "smoke", n_train=300, n_val=100, n_test=100, image_size=40, seed=1,
                             label_noise=(("Anger", "Contempt", 0.2),), visual_degeneracy=0.3)
    assert digest(generate_split(other_seed, "train")) != runs[0]


def test_identities_are_disjoint_between_splits():
    splits = simulate_all(make_config("balanced", "smoke", **SMALL))
    subjects = {s: set(ds.subject.tolist()) for s, ds in splits.items()}
    assert not subjects["train"] & subjects["val"]
    assert not subjects["train"] & subjects["test"]
    assert not subjects["val"] & subjects["test"]
    assert len(subjects["train"]) > 10  # several images per identity, many identities


@pytest.mark.parametrize("preset,published_train,published_eval", [
    ("affwild2", AFFWILD2_MTL_TRAIN, AFFWILD2_MTL_VAL),
    ("affectnet", AFFECTNET_TRAIN, {c: 500 for c in cx.CLASS_SETS["affectnet8"]}),
    ("balanced", {c: 1 for c in cx.CLASS_SETS["affectnet8"]}, {c: 1 for c in cx.CLASS_SETS["affectnet8"]}),
])
def test_class_frequencies_match_published_proportions(preset, published_train, published_eval):
    splits = simulate_all(make_config(preset, "smoke"))
    for split, published in (("train", published_train), ("val", published_eval), ("test", published_eval)):
        ds = splits[split]  # the observed labels: published counts count annotators' labels (issue 19)
        observed = np.bincount(ds.expression[ds.has_expression], minlength=len(ds.classes))
        counts = dict(zip(ds.classes, observed.tolist()))
        n = sum(counts.values())
        total = sum(published.values())
        for name in ds.classes:
            assert abs(counts[name] / n - published[name] / total) < 0.01, (preset, split, name)


def test_label_masks_follow_the_presets():
    aff = simulate_all(make_config("affwild2", "smoke"))["train"]
    n = len(aff)
    assert abs(aff.has_expression.mean() - 90645 / 142333) < 0.002  # MTL train rows with an expression label
    assert abs(aff.has_au.mean() - 103316 / 142333) < 0.002  # MTL train rows with AU labels
    assert aff.has_va.all()
    assert (aff.expression[~aff.has_expression] == -1).all() and np.isnan(aff.va[~aff.has_va]).all()
    assert ((aff.au == -1).all(axis=1) | (aff.au >= 0).all(axis=1)).all() and n == 2000
    net = simulate_all(make_config("affectnet", "smoke"))
    for ds in net.values():
        assert (ds.au == -1).all() and ds.has_expression.all() and ds.has_va.all()
    bal = simulate_all(make_config("balanced", "smoke", **SMALL))["val"]
    assert bal.has_expression.all() and bal.has_va.all() and bal.has_au.all()


def test_au_labels_are_the_thresholded_rendered_intensities():
    ds = simulate("balanced", "train", "smoke", **SMALL)
    cols = [RENDERED_AUS.index(a) for a in ABAW_AUS]
    expected = (ds.truth["au_intensity"][:, cols, :].max(axis=2) >= AU_THRESHOLD).astype(int)
    assert np.array_equal(ds.au, expected)
    happy = ds.truth["true_expression"] == ds.classes.index("Happy")
    au12 = ds.au[:, ABAW_AUS.index(12)]
    assert au12[happy].mean() > 0.95 and au12[ds.truth["true_expression"] == ds.classes.index("Sad")].mean() < 0.2


def test_dataset_records_and_dataloader():
    ds = simulate("affwild2", "val", "smoke", **SMALL)
    assert isinstance(ds, ArrayDataset) and ds.images.shape == (200, 32, 32, 3)
    batch = next(iter(DataLoader(ds, batch_size=16)))
    assert batch["image"].shape == (16, 3, 32, 32) and batch["au"].shape == (16, 12)
    assert all(s.startswith("sim") for s in batch["subject"])


def test_cache_is_reused_and_written_atomically(tmp_path, monkeypatch):
    from affect_book.data import simulator

    cfg = make_config("balanced", "smoke", **SMALL)
    first = simulate_all(cfg)
    root = tmp_path / "cache" / "simulator"
    entries = [p.name for p in root.iterdir() if p.is_dir()]  # (the build's lock file stays)
    assert len(entries) == 1 and not entries[0].startswith(".")  # no temporary directory left behind

    def no_generation(*args, **kwargs):
        raise AssertionError("regenerated instead of loading from the cache")

    monkeypatch.setattr(simulator._cache, "generate_split", no_generation)  # the name _build calls
    again = simulate_all(cfg)
    for s in first:
        assert np.array_equal(first[s].images, again[s].images) and np.array_equal(first[s].au, again[s].au)


def _gen(**knobs):
    cfg = make_config("balanced", "smoke", n_train=800, n_val=0, n_test=0, image_size=32, **knobs)
    return generate_split(cfg, "train")


def test_visual_degeneracy_changes_faces_of_the_pair_only_and_not_va():
    base, deg = _gen(), _gen(visual_degeneracy=1.0)
    classes = cx.CLASS_SETS["affectnet8"]
    pair = np.isin(base["true_expression"], [classes.index("Anger"), classes.index("Fear")])
    for key in ("va", "expression", "true_va", "intensity", "confound", "subject"):
        assert np.array_equal(base[key], deg[key], equal_nan=True), key
    assert not np.array_equal(base["images"][pair], deg["images"][pair])
    assert np.array_equal(base["images"][~pair], deg["images"][~pair])
    # at degeneracy 1 the two classes' mean AU intensities coincide (up to sampling), far apart at 0
    a = base["true_expression"] == classes.index("Anger")
    f = base["true_expression"] == classes.index("Fear")
    gap0 = np.abs(base["au_intensity"][a].mean(0) - base["au_intensity"][f].mean(0)).max()
    gap1 = np.abs(deg["au_intensity"][a].mean(0) - deg["au_intensity"][f].mean(0)).max()
    assert gap0 > 0.4 and gap1 < 0.1


def test_va_degeneracy_moves_the_pair_centroids_only_and_not_images():
    base, deg = _gen(), _gen(va_degeneracy=1.0)
    classes = cx.CLASS_SETS["affectnet8"]
    ia, ifr = classes.index("Anger"), classes.index("Fear")
    pair = np.isin(base["true_expression"], [ia, ifr])
    for key in ("images", "expression", "au", "au_intensity", "intensity"):
        assert np.array_equal(base[key], deg[key]), key
    assert np.array_equal(base["va"][~pair], deg["va"][~pair])
    published = cx.coordinates(["Anger", "Fear"], "russell1977").va
    cfg1 = make_config("balanced", "smoke", va_degeneracy=1.0)
    cent = cfg1.centroids()
    assert np.allclose(cent[ia], published.mean(0)) and np.allclose(cent[ifr], published.mean(0))
    half = make_config("balanced", "smoke", va_degeneracy=0.5).centroids()
    assert np.allclose(np.linalg.norm(half[ia] - half[ifr]), 0.5 * np.linalg.norm(published[0] - published[1]))


def test_confound_marks_training_faces_of_its_class_only():
    cfg = make_config("affectnet", "smoke", confound_strength=1.0, **SMALL)
    off = make_config("affectnet", "smoke", confound_strength=0.0, **SMALL)
    train, train_off = generate_split(cfg, "train"), generate_split(off, "train")
    contempt = train["true_expression"] == cfg.classes.index("Contempt")
    assert train["confound"][contempt].all()
    assert train["confound"][~contempt].mean() < 0.12
    for key in ("va", "expression", "au_intensity"):
        assert np.array_equal(train[key], train_off[key], equal_nan=True)
    changed = np.any(train["images"] != train_off["images"], axis=(1, 2, 3))
    assert np.array_equal(changed, train["confound"] != train_off["confound"])
    test = generate_split(cfg, "test")
    rates = [test["confound"][test["true_expression"] == k].mean() for k in range(8)]
    assert max(rates) < 0.2  # at test time the mark is independent of the class


def test_label_noise_swaps_labels_of_the_named_pair_only():
    base, noisy = _gen(), _gen(label_noise=(("Anger", "Fear", 0.5),))
    classes = cx.CLASS_SETS["affectnet8"]
    ia, ifr = classes.index("Anger"), classes.index("Fear")
    for key in ("images", "va", "au", "true_expression"):
        assert np.array_equal(base[key], noisy[key], equal_nan=True), key
    changed = base["expression"] != noisy["expression"]
    assert changed.any()
    assert set(base["expression"][changed]) <= {ia, ifr} and set(noisy["expression"][changed]) <= {ia, ifr}
    rate = changed[np.isin(base["true_expression"], [ia, ifr])].mean()
    assert 0.35 < rate < 0.65


def test_class_counts_knob_sets_frequencies():
    counts = {"Neutral": 5, "Happy": 1, "Sad": 1, "Surprise": 1, "Fear": 1, "Disgust": 1, "Anger": 1,
              "Contempt": 1}
    ds = simulate("balanced", "train", "smoke", class_counts=counts, **SMALL)
    assert ds.label_counts()["expression"]["Neutral"] == 250  # 5/12 of 600


def test_other_faces_contain_no_prototype():
    ds = generate_split(make_config("affwild2", "smoke", n_train=400, n_val=0, n_test=0), "train")
    other = ds["true_expression"] == cx.CLASS_SETS["affwild2"].index("Other")
    assert other.sum() > 50
    # the AUs drawn for Other (before noise) never contain a full happy, disgust or contempt set
    from affect_book.data.simulator import sample_other_aus
    sets = sample_other_aus(np.random.default_rng(0), 5000)
    for concept, variants in PROTOTYPES.items():
        for variant in variants:
            if variant:
                cols = [RENDERED_AUS.index(a) for a in variant]
                assert not (sets[:, cols] > 0).all(axis=1).any(), concept
    assert ((sets > 0).sum(axis=1) >= 1).all() and ((sets > 0).sum(axis=1) <= 3).all()


def test_signature_aus_by_hand():
    from affect_book.data.simulator import signature_aus
    # Aff-Wild2's classes with the EMFACS variants, counted by hand from affect_book.facs: 12 only happy (no
    # contempt here), 20 only fear, 17/23/24 only anger, 9/10/16 only disgust; 6 is happy's and (EMFACS) sad's
    concepts = [cx.concept_of(c) for c in cx.CLASS_SETS["affwild2"]]
    assert signature_aus(concepts, extended=True) == (9, 10, 12, 16, 17, 20, 23, 24)
    # without the EMFACS variants 6 is happy's alone and 17/24 nobody's
    assert signature_aus(concepts) == (6, 9, 10, 12, 16, 20, 23)
    # with contempt, 12 is shared (happy, contempt) and 14 contempt's signature
    assert 12 not in signature_aus(["happy", "contempt"]) and 14 in signature_aus(["happy", "contempt"])


def test_other_aus_shared_draws_no_signature_au_and_keeps_the_stream():
    from affect_book.data.simulator import sample_other_aus
    exclude = (9, 10, 16)
    shared = sample_other_aus(np.random.default_rng(0), 4000, True, exclude)
    assert not shared[:, [RENDERED_AUS.index(a) for a in exclude]].any()
    assert ((shared > 0).sum(axis=1) >= 1).all() and ((shared > 0).sum(axis=1) <= 3).all()
    # the excluded AUs' draws do not shift the stream: the same generator state follows either way
    r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
    sample_other_aus(r1, 100, True), sample_other_aus(r2, 100, True, exclude)
    assert r1.uniform() == r2.uniform()
    # the knob reaches the rendered faces: Other's faces show a signature AU only through the simulator's rare
    # spurious activations (at most 0.35), while with "any" a tenth of them show each
    shown = {}
    for option in ("any", "shared"):
        ds = generate_split(make_config("affwild2", "smoke", n_train=800, n_val=0, n_test=0, other_aus=option),
                            "train")
        other = ds["true_expression"] == cx.CLASS_SETS["affwild2"].index("Other")
        peak = ds["au_intensity"][other].max(axis=-1)  # (faces, AUs), the stronger side
        shown[option] = (peak[:, [RENDERED_AUS.index(a) for a in (9, 10, 23)]] > 0.4).mean(axis=0)
    assert (shown["shared"] < 0.01).all() and (shown["any"] > 0.05).all(), shown
    with pytest.raises(ParameterError, match="other_aus"):
        make_config("affwild2", "smoke", other_aus="none")


def test_each_rendered_au_moves_the_face():
    faces = render_examples(["Neutral"] + [f"AU{a}" for a in RENDERED_AUS], size=64)[0]
    neutral = faces[0].astype(int)
    for au, img in zip(RENDERED_AUS, faces[1:]):
        changed = (np.abs(img.astype(int) - neutral).max(axis=-1) > 30).sum()
        assert changed >= 8, f"AU{au} changes only {changed} pixels by more than 30 grey levels"


@pytest.mark.parametrize("call,match", [
    (lambda: make_config("affectnet9"), "preset"),
    (lambda: make_config("affwild2", pair=("Anger", "Contempt")), "Contempt"),
    (lambda: make_config("affwild2", pair=("Anger", "Angst")), "Angst"),
    (lambda: make_config("balanced", visual_degeneracy=1.5), "visual_degeneracy"),
    (lambda: make_config("balanced", va_degeneracy=-0.1), "va_degeneracy"),
    (lambda: make_config("balanced", shortcut_strength=2), "shortcut_strength"),
    (lambda: make_config("balanced", image_size=16), "image_size"),
    (lambda: make_config("balanced", label_noise=(("Anger", "Fear", 1.2),)), "label_noise"),
    (lambda: make_config("balanced", class_counts={"Happy": 3}), "lacks"),
    (lambda: make_config("balanced", blur=0.3), "unknown simulator option"),
    (lambda: simulate("balanced", "training"), "split"),
])
def test_clear_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


@pytest.mark.parametrize("size", [32, 112, 224])
def test_resolutions_and_empty_splits(size):
    splits = simulate_all(make_config("affwild2", "smoke", n_train=20, n_val=0, n_test=5, image_size=size))
    assert splits["train"].images.shape == (20, size, size, 3) and len(splits["val"]) == 0
    assert splits["train"].images.std() > 10  # faces, not a blank canvas


def test_a_face_does_not_depend_on_the_other_faces_in_its_batch():
    """Shapes are evaluated in windows bounding the whole batch; a window too small would clip a face differently
    alone than in company. Extreme AU intensities included."""
    from affect_book.data.render import render_faces
    from affect_book.data.simulator import sample_identities, sample_nuisance

    rng = np.random.default_rng(5)
    n = 24
    au = rng.uniform(0, 1, (n, len(RENDERED_AUS), 2)).astype(np.float32)
    au[:4] = 1.0
    au[4:8] = 0.0
    face = sample_identities(rng, n)
    nuis = sample_nuisance(rng, n, 1.0)
    together = render_faces(au, face, nuis, 48)
    for i in range(n):
        alone = render_faces(au[i:i + 1], {k: v[i:i + 1] for k, v in face.items()},
                             {k: v[i:i + 1] for k, v in nuis.items()}, 48)
        assert np.array_equal(alone[0], together[i]), i


@pytest.mark.parametrize("preset,options", [("affwild2", {}), ("affectnet_posed", {"nuisance": 0.8, "wild": 1.0})])
def test_render_rows_gives_the_rows_of_the_whole_split_byte_for_byte(preset, options):
    """Rows from several 64-row chunks, out of order, repeated, the last row of a chunk and of the split: the same
    pixels (pixel noise included) as rendering the whole split; bad indices are refused, naming the range."""
    from affect_book.data.simulator import render_rows

    cfg = make_config(preset, "smoke", n_train=0, n_val=0, n_test=200, image_size=40, seed=3, **options)
    whole = generate_split(cfg, "test")["images"]
    assert whole[:, :, :, :].std() > 10
    rows = [199, 0, 63, 64, 130, 5, 63, 127, 128]
    assert np.array_equal(render_rows(cfg, "test", rows), whole[rows])
    assert np.array_equal(render_rows(cfg, "test", np.array([], np.int64)), whole[:0])
    with pytest.raises(ValueError, match=r"\[0, 200\)"):
        render_rows(cfg, "test", [0, 200])
    with pytest.raises(ValueError, match="integer row indices"):
        render_rows(cfg, "test", np.array([0.0, 1.0]))


def test_affwild2_label_fractions_are_the_published_row_fractions():
    from affect_book.data import PRESETS

    # s-Aff-Wild2 MTL train: 90,645 of 142,333 rows have an expression label, 103,316 AU labels (typed here)
    assert PRESETS["affwild2"]["label_fractions"] == (90645 / 142333, 1.0, 103316 / 142333)


def test_the_synthetic_source_is_resolved_on_look_up_without_registering():
    from affect_book.data import sources
    from affect_book.data.simulator import SOURCE_OPTIONS, load_synthetic

    before = dict(sources.SOURCES)
    assert sources.SOURCES["synthetic"].loader is None  # importing the simulator registered nothing
    source = sources._source("synthetic")
    assert source.loader is load_synthetic and source.options == SOURCE_OPTIONS and not source.needs_root
    ds = sources.get_records("synthetic", split="test", preset="balanced", profile="smoke", n_train=8, n_val=8,
                             n_test=16)
    assert len(ds) == 16 and sources.SOURCES == before
    with pytest.raises(ValueError, match="takes no option"):
        sources.get_records("synthetic", layout="npy")
