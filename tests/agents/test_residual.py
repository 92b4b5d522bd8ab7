"""The residual policy starts as TIE's greedy forecast, trains, saves and reloads safely."""

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO

import tie_gym  # noqa: F401
from agents.baselines import GreedyAgent
from agents.evaluate import evaluate, run_episodes
from agents.policy import PolicyAgent, load_run
from agents.residual import MaskableResidualPolicy
from agents.train import AgentTrainConfig, train


def test_untrained_residual_policy_ranks_like_greedy():
    env = gym.make("TIE-ForecastGuessFeatures-v0")
    model = MaskablePPO(MaskableResidualPolicy, env, seed=0, n_steps=64, batch_size=64)
    model.policy.action_net.correction.weight.data.zero_()  # the prior alone
    agent = PolicyAgent(model, env.unwrapped.n_techniques)
    greedy = GreedyAgent(env.unwrapped.adversary.model)
    observation, info = env.reset(seed=5)
    for _ in range(4):
        unseen = ~env.unwrapped.schema.seen(observation)
        ours = agent.preferences(observation)[unseen]
        theirs = np.asarray(greedy.act(observation, info))[unseen]
        assert list(np.argsort(-ours)[:20]) == list(np.argsort(-theirs)[:20])
        observation, _, _, _, info = env.step(int(np.flatnonzero(unseen)[0]))


def test_residual_policy_needs_the_recommender_features():
    env = gym.make("TIE-ForecastGuess-v0")
    with pytest.raises(ValueError, match='features="recommender"'):
        MaskablePPO(MaskableResidualPolicy, env)


def test_residual_run_reloads_and_evaluates_on_featured_envs(tmp_path):
    config = AgentTrainConfig(
        env="TIE-ForecastGuessFeatures-v0",
        timesteps=512,
        n_envs=2,
        eval_freq=512,
        eval_episodes=2,
        out=str(tmp_path),
        progress=False,
    )
    run = train(config)
    env = gym.make("TIE-Forecast-v0", features="recommender")
    first = run_episodes(env, PolicyAgent(load_run(run, env), 580), 4, seed=1)
    again = run_episodes(env, PolicyAgent(load_run(run, env), 580), 4, seed=1)
    assert first["hit@k"] == again["hit@k"]
    # evaluate() gives the featured policy an env with features and the baselines the plain one
    rows = evaluate(["TIE-Forecast-v0"], ["greedy", f"res={run}"], 4, 1, {})
    assert [r["agent"] for r in rows] == ["greedy", "res"]
    assert rows[1]["hit@k"] == pytest.approx(np.mean(first["hit@k"]))
