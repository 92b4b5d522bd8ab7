"""Our exact WALS against `implicit`'s exact solver, and its fold-in paths against each other."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recommenders.models.wals import WALS, _bucketize, solve_rows


def _random_matrix(seed=0, n=80, m=50, density=0.1):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, m)) < density).astype(np.float32)
    dense[np.arange(n), rng.integers(0, m, n)] = 1
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("factors", [8, 32])
def test_parity_with_implicit_exact_solver(factors):
    """Same start, same alternation order: factors agree to 1e-4 (implicit alpha = 1 + α)."""
    from implicit.cpu.als import AlternatingLeastSquares

    matrix = _random_matrix(m=40)
    rng = np.random.default_rng(1)
    x0 = (rng.random((matrix.shape[0], factors)) * 0.01).astype(np.float32)
    y0 = (rng.random((matrix.shape[1], factors)) * 0.01).astype(np.float32)
    alpha, reg = 4.0, 0.5
    theirs = AlternatingLeastSquares(
        factors=factors,
        regularization=reg,
        alpha=1 + alpha,
        use_cg=False,
        iterations=5,
        num_threads=1,
        random_state=0,
    )
    theirs.user_factors, theirs.item_factors = x0.copy(), y0.copy()
    theirs.fit(matrix, show_progress=False)
    ours = WALS(factors=factors, alpha=alpha, regularization=reg, epochs=5, dtype="float64")
    ours.fit(matrix, initial=(x0, y0))
    np.testing.assert_allclose(ours.user_factors, theirs.user_factors, atol=1e-4)
    np.testing.assert_allclose(ours.item_factors, theirs.item_factors, atol=1e-4)


def test_woodbury_equals_direct_solve():
    """Short rows take the Woodbury path, long rows the direct one: both equal a dense solve."""
    matrix = _random_matrix(density=0.3)
    rng = np.random.default_rng(2)
    fixed = torch.as_tensor(rng.normal(size=(matrix.shape[1], 16)))
    alpha, reg = 3.0, 0.7
    got = solve_rows(
        _bucketize(matrix, torch.device("cpu"), torch.float64), fixed, matrix.shape[0], alpha, reg
    ).numpy()
    y = fixed.numpy()
    for u in range(matrix.shape[0]):
        c = 1 + alpha * matrix[u].toarray().ravel()
        p = (matrix[u].toarray().ravel() > 0).astype(float)
        expected = np.linalg.solve(
            y.T @ (c[:, None] * y) + (reg + 1e-6) * np.eye(16), y.T @ (c * p)
        )
        np.testing.assert_allclose(got[u], expected, rtol=1e-7, atol=1e-9)


def test_tie_compat_ignores_alpha():
    matrix = _random_matrix()
    a = WALS(factors=4, alpha=0.0, regularization=0.0, epochs=5, tie_compat=True).fit(
        matrix, seed=0
    )
    b = WALS(factors=4, alpha=50.0, regularization=0.0, epochs=5, tie_compat=True).fit(
        matrix, seed=0
    )
    c = WALS(factors=4, alpha=50.0, regularization=0.0, epochs=5).fit(matrix, seed=0)
    np.testing.assert_allclose(a.item_factors, b.item_factors)
    assert not np.allclose(a.item_factors, c.item_factors)
