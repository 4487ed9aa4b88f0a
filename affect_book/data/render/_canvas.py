"""The renderer's canvas: pose (pixel to face coordinates), background, windows, anti-aliased painting, and the
per-batch context (:class:`_Face`) every painter of :mod:`._painters` and :mod:`._nuisance` reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...facs import RENDERED_AUS

_AU_POS = {au: i for i, au in enumerate(RENDERED_AUS)}
f32 = np.float32


@dataclass
class _Canvas:
    img: np.ndarray  # (B, S, S, 3) float32
    u: np.ndarray  # (B, S, S) face coordinates of each pixel centre
    v: np.ndarray
    pw: np.ndarray  # (B, 1, 1) one pixel in face units
    fwd: tuple  # per-face forward transform (c, s, scale, tx, ty), each (B,)
    size: int

    def window(self, u0, u1, v0, v1):
        """Pixel slices bounding the canonical box [u0,u1]x[v0,v1] for every face (per-face bounds allowed)."""
        c, s, k, tx, ty = self.fwd
        us = [np.broadcast_to(np.asarray(a, np.float32), c.shape) for a in (u0, u1)]
        vs = [np.broadcast_to(np.asarray(a, np.float32), c.shape) for a in (v0, v1)]
        xs, ys = [], []
        for uu in us:
            for vv in vs:
                xs.append(tx + k * (c * uu - s * vv))
                ys.append(ty + k * (s * uu + c * vv))
        xs, ys = np.stack(xs), np.stack(ys)
        half = self.size / 2.0
        x0 = int(np.floor((xs.min() + 1) * half)) - 2
        x1 = int(np.ceil((xs.max() + 1) * half)) + 2
        y0 = int(np.floor((ys.min() + 1) * half)) - 2
        y1 = int(np.ceil((ys.max() + 1) * half)) + 2
        clip = lambda a: min(max(a, 0), self.size)  # noqa: E731
        return slice(clip(y0), clip(y1)), slice(clip(x0), clip(x1))

    def uv(self, win):
        return self.u[:, win[0], win[1]], self.v[:, win[0], win[1]]

    def paint(self, win, dist, color, opacity=None, faces=None, pw=None):
        """Paint ``color`` ((B, 3) in 0..255) where signed distance ``dist`` (face units, < 0 inside) covers.

        ``faces``: indices of the faces ``dist`` covers (default: all); ``pw``: pixel size for those faces.
        """
        alpha = np.clip(np.float32(0.5) - dist / (self.pw if pw is None else pw), 0, 1)
        if opacity is not None:
            alpha = alpha * opacity[:, None, None]
        covered = np.count_nonzero(alpha)
        if not covered:
            return
        if faces is None and covered > 0.25 * alpha.size:  # large shapes: blend the whole window
            patch = self.img[:, win[0], win[1]]
            patch += alpha[..., None] * (color[:, None, None, :] - patch)
            return
        bi, yi, xi = np.nonzero(alpha)  # only covered pixels: thin shapes cost what they cover
        a = alpha[bi, yi, xi][:, None]
        col = color[bi]
        if faces is not None:
            bi = faces[bi]
        yi += win[0].start
        xi += win[1].start
        px = self.img[bi, yi, xi]
        self.img[bi, yi, xi] = px + a * (col - px)


def _p(a):
    return a[:, None, None]


def _ellipse(u, v, cu, cv, ru, rv):
    """Approximate signed distance to an axis-aligned ellipse (exact on circles), face units."""
    du = (u - _p(cu)) / _p(ru)
    dv = (v - _p(cv)) / _p(rv)
    return (np.sqrt(du * du + dv * dv) - 1) * _p(np.minimum(ru, rv))


def _rgb(params, prefix):
    return np.stack([params[f"{prefix}_r"], params[f"{prefix}_g"], params[f"{prefix}_b"]], axis=1).astype(np.float32)


def _grey(value, b):
    """(b, 3) float32 rows of one RGB colour."""
    return np.broadcast_to(np.array(value, f32), (b, 3))


def _posed_canvas(nz: dict, size: int, b: int) -> _Canvas:
    """The canvas of a batch: pose (pixel (x, y) in [-1, 1] -> face (u, v), roll via tan(angle/2), rational and
    exact) and the background (a horizontal gradient between two colours)."""
    t = nz["roll_t"]
    c = (1 - t * t) / (1 + t * t)
    s = 2 * t / (1 + t * t)
    k, tx, ty = nz["scale"], nz["tx"], nz["ty"]
    grid = _grid(size)
    x = grid[None, None, :] - _p(tx)
    y = grid[None, :, None] - _p(ty)
    u = (_p(c) * x + _p(s) * y) / _p(k)
    v = (-_p(s) * x + _p(c) * y) / _p(k)
    pw = _p(f32(2.0 / size) / k)
    bg0, bg1 = _rgb(nz, "bg0"), _rgb(nz, "bg1")
    ramp = ((grid + 1) * f32(0.5))[None, None, :, None]
    img = np.broadcast_to(bg0[:, None, None, :] + ramp * (bg1 - bg0)[:, None, None, :], (b, size, size, 3)).copy()
    return _Canvas(img, u, v, pw, (c, s, k, tx, ty), size)


def _grid(size: int) -> np.ndarray:
    """Pixel-centre coordinates in [-1, 1] along one axis."""
    return (np.arange(size, dtype=f32) + f32(0.5)) * f32(2.0 / size) - 1


@dataclass
class _Face:
    """What every painter reads: the canvas, the AU intensities (B, AUs, 2), the identity (``fp``) and nuisance
    (``nz``) parameters as float32 arrays, and colours and offsets derived from them."""

    cv: _Canvas
    au: np.ndarray
    fp: dict
    nz: dict

    def __post_init__(self):
        self.b = self.au.shape[0]
        self.skin = _rgb(self.fp, "skin")
        self.hair = _rgb(self.fp, "hair")
        self.yaw = self.nz["yaw"]
        self.zero = np.zeros(self.b, f32)

    def A(self, n: int, side: int | None = None) -> np.ndarray:
        """(B,) intensity of AU ``n`` on ``side`` (0: the face's right), or the larger of the two sides."""
        i = _AU_POS[n]
        return self.au[:, i, :].max(axis=1) if side is None else self.au[:, i, side]
