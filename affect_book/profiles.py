"""Run profiles, defined in one place: ``smoke`` (CI, seconds per chapter), ``cpu`` (a laptop, minutes), ``gpu``.

Introduced in chapter 00. Every chapter takes ``PROFILE`` as a papermill parameter and reads its sizes from here,
so a profile means the same thing in every chapter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from .params import check_choice

__all__ = ["PROFILES", "Profile", "get_profile", "profiles_table"]


@dataclass(frozen=True)
class Profile:
    """Sizes shared by every chapter for one kind of run.

    ``n_train``, ``n_val``, ``n_test``: simulated images per split; ``image_size``: pixels per side;
    ``epochs``, ``batch_size``: training; ``width``: channels of the small CNN's first block (the chapters'
    default backbone); ``seeds``: repetitions of the controlled study;
    ``expected_device``: what the profile is sized for.
    """

    name: str
    description: str
    n_train: int
    n_val: int
    n_test: int
    image_size: int
    epochs: int
    batch_size: int
    width: int
    seeds: int
    expected_device: str


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", "continuous integration: every chapter in seconds, numbers not meaningful",
                     n_train=2_000, n_val=500, n_test=500, image_size=32, epochs=2, batch_size=128,
                     width=8, seeds=2,
                     expected_device="cpu"),
    "cpu": Profile("cpu", "a laptop: meaningful results in minutes per chapter",
                   n_train=30_000, n_val=5_000, n_test=5_000, image_size=64, epochs=8, batch_size=256,
                   width=16, seeds=5,
                   expected_device="cpu"),
    "gpu": Profile("gpu", "full scale on one GPU",
                   n_train=300_000, n_val=30_000, n_test=30_000, image_size=112, epochs=30, batch_size=512,
                   width=32, seeds=5,
                   expected_device="cuda"),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; a misspelling fails with the valid names."""
    check_choice("PROFILE", name, PROFILES)
    return PROFILES[name]


def profiles_table() -> pd.DataFrame:
    """All profiles as a table, one row each."""
    return pd.DataFrame([asdict(p) for p in PROFILES.values()]).set_index("name")
