"""Incremental fold-in: techniques added one call at a time, or a whole set at once, give the
family's exact batch fold-in of that set."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommenders.models import FAMILIES, make_model
from recommenders.models.foldin import distinct_passes
from tests.recommenders.test_models import SMALL

# rows of a batch of 3 and the sets they see; row 0 gets two techniques in one call
SETS = {0: [0, 2], 1: [7], 2: [1, 3, 4]}
VARIANTS = {
    **{f: SMALL[f] for f in sorted(FAMILIES)},
    "tie_wals": {**SMALL["wals"], "tie_compat": True},
}


def _model(name, block_matrix):
    family = "wals" if name == "tie_wals" else name
    return make_model(family, **VARIANTS[name]).fit(block_matrix, seed=0)


def _fresh(name, block_matrix):
    """A fitted model of the variant and an emptied fold-in of 3 rows over it."""
    model = _model(name, block_matrix)
    fold_in = model.incremental_fold_in(3)
    fold_in.reset(np.arange(3))
    return model, fold_in


def _exact(model, n):
    rows = [r for r, cols in SETS.items() for _ in cols]
    cols = [c for cs in SETS.values() for c in cs]
    observed = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(3, n))
    return model.score(observed)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_set_added_at_once_equals_the_batch_fold_in(name, block_matrix):
    model, fold_in = _fresh(name, block_matrix)
    rows = np.array([r for r, cols in SETS.items() for _ in cols])
    fold_in.add(rows, np.array([c for cs in SETS.values() for c in cs]))
    np.testing.assert_allclose(
        fold_in.scores(np.arange(3)), _exact(model, 12), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_sets_added_one_by_one_and_by_slice_agree(name, block_matrix):
    model, fold_in = _fresh(name, block_matrix)
    fold_in.add(slice(0, 3), np.array([SETS[0][0], SETS[1][0], SETS[2][0]]))
    fold_in.add(np.array([0, 2, 2]), np.array([SETS[0][1], SETS[2][1], SETS[2][2]]))
    np.testing.assert_allclose(
        fold_in.scores(np.arange(3)), _exact(model, 12), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_scores_by_slice_equal_scores_by_index(name, block_matrix):
    """The generative adversary reads scores of a prefix of rows by slice."""
    _, fold_in = _fresh(name, block_matrix)
    fold_in.add(np.array([0, 1, 2]), np.array([0, 7, 3]))
    np.testing.assert_allclose(fold_in.scores(slice(0, 2)), fold_in.scores(np.arange(2)))


def test_distinct_passes_never_repeat_a_row():
    rows = np.array([4, 1, 4, 4, 2, 1])
    passes = distinct_passes(rows)
    assert len(passes) == 3
    covered = np.concatenate([np.arange(len(rows))[p] for p in passes])
    assert sorted(covered) == list(range(len(rows)))
    for part in passes:
        assert len(set(rows[part])) == len(rows[part])
