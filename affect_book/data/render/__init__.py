"""Vectorised face renderer driven by FACS action units. Introduced in chapter 03.

Draws a batch of cartoon faces at once with NumPy: every shape (face, hair, brows, eyes, cheeks, nose, lips,
teeth, dimples, furrows) is a signed-distance field evaluated over the pixel grid (only inside a window that
bounds the shape across the batch), turned into anti-aliased coverage and painted in order. Each rendered action
unit moves a part of the face:

====  =====================  ==============================================================
AU    name                   what the renderer does
====  =====================  ==============================================================
1     inner brow raiser      inner ends of the brows go up (oblique brows)
2     outer brow raiser      outer ends of the brows go up
4     brow lowerer           brows go down and together, inner ends lowest; furrows between
5     upper lid raiser       upper lids open: white shows above the iris
6     cheek raiser           cheeks lift and redden; lower lids rise (eyes narrow from below)
7     lid tightener          both lids close in (narrow eyes)
9     nose wrinkler          wrinkles across the nose bridge; nostrils rise and widen
10    upper lip raiser       upper lip rises, upper teeth show; nasolabial folds deepen
12    lip corner puller      lip corners go up and out (a smile), teeth show a little
14    dimpler                dimples at the lip corners, corners tighten
15    lip corner depressor   lip corners go down
16    lower lip depressor    lower lip goes down, lower teeth show
17    chin raiser            a crease deepens under the lower lip; the chin boss puckers
20    lip stretcher          mouth stretches sideways, corners flatten
23    lip tightener          lips narrow and thin
24    lip pressor            lips press into a thin line
25    lips part              a small gap between the lips
26    jaw drop               mouth opens wide, the chin drops
====  =====================  ==============================================================

Every AU has a left and a right intensity (``au`` has shape (batch, len(RENDERED_AUS), 2): side 0 is the
face's right, drawn on the image's left), so unilateral expressions (contempt) render.

**Determinism.** Rendering uses only elementwise IEEE-754 arithmetic (``+``, ``-``, ``*``, ``/``, sqrt, min, max,
comparisons) in float32, no transcendental functions, no BLAS, no reductions and no threads, and every input
parameter is quantised to a multiple of 1/4096 by the caller; the same inputs therefore give byte-identical uint8
images on any machine. A pixel depends only on its own face's parameters, never on the other faces in the batch.

**Structure.** :mod:`._canvas` holds the pose, the background and the anti-aliased painting; :mod:`._painters` one
painter per face part (head, cheek, eye, brow, furrows, nose, folds, mouth, dimples, chin), :mod:`._nuisance` the
occlusion, the confound mark and blur. :func:`render_faces` calls them in painting order.
"""

from __future__ import annotations

import numpy as np

from ...facs import RENDERED_AUS
from ...params import check_choice
from . import _nuisance, _painters
from ._canvas import _AU_POS, _Face, _posed_canvas, f32

__all__ = ["FACE_PARAMETERS", "NUISANCE_PARAMETERS", "au_index", "render_faces"]

#: Identity parameters (per face, canonical units where the face spans about [-0.7, 0.7] x [-0.9, 0.9]).
FACE_PARAMETERS: tuple[str, ...] = (
    "face_rx", "face_ry", "eye_sep", "eye_y", "eye_rx", "eye_h", "brow_gap", "brow_thick", "brow_arch",
    "nose_y", "mouth_y", "mouth_w", "lip_th", "hairline",
    "skin_r", "skin_g", "skin_b", "hair_r", "hair_g", "hair_b", "iris_r", "iris_g", "iris_b",
)
#: Nuisance parameters per image: pose (scale, translation, roll as tan(angle/2), yaw shift), lighting, blur,
#: noise, occlusion rectangle and colour, background colours, the shortcut (corner) mark (0/1) and low resolution
#: (0: full; 1: every 2x2 block averaged; 2: every 4x4 block: a face captured small and scaled up).
NUISANCE_PARAMETERS: tuple[str, ...] = (
    "scale", "tx", "ty", "roll_t", "yaw", "light", "blur", "noise",
    "occ", "occ_x0", "occ_y0", "occ_x1", "occ_y1", "occ_r", "occ_g", "occ_b",
    "bg0_r", "bg0_g", "bg0_b", "bg1_r", "bg1_g", "bg1_b", "confound", "lowres",
)


def au_index(au: int) -> int:
    """Position of an action unit in the renderer's AU axis (``RENDERED_AUS`` order).

    Parameters
    ----------
    au : int
        An action unit number among ``RENDERED_AUS``.

    Returns
    -------
    int
        Its index on the renderer's AU axis.
    """
    check_choice("rendered AU", au, RENDERED_AUS)
    return _AU_POS[au]


def render_faces(au: np.ndarray, face: dict, nuisance: dict, size: int,
                 noise_field: np.ndarray | None = None) -> np.ndarray:
    """Render a batch of faces.

    Parameters
    ----------
    au : ndarray
        (B, len(RENDERED_AUS), 2) intensities in [0, 1], last axis (right side of the face, left side).
    face : dict
        (B,) arrays named in ``FACE_PARAMETERS``.
    nuisance : dict
        (B,) arrays named in ``NUISANCE_PARAMETERS``.
    size : int
        Pixels per side.
    noise_field : ndarray or None
        (B, size, size, 1 or 3) standard normal noise (scaled by ``nuisance["noise"]``, in grey levels).

    Returns
    -------
    ndarray
        (B, size, size, 3) uint8 RGB.
    """
    au = np.asarray(au, f32)
    fp = {k: np.asarray(face[k], f32) for k in FACE_PARAMETERS}
    nz = {k: np.asarray(nuisance[k], f32) for k in NUISANCE_PARAMETERS}
    f = _Face(_posed_canvas(nz, size, au.shape[0]), au, fp, nz)
    _painters.paint_head(f)
    for side in (0, 1):
        _painters.paint_cheek(f, side)
        _painters.paint_eye(f, side)
        _painters.paint_brow(f, side)
    for painter in (_painters.paint_furrows, _painters.paint_nose, _painters.paint_folds, _painters.paint_mouth,
                    _painters.paint_dimples, _painters.paint_chin, _nuisance.paint_occlusion,
                    _nuisance.paint_confound_mark):
        painter(f)
    img = f.cv.img
    _nuisance.apply_blur(img, nz["blur"])
    _nuisance.apply_low_resolution(img, nz["lowres"])
    if noise_field is not None:
        img += nz["noise"][:, None, None, None] * noise_field
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
