"""Random, frequency and recommender-greedy defenders: mean hit@10, on generated or replayed
real campaigns (`--env TIE-ForecastReplay-v0`, needs TIE_DATA_DIR).

Run: python examples/compare_baselines.py [--episodes 300] [--env TIE-Forecast-v0]
"""

import argparse

import gymnasium as gym
import numpy as np

import tie_gym  # noqa: F401  (registers the environments)
from agents.baselines import FrequencyAgent, GreedyAgent, RandomAgent
from agents.evaluate import run_episodes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="TIE-Forecast-v0")
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = gym.make(args.env)
    base = env.unwrapped
    mode = base.action_mode
    agents = {
        "random": RandomAgent(base.n_techniques, mode, seed=args.seed),
        "frequency": FrequencyAgent(base.adversary.popularity, mode),
        "greedy (adversary's recommender)": GreedyAgent(base.adversary.model, mode),
    }
    print(f"{args.env}: mean hit@{base.k if mode == 'scores' else 1} over {args.episodes} episodes")
    for name, agent in agents.items():
        hits = run_episodes(env, agent, args.episodes, args.seed)["hit@k"]
        print(f"  {name:34s} {np.mean(hits):.3f}")


if __name__ == "__main__":
    main()
