"""Train MaskablePPO on the single-guess env and compare it with the greedy recommender.

Run: python examples/train_sb3.py [timesteps]   (the full CLI is `python -m agents.train`)
"""

import sys

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from stable_baselines3.common.env_util import make_vec_env

import tie_gym  # noqa: F401
from agents.baselines import GreedyAgent
from agents.evaluate import run_episodes
from agents.policy import PolicyAgent

timesteps = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
venv = make_vec_env("TIE-ForecastGuess-v1", n_envs=8, seed=0)
model = MaskablePPO("MlpPolicy", venv, gamma=0.0, n_steps=256, batch_size=512, seed=0, verbose=0)
model.learn(total_timesteps=timesteps, progress_bar=True)

env = gym.make("TIE-Forecast-v1")  # top-10 forecasts: the policy ranks techniques by preference
for name, agent in [
    ("MaskablePPO", PolicyAgent(model, env.unwrapped.n_techniques)),
    ("greedy (TIE)", GreedyAgent(env.unwrapped.adversary.model)),
]:
    hits = run_episodes(env, agent, episodes=100, seed=10_000)["hit@k"]
    print(f"{name:14s} hit@10 {np.mean(hits):.3f}")
