"""Compiled campaign sampler for additive models (EASE: scores = Σ_seen B[j]).

The NumPy sampler spends ~9 passes over the vocabulary per campaign step (scale, max, min, exp,
mask, two-level CDF). For an additive model the softmax weights are multiplicative too:
exp(c·(s + B[j])) = exp(c·s) · exp(c·B[j]), so with exp(c·B) computed once a step is one fused,
vectorised pass (multiply the weights, sum them in blocks of 32) and a draw that scans block
totals, then one block. A used technique's weight is set to zero, and stays zero.

The distribution is the NumPy sampler's: softmax(c · scores) over unused techniques, and technique
popularity while the scores carry no signal (every technique seen so far has a constant row of B,
e.g. one that never co-occurred with another in training).
"""

from __future__ import annotations

import numba
import numpy as np

BLOCK = 32
# keep the running weights' total within float64's comfortable range; callers keep every
# |c · B| below LOGIT_LIMIT, so one step moves the total by at most e^LOGIT_LIMIT ≈ 1e87
_RESCALE_HIGH, _RESCALE_LOW = 1e100, 1e-100
LOGIT_LIMIT = 200.0


@numba.njit(cache=True, nogil=True, fastmath=True)
def _multiply_and_sum(weights: np.ndarray, factors: np.ndarray, blocks: np.ndarray) -> float:
    """weights *= factors in place; blocks[b] = the sum of block b; returns the total."""
    total = 0.0
    for block in range(blocks.shape[0]):
        start = block * BLOCK
        acc = 0.0
        for column in range(start, start + BLOCK):
            value = weights[column] * factors[column]
            weights[column] = value
            acc += value
        blocks[block] = acc
        total += acc
    return total


@numba.njit(cache=True, nogil=True)
def _draw(weights: np.ndarray, blocks: np.ndarray, total: float, uniform: float) -> int:
    """Inverse-CDF index: pick a block by its total, then a column inside it (a zero weight is
    never picked; float rounding past the end falls back to the heaviest column)."""
    target = uniform * total
    running = 0.0
    for block in range(blocks.shape[0]):
        if running + blocks[block] > target:
            for column in range(block * BLOCK, (block + 1) * BLOCK):
                running += weights[column]
                if running > target and weights[column] > 0:
                    return column
            break
        running += blocks[block]
    return int(np.argmax(weights))


@numba.njit(cache=True, nogil=True)
def sample_campaigns(
    exp_item_weights: np.ndarray,
    flat_rows: np.ndarray,
    popularity_weights: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    uniforms: np.ndarray,
) -> np.ndarray:
    """(count, max length) technique columns, -1 padded.

    exp_item_weights: exp(c · B), (n, n) float64 with columns padded to a multiple of BLOCK with
    zeros; flat_rows[j]: B[j] is constant; popularity_weights: (padded n,) the flat-score
    fallback; starts[i]: campaign i's first technique; uniforms: (count, max length) in [0, 1).
    """
    count = starts.shape[0]
    padded = exp_item_weights.shape[1]
    width = uniforms.shape[1]
    out = np.full((count, width), -1, dtype=np.int64)
    weights = np.empty(padded)
    fallback = np.empty(padded)
    blocks = np.empty(padded // BLOCK)
    fallback_blocks = np.empty(padded // BLOCK)
    ones = np.ones(padded)
    for campaign in range(count):
        chosen = starts[campaign]
        out[campaign, 0] = chosen
        weights[:] = 1.0
        fallback[:] = popularity_weights
        flat = True
        for step in range(1, lengths[campaign]):
            weights[chosen] = 0.0
            total = _multiply_and_sum(weights, exp_item_weights[chosen], blocks)
            flat = flat and flat_rows[chosen]
            if flat:
                fallback[chosen] = 0.0
                fallback_total = _multiply_and_sum(fallback, ones, fallback_blocks)
                chosen = _draw(fallback, fallback_blocks, fallback_total, uniforms[campaign, step])
            else:
                chosen = _draw(weights, blocks, total, uniforms[campaign, step])
            out[campaign, step] = chosen
            if total > _RESCALE_HIGH or total < _RESCALE_LOW:
                weights *= 1.0 / total
    return out
