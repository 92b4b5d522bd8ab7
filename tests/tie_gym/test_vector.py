import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from tie_gym.vector import ForecastVectorEnv


def _make(num_envs=8, env_id="TIE-Forecast-v0", **kwargs):
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


def test_make_vec_builds_native_env():
    env = _make()
    assert isinstance(env, ForecastVectorEnv)
    obs, _ = env.reset(seed=0)
    n, schema = env.unwrapped.n_techniques, env.unwrapped.schema
    assert obs.shape == (8, schema.width) and env.action_space.shape == (8, n)
    assert np.all(schema.seen(obs).sum(axis=1) == 1)


def test_seeded_runs_repeat():
    def run(seed):
        env = _make()
        env.reset(seed=seed)
        env.action_space.seed(seed)
        out = []
        for _ in range(30):
            obs, reward, terminated, _, _ = env.step(env.action_space.sample())
            out.append((obs, reward, terminated))
        return out

    a, b, c = run(1), run(1), run(2)
    assert all(
        np.array_equal(x, y)
        for pa, pb in zip(a, b, strict=True)
        for x, y in zip(pa, pb, strict=True)
    )
    assert not all(np.array_equal(pa[0], pc[0]) for pa, pc in zip(a, c, strict=True))


def test_next_step_autoreset_and_perfect_forecast():
    env = _make(num_envs=4, k=1)
    base = env.unwrapped
    env.reset(seed=0)
    ended_before = np.zeros(4, dtype=bool)
    resets_seen = 0
    for _ in range(60):
        action = np.full((4, base.n_techniques), -1.0, dtype=np.float32)
        upcoming = base._sequences[np.arange(4), np.minimum(base._cursor, base.n_techniques - 1)]
        action[np.arange(4), upcoming] = 1.0
        obs, reward, terminated, truncated, info = env.step(action)
        # envs that ended last step were reset now: reward 0, fresh one-technique observation
        assert np.all(reward[ended_before] == 0.0)
        assert np.all(base.schema.seen(obs[ended_before]).sum(axis=1) == 1)
        assert np.all(reward[~ended_before] == 1.0) and np.all(info["rank"][~ended_before] == 1)
        resets_seen += int(ended_before.sum())
        ended_before = terminated | truncated
    assert resets_seen > 0


def test_guess_mode_masks_and_bad_actions():
    env = _make(num_envs=3, env_id="TIE-ForecastGuess-v0")
    with pytest.raises(gym.error.ResetNeeded):
        env.step(np.zeros(3, dtype=np.int64))
    env.reset(seed=0)
    masks = env.unwrapped.action_masks()
    assert masks.shape == (3, env.unwrapped.n_techniques) and (~masks).sum(axis=1).min() >= 1
    with pytest.raises(ValueError):
        env.step(np.array([0, 1]))
    with pytest.raises(ValueError):
        env.step(np.array([0, 1, 10**6]))
    scores = _make(num_envs=2)
    scores.reset(seed=0)
    bad = np.zeros((2, scores.unwrapped.n_techniques), dtype=np.float32)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scores.step(bad)


def _greedy(observation, schema, weights):
    """EASE greedy forecast from the observation: the seen multi-hot times B (TIE's approach)."""
    return (schema.seen(observation).astype(np.float32) @ weights).astype(np.float32)


def _single_greedy_rate(steps=3000, **kwargs):
    env = gym.make("TIE-Forecast-v0", **kwargs)
    schema, weights = env.unwrapped.schema, env.unwrapped.adversary.model.weights
    obs, _ = env.reset(seed=0)
    hits = []
    for _ in range(steps):
        obs, r, te, tr, _ = env.step(_greedy(obs, schema, weights))
        hits.append(r)
        if te or tr:
            obs, _ = env.reset()
    return float(np.mean(hits))


def _vector_greedy_rate(rounds=50, **kwargs):
    env = _make(num_envs=64, **kwargs)
    schema, weights = env.unwrapped.schema, env.unwrapped.adversary.model.weights
    obs, _ = env.reset(seed=0)
    hits = []
    for _ in range(rounds):
        obs, r, _, _, info = env.step(_greedy(obs, schema, weights))
        hits.extend(r[info["_hit"]])
    return float(np.mean(hits))


def test_vector_and_single_env_agree_in_distribution():
    """The greedy forecast's hit rate depends on the campaigns (unlike a random forecast's, which
    is k/n whatever they are): both implementations must give the same rate, and a changed
    adversary must show."""
    single, vector = _single_greedy_rate(), _vector_greedy_rate()
    assert abs(single - vector) < 0.05, (single, vector)
    colder = _vector_greedy_rate(temperature=0.8)
    assert colder - vector > 0.15, (colder, vector)


def test_constant_forecast_hits_at_chance_in_the_vector_env():
    env = _make(num_envs=32)
    n = env.unwrapped.n_techniques
    env.reset(seed=0)
    hits = []
    for _ in range(40):
        _, r, _, _, info = env.step(np.zeros((32, n), dtype=np.float32))
        hits.extend(r[info["_hit"]])
    assert np.mean(hits) < 0.1


def test_the_vector_env_shares_the_single_envs_task_and_builds_no_template():
    from tie_gym.envs.forecast import ForecastEnv

    kwargs = {"k": 5, "reward": "ndcg", "campaign": "generative", "order": "random"}
    vector = gym.make_vec(
        "TIE-Forecast-v0", num_envs=3, vectorization_mode="vector_entry_point", **kwargs
    ).unwrapped
    single = gym.make("TIE-Forecast-v0", **kwargs).unwrapped
    assert vector.task == single.task and vector.single_action_space == single.action_space
    assert not any(isinstance(value, ForecastEnv) for value in vars(vector).values())


@pytest.mark.parametrize(
    "guesses", [["a", "b"], [0.5, 1.0], [0, 10_000], [[0], [1]], [np.nan, 0.0]]
)
def test_bad_vector_guesses_are_one_clear_error(guesses):
    env = gym.make_vec("TIE-ForecastGuess-v0", num_envs=2, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"guesses must"):
        env.step(np.array(guesses))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"initial": 2.5}, "initial"), ({"k": 2.5}, "k must"), ({"max_length": "5"}, "max_length")],
)
def test_non_integer_lengths_are_refused_by_both_envs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("TIE-Forecast-v0", **kwargs)
    with pytest.raises(ValueError, match=message):
        _make(3, **kwargs)


def _defend_vec(num_envs, **kwargs):
    return gym.make_vec(
        "TIE-Defend-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


def test_defend_vector_matches_the_single_env_on_the_same_campaigns():
    """Each vector row, replayed as a given campaign in the single env with the same actions,
    earns the same rewards and observations (static adversary)."""
    vec = _defend_vec(6)
    u = vec.unwrapped
    obs, _ = vec.reset(seed=11)
    rng = np.random.default_rng(0)
    campaigns = [u._sequences[i, : u._lengths[i]].copy() for i in range(6)]
    trace = {i: {"obs": [obs[i]], "rewards": [], "actions": []} for i in range(6)}
    done = np.zeros(6, dtype=bool)
    for _ in range(40):
        masks = u.action_masks()
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        for i in np.flatnonzero(~done):
            trace[i]["actions"].append(actions[i])
            trace[i]["rewards"].append(rewards[i])
            trace[i]["obs"].append(obs[i])
        done |= terminated | truncated
        if done.all():
            break
    single = gym.make("TIE-Defend-v0")
    ids = single.unwrapped.adversary.vocabulary
    for i in range(6):
        got, _ = single.reset(options={"campaign": [ids[c] for c in campaigns[i]]})
        np.testing.assert_array_equal(got, trace[i]["obs"][0])
        for action, reward, expected in zip(
            trace[i]["actions"], trace[i]["rewards"], trace[i]["obs"][1:], strict=True
        ):
            got, r, te, tr, _ = single.step(int(action))
            assert r == pytest.approx(reward)
            np.testing.assert_array_equal(got, expected)
        assert te or tr


def _detect_upcoming(vec, steps=30):
    u = vec.unwrapped
    vec.reset(seed=2)
    catches = 0
    for _ in range(steps):
        upcoming = np.maximum(u._sequences[u._rows, np.minimum(u._cursor, u.n_techniques - 1)], 0)
        legal = u.action_masks()[u._rows, upcoming]
        _, _, _, _, info = vec.step(np.where(legal, upcoming, u.n_techniques))
        catches += int(info["caught"].sum())
        assert u.action_masks()[:, -1].all()  # waiting is always legal
        for row in u._rows:  # a substitute never repeats a technique of the campaign
            campaign = u._sequences[row, : u._lengths[row]]
            assert len(set(campaign.tolist())) == len(campaign)
    return catches


def test_defend_vector_evasion_dodges_detections():
    static = _detect_upcoming(_defend_vec(8))
    evasive = _detect_upcoming(_defend_vec(8, adversary="evasive", evasion=1.0))
    assert evasive < static / 2


def test_defend_vector_rejects_bad_actions():
    vec = _defend_vec(2)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        vec.step(np.array([0, vec.unwrapped.n_techniques + 1]))


def test_defend_vector_truncates_like_the_time_limit_and_reports_the_ended_step():
    from gymnasium.vector import AutoresetMode

    vec = _defend_vec(16, max_episode_steps=3, autoreset_mode=AutoresetMode.SAME_STEP)
    u = vec.unwrapped
    vec.reset(seed=5)
    wait = np.full(16, u.n_techniques)
    for _ in range(2):
        _, _, terminated, truncated, _ = vec.step(wait)
        assert not truncated.any()
    alive = u._steps == 2  # not restarted by a campaign that ended early
    upcoming = u._sequences[u._rows, u._cursor]
    _, _, terminated, truncated, info = vec.step(np.where(alive, upcoming, u.n_techniques))
    # caught at the step limit: terminated and truncated, as TimeLimit says of the single env
    assert alive.any() and (terminated[alive] & truncated[alive]).all()
    # an ended env reports its ended episode's budget (one detection spent), not the refill
    assert (info["budget_left"][alive] == 4).all() and (u._remaining[alive] == 5).all()
