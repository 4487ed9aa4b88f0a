"""Imbalance measures against scipy and hand-computed cases; published counts against their published totals."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from affect_book import imbalance as im
from affect_book.circumplex import CLASS_SETS
from affect_book.data.published import PUBLISHED, published_counts


def test_measures_against_references():
    counts = pd.Series({"a": 100, "b": 10, "c": 1, "d": 89})
    assert im.imbalance_ratio(counts) == 100
    assert im.class_entropy(counts) == pytest.approx(entropy([100, 10, 1, 89]))
    assert im.normalized_entropy(counts) == pytest.approx(entropy([100, 10, 1, 89]) / np.log(4))
    assert im.normalized_entropy([5, 5, 5]) == pytest.approx(1.0)
    # Cui et al. 2019: E_n = sum_{k=0}^{n-1} beta^k
    assert im.effective_number([3, 1], 0.5) == pytest.approx([1 + 0.5 + 0.25, 1])
    assert im.effective_number([7, 2], 0.0) == pytest.approx([1, 1])
    # share < 0.5 / 4 = 0.125: c (0.005) and b (0.05)
    assert im.rare_classes(counts) == ["b", "c"]
    assert im.imbalance_ratio([0, 3]) == float("inf")
    with pytest.raises(ValueError, match="beta"):
        im.effective_number([1, 2], 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        im.shares([1, -1])


def test_published_counts_add_up_to_the_published_totals():
    an = published_counts("affectnet-train")
    assert list(an.index) == list(CLASS_SETS["affectnet8"]) and an.sum() == 287_651
    assert round(an["Happy"] / an["Contempt"], 1) == 35.8
    assert published_counts("s-affwild2-train").sum() == 90_645
    assert published_counts("s-affwild2-val").sum() == 15_440
    assert published_counts("affwild2-expr-train").sum() == 585_317
    assert all(p.source for p in PUBLISHED.values())
    with pytest.raises(ValueError, match="expected one of"):
        published_counts("affectnet")
