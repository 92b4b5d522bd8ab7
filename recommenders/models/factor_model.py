"""What every matrix-factorisation family shares: learned arrays, training-row scores, storage.

A factor model scores a training report as its row factors times the technique factors (plus a
technique bias where the family learns one); its artifact is those arrays and nothing else.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recommenders.models.base import Recommender


def hyperparameters(arguments: dict[str, Any]) -> dict[str, Any]:
    """A family's `__init__` arguments, in signature order, as its hyperparameters:
    `super().__init__(**hyperparameters(locals()))` as the constructor's first line."""
    return {name: value for name, value in arguments.items() if name not in ("self", "__class__")}


class FactorModel(Recommender):
    """A recommender whose learned state is the arrays named in `arrays`."""

    arrays: ClassVar[tuple[str, ...]] = ("user_factors", "item_factors")
    """Attribute names of the learned arrays, as stored in an artifact."""

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.user_factors: np.ndarray | None = None
        self.item_factors: np.ndarray | None = None
        self.item_bias: np.ndarray | None = None

    def score_training_rows(self, rows: np.ndarray) -> np.ndarray:
        scores = self.user_factors[rows] @ self.item_factors.T  # type: ignore[index,union-attr]
        return scores if self.item_bias is None else scores + self.item_bias

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.arrays}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for name in self.arrays:
            setattr(self, name, np.asarray(state[name]))
        self.n_items = self.item_factors.shape[0]  # type: ignore[union-attr]
        self._loaded()

    def _loaded(self) -> None:
        """Rebuild what the family derives from its arrays (after `fit` or loading)."""
