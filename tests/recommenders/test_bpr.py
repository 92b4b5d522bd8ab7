"""BPR fold-in: a report scores the same alone as inside any batch (evaluation vs environment)."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommenders.models import make_model
from recommenders.models.bpr import bpr_fold_in

FOLDING = {
    "bpr": {"factors": 8, "epochs": 20, "batch_size": 256, "learning_rate": 0.01},
    # implicit's factors carry the bias as the last column: 7 + 1, an odd fold-in width.
    "implicit_bpr": {"factors": 8, "iterations": 50, "learning_rate": 0.01},
}


@pytest.fixture
def wide_matrix() -> sp.csr_matrix:
    """200 reports × 40 techniques in four blocks of ten, plus one stray technique each."""
    rng = np.random.default_rng(7)
    dense = np.zeros((200, 40), dtype=np.float32)
    for i in range(200):
        block = 10 * (i % 4)
        dense[i, block + rng.choice(10, size=int(rng.integers(2, 9)), replace=False)] = 1
        dense[i, rng.integers(40)] = 1
    return sp.csr_matrix(dense)


def _top10(scores: np.ndarray) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :10]


@pytest.mark.parametrize("family", sorted(FOLDING))
def test_report_scores_the_same_alone_and_in_a_batch(family, wide_matrix):
    model = make_model(family, **FOLDING[family]).fit(wide_matrix[:150], seed=0)
    reports = wide_matrix[150:158]
    alone = np.vstack([model.score(reports[i]) for i in range(reports.shape[0])])
    # The same reports at other positions among 42 others, one of them twice.
    others = wide_matrix[158:200]
    batch = sp.vstack([others[:20], reports[:4], others[20:], reports[4:], reports[1]]).tocsr()
    scores = model.score(batch)
    in_batch = np.vstack([scores[20:24], scores[46:50]])
    np.testing.assert_allclose(in_batch, alone, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(_top10(in_batch), _top10(alone))
    # the repeated report scores as its first copy (float32 matmul blocking may differ by an ulp)
    np.testing.assert_allclose(scores[-1], scores[21], rtol=0, atol=1e-6)


def test_fold_in_keys_negatives_on_the_report_not_its_storage(wide_matrix):
    """Unsorted column indices and duplicate entries describe the same report."""
    rng = np.random.default_rng(0)
    q, b = rng.normal(size=(40, 5)).astype(np.float32), rng.normal(size=40).astype(np.float32)
    tidy = sp.csr_matrix(([1.0, 1.0, 1.0], [3, 17, 30], [0, 3]), shape=(1, 40))
    messy = sp.csr_matrix(([1.0, 0.5, 1.0, 0.5], [30, 3, 17, 3], [0, 4]), shape=(1, 40))
    np.testing.assert_array_equal(bpr_fold_in(q, b, messy), bpr_fold_in(q, b, tidy))
    assert messy.indices.tolist() == [30, 3, 17, 3]  # the caller's matrix is left alone


def test_fold_in_leaves_reports_without_a_negative_at_zero():
    """No technique, or every technique: there is no (used, unused) pair to rank."""
    rng = np.random.default_rng(0)
    q, b = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    observed = sp.csr_matrix(np.array([[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]]))
    users = bpr_fold_in(q, b, observed)
    np.testing.assert_array_equal(users[:2], 0)
    assert np.abs(users[2]).sum() > 0
