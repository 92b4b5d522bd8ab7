"""Confidences that mean what they say: Platt scaling of the text mapper's document scores, and
the reliability figures that check it (expected calibration error, reliability bins)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recommenders.errors import DataError


def _logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


MAX_COEFFICIENT = 1e3
"""Largest slope or intercept a saved calibration may hold (a fitted one is of order 1; a huge
one would overflow the sigmoid)."""


@dataclass(frozen=True)
class Calibration:
    """What a confidence means: the chance that a report's annotators list the technique, given
    the probability of its best sentence (the mapper's raw score is that maximum over the
    report's sentences, which is not a probability of anything about the report).

    One logistic curve over the raw score's logit per group — techniques with report-level
    annotations in training and techniques without, whose scores come from ATT&CK's and TRAM1's
    text and mean something else (Platt scaling). `fit` learns them on validation reports.
    """

    supported: tuple[float, float]
    """(slope, intercept) for techniques with report-level annotations in training."""
    unsupported: tuple[float, float]
    """(slope, intercept) for the rest."""

    def apply(self, probabilities: np.ndarray, supported: np.ndarray) -> np.ndarray:
        """Calibrated confidences of raw probabilities (…, techniques); `supported` marks the
        columns of techniques with report-level annotations."""
        slope = np.where(supported, self.supported[0], self.unsupported[0])
        intercept = np.where(supported, self.supported[1], self.unsupported[1])
        return (1.0 / (1.0 + np.exp(-(slope * _logit(probabilities) + intercept)))).astype(
            np.float32
        )

    @classmethod
    def fit(cls, best: np.ndarray, supported: np.ndarray, truth: np.ndarray) -> Calibration:
        """Curves from (report, technique) pairs: the raw best-sentence probability, whether the
        technique is supported, and whether the report's annotators listed it. A group with only
        one outcome among its pairs shares the curve fitted on all pairs."""
        from sklearn.linear_model import LogisticRegression

        def curve(mask: np.ndarray) -> tuple[float, float]:
            regression = LogisticRegression(C=1e4).fit(_logit(best[mask])[:, None], truth[mask])
            return float(regression.coef_[0, 0]), float(regression.intercept_[0])

        everything = curve(np.ones(len(best), dtype=bool))
        groups = [
            curve(mask) if len(np.unique(truth[mask])) == 2 else everything
            for mask in (supported, ~supported)
        ]
        return cls(groups[0], groups[1])

    def to_json(self) -> dict[str, list[float]]:
        return {"supported": list(self.supported), "unsupported": list(self.unsupported)}

    @classmethod
    def from_json(cls, value: Any, source: Path) -> Calibration | None:
        """None for a model saved without calibration; a DataError for a malformed entry."""
        if value is None:
            return None

        def number(x: Any) -> bool:
            return (
                isinstance(x, int | float)
                and not isinstance(x, bool)
                and bool(np.isfinite(x))
                and abs(x) <= MAX_COEFFICIENT
            )

        keys = ("supported", "unsupported")
        if not isinstance(value, dict) or not all(
            isinstance(value.get(k), list) and len(value[k]) == 2 and all(map(number, value[k]))
            for k in keys
        ):
            raise DataError(
                source,
                "calibration",
                "needs 'supported' and 'unsupported', each [slope, intercept] of numbers within "
                f"±{MAX_COEFFICIENT:g}",
                "retrain the mapper (python -m recommenders.text.train)",
            )
        supported, unsupported = (tuple(float(x) for x in value[k]) for k in keys)
        return cls(supported, unsupported)  # type: ignore[arg-type]


def reliability_bins(
    confidence: np.ndarray, truth: np.ndarray, bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean confidence, share true, pairs) of each non-empty equal-width confidence bin."""
    edges = np.minimum((np.asarray(confidence) * bins).astype(int), bins - 1)
    return [
        (
            float(confidence[edges == b].mean()),
            float(truth[edges == b].mean()),
            int((edges == b).sum()),
        )
        for b in range(bins)
        if (edges == b).any()
    ]


def expected_calibration_error(confidence: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Pair-weighted mean |confidence − share true| over equal-width bins."""
    rows = reliability_bins(confidence, truth, bins)
    return sum(n * abs(c - t) for c, t, n in rows) / max(sum(n for *_, n in rows), 1)
