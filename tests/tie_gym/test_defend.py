import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tie_gym  # noqa: F401


def test_check_env_both_checkers():
    from stable_baselines3.common.env_checker import check_env as sb3_check

    check_env(gym.make("TIE-Defend-v0").unwrapped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check(gym.make("TIE-Defend-v0").unwrapped)
    assert [str(w.message) for w in caught if "stable_baselines3" in w.filename] == []


def test_replay_variant(real_data_dir):
    check_env(gym.make("TIE-DefendReplay-v0", data_dir=str(real_data_dir)).unwrapped)


def test_catch_reward_budget_and_masks():
    env = gym.make("TIE-Defend-v0", budget=2, detection_cost=0.1).unwrapped
    env.reset(seed=5)
    n = env.n_techniques
    length = len(env._campaign.techniques)
    upcoming = int(env._campaign.techniques[1])
    _, reward, terminated, _, info = env.step(upcoming)  # detect exactly what comes next
    assert (
        terminated and info["caught"] and reward == pytest.approx(1 + (length - 1) / length - 0.1)
    )
    env.reset(seed=6)
    decoys = [j for j in range(n) if j not in set(env._campaign.techniques.tolist())][:3]
    env.step(decoys[0])
    if not env._cursor >= len(env._campaign.techniques):
        _, reward, _, _, info = env.step(decoys[1])
        assert (
            info["budget_left"] == 0 and not env.action_masks()[:n].any() and env.action_masks()[n]
        )
        if env._cursor < len(env._campaign.techniques):
            _, reward, _, _, info = env.step(decoys[2])  # over budget: acts as waiting, no cost
            assert reward == 0.0 and info["budget_left"] == 0


def test_waiting_never_catches_and_seeds_repeat():
    def total(seed):
        env = gym.make("TIE-Defend-v0")
        env.reset(seed=seed)
        rewards, done = [], False
        while not done:
            _, r, te, tr, info = env.step(env.unwrapped.n_techniques)
            rewards.append(r)
            done = te or tr
        return rewards, info

    rewards, info = total(3)
    assert sum(rewards) == 0 and not info["caught"]
    assert total(3)[0] == rewards


def test_bad_actions():
    env = gym.make("TIE-Defend-v0").unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    for bad in (-1, env.n_techniques + 1, 1.5, np.array([np.nan])):
        with pytest.raises(ValueError):
            env.step(bad)


def test_bad_constructor_arguments_and_reset_options():
    for kwargs, match in [
        ({"detection_cost": float("nan")}, "detection_cost"),  # made every reward NaN
        ({"detection_cost": -0.1}, "detection_cost"),
        ({"catch_bonus": "1"}, "catch_bonus"),
        ({"budget": 2.5}, "budget"),
        ({"budget": 0}, "budget"),
    ]:
        with pytest.raises(ValueError, match=match):
            gym.make("TIE-Defend-v0", **kwargs)
    env = gym.make("TIE-Defend-v0")
    with pytest.raises(ValueError, match="unknown reset option"):  # silently ignored before
        env.reset(seed=0, options={"campain": ["T1059", "T1105"]})


def _trace(env_id, seed, policy, **kwargs):
    env = gym.make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    out, done = [], False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(env.unwrapped, obs))
        out.append((reward, info["revealed"], info["caught"]))
        done = terminated or truncated
    return out


def _detect_next(u, obs):
    return int(u._campaign.techniques[u._cursor])


def test_evasion_zero_is_the_static_env_exactly():
    for seed in range(5):
        static = _trace("TIE-Defend-v0", seed, _detect_next)
        assert (
            _trace("TIE-Defend-v0", seed, _detect_next, adversary="evasive", evasion=0.0) == static
        )


def test_an_evasive_adversary_swaps_a_detected_technique_for_one_of_its_tactic():
    env = gym.make("TIE-DefendEvasive-v0", evasion=1.0)
    u = env.unwrapped
    swaps = 0
    for seed in range(20):
        env.reset(seed=seed)
        planned = int(u._campaign.techniques[1])
        _, reward, _, _, info = env.step(planned)
        if info["evaded"] is None:  # no undetected technique of its tactic left: caught
            assert info["caught"]
            continue
        swaps += 1
        index = {t: i for i, t in enumerate(u.adversary.vocabulary)}
        used = index[info["revealed"]]
        assert info["evaded"] == u.adversary.vocabulary[planned] and not info["caught"]
        assert set(u.adversary.tactics[used]) & set(u.adversary.tactics[planned])
        assert reward == pytest.approx(-u.detection_cost)
        later = u._campaign.techniques[u._cursor :]
        assert used not in later and len(set(u._campaign.techniques.tolist())) == len(
            u._campaign.techniques
        )
    assert swaps >= 15


def test_bad_evasive_arguments():
    for kwargs, match in [({"adversary": "sneaky"}, "adversary"), ({"evasion": 1.5}, "evasion")]:
        with pytest.raises(ValueError, match=match):
            gym.make("TIE-Defend-v0", **kwargs)


def test_a_masked_deploy_on_a_seen_technique_is_a_free_wait():
    env = gym.make("TIE-Defend-v0").unwrapped
    env.reset(seed=0)
    first = int(env._campaign.techniques[0])
    _, reward, _, _, info = env.step(first)  # seen: masked, so it must cost nothing
    assert info["budget_left"] == 5 and reward in (0.0,)


def test_no_step_after_a_catch():
    """A catch ends the episode; stepping on used to pay the catch again (5 catches, 8.0)."""
    env = gym.make("TIE-Defend-v0").unwrapped
    env.reset(seed=1)
    _, reward, terminated, _, _ = env.step(int(env._campaign.techniques[1]))
    assert terminated and reward > 1
    with pytest.raises(gym.error.ResetNeeded):
        env.step(env.n_techniques)
