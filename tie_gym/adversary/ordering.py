"""Reveal orders. Reports are sets, so the order in which a campaign is revealed is a choice:

- "model": the order in which the generative adversary sampled its techniques;
- "killchain": ATT&CK tactic order (a technique's earliest tactic), ties broken at random;
- "random": a uniform shuffle;
- "learned": by each technique's typical position in TRAM's report narratives, with noise
  (`recommenders.order.PositionOrder`): an order learned from how reports tell attacks, a little
  closer to the Attack Flow incidents than "model" (benchmarks/results/order_realism.md);
- "flow": the order of an Attack Flow incident (a seeded topological order of its DAG,
  `adversary/flows.py`), the one order an adversary was seen to follow.

The first four are imposed on sets; results that hold only under one of them say so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from recommenders.order import PositionOrder

Order = Literal["model", "killchain", "random", "learned", "flow"]
ORDERS: tuple[str, ...] = ("model", "killchain", "random", "learned", "flow")


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
    if order not in ORDERS[:3]:
        raise ValueError(
            f"order must be one of {ORDERS[:3]} here (learned: `Arranger`; only flows have an "
            f"order of their own), got {order!r}"
        )
    head, tail = techniques[:keep_first], techniques[keep_first:]
    if order == "model":
        return techniques.copy()
    if order == "random":
        return np.concatenate([head, rng.permutation(tail)])
    ranks = first_tactic_rank[tail]
    return np.concatenate([head, tail[np.lexsort((rng.random(len(tail)), ranks))]])


class Arranger:
    """Every reveal order in one place, for the generative sampler, replay and flows: the fixed
    ones (`arrange`) and the learned one, fitted on first use (it reads TRAM)."""

    def __init__(
        self, first_tactic_rank: np.ndarray, learned: Callable[[], PositionOrder] | None = None
    ) -> None:
        self.first_tactic_rank = first_tactic_rank
        self._learned = learned

    def __call__(
        self, rng: np.random.Generator, techniques: np.ndarray, order: Order, keep_first: int = 0
    ) -> np.ndarray:
        if order == "learned":
            if self._learned is None:
                raise ValueError('order="learned" needs a learned order; none was given')
            return self._learned().arrange(rng, techniques, keep_first)
        return arrange(rng, techniques, order, self.first_tactic_rank, keep_first)
