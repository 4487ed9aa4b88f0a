"""The embedded default data source: faces simulated from FACS action units. Introduced in chapter 03.

AffectNet and Aff-Wild2 are licence-gated, so every chapter runs on this simulator unless the reader points it at
real data. It is a laboratory, not a stand-in for real faces: each cause the book argues about is a separate knob.

**How a sample is made.** A class is drawn by quota (exact class frequencies); its AU prototype comes from
:data:`affect_book.facs.PROTOTYPES` (one variant when a class has several; contempt on one random side of the
face); "Other" draws 1 to 3 random AUs that contain no prototype (no complete happy, disgust or contempt set).
An *intensity* in ``intensity_range`` scales the prototype, per-AU gains and Gaussian AU noise are added, and a few
spurious AUs switch on weakly. The face is drawn by :func:`affect_book.data.render.render_faces` with an
*identity* (face shape, proportions, skin, hair and iris colour; identities are disjoint between train, val and
test) and *nuisance* (head pose, lighting, blur, pixel noise, an occluding rectangle, the background).

**Labels.** ``expression``: the class index in ``classes``; ``va``: valence and arousal drawn around the class's
centroid scaled by intensity, ``centroid * (0.55 + 0.45 * intensity) + N(0, sd)``, so a stronger expression sits
further from the neutral origin (higher arousal for the aroused classes); ``au``: the 12 ABAW AUs, 1 when the
rendered intensity (the larger side) reaches :data:`AU_THRESHOLD`. Centroids come from a published coordinate set
(``coordinates``, default Russell & Mehrabian 1977) with hand placements (``placements``) for classes it lacks:
by default **contempt at the midpoint of anger and disgust** and **Other at the origin with a wide spread**
(sd 0.30 instead of 0.08). Both are assumptions, the same ones chapter 01 offers, and are stated in every table.

**Presets** (calibration; sources in ``shared/reference/FACTS.md``):

- ``affwild2``: the Aff-Wild2-8 classes (with Other). Training frequencies are the s-Aff-Wild2 multi-task (MTL)
  train counts of valid expression labels (Neutral 23,976, Anger 4,555, Disgust 3,168, Fear 3,122, Happiness
  18,135, Sadness 7,609, Surprise 5,228, Other 24,852; FACTS section 2); validation and test use the MTL validation
  counts. Rows carry partial labels like the MTL file: 90,645 of 142,333 train rows have an expression label
  (63.7 %), 103,316 have AU labels (72.6 %); FACTS has no count of valid VA rows, so every row keeps VA (an
  assumption). The designated pair is anger-fear.
- ``affectnet``: the AffectNet-8 classes (with contempt), training frequencies of the AffectNet training set
  (FACTS section 3: Neutral 74,874, Happy 134,415, Sad 25,459, Surprise 14,090, Fear 6,378, Disgust 3,803, Anger
  24,882, Contempt 3,750); validation and test balanced like AffectNet's validation set (500 per class). No AU
  labels (the real set has none). The designated pair is anger-contempt, and a visual confound sits at that
  corner: in training, contempt faces carry a yellow corner mark with probability 0.05 + 0.95 * 0.5 (strength
  0.5), every other face with probability 0.05; at validation and test the mark is independent of the class.
- ``balanced``: the AffectNet-8 classes, equal frequencies everywhere, all labels, no confound; pair anger-fear.

**Knobs** (each independent of the others; each draws from its own random stream, so turning one changes only what
it claims): ``train_proportions``/``eval_proportions`` (class frequencies; or ``class_counts=`` in
:func:`make_config`); ``va_degeneracy`` in [0, 1] moves the pair's valence-arousal centroids towards their midpoint
(1 = identical centroids; images untouched); ``visual_degeneracy`` in [0, 1] blends the pair's AU prototypes
towards their mean (1 = identical faces in distribution; VA labels untouched); ``confound_strength`` in [0, 1]
correlates the corner mark with ``confound_class`` in training only; ``label_noise``: ``((a, b, rate), ...)``
swaps the training expression labels of classes a and b with probability ``rate`` (the face and VA stay those of
the true class; validation and test labels stay clean so a chapter can measure the harm).

**Determinism and cache.** Every random stream is a ``numpy.random.Generator`` seeded from
``(seed, split, stream)`` (and the chunk for pixel noise), parameters are quantised to 1/4096 and rendering is
elementwise IEEE arithmetic, so the same config gives byte-identical arrays on any machine and with any number of
worker processes. :func:`simulate` stores the three splits under ``cache_root()/simulator/<config_hash>/``
(written to a temporary directory, then renamed) and loads them (memory-mapped) on the next call.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .. import circumplex as cx
from ..cache import cache_root, config_hash
from ..facs import ABAW_AUS, PROTOTYPES, RENDERED_AUS, UNILATERAL
from ..params import ParameterError, check_choice, check_number
from ..profiles import get_profile
from .base import ArrayDataset
from .published import PUBLISHED
from .render import FACE_PARAMETERS, NUISANCE_PARAMETERS, render_faces

__all__ = [
    "AU_THRESHOLD", "PRESETS", "SPLITS", "SimulatorConfig", "generate_split", "make_config", "render_examples",
    "sample_identities", "simulate", "simulate_all",
]

#: Renderer and sampler version, part of the cache key: bump when a change alters any output byte.
SIMULATOR_VERSION = 1
#: Rendered AU intensity at or above which an ABAW AU is labelled present.
AU_THRESHOLD = 0.3
SPLITS: tuple[str, ...] = ("train", "val", "test")
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
_STREAMS = {"class": 1, "identity": 2, "assign": 3, "intensity": 4, "au": 5, "va": 6, "nuisance": 7, "noise": 8,
            "mask": 9, "flip": 10, "confound": 11}
_CHUNK = 64  # rendering chunk; fixed, so the per-chunk noise streams never depend on the machine
_Q = 4096.0  # parameter quantum

# The published class counts the presets are calibrated to (FACTS.md sections 2 and 3), from their one home.
_AFFWILD2_TRAIN = PUBLISHED["s-affwild2-train"].counts
_AFFWILD2_VAL = PUBLISHED["s-affwild2-val"].counts
_AFFECTNET_TRAIN = PUBLISHED["affectnet-train"].counts


def _proportions(classes, counts: Mapping[str, float]) -> tuple[float, ...]:
    total = float(sum(counts[c] for c in classes))
    return tuple(counts[c] / total for c in classes)


#: Preset definitions (see the module docstring for the calibration and its sources).
PRESETS: dict[str, dict] = {
    "affwild2": dict(
        classes=cx.CLASS_SETS["affwild2"],
        train_proportions=_proportions(cx.CLASS_SETS["affwild2"], _AFFWILD2_TRAIN),
        eval_proportions=_proportions(cx.CLASS_SETS["affwild2"], _AFFWILD2_VAL),
        pair=("Anger", "Fear"), confound_class=None, confound_strength=0.0,
        label_fractions=(90645 / 142333, 1.0, 103316 / 142333)),
    "affectnet": dict(
        classes=cx.CLASS_SETS["affectnet8"],
        train_proportions=_proportions(cx.CLASS_SETS["affectnet8"], _AFFECTNET_TRAIN),
        eval_proportions=tuple([1 / 8] * 8),
        pair=("Anger", "Contempt"), confound_class="Contempt", confound_strength=0.5,
        label_fractions=(1.0, 1.0, 0.0)),
    "balanced": dict(
        classes=cx.CLASS_SETS["affectnet8"], train_proportions=tuple([1 / 8] * 8),
        eval_proportions=tuple([1 / 8] * 8), pair=("Anger", "Fear"), confound_class=None, confound_strength=0.0,
        label_fractions=(1.0, 1.0, 1.0)),
}


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that determines a simulated dataset (its hash is the cache key). Build with :func:`make_config`.

    ``classes``: class names in label order; ``train_proportions``/``eval_proportions``: class frequencies (sum 1)
    of the train split and of val/test; ``n_train``/``n_val``/``n_test``: images per split; ``image_size``: pixels
    per side (32..224); ``pair``: the designated pair the degeneracy knobs act on; ``va_degeneracy``,
    ``visual_degeneracy``, ``confound_strength``: knobs in [0, 1]; ``confound_class``: class the corner mark
    follows in training (None: no confound); ``label_noise``: ((a, b, rate), ...) training label swaps;
    ``label_fractions``: fraction of rows with an expression, VA and AU label; ``coordinates``: published set the
    VA centroids come from; ``placements``: ((class, (valence, arousal)), ...) hand placements (assumptions);
    ``intensity_range``: expression intensity bounds; ``au_noise``: sd of AU noise; ``nuisance``: scale of pose,
    lighting, blur, noise and occlusion (0 = frontal, clean); ``images_per_identity``: mean images per identity;
    ``seed``: the seed.
    """

    preset: str
    classes: tuple[str, ...]
    train_proportions: tuple[float, ...]
    eval_proportions: tuple[float, ...]
    n_train: int
    n_val: int
    n_test: int
    image_size: int
    pair: tuple[str, str]
    va_degeneracy: float = 0.0
    visual_degeneracy: float = 0.0
    confound_class: str | None = None
    confound_strength: float = 0.0
    label_noise: tuple = ()
    label_fractions: tuple[float, float, float] = (1.0, 1.0, 1.0)
    coordinates: str = "russell1977"
    placements: tuple = ()
    intensity_range: tuple[float, float] = (0.45, 1.0)
    au_noise: float = 0.08
    nuisance: float = 1.0
    images_per_identity: int = 20
    seed: int = 0
    version: int = SIMULATOR_VERSION

    def size(self, split: str) -> int:
        """Number of images in ``split``."""
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}[split]

    def class_counts(self, split: str = "train") -> dict[str, int]:
        """Images per true class in ``split`` (before any training label noise), without generating anything."""
        props = self.train_proportions if split == "train" else self.eval_proportions
        return dict(zip(self.classes, _quota(props, self.size(split)).tolist()))

    def centroids(self) -> np.ndarray:
        """(classes, 2) valence-arousal centroids after hand placements and the VA-degeneracy knob."""
        coords = cx.coordinates(self.classes, self.coordinates, fill=dict(self.placements))
        coords.require_complete("the simulator's valence-arousal labels")
        va = coords.va.copy()
        i, j = (self.classes.index(c) for c in self.pair)
        mid = (va[i] + va[j]) / 2
        va[i] = va[i] + self.va_degeneracy * (mid - va[i])
        va[j] = va[j] + self.va_degeneracy * (mid - va[j])
        return va


def _default_placements(classes, source) -> tuple:
    """Hand placements for classes the coordinate set lacks: contempt at the anger-disgust midpoint, Other at 0."""
    out = []
    table = cx.coordinates(classes, source)
    missing = set(table.missing)
    names = {cx.concept_of(c): c for c in classes}
    if "contempt" in names and names["contempt"] in missing:
        ref = cx.coordinates(["Anger", "Disgust"], "russell1977").va
        out.append((names["contempt"], tuple(float(x) for x in ref.mean(axis=0))))
    if "other" in names and names["other"] in missing:
        out.append((names["other"], (0.0, 0.0)))
    return tuple(out)


def _canonical_class(name: str, classes: Sequence[str], what: str) -> str:
    if not isinstance(name, str):
        raise ParameterError(f"{what}={name!r}: expected a class name among {list(classes)}")
    try:
        concept = cx.concept_of(name)
    except ValueError:
        raise ParameterError(f"{what}={name!r} is not a class name; expected one of {list(classes)}") from None
    for c in classes:
        if cx.concept_of(c) == concept:
            return c
    raise ParameterError(f"{what}={name!r} is not in this preset's classes; expected one of {list(classes)}")


def make_config(preset: str = "balanced", profile: str = "cpu", *, class_counts: Mapping[str, float] | None = None,
                eval_counts: Mapping[str, float] | None = None, placements: Mapping | None = None,
                **overrides) -> SimulatorConfig:
    """A validated :class:`SimulatorConfig` for ``preset`` with sizes from ``profile``.

    ``class_counts``/``eval_counts``: explicit class counts (or weights) by class name, replacing the preset's
    train or val/test frequencies; ``placements``: ``{class: (valence, arousal)}`` hand placements, replacing the
    defaults; any other :class:`SimulatorConfig` field can be overridden by keyword (``va_degeneracy=0.5``,
    ``pair=("Anger", "Disgust")``, ``n_train=1000``, ``image_size=48`` ...). Bad values raise
    :class:`~affect_book.params.ParameterError` naming the field and what was expected.
    """
    check_choice("preset", preset, PRESETS)
    prof = get_profile(profile)
    from dataclasses import MISSING

    base = {f.name: f.default for f in SimulatorConfig.__dataclass_fields__.values()
            if f.default is not MISSING and f.name not in ("preset", "version")}
    base.update(PRESETS[preset])
    fields = set(SimulatorConfig.__dataclass_fields__) - {"preset", "version"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ParameterError(f"unknown simulator option(s) {unknown}; expected among {sorted(fields)} or "
                             f"class_counts, eval_counts, placements")
    base.update(n_train=prof.n_train, n_val=prof.n_val, n_test=prof.n_test, image_size=prof.image_size)
    base.update(overrides)
    if isinstance(base["classes"], str):  # a class-set name
        if base["classes"] not in cx.CLASS_SETS:
            raise ParameterError(f"classes={base['classes']!r}: expected a class-set name among "
                                 f"{sorted(cx.CLASS_SETS)} or a list of class names")
        base["classes"] = cx.CLASS_SETS[base["classes"]]
    classes = tuple(base["classes"])
    if "classes" in overrides:
        for c in classes:
            try:
                cx.concept_of(c)
            except ValueError as e:
                raise ParameterError(f"classes: {e}") from None
        if "train_proportions" not in overrides and class_counts is None:
            base["train_proportions"] = tuple([1 / len(classes)] * len(classes))
        if "eval_proportions" not in overrides and eval_counts is None:
            base["eval_proportions"] = tuple([1 / len(classes)] * len(classes))
    base["classes"] = classes
    for key, counts in (("train_proportions", class_counts), ("eval_proportions", eval_counts)):
        if counts is not None:
            named = {_canonical_class(k, classes, key.replace("proportions", "counts")): v for k, v in counts.items()}
            absent = [c for c in classes if c not in named]
            if absent:
                raise ParameterError(f"{key.replace('proportions', 'counts')} lacks {absent}; expected a count "
                                     f"for every class of {list(classes)}")
            for k, v in named.items():
                check_number(f"counts[{k!r}]", v, low=0)
            base[key] = _proportions(classes, named)
        props = tuple(float(p) for p in base[key])
        if len(props) != len(classes) or any(p < 0 for p in props) or abs(sum(props) - 1) > 1e-6:
            raise ParameterError(f"{key}={props}: expected {len(classes)} non-negative numbers summing to 1")
        base[key] = props
    for name in ("n_train", "n_val", "n_test"):
        check_number(name, base[name], low=0, integer=True)
    check_number("image_size", base["image_size"], low=32, high=224, integer=True)
    for name in ("va_degeneracy", "visual_degeneracy", "confound_strength", "nuisance"):
        check_number(name, base[name], low=0, high=1)
    check_number("au_noise", base["au_noise"], low=0, high=0.5)
    check_number("images_per_identity", base["images_per_identity"], low=1, integer=True)
    check_number("seed", base["seed"], low=0, integer=True)
    lo, hi = base["intensity_range"]
    check_number("intensity_range[0]", lo, low=0, high=1)
    check_number("intensity_range[1]", hi, low=lo, high=1)
    base["intensity_range"] = (float(lo), float(hi))
    fr = tuple(base["label_fractions"])
    if len(fr) != 3:
        raise ParameterError(f"label_fractions={fr}: expected (expression, va, au) fractions")
    for n, f in zip(("expression", "va", "au"), fr):
        check_number(f"label_fractions[{n}]", f, low=0, high=1)
    base["label_fractions"] = tuple(float(f) for f in fr)
    pair = tuple(base["pair"])
    if len(pair) != 2:
        raise ParameterError(f"pair={pair!r}: expected two class names")
    pair = tuple(_canonical_class(c, classes, "pair") for c in pair)
    if pair[0] == pair[1]:
        raise ParameterError(f"pair={pair!r}: expected two different classes")
    base["pair"] = pair
    if base["confound_class"] is not None:
        base["confound_class"] = _canonical_class(base["confound_class"], classes, "confound_class")
    noise = []
    for item in base["label_noise"]:
        if len(item) != 3:
            raise ParameterError(f"label_noise item {item!r}: expected (class_a, class_b, rate)")
        a, b_, rate = item
        a, b_ = _canonical_class(a, classes, "label_noise"), _canonical_class(b_, classes, "label_noise")
        check_number(f"label_noise rate for {a}-{b_}", rate, low=0, high=1)
        noise.append((a, b_, float(rate)))
    base["label_noise"] = tuple(noise)
    check_choice("coordinates", base["coordinates"], cx.COORDINATE_SETS)
    if placements is not None:
        base["placements"] = tuple((_canonical_class(k, classes, "placements"), tuple(float(x) for x in v))
                                   for k, v in placements.items())
    elif "placements" not in overrides:
        base["placements"] = _default_placements(classes, base["coordinates"])
    config = SimulatorConfig(preset=preset, **base)
    try:
        config.centroids()
    except ValueError as e:
        raise ParameterError(str(e)) from None
    return config


# ----------------------------------------------------------------------------------------------- sampling helpers

def _rng(config: SimulatorConfig, split: str, stream: str, *extra: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(
        [config.seed, _SPLIT_CODE[split], _STREAMS[stream], *extra]))


def _q(x) -> np.ndarray:
    """Quantise to multiples of 1/4096 (exact in float32 for the ranges used)."""
    return (np.round(np.asarray(x, np.float64) * _Q) / _Q).astype(np.float32)


def _quota(proportions: Sequence[float], n: int) -> np.ndarray:
    """Integer counts summing to ``n`` closest to ``proportions * n`` (largest remainder)."""
    raw = np.asarray(proportions, np.float64) * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    order = np.lexsort((np.arange(len(raw)), -(raw - counts)))
    counts[order[:rest]] += 1
    return counts


def sample_identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` random identities: a dict of (n,) float32 arrays named in ``FACE_PARAMETERS`` (canonical units)."""
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    p = {
        "face_rx": u(0.58, 0.72), "face_ry": u(0.78, 0.9), "eye_sep": u(0.27, 0.33), "eye_y": u(-0.14, -0.06),
        "eye_rx": u(0.11, 0.14), "eye_h": u(0.05, 0.065), "brow_gap": u(0.15, 0.19), "brow_thick": u(0.06, 0.085),
        "brow_arch": u(0.0, 0.04), "nose_y": u(0.18, 0.26), "mouth_y": u(0.46, 0.54), "mouth_w": u(0.2, 0.26),
        "lip_th": u(0.035, 0.055), "hairline": u(-0.62, -0.48),
    }
    tone = rng.uniform(0, 1, n)
    dark, light = np.array([92, 58, 40]), np.array([240, 205, 178])
    skin = dark[None] + tone[:, None] * (light - dark)[None] + rng.uniform(-8, 8, (n, 3))
    hair_palette = np.array([[25, 20, 18], [60, 40, 25], [110, 75, 40], [190, 150, 90], [130, 130, 130],
                             [140, 55, 30]])
    hair = hair_palette[rng.integers(0, len(hair_palette), n)] + rng.uniform(-10, 10, (n, 3))
    iris_palette = np.array([[70, 45, 25], [40, 90, 140], [70, 110, 60], [40, 30, 20]])
    iris = iris_palette[rng.integers(0, len(iris_palette), n)] + rng.uniform(-10, 10, (n, 3))
    for name, arr in (("skin", skin), ("hair", hair), ("iris", iris)):
        arr = np.clip(arr, 0, 255)
        for k, ch in enumerate("rgb"):
            p[f"{name}_{ch}"] = arr[:, k]
    return {k: _q(p[k]) for k in FACE_PARAMETERS}


def _sample_nuisance(rng: np.random.Generator, n: int, strength: float) -> dict[str, np.ndarray]:
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    s = strength
    occ = (rng.uniform(0, 1, n) < 0.15 * s).astype(np.float64)
    ox = u(-0.9, 0.5)
    oy = u(-0.6, 0.6)
    p = {
        "scale": u(0.86, 0.96) - 0.06 * s * u(0, 1), "tx": s * u(-0.06, 0.06), "ty": s * u(-0.05, 0.05),
        "roll_t": s * u(-0.09, 0.09), "yaw": s * u(-0.3, 0.3), "light": s * u(-1, 1),
        "blur": s * (rng.uniform(0, 1, n) < 0.3) * u(0.3, 1.0), "noise": s * u(0, 7),
        "occ": occ, "occ_x0": ox, "occ_y0": oy, "occ_x1": ox + u(0.3, 0.6), "occ_y1": oy + u(0.25, 0.5),
        "confound": np.zeros(n),
    }
    occ_col = rng.uniform(30, 230, (n, 3))
    bg0 = rng.uniform(40, 220, (n, 3))
    bg1 = np.clip(bg0 + rng.uniform(-50, 50, (n, 3)), 0, 255)
    for name, arr in (("occ", occ_col), ("bg0", bg0), ("bg1", bg1)):
        for k, ch in enumerate("rgb"):
            p[f"{name}_{ch}"] = arr[:, k]
    return {k: _q(p[k]) for k in NUISANCE_PARAMETERS}


def _variant_vectors(concept: str) -> np.ndarray:
    """(variants, len(RENDERED_AUS)) 0/1 prototype vectors of a concept."""
    rows = []
    for variant in PROTOTYPES[concept]:
        row = np.zeros(len(RENDERED_AUS))
        for au in variant:
            row[RENDERED_AUS.index(au)] = 1.0
        rows.append(row)
    return np.array(rows)


def _other_aus(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, len(RENDERED_AUS)) random 1-3 AU sets that contain no complete (non-neutral) prototype variant."""
    n_aus = len(RENDERED_AUS)
    protos = np.concatenate([_variant_vectors(c) for c in PROTOTYPES if c != "neutral"])
    tries = 8
    k = rng.integers(1, 4, (n, tries))
    keys = rng.uniform(0, 1, (n, tries, n_aus))
    ranks = np.argsort(np.argsort(keys, axis=2, kind="stable"), axis=2, kind="stable")
    cand = (ranks < k[..., None]).astype(np.float64)  # (n, tries, aus)
    contains = ((cand[:, :, None, :] >= protos[None, None, :, :]).all(axis=3)).any(axis=2)  # (n, tries)
    ok = ~contains
    first = np.where(ok.any(axis=1), ok.argmax(axis=1), -1)
    out = np.zeros((n, n_aus))
    has = first >= 0
    out[has] = cand[np.flatnonzero(has), first[has]]
    out[~has, RENDERED_AUS.index(25)] = 1.0  # fallback, lips part alone (probability ~ 1e-8)
    return out


def _activations(config: SimulatorConfig, split: str, true_class: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """(n, len(RENDERED_AUS), 2) AU intensities of every sample (stream ``au``)."""
    rng = _rng(config, split, "au")
    n, n_aus = len(true_class), len(RENDERED_AUS)
    classes = config.classes
    concepts = [cx.concept_of(c) for c in classes]
    variant_draw = rng.uniform(0, 1, n)
    partner_draw = rng.uniform(0, 1, n)
    side_draw = rng.integers(0, 2, n)
    other = _other_aus(rng, n)
    gains = rng.uniform(0.8, 1.1, (n, n_aus, 1))
    noise = rng.normal(0, 1, (n, n_aus, 2))
    spurious = (rng.uniform(0, 1, (n, n_aus, 1)) < 0.03) * rng.uniform(0, 0.35, (n, n_aus, 1))

    def proto(ci: np.ndarray, draw: np.ndarray) -> np.ndarray:
        """(n, aus, 2) prototype of class ci (per sample) with variant chosen by ``draw``."""
        out = np.zeros((n, n_aus, 2))
        for k, concept in enumerate(concepts):
            rows = np.flatnonzero(ci == k)
            if not rows.size:
                continue
            if concept == "other":
                vec = other[rows]
                out[rows] = vec[..., None]
                continue
            variants = _variant_vectors(concept)
            pick = np.minimum((draw[rows] * len(variants)).astype(int), len(variants) - 1)
            vec = variants[pick]
            if concept in UNILATERAL:
                sides = side_draw[rows]
                out[rows, :, 0] = vec * (sides == 0)[:, None]
                out[rows, :, 1] = vec * (sides == 1)[:, None]
            else:
                out[rows] = vec[..., None]
        return out

    base = proto(true_class, variant_draw)
    v = config.visual_degeneracy
    if v > 0:
        i, j = (classes.index(c) for c in config.pair)
        partner = np.where(true_class == i, j, np.where(true_class == j, i, -1))
        blended = proto(partner, partner_draw)
        rows = partner >= 0
        base[rows] = (1 - v / 2) * base[rows] + (v / 2) * blended[rows]
    act = base * gains * intensity[:, None, None] + config.au_noise * noise + spurious
    return np.clip(act, 0, 1)


@dataclass
class _SplitParams:
    true_class: np.ndarray
    label: np.ndarray
    intensity: np.ndarray
    va: np.ndarray
    au_act: np.ndarray
    identity: np.ndarray
    face: dict
    nuisance: dict
    masks: dict = field(default_factory=dict)


def _identity_offset(config: SimulatorConfig, split: str) -> tuple[int, int]:
    counts = [max(1, -(-config.size(s) // config.images_per_identity)) for s in SPLITS]
    k = SPLITS.index(split)
    return sum(counts[:k]), counts[k]


def _split_params(config: SimulatorConfig, split: str) -> _SplitParams:
    n = config.size(split)
    classes = config.classes
    counts = np.array(list(config.class_counts(split).values()))
    true_class = np.repeat(np.arange(len(classes)), counts)
    true_class = true_class[_rng(config, split, "class").permutation(n)]

    first_id, n_ids = _identity_offset(config, split)
    ids = _rng(config, split, "identity")
    face_all = sample_identities(ids, n_ids)
    assign = (np.arange(n) % n_ids)[_rng(config, split, "assign").permutation(n)]
    face = {k: v[assign] for k, v in face_all.items()}
    identity = first_id + assign

    lo, hi = config.intensity_range
    intensity = _q(_rng(config, split, "intensity").uniform(lo, hi, n))
    au_act = _q(_activations(config, split, true_class, intensity.astype(np.float64)))

    rng_va = _rng(config, split, "va")
    centroids = config.centroids()
    sd = np.array([0.30 if cx.concept_of(c) == "other" else 0.08 for c in classes])
    va = centroids[true_class] * (0.55 + 0.45 * intensity[:, None]) + rng_va.normal(0, 1, (n, 2)) * sd[true_class,
                                                                                                     None]
    va = np.clip(va, -1, 1).astype(np.float32)

    nuis = _sample_nuisance(_rng(config, split, "nuisance"), n, config.nuisance)
    rng_c = _rng(config, split, "confound")
    draw = rng_c.uniform(0, 1, n)
    base_rate = 0.05
    rate = np.full(n, base_rate if config.confound_class is not None else 0.0)
    if config.confound_class is not None and split == "train":
        rate[true_class == classes.index(config.confound_class)] = base_rate + (1 - base_rate) * config.confound_strength
    nuis["confound"] = (draw < rate).astype(np.float32)

    label = true_class.copy()
    if split == "train" and config.label_noise:
        rng_f = _rng(config, split, "flip")
        draws = rng_f.uniform(0, 1, (len(config.label_noise), n))
        for (a, b_, r), d in zip(config.label_noise, draws):
            ia, ib = classes.index(a), classes.index(b_)
            flip = d < r
            label = np.where(flip & (true_class == ia), ib, np.where(flip & (true_class == ib), ia, label))
    params = _SplitParams(true_class, label, intensity, va, au_act, identity, face, nuis)
    # label masks: exact, stratified by class for expression so frequencies among labelled rows stay exact
    rng_m = _rng(config, split, "mask")
    f_expr, f_va, f_au = config.label_fractions
    keep_expr = np.zeros(n, bool)
    order = rng_m.permutation(n)
    for k in range(len(classes)):
        rows = order[true_class[order] == k]
        keep_expr[rows[:int(round(f_expr * len(rows)))]] = True
    keep_va = np.zeros(n, bool)
    keep_va[rng_m.permutation(n)[:int(round(f_va * n))]] = True
    keep_au = np.zeros(n, bool)
    keep_au[rng_m.permutation(n)[:int(round(f_au * n))]] = True
    params.masks = {"expression": keep_expr, "va": keep_va, "au": keep_au}
    return params


def _render_chunk(args) -> np.ndarray:
    au, face, nuis, size, seed_key = args
    noise = np.random.default_rng(np.random.SeedSequence(seed_key)).standard_normal(
        (len(au), size, size, 1), dtype=np.float32)
    return render_faces(au, face, nuis, size, noise_field=noise)


def _render_all(config: SimulatorConfig, split: str, params: _SplitParams, workers: int,
                out: np.ndarray | None = None) -> np.ndarray:
    n, size = len(params.true_class), config.image_size
    jobs = []
    for c, start in enumerate(range(0, n, _CHUNK)):
        sl = slice(start, min(start + _CHUNK, n))
        jobs.append((params.au_act[sl], {k: v[sl] for k, v in params.face.items()},
                     {k: v[sl] for k, v in params.nuisance.items()}, size,
                     [config.seed, _SPLIT_CODE[split], _STREAMS["noise"], c]))
    images = np.empty((n, size, size, 3), np.uint8) if out is None else out
    import multiprocessing as mp

    if workers > 1 and len(jobs) > 1 and "fork" in mp.get_all_start_methods():
        # fork: workers inherit the arrays without re-importing the package; they run NumPy only (no OpenMP)
        with mp.get_context("fork").Pool(workers) as pool:
            for c, out in enumerate(pool.imap(_render_chunk, jobs)):
                images[c * _CHUNK:c * _CHUNK + len(out)] = out
    else:
        for c, job in enumerate(jobs):
            out = _render_chunk(job)
            images[c * _CHUNK:c * _CHUNK + len(out)] = out
    return images


def generate_split(config: SimulatorConfig, split: str, workers: int = 1,
                   out: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Generate one split without the cache: a dict of arrays.

    ``images`` (N, S, S, 3) uint8; ``expression`` (N,) int64 (-1 where masked); ``va`` (N, 2) float32 (NaN where
    masked); ``au`` (N, 12) int64 ABAW AUs (-1 where masked); ``subject`` (N,) identity ids; and the ground truth
    behind them: ``true_expression`` (before label noise and masks), ``true_va``, ``intensity``, ``au_intensity``
    (N, len(RENDERED_AUS), 2) and ``confound`` (N,) 0/1 (the corner mark). ``out``: optional (N, S, S, 3) uint8
    array (e.g. a memory map) the images are written into; ``workers``: processes (the output does not depend on
    it).
    """
    check_choice("split", split, SPLITS)
    params = _split_params(config, split)
    images = _render_all(config, split, params, workers, out)
    abaw = [RENDERED_AUS.index(a) for a in ABAW_AUS]
    au_bin = (params.au_act[:, abaw, :].max(axis=2) >= AU_THRESHOLD).astype(np.int64)
    m = params.masks
    return {
        "images": images,
        "expression": np.where(m["expression"], params.label, -1).astype(np.int64),
        "va": np.where(m["va"][:, None], params.va, np.nan).astype(np.float32),
        "au": np.where(m["au"][:, None], au_bin, -1).astype(np.int64),
        "subject": params.identity.astype(np.int64),
        "true_expression": params.true_class.astype(np.int64),
        "true_va": params.va,
        "intensity": params.intensity,
        "au_intensity": params.au_act,
        "confound": params.nuisance["confound"].astype(np.int64),
    }


def _to_dataset(config: SimulatorConfig, arrays: Mapping[str, np.ndarray], split: str) -> ArrayDataset:
    subject = np.char.add("sim", np.asarray(arrays["subject"]).astype(str))
    ds = ArrayDataset(arrays["images"], arrays["expression"], arrays["va"], arrays["au"], subject, config.classes,
                      f"simulator:{config.preset}:{split}")
    ds.truth = {k: arrays[k] for k in ("true_expression", "true_va", "intensity", "au_intensity", "confound")}
    ds.config = config
    ds.split = split
    return ds


def simulate_all(config: SimulatorConfig, workers: int | None = None,
                 use_cache: bool = True) -> dict[str, ArrayDataset]:
    """All three splits as :class:`~affect_book.data.base.ArrayDataset` objects, built once and cached.

    Each dataset also carries ``truth`` (a dict of ground-truth arrays, see :func:`generate_split`), ``config`` and
    ``split``. ``workers``: processes used to render (default: every core, at most 16; the output does not
    depend on it). Images are written straight into memory-mapped files, so the ``gpu`` profile's sets need disk,
    not memory.
    """
    if not isinstance(config, SimulatorConfig):
        raise ParameterError(f"config: expected a SimulatorConfig (see make_config), found {type(config).__name__}")
    workers = workers or min(16, os.cpu_count() or 1)
    directory = cache_root() / "simulator" / config_hash(config)
    if not use_cache:
        return {s: _to_dataset(config, generate_split(config, s, workers), s) for s in SPLITS}
    if not (directory / "done.json").is_file():
        _build(directory, config, workers)
    return {s: _to_dataset(config, _load(directory / s), s) for s in SPLITS}


def simulate(config: SimulatorConfig | str = "balanced", split: str = "train", profile: str = "cpu",
             **knobs) -> ArrayDataset:
    """One split of a simulated dataset (cached). ``config``: a :class:`SimulatorConfig` or a preset name, in
    which case ``profile`` and ``knobs`` go to :func:`make_config`."""
    check_choice("split", split, SPLITS)
    if isinstance(config, str):
        config = make_config(config, profile, **knobs)
    elif knobs:
        raise ParameterError(f"knobs {sorted(knobs)} given with a ready SimulatorConfig; pass them to make_config "
                             f"instead, so they are validated")
    return simulate_all(config)[split]


def _load(directory: Path) -> dict[str, np.ndarray]:
    return {p.stem: np.load(p, mmap_mode="r" if p.stem == "images" else None) for p in directory.glob("*.npy")}


def _build(directory: Path, config: SimulatorConfig, workers: int) -> None:
    """Generate every split into a temporary directory next to ``directory``, then rename it (atomic)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        for split in SPLITS:
            (tmp / split).mkdir()
            size = config.image_size
            images = np.lib.format.open_memmap(tmp / split / "images.npy", mode="w+", dtype=np.uint8,
                                               shape=(config.size(split), size, size, 3))
            parts = generate_split(config, split, workers, out=images)
            images.flush()
            del images, parts["images"]
            for name, arr in parts.items():
                np.save(tmp / split / f"{name}.npy", np.asarray(arr), allow_pickle=False)
        (tmp / "done.json").write_text(json.dumps(asdict(config), indent=1, default=str))
        try:
            os.rename(tmp, directory)
        except OSError:  # another process finished first: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def render_examples(classes: Sequence[str], intensity: float | Sequence[float] = 1.0, identity_seed: int = 0,
                    n_identities: int = 1, size: int = 96, nuisance: float = 0.0, au_noise: float = 0.0,
                    aus: Mapping[int, float] | None = None, pair: Sequence[str] | None = None,
                    visual_degeneracy: float = 0.0, side: int = 0, seed: int = 0) -> np.ndarray:
    """Faces for figures: one row per identity, one column per (class, intensity). Returns (rows, cols, S, S, 3).

    ``classes``: class names (or "AU<k>" to render a single action unit at ``intensity``); ``aus``: an explicit
    {AU: intensity} dict overriding the prototypes (then ``classes`` only names the columns); ``pair`` and
    ``visual_degeneracy``: blend the two classes' prototypes as the knob does; ``side``: which side a unilateral
    prototype uses. Deterministic in its arguments.
    """
    intensities = np.atleast_1d(np.asarray(intensity, np.float64))
    cols = [(c, t) for c in classes for t in intensities]
    faces = sample_identities(np.random.default_rng(np.random.SeedSequence([identity_seed, 99])), n_identities)
    n = n_identities * len(cols)
    au = np.zeros((n, len(RENDERED_AUS), 2))

    def vec(name):
        out = np.zeros((len(RENDERED_AUS), 2))
        if name.upper().startswith("AU"):
            out[RENDERED_AUS.index(int(name[2:]))] = 1.0
            return out
        concept = cx.concept_of(name)
        if concept not in PROTOTYPES:
            raise ValueError(f"{name!r} has no prototype; pass aus= for it")
        v = _variant_vectors(concept)[0]
        if concept in UNILATERAL:
            out[:, side] = v
        else:
            out[:] = v[:, None]
        return out

    for r in range(n_identities):
        for k, (c, t) in enumerate(cols):
            if aus is not None:
                v = np.zeros((len(RENDERED_AUS), 2))
                for a, val in aus.items():
                    v[RENDERED_AUS.index(a)] = val
            else:
                v = vec(c)
                if pair is not None and visual_degeneracy > 0 and c in pair:
                    other = pair[1] if c == pair[0] else pair[0]
                    v = (1 - visual_degeneracy / 2) * v + (visual_degeneracy / 2) * vec(other)
            au[r * len(cols) + k] = v * t
    rng = np.random.default_rng(np.random.SeedSequence([seed, 98]))
    if au_noise:
        au = np.clip(au + au_noise * rng.normal(0, 1, au.shape), 0, 1)
    face = {k: np.repeat(v, len(cols)) for k, v in faces.items()}
    nuis = _sample_nuisance(rng, n, nuisance)
    if nuisance == 0:
        nuis["scale"] = _q(np.full(n, 0.92))
        for ch, val in zip("rgb", (225, 228, 235)):
            nuis[f"bg0_{ch}"] = nuis[f"bg1_{ch}"] = _q(np.full(n, val))
    imgs = render_faces(_q(au), face, nuis, size,
                        noise_field=rng.standard_normal((n, size, size, 3), dtype=np.float32) if nuisance else None)
    return imgs.reshape(n_identities, len(cols), size, size, 3)


# ------------------------------------------------------------------------------- the "synthetic" data source

#: Options the ``synthetic`` source of :mod:`affect_book.data.sources` accepts (passed to :func:`make_config`).
SOURCE_OPTIONS: tuple[str, ...] = tuple(sorted(
    {"preset", "profile", "class_counts", "eval_counts", "placements"}
    | (set(SimulatorConfig.__dataclass_fields__) - {"preset", "version"})))


def load_synthetic(split: str = "train", preset: str = "balanced", profile: str = "cpu", **options) -> ArrayDataset:
    """The ``synthetic`` source: one split of the simulator's ``preset`` at ``profile`` sizes (cached).

    ``options``: any :func:`make_config` keyword (knobs, sizes, ``seed``). Used by
    ``affect_book.data.sources.load("synthetic", split=..., preset=..., ...)`` and ``affect-book data summary``.
    """
    return simulate(preset, split, profile, **options)


def _register_source() -> None:
    from .sources import register_source

    register_source("synthetic", load_synthetic, SOURCE_OPTIONS, needs_root=False,
                    description="the face simulator (chapter 03): presets affwild2, affectnet, balanced")


_register_source()
