"""The one interface every recommender family implements, and the shared input checks.

The environments and the pipeline only ever call `fit`, `score`, `score_training_rows`,
`incremental_fold_in`, `state_dict` and `load_state_dict`; they never ask which family they hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recommenders.models.foldin import IncrementalFoldIn, RecomputeFoldIn

if TYPE_CHECKING:
    import torch


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` picks CUDA when torch sees a GPU, else the CPU."""
    import torch  # only the torch families need it: an EASE env never imports torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} requested but torch sees no CUDA GPU; use --device cpu"
        )
    return resolved


def check_interactions(
    matrix: sp.spmatrix, n_items: int | None = None, what: str = "matrix"
) -> sp.csr_matrix:
    """CSR float32 with sorted indices, finite non-negative values and the expected width."""
    if not sp.issparse(matrix):
        raise TypeError(f"{what} must be a scipy sparse matrix, got {type(matrix).__name__}")
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sort_indices()
    if n_items is not None and csr.shape[1] != n_items:
        raise ValueError(
            f"{what} has {csr.shape[1]} technique columns but the model was trained on {n_items}; "
            "build it with the model's technique vocabulary"
        )
    if csr.nnz and (not np.all(np.isfinite(csr.data)) or csr.data.min() < 0):
        raise ValueError(f"{what} must hold finite, non-negative values")
    return csr


class Recommender(ABC):
    """A technique recommender: trained on reports, it scores techniques for unseen reports."""

    family: ClassVar[str]
    """Registry name, e.g. "wals"; stored in every artifact."""

    def __init__(self, **hparams: Any) -> None:
        self.hparams: dict[str, Any] = hparams
        self.n_items: int | None = None

    @abstractmethod
    def fit(self, train: sp.csr_matrix, seed: int = 0, device: str = "cpu") -> Recommender:
        """Learn from a report × technique matrix; returns self."""

    @abstractmethod
    def score(self, observed: sp.csr_matrix) -> np.ndarray:
        """Scores (rows × techniques) for reports *not* seen in training, by fold-in."""

    def score_training_rows(self, rows: np.ndarray) -> np.ndarray:
        """Scores for rows of the training matrix (TIE's pair protocol).

        Factor models override this with their learned row factors; the default folds the row in.
        """
        return self.score(self._train[rows])

    def incremental_fold_in(self, batch: int) -> IncrementalFoldIn:
        """Scores for `batch` technique sets that grow one reveal at a time, equal to `score`.

        Families with a faster exact update than re-scoring the whole set override this.
        """
        return RecomputeFoldIn(self, batch)

    def contributions(self, columns: np.ndarray) -> np.ndarray | None:
        """Each observed technique's share of every score, when the family's fold-in is additive.

        For a report that has seen `columns` (distinct, binary), a (len(columns), techniques)
        array whose column sums are `score` of that report: row i is what seeing columns[i]
        adds to each technique. None when the family has no exact decomposition (the forecast
        library then explains by leave-one-out, and says so).
        """
        return None

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Learned arrays only: what an artifact stores (never a pickled object)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore learned arrays from `state_dict()`."""

    def _remember(self, train: sp.csr_matrix) -> sp.csr_matrix:
        train = check_interactions(train, what="training matrix")
        self._train = train
        self.n_items = train.shape[1]
        return train

    def _check_observed(self, observed: sp.spmatrix) -> sp.csr_matrix:
        if self.n_items is None:
            raise RuntimeError(
                f"{type(self).__name__} is not fitted: call fit() or load an artifact first"
            )
        return check_interactions(observed, self.n_items, what="observed matrix")
