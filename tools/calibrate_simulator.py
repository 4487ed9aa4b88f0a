"""Calibrate the simulator's ``affwild2`` and ``affectnet`` presets against published per-class F1 (issue 10).

What is calibrated is the model the study trains: chapter 07's ``base`` runs of the ``cpu`` profile (the study size
of :class:`affect_book.profiles.Profile`: ``study_n_train`` images at ``study_image_size`` pixels, the small CNN at
``study_width``, ``study_epochs`` epochs; cross-entropy, no OT term), one run per seed of the profile's seeds,
through the study's own grid runner and cache, so chapter 07 loads these very runs instead of training them again.
Per-class F1 is averaged over the seeds (one seed's ranking of the rare classes is noise) on validation (what the
knob settings were tuned on) and on test (what is reported). Deterministic: the simulator is byte-reproducible and
CPU training is seeded, so a rerun gives the same numbers (runs are cached under ``$AFFECT_BOOK_CACHE``). Writes
``affect_book/data/simulator/calibration.json`` (or ``--out``).

Run: ``python tools/calibrate_simulator.py [--preset affwild2] [--set key=value ...] [--seeds N]``. ``--set``
overrides a simulator knob (JSON values) for the search: printed, not written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from affect_book._train_steps import _arrays  # noqa: E402
from affect_book.cache import config_hash  # noqa: E402
from affect_book.data.simulator import make_config  # noqa: E402
from affect_book.data.simulator._calibration import CALIBRATION_PATH, TARGETS  # noqa: E402
from affect_book.models import build_model  # noqa: E402
from affect_book.study import StudyConfig, expand_study, run_study  # noqa: E402
from affect_book.study._executors import _splits  # noqa: E402
from affect_book.train import evaluate, train  # noqa: E402


def per_class_f1(true: np.ndarray, pred: np.ndarray, classes) -> dict[str, float]:
    """F1 per class on the rows with a label (``true >= 0``), from scikit-learn."""
    keep = true >= 0
    scores = f1_score(true[keep], pred[keep], labels=list(range(len(classes))), average=None, zero_division=0)
    return {c: float(s) for c, s in zip(classes, scores)}


def summary(f1: dict[str, float], target: dict) -> dict:
    """Macro-F1, Spearman correlation with the published per-class F1, and the criteria."""
    classes = list(target["f1"])
    ours = [f1[c] for c in classes]
    rho = float(spearmanr(ours, [target["f1"][c] for c in classes]).statistic)
    macro = float(np.mean(ours))
    out = {"macro_f1": macro, "spearman": rho, "spearman_met": rho >= 0.7}
    if target["macro_f1"] is not None:
        out["macro_met"] = abs(macro - target["macro_f1"]) <= 0.15
    else:
        lowest = sorted(classes, key=lambda c: f1[c])[:3]
        out["lowest_three"] = lowest
        out["contempt_disgust_lowest"] = {"Contempt", "Disgust"} <= set(lowest)
    return out


def calibration_study(preset: str, overrides: dict | None = None, seeds: int | None = None,
                      study_options: dict | None = None) -> StudyConfig:
    """The ``base`` runs of chapter 07's ``cpu`` grid on one preset (with knob ``overrides`` and StudyConfig
    ``study_options`` for a search)."""
    return StudyConfig(presets=(preset,), conditions=("base",), seeds=seeds, profile="cpu", data=overrides or {},
                       **(study_options or {}))  # device "auto", as chapter 07's grid, so the runs are shared


def calibrate(preset: str, overrides: dict, seeds: int | None = None, workers: int = 2, log=print,
              study_options: dict | None = None) -> dict:
    """Train (or load) the base runs of one preset configuration; score them on validation and test."""
    study = calibration_study(preset, overrides, seeds, study_options)
    t0 = time.perf_counter()
    table = run_study(study, workers=workers, progress=False)
    seconds = time.perf_counter() - t0
    per_seed = {"val": [], "test": []}
    for run in expand_study(study):
        splits = _splits(run)
        result = train(run.config, splits["train"], splits["val"], splits["test"], progress=False)
        config = run.config
        model = build_model(config.backbone, len(config.classes), width=config.width, dropout=config.dropout,
                            norm=config.norm)
        model.load_state_dict(result.model_state())
        _, val_pred = evaluate(model, _arrays(splits["val"]), config, torch.device("cpu"))
        for split, pred in (("val", val_pred), ("test", result.predictions())):
            per_seed[split].append(per_class_f1(pred["expression"], pred["logits"].argmax(1), config.classes))
    classes = tuple(config.classes)
    sim = make_config(preset, "cpu", **{k: v for k, v in study.load_options(preset).items() if k != "preset"})
    out = {"preset": preset, "overrides": overrides, "study": {k: v for k, v in (("seeds", list(study.seeds)),
           ("epochs", study.epochs), ("width", study.width), ("batch_size", study.batch_size),
           ("data", dict(study.data)))},
           "simulator_config_hash": config_hash(sim), "study_hash": config_hash(study),
           "train_config_hashes": sorted(table["config_hash"]) if "config_hash" in table else [],
           "seconds": round(seconds, 1), "trained": int((~table["loaded_from_cache"]).sum())}
    for split in ("val", "test"):
        f1 = {c: float(np.mean([s[c] for s in per_seed[split]])) for c in classes}
        seed_rho = [summary(s, TARGETS[preset])["spearman"] for s in per_seed[split]]
        out[split] = {"f1": f1, "f1_per_seed": per_seed[split], "spearman_per_seed": seed_rho,
                      **summary(f1, TARGETS[preset])}
    shown = {k: (f"{len(v)} confusions" if k == "label_confusion" else v) for k, v in overrides.items()}
    shown.update(study_options or {})
    log(f"{preset} {shown}: val macro {out['val']['macro_f1']:.3f} rho {out['val']['spearman']:.2f} | test macro "
        f"{out['test']['macro_f1']:.3f} rho {out['test']['spearman']:.2f} | val "
        + " ".join(f"{c[:4]} {v:.2f}" for c, v in out["val"]["f1"].items()) + f" | {seconds:.0f} s")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(TARGETS), action="append")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a knob (search)")
    parser.add_argument("--study", action="append", default=[], metavar="KEY=JSON",
                        help="override a StudyConfig field, e.g. epochs=6 or train_options={...} (search)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default: the cpu profile's)")
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
    rows = {p: calibrate(p, overrides, args.seeds, args.workers, study_options=study_options) for p in presets}
    if overrides or study_options or args.seeds is not None:
        return 0
    table = {"targets": TARGETS, "results": rows, "profile": "cpu", "split_reported": "test",
             "split_tuned": "val", "torch": torch.__version__}
    if args.out.exists():
        old = json.loads(args.out.read_text())
        table["results"] = {**old.get("results", {}), **rows}
    args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
