"""Rank of the revealed technique in a score-vector forecast, in one compiled pass.

The forecast is the defender's unseen techniques sorted by score, high to low. Equal scores must
not help the defender: ranked in its favour, a constant action would put the revealed technique
first on every step. Ties are broken in column order (the sorted vocabulary), the same for every
env, seed and step, so a constant forecast is one fixed, arbitrary top-k: the first k unseen IDs.

    rank = 1 + #{unseen j : s_j > s_r} + #{unseen j < r : s_j = s_r}

The NumPy form (finite check, mask the seen techniques, compare, count) makes four passes and
three temporaries per step, which dominated a single env's step; this is one branch-free pass.
"""

from __future__ import annotations

import numba
import numpy as np

NOT_FINITE = -1


def numeric_scores(action: object) -> np.ndarray:
    """The action as a float32/float64 array (the compiled ranking's input), or a clear error."""
    scores = np.asarray(action)
    # bool, int, uint, float only: astype(float64) drops an imaginary part with a mere
    # ComplexWarning and parses strings and objects ("0.5") as if they were scores
    if scores.dtype.kind not in "biuf":
        raise ValueError(
            f"action must be real-valued numeric scores, got dtype {scores.dtype}; "
            "send a float array (e.g. np.float32)"
        )
    if scores.dtype not in (np.float32, np.float64):  # one dtype for the kernel and the forecast
        scores = scores.astype(np.float64)
    return scores


def forecast_order(scores: np.ndarray, seen: np.ndarray, k: int) -> np.ndarray:
    """The first `k` unseen columns of the forecast, best first: the list `forecast_rank` scores."""
    unseen = np.flatnonzero(~seen)
    # lexsort is stable on its last key: equal scores keep column order, as in forecast_rank
    return unseen[np.lexsort((-scores[unseen].astype(np.float64),))][:k]


@numba.njit(cache=True, nogil=True)
def forecast_rank(scores: np.ndarray, seen: np.ndarray, revealed: int) -> int:
    """1-based rank of `revealed` among unseen techniques, or NOT_FINITE if any score is NaN/inf."""
    target = scores[revealed]
    higher = 0
    not_finite = False
    for column in range(scores.shape[0]):  # branch-free, so the loop vectorises
        value = scores[column]
        ahead = (value > target) | ((value == target) & (column < revealed))
        higher += ahead & ~seen[column]
        not_finite |= (value - value) != 0  # NaN for NaN and ±inf, 0 otherwise
    return NOT_FINITE if not_finite else 1 + higher


@numba.njit(cache=True, nogil=True)
def forecast_ranks(scores: np.ndarray, seen: np.ndarray, revealed: np.ndarray) -> np.ndarray:
    """Row-wise `forecast_rank` for a batch: (rows,) ranks, NOT_FINITE where a row has NaN/inf."""
    ranks = np.empty(scores.shape[0], dtype=np.int64)
    for row in range(scores.shape[0]):
        ranks[row] = forecast_rank(scores[row], seen[row], revealed[row])
    return ranks
