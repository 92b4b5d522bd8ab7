"""Quick start: make the env, let TIE's recommender (greedy) defend, and watch one campaign.

Run: python examples/quickstart.py
"""

import gymnasium as gym

import tie_gym  # noqa: F401  (registers the environments)
from agents.baselines import GreedyAgent

env = gym.make("TIE-Forecast-v0", render_mode="ansi")
agent = GreedyAgent(
    env.unwrapped.adversary.model
)  # fold-in of the seen techniques, top-10 forecast
observation, info = env.reset(seed=0, options={"observed": ["T1566.001"]})  # a spearphishing start
done, hits = False, 0
while not done:
    observation, reward, terminated, truncated, info = env.step(agent.act(observation, info))
    print(env.render())
    hits += int(info["hit"])
    done = terminated or truncated
print(f"forecast hits: {hits}")
