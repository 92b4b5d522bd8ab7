"""An adversary that reacts to detections: what it uses instead of a detected technique.

When the technique an evasive adversary is about to use is already detected, with probability
`probability` it uses instead an unused, undetected technique of the same tactic, drawn from
softmax(z / temperature) of the recommender's fold-in of what it has done (z standardised over
those candidates). The substitute takes the planned technique's place in the campaign and a later
use of it is dropped. Probability 0 draws no random number, so such an adversary is the static
one exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tie_gym.adversary.model import Adversary


class Evasion:
    """The substitution rule of TIE-Defend's evasive adversary, shared by the single and the
    vector env."""

    def __init__(self, adversary: Adversary, probability: float, temperature: float) -> None:
        self.adversary, self.probability, self.temperature = adversary, probability, temperature
        rank = {t: i for i, t in enumerate(adversary.tactic_order)}
        self.tactics = np.zeros((adversary.n_techniques, len(rank)), dtype=bool)
        for column, names in enumerate(adversary.tactics):
            self.tactics[column, [rank[t] for t in names if t in rank]] = True

    def evades(self, rng: np.random.Generator) -> bool:
        """Whether this detected technique is avoided (no draw when the probability is 0)."""
        return self.probability > 0 and rng.random() < self.probability

    def substitute(
        self,
        rng: np.random.Generator,
        techniques: np.ndarray,
        cursor: int,
        seen: np.ndarray,
        detected: np.ndarray,
    ) -> tuple[np.ndarray, int]:
        """(the campaign with the substitute at `cursor`, the substitute's column); the campaign
        unchanged and the planned column when no technique of its tactic is left."""
        planned = int(techniques[cursor])
        candidates = np.flatnonzero(
            (self.tactics & self.tactics[planned]).any(axis=1) & ~seen & ~detected
        )
        if len(candidates) == 0:
            return techniques, planned
        row = sp.csr_matrix(seen[None, :].astype(np.float32))
        scores = np.asarray(self.adversary.model.score(row), dtype=np.float64)[0, candidates]
        spread = scores.std()
        logits = (scores - scores.mean()) / (spread if spread > 0 else 1.0) / self.temperature
        weights = np.exp(logits - logits.max())
        choice = int(candidates[rng.choice(len(candidates), p=weights / weights.sum())])
        later = techniques[cursor + 1 :]
        return np.concatenate([techniques[:cursor], [choice], later[later != choice]]), choice
