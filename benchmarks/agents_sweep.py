"""A parallel hyperparameter probe for the learned defenders (one seed per setting).

Run: python -m benchmarks.agents_sweep [--suite mlp|residual] [--timesteps 400000] [--jobs 14]
Trains each setting of a suite on its single-guess env (MLP policies on TIE-ForecastGuess-v0,
residual policies on TIE-ForecastGuessFeatures-v0), then scores it on TIE-Forecast-v0 (hit@10 via
the policy's preference ranking, and hit@1). Writes benchmarks/results/agents_sweep_<suite>.md.

Settings are chosen on selection episodes (seeds from agents.evaluate.SELECTION_SEED), never on
the benchmark's evaluation episodes (EVALUATION_SEED); the ranges are listed in agents.evaluate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import numpy as np

import tie_gym  # noqa: F401
from agents.evaluate import EVALUATION_SEED, SEED_RANGE_WIDTH, SELECTION_SEED, run_episodes
from agents.policy import PolicyAgent, load_run
from benchmarks.timing import write_table

MLP_ENV, RESIDUAL_ENV = "TIE-ForecastGuess-v0", "TIE-ForecastGuessFeatures-v0"
# suite → setting → (algorithm, training env, --set overrides of agents/hyperparams/)
SUITES: dict[str, dict[str, tuple[str, str, list[str]]]] = {
    "mlp": {
        "base": ("maskable_ppo", MLP_ENV, []),
        "lr1e-3": ("maskable_ppo", MLP_ENV, ["learning_rate=0.001"]),
        "lr3e-3": ("maskable_ppo", MLP_ENV, ["learning_rate=0.003"]),
        "lr1e-3-ep10": ("maskable_ppo", MLP_ENV, ["learning_rate=0.001", "n_epochs=10"]),
        "lr1e-3-512": (
            "maskable_ppo",
            MLP_ENV,
            ["learning_rate=0.001", "policy_kwargs.net_arch=[512]"],
        ),
        "lr1e-3-linear": (
            "maskable_ppo",
            MLP_ENV,
            ["learning_rate=0.001", "policy_kwargs.net_arch=[]"],
        ),
        "lr3e-3-512-ep10": (
            "maskable_ppo",
            MLP_ENV,
            ["learning_rate=0.003", "policy_kwargs.net_arch=[512]", "n_epochs=10"],
        ),
        "lr1e-3-512-ep10": (
            "maskable_ppo",
            MLP_ENV,
            ["learning_rate=0.001", "policy_kwargs.net_arch=[512]", "n_epochs=10"],
        ),
        "dqn-lr1e-3": ("dqn", MLP_ENV, ["learning_rate=0.001"]),
    },
    # the residual policy's learning rate (agents/hyperparams/ keeps the winner)
    "residual": {
        "residual-lr1e-4": ("maskable_ppo", RESIDUAL_ENV, ["learning_rate=0.0001"]),
        "residual-lr3e-4": ("maskable_ppo", RESIDUAL_ENV, ["learning_rate=0.0003"]),
    },
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.agents_sweep", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--suite", choices=sorted(SUITES), default="mlp")
    parser.add_argument("--timesteps", type=int, default=400_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", default="runs/agents-sweep")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument(
        "--seed",
        type=int,
        default=SELECTION_SEED,
        help="first selection episode seed (not the benchmark's evaluation seeds)",
    )
    args = parser.parse_args(argv)
    if (
        args.seed < EVALUATION_SEED + SEED_RANGE_WIDTH
        and args.seed + args.episodes > EVALUATION_SEED
    ):
        parser.error(
            f"--seed {args.seed} with --episodes {args.episodes} reaches the benchmark's evaluation "
            f"seeds [{EVALUATION_SEED}, {EVALUATION_SEED + SEED_RANGE_WIDTH}); use {SELECTION_SEED}"
        )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

    settings = SUITES[args.suite]

    def launch(item: tuple[str, tuple[str, str, list[str]]]) -> int:
        name, (algo, env_id, overrides) = item
        command = [
            sys.executable,
            "-m",
            "agents.train",
            "--algo",
            algo,
            "--env",
            env_id,
            "--timesteps",
            str(args.timesteps),
            "--eval-freq",
            str(args.timesteps),
            "--eval-episodes",
            "20",
            "--out",
            args.runs,
            "--name",
            name,
            "--no-progress",
            "--set",
            *overrides,
        ]
        return subprocess.run(command, env=env, check=False).returncode

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(launch, settings.items()))
    plain = gym.make("TIE-Forecast-v0")
    featured = gym.make("TIE-Forecast-v0", features="recommender")
    rows = []
    for name, (algo, env_id, overrides) in settings.items():
        path = f"{args.runs}/{algo}-{env_id}-seed0-{name}"
        if not os.path.exists(f"{path}/final.zip"):
            rows.append([name, " ".join(overrides), "failed", "", ""])
            continue
        agent = PolicyAgent(load_run(path, plain), plain.unwrapped.n_techniques)
        evaluation = featured if agent.features == "recommender" else plain
        scores = run_episodes(evaluation, agent, args.episodes, seed=args.seed)
        rows.append(
            [
                name,
                " ".join(overrides) or "(file defaults)",
                f"{np.mean(scores['hit@k']):.3f}",
                f"{np.mean(scores['hit@1']):.3f}",
                algo,
            ]
        )
    rows.sort(key=lambda r: r[2], reverse=True)
    path = write_table(
        f"agents_sweep_{args.suite}",
        f"Learned defender probe ({args.timesteps:,} steps, seed 0)",
        ["setting", "overrides", "hit@10", "hit@1", "algo"],
        rows,
        [
            f"Trained on each setting's guess env, scored on TIE-Forecast-v0 over {args.episodes} "
            f"selection episodes (seeds from {args.seed:,})."
        ],
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
