"""Argument and action checks shared by the environment families and the campaign configuration,
so every env refuses bad input with the same clear message."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_integer(value: Any) -> bool:
    """An int (NumPy's included), not a bool or a float that happens to be integral."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """A real number (NumPy's included), not a bool or a string such as "1"."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def check_lengths(initial: int, max_length: int | None) -> None:
    """At least one technique is shown and at least one is left to forecast: a campaign of
    `max_length` ≤ `initial` would show the technique about to be revealed."""
    if not is_integer(initial):
        raise ValueError(f"initial must be an integer ≥ 1, got {initial!r}")
    if max_length is not None and not is_integer(max_length):
        raise ValueError(f"max_length must be an integer or None, got {max_length!r}")
    if initial < 1:
        raise ValueError(
            f"initial must be ≥ 1 (one technique is shown before the first forecast), got {initial}"
        )
    if max_length is not None and max_length < initial + 1:
        raise ValueError(
            f"max_length must be ≥ initial + 1 = {initial + 1} (one technique left to forecast), "
            f"got {max_length}"
        )


def check_render_mode(render_mode: str | None, metadata: dict[str, Any]) -> None:
    if render_mode is not None and render_mode not in metadata["render_modes"]:
        raise ValueError(
            f"render_mode must be one of {metadata['render_modes']}, got {render_mode!r}"
        )


def discrete_index(action: Any, size: int, what: str) -> int:
    """An integer action in [0, size), from an int, an integral float or a one-element array.

    Anything else (a string such as '5', a bool, a complex number, None) is a ValueError that
    names the type: a string compared with an int raised a bare TypeError."""
    if isinstance(action, np.ndarray):
        if action.size != 1 or action.dtype.kind not in "iuf":
            raise ValueError(
                f"{what} must be one integer index, got an array of shape {action.shape} "
                f"and dtype {action.dtype}"
            )
        action = action.item()
    elif isinstance(action, np.integer | np.floating):
        action = action.item()
    if isinstance(action, bool) or not isinstance(action, int | float):
        raise ValueError(
            f"{what} must be an integer in [0, {size}), got {action!r} "
            f"of type {type(action).__name__}; pass int(...)"
        )
    if (isinstance(action, float) and not action.is_integer()) or not 0 <= action < size:
        raise ValueError(f"{what} must be an integer in [0, {size}), got {action!r}")
    return int(action)


def discrete_indices(actions: Any, count: int, size: int, what: str) -> np.ndarray:
    """`count` integer actions in [0, size): `discrete_index` for a batch, one array check."""
    array = np.asarray(actions)
    if (
        array.shape != (count,)
        or array.dtype.kind not in "iuf"
        or not np.isfinite(array).all()
        or np.any(array != np.round(array))
    ):
        raise ValueError(
            f"{what} must be {count} integers in [0, {size}), got shape {array.shape} "
            f"and dtype {array.dtype}"
        )
    if np.any((array < 0) | (array >= size)):
        raise ValueError(
            f"{what} must lie in [0, {size}), got {array[(array < 0) | (array >= size)][:5]}"
        )
    return array.astype(np.int64)
