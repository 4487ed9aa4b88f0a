"""Each class's position on the circumplex for a table of classes, and where the position comes from (chapter 02)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import circumplex as cx
from ._circumplex import is_other

__all__ = ["class_positions"]


def class_positions(classes: Sequence[str], coordinates: str = "russell1977",
                    placement: str = cx.DEFAULT_PLACEMENT, va: np.ndarray | None = None,
                    labels: np.ndarray | None = None) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Each placed class's (valence, arousal) and, for every class, where its position comes from.

    The book's rules (chapter 01): a class of the published set ``coordinates`` sits at its published point; a class
    the set lacks is placed by the named hand placement ``placement``
    (:data:`affect_book.circumplex.HAND_PLACEMENTS`); with per-sample ``va`` and ``labels``, a class with labelled
    samples sits at its class-mean valence-arousal in the data instead; Other has no position.

    Parameters
    ----------
    classes : sequence of str
        The classes, in their order.
    coordinates : str
        A published coordinate set (:data:`affect_book.circumplex.COORDINATE_SETS`).
    placement : str
        A named hand placement.
    va, labels : ndarray, optional
        (N, 2) valence-arousal and (N,) class indices into ``classes`` (-1: unlabelled), as in
        :func:`affect_book.circumplex.class_mean_coordinates`.

    Returns
    -------
    positions : dict
        Class name to (valence, arousal), for the placed classes only.
    origin : list of str
        Per class: the coordinate set's name, ``"placed by hand (<placement>)"``, ``"data mean of <n> samples"`` or
        ``"no coordinate (the book's rule for Other)"``.

    Raises
    ------
    ValueError
        A class other than Other has no position (the coordinate set lacks it and no placement places it).
    """
    published = cx.coordinates(classes, coordinates, placement=placement)
    pos = {c: tuple(v) for c, v in zip(classes, published.va) if c not in published.missing}
    origin = {c: f"placed by hand ({published.placement})" if c in published.filled else coordinates for c in pos}
    if va is not None:
        means = cx.class_mean_coordinates(va, labels, classes)
        for c, v in zip(classes, means.va):
            if c not in means.missing and not is_other(c):
                pos[c], origin[c] = tuple(v), f"data mean of {means.counts[c]} samples"
    for c in classes:
        if is_other(c):
            origin[c] = "no coordinate (the book's rule for Other)"
    lacking = [c for c in classes if c not in pos and not is_other(c)]
    if lacking:
        raise ValueError(f"no position for {lacking} in {coordinates}; choose COORDINATES='russell1977'")
    return pos, [origin[c] for c in classes]
