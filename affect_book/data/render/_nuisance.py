"""Nuisance painted over the face, in image coordinates: an occluding rectangle, the confound mark, blur and pixel
noise (pose and lighting are part of the canvas and the head painter)."""

from __future__ import annotations

import numpy as np

from ._canvas import _Face, _grey, _grid, _p, _rgb, f32


def _image_axes(size: int):
    """(x row (1, 1, S), y column (1, S, 1), the whole-image window) in image coordinates [-1, 1]."""
    grid = _grid(size)
    return grid[None, None, :], grid[None, :, None], (slice(0, size), slice(0, size))


def paint_occlusion(f: _Face) -> None:
    """A rectangle (hand, microphone, mask) in image coordinates, only on faces that have one (``occ`` > 0)."""
    nz, size = f.nz, f.cv.size
    gx, gy, full = _image_axes(size)
    sel = np.flatnonzero(nz["occ"] > 0)
    if sel.size:
        o = {key: nz[key][sel] for key in ("occ_x0", "occ_x1", "occ_y0", "occ_y1", "occ")}
        d_occ = np.maximum(np.maximum(_p(o["occ_x0"]) - gx, gx - _p(o["occ_x1"])),
                           np.maximum(_p(o["occ_y0"]) - gy, gy - _p(o["occ_y1"])))
        f.cv.paint(full, d_occ, _rgb(nz, "occ")[sel], opacity=o["occ"], faces=sel,
                   pw=f32(2.0 / size))


def paint_confound_mark(f: _Face) -> None:
    """The confound: a yellow square in the top-left corner, on faces whose ``confound`` is > 0."""
    nz, size = f.nz, f.cv.size
    gx, gy, full = _image_axes(size)
    sel = np.flatnonzero(nz["confound"] > 0)
    if sel.size:
        d_mark = np.broadcast_to(np.maximum(gx - f32(-0.62), gy - f32(-0.62)), (sel.size, size, size))
        f.cv.paint(full, d_mark, _grey([250, 215, 30], sel.size),
                   opacity=nz["confound"][sel], faces=sel, pw=f32(2.0 / size))


def apply_blur(img: np.ndarray, blur: np.ndarray) -> None:
    """Mix each image with its 3x3 box filter by ``blur`` (B,) in [0, 1], in place."""
    size = img.shape[1]
    blurred = np.flatnonzero(blur > 0)
    if blurred.size:
        sub = img[blurred]
        pad = np.pad(sub, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        rows = pad[:, :, 0:size] + pad[:, :, 1:size + 1] + pad[:, :, 2:size + 2]  # separable 3x3 box sum
        box = (rows[:, 0:size] + rows[:, 1:size + 1] + rows[:, 2:size + 2]) * f32(1.0 / 9.0)
        img[blurred] = sub + blur[blurred, None, None, None] * (box - sub)


def apply_low_resolution(img: np.ndarray, lowres: np.ndarray) -> None:
    """Replace each k x k block by its mean (k = 2 ** lowres; lowres (B,) in {0, 1, 2}), in place: a face captured
    at 1/k of the resolution and scaled back up (nearest neighbour). Sizes not divisible by k keep a full-resolution
    border."""
    size = img.shape[1]
    for level in (1, 2):
        sel = np.flatnonzero(lowres == level)
        k = 2 ** level
        m = size // k * k
        if not sel.size or m == 0:
            continue
        sub = img[sel, :m, :m]
        blocks = np.zeros((sel.size, m // k, m // k, 3), np.float32)
        for i in range(k):  # elementwise sums in a fixed order (no reduction), so bytes match on any machine
            for j in range(k):
                blocks += sub[:, i::k, j::k]
        blocks *= f32(1.0 / (k * k))
        img[sel, :m, :m] = np.repeat(np.repeat(blocks, k, axis=1), k, axis=2)
