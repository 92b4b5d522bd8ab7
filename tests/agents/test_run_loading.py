"""A run folder is data: loading its run.json imports nothing and builds only tie_gym envs."""

import json
import shutil
import sys

import gymnasium as gym
import pytest

import tie_gym  # noqa: F401
from agents.evaluate import run_episodes
from agents.policy import PolicyAgent, check_env_config, load_run
from agents.train import AgentTrainConfig, train
from recommenders.errors import DataError


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny PPO run, shared: each test edits its own copy of the folder."""
    out = tmp_path_factory.mktemp("runs")
    return train(
        AgentTrainConfig(
            algo="ppo", timesteps=256, n_envs=2, eval_freq=10**6, out=str(out), progress=False
        )
    )


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """An importable module that leaves a marker file if anything imports it."""
    marker = tmp_path / "payload-ran"
    name = f"tie_payload_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, marker
    sys.modules.pop(name, None)


def _copy_with_config(run, tmp_path, **config):
    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    record = json.loads((copy / "run.json").read_text())
    record["config"].update(config)
    (copy / "run.json").write_text(json.dumps(record))
    return copy


def _load_error(run, env):
    try:
        load_run(run, env)
    except DataError as exc:
        return exc
    return None


def test_a_module_named_in_run_json_is_never_imported(trained_run, tmp_path, payload):
    module, marker = payload
    planted = _copy_with_config(trained_run, tmp_path, env=f"{module}:TIE-ForecastGuess-v0")
    error = _load_error(planted, gym.make("TIE-Forecast-v0"))
    assert not marker.exists(), "loading the run imported the module named in run.json"
    assert error is not None
    message = str(error)
    assert "run.json" in message and "'config.env'" in message and "module prefix" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("field", "env_kwargs"),
    [
        ("config.env_kwargs.max_episode_steps", {"max_episode_steps": 5}),
        ("config.env_kwargs.entry_point", {"entry_point": "os:system"}),
        ("config.env_kwargs.model", {"model": {"path": "x"}}),
        ("config.env_kwargs.k", {"k": [1, 2]}),
    ],
)
def test_unknown_or_non_scalar_env_kwargs_are_refused(trained_run, tmp_path, field, env_kwargs):
    planted = _copy_with_config(trained_run, tmp_path, env_kwargs=env_kwargs)
    error = _load_error(planted, gym.make("TIE-Forecast-v0"))
    assert error is not None and "run.json" in str(error) and repr(field) in str(error)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "tie_gym:TIE-ForecastGuess-v0", 3])
def test_only_ids_tie_gym_registers_pass(env_id):
    with pytest.raises(DataError, match=r"'config\.env'.*Fix: use one of"):
        check_env_config(env_id, {}, "run.json")


def test_an_unknown_algorithm_in_run_json_is_refused(trained_run, tmp_path):
    planted = _copy_with_config(trained_run, tmp_path, algo="common")
    with pytest.raises(DataError, match=r"'config\.algo'"):
        load_run(planted, gym.make("TIE-Forecast-v0"))


def test_a_normal_run_with_env_kwargs_still_loads_and_plays(trained_run, tmp_path):
    run = _copy_with_config(trained_run, tmp_path, env_kwargs={"temperature": 3.0, "k": 10})
    env = gym.make("TIE-Forecast-v0")
    agent = PolicyAgent(load_run(run, env), env.unwrapped.n_techniques)
    assert len(run_episodes(env, agent, 2, seed=0)["hit@k"]) > 0
    for env_id, kwargs in [("TIE-DefendReplay-v0", {"budget": 3}), ("TIE-Forecast-v0", {})]:
        assert check_env_config(env_id, kwargs, "run.json") == (env_id, kwargs)


def test_training_refuses_a_module_prefixed_env_before_importing_it(tmp_path, payload):
    module, marker = payload
    config = AgentTrainConfig(
        algo="ppo",
        env=f"{module}:TIE-ForecastGuess-v0",
        timesteps=64,
        n_envs=1,
        out=str(tmp_path),
        progress=False,
    )
    with pytest.raises(DataError, match=r"^env: "):
        train(config)
    assert not marker.exists()


def test_run_json_holds_plain_hyperparameters_and_the_vocabulary(trained_run):
    record = json.loads((trained_run / "run.json").read_text())
    assert record["hyperparameters"]["policy_kwargs"] == {
        "net_arch": [256, 256],
        "activation_fn": "ReLU",
    }
    assert record["hyperparameters"]["learning_rate"] == 0.0003
    assert record["technique_ids"] == list(gym.make("TIE-ForecastGuess-v0").unwrapped.vocabulary)


@pytest.fixture(scope="module")
def two_vocabularies(tmp_path_factory):
    """Two 12-technique model artifacts with different technique IDs (A: the first 12 of the
    shipped model's vocabulary, B: the next 12), and a tiny PPO run trained on A."""
    import numpy as np
    import scipy.sparse as sp

    from recommenders.artifacts import DEFAULT_MODEL_DIR, ModelManifest, read_manifest, save_model
    from recommenders.models import make_model

    root = tmp_path_factory.mktemp("vocabularies")
    rng = np.random.default_rng(1)
    rows, cols = [], []
    for i in range(120):  # even reports use columns 0-5, odd ones 6-11
        for j in rng.choice(6, size=int(rng.integers(3, 7)), replace=False):
            rows.append(i)
            cols.append((i % 2) * 6 + j)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(120, 12))
    manifest = read_manifest(DEFAULT_MODEL_DIR)
    models = {}
    for name, ids in (
        ("a", manifest.technique_ids[:12]),
        ("b", manifest.technique_ids[12:24]),
    ):
        keep = ModelManifest(ids, tactic_order=manifest.tactic_order, data=manifest.data)
        save_model(make_model("ease").fit(matrix), root / name, keep)
        models[name] = str(root / name)
    run = train(
        AgentTrainConfig(
            algo="ppo",
            env_kwargs={"model": models["a"]},
            timesteps=512,
            n_envs=2,
            eval_freq=10**6,
            out=str(root / "runs"),
            progress=False,
        )
    )
    return models, run


@pytest.mark.parametrize("other", ["b", "default"])
def test_a_run_refuses_an_env_of_another_vocabulary(two_vocabularies, other):
    models, run = two_vocabularies
    env = gym.make("TIE-Forecast-v0", **({} if other == "default" else {"model": models[other]}))
    error = _load_error(run, env)
    assert error is not None, "a policy was loaded for an env of another technique vocabulary"
    message = str(error)
    assert "run.json" in message and "'technique_ids'" in message and "Fix:" in message
    assert "\n" not in message


def test_a_run_still_plays_its_own_vocabulary_and_old_runs_are_checked_too(
    two_vocabularies, tmp_path
):
    models, run = two_vocabularies
    env = gym.make("TIE-Forecast-v0", model=models["a"])
    agent = PolicyAgent(load_run(run, env), env.unwrapped.n_techniques)
    assert len(run_episodes(env, agent, 2, seed=0)["hit@k"]) > 0
    old = tmp_path / run.name  # a run from before run.json recorded technique_ids
    shutil.copytree(run, old)
    record = json.loads((old / "run.json").read_text())
    del record["technique_ids"]
    (old / "run.json").write_text(json.dumps(record))
    assert load_run(old, env) is not None
    assert _load_error(old, gym.make("TIE-Forecast-v0", model=models["b"])) is not None


def test_a_run_whose_model_changed_since_training_is_refused(two_vocabularies, tmp_path):
    models, run = two_vocabularies
    edited = tmp_path / run.name
    shutil.copytree(run, edited)
    record = json.loads((edited / "run.json").read_text())
    record["technique_ids"] = record["technique_ids"][::-1]
    (edited / "run.json").write_text(json.dumps(record))
    error = _load_error(edited, gym.make("TIE-Forecast-v0", model=models["a"]))
    assert error is not None and "changed" in str(error) and "'technique_ids'" in str(error)


def test_a_policy_agent_refuses_an_env_of_another_width(two_vocabularies):
    models, run = two_vocabularies
    model = load_run(run, gym.make("TIE-Forecast-v0", model=models["a"]))
    with pytest.raises(ValueError, match="has 12 actions and this forecast env 580 techniques"):
        PolicyAgent(model, gym.make("TIE-Forecast-v0").unwrapped.n_techniques)
