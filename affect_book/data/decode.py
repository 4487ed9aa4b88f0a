"""Decode one face image: open, crop the face box, resize, as uint8 RGB (the unit of work of the prepared cache).

:func:`decode_face` is what :func:`affect_book.data.prepare.prepare` runs on every record once; an image that
cannot be used raises :class:`UnusableImage` with the reason under which the cache counts it.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["UnusableImage", "decode_face"]


class UnusableImage(Exception):
    """An image that cannot be decoded or cropped.

    Parameters
    ----------
    reason : str
        Why, in a few words (``"image missing"``, ``"face box outside the image"``...): the key under which the
        prepared cache counts the skipped image. Kept as the ``reason`` attribute and as the message.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def decode_face(path: str | os.PathLike, box=(-1, -1, -1, -1), size: int = 112) -> np.ndarray:
    """Decode an image, crop the face box and resize it (bilinear, antialiased; aspect not kept).

    Large JPEGs are decoded at a reduced scale first (libjpeg DCT scaling), never below ``size``.

    Parameters
    ----------
    path : str or PathLike
        The image file.
    box : tuple of 4 int
        ``x, y, width, height`` in source pixels; all -1: no crop (the image is the face).
    size : int
        Pixels per side of the result.

    Returns
    -------
    numpy.ndarray
        (size, size, 3) uint8 RGB.

    Raises
    ------
    UnusableImage
        With a reason, for a missing or unreadable file and a box outside the image.
    """
    try:
        with Image.open(path) as img:
            width, height = img.size
            x, y, w, h = (int(v) for v in box)
            has_box = w > 0 and h > 0
            region_w, region_h = (w, h) if has_box else (width, height)
            if img.format == "JPEG":
                scale_request = (max(1, -(-width * size // region_w)), max(1, -(-height * size // region_h)))
                img.draft("RGB", scale_request)
            scale = img.size[0] / width
            img = img.convert("RGB")
            if has_box:
                x0, y0 = max(0, x), max(0, y)
                x1, y1 = min(width, x + w), min(height, y + h)
                if x1 <= x0 or y1 <= y0:
                    raise UnusableImage("face box outside the image")
                img = img.crop((round(x0 * scale), round(y0 * scale), max(round(x1 * scale), round(x0 * scale) + 1),
                                max(round(y1 * scale), round(y0 * scale) + 1)))
            img = img.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except UnusableImage:
        raise
    except FileNotFoundError:
        raise UnusableImage("image missing") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise UnusableImage("image unreadable (corrupt or not an image)") from None
