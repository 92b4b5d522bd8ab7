"""EASE: closed-form item-item model (Steck 2019, "Embarrassingly Shallow Autoencoders").

B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹ and diag(B) = 0. With a few hundred techniques
the m×m inverse is milliseconds, and fold-in is exact: a report's scores are x·B.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommenders.models.base import Recommender
from recommenders.models.foldin import IncrementalFoldIn, Rows, distinct_passes, take_pass


class EASE(Recommender):
    """Item-item regression with a zero diagonal; `regularization` is Steck's λ."""

    family = "ease"

    def __init__(self, regularization: float = 100.0) -> None:
        super().__init__(regularization=regularization)
        self.weights: np.ndarray | None = None

    def fit(self, train: sp.csr_matrix, seed: int = 0, device: str = "cpu") -> EASE:
        train = self._remember(train)
        gram = (train.T @ train).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.hparams["regularization"]
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights = weights.astype(np.float32)
        return self

    def score(self, observed: sp.csr_matrix) -> np.ndarray:
        observed = self._check_observed(observed)
        return np.asarray(observed @ self.weights, dtype=np.float32)

    def contributions(self, columns: np.ndarray) -> np.ndarray:
        """x·B is a sum of rows of B: seeing technique i adds B[i, j] to technique j."""
        return np.asarray(self.weights[np.asarray(columns, dtype=np.int64)], dtype=np.float64)  # type: ignore[index]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}  # type: ignore[dict-item]

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.weights = np.asarray(state["weights"], dtype=np.float32)
        self.n_items = self.weights.shape[0]

    def incremental_fold_in(self, batch: int) -> EaseFoldIn:
        return EaseFoldIn(self, batch)


class EaseFoldIn(IncrementalFoldIn):
    """Scores are x·B, so a new technique adds its row of B."""

    def __init__(self, model: EASE, batch: int) -> None:
        super().__init__(model, batch)
        self._weights = model.weights  # float32, shared with the model: no per-episode copy
        self._scores = np.zeros((batch, self.n_items), dtype=np.float32)

    def reset(self, rows: Rows) -> None:
        self._scores[rows] = 0.0

    def add(self, rows: Rows, columns: np.ndarray) -> None:
        for part in distinct_passes(rows):
            self._scores[take_pass(rows, part)] += self._weights[columns[part]]  # type: ignore[index]

    def scores(self, rows: Rows) -> np.ndarray:
        return self._scores[rows]
