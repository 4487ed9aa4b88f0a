"""The trainer: one config object, load-or-train caching, exact resume, per-epoch validation, test predictions.

Introduced in chapter 06. ``train(config, train_set, val_set, test_set)`` returns a :class:`RunResult`; a finished
run with the same config hash is loaded, not retrained, and an interrupted one resumes from its last checkpoint.

The loss is::

    loss = expression term (cross-entropy or a rare-class control)
         + lambda_ot * OT term (expected cost under the chosen cost matrix)
         + lambda_va * (1 - CCC)            (mean over valence and arousal)
         + lambda_au * masked AU cross-entropy

each term masked where its labels are missing. Optimiser: AdamW, linear warm-up then cosine decay (per step),
gradient clipping. On a GPU: bf16 autocast, channels-last, optional ``torch.compile``. On a CPU the run is
deterministic for a given seed: shuffling and augmentation draw from generators seeded by (seed, epoch), and every
RNG state is checkpointed, so a resumed run ends with the same weights as an uninterrupted one.

Several GPUs: ``torchrun --nproc_per_node=N -m affect_book.train --config run.json`` (DistributedDataParallel,
NCCL on GPU, gloo on CPU); every rank draws the same global permutation and takes its own slice of each batch.
Each rank normalizes its masked loss terms over its own slice, as per-GPU batches do, and the CCC term is computed
per rank; BatchNorm becomes SyncBatchNorm on GPUs (it cannot on CPUs, where ``norm="group"`` makes the small CNN
independent of the batch split).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import metrics
from .cache import atomic_write_bytes, config_hash, run_dir
from .costs import COST_KINDS
from .device import DEVICES
from .losses import EXPRESSION_LOSSES
from .losses import expression_param as check_expression_param
from .models import BACKBONES, build_model

__all__ = ["RunResult", "TrainConfig", "evaluate", "train", "validate_config"]

#: Bumped when the trainer or the models change what a config produces, so cached runs of older code are not
#: loaded as if they were current (it is a field of every config, hence part of its hash).
TRAINER_VERSION = 2

#: Cost kinds of ``TrainConfig.cost``: none, the kinds :func:`affect_book.costs.ot_cost` builds, or a matrix.
COSTS = ("none", *COST_KINDS, "matrix")


@dataclass(frozen=True)
class TrainConfig:
    """Every choice of a training run. Its hash (``config_hash(config)``) names the run's cache directory.

    data: ``dataset`` and ``data`` (source-specific options as sorted (key, value) pairs), ``classes``;
    model: ``backbone``, ``width`` and ``norm`` (small CNN), ``weights_path``, ``dropout``;
    loss: ``expression_loss`` (see ``EXPRESSION_LOSSES``) and its ``expression_param``, ``lambda_ot``, ``cost``
    (one of ``COSTS``: ``none``; a kind of :func:`affect_book.costs.ot_cost`, whose controls ``uniform``,
    ``uniform_column`` and ``permuted`` (permutation chosen by ``seed``) derive from the ``va`` cost; or ``matrix``
    with an explicit (predicted, true) matrix in ``cost_matrix``), ``coordinates``, ``cost_fill`` (hand placements
    of classes the coordinate set lacks, as ((name, (valence, arousal)), ...)), ``lambda_va``, ``lambda_au``;
    optimisation: ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``warmup_epochs``, ``grad_clip``;
    ``seed``, ``profile``, ``device`` (auto/cpu/cuda/mps), ``amp`` (bf16 autocast on GPU), ``channels_last``,
    ``compile``, ``augment`` (random horizontal flip), ``au_threshold``; ``version``: the trainer's code version.
    """

    classes: tuple[str, ...]
    dataset: str = "synthetic"
    data: tuple = ()
    backbone: str = "small_cnn"
    width: int = 32
    norm: str = "batch"
    weights_path: str | None = None
    dropout: float = 0.0
    expression_loss: str = "ce"
    expression_param: float | None = None
    lambda_ot: float = 0.0
    cost: str = "none"
    cost_matrix: tuple | None = None
    coordinates: str = "russell1977"
    cost_fill: tuple = ()
    lambda_va: float = 1.0
    lambda_au: float = 1.0
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    grad_clip: float = 5.0
    seed: int = 0
    profile: str = "cpu"
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    augment: bool = True
    au_threshold: float = 0.5
    version: int = TRAINER_VERSION


def validate_config(config: TrainConfig) -> None:
    """Fail before training with a clear message for a value the trainer cannot use."""
    def bad(name, value, expected):
        raise ValueError(f"TrainConfig.{name}={value!r} is not valid; expected {expected}")

    if config.backbone not in BACKBONES:
        bad("backbone", config.backbone, f"one of {list(BACKBONES)}")
    if config.expression_loss not in EXPRESSION_LOSSES:
        bad("expression_loss", config.expression_loss, f"one of {list(EXPRESSION_LOSSES)}")
    if config.cost not in COSTS:
        bad("cost", config.cost, f"one of {list(COSTS)} ('matrix' with cost_matrix)")
    for name in ("lambda_ot", "lambda_va", "lambda_au", "weight_decay", "dropout", "warmup_epochs", "grad_clip"):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
            bad(name, value, "a finite number >= 0")
    try:  # the loss table's range for its parameter (None for a loss without one)
        check_expression_param(config.expression_loss, config.expression_param)
    except ValueError as err:
        raise ValueError(f"TrainConfig.{err}") from None
    if config.lambda_ot > 0 and config.cost == "none":
        bad("cost", config.cost, "a cost when lambda_ot > 0")
    for name in ("epochs", "batch_size", "width"):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            bad(name, value, "a positive integer")
    if not config.lr > 0:
        bad("lr", config.lr, "a positive number")
    if config.norm not in ("batch", "group"):
        bad("norm", config.norm, "'batch' or 'group'")
    if config.device not in DEVICES:
        bad("device", config.device, f"one of {list(DEVICES)}")
    if len(config.classes) < 2:
        bad("classes", config.classes, "at least two class names")
    if config.cost == "matrix":
        cost = np.asarray(config.cost_matrix, dtype=float)
        n = len(config.classes)
        if cost.shape != (n, n):
            bad("cost_matrix", f"shape {cost.shape}", f"({n}, {n}) for classes {list(config.classes)}")
    cost_tensor(config)  # a cost that cannot be built (a class without a coordinate) fails here, before training


def cost_tensor(config: TrainConfig) -> torch.Tensor | None:
    """The (classes, classes) cost matrix of the OT term (rows predicted, columns true), or None."""
    from . import costs

    if config.lambda_ot == 0 or config.cost == "none":
        return None
    if config.cost == "matrix":
        cost = costs.validate_cost(np.asarray(config.cost_matrix, dtype=float), config.classes, where="cost_matrix")
        return torch.tensor(np.asarray(cost), dtype=torch.float32)
    frame = costs.ot_cost(config.classes, config.cost, config.coordinates, fill=dict(config.cost_fill) or None,
                          seed=config.seed)
    return torch.tensor(frame.to_numpy(), dtype=torch.float32)


def expression_term(logits: torch.Tensor, y: torch.Tensor, config: TrainConfig,
                    counts: np.ndarray | None) -> torch.Tensor:
    """The masked expression term (``config.expression_loss``, see :data:`affect_book.losses.EXPRESSION_LOSSES`);
    ``counts``: training class counts (for the losses that need them)."""
    from . import losses as L

    return L.expression_loss(config.expression_loss, logits, y, config.expression_param, counts)


def multitask_loss(out: dict, batch: dict, config: TrainConfig, cost: torch.Tensor | None,
                   counts: np.ndarray | None = None) -> tuple[torch.Tensor, dict]:
    """The masked multi-task loss of one batch and its terms (tensors; no host synchronisation).

    Each term is normalized over the labelled entries of the batch; a batch without a label for a task contributes
    0 for that task.
    """
    from . import losses as L

    y = batch["expression"]
    logits = out["logits"]
    terms = {"expression": expression_term(logits, y, config, counts)}
    total = terms["expression"]
    if cost is not None:
        terms["ot"] = L.expected_cost(logits, y, cost)
        total = total + config.lambda_ot * terms["ot"]
    if config.lambda_va > 0:
        terms["va"] = L.ccc_loss(out["va"], batch["va"])
        total = total + config.lambda_va * terms["va"]
    if config.lambda_au > 0:
        terms["au"] = L.masked_bce_with_logits(out["au_logits"], batch["au"])
        total = total + config.lambda_au * terms["au"]
    return total, terms


@dataclass
class RunResult:
    """A finished run: its directory, config hash, per-epoch history, best epoch, validation and test metrics,
    and the path of the saved test predictions (``predictions.npz``)."""

    run_dir: Path
    config_hash: str
    history: list[dict]
    best_epoch: int
    val_metrics: dict
    test_metrics: dict
    predictions_path: Path | None
    loaded_from_cache: bool = False
    images_per_second: float = float("nan")

    def predictions(self) -> dict[str, np.ndarray]:
        """The saved test predictions: logits, va, au_prob, features, expression, va_true, au_true, index."""
        with np.load(self.predictions_path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}

    def model_state(self) -> dict:
        """The best epoch's weights (``torch.load(..., weights_only=True)``)."""
        return torch.load(self.run_dir / "best_model.pt", map_location="cpu", weights_only=True)


def _arrays(dataset) -> dict:
    """A dataset's arrays: its (N, H, W, 3) uint8 images as they are (memory-mapped ones stay on disk; batches are
    gathered by :func:`_images`) and its labels as tensors."""
    return {"image": dataset.images, "expression": torch.from_numpy(np.asarray(dataset.expression, dtype=np.int64)),
            "va": torch.from_numpy(np.asarray(dataset.va, dtype=np.float32)),
            "au": torch.from_numpy(np.asarray(dataset.au, dtype=np.int64)),
            "index": torch.arange(len(dataset))}


def _images(images, rows) -> torch.Tensor:
    """The (B, 3, H, W) uint8 batch of ``rows`` (a tensor or slice) from (N, H, W, 3) images."""
    rows = rows.numpy() if isinstance(rows, torch.Tensor) else rows
    batch = np.array(images[rows]) if isinstance(rows, slice) else np.take(images, rows, axis=0)  # own copies
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _schedule(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    total = config.epochs * steps_per_epoch
    warm = max(1, int(config.warmup_epochs * steps_per_epoch)) if config.warmup_epochs > 0 else 0

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(model, data: dict[str, torch.Tensor], config: TrainConfig, device: torch.device,
             batch_size: int = 512, keep_features: bool = False) -> tuple[dict, dict[str, np.ndarray]]:
    """Metrics (P_VA, P_EXPR, P_AU, P_MTL, accuracy) and raw predictions of ``model`` on a tensor dataset."""
    model.eval()
    chunks: dict[str, list] = {"logits": [], "va": [], "au_prob": [], "features": []}
    for start in range(0, len(data["image"]), batch_size):
        x = _images(data["image"], slice(start, start + batch_size)).to(device)
        if config.channels_last and device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(device, config.amp):
            out = model(x)
        chunks["logits"].append(out["logits"].float().cpu())
        chunks["va"].append(out["va"].float().cpu())
        chunks["au_prob"].append(out["au_logits"].float().sigmoid().cpu())
        if keep_features:
            chunks["features"].append(out["features"].float().cpu())
    pred = {k: torch.cat(v).numpy() for k, v in chunks.items() if v}
    labels = {"expression": data["expression"].numpy(), "va_true": data["va"].numpy(),
              "au_true": data["au"].numpy(), "index": data["index"].numpy()}
    has_va = np.isfinite(labels["va_true"]).all(1).any()
    has_au = (labels["au_true"] >= 0).any()
    scores = metrics.mtl_score(true_expr=labels["expression"], pred_expr=pred["logits"].argmax(1),
                               n_classes=len(config.classes),
                               true_va=labels["va_true"] if has_va else None, pred_va=pred["va"] if has_va else None,
                               true_au=labels["au_true"] if has_au else None,
                               au_prob=pred["au_prob"] if has_au else None, au_threshold=config.au_threshold)
    return scores, {**pred, **labels}


def _rng_state() -> dict:
    """Every global RNG state as tensors and plain values, so checkpoints load with ``weights_only=True``."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"torch": torch.get_rng_state(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                      int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_next]}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def _save_checkpoint(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def train(config: TrainConfig, train_set, val_set, test_set=None, root: Path | None = None,
          stop_after_epoch: int | None = None, progress: bool = True, log=print) -> RunResult:
    """Load-or-train one run. ``stop_after_epoch`` interrupts the run after that epoch (to demonstrate and test
    resuming); calling ``train`` again with the same config resumes it.
    """
    from .device import choose_device, seed_everything

    validate_config(config)
    for name, ds in (("train_set", train_set), ("val_set", val_set), ("test_set", test_set)):
        if ds is not None and tuple(ds.classes) != tuple(config.classes):
            raise ValueError(f"{name} has classes {list(ds.classes)}; the config expects {list(config.classes)}")
    digest = config_hash(config)
    folder = Path(root) / digest if root is not None else run_dir("runs", config)
    done = folder / "result.json"
    if done.is_file():
        info = json.loads(done.read_text())
        return RunResult(folder, digest, info["history"], info["best_epoch"], info["val_metrics"],
                         info["test_metrics"], folder / "predictions.npz" if info["has_predictions"] else None,
                         loaded_from_cache=True, images_per_second=info.get("images_per_second", float("nan")))
    rank, world = _distributed()
    folder.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        atomic_write_bytes(folder / "config.json", json.dumps(dataclasses.asdict(config), indent=1).encode())
    device = choose_device(config.device, verbose=(rank == 0 and progress))
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    seed_everything(config.seed)
    model = build_model(config.backbone, len(config.classes), weights_path=config.weights_path, width=config.width,
                        dropout=config.dropout, norm=config.norm).to(device)
    if world > 1 and device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if config.channels_last and device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    data = _arrays(train_set)
    steps = math.ceil(len(data["image"]) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, _schedule(config, steps))
    cost = cost_tensor(config)
    counts = np.bincount(np.asarray(train_set.expression)[np.asarray(train_set.expression) >= 0],
                         minlength=len(config.classes)).astype(float)
    if EXPRESSION_LOSSES[config.expression_loss].needs_counts and (counts == 0).any():
        empty = [c for c, n in zip(config.classes, counts) if n == 0]
        raise ValueError(f"expression_loss={config.expression_loss!r} needs every class in the training set; "
                         f"{empty} have no labelled sample")
    history, best_epoch, best_score, start_epoch = [], -1, -math.inf, 0
    checkpoint = folder / "checkpoint.pt"
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        history, best_epoch, best_score = state["history"], state["best_epoch"], state["best_score"]
        start_epoch = state["epoch"] + 1
        if rank == 0 and progress:
            log(f"resuming run {digest} after epoch {state['epoch'] + 1} of {config.epochs}")
    net = model
    if world > 1:
        unused_head = config.lambda_va == 0 or config.lambda_au == 0  # its parameters get no gradient
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                                        else None, find_unused_parameters=unused_head)
    step_fn = torch.compile(net) if (config.compile and device.type == "cuda") else net
    val_data = _arrays(val_set)
    seen, train_seconds = 0, 0.0
    for epoch in range(start_epoch, config.epochs):
        net.train()
        g = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        order = torch.randperm(len(data["image"]), generator=g)
        flips = torch.rand(len(order), generator=g) < 0.5
        sums: dict[str, torch.Tensor] = {}
        bar = range(steps)
        if progress and rank == 0:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False)
        start = time.perf_counter()
        for step in bar:
            idx = order[step * config.batch_size:(step + 1) * config.batch_size]
            flip = flips[step * config.batch_size:(step + 1) * config.batch_size]
            if world > 1:
                idx, flip = idx[rank::world], flip[rank::world]
            batch = {k: data[k][idx].to(device, non_blocking=True) for k in ("expression", "va", "au")}
            batch["image"] = _images(data["image"], idx).to(device, non_blocking=True)
            if config.augment:
                flip = flip.to(device)
                batch["image"] = torch.where(flip[:, None, None, None], batch["image"].flip(-1), batch["image"])
            if config.channels_last and device.type == "cuda":
                batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)
            with _autocast(device, config.amp):
                out = step_fn(batch["image"])
            loss, terms = multitask_loss(out, batch, config, cost, counts)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            scheduler.step()
            for k, v in {"loss": loss, **terms}.items():
                sums[k] = sums.get(k, 0) + v.detach()
            seen += len(idx)
        train_seconds += time.perf_counter() - start
        scores, _ = evaluate(model, val_data, config, device)
        row = {"epoch": epoch + 1, **{f"train_{k}": float(v) / steps for k, v in sums.items()},
               **{f"val_{k}": v for k, v in scores.items()}, "lr": scheduler.get_last_lr()[0]}
        history.append(row)
        score = scores["p_mtl"]
        if score > best_score:
            best_score, best_epoch = score, epoch + 1
            if rank == 0:
                buffer = io.BytesIO()
                torch.save(model.state_dict(), buffer)
                atomic_write_bytes(folder / "best_model.pt", buffer.getvalue())
        if rank == 0:
            _write_log(folder / "log.csv", history)
            _save_checkpoint(checkpoint, {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                                          "scheduler": scheduler.state_dict(), "rng": _rng_state(),
                                          "epoch": epoch, "history": history, "best_epoch": best_epoch,
                                          "best_score": best_score})
            if progress:
                log(f"epoch {epoch + 1}/{config.epochs}: loss {row['train_loss']:.3f}, val P_MTL {score:.3f} "
                    f"(P_EXPR {scores['p_expr']:.3f})")
        if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch and epoch + 1 < config.epochs:
            raise KeyboardInterrupt(f"stopped after epoch {epoch + 1} as asked (stop_after_epoch)")
    rate = seen / train_seconds if train_seconds > 0 else float("nan")
    if world > 1:
        torch.distributed.barrier()  # rank 0 has written best_model.pt
    model.load_state_dict(torch.load(folder / "best_model.pt", map_location="cpu", weights_only=True))
    val_scores, _ = evaluate(model, val_data, config, device)
    test_scores, predictions_path = {}, None
    if test_set is not None:
        test_scores, pred = evaluate(model, _arrays(test_set), config, device, keep_features=True)
        if rank == 0:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **pred)
            predictions_path = atomic_write_bytes(folder / "predictions.npz", buffer.getvalue())
    result = RunResult(folder, digest, history, best_epoch, val_scores, test_scores, predictions_path,
                       images_per_second=rate)
    if rank == 0:
        info = {"history": history, "best_epoch": best_epoch, "val_metrics": val_scores,
                "test_metrics": test_scores, "has_predictions": predictions_path is not None,
                "images_per_second": rate}
        atomic_write_bytes(done, json.dumps(info, indent=1).encode())
        checkpoint.unlink(missing_ok=True)
    return result


def _write_log(path: Path, history: Sequence[dict]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_bytes(path, buffer.getvalue().encode())


def config_from_dict(values: dict[str, Any], classes: Sequence[str] | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from plain values (a JSON config file): ``data`` may be a dict, lists become tuples,
    ``classes`` defaults to the data's. An unknown key is an error naming the valid ones."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(f"unknown config key(s) {unknown}; expected among {sorted(fields)}")

    def frozen(v):
        if isinstance(v, dict):
            return tuple(sorted((k, frozen(x)) for k, x in v.items()))
        if isinstance(v, list):
            return tuple(frozen(x) for x in v)
        return v

    values = {k: frozen(v) for k, v in values.items()}
    if "classes" not in values:
        if classes is None:
            raise ValueError("the config names no classes and no data was loaded to take them from")
        values["classes"] = tuple(classes)
    return TrainConfig(**values)


def _parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected KEY=VALUE")
    key, raw = text.split("=", 1)
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def main(argv: Sequence[str] | None = None) -> int:
    """``affect-book train --config run.json [--set key=value ...]`` (also ``python -m affect_book.train``, which
    ``torchrun`` can launch on several GPUs). Loads the data named by the config, trains (or loads the cached run)
    and prints the validation and test metrics as JSON."""
    parser = argparse.ArgumentParser(prog="affect-book train", description=main.__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="JSON file of TrainConfig fields; data options under 'data'")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field (JSON value, e.g. --set lambda_ot=0.5 --set cost='\"va\"')")
    parser.add_argument("--root", type=Path, default=None, help="run directory root (default: the cache)")
    args = parser.parse_args(argv)
    values = json.loads(args.config.read_text()) if args.config else {}
    values.update(dict(_parse_override(t) for t in args.set))
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        from .data.sources import load_splits

        data_options = dict(values.get("data") or {})
        profile = values.get("profile", "cpu")
        with contextlib.redirect_stdout(sys.stderr):  # progress and notes to stderr: stdout is the JSON result
            splits = load_splits(values.get("dataset", "synthetic"), profile=profile, **data_options)
            config = config_from_dict(values, splits["train"].classes)
            validate_config(config)
            result = train(config, splits["train"], splits["val"], splits["test"], root=args.root)
        if _distributed()[0] == 0:
            print(json.dumps({"run_dir": str(result.run_dir), "config_hash": result.config_hash,
                              "best_epoch": result.best_epoch, "val": result.val_metrics,
                              "test": result.test_metrics, "loaded_from_cache": result.loaded_from_cache},
                             indent=1, default=float))
    except (ValueError, FileNotFoundError) as err:
        print(f"affect-book train: {err}", file=sys.stderr)
        return 2
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
