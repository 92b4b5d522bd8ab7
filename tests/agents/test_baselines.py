import gymnasium as gym
import numpy as np

import tie_gym  # noqa: F401
from agents.baselines import FrequencyAgent, GreedyAgent, RandomAgent
from agents.evaluate import run_episodes


def _hit_rate(agent, env_id="TIE-Forecast-v0", episodes=60):
    return np.mean(run_episodes(gym.make(env_id), agent, episodes, seed=0)["hit@k"])


def test_greedy_beats_frequency_beats_random():
    env = gym.make("TIE-Forecast-v0").unwrapped
    random_rate = _hit_rate(RandomAgent(env.n_techniques))
    frequency_rate = _hit_rate(FrequencyAgent(env.adversary.popularity))
    greedy_rate = _hit_rate(GreedyAgent(env.adversary.model))
    assert greedy_rate > frequency_rate > random_rate


def test_greedy_guess_mode_and_episode_change_without_reset():
    env = gym.make("TIE-ForecastGuess-v0").unwrapped
    agent = GreedyAgent(env.adversary.model, action_mode="guess")
    obs, info = env.reset(seed=0)
    guess = agent.act(obs, info)
    assert isinstance(guess, int) and env.action_masks()[guess]
    obs2, _ = env.reset(seed=1)  # no agent.reset(): the agent notices techniques disappeared
    assert env.action_masks()[agent.act(obs2, {})]
