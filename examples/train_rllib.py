"""Train RLlib's PPO on TIE-Forecast (guess actions) or TIE-Defend, on the envs' native vector twin.

Gymnasium's registry is not Ray's: RLlib finds an env by the name given to
`ray.tune.registry.register_env`, and calls its creator inside each EnvRunner (where `tie_gym`
must be imported to register our ids). With `gym_env_vectorize_mode="vector_entry_point"` the
creator receives `num_envs` and returns our native vector env (`tie_gym.vector`) instead of
RLlib stepping one Python env per slot.

Needs the `[scale]` extra (Ray with RLlib's own dependencies; RLlib's extra pins gymnasium 1.2.2,
so the extra lists the few it needs and keeps our gymnasium).

Run: python examples/train_rllib.py [--env TIE-Defend-v0] [--iterations 5] [--envs 16]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym

ENVS = ("TIE-ForecastGuess-v0", "TIE-Defend-v0")
"""Ids whose actions RLlib's default PPO module can play (one discrete choice per step)."""


def env_creator(env_id: str) -> Callable[[Any], gym.Env | gym.vector.VectorEnv]:
    """What `register_env` wants: a function of RLlib's env config that makes the env; with
    `num_envs` in the config (RLlib's vector-entry-point mode), the native vector env."""

    def create(config: Any) -> gym.Env | gym.vector.VectorEnv:
        import tie_gym  # noqa: F401  (registers our ids in this worker's Gymnasium registry)

        settings = dict(config)
        num_envs = settings.pop("num_envs", None)
        if num_envs is None:
            return gym.make(env_id, **settings)
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **settings
        )

    return create


def build(env_id: str, envs: int, seed: int, batch: int) -> Any:
    """An RLlib PPO algorithm on `env_id`, sampling in this process (no remote EnvRunners)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env

    name = f"tie-{env_id.lower()}"
    register_env(name, env_creator(env_id))
    config = (
        PPOConfig()
        .environment(name, env_config={})
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=envs,
            gym_env_vectorize_mode="vector_entry_point",
            rollout_fragment_length=batch // envs,
        )
        .training(
            train_batch_size_per_learner=batch,
            minibatch_size=min(batch, 256),
            num_epochs=4,
            lr=3e-4,
            gamma=0.0 if env_id.startswith("TIE-Forecast") else 0.99,
        )
        .debugging(seed=seed)
    )
    return config.build_algo()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=ENVS[0], choices=ENVS)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--envs", type=int, default=16, help="sub-envs in the native vector env")
    parser.add_argument("--batch", type=int, default=1024, help="env steps per PPO iteration")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    started = not ray.is_initialized()  # a Ray the caller started is left running
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        algo = build(args.env, args.envs, args.seed, args.batch)
        vector = type(algo.env_runner.env.unwrapped).__name__
        print(f"RLlib PPO on {args.env}, {args.envs} envs in {vector}", flush=True)
        result: dict[str, Any] = {"vector_env": vector}
        for iteration in range(1, args.iterations + 1):
            runners = algo.train()["env_runners"]
            result |= {
                "iteration": iteration,
                "env_steps": float(runners.get("num_env_steps_sampled_lifetime", 0)),
                "episode_return_mean": float(runners.get("episode_return_mean", float("nan"))),
            }
            print(
                f"iteration {iteration}: {result['env_steps']:.0f} env steps, mean return per "
                f"episode {result['episode_return_mean']:.3f}",
                flush=True,
            )
        algo.stop()
        return result
    finally:
        if started:
            ray.shutdown()


if __name__ == "__main__":
    main()
