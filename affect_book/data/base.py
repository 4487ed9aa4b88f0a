"""The dataset interface shared by the face simulator and the real benchmarks.

Every source (simulator, AffectNet, Aff-Wild2, a manifest) ends as an :class:`ArrayDataset`: decoded uint8 images
in one array plus a label table, so training reads memory, not JPEGs. One record per image:

==============  ==========================================  =====================================
key             value                                       missing label
==============  ==========================================  =====================================
``image``       uint8 tensor (3, H, W), RGB                 --
``expression``  int64 index into ``classes``                -1
``va``          float32 tensor (2,): valence, arousal       NaN
``au``          int64 tensor (12,): ABAW AUs, 0/1           -1 (per AU)
``subject``     str: identity or video id (splits by it)    --
``source``      str: where the record comes from            --
``index``       int: position in the dataset                --
==============  ==========================================  =====================================

A standard ``torch.utils.data.DataLoader`` batches these records (strings become lists).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.utils.data

from ..facs import ABAW_AUS

__all__ = ["AU_COLUMNS", "ArrayDataset", "LabelMasks", "array_fingerprint", "dataset_fingerprint"]

#: Names of the 12 AU label columns, in ABAW order.
AU_COLUMNS: tuple[str, ...] = tuple(f"AU{a}" for a in ABAW_AUS)


class LabelMasks:
    """Label masks of anything holding ``expression`` (N,), ``va`` (N, 2) and ``au`` (N, 12) label arrays."""

    @property
    def has_expression(self) -> np.ndarray:
        """(N,) bool: the record has an expression label."""
        return self.expression >= 0

    @property
    def has_va(self) -> np.ndarray:
        """(N,) bool: the record has valence and arousal."""
        return np.isfinite(self.va).all(axis=1)

    @property
    def has_au(self) -> np.ndarray:
        """(N,) bool: the record has all 12 AU labels."""
        return (self.au >= 0).all(axis=1)


def _torch_dataset_base():
    return torch.utils.data.Dataset


class ArrayDataset(LabelMasks, _torch_dataset_base()):
    """Images and labels held in arrays.

    Parameters
    ----------
    images : np.ndarray
        (N, H, W, 3) uint8 RGB (a memory-mapped array stays on disk).
    expression : np.ndarray
        (N,) int, index into ``classes``; -1 for no label.
    va : np.ndarray
        (N, 2) float, valence and arousal in [-1, 1]; NaN for no label.
    au : np.ndarray
        (N, 12) int, 0/1 per ABAW AU; -1 for no label.
    subject : sequence
        (N,) identity or video ids (splits are made by subject).
    classes : sequence of str
        The expression class names in label order.
    source : str
        A short name of the source.
    transform : callable, optional
        Applied to the (3, H, W) uint8 image tensor by ``__getitem__``.
    fingerprint : str, optional
        A digest of everything that determines the content (a prepared cache or the simulator supplies one); None
        lets :func:`dataset_fingerprint` compute it from the arrays. Whoever edits the arrays of a dataset that
        carries a fingerprint must set it to None (or a new digest).
    """

    def __init__(self, images: np.ndarray, expression: np.ndarray, va: np.ndarray, au: np.ndarray,
                 subject: Sequence, classes: Sequence[str], source: str,
                 transform: Callable | None = None, fingerprint: str | None = None):
        n = len(images)
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images: expected (N, H, W, 3) uint8, found {images.shape} {images.dtype}")
        expression = np.asarray(expression, dtype=np.int64)
        va = np.asarray(va, dtype=np.float32)
        au = np.asarray(au, dtype=np.int64)
        subject = np.asarray(subject)
        for name, arr, shape in (("expression", expression, (n,)), ("va", va, (n, 2)),
                                 ("au", au, (n, len(AU_COLUMNS))), ("subject", subject, (n,))):
            if arr.shape != shape:
                raise ValueError(f"{name}: expected shape {shape}, found {arr.shape}")
        if n and (expression.min() < -1 or expression.max() >= len(classes)):
            raise ValueError(f"expression labels range over [{expression.min()}, {expression.max()}]; expected -1 "
                             f"or 0..{len(classes) - 1} for classes {list(classes)}")
        if n and not np.isin(au, (-1, 0, 1)).all():
            raise ValueError("au labels must be 0, 1 or -1 (missing)")
        finite = va[np.isfinite(va)]
        if finite.size and (finite.min() < -1 or finite.max() > 1):
            raise ValueError("va labels must lie in [-1, 1] (NaN for missing)")
        self.images, self.expression, self.va, self.au, self.subject = images, expression, va, au, subject
        self.classes = tuple(classes)
        self.source = source
        self.transform = transform
        self.fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        image = torch.from_numpy(np.ascontiguousarray(self.images[index].transpose(2, 0, 1)))
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "expression": int(self.expression[index]),
                "va": torch.from_numpy(self.va[index].copy()), "au": torch.from_numpy(self.au[index].copy()),
                "subject": str(self.subject[index]), "source": self.source, "index": int(index)}

    def label_counts(self) -> dict:
        """Valid labels per task and expression counts by class name.

        Returns
        -------
        dict
            ``n_records``, ``expression`` (class name -> count) and ``valid`` (task -> labelled records).
        """
        counts = np.bincount(self.expression[self.has_expression], minlength=len(self.classes))
        return {"n_records": len(self), "expression": dict(zip(self.classes, counts.tolist())),
                "valid": {"expression": int(self.has_expression.sum()), "va": int(self.has_va.sum()),
                          "au": int(self.has_au.sum())}}


#: Bytes of images hashed per update (bounded memory for memory-mapped arrays).
_HASH_CHUNK_BYTES = 1 << 26


def array_fingerprint(images: np.ndarray, expression: np.ndarray, va: np.ndarray, au: np.ndarray,
                      classes: Sequence[str]) -> str:
    """A digest of a dataset's content: its class names, its labels and every byte of its images.

    Cost: one pass over the image bytes (BLAKE2b, roughly 0.5-1 s per GB on one core; memory-mapped images are
    read in 64 MB chunks, so memory stays bounded). Record order matters; ``subject`` and ``source`` do not (they
    do not change what a model trained on the set learns).

    Parameters
    ----------
    images : np.ndarray
        (N, H, W, 3) uint8.
    expression, va, au : np.ndarray
        The label arrays, as in :class:`ArrayDataset`.
    classes : sequence of str
        The class names in label order.

    Returns
    -------
    str
        32 hex digits.
    """
    digest = hashlib.blake2b(digest_size=16)
    header = {"classes": list(classes), "images": [list(np.shape(images)), str(np.asarray(images[:0]).dtype)]}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for name, arr, dtype in (("expression", expression, np.int64), ("va", va, np.float32), ("au", au, np.int64)):
        arr = np.ascontiguousarray(arr, dtype=dtype)
        digest.update(f"{name}{arr.shape}".encode())
        digest.update(memoryview(arr).cast("B"))
    n = len(images)
    row_bytes = max(1, int(np.prod(np.shape(images)[1:], dtype=np.int64)) * np.asarray(images[:0]).itemsize)
    step = max(1, _HASH_CHUNK_BYTES // row_bytes)
    for start in range(0, n, step):
        digest.update(memoryview(np.ascontiguousarray(images[start:start + step])).cast("B"))
    return digest.hexdigest()


def dataset_fingerprint(dataset) -> str:
    """The dataset's own ``fingerprint`` when it has one (a non-empty str), else :func:`array_fingerprint` of its
    ``images``, ``expression``, ``va``, ``au`` and ``classes``.

    Parameters
    ----------
    dataset : ArrayDataset or similar
        Anything with those five attributes, optionally ``fingerprint``.

    Returns
    -------
    str
        The digest that, with the config hash, keys a training run.
    """
    own = getattr(dataset, "fingerprint", None)
    if isinstance(own, str) and own:
        return own
    return array_fingerprint(dataset.images, dataset.expression, dataset.va, dataset.au, dataset.classes)
