"""The rebuilt factorial's verdict wiring (``affect_book.analysis._nearness_verdicts``) on hand-made tables shaped as
:func:`affect_book.study.run_nearness`'s rows."""

import numpy as np
import pandas as pd
import pytest

from affect_book.analysis import (NOT_CARRIED, PATHS, dominance_comparison, dose_rows, fix_cell_verdicts,
                                  nearness_effects, nearness_path_verdicts, nearness_verdict, pair_distances)
from affect_book.params import ParameterError

DISTANCES = (0.0, 0.0435, 0.0869, 0.1304)
SEEDS = range(6)


def _table(slopes=None, fix_effects=None, noise=0.01, rng=0):
    """Dose cells (base only): F1 = 0.2 + 0.2 x balanced + slope[path] x distance + noise; fix cells at visual 0,
    0.5, 1 with base, the costs, vad and pair_margin: F1 = 0.3 + effect[condition] + noise."""
    slopes = slopes or {"annotation": 0.0, "appearance": 2.0, "both": 3.0}
    fix_effects = fix_effects or {"base": 0.0, "pair_cost": 0.0, "circumplex": 0.0, "vad": 0.1, "pair_margin": 0.2}
    rng = np.random.default_rng(rng)
    rows = []
    for s in SEEDS:
        for f in ("published", "balanced"):
            for p in PATHS:
                for d in DISTANCES:
                    rows.append({"kind": "dose", "cell": f"dose/{f}/{p}/{d}", "seed": s, "dataset": "synthetic",
                                 "condition": "base", "frequency": f, "path": p, "distance": d, "visual": 0.0,
                                 "pair_f1": 0.2 + 0.2 * (f == "balanced") + slopes[p] * d + rng.normal(0, noise)})
        for v in (0.0, 0.5, 1.0):
            for c, e in fix_effects.items():
                rows.append({"kind": "fix", "cell": f"fix/visual={v:g}", "seed": s, "dataset": "synthetic",
                             "condition": c, "frequency": "published", "path": "none", "distance": 0.1304, "visual": v,
                             "pair_f1": 0.3 + e * (v < 1) + rng.normal(0, noise)})
    return pd.DataFrame(rows)


def test_dose_rows_keep_the_dose_cells_base_runs():
    frame = _table()
    rows = dose_rows(frame)
    assert set(rows["kind"]) == {"dose"} and set(rows["condition"]) == {"base"}
    assert len(rows) == len(SEEDS) * 2 * 3 * 4
    with pytest.raises(ParameterError, match="kind"):
        dose_rows(frame.drop(columns="kind"))


def test_path_verdicts_rest_on_the_per_seed_effects_with_frequency_held():
    frame = _table()
    verdicts = nearness_path_verdicts(frame, {"annotation": True, "appearance": True, "both": True}, 0.05)
    assert list(verdicts) == list(PATHS)
    effects = nearness_effects(dose_rows(frame))
    for path, v in verdicts.items():
        again = nearness_verdict(effects, path, 0.05)
        assert v["verdict"] == again["verdict"] and v["control"] == "frequency" and v["path"] == path
        assert v["numbers"][path]["differences"] == again["numbers"][path]["differences"]
    assert verdicts["both"]["verdict"] == "reproduced"  # 3 x 0.13 = 0.39 rise, far above 0.05
    assert verdicts["annotation"]["verdict"] == "not reproduced"  # no slope: below the smallest effect


def test_a_path_that_is_not_carried_is_not_testable():
    verdicts = nearness_path_verdicts(_table(), {"annotation": False, "appearance": True, "both": False}, 0.05)
    assert verdicts["annotation"]["verdict"] == "not testable here"
    assert verdicts["annotation"]["reason"] == NOT_CARRIED["annotation"]
    assert verdicts["both"]["verdict"] == "not testable here"
    assert verdicts["appearance"]["verdict"] == "reproduced"


def test_a_floor_level_is_left_out_and_a_path_at_the_floor_everywhere_is_not_testable():
    """At the published frequency the appearance and both arms sit at F1 ~ 0.01 with no slope (a floor); at the
    balanced one they fall with nearness. With the floor, each effect is the balanced level's own fit (checked
    against numpy's polyfit per seed); without it, the flat floor level halves it. A path at the floor at both
    levels is not testable, with the means that put it there."""
    frame = _table()
    floored = (frame["kind"] == "dose") & (frame["frequency"] == "published") & (frame["path"] != "annotation")
    frame.loc[floored, "pair_f1"] = 0.01 + np.random.default_rng(1).uniform(0, 0.005, floored.sum())
    carried = {p: True for p in PATHS}
    verdicts = nearness_path_verdicts(frame, carried, 0.05, floor=0.05)
    assert verdicts["both"]["at_floor"] == ["published"] and verdicts["both"]["levels"] == ["balanced"]
    assert verdicts["annotation"]["at_floor"] == [] and verdicts["annotation"]["levels"] == ["balanced", "published"]
    rows = dose_rows(frame)
    for s in SEEDS:
        part = rows[(rows["path"] == "both") & (rows["frequency"] == "balanced") & (rows["seed"] == s)]
        slope = np.polyfit(part["distance"], part["pair_f1"], 1)[0]
        assert verdicts["both"]["numbers"]["both"]["differences"][s] == pytest.approx(slope * max(DISTANCES))
    diluted = nearness_path_verdicts(frame, carried, 0.05)["both"]["numbers"]["both"]["mean_effect"]
    assert diluted == pytest.approx(verdicts["both"]["numbers"]["both"]["mean_effect"] / 2, abs=0.01)
    flat = (frame["kind"] == "dose") & (frame["path"] == "appearance")
    frame.loc[flat, "pair_f1"] = 0.02 + np.random.default_rng(2).normal(0, 0.002, flat.sum())
    verdicts = nearness_path_verdicts(frame, carried, 0.05, floor=0.05)
    appearance = verdicts["appearance"]
    assert appearance["verdict"] == "not testable here" and "at a floor" in appearance["reason"]
    assert verdicts["appearance"]["at_floor"] == ["balanced", "published"]
    assert verdicts["both"]["verdict"] == "reproduced"  # 3 x 0.13 on the balanced level
    assert nearness_path_verdicts(frame, carried, 0.05, floor=0.0)["appearance"]["verdict"] == "not reproduced"


def test_fix_cell_verdicts_score_pair_f1_with_roles():
    table = fix_cell_verdicts(_table(), "pair_margin", ("pair_cost", "circumplex"), 0.05)
    assert list(table["role"]) == ["reported", "claim", "negative control"]
    assert list(table["visual"]) == [0.0, 0.5, 1.0]
    claim = table.set_index("role").loc["claim", "verdict"]
    assert claim["verdict"] == "reproduced" and "pair_f1" in claim["rule"]
    assert set(claim["numbers"]) == {"pair_margin-base", "pair_cost-base", "circumplex-base"}
    control = table.set_index("role").loc["negative control", "verdict"]
    assert control["verdict"] != "reproduced"  # nothing moves in the fully shared cell
    # a cell without the fix's runs is reported as untestable, not raised
    frame = _table()
    frame = frame[~((frame["cell"] == "fix/visual=0") & (frame["condition"] == "pair_margin"))]
    table = fix_cell_verdicts(frame, "pair_margin", ("pair_cost",), 0.05)
    assert table.loc[0, "verdict"] is None and "pair_margin" in table.loc[0, "error"]


def test_pair_distances_from_the_published_coordinates():
    d = pair_distances(("Anger", "Fear"))
    assert d["va"] == pytest.approx(np.hypot(-0.51 + 0.64, 0.59 - 0.60), abs=1e-9)
    assert d["vad"] == pytest.approx(np.sqrt(0.13 ** 2 + 0.01 ** 2 + 0.68 ** 2), abs=1e-9)
    assert d["dominance"] == pytest.approx(0.25 + 0.43)


def test_dominance_comparison_pairs_vad_with_base_and_circumplex():
    frame = _table()
    table = dominance_comparison(frame, ["fix/visual=0", "fix/visual=1"])
    assert set(table["reference"]) == {"base", "circumplex"} and set(table["label"]) == {"vad"}
    row = table[(table["cell"] == "fix/visual=0") & (table["reference"] == "base")].iloc[0]
    part = frame[frame["cell"] == "fix/visual=0"].set_index(["condition", "seed"])["pair_f1"]
    d = part.loc["vad"] - part.loc["base"]
    walsh = [(d.iloc[i] + d.iloc[j]) / 2 for i in range(len(d)) for j in range(i, len(d))]
    assert row["hl_estimate"] == pytest.approx(np.median(walsh))
    assert dominance_comparison(frame[frame["condition"] != "vad"], ["fix/visual=0"]).empty


def test_index_frame_covers_the_both_arm_and_the_fix_cells():
    from affect_book.analysis import nearness_index_frame
    from affect_book.study import NearnessDesign, nearness_cells, nearness_label

    design = NearnessDesign(profile="smoke", dose=(0.0, 1.0), visual_levels=(1.0,), fix_conditions=("base",),
                            fixes=())
    classes = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other")
    rows = [{"cell": nearness_label(c), "condition": "base", "seed": s,
             **{f"f1/{k}": 0.1 * i + 0.01 * s for i, k in enumerate(classes)}}
            for c in nearness_cells(design) for s in (0, 1)]
    table = nearness_index_frame(design, pd.DataFrame(rows), n_probe=80)
    labels = {nearness_label(c) for c in nearness_cells(design) if c["kind"] == "fix" or c["path"] == "both"}
    assert set(table["cell"]) == labels and len(table) == len(labels) * len(classes)
    assert table.set_index(["cell", "class"]).loc[("fix/visual=1", "Fear"), "f1"] == pytest.approx(0.305)
    assert table["degeneracy_index"].between(0, 1).all()


def test_a_fix_cell_at_the_floor_is_not_tested():
    """Where every condition's mean pair F1 is below the floor the cell is not tested (named, with the means); a cell
    whose fix lifts the pair off the floor is tested."""
    frame = _table()
    cell = frame["cell"] == "fix/visual=1"
    frame.loc[cell, "pair_f1"] = 0.01 + np.random.default_rng(3).uniform(0, 0.01, cell.sum())
    table = fix_cell_verdicts(frame, "pair_margin", ("pair_cost",), 0.05, floor=0.05).set_index("visual")
    assert table.loc[1.0, "verdict"] is None and "at a floor" in table.loc[1.0, "error"]
    assert table.loc[1.0, "base_f1"] == pytest.approx(frame[cell & (frame["condition"] == "base")]["pair_f1"].mean())
    assert table.loc[0.5, "verdict"]["verdict"] == "reproduced"
    assert fix_cell_verdicts(frame, "pair_margin", ("pair_cost",), 0.05).set_index("visual").loc[1.0, "verdict"]
