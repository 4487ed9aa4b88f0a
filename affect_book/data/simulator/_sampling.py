"""Sampling the simulator's hidden variables: classes, identities, intensities, AUs, valence-arousal, nuisance,
label noise and label masks, each from its own random stream (rendering is in :mod:`._generate`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import circumplex as cx
from ...facs import PROTOTYPES, RENDERED_AUS, UNILATERAL
from ..render import FACE_PARAMETERS, NUISANCE_PARAMETERS
from ._config import _SPLIT_CODE, _STREAMS, SPLITS, SimulatorConfig, _q

__all__ = ["sample_identities"]


def _rng(config: SimulatorConfig, split: str, stream: str, *extra: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(
        [config.seed, _SPLIT_CODE[split], _STREAMS[stream], *extra]))



def sample_identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` random identities.

    Parameters
    ----------
    rng : numpy.random.Generator
        The identity stream.
    n : int
        How many.

    Returns
    -------
    dict of str to numpy.ndarray
        (n,) float32 arrays named in ``FACE_PARAMETERS`` (canonical units).
    """
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
        marked = true_class == classes.index(config.confound_class)
        rate[marked] = base_rate + (1 - base_rate) * config.confound_strength
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
