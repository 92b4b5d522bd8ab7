"""The defender that learns the adversary from watched campaigns (`agents.model_based`)."""

import gymnasium as gym
import numpy as np

import tie_gym  # noqa: F401
from agents.defenders import build_defender, run_defence
from agents.model_based import REGULARIZATION, learn_adversary, watch


def test_watching_reveals_each_whole_campaign():
    env = gym.make("TIE-Defend-v0")
    seen = watch(env, 5, seed=7)
    for episode in range(5):
        env.reset(seed=7 + episode)
        campaign = set(env.unwrapped._campaign.techniques.tolist())
        assert set(seen[episode].indices.tolist()) == campaign


def test_learning_the_adversary_recovers_greedy_on_the_generative_env():
    env = gym.make("TIE-Defend-v0")
    learned = learn_adversary(env, 2_000, seed=0, selection_episodes=50)
    assert learned.campaigns == 2_000 and set(learned.selection) == set(REGULARIZATION)
    assert learned.model.hparams["regularization"] == max(
        learned.selection, key=learned.selection.get
    )
    mine = np.mean(run_defence(env, learned.defender(), 150, 100_000)["return"])
    greedy = np.mean(run_defence(env, build_defender("greedy", env), 150, 100_000)["return"])
    waiting = np.mean(run_defence(env, build_defender("wait", env), 150, 100_000)["return"])
    # from 2,000 watched campaigns alone it comes close to the defender that knows the model
    assert mine > 0.8 * greedy and mine > waiting + 0.5
