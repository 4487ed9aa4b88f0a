"""Chapter 09's parameters checked and its rebuilt design built in one call (:func:`chapter_nearness`)."""

from __future__ import annotations

from pathlib import Path

from ..params import ParameterError, check_choice, check_number
from ._conditions import CONDITIONS
from ._nearness_design import DOSE, NearnessDesign, nearness_cells, nearness_n_runs

__all__ = ["chapter_nearness"]


def chapter_nearness(preset: str, dose, paths, fix_conditions, fixes, primary_fix: str, seeds, profile: str, *,
                     appearance_weight: float, annotation_noise, visual_levels, primary_visual: float,
                     lambda_ot: float, alpha: float, smallest_f1_effect: float, f1_margin: float,
                     dataset: str = "synthetic", data_root=None,
                     fix_frequency: str = "balanced") -> tuple[NearnessDesign | None, list[str], Path | None, str]:
    """Check chapter 09's parameters and build its :class:`NearnessDesign` (on the simulator only).

    Every argument is the chapter parameter of the same name in capitals (``PRESET``, ``DOSE``, ...); None for
    ``dose``, ``annotation_noise``, ``visual_levels``, ``fix_conditions`` or ``fixes`` takes the design's default
    (:data:`DOSE`, the preset's calibrated noise, the profile's levels).

    Parameters
    ----------
    preset, dose, paths, fix_conditions, fixes, primary_fix, seeds, profile :
        ``PRESET``, ``DOSE``, ``PATHS``, ``FIX_CONDITIONS``, ``FIXES``, ``PRIMARY_FIX``, ``SEEDS``, ``PROFILE``.
    appearance_weight, annotation_noise, visual_levels, primary_visual :
        ``APPEARANCE_WEIGHT``, ``ANNOTATION_NOISE``, ``VISUAL_LEVELS``, ``PRIMARY_VISUAL``.
    lambda_ot, alpha, smallest_f1_effect, f1_margin :
        ``LAMBDA_OT``, ``ALPHA``, ``SMALLEST_F1_EFFECT``, ``F1_MARGIN``.
    dataset, data_root, fix_frequency :
        ``DATASET``, ``DATA_ROOT``, ``FIX_FREQUENCY``.

    Returns
    -------
    design : NearnessDesign or None
        None for a licensed ``dataset`` (the paths are simulator knobs).
    costs : list of str
        The cost conditions of the fix cells (``fix_conditions`` without ``base``).
    root : Path or None
        The checked ``DATA_ROOT``.
    summary : str
        What the chapter prints: the pair, its published distance, the cells and runs, or why the grid is skipped.

    Raises
    ------
    ParameterError
        Naming the parameter (in the chapter's capitals) and the values it accepts.
    """
    from ..data import check_data_parameters  # deferred: the data package imports torch; the study loads without

    check_number("ALPHA", alpha, low=0.001, high=0.5)
    check_number("SMALLEST_F1_EFFECT", smallest_f1_effect, low=1e-6, high=1)
    check_number("F1_MARGIN", f1_margin, low=0.0, high=1)
    check_number("PRIMARY_VISUAL", primary_visual, low=0, high=1)
    root = check_data_parameters(dataset, data_root, preset=preset)
    if dataset != "synthetic":
        conditions = ("base", "pair_cost", "circumplex", "vad") if fix_conditions is None else tuple(fix_conditions)
        fixes = ("pair_margin",) if fixes is None else tuple(fixes)
        for name in (*conditions, *fixes):
            check_choice("FIX_CONDITIONS/FIXES", name, CONDITIONS)
        check_choice("PRIMARY_FIX", primary_fix, fixes)
        return None, [c for c in conditions if c != "base"], root, (
            f"DATASET={dataset!r}: distance, paths and visual overlap are simulator knobs and cannot be set on real "
            f"faces, so the dose cells are skipped; the costs and the representation fixes are compared on the "
            f"licensed copy below")
    try:
        design = NearnessDesign(preset=preset, dose=DOSE if dose is None else dose, paths=paths,
                                appearance_weight=appearance_weight,
                                annotation_noise=annotation_noise, visual_levels=visual_levels,
                                fix_conditions=fix_conditions, fixes=fixes, seeds=seeds, profile=profile,
                                lambda_ot=lambda_ot, fix_frequency=fix_frequency)
    except ParameterError as err:  # name the chapter's parameter
        raise ParameterError(f"{err} (a chapter parameter in capitals: DOSE, PATHS, APPEARANCE_WEIGHT, "
                             f"ANNOTATION_NOISE, VISUAL_LEVELS, FIX_FREQUENCY, FIX_CONDITIONS, FIXES, SEEDS or "
                             f"PROFILE)") from err
    check_choice("PRIMARY_FIX", primary_fix, design.fixes)
    if not any(abs(v - primary_visual) < 1e-9 for v in design.visual_levels):
        raise ParameterError(f"PRIMARY_VISUAL={primary_visual}: expected one of the fix cells' visual levels "
                             f"{list(design.visual_levels)}")
    costs = [c for c in design.fix_conditions if c != "base"]
    a, b = design.pair
    cells = nearness_cells(design)
    dose = sum(c["kind"] == "dose" for c in cells)
    return design, costs, root, (
        f"preset {preset}: designated pair {a}-{b}, published valence-arousal distance "
        f"{design.published_distance:.4f}; {dose} dose cells (base), {len(cells) - dose} fix cells "
        f"(visual overlap {list(design.visual_levels)}, {design.fix_frequency} training frequencies), "
        f"{nearness_n_runs(design)} runs in all")
