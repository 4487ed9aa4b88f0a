"""Calibrate the simulator's ``affwild2`` and ``affectnet`` presets against published per-class F1 (issue 10).

For each preset, trains the base model of chapter 05 (``TrainConfig`` defaults: small CNN, cross-entropy, no OT
term, the ``cpu`` profile's width, epochs and batch size, seed 0) on the preset at ``cpu`` sizes, then scores
per-class F1 on validation (what the knob settings were tuned on) and on test (what is reported). Deterministic:
the simulator is byte-reproducible and CPU training is seeded, so a rerun gives the same numbers (runs are cached
under ``$AFFECT_BOOK_CACHE``). Writes ``affect_book/data/simulator/calibration.json`` (or ``--out``).

Run: ``python tools/calibrate_simulator.py [--preset affwild2] [--proxy] [--set key=value ...]``. ``--proxy``:
a cheaper search run (fewer images and epochs) printed, not written; ``--set`` overrides a simulator knob
(JSON values), for the search.
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

from affect_book.cache import config_hash  # noqa: E402
from affect_book.circumplex import concept_of  # noqa: E402
from affect_book.data.simulator import AFFECTNET_AGREEMENT, confusion_from_agreement  # noqa: E402
from affect_book.data.simulator import make_config, simulate_all  # noqa: E402
from affect_book.data.simulator._calibration import CALIBRATION_PATH, TARGETS  # noqa: E402
from affect_book.models import build_model  # noqa: E402
from affect_book.profiles import get_profile  # noqa: E402
from affect_book._train_steps import _arrays  # noqa: E402
from affect_book.train import TrainConfig, evaluate, train  # noqa: E402

PROXY = {"n_train": 12_000, "n_val": 2_000, "n_test": 2_000}
PROXY_EPOCHS = 4


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


def calibrate(preset: str, overrides: dict, proxy: bool, log=print) -> dict:
    """Train the base model on one preset configuration and score it on validation and test."""
    profile = get_profile("cpu")
    sizes = PROXY if proxy else {}
    sim = make_config(preset, "cpu", **sizes, **overrides)
    t0 = time.perf_counter()
    sets = simulate_all(sim, workers=2)
    t_sim = time.perf_counter() - t0
    classes = tuple(sets["train"].classes)
    data = tuple(sorted({"preset": preset, **sizes, "simulator": config_hash(sim)}.items()))
    config = TrainConfig(classes=classes, data=data,
                         epochs=PROXY_EPOCHS if proxy else profile.epochs, batch_size=profile.batch_size,
                         width=profile.width, profile="cpu", device="cpu", seed=0, lambda_ot=0.0)
    t0 = time.perf_counter()
    result = train(config, sets["train"], sets["val"], sets["test"], progress=False)
    t_train = time.perf_counter() - t0
    model = build_model(config.backbone, len(classes), width=config.width, dropout=config.dropout, norm=config.norm)
    model.load_state_dict(result.model_state())
    _, val_pred = evaluate(model, _arrays(sets["val"]), config, torch.device("cpu"))
    test_pred = result.predictions()
    out = {"preset": preset, "overrides": overrides, "proxy": proxy, "simulator_config_hash": config_hash(sim),
           "train_config_hash": result.config_hash, "epochs": config.epochs, "n_train": sim.n_train,
           "best_epoch": result.best_epoch, "seconds_simulate": round(t_sim, 1), "seconds_train": round(t_train, 1),
           "loaded_from_cache": result.loaded_from_cache}
    for split, pred in (("val", val_pred), ("test", test_pred)):
        f1 = per_class_f1(pred["expression"], pred["logits"].argmax(1), classes)
        out[split] = {"f1": f1, **summary(f1, TARGETS[preset])}
    shown = {k: (f"{len(v)} confusions" if k == "label_confusion" else v) for k, v in overrides.items()}
    log(f"{preset} {'proxy ' if proxy else ''}{shown}: val macro {out['val']['macro_f1']:.3f} rho "
        f"{out['val']['spearman']:.2f} | test macro {out['test']['macro_f1']:.3f} rho {out['test']['spearman']:.2f}"
        f" | " + " ".join(f"{c[:4]} {v:.2f}" for c, v in out["val"]["f1"].items()) + f" | {t_sim:.0f}+{t_train:.0f}s")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(TARGETS), action="append")
    parser.add_argument("--proxy", action="store_true", help="cheaper search run; prints, writes nothing")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a knob")
    parser.add_argument("--agreement", type=float, default=None, metavar="SCALE",
                        help="label_confusion from AffectNet's annotator agreement at this scale (search only)")
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    presets = args.preset or sorted(TARGETS)
    rows = {}
    for p in presets:
        extra = dict(overrides)
        if args.agreement is not None:
            classes = make_config(p, "smoke").classes
            by_concept = {concept_of(c): v for c, v in AFFECTNET_AGREEMENT.items()}
            agreement = {c: by_concept[concept_of(c)] for c in classes if concept_of(c) in by_concept}
            extra["label_confusion"] = confusion_from_agreement(classes, agreement, scale=args.agreement)
        rows[p] = calibrate(p, extra, args.proxy)
    if args.proxy or overrides:
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
