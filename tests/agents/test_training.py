"""SB3 training, saving and reloading on tiny budgets (the `expensive` ones are skipped by -m)."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import tie_gym  # noqa: F401
from agents.algorithms import ALGORITHMS, DEFAULT_HYPERPARAMS, load_hyperparams, run_settings
from agents.evaluate import build_agents, run_episodes
from agents.policy import PolicyAgent, load_algorithm, load_run
from agents.train import AgentTrainConfig, train
from recommenders.errors import DataError


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "maskable_ppo"])
def test_tiny_training_run_saves_and_reloads_to_same_numbers(algo, tmp_path):
    config = AgentTrainConfig(
        algo=algo,
        timesteps=512,
        n_envs=2,
        eval_freq=256,
        eval_episodes=2,
        out=str(tmp_path),
        progress=False,
    )
    run = train(config)
    record = json.loads((run / "run.json").read_text())
    assert record["fps"] > 0 and 0 < record["env_share"] < 1
    assert (
        (run / "final.zip").exists()
        and (run / "evaluations.npz").exists()
        and any((run / "tb").iterdir())
    )
    env = gym.make("TIE-Forecast-v0")
    a = PolicyAgent(
        load_run(run, env), env.unwrapped.n_techniques
    )  # a guess policy ranking for top-k
    b = PolicyAgent(load_run(run, env), env.unwrapped.n_techniques)
    first, second = run_episodes(env, a, 5, seed=3), run_episodes(env, b, 5, seed=3)
    assert first["hit@k"] == second["hit@k"] and first["ndcg@k"] == second["ndcg@k"]


@pytest.mark.parametrize(
    "policy_kwargs",
    [
        "{activation_fn: __import__('os')}",
        "\"dict(activation_fn=__import__('os').system)\"",
        '"dict(net_arch=[64], activation_fn=nn.Sigmoid)"',
        "\"exec('x')\"",
    ],
)
def test_hyperparams_file_is_data_not_code(tmp_path, policy_kwargs):
    bad = tmp_path / "ppo.yml"
    bad.write_text(f"default:\n  policy: MlpPolicy\n  policy_kwargs: {policy_kwargs}\n")
    with pytest.raises(DataError, match="policy_kwargs"):
        load_hyperparams(bad, "TIE-ForecastGuess-v0", "ppo")


def test_hyperparams_read_rl_zoo_strings_and_name_a_missing_file(tmp_path):
    (tmp_path / "ppo.yml").write_text(
        "TIE-Forecast-v0:\n  n_timesteps: 64\n  n_envs: 2\n  policy: MlpPolicy\n"
        '  policy_kwargs: "dict(net_arch=[64, 32], activation_fn=nn.Tanh, '
        'optimizer_class=th.optim.RMSprop)"\n'
    )
    params = load_hyperparams(tmp_path, "TIE-Forecast-v0", "ppo")
    assert params["policy_kwargs"] == {
        "net_arch": [64, 32],
        "activation_fn": torch.nn.Tanh,
        "optimizer_class": torch.optim.RMSprop,
    }
    assert "n_timesteps" not in params and "n_envs" not in params  # run keys, not PPO's
    assert run_settings(tmp_path, "TIE-Forecast-v0", "ppo") == {"n_timesteps": 64, "n_envs": 2}
    with pytest.raises(DataError, match="no settings for 'TIE-Defend-v0' and no 'default'"):
        load_hyperparams(tmp_path, "TIE-Defend-v0", "ppo")
    with pytest.raises(DataError, match=r"dqn.yml.*no hyperparameter file for dqn"):
        load_hyperparams(tmp_path, "TIE-Forecast-v0", "dqn")


def test_shipped_hyperparams_keep_gamma_zero_for_forecasts_and_discount_defend():
    for algo in ALGORITHMS:
        assert load_hyperparams(DEFAULT_HYPERPARAMS, "TIE-ForecastGuess-v0", algo)["gamma"] == 0.0
        assert load_hyperparams(DEFAULT_HYPERPARAMS, "TIE-Defend-v0", algo)["gamma"] == 0.99


def test_markov_beats_greedy_on_killchain_replay(real_data_dir):
    env = gym.make("TIE-ForecastReplay-v0", data_dir=str(real_data_dir))
    agents = build_agents(["greedy", "markov"], env, seed=0)
    greedy = np.mean(run_episodes(env, agents["greedy"][0], 80, seed=0)["hit@k"])
    markov = np.mean(run_episodes(env, agents["markov"][0], 80, seed=0)["hit@k"])
    assert markov > greedy


def test_train_split_replay_never_yields_test_reports(real_data_dir):
    env = gym.make("TIE-ForecastReplayTrainGuess-v0", data_dir=str(real_data_dir)).unwrapped
    test_ids = set(env.adversary.manifest.split.test_report_ids)
    sources = {env.reset(seed=s)[1]["campaign"] for s in range(200)}
    assert sources and not sources & test_ids


def test_cli_overrides_and_run_name_reach_the_config():
    from agents.train import parse_args

    config = parse_args(
        [
            "--algo",
            "ppo",
            "--set",
            "learning_rate=0.001",
            "policy_kwargs.net_arch=[512]",
            "--name",
            "probe",
        ]
    )
    assert (
        config.overrides == {"learning_rate": 0.001, "policy_kwargs.net_arch": [512]}
        and config.name == "probe"
    )
    params = load_hyperparams(config.hyperparams, config.env, config.algo, config.overrides)
    assert params["learning_rate"] == 0.001 and params["policy_kwargs"]["net_arch"] == [512]


def test_loading_an_sb3_zip_never_unpickles(tmp_path):
    """A cloudpickle bomb planted in the zip's data is replaced, not executed."""
    import base64
    import pickle
    import zipfile

    run = train(
        AgentTrainConfig(
            algo="ppo", timesteps=256, n_envs=2, eval_freq=10**6, out=str(tmp_path), progress=False
        )
    )
    marker = tmp_path / "pwned"

    class Bomb:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    source, planted = run / "final.zip", tmp_path / "planted.zip"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(planted, "w") as out:
        for item in original.infolist():
            payload = original.read(item.filename)
            if item.filename == "data":
                data = json.loads(payload)
                bomb = {
                    ":type:": "<class 'object'>",
                    ":serialized:": base64.b64encode(pickle.dumps(Bomb())).decode(),
                }
                data["policy_kwargs"] = bomb
                data["observation_space"] = bomb
                payload = json.dumps(data).encode()
            out.writestr(item, payload)
    env = gym.make("TIE-ForecastGuess-v0")
    record = json.loads((run / "run.json").read_text())
    from agents.algorithms import activation_class

    kwargs = {
        **record["policy_kwargs_json"],
        "activation_fn": activation_class(record["policy_kwargs_json"]["activation_fn"]),
    }
    model = load_algorithm("ppo", planted, env, kwargs)
    assert not marker.exists()
    assert model.policy.action_net.out_features == env.unwrapped.n_techniques


@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_a_score_vector_policy_trains_and_plays_its_mean_action(algo, tmp_path):
    config = AgentTrainConfig(
        algo=algo,
        env="TIE-Forecast-v0",
        timesteps=256,
        n_envs=2,
        eval_freq=10**6,
        out=str(tmp_path),
        progress=False,
    )
    run = train(config)
    env = gym.make("TIE-Forecast-v0")
    agent = PolicyAgent(load_run(run, env), env.unwrapped.n_techniques)
    assert len(run_episodes(env, agent, 2, seed=0)["hit@k"]) > 0
    observation, _ = env.reset(seed=1)
    mean = agent.preferences(observation)
    action, _ = agent.model.predict(observation, deterministic=True)  # SB3 clips the mean
    np.testing.assert_allclose(np.clip(mean, -1, 1), action, rtol=1e-6, atol=1e-6)
    guess = PolicyAgent(agent.model, env.unwrapped.n_techniques, action_mode="guess")
    unseen = ~env.unwrapped.schema.seen(observation)
    assert guess.act(observation, {}) == int(np.argmax(np.where(unseen, mean, -np.inf)))


def test_the_eval_log_reports_hits_per_forecast_not_the_last_step(tmp_path, capsys, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="agents.train")
    run = train(
        AgentTrainConfig(
            algo="ppo",
            timesteps=512,
            n_envs=2,
            eval_freq=256,
            eval_episodes=5,
            out=str(tmp_path),
            progress=False,
        )
    )
    assert "Success rate" not in capsys.readouterr().out  # SB3's: whether the last step hit
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("eval @")]
    data = np.load(run / "evaluations.npz")
    assert len(lines) == len(data["timesteps"]) == 2
    for line, rewards, lengths in zip(lines, data["results"], data["ep_lengths"], strict=True):
        assert f"hit@1 {rewards.sum() / lengths.sum():.3f} per forecast" in line


@pytest.mark.parametrize("vec", ["dummy", "native"])
def test_defend_trains_with_a_delayed_reward_discount(vec, tmp_path):
    """make_vec_env asked TIE-Defend for rgb_array rendering and crashed; Defend also fell back to
    the forecast envs' gamma 0, which credits a catch to no earlier detection."""
    config = AgentTrainConfig(
        algo="maskable_ppo",
        env="TIE-Defend-v0",
        timesteps=256,
        n_envs=4,
        vec=vec,
        eval_freq=128,
        eval_episodes=2,
        overrides={"n_steps": 32, "batch_size": 64},
        out=str(tmp_path),
        progress=False,
    )
    run = train(config)
    record = json.loads((run / "run.json").read_text())
    assert record["hyperparameters"]["gamma"] == 0.99 and record["vec_backend"] == vec
    from agents.evaluate import evaluate

    (row,) = evaluate(["TIE-Defend-v0"], [f"learned={run}"], 4, 0, {})
    assert row["agent"] == "learned" and row["seeds"] == 1 and 0 <= row["catch"] <= 1
