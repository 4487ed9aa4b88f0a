"""The paired differences behind one row of a recorded study's statistics, rebuilt from its results rows (the
recorded-study tests recompute every stored p from them)."""

import numpy as np


def row_differences(rows, entry) -> np.ndarray:
    """``condition - reference`` per seed for one statistics ``entry`` (its source, label and metric)."""
    part = rows[rows["preset"] == entry["source"]]
    condition, reference = entry["label"].split(" - ")
    wide = part.pivot(index="seed", columns="condition", values=entry["metric"])
    return (wide[condition] - wide[reference]).dropna().to_numpy(float)
