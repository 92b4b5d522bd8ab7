"""`python -m agents.train`: train a stable-baselines3 defender on a TIE-Forecast environment.

Writes `<out>/<algo>-<env>-seed<seed>/` with `best_model.zip` (from EvalCallback), `final.zip`,
checkpoints, `evaluations.npz` (the learning curve), TensorBoard logs under `tb/` and
`run.json` (config, hyperparameters, FPS and the share of wall time spent inside the env).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper

import tie_gym  # noqa: F401  (registers the environments)
from agents.evaluate import TRAIN_EVAL_SEED_OFFSET
from agents.policy import ALGORITHMS, algorithm_class, check_env_config, policy_class

log = logging.getLogger("agents.train")
DEFAULT_HYPERPARAMS = Path(__file__).with_name("hyperparams.yml")


@dataclass(frozen=True)
class AgentTrainConfig:
    """One training run; recorded in run.json."""

    algo: str = "maskable_ppo"
    """ppo, a2c, dqn or maskable_ppo."""
    env: str = "TIE-ForecastGuess-v1"
    """A single-guess (Discrete) env id that tie_gym registers (no `module:` prefix)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra env keyword arguments: the env's own keywords, JSON scalars."""
    timesteps: int = 200_000
    n_envs: int = 8
    seed: int = 0
    """Training envs take seed … seed + n_envs − 1, the EvalCallback env seed + 10 000 (the seed
    ranges are listed in agents.evaluate)."""
    hyperparams: str = str(DEFAULT_HYPERPARAMS)
    """YAML file in the RL Zoo layout (env id → algo → settings)."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Settings that replace the file's, e.g. {"learning_rate": 0.001, "policy_kwargs.net_arch": [512]}."""
    out: str = "runs/agents"
    eval_freq: int = 10_000
    """Environment steps (summed over envs) between evaluations."""
    eval_episodes: int = 100
    threads: int = 1
    """torch threads: 1 is fastest for small MLPs on small CPUs."""
    device: str = "cpu"
    progress: bool = True
    name: str = ""
    """Suffix of the run folder, e.g. a sweep label."""


class EnvTimer(VecEnvWrapper):
    """Accumulates wall time spent inside the vectorised env (to report the env/policy split)."""

    def __init__(self, venv: Any) -> None:
        super().__init__(venv)
        self.seconds = 0.0

    def reset(self) -> Any:
        start = time.perf_counter()
        out = self.venv.reset()
        self.seconds += time.perf_counter() - start
        return out

    def step_async(self, actions: np.ndarray) -> None:
        start = time.perf_counter()
        self.venv.step_async(actions)
        self.seconds += time.perf_counter() - start

    def step_wait(self) -> Any:
        start = time.perf_counter()
        out = self.venv.step_wait()
        self.seconds += time.perf_counter() - start
        return out


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


def train(config: AgentTrainConfig) -> Path:
    """Train one agent; returns its run folder."""
    if config.algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {ALGORITHMS}, got {config.algo!r}")
    # what load_run accepts from run.json, refused here before a run is spent on it
    check_env_config(config.env, config.env_kwargs, None, prefix="")
    if not 0 <= config.seed <= TRAIN_EVAL_SEED_OFFSET - config.n_envs:
        raise ValueError(
            f"seed must lie in [0, {TRAIN_EVAL_SEED_OFFSET - config.n_envs}] with n_envs="
            f"{config.n_envs}: the training envs' seeds must stay below the EvalCallback's "
            f"(seed + {TRAIN_EVAL_SEED_OFFSET}) and the evaluation ranges (agents.evaluate)"
        )
    torch.set_num_threads(config.threads)
    out = (
        Path(config.out)
        / f"{config.algo}-{config.env}-seed{config.seed}{'-' + config.name if config.name else ''}"
    )
    out.mkdir(parents=True, exist_ok=True)
    params = load_hyperparams(config.hyperparams, config.env, config.algo, config.overrides)
    policy = params.pop("policy")
    venv = EnvTimer(
        make_vec_env(
            config.env,
            n_envs=config.n_envs,
            seed=config.seed,
            env_kwargs=config.env_kwargs,
            vec_env_cls=DummyVecEnv,
        )
    )
    # same wrapper type as the training env (EvalCallback warns otherwise); its timer is unused
    eval_env = EnvTimer(
        make_vec_env(
            config.env,
            n_envs=1,
            seed=config.seed + TRAIN_EVAL_SEED_OFFSET,
            env_kwargs=config.env_kwargs,
        )
    )
    if config.algo == "maskable_ppo":
        from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback as Eval
    else:
        Eval = EvalCallback
    callbacks = [
        Eval(
            eval_env,
            best_model_save_path=str(out),
            log_path=str(out),
            eval_freq=max(config.eval_freq // config.n_envs, 1),
            n_eval_episodes=config.eval_episodes,
            deterministic=True,
        ),
        CheckpointCallback(
            save_freq=max(config.timesteps // 4 // config.n_envs, 1),
            save_path=str(out / "checkpoints"),
            name_prefix=config.algo,
        ),
    ]
    model = algorithm_class(config.algo)(
        policy_class(config.algo, policy),
        venv,
        seed=config.seed,
        device=config.device,
        tensorboard_log=str(out / "tb"),
        verbose=0,
        **params,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=config.timesteps, callback=callbacks, progress_bar=config.progress)
    seconds = time.perf_counter() - start
    model.save(out / "final.zip")
    record = {
        "config": asdict(config),
        "hyperparameters": {
            k: (v if not isinstance(v, dict) else {kk: str(vv) for kk, vv in v.items()})
            for k, v in params.items()
        },
        "policy": policy,
        # plain JSON, so the model can be rebuilt without unpickling anything (agents.policy.load_run)
        "policy_kwargs_json": {
            key: (value.__name__ if isinstance(value, type) else value)
            for key, value in params["policy_kwargs"].items()
        },
        "train_seconds": round(seconds, 2),
        "fps": round(config.timesteps / seconds, 1),
        "env_seconds": round(venv.seconds, 2),
        "env_share": round(venv.seconds / seconds, 3),
        "torch_threads": config.threads,
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info(
        "%s: %.0f s, %.0f FPS, %.0f%% of the time in the env → %s",
        out.name,
        seconds,
        record["fps"],
        100 * record["env_share"],
        out,
    )
    return out


def parse_args(argv: list[str] | None = None) -> AgentTrainConfig:
    parser = argparse.ArgumentParser(
        prog="python -m agents.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--algo", default="maskable_ppo", choices=ALGORITHMS)
    parser.add_argument("--env", default="TIE-ForecastGuess-v1")
    parser.add_argument("--env-kwargs", default="{}", help="JSON, e.g. '{\"temperature\": 3}'")
    parser.add_argument("--timesteps", type=int, default=200_000)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hyperparams", default=str(DEFAULT_HYPERPARAMS))
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override hyperparameters, values in YAML: learning_rate=0.001 policy_kwargs.net_arch=[512]",
    )
    parser.add_argument("--name", default="", help="suffix for the run folder (e.g. a sweep label)")
    parser.add_argument("--out", default="runs/agents")
    parser.add_argument("--eval-freq", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return AgentTrainConfig(
        algo=args.algo,
        env=args.env,
        env_kwargs=json.loads(args.env_kwargs),
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        seed=args.seed,
        hyperparams=args.hyperparams,
        overrides=_parse_overrides(args.set),
        name=args.name,
        out=args.out,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        threads=args.threads,
        device=args.device,
        progress=not args.no_progress,
    )


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    overrides = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    return overrides


def main(argv: list[str] | None = None) -> int:
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
