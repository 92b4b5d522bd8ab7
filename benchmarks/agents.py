"""The defender benchmark: train learned agents over several seeds in parallel, then evaluate
them beside the baselines on the generative and replay environments.

Run: python -m benchmarks.agents [--suite mlp|residual] [--timesteps 200000] [--seeds 0 1 2] [--jobs 2]
Training is an `agents.tune` grid (algorithms × envs × seeds as Ray Tune trials, each an
`agents.train` run on one CPU thread): `--jobs` CPUs of a local Ray, or a cluster's with
`--address`. Results go to benchmarks/results/agents_<suite>_results.md and
agents_<suite>_training.json (plots under benchmarks/results/agents_<suite>/).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from agents.evaluate import BASELINES
from agents.tune import StudyConfig, study
from benchmarks.timing import RESULTS

SUITES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # plain MLP policies on the seen-set observation: (algorithms, envs)
    "mlp": (
        ("maskable_ppo", "ppo"),
        ("TIE-ForecastGuess-v0", "TIE-ForecastReplayTrainGuess-v0"),
    ),
    # residual policies over TIE's forecast (agents/residual.py)
    "residual": (
        ("maskable_ppo",),
        ("TIE-ForecastGuessFeatures-v0", "TIE-ForecastReplayTrainGuessFeatures-v0"),
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.agents",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--suite", choices=sorted(SUITES), default="residual", help="which agents")
    parser.add_argument(
        "--timesteps", type=int, default=200_000, help="training steps per agent and seed"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="CPUs of the local Ray (trials at once)",
    )
    parser.add_argument("--address", help="a Ray cluster's address instead of a local Ray")
    parser.add_argument(
        "--episodes", type=int, default=300, help="evaluation episodes per env (seeds 100000+)"
    )
    parser.add_argument(
        "--runs", default="runs/agents-benchmark", help="prefix of the training run folders"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="where the tables go; the default overwrites the published ones, so point small "
        "trial runs elsewhere",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    algos, envs = SUITES[args.suite]
    runs_dir = f"{args.runs}-{args.suite}"
    start = time.perf_counter()
    trials = study(
        StudyConfig(
            envs=envs,
            algos=algos,
            seeds=tuple(args.seeds),
            timesteps=args.timesteps,
            eval_freq=50_000,
            eval_episodes=50,
            out=runs_dir,
            address=args.address,
            cpus=args.jobs,
        )
    )
    train_wall = time.perf_counter() - start
    prefix = "residual_" if args.suite == "residual" else ""
    agents = list(BASELINES) + [
        f"{prefix}{algo}[{'gen' if 'Replay' not in env_id else 'replay-train'}]={runs_dir}/runs/{algo}-{env_id}-seed*"
        for algo in algos
        for env_id in envs
    ]
    out = args.results / f"agents_{args.suite}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.evaluate",
            "--episodes",
            str(args.episodes),
            "--out",
            str(out),
            "--agents",
            *agents,
        ],
        env=env,
        check=True,
    )
    runs = {
        p.parent.name: json.loads(p.read_text()) for p in Path(runs_dir).glob("runs/*/run.json")
    }
    summary = {
        "train_wall_seconds": round(train_wall, 1),
        "errors": [t["error"] for t in trials if "error" in t],
        "runs": {
            name: {k: r[k] for k in ("train_seconds", "fps", "env_share")}
            for name, r in sorted(runs.items())
        },
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    for name in ("results.md", "training.json"):
        shutil.copy(out / name, args.results / f"agents_{args.suite}_{name}")
    print((out / "results.md").read_text())
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
