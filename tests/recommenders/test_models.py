"""One behavioural contract, run over every family (the `implicit` test-mixin idea)."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommenders.models import FAMILIES, make_model

SMALL = {
    "wals": {"factors": 4, "regularization": 10.0, "alpha": 2.0, "epochs": 10},
    "bpr": {"factors": 8, "epochs": 100, "batch_size": 256, "learning_rate": 0.01},
    "top_items": {},
    "factorization": {"factors": 4, "epochs": 200, "regularization": 0.1},
    "ease": {"regularization": 5.0},
    "implicit_als": {"factors": 4, "regularization": 10.0, "alpha": 3.0, "iterations": 10},
    "implicit_bpr": {"factors": 8, "iterations": 200, "learning_rate": 0.01},
}
PERSONALISED = sorted(set(FAMILIES) - {"top_items"})


def test_every_family_has_small_settings():
    assert set(SMALL) == set(FAMILIES)


@pytest.mark.parametrize("family", PERSONALISED)
def test_fold_in_recommends_own_block_first(family, block_matrix):
    """Known answer: a new report using block-A techniques must rank the rest of block A first."""
    model = make_model(family, **SMALL[family]).fit(block_matrix, seed=0)
    observed = sp.csr_matrix(
        (np.ones(4, dtype=np.float32), ([0, 0, 1, 1], [0, 1, 6, 7])), shape=(2, 12)
    )
    scores = model.score(observed)
    assert scores.shape == (2, 12)
    for row, block, other in ((0, range(2, 6), range(6, 12)), (1, range(8, 12), range(0, 6))):
        assert scores[row, list(block)].min() > scores[row, list(other)].max(), family


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_same_seed_same_model(family, block_matrix):
    a = make_model(family, **SMALL[family]).fit(block_matrix, seed=3).state_dict()
    b = make_model(family, **SMALL[family]).fit(block_matrix, seed=3).state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_state_dict_round_trip_scores_identically(family, block_matrix):
    model = make_model(family, **SMALL[family]).fit(block_matrix, seed=0)
    clone = make_model(family, **SMALL[family])
    clone.load_state_dict(model.state_dict())
    observed = block_matrix[:5]
    np.testing.assert_allclose(clone.score(observed), model.score(observed), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_bad_inputs(family, block_matrix):
    model = make_model(family, **SMALL[family])
    with pytest.raises(RuntimeError, match="not fitted"):
        model.score(block_matrix[:1])
    model.fit(block_matrix, seed=0)
    with pytest.raises(ValueError, match="vocabulary"):
        model.score(sp.csr_matrix((1, 13)))
    bad = block_matrix[:1].copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        model.score(bad)


def test_unknown_family_and_hyperparameter():
    with pytest.raises(ValueError, match="unknown model family"):
        make_model("svd")
    with pytest.raises(ValueError, match="bad hyperparameters"):
        make_model("ease", lam=3)
