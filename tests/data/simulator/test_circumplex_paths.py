"""Issue 22: two causal paths from circumplex nearness to the data, each changing only what it claims.

The annotation path (``annotation_geometry="cell"``) makes the annotator's confusion follow the cell's own
valence-arousal distances; the appearance path (``appearance_from_va``) draws each face towards the kernel mean of
the placed classes' AU prototypes at its class's position. References are independent: Russell & Mehrabian's (1977)
coordinates typed from the source, distances by ``math.hypot``, the FACS prototypes typed from EMFACS, binomial
bounds from scipy.
"""

import math

import numpy as np
import pytest
from scipy import stats

from affect_book.cache import config_hash
from affect_book.data.simulator import (PRESETS, annotation_matrix, appearance_weights, cell_positions,
                                        config_annotation_matrix, generate_split, make_config, render_examples,
                                        split_labels)
from affect_book.facs import RENDERED_AUS
from affect_book.params import ParameterError

TINY = dict(n_train=300, n_val=60, n_test=60, image_size=32)
KEYS = ("images", "expression", "va", "au", "subject", "true_expression", "true_va", "intensity", "au_intensity",
        "confound")
# Russell & Mehrabian (1977), (valence, arousal), typed from the source
ANGER, FEAR, HAPPY = (-0.51, 0.59), (-0.64, 0.60), (0.81, 0.51)
NEAR, FAR = 0.05, 0.6


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))


def _moved_pair(distance):
    """Anger and fear moved to ``distance`` apart about their midpoint, along the line through them (by hand)."""
    mid = ((ANGER[0] + FEAR[0]) / 2, (ANGER[1] + FEAR[1]) / 2)
    dv, da = ANGER[0] - FEAR[0], ANGER[1] - FEAR[1]
    norm = math.hypot(dv, da)
    half = (distance / 2 * dv / norm, distance / 2 * da / norm)
    return (mid[0] + half[0], mid[1] + half[1]), (mid[0] - half[0], mid[1] - half[1])


def _differ(a, b):
    return {k for k in KEYS if not np.array_equal(a[k], b[k], equal_nan=True)}


# (c) defaults: the hashes of every preset and the bytes of a split stay today's


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_knobs_at_their_defaults_keep_the_config_hash(preset):
    # the benchmark presets switch the annotation path on (restating it keeps the hash); the rest leave it off
    geometry = "cell" if preset in ("affwild2", "affectnet") else "published"
    assert PRESETS[preset].get("annotation_geometry", "published") == geometry
    explicit = dict(annotation_geometry=geometry, appearance_from_va=0.0, appearance_spread=0.25)
    assert config_hash(make_config(preset, "cpu", **explicit)) == config_hash(make_config(preset, "cpu"))
    assert config_hash(make_config(preset, "cpu", appearance_from_va=0.5)) != config_hash(make_config(preset, "cpu"))


def test_defaults_are_byte_identical_to_today():
    # the hash pinned in test_simulator_checksum.py before these knobs existed
    assert config_hash(make_config("affwild2_posed", "smoke")) == "571c8794a0779433"
    base = generate_split(make_config("affwild2", "smoke", **TINY), "train")
    explicit = generate_split(make_config("affwild2", "smoke", **TINY, annotation_geometry="published",
                                          appearance_from_va=0.0, appearance_spread=0.25), "train")
    assert not _differ(base, explicit)


@pytest.mark.parametrize("preset", ["affwild2", "affectnet"])
def test_cell_geometry_at_the_published_placement_is_the_published_annotator(preset):
    """Without a VA knob the cell's geometry is the published one (contempt at its default placement, Other
    without a position), so switching the annotation path on changes nothing until the pair moves."""
    published = make_config(preset, "smoke", **TINY)
    cell = make_config(preset, "smoke", **TINY, annotation_geometry="cell")
    assert np.allclose(config_annotation_matrix(cell), config_annotation_matrix(published), rtol=0, atol=1e-12)
    assert not _differ(generate_split(published, "test"), generate_split(cell, "test"))


@pytest.mark.parametrize("preset", ["affwild2", "affectnet"])
def test_the_benchmark_presets_carry_nearness_to_the_labels_as_shipped(preset):
    """Issue 22's acceptance on the preset itself, no knob typed but the distance: at pair_va_distance 0.05 against
    0.6 the training images differ (faces behind the labels), the observed labels keep the quota, and the designated
    pair is confused more often in the training labels when near, at the preset's own annotation noise (a labels-only
    draw of 200,000 rows, so the preset's small noise has power); the appearance path stays off (same faces per
    shown class)."""
    cfgs = {d: make_config(preset, "smoke", n_train=200000, n_val=0, n_test=0, label_fractions=(1.0, 1.0, 1.0),
                           pair_va_distance=d) for d in (NEAR, FAR)}
    assert cfgs[NEAR].annotation_geometry == "cell" and cfgs[NEAR].appearance_from_va == 0.0
    assert cfgs[NEAR].annotation_noise > 0
    i, j = (cfgs[NEAR].classes.index(c) for c in cfgs[NEAR].pair)
    labels = {d: split_labels(cfg, "train") for d, cfg in cfgs.items()}
    assert np.array_equal(labels[NEAR]["expression"], labels[FAR]["expression"])
    (n, near), (_, far) = (_pair_confusion(labels[d], i, j) for d in (NEAR, FAR))
    table = [[near, n - near], [far, n - far]]
    assert near > far and stats.fisher_exact(table, alternative="greater").pvalue < 1e-4, table
    images = {d: generate_split(make_config(preset, "smoke", n_train=1500, n_val=0, n_test=0, image_size=32,
                                            pair_va_distance=d), "train")
              for d in (NEAR, FAR)}
    same = images[NEAR]["true_expression"] == images[FAR]["true_expression"]
    assert not same.all() and not np.array_equal(images[NEAR]["images"], images[FAR]["images"])
    assert np.array_equal(images[NEAR]["images"][same], images[FAR]["images"][same])


# (d) the cell-geometry confusion matrix by hand


def test_cell_annotation_matrix_by_hand_three_classes():
    noise, spread = 0.3, 0.5
    cfg = make_config("balanced", "smoke", classes=("Anger", "Fear", "Happy"), pair=("Anger", "Fear"),
                      pair_va_distance=0.1, annotation_noise=noise, annotation_spread=spread,
                      annotation_geometry="cell")
    anger, fear = _moved_pair(0.1)
    assert np.allclose(cell_positions(cfg), [anger, fear, HAPPY], atol=1e-12)
    w_af = math.exp(-0.1 / spread)
    w_ah = math.exp(-math.hypot(anger[0] - HAPPY[0], anger[1] - HAPPY[1]) / spread)
    w_fh = math.exp(-math.hypot(fear[0] - HAPPY[0], fear[1] - HAPPY[1]) / spread)
    expected = np.array([
        [1 - noise, noise * w_af / (w_af + w_ah), noise * w_ah / (w_af + w_ah)],
        [noise * w_af / (w_af + w_fh), 1 - noise, noise * w_fh / (w_af + w_fh)],
        [noise * w_ah / (w_ah + w_fh), noise * w_fh / (w_ah + w_fh), 1 - noise]])
    assert np.allclose(config_annotation_matrix(cfg), expected, rtol=0, atol=1e-12)
    # the published annotator ignores the move: d(anger, fear) = 0.1304 as published
    published = config_annotation_matrix(make_config("balanced", "smoke", classes=("Anger", "Fear", "Happy"),
                                                     pair=("Anger", "Fear"), pair_va_distance=0.1,
                                                     annotation_noise=noise, annotation_spread=spread))
    w_pub = math.exp(-math.hypot(ANGER[0] - FEAR[0], ANGER[1] - FEAR[1]) / spread)
    w_pub_ah = math.exp(-math.hypot(ANGER[0] - HAPPY[0], ANGER[1] - HAPPY[1]) / spread)
    assert math.isclose(published[0, 1], noise * w_pub / (w_pub + w_pub_ah), abs_tol=1e-12)
    assert expected[0, 1] > published[0, 1]  # moved nearer than published: confused more


def test_cell_annotation_matrix_gives_other_the_mean_weight():
    """Other has no circumplex position in the cell either: it gets the mean off-diagonal weight of the placed."""
    noise, spread = 0.2, 0.5
    cfg = make_config("affwild2_posed", "smoke", classes=("Anger", "Fear", "Other"), pair=("Anger", "Fear"),
                      pair_va_distance=0.3, annotation_noise=noise, annotation_spread=spread,
                      annotation_geometry="cell")
    assert np.isnan(cell_positions(cfg)[2]).all()
    # two placed classes: the mean off-diagonal weight is w(anger, fear) itself, so every off-diagonal entry is equal
    assert np.allclose(config_annotation_matrix(cfg), [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    # the same through annotation_matrix's positions
    assert np.allclose(annotation_matrix(cfg.classes, noise, spread, positions=cell_positions(cfg)),
                       config_annotation_matrix(cfg))


# (a) the annotation path: near against far on affwild2


def _pair_confusion(labels, i, j):
    """(rows labelled i or j, of them showing the other pair class) over the labelled rows."""
    obs, shown = labels["expression"], labels["true_expression"]
    n = int(((obs == i) | (obs == j)).sum())
    k = int(((obs == i) & (shown == j)).sum() + ((obs == j) & (shown == i)).sum())
    return n, k


def test_annotation_path_confuses_the_near_pair_more_in_every_split():
    """affwild2 at pair_va_distance 0.05 against 0.6: the observed labels stay the quota's (published counts), the
    classes the faces show move, and the pair's label confusion (observed vs shown) follows the hand-computed
    matrix, higher when near. The noise is raised to 0.3 (the preset's 0.03) so 20,000 rows have power."""
    sizes = dict(n_train=20000, n_val=8000, n_test=8000, label_fractions=(1.0, 1.0, 1.0), annotation_noise=0.3)
    cfgs = {d: make_config("affwild2", "smoke", **sizes, pair_va_distance=d, annotation_geometry="cell")
            for d in (NEAR, FAR)}
    i, j = (cfgs[NEAR].classes.index(c) for c in cfgs[NEAR].pair)
    assert cfgs[NEAR].pair == ("Anger", "Fear")
    for split in ("train", "val", "test"):
        labels = {d: split_labels(cfg, split) for d, cfg in cfgs.items()}
        assert np.array_equal(labels[NEAR]["expression"], labels[FAR]["expression"])
        assert not np.array_equal(labels[NEAR]["true_expression"], labels[FAR]["true_expression"])
        rates = {}
        for d, cfg in cfgs.items():
            m = config_annotation_matrix(cfg)
            obs = labels[d]["expression"]
            n, k = _pair_confusion(labels[d], i, j)
            expected = ((obs == i).sum() * m[i, j] + (obs == j).sum() * m[j, i]) / n
            lo, hi = stats.binom.ppf([0.0005, 0.9995], n, expected) / n
            assert lo <= k / n <= hi, (split, d, k / n, expected)
            rates[d] = k / n
        assert rates[NEAR] > rates[FAR] + 0.03, (split, rates)
    # by hand at the preset's own noise: the anger -> fear weight rises as the pair moves together
    m = {d: config_annotation_matrix(make_config("affwild2", "smoke", pair_va_distance=d, annotation_geometry="cell"))
         for d in (NEAR, FAR)}
    assert m[NEAR][i, j] > 2 * m[FAR][i, j]


def test_annotation_path_moves_only_the_faces_behind_the_labels():
    """The path decides which class a face shows behind its label, never how a class looks: rows showing the same
    class at both distances have byte-identical images; without the path the two distances give the same faces."""
    base = dict(TINY, annotation_noise=0.3)
    for geometry in ("cell", "published"):
        near = generate_split(make_config("affwild2", "smoke", **base, pair_va_distance=NEAR,
                                          annotation_geometry=geometry), "train")
        far = generate_split(make_config("affwild2", "smoke", **base, pair_va_distance=FAR,
                                         annotation_geometry=geometry), "train")
        same = near["true_expression"] == far["true_expression"]
        assert np.array_equal(near["images"][same], far["images"][same])
        assert np.array_equal(near["au_intensity"][same], far["au_intensity"][same])
        assert np.array_equal(near["expression"], far["expression"])
        if geometry == "cell":
            assert not same.all() and not np.array_equal(near["images"], far["images"])
        else:
            assert same.all() and np.array_equal(near["images"], far["images"])


# (b) the appearance path


def test_appearance_path_moves_the_near_pairs_faces_together():
    """With only the appearance path on, labels (observed and shown) are identical at both distances, images
    differ, and the pair's mean AU patterns lie nearer when near, in AU space and in pixel space (each pattern
    rendered on one identity without nuisance: the classes' mean images over a few faces differ mostly by identity
    and nuisance). Without the path the two distances give the same images."""
    cfg = {(d, a): make_config("affwild2", "smoke", **TINY, pair_va_distance=d, appearance_from_va=a,
                               annotation_geometry="published")  # the preset's annotation path off
           for d in (NEAR, FAR) for a in (0.0, 1.0)}
    out = {key: generate_split(c, "train") for key, c in cfg.items()}
    assert np.array_equal(out[NEAR, 0.0]["images"], out[FAR, 0.0]["images"])
    near, far = out[NEAR, 1.0], out[FAR, 1.0]
    assert _differ(near, far) <= {"images", "au", "au_intensity", "va", "true_va"}
    assert not np.array_equal(near["images"], far["images"])
    for key in ("expression", "true_expression"):
        assert np.array_equal(near[key], far[key])
    i, j = (cfg[NEAR, 1.0].classes.index(c) for c in cfg[NEAR, 1.0].pair)
    rows_i, rows_j = near["true_expression"] == i, near["true_expression"] == j
    assert rows_i.sum() >= 5 and rows_j.sum() >= 5

    def patterns(split):
        x = split["au_intensity"].astype(np.float64).mean(axis=2)
        return x[rows_i].mean(axis=0), x[rows_j].mean(axis=0)

    def pixel_gap(split):
        faces = [render_examples(["mean"], aus=dict(zip(RENDERED_AUS, p)), size=32)[0, 0].astype(np.float64)
                 for p in patterns(split)]
        return float(np.abs(faces[0] - faces[1]).mean())

    au_gap = {key: float(np.linalg.norm(np.subtract(*patterns(split)))) for key, split in out.items()}
    assert au_gap[NEAR, 1.0] < 0.6 * au_gap[FAR, 1.0] and au_gap[FAR, 1.0] < au_gap[FAR, 0.0]
    assert pixel_gap(near) < 0.6 * pixel_gap(far)
    # Other (no position) keeps its faces
    other = near["true_expression"] == cfg[NEAR, 1.0].classes.index("Other")
    assert np.array_equal(near["images"][other], out[NEAR, 0.0]["images"][other])


def test_appearance_weights_by_hand_three_classes():
    spread = 0.25
    cfg = make_config("balanced", "smoke", classes=("Anger", "Fear", "Happy"), pair=("Anger", "Fear"),
                      pair_va_distance=0.1, appearance_from_va=0.5, appearance_spread=spread)
    anger, fear = _moved_pair(0.1)
    pts = [anger, fear, HAPPY]
    w = np.array([[math.exp(-math.hypot(p[0] - q[0], p[1] - q[1]) / spread) for q in pts] for p in pts])
    assert np.allclose(appearance_weights(cfg), w / w.sum(axis=1, keepdims=True), rtol=0, atol=1e-12)
    other = make_config("affwild2_posed", "smoke", appearance_from_va=0.5)
    k = other.classes.index("Other")
    assert np.array_equal(appearance_weights(other)[k], np.eye(len(other.classes))[k])
    assert (appearance_weights(other)[:, k][np.arange(len(other.classes)) != k] == 0).all()


def test_appearance_blend_in_the_data_by_hand():
    """An anger face gains the AU1 (inner brow raiser) its neighbours carry: fear (1+2+4+5+7+20+26), sadness
    (1+4+15) and surprise (1+2+5+26) at weight 1 each, anger itself (4+5+7+23) and the rest at 0, so its mean AU1
    intensity is a * (W[A, F] + W[A, Sa] + W[A, Su]) * E[gain] (gain uniform on [0.8, 1.1], mean 0.95), at intensity 1
    and without AU noise, on the rows without a spurious AU1."""
    a = 0.8
    counts = {c: (10.0 if c == "Anger" else 1.0) for c in PRESETS["affwild2_posed"]["classes"]}
    cfg = make_config("affwild2_posed", "smoke", n_train=4000, n_val=0, n_test=0, class_counts=counts, au_noise=0.0,
                      intensity_range=(1.0, 1.0), pair_va_distance=NEAR, appearance_from_va=a)
    off = split_labels(make_config("affwild2_posed", "smoke", n_train=4000, n_val=0, n_test=0, class_counts=counts,
                                   au_noise=0.0, intensity_range=(1.0, 1.0), pair_va_distance=NEAR), "train")
    on = split_labels(cfg, "train")
    c = cfg.classes
    au1 = RENDERED_AUS.index(1)
    rows = (on["true_expression"] == c.index("Anger")) & (off["au_intensity"][:, au1, 0] == 0)
    assert rows.sum() > 1000
    w = appearance_weights(cfg)[c.index("Anger")]
    expected = a * (w[c.index("Fear")] + w[c.index("Sadness")] + w[c.index("Surprise")]) * 0.95
    measured = on["au_intensity"][rows, au1].astype(np.float64).mean()
    assert abs(measured - expected) < 0.03 * expected, (measured, expected)


# (c) each path changes only what it claims


@pytest.mark.parametrize("knobs, allowed", [
    # the shown class moves (and with it the face, its AUs, its VA label, its corner mark); never the observed label
    ({"annotation_geometry": "cell"}, {"images", "au", "au_intensity", "true_expression", "va", "true_va",
                                       "confound"}),
    # the faces move; no label and no other draw does
    ({"appearance_from_va": 1.0}, {"images", "au", "au_intensity"}),
    ({"appearance_from_va": 0.5, "appearance_spread": 0.5}, {"images", "au", "au_intensity"}),
])
@pytest.mark.parametrize("split", ["train", "test"])
def test_each_path_changes_only_what_it_claims(knobs, allowed, split):
    fixed = dict(TINY, n_test=300, annotation_noise=0.3, pair_va_distance=NEAR)
    base = generate_split(make_config("affectnet_posed", "smoke", **fixed), split)
    on = generate_split(make_config("affectnet_posed", "smoke", **fixed, **knobs), split)
    diff = _differ(base, on)
    assert diff and diff <= allowed, (knobs, diff)


# (e) bad values


@pytest.mark.parametrize("bad, match", [
    ({"annotation_geometry": "cel"}, r"annotation_geometry.*'published', 'cell'.*Did you mean 'cell'"),
    ({"annotation_geometry": None}, "annotation_geometry"),
    ({"appearance_from_va": 1.5}, r"appearance_from_va.*\[0, 1\]"),
    ({"appearance_from_va": -0.1}, r"appearance_from_va.*\[0, 1\]"),
    ({"appearance_from_va": float("nan")}, r"appearance_from_va=nan.*\[0, 1\]"),
    ({"appearance_from_va": "high"}, "appearance_from_va.*a number"),
    ({"appearance_spread": 0}, r"appearance_spread.*0\.001"),
    ({"appearance_spread": 20.0}, r"appearance_spread.*10"),
])
def test_bad_path_values_name_the_field_and_the_range(bad, match):
    with pytest.raises(ParameterError, match=match):
        make_config("affwild2", "smoke", **bad)


def test_annotation_matrix_rejects_bad_positions():
    with pytest.raises(ParameterError, match=r"positions.*\(3, 2\)"):
        annotation_matrix(("Anger", "Fear", "Happy"), 0.1, positions=np.zeros((2, 2)))
    with pytest.raises(ParameterError, match="two placed"):
        annotation_matrix(("Anger", "Fear", "Happy"), 0.1, positions=[[0, 0], [np.nan, 0], [np.nan, np.nan]])
