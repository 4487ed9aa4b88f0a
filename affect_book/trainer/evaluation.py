"""A model's outputs and scores on a dataset: :func:`evaluate` (the trainer's validation and test pass),
:func:`predict` (the outputs of any model on an :class:`~affect_book.data.base.ArrayDataset`) and
:func:`trained_model` (a finished run's best model, rebuilt from its config). Imports
:mod:`affect_book.trainer.config`, :mod:`~affect_book.trainer.steps` and :mod:`~affect_book.trainer.runs`.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import metrics
from .config import TrainConfig
from .runs import RunResult
from .steps import autocast, batch_images, channels_last_on, dataset_arrays, make_model

__all__ = ["evaluate", "predict", "trained_model"]


def _outputs(model, data: dict[str, torch.Tensor], config: TrainConfig, device: torch.device, batch_size: int,
             keep_features: bool) -> dict[str, np.ndarray]:
    """The model's outputs on ``data`` (eval mode, no gradients) and the labels, as arrays."""
    model.eval()
    chunks: dict[str, list] = {"logits": [], "va": [], "au_prob": [], "features": []}
    for start in range(0, len(data["image"]), batch_size):
        x = batch_images(data["image"], slice(start, start + batch_size)).to(device)
        if channels_last_on(config, device):
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, config.amp):
            out = model(x)
        chunks["logits"].append(out["logits"].float().cpu())
        chunks["va"].append(out["va"].float().cpu())
        chunks["au_prob"].append(out["au_logits"].float().sigmoid().cpu())
        if keep_features:
            chunks["features"].append(out["features"].float().cpu())
    pred = {k: torch.cat(v).numpy() for k, v in chunks.items() if v}
    labels = {"expression": data["expression"].numpy(), "va_true": data["va"].numpy(),
              "au_true": data["au"].numpy(), "index": data["index"].numpy()}
    return {**pred, **labels}


@torch.no_grad()
def evaluate(model, data: dict[str, torch.Tensor], config: TrainConfig, device: torch.device,
             batch_size: int = 512, keep_features: bool = False) -> tuple[dict, dict[str, np.ndarray]]:
    """Metrics (P_VA, P_EXPR, P_AU, P_MTL, accuracy) and raw predictions of ``model`` on a tensor dataset.

    Parameters
    ----------
    model : torch.nn.Module
        The multi-task model (outputs ``logits``, ``va``, ``au_logits``, ``features``).
    data : dict
        As built by :func:`~affect_book.trainer.steps.dataset_arrays`: ``image`` (N, H, W, 3) uint8 and label
        tensors.
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
    pred = _outputs(model, data, config, device, batch_size, keep_features)
    has_va = np.isfinite(pred["va_true"]).all(1).any()
    has_au = (pred["au_true"] >= 0).any()
    scores = metrics.mtl_score(true_expr=pred["expression"], pred_expr=pred["logits"].argmax(1),
                               n_classes=len(config.classes),
                               true_va=pred["va_true"] if has_va else None, pred_va=pred["va"] if has_va else None,
                               true_au=pred["au_true"] if has_au else None,
                               au_prob=pred["au_prob"] if has_au else None, au_threshold=config.au_threshold)
    return scores, pred


@torch.no_grad()
def predict(model, dataset, config: TrainConfig, device: torch.device | str | None = None, batch_size: int = 512,
            keep_features: bool = False) -> dict[str, np.ndarray]:
    """The outputs of ``model`` on every image of ``dataset``, in its order, with its labels: what
    :func:`evaluate` scores, and what a run saves for its test set (``RunResult.predictions()``).

    Parameters
    ----------
    model : torch.nn.Module
        A multi-task model (outputs ``logits``, ``va``, ``au_logits``, ``features``), e.g. :func:`trained_model`;
        it is put in eval mode.
    dataset : ArrayDataset
        The images and labels (:class:`~affect_book.data.base.ArrayDataset`).
    config : TrainConfig
        The model's config: its ``amp`` and ``channels_last``.
    device : torch.device or str, optional
        Where the model runs (it must already be there); default: where its first parameter is.
    batch_size : int
        Images per forward pass.
    keep_features : bool
        Also return the penultimate features.

    Returns
    -------
    dict of np.ndarray
        ``logits`` (N, classes), ``va`` (N, 2), ``au_prob`` (N, 12), ``features`` (N, dim; with
        ``keep_features``), and the labels ``expression``, ``va_true``, ``au_true`` and ``index`` (the rows).
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    return _outputs(model, dataset_arrays(dataset), config, device, batch_size, keep_features)


def trained_model(config: TrainConfig, result: RunResult) -> torch.nn.Module:
    """The best epoch's model of a finished run: the config's model (:func:`~affect_book.trainer.steps.make_model`)
    with the run's saved weights (``best_model.pt``), on the CPU, in eval mode.

    Parameters
    ----------
    config : TrainConfig
        The run's config.
    result : RunResult
        The finished run (:func:`affect_book.trainer.train`).

    Returns
    -------
    torch.nn.Module
        Ready for :func:`predict`.
    """
    model = make_model(config)
    model.load_state_dict(result.model_state())
    return model.eval()
