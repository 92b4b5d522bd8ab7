"""TopItems: rank techniques by how many training reports use them (TIE's frequency baseline)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommenders.models.base import Recommender
from recommenders.models.foldin import IncrementalFoldIn, Rows


class TopItems(Recommender):
    """Popularity: the same ranking for every report; the floor every model must clear."""

    family = "top_items"

    def __init__(self) -> None:
        super().__init__()
        self.popularity: np.ndarray | None = None

    def fit(self, train: sp.csr_matrix, seed: int = 0, device: str = "cpu") -> TopItems:
        train = self._remember(train)
        # Report frequency, not summed counts: a technique named 40 times in one report is one report.
        self.popularity = np.asarray((train > 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, observed: sp.csr_matrix) -> np.ndarray:
        observed = self._check_observed(observed)
        return np.broadcast_to(self.popularity, observed.shape).copy()  # type: ignore[arg-type]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity}  # type: ignore[dict-item]

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.popularity = np.asarray(state["popularity"], dtype=np.float32)
        self.n_items = len(self.popularity)

    def incremental_fold_in(self, batch: int) -> PopularityFoldIn:
        return PopularityFoldIn(self, batch)


class PopularityFoldIn(IncrementalFoldIn):
    """The same scores whatever was seen."""

    def __init__(self, model: TopItems, batch: int) -> None:
        super().__init__(model, batch)
        self._popularity = np.asarray(model.popularity, dtype=np.float64)

    def reset(self, rows: Rows) -> None:
        return None

    def add(self, rows: Rows, columns: np.ndarray) -> None:
        return None

    def scores(self, rows: Rows) -> np.ndarray:
        count = len(range(self.batch)[rows]) if isinstance(rows, slice) else len(rows)
        return np.broadcast_to(self._popularity, (count, self.n_items)).copy()
