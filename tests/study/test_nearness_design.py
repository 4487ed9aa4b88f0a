"""Chapter 09's rebuilt factorial (``affect_book.study._nearness_design``): the cells' knobs by hand, the distances
computed from the preset, validation, the label-confusion dose, and a tiny design run end to end."""

from pathlib import Path

import numpy as np
import pytest

from affect_book.data.simulator import generate_split, make_config, split_labels
from affect_book.params import ParameterError
from affect_book.study import (NEARNESS_LEVELS, expand_study, NEARNESS_PATHS, NearnessDesign, nearness_cell_config,
                               nearness_cell_knobs, nearness_cells, nearness_label, nearness_n_runs,
                               nearness_studies, pair_label_confusion, pair_test_confusion, published_pair_distance,
                               run_nearness)


def _published_distance(preset="affwild2"):
    sim = make_config(preset, "cpu")
    va = dict(zip(sim.classes, sim.centroids()))
    a, b = sim.pair
    return float(np.linalg.norm(np.asarray(va[a]) - np.asarray(va[b])))


def test_distances_are_fractions_of_the_presets_published_pair_distance():
    d = _published_distance()
    assert published_pair_distance("affwild2") == pytest.approx(d)
    design = NearnessDesign()
    assert design.dose == (0.0, 1 / 3, 2 / 3, 1.0)
    assert design.distances == pytest.approx((0.0, d / 3, 2 * d / 3, d))
    assert design.pair == ("Anger", "Fear")
    assert design.annotation_noise == make_config("affwild2", "cpu").annotation_noise  # the preset's own
    for cell in nearness_cells(design):  # the cell's centroids are as far apart as the cell says
        if cell["kind"] == "dose" and cell["frequency"] == "published" and cell["path"] == "both":
            sim = nearness_cell_config(design, cell)
            va = dict(zip(sim.classes, sim.centroids()))
            assert np.linalg.norm(np.asarray(va["Anger"]) - np.asarray(va["Fear"])) == pytest.approx(
                cell["distance"], abs=1e-9)


def test_each_path_arm_sets_its_own_knobs():
    design = NearnessDesign(annotation_noise=0.2, appearance_weight=0.6)
    preset = make_config("affwild2", "cpu")
    expected = {"annotation": ("cell", 0.0), "appearance": ("published", 0.6), "both": ("cell", 0.6),
                "none": ("published", 0.0)}
    seen = set()
    for cell in nearness_cells(design):
        knobs = nearness_cell_knobs(design, cell)
        geometry, weight = expected["appearance" if cell["dose"] == 1.0 and cell["path"] == "both"
                                    else "none" if cell["dose"] == 1.0 and cell["path"] == "annotation"
                                    else cell["path"]]  # at dose 1 the cell's geometry is the published one
        assert (knobs["annotation_geometry"], knobs["appearance_from_va"]) == (geometry, weight)
        assert knobs["annotation_noise"] == 0.2 and knobs["visual_partner"] is None
        assert not {c for c, _ in knobs["class_intensity"]} & set(preset.pair)  # the pair's own factors removed
        if cell["kind"] == "dose":
            assert knobs["visual_degeneracy"] == 0.0
            assert knobs["pair_va_distance"] == (None if cell["dose"] == 1.0 else cell["distance"])
            shares = (preset.train_proportions if cell["frequency"] == "published"
                      else (1 / len(preset.classes),) * len(preset.classes))
            assert knobs["train_proportions"] == pytest.approx(shares)
        else:
            assert knobs["pair_va_distance"] is None and knobs["visual_degeneracy"] == cell["visual"]
            # the fix cells train on balanced frequencies by default (fix_frequency)
            assert cell["frequency"] == "balanced"
            assert knobs["train_proportions"] == pytest.approx((1 / len(preset.classes),) * len(preset.classes))
        seen.add(cell["path"])
    assert seen == {*NEARNESS_PATHS, "none"}
    published = NearnessDesign(annotation_noise=0.2, fix_frequency="published")
    fix = [c for c in nearness_cells(published) if c["kind"] == "fix"]
    assert fix and all(nearness_cell_knobs(published, c)["train_proportions"] == preset.train_proportions
                       for c in fix)
    with pytest.raises(ParameterError, match="fix_frequency"):
        NearnessDesign(fix_frequency="rare")


def test_cells_that_draw_the_same_data_share_one_config():
    """At dose 1 the pair sits at the preset's own centroids: the knobs name them (no distance, the published
    geometry), and the data are byte-identical to the explicit form (the distance given, the annotation path on), so
    the cells that draw them (appearance and both at dose 1; annotation at dose 1 and the fix cell at visual 0 on the
    same frequencies) share one config, hence one cache entry; the other cells' configs are all different."""
    design = NearnessDesign(profile="smoke")
    cells = {nearness_label(c): c for c in nearness_cells(design)}
    data = {label: study.data for label, (_, study) in zip(cells, nearness_studies(design))}
    for frequency in ("published", "balanced"):
        assert data[f"dose/{frequency}/appearance/d=1"] == data[f"dose/{frequency}/both/d=1"]
    assert data["dose/balanced/annotation/d=1"] == data["fix/visual=0"]  # fix cells train on balanced frequencies
    assert len(set(data.values())) == len(data) - 3
    tiny = dict(n_train=300, n_val=0, n_test=200, image_size=32)
    for label in ("dose/published/both/d=1", "dose/balanced/annotation/d=1"):
        knobs = nearness_cell_knobs(design, cells[label])
        explicit = {**knobs, "pair_va_distance": cells[label]["distance"], "annotation_geometry": "cell"}
        for split in ("train", "test"):
            a = generate_split(make_config(design.preset, "smoke", **knobs, **tiny), split)
            b = generate_split(make_config(design.preset, "smoke", **explicit, **tiny), split)
            assert a.keys() == b.keys()
            for key in a:
                assert np.array_equal(a[key], b[key], equal_nan=True), (label, split, key)


def test_cells_conditions_and_run_count():
    design = NearnessDesign(seeds=3)
    cells = nearness_cells(design)
    dose = [c for c in cells if c["kind"] == "dose"]
    fix = [c for c in cells if c["kind"] == "fix"]
    assert len(dose) == 2 * 3 * 4 and [c["visual"] for c in fix] == list(NEARNESS_LEVELS["cpu"]["visual_levels"])
    assert len({nearness_label(c) for c in cells}) == len(cells)
    assert nearness_label(dose[1]) == "dose/published/annotation/d=1/3"
    assert nearness_label(fix[1]) == "fix/visual=0.5"
    studies = nearness_studies(design)
    for cell, study in studies:
        assert study.conditions == (("base",) if cell["kind"] == "dose" else ("base", "pair_cost", "circumplex",
                                                                             "vad", "pair_margin"))
        sim = nearness_cell_config(design, cell)  # the cost is filled from the cell's own centroids
        fear = dict(study.cost_fill)["Fear"]
        assert fear[:2] == pytest.approx(tuple(sim.centroids()[sim.classes.index("Fear")]))
        assert fear[2] == pytest.approx(-0.43)  # with the published dominance, for the vad cost
        assert "Other" not in dict(study.cost_fill)
        assert len(expand_study(study)) == study.n_runs  # every condition builds its cost (vad included)
    assert nearness_n_runs(design) == 3 * (24 + 3 * 5)
    assert nearness_n_runs(NearnessDesign()) == 195  # the cpu defaults: 5 seeds
    assert nearness_n_runs(NearnessDesign(profile="gpu")) == 5 * (24 + 4 * 8)


def test_carried_paths():
    assert NearnessDesign().carried == {"annotation": True, "appearance": True, "both": True}
    assert NearnessDesign(annotation_noise=0).carried == {"annotation": False, "appearance": True, "both": False}
    assert NearnessDesign(appearance_weight=0).carried["appearance"] is False


@pytest.mark.parametrize("kw, words", [
    ({"dose": (0.5,)}, "dose"), ({"dose": (0.0, 3.0)}, "dose"), ({"paths": ("both", "neither")}, "paths"),
    ({"appearance_weight": 1.5}, "appearance_weight"), ({"annotation_noise": 0.95}, "annotation_noise"),
    ({"visual_levels": (0.5, 0.5)}, "visual_levels"), ({"visual_levels": (1.2,)}, "visual_levels"),
    ({"fix_conditions": ("pair_cost",)}, "base"), ({"fixes": ("nonsense",)}, "nonsense"),
    ({"preset": "nope"}, "preset"), ({"data_draw": "never"}, "data_draw"), ({"profile": "huge"}, "huge")])
def test_design_validation(kw, words):
    with pytest.raises(ParameterError, match=words):
        NearnessDesign(**kw)


def test_the_annotation_path_raises_the_pairs_label_confusion_when_near():
    design = NearnessDesign(annotation_noise=0.3, paths=("annotation",))
    near, far = (c for c in nearness_cells(design) if c["kind"] == "dose" and c["frequency"] == "balanced"
                 and c["dose"] in (0.0, 1.0))
    rates = {}
    for name, cell in (("near", near), ("far", far)):
        sim = nearness_cell_config(design, cell)
        rates[name] = pair_label_confusion(sim, ("Anger", "Fear"))
        labels = split_labels(sim, "train")  # by hand: images labelled anger whose face shows fear
        obs, shown = labels["expression"], labels["true_expression"]
        a, f = sim.classes.index("Anger"), sim.classes.index("Fear")
        assert rates[name]["ab"] == pytest.approx(np.mean(shown[obs == a] == f))
        assert rates[name]["ba"] == pytest.approx(np.mean(shown[obs == f] == a))
    assert rates["near"]["ab"] > rates["far"]["ab"] and rates["near"]["ba"] > rates["far"]["ba"]


def test_test_confusion_from_saved_predictions(tmp_path):
    labels = np.array([0, 0, 0, 0, 1, 1, -1, 2])
    predicted = np.array([0, 1, 1, 2, 0, 1, 0, 2])
    np.savez(tmp_path / "predictions.npz", logits=np.eye(3)[predicted], expression=labels)
    rates = pair_test_confusion(tmp_path, ("A", "B", "C"), ("A", "B"))
    assert rates == {"ab": 0.5, "ba": 0.5}
    assert np.isnan(pair_test_confusion(tmp_path, ("A", "B", "C", "D"), ("A", "D"))["ba"])  # no test image of D


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the end-to-end test."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("nearness_cache")
        mp.setenv("AFFECT_BOOK_CACHE", str(path))
        yield path


@pytest.mark.slow
def test_run_nearness_end_to_end(cache):
    design = NearnessDesign(profile="smoke", dose=(0.0, 1.0), paths=("both",), visual_levels=(1.0,),
                            fix_conditions=("base",), fixes=(), seeds=2, annotation_noise=0.3)
    frame = run_nearness(design, workers=1, progress=False)
    assert len(frame) == nearness_n_runs(design) == 2 * (2 * 2 + 1)
    for column in ("seed", "condition", "frequency", "distance", "dose", "path", "visual", "cell", "kind", "pair_f1",
                   "confusion_ab", "confusion_ba", "pair_confusion", "label_confusion_ab", "label_confusion_ba",
                   "label_confusion"):
        assert column in frame.columns, column
    np.testing.assert_allclose(frame["pair_f1"], (frame["f1/Anger"] + frame["f1/Fear"]) / 2)
    assert set(frame.loc[frame["kind"] == "fix", "path"]) == {"none"}
    row = frame[frame["kind"] == "fix"].iloc[0]
    assert row["pair_confusion"] == pytest.approx((row["confusion_ab"] + row["confusion_ba"]) / 2)
    again = pair_test_confusion(Path(row["run_dir"]), make_config("affwild2", "smoke").classes, ("Anger", "Fear"))
    assert again["ab"] == pytest.approx(row["confusion_ab"], nan_ok=True)
    near = frame[(frame["kind"] == "dose") & (frame["dose"] == 0.0)]["label_confusion"]
    far = frame[(frame["kind"] == "dose") & (frame["dose"] == 1.0)]["label_confusion"]
    assert near.min() >= far.max()
    assert run_nearness(design, workers=1, progress=False)["loaded_from_cache"].all()


CHAPTER09 = dict(preset="affwild2", dose=None, paths=["annotation", "appearance", "both"],
                 fix_conditions=None, fixes=None, primary_fix="pair_margin", seeds=None, profile="smoke",
                 appearance_weight=0.75, annotation_noise=None, visual_levels=None, primary_visual=0.5,
                 lambda_ot=0.5, alpha=0.05, smallest_f1_effect=0.05, f1_margin=0.05)


def test_chapter_nearness_builds_the_design_and_names_bad_parameters():
    from affect_book.study import chapter_nearness

    design, costs, root, summary = chapter_nearness(**CHAPTER09)
    assert design == NearnessDesign(profile="smoke") and root is None
    assert costs == ["pair_cost", "circumplex", "vad"]
    assert f"{nearness_n_runs(design)} runs in all" in summary and "Anger-Fear" in summary
    assert f"{published_pair_distance('affwild2'):.4f}" in summary
    for change, words in (({"alpha": 0.9}, "ALPHA"), ({"primary_fix": "supcon"}, "PRIMARY_FIX"),
                          ({"primary_visual": 0.8}, "PRIMARY_VISUAL"), ({"dose": [1]}, "DOSE"),
                          ({"smallest_f1_effect": 0}, "SMALLEST_F1_EFFECT"), ({"f1_margin": -1}, "F1_MARGIN")):
        with pytest.raises(ParameterError, match=words):
            chapter_nearness(**{**CHAPTER09, **change})
