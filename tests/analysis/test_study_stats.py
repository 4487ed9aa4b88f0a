"""The study's statistics table against scipy and statsmodels, recomputed from the raw rows."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from support import ROOT

from affect_book.analysis import claims
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from affect_book.params import ParameterError
from affect_book.study import run_study
from affect_book.analysis import study_rare_classes, study_statistics

CONDITIONS = ("base", "circumplex", "uniform", "uniform_column", "permuted")


def fake_rows(seeds=(0, 1, 2, 3, 4, 5), presets=("affwild2", "affectnet"), rng=0) -> pd.DataFrame:
    """A results table of continuous random metrics (no ties, no zero differences), seeds shuffled per condition."""
    rng = np.random.default_rng(rng)
    rows = []
    for preset in presets:
        for cond in CONDITIONS:
            for seed in rng.permutation(seeds):  # row order must not matter: pairing is by seed
                rows.append({"dataset": "synthetic", "preset": preset, "condition": cond, "seed": int(seed),
                             "p_mtl": rng.uniform(0.5, 1.5), "p_expr": rng.uniform(0.2, 0.6),
                             "f1/Fear": rng.uniform(0, 0.3), "f1/Disgust": rng.uniform(0, 0.3)})
    return pd.DataFrame(rows)


def _strict(name):
    raise AssertionError(f"{name} in the JSON: not strict JSON")


def _raw(frame, preset, cond, metric):
    rows = frame[(frame["preset"] == preset) & (frame["condition"] == cond)].sort_values("seed")
    return rows[metric].to_numpy(float)


def test_every_pvalue_recomputes_from_the_raw_rows_with_scipy():
    frame = fake_rows()
    table = study_statistics(frame, {"affwild2": ["Fear"], "affectnet": ["Fear", "Disgust"]}, n_resamples=999)
    # 2 references; base-circumplex once: 4 + 3 comparisons per metric; 3 metrics (affwild2) + 4 (affectnet)
    assert len(table) == 7 * (3 + 4)
    assert set(table["reference"]) == {"base", "circumplex"}
    assert not ((table["condition"] == "base") & (table["reference"] == "circumplex")).any()
    for row in table.itertuples():
        a, b = _raw(frame, row.source, row.condition, row.metric), _raw(frame, row.source, row.reference, row.metric)
        expected = sps.wilcoxon(a, b, method="exact", alternative="two-sided")
        assert row.pvalue == pytest.approx(expected.pvalue, rel=1e-12)
        assert row.statistic == pytest.approx(expected.statistic)
        np.testing.assert_allclose(row.differences, a - b)
        walsh = [(x + y) / 2 for i, x in enumerate(a - b) for y in (a - b)[i:]]
        assert row.hl_estimate == pytest.approx(np.median(walsh))
        assert row.hl_low <= row.hl_estimate <= row.hl_high
    testable = table["testable"].to_numpy(bool)
    np.testing.assert_allclose(table.loc[testable, "pvalue_holm"], multipletests(
        table.loc[testable, "pvalue"].to_numpy(), method="holm")[1], rtol=1e-12)
    assert table.loc[~testable, "pvalue_holm"].isna().all() and (table.loc[~testable, "pvalue"] == 1).all()
    assert all(table.loc[~testable, "note"].str.contains("p = 1 by construction"))
    p_expr = table[table["metric"] == "p_expr"]
    from affect_book.analysis import SMALLEST_EFFECT, STUDY_EFFECT

    assert SMALLEST_EFFECT == STUDY_EFFECT / 2  # the power plan's smallest effect of interest is the margin
    assert (p_expr["margin_high"] == SMALLEST_EFFECT).all() and (p_expr["margin_low"] == -SMALLEST_EFFECT).all()
    assert table.loc[table["metric"] == "f1/Fear", "tost_pvalue"].isna().all()  # no margin stated: no TOST


def test_equivalence_is_found_for_matched_conditions_and_not_for_a_shift():
    frame = fake_rows(seeds=tuple(range(8)), presets=("affwild2",))
    base = frame["condition"] == "base"
    noise = np.random.default_rng(1).uniform(-0.001, 0.001, 8)
    for cond, shift in (("uniform", 0.0), ("permuted", 0.05)):
        frame.loc[frame["condition"] == cond, "p_expr"] = (frame[base].set_index("seed")["p_expr"]
                                                          .loc[frame.loc[frame["condition"] == cond, "seed"]]
                                                          .to_numpy() + shift + noise)
    table = study_statistics(frame, metrics=["p_expr"], n_resamples=999).set_index(["condition", "reference"])
    assert table.loc[("uniform", "base"), "equivalent"]
    assert not table.loc[("permuted", "base"), "equivalent"]
    assert table.loc[("permuted", "base"), "pvalue"] == pytest.approx(2 / 2 ** 8)  # all eight differences > 0


def test_unpaired_seeds_are_counted_and_bad_tables_are_named():
    frame = fake_rows(presets=("affwild2",))
    frame = frame[~((frame["condition"] == "uniform") & (frame["seed"] == 5))]
    table = study_statistics(frame, metrics=["p_mtl"], n_resamples=99).set_index(["condition", "reference"])
    assert table.loc[("uniform", "base"), "n_unpaired"] == 1 and table.loc[("uniform", "base"), "n"] == 5
    assert table.loc[("permuted", "base"), "n_unpaired"] == 0
    with pytest.raises(ParameterError, match="f1/Nope"):
        study_statistics(frame, metrics=["f1/Nope"])
    with pytest.raises(ParameterError, match="appears twice"):
        study_statistics(pd.concat([frame, frame.iloc[:1]]), metrics=["p_mtl"])
    with pytest.raises(ParameterError, match="condition"):
        study_statistics(frame.drop(columns=["condition"]))


@pytest.mark.slow
def test_cli_report_json_holds_rows_and_statistics(tmp_path, monkeypatch):
    """The CLI's statistics equal the table computed here from its own raw rows, with the chapter-02 rare classes."""
    from affect_book.study import StudyConfig

    settings = dict(presets=("affwild2",), conditions=("base", "circumplex", "uniform"), seeds=2, profile="smoke",
                    epochs=1, width=4, batch_size=64, data={"n_train": 512, "n_val": 64, "n_test": 64})
    grid = ["--profile", "smoke", "--preset", "affwild2", "--epochs", "1", "--width", "4", "--batch-size", "64",
            "--data", "n_train=512", "--data", "n_val=64", "--data", "n_test=64",
            "--conditions", "base,circumplex,uniform", "--seeds", "2"]
    env = {**os.environ, "AFFECT_BOOK_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path))
    run_study(StudyConfig(**settings), workers=1, progress=False)
    rare = study_rare_classes(StudyConfig(**settings))
    out = subprocess.run([sys.executable, "-m", "affect_book.cli", "study", "report", *grid, "--json"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout, parse_constant=_strict)  # strict JSON: 2 seeds leave interval ends open
    rows, table = pd.DataFrame(report["rows"]), pd.DataFrame(report["statistics"])
    assert len(rows) == 6 and set(table["metric"]) == {"p_mtl", "p_expr", *(f"f1/{c}" for c in rare["affwild2"])}
    checked = 0
    for row in table.itertuples():
        d = _raw(rows, row.source, row.condition, row.metric) - _raw(rows, row.source, row.reference, row.metric)
        np.testing.assert_allclose(row.differences, d)
        nonzero = d[d != 0]
        if nonzero.size and np.unique(np.abs(nonzero)).size == nonzero.size:  # scipy's exact: no zeros, no ties
            assert row.pvalue == pytest.approx(sps.wilcoxon(nonzero, method="exact").pvalue)
            checked += 1
        elif not nonzero.size:
            assert row.pvalue == 1.0  # every difference zero: no evidence either way
    assert checked >= 2, "P_MTL and P_EXPR differences of real runs have neither zeros nor ties"


# ------------------------------------------------------------------------------------------------ claim verdicts

def _two_conditions(d, metric="p_expr", source="affectnet"):
    """Rows of base and circumplex whose paired differences (circumplex - base) are ``d``."""
    rows = []
    for seed, diff in enumerate(d):
        rows.append({"dataset": "synthetic", "preset": source, "condition": "base", "seed": seed, metric: 0.4})
        rows.append({"dataset": "synthetic", "preset": source, "condition": "circumplex", "seed": seed,
                     metric: 0.4 + diff})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("d, verdict", [
    ([0.01, 0.02, 0.03, 0.04, 0.05], "reproduced"),  # one-sided p = 1/32 <= 0.05
    ([-0.01, -0.02, -0.03, -0.04, -0.05], "not reproduced"),  # the opposite, p = 1/32
    ([0.01, -0.02, 0.03, -0.04, 0.05], "inconclusive"),
    ([0.01, 0.02, 0.03, 0.04], "undecidable"),  # four seeds: the smallest one-sided p is 1/16: no refutation
])
def test_directional_verdict_follows_the_exact_one_sided_test(d, verdict):
    from affect_book.analysis import directional_verdict

    out = directional_verdict(_two_conditions(d), "circumplex", "base", ["p_expr"], ["affectnet"])
    assert out["verdict"] == verdict
    part = out["numbers"]["affectnet/p_expr"]
    assert part["p_claimed"] == pytest.approx(sps.wilcoxon(d, alternative="greater", method="exact").pvalue)
    assert part["smallest_one_sided_p"] == 0.5 ** len(d)
    assert out["n"] == len(d) and out["seeds_needed"] == 5  # one part: 1/32 <= 0.05
    if verdict == "undecidable":
        from affect_book.analysis import verdict_text

        assert verdict_text(out) == "undecidable at n = 4 (needs >= 5 seeds)"


def test_directional_verdict_needs_more_seeds_for_more_parts():
    from affect_book.analysis import directional_verdict

    frame = pd.concat([_two_conditions([-0.01, -0.02, -0.03, -0.04, -0.05], source=s) for s in ("a", "b")])
    frame = pd.concat([frame, frame.assign(p_mtl=frame["p_expr"])], axis=0).drop_duplicates(["preset", "condition",
                                                                                               "seed"])
    frame["p_mtl"] = frame["p_expr"]
    out = directional_verdict(frame, "circumplex", "base", ["p_expr", "p_mtl"], ["a", "b"])
    # every part all-negative at n = 5: each opposite p = 1/32, Holm over 4 parts gives 4/32 > 0.05
    assert out["verdict"] == "undecidable" and out["seeds_needed"] == 7

def test_equivalence_verdict_needs_tost_not_a_large_p(tmp_path):
    from affect_book.analysis import equivalence_verdict, write_claim

    inside = [0.001, -0.002, 0.003, -0.001, 0.002]
    out = equivalence_verdict(_two_conditions(inside), "circumplex", "base", {"p_expr": 0.01}, ["affectnet"])
    assert out["verdict"] == "reproduced"
    noisy = [0.02, -0.03, 0.01, -0.02, 0.03]  # two-sided p large, yet not within the margin: no evidence
    loose = equivalence_verdict(_two_conditions(noisy), "circumplex", "base", {"p_expr": 0.01}, ["affectnet"])
    assert loose["numbers"]["affectnet/p_expr"]["p_difference"] > 0.5
    # the contrary (outside the margin) needs 2 / 2**n <= 0.05: six seeds
    assert loose["verdict"] == "undecidable" and (loose["n"], loose["seeds_needed"]) == (5, 6)
    # a shift that differs from 0 yet lies within the margin matches: "differs from 0" is not the contrary
    small = [0.002, 0.003, 0.004, 0.005, 0.006, 0.007]
    within = equivalence_verdict(_two_conditions(small), "circumplex", "base", {"p_expr": 0.01}, ["affectnet"])
    assert within["numbers"]["affectnet/p_expr"]["p_difference"] <= 0.05 and within["verdict"] == "reproduced"
    # a shift outside the margin on every seed refutes it, with the exact p of scipy on d - margin
    far = np.array([0.05, 0.06, 0.07, 0.08, 0.09, 0.1])
    outside = equivalence_verdict(_two_conditions(far), "circumplex", "base", {"p_expr": 0.01}, ["affectnet"])
    p_above = sps.wilcoxon(far - 0.01, alternative="greater", method="exact").pvalue
    assert outside["numbers"]["affectnet/p_expr"]["p_outside"] == pytest.approx(2 * p_above)
    assert outside["verdict"] == "not reproduced"
    path = write_claim("uniform-matches-affwild2", out, "cpu", "simulator:affwild2", root=tmp_path)
    assert path == tmp_path / "claims" / "cpu" / "uniform-matches-affwild2.json"
    record = json.loads(path.read_text())
    assert {k: record[k] for k in ("claim", "verdict", "chapter", "profile", "dataset")} == {
        "claim": "uniform-matches-affwild2", "verdict": "reproduced", "chapter": "07", "profile": "cpu",
        "dataset": "simulator:affwild2"}
    assert [record["numbers"][f"affectnet/p_expr differences[{i}]"] for i in range(5)] == pytest.approx(inside)
    assert claims.read_verdict("uniform-matches-affwild2", "cpu", root=tmp_path)["verdict"] == "reproduced"
    assert "reproduced" in claims.claim_status("uniform-matches-affwild2", "cpu", root=tmp_path)
    two = equivalence_verdict(_two_conditions([0.001, -0.002]), "circumplex", "base", {"p_expr": 0.01},
                              ["affectnet"])
    # two seeds: no finite 95 % interval; the widest finite one, [min, max] of the Walsh averages, covers 1/2
    part = two["numbers"]["affectnet/p_expr"]
    assert (part["hl_low"], part["hl_high"], part["hl_coverage"]) == pytest.approx((-0.002, 0.001, 0.5))
    record = json.loads(write_claim("uniform-matches-affwild2", two, "smoke", "simulator:affwild2",
                                    root=tmp_path).read_text(), parse_constant=_strict)
    assert record["numbers"]["affectnet/p_expr hl_coverage"] == 0.5 and record["numbers"]["n"] == 2
    with pytest.raises(ParameterError, match="claim"):
        write_claim("../escape", out, "cpu", "synthetic", root=tmp_path)


def test_a_rare_class_at_f1_zero_in_every_run_is_said_not_tested():
    from affect_book.analysis import study_statistics

    rows = []
    for seed, (base, circ) in enumerate([(0.40, 0.42), (0.41, 0.44), (0.39, 0.40), (0.42, 0.45), (0.40, 0.43)]):
        rows.append({"dataset": "synthetic", "preset": "affectnet", "condition": "base", "seed": seed,
                     "p_expr": base, "f1/Contempt": 0.0})
        rows.append({"dataset": "synthetic", "preset": "affectnet", "condition": "circumplex", "seed": seed,
                     "p_expr": circ, "f1/Contempt": 0.0})
    table = study_statistics(pd.DataFrame(rows), metrics=["p_expr", "f1/Contempt"], margins={}).set_index("metric")
    assert not table.loc["f1/Contempt", "testable"] and np.isnan(table.loc["f1/Contempt", "pvalue_holm"])
    assert "0 in every run of both conditions" in table.loc["f1/Contempt", "note"]
    # the family is the testable rows only: one test, so Holm leaves its p as it is
    assert table.loc["p_expr", "testable"] and table.loc["p_expr", "pvalue_holm"] == table.loc["p_expr", "pvalue"]


def test_a_raise_smaller_than_the_smallest_effect_of_interest_refutes_a_directional_claim():
    from affect_book.analysis import directional_verdict

    null = [0.001, -0.002, 0.003, -0.001, 0.002, 0.0015]  # no raise: the shifts scatter around 0
    frame = _two_conditions(null)
    plain = directional_verdict(frame, "circumplex", "base", ["p_expr"], ["affectnet"])
    assert plain["verdict"] == "inconclusive"  # the opposite direction alone never refutes a null effect
    sesoi = directional_verdict(frame, "circumplex", "base", ["p_expr"], ["affectnet"],
                                smallest_effects={"p_expr": 0.0285})
    part = sesoi["numbers"]["affectnet/p_expr"]
    expected = sps.wilcoxon(np.array(null) - 0.0285, alternative="less", method="exact").pvalue
    assert part["p_contrary"] == pytest.approx(expected) and part["effect"] == 0.0285
    assert sesoi["verdict"] == "not reproduced" and "smallest effect of interest" in sesoi["rule"]
    # a clear raise is still reproduced whatever the contrary says
    up = directional_verdict(_two_conditions([0.05, 0.06, 0.04, 0.07, 0.05, 0.06]), "circumplex", "base",
                             ["p_expr"], ["affectnet"], smallest_effects={"p_expr": 0.0285})
    assert up["verdict"] == "reproduced" and not up["below_effect"]
    from affect_book.analysis import verdict_text

    tiny = directional_verdict(_two_conditions([0.004, 0.005, 0.003, 0.006, 0.005, 0.004]), "circumplex", "base",
                               ["p_expr"], ["affectnet"], smallest_effects={"p_expr": 0.0285})
    assert tiny["verdict"] == "reproduced" and tiny["below_effect"]  # real, and smaller than what matters
    assert verdict_text(tiny) == "reproduced (a shift smaller than the smallest effect of interest)"
