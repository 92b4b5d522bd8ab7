"""Incremental, batched fold-in: scores for many growing technique sets, one technique at a time.

The adversary and the greedy defender both ask "given the techniques seen so far, score every
other one" after each reveal. Recomputing a fold-in from scratch costs a solve per step; these
classes update in O(n) (EASE: add one row of B), O(k² + nk) (WALS: a Sherman–Morrison rank-one
update of (YᵀY + λI + Σ α y yᵀ)⁻¹), or nothing (TopItems). Other families fall back to the
model's own batched `score`. All state is NumPy, single-threaded by design (env workers).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommenders.models import Recommender

if TYPE_CHECKING:  # the classes only for annotations: importing WALS imports torch
    from recommenders.models.ease import EASE
    from recommenders.models.top_items import TopItems
    from recommenders.models.wals import WALS


class BatchFoldIn(ABC):
    """Scores for `batch` technique sets that grow by `add`; `reset` empties chosen rows."""

    def __init__(self, model: Recommender, batch: int) -> None:
        self.model = model
        self.n_items = int(model.n_items)  # type: ignore[arg-type]
        self.batch = batch

    @abstractmethod
    def reset(self, rows: np.ndarray) -> None:
        """Forget everything seen by these rows."""

    @abstractmethod
    def add(self, rows: np.ndarray | slice, columns: np.ndarray) -> None:
        """Row rows[i] has now also seen technique columns[i]; a row may appear several times
        (a set revealed at once), and then every one of its techniques is added."""

    @abstractmethod
    def scores(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), n_items) scores; higher means more likely next. May be a view: read only.

        `rows` may be an index array or a slice (a slice updates in place, without copies)."""


def distinct_passes(rows: np.ndarray | slice) -> list[np.ndarray | slice]:
    """Split the positions of `rows` into passes in which no row repeats.

    `array[rows] += update` keeps only the last update of a repeated row (NumPy buffers fancy
    indexing), and a rank-one update must see the previous one: each pass is safe to apply at
    once. Pass p holds every row's p-th occurrence; usually there is one pass (or a slice).
    """
    if isinstance(rows, slice) or len(rows) < 2:
        return [slice(None)]
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_rows)) + 1]
    occurrence = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    if occurrence.max() == 0:
        return [slice(None)]
    return [order[occurrence == p] for p in range(int(occurrence.max()) + 1)]


class PopularityFoldIn(BatchFoldIn):
    """TopItems: the same scores whatever was seen."""

    def __init__(self, model: TopItems, batch: int) -> None:
        super().__init__(model, batch)
        self._popularity = np.asarray(model.popularity, dtype=np.float64)

    def reset(self, rows: np.ndarray) -> None:
        return None

    def add(self, rows: np.ndarray | slice, columns: np.ndarray) -> None:
        return None

    def scores(self, rows: np.ndarray) -> np.ndarray:
        count = len(range(self.batch)[rows]) if isinstance(rows, slice) else len(rows)
        return np.broadcast_to(self._popularity, (count, self.n_items)).copy()


class EaseFoldIn(BatchFoldIn):
    """EASE: scores are x·B, so a new technique adds its row of B."""

    def __init__(self, model: EASE, batch: int) -> None:
        super().__init__(model, batch)
        self._weights = model.weights  # float32, shared with the model: no per-episode copy
        self._scores = np.zeros((batch, self.n_items), dtype=np.float32)

    def reset(self, rows: np.ndarray) -> None:
        self._scores[rows] = 0.0

    def add(self, rows: np.ndarray | slice, columns: np.ndarray) -> None:
        for part in distinct_passes(rows):
            self._scores[_take(rows, part)] += self._weights[columns[part]]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self._scores[rows]


class WalsFoldIn(BatchFoldIn):
    """WALS with binary values: rank-one updates of the row system's inverse.

    For a report with seen set S: A = YᵀY + λI + g Σ_{j∈S} y_j y_jᵀ and b = h Σ_{j∈S} y_j, with
    (g, h) = (α, 1 + α) for Hu et al. 2008 (r = 1) or (1, 1) for TIE (`WALS.binary_weights`);
    adding j updates A⁻¹ by Sherman–Morrison and b by one vector.
    """

    def __init__(self, model: WALS, batch: int) -> None:
        super().__init__(model, batch)
        gram_inv, _, y, y_t = model._cache()
        self._gram_weight, self._rhs_weight = model.binary_weights
        self._y, self._y_t, self._gram_inv = y, y_t, gram_inv
        k = y.shape[1]
        self._inverse = np.broadcast_to(gram_inv, (batch, k, k)).copy()
        self._rhs = np.zeros((batch, k))

    def reset(self, rows: np.ndarray) -> None:
        self._inverse[rows] = self._gram_inv
        self._rhs[rows] = 0.0

    def add(self, rows: np.ndarray | slice, columns: np.ndarray) -> None:
        for part in distinct_passes(rows):
            self._add_distinct(_take(rows, part), columns[part])

    def _add_distinct(self, rows: np.ndarray | slice, columns: np.ndarray) -> None:
        y = self._y[columns]  # (r, k)
        self._rhs[rows] += self._rhs_weight * y
        if self._gram_weight == 0:
            return
        g = self._gram_weight
        inverse = self._inverse[rows]
        u = np.einsum("rij,rj->ri", inverse, y)
        denominator = 1.0 + g * np.einsum("ri,ri->r", y, u)
        inverse -= (g / denominator)[:, None, None] * u[:, :, None] * u[:, None, :]
        self._inverse[rows] = inverse

    def scores(self, rows: np.ndarray) -> np.ndarray:
        factors = np.einsum("rij,rj->ri", self._inverse[rows], self._rhs[rows])
        return factors @ self._y_t


class RecomputeFoldIn(BatchFoldIn):
    """Any other family: keep the seen sets and call the model's batched fold-in."""

    def __init__(self, model: Recommender, batch: int) -> None:
        super().__init__(model, batch)
        self._seen = np.zeros((batch, self.n_items), dtype=np.float32)

    def reset(self, rows: np.ndarray) -> None:
        self._seen[rows] = 0.0

    def add(self, rows: np.ndarray | slice, columns: np.ndarray) -> None:
        if isinstance(rows, slice):
            rows = np.arange(self.batch)[rows]
        self._seen[rows, columns] = 1.0

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.score(sp.csr_matrix(self._seen[rows])), dtype=np.float64)


def _take(rows: np.ndarray | slice, part: np.ndarray | slice) -> np.ndarray | slice:
    """The rows of one pass (`part` indexes positions in `rows`)."""
    if isinstance(part, slice):
        return rows
    return rows[part]  # type: ignore[index]


def batch_fold_in(model: Recommender, batch: int) -> BatchFoldIn:
    """The fastest exact incremental fold-in available for this model's family."""
    if model.family == "ease":
        return EaseFoldIn(model, batch)  # type: ignore[arg-type]
    if model.family == "wals":
        return WalsFoldIn(model, batch)  # type: ignore[arg-type]
    if model.family == "top_items":
        return PopularityFoldIn(model, batch)  # type: ignore[arg-type]
    return RecomputeFoldIn(model, batch)
