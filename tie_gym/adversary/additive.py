"""Compiled campaign sampler for additive models (EASE: scores = Σ_seen B[j]).

Each step draws the next technique from softmax(z / T) over the unused techniques, z being the
running scores standardised over those techniques at that step (`generative.py`). For an
additive model the running scores are one vector updated by adding a row of B, so a step is two
passes over the vocabulary and a draw (~12 µs per campaign of ~10 techniques, 580 columns):

1. add B[chosen] to the scores and take the moments (count, mean, σ) of the unused ones;
2. weights = exp((s − m)/(σT)) with the shift m = mean + σ·√count, which bounds every unused
   score (no standardised value exceeds √count), so no max pass is needed and every exponent
   lies in [−2√count/T, 0]; then block sums of 32;
3. scan the block totals, then one block (inverse CDF).

exp is a polynomial, not libm's call (which cost 3× more): exp(x) = (2^u)^1024 with
u = x·log2(e)/1024, 2^u by a degree-8 least-squares fit on [−0.99, 0] (relative error 1e-12,
1e-9 after the ten squarings), valid for x ≥ −700: `supports` admits temperatures with
2√n / T ≤ 700; colder ones take the NumPy sampler.

While the unused scores are all equal (every technique seen so far has a constant row of B, e.g.
one that never co-occurred with another in training) they carry no signal, and the step draws
from tempered popularity instead (softmax of standardised log-popularity / T), as the NumPy
sampler does.
"""

from __future__ import annotations

import numba
import numpy as np

BLOCK = 32
FLAT = 1e-9
"""Unused scores whose standard deviation is at most this carry no signal (popularity fallback)."""
_EXP_FLOOR = -700.0
_U_LOW = _EXP_FLOOR * np.log2(np.e) / 1024
_NODES = np.cos(np.pi * (np.arange(300) + 0.5) / 300) * (-_U_LOW / 2) + _U_LOW / 2
_TWO_TO_U = np.polyfit(_NODES, 2.0**_NODES, 8)


def supports(temperature: float, n_techniques: int) -> bool:
    """Whether the compiled sampler's exponents stay in the polynomial's range at this
    temperature: no standardised score lies beyond √n of the mean, so every exponent
    (s − m)/(σT) lies in [−2√n / T, 0], which must stay above −700 (no clamp in the loop)."""
    return 2.0 * np.sqrt(n_techniques) / temperature <= -_EXP_FLOOR


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


@numba.njit(cache=True, nogil=True, fastmath=True)
def _add_and_moments(
    scores: np.ndarray, unused: np.ndarray, row: np.ndarray
) -> tuple[float, float, float]:
    """scores += row; (count, mean, standard deviation) of the unused scores."""
    count = 0.0
    total = 0.0
    squares = 0.0
    for column in range(scores.shape[0]):
        value = scores[column] + row[column]
        scores[column] = value
        live = unused[column]
        count += live
        total += value * live
        squares += value * value * live
    mean = total / count
    return count, mean, np.sqrt(max(squares / count - mean * mean, 0.0))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _fill_weights(
    source: np.ndarray,
    unused: np.ndarray,
    shift: float,
    scale: float,
    weights: np.ndarray,
    blocks: np.ndarray,
    poly: np.ndarray,
) -> float:
    """weights = exp((source − shift)·scale) on unused columns (0 elsewhere), block sums; total.

    exp as in the module docstring, written out in the loop body with the coefficients in
    locals: a helper call, a loop or an array read inside the body kept it scalar (3× slower)."""
    c0, c1, c2, c3, c4, c5, c6, c7, c8 = poly
    for column in range(source.shape[0]):
        u = (source[column] - shift) * scale * (1.4426950408889634 / 1024.0)
        p = (
            (((((((c0 * u + c1) * u + c2) * u + c3) * u + c4) * u + c5) * u + c6) * u + c7) * u
        ) + c8
        p *= p  # ten squarings: (2^u)^1024
        p *= p
        p *= p
        p *= p
        p *= p
        p *= p
        p *= p
        p *= p
        p *= p
        p *= p
        weights[column] = p * unused[column]
    return _block_sums(weights, blocks)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _block_sums(weights: np.ndarray, blocks: np.ndarray) -> float:
    """blocks[b] = the sum of block b of `weights`; returns the total."""
    total = 0.0
    for block in range(blocks.shape[0]):
        acc = 0.0
        for column in range(block * BLOCK, (block + 1) * BLOCK):
            acc += weights[column]
        blocks[block] = acc
        total += acc
    return total


@numba.njit(cache=True, nogil=True, fastmath=True)
def _fill_popularity(
    popularity: np.ndarray, unused: np.ndarray, weights: np.ndarray, blocks: np.ndarray
) -> float:
    """weights = popularity on unused columns, block sums; total (the flat-score fallback)."""
    for column in range(popularity.shape[0]):
        weights[column] = popularity[column] * unused[column]
    return _block_sums(weights, blocks)


@numba.njit(cache=True, nogil=True)
def sample_campaigns(
    item_scores: np.ndarray,
    popularity_weights: np.ndarray,
    inverse_temperature: float,
    starts: np.ndarray,
    lengths: np.ndarray,
    uniforms: np.ndarray,
) -> np.ndarray:
    """(count, max length) technique columns, -1 padded.

    item_scores: B, (n, padded n) float64 with columns padded to a multiple of BLOCK with
    zeros; popularity_weights: (padded n,) the flat-score fallback, zero on padding;
    starts[i]: campaign i's first technique; uniforms: (count, max length) in [0, 1).
    """
    count = starts.shape[0]
    n = item_scores.shape[0]
    padded = item_scores.shape[1]
    width = uniforms.shape[1]
    out = np.full((count, width), -1, dtype=np.int64)
    scores = np.empty(padded)
    unused = np.empty(padded)
    weights = np.empty(padded)
    blocks = np.empty(padded // BLOCK)
    poly = _TWO_TO_U
    for campaign in range(count):
        chosen = starts[campaign]
        out[campaign, 0] = chosen
        scores[:] = 0.0
        unused[:n] = 1.0
        unused[n:] = 0.0
        for step in range(1, lengths[campaign]):
            unused[chosen] = 0.0
            live, mean, spread = _add_and_moments(scores, unused, item_scores[chosen])
            if spread <= FLAT:
                total = _fill_popularity(popularity_weights, unused, weights, blocks)
            else:
                total = _fill_weights(
                    scores,
                    unused,
                    mean + spread * np.sqrt(live),
                    inverse_temperature / spread,
                    weights,
                    blocks,
                    poly,
                )
            chosen = _draw(weights, blocks, total, uniforms[campaign, step])
            out[campaign, step] = chosen
    return out
