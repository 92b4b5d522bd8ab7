"""TIE's forecast as input features (`features="recommender"`): the adversary model's own
fold-in of the techniques one env has seen, kept up to date one reveal at a time."""

from __future__ import annotations

import numpy as np

from recommenders.models import Recommender

_ROW = np.zeros(1, dtype=np.int64)


class RecommenderFeatures:
    """Raw fold-in scores of one growing technique set (the observation schema squashes them)."""

    def __init__(self, model: Recommender) -> None:
        self._fold_in = model.incremental_fold_in(1)

    def start(self, shown: np.ndarray) -> np.ndarray:
        """Scores after a new campaign shows `shown` (folded in as one set)."""
        self._fold_in.reset(_ROW)
        self._fold_in.add(np.zeros(len(shown), dtype=np.int64), shown)
        return self._fold_in.scores(_ROW)[0]

    def reveal(self, technique: int) -> np.ndarray:
        """Scores once `technique` has also been seen."""
        self._fold_in.add(_ROW, np.array([technique]))
        return self._fold_in.scores(_ROW)[0]
