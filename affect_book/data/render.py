"""Vectorised face renderer driven by FACS action units. Introduced in chapter 03.

Draws a batch of cartoon faces at once with NumPy: every shape (face, hair, brows, eyes, cheeks, nose, lips,
teeth, dimples, furrows) is a signed-distance field evaluated over the pixel grid (only inside a window that
bounds the shape across the batch), turned into anti-aliased coverage and painted in order. Each rendered action
unit moves a part of the face:

====  ===================  ==============================================================
AU    name                 what the renderer does
====  ===================  ==============================================================
1     inner brow raiser    inner ends of the brows go up (oblique brows)
2     outer brow raiser    outer ends of the brows go up
4     brow lowerer         brows go down and together, inner ends lowest; furrows between
5     upper lid raiser     upper lids open: white shows above the iris
6     cheek raiser         cheeks lift and redden; lower lids rise (eyes narrow from below)
7     lid tightener        both lids close in (narrow eyes)
9     nose wrinkler        wrinkles across the nose bridge; nostrils rise and widen
10    upper lip raiser     upper lip rises, upper teeth show; nasolabial folds deepen
12    lip corner puller    lip corners go up and out (a smile), teeth show a little
14    dimpler              dimples at the lip corners, corners tighten
15    lip corner depressor lip corners go down
16    lower lip depressor  lower lip goes down, lower teeth show
20    lip stretcher        mouth stretches sideways, corners flatten
23    lip tightener        lips narrow and thin
24    lip pressor          lips press into a thin line
25    lips part            a small gap between the lips
26    jaw drop             mouth opens wide, the chin drops
====  ===================  ==============================================================

Every AU has a left and a right intensity (``au`` has shape (batch, len(RENDERED_AUS), 2): side 0 is the
face's right, drawn on the image's left), so unilateral expressions (contempt) render.

**Determinism.** Rendering uses only elementwise IEEE-754 arithmetic (+, -, *, /, sqrt, min, max, comparisons) in
float32, no transcendental functions, no BLAS, no reductions and no threads, and every input parameter is
quantised to a multiple of 1/4096 by the caller; the same inputs therefore give byte-identical uint8 images on any
machine. A pixel depends only on its own face's parameters, never on the other faces in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..facs import RENDERED_AUS
from ..params import check_choice

__all__ = ["FACE_PARAMETERS", "NUISANCE_PARAMETERS", "render_faces", "au_index"]

_AU_POS = {au: i for i, au in enumerate(RENDERED_AUS)}

#: Identity parameters (per face, canonical units where the face spans about [-0.7, 0.7] x [-0.9, 0.9]).
FACE_PARAMETERS: tuple[str, ...] = (
    "face_rx", "face_ry", "eye_sep", "eye_y", "eye_rx", "eye_h", "brow_gap", "brow_thick", "brow_arch",
    "nose_y", "mouth_y", "mouth_w", "lip_th", "hairline",
    "skin_r", "skin_g", "skin_b", "hair_r", "hair_g", "hair_b", "iris_r", "iris_g", "iris_b",
)
#: Nuisance parameters per image: pose (scale, translation, roll as tan(angle/2), yaw shift), lighting, blur,
#: noise, occlusion rectangle and colour, background colours and the confound mark (0/1).
NUISANCE_PARAMETERS: tuple[str, ...] = (
    "scale", "tx", "ty", "roll_t", "yaw", "light", "blur", "noise",
    "occ", "occ_x0", "occ_y0", "occ_x1", "occ_y1", "occ_r", "occ_g", "occ_b",
    "bg0_r", "bg0_g", "bg0_b", "bg1_r", "bg1_g", "bg1_b", "confound",
)


def au_index(au: int) -> int:
    """Position of an action unit in the renderer's AU axis (``RENDERED_AUS`` order)."""
    check_choice("rendered AU", au, RENDERED_AUS)
    return _AU_POS[au]


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


def render_faces(au: np.ndarray, face: dict, nuisance: dict, size: int,
                 noise_field: np.ndarray | None = None) -> np.ndarray:
    """Render a batch of faces.

    ``au``: (B, len(RENDERED_AUS), 2) intensities in [0, 1], last axis (right side of the face, left side);
    ``face``: dict of (B,) arrays named in ``FACE_PARAMETERS``; ``nuisance``: dict of (B,) arrays named in
    ``NUISANCE_PARAMETERS``; ``size``: pixels per side; ``noise_field``: (B, size, size, 1 or 3) standard normal noise
    (scaled by ``nuisance["noise"]``, in grey levels) or None. Returns (B, size, size, 3) uint8 RGB.
    """
    f32 = np.float32
    au = np.asarray(au, f32)
    b = au.shape[0]
    fp = {k: np.asarray(face[k], f32) for k in FACE_PARAMETERS}
    nz = {k: np.asarray(nuisance[k], f32) for k in NUISANCE_PARAMETERS}

    def A(n, side=None):
        i = _AU_POS[n]
        return au[:, i, :].max(axis=1) if side is None else au[:, i, side]

    # --- pose: pixel (x, y) in [-1, 1] -> face (u, v); roll via tan(angle/2) (rational, exact arithmetic)
    t = nz["roll_t"]
    c = (1 - t * t) / (1 + t * t)
    s = 2 * t / (1 + t * t)
    k, tx, ty = nz["scale"], nz["tx"], nz["ty"]
    grid = (np.arange(size, dtype=f32) + f32(0.5)) * f32(2.0 / size) - 1
    x = grid[None, None, :] - _p(tx)
    y = grid[None, :, None] - _p(ty)
    u = (_p(c) * x + _p(s) * y) / _p(k)
    v = (-_p(s) * x + _p(c) * y) / _p(k)
    pw = _p(f32(2.0 / size) / k)

    # --- background: horizontal gradient between two colours
    bg0, bg1 = _rgb(nz, "bg0"), _rgb(nz, "bg1")
    ramp = ((grid + 1) * f32(0.5))[None, None, :, None]
    img = np.broadcast_to(bg0[:, None, None, :] + ramp * (bg1 - bg0)[:, None, None, :], (b, size, size, 3)).copy()
    cv = _Canvas(img, u, v, pw, (c, s, k, tx, ty), size)
    full = (slice(0, size), slice(0, size))

    skin = _rgb(fp, "skin")
    hair = _rgb(fp, "hair")
    yaw = nz["yaw"]
    jaw = A(26)
    zero = np.zeros(b, f32)

    # --- neck and hair behind the head
    win = cv.window(-0.45, 0.45, 0.3, 1.6)
    uu, vv = cv.uv(win)
    neck = np.maximum(np.abs(uu - _p(yaw * 0.3)) - f32(0.26), f32(0.45) - vv)
    cv.paint(win, neck, skin * f32(0.8))
    win = cv.window(-fp["face_rx"] - 0.12, fp["face_rx"] + 0.12, -fp["face_ry"] - 0.15, 0.35)
    uu, vv = cv.uv(win)
    back = np.maximum(_ellipse(uu, vv, yaw * 0.1, zero - 0.08, fp["face_rx"] + 0.09, fp["face_ry"] + 0.06),
                      vv - f32(0.3))
    cv.paint(win, back, hair)

    # --- face: an ellipse whose lower half lengthens with the jaw drop; lit from one side
    win = cv.window(-fp["face_rx"] - 0.05, fp["face_rx"] + 0.05, -fp["face_ry"] - 0.05, fp["face_ry"] + 0.25)
    uu, vv = cv.uv(win)
    ry = np.where(vv > 0, _p(fp["face_ry"] + 0.12 * jaw), _p(fp["face_ry"]))
    du = (uu - _p(yaw * 0.15)) / _p(fp["face_rx"])
    dv = vv / ry
    face_d = (np.sqrt(du * du + dv * dv) - 1) * _p(fp["face_rx"])
    alpha = np.clip(f32(0.5) - face_d / cv.pw, 0, 1)
    shade = 1 + f32(0.35) * _p(nz["light"]) * (uu / _p(fp["face_rx"]))
    patch = cv.img[:, win[0], win[1]]
    patch += alpha[..., None] * (np.clip(skin[:, None, None, :] * shade[..., None], 0, 255) - patch)
    # hair fringe over the forehead
    fringe = np.maximum(face_d, vv - _p(fp["hairline"]) - f32(0.12) * (uu / _p(fp["face_rx"])) ** 2)
    cv.paint(win, fringe - f32(0.005), hair)

    # --- per side: cheeks, eyes, brows
    for side, sign in ((0, -1.0), (1, 1.0)):
        sign = f32(sign)
        ex = sign * fp["eye_sep"] + yaw * 0.2
        ey = fp["eye_y"]
        a1, a2, a4, a5, a6, a7 = (A(n, side) for n in (1, 2, 4, 5, 6, 7))
        # cheeks (AU6): a rounded blush that rises with the cheek raiser
        cx_, cy_ = ex + sign * 0.04, ey + 0.27 - 0.07 * a6
        win = cv.window(cx_ - 0.17, cx_ + 0.17, cy_ - 0.14, cy_ + 0.12)
        uu, vv = cv.uv(win)
        blush = np.array([205, 80, 80], f32)[None, :] * f32(0.5) + skin * f32(0.5)
        cv.paint(win, _ellipse(uu, vv, cx_, cy_, zero + 0.15, zero + 0.1), np.broadcast_to(blush, (b, 3)),
                 opacity=np.clip(0.85 * a6, 0, 1))
        # cheek crease under the eye (AU6)
        d_crease = np.maximum(np.abs(_ellipse(uu, vv, cx_, cy_ - 0.02, zero + 0.15, zero + 0.1)) - f32(0.012),
                              vv - _p(cy_ - 0.02))
        cv.paint(win, d_crease, skin * f32(0.55), opacity=np.clip(a6, 0, 1))

        # eye opening between two parabolic lids; AU5 opens, AU7 and AU6 close from below
        erx = fp["eye_rx"]
        h_up = fp["eye_h"] * np.clip(1 + 1.1 * a5 - 0.55 * a7 - 0.25 * a6, 0.08, None)
        h_lo = fp["eye_h"] * np.clip(0.8 - 0.5 * a7 - 0.6 * a6 + 0.3 * a5, 0.05, None)
        iris_r = fp["eye_h"] * 1.05
        win = cv.window(ex - erx - 0.03, ex + erx + 0.03, ey - h_up - 0.04, ey + np.maximum(h_lo, iris_r) + 0.05)
        uu, vv = cv.uv(win)
        q = (uu - _p(ex)) / _p(erx)
        bump = 1 - q * q
        d_lid_up = _p(ey) - _p(h_up) * bump - vv
        d_lid_lo = vv - _p(ey) - _p(h_lo) * bump
        d_open = np.maximum(np.maximum(d_lid_up, d_lid_lo), np.abs(q) * _p(erx) - _p(erx))
        cv.paint(win, d_open, np.broadcast_to(np.array([250, 250, 250], f32), (b, 3)))
        d_iris = np.maximum(_ellipse(uu, vv, ex + yaw * 0.03, ey + fp["eye_h"] * 0.1, iris_r, iris_r), d_open)
        cv.paint(win, d_iris, _rgb(fp, "iris"))
        d_pupil = np.maximum(_ellipse(uu, vv, ex + yaw * 0.03, ey + fp["eye_h"] * 0.1, iris_r * 0.45,
                                      iris_r * 0.45), d_open)
        cv.paint(win, d_pupil, np.broadcast_to(np.array([15, 10, 10], f32), (b, 3)))
        # upper lid line
        d_line = np.maximum(np.abs(d_lid_up + f32(0.006)) - f32(0.014), np.abs(q) * _p(erx) - _p(erx) - f32(0.01))
        cv.paint(win, d_line, np.broadcast_to(np.array([30, 20, 20], f32), (b, 3)))

        # brow: a thick arc; t = -1 at the inner end, +1 at the outer end
        bw = f32(0.13)
        bx = ex - sign * 0.05 * a4
        by = ey - fp["brow_gap"] + 0.08 * a4 - 0.05 * (a1 + a2) * 0.5
        win = cv.window(bx - bw - 0.02, bx + bw + 0.02, by - fp["brow_arch"] - 0.3 * (a1 + a2) - 0.06, by + 0.15 * a4 + 0.06)
        uu, vv = cv.uv(win)
        tt = sign * (uu - _p(bx)) / bw
        inner = (1 - tt) * f32(0.5)
        outer = (1 + tt) * f32(0.5)
        centre = (_p(by) - _p(fp["brow_arch"]) * (1 - tt * tt) - f32(0.13) * _p(a1) * inner
                  - f32(0.11) * _p(a2) * outer + f32(0.12) * _p(a4) * inner - f32(0.03) * _p(a2) * (1 - tt * tt))
        taper = 1 - f32(0.35) * outer
        d_brow = np.maximum(np.abs(vv - centre) - _p(fp["brow_thick"]) * f32(0.5) * taper, np.abs(tt) * bw - bw)
        cv.paint(win, d_brow, hair * f32(0.45))

    # --- furrows between the brows (AU4)
    a4 = A(4)
    win = cv.window(-0.12 + yaw * 0.2, 0.12 + yaw * 0.2, fp["eye_y"] - 0.25, fp["eye_y"])
    uu, vv = cv.uv(win)
    mid = _p(yaw * 0.2)
    for off in (-0.03, 0.03):
        d_f = np.maximum(np.abs(uu - mid - f32(off)) - f32(0.007), np.abs(vv - _p(fp["eye_y"] - 0.1)) - f32(0.045))
        cv.paint(win, d_f, skin * f32(0.5), opacity=np.clip(1.2 * a4 - 0.15, 0, 1))

    # --- nose: wrinkles (AU9), nostrils rising and widening with AU9/AU10
    a9, a10 = A(9), A(10)
    nx = yaw * 0.28
    ny = fp["nose_y"] - 0.04 * a9 - 0.025 * a10
    win = cv.window(nx - 0.2, nx + 0.2, fp["eye_y"] - 0.05, ny + 0.1)
    uu, vv = cv.uv(win)
    d_tip = _ellipse(uu, vv, nx, ny - 0.02, zero + 0.07 + 0.02 * a9, zero + 0.05)
    cv.paint(win, d_tip, skin * f32(0.85))
    for sgn in (-1.0, 1.0):
        d_n = _ellipse(uu, vv, nx + sgn * (0.045 + 0.02 * a9), ny, zero + 0.022 + 0.01 * a9, zero + 0.014)
        cv.paint(win, d_n, skin * f32(0.35))
    for row in (0.04, 0.08, 0.12):
        d_w = np.maximum(np.abs(vv - _p(fp["eye_y"] + row)) - f32(0.009), np.abs(uu - _p(nx)) - f32(0.06))
        cv.paint(win, d_w, skin * f32(0.5), opacity=np.clip(1.3 * a9 - 0.2, 0, 1))

    # --- nasolabial folds (AU10, AU9, AU12): lines from the nostrils to beyond the lip corners
    fold = np.clip(0.9 * a10 + 0.6 * a9 + 0.5 * A(12) - 0.2, 0, 1)
    win = cv.window(nx - 0.4, nx + 0.4, ny - 0.05, fp["mouth_y"] + 0.1)
    uu, vv = cv.uv(win)
    for sgn in (-1.0, 1.0):
        span = _p(fp["mouth_y"] - ny)
        tv = (vv - _p(ny)) / span
        line_u = _p(nx) + f32(sgn) * (f32(0.09) + _p(fp["mouth_w"]) * f32(0.75) * tv)
        d_fold = np.maximum(np.abs(uu - line_u) - f32(0.011), np.abs(tv - f32(0.5)) * span - span * f32(0.5))
        cv.paint(win, d_fold, skin * f32(0.55), opacity=fold)

    # --- mouth, one half per side (lip corners can move independently)
    my, mw, lip = fp["mouth_y"], fp["mouth_w"], fp["lip_th"]
    mx = yaw * 0.22
    a23, a24, a25, a26, a10, a16 = A(23), A(24), A(25), A(26), A(10), A(16)
    opening_up = 0.022 * a25 + 0.045 * a10 + 0.035 * a26
    opening_lo = 0.025 * a25 + 0.05 * a16 + 0.2 * a26
    thin = np.clip(1 - 0.7 * a23 - 0.9 * a24, 0.08, None)
    # a window bounding the mouth of every face: widest corner, highest and lowest lip edges, dimples
    a12m, a14m, a15m, a20m = A(12), A(14), A(15), A(20)
    width_max = mw * (1 + 0.25 * a12m + 0.6 * a20m + 0.08 * a14m) + 0.1
    top = my - 0.11 * a12m - 0.04 * a14m - opening_up - 0.0105 - lip * 1.3 - 0.05
    bottom = my + 0.075 * a15m + 0.04 * a20m + opening_lo + 0.035 + lip * 1.3 + 0.05
    win = cv.window(mx - width_max, mx + width_max, top, bottom)
    uu, vv = cv.uv(win)
    du = uu - _p(mx)
    right = du < 0  # side 0: the face's right, the image's left
    per_side = {}
    for name, sidevals in (("w", [mw * (1 + 0.25 * A(12, sd) + 0.6 * A(20, sd) + 0.08 * A(14, sd)
                                        - 0.22 * a23 - 0.15 * a24) for sd in (0, 1)]),
                           ("lift", [0.075 * A(15, sd) + 0.04 * A(20, sd) - 0.11 * A(12, sd) - 0.04 * A(14, sd)
                                     for sd in (0, 1)]),
                           ("smile_open", [0.035 * A(12, sd) for sd in (0, 1)])):
        per_side[name] = np.where(right, _p(sidevals[0]), _p(sidevals[1]))
    w = per_side["w"]
    qq = np.clip(du / w, -1.2, 1.2)
    q2 = qq * qq
    bump = np.clip(1 - q2, 0, 1)
    yc = _p(my) + per_side["lift"] * q2
    up_open = (_p(opening_up) + per_side["smile_open"] * f32(0.3)) * bump
    lo_open = (_p(opening_lo) + per_side["smile_open"]) * bump
    inside_w = np.abs(du) - w
    up_th = _p(lip * thin) * (f32(0.35) + f32(0.65) * bump)
    lo_th = _p(lip * thin) * (f32(0.5) + f32(0.8) * bump)
    lip_col = np.clip(skin * np.array([0.85, 0.55, 0.55], f32) + np.array([40, 0, 5], f32), 0, 255)
    d_upper = np.maximum(np.maximum(vv - (yc - up_open), (yc - up_open - up_th) - vv), inside_w)
    d_lower = np.maximum(np.maximum((yc + lo_open) - vv, vv - (yc + lo_open + lo_th)), inside_w)
    cv.paint(win, np.minimum(d_upper, d_lower), lip_col)
    d_gap = np.maximum(np.maximum((yc - up_open) - vv, vv - (yc + lo_open)), inside_w)
    cv.paint(win, d_gap, np.broadcast_to(np.array([70, 20, 25], f32), (b, 3)))
    teeth = np.broadcast_to(np.array([245, 245, 235], f32), (b, 3))
    teeth_up = np.minimum(up_open + lo_open, f32(0.045)) * np.clip(2.5 * _p(a10 + A(12)) + 0.6 * _p(a26), 0, 1)
    d_tu = np.maximum(np.maximum((yc - up_open) - vv, vv - (yc - up_open + teeth_up)), inside_w * 1.15)
    cv.paint(win, d_tu, teeth)
    teeth_lo = np.minimum(up_open + lo_open, f32(0.04)) * np.clip(2 * _p(a16), 0, 1)
    d_tl = np.maximum(np.maximum((yc + lo_open - teeth_lo) - vv, vv - (yc + lo_open)), inside_w * 1.15)
    cv.paint(win, d_tl, teeth)
    # the seam between closed lips (makes the lip-corner curve visible when the mouth is shut)
    d_seam = np.maximum(np.abs(vv - yc) - f32(0.008) - f32(0.012) * _p(a24), inside_w)
    cv.paint(win, d_seam, np.broadcast_to(np.array([60, 20, 25], f32), (b, 3)))
    # dimples (AU14) at the corners
    for sd, sgn in ((0, -1.0), (1, 1.0)):
        a14 = A(14, sd)
        wc = mw * (1 + 0.25 * A(12, sd) + 0.6 * A(20, sd) + 0.08 * a14 - 0.22 * a23 - 0.15 * a24)
        lift = 0.075 * A(15, sd) + 0.04 * A(20, sd) - 0.11 * A(12, sd) - 0.04 * a14
        d_dim = _ellipse(uu, vv, mx + sgn * (wc + 0.035), my + lift - 0.01, zero + 0.014, zero + 0.03)
        cv.paint(win, d_dim, skin * f32(0.45), opacity=np.clip(1.3 * a14, 0, 1))

    # --- occlusion: a rectangle (hand, microphone, mask) in image coordinates; only on faces that have one
    gx = grid[None, None, :]
    gy = grid[None, :, None]
    sel = np.flatnonzero(nz["occ"] > 0)
    if sel.size:
        o = {key: nz[key][sel] for key in ("occ_x0", "occ_x1", "occ_y0", "occ_y1", "occ")}
        d_occ = np.maximum(np.maximum(_p(o["occ_x0"]) - gx, gx - _p(o["occ_x1"])),
                           np.maximum(_p(o["occ_y0"]) - gy, gy - _p(o["occ_y1"])))
        cv.paint(full, d_occ, _rgb(nz, "occ")[sel], opacity=o["occ"], faces=sel, pw=f32(2.0 / size))
    # --- confound mark: a yellow square in the top-left corner
    sel = np.flatnonzero(nz["confound"] > 0)
    if sel.size:
        d_mark = np.broadcast_to(np.maximum(gx - f32(-0.62), gy - f32(-0.62)), (sel.size, size, size))
        cv.paint(full, d_mark, np.broadcast_to(np.array([250, 215, 30], f32), (sel.size, 3)),
                 opacity=nz["confound"][sel], faces=sel, pw=f32(2.0 / size))

    img = cv.img
    # --- blur: mix with a 3x3 box filter
    blurred = np.flatnonzero(nz["blur"] > 0)
    if blurred.size:
        sub = img[blurred]
        pad = np.pad(sub, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        rows = pad[:, :, 0:size] + pad[:, :, 1:size + 1] + pad[:, :, 2:size + 2]  # separable 3x3 box sum
        box = (rows[:, 0:size] + rows[:, 1:size + 1] + rows[:, 2:size + 2]) * f32(1.0 / 9.0)
        img[blurred] = sub + nz["blur"][blurred, None, None, None] * (box - sub)
    if noise_field is not None:
        img += nz["noise"][:, None, None, None] * noise_field
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
