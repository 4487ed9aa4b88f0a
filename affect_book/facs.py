"""Facial Action Coding System (FACS): action units and the expression prototypes built from them.

Introduced in chapter 03. One table, shared by the face simulator (which renders these AUs) and the AU-augmented
optimal-transport cost (which compares classes by their prototypes), so the two can never disagree.

Prototypes follow EMFACS-style predictions (Ekman & Friesen; as summarised in e.g. Matsumoto et al. 2008): each
expression is one or more *variants*, each a set of AUs. Contempt's AUs are **unilateral** (one side of the face).
Neutral has no AU; "Other" (Aff-Wild2's catch-all) has no prototype: it stands for faces outside these prototypes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .circumplex import concept_of

__all__ = ["ABAW_AUS", "AU_NAMES", "EMFACS_VARIANTS", "PROTOTYPES", "RENDERED_AUS", "UNILATERAL", "prototype_matrix"]

#: The 12 action units labelled by the ABAW challenges (Aff-Wild2), in the column order of its files.
ABAW_AUS: tuple[int, ...] = (1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26)

#: FACS names of every AU this book uses (the 12 ABAW AUs and those the prototypes need besides).
AU_NAMES: dict[int, str] = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser", 12: "lip corner puller",
    14: "dimpler", 15: "lip corner depressor", 16: "lower lip depressor", 17: "chin raiser", 20: "lip stretcher",
    23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop",
}

#: Every AU a prototype or a label uses, sorted: what the simulator renders.
RENDERED_AUS: tuple[int, ...] = tuple(sorted(AU_NAMES))

#: Expression prototypes: concept -> variants, each variant a tuple of AUs.
PROTOTYPES: dict[str, tuple[tuple[int, ...], ...]] = {
    "neutral": ((),),
    "happy": ((6, 12),),
    "sad": ((1, 4, 15),),
    "surprise": ((1, 2, 5, 26),),
    "fear": ((1, 2, 4, 5, 7, 20, 26),),
    "anger": ((4, 5, 7, 23),),
    "disgust": ((9, 15, 16), (9, 10)),
    "contempt": ((12, 14),),
}

#: Further EMFACS variants the simulator can add (``emfacs_variants=True``), kept apart from :data:`PROTOTYPES` so
#: the AU-augmented cost (which averages the variants) does not change with a simulator option. Anger 4+5+7+24 and
#: 4+5+7+17+23 (lips pressed, or tightened with the chin raised); sadness 6+15 (cheeks raised, corners down);
#: fear 1+2+4+5 (the brows and lids without the mouth) and 20 alone (the lip stretcher) -- after Ekman & Friesen's
#: EMFACS predictions as tabulated by Matsumoto et al. (2008).
EMFACS_VARIANTS: dict[str, tuple[tuple[int, ...], ...]] = {
    "anger": ((4, 5, 7, 24), (4, 5, 7, 17, 23)),
    "sad": ((6, 15),),
    "fear": ((1, 2, 4, 5), (20,)),
}

#: Concepts whose prototype AUs appear on one side of the face only.
UNILATERAL: frozenset[str] = frozenset({"contempt"})


def prototype_matrix(classes: Sequence[str], aus: Sequence[int] = RENDERED_AUS) -> np.ndarray:
    """Prototype activations of each class: the mean over its variants of 0/1 AU indicators.

    Parameters
    ----------
    classes : sequence of str
        Class names of any known class set (mapped to concepts by :func:`affect_book.circumplex.concept_of`).
    aus : sequence of int, default RENDERED_AUS
        The action units, in column order (each in :data:`AU_NAMES`).

    Returns
    -------
    numpy.ndarray of shape (len(classes), len(aus))
        Activations in [0, 1].

    Raises
    ------
    ValueError
        For an unknown AU, or a class without a prototype ("Other" has none: a caller must decide what to do
        with it).
    """
    unknown = [a for a in aus if a not in AU_NAMES]
    if unknown:
        raise ValueError(f"unknown action units {unknown}; expected AUs among {sorted(AU_NAMES)}")
    out = np.zeros((len(classes), len(aus)))
    for i, name in enumerate(classes):
        concept = concept_of(name)
        if concept not in PROTOTYPES:
            raise ValueError(f"class {name!r} has no AU prototype (it stands for faces outside the prototypes); "
                             f"expected classes among {sorted(PROTOTYPES)}")
        variants = PROTOTYPES[concept]
        for variant in variants:
            for au in variant:
                if au in aus:
                    out[i, list(aus).index(au)] += 1.0 / len(variants)
    return out
