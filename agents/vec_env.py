"""A Gymnasium native vector env as a stable-baselines3 `VecEnv`.

SB3 trains through its own `VecEnv`: a `DummyVecEnv` steps N single envs in a Python loop, which
at this env's speed leaves the policy waiting on Python. `NativeVecEnv` hands SB3 the native
vector env (`tie_gym.vector`, N campaigns stepped as arrays) with the semantics SB3 expects: an
ended env restarts in the same step, `infos[i]["terminal_observation"]` holds its last
observation and `infos[i]["TimeLimit.truncated"]` says it was cut by the step limit;
`env_method("action_masks")` gives MaskablePPO one mask per env.

Seeding: `seed(s)` seeds the vector env's one campaign stream at the next reset (a
`DummyVecEnv` seeds env i with s + i instead), so the same seed gives the same training run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv


class NativeVecEnv(VecEnv):
    """SB3 view of a native vector env built with `autoreset_mode=AutoresetMode.SAME_STEP`."""

    def __init__(self, venv: gym.vector.VectorEnv) -> None:
        if venv.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError(
                "NativeVecEnv needs a vector env that resets in the step an episode ends: build "
                "it with autoreset_mode=AutoresetMode.SAME_STEP (see make_native_vec_env)"
            )
        self.venv = venv  # before VecEnv.__init__, which reads render_mode through get_attr
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None

    def reset(self) -> np.ndarray:
        # options set through VecEnv.set_options go to the vector env, which refuses them with
        # a clear error (reset options are single-env), instead of being dropped unseen
        options = next((o for o in self._options if o), None)
        self._reset_options()  # used once, as SB3's own VecEnvs do
        observations, _ = self.venv.reset(seed=self._seed, options=options)
        self._seed = None
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return observations

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        observations, rewards, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key in ("is_success",):  # what SB3's callbacks and Monitor read, per env
            if key in info:
                for i in np.flatnonzero(info.get(f"_{key}", np.ones(self.num_envs, bool))):
                    infos[i][key] = bool(info[key][i])
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return observations, np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        self._seed = seed
        return [seed] * self.num_envs

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.venv, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        if len(self._indices(indices)) != self.num_envs:
            raise ValueError(
                "the native vector env holds one state for all its envs: set_attr applies to all "
                "of them (indices=None)"
            )
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any
    ) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        rows = self._indices(indices)
        if method_name == "action_masks":  # one row per env, as MaskablePPO stacks them
            return [result[i] for i in rows]
        return [result] * len(rows)

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)


def has_native_vector(env_id: str, env_kwargs: dict[str, Any]) -> bool:
    """Whether this env id and its kwargs can be stepped by the native vector env."""
    spec = gym.spec(env_id)
    features = {**spec.kwargs, **env_kwargs}.get("features", "none")
    return spec.vector_entry_point is not None and features == "none"


def make_native_vec_env(env_id: str, n_envs: int, env_kwargs: dict[str, Any]) -> NativeVecEnv:
    """The SB3 VecEnv of `n_envs` campaigns of `env_id` in one native vector env."""
    venv = gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        **env_kwargs,
    )
    return NativeVecEnv(venv)
