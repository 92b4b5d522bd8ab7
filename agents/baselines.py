"""Baseline defenders with one interface: `act(observation, info) -> action`.

Each baseline reads only what the environment exposes (the seen techniques and the last one,
through `tie_gym.observation`), so it works on any TIE-Forecast variant in either action mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommenders.models import Recommender
from tie_gym.observation import ObservationSchema


class Agent:
    """A defender: turns an observation into a forecast action."""

    def __init__(self, n_techniques: int, action_mode: str = "scores") -> None:
        self.n_techniques = n_techniques
        self.action_mode = action_mode
        # TIE-Forecast's layout; `seen` and `last` are the same columns with recommender features
        self.schema = ObservationSchema(n_techniques)

    def _emit(self, scores: np.ndarray, seen: np.ndarray) -> np.ndarray | int:
        if self.action_mode == "guess":
            return int(np.argmax(np.where(seen, -np.inf, scores)))
        low, high = scores.min(), scores.max()
        scaled = (scores - low) / (high - low) * 2 - 1 if high > low else np.zeros_like(scores)
        return scaled.astype(np.float32)

    def reset(self) -> None:
        """Called at the start of each episode."""

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        raise NotImplementedError


class RandomAgent(Agent):
    """Uniformly random forecasts (the floor)."""

    def __init__(self, n_techniques: int, action_mode: str = "scores", seed: int = 0) -> None:
        super().__init__(n_techniques, action_mode)
        self.rng = np.random.default_rng(seed)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        return self._emit(self.rng.random(self.n_techniques), self.schema.seen(observation))


class FrequencyAgent(Agent):
    """Always forecast the most common unseen techniques (TopItems)."""

    def __init__(self, popularity: np.ndarray, action_mode: str = "scores") -> None:
        super().__init__(len(popularity), action_mode)
        self.popularity = np.asarray(popularity, dtype=np.float64)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        return self._emit(self.popularity, self.schema.seen(observation))


class GreedyAgent(Agent):
    """TIE's approach: fold the seen techniques into a recommender and forecast its top scores.

    The fold-in is incremental: only techniques that became visible since the last call are added.
    """

    def __init__(self, model: Recommender, action_mode: str = "scores") -> None:
        super().__init__(int(model.n_items), action_mode)  # type: ignore[arg-type]
        self.fold_in = model.incremental_fold_in(1)
        self._known = np.zeros(self.n_techniques, dtype=bool)
        self._row = np.zeros(1, dtype=np.int64)

    def reset(self) -> None:
        self.fold_in.reset(self._row)
        self._known[:] = False

    def scores(self, observation: np.ndarray) -> np.ndarray:
        """The recommender's fold-in scores for the techniques seen in `observation`."""
        seen = self.schema.seen(observation)
        if np.any(self._known & ~seen):  # a new episode started without reset()
            self.reset()
        new = np.flatnonzero(seen & ~self._known)
        if len(new):
            self.fold_in.add(np.zeros(len(new), dtype=np.int64), new)
            self._known |= seen
        return self.fold_in.scores(self._row)[0]

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        return self._emit(self.scores(observation), self.schema.seen(observation))


class TacticGreedyAgent(GreedyAgent):
    """Greedy, but never forecasts a technique whose first tactic precedes the last revealed one's.

    This exploits an order the project imposes, not one observed: reports are sets, and the
    kill-chain replay envs (`order="killchain"`, e.g. TIE-ForecastReplay-v0) reveal a report
    sorted by each technique's earliest tactic (`Adversary.arrange`), so the next technique's
    first tactic is never earlier than the last one's. It is the floor a sequence model must beat
    there before its gain says anything about adversaries. Where the sort keeps the shown
    techniques in front (generative campaigns with `order="killchain"`) the rule can be wrong on
    the first forecast; on random or model order it has nothing to exploit.

    Scores of unseen techniques with an earlier first tactic than the last revealed technique's
    (`ObservationSchema.last`) are shifted below every other score, keeping their order
    among themselves; all other scores are GreedyAgent's.
    """

    def __init__(
        self, model: Recommender, first_tactic_rank: np.ndarray, action_mode: str = "scores"
    ) -> None:
        super().__init__(model, action_mode)
        self.first_tactic_rank = np.asarray(first_tactic_rank)
        if self.first_tactic_rank.shape != (self.n_techniques,):
            raise ValueError(
                f"first_tactic_rank needs one rank per technique ({self.n_techniques}), got shape "
                f"{self.first_tactic_rank.shape}; pass env.unwrapped.adversary.first_tactic_rank"
            )

    def scores(self, observation: np.ndarray) -> np.ndarray:
        scores = super().scores(observation).astype(np.float64)
        last, unseen = int(self.schema.last(observation)), ~self.schema.seen(observation)
        earlier = (self.first_tactic_rank < self.first_tactic_rank[last]) & unseen
        if not earlier.any():
            return scores
        # the smallest shift that puts the earlier block below every other score: `act` rescales
        # to float32 in [-1, 1], so a wider range would merge more near-equal scores into ties
        span = scores.max() - scores.min()
        shift = scores[earlier].max() - scores[~earlier].min() + (0.01 * span if span > 0 else 1.0)
        return np.where(earlier, scores - shift, scores)
