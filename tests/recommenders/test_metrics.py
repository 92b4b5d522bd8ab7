import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommenders.metrics import mse, ranking_metrics, top_k


def test_hand_computed_case():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    relevant = sp.csr_matrix([[0, 1, 0, 1, 0]])
    known = sp.csr_matrix([[1, 0, 0, 0, 0]])
    masked = ranking_metrics(scores, relevant, known, ks=[2, 3], mode="masked")
    # Masked ranking: 1, 2, 3, 4 → relevant at ranks 1 and 3.
    assert masked["precision@2"] == pytest.approx(0.5)
    assert masked["recall@3"] == pytest.approx(1.0)
    idcg3 = 1 + 1 / math.log2(3)
    assert masked["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / idcg3)
    tie = ranking_metrics(scores, relevant, known, ks=[2, 3], mode="tie")
    # Unmasked: 0, 1, 2 → relevant only at rank 2 within the top 3.
    assert tie["recall@3"] == pytest.approx(0.5)
    assert tie["ndcg@3"] == pytest.approx((1 / math.log2(3)) / idcg3)


def test_tie_ndcg_is_ratio_of_sums():
    scores = np.array([[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]])
    relevant = sp.csr_matrix([[1, 0, 0], [0, 0, 1]])
    tie = ranking_metrics(scores, relevant, ks=[3], mode="tie")
    dcg = 1 + 1 / math.log2(4)
    assert tie["ndcg@3"] == pytest.approx(dcg / 2)
    masked = ranking_metrics(scores, relevant, ks=[3], mode="masked")
    assert masked["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / 2)


def test_rows_without_relevant_items_are_skipped():
    scores = np.array([[1.0, 0.0], [0.0, 1.0]])
    relevant = sp.csr_matrix([[1, 0], [0, 0]])
    assert ranking_metrics(scores, relevant, ks=[1])["precision@1"] == 1.0
    with pytest.raises(ValueError, match="no report"):
        ranking_metrics(scores, sp.csr_matrix((2, 2)), ks=[1])


def test_top_k_excludes_and_orders():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert top_k(scores, 2).tolist() == [[1, 3]]
    assert top_k(scores, 2, sp.csr_matrix([[0, 1, 0, 0]])).tolist() == [[3, 2]]


def test_mse_ignores_known_cells():
    scores = np.array([[1.0, 0.5, 5.0]])
    assert mse(scores, sp.csr_matrix([[1, 0, 0]]), sp.csr_matrix([[0, 0, 1]])) == pytest.approx(
        0.125
    )


def test_agrees_with_ranx():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(0)
    n, m = 40, 30
    scores = rng.random((n, m))
    relevant = sp.csr_matrix(rng.random((n, m)) < 0.15)
    known = sp.csr_matrix((rng.random((n, m)) < 0.1) & ~relevant.toarray())
    ours = ranking_metrics(scores, relevant, known, ks=[1, 5, 10, 20], mode="masked")
    dense_rel, dense_known = relevant.toarray(), known.toarray()
    qrels, run = {}, {}
    for i in range(n):
        if not dense_rel[i].any():
            continue
        qrels[f"q{i}"] = {f"d{j}": 1 for j in np.flatnonzero(dense_rel[i])}
        run[f"q{i}"] = {f"d{j}": float(scores[i, j]) for j in range(m) if not dense_known[i, j]}
    names = [f"{metric}@{k}" for metric in ("precision", "recall", "ndcg") for k in (1, 5, 10, 20)]
    theirs = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), names)
    for name in names:
        assert ours[name] == pytest.approx(theirs[name], abs=1e-9), name
