"""A campaign, and the one configuration that says where an env's campaigns come from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from recommenders.flows import FLOW_SPLITS
from tie_gym.adversary.ordering import ORDERS, Order
from tie_gym.checks import is_real

CampaignMode = Literal["generative", "replay", "flow"]
NATURAL_ORDER = {"generative": "model", "replay": "killchain", "flow": "flow"}
"""Each source's order when none is asked for; replayed reports are sets, so theirs is imposed."""
ALLOWED_ORDERS = {
    "generative": ("model", "killchain", "random", "learned"),
    "replay": ("killchain", "random", "learned"),
    "flow": ("flow", "killchain", "random", "learned"),
}
DEFAULT_TEMPERATURE = 1.65
"""Calibrated by `python -m benchmarks.temperature` (benchmarks/results/temperature.md) with the
shipped EASE model: the temperature at which the greedy recommender's hit@10 on generated
campaigns equals its hit@10 on the reports the model trained on, replayed in random order (never
the test reports). Held-out reports are harder still (see that table)."""


@dataclass(frozen=True)
class Campaign:
    """One adversary campaign: technique columns in reveal order, and where it came from."""

    techniques: np.ndarray
    source: str
    """"generated", the replayed report's ID, the flow's name, or "given" (reset options)."""
    frontiers: tuple[np.ndarray, ...] | None = None
    """In a flow's own order: per step t, the columns that may come next after the first t."""


@dataclass(frozen=True)
class CampaignConfig:
    """Where campaigns come from and how they are revealed; checked once, shared by every env.

    `order=None` takes the source's natural order: the sampling order for generated campaigns,
    kill-chain for replayed reports (which are sets and have no order of their own), the real
    order for Attack Flow incidents (`campaign="flow"`, from `flow_dir` or the data folder).
    """

    campaign: CampaignMode = "generative"
    order: Order | None = None
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = 1.0
    split: str = "test"
    max_length: int | None = None
    flow_dir: str | None = None
    flow_split: str = "all"
    """Which Attack Flow incidents a flow campaign draws: "all", or the fixed split's "train" or
    "test" side (`recommenders.flows.flow_split`)."""

    def __post_init__(self) -> None:
        if not isinstance(self.campaign, str) or self.campaign not in NATURAL_ORDER:
            raise ValueError(
                f"campaign must be one of {sorted(NATURAL_ORDER)}, got {self.campaign!r}"
            )
        order = self.order or NATURAL_ORDER[self.campaign]
        if not isinstance(order, str) or order not in ALLOWED_ORDERS[self.campaign]:
            raise ValueError(
                f"order must be one of {ALLOWED_ORDERS[self.campaign]} for {self.campaign} "
                f"campaigns (of {ORDERS}), got {self.order!r}"
            )
        object.__setattr__(self, "order", order)
        if self.flow_dir is not None and not isinstance(self.flow_dir, str):
            raise ValueError(
                f"flows must be a folder path (a string) or None, got {self.flow_dir!r}"
            )
        if not isinstance(self.flow_split, str) or self.flow_split not in FLOW_SPLITS:
            raise ValueError(f"flow_split must be one of {FLOW_SPLITS}, got {self.flow_split!r}")
        if not isinstance(self.split, str) or self.split not in ("test", "train"):
            raise ValueError(
                f'split must be "test" (held-out reports) or "train", got {self.split!r}'
            )
        # NaN slips through `temperature <= 0` and made the adversary reveal techniques in
        # column order, which a constant forecast then wins.
        if not (is_real(self.temperature) and math.isfinite(self.temperature)) or (
            self.temperature <= 0
        ):
            raise ValueError(f"temperature must be a finite number > 0, got {self.temperature!r}")
        if not (is_real(self.top_p) and math.isfinite(self.top_p) and 0 < self.top_p <= 1):
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p!r}")


def pack_campaigns(campaigns: list[Campaign]) -> tuple[np.ndarray, np.ndarray]:
    """Campaigns as (count, longest) technique columns padded with -1, and their lengths."""
    lengths = np.array([len(c.techniques) for c in campaigns], dtype=np.int64)
    sequences = np.full((len(campaigns), int(lengths.max())), -1, dtype=np.int64)
    for row, campaign in enumerate(campaigns):
        sequences[row, : len(campaign.techniques)] = campaign.techniques
    return sequences, lengths


def unpack_campaigns(sequences: np.ndarray, lengths: np.ndarray, source: str) -> list[Campaign]:
    """The inverse of `pack_campaigns`: one Campaign (a copy) per row."""
    return [
        Campaign(sequence[:length].copy(), source)
        for sequence, length in zip(sequences, lengths, strict=True)
    ]
