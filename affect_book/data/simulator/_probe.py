"""The probe set of the degeneracy index: class-balanced, noise-free training images of a config (chapter 09).

:func:`affect_book.degeneracy.degeneracy_components` reads how separable a config's classes' *faces* are from a
cheap pixel probe; it sits below the data package and never calls the simulator, so the probe's images are rendered
here and passed to it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...params import ParameterError, check_number
from ._config import SimulatorConfig
from ._generate import generate_split

__all__ = ["probe_config", "probe_split"]


def probe_config(config: SimulatorConfig, n_probe: int = 480, seed: int = 0) -> SimulatorConfig:
    """The config of the degeneracy probe's images: ``config`` with ``n_probe`` training images, every class equally
    frequent, simulator seed ``seed`` and no annotation noise.

    The config's own seed is not used: the components describe its knobs, shared by its training seeds. Without
    annotation noise each face is labelled by the class it shows. Identities, nuisance, knobs and image size stay
    the config's, so ``visual_degeneracy``, ``visual_partner``, ``class_intensity``, ``contempt_scale``, the shortcut
    mark and the rest act as in training.

    Parameters
    ----------
    config : SimulatorConfig
        From :func:`make_config`.
    n_probe : int
        Training images of the probe (class counts by largest remainder), at least one per class.
    seed : int
        Simulator seed of the probe images.

    Returns
    -------
    SimulatorConfig

    Raises
    ------
    ParameterError
        For a config that is not a SimulatorConfig, or ``n_probe`` or ``seed`` out of range.
    """
    if not isinstance(config, SimulatorConfig):
        raise ParameterError(f"config={type(config).__name__}: expected a SimulatorConfig "
                             f"(affect_book.data.simulator.make_config)")
    k = len(config.classes)
    check_number("n_probe", n_probe, low=k, integer=True)
    check_number("seed", seed, low=0, integer=True)
    return replace(config, n_train=n_probe, train_proportions=tuple([1.0 / k] * k), seed=seed, annotation_noise=0.0)


def probe_split(config: SimulatorConfig, n_probe: int = 480, seed: int = 0) -> dict[str, np.ndarray]:
    """The degeneracy probe's images: the training split of :func:`probe_config`, rendered without the cache (0.3 to
    0.6 s for 480 images at ``image_size`` 32 to 64, one core of a busy 2-core machine).

    Parameters
    ----------
    config : SimulatorConfig
        From :func:`make_config`.
    n_probe : int
        Probe images, at least one per class (:func:`affect_book.degeneracy.degeneracy_components` needs 5 per
        class for its 5-fold cross-validation).
    seed : int
        Simulator seed of the probe images (the book passes the same seed to the components' fold shuffle).

    Returns
    -------
    dict of str to numpy.ndarray
        As :func:`generate_split` returns it (``images``, ``true_expression``, ``au_intensity``, ...), for
        :func:`affect_book.degeneracy.degeneracy_components`.
    """
    return generate_split(probe_config(config, n_probe, seed), "train")
