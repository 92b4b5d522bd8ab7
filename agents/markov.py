"""A sequence-aware defender: first-order transitions between techniques in kill-chain order.

Fitted on the training reports of an artifact's split (never its test reports): each report is put
in kill-chain order (earliest tactic first, ties broken by a seeded generator) and every
consecutive pair (a → b) is counted. Forecast scores for the next technique are the transition
counts out of the last revealed technique, backed off to popularity for unseen transitions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.baselines import Agent
from agents.corpus import require_corpus
from tie_gym.adversary import Adversary


def fit_transitions(adversary: Adversary, seed: int = 0) -> np.ndarray:
    """(n, n) transition counts over the corpus reports the artifact did not hold out.

    Reads the TIE corpus (`TIE_DATA_DIR`); without it, a one-line DataError says so.
    """
    require_corpus(adversary, "markov (fitted on the corpus's training reports)")
    rng = np.random.default_rng(seed)
    n = adversary.n_techniques
    counts = np.zeros((n, n))
    for _, columns in adversary.corpus_reports["train"]:
        ordered = adversary.arrange(rng, columns, "killchain")
        np.add.at(counts, (ordered[:-1], ordered[1:]), 1.0)
    return counts


class MarkovAgent(Agent):
    """Scores = P(next | last revealed) from kill-chain transitions, with popularity back-off."""

    def __init__(
        self,
        transitions: np.ndarray,
        popularity: np.ndarray,
        action_mode: str = "scores",
        backoff: float = 0.1,
    ) -> None:
        super().__init__(len(popularity), action_mode)
        totals = transitions.sum(axis=1, keepdims=True)
        self.probabilities = np.divide(
            transitions, totals, out=np.zeros_like(transitions), where=totals > 0
        )
        self.prior = backoff * np.asarray(popularity, dtype=np.float64)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        last = int(self.schema.last(observation))
        return self._emit(self.probabilities[last] + self.prior, self.schema.seen(observation))
