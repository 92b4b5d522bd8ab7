"""The one observation layout of the tie_gym envs: built, written and read back here only.

The envs write observations (one at a time, or rows of a vector env's preallocated buffer) and
agents read them, so the column layout lives in one place instead of being re-derived by slicing
in each. `ObservationSchema(n, recommender=…, detections=…)` lays out float32 columns in this
order, a segment present only where its flag says:

| segment       | width | values  | present                   | meaning                               |
|---------------|-------|---------|---------------------------|---------------------------------------|
| `seen`        | n     | {0, 1}  | always                    | techniques seen so far (multi-hot)    |
| `detected`    | n     | {0, 1}  | `detections` (TIE-Defend) | techniques with a detection deployed  |
| `last`        | n     | {0, 1}  | always                    | the technique revealed last (one-hot) |
| `budget_left` | 1     | [0, 1]  | `detections` (TIE-Defend) | share of the detection budget left    |
| `progress`    | 1     | [0, 1]  | always                    | reveals so far / 100, capped at 1     |
| `recommender` | n     | [-1, 1] | `recommender`             | the adversary model's fold-in scores of the seen set, standardised (z) and squashed: tanh(z / 3) |

TIE-Forecast is `seen, last, progress` (2n + 1 wide; 3n + 1 with `features="recommender"`),
TIE-Defend `seen, detected, last, budget_left, progress` (3n + 2). `seen` and `last` sit at the
same columns with or without the recommender features, so a forecast agent reads both variants.
The accessors slice the last axis, so they read one observation, a batch, or a torch tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

PROGRESS_REVEALS = 100.0
"""Reveals at which `progress` reaches 1 (and stays)."""
RECOMMENDER_SQUASH = 3.0
"""tanh(z / 3) keeps standardised scores inside the Box's [-1, 1] while |z| < 3 stays near-linear."""
_SCORES_GIVEN = "recommender_scores are given exactly when the schema has recommender features"


@dataclass(frozen=True)
class Observation:
    """One observation (or a batch: a leading axis on every field) read back into its segments."""

    seen: np.ndarray
    """Bool multi-hot of the techniques seen so far."""
    last: np.ndarray
    """Column of the technique revealed last."""
    progress: np.ndarray
    """Reveals so far / 100, capped at 1."""
    detected: np.ndarray | None = None
    """Bool multi-hot of the deployed detections (TIE-Defend only)."""
    budget_left: np.ndarray | None = None
    """Share of the detection budget left (TIE-Defend only)."""
    recommender_features: np.ndarray | None = None
    """Squashed fold-in scores tanh(z / 3) (with `features="recommender"` only)."""


@dataclass(frozen=True)
class ObservationSchema:
    """The column layout of an env's observation; see the module docstring for the table."""

    n_techniques: int
    """Width of each technique segment: the model's vocabulary size."""
    recommender: bool = False
    """Append the adversary model's squashed fold-in scores (`features="recommender"`)."""
    detections: bool = False
    """TIE-Defend's deployed detections and remaining budget."""

    segments: dict[str, slice] = field(init=False, repr=False, compare=False)
    """Column range of each present segment, in layout order: the layout, written once."""
    width: int = field(init=False, repr=False, compare=False)
    """Number of columns of one observation."""
    _last_at: int = field(init=False, repr=False, compare=False)
    _progress_at: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.n_techniques
        layout = [
            ("seen", n),  # first: a reveal writes its column without an offset
            ("detected", n if self.detections else 0),
            ("last", n),
            ("budget_left", 1 if self.detections else 0),
            ("progress", 1),
            ("recommender", n if self.recommender else 0),
        ]
        segments, start = {}, 0
        for name, width in layout:
            if width:
                segments[name] = slice(start, start + width)
                start += width
        # the class is frozen; the width and the starts a reveal writes are kept as ints (a dict
        # lookup and an attribute each per step otherwise, a tenth of the observation's cost)
        object.__setattr__(self, "segments", segments)
        object.__setattr__(self, "width", start)
        object.__setattr__(self, "_last_at", segments["last"].start)
        object.__setattr__(self, "_progress_at", segments["progress"].start)

    @property
    def space(self) -> spaces.Box:
        """The Gymnasium space of one observation: [0, 1], the recommender columns [-1, 1]."""
        low = np.zeros(self.width, dtype=np.float32)
        if self.recommender:
            low[self.segments["recommender"]] = -1.0
        return spaces.Box(low, np.ones(self.width, dtype=np.float32), dtype=np.float32)

    def empty(self, num_envs: int | None = None) -> np.ndarray:
        """A zeroed buffer for one observation, or for `num_envs` of them (one per row)."""
        shape = (self.width,) if num_envs is None else (num_envs, self.width)
        return np.zeros(shape, dtype=np.float32)

    # -- writing -----------------------------------------------------------------------------

    def encode(
        self,
        seen: np.ndarray,
        last: int,
        reveals: int,
        *,
        detected: np.ndarray | None = None,
        budget_left: float | None = None,
        recommender_scores: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """One env's whole observation, into its 1-D buffer `out` or a new array (returned).
        `recommender_scores` are raw fold-in scores: the schema standardises and squashes them."""
        self._check(detected, budget_left, recommender_scores)
        if out is None:
            out = np.zeros(self.width, dtype=np.float32)
        else:
            out[:] = 0.0
        out[self.segments["seen"]] = seen
        if detected is not None:
            out[self.segments["detected"]] = detected
            out[self.segments["budget_left"].start] = budget_left
        out[self._last_at + last] = 1.0
        # builtin min on one env's scalars: np.minimum costs ~2 µs, a fifth of a step
        out[self._progress_at] = min(reveals / PROGRESS_REVEALS, 1.0)
        if recommender_scores is not None:
            out[self.segments["recommender"]] = _squash(recommender_scores)
        return out

    def encode_batch(
        self,
        seen: np.ndarray,
        last: np.ndarray,
        reveals: np.ndarray,
        *,
        detected: np.ndarray | None = None,
        budget_left: np.ndarray | None = None,
        recommender_scores: np.ndarray | None = None,
        out: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """`encode` for a batch (a leading axis on every argument), into the `rows` of a vector
        env's preallocated `out` (rows 0, 1, … without `rows`) or a new array (returned)."""
        self._check(detected, budget_left, recommender_scores)
        if out is None:
            out = self.empty(len(seen))
        rows = np.arange(len(seen)) if rows is None else rows
        out[rows] = 0.0
        out[rows, self.segments["seen"]] = seen
        if detected is not None:
            out[rows, self.segments["detected"]] = detected
            out[rows, self.segments["budget_left"].start] = budget_left
        out[rows, self._last_at + last] = 1.0  # each row's own column
        out[rows, self._progress_at] = np.minimum(reveals / PROGRESS_REVEALS, 1.0)
        if recommender_scores is not None:
            out[rows, self.segments["recommender"]] = _squash(recommender_scores)
        return out

    def reveal(
        self,
        out: np.ndarray,
        revealed: int,
        previous: int,
        reveals: int,
        *,
        recommender_scores: np.ndarray | None = None,
    ) -> None:
        """Update one env's observation in place for one more reveal: `revealed` joins the seen
        set and replaces `previous` as the last technique; cheaper than a full `encode`.
        Detections are left as they are."""
        if (recommender_scores is None) == self.recommender:
            raise ValueError(_SCORES_GIVEN)
        out[revealed] = 1.0
        out[self._last_at + previous] = 0.0
        out[self._last_at + revealed] = 1.0
        out[self._progress_at] = min(reveals / PROGRESS_REVEALS, 1.0)
        if recommender_scores is not None:
            out[self.segments["recommender"]] = _squash(recommender_scores)

    def reveal_batch(
        self,
        out: np.ndarray,
        rows: np.ndarray,
        revealed: np.ndarray,
        previous: np.ndarray,
        reveals: np.ndarray,
        *,
        recommender_scores: np.ndarray | None = None,
    ) -> None:
        """`reveal` for the `rows` of a vector env's buffer, one column per row."""
        if (recommender_scores is None) == self.recommender:
            raise ValueError(_SCORES_GIVEN)
        out[rows, revealed] = 1.0
        out[rows, self._last_at + previous] = 0.0
        out[rows, self._last_at + revealed] = 1.0
        out[rows, self._progress_at] = np.minimum(reveals / PROGRESS_REVEALS, 1.0)
        if recommender_scores is not None:
            out[rows, self.segments["recommender"]] = _squash(recommender_scores)

    def detect_batch(
        self, out: np.ndarray, rows: np.ndarray, columns: np.ndarray, budget_left: np.ndarray
    ) -> None:
        """A detection deployed on `columns[i]` in env `rows[i]`, whose budget is now
        `budget_left[i]` (TIE-Defend's vector twin, in place)."""
        if not self.detections:
            raise ValueError("this schema has no detections")
        detected = self.segments["detected"]
        out[rows, detected.start + columns] = 1.0
        out[rows, self.segments["budget_left"].start] = budget_left

    def _check(
        self, detected: Any, budget_left: Any, recommender_scores: np.ndarray | None
    ) -> None:
        """Values come exactly with their segments: a write that skipped one would leave zeros
        an agent cannot tell from data."""
        if (detected is None or budget_left is None) == self.detections:
            raise ValueError(
                "detected and budget_left are given exactly when the schema has detections"
            )
        if (recommender_scores is None) == self.recommender:
            raise ValueError(_SCORES_GIVEN)

    # -- reading -----------------------------------------------------------------------------

    def decode(self, observation: np.ndarray) -> Observation:
        """Every segment of one observation or a batch, checked against the schema's width."""
        observation = np.asarray(observation)
        if observation.shape[-1] != self.width:
            raise ValueError(
                f"observation has {observation.shape[-1]} columns, the schema {self.width} "
                f"({', '.join(self.segments)})"
            )
        return Observation(
            seen=self.seen(observation),
            last=self.last(observation),
            progress=self.progress(observation),
            detected=self.detected(observation) if self.detections else None,
            budget_left=self.budget_left(observation) if self.detections else None,
            recommender_features=(
                self.recommender_features(observation) if self.recommender else None
            ),
        )

    def seen(self, observation: Any) -> Any:
        """Bool mask of the techniques seen so far."""
        return observation[..., self.segments["seen"]] > 0

    def last(self, observation: Any) -> Any:
        """Column of the technique revealed last (an int per observation)."""
        return observation[..., self.segments["last"]].argmax(-1)

    def progress(self, observation: Any) -> Any:
        """Reveals so far / 100, capped at 1."""
        return observation[..., self.segments["progress"].start]

    def detected(self, observation: Any) -> Any:
        """Bool mask of the deployed detections (TIE-Defend)."""
        return observation[..., self.segments["detected"]] > 0

    def budget_left(self, observation: Any) -> Any:
        """Share of the detection budget left (TIE-Defend)."""
        return observation[..., self.segments["budget_left"].start]

    def recommender_features(self, observation: Any) -> Any:
        """The squashed fold-in scores tanh(z / 3), in [-1, 1]."""
        return observation[..., self.segments["recommender"]]


def _squash(scores: np.ndarray) -> np.ndarray:
    """Standardise fold-in scores per observation (the last axis) and squash them into [-1, 1]."""
    spread = scores.std(axis=-1, keepdims=True)
    z = (scores - scores.mean(axis=-1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
    return np.tanh(z / RECOMMENDER_SQUASH)
