import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from agents.defenders import DEFENDERS, build_defender, run_defence


@pytest.fixture(scope="module")
def results():
    env = gym.make("TIE-Defend-v0")
    names = [n for n in DEFENDERS if n != "sequence"]  # sequence needs the data folder
    return {n: run_defence(env, build_defender(n, env), 60, seed=0) for n in names}


def test_the_heuristics_order_as_they_should(results):
    mean = {n: np.mean(r["return"]) for n, r in results.items()}
    assert mean["wait"] == 0.0 and np.mean(results["wait"]["catch"]) == 0.0
    assert mean["random"] < mean["popularity"] < mean["greedy"] < mean["oracle"]
    assert np.mean(results["oracle"]["catch"]) == 1.0  # knows the campaign: catches at once
    assert np.nanmean(results["oracle"]["catch_reveal"]) == 1.0


def test_detections_never_exceed_the_budget(results):
    assert all(d <= 5 for r in results.values() for d in r["detections"])


def test_defenders_only_take_legal_actions():
    env = gym.make("TIE-DefendEvasive-v0")
    for name in ("popularity", "greedy", "lookahead", "oracle", "random"):
        defender = build_defender(name, env)
        obs, info = env.reset(seed=1)
        done = False
        while not done:
            action = defender.act(obs, info)
            assert info["action_mask"][action]
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated


def test_unknown_defender():
    with pytest.raises(ValueError, match="unknown defender"):
        build_defender("psychic", gym.make("TIE-Defend-v0"))
