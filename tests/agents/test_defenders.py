import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from agents.defenders import DEFENDERS, RolloutDefender, build_defender, run_defence


@pytest.fixture(scope="module")
def results():
    env = gym.make("TIE-Defend-v0")
    # sequence needs the data folder; rollout is tested on its own below (it is slow)
    names = [n for n in DEFENDERS if n not in ("sequence", "rollout")]
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
    for name in ("popularity", "greedy", "lookahead", "rollout", "oracle", "random"):
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


@pytest.mark.parametrize("env_id", ["TIE-Defend-v0", "TIE-DefendEvasive-v0"])
def test_the_rollout_planner_simulates_the_env_it_plays(env_id):
    """The planner's value of greedy from each episode's start must match what greedy earns in
    the env on those episodes: a simulation that mis-scored catches, costs, lengths or evasion
    would choose on a different game (ignoring evasion is off by ~0.4 here)."""
    env = gym.make(env_id)
    base = env.unwrapped
    greedy = run_defence(env, build_defender("greedy", env), 400, seed=0)["return"]
    planner = RolloutDefender(base.adversary, base.task, samples=32, seed=1)
    simulated = []
    for episode in range(400):
        observation, _ = env.reset(seed=episode)
        prefix = planner.prefix.update(observation)
        scores = planner.simulated_scores(prefix)
        first = int(np.argmax(np.where(np.arange(len(scores)) == prefix[0], -np.inf, scores)))
        lengths = base.adversary.size_probabilities.copy()
        lengths[:2] = 0.0
        simulated.append(
            planner.simulate(
                prefix, np.zeros(len(scores), bool), 5, first, lengths / lengths.sum(), episode
            )
        )
        planner.reset()
    difference = np.asarray(greedy) - np.asarray(simulated)
    error = difference.std() / np.sqrt(len(difference))
    assert abs(difference.mean()) < 3.5 * error, (np.mean(greedy), np.mean(simulated))
