"""Names in hyperparameter files and run records → the classes they stand for.

`agents.train` writes names (hyperparams.yml, run.json) and `agents.policy` reads them back; both
look them up here, in closed tables (SB3's algorithms and policy aliases, ours, torch.nn
activations, torch.optim optimisers), never by importing a name from a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml

from recommenders.errors import DataError

DEFAULT_HYPERPARAMS = Path(__file__).with_name("hyperparams.yml")
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
}


def activation_class(name: str) -> type[torch.nn.Module]:
    """A torch activation by its class name (hyperparameter files and run records hold names)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation_fn {name!r} unknown; use one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


def load_hyperparams(
    path: str | Path, env_id: str, algo: str, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The YAML entry for (env, algo), falling back to the `default` block, with overrides
    ("policy_kwargs.net_arch" reaches inside policy_kwargs)."""
    table = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    block = table.get(env_id, table.get("default", {}))
    if algo not in block:
        raise ValueError(f"{path}: no hyperparameters for {algo!r} under {env_id!r} or 'default'")
    params = dict(block[algo])
    policy_kwargs = dict(params.get("policy_kwargs", {}))
    for key, value in (overrides or {}).items():
        if key.startswith("policy_kwargs."):
            policy_kwargs[key.split(".", 1)[1]] = value
        else:
            params[key] = value
    if "activation_fn" in policy_kwargs:
        try:
            policy_kwargs["activation_fn"] = activation_class(policy_kwargs["activation_fn"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
    params["policy_kwargs"] = policy_kwargs
    return params


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
