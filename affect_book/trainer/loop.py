"""The training loop behind :func:`affect_book.trainer.train`: build, resume, train with seeded shuffling and
augmentation, validate, checkpoint, stop on divergence, record.

Every epoch draws its order (a permutation, or a class-balanced draw with replacement, :func:`epoch_order`), flips
and shifts from a generator seeded by (seed, epoch) and the checkpoint
holds every RNG state, so on a CPU a resumed run ends with exactly the weights of an uninterrupted one. Under DDP
each rank takes its slice of each global batch (and of its augmentation draws). Loss terms stay on the device
during an epoch; they are checked once per epoch: for finiteness (:func:`check_finite`) and for a loss grown far beyond
its start (:func:`check_loss_growth`: an epoch's mean training loss above :data:`MAX_LOSS_RATIO` times the run's
initial loss). Either stops the run with :class:`~affect_book.trainer.TrainingDiverged` before anything of that epoch
is saved, so a diverged run is never recorded as finished nor loaded from the cache.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from ..interrupts import raise_pending
from ..cache import atomic_write_bytes, config_hash
from ..data.batches import flip_images, shift_images
from ..device import choose_device, seed_everything
from ..losses import sampling_weights
from ..progress import progress_bar
from .config import TrainConfig
from .evaluation import evaluate
from .objective import multitask_loss
from .runs import (RunResult, TrainingDiverged, load_checkpoint, move_aside, rng_state, save_torch, set_rng_state,
                   write_log)
from .steps import autocast, batch_images, channels_last_on, dataset_arrays, lr_schedule, make_model, rank_and_world

__all__ = ["MAX_LOSS_RATIO", "check_finite", "check_loss_growth", "epoch_order", "fit", "recorded_divergence"]

#: The divergence rule beyond non-finite values: a run stops when an epoch's mean training loss exceeds this many
#: times its initial loss (the total loss of the run's first step, computed by the untrained model before any
#: update, floored at 1 so that a first batch with few labels cannot make every later loss look explosive). A
#: trained model's loss stays below its initial one; a thousandfold growth means the optimiser blew up (typically a
#: learning rate far too high) although the values are still finite.
MAX_LOSS_RATIO = 1000.0


def _build(config: TrainConfig, device: torch.device, world: int, steps: int):
    """A freshly seeded model, its optimiser and its schedule."""
    seed_everything(config.seed)
    model = make_model(config).to(device)
    if world > 1 and device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if channels_last_on(config, device):
        model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_schedule(config, steps))
    return model, optimiser, scheduler


def epoch_order(config: TrainConfig, labels, epoch: int) -> tuple[torch.Tensor, torch.Generator]:
    """The order in which epoch ``epoch`` visits the training images, and the epoch's generator after drawing it.

    The generator is seeded by (``config.seed``, ``epoch``) alone, so the order is the same in a resumed run. With
    ``config.sampler == "none"`` it is a permutation of the images; with ``"class_balanced"`` it is ``len(labels)``
    draws **with replacement** (the same number of steps per epoch), image ``i`` with probability proportional to
    ``1 / n_{y_i}`` (:func:`affect_book.losses.sampling_weights`; unlabelled images at the mean labelled weight).

    Parameters
    ----------
    config : TrainConfig
        Its ``seed`` and ``sampler``.
    labels : array-like, (N,)
        The training set's expression labels, -1 = no label.
    epoch : int
        0-based epoch index.

    Returns
    -------
    tuple
        (order: (N,) int64 tensor of image indices, the generator, which then draws the epoch's augmentation).
    """
    labels = np.asarray(labels)
    g = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    if config.sampler == "none":
        return torch.randperm(len(labels), generator=g), g
    if config.sampler != "class_balanced":
        raise ValueError(f"TrainConfig.sampler={config.sampler!r}; expected 'none' or 'class_balanced'")
    weights = torch.from_numpy(sampling_weights(labels.astype(np.int64), missing="mean"))
    return torch.multinomial(weights, len(labels), replacement=True, generator=g), g


def check_finite(config: TrainConfig, key: str, epoch: int, names: list[str], step_terms: list[torch.Tensor],
                  model, world: int) -> None:
    """Raise :class:`~affect_book.trainer.TrainingDiverged` when a step of this epoch had a non-finite loss term or
    the weights are no longer finite (one host synchronisation per epoch; under DDP every rank raises together).

    Parameters
    ----------
    config : TrainConfig
        The run (its ``lr`` and ``grad_clip`` are quoted in the message).
    key : str
        The run key.
    epoch : int
        0-based index of the epoch just trained (= the number of epochs already checkpointed).
    names : list of str
        Names of the columns of ``step_terms`` (``loss``, then the terms).
    step_terms : list of torch.Tensor
        One (len(names),) tensor per step of the epoch.
    model : torch.nn.Module
        The model, whose parameters must be finite.
    world : int
        Number of DDP ranks.

    Raises
    ------
    TrainingDiverged
        Naming the epoch, the first bad step and the non-finite terms.
    """
    values = torch.stack(step_terms).cpu()
    bad_steps = (~torch.isfinite(values)).any(1).nonzero().flatten()
    weights_ok = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    flag = torch.tensor([len(bad_steps) > 0 or not weights_ok], dtype=torch.int64)
    if world > 1:
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    if not flag.item():
        return
    kept = f"the checkpoint of epoch {epoch} is kept" if epoch > 0 else "no epoch finished, so no checkpoint"
    if len(bad_steps):
        step = int(bad_steps[0])
        row = values[step]
        terms = ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, row.tolist()) if not math.isfinite(v))
        where = (f"non-finite loss in epoch {epoch + 1}, step {step + 1} of {len(step_terms)} ({terms}; "
                 f"every term: {', '.join(f'{n} = {v:.4g}' for n, v in zip(names, row.tolist()))})")
    else:
        where = (f"the weights became non-finite in epoch {epoch + 1} although every loss of this rank was finite "
                 f"(a gradient overflowed)")
    raise TrainingDiverged(f"training diverged: {where}. Run {key} was not recorded as finished; {kept}. "
                           f"Lower the learning rate (lr={config.lr:g}) or clip gradients (grad_clip="
                           f"{config.grad_clip:g}).")


def check_loss_growth(config: TrainConfig, key: str, epoch: int, mean_loss: float, initial_loss: float,
                      world: int) -> None:
    """Raise :class:`~affect_book.trainer.TrainingDiverged` when the epoch's mean training loss exceeds
    :data:`MAX_LOSS_RATIO` times the run's initial loss (floored at 1), under DDP when it does on any rank.

    Parameters
    ----------
    config : TrainConfig
        The run (its ``lr`` and ``grad_clip`` are quoted in the message).
    key : str
        The run key.
    epoch : int
        0-based index of the epoch just trained (= the number of epochs already checkpointed).
    mean_loss : float
        The epoch's mean total training loss (this rank's).
    initial_loss : float
        The total loss of the run's first step (before any update; this rank's).
    world : int
        Number of DDP ranks.

    Raises
    ------
    TrainingDiverged
        Naming the epoch, its mean loss, the initial loss and the rule.
    """
    limit = MAX_LOSS_RATIO * max(abs(initial_loss), 1.0)
    flag = torch.tensor([not abs(mean_loss) <= limit], dtype=torch.int64)
    if world > 1:
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    if not flag.item():
        return
    kept = f"the checkpoint of epoch {epoch} is kept" if epoch > 0 else "no epoch finished, so no checkpoint"
    where = "" if abs(mean_loss) > limit else " on another rank"
    raise TrainingDiverged(f"training diverged{where}: the mean training loss of epoch {epoch + 1} is {mean_loss:.4g}, "
                           f"more than {MAX_LOSS_RATIO:g} times the initial loss {initial_loss:.4g} (the rule: an "
                           f"epoch's mean loss above {MAX_LOSS_RATIO:g} x max(initial loss, 1) = {limit:.4g}). Run "
                           f"{key} was not recorded as finished; {kept}. Lower the learning rate (lr={config.lr:g}) "
                           f"or clip gradients (grad_clip={config.grad_clip:g}).")


def recorded_divergence(info: dict) -> str | None:
    """Why a finished record (``result.json``) breaks the rule of :func:`check_loss_growth`, else None.

    Records of the current trainer passed the rule while training (they hold ``initial_loss``); this catches those of
    older code, which only stopped on non-finite values. Without ``initial_loss`` the first epoch's mean is the
    reference, so the later epochs can be judged (a one-epoch record of older code cannot be).

    Parameters
    ----------
    info : dict
        The parsed ``result.json``: ``history`` rows with ``epoch`` and ``train_loss``, maybe ``initial_loss``.

    Returns
    -------
    str or None
        The epoch, its mean loss and the limit, or None when the record is within the rule.
    """
    history = [row for row in info.get("history") or () if isinstance(row, dict) and "train_loss" in row]
    reference = info.get("initial_loss")
    if not isinstance(reference, (int, float)):
        if len(history) < 2:
            return None
        reference, history = history[0]["train_loss"], history[1:]
    limit = MAX_LOSS_RATIO * max(abs(reference), 1.0)
    for row in history:
        loss = row["train_loss"]
        if isinstance(loss, (int, float)) and not abs(loss) <= limit:
            return (f"records a diverged run (epoch {row.get('epoch', '?')}'s mean training loss {loss:.4g} is above "
                    f"{MAX_LOSS_RATIO:g} x max(initial loss {reference:.4g}, 1))")
    return None


def fit(config: TrainConfig, key: str, folder: Path, train_set, val_set, test_set, stop_after_epoch: int | None,
        progress: bool, log, cost: torch.Tensor | None, counts: np.ndarray) -> RunResult:
    """Train (or resume) the run in ``folder`` and record it; the caller (:func:`affect_book.trainer.train`) has
    checked the config and holds the folder's lock.

    Parameters
    ----------
    config : TrainConfig
        The run.
    key : str
        Its run key (the folder's name).
    folder : Path
        The run's folder.
    train_set, val_set, test_set : ArrayDataset
        The data (``test_set`` may be None).
    stop_after_epoch : int or None
        Raise ``KeyboardInterrupt`` after that epoch.
    progress : bool
        Bars where they suit the output, and one line per epoch.
    log : callable
        Receives the lines and reports.
    cost : torch.Tensor or None
        The OT term's cost (:func:`~affect_book.trainer.cost_tensor`).
    counts : np.ndarray
        Training class counts (for the rare-class controls).

    Returns
    -------
    RunResult
        The finished run, recorded in ``folder/result.json``.
    """
    rank, world = rank_and_world()
    folder.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        atomic_write_bytes(folder / "config.json", json.dumps(dataclasses.asdict(config), indent=1).encode())
    device = choose_device(config.device, verbose=(rank == 0 and progress))
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    data = dataset_arrays(train_set)
    steps = math.ceil(len(data["image"]) / config.batch_size)
    model, optimiser, scheduler = _build(config, device, world, steps)
    history, best_epoch, best_score, start_epoch = [], -1, -math.inf, 0
    initial_loss = None  # the first step's total loss, the reference of check_loss_growth
    checkpoint = folder / "checkpoint.pt"
    state = load_checkpoint(checkpoint, log)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"])
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as err:
            move_aside(checkpoint, f"does not fit this run ({type(err).__name__}: {str(err)[:120]})", log)
            state = None
            model, optimiser, scheduler = _build(config, device, world, steps)
    if state is not None:
        history, best_epoch, best_score = state["history"], state["best_epoch"], state["best_score"]
        start_epoch = state["epoch"] + 1
        # a checkpoint of older code has no initial loss: its first epoch's mean loss is the nearest reference
        initial_loss = state.get("initial_loss", history[0]["train_loss"] if history else None)
        if rank == 0 and progress:
            log(f"resuming run {key} after epoch {state['epoch'] + 1} of {config.epochs}")
    net = model
    if world > 1:
        unused_head = config.lambda_va == 0 or config.lambda_au == 0  # its parameters get no gradient
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                                        else None, find_unused_parameters=unused_head)
    step_fn = torch.compile(net) if (config.compile and device.type == "cuda") else net
    val_data = dataset_arrays(val_set)
    n, side = len(data["image"]), min(np.shape(data["image"])[1:3])
    pad = int(round(config.crop * side)) if config.augment else 0
    seen, train_seconds = 0, 0.0
    labels = data["expression"].numpy()
    for epoch in range(start_epoch, config.epochs):
        net.train()
        order, g = epoch_order(config, labels, epoch)
        flips = torch.rand(n, generator=g) < 0.5
        shifts = torch.randint(-pad, pad + 1, (n, 2), generator=g) if pad else None
        step_terms, names = [], []
        start = time.perf_counter()
        for step in progress_bar(range(steps), desc=f"epoch {epoch + 1}/{config.epochs}",
                                 enabled=progress and rank == 0):
            raise_pending()  # a Ctrl-C whose KeyboardInterrupt landed in a __del__ (affect_book.interrupts)
            rows = slice(step * config.batch_size, (step + 1) * config.batch_size)
            idx, flip = order[rows], flips[rows]
            shift = shifts[rows] if pad else None
            if world > 1:
                idx, flip = idx[rank::world], flip[rank::world]
                shift = shift[rank::world] if pad else None
            batch = {k: data[k][idx].to(device, non_blocking=True) for k in ("expression", "va", "au")}
            images = batch_images(data["image"], idx)
            if config.augment:
                images = flip_images(images, flip)
                images = shift_images(images, shift) if pad else images
            batch["image"] = images.to(device, non_blocking=True)
            if channels_last_on(config, device):
                batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)
            with autocast(device, config.amp):
                out = step_fn(batch["image"])
            loss, terms = multitask_loss(out, batch, config, cost, counts, epoch=epoch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            scheduler.step()
            names = ["loss", *terms]
            step_terms.append(torch.stack([loss.detach().float(), *(v.detach().float() for v in terms.values())]))
            if initial_loss is None:  # one host synchronisation, at the run's first step
                initial_loss = float(step_terms[0][0])
            seen += len(idx)
        seconds = time.perf_counter() - start
        train_seconds += seconds
        check_finite(config, key, epoch, names, step_terms, model, world)
        means = torch.stack(step_terms).mean(0).tolist()
        check_loss_growth(config, key, epoch, means[0], initial_loss, world)
        scores, _ = evaluate(model, val_data, config, device)
        row = {"epoch": epoch + 1, **{f"train_{k}": v for k, v in zip(names, means)},
               **{f"val_{k}": v for k, v in scores.items()}, "lr": scheduler.get_last_lr()[0]}
        history.append(row)
        score = scores["p_mtl"]
        if score > best_score:
            best_score, best_epoch = score, epoch + 1
            if rank == 0:
                save_torch(folder / "best_model.pt", model.state_dict())
        if rank == 0:
            write_log(folder / "log.csv", history)
            save_torch(checkpoint, {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                                    "scheduler": scheduler.state_dict(), "rng": rng_state(), "epoch": epoch,
                                    "initial_loss": initial_loss, "history": history, "best_epoch": best_epoch,
                                    "best_score": best_score})
            if progress:
                log(f"epoch {epoch + 1}/{config.epochs}: loss {row['train_loss']:.3f}, val P_MTL {score:.3f} "
                    f"(P_EXPR {scores['p_expr']:.3f}), {seconds:.1f} s")
        if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch and epoch + 1 < config.epochs:
            raise KeyboardInterrupt(f"stopped after epoch {epoch + 1} as asked (stop_after_epoch)")
    rate = seen / train_seconds if train_seconds > 0 else float("nan")
    if world > 1:
        torch.distributed.barrier()  # rank 0 has written best_model.pt
    model.load_state_dict(torch.load(folder / "best_model.pt", map_location="cpu", weights_only=True))
    val_scores, _ = evaluate(model, val_data, config, device)
    test_scores, predictions_path = {}, None
    if test_set is not None:
        test_scores, pred = evaluate(model, dataset_arrays(test_set), config, device, keep_features=True)
        if rank == 0:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **pred)
            predictions_path = atomic_write_bytes(folder / "predictions.npz", buffer.getvalue())
    result = RunResult(folder, config_hash(config), history, best_epoch, val_scores, test_scores, predictions_path,
                       images_per_second=rate, run_key=key)
    if rank == 0:
        info = {"history": history, "best_epoch": best_epoch, "val_metrics": val_scores,
                "test_metrics": test_scores, "has_predictions": predictions_path is not None,
                "images_per_second": rate, "initial_loss": initial_loss}
        atomic_write_bytes(folder / "result.json", json.dumps(info, indent=1).encode())
        checkpoint.unlink(missing_ok=True)
    return result
