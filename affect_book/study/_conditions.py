"""The study's conditions: what each one changes in a :class:`~affect_book.trainer.TrainConfig`, and why.

Every condition is the ``base`` model (cross-entropy, the multi-task heads, no optimal-transport term) with a few
fields changed. Cost conditions add ``lambda_ot`` times the OT term with their cost kind; ``lambda_ot`` is the
study's one value (tuned once for the circumplex cost, then fixed for every cost: the matched-scale comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..costs import DEFAULT_INVERSE_EPS, DEFAULT_PAIR_WEIGHT
from ..params import ParameterError, check_choice

__all__ = ["CONDITIONS", "Condition", "NotYetSupported", "get_condition"]


class NotYetSupported(NotImplementedError):
    """A condition of the study that the trainer cannot run yet (named in the message, with what it lacks)."""


@dataclass(frozen=True)
class Condition:
    """One condition of the study.

    Attributes
    ----------
    name : str
        Its identifier in tables, the CLI and ``--conditions``.
    description : str
        One line for tables.
    overrides : tuple of (str, value)
        TrainConfig fields set on top of the base model.
    cost : str or None
        The OT cost kind (``TrainConfig.cost``) of a cost condition, which also gets the study's ``lambda_ot``,
        coordinates and hand placements; None for the others.
    unsupported : str or None
        Why the trainer cannot run it yet (None when it can).
    needs_pair : bool
        The condition acts on the source's designated degenerate pair.
    pair_field : str
        The TrainConfig field that receives the pair of a ``needs_pair`` condition: ``margin_pair`` (the pair
        margin term) or ``cost_pair`` (the ``pair`` cost).
    """

    name: str
    description: str
    overrides: tuple = ()
    cost: str | None = None
    unsupported: str | None = None
    needs_pair: bool = False
    pair_field: str = "margin_pair"

    def train_overrides(self, lambda_ot: float, coordinates: str, cost_fill: tuple, pair: tuple = ()) -> dict:
        """The TrainConfig fields this condition sets.

        Parameters
        ----------
        lambda_ot : float
            The OT term's weight (cost conditions only).
        coordinates : str
            The published coordinate set of the cost.
        cost_fill : tuple
            Hand placements of classes without published coordinates, as ((name, (valence, arousal)), ...).
        pair : (str, str)
            The source's designated degenerate pair (used by a condition with ``needs_pair``).

        Returns
        -------
        dict
            TrainConfig field -> value.

        Raises
        ------
        NotYetSupported
            For a condition the trainer cannot run yet.
        """
        if self.unsupported:
            raise NotYetSupported(f"condition {self.name!r} is not yet supported by the trainer: {self.unsupported}")
        out = dict(self.overrides)
        if self.needs_pair:
            if len(pair) != 2:
                raise ParameterError(f"condition {self.name!r} acts on the designated pair; got pair={pair!r}, "
                                     f"expected two class names")
            out[self.pair_field] = tuple(pair)
        if self.cost is not None:
            out.update(cost=self.cost, lambda_ot=float(lambda_ot), coordinates=coordinates, cost_fill=cost_fill)
        return out


def _cost(name: str, kind: str, description: str) -> Condition:
    return Condition(name, description, cost=kind)


def _loss(name: str, loss: str, description: str, param: float | None = None) -> Condition:
    overrides = (("expression_loss", loss),) + ((("expression_param", param),) if param is not None else ())
    return Condition(name, description, overrides)


#: Every condition by name, in the order tables list them.
CONDITIONS: dict[str, Condition] = {c.name: c for c in (
    Condition("base", "cross-entropy, no optimal-transport term"),
    _cost("circumplex", "va", "base + lambda x OT term with the valence-arousal cost"),
    _cost("uniform", "uniform", "base + lambda x uniform cost matched to the va cost's mean off-diagonal value"),
    _cost("uniform_column", "uniform_column",
          "base + lambda x uniform cost matched column by column (U[j, y] = mean over j != y of C[j, y])"),
    _cost("permuted", "permuted", "base + lambda x the va cost with its class labels permuted (one permutation "
                                  "per seed): same entries, geometry destroyed"),
    _cost("vad", "vad", "base + lambda x OT term with the valence-arousal-dominance cost"),
    _cost("au_augmented", "au", "base + lambda x OT term with the AU-augmented cost"),
    Condition("pair_cost", f"base + lambda x OT term with a cost aimed at the pair: uniform, the designated pair's two "
                           f"confusions {DEFAULT_PAIR_WEIGHT:g} times dearer than any other, at the va cost's mean "
                           f"off-diagonal value", cost="pair", needs_pair=True, pair_field="cost_pair"),
    _cost("inverse_distance", "inverse", f"base + lambda x OT term with the inverse valence-arousal distance "
                                         f"(1 / (d + {DEFAULT_INVERSE_EPS:g})) at the va cost's mean off-diagonal "
                                         f"value: near classes dear"),
    _loss("confidence_penalty", "confidence_penalty",
          "cross-entropy minus beta x entropy (Pereyra et al. 2017, beta 0.1)"),
    _loss("gce", "gce", "generalised cross-entropy (Zhang & Sabuncu 2018, q 0.7), a noise-robust loss"),
    _loss("class_balanced", "class_balanced", "cross-entropy weighted by the effective number (Cui et al. 2019, "
                                              "beta 0.9999)", param=0.9999),
    _loss("logit_adjusted", "logit_adjusted", "logit-adjusted cross-entropy (Menon et al. 2021, tau 1)"),
    _loss("balanced_softmax", "balanced_softmax", "balanced softmax (Ren et al. 2020)"),
    _loss("ldam_drw", "ldam_drw", "LDAM margins (largest 0.5) with deferred re-weighting: class-balanced weights "
                                  "(beta 0.9999) from 80% of the epochs on (Cao et al. 2019)", param=0.8),
    Condition("supcon", "base + 0.1 x supervised contrastive term on the features (Khosla et al. 2020, "
                        "temperature 0.1): a representation fix",
              (("lambda_supcon", 0.1), ("supcon_temperature", 0.1))),
    Condition("pair_margin", "base + 0.5 x a margin term pushing the designated pair apart in feature space "
                             "(Hadsell et al. 2006's negative-pair term, margin 1 on normalised features): a "
                             "representation fix", (("lambda_pair", 0.5), ("pair_margin", 1.0)), needs_pair=True),
    Condition("au_off", "base without the AU term (lambda_au 0): how much the AU labels carry",
              (("lambda_au", 0.0),)),
    Condition("au_strong", "base with the AU term weighted 4 (lambda_au 4): AU supervision as the separating "
                           "signal", (("lambda_au", 4.0),)),
    Condition("resampling", "class-balanced sampling of the training set (with replacement, 1 / n_c per image; "
                            "cross-entropy)", (("sampler", "class_balanced"),)),
)}


def get_condition(name: str) -> Condition:
    """The condition called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`CONDITIONS`.

    Returns
    -------
    Condition
        Its definition; an unknown name raises ParameterError with the valid ones and a close match.
    """
    check_choice("condition", name, CONDITIONS)
    return CONDITIONS[name]


def _check_conditions(names) -> tuple[str, ...]:
    """Validated, duplicate-free condition names (a string may list them comma-separated)."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = tuple(names)
    if not names:
        raise ParameterError(f"conditions is empty; expected one or more of {list(CONDITIONS)}")
    for name in names:
        get_condition(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParameterError(f"conditions lists {repeated} more than once")
    return names
