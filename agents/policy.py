"""A trained stable-baselines3 policy behind the same `act` interface as the baselines.

A policy trained on a single-guess env (Discrete(n)) ranks every technique by its action
preferences (logits, or Q-values for DQN), so it also plays the score-vector envs (its top-k is
its forecast). A PPO/A2C policy trained on a score-vector env (Box(n)) is a Gaussian whose mean
action is a score vector: that mean is its forecast, and in guess mode its argmax.
"""

from __future__ import annotations

import inspect
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium.spaces import Box, Discrete

from agents.algorithms import (
    DEFAULT_HYPERPARAMS,
    algorithm_class,
    check_algorithm,
    load_hyperparams,
    policy_class,
    policy_kwargs_from_json,
)
from agents.baselines import Agent
from recommenders.errors import DataError
from tie_gym.observation import ObservationSchema


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
    try:
        return algorithm_class(algorithm).load(str(path), device=device, custom_objects=objects)
    except (
        RuntimeError,
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        pickle.UnpicklingError,
    ) as exc:
        # a size mismatch, a class named by a string, weights that are not plain tensors (torch's
        # weights-only loader refuses them): the file is not a policy this env can rebuild
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DataError(
            path,
            "policy",
            f"cannot be rebuilt as a {algorithm} policy for this env ({type(exc).__name__}: {first[:200]})",
            "play it on the env and with the settings it was trained with, or retrain",
        ) from exc


def env_keywords() -> dict[str, frozenset[str]]:
    """tie_gym's registered env ids → the keyword names their env class accepts."""
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    from tie_gym import DEFEND_PRESETS, PRESETS

    keywords = {}
    for env_id in (*PRESETS, *DEFEND_PRESETS):
        entry_point = gym.spec(env_id).entry_point
        creator = load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point
        if creator is None:
            raise RuntimeError(f"{env_id} is registered without an entry point")
        parameters = inspect.signature(creator).parameters
        keywords[env_id] = frozenset(
            name
            for name, parameter in parameters.items()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        )
    return keywords


def check_env_config(
    env_id: object, env_kwargs: object, path: str | Path | None, prefix: str = "config."
) -> tuple[str, dict[str, Any]]:
    """`(env_id, env_kwargs)` if they name a tie_gym env and its own JSON-scalar keywords.

    `gym.make("pkg.module:Env-v0")` imports `pkg.module` before it looks the id up, so an env id
    read from a file (a shared run folder's run.json) could run any module beside it on load. Only
    the ids tie_gym registers pass, and only keywords their env class takes, holding plain values.
    """
    known = env_keywords()
    if not isinstance(env_id, str) or env_id not in known:
        hint = " without a module prefix" if isinstance(env_id, str) and ":" in env_id else ""
        raise DataError(
            path,
            f"{prefix}env",
            f"{env_id!r} is not an environment tie_gym registers (gym.make imports the module "
            "named before ':')",
            f"use one of {sorted(known)}{hint}",
        )
    if not isinstance(env_kwargs, dict):
        raise DataError(
            path,
            f"{prefix}env_kwargs",
            f"expected a JSON object, got {type(env_kwargs).__name__}",
            "write {} or keyword → value pairs",
        )
    for key, value in env_kwargs.items():
        if key not in known[env_id]:
            raise DataError(
                path,
                f"{prefix}env_kwargs.{key}",
                f"{env_id} takes no keyword {key!r}",
                f"remove it, or use one of {sorted(known[env_id])}",
            )
        if not (value is None or isinstance(value, (str, int, float, bool))) or (
            isinstance(value, float) and not np.isfinite(value)
        ):
            raise DataError(
                path,
                f"{prefix}env_kwargs.{key}",
                f"expected a JSON scalar (string, number, boolean or null), got {value!r}",
                "write a plain value",
            )
    return env_id, dict(env_kwargs)


def load_run(run: str | Path, env: Any, device: str = "cpu") -> Any:
    """The best (else final) model of an `agents.train` run folder, loaded safely.

    The policy's spaces come from the env it was trained on (named in run.json), not from `env`,
    the env it will play: a single-guess policy also ranks techniques for score-vector envs.
    run.json is untrusted input: its env id and keywords pass `check_env_config` before any
    `gym.make`, and its algorithm must be one of ALGORITHMS.
    """
    import gymnasium as gym

    run = Path(run)
    record_path = run / "run.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else None
    if record is not None:
        config = record.get("config") if isinstance(record, dict) else None
        if not isinstance(config, dict):
            raise DataError(
                record_path, "config", "missing or not an object", "rerun `python -m agents.train`"
            )
        algorithm = check_algorithm(config.get("algo"), record_path, "config.algo")
        env_id, env_kwargs = check_env_config(
            config.get("env"), config.get("env_kwargs", {}), record_path
        )
    else:  # a run stopped before run.json: its folder name starts with the algorithm
        algorithm = check_algorithm(run.name.split("-TIE-")[0], run, "folder name")
    if record is not None and "policy_kwargs_json" in record:
        policy = record["policy"]
        kwargs = policy_kwargs_from_json(record["policy_kwargs_json"])
    else:
        params = load_hyperparams(
            DEFAULT_HYPERPARAMS,
            env_id if record is not None else "default",
            algorithm,
        )
        policy, kwargs = params["policy"], params["policy_kwargs"]
    if record is not None:
        spaces_from = gym.make(env_id, **env_kwargs).unwrapped
        check_vocabulary(record, record_path, spaces_from, env)
    else:
        spaces_from = _GuessSpaces(
            env.observation_space, gym.spaces.Discrete(env.unwrapped.n_techniques)
        )
    model_path = run / "best_model.zip" if (run / "best_model.zip").exists() else run / "final.zip"
    if not model_path.is_file():
        raise DataError(
            run,
            "best_model.zip / final.zip",
            "the run folder holds no model (a run that stopped before it saved one)",
            "rerun `python -m agents.train` for it, or leave the folder out of the glob",
        )
    return load_algorithm(algorithm, model_path, spaces_from, kwargs, policy, device)


def load_learned(path: str | Path, env: Any, algorithm: str | None = None) -> Any:
    """An `agents.train` run folder (`load_run`) or a plain SB3 zip (`load_sb3_zip`)."""
    path = Path(path)
    if path.is_dir():
        return load_run(path, env)
    return load_sb3_zip(path, algorithm)


def load_sb3_zip(path: str | Path, algorithm: str | None = None, device: str = "cpu") -> Any:
    """A user's own SB3 zip (`model.save(...)` on a tie_gym env), loaded without unpickling.

    Everything is rebuilt from the zip's plain-JSON entries: the algorithm (from the policy's
    module and the algorithm's own settings, unless given), the spaces (their type and shape),
    the policy's net_arch and activation (torch classes named by string, looked up in
    `agents.algorithms`' closed tables). The playing env checks the widths afterwards.
    """
    path = Path(path)
    fix = "give the .zip that model.save() wrote, or an agents.train run folder"
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise DataError(path, "data", f"not a stable-baselines3 zip ({exc})", fix) from exc
    if not isinstance(data, dict):
        raise DataError(path, "data", "not a JSON object", fix)
    module = str((data.get("policy_class") or {}).get("__module__", ""))
    algorithm = check_algorithm(algorithm or zip_algorithm(data, module, path), path, "algorithm")
    policy = "ResidualPolicy" if module == "agents.residual" else "MlpPolicy"
    spaces = _GuessSpaces(
        _zip_space(data, "observation_space", path), _zip_space(data, "action_space", path)
    )
    kwargs = _zip_policy_kwargs(data.get("policy_kwargs") or {}, path)
    return load_algorithm(algorithm, path, spaces, kwargs, policy, device)


def zip_algorithm(data: dict[str, Any], module: str, path: Path) -> str:
    """The algorithm that saved an SB3 zip, from its policy's module and its own settings."""
    if module.startswith("sb3_contrib.common.maskable"):
        return "maskable_ppo"
    if module.startswith("stable_baselines3.dqn"):
        return "dqn"
    if module in ("stable_baselines3.common.policies", "agents.residual"):
        # PPO (and MaskablePPO) keep a clip range; A2C has none
        buffer = data.get("rollout_buffer_class")
        masked = isinstance(buffer, dict) and "maskable" in str(buffer.get("__module__", ""))
        return ("maskable_ppo" if masked else "ppo") if "clip_range" in data else "a2c"
    raise DataError(
        path,
        "policy_class",
        f"a policy from {module or 'an unknown module'}, which agents.evaluate cannot rebuild "
        "without unpickling",
        "play ppo, a2c, dqn or maskable_ppo zips; name the algorithm as NAME=ALGO:PATH "
        "(e.g. mine=ppo:ppo_tie.zip) if it was not recognised",
    )


def _zip_space(data: dict[str, Any], key: str, path: Path) -> Any:
    entry = data.get(key)
    kind = str(entry.get(":type:", "")) if isinstance(entry, dict) else ""
    try:
        if "Discrete" in kind:
            return Discrete(int(entry["n"]))  # type: ignore[index]
        if "Box" in kind:
            shape = tuple(int(v) for v in entry.get("_shape", entry.get("shape")))  # type: ignore[union-attr]
            low = 0.0 if key == "observation_space" else -1.0
            return Box(low, 1.0, shape=shape, dtype=np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(path, f"data.{key}", f"unreadable ({exc})", "re-save the model") from exc
    raise DataError(
        path,
        f"data.{key}",
        f"a {kind or 'missing'} space; tie_gym envs have Box observations and Discrete or Box "
        "actions",
        "play a policy trained on a tie_gym env",
    )


def _zip_policy_kwargs(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """policy_kwargs from the zip's JSON: classes appear as their repr ("<class 'torch.nn.
    modules.activation.ReLU'>") and become classes through the closed tables, never an import."""
    kwargs = {k: v for k, v in raw.items() if not k.startswith(":")}
    for key in ("activation_fn", "optimizer_class"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = kwargs[key].rstrip("'>").rsplit(".", 1)[-1]
    try:
        return policy_kwargs_from_json(kwargs)
    except ValueError as exc:
        raise DataError(
            path, "data.policy_kwargs", str(exc), "re-save with a torch.nn activation"
        ) from exc


def _difference(ours: list[str], theirs: list[str]) -> str:
    diff = sorted(set(ours) ^ set(theirs))
    if not diff:
        return f"the same {len(ours)} techniques in another order"
    return f"{len(ours)} vs {len(theirs)} techniques, {len(diff)} differ, e.g. {diff[:3]}"


def check_vocabulary(
    record: dict[str, Any], record_path: Path, trained_on: Any, env: Any
) -> list[str]:
    """run.json's technique vocabulary, refused unless it is the one of `env`, the env to play.

    A policy's observation and action columns are techniques in vocabulary order: on another
    vocabulary of the same width it would play silently wrong, on another width fail inside SB3.
    Runs from before `technique_ids` was recorded are checked against the env they name, rebuilt
    now (`trained_on`); recorded ones must also still be what that env builds.
    """
    if "technique_ids" in record:
        recorded = record["technique_ids"]
        if not (isinstance(recorded, list) and all(isinstance(t, str) for t in recorded)):
            raise DataError(
                record_path,
                "technique_ids",
                "not a list of technique IDs",
                "rerun `python -m agents.train`, or restore the file",
            )
        rebuilt = list(trained_on.adversary.vocabulary)
        if recorded != rebuilt:
            raise DataError(
                record_path,
                "technique_ids",
                f"the policy was trained on another vocabulary than its env builds now "
                f"({_difference(recorded, rebuilt)}): the env's model artifact changed",
                "restore the model it was trained with (config.env_kwargs.model, else the "
                "shipped default), or retrain",
            )
    else:
        recorded = list(trained_on.adversary.vocabulary)
    playing = list(env.unwrapped.adversary.vocabulary)
    if recorded != playing:
        raise DataError(
            record_path,
            "technique_ids",
            f"the policy was trained on another technique vocabulary than the env it is to play "
            f"({_difference(recorded, playing)})",
            "play it on envs of the model it was trained with (the same env_kwargs model, e.g. "
            "agents.evaluate --env-kwargs '{\"model\": …}'), or retrain on this env's model",
        )
    return recorded


class _GuessSpaces:
    """Spaces of a single-guess env, for a run whose run.json is missing."""

    def __init__(self, observation_space: Any, action_space: Any) -> None:
        self.observation_space, self.action_space = observation_space, action_space


class PolicyAgent(Agent):
    """Ranks techniques by the policy's action preferences: logits of a single-guess policy,
    Q-values for DQN, the mean action of a score-vector (Gaussian) policy."""

    def __init__(self, model: Any, n_techniques: int, action_mode: str = "scores") -> None:
        super().__init__(n_techniques, action_mode)
        self.model = model
        space = model.action_space
        actions = int(space.n) if isinstance(space, Discrete) else int(np.prod(space.shape))
        if actions != n_techniques:
            raise ValueError(
                f"the policy has {actions} actions and this forecast env {n_techniques} techniques "
                "(a Defend policy has one more, its wait): play it on envs of the kind and model "
                "it was trained with"
            )
        width = model.observation_space.shape[0]
        featured = ObservationSchema(n_techniques, recommender=True)
        # a policy trained with the recommender's scores in its observation plays envs that have them
        self.features = "recommender" if width == featured.width else "none"

    @torch.no_grad()
    def preferences(self, observation: np.ndarray) -> np.ndarray:
        policy = self.model.policy
        obs_tensor, _ = policy.obs_to_tensor(observation)
        if hasattr(policy, "q_net"):
            return policy.q_net(obs_tensor)[0].cpu().numpy()
        distribution = policy.get_distribution(obs_tensor)
        if isinstance(policy.action_space, Box):  # a Gaussian: its mean is the score vector
            return distribution.mode()[0].cpu().numpy()
        return distribution.distribution.logits[0].cpu().numpy()

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        return self._emit(self.preferences(observation), self.schema.seen(observation))
