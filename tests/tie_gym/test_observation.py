"""The observation schema: its known layout, encode/decode round trips (one and batched), and the
envs and agents writing and reading through it."""

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp

import tie_gym  # noqa: F401
from agents.markov import MarkovAgent
from tie_gym.observation import ObservationSchema


def _state(rng, n, batch=None, detections=False):
    """A random encodable state: seen set containing the last technique, reveals up to 150."""
    shape = (n,) if batch is None else (batch, n)
    seen = rng.random(shape) < 0.3
    last = rng.integers(0, n, size=shape[:-1])
    np.put_along_axis(seen, np.asarray(last)[..., None], True, axis=-1)
    state = {"seen": seen, "last": last, "reveals": rng.integers(1, 150, size=shape[:-1])}
    if detections:
        state["detected"] = rng.random(shape) < 0.2
        state["budget_left"] = rng.random(shape[:-1])
    return state


def test_known_layouts():
    forecast = ObservationSchema(3)
    obs = forecast.encode(np.array([True, False, True]), 2, 7)
    np.testing.assert_array_equal(obs, np.array([1, 0, 1, 0, 0, 1, 0.07], dtype=np.float32))
    defend = ObservationSchema(3, detections=True)
    obs = defend.encode(
        np.array([True, False, True]), 0, 250, detected=np.array([0, 1, 0]), budget_left=0.5
    )
    expected = [1, 0, 1, 0, 1, 0, 1, 0, 0, 0.5, 1.0]  # progress caps at 1
    np.testing.assert_array_equal(obs, np.array(expected, dtype=np.float32))
    featured = ObservationSchema(3, recommender=True)
    scores = np.array([1.0, 2.0, 6.0])
    obs = featured.encode(np.array([False, True, False]), 1, 1, recommender_scores=scores)
    z = (scores - scores.mean()) / scores.std()
    np.testing.assert_allclose(obs[7:], np.tanh(z / 3.0), rtol=1e-6)
    assert featured.width == 10 and list(featured.space.low) == [0.0] * 7 + [-1.0] * 3
    assert list(featured.segments) == ["seen", "last", "progress", "recommender"]
    assert list(defend.segments) == ["seen", "detected", "last", "budget_left", "progress"]


@pytest.mark.parametrize("detections", [False, True])
@pytest.mark.parametrize("batch", [None, 5])
def test_encode_decode_round_trip(detections, batch):
    rng = np.random.default_rng(0)
    schema = ObservationSchema(11, detections=detections)
    state = _state(rng, 11, batch, detections)
    encode = schema.encode if batch is None else schema.encode_batch
    decoded = schema.decode(encode(**state))
    np.testing.assert_array_equal(decoded.seen, state["seen"])
    np.testing.assert_array_equal(decoded.last, state["last"])
    np.testing.assert_allclose(decoded.progress, np.minimum(state["reveals"] / 100, 1), rtol=1e-6)
    if detections:
        np.testing.assert_array_equal(decoded.detected, state["detected"])
        np.testing.assert_allclose(decoded.budget_left, state["budget_left"], rtol=1e-6)
    else:
        assert decoded.detected is None and decoded.budget_left is None


def test_batched_encode_is_the_single_encode_per_row_and_rows_leave_the_rest():
    rng = np.random.default_rng(1)
    schema = ObservationSchema(9, recommender=True)
    state = _state(rng, 9, batch=4)
    state["recommender_scores"] = rng.normal(size=(4, 9))
    batched = schema.encode_batch(**state)
    for i in range(4):
        single = schema.encode(**{key: value[i] for key, value in state.items()})
        np.testing.assert_allclose(batched[i], single, rtol=1e-6)
    buffer = np.full((6, schema.width), 7.0, dtype=np.float32)  # stale values must be cleared
    rows = np.array([4, 1, 2, 0])
    schema.encode_batch(**state, out=buffer, rows=rows)
    np.testing.assert_array_equal(buffer[rows], batched)
    assert np.all(buffer[[3, 5]] == 7.0)


def test_reveal_updates_to_the_full_encode_of_the_next_state():
    rng = np.random.default_rng(2)
    schema = ObservationSchema(8)
    state = _state(rng, 8, batch=3)
    obs = schema.encode_batch(**state)
    revealed = np.array([np.flatnonzero(~row)[0] for row in state["seen"]])
    rows = np.array([0, 2])  # row 1 does not step
    schema.reveal_batch(obs, rows, revealed[rows], state["last"][rows], state["reveals"][rows] + 1)
    state["seen"][rows, revealed[rows]] = True
    state["last"][rows] = revealed[rows]
    state["reveals"][rows] += 1
    np.testing.assert_array_equal(obs, schema.encode_batch(**state))
    one = schema.encode(state["seen"][1], state["last"][1], state["reveals"][1])
    schema.reveal(one, revealed[1], state["last"][1], state["reveals"][1] + 1)
    state["seen"][1, revealed[1]] = True
    np.testing.assert_array_equal(
        one, schema.encode(state["seen"][1], revealed[1], state["reveals"][1] + 1)
    )


def test_mismatched_arguments_and_widths_are_refused():
    defend = ObservationSchema(4, detections=True)
    with pytest.raises(ValueError, match="detections"):
        defend.encode(np.zeros(4, dtype=bool), 0, 1)
    with pytest.raises(ValueError, match="recommender_scores"):
        ObservationSchema(4).encode(np.zeros(4, dtype=bool), 0, 1, recommender_scores=np.ones(4))
    with pytest.raises(ValueError, match="columns"):
        defend.decode(np.zeros(ObservationSchema(4).width, dtype=np.float32))


@pytest.mark.parametrize(
    ("env_id", "kwargs", "expected"),
    [
        ("TIE-Forecast-v0", {}, {}),
        ("TIE-ForecastGuessFeatures-v0", {}, {"recommender": True}),
        ("TIE-Defend-v0", {}, {"detections": True}),
    ],
)
def test_env_spaces_are_the_schema_spaces(env_id, kwargs, expected):
    env = gym.make(env_id, **kwargs)
    schema = ObservationSchema(env.unwrapped.n_techniques, **expected)
    assert env.unwrapped.schema == schema and env.observation_space == schema.space
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_single_env_observations_are_the_encode_of_its_state():
    env = gym.make("TIE-ForecastGuessFeatures-v0").unwrapped
    obs, _ = env.reset(seed=3)
    for _ in range(5):
        expected = env.schema.encode(
            env._seen,
            env._campaign.techniques[env._cursor - 1],
            env._cursor,
            # the model's own batch fold-in of the seen set, not the env's incremental one
            recommender_scores=env.adversary.model.score(
                sp.csr_matrix(env._seen[None].astype(np.float32))
            )[0],
        )
        np.testing.assert_allclose(obs, expected, atol=1e-6)
        obs, _, terminated, _, _ = env.step(int(np.flatnonzero(env.action_masks())[0]))
        if terminated:
            break


def test_defend_observation_decodes_to_its_state():
    env = gym.make("TIE-Defend-v0", budget=4).unwrapped
    env.reset(seed=0)
    target = int(np.flatnonzero(env.action_masks()[: env.n_techniques])[0])
    obs, *_ = env.step(target)
    decoded = env.schema.decode(obs)
    np.testing.assert_array_equal(decoded.seen, env._seen)
    np.testing.assert_array_equal(decoded.detected, env._detected)
    assert decoded.detected[target] and decoded.budget_left == pytest.approx(3 / 4)
    assert decoded.last == env._campaign.techniques[env._cursor - 1]
    assert decoded.progress == pytest.approx(env._cursor / 100)


def test_vector_env_rows_are_the_single_encode_of_each_env_state():
    env = gym.make_vec("TIE-Forecast-v0", num_envs=6, vectorization_mode="vector_entry_point")
    base = env.unwrapped
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    single = gym.make("TIE-Forecast-v0").unwrapped.schema
    assert base.schema == single and base.single_observation_space == single.space
    for _ in range(40):  # long enough for some envs to autoreset
        for i in range(6):
            last = base._sequences[i, base._cursor[i] - 1]
            np.testing.assert_array_equal(
                obs[i], single.encode(base._seen[i], last, base._cursor[i])
            )
        obs, *_ = env.step(env.action_space.sample())


@pytest.mark.parametrize("recommender", [False, True])
def test_agents_read_the_last_technique_not_the_seen_set(recommender):
    """Seen {0, 3} and last 3: a Markov agent forecasts from row 3 of its transitions. An agent
    reading the wrong segment (e.g. argmax of the multi-hot, 0) would guess technique 1."""
    n = 5
    transitions = np.zeros((n, n))
    transitions[0, 1] = transitions[3, 4] = 1.0
    agent = MarkovAgent(transitions, np.zeros(n), action_mode="guess")
    schema = ObservationSchema(n, recommender=recommender)
    scores = np.arange(n, dtype=np.float64) if recommender else None
    seen = np.array([True, False, False, True, False])
    obs = schema.encode(seen, 3, 2, recommender_scores=scores)
    assert agent.act(obs, {}) == 4
    np.testing.assert_array_equal(agent.schema.seen(obs), seen)
