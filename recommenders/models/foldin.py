"""The incremental fold-in protocol: scores for many growing technique sets, one reveal at a time.

The adversary and the greedy defender both ask "given the techniques seen so far, score every
other one" after each reveal. Recomputing a fold-in from scratch costs a solve per step, so each
family may offer a faster exact update behind `Recommender.incremental_fold_in` (EASE adds one
row of B, WALS makes a Sherman–Morrison rank-one update, TopItems does nothing); the others keep
the seen sets and call their own batched `score` (`RecomputeFoldIn`). All state is NumPy,
single-threaded by design (env workers).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import numpy as np
import scipy.sparse as sp


class Scorer(Protocol):
    """What a fold-in needs of its model (a fitted `Recommender`)."""

    n_items: int | None

    def score(self, observed: sp.csr_matrix) -> np.ndarray: ...


Rows = np.ndarray | slice
"""Rows of the batch: an index array, or a slice (updated in place, without copies)."""


class IncrementalFoldIn(ABC):
    """Scores for `batch` technique sets that grow by `add`; `reset` empties chosen rows."""

    def __init__(self, model: Scorer, batch: int) -> None:
        self.model = model
        self.n_items = int(model.n_items)  # type: ignore[arg-type]
        self.batch = batch

    @abstractmethod
    def reset(self, rows: Rows) -> None:
        """Forget everything seen by these rows."""

    @abstractmethod
    def add(self, rows: Rows, columns: np.ndarray) -> None:
        """Row rows[i] has now also seen technique columns[i]; a row may appear several times
        (a set revealed at once), and then every one of its techniques is added."""

    @abstractmethod
    def scores(self, rows: Rows) -> np.ndarray:
        """(len(rows), n_items) scores; higher means more likely next. May be a view: read only."""


def distinct_passes(rows: Rows) -> list[Rows]:
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


def take_pass(rows: Rows, part: Rows) -> Rows:
    """The rows of one pass of `distinct_passes` (`part` indexes positions in `rows`)."""
    if isinstance(part, slice):
        return rows
    return rows[part]  # type: ignore[index]


class RecomputeFoldIn(IncrementalFoldIn):
    """Any family without a faster update: keep the seen sets and call the model's `score`."""

    def __init__(self, model: Scorer, batch: int) -> None:
        super().__init__(model, batch)
        self._seen = np.zeros((batch, self.n_items), dtype=np.float32)

    def reset(self, rows: Rows) -> None:
        self._seen[rows] = 0.0

    def add(self, rows: Rows, columns: np.ndarray) -> None:
        if isinstance(rows, slice):
            rows = np.arange(self.batch)[rows]
        self._seen[rows, columns] = 1.0

    def scores(self, rows: Rows) -> np.ndarray:
        return np.asarray(self.model.score(sp.csr_matrix(self._seen[rows])), dtype=np.float64)
