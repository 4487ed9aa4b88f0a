"""The validation layer's array checks (affect_book.params), each against a hand-made case and its error."""

import numpy as np
import pytest
import torch

from affect_book.params import (as_sample, check_alternative, check_counts, check_labels, check_level, check_seed,
                                paired_differences)


def test_as_sample_and_paired_differences():
    assert as_sample([1, 2.5], "a").tolist() == [1.0, 2.5]
    assert paired_differences([3.0, 1.0], np.array([1.0, 1.5])).tolist() == [2.0, -0.5]
    assert paired_differences(torch.tensor([0.5])).tolist() == [0.5]
    with pytest.raises(ValueError, match=r"a must be a 1-D array .* shape \(1, 2\)"):
        as_sample([[1, 2]], "a")
    with pytest.raises(ValueError, match="b must be finite; found nan at position 1"):
        paired_differences([1, 2], [0, float("nan")])
    with pytest.raises(ValueError, match="found 2 and 3 values"):
        paired_differences([1, 2], [1, 2, 3])


def test_alternative_level_and_seed():
    assert check_alternative("less") == "less"
    with pytest.raises(ValueError, match="alternative must be one of"):
        check_alternative("two_sided")
    assert check_level(0.95) == 0.95
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            check_level(bad)
    assert check_seed(3).integers(1000) == np.random.default_rng(3).integers(1000)
    rng = np.random.default_rng(0)
    assert check_seed(rng) is rng
    for bad in (None, True, 1.5):
        with pytest.raises(ValueError, match="random_state must be an int seed"):
            check_seed(bad)


def test_check_counts():
    assert check_counts([3, 0, 1]).tolist() == [3.0, 0.0, 1.0]
    with pytest.raises(ValueError, match=r"expected \(classes,\) with at least 2 classes"):
        check_counts([5])
    with pytest.raises(ValueError, match="not all zero"):
        check_counts([0, 0])
    with pytest.raises(ValueError, match="train counts = \\[3.0, 0.0\\]; every class needs a positive count"):
        check_counts([3, 0], "train counts", positive=True)


def test_check_labels_drops_unlabelled_rows_and_names_the_fault():
    y_true, y_pred = check_labels([0, -1, 2, 1], np.array([0.0, 1.0, 2.0, 2.0]), 3)
    assert y_true.tolist() == [0, 2, 1] and y_pred.tolist() == [0, 2, 2] and y_true.dtype == np.int64
    with pytest.raises(ValueError, match="expected the same"):
        check_labels([0, 1], [0], 2)
    with pytest.raises(ValueError, match="y_pred has non-integer"):
        check_labels([0, 1], [0, 0.5], 2)
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        check_labels([0, 1], [0, 2], 2)
