"""The defender that learns the adversary from watched campaigns (`agents.model_based`)."""

import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from agents.defenders import build_defender, run_defence
from agents.model_based import REGULARIZATION, learn_adversary, watch


@pytest.mark.parametrize("env_id", ["TIE-Defend-v0", "TIE-DefendEvasive-v0"])
def test_watching_reveals_each_whole_campaign(env_id):
    env = gym.make(env_id)  # waiting deploys nothing, so the evasive adversary never swaps
    seen = watch(env, 20, seed=7)
    for episode in range(20):
        env.reset(seed=7 + episode)
        campaign = set(env.unwrapped._campaign.techniques.tolist())
        assert set(seen[episode].indices.tolist()) == campaign


def test_learning_the_adversary_recovers_greedy_on_the_generative_env():
    env = gym.make("TIE-Defend-v0")
    learned = learn_adversary(env, 2_000, seed=0, selection_episodes=50)
    assert learned.campaigns == 2_000 and set(learned.selection) == set(REGULARIZATION)

    def played(defender):
        return np.mean(run_defence(env, defender, 150, 100_000)["return"])

    mine = played(learned.defender())
    # from 2,000 watched campaigns alone, far above the corpus's most common techniques and
    # close to greedy, which holds the adversary's own model
    assert mine > played(build_defender("popularity", env)) + 0.2
    assert mine > 0.9 * played(build_defender("greedy", env))
