"""Chapter 09's parameters checked and its factorial design built in one call (:func:`chapter_factorial`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..params import ParameterError, check_choice, check_number
from ._conditions import CONDITIONS
from ._factorial import FACTORS, FactorialDesign, factorial_cells, n_runs

__all__ = ["chapter_factorial"]


def chapter_factorial(preset: str, vary, conditions: Sequence[str], fixes: Sequence[str], primary_fix: str, seeds,
                      profile: str, *, lambda_ot: float, separated_distance: float, degenerate_distance: float,
                      shared_visual: float, alpha: float, frequency_margin: float, separability_margin: float,
                      n_probe: int, n_boot: int, dataset: str = "synthetic", data_root=None,
                      ) -> tuple[FactorialDesign | None, list[str], Path | None, str]:
    """Check chapter 09's parameters and build its :class:`FactorialDesign` (on the simulator only).

    Every argument is the chapter parameter of the same name in capitals (``PRESET``, ``VARY``, ...).

    Parameters
    ----------
    preset : str
        The simulator preset whose designated pair the design studies.
    vary : sequence of str or None
        The factors varied (None: all four :data:`FACTORS`).
    conditions, fixes : sequence of str
        The cost conditions compared with ``base`` in every cell, and the representation fixes of the fix cells.
    primary_fix : str
        The fix named before the run as the test of the claim (one of ``fixes``).
    seeds : int or sequence of int
        Seeds per cell and condition.
    profile : str
        The profile (its study size).
    lambda_ot, separated_distance, degenerate_distance, shared_visual : float
        The OT weight, the pair's valence-arousal distance at the two circumplex levels, and its visual degeneracy at
        the "shared" level.
    alpha, frequency_margin, separability_margin : float
        The tests' level and the equivalence margins (stated assumptions of the chapter).
    n_probe, n_boot : int
        Probe images of the degeneracy index and bootstrap draws of its intervals.
    dataset : str
        ``"synthetic"`` or a licensed source (the factorial then does not run).
    data_root : str or Path, optional
        The licensed copy's folder.

    Returns
    -------
    design : FactorialDesign or None
        The factorial design; None for a licensed ``dataset`` (the factors are simulator knobs).
    costs : list of str
        The cost conditions: ``conditions`` without ``base``.
    root : Path or None
        The checked ``DATA_ROOT``.
    summary : str
        What the chapter prints: the designated pair, the partner class and the number of cells and runs, or why the
        factorial grid is skipped on a licensed copy.

    Raises
    ------
    ParameterError
        Naming the parameter (in the chapter's capitals) and the values it accepts.
    """
    from ..data import check_data_parameters  # deferred: the data package imports torch; the study loads without

    check_number("ALPHA", alpha, low=0.001, high=0.5)
    check_number("FREQUENCY_MARGIN", frequency_margin, low=0.0)
    check_number("SEPARABILITY_MARGIN", separability_margin, low=0.0)
    check_number("N_PROBE", n_probe, low=40, integer=True)
    check_number("N_BOOT", n_boot, low=100, integer=True)
    for name in fixes:
        check_choice("FIXES", name, CONDITIONS)
    check_choice("PRIMARY_FIX", primary_fix, fixes)
    costs = [c for c in conditions if c != "base"]
    if not costs:
        raise ParameterError(f"CONDITIONS={conditions} has no cost condition besides base; expected e.g. circumplex")
    root = check_data_parameters(dataset, data_root, preset=preset)
    if dataset != "synthetic":
        return None, costs, root, (
            f"DATASET={dataset!r}: the factors are simulator knobs and cannot be set on real faces, so the factorial "
            f"grid and the degeneracy index (which reads the simulator's AU prototypes) are skipped; the "
            f"representation fixes and the costs are compared on the licensed copy below")
    design = FactorialDesign(preset=preset, vary=tuple(FACTORS) if vary is None else vary, conditions=conditions,
                             fixes=fixes, seeds=seeds, profile=profile, lambda_ot=lambda_ot,
                             separated_distance=separated_distance, degenerate_distance=degenerate_distance,
                             shared_visual=shared_visual)
    pair, partner = design.pair, design.partner_class
    return design, costs, root, (f"preset {preset}: designated pair {pair[0]}-{pair[1]}, partner class {partner}; "
                                 f"{len(factorial_cells(design))} factorial cells, {n_runs(design)} runs in all")
