"""Interactive figures: the simulator's knobs (chapter 03) and the OT term on the simplex (chapter 04).

Each figure is a plain function that computes and draws it for given knob values (``draw_...``), and an
``interactive_...`` builder wires ipywidgets sliders to that function. A chapter always draws the figure at fixed
values first (the **static fallback**, which papermill, nbval and the HTML build execute), and shows the widget
only when :func:`live_front_end` says a reader is there to move it. Nothing waits for a front end: a builder only
constructs widgets and never blocks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..params import check_number

__all__ = ["draw_ot_simplex", "draw_simulator_knobs", "interactive_ot_simplex", "interactive_simulator_knobs",
           "live_front_end", "ot_terms", "simplex_point", "simulator_knobs"]

#: Corners of the probability triangle in the plane (first, second, third class).
CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])


def live_front_end() -> bool:
    """Whether a reader's front end can show a live widget in this kernel.

    ``$AFFECT_BOOK_INTERACTIVE`` (``1`` or ``0``) decides when set. Otherwise: True only inside an IPython kernel
    started by a Jupyter server (JupyterLab or Notebook set ``JPY_SESSION_NAME`` for the kernels they start) or by
    VS Code (``VSCODE_PID``). papermill, nbval and the book runner start kernels without either, so they get the
    static figure only.

    Returns
    -------
    bool
    """
    forced = os.environ.get("AFFECT_BOOK_INTERACTIVE")
    if forced is not None:
        if forced not in ("0", "1"):
            raise ValueError(f"AFFECT_BOOK_INTERACTIVE={forced!r}; expected '0' or '1'")
        return forced == "1"
    try:
        from IPython import get_ipython  # deferred: IPython is optional (notebook extra); absent means no front end
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    return bool(os.environ.get("JPY_SESSION_NAME") or os.environ.get("VSCODE_PID"))


# --- chapter 04: the OT term on the simplex ------------------------------------------------------------------------

def simplex_point(first: float, second: float, floor: float = 0.01) -> np.ndarray:
    """A prediction on the 3-class simplex from two slider values (the third class takes the rest).

    Parameters
    ----------
    first, second : float
        Wanted probabilities of the first two classes, each clipped to ``[floor, 1]``; when they leave less than
        ``floor`` for the third class, both are scaled down so that it gets ``floor``.
    floor : float, default 0.01
        Least probability of every class (the OT gradient needs ``log p``, so no corner is reached exactly).

    Returns
    -------
    numpy.ndarray, (3,)
        Probabilities summing to 1, each at least ``floor``.
    """
    check_number("floor", floor, low=0.0, high=1 / 3)
    a, b = float(np.clip(first, floor, 1.0)), float(np.clip(second, floor, 1.0))
    room = 1.0 - floor
    if a + b > room:
        a, b = a * room / (a + b), b * room / (a + b)
        a, b = max(a, floor), max(b, floor)
        a, b = a * room / (a + b), b * room / (a + b)
    return np.array([a, b, 1.0 - a - b])


def ot_terms(probs, costs: Mapping[str, object], true_class: int, classes: Sequence[str] | None = None
             ) -> pd.DataFrame:
    """Each cost's OT term at a prediction, its gradient on the logits, and the step that gradient takes.

    For a hard label the OT term is ``W = sum_j p_j C[j, y]``, its gradient on the logits is
    ``p_k (C[k, y] - W)``, and a gradient step ``-grad_z W`` moves the probabilities by ``-J grad_z W`` with
    ``J = diag(p) - p p^T`` (the softmax Jacobian).

    Parameters
    ----------
    probs : array-like, (K,)
        The prediction (non-negative, sums to 1).
    costs : mapping of str to array-like (K, K)
        The costs to compare, rows predicted, columns true (:mod:`affect_book.costs`).
    true_class : int
        The true class ``y``.
    classes : sequence of str, optional
        Class names for the columns (default ``0..K-1``).

    Returns
    -------
    pandas.DataFrame
        One row per cost; column ``"W"`` and, per class ``c``, ``"dW/dz[c]"`` and ``"step p[c]"``.
    """
    p = np.asarray(probs, dtype=float)
    if p.ndim != 1 or (p < 0).any() or abs(p.sum() - 1) > 1e-9:
        raise ValueError(f"probs={p.tolist()}: expected a 1-D probability vector (non-negative, sum 1)")
    k = len(p)
    names = list(classes) if classes is not None else [str(i) for i in range(k)]
    if len(names) != k or not 0 <= int(true_class) < k:
        raise ValueError(f"{k} probabilities, {len(names)} class names, true_class={true_class}: expected K names "
                         f"and 0 <= true_class < K")
    rows = {}
    for name, cost in costs.items():
        c = np.asarray(cost, dtype=float)
        if c.shape != (k, k):
            raise ValueError(f"cost {name!r} has shape {c.shape}; expected ({k}, {k})")
        column = c[:, int(true_class)]
        value = float(p @ column)
        grad = p * (column - value)
        step = -(p * grad - p * (p @ grad))
        rows[name] = {"W": value, **{f"dW/dz[{n}]": g for n, g in zip(names, grad)},
                      **{f"step p[{n}]": s for n, s in zip(names, step)}}
    table = pd.DataFrame(rows).T
    table.index.name = "cost"
    return table


def draw_ot_simplex(probs, costs: Mapping[str, object], classes: Sequence[str], true_class: int = 0):
    """Draw a 3-class prediction on the simplex, each cost's gradient step from it, and each cost's value.

    Parameters
    ----------
    probs : array-like, (3,)
        The prediction.
    costs : mapping of str to array-like (3, 3)
        Rows predicted, columns true.
    classes : sequence of 3 str
        The class names (the triangle's corners, in order).
    true_class : int, default 0
        The true class.

    Returns
    -------
    fig : matplotlib.figure.Figure
    table : pandas.DataFrame
        :func:`ot_terms` at ``probs``.
    """
    if len(classes) != 3:
        raise ValueError(f"classes={list(classes)}: the simplex figure needs exactly 3 classes")
    table = ot_terms(probs, costs, true_class, classes)
    p = np.asarray(probs, dtype=float)
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.4, 1]})
    ax.plot(*np.vstack([CORNERS, CORNERS[:1]]).T, color="0.3")
    for (x, y), name in zip(CORNERS, classes):
        ax.annotate(name + (" (true)" if name == classes[true_class] else ""), (x, y), textcoords="offset points",
                    xytext=(0, -14 if y == 0 else 6), ha="center")
    here = p @ CORNERS
    ax.plot(*here, "ko")
    steps = {name: table.loc[name, [f"step p[{c}]" for c in classes]].to_numpy(float) @ CORNERS for name in costs}
    longest = max(max(np.linalg.norm(s) for s in steps.values()), 1e-12)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (name, s), colour in zip(steps.items(), colours):
        d = 0.25 * s / longest  # the longest step is drawn a quarter of the side long; lengths stay comparable
        ax.annotate("", xy=here + d, xytext=here, arrowprops={"arrowstyle": "->", "color": colour, "lw": 2})
        ax.plot([], [], color=colour, lw=2, label=f"{name}: step -grad (relative length)")
    ax.set(aspect="equal", xticks=[], yticks=[], xlim=(-0.1, 1.1), ylim=(-0.12, 1.0),
           title="p = (" + ", ".join(f"{c} {v:.2f}" for c, v in zip(classes, p)) + ")")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8)
    bars.bar(list(table.index), table["W"].to_numpy(float), color=colours[:len(table)])
    bars.set(ylabel="OT term W = sum_j p_j C[j, y]", title="value of each cost's OT term")
    fig.tight_layout()
    return fig, table


def interactive_ot_simplex(costs: Mapping[str, object], classes: Sequence[str], true_class: int = 0,
                           start=(0.3, 0.6)):
    """Sliders that move a 3-class prediction and redraw :func:`draw_ot_simplex` (needs a live front end).

    Parameters
    ----------
    costs : mapping of str to array-like (3, 3)
        Rows predicted, columns true.
    classes : sequence of 3 str
        The class names.
    true_class : int, default 0
        The true class at the start (a dropdown changes it).
    start : pair of float, default (0.3, 0.6)
        Starting probabilities of the first two classes.

    Returns
    -------
    ipywidgets.VBox
        The controls above an output area; display it in a notebook.
    """
    import ipywidgets as w  # deferred: ipywidgets is optional (dev extra); only the live controls need it

    first = w.FloatSlider(value=start[0], min=0.01, max=0.98, step=0.01, description=f"p({classes[0]})")
    second = w.FloatSlider(value=start[1], min=0.01, max=0.98, step=0.01, description=f"p({classes[1]})")
    truth = w.Dropdown(options=[(c, i) for i, c in enumerate(classes)], value=true_class, description="true class")

    def redraw(a, b, y):
        from IPython.display import display  # deferred: IPython is optional (notebook extra)

        fig, table = draw_ot_simplex(simplex_point(a, b), costs, classes, y)
        plt.show()
        plt.close(fig)
        display(table)

    out = w.interactive_output(redraw, {"a": first, "b": second, "y": truth})
    return w.VBox([w.HBox([first, second, truth]), out])


# --- chapter 03: the simulator's knobs -----------------------------------------------------------------------------

def simulator_knobs(visual_degeneracy: float = 0.0, va_degeneracy: float = 0.0, intensity: float = 1.0,
                    preset: str = "balanced", n_points: int = 400, size: int = 64, seed: int = 0) -> dict:
    """What the simulator makes of the designated pair at given knob values: faces, a VA cloud, the centroids.

    Parameters
    ----------
    visual_degeneracy, va_degeneracy : float in [0, 1]
        The simulator's knobs (:mod:`affect_book.data.simulator`).
    intensity : float in [0, 1]
        Expression intensity of the faces and of every sample of the cloud.
    preset : str, default "balanced"
        The simulator preset; its designated pair is shown.
    n_points : int, default 400
        Samples in the valence-arousal cloud (generated at 32 px, without the cache).
    size : int, default 64
        Pixels per side of the faces.
    seed : int, default 0
        Seed of the cloud and of the identities.

    Returns
    -------
    dict
        ``pair`` (two class names); ``faces`` (2 identities, 2 classes, S, S, 3) uint8; ``va`` (n, 2) true
        valence-arousal and ``label`` (n,) class names of the cloud; ``centroids`` {class: (v, a)} after the knob;
        ``summary``: a one-row DataFrame (centroid distance, mean absolute pixel difference of the pair's faces).
    """
    from ..data import make_config, render_examples  # deferred: the data package imports torch
    from ..data.simulator import generate_split  # deferred: the data package imports torch

    for name, value in (("visual_degeneracy", visual_degeneracy), ("va_degeneracy", va_degeneracy),
                        ("intensity", intensity)):
        check_number(name, value, low=0.0, high=1.0)
    check_number("n_points", n_points, low=8, integer=True)
    cfg = make_config(preset, "smoke", n_train=int(n_points), n_val=0, n_test=0, image_size=32, seed=int(seed),
                      va_degeneracy=float(va_degeneracy), intensity_range=(float(intensity), float(intensity)))
    pair = tuple(cfg.pair)
    faces = render_examples(list(pair), intensity=float(intensity), identity_seed=int(seed) + 1, n_identities=2,
                            size=int(size), pair=pair, visual_degeneracy=float(visual_degeneracy))
    split = generate_split(cfg, "train")
    centroids = {c: tuple(map(float, v)) for c, v in zip(cfg.classes, cfg.centroids())}
    labels = np.asarray(cfg.classes)[split["true_expression"]]
    gap = float(np.abs(faces[:, 0].astype(float) - faces[:, 1].astype(float)).mean())
    distance = float(np.linalg.norm(np.subtract(centroids[pair[0]], centroids[pair[1]])))
    summary = pd.DataFrame([{"visual degeneracy": visual_degeneracy, "VA degeneracy": va_degeneracy,
                             "intensity": intensity, "centroid distance": distance,
                             "pixel difference of the pair's faces": gap}])
    return {"pair": pair, "faces": faces, "va": np.asarray(split["true_va"], float), "label": labels,
            "centroids": centroids, "summary": summary}


def draw_simulator_knobs(visual_degeneracy: float = 0.0, va_degeneracy: float = 0.0, intensity: float = 1.0,
                         preset: str = "balanced", n_points: int = 400, size: int = 64, seed: int = 0):
    """Draw the designated pair's faces and the valence-arousal cloud at given knob values.

    Parameters
    ----------
    visual_degeneracy, va_degeneracy, intensity, preset, n_points, size, seed
        As in :func:`simulator_knobs`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : pandas.DataFrame
        The ``summary`` of :func:`simulator_knobs`.
    """
    state = simulator_knobs(visual_degeneracy, va_degeneracy, intensity, preset, n_points, size, seed)
    pair, faces = state["pair"], state["faces"]
    fig = plt.figure(figsize=(12, 4.4))
    grid = fig.add_gridspec(2, 4, width_ratios=[1, 1, 0.15, 2.4])
    for r in range(2):
        for c in range(2):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(faces[r, c])
            ax.set(xticks=[], yticks=[])
            if r == 0:
                ax.set_title(pair[c])
    ax = fig.add_subplot(grid[:, 3])
    mask = ~np.isin(state["label"], pair)
    ax.scatter(*state["va"][mask].T, s=6, color="0.8", label="other classes")
    for name, colour in zip(pair, ("tab:red", "tab:blue")):
        ax.scatter(*state["va"][state["label"] == name].T, s=10, color=colour, alpha=0.6, label=name)
        ax.plot(*state["centroids"][name], marker="X", ms=12, color=colour, mec="k")
    ax.set(xlim=(-1, 1), ylim=(-1, 1), aspect="equal", xlabel="valence", ylabel="arousal",
           title=f"valence-arousal labels (X: centroids), {preset} preset")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.axvline(0, color="0.6", lw=0.5)
    ax.legend(loc="lower left", fontsize=8)
    fig.suptitle(f"visual degeneracy {visual_degeneracy:.2f}, VA degeneracy {va_degeneracy:.2f}, "
                 f"intensity {intensity:.2f}")
    fig.tight_layout()
    return fig, state["summary"]


def interactive_simulator_knobs(preset: str = "balanced", n_points: int = 400, size: int = 64, seed: int = 0):
    """Sliders for the simulator's knobs that redraw :func:`draw_simulator_knobs` (needs a live front end).

    Parameters
    ----------
    preset, n_points, size, seed
        As in :func:`simulator_knobs`.

    Returns
    -------
    ipywidgets.VBox
        The sliders above an output area; display it in a notebook.
    """
    import ipywidgets as w  # deferred: ipywidgets is optional (dev extra); only the live controls need it

    style = {"description_width": "initial"}
    knobs = {"visual_degeneracy": w.FloatSlider(value=0.0, min=0, max=1, step=0.05, description="visual degeneracy",
                                                style=style, continuous_update=False),
             "va_degeneracy": w.FloatSlider(value=0.0, min=0, max=1, step=0.05, description="VA degeneracy",
                                            style=style, continuous_update=False),
             "intensity": w.FloatSlider(value=1.0, min=0, max=1, step=0.05, description="intensity", style=style,
                                        continuous_update=False)}

    def redraw(visual_degeneracy, va_degeneracy, intensity):
        from IPython.display import display  # deferred: IPython is optional (notebook extra)

        fig, summary = draw_simulator_knobs(visual_degeneracy, va_degeneracy, intensity, preset, n_points, size,
                                            seed)
        plt.show()
        plt.close(fig)
        display(summary)

    out = w.interactive_output(redraw, knobs)
    return w.VBox([w.HBox(list(knobs.values())), out])
