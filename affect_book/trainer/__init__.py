"""The trainer (chapter 06): one config object, load-or-train caching, exact resume, per-epoch validation, test
predictions, and the ``affect-book train`` command.

``train(config, train_set, val_set, test_set)`` returns a :class:`RunResult`; a finished run with the same config and
the same data (:func:`run_key`) is loaded, not retrained, and an interrupted one resumes from its last checkpoint.
:func:`predict` gives any model's outputs on a dataset (:func:`trained_model`: a finished run's best model).

What lives here, from the bottom up (each module imports only those below it, and the rest of the package only
from below the trainer: ``cache``, ``params``, ``profiles``, ``device``, ``costs``, ``losses``, ``models``,
``metrics``, ``data``, ``progress``):

- :mod:`~affect_book.trainer.config`: :class:`TrainConfig`, :func:`validate_config`, the OT term's cost
  (:func:`cost_tensor`), typed values from JSON and ``--set`` (:func:`config_from_dict`, :func:`parse_assignment`);
- :mod:`~affect_book.trainer.runs`: a run's files (:func:`run_key`, checkpoints, the finished record,
  :class:`RunResult`, :class:`TrainingDiverged`);
- :mod:`~affect_book.trainer.steps`: plumbing (a config's model, a dataset's arrays, batches, the learning-rate
  schedule, autocast, the distributed rank);
- :mod:`~affect_book.trainer.objective`: the multi-task loss (:func:`multitask_loss`);
- :mod:`~affect_book.trainer.evaluation`: :func:`evaluate`, :func:`predict`, :func:`trained_model`;
- :mod:`~affect_book.trainer.loop`: the training loop (:func:`fit`) and its divergence rules;
- :mod:`~affect_book.trainer.api`: :func:`train`, load or train;
- :mod:`~affect_book.trainer.parameters`: a chapter's run parameters checked (:func:`check_run_parameters`);
- :mod:`~affect_book.trainer.cli`: ``affect-book train`` (and ``python -m affect_book.trainer`` for ``torchrun``).

Importing the trainer imports torch; the study (:mod:`affect_book.study`) and the command line
(:mod:`affect_book.cli`) import it inside the functions that train, so that they load without torch.
"""

from .api import train
from .config import (COSTS, SAMPLERS, TRAINER_VERSION, TrainConfig, coerce_values, config_from_dict, cost_tensor,
                     field_kinds, parse_assignment, validate_config)
from .evaluation import evaluate, predict, trained_model
from .loop import MAX_LOSS_RATIO, epoch_order, fit, recorded_divergence
from .objective import expression_term, multitask_loss
from .parameters import check_run_parameters
from .runs import NonFiniteMetrics, RunResult, TrainingDiverged, load_finished, nonfinite_metrics, run_key
from .steps import batch_images, channels_last_on, dataset_arrays, lr_schedule, make_model

__all__ = ["COSTS", "MAX_LOSS_RATIO", "NonFiniteMetrics", "RunResult", "SAMPLERS", "TRAINER_VERSION", "TrainConfig",
           "TrainingDiverged", "batch_images", "channels_last_on", "check_run_parameters",
           "coerce_values", "config_from_dict", "cost_tensor", "dataset_arrays",
           "epoch_order", "evaluate", "expression_term", "field_kinds", "fit", "load_finished", "lr_schedule",
           "make_model", "multitask_loss", "nonfinite_metrics", "parse_assignment", "predict", "recorded_divergence",
           "run_key", "train", "trained_model", "validate_config"]
