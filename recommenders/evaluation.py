"""Score a model under either split protocol and compute both metric modes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from recommenders.data import HeldOutReports
from recommenders.metrics import KS, mse, ranking_metrics
from recommenders.models.base import Recommender


def _both_modes(
    scores: np.ndarray, relevant: sp.csr_matrix, known: sp.csr_matrix, ks: Iterable[int]
) -> dict[str, float]:
    results = {
        f"masked/{k}": v for k, v in ranking_metrics(scores, relevant, known, ks, "masked").items()
    }
    results.update(
        {f"tie/{k}": v for k, v in ranking_metrics(scores, relevant, known, ks, "tie").items()}
    )
    results["mse"] = mse(scores, relevant, known)
    return results


def evaluate_pairs(
    model: Recommender, train: sp.csr_matrix, heldout: sp.csr_matrix, ks: Iterable[int] = KS
) -> dict[str, float]:
    """Pair protocol: rank each training report's held-out pairs with its learned factors."""
    rows = np.flatnonzero(np.diff(heldout.indptr) > 0)
    scores = np.asarray(model.score_training_rows(rows), dtype=np.float32)
    return _both_modes(scores, heldout[rows], train[rows], ks)


def evaluate_reports(
    model: Recommender, reports: HeldOutReports, ks: Iterable[int] = KS
) -> dict[str, float]:
    """Report protocol: fold in the observed part of unseen reports, rank the rest."""
    scores = np.asarray(model.score(reports.observed), dtype=np.float32)
    return _both_modes(scores, reports.heldout, reports.observed, ks)
