"""The shared dataset interface and the FACS prototype table."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from affect_book import facs
from affect_book.data import AU_COLUMNS, ArrayDataset


def _dataset(n=6):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    expression = np.array([0, 1, -1, 2, 1, 0])[:n]
    va = np.array([[0.1, 0.2], [np.nan, np.nan], [0.5, -0.5], [0, 0], [1, -1], [-0.3, 0.9]])[:n]
    au = np.zeros((n, 12), int)
    au[1] = -1
    return ArrayDataset(images, expression, va, au, [f"id{i // 2}" for i in range(n)], ["Neutral", "Happy", "Sad"],
                        "test")


def test_records_and_masks():
    ds = _dataset()
    rec = ds[3]
    assert rec["image"].shape == (3, 8, 8) and rec["image"].dtype == torch.uint8
    assert torch.equal(rec["image"], torch.from_numpy(ds.images[3]).permute(2, 0, 1))
    assert rec["expression"] == 2 and rec["subject"] == "id1" and rec["source"] == "test"
    assert list(ds.has_expression) == [True, True, False, True, True, True]
    assert list(ds.has_va) == [True, False, True, True, True, True]
    assert list(ds.has_au) == [True, False, True, True, True, True]
    assert ds.label_counts()["expression"] == {"Neutral": 2, "Happy": 2, "Sad": 1}
    assert len(AU_COLUMNS) == 12 and AU_COLUMNS[0] == "AU1"


def test_works_with_a_dataloader():
    batch = next(iter(DataLoader(_dataset(), batch_size=4)))
    assert batch["image"].shape == (4, 3, 8, 8) and batch["au"].shape == (4, 12)
    assert batch["expression"].tolist() == [0, 1, -1, 2]
    assert torch.isnan(batch["va"][1]).all()


def test_bad_arrays_are_named():
    ds = _dataset()
    with pytest.raises(ValueError, match="images: expected"):
        ArrayDataset(ds.images.astype(float), ds.expression, ds.va, ds.au, ds.subject, ds.classes, "x")
    with pytest.raises(ValueError, match="expression labels range"):
        ArrayDataset(ds.images, ds.expression + 5, ds.va, ds.au, ds.subject, ds.classes, "x")
    with pytest.raises(ValueError, match="va: expected shape"):
        ArrayDataset(ds.images, ds.expression, ds.va[:, :1], ds.au, ds.subject, ds.classes, "x")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        ArrayDataset(ds.images, ds.expression, ds.va * 3, ds.au, ds.subject, ds.classes, "x")


def test_prototype_table():
    assert facs.ABAW_AUS == (1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26)
    m = facs.prototype_matrix(["Happiness", "Disgust", "Neutral"], aus=(6, 9, 10, 12, 15, 16))
    assert m[0].tolist() == [1, 0, 0, 1, 0, 0]
    assert m[1].tolist() == [0, 1, 0.5, 0, 0.5, 0.5]  # two variants: 9+15+16 and 9+10
    assert m[2].sum() == 0
    with pytest.raises(ValueError, match="no AU prototype"):
        facs.prototype_matrix(["Other"])
    assert set(facs.ABAW_AUS) <= set(facs.RENDERED_AUS)
