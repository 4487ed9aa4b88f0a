"""A training chapter's run parameters checked in one call: ``PROFILE``, ``SEED``, ``DEVICE``, ``EPOCHS`` and
``WIDTH`` (chapters 05 and 06), the last two defaulting to the profile's."""

from __future__ import annotations

from ..params import check_choice, check_number
from ..profiles import Profile, get_profile

__all__ = ["check_run_parameters"]


def check_run_parameters(profile: str, seed: int = 0, device: str = "auto", epochs: int | None = None,
                         width: int | None = None) -> tuple[Profile, int, int]:
    """Check a chapter's ``PROFILE``, ``SEED``, ``DEVICE``, ``EPOCHS`` and ``WIDTH``; fill the last two.

    Parameters
    ----------
    profile : str
        ``PROFILE``: ``"smoke"``, ``"cpu"`` or ``"gpu"``.
    seed : int
        ``SEED``: a non-negative integer.
    device : str
        ``DEVICE``: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
    epochs : int, optional
        ``EPOCHS`` (1 to 1000); None: the profile's.
    width : int, optional
        ``WIDTH``, the small CNN's first-block channels (1 to 512); None: the profile's.

    Returns
    -------
    profile : Profile
        The profile.
    epochs, width : int
        ``epochs`` and ``width``, or the profile's where None.

    Raises
    ------
    ParameterError
        Naming the parameter and the values it accepts.
    """
    chosen = get_profile(profile)
    check_number("SEED", seed, low=0, integer=True)
    check_choice("DEVICE", device, ("auto", "cpu", "cuda", "mps"))
    if epochs is not None:
        check_number("EPOCHS", epochs, low=1, high=1000, integer=True)
    if width is not None:
        check_number("WIDTH", width, low=1, high=512, integer=True)
    return chosen, epochs or chosen.epochs, width or chosen.width
