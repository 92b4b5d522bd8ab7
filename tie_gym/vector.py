"""Native vector twin of TIE-Forecast: N campaigns stepped as arrays.

`gym.make_vec("TIE-Forecast-v1", num_envs=N, vectorization_mode="vector_entry_point")` builds it.
Forecast scoring, ranks, rewards and observations are single NumPy operations over all N envs;
new generative campaigns are sampled in batches with one batched fold-in. Autoreset follows
Gymnasium's default NEXT_STEP mode: the step after an episode ends resets that env and returns its
first observation with reward 0. `autoreset_mode=AutoresetMode.SAME_STEP` (or "SameStep") resets an ended env in the step that
ended it and returns the new episode's first observation, the last one of the old in
`info["final_obs"]` (rows flagged by `info["_final_obs"]`): what SB3 expects
(`agents.vec_env.NativeVecEnv`).

Flow campaigns replay here too, but without the single env's per-step `frontier` info; reset
options (given campaigns, analysts' starts) are single-env only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from tie_gym.adversary import DEFAULT_MODEL, CampaignStream
from tie_gym.checks import discrete_indices, is_integer
from tie_gym.envs.forecast import forecast_task
from tie_gym.ranking import NOT_FINITE, forecast_ranks, numeric_scores


class ForecastVectorEnv(VectorEnv):
    """N independent TIE-Forecast episodes; arguments as `ForecastEnv`, plus `num_envs` and
    `max_episode_steps` (truncation, as the registered single env's TimeLimit)."""

    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": [],
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 100,
        model: str = DEFAULT_MODEL,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        if not is_integer(num_envs) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer ≥ 1, got {num_envs!r}")
        modes = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            mode = None
        if mode not in modes:
            raise ValueError(
                f"autoreset_mode must be one of {[m.value for m in modes]}, got {autoreset_mode!r}"
            )
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        kwargs.pop("render_mode", None)
        self.render_mode = None  # no rendering of N envs at once
        kwargs.pop("text_model", None)  # analysts' text starts are single-env resets
        if kwargs.get("features", "none") != "none":
            raise ValueError(
                "the native vector env does not compute recommender features yet; "
                'use gym.make_vec(..., vectorization_mode="sync") for features="recommender"'
            )
        self.adversary, self.task = forecast_task(model=model, **kwargs)
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.schema = self.task.schema
        self.single_observation_space = self.schema.space
        self.single_action_space = self.task.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        n = self.n_techniques = self.adversary.n_techniques
        self._discount = np.concatenate([self.task.discount, [0.0]])
        self._rows = np.arange(num_envs)
        self._sequences = np.zeros((num_envs, n), dtype=np.int64)
        self._lengths = np.zeros(num_envs, dtype=np.int64)
        self._cursor = np.zeros(num_envs, dtype=np.int64)
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._seen = np.zeros((num_envs, n), dtype=bool)
        self._obs = self.schema.empty(num_envs)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        # larger batches than a single env: N envs consume campaigns N times as fast
        self._stream = CampaignStream(
            self.adversary, self.task.campaign, batch=max(1024, 4 * num_envs)
        )
        self._ids = np.array(self.adversary.vocabulary)
        self._started = False

    def _start(self, rows: np.ndarray) -> None:
        """Give these envs fresh campaigns and their first observation."""
        sequences, lengths = self._stream.take_block(self.np_random, len(rows))
        self._sequences[rows, : sequences.shape[1]] = sequences
        self._lengths[rows] = lengths
        cursor = self._cursor[rows] = np.minimum(self.task.initial, lengths - 1)
        self._steps[rows] = 0
        self._seen[rows] = False
        for slot in range(int(cursor.max())):  # the shown prefix: usually one technique
            showing = rows[cursor > slot]
            self._seen[showing, self._sequences[showing, slot]] = True
        last = self._sequences[rows, cursor - 1]
        self.schema.encode_batch(self._seen[rows], last, cursor, out=self._obs, rows=rows)
        self._needs_reset[rows] = False

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if isinstance(seed, list):
            seed = seed[0]
        if options:
            raise ValueError(
                f"the native vector env takes no reset options, got {sorted(options)}; replay "
                "given campaigns in single envs (gym.make) or a SyncVectorEnv of them"
            )
        super().reset(seed=seed)
        if seed is not None:
            self._stream.clear()
        self._start(self._rows)
        self._started = True
        return self._obs.copy(), {}

    def action_masks(self) -> np.ndarray:
        """(num_envs, n) unseen techniques: the useful guesses."""
        return ~self._seen

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        n, rows = self.n_techniques, self._rows
        actions = np.asarray(actions)
        stepping = ~self._needs_reset
        # envs waiting for their autoreset point past their campaign (at -1 padding): clamp
        revealed = np.maximum(self._sequences[rows, np.minimum(self._cursor, n - 1)], 0)
        if self.task.action_mode == "scores":
            if actions.shape != (self.num_envs, n):
                raise ValueError(
                    f"actions must have shape ({self.num_envs}, {n}), got {actions.shape}"
                )
            rank = forecast_ranks(numeric_scores(actions), self._seen, revealed)
            if np.any(rank == NOT_FINITE):
                raise ValueError(
                    "actions contain NaN or infinite scores; send finite values in [-1, 1]"
                )
        else:
            guesses = discrete_indices(actions, self.num_envs, n, "guesses")
            rank = np.where(guesses == revealed, 1, n + 1)
        hit = (rank <= self.task.k) & stepping
        ndcg = np.where(hit, self._discount[np.minimum(rank, self.task.k) - 1], 0.0)
        rewards = hit.astype(np.float64) if self.task.reward == "hit" else ndcg
        # advance the envs that stepped
        live = rows[stepping]
        previous = self._sequences[live, self._cursor[live] - 1]
        revealed_live = revealed[live]
        self._seen[live, revealed_live] = True
        self._cursor[live] += 1
        self._steps[live] += 1
        self.schema.reveal_batch(self._obs, live, revealed_live, previous, self._cursor[live])
        terminated = stepping & (self._cursor >= self._lengths)
        truncated = stepping & ~terminated
        truncated &= (
            self._steps >= self.max_episode_steps
            if self.max_episode_steps
            else np.zeros_like(truncated)
        )
        infos: dict[str, Any] = {}
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            ended = terminated | truncated
            if ended.any():
                infos["final_obs"], infos["_final_obs"] = self._obs.copy(), ended
                self._start(rows[ended])
        else:
            # NEXT_STEP autoreset: envs that ended last step start over now, with reward 0
            resetting = rows[self._needs_reset]
            if len(resetting):
                self._start(resetting)
            self._needs_reset = terminated | truncated
        infos |= {
            "hit": hit,
            "_hit": stepping,
            "is_success": hit,
            "_is_success": stepping,
            "rank": np.where(stepping, rank, 0),
            "_rank": stepping,
        }
        return self._obs.copy(), rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        return None
