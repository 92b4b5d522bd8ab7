import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

import tie_gym  # noqa: F401
from agents.vec_env import NativeVecEnv, has_native_vector, make_native_vec_env


def test_same_step_reset_with_the_terminal_observation():
    venv = make_native_vec_env("TIE-ForecastGuess-v0", 8, {})
    venv.seed(3)
    obs = venv.reset()
    schema = venv.venv.schema
    ended = 0
    for _ in range(40):
        before = obs
        venv.step_async(np.zeros(8, dtype=np.int64))
        obs, rewards, dones, infos = venv.step_wait()
        assert rewards.dtype == np.float32 and len(infos) == 8
        for i in np.flatnonzero(dones):
            ended += 1
            final = infos[i]["terminal_observation"]
            # the old episode one reveal on; the new one showing only its first technique
            assert schema.seen(final).sum() == schema.seen(before[i]).sum() + 1
            assert schema.seen(obs[i]).sum() == 1 and not infos[i]["TimeLimit.truncated"]
        for i in np.flatnonzero(~dones):
            assert "terminal_observation" not in infos[i]
    assert ended > 0


def test_masks_and_seeding():
    venv = make_native_vec_env("TIE-ForecastGuess-v0", 4, {})
    venv.seed(7)
    first = venv.reset()
    masks = np.stack(venv.env_method("action_masks"))
    assert masks.shape == (4, venv.venv.n_techniques)
    assert np.array_equal(masks, ~venv.venv.schema.seen(first))
    venv.seed(7)
    assert np.array_equal(venv.reset(), first)  # the same seed, the same campaigns


def test_refuses_a_next_step_vector_env():
    venv = gym.make_vec("TIE-ForecastGuess-v0", num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="SAME_STEP"):
        NativeVecEnv(venv)
    with pytest.raises(ValueError, match="autoreset_mode"):
        gym.make_vec(
            "TIE-Forecast-v0",
            num_envs=2,
            vectorization_mode="vector_entry_point",
            autoreset_mode="Sideways",
        )
    assert AutoresetMode.SAME_STEP.value == "SameStep"


def test_which_envs_have_a_native_twin():
    assert has_native_vector("TIE-ForecastGuess-v0", {})
    assert not has_native_vector("TIE-ForecastGuess-v0", {"features": "recommender"})
    assert not has_native_vector("TIE-ForecastGuessFeatures-v0", {})  # features in its preset
    assert has_native_vector("TIE-Defend-v0", {})


def test_defend_through_the_adapter():
    venv = make_native_vec_env("TIE-DefendEvasive-v0", 8, {})
    venv.seed(0)
    venv.reset()
    masks = np.stack(venv.env_method("action_masks"))
    assert masks.shape == (8, venv.venv.n_techniques + 1)
    ended = 0
    for _ in range(30):
        venv.step_async(np.full(8, venv.venv.n_techniques))  # wait: campaigns run to their end
        _, rewards, dones, infos = venv.step_wait()
        assert (rewards == 0).all()
        ended += sum("terminal_observation" in infos[i] for i in np.flatnonzero(dones))
    assert ended > 0


def _train_once(seed):
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import VecMonitor

    torch.manual_seed(seed)
    venv = make_native_vec_env("TIE-ForecastGuess-v0", 16, {})
    venv.seed(seed)
    model = MaskablePPO(
        "MlpPolicy",
        VecMonitor(venv),
        n_steps=16,
        batch_size=128,
        n_epochs=1,
        policy_kwargs={"net_arch": [16]},
        seed=seed,
        verbose=0,
    )
    model.learn(512)
    return torch.cat([p.detach().flatten() for p in model.policy.parameters()])


def test_maskable_ppo_trains_on_it_reproducibly():
    first = _train_once(0)
    assert torch.equal(first, _train_once(0))
    assert not torch.equal(first, _train_once(1))


def test_options_and_per_env_attributes_are_refused_not_dropped():
    venv = make_native_vec_env("TIE-ForecastGuess-v0", 2, {})
    venv.set_options({"campaign": ["T1566.001", "T1059.001"]})
    with pytest.raises(ValueError, match="no reset options"):
        venv.reset()
    venv.reset()  # the options were used once, then cleared
    with pytest.raises(ValueError, match="all of them"):
        venv.set_attr("x", 1, indices=[0])
