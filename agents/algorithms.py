"""Names in hyperparameter files and run records → the classes they stand for.

`agents.train` writes names (agents/hyperparams/*.yml, run.json) and `agents.policy` reads them back; both
look them up here, in closed tables (SB3's algorithms and policy aliases, ours, torch.nn
activations, torch.optim optimisers), never by importing a name from a file.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import torch
import yaml

from recommenders.errors import DataError

DEFAULT_HYPERPARAMS = Path(__file__).with_name("hyperparams")
"""One YAML file per algorithm, keyed by env id: RL Zoo's layout (agents/hyperparams/README.md)."""
ZOO_RUN_KEYS = ("n_timesteps", "n_envs")
"""RL Zoo's run length and env count in a settings block: not algorithm arguments."""
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


def check_algorithm(algorithm: object, path: str | Path | None, field: str) -> str:
    """An algorithm name from a file, refused unless it is one of ALGORITHMS."""
    if algorithm not in ALGORITHMS:
        raise DataError(
            path, field, f"unknown algorithm {algorithm!r}", f"use one of {list(ALGORITHMS)}"
        )
    return str(algorithm)


_ACTIVATIONS = {
    "ReLU": torch.nn.ReLU,
    "Tanh": torch.nn.Tanh,
    "ELU": torch.nn.ELU,
    "GELU": torch.nn.GELU,
    "LeakyReLU": torch.nn.LeakyReLU,
    "SiLU": torch.nn.SiLU,
}


def activation_class(name: str) -> type[torch.nn.Module]:
    """A torch activation by its class name (hyperparameter files and run records hold names)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation_fn {name!r} unknown; use one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


def hyperparams_file(path: str | Path, algo: str) -> Path:
    """The YAML of one algorithm: `<folder>/<algo>.yml`, or the file itself (an RL Zoo conf file)."""
    path = Path(path)
    return path / f"{algo}.yml" if path.is_dir() else path


def settings_block(path: str | Path, env_id: str, algo: str) -> tuple[Path, dict[str, Any]]:
    """(file, the settings for env_id in it, else its `default`), as RL Zoo looks them up."""
    file = hyperparams_file(path, algo)
    if not file.is_file():
        raise DataError(
            file,
            algo,
            f"no hyperparameter file for {algo}",
            f"write {file.name} (env id → settings, as RL Zoo does) or pick another --algo",
        )
    try:
        table = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:  # python/object tags included: safe_load builds no objects
        problem = " ".join(str(exc).split())[:200]
        raise DataError(
            file,
            None,
            f"not plain YAML ({problem})",
            "write plain mappings, lists, numbers and strings",
        ) from exc
    if not isinstance(table, dict):
        raise DataError(file, "top level", "not a mapping", "write env id → settings")
    block = table.get(env_id, table.get("default"))
    if not isinstance(block, dict):
        raise DataError(
            file, env_id, f"no settings for {env_id!r} and no 'default'", "add one of them"
        )
    return file, dict(block)


def run_settings(path: str | Path, env_id: str, algo: str) -> dict[str, int]:
    """RL Zoo's `n_timesteps` and `n_envs` for (env, algo), those the file sets."""
    file, block = settings_block(path, env_id, algo)
    settings = {}
    for key in ZOO_RUN_KEYS:
        if key in block:
            value = block[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
                raise DataError(
                    file,
                    f"{env_id}.{key}",
                    f"{value!r} is not a positive count",
                    "write an integer",
                )
            settings[key] = int(value)
    return settings


def load_hyperparams(
    path: str | Path, env_id: str, algo: str, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The algorithm's arguments for (env, algo) in RL Zoo's layout (`settings_block`; its
    run keys `ZOO_RUN_KEYS` left out), with overrides ("policy_kwargs.net_arch" reaches inside
    policy_kwargs)."""
    file, block = settings_block(path, env_id, algo)
    params = {k: v for k, v in block.items() if k not in ZOO_RUN_KEYS}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith(("lin_", "linear_")):
            raise DataError(
                file,
                f"{env_id}.{key}",
                f"{value!r} is an RL Zoo schedule, which agents.train does not build",
                "write a number (or train with python -m rl_zoo3.train, which reads it)",
            )
    try:
        policy_class(algo, str(params.get("policy", "MlpPolicy")))
    except ValueError as exc:
        raise DataError(file, f"{env_id}.policy", str(exc), "name an SB3 policy alias") from exc
    policy_kwargs = parse_policy_kwargs(params.get("policy_kwargs", {}), file)
    for key, value in (overrides or {}).items():
        if key.startswith("policy_kwargs."):
            policy_kwargs[key.split(".", 1)[1]] = value
        else:
            params[key] = value
    try:
        params["policy_kwargs"] = policy_kwargs_from_json(policy_kwargs)
    except ValueError as exc:
        raise DataError(
            file,
            f"{env_id}.policy_kwargs",
            str(exc),
            "name a torch.nn activation / torch.optim optimiser",
        ) from exc
    return params


def parse_policy_kwargs(value: object, path: Path) -> dict[str, Any]:
    """policy_kwargs as a mapping, or RL Zoo's string (`"dict(net_arch=[64], activation_fn=
    nn.ReLU)"`) parsed without evaluating it: keyword literals, and dotted names (`nn.ReLU`,
    `th.optim.Adam`) kept as their last part for the closed tables here."""
    if isinstance(value, dict):
        return dict(value)
    fix = "write dict(key=value, ...) with literal values and nn.<Activation> names"
    if not isinstance(value, str):
        raise DataError(path, "policy_kwargs", f"{value!r} is not a mapping or a string", fix)
    try:
        call = ast.parse(value, mode="eval").body
    except SyntaxError as exc:
        raise DataError(
            path, "policy_kwargs", f"{value!r} does not parse ({exc.msg})", fix
        ) from exc
    if isinstance(call, ast.Dict):
        return dict(ast.literal_eval(call))
    if not (
        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "dict"
    ):
        raise DataError(path, "policy_kwargs", f"{value!r} is not dict(...)", fix)
    if call.args or any(k.arg is None for k in call.keywords):
        raise DataError(path, "policy_kwargs", f"{value!r}: keywords only", fix)
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        node = keyword.value
        if (
            keyword.arg in ("activation_fn", "optimizer_class")
            and isinstance(node, ast.Attribute)
            and _dotted_name(node)
        ):
            kwargs[str(keyword.arg)] = node.attr  # nn.ReLU → "ReLU", looked up in closed tables
            continue
        try:
            kwargs[str(keyword.arg)] = ast.literal_eval(node)
        except ValueError as exc:
            raise DataError(
                path, f"policy_kwargs.{keyword.arg}", f"{ast.unparse(node)!r} is not a literal", fix
            ) from exc
    return kwargs


def _dotted_name(node: ast.expr) -> bool:
    """Whether `node` is a plain dotted name (nn.ReLU, th.optim.Adam): no call, no subscript."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def policy_kwargs_from_json(settings: dict[str, Any]) -> dict[str, Any]:
    """Rebuild policy_kwargs from run.json's plain form: class names become torch classes, looked
    up only among torch.nn activations and torch.optim optimisers (never an arbitrary import)."""
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
