"""Sampling the simulator's hidden variables: classes, identities, intensities, AUs, valence-arousal, nuisance,
label noise and label masks, each from its own random stream (rendering is in :mod:`._generate`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import circumplex as cx
from ...facs import PROTOTYPES, RENDERED_AUS, UNILATERAL, prototype_matrix
from ..render import FACE_PARAMETERS, NUISANCE_PARAMETERS
from ._config import _SPLIT_CODE, _STREAMS, SPLITS, SimulatorConfig, _q
from ._paths import _appearance_blend, _mean_prototypes, _variant_vectors, config_annotation_matrix

__all__ = ["sample_identities", "sample_nuisance", "sample_other_aus", "signature_aus"]


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


def sample_nuisance(rng: np.random.Generator, n: int, strength: float) -> dict[str, np.ndarray]:
    """``n`` random nuisance draws (head pose, lighting, blur, pixel noise, an occluding rectangle, the background),
    each scaled by ``strength``; no shortcut mark and full resolution (the split's knobs set those afterwards).

    Parameters
    ----------
    rng : numpy.random.Generator
        The nuisance stream.
    n : int
        How many.
    strength : float
        The config's ``nuisance`` (0: a frontal, evenly lit, sharp face without occluder or pixel noise; its scale
        and background still vary).

    Returns
    -------
    dict of str to numpy.ndarray
        (n,) arrays named in :data:`affect_book.data.render.NUISANCE_PARAMETERS` (quantised to 1/4096), as
        :func:`affect_book.data.render.render_faces` takes them.
    """
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
        "confound": np.zeros(n), "lowres": np.zeros(n),
    }
    occ_col = rng.uniform(30, 230, (n, 3))
    bg0 = rng.uniform(40, 220, (n, 3))
    bg1 = np.clip(bg0 + rng.uniform(-50, 50, (n, 3)), 0, 255)
    for name, arr in (("occ", occ_col), ("bg0", bg0), ("bg1", bg1)):
        for k, ch in enumerate("rgb"):
            p[f"{name}_{ch}"] = arr[:, k]
    return {k: _q(p[k]) for k in NUISANCE_PARAMETERS}


def _wild_nuisance(rng: np.random.Generator, nuis: dict, strength: float) -> dict:
    """In-the-wild nuisance (knob ``wild``) added to the sampled nuisance: large head pose, more and larger
    occluders over the face, strong blur, pixel noise and low resolution (2x2 or 4x4 blocks)."""
    if strength == 0:
        return nuis
    n, w = len(nuis["scale"]), strength
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    out = dict(nuis)
    out["yaw"] = nuis["yaw"] + w * u(-0.4, 0.4)
    out["roll_t"] = nuis["roll_t"] + w * u(-0.14, 0.14)
    out["scale"] = nuis["scale"] * (1 - w * u(0, 0.25))
    out["tx"] = nuis["tx"] + w * u(-0.1, 0.1)
    out["ty"] = nuis["ty"] + w * u(-0.08, 0.08)
    occ = rng.uniform(0, 1, n) < 0.35 * w
    ox, oy = u(-0.7, 0.3), u(-0.5, 0.5)
    for key, value in (("occ_x0", ox), ("occ_y0", oy), ("occ_x1", ox + u(0.35, 0.8)), ("occ_y1", oy + u(0.3, 0.6))):
        out[key] = np.where(occ, value, nuis[key])
    out["occ"] = np.maximum(nuis["occ"], occ)
    out["blur"] = np.where(rng.uniform(0, 1, n) < 0.5 * w, 1.0, nuis["blur"])
    out["noise"] = nuis["noise"] + w * u(0, 10)
    low = rng.uniform(0, 1, n)
    out["lowres"] = np.where(low < 0.2 * w, 2.0, np.where(low < 0.5 * w, 1.0, 0.0))
    return {k: _q(v) for k, v in out.items()}


def signature_aus(concepts, extended: bool = False) -> tuple[int, ...]:
    """The AUs exactly one of ``concepts`` uses in its prototype variants: each class's signature AUs.

    Parameters
    ----------
    concepts : sequence of str
        The classes' concepts (:func:`affect_book.circumplex.concept_of`); "neutral" and "other" use no AU.
    extended : bool
        Count the EMFACS variants too (``emfacs_variants=True``).

    Returns
    -------
    tuple of int
        The signature AU numbers, ascending.
    """
    users: dict[int, set] = {}
    for concept in concepts:
        if concept in ("neutral", "other"):
            continue
        for au in np.flatnonzero(_variant_vectors(concept, extended).any(axis=0)):
            users.setdefault(RENDERED_AUS[au], set()).add(concept)
    return tuple(sorted(au for au, who in users.items() if len(who) == 1))


def sample_other_aus(rng: np.random.Generator, n: int, extended: bool = False,
                     exclude: tuple[int, ...] = ()) -> np.ndarray:
    """The AUs of ``n`` "Other" faces, before intensity and noise: the book's assumption about Aff-Wild2's catch-all.

    Each row is a random set of 1 to 3 AUs that contains no complete (non-neutral) prototype variant, drawn from the
    AUs outside ``exclude`` (the config's ``other_aus="shared"`` passes every class's :func:`signature_aus`). The
    random draws do not depend on ``exclude`` (an excluded AU's key is pushed past every other), so the stream stays
    aligned whatever is excluded.

    Parameters
    ----------
    rng : numpy.random.Generator
        The AU stream.
    n : int
        How many.
    extended : bool
        Also exclude sets containing an EMFACS variant (:data:`~affect_book.facs.EMFACS_VARIANTS`).
    exclude : tuple of int
        AUs never drawn.

    Returns
    -------
    numpy.ndarray
        (n, len(RENDERED_AUS)) 0/1 float64.
    """
    n_aus = len(RENDERED_AUS)
    protos = np.concatenate([_variant_vectors(c, extended) for c in PROTOTYPES if c != "neutral"])
    tries = 8
    k = rng.integers(1, 4, (n, tries))
    keys = rng.uniform(0, 1, (n, tries, n_aus))
    if exclude:
        keys[..., [RENDERED_AUS.index(a) for a in exclude]] = 2.0
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
    ext = config.emfacs_variants
    exclude = signature_aus(concepts, ext) if config.other_aus == "shared" else ()
    other = sample_other_aus(rng, n, ext, exclude)
    gains = rng.uniform(0.8, 1.1, (n, n_aus, 1))
    noise = rng.normal(0, 1, (n, n_aus, 2))
    spurious = (rng.uniform(0, 1, (n, n_aus, 1)) < 0.03) * rng.uniform(0, 0.35, (n, n_aus, 1))

    def proto(ci: np.ndarray, draw: np.ndarray, side_draw: np.ndarray = side_draw) -> np.ndarray:
        """(n, aus, 2) prototype of class ci (per sample, -1: none) with variant chosen by ``draw``."""
        out = np.zeros((n, n_aus, 2))
        for k, concept in enumerate(concepts):
            rows = np.flatnonzero(ci == k)
            if not rows.size:
                continue
            if concept == "other":
                vec = other[rows]
                out[rows] = vec[..., None]
                continue
            variants = _variant_vectors(concept, ext)
            pick = np.minimum((draw[rows] * len(variants)).astype(int), len(variants) - 1)
            vec = variants[pick]
            if concept in UNILATERAL:
                sides = side_draw[rows]
                out[rows, :, 0] = vec * (sides == 0)[:, None]
                out[rows, :, 1] = vec * (sides == 1)[:, None]
            else:
                out[rows] = vec[..., None]
        return out

    def towards(ci: np.ndarray) -> np.ndarray:  # the visual partner's prototypes, on their own stream
        rng_p = _rng(config, split, "partner")
        p_draw, p_side = rng_p.uniform(0, 1, n), rng_p.integers(0, 2, n)
        return proto(ci, p_draw, p_side)

    base = _class_knobs(config, true_class, proto(true_class, variant_draw), lambda ci: proto(ci, partner_draw),
                        towards)
    if config.appearance_from_va:  # the appearance path: drawn towards the faces near the class's VA position
        base = _appearance_blend(config, true_class, base, _class_mean_faces(config))
    if config.au_dropout > 0:
        base = _dropout(_rng(config, split, "dropout"), base, config.au_dropout)
    act = base * gains * intensity[:, None, None] + config.au_noise * noise + spurious
    return np.clip(act, 0, 1)


def _class_knobs(config: SimulatorConfig, true_class: np.ndarray, base: np.ndarray, degenerate_partner,
                 visual_partner) -> np.ndarray:
    """The class-level face knobs applied to prototypes ``base`` of classes ``true_class`` (in place): the pair's
    ``visual_degeneracy`` blend, the ``visual_partner`` blend, ``contempt_scale`` and ``class_intensity``.
    ``degenerate_partner(ci)`` and ``visual_partner(ci)`` give the blended classes' prototypes (-1: none)."""
    classes = config.classes
    v = config.visual_degeneracy
    if v > 0:
        i, j = (classes.index(c) for c in config.pair)
        partner = np.where(true_class == i, j, np.where(true_class == j, i, -1))
        blended = degenerate_partner(partner)
        rows = partner >= 0
        base[rows] = (1 - v / 2) * base[rows] + (v / 2) * blended[rows]
    if config.visual_partner is not None:
        a, b_, strength = config.visual_partner
        rows = true_class == classes.index(a)
        towards = visual_partner(np.where(rows, classes.index(b_), -1))
        base[rows] = (1 - strength) * base[rows] + strength * towards[rows]
    if config.contempt_scale != 1:
        contempt = [k for k, c in enumerate(classes) if cx.concept_of(c) == "contempt"]
        base[np.isin(true_class, contempt)] *= config.contempt_scale
    for cls, factor in config.class_intensity:
        base[true_class == classes.index(cls)] *= factor
    return base


def _class_mean_faces(config: SimulatorConfig) -> np.ndarray:
    """(classes, aus, 2) each class's mean face pattern in this cell: its mean prototype
    (:func:`~affect_book.data.simulator._paths._mean_prototypes`) through the class-level knobs (:func:`_class_knobs`),
    the blended classes entering with their mean prototypes too; Other's is 0."""
    means = _mean_prototypes(config)

    def mean_of(ci: np.ndarray) -> np.ndarray:
        return np.where((ci >= 0)[:, None, None], means[np.maximum(ci, 0)], 0.0)

    return _class_knobs(config, np.arange(len(config.classes)), means.copy(), mean_of, mean_of)


def _dropout(rng: np.random.Generator, base: np.ndarray, p: float) -> np.ndarray:
    """Leave out each active AU of each sample with probability ``p``, keeping at least one (the one with the
    largest draw) where a sample had any: a spontaneous expression shows part of its prototype."""
    draw = rng.uniform(0, 1, base.shape[:2])
    active = base.max(axis=2) > 0
    drop = active & (draw < p)
    lost = active.any(axis=1) & ~(active & ~drop).any(axis=1)
    keep = np.where(active, draw, -1).argmax(axis=1)
    drop[np.flatnonzero(lost), keep[lost]] = False
    return base * ~drop[..., None]


def _va_from_au(config: SimulatorConfig, au_act: np.ndarray) -> np.ndarray:
    """(n, 2) valence-arousal read off rendered AU intensities: the least-squares linear map taking each class's
    prototype (mean over its variants, both sides) to its centroid, applied to the sample's mean-over-sides
    intensities (Other, without a prototype, is left out of the fit)."""
    concepts = [cx.concept_of(c) for c in config.classes]
    keep = [k for k, c in enumerate(concepts) if c in PROTOTYPES]
    protos = prototype_matrix([config.classes[k] for k in keep])
    weights = np.linalg.lstsq(protos, config.centroids()[keep], rcond=None)[0]
    return au_act.mean(axis=2) @ weights


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


def _confuse(rng: np.random.Generator, config: SimulatorConfig, true_class: np.ndarray,
             label: np.ndarray) -> np.ndarray:
    """Annotation noise: a sample of true class a gets label b with the rate of ``label_confusion``'s (a, b, rate)
    (one draw per sample; the rates out of a class are stacked, so they never overlap)."""
    draw = rng.uniform(0, 1, len(true_class))
    out = label.copy()
    start = np.zeros(len(config.classes))
    for a, b_, rate in config.label_confusion:
        ia, ib = config.classes.index(a), config.classes.index(b_)
        hit = (true_class == ia) & (draw >= start[ia]) & (draw < start[ia] + rate)
        out[hit] = ib
        start[ia] += rate
    return out


def _annotate(config: SimulatorConfig, split: str, observed: np.ndarray) -> np.ndarray:
    """The class each face shows, given its observed label: one draw per sample from
    :func:`~affect_book.data.simulator.config_annotation_matrix` (P(shown | observed), on the published or the cell's
    geometry), on the ``annotation`` stream (its draws do not depend on the matrix)."""
    matrix = config_annotation_matrix(config)
    cumulative = np.cumsum(matrix, axis=1)
    cumulative[:, -1] = 1.0
    draw = _rng(config, split, "annotation").uniform(0, 1, len(observed))
    return (draw[:, None] >= cumulative[observed]).sum(axis=1).astype(observed.dtype)


def _identity_offset(config: SimulatorConfig, split: str) -> tuple[int, int]:
    counts = [max(1, -(-config.size(s) // config.images_per_identity)) for s in SPLITS]
    k = SPLITS.index(split)
    return sum(counts[:k]), counts[k]


def _split_params(config: SimulatorConfig, split: str) -> _SplitParams:
    n = config.size(split)
    classes = config.classes
    counts = np.array(list(config.class_counts(split).values()))
    quota_class = np.repeat(np.arange(len(classes)), counts)
    quota_class = quota_class[_rng(config, split, "class").permutation(n)]
    # the quota holds the observed labels when annotation noise is on (the published counts are counts of labels);
    # the class each face shows is then drawn from P(shown | observed)
    true_class = _annotate(config, split, quota_class) if config.annotation_noise else quota_class

    first_id, n_ids = _identity_offset(config, split)
    ids = _rng(config, split, "identity")
    face_all = sample_identities(ids, n_ids)
    assign = (np.arange(n) % n_ids)[_rng(config, split, "assign").permutation(n)]
    face = {k: v[assign] for k, v in face_all.items()}
    identity = first_id + assign

    lo, hi = config.intensity_range
    rng_i = _rng(config, split, "intensity")
    if config.intensity_beta is None:
        intensity = _q(rng_i.uniform(lo, hi, n))
    else:
        intensity = _q(lo + (hi - lo) * rng_i.beta(*config.intensity_beta, n))
    au_act = _q(_activations(config, split, true_class, intensity.astype(np.float64)))

    rng_va = _rng(config, split, "va")
    centroids = config.centroids()
    sd = np.array([0.30 if cx.concept_of(c) == "other" else 0.08 for c in classes])
    va = centroids[true_class] * (0.55 + 0.45 * intensity[:, None]) + rng_va.normal(0, 1, (n, 2)) * sd[true_class,
                                                                                                     None]
    if config.va_from_au:
        va = (1 - config.va_from_au) * va + config.va_from_au * _va_from_au(config, au_act.astype(np.float64))
    va = np.clip(va, -1, 1).astype(np.float32)

    nuis = sample_nuisance(_rng(config, split, "nuisance"), n, config.nuisance)
    nuis = _wild_nuisance(_rng(config, split, "wild"), nuis, config.wild)
    rng_c = _rng(config, split, "confound")
    draw = rng_c.uniform(0, 1, n)
    base_rate = 0.05
    rate = np.full(n, base_rate if config.shortcut_class is not None else 0.0)
    if config.shortcut_class is not None and split == "train":
        marked = true_class == classes.index(config.shortcut_class)
        rate[marked] = base_rate + (1 - base_rate) * config.shortcut_strength
    nuis["confound"] = (draw < rate).astype(np.float32)

    label = quota_class.copy()
    if split == "train" and config.label_noise:
        rng_f = _rng(config, split, "flip")
        draws = rng_f.uniform(0, 1, (len(config.label_noise), n))
        for (a, b_, r), d in zip(config.label_noise, draws):
            ia, ib = classes.index(a), classes.index(b_)
            flip = d < r
            label = np.where(flip & (true_class == ia), ib, np.where(flip & (true_class == ib), ia, label))
    if split == "train" and config.label_confusion:
        label = _confuse(_rng(config, split, "confusion"), config, true_class, label)
    params = _SplitParams(true_class, label, intensity, va, au_act, identity, face, nuis)
    # label masks: exact, stratified by class for expression so frequencies among labelled rows stay exact
    rng_m = _rng(config, split, "mask")
    f_expr, f_va, f_au = config.label_fractions
    keep_expr = np.zeros(n, bool)
    order = rng_m.permutation(n)
    for k in range(len(classes)):  # by the quota's class, so the labelled rows keep the split's frequencies
        rows = order[quota_class[order] == k]
        keep_expr[rows[:int(round(f_expr * len(rows)))]] = True
    keep_va = np.zeros(n, bool)
    keep_va[rng_m.permutation(n)[:int(round(f_va * n))]] = True
    keep_au = np.zeros(n, bool)
    keep_au[rng_m.permutation(n)[:int(round(f_au * n))]] = True
    params.masks = {"expression": keep_expr, "va": keep_va, "au": keep_au}
    return params
