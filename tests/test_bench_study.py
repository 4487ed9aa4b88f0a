"""The pure part of ``benchmarks/bench_study.py --power``: from measured seconds and paired differences to the
power-per-CPU-minute table and its choice, checked against direct calls of the power functions on hand-made inputs.
"""

import importlib.util
import math

import numpy as np
import pytest

from affect_book.stats import minimum_detectable_effect, paired_power, seeds_for_power
from support import ROOT

_SPEC = importlib.util.spec_from_file_location("bench_study", ROOT / "benchmarks" / "bench_study.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

DRAWS = 2000  # few Monte Carlo draws: the table must equal the direct calls with the same draws, not be precise


def _measured(n_train, wall_s, d_mtl, d_expr, *, runs=8, workers=2, image_size=48, epochs=8):
    return {"n_train": n_train, "image_size": image_size, "epochs": epochs, "runs": runs, "workers": workers,
            "wall_s": wall_s, "load_avg": 1.5, "d_p_mtl": d_mtl, "d_p_expr": d_expr}


def test_power_table_matches_direct_calls():
    measured = [_measured(6000, 40.0, [0.01, -0.02, 0.03, 0.00], [0.02, 0.05, -0.01, 0.03]),
                _measured(12000, 80.0, [0.01, 0.005, 0.012, 0.0], [0.02, 0.01, 0.015, 0.03])]
    table, best = bench.power_table(measured, budget_minutes=30, cores=2, grid_runs_per_seed=14, effect=0.03,
                                    alpha=0.05, max_seeds=60, current=(12000, 48, 8), n_draws=DRAWS)
    assert list(table["current"]) == [False, True]
    assert "base_p_expr" not in table  # levels are reported only when measured
    levels = [dict(m, base_p_expr=[0.30, 0.34, 0.32, 0.28], base_rare_f1=[0.0, 0.1, 0.05, 0.05]) for m in measured]
    with_levels, _ = bench.power_table(levels, budget_minutes=30, cores=2, grid_runs_per_seed=14, effect=0.03,
                                       max_seeds=60, n_draws=DRAWS)
    assert list(with_levels["base_p_expr"]) == pytest.approx([0.31, 0.31])
    assert list(with_levels["base_rare_f1"]) == pytest.approx([0.05, 0.05])
    # a candidate at a floor on the rare classes is not eligible, however small its spread
    floor = [dict(levels[0], d_p_expr=[0.0, 0.001, -0.001, 0.0005], base_rare_f1=[0.0, 0.0, 0.0, 0.0]), levels[1]]
    ranked, choice = bench.power_table(floor, budget_minutes=180, cores=2, grid_runs_per_seed=14, effect=0.03,
                                       max_seeds=60, n_draws=DRAWS, min_rare_f1=0.05)
    assert list(ranked["eligible"]) == [False, True] and choice == 1
    assert bench.power_table(floor, budget_minutes=180, cores=2, grid_runs_per_seed=14, effect=0.03, max_seeds=60,
                             n_draws=DRAWS)[1] == 0  # without the rule the floor wins (the smaller spread)
    for i, m in enumerate(measured):
        row = table.loc[i]
        cpu_s = m["wall_s"] * m["workers"] / m["runs"]  # 10 s and 20 s
        assert row["wall_s_per_run"] == pytest.approx(m["wall_s"] / m["runs"])
        assert row["cpu_s_per_run"] == pytest.approx(cpu_s)
        seeds = math.floor(30 * 60 * 2 / (cpu_s * 14))
        assert row["seeds_in_budget"] == seeds
        for metric in bench.POWER_METRICS:
            d = np.asarray(m[f"d_{metric}"])
            sd = np.std(d, ddof=1)
            assert row[f"mean_d_{metric}"] == pytest.approx(d.mean())
            assert row[f"sd_d_{metric}"] == pytest.approx(sd)
            assert row[f"mde_{metric}"] == minimum_detectable_effect(sd, seeds, alternative="greater",
                                                                     n_draws=DRAWS)
            assert row[f"power_at_effect_{metric}"] == paired_power(0.03, sd, seeds, alternative="greater",
                                                                    n_draws=DRAWS)
            assert row[f"seeds_for_effect_{metric}"] == seeds_for_power(0.03, sd, alternative="greater",
                                                                        max_seeds=60, n_draws=DRAWS)
    assert table.loc[0, "seeds_in_budget"] == 2 * table.loc[1, "seeds_in_budget"] + 1  # 25 and 12
    mdes = table["mde_p_expr"]
    assert best == int(np.argmin(mdes))


def test_power_table_calibration_rule():
    """A candidate at which a calibrated preset misses its criteria is not eligible, however small its spread."""
    cheap = _measured(12000, 40.0, [0.0, 0.01, -0.01, 0.005], [0.0, 0.004, -0.003, 0.002], image_size=40, epochs=6)
    dear = _measured(12000, 80.0, [0.01, 0.05, -0.03, 0.02], [0.02, 0.06, -0.04, 0.03])
    kwargs = dict(budget_minutes=180, cores=2, grid_runs_per_seed=6, effect=0.03, max_seeds=60, n_draws=DRAWS)
    table, best = bench.power_table([cheap, dear], **kwargs)
    assert best == 0 and list(table["calibrated"]) == ["not measured"] * 2  # the smaller spread wins
    missed = [dict(cheap, calibrated={"affectnet": True, "affwild2": False}),
              dict(dear, calibrated={"affectnet": True, "affwild2": True})]
    table, best = bench.power_table(missed, **kwargs)
    assert list(table["calibrated"]) == ["affwild2", "all met"] and list(table["eligible"]) == [False, True]
    assert best == 1
    both = [dict(cheap, calibrated={"affectnet": False, "affwild2": False}), dict(dear, calibrated={"x": False})]
    table, best = bench.power_table(both, **kwargs)
    assert list(table["calibrated"]) == ["affectnet,affwild2", "x"] and best is None


def test_power_table_floor_cap_and_no_spread():
    measured = [
        _measured(20000, 400.0, [0.01, 0.02, 0.0], [0.01, 0.02, 0.0]),  # 100 cpu-s per run: 2 seeds, below the floor
        _measured(6000, 8.0, [0.01, 0.02, 0.0], [0.0, 0.0, 0.0]),  # no spread of P_EXPR
        _measured(12000, 16.0, [0.01, 0.02, 0.0], [0.03, -0.01, 0.02]),  # 4 cpu-s per run: 64 seeds, capped at 40
    ]
    table, best = bench.power_table(measured, budget_minutes=30, cores=2, grid_runs_per_seed=14, effect=0.03,
                                    max_seeds=40, n_draws=DRAWS)
    assert table.loc[0, "seeds_in_budget"] == 2
    assert math.isinf(table.loc[0, "mde_p_expr"])  # one-sided exact test at 2 seeds: p >= 0.25
    assert math.isnan(table.loc[1, "mde_p_expr"]) and math.isnan(table.loc[1, "seeds_for_effect_p_expr"])
    assert table.loc[2, "seeds_in_budget"] == 64
    sd = np.std([0.03, -0.01, 0.02], ddof=1)
    assert table.loc[2, "mde_p_expr"] == minimum_detectable_effect(sd, 40, alternative="greater", n_draws=DRAWS)
    assert best == 2 and not table["current"].any()


def test_power_table_no_candidate_and_tie_goes_to_the_cheaper():
    slow = [_measured(20000, 4000.0,  # 1000 cpu-s per run: 0 seeds
                       [0.01, 0.02], [0.01, 0.02])]
    assert bench.power_table(slow, budget_minutes=30, cores=2, grid_runs_per_seed=14, effect=0.03,
                             n_draws=DRAWS)[1] is None
    # same spread, both budgets past max_seeds: the same MDE; the cheaper wins
    same = [_measured(6000, 8.0, [0.0, 0.01], [0.0, 0.02]), _measured(5000, 4.0, [0.0, 0.01], [0.0, 0.02])]
    table, best = bench.power_table(same, budget_minutes=30, cores=2, grid_runs_per_seed=14, effect=0.03,
                                    max_seeds=20, n_draws=DRAWS)
    assert table.loc[0, "mde_p_expr"] == table.loc[1, "mde_p_expr"] and best == 1


def test_parse_candidates():
    assert bench.parse_candidates(bench.DEFAULT_CANDIDATES)[1] == (12000, 48, 8)
    for bad in ("12000:48", "12000:48:0", "a:48:8"):
        with pytest.raises(ValueError, match="n_train:image_size:epochs"):
            bench.parse_candidates(bad)
