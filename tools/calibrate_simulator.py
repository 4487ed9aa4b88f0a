"""Calibrate the simulator's ``affwild2`` and ``affectnet`` presets against published per-class scores (issue 19).

What is calibrated is the model the study trains: chapter 07's ``base`` runs of the ``cpu`` profile (the study size
of :class:`affect_book.profiles.Profile`: ``study_n_train`` images at ``study_image_size`` pixels, the small CNN at
``study_width``, ``study_epochs`` epochs; cross-entropy, no OT term), through the study's own grid runner and cache,
but on **calibration seeds and a calibration data draw** (:data:`~affect_book.data.simulator.CALIBRATION_SEEDS`,
:data:`~affect_book.data.simulator.CALIBRATION_DATA_SEED`) that no chapter's verdict uses. Per-class scores (F1
for ``affwild2``, recall for ``affectnet``, as their targets) are averaged over the seeds on validation (what the
knob settings were tuned on) and on test (what is reported), and scored by
:func:`affect_book.data.simulator.calibration_scores`. Deterministic: the simulator is byte-reproducible and CPU
training is seeded, so a rerun gives the same numbers (runs are cached under ``$AFFECT_BOOK_CACHE``). Writes
``affect_book/data/simulator/calibration.json`` (or ``--out``).

Run: ``python tools/calibrate_simulator.py [--preset affwild2] [--set key=value ...] [--sensitivity]``. ``--set``
overrides a simulator knob (JSON values) for the search: printed, not written (unless ``--write``, for overrides that
restate the preset's own values, so the search's cached runs are the table's). ``--sensitivity`` adds the runs with
``annotation_noise`` 0.1 below and above the preset's level (everything else as in the row).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from affect_book.cache import config_hash  # noqa: E402
from affect_book.data.simulator import CALIBRATION_PATH, TARGETS, make_config  # noqa: E402
from affect_book.study import calibration_run, calibration_study, simulator_hash  # noqa: E402


def calibrate(preset: str, overrides: dict, workers: int = 2, log=print, study_options: dict | None = None) -> dict:
    """Train (or load) the calibration runs of one preset configuration; score them on validation and test
    (:func:`affect_book.study.calibration_run`) and print one line."""
    out = calibration_run(preset, overrides, study_options=study_options, workers=workers)
    shown = dict(overrides, **(study_options or {}))
    val, test = out["val"], out["test"]
    log(f"{preset} {shown}: val rho {val['spearman']:.2f} (seeds {min(val['spearman_per_seed']):.2f}+) MAD "
        f"{val['mean_abs_diff']:.3f} max {val['max_abs_diff']:.2f} macro {val['macro']:.3f} met {val['met']['all']} | "
        f"test rho {test['spearman']:.2f} MAD {test['mean_abs_diff']:.3f} met {test['met']['all']} | val "
        + " ".join(f"{c[:4]} {v:.2f}" for c, v in val["scores"].items()) + f" | {out['seconds']:.0f} s")
    return out


def _redundant(preset: str, overrides: dict) -> bool:
    """True when ``overrides`` only restate the preset's own values (the same simulator configuration)."""
    return config_hash(make_config(preset, "cpu", **overrides)) == config_hash(make_config(preset, "cpu"))


def _sensitivity(args, presets, overrides: dict, old: dict) -> int:
    """Each preset's table row and its runs with ``annotation_noise`` 0.1 below and above (validation scores)."""
    table = dict(old, sensitivity=dict(old.get("sensitivity", {})))
    for p in presets:
        row = old.get("results", {}).get(p)
        today = calibration_study(p)
        if row is None or row["simulator_config_hash"] != simulator_hash(today, p):
            raise SystemExit(f"--sensitivity: the table has no row for today's {p} preset; run the calibration first")
        level = make_config(p, "cpu").annotation_noise
        out = []
        for noise in (max(0.0, level - 0.1), level, level + 0.1):
            noise = round(noise, 4)
            res = row if noise == level else calibrate(p, {**overrides, "annotation_noise": noise}, args.workers)
            out.append({"annotation_noise": noise, "simulator_config_hash": res["simulator_config_hash"],
                        **{k: res["val"][k] for k in ("spearman", "mean_abs_diff", "max_abs_diff", "macro",
                                                      "scores")}})
        table["sensitivity"][p] = out
    args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote the sensitivity of {presets} to {args.out}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(TARGETS), action="append")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a knob (search)")
    parser.add_argument("--study", action="append", default=[], metavar="KEY=JSON",
                        help="override a StudyConfig field, e.g. epochs=6 (search)")
    parser.add_argument("--write", action="store_true",
                        help="write the table although --set is given, when the overrides restate the preset's own "
                             "values (so a search's cached runs become the table's)")
    parser.add_argument("--sensitivity", action="store_true",
                        help="only the sensitivity: each preset's row as in the table, and its runs with "
                             "annotation_noise moved by -0.1 and +0.1 (validation scores, written to 'sensitivity')")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    study_options = {}
    for item in args.study:
        key, _, value = item.partition("=")
        study_options[key] = json.loads(value)
    presets = args.preset or sorted(TARGETS)
    if args.write:
        stray = [p for p in presets if not _redundant(p, overrides)]
        if stray or study_options:
            parser.error(f"--write: the overrides change the simulator of {stray or presets} (or --study is given); "
                         f"put the values in the preset first")
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.sensitivity:
        return _sensitivity(args, presets, overrides, old)
    rows = {p: calibrate(p, overrides, args.workers, study_options=study_options) for p in presets}
    if (overrides or study_options) and not args.write:
        return 0
    table = {"targets": TARGETS, "results": rows, "profile": "cpu", "split_reported": "test",
             "split_tuned": "val", "torch": torch.__version__}
    if old.get("targets") == json.loads(json.dumps(TARGETS)):
        table["results"] = {**old.get("results", {}), **rows}
        table["sensitivity"] = {p: v for p, v in old.get("sensitivity", {}).items() if p not in rows}
    args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
