"""Inverse-CDF draws in NumPy (`additive.py` holds their compiled twin).

`rng.choice(p=…)` rebuilds the CDF on every call and draws one distribution at a time; these take
one uniform per draw, so the same seed gives the same campaigns in the single and vector envs.
"""

from __future__ import annotations

import numpy as np

from tie_gym.adversary.additive import BLOCK


def draw_from_cdf(rng: np.random.Generator, cdf: np.ndarray, count: int) -> np.ndarray:
    """`count` indices from one distribution given by its CDF."""
    return np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), len(cdf) - 1)


def draw_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row with probability ∝ weights, by a two-level inverse CDF.

    A full row-wise cumsum is a slow scalar loop in NumPy; summing blocks of 32 is vectorised, so
    we pick a block from the block totals, then an index inside it (one uniform draw per row).
    """
    rows, width = weights.shape
    padded_width = -(-width // BLOCK) * BLOCK
    if padded_width != width:
        weights = np.pad(weights, ((0, 0), (0, padded_width - width)))
    blocks = weights.reshape(rows, -1, BLOCK)
    block_cdf = np.cumsum(blocks.sum(axis=2), axis=1)
    target = rng.random(rows, dtype=np.float32) * block_cdf[:, -1]
    block = np.minimum((block_cdf <= target[:, None]).sum(axis=1), block_cdf.shape[1] - 1)
    before = np.where(block > 0, block_cdf[np.arange(rows), block - 1], 0.0)
    inner_cdf = np.cumsum(blocks[np.arange(rows), block], axis=1)
    inner = np.minimum((inner_cdf <= (target - before)[:, None]).sum(axis=1), BLOCK - 1)
    # float rounding can land on a zero-weight slot at a block's end: step back to a live one
    index = block * BLOCK + inner
    dead = weights[np.arange(rows), index] <= 0
    if dead.any():
        index[dead] = np.argmax(weights[dead], axis=1)
    return index
