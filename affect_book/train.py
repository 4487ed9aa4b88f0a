"""The trainer: one config object, load-or-train caching, exact resume, per-epoch validation, test predictions.

Introduced in chapter 06. ``train(config, train_set, val_set, test_set)`` returns a :class:`RunResult`; a finished
run with the same config and the same data (the run key hashes both, :func:`affect_book.runs.run_key`) is loaded,
not retrained, and an interrupted one resumes from its last checkpoint. A lock on the run's folder makes a second
process wait for the first and then load its run; a corrupt run file is named, moved aside and rebuilt (see
:mod:`affect_book.runs`). A diverged run stops with :class:`TrainingDiverged`, never a "finished" run: a non-finite
loss or weights, or an epoch whose mean training loss exceeds 1000 times the run's initial loss (the first step's,
floored at 1; :data:`affect_book.fit.MAX_LOSS_RATIO`).

The loss is::

    loss = expression term (cross-entropy or a rare-class control)
         + lambda_ot * OT term (expected cost under the chosen cost matrix)
         + lambda_va * (1 - CCC)            (mean over valence and arousal)
         + lambda_au * masked AU cross-entropy
         + lambda_supcon * supervised contrastive loss + lambda_pair * pair margin   (on the features; chapter 09)

each term masked where its labels are missing. Optimiser: AdamW, linear warm-up then cosine decay (per step),
gradient clipping. On a GPU: bf16 autocast, channels-last, optional ``torch.compile``. On a CPU the run is
deterministic for a given seed: shuffling and augmentation (random flip and shift,
:mod:`affect_book.data.batches`) draw from generators seeded by (seed, epoch), and every RNG state is checkpointed,
so a resumed run ends with the same weights as an uninterrupted one.

Several GPUs: ``torchrun --nproc_per_node=N -m affect_book.train --config run.json`` (DistributedDataParallel,
NCCL on GPU, gloo on CPU); every rank draws the same global permutation and takes its own slice of each batch.
Each rank normalizes its masked loss terms over its own slice, as per-GPU batches do, and the CCC term is computed
per rank; BatchNorm becomes SyncBatchNorm on GPUs (it cannot on CPUs, where ``norm="group"`` makes the small CNN
independent of the batch split).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import metrics
from .cache import cache_root, config_hash, file_lock
from .configs import config_from_dict
from .costs import COST_KINDS
from .losses import EXPRESSION_LOSSES
from .losses import expression_param as check_expression_param
from .models import BACKBONES
from ._feature_terms import add_feature_terms, check_feature_terms
from ._train_steps import _autocast, _distributed, _images
from .runs import RunResult, TrainingDiverged, load_finished, run_key

__all__ = ["RunResult", "TrainConfig", "TrainingDiverged", "config_from_dict", "evaluate", "train",
           "validate_config"]

#: Bumped when the trainer or the models change what a config produces, so cached runs of older code are not
#: loaded as if they were current (it is a field of every config, hence part of its hash). 3: random shifts
#: (``crop``) join the flips; runs keyed on the data's fingerprint too. (``sampler`` and ``ldam_drw`` need no bump:
#: earlier configs train exactly as before.)
TRAINER_VERSION = 3

#: Samplers of ``TrainConfig.sampler``: a shuffle of the training set, or class-balanced sampling with replacement.
SAMPLERS = ("none", "class_balanced")

#: Cost kinds of ``TrainConfig.cost``: none, the kinds :func:`affect_book.costs.ot_cost` builds, or a matrix.
COSTS = ("none", *COST_KINDS, "matrix")


@dataclass(frozen=True)
class TrainConfig:
    """Every choice of a training run. Its hash (``config_hash(config)``) names the run's cache directory.

    Types are checked (:func:`validate_config`): a bool is not a number, numbers are finite.

    Parameters
    ----------
    classes : tuple of str
        Expression class names in label-index order (the model's outputs); at least two.
    dataset : str
        The data source (:data:`affect_book.data.sources.SOURCES`) the train CLI loads.
    data : tuple
        Source-specific options as sorted (key, value) pairs, e.g. ``(("preset", "affwild2"),)``.
    backbone : str
        One of :data:`affect_book.models.BACKBONES`.
    width : int
        First-block channels of ``small_cnn`` (positive).
    norm : {"batch", "group"}
        Normalization of ``small_cnn``; ``group`` makes it independent of the batch split.
    weights_path : str, optional
        A local torchvision state dict for the backbone (nothing is downloaded).
    dropout : float
        Dropout on the features before the heads (>= 0).
    expression_loss : str
        The expression term, a key of :data:`affect_book.losses.EXPRESSION_LOSSES`.
    expression_param : float, optional
        Its hyper-parameter, inside the table's range; None: the table's default (none for a loss without one).
        ``ldam_drw``: the deferral point as a fraction of ``epochs`` (default 0.8: Cao et al.'s epoch 160 of 200,
        :func:`affect_book.losses.drw_defer_epoch`); the weights depend on the epoch number only (resumable).
    lambda_ot : float
        Weight of the OT term (>= 0); above 0 it needs a ``cost``.
    cost : str
        One of :data:`COSTS`: ``none``; a kind of :func:`affect_book.costs.ot_cost`, whose controls ``uniform``,
        ``uniform_column`` and ``permuted`` (permutation chosen by ``seed``) derive from the ``va`` cost; or
        ``matrix``.
    cost_matrix : tuple, optional
        For ``cost="matrix"``: the (classes, classes) matrix as nested tuples, rows predicted, columns true.
    coordinates : str
        The coordinate set of the cost (:func:`affect_book.circumplex.coordinates`).
    cost_fill : tuple
        Hand placements of classes the coordinate set lacks, as ``((name, (valence, arousal)), ...)``.
    lambda_va, lambda_au : float
        Weights of the valence-arousal (1 - CCC) and AU terms (>= 0; 0 leaves the term out).
    lambda_supcon, lambda_pair : float
        Weights (>= 0; 0 leaves the term out) of the terms on the penultimate features: supervised contrastive
        (:func:`affect_book.losses.supcon_loss`) and pair margin (:func:`affect_book.losses.pair_margin_loss`).
    supcon_temperature, pair_margin : float
        The contrastive term's temperature, in (0, 10], and the pair term's margin, in (0, 2].
    margin_pair : tuple of str
        The two different names of ``classes`` the pair term pushes apart (needed when ``lambda_pair`` > 0).
    epochs : int
        Training epochs (positive).
    batch_size : int
        Images per optimiser step, over all ranks together (positive).
    lr : float
        Peak learning rate of AdamW (> 0).
    weight_decay : float
        AdamW's weight decay (>= 0).
    warmup_epochs : float
        Length of the linear warm-up before the cosine decay, in epochs (>= 0).
    grad_clip : float
        Largest gradient norm (>= 0; 0: no clipping).
    sampler : str
        One of :data:`SAMPLERS`. ``none``: each epoch visits every training image once, shuffled.
        ``class_balanced``: each epoch draws as many images (same steps) **with replacement**, each with probability
        proportional to ``1 / n_y`` (unlabelled: the mean weight), from the epoch's seeded generator
        (:func:`affect_book.fit.epoch_order`; deterministic, resumable).
    seed : int
        Seeds the model's initialisation, the shuffling and augmentation, and the ``permuted`` cost.
    profile : str
        A run profile (:data:`affect_book.profiles.PROFILES`); the train CLI loads the data with it.
    device : str
        ``auto``, ``cuda``, ``mps`` or ``cpu`` (:func:`affect_book.device.choose_device`).
    amp : bool
        bf16 autocast on a CUDA GPU (ignored elsewhere).
    channels_last : bool
        Channels-last memory format on a CUDA GPU (ignored elsewhere).
    compile : bool
        ``torch.compile`` the model on a CUDA GPU (ignored elsewhere).
    augment : bool
        Random horizontal flips of the training images, and random shifts when ``crop`` > 0.
    crop : float
        Largest shift, as a fraction of the image side, in [0, 0.5); the gap is zero-filled
        (:func:`affect_book.data.batches.shift_images`).
    au_threshold : float
        Probability in (0, 1) from which a predicted AU counts as present when scoring.
    version : int
        The trainer's code version (:data:`TRAINER_VERSION`), part of the hash so that runs of older code are not
        loaded.
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
    lambda_supcon: float = 0.0
    supcon_temperature: float = 0.1
    lambda_pair: float = 0.0
    pair_margin: float = 1.0
    margin_pair: tuple = ()
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    grad_clip: float = 5.0
    sampler: str = "none"
    seed: int = 0
    profile: str = "cpu"
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    augment: bool = True
    crop: float = 0.125
    au_threshold: float = 0.5
    version: int = TRAINER_VERSION


def validate_config(config: TrainConfig, classes_known: bool = True) -> None:
    """Fail before training with a clear message for a value the trainer cannot use.

    Parameters
    ----------
    config : TrainConfig
        The configuration to check: every field's type (a bool is not a number, numbers are finite, see
        :func:`affect_book.configs.coerce_values`), choices (with the closest valid name), ranges, and the cost.
    classes_known : bool
        False skips the checks that need the real class list (its length, ``cost_matrix``'s shape, building the
        cost), so a config can be checked before its data is loaded.

    Raises
    ------
    ValueError
        (:class:`~affect_book.params.ParameterError`) naming the field, its value and what was expected.
    """
    from .configs import coerce_values
    from .device import DEVICES
    from .params import ParameterError, check_choice
    from .profiles import PROFILES

    def bad(name, value, expected):
        raise ParameterError(f"TrainConfig.{name}={value!r} is not valid; expected {expected}")

    coerce_values(TrainConfig, {f.name: getattr(config, f.name) for f in dataclasses.fields(TrainConfig)})
    check_choice("TrainConfig.backbone", config.backbone, BACKBONES)
    check_choice("TrainConfig.expression_loss", config.expression_loss, EXPRESSION_LOSSES)
    check_choice("TrainConfig.cost", config.cost, COSTS)
    check_choice("TrainConfig.norm", config.norm, ("batch", "group"))
    check_choice("TrainConfig.sampler", config.sampler, SAMPLERS)
    check_choice("TrainConfig.device", config.device, DEVICES)
    check_choice("TrainConfig.profile", config.profile, PROFILES)
    for name in ("lambda_ot", "lambda_va", "lambda_au", "lambda_supcon", "lambda_pair", "weight_decay", "dropout",
                 "warmup_epochs", "grad_clip"):
        if getattr(config, name) < 0:
            bad(name, getattr(config, name), "a finite number >= 0")
    try:  # the loss table's range for its parameter (None for a loss without one)
        check_expression_param(config.expression_loss, config.expression_param)
    except ValueError as err:
        raise ParameterError(f"TrainConfig.{err}") from None
    if config.lambda_ot > 0 and config.cost == "none":
        bad("cost", config.cost, "a cost when lambda_ot > 0")
    for name in ("epochs", "batch_size", "width"):
        if getattr(config, name) < 1:
            bad(name, getattr(config, name), "a positive integer")
    if not config.lr > 0:
        bad("lr", config.lr, "a finite number > 0")
    if not 0 <= config.crop < 0.5:
        bad("crop", config.crop, "a fraction of the image side in [0, 0.5)")
    if not 0 < config.au_threshold < 1:
        bad("au_threshold", config.au_threshold, "a probability in (0, 1)")
    if not all(isinstance(c, str) for c in config.classes):
        bad("classes", config.classes, "class names (strings)")
    check_feature_terms(config, bad, classes_known)
    if not classes_known:
        return
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


def expression_term(logits: torch.Tensor, y: torch.Tensor, config: TrainConfig, counts: np.ndarray | None,
                    epoch: int | None = None) -> torch.Tensor:
    """The masked expression term (``config.expression_loss``, see :data:`affect_book.losses.EXPRESSION_LOSSES`).

    Parameters
    ----------
    logits, y : torch.Tensor
        (batch, classes) scores and (batch,) class indices, -1 = no label.
    config : TrainConfig
        Its ``expression_loss``, ``expression_param`` and ``epochs``.
    counts : np.ndarray or None
        Training class counts (for the losses that need them).
    epoch : int, optional
        The 0-based epoch, for a loss with a schedule over the run (``ldam_drw``: deferral at ``expression_param``
        times ``config.epochs``).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    from . import losses as L

    return L.expression_loss(config.expression_loss, logits, y, config.expression_param, counts, epoch=epoch,
                             epochs=config.epochs)


def multitask_loss(out: dict, batch: dict, config: TrainConfig, cost: torch.Tensor | None,
                   counts: np.ndarray | None = None, epoch: int | None = None) -> tuple[torch.Tensor, dict]:
    """The masked multi-task loss of one batch and its terms (tensors; no host synchronisation).

    Each term is normalized over the labelled entries of the batch; a batch without a label for a task contributes
    0 for that task.

    Parameters
    ----------
    out : dict
        The model's outputs: ``logits`` (B, classes), ``va`` (B, 2), ``au_logits`` (B, 12), ``features`` (B, dim).
    batch : dict
        The labels: ``expression`` (B,), ``va`` (B, 2), ``au`` (B, 12), missing ones marked as in
        :class:`~affect_book.data.base.ArrayDataset`.
    config : TrainConfig
        The loss weights and the expression term.
    cost : torch.Tensor or None
        The OT term's (classes, classes) cost (:func:`cost_tensor`), None for no OT term.
    counts : np.ndarray, optional
        Training class counts (the rare-class controls need them).
    epoch : int, optional
        The 0-based epoch of the batch (an expression loss with a schedule over the run needs it, see
        :func:`expression_term`).

    Returns
    -------
    tuple
        (total loss, dict of the unweighted terms: ``expression``, and ``ot``, ``va``, ``au``, ``supcon``, ``pair``
        when used).
    """
    from . import losses as L

    y = batch["expression"]
    logits = out["logits"]
    terms = {"expression": expression_term(logits, y, config, counts, epoch)}
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
    return add_feature_terms(total, terms, out, y, config), terms


@torch.no_grad()
def evaluate(model, data: dict[str, torch.Tensor], config: TrainConfig, device: torch.device,
             batch_size: int = 512, keep_features: bool = False) -> tuple[dict, dict[str, np.ndarray]]:
    """Metrics (P_VA, P_EXPR, P_AU, P_MTL, accuracy) and raw predictions of ``model`` on a tensor dataset.

    Parameters
    ----------
    model : torch.nn.Module
        The multi-task model (outputs ``logits``, ``va``, ``au_logits``, ``features``).
    data : dict
        As built by ``_arrays(dataset)``: ``image`` (N, H, W, 3) uint8 and label tensors.
    config : TrainConfig
        Supplies the classes, ``amp``, ``channels_last`` and ``au_threshold``.
    device : torch.device
        Where the model runs.
    batch_size : int
        Images per forward pass.
    keep_features : bool
        Also return the penultimate features.

    Returns
    -------
    tuple
        (scores dict, predictions dict of arrays: logits, va, au_prob, [features], and the labels).
    """
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


def train(config: TrainConfig, train_set, val_set, test_set=None, root: Path | None = None,
          stop_after_epoch: int | None = None, progress: bool = True, log=print) -> RunResult:
    """Load-or-train one run.

    The run's folder is ``<root>/<run key>`` (:func:`affect_book.runs.run_key`: the config hash and the data's
    fingerprints). A finished run there is loaded (after checking its files); otherwise training starts, or resumes
    from the last checkpoint. The folder's lock (``.lock``) is held meanwhile, so a second process asking for the
    same run waits, then loads it. A finished run is loaded without the lock and without writing anything, so a
    read-only cache (a course's pre-computed runs) loads; training or repairing a run needs write access, and a
    folder that lacks it raises a one-line PermissionError naming it.

    Parameters
    ----------
    config : TrainConfig
        The run (checked by :func:`validate_config` first).
    train_set, val_set : ArrayDataset
        Training and validation data, with ``config.classes``.
    test_set : ArrayDataset, optional
        Test data: predictions are saved for it.
    root : Path, optional
        Folder of runs (default: ``cache_root() / "runs"``).
    stop_after_epoch : int, optional
        Raise ``KeyboardInterrupt`` after that epoch (to demonstrate and test resuming; calling ``train`` again with
        the same arguments resumes the run).
    progress : bool
        Show progress: a bar per epoch where bars suit the output (:func:`affect_book.progress.progress_bar`), and
        one line of figures per epoch.
    log : callable
        Receives the per-epoch lines and the reports of corrupt run files (those are reported even when
        ``progress`` is False).

    Returns
    -------
    RunResult
        The finished run.

    Raises
    ------
    NonFiniteMetrics
        The finished run records a NaN or infinite score (named with the run's folder).
    TrainingDiverged
        A non-finite loss or non-finite weights (names the epoch, the step and the term), or an epoch's mean
        training loss above :data:`affect_book.fit.MAX_LOSS_RATIO` (1000) times the run's initial loss, the first
        step's, floored at 1 (names the epoch and both losses); the checkpoint of the last good epoch stays, no
        ``result.json`` is written. A finished record of older code that breaks this rule is moved aside and the
        run trained again.
    """
    validate_config(config)
    for name, ds in (("train_set", train_set), ("val_set", val_set), ("test_set", test_set)):
        if ds is not None and tuple(ds.classes) != tuple(config.classes):
            raise ValueError(f"{name} has classes {list(ds.classes)}; the config expects {list(config.classes)}")
        if ds is not None and len(ds) == 0:
            raise ValueError(f"{name} is empty; a run needs images to train on and to score")
    cost = cost_tensor(config)
    counts = np.bincount(np.asarray(train_set.expression)[np.asarray(train_set.expression) >= 0],
                         minlength=len(config.classes)).astype(float)
    loss_counts = EXPRESSION_LOSSES[config.expression_loss].needs_counts
    if (loss_counts or config.sampler != "none") and (counts == 0).any():
        empty = [c for c, n in zip(config.classes, counts) if n == 0]
        what = f"expression_loss={config.expression_loss!r}" if loss_counts else f"sampler={config.sampler!r}"
        raise ValueError(f"{what} needs every class in the training set; {empty} have no labelled sample")
    key = run_key(config, train_set, val_set, test_set)
    folder = (Path(root) if root is not None else cache_root() / "runs") / key
    rank, world = _distributed()

    def loaded(info: dict) -> RunResult:
        return RunResult(folder, config_hash(config), info["history"], info["best_epoch"], info["val_metrics"],
                         info["test_metrics"], folder / "predictions.npz" if info["has_predictions"] else None,
                         loaded_from_cache=True, images_per_second=info.get("images_per_second", float("nan")),
                         run_key=key)

    if world == 1:  # a finished run is immutable: load it without the lock, writing nothing (read-only caches)
        from .fit import recorded_divergence

        info = load_finished(folder, log, repair=False)
        if info is not None and not recorded_divergence(info):  # a diverged record is moved aside under the lock
            return loaded(info)
    lock = file_lock(folder / ".lock", what=f"training run {key}") if rank == 0 else contextlib.nullcontext()
    with lock:
        if world > 1 and rank != 0:
            torch.distributed.barrier()  # rank 0 checks the run's files first (and moves corrupt ones aside)
        info = load_finished(folder, log)
        if info is not None and rank == 0:  # recorded by older code, which stopped on non-finite values only
            from .fit import recorded_divergence
            from .runs import move_aside

            if reason := recorded_divergence(info):
                move_aside(folder / "result.json", reason, log)
                info = None
        if world > 1 and rank == 0:
            torch.distributed.barrier()
        if info is not None:
            return loaded(info)
        from .fit import fit

        return fit(config, key, folder, train_set, val_set, test_set, stop_after_epoch, progress, log, cost, counts)


def main(argv: Sequence[str] | None = None) -> int:
    """``affect-book train`` / ``python -m affect_book.train`` (see :func:`affect_book.train_cli.main`).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    from .train_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
