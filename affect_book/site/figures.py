"""Static figures the chapters share (the library side of a textbook's figures, as d2l's ``show_images``)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["show_grid"]


def show_grid(images, row_labels: Sequence[str] = (), col_labels: Sequence[str] = (), title: str = "",
              scale: float = 1.1) -> None:
    """Draw a grid of images, one axis per image, with labels on the margins, and show it.

    Parameters
    ----------
    images : array-like
        (rows, cols, H, W, 3) uint8 images.
    row_labels, col_labels : sequence of str
        Labels of the first column's and the first row's axes (fewer than the rows or columns: the rest unlabelled).
    title : str
        The figure's title.
    scale : float
        Inches per image.
    """
    images = np.asarray(images)
    if images.ndim != 5:
        raise ValueError(f"images has shape {images.shape}; expected (rows, cols, height, width, 3)")
    rows, cols = images.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(scale * cols, scale * rows + 0.4), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(images[r, c])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 and c < len(col_labels):
                ax.set_title(col_labels[c], fontsize=8)
            if c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()
