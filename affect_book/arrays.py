"""One conversion to NumPy for everything the package accepts as an array: torch tensors (on any device, with or
without autograd, in reduced precision), pandas objects, lists and NumPy arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["to_numpy"]


def to_numpy(x, dtype=None) -> np.ndarray:
    """``x`` as a NumPy array.

    Parameters
    ----------
    x : array-like
        A torch tensor (detached and copied to the CPU; bfloat16 and float16 become float32, which NumPy can
        hold), a pandas Series or DataFrame (its values), or anything ``np.asarray`` accepts.
    dtype : numpy dtype, optional
        Convert to this dtype.

    Returns
    -------
    np.ndarray
        A view where no copy was needed (NumPy input), else a new array.
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, without importing torch here
        x = x.detach()
        if x.is_floating_point() and x.element_size() < 4:
            x = x.float()
        x = x.cpu().numpy()
    elif hasattr(x, "to_numpy"):  # pandas
        x = x.to_numpy()
    return np.asarray(x, dtype=dtype)
