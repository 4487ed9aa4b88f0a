"""One painter per face part, each drawing its part on a batch (:class:`._canvas._Face`) with the AUs that move it.

The painters run in the order :func:`affect_book.data.render.render_faces` calls them (later parts paint over
earlier ones): head, then per side cheek, eye and brow, then furrows, nose, nasolabial folds, mouth, dimples. A
painter reads only its batch's parameters and writes only the pixels its shapes cover.
"""

from __future__ import annotations

import numpy as np

from ._canvas import _ellipse, _Face, _grey, _p, _rgb, f32

_SIDES = ((0, -1.0), (1, 1.0))  # side 0: the face's right, drawn on the image's left


def paint_head(f: _Face) -> None:
    """Neck, hair behind the head, the face (an ellipse whose lower half lengthens with the jaw drop, AU26, lit from
    one side) and the hair fringe over the forehead."""
    cv, fp, skin, hair, yaw = f.cv, f.fp, f.skin, f.hair, f.yaw
    win = cv.window(-0.45, 0.45, 0.3, 1.6)
    uu, vv = cv.uv(win)
    neck = np.maximum(np.abs(uu - _p(yaw * 0.3)) - f32(0.26), f32(0.45) - vv)
    cv.paint(win, neck, skin * f32(0.8))
    win = cv.window(-fp["face_rx"] - 0.12, fp["face_rx"] + 0.12, -fp["face_ry"] - 0.15, 0.35)
    uu, vv = cv.uv(win)
    back = np.maximum(_ellipse(uu, vv, yaw * 0.1, f.zero - 0.08, fp["face_rx"] + 0.09, fp["face_ry"] + 0.06),
                      vv - f32(0.3))
    cv.paint(win, back, hair)

    win = cv.window(-fp["face_rx"] - 0.05, fp["face_rx"] + 0.05, -fp["face_ry"] - 0.05, fp["face_ry"] + 0.25)
    uu, vv = cv.uv(win)
    ry = np.where(vv > 0, _p(fp["face_ry"] + 0.12 * f.A(26)), _p(fp["face_ry"]))
    du = (uu - _p(yaw * 0.15)) / _p(fp["face_rx"])
    dv = vv / ry
    face_d = (np.sqrt(du * du + dv * dv) - 1) * _p(fp["face_rx"])
    alpha = np.clip(f32(0.5) - face_d / cv.pw, 0, 1)
    shade = 1 + f32(0.35) * _p(f.nz["light"]) * (uu / _p(fp["face_rx"]))
    patch = cv.img[:, win[0], win[1]]
    patch += alpha[..., None] * (np.clip(skin[:, None, None, :] * shade[..., None], 0, 255) - patch)
    fringe = np.maximum(face_d, vv - _p(fp["hairline"]) - f32(0.12) * (uu / _p(fp["face_rx"])) ** 2)
    cv.paint(win, fringe - f32(0.005), hair)


def _eye_centre(f: _Face, side: int):
    """(sign, eye centre u, eye centre v) of one side."""
    sign = f32(_SIDES[side][1])
    return sign, sign * f.fp["eye_sep"] + f.yaw * 0.2, f.fp["eye_y"]


def paint_cheek(f: _Face, side: int) -> None:
    """A rounded blush that rises and reddens with the cheek raiser (AU6), and the crease under the eye."""
    cv = f.cv
    sign, ex, ey = _eye_centre(f, side)
    a6 = f.A(6, side)
    cx_, cy_ = ex + sign * 0.04, ey + 0.27 - 0.07 * a6
    win = cv.window(cx_ - 0.17, cx_ + 0.17, cy_ - 0.14, cy_ + 0.12)
    uu, vv = cv.uv(win)
    blush = np.array([205, 80, 80], f32)[None, :] * f32(0.5) + f.skin * f32(0.5)
    cv.paint(win, _ellipse(uu, vv, cx_, cy_, f.zero + 0.15, f.zero + 0.1), np.broadcast_to(blush, (f.b, 3)),
             opacity=np.clip(0.85 * a6, 0, 1))
    d_crease = np.maximum(np.abs(_ellipse(uu, vv, cx_, cy_ - 0.02, f.zero + 0.15, f.zero + 0.1)) - f32(0.012),
                          vv - _p(cy_ - 0.02))
    cv.paint(win, d_crease, f.skin * f32(0.55), opacity=np.clip(a6, 0, 1))


def paint_eye(f: _Face, side: int) -> None:
    """The eye opening between two parabolic lids (AU5 opens; AU7 and AU6 close from below), iris, pupil, lid line."""
    cv, fp = f.cv, f.fp
    _, ex, ey = _eye_centre(f, side)
    a5, a6, a7 = (f.A(n, side) for n in (5, 6, 7))
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
    cv.paint(win, d_open, _grey([250, 250, 250], f.b))
    d_iris = np.maximum(_ellipse(uu, vv, ex + f.yaw * 0.03, ey + fp["eye_h"] * 0.1, iris_r, iris_r), d_open)
    cv.paint(win, d_iris, _rgb(fp, "iris"))
    d_pupil = np.maximum(_ellipse(uu, vv, ex + f.yaw * 0.03, ey + fp["eye_h"] * 0.1, iris_r * 0.45,
                                  iris_r * 0.45), d_open)
    cv.paint(win, d_pupil, _grey([15, 10, 10], f.b))
    d_line = np.maximum(np.abs(d_lid_up + f32(0.006)) - f32(0.014), np.abs(q) * _p(erx) - _p(erx) - f32(0.01))
    cv.paint(win, d_line, _grey([30, 20, 20], f.b))


def paint_brow(f: _Face, side: int) -> None:
    """A thick arc (t = -1 at the inner end, +1 at the outer end): AU1 raises the inner end, AU2 the outer end, AU4
    lowers it and draws it in."""
    cv, fp = f.cv, f.fp
    sign, ex, ey = _eye_centre(f, side)
    a1, a2, a4 = (f.A(n, side) for n in (1, 2, 4))
    bw = f32(0.13)
    bx = ex - sign * 0.05 * a4
    by = ey - fp["brow_gap"] + 0.08 * a4 - 0.05 * (a1 + a2) * 0.5
    top = by - fp["brow_arch"] - 0.3 * (a1 + a2) - 0.06
    win = cv.window(bx - bw - 0.02, bx + bw + 0.02, top, by + 0.15 * a4 + 0.06)
    uu, vv = cv.uv(win)
    tt = sign * (uu - _p(bx)) / bw
    inner = (1 - tt) * f32(0.5)
    outer = (1 + tt) * f32(0.5)
    centre = (_p(by) - _p(fp["brow_arch"]) * (1 - tt * tt) - f32(0.13) * _p(a1) * inner
              - f32(0.11) * _p(a2) * outer + f32(0.12) * _p(a4) * inner - f32(0.03) * _p(a2) * (1 - tt * tt))
    taper = 1 - f32(0.35) * outer
    d_brow = np.maximum(np.abs(vv - centre) - _p(fp["brow_thick"]) * f32(0.5) * taper, np.abs(tt) * bw - bw)
    cv.paint(win, d_brow, f.hair * f32(0.45))


def paint_furrows(f: _Face) -> None:
    """Two vertical furrows between the brows (AU4)."""
    cv, fp, yaw = f.cv, f.fp, f.yaw
    a4 = f.A(4)
    win = cv.window(-0.12 + yaw * 0.2, 0.12 + yaw * 0.2, fp["eye_y"] - 0.25, fp["eye_y"])
    uu, vv = cv.uv(win)
    mid = _p(yaw * 0.2)
    for off in (-0.03, 0.03):
        d_f = np.maximum(np.abs(uu - mid - f32(off)) - f32(0.007), np.abs(vv - _p(fp["eye_y"] - 0.1)) - f32(0.045))
        cv.paint(win, d_f, f.skin * f32(0.5), opacity=np.clip(1.2 * a4 - 0.15, 0, 1))


def _nose_centre(f: _Face):
    """(u, v) of the nostrils: they rise with AU9 and AU10."""
    return f.yaw * 0.28, f.fp["nose_y"] - 0.06 * f.A(9) - 0.035 * f.A(10)


def paint_nose(f: _Face) -> None:
    """Nose tip, nostrils widening with AU9, and wrinkles across the bridge (AU9)."""
    cv, fp, skin = f.cv, f.fp, f.skin
    a9 = f.A(9)
    nx, ny = _nose_centre(f)
    win = cv.window(nx - 0.2, nx + 0.2, fp["eye_y"] - 0.05, ny + 0.1)
    uu, vv = cv.uv(win)
    d_tip = _ellipse(uu, vv, nx, ny - 0.02, f.zero + 0.07 + 0.03 * a9, f.zero + 0.05)
    cv.paint(win, d_tip, skin * f32(0.85))
    for sgn in (-1.0, 1.0):
        d_n = _ellipse(uu, vv, nx + sgn * (0.045 + 0.035 * a9), ny, f.zero + 0.022 + 0.018 * a9,
                       f.zero + 0.014 + 0.008 * a9)
        cv.paint(win, d_n, skin * f32(0.35))
    for row in (0.04, 0.08, 0.12):
        d_w = np.maximum(np.abs(vv - _p(fp["eye_y"] + row)) - f32(0.014), np.abs(uu - _p(nx)) - f32(0.085))
        cv.paint(win, d_w, skin * f32(0.4), opacity=np.clip(1.3 * a9 - 0.2, 0, 1))


def paint_folds(f: _Face) -> None:
    """Nasolabial folds (AU10, AU9, AU12): lines from the nostrils to beyond the lip corners."""
    cv, fp = f.cv, f.fp
    fold = np.clip(1.2 * f.A(10) + 0.9 * f.A(9) + 0.5 * f.A(12) - 0.2, 0, 1)
    nx, ny = _nose_centre(f)
    win = cv.window(nx - 0.4, nx + 0.4, ny - 0.05, fp["mouth_y"] + 0.1)
    uu, vv = cv.uv(win)
    for sgn in (-1.0, 1.0):
        span = _p(fp["mouth_y"] - ny)
        tv = (vv - _p(ny)) / span
        line_u = _p(nx) + f32(sgn) * (f32(0.09) + _p(fp["mouth_w"]) * f32(0.75) * tv)
        d_fold = np.maximum(np.abs(uu - line_u) - f32(0.011), np.abs(tv - f32(0.5)) * span - span * f32(0.5))
        cv.paint(win, d_fold, f.skin * f32(0.55), opacity=fold)


def _corner(f: _Face, side: int):
    """(half width, lift) of the mouth on one side: AU12 pulls the corner up and out, AU14 tightens, AU15 pulls it
    down, AU20 stretches it; AU23 and AU24 narrow the mouth."""
    a12, a14, a15, a20 = (f.A(n, side) for n in (12, 14, 15, 20))
    w = f.fp["mouth_w"] * (1 + 0.25 * a12 + 0.6 * a20 + 0.08 * a14 - 0.22 * f.A(23) - 0.15 * f.A(24))
    lift = 0.075 * a15 + 0.04 * a20 - 0.11 * a12 - 0.04 * a14
    return w, lift


def _mouth_window(f: _Face):
    """(window, u, v, upper opening, lower opening): a window bounding the mouth of every face (widest corner,
    highest and lowest lip edges, dimples), and how far the lips part (AU25, AU10, AU26; AU16 lowers the lower lip)."""
    my, mw, lip = f.fp["mouth_y"], f.fp["mouth_w"], f.fp["lip_th"]
    mx = f.yaw * 0.22
    a10, a16, a25, a26 = f.A(10), f.A(16), f.A(25), f.A(26)
    opening_up = 0.022 * a25 + 0.075 * a10 + 0.035 * a26
    opening_lo = 0.025 * a25 + 0.085 * a16 + 0.2 * a26
    a12m, a14m, a15m, a20m = f.A(12), f.A(14), f.A(15), f.A(20)
    width_max = mw * (1 + 0.25 * a12m + 0.6 * a20m + 0.08 * a14m) + 0.1
    top = my - 0.11 * a12m - 0.04 * a14m - opening_up - 0.0105 - lip * 1.3 - 0.05
    bottom = my + 0.075 * a15m + 0.04 * a20m + opening_lo + 0.035 + lip * 1.3 + 0.05
    win = f.cv.window(mx - width_max, mx + width_max, top, bottom)
    uu, vv = f.cv.uv(win)
    return win, uu, vv, opening_up, opening_lo


def paint_mouth(f: _Face) -> None:
    """Lips, the gap between them, upper teeth (AU10, AU12, AU26), lower teeth (AU16) and the seam of closed lips
    (pressed by AU24), one half per side so the lip corners move independently; AU23 and AU24 thin the lips."""
    cv, fp = f.cv, f.fp
    my, lip = fp["mouth_y"], fp["lip_th"]
    mx = f.yaw * 0.22
    thin = np.clip(1 - 0.7 * f.A(23) - 0.9 * f.A(24), 0.08, None)
    win, uu, vv, opening_up, opening_lo = _mouth_window(f)
    du = uu - _p(mx)
    right = du < 0  # side 0: the face's right, the image's left
    (w0, lift0), (w1, lift1) = _corner(f, 0), _corner(f, 1)
    w = np.where(right, _p(w0), _p(w1))
    qq = np.clip(du / w, -1.2, 1.2)
    q2 = qq * qq
    bump = np.clip(1 - q2, 0, 1)
    yc = _p(my) + np.where(right, _p(lift0), _p(lift1)) * q2
    smile_open = np.where(right, _p(0.035 * f.A(12, 0)), _p(0.035 * f.A(12, 1)))
    up_open = (_p(opening_up) + smile_open * f32(0.3)) * bump
    lo_open = (_p(opening_lo) + smile_open) * bump
    inside_w = np.abs(du) - w
    up_th = _p(lip * thin) * (f32(0.35) + f32(0.65) * bump)
    lo_th = _p(lip * thin) * (f32(0.5) + f32(0.8) * bump)
    lip_col = np.clip(f.skin * np.array([0.85, 0.55, 0.55], f32) + np.array([40, 0, 5], f32), 0, 255)
    d_upper = np.maximum(np.maximum(vv - (yc - up_open), (yc - up_open - up_th) - vv), inside_w)
    d_lower = np.maximum(np.maximum((yc + lo_open) - vv, vv - (yc + lo_open + lo_th)), inside_w)
    cv.paint(win, np.minimum(d_upper, d_lower), lip_col)
    d_gap = np.maximum(np.maximum((yc - up_open) - vv, vv - (yc + lo_open)), inside_w)
    cv.paint(win, d_gap, _grey([70, 20, 25], f.b))
    teeth = _grey([245, 245, 235], f.b)
    teeth_up = np.minimum(up_open + lo_open, f32(0.045)) * np.clip(2.5 * _p(f.A(10) + f.A(12)) + 0.6 * _p(f.A(26)),
                                                                   0, 1)
    d_tu = np.maximum(np.maximum((yc - up_open) - vv, vv - (yc - up_open + teeth_up)), inside_w * 1.15)
    cv.paint(win, d_tu, teeth)
    teeth_lo = np.minimum(up_open + lo_open, f32(0.04)) * np.clip(2 * _p(f.A(16)), 0, 1)
    d_tl = np.maximum(np.maximum((yc + lo_open - teeth_lo) - vv, vv - (yc + lo_open)), inside_w * 1.15)
    cv.paint(win, d_tl, teeth)
    d_seam = np.maximum(np.abs(vv - yc) - f32(0.008) - f32(0.012) * _p(f.A(24)), inside_w)
    cv.paint(win, d_seam, _grey([60, 20, 25], f.b))


def paint_dimples(f: _Face) -> None:
    """Dimples (AU14) just beyond each lip corner."""
    my, mx = f.fp["mouth_y"], f.yaw * 0.22
    win, uu, vv, _, _ = _mouth_window(f)
    for sd, sgn in _SIDES:
        wc, lift = _corner(f, sd)
        d_dim = _ellipse(uu, vv, mx + sgn * (wc + 0.035), my + lift - 0.01, f.zero + 0.014, f.zero + 0.03)
        f.cv.paint(win, d_dim, f.skin * f32(0.45), opacity=np.clip(1.3 * f.A(14, sd), 0, 1))


def paint_chin(f: _Face) -> None:
    """The chin raiser (AU17): the chin boss pushes up, so a curved crease deepens under the lower lip and the
    chin's skin puckers (a darker boss with small dimples)."""
    cv, fp = f.cv, f.fp
    a17 = f.A(17)
    if not np.any(a17 > 0):
        return
    mx, my = f.yaw * 0.22, fp["mouth_y"]
    cy = my + fp["lip_th"] * 2.2 + 0.07
    win = cv.window(mx - 0.2, mx + 0.2, cy - 0.06, cy + 0.16)
    uu, vv = cv.uv(win)
    q = (uu - _p(mx)) / f32(0.14)
    d_crease = np.maximum(np.abs(vv - _p(cy) + f32(0.03) * q * q) - f32(0.008), np.abs(q) * f32(0.14) - f32(0.14))
    cv.paint(win, d_crease, f.skin * f32(0.5), opacity=np.clip(1.3 * a17 - 0.1, 0, 1))
    d_boss = _ellipse(uu, vv, mx, cy + 0.08, f.zero + 0.11, f.zero + 0.06)
    cv.paint(win, d_boss, f.skin * f32(0.78), opacity=np.clip(0.9 * a17, 0, 1))
    for off in (-0.05, 0.0, 0.05):
        d_dot = _ellipse(uu, vv, mx + off, cy + 0.08 + 0.015 * abs(off) / 0.05, f.zero + 0.012, f.zero + 0.012)
        cv.paint(win, d_dot, f.skin * f32(0.55), opacity=np.clip(1.2 * a17 - 0.2, 0, 1))
