"""Ranking metrics for technique recommendation: precision, recall and NDCG at k, and MSE.

Two protocols, always labelled:
- **masked** (correct): techniques already known for a report (its training entries or the
  observed part of an unseen report) are removed from its ranking; metrics are averaged over
  reports with at least one held-out technique.
- **tie** (TIE-compatible): nothing is removed, so known techniques crowd the top; NDCG is
  ΣDCG/ΣIDCG over all reports, as TIE computes it. Reported only to compare with TIE's numbers.
Relevance is binary. IDCG@k = Σ_{i<min(k,|rel|)} 1/log2(i+2) (Järvelin & Kekäläinen 2002).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import scipy.sparse as sp

KS: tuple[int, ...] = (1, 5, 10, 20, 50, 100)

Mode = Literal["masked", "tie"]


def _as_csr(matrix: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
    """CSR without stored zeros; the caller's matrix is never changed (it may be read-only, e.g.
    shared from Ray's object store): a copy is made only when there are zeros to drop."""
    csr = sp.csr_matrix(matrix)
    if csr.nnz and not np.all(csr.data):
        csr = csr.copy()
        csr.eliminate_zeros()
    return csr


def top_k(scores: np.ndarray, k: int, exclude: sp.spmatrix | None = None) -> np.ndarray:
    """Column indices of each row's k highest scores, best first; `exclude` entries never rank."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        excluded = _as_csr(exclude).tocoo()
        scores[excluded.row, excluded.col] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def ranking_metrics(
    scores: np.ndarray,
    relevant: sp.spmatrix,
    exclude: sp.spmatrix | None = None,
    ks: Iterable[int] = KS,
    mode: Mode = "masked",
) -> dict[str, float]:
    """precision@k, recall@k and ndcg@k for every k, keyed like "ndcg@20".

    Args:
        scores: (reports × techniques) model scores.
        relevant: the held-out techniques to find (non-zero = relevant).
        exclude: techniques known for each report; ignored in mode "tie".
        mode: "masked" (correct) or "tie" (TIE-compatible, see module docstring).
    """
    ks = tuple(sorted(set(ks)))
    relevant = _as_csr(relevant)
    if scores.shape != relevant.shape:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} differ in shape")
    n_relevant = np.diff(relevant.indptr)
    rows = np.flatnonzero(n_relevant > 0)
    if len(rows) == 0:
        raise ValueError("no report has a held-out technique to evaluate")
    mask = None if mode == "tie" or exclude is None else _as_csr(exclude)[rows]
    ranked = top_k(scores[rows], max(ks), mask)
    hits = np.take_along_axis(relevant[rows].toarray() > 0, ranked, axis=1)
    n_rel = n_relevant[rows].astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    dcg_cumulative = np.cumsum(hits * discount, axis=1)
    ideal_cumulative = np.concatenate([[0.0], np.cumsum(discount)])
    hits_cumulative = np.cumsum(hits, axis=1)
    results: dict[str, float] = {}
    for k in ks:
        column = min(k, ranked.shape[1]) - 1
        found = hits_cumulative[:, column]
        dcg = dcg_cumulative[:, column]
        idcg = ideal_cumulative[np.minimum(n_rel, k).astype(int)]
        results[f"precision@{k}"] = float(np.mean(found / k))
        results[f"recall@{k}"] = float(np.mean(found / n_rel))
        results[f"ndcg@{k}"] = (
            float(dcg.sum() / idcg.sum()) if mode == "tie" else float(np.mean(dcg / idcg))
        )
    return results


def mse(scores: np.ndarray, relevant: sp.spmatrix, exclude: sp.spmatrix | None = None) -> float:
    """Mean squared error against 1 on held-out cells and 0 on every other non-excluded cell."""
    target = _as_csr(relevant).toarray() > 0
    keep = np.ones(scores.shape, dtype=bool)
    if exclude is not None:
        excluded = _as_csr(exclude).tocoo()
        keep[excluded.row, excluded.col] = False
    return float(np.mean((scores[keep] - target[keep]) ** 2))
