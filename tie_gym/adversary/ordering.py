"""Reveal orders. Reports are sets, so the order in which a campaign is revealed is a choice:

- "model": the order in which the generative adversary sampled its techniques;
- "killchain": ATT&CK tactic order (a technique's earliest tactic), ties broken at random;
- "random": a uniform shuffle;
- "flow": the order of an Attack Flow incident (a seeded topological order of its DAG,
  `adversary/flows.py`), the one order an adversary was seen to follow.

The first three are imposed; results that hold only under one of them say so.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Order = Literal["model", "killchain", "random", "flow"]
ORDERS: tuple[str, ...] = ("model", "killchain", "random", "flow")


def first_tactic_ranks(tactics: list[tuple[str, ...]], tactic_order: tuple[str, ...]) -> np.ndarray:
    """Each technique's earliest tactic in kill-chain order (len(tactic_order) when it has none)."""
    rank = {t: i for i, t in enumerate(tactic_order)}
    return np.array(
        [min((rank.get(t, len(rank)) for t in ts), default=len(rank)) for ts in tactics]
    )


def arrange(
    rng: np.random.Generator,
    techniques: np.ndarray,
    order: Order,
    first_tactic_rank: np.ndarray,
    keep_first: int = 0,
) -> np.ndarray:
    """Put a technique set in the chosen reveal order (the first `keep_first` stay in front)."""
    if order not in ORDERS or order == "flow":
        raise ValueError(
            f"order must be one of {ORDERS[:3]} (only flows have an order of their own), got {order!r}"
        )
    head, tail = techniques[:keep_first], techniques[keep_first:]
    if order == "model":
        return techniques.copy()
    if order == "random":
        return np.concatenate([head, rng.permutation(tail)])
    ranks = first_tactic_rank[tail]
    return np.concatenate([head, tail[np.lexsort((rng.random(len(tail)), ranks))]])
