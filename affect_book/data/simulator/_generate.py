"""Rendering the sampled parameters into images: :func:`generate_split` (one split, no cache), :func:`render_rows`
(a few rows of a split, without rendering the others) and :func:`render_examples` (faces for figures)."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Mapping, Sequence

import numpy as np

from ... import circumplex as cx
from ...interrupts import fork_pool
from ...facs import ABAW_AUS, PROTOTYPES, RENDERED_AUS, UNILATERAL
from ...params import check_choice
from ..render import render_faces
from ._config import _CHUNK, _SPLIT_CODE, _STREAMS, AU_THRESHOLD, SPLITS, SimulatorConfig, _q
from ._paths import _variant_vectors
from ._sampling import _split_params, _SplitParams, sample_identities, sample_nuisance

__all__ = ["generate_split", "render_examples", "render_rows", "split_labels"]


def _chunk_noise(seed_key: list[int], rows: int, size: int) -> np.ndarray:
    """The pixel noise of a chunk's first ``rows`` rows: Generator.standard_normal fills in order, so the first rows
    of a shorter draw are those of the whole chunk's draw."""
    return np.random.default_rng(np.random.SeedSequence(seed_key)).standard_normal((rows, size, size, 1),
                                                                                   dtype=np.float32)


def _noise_key(config: SimulatorConfig, split: str, chunk: int) -> list[int]:
    return [config.seed, _SPLIT_CODE[split], _STREAMS["noise"], chunk]


def _render_chunk(args) -> np.ndarray:
    au, face, nuis, size, seed_key = args
    return render_faces(au, face, nuis, size, noise_field=_chunk_noise(seed_key, len(au), size))


def _render_all(config: SimulatorConfig, split: str, params: _SplitParams, workers: int,
                out: np.ndarray | None = None) -> np.ndarray:
    n, size = len(params.true_class), config.image_size
    jobs = []
    for c, start in enumerate(range(0, n, _CHUNK)):
        sl = slice(start, min(start + _CHUNK, n))
        jobs.append((params.au_act[sl], {k: v[sl] for k, v in params.face.items()},
                     {k: v[sl] for k, v in params.nuisance.items()}, size,
                     _noise_key(config, split, c)))
    images = np.empty((n, size, size, 3), np.uint8) if out is None else out
    if workers > 1 and len(jobs) > 1 and "fork" in mp.get_all_start_methods():
        # fork: workers inherit the arrays without re-importing the package; they run NumPy only (no OpenMP)
        with fork_pool(workers) as pool:
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

    Parameters
    ----------
    config : SimulatorConfig
        What to generate.
    split : {"train", "val", "test"}
        The split.
    workers : int
        Rendering processes.
    out : numpy.ndarray, optional
        (N, S, S, 3) uint8 array to write the images into.

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays named above.
    """
    check_choice("split", split, SPLITS)
    params = _split_params(config, split)
    images = _render_all(config, split, params, workers, out)
    return {"images": images, **_label_arrays(params)}


def render_rows(config: SimulatorConfig, split: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """The images of a few rows of one split, rendering only those rows: byte for byte
    ``generate_split(config, split)["images"][rows]``. With :func:`split_labels` (which rows show what), a figure of
    six faces per class costs six renders per class instead of the whole split (chapter 03's grids: 12 splits of 800
    faces at 96 px each rendered in full before).

    Parameters
    ----------
    config : SimulatorConfig
        The split's configuration.
    split : {"train", "val", "test"}
        The split.
    rows : sequence of int
        Row indices into the split, in any order (repeats allowed).

    Returns
    -------
    numpy.ndarray
        (len(rows), S, S, 3) uint8, in the order of ``rows``.
    """
    check_choice("split", split, SPLITS)
    params = _split_params(config, split)
    n, size = len(params.true_class), config.image_size
    rows = np.asarray(rows)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        raise ValueError(f"render_rows: rows must be a 1-D sequence of integer row indices, got an array of shape "
                         f"{rows.shape} and dtype {rows.dtype}")
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"render_rows: row indices must lie in [0, {n}) (the {split} split has {n} rows), got "
                         f"{rows.min()} to {rows.max()}")
    rows = rows.astype(np.int64)
    images = np.empty((len(rows), size, size, 3), np.uint8)
    chunk_of = rows // _CHUNK
    for c in np.unique(chunk_of):
        at = np.flatnonzero(chunk_of == c)
        take, offset = rows[at], rows[at] - c * _CHUNK
        noise = _chunk_noise(_noise_key(config, split, int(c)), int(offset.max()) + 1, size)
        images[at] = render_faces(params.au_act[take], {k: v[take] for k, v in params.face.items()},
                                  {k: v[take] for k, v in params.nuisance.items()}, size, noise_field=noise[offset])
    return images


def split_labels(config: SimulatorConfig, split: str) -> dict[str, np.ndarray]:
    """Every array of :func:`generate_split` but the images, without rendering: the split's labels and ground truth
    (the same values, from the same random streams). Measured on one core of a busy 2-core machine: 0.2 s for the
    5,000 test rows of ``make_config("affwild2", "cpu")``, where :func:`generate_split` takes 11 s.

    Parameters
    ----------
    config : SimulatorConfig
        What to sample.
    split : {"train", "val", "test"}
        The split.

    Returns
    -------
    dict of str to numpy.ndarray
        ``expression``, ``va``, ``au``, ``subject``, ``true_expression``, ``true_va``, ``intensity``,
        ``au_intensity`` and ``confound``, as :func:`generate_split` returns them.
    """
    check_choice("split", split, SPLITS)
    return _label_arrays(_split_params(config, split))


def _label_arrays(params: _SplitParams) -> dict[str, np.ndarray]:
    abaw = [RENDERED_AUS.index(a) for a in ABAW_AUS]
    au_bin = (params.au_act[:, abaw, :].max(axis=2) >= AU_THRESHOLD).astype(np.int64)
    m = params.masks
    return {
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


def render_examples(classes: Sequence[str], intensity: float | Sequence[float] = 1.0, identity_seed: int = 0,
                    n_identities: int = 1, size: int = 96, nuisance: float = 0.0, au_noise: float = 0.0,
                    aus: Mapping[int, float] | None = None, pair: Sequence[str] | None = None,
                    visual_degeneracy: float = 0.0, side: int = 0, seed: int = 0) -> np.ndarray:
    """Faces for figures: one row per identity, one column per (class, intensity). Returns (rows, cols, S, S, 3).

    ``classes``: class names (or "AU<k>" to render a single action unit at ``intensity``); ``aus``: an explicit
    {AU: intensity} dict overriding the prototypes (then ``classes`` only names the columns); ``pair`` and
    ``visual_degeneracy``: blend the two classes' prototypes as the knob does; ``side``: which side a unilateral
    prototype uses. Deterministic in its arguments.

    Parameters
    ----------
    classes : sequence of str
        Column classes (or "AU<k>").
    intensity : float or sequence of float
        Expression intensities, one column each per class.
    identity_seed, n_identities : int
        Which identities (rows) and how many.
    size : int
        Pixels per side.
    nuisance, au_noise : float
        In-the-wild nuisance scale and AU noise sd.
    aus : mapping of int to float, optional
        Explicit AU intensities.
    pair : (str, str), optional
        The pair ``visual_degeneracy`` blends.
    visual_degeneracy : float
        Blend in [0, 1].
    side : int
        Side of a unilateral prototype.
    seed : int
        Seed of the noise.

    Returns
    -------
    numpy.ndarray
        (rows, cols, S, S, 3) uint8 faces.
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
    nuis = sample_nuisance(rng, n, nuisance)
    if nuisance == 0:
        nuis["scale"] = _q(np.full(n, 0.92))
        for ch, val in zip("rgb", (225, 228, 235)):
            nuis[f"bg0_{ch}"] = nuis[f"bg1_{ch}"] = _q(np.full(n, val))
    imgs = render_faces(_q(au), face, nuis, size,
                        noise_field=rng.standard_normal((n, size, size, 3), dtype=np.float32) if nuisance else None)
    return imgs.reshape(n_identities, len(cols), size, size, 3)
