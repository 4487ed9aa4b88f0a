"""Chapter 02 on a fixture tree through papermill: DATA_ROOT switches it from published counts to the data."""

import papermill as pm
import pytest

from support import ROOT
from support.real_fixtures import affectnet_original, affwild2_multitask


def _text(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


@pytest.mark.notebooks
@pytest.mark.parametrize("dataset,build", [("affwild2", affwild2_multitask), ("affectnet", affectnet_original)])
def test_chapter_02_recomputes_from_data_root(tmp_path, dataset, build):
    root = build(tmp_path / "data")
    nb = pm.execute_notebook(str(ROOT / "notebooks" / "02_class_frequencies.ipynb"), str(tmp_path / "out.ipynb"),
                             parameters={"PROFILE": "smoke", "DATASET": dataset, "DATA_ROOT": str(root)},
                             kernel_name="python3", progress_bar=False, cwd=str(ROOT / "notebooks"))
    text = _text(nb)
    assert "DATA_ROOT is not set" not in text
    if dataset == "affwild2":
        assert "affwild2 / train: 6 records" in text and "frame image missing: 1" in text
        assert "published (s-affwild2-train)" in text
        assert "data mean of 1 samples" in text  # Happiness, Fear, Neutral placed at their data means
    else:
        assert "affectnet / train: 8 records" in text and "image missing: 1" in text
        assert "published (affectnet-train)" in text
    assert f"your {dataset} (train)" in text
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures >= 2
