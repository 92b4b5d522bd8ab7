import json
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env

import tie_gym
from recommenders.errors import DataError

GENERATIVE = [i for i in tie_gym.PRESETS if "Replay" not in i]
REPLAY = [i for i in tie_gym.PRESETS if "Replay" in i]


@pytest.mark.parametrize("env_id", GENERATIVE)
def test_gymnasium_check_env(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=False)


@pytest.mark.parametrize("env_id", GENERATIVE)
def test_sb3_check_env_without_warnings(env_id):
    from stable_baselines3.common.env_checker import check_env as sb3_check

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check(gym.make(env_id).unwrapped, warn=True)
    assert [str(w.message) for w in caught if "stable_baselines3" in w.filename] == []


@pytest.mark.parametrize("env_id", REPLAY)
def test_replay_check_env(env_id, real_data_dir):
    check_env(gym.make(env_id, data_dir=str(real_data_dir)).unwrapped)


def test_replay_without_corpus_is_a_clear_error(monkeypatch):
    from tie_gym.adversary import model

    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    # adversaries are shared per process: one loaded by an earlier test already read the corpus
    monkeypatch.setattr(model, "_SHARED", {})
    env = gym.make("TIE-ForecastReplay-v0")
    with pytest.raises(DataError, match="TIE_DATA_DIR"):
        env.reset(seed=0)


def _rollout(env_id, seed, steps=60, **kwargs):
    env = gym.make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, info["revealed"]))
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(obs)
    return trace


def _same(a, b):
    return len(a) == len(b) and all(
        np.array_equal(x, y)
        if isinstance(x, np.ndarray)
        else all(np.array_equal(p, q) for p, q in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize(
    "env_id", ["TIE-Forecast-v0", "TIE-ForecastGuess-v0", "TIE-ForecastHard-v0"]
)
def test_same_seed_same_rollout(env_id):
    assert _same(_rollout(env_id, 7), _rollout(env_id, 7))
    assert not _same(_rollout(env_id, 7), _rollout(env_id, 8))


def test_spec_json_round_trip_and_pickle():
    env = gym.make("TIE-ForecastHard-v0", k=5, temperature=0.7)
    spec_json = env.spec.to_json()
    again = gym.make(EnvSpec.from_json(spec_json))
    assert again.unwrapped.k == 5 and again.unwrapped.campaign_config.temperature == 0.7
    json.loads(spec_json)
    clone = pickle.loads(pickle.dumps(env))
    a, _ = env.reset(seed=3)
    b, _ = clone.reset(seed=3)
    np.testing.assert_array_equal(a, b)


def test_make_without_prior_import():
    env = gym.make("tie_gym:TIE-Forecast-v0")
    assert env.unwrapped.n_techniques > 100


def test_step_semantics_scores_mode():
    env = gym.make("TIE-Forecast-v0", k=3).unwrapped
    obs, info = env.reset(seed=0)
    n, schema = env.n_techniques, env.schema
    assert schema.seen(obs).sum() == 1 and schema.last(obs) == env._campaign.techniques[0]
    target = env._campaign.techniques[env._cursor]
    action = np.full(n, -1.0, dtype=np.float32)
    action[target] = 1.0
    obs, reward, _, _, info = env.step(action)
    assert reward == 1.0 and info["rank"] == 1 and info["hit"] and info["is_success"]
    assert (
        info["revealed"] == env.vocabulary[target]
        and schema.seen(obs)[target]
        and schema.last(obs) == target
    )
    assert not info["action_mask"][target]
    # The revealed technique scored lowest: rank is its position among unseen techniques.
    nxt = (
        env._campaign.techniques[env._cursor]
        if env._cursor < len(env._campaign.techniques)
        else None
    )
    if nxt is not None:
        action = np.linspace(1, 0, n, dtype=np.float32)
        action[nxt] = -1.0
        _, reward, _, _, info = env.step(action)
        assert reward == 0.0 and info["rank"] == n - schema.seen(obs).sum()


def test_ndcg_reward_and_guess_mode():
    env = gym.make("TIE-Forecast-v0", k=5, reward="ndcg").unwrapped
    env.reset(seed=1)
    n = env.n_techniques
    target = env._campaign.techniques[env._cursor]
    action = np.linspace(1, -1, n, dtype=np.float32)
    order = np.argsort(-np.where(env._seen, -np.inf, action))
    second = order[1]
    action[[second, target]] = action[[target, second]]
    _, reward, _, _, info = env.step(action)
    assert info["rank"] == 2 and reward == pytest.approx(1 / np.log2(3))
    guess = gym.make("TIE-ForecastGuess-v0").unwrapped
    guess.reset(seed=1)
    target = guess._campaign.techniques[guess._cursor]
    assert guess.action_masks()[target]
    _, reward, _, _, info = guess.step(int(target))
    assert reward == 1.0 and info["hit"]


@pytest.mark.parametrize(
    ("bad", "match"),
    [(np.full(3, 0.0), "shape"), ("nan", "NaN"), ("inf", "NaN")],
)
def test_bad_actions(bad, match):
    env = gym.make("TIE-Forecast-v0").unwrapped
    env.reset(seed=0)
    if isinstance(bad, str):
        action = np.zeros(env.n_techniques, dtype=np.float32)
        action[5] = np.nan if bad == "nan" else np.inf
        bad = action
    with pytest.raises(ValueError, match=match):
        env.step(bad)


def test_bad_guesses_and_step_before_reset():
    env = gym.make("TIE-ForecastGuess-v0").unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    for bad in (-1, env.n_techniques, 2.5, np.array([np.nan])):
        with pytest.raises(ValueError, match="guess"):
            env.step(bad)


def test_bad_constructor_arguments():
    for kwargs, match in [
        ({"k": 0}, "k must"),
        ({"action_mode": "x"}, "action_mode"),
        ({"order": "alpha"}, "order"),
        ({"campaign": "replay", "order": "model"}, "order"),
        ({"initial": 0}, "initial"),
        ({"max_length": 1}, "max_length"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": 0.0}, "temperature"),
        ({"top_p": float("nan")}, "top_p"),
        ({"temperature": "1"}, "temperature"),  # a string raised a bare TypeError
        ({"top_p": "1"}, "top_p"),
        ({"k": "3"}, "got '3'"),  # the repr: "got 3" read as valid
        ({"campaign": ["replay"]}, "campaign must"),  # a list raised a bare TypeError
        ({"flows": 5}, "flows must"),
        ({"initial": 3, "max_length": 3}, "max_length"),
    ]:
        with pytest.raises(ValueError, match=match):
            gym.make("TIE-Forecast-v0", **kwargs)


def test_reset_from_analyst_observations():
    env = gym.make("TIE-Forecast-v0", features="recommender").unwrapped
    given = ["T1566", "T1059"]
    obs, info = env.reset(seed=0, options={"observed": given})
    n, index = env.n_techniques, {t: i for i, t in enumerate(env.vocabulary)}
    columns = [index[t] for t in given]
    assert env.seen_ids == given and info["campaign_length"] >= 3
    assert list(env._campaign.techniques[:2]) == columns
    decoded = env.schema.decode(obs)
    assert set(np.flatnonzero(decoded.seen)) == set(columns)  # both are in the observation
    assert decoded.last == columns[-1]
    # TIE's forecast in the observation is the fold-in of the whole given set, not its last ID
    scores = env.adversary.model.score(
        sp.csr_matrix((np.ones(2, dtype=np.float32), ([0, 0], columns)), shape=(1, n))
    )[0]
    z = (scores - scores.mean()) / scores.std()
    np.testing.assert_allclose(decoded.recommender_features, np.tanh(z / 3.0), atol=1e-4)
    _, _, _, _, info = env.step(np.zeros(n, dtype=np.float32))
    assert info["revealed"] not in given
    with pytest.raises(ValueError, match="vocabulary"):
        env.reset(options={"observed": ["T9999"]})
    with pytest.raises(ValueError, match="at least one"):
        env.reset(options={"observed": list(env.vocabulary)})


@pytest.mark.parametrize(
    "kwargs", [{}, {"max_length": 2}, {"initial": 3, "max_length": 4}, {"order": "killchain"}]
)
def test_the_revealed_technique_is_never_in_the_observation_before_it(kwargs):
    env = gym.make("TIE-Forecast-v0", **kwargs).unwrapped
    n = env.n_techniques
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs_before = obs
            obs, _, done, _, info = env.step(np.zeros(n, dtype=np.float32))
            assert obs_before[env.vocabulary.index(info["revealed"])] == 0.0


def _constant_hit_rate(env, value, episodes=60):
    n = env.unwrapped.n_techniques
    hits, chance = [], []
    for seed in range(episodes):
        env.reset(seed=seed)
        done = False
        while not done:
            unseen = int(env.unwrapped.action_masks().sum())
            _, _, terminated, truncated, info = env.step(np.full(n, value, dtype=np.float32))
            hits.append(info["rank"] <= env.unwrapped.k)
            chance.append(min(1.0, env.unwrapped.k / unseen))
            done = terminated or truncated
    return float(np.mean(hits)), float(np.mean(chance))


@pytest.mark.parametrize("env_id", ["TIE-Forecast-v0", "TIE-ForecastHard-v0"])
@pytest.mark.parametrize("value", [0.0, 1.0, -1.0])
def test_a_constant_forecast_hits_at_chance(env_id, value):
    """Ties count as one fixed arbitrary top-k, never for the defender: hit@k ≈ k / unseen."""
    rate, chance = _constant_hit_rate(gym.make(env_id), value)
    assert rate < 3 * chance and rate < 0.1, (rate, chance)


def test_a_constant_forecast_hits_at_chance_on_replay(real_data_dir):
    rate, chance = _constant_hit_rate(gym.make("TIE-ForecastReplay-v0"), 0.0)
    assert rate < 3 * chance and rate < 0.1, (rate, chance)


def test_ties_rank_in_column_order():
    env = gym.make("TIE-Forecast-v0").unwrapped
    env.reset(seed=3)
    n = env.n_techniques
    revealed = int(env._campaign.techniques[env._cursor])
    unseen_before = int((~env._seen[:revealed]).sum())
    _, _, _, _, info = env.step(np.zeros(n, dtype=np.float32))
    assert info["rank"] == 1 + unseen_before
    shown = env.last_forecast()
    assert list(shown) == list(np.flatnonzero(~env._seen | (np.arange(n) == revealed))[: env.k])


def test_killchain_order_is_tactic_sorted():
    env = gym.make("TIE-Forecast-v0", order="killchain").unwrapped
    env.reset(seed=4)
    ranks = env.adversary.first_tactic_rank[env._campaign.techniques[1:]]
    assert np.all(np.diff(ranks) >= 0)


def test_renders():
    env = gym.make("TIE-Forecast-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    text = env.render()
    assert "forecast" in text and "revealed" in text
    rgb = gym.make("TIE-Forecast-v0", render_mode="rgb_array")
    rgb.reset(seed=0)
    rgb.step(rgb.action_space.sample())
    image = rgb.render()
    assert (
        image.ndim == 3
        and image.shape[2] == 3
        and image.dtype == np.uint8
        and len(np.unique(image.reshape(-1, 3), axis=0)) >= 3
    )


def test_other_vocabulary_artifact_refused_for_replay(tmp_path, real_data_dir, block_matrix):
    """An artifact whose vocabulary is not the corpus's cannot replay it."""
    from recommenders.artifacts import DEFAULT_MODEL_DIR, ModelManifest, read_manifest, save_model
    from recommenders.models import make_model

    manifest = read_manifest(DEFAULT_MODEL_DIR)
    model = make_model("ease").fit(block_matrix)
    keep = ModelManifest(
        manifest.technique_ids[:12],
        tactic_order=manifest.tactic_order,
        data=manifest.data,
        split=manifest.split,
    )
    save_model(model, tmp_path / "m", keep)
    env = gym.make("TIE-ForecastReplay-v0", model=str(tmp_path / "m"), data_dir=str(real_data_dir))
    with pytest.raises(DataError, match="vocabulary"):
        env.reset(seed=0)


def test_recommender_features_match_greedy_ranking():
    from agents.baselines import GreedyAgent

    env = gym.make("TIE-ForecastGuessFeatures-v0").unwrapped
    obs, info = env.reset(seed=2)
    n, schema = env.n_techniques, env.schema
    greedy = GreedyAgent(env.adversary.model, action_mode="guess")
    for _ in range(3):
        features = schema.recommender_features(obs)
        assert features.shape == (n,) and np.all(np.abs(features) <= 1)
        assert int(np.argmax(np.where(schema.seen(obs), -np.inf, features))) == greedy.act(
            obs, info
        )
        obs, _, terminated, _, info = env.step(greedy.act(obs, info))
        if terminated:
            break


def test_native_vector_env_refuses_features_clearly():
    with pytest.raises(ValueError, match="sync"):
        gym.make_vec(
            "TIE-ForecastGuessFeatures-v0", num_envs=2, vectorization_mode="vector_entry_point"
        )


@pytest.mark.parametrize("name", ["../../secret.json", "/etc/passwd", "..", "sub/dir.json"])
def test_artifact_cannot_point_replay_outside_the_data_folder(tmp_path, real_data_dir, name):
    import shutil

    from recommenders.artifacts import DEFAULT_MODEL_DIR

    artifact = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, artifact)
    manifest = json.loads((artifact / "model.json").read_text())
    manifest["data"]["corpus"]["file"] = name
    (artifact / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"model\.json.*data\.corpus\.file"):
        gym.make("TIE-ForecastReplay-v0", model=str(artifact), data_dir=str(real_data_dir))


@pytest.mark.parametrize("dtype", [np.float16, np.int8, np.int64, np.uint64, np.longdouble, bool])
def test_any_numeric_action_dtype_ranks_as_its_float64_forecast(dtype):
    env = gym.make("TIE-Forecast-v0").unwrapped
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    action = (rng.integers(0, 3, env.n_techniques)).astype(dtype)
    _, _, _, _, info = env.step(action)
    revealed = env.vocabulary.index(info["revealed"])
    shown = list(env.last_forecast())
    assert (info["rank"] <= env.k) == (revealed in shown)


@pytest.mark.parametrize(
    "bad", ["5", b"5", None, True, 1 + 0j, np.array(["5"]), np.array([1 + 0j]), [5]]
)
def test_a_guess_of_the_wrong_type_is_a_clear_value_error(bad):
    env = gym.make("TIE-ForecastGuess-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="guess must be"):
        env.step(bad)
    env.step(np.int64(5))  # NumPy integers and floats stay legal
    env.reset(seed=0)
    env.step(np.float32(5.0))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, np.str_, object])
def test_complex_or_non_numeric_scores_are_refused(dtype):
    env = gym.make("TIE-Forecast-v0").unwrapped
    env.reset(seed=0)
    action = np.zeros(env.n_techniques).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way to the error
        with pytest.raises(
            ValueError, match=f"real-valued numeric scores, got dtype {action.dtype}"
        ):
            env.step(action)


def test_observed_ids_are_ignored_not_refused_in_the_env():
    env = gym.make("TIE-Forecast-v0").unwrapped
    _, info = env.reset(seed=0, options={"observed": ["T1566", "T9999", "T1566", "T1059"]})
    assert env.seen_ids == ["T1566", "T1059"]
    assert set(info["ignored"]) == {"T9999", "T1566"}
    _, info = env.reset(seed=0)
    assert "ignored" not in info  # a random campaign has no input to report on


def test_render_lists_what_was_seen_before_the_forecast():
    env = gym.make("TIE-Forecast-v0", render_mode="ansi")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(env.unwrapped.n_techniques, dtype=np.float32))
    text = env.render()
    seen_block = text.split("forecast (top")[0]
    assert "seen before the forecast (1):" in seen_block and info["revealed"] not in seen_block
    assert f"revealed: {info['revealed']}" in text
