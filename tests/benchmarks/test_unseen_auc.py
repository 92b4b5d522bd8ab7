"""The simulated cold-start benchmark's AUC (`benchmarks.unseen.share_below`)."""

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks.unseen import share_below


def test_share_below_is_the_auc_with_ties_half():
    rng = np.random.default_rng(0)
    negatives = rng.integers(0, 5, 40).astype(float)
    negatives[:3] = -np.inf  # unreachable techniques tie at the bottom
    values = rng.integers(0, 5, 7).astype(float)
    values[0] = -np.inf
    mean = share_below(negatives, values).mean()
    labels = np.r_[np.zeros(len(negatives)), np.ones(len(values))]
    scores = np.r_[negatives, values]
    scores[np.isinf(scores)] = -1e9
    assert np.isclose(mean, roc_auc_score(labels, scores))
