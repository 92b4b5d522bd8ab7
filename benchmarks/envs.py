"""Environment throughput against CartPole-v1, measured in one run on this machine.

Rows: single `gym.make` envs (steps/s and ratio to CartPole's single-env rate) and the native
vector envs (TIE-Forecast's and TIE-Defend's) at several sizes. Actions come from a pool drawn once, so the sampler's own cost
(580-dim Box sampling is ~0.1 ms) is not charged to the environment.
Run: python -m benchmarks.envs [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np

import tie_gym  # noqa: F401
from benchmarks.timing import RESULTS, write_table

SECONDS = 3.0
WINDOWS = 3
"""Each rate is the best of this many windows of `--seconds`: this machine's other load only
ever slows a window down."""


def single_rate(env_id: str, seconds: float = SECONDS) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    pool = [env.action_space.sample() for _ in range(64)]
    best = 0.0
    for _ in range(WINDOWS):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            _, _, terminated, truncated, _ = env.step(pool[steps % 64])
            steps += 1
            if terminated or truncated:
                env.reset()
        best = max(best, steps / (time.perf_counter() - start))
    return best


def vector_rate(env_id: str, num_envs: int, seconds: float = SECONDS) -> float:
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    env.action_space.seed(0)
    pool = [env.action_space.sample() for _ in range(8)]
    for i in range(20):  # warm-up: fill the campaign buffer
        env.step(pool[i % 8])
    best = 0.0
    for _ in range(WINDOWS):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            env.step(pool[steps % 8])
            steps += 1
        best = max(best, steps * num_envs / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.envs",
        description="Env throughput against CartPole-v1; writes benchmarks/results/envs.md.",
    )
    parser.add_argument("--seconds", type=float, default=SECONDS, help="time per row")
    seconds = parser.parse_args().seconds
    cartpole = single_rate("CartPole-v1", seconds)
    rows: list[list[object]] = [
        ["CartPole-v1 (gym.make, single)", f"{cartpole:,.0f}", "1.00×", "reference"]
    ]
    record = {"cartpole": cartpole}
    for env_id, target in [
        ("TIE-Forecast-v0", 0.5),
        ("TIE-ForecastGuess-v0", 0.5),
        ("TIE-ForecastHard-v0", 0.5),
        ("TIE-Defend-v0", 0.5),
        ("TIE-DefendEvasive-v0", 0.5),
    ]:
        rate = single_rate(env_id, seconds)
        record[env_id] = rate
        verdict = "met" if rate / cartpole >= target else "NOT met"
        rows.append(
            [
                f"{env_id} (gym.make, single)",
                f"{rate:,.0f}",
                f"{rate / cartpole:.2f}×",
                f"target ≥ {target}×: {verdict}",
            ]
        )
    for env_id in (
        "TIE-Forecast-v0",
        "TIE-ForecastGuess-v0",
        "TIE-Defend-v0",
        "TIE-DefendEvasive-v0",
    ):
        for num_envs in (16, 256, 1024):
            rate = vector_rate(env_id, num_envs, seconds)
            record[f"{env_id}/vector{num_envs}"] = rate
            met = "met" if rate / cartpole >= 5 else "NOT met"
            note = f"target ≥ 5×: {met}" if num_envs == 256 else ""
            rows.append(
                [
                    f"{env_id} native vector, {num_envs} envs",
                    f"{rate:,.0f}",
                    f"{rate / cartpole:.2f}×",
                    note,
                ]
            )
    cartpole_after = single_rate("CartPole-v1", seconds)
    rows.append(
        [
            "CartPole-v1 again (drift check)",
            f"{cartpole_after:,.0f}",
            f"{cartpole_after / cartpole:.2f}×",
            "",
        ]
    )
    path = write_table(
        "envs",
        "Environment throughput (steps/s)",
        ["environment", "steps/s", "vs CartPole", "note"],
        rows,
        [
            f"Each row is the best of {WINDOWS} windows of {seconds:g} s; default shipped model (EASE); random actions (Defend: "
            "random deploys, so few catches). Regenerate: `python -m benchmarks.envs`.",
            "CartPole itself moves by tens of percent between runs on this machine (the drift row): "
            "read the ratios with that spread.",
        ],
    )
    (RESULTS / "envs.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
