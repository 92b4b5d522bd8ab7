"""A trained stable-baselines3 policy behind the same `act` interface as the baselines.

Policies are trained on the single-guess env (Discrete(n)); their action probabilities rank every
technique, so the same policy also plays the score-vector envs (its top-k is its forecast).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.baselines import Agent

ALGORITHMS = ("ppo", "a2c", "dqn", "maskable_ppo")


def algorithm_class(algorithm: str) -> Any:
    """The SB3 (or sb3-contrib) class of an algorithm name."""
    if algorithm == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3

    return getattr(stable_baselines3, algorithm.upper())


def policy_class(algorithm: str, name: str) -> Any:
    """A policy by its YAML name: SB3's aliases (MlpPolicy) or ours (ResidualPolicy)."""
    if name == "ResidualPolicy":
        from agents.residual import residual_policy_class

        return residual_policy_class(algorithm)
    aliases = algorithm_class(algorithm).policy_aliases
    if name not in aliases:
        raise ValueError(
            f"policy {name!r} unknown for {algorithm}; use one of {sorted(aliases)} or ResidualPolicy"
        )
    return aliases[name]


def _constant(_: float) -> float:
    return 0.0


def safe_custom_objects(
    path: str | Path, algorithm: str, env: Any, policy: str, policy_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Replacements for every pickled entry of an SB3 zip, so loading unpickles nothing.

    SB3 stores spaces, schedules, classes and buffers as cloudpickle inside the zip; loading them
    could run code from the file. We rebuild what inference needs from trusted sources (the env's
    spaces, the run's plain-JSON policy settings, the library's own policy class) and drop the
    rest; the weights themselves SB3 reads with torch's weights-only loader.
    """
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data"))
    trusted = {
        "observation_space": env.observation_space,
        "action_space": env.action_space,
        "policy_kwargs": policy_kwargs,
        "policy_class": policy_class(algorithm, policy),
    }
    replacements: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and ":serialized:" in value:
            if key in trusted:
                replacements[key] = trusted[key]
            elif "schedule" in key or key.startswith("clip_range") or key == "learning_rate":
                replacements[key] = _constant
            elif key == "train_freq":  # off-policy algorithms check it on load; unused at inference
                from stable_baselines3.common.type_aliases import TrainFreq, TrainFrequencyUnit

                replacements[key] = TrainFreq(1, TrainFrequencyUnit.STEP)
            else:
                replacements[key] = None
    return replacements


def load_algorithm(
    algorithm: str,
    path: str | Path,
    env: Any,
    # `env` provides observation_space and action_space: those the policy was trained with
    policy_kwargs: dict[str, Any],
    policy: str = "MlpPolicy",
    device: str = "cpu",
) -> Any:
    """Load an SB3 zip for inference without deserialising any pickled object in it."""
    objects = safe_custom_objects(path, algorithm, env, policy, policy_kwargs)
    return algorithm_class(algorithm).load(str(path), device=device, custom_objects=objects)


def policy_kwargs_from_json(settings: dict[str, Any]) -> dict[str, Any]:
    """Rebuild policy_kwargs from run.json's plain form: class names become torch classes, looked
    up only among torch.nn activations and torch.optim optimisers (never an arbitrary import)."""
    from agents.train import activation_class

    kwargs = dict(settings)
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = activation_class(kwargs["activation_fn"])
    if "optimizer_class" in kwargs:
        optimizer = getattr(torch.optim, str(kwargs["optimizer_class"]), None)
        if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
            raise ValueError(
                f"optimizer_class {kwargs['optimizer_class']!r} is not a torch.optim optimiser"
            )
        kwargs["optimizer_class"] = optimizer
    return kwargs


def load_run(run: str | Path, env: Any, device: str = "cpu") -> Any:
    """The best (else final) model of an `agents.train` run folder, loaded safely.

    The policy's spaces come from the env it was trained on (named in run.json), not from `env`,
    the env it will play: a single-guess policy also ranks techniques for score-vector envs.
    """
    import gymnasium as gym

    from agents.train import load_hyperparams

    run = Path(run)
    record = json.loads((run / "run.json").read_text()) if (run / "run.json").exists() else None
    if record is not None and "policy_kwargs_json" in record:
        algorithm, policy = record["config"]["algo"], record["policy"]
        kwargs = policy_kwargs_from_json(record["policy_kwargs_json"])
    else:  # a run stopped before run.json: its folder name starts with the algorithm
        algorithm = record["config"]["algo"] if record else run.name.split("-TIE-")[0]
        env_id = record["config"]["env"] if record else "default"
        params = load_hyperparams(Path(__file__).with_name("hyperparams.yml"), env_id, algorithm)
        policy, kwargs = params["policy"], params["policy_kwargs"]
    if record is not None:
        spaces_from = gym.make(
            record["config"]["env"], **record["config"].get("env_kwargs", {})
        ).unwrapped
    else:
        spaces_from = _GuessSpaces(
            env.observation_space, gym.spaces.Discrete(env.unwrapped.n_techniques)
        )
    model_path = run / "best_model.zip" if (run / "best_model.zip").exists() else run / "final.zip"
    return load_algorithm(algorithm, model_path, spaces_from, kwargs, policy, device)


class _GuessSpaces:
    """Spaces of a single-guess env, for a run whose run.json is missing."""

    def __init__(self, observation_space: Any, action_space: Any) -> None:
        self.observation_space, self.action_space = observation_space, action_space


class PolicyAgent(Agent):
    """Ranks techniques by the policy's action preferences (probabilities, or Q-values for DQN)."""

    def __init__(self, model: Any, n_techniques: int, action_mode: str = "scores") -> None:
        super().__init__(n_techniques, action_mode)
        self.model = model
        width = model.observation_space.shape[0]
        # a policy trained with the recommender's scores in its observation plays envs that have them
        self.features = "recommender" if width == 3 * n_techniques + 1 else "none"

    @torch.no_grad()
    def preferences(self, observation: np.ndarray) -> np.ndarray:
        policy = self.model.policy
        obs_tensor, _ = policy.obs_to_tensor(observation)
        if hasattr(policy, "q_net"):
            return policy.q_net(obs_tensor)[0].cpu().numpy()
        return policy.get_distribution(obs_tensor).distribution.logits[0].cpu().numpy()

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        return self._emit(self.preferences(observation), observation[: self.n_techniques] > 0)
