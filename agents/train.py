"""`python -m agents.train`: train a stable-baselines3 defender on a TIE-Forecast environment.

Writes `<out>/<algo>-<env>-seed<seed>/` with `best_model.zip` (from EvalCallback), `final.zip`,
`evaluations.npz` (the learning curve), TensorBoard logs under `tb/`, `--checkpoints` evenly
spaced checkpoints (none by default: a 20k-step run kept 30–80 MB of them) and `run.json`
(config, plain-JSON hyperparameters, the env's technique vocabulary, the steps trained, FPS and
the share of wall time spent inside the env).

Run folders are whole or absent: a run is built in `.tmp-<name>` beside its folder and renamed
at the end, so Ctrl-C (exit 130), SIGTERM (143) or an error leaves nothing half-written, and an existing run
folder is refused unless `--overwrite` (then replaced only when the new run has finished).
Hyperparameters: `agents/hyperparams/<algo>.yml`, RL Zoo's layout, so `python -m rl_zoo3.train
--conf-file` reads the same files; their `n_timesteps` and `n_envs` are the defaults of
`--timesteps` and `--n-envs`.

Evaluation log. After each evaluation this prints the *per-forecast* score over all evaluation
episodes: hits ÷ forecasts (hit@1 on the single-guess envs, hit@k on the score-vector envs; NDCG
with `reward="ndcg"`), the number `agents.evaluate` reports, and records it in TensorBoard as
`eval/hit_rate` (or `eval/ndcg`). SB3's own EvalCallback printout is off: its "Success rate"
(TensorBoard `eval/success_rate`, still written) is the `info["is_success"]` of each episode's
*last* step, and the TIE-Forecast envs set `is_success` = hit on every step, so that number is
the share of evaluation episodes whose final forecast hit, not a hit rate.

Threads. Training runs inside `threadpool_limits(threads)` with `torch.set_num_threads(threads)`
(default 1): the env's fold-in calls BLAS on one row at a time, and a BLAS or OpenMP pool per
process oversubscribes a small machine, more so with several trainings at once (the Makefile's
OPENBLAS_NUM_THREADS=1, applied here in code).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback, EvalCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper, VecMonitor
from threadpoolctl import threadpool_limits

import tie_gym  # noqa: F401  (registers the environments)
from agents.algorithms import (
    ALGORITHMS,
    DEFAULT_HYPERPARAMS,
    algorithm_class,
    load_hyperparams,
    policy_class,
    run_settings,
)
from agents.corpus import needs_corpus, require_corpus
from agents.evaluate import TRAIN_EVAL_SEED_OFFSET
from agents.policy import check_env_config
from agents.vec_env import has_native_vector, make_native_vec_env
from recommenders.errors import DataError
from recommenders.jsonio import staged_folder

log = logging.getLogger("agents.train")


@dataclass(frozen=True)
class AgentTrainConfig:
    """One training run; recorded in run.json."""

    algo: str = "maskable_ppo"
    """ppo, a2c, dqn or maskable_ppo."""
    env: str = "TIE-ForecastGuess-v0"
    """An env id that tie_gym registers (no `module:` prefix): single-guess (Discrete) for every
    algorithm; ppo and a2c also train on score-vector envs (a Gaussian policy whose mean action is
    the score vector)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra env keyword arguments: the env's own keywords, JSON scalars."""
    timesteps: int | None = None
    """Environment steps, summed over the training envs (None: the hyperparameter file's
    `n_timesteps`, else 200 000). On-policy algorithms train whole rollouts of n_steps × n_envs."""
    n_envs: int | None = None
    """Training envs stepped together, in one process (None: the file's `n_envs`, else 8)."""
    vec: str = "dummy"
    """How the training envs are stepped: "dummy" (SB3's DummyVecEnv of single envs seeded
    seed … seed + n_envs − 1: how every published run was trained), "native" (the env's native
    vector twin through `agents.vec_env.NativeVecEnv`: N campaigns as arrays from one stream
    seeded with `seed`), or "auto": native where the env has a vector twin (not with
    features="recommender"), else dummy. run.json records the back-end used."""
    seed: int = 0
    """Training envs take seed … seed + n_envs − 1 (dummy; native: one stream seeded with seed),
    the EvalCallback env seed + 10 000 (the seed ranges are listed in agents.evaluate)."""
    hyperparams: str = str(DEFAULT_HYPERPARAMS)
    """A folder of `<algo>.yml` files, or one such file: RL Zoo's layout (env id → settings)."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Settings that replace the file's, e.g. {"learning_rate": 0.001, "policy_kwargs.net_arch": [512]}."""
    out: str = "runs/agents"
    """Parent folder of the run folder."""
    eval_freq: int = 10_000
    """Environment steps (summed over envs) between evaluations."""
    eval_episodes: int = 100
    """Episodes per evaluation (their seeds start at seed + 10 000)."""
    threads: int = 1
    """torch, BLAS and OpenMP threads: 1 is fastest for small MLPs on small CPUs."""
    device: str = "cpu"
    """torch device of the policy."""
    progress: bool = True
    """Show SB3's progress bar."""
    name: str = ""
    """Suffix of the run folder, e.g. a sweep label."""
    overwrite: bool = False
    """Replace an existing run folder of the same name (once the new run has finished)."""
    checkpoints: int = 0
    """Evenly spaced checkpoints to keep under checkpoints/ (best_model.zip and final.zip are
    always kept)."""

    def run_dir(self) -> Path:
        """The run folder: `<out>/<algo>-<env>-seed<seed>[-<name>]`."""
        suffix = f"-{self.name}" if self.name else ""
        return Path(self.out) / f"{self.algo}-{self.env}-seed{self.seed}{suffix}"


DEFAULT_TIMESTEPS, DEFAULT_N_ENVS = 200_000, 8
"""What a run takes when neither the command line nor the hyperparameter file says."""
ON_POLICY = ("ppo", "a2c", "maskable_ppo")
"""Algorithms that train whole rollouts (n_steps × n_envs steps each)."""


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


class EvalHitRate(BaseCallback):
    """Logs the per-forecast score of each EvalCallback evaluation (its `callback_after_eval`).

    hits ÷ forecasts over all evaluation episodes (the episode reward is the number of hits with
    `reward="hit"`): the figure agents.evaluate reports. SB3's "Success rate" is not it, see the
    module docstring.
    """

    def __init__(
        self, label: str, key: str, on_eval: Callable[[int, float], None] | None = None
    ) -> None:
        super().__init__()
        self.label, self.key, self.on_eval = label, key, on_eval
        self._best = -np.inf

    def _on_step(self) -> bool:
        parent = self.parent
        assert isinstance(parent, EvalCallback), "use as EvalCallback(callback_after_eval=...)"
        rewards = np.asarray(parent.evaluations_results[-1], dtype=np.float64)
        lengths = np.asarray(parent.evaluations_length[-1], dtype=np.float64)
        per_forecast = float(rewards.sum() / max(lengths.sum(), 1.0))
        new_best = parent.best_mean_reward > self._best
        self._best = max(self._best, parent.best_mean_reward)
        best = " → best_model.zip" if new_best else ""
        if self.on_eval is not None:  # e.g. a Tune trial reporting to its scheduler
            defend = self.key == "eval/return_per_campaign"
            self.on_eval(self.num_timesteps, float(rewards.mean()) if defend else per_forecast)
        if self.key == "eval/return_per_campaign":  # TIE-Defend: a campaign's return is the score
            self.logger.record(self.key, float(rewards.mean()))
            self.logger.dump(self.num_timesteps)
            log.info(
                "eval @ %d steps: mean return %.3f per campaign (%.1f reveals each, %d campaigns)%s",
                self.num_timesteps,
                rewards.mean(),
                lengths.mean(),
                len(rewards),
                best,
            )
            return True
        # EvalCallback dumped its own values before calling us; ours go out at the same step
        self.logger.record(self.key, per_forecast)
        self.logger.dump(self.num_timesteps)
        log.info(
            "eval @ %d steps: %s %.3f per forecast (%.2f per episode, %.1f forecasts each, "
            "%d episodes)%s",
            self.num_timesteps,
            self.label,
            per_forecast,
            rewards.mean(),
            lengths.mean(),
            len(rewards),
            best,
        )
        return True


def eval_label(env: gym.Env) -> tuple[str, str]:
    """(log label, TensorBoard key) of an env's per-step reward: hit@1, hit@k or NDCG@k; on
    TIE-Defend the return per campaign."""
    if hasattr(env.unwrapped, "budget"):
        return "return", "eval/return_per_campaign"
    task = getattr(env.unwrapped, "task", None)
    reward = getattr(task, "reward", None)
    k = 1 if getattr(task, "action_mode", None) == "guess" else getattr(task, "k", None)
    if reward == "hit":
        return f"hit@{k}", "eval/hit_rate"
    if reward == "ndcg":
        return f"NDCG@{k}", "eval/ndcg"
    return "reward", "eval/reward_per_step"


def plain_json(value: Any) -> Any:
    """Hyperparameters as run.json stores them: classes by name, tuples as lists, the rest as is."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"hyperparameter value {value!r} has no plain JSON form")


def resolved(config: AgentTrainConfig) -> AgentTrainConfig:
    """`config` with its run length and env count filled in from the hyperparameter file."""
    if config.timesteps is not None and config.n_envs is not None:
        return config
    settings = run_settings(config.hyperparams, config.env, config.algo)
    return replace(
        config,
        timesteps=settings.get("n_timesteps", DEFAULT_TIMESTEPS)
        if config.timesteps is None
        else config.timesteps,
        n_envs=settings.get("n_envs", DEFAULT_N_ENVS) if config.n_envs is None else config.n_envs,
    )


def steps_trained(config: AgentTrainConfig, params: dict[str, Any]) -> int:
    """What `model.learn(config.timesteps)` trains: on-policy algorithms collect whole
    rollouts of n_steps × n_envs steps, so the budget rounds up to one."""
    assert config.timesteps is not None and config.n_envs is not None
    if config.algo not in ON_POLICY:
        return config.timesteps
    rollout = int(params.get("n_steps", 2048)) * config.n_envs
    return math.ceil(config.timesteps / rollout) * rollout


def train(config: AgentTrainConfig, on_eval: Callable[[int, float], None] | None = None) -> Path:
    """Train one agent; returns its run folder. `on_eval(steps, score)` is called after each
    evaluation with the logged score (hits per forecast; return per campaign on Defend)."""
    if config.algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {ALGORITHMS}, got {config.algo!r}")
    config = resolved(config)
    assert config.timesteps is not None and config.n_envs is not None
    if config.run_dir().exists() and not config.overwrite:
        raise DataError(
            config.run_dir(),
            None,
            "a run folder of this algorithm, env and seed exists (its models, curves and "
            "run.json would mix with the new run's)",
            "pass --overwrite to replace it, or choose another --seed, --name or --out",
        )
    if config.checkpoints < 0:
        raise ValueError(f"checkpoints must be ≥ 0, got {config.checkpoints}")
    if config.vec not in ("auto", "native", "dummy"):
        raise ValueError(f'vec must be "auto", "native" or "dummy", got {config.vec!r}')
    # what load_run accepts from run.json, refused here before a run is spent on it
    check_env_config(config.env, config.env_kwargs, None, prefix="")
    if not 0 <= config.seed <= TRAIN_EVAL_SEED_OFFSET - config.n_envs:
        raise ValueError(
            f"seed must lie in [0, {TRAIN_EVAL_SEED_OFFSET - config.n_envs}] with n_envs="
            f"{config.n_envs}: the training envs' seeds must stay below the EvalCallback's "
            f"(seed + {TRAIN_EVAL_SEED_OFFSET}) and the evaluation ranges (agents.evaluate)"
        )
    probe: Any = gym.make(config.env, **config.env_kwargs)  # a ForecastEnv or DefendEnv inside
    if config.algo in ("dqn", "maskable_ppo") and not isinstance(
        probe.action_space, gym.spaces.Discrete
    ):
        raise DataError(
            None,
            "algo",
            f"{config.algo} needs a single-guess env (Discrete actions), and {config.env} takes "
            "a score vector",
            "train on the env's Guess variant (e.g. TIE-ForecastGuess-v0), or use --algo ppo or a2c",
        )
    if needs_corpus(probe):  # before any env steps: a replay env reads the corpus on reset
        require_corpus(probe.unwrapped.adversary, config.env)
    torch.set_num_threads(config.threads)
    with threadpool_limits(config.threads):
        return _train(config, probe, on_eval)


def training_envs(config: AgentTrainConfig) -> Any:
    """The SB3 VecEnv the agent trains on (`AgentTrainConfig.vec`)."""
    if config.vec == "native" and not has_native_vector(config.env, config.env_kwargs):
        raise DataError(
            None,
            "vec",
            f"{config.env} with {config.env_kwargs or 'no kwargs'} has no native vector twin",
            "use --vec dummy (or auto)",
        )
    if backend(config) == "native":
        venv = make_native_vec_env(config.env, config.n_envs, config.env_kwargs)
        venv.seed(config.seed)
        return VecMonitor(venv)
    return make_vec_env(
        config.env,
        n_envs=config.n_envs,
        seed=config.seed,
        env_kwargs=no_rendering(config.env_kwargs),
        vec_env_cls=DummyVecEnv,
    )


def no_rendering(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """SB3's make_vec_env asks for render_mode="rgb_array" unless told otherwise, which
    TIE-Defend (ANSI only) refuses: training renders nothing."""
    return {"render_mode": None, **env_kwargs}


def backend(config: AgentTrainConfig) -> str:
    """The training envs' back-end `config.vec` resolves to: "native" or "dummy"."""
    if config.vec == "auto":
        return "native" if has_native_vector(config.env, config.env_kwargs) else "dummy"
    return config.vec


def _train(
    config: AgentTrainConfig, probe: Any, on_eval: Callable[[int, float], None] | None = None
) -> Path:
    """`train` once its checks passed, inside its thread limits; `probe` is an env as trained.
    Builds the run in `.tmp-<name>` and renames it at the end; anything that stops it first
    (Ctrl-C included) removes the unfinished folder."""
    final = config.run_dir()
    # --overwrite: the old run goes only once the new one is whole
    with staged_folder(final, replace=config.overwrite) as building:
        _learn(config, probe, building, on_eval)
    log.info("run folder: %s", final)
    return final


def _learn(
    config: AgentTrainConfig,
    probe: Any,
    out: Path,
    on_eval: Callable[[int, float], None] | None = None,
) -> None:
    """Train into `out` and write its run.json."""
    assert config.timesteps is not None and config.n_envs is not None
    params = load_hyperparams(config.hyperparams, config.env, config.algo, config.overrides)
    policy = params.pop("policy")
    trained = steps_trained(config, params)
    log.info(
        "training %s on %s for %d steps (%d envs)%s",
        config.algo,
        config.env,
        trained,
        config.n_envs,
        ""
        if trained == config.timesteps
        else f": --timesteps {config.timesteps} rounded up to whole rollouts of n_steps × "
        f"n_envs = {params.get('n_steps', 2048)} × {config.n_envs} (lower them with "
        "--set n_steps=… or --n-envs for shorter runs)",
    )
    if config.timesteps < config.eval_freq:
        log.warning(
            "--timesteps %d < --eval-freq %d: no evaluation runs, so no best_model.zip, "
            "evaluations.npz or learning curve (final.zip is kept); lower --eval-freq to get them",
            config.timesteps,
            config.eval_freq,
        )
    venv = EnvTimer(training_envs(config))
    # same wrapper type as the training env (EvalCallback warns otherwise); its timer is unused
    eval_env = EnvTimer(
        make_vec_env(
            config.env,
            n_envs=1,
            seed=config.seed + TRAIN_EVAL_SEED_OFFSET,
            env_kwargs=no_rendering(config.env_kwargs),
        )
    )
    if config.algo == "maskable_ppo":
        from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback as Eval
    else:
        Eval = EvalCallback
    callbacks = [
        Eval(
            eval_env,
            callback_after_eval=EvalHitRate(*eval_label(probe), on_eval),
            best_model_save_path=str(out),
            log_path=str(out),
            eval_freq=max(config.eval_freq // config.n_envs, 1),
            n_eval_episodes=config.eval_episodes,
            deterministic=True,
            verbose=0,  # its "Success rate" is the last step's hit only (module docstring)
        ),
    ]
    if config.checkpoints:
        callbacks.append(
            CheckpointCallback(
                save_freq=max(config.timesteps // config.checkpoints // config.n_envs, 1),
                save_path=str(out / "checkpoints"),
                name_prefix=config.algo,
            )
        )
    try:
        model = algorithm_class(config.algo)(
            policy_class(config.algo, policy),
            venv,
            seed=config.seed,
            device=config.device,
            tensorboard_log=str(out / "tb"),
            verbose=0,
            **params,
        )
    except (TypeError, AssertionError, ValueError) as exc:  # a setting the algorithm refuses
        raise DataError(
            config.hyperparams,
            f"{config.env} ({config.algo})",
            f"the settings do not build a {config.algo} agent: {exc}",
            "fix or remove that setting (file or --set)",
        ) from exc
    start = time.perf_counter()
    model.learn(total_timesteps=config.timesteps, callback=callbacks, progress_bar=config.progress)
    seconds = time.perf_counter() - start
    model.save(out / "final.zip")
    record = {
        "config": asdict(config),
        "hyperparameters": plain_json(params),
        "policy": policy,
        # plain JSON, so the model can be rebuilt without unpickling anything (agents.policy.load_run)
        "policy_kwargs_json": plain_json(params["policy_kwargs"]),
        # the columns of the policy's observation and action: load_run refuses another vocabulary
        "technique_ids": list(probe.unwrapped.adversary.vocabulary),
        "timesteps_trained": int(model.num_timesteps),
        "train_seconds": round(seconds, 2),
        "fps": round(model.num_timesteps / seconds, 1),
        "env_seconds": round(venv.seconds, 2),
        "env_share": round(venv.seconds / seconds, 3),
        "torch_threads": config.threads,
        "vec_backend": backend(config),
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info(
        "%d steps in %.0f s, %.0f FPS, %.0f%% of the time in the env",
        model.num_timesteps,
        seconds,
        record["fps"],
        100 * record["env_share"],
    )


def build_parser() -> argparse.ArgumentParser:
    defaults = AgentTrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m agents.train",
        description=__doc__.splitlines()[0],
        epilog="Evaluate a run with `python -m agents.evaluate --agents NAME=<out>/<run folder>`. "
        "The eval log and TensorBoard's eval/hit_rate give hits per forecast; SB3's "
        "eval/success_rate is the share of evaluation episodes whose last forecast hit.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--algo", default=defaults.algo, choices=ALGORITHMS, help="SB3 algorithm")
    add(
        "--env",
        default=defaults.env,
        help="tie_gym env id; dqn and maskable_ppo need a …Guess… (single-guess) id, ppo and a2c "
        "also train on score-vector ids; …Features… ids with the ResidualPolicy of the YAML; "
        "replay ids need TIE_DATA_DIR",
    )
    add("--env-kwargs", default="{}", help="env keywords as JSON, e.g. '{\"temperature\": 3}'")
    add(
        "--timesteps",
        type=int,
        default=argparse.SUPPRESS,
        help="env steps, all envs together (default: the hyperparameter file's n_timesteps); "
        "PPO/A2C round up to whole rollouts of n_steps × n_envs",
    )
    add(
        "--n-envs",
        type=int,
        default=argparse.SUPPRESS,
        help="training envs stepped together (default: the hyperparameter file's n_envs)",
    )
    add(
        "--vec",
        default=defaults.vec,
        choices=("auto", "native", "dummy"),
        help="dummy: SB3's DummyVecEnv of single envs (the published runs); native: the env's "
        "vector twin as one SB3 VecEnv (faster rollouts; one seeded stream); auto: native where "
        "the env has one",
    )
    add(
        "--seed",
        type=int,
        default=defaults.seed,
        help="training seed: training envs get SEED … SEED+N_ENVS-1, the evaluation env "
        f"SEED+{TRAIN_EVAL_SEED_OFFSET}",
    )
    add(
        "--hyperparams",
        default=defaults.hyperparams,
        help="a folder of <algo>.yml files or one such file, RL Zoo's layout (env id → settings; "
        "`default` when the id is absent): rl_zoo3 reads the same files",
    )
    add(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override hyperparameters, values in YAML: learning_rate=0.001 "
        "policy_kwargs.net_arch=[512]",
    )
    add("--name", default=defaults.name, help="suffix for the run folder (e.g. a sweep label)")
    add(
        "--overwrite",
        action="store_true",
        help="replace an existing run folder of the same algorithm, env, seed and name",
    )
    add(
        "--checkpoints",
        type=int,
        default=defaults.checkpoints,
        help="evenly spaced checkpoints to keep (best_model.zip and final.zip always are)",
    )
    add("--out", default=defaults.out, help="parent folder of the run folder")
    add(
        "--eval-freq",
        type=int,
        default=defaults.eval_freq,
        help="env steps (all envs together) between evaluations",
    )
    add("--eval-episodes", type=int, default=defaults.eval_episodes, help="episodes per evaluation")
    add(
        "--threads",
        type=int,
        default=defaults.threads,
        help="torch, BLAS and OpenMP threads for this process (1 is fastest for small MLPs)",
    )
    add("--device", default=defaults.device, help="torch device of the policy (cpu, cuda)")
    add("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def parse_args(argv: list[str] | None = None) -> AgentTrainConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as exc:
        parser.error(f"--env-kwargs is not JSON ({exc})")
    return AgentTrainConfig(
        algo=args.algo,
        env=args.env,
        env_kwargs=env_kwargs,
        timesteps=getattr(args, "timesteps", None),
        n_envs=getattr(args, "n_envs", None),
        vec=args.vec,
        seed=args.seed,
        hyperparams=args.hyperparams,
        overrides=parse_overrides(args.set),
        name=args.name,
        overwrite=args.overwrite,
        checkpoints=args.checkpoints,
        out=args.out,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        threads=args.threads,
        device=args.device,
        progress=not args.no_progress,
    )


def parse_overrides(items: list[str]) -> dict[str, Any]:
    overrides = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    return overrides


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that the unfinished run folder is removed."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        train(config)
    except DataError as exc:
        log.error("python -m agents.train: error: %s", exc)
        return 2
    except (KeyboardInterrupt, Terminated) as exc:
        log.error(
            "python -m agents.train: %s; nothing was kept (the run folder is written only when "
            "a run finishes)",
            "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated",
        )
        return 130 if isinstance(exc, KeyboardInterrupt) else 143
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
