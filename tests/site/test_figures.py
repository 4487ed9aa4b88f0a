"""affect_book.site.figures.show_grid: one axis per image, labels on the margins, a clear error on a bad shape."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from affect_book.site.figures import show_grid  # noqa: E402


def test_show_grid_draws_one_labelled_axis_per_image(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    images = np.zeros((2, 3, 8, 8, 3), np.uint8)
    images[1, 2] = 255
    show_grid(images, row_labels=["a", "b"], col_labels=["x", "y"], title="t")
    fig = shown[0]
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["a", "b"]
    assert [ax.get_title() for ax in axes[0]] == ["x", "y", ""]
    assert axes[1, 2].images[0].get_array().max() == 255 and fig._suptitle.get_text() == "t"
    plt.close(fig)


def test_show_grid_names_the_shape_it_expects():
    with pytest.raises(ValueError, match=r"expected \(rows, cols, height, width, 3\)"):
        show_grid(np.zeros((3, 8, 8, 3), np.uint8))
