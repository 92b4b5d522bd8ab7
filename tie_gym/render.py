"""Text and image renderings of a forecast episode (no plotting dependency needed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tie_gym.adversary import Adversary

_SEEN = np.array([74, 144, 217], dtype=np.uint8)
_FORECAST = np.array([253, 196, 79], dtype=np.uint8)
_HIT = np.array([46, 160, 67], dtype=np.uint8)
_EMPTY = np.array([236, 236, 236], dtype=np.uint8)
_BACKGROUND = np.array([255, 255, 255], dtype=np.uint8)


def _label(adversary: Adversary, column: int) -> str:
    technique = adversary.vocabulary[column]
    tactics = ",".join(adversary.tactics[column]) or "?"
    return f"{technique} {adversary.names.get(technique, '')} [{tactics}]"


def ansi_step(
    adversary: Adversary,
    seen: np.ndarray,
    forecast: np.ndarray | None,
    info: dict[str, Any],
    k: int,
) -> str:
    """A readable account of the last step: what the defender had seen when it forecast, its
    forecast, and the technique then revealed (listed last, not among the seen ones)."""
    revealed = info.get("revealed") if forecast is not None else None
    before = [int(c) for c in seen if adversary.vocabulary[int(c)] != revealed]
    lines = [f"seen before the forecast ({len(before)}):"]
    lines += [f"  {_label(adversary, c)}" for c in before]
    if forecast is not None:
        lines.append(f"forecast (top {len(forecast)} of k={k}):")
        for rank, column in enumerate(forecast, start=1):
            mark = "  <- revealed" if adversary.vocabulary[column] == revealed else ""
            lines.append(f"  {rank:2d}. {_label(adversary, int(column))}{mark}")
        verdict = "HIT" if info.get("hit") else "miss"
        lines.append(f"revealed: {revealed} ({verdict}, rank {info.get('rank')})")
    return "\n".join(lines) + "\n"


def campaign_grid(
    adversary: Adversary, seen: np.ndarray, forecast: np.ndarray | None, cell: int = 6
) -> np.ndarray:
    """An RGB image: one column per tactic (kill-chain order), one cell per technique.

    Blue: seen; amber: forecast; green: forecast and then seen (a hit); grey: other techniques.
    """
    n_tactics = max(len(adversary.tactic_order), 1)
    columns: list[list[int]] = [[] for _ in range(n_tactics + 1)]
    for technique, rank in enumerate(adversary.first_tactic_rank):
        columns[min(int(rank), n_tactics)].append(technique)
    height = max(len(c) for c in columns)
    image = np.empty((height * cell, len(columns) * cell * 2, 3), dtype=np.uint8)
    image[:] = _BACKGROUND
    seen_set = set(int(c) for c in seen)
    forecast_set = set(int(c) for c in forecast) if forecast is not None else set()
    for x, members in enumerate(columns):
        for y, technique in enumerate(members):
            colour = _EMPTY
            if technique in seen_set and technique in forecast_set:
                colour = _HIT
            elif technique in seen_set:
                colour = _SEEN
            elif technique in forecast_set:
                colour = _FORECAST
            image[y * cell : (y + 1) * cell - 1, x * cell * 2 : (x * 2 + 1) * cell + cell - 1] = (
                colour
            )
    return image
