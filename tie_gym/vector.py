"""Native vector twins of TIE-Forecast and TIE-Defend: N campaigns stepped as arrays.

`gym.make_vec("TIE-Forecast-v0", num_envs=N, vectorization_mode="vector_entry_point")` builds one
(the Defend ids likewise). Scoring, ranks, rewards and observations are single NumPy operations
over all N envs (an evasive Defend adversary's substitutions, rare, one env at a time);
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
from tie_gym.envs.defend import defend_task
from tie_gym.envs.forecast import forecast_task
from tie_gym.ranking import NOT_FINITE, forecast_ranks, numeric_scores

MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)


def _autoreset_mode(value: str | AutoresetMode) -> AutoresetMode:
    try:
        mode = AutoresetMode(value)
    except ValueError:
        mode = None
    if mode not in MODES:
        raise ValueError(f"autoreset_mode must be one of {[m.value for m in MODES]}, got {value!r}")
    return mode  # type: ignore[return-value]


class CampaignVectorEnv(VectorEnv):
    """What both twins share: N campaigns as padded arrays from one seeded stream, their cursors
    and seen sets, and autoreset (NEXT_STEP, or SAME_STEP with `info["final_obs"]`)."""

    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": [],
    }

    def _setup(
        self,
        num_envs: int,
        max_episode_steps: int | None,
        autoreset_mode: str | AutoresetMode,
        adversary: Any,
        task: Any,
        initial: int,
    ) -> None:
        """`task` is the single env's checked task (`ForecastTask`, `DefendTask`): its campaign
        configuration, observation schema and action space."""
        if not is_integer(num_envs) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer ≥ 1, got {num_envs!r}")
        self.metadata = {**self.metadata, "autoreset_mode": _autoreset_mode(autoreset_mode)}
        self.render_mode = None  # no rendering of N envs at once
        schema = task.schema
        self.adversary, self.schema, self.initial = adversary, schema, initial
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.single_observation_space = schema.space
        self.single_action_space = task.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        n = self.n_techniques = adversary.n_techniques
        self._rows = np.arange(num_envs)
        self._sequences = np.zeros((num_envs, n), dtype=np.int64)
        self._lengths = np.zeros(num_envs, dtype=np.int64)
        self._cursor = np.zeros(num_envs, dtype=np.int64)
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._seen = np.zeros((num_envs, n), dtype=bool)
        self._obs = schema.empty(num_envs)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        # larger batches than a single env: N envs consume campaigns N times as fast
        self._stream = CampaignStream(adversary, task.campaign, batch=max(1024, 4 * num_envs))
        self._ids = np.array(adversary.vocabulary)
        self._started = False

    def _start(self, rows: np.ndarray) -> None:
        """Give these envs fresh campaigns and their first observation."""
        sequences, lengths = self._stream.take_block(self.np_random, len(rows))
        self._sequences[rows] = -1
        self._sequences[rows, : sequences.shape[1]] = sequences
        self._lengths[rows] = lengths
        cursor = self._cursor[rows] = np.minimum(self.initial, lengths - 1)
        self._steps[rows] = 0
        self._seen[rows] = False
        for slot in range(int(cursor.max())):  # the shown prefix: usually one technique
            showing = rows[cursor > slot]
            self._seen[showing, self._sequences[showing, slot]] = True
        self._started_rows(rows)
        self._observe(rows)
        self._needs_reset[rows] = False

    def _started_rows(self, rows: np.ndarray) -> None:
        """Per-twin state of freshly started envs."""

    def _observe(self, rows: np.ndarray) -> None:
        raise NotImplementedError

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

    def _check_started(self) -> None:
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")

    def _upcoming(self) -> np.ndarray:
        """Each env's next technique (envs waiting for their autoreset, past their campaign at
        the -1 padding, read a clamped column: their step is ignored)."""
        n = self.n_techniques
        return np.maximum(self._sequences[self._rows, np.minimum(self._cursor, n - 1)], 0)

    def _end_step(
        self, terminated: np.ndarray, stepping: np.ndarray
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Truncation, then autoreset; (truncated, the info entries autoreset adds)."""
        # as Gymnasium's TimeLimit on the single env: at the step limit, truncated even if the
        # episode also terminated there
        truncated = (
            stepping & (self._steps >= self.max_episode_steps)
            if self.max_episode_steps
            else np.zeros_like(terminated)
        )
        infos: dict[str, Any] = {}
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            ended = terminated | truncated
            if ended.any():
                infos["final_obs"], infos["_final_obs"] = self._obs.copy(), ended
                self._start(self._rows[ended])
        else:
            # NEXT_STEP autoreset: envs that ended last step start over now, with reward 0
            resetting = self._rows[self._needs_reset]
            if len(resetting):
                self._start(resetting)
            self._needs_reset = terminated | truncated
        return truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        return None


class ForecastVectorEnv(CampaignVectorEnv):
    """N independent TIE-Forecast episodes; arguments as `ForecastEnv`, plus `num_envs`,
    `max_episode_steps` (truncation, as the registered single env's TimeLimit) and
    `autoreset_mode`."""

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 100,
        model: str = DEFAULT_MODEL,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("render_mode", None)
        kwargs.pop("text_model", None)  # analysts' text starts are single-env resets
        if kwargs.get("features", "none") != "none":
            raise ValueError(
                "the native vector env does not compute recommender features yet; "
                'use gym.make_vec(..., vectorization_mode="sync") for features="recommender"'
            )
        adversary, self.task = forecast_task(model=model, **kwargs)
        self._setup(
            num_envs, max_episode_steps, autoreset_mode, adversary, self.task, self.task.initial
        )
        self._discount = np.concatenate([self.task.discount, [0.0]])

    def _observe(self, rows: np.ndarray) -> None:
        last = self._sequences[rows, self._cursor[rows] - 1]
        self.schema.encode_batch(
            self._seen[rows], last, self._cursor[rows], out=self._obs, rows=rows
        )

    def action_masks(self) -> np.ndarray:
        """(num_envs, n) unseen techniques: the useful guesses."""
        return ~self._seen

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        self._check_started()
        n, rows = self.n_techniques, self._rows
        actions = np.asarray(actions)
        stepping = ~self._needs_reset
        revealed = self._upcoming()
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
        truncated, infos = self._end_step(terminated, stepping)
        infos |= {
            "hit": hit,
            "_hit": stepping,
            "is_success": hit,
            "_is_success": stepping,
            "rank": np.where(stepping, rank, 0),
            "_rank": stepping,
        }
        return self._obs.copy(), rewards, terminated, truncated, infos


class DefendVectorEnv(CampaignVectorEnv):
    """N independent TIE-Defend episodes; arguments as `DefendEnv`, plus `num_envs`,
    `max_episode_steps` and `autoreset_mode`. Rewards, masks and observations are those of the
    single env for the same campaign and actions (test); an evasive adversary's draws come from
    the vector env's generator, one env at a time."""

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 100,
        model: str = DEFAULT_MODEL,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("render_mode", None)
        adversary, self.task = defend_task(model=model, **kwargs)
        self._setup(num_envs, max_episode_steps, autoreset_mode, adversary, self.task, 1)
        self._detected = np.zeros((self.num_envs, self.n_techniques), dtype=bool)
        self._remaining = np.zeros(self.num_envs, dtype=np.int64)

    def _started_rows(self, rows: np.ndarray) -> None:
        self._detected[rows] = False
        self._remaining[rows] = self.task.budget

    def _observe(self, rows: np.ndarray) -> None:
        last = self._sequences[rows, self._cursor[rows] - 1]
        self.schema.encode_batch(
            self._seen[rows],
            last,
            self._cursor[rows],
            detected=self._detected[rows],
            budget_left=self._remaining[rows] / self.task.budget,
            out=self._obs,
            rows=rows,
        )

    def action_masks(self) -> np.ndarray:
        """(num_envs, n + 1): unseen, undetected techniques while budget is left, and waiting."""
        masks = np.ones((self.num_envs, self.n_techniques + 1), dtype=bool)
        masks[:, : self.n_techniques] = (
            ~(self._seen | self._detected) & (self._remaining > 0)[:, None]
        )
        return masks

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        self._check_started()
        n, rows, task = self.n_techniques, self._rows, self.task
        actions = discrete_indices(actions, self.num_envs, n + 1, "actions")
        stepping = ~self._needs_reset
        column = np.minimum(actions, n - 1)
        deploy = stepping & (actions < n) & (self._remaining > 0)
        deploy &= ~self._detected[rows, column] & ~self._seen[rows, column]  # masked: a free wait
        deployed = rows[deploy]
        self._detected[deployed, column[deploy]] = True
        self._remaining[deploy] -= 1
        self.schema.detect_batch(
            self._obs, deployed, column[deploy], self._remaining[deploy] / task.budget
        )
        revealed = self._upcoming()
        caught = stepping & self._detected[rows, revealed]
        if task.evasion.probability > 0:
            for row in np.flatnonzero(caught):
                if task.evasion.evades(self.np_random):
                    self._evade(row, revealed, caught)
        length = np.maximum(self._lengths, 1)
        catch = np.where(caught, task.catch_reward(self._cursor, length), 0.0)
        rewards = np.where(stepping, catch - deploy * task.detection_cost, 0.0)
        live = rows[stepping]
        previous = self._sequences[live, self._cursor[live] - 1]
        self._seen[live, revealed[live]] = True
        self._cursor[live] += 1
        self._steps[live] += 1
        self.schema.reveal_batch(self._obs, live, revealed[live], previous, self._cursor[live])
        terminated = stepping & (caught | (self._cursor >= self._lengths))
        budget_left = self._remaining.copy()  # before an autoreset refills the ended envs' budget
        truncated, infos = self._end_step(terminated, stepping)
        infos |= {
            "caught": caught,
            "_caught": stepping,
            "is_success": caught,
            "_is_success": stepping,
            "budget_left": budget_left,
            "_budget_left": stepping,
        }
        return self._obs.copy(), rewards, terminated, truncated, infos

    def _evade(self, row: int, revealed: np.ndarray, caught: np.ndarray) -> None:
        """The evasive adversary's substitute for env `row`'s detected technique, in place."""
        length = int(self._lengths[row])
        techniques, used = self.task.evasion.substitute(
            self.np_random,
            self._sequences[row, :length].copy(),
            int(self._cursor[row]),
            self._seen[row],
            self._detected[row],
        )
        self._sequences[row] = -1
        self._sequences[row, : len(techniques)] = techniques
        self._lengths[row] = len(techniques)
        revealed[row] = used
        caught[row] = self._detected[row, used]
