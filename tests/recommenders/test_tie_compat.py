"""`tie_compat=True` is TIE: its row solve in training and fold-in, and its web app's ranking.

The references below restate TIE's formula, x = (VᵀV + V_SᵀV_S + λI)⁻¹ Vᵀp (its Python
`WalsRecommender._update_factor` and the web app's `WalsRecommender.ts`), densely and row by row.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from recommenders.models.wals import WALS
from recommenders.tie_format import import_tie_model


def tie_update(fixed: np.ndarray, data: np.ndarray, regularization: float) -> np.ndarray:
    """TIE's update of every row of `data` (rows × fixed.shape[0]) against fixed factors."""
    gram = fixed.T @ fixed
    out = np.empty((data.shape[0], fixed.shape[1]))
    for i, p in enumerate(data):
        observed = fixed[p > 0]
        system = gram + observed.T @ observed + regularization * np.eye(fixed.shape[1])
        out[i] = np.linalg.solve(system, fixed.T @ p)
    return out


def _matrix(seed=0, n=60, m=30):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, m)) < 0.15).astype(np.float64)
    dense[np.arange(n), rng.integers(0, m, n)] = 1
    return dense


def test_training_alternation_is_tie_update():
    dense = _matrix()
    rng = np.random.default_rng(1)
    x0, y0 = rng.normal(size=(60, 4)), rng.normal(size=(30, 4))
    model = WALS(factors=4, regularization=0.5, epochs=3, tie_compat=True, c=0.001, dtype="float64")
    model.fit(sp.csr_matrix(dense), initial=(x0, y0))
    x, y = x0, y0
    for _ in range(3):
        x = tie_update(y, dense, 0.5)
        y = tie_update(x, dense.T, 0.5)
    np.testing.assert_allclose(model.user_factors, x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.item_factors, y, rtol=1e-5, atol=1e-6)


def test_fold_in_is_tie_update():
    dense = _matrix()
    model = WALS(factors=4, regularization=0.0, epochs=5, tie_compat=True).fit(sp.csr_matrix(dense))
    new = _matrix(seed=5, n=8)
    expected = tie_update(model.item_factors.astype(np.float64), new, 0.0)
    np.testing.assert_allclose(model.fold_in(sp.csr_matrix(new)), expected, rtol=1e-5, atol=1e-6)


def webapp_ranking(v: np.ndarray, observed: list[int], regularization: float) -> list[int]:
    """TIE's web app: fold in the observed techniques, score V·x, drop the observed, sort."""
    p = np.zeros(v.shape[0])
    p[observed] = 1.0
    scores = v @ tie_update(v, p[None, :], regularization)[0]
    ranked = np.argsort(-scores, kind="stable")
    return [int(j) for j in ranked if j not in set(observed)]


def test_shipped_webapp_model_ranks_as_the_webapp(real_data_dir):
    path = real_data_dir / "tie" / "app.trained.model.zip"
    model, ids = import_tie_model(path)
    assert len(ids) == model.item_factors.shape[0]
    v = model.item_factors.astype(np.float64)
    reg = float(model.hparams["regularization"])
    rng = np.random.default_rng(0)
    for _ in range(200):
        observed = sorted(rng.choice(len(ids), size=int(rng.integers(1, 11)), replace=False))
        row = sp.csr_matrix(
            (np.ones(len(observed), dtype=np.float32), ([0] * len(observed), observed)),
            shape=(1, len(ids)),
        )
        scores = model.score(row)[0].astype(np.float64)
        scores[observed] = -np.inf
        ours = [int(j) for j in np.argsort(-scores, kind="stable")[:20]]
        assert ours == webapp_ranking(v, observed, reg)[:20], observed


@pytest.mark.parametrize("c", [0.001, 0.5])
def test_tie_c_only_switches_the_observed_term_on(c):
    """TIE's c enters only through α = 1/c − 1 ≠ 0: any c in (0, 1) gives the same model."""
    dense = sp.csr_matrix(_matrix())
    a = WALS(factors=4, regularization=0.1, epochs=4, tie_compat=True, c=c).fit(dense, seed=0)
    b = WALS(factors=4, regularization=0.1, epochs=4, tie_compat=True, c=0.024).fit(dense, seed=0)
    np.testing.assert_allclose(a.item_factors, b.item_factors)
