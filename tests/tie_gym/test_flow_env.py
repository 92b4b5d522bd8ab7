"""Real order: Attack Flow replay, and ordered campaigns given at reset."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tie_gym
from tie_gym.adversary import CampaignConfig


def _episode(env, seed, policy=None, **reset):
    _, info = env.reset(seed=seed, **reset)
    u = env.unwrapped
    steps, done = [], False
    while not done:
        action = policy(u) if policy else np.zeros(u.n_techniques, np.float32)
        _obs, _reward, terminated, truncated, step_info = env.step(action)
        steps.append(step_info)
        done = terminated or truncated
    return info, steps


def test_fixture_flows_replay_in_an_order_the_flow_allows(data_dir):
    env = gym.make("TIE-ForecastFlow-v0", data_dir=str(data_dir))
    seen_orders = set()
    for seed in range(30):
        info, steps = _episode(env, seed)
        order = tuple(env.unwrapped.vocabulary[c] for c in env.unwrapped._campaign.techniques)
        seen_orders.add((info["campaign"], order))
        # the revealed technique is always one the flow allows next
        assert all(s["revealed"] in s["frontier"] for s in steps)
    alpha = {order for name, order in seen_orders if name == "Alpha Intrusion"}
    # T1004 and T1009 are not in the shipped model's vocabulary: left out of the campaign, but
    # done for the frontier (T1007 is reachable although its enabler T1004 cannot be shown)
    assert alpha == {("T1001", "T1003", "T1003.001", "T1007")}
    assert {name for name, _ in seen_orders} == {"Alpha Intrusion", "Beta Case 1", "Beta Case 2"}


def test_flow_episodes_repeat_with_the_seed(data_dir):
    env = gym.make("TIE-ForecastFlow-v0", data_dir=str(data_dir))
    first = [s["revealed"] for s in _episode(env, 3)[1]]
    assert [s["revealed"] for s in _episode(env, 3)[1]] == first


def test_frontier_hit_is_the_variant_score(data_dir):
    """A forecast of a technique the flow allows next, but not the one revealed, scores only
    in the frontier variant."""
    env = gym.make("TIE-ForecastFlowGuess-v0", data_dir=str(data_dir))
    u = env.unwrapped
    for seed in range(40):
        env.reset(seed=seed)
        if u._campaign.source == "Alpha Intrusion":
            break
    index = {t: i for i, t in enumerate(u.vocabulary)}
    env.step(index["T1003"])  # T1001 shown; T1003 is the only next
    _, reward, _, _, info = env.step(index["T1007"])  # T1003.001 comes next; T1007 is not ready
    assert reward == 0 and not info["frontier_hit"] and info["frontier"] == ["T1003.001"]


def test_imposed_orders_on_flows_have_no_frontier(data_dir):
    env = gym.make("TIE-ForecastFlow-v0", data_dir=str(data_dir), order="killchain")
    assert all("frontier" not in s for s in _episode(env, 0)[1])
    with pytest.raises(ValueError, match="order"):
        CampaignConfig("flow", "model")
    with pytest.raises(ValueError, match="order"):
        CampaignConfig("replay", "flow")


def test_flow_replay_needs_a_folder(tmp_path):
    env = gym.make("TIE-ForecastFlow-v0", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="attack-flow"):
        env.reset(seed=0)


def test_flows_given_without_a_data_folder_name_the_missing_bundle(data_dir, monkeypatch):
    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    env = gym.make("TIE-ForecastFlow-v0", flows=str(data_dir / "attack-flow"))
    with pytest.raises(
        ValueError, match=r"ATT&CK bundle.*enterprise-attack.*Fix: set TIE_DATA_DIR"
    ) as caught:
        env.reset(seed=0)
    assert "pass flows=" not in str(caught.value)  # it was passed


def test_flow_env_passes_the_checkers(real_data_dir):
    check_env(gym.make("TIE-ForecastFlow-v0", data_dir=str(real_data_dir)).unwrapped)
    check_env(gym.make("TIE-DefendFlow-v0", data_dir=str(real_data_dir)).unwrapped)


def test_every_real_flow_replays(real_data_dir):
    env = gym.make("TIE-ForecastFlow-v0", data_dir=str(real_data_dir))
    replay = env.unwrapped.adversary.flows()
    assert len(replay.flows) >= 20
    rng = np.random.default_rng(0)
    for flow in replay.flows:
        campaign = replay.campaign(flow, rng)
        assert len(campaign.techniques) == len(set(campaign.techniques.tolist())) >= 2
        assert all(c in f for c, f in zip(campaign.techniques, campaign.frontiers, strict=True))


def test_the_flow_split_holds_incidents_out_together_and_the_envs_draw_one_side(real_data_dir):
    from recommenders.flows import flow_split, incident

    everything = gym.make("TIE-ForecastFlow-v0", data_dir=str(real_data_dir))
    flows = everything.unwrapped.adversary.flows().flows
    side = {}
    for flow in flows:  # drawings of one incident (FIN13 Case 1 and 2, …) on one side
        assert side.setdefault(incident(flow.name), flow_split(flow.name)) == flow_split(flow.name)
    test = {f.name for f in flows if flow_split(f.name) == "test"}
    assert 0 < len(test) < len(flows)
    for env_id in ("TIE-ForecastFlow-v0", "TIE-DefendFlow-v0"):
        for split, names in (("test", test), ("train", {f.name for f in flows} - test)):
            env = gym.make(env_id, data_dir=str(real_data_dir), flow_split=split)
            drawn = {env.reset(seed=seed)[1]["campaign"] for seed in range(60)}
            assert drawn <= names and len(drawn) > 1
    with pytest.raises(ValueError, match="flow_split must be one of"):
        gym.make("TIE-ForecastFlow-v0", data_dir=str(real_data_dir), flow_split="held-out")


def test_a_flow_split_side_with_no_flow_is_a_clear_error(data_dir, tmp_path):
    from recommenders.errors import DataError
    from recommenders.flows import flow_split

    assert flow_split("Beta Case 1") == flow_split("Beta Case 2") == "train"
    only_beta = tmp_path / "flows"
    only_beta.mkdir()
    for name in ("beta.json", "beta2.json"):
        (only_beta / name).write_bytes((data_dir / "attack-flow" / name).read_bytes())
    env = gym.make(
        "TIE-ForecastFlow-v0", data_dir=str(data_dir), flows=str(only_beta), flow_split="test"
    )
    with pytest.raises(DataError, match=r"no flow in flow_split='test'.*flow_split=.all."):
        env.reset(seed=0)


GIVEN = ["t1566.001 ", "T1059.001", "T9999", "T1059.001", "T1105", "T1486"]


@pytest.mark.parametrize("env_id", sorted(tie_gym.PRESETS))
def test_every_forecast_id_replays_a_given_campaign(env_id, real_data_dir):
    env = gym.make(env_id, data_dir=str(real_data_dir))
    _obs, info = env.reset(seed=0, options={"campaign": GIVEN})
    u = env.unwrapped
    assert info["campaign"] == "given" and set(info["ignored"]) == {"T9999", "T1059.001"}
    assert u.seen_ids == ["T1566.001"]
    revealed = []
    done = False
    while not done:
        _, _, terminated, truncated, step = env.step(env.action_space.sample())
        revealed.append(step["revealed"])
        done = terminated or truncated
    assert revealed == ["T1059.001", "T1105", "T1486"]  # the order given, not a sort


def test_given_campaign_errors():
    env = gym.make("TIE-Forecast-v0")
    for options, match in [
        ({"campaign": ["T1566.001"]}, "at least two"),
        ({"campaign": "T1566.001"}, "list"),
        ({"campaign": ["T1566.001", "T1059.001"], "observed": ["T1105"]}, "alone"),
        ({"campain": ["T1566.001", "T1059.001"]}, "unknown reset option"),  # misspelt
        ({"campaign": {"T1566.001", "T1059.001"}}, "has no order"),  # a set: order by hash seed
        ({"campaign": {"T1566.001": 1, "T1059.001": 2}}, "has no order"),
    ]:
        with pytest.raises(ValueError, match=match):
            env.reset(seed=0, options=options)


def test_defend_replays_a_given_campaign():
    env = gym.make("TIE-Defend-v0")
    _obs, info = env.reset(seed=0, options={"campaign": ["T1566.001", "T1059.001", "T1105"]})
    u = env.unwrapped
    assert info["campaign"] == "given"
    index = {t: i for i, t in enumerate(u.adversary.vocabulary)}
    _, reward, terminated, _, step = env.step(index["T1059.001"])  # detect what comes next
    assert terminated and step["caught"] and reward > 1
    with pytest.raises(ValueError, match="campaign"):
        env.reset(seed=0, options={"observed": ["T1059.001"]})


def test_vector_env_refuses_reset_options():
    envs = gym.make_vec("TIE-Forecast-v0", num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="no reset options"):
        envs.reset(seed=0, options={"campaign": ["T1566.001", "T1059.001"]})


def test_learned_order_needs_tram_and_keeps_the_campaign(real_data_dir, tmp_path):
    env = gym.make("TIE-Forecast-v0", order="learned", data_dir=str(real_data_dir))
    model = gym.make("TIE-Forecast-v0", data_dir=str(real_data_dir))
    env.reset(seed=4)
    model.reset(seed=4)
    learned, sampled = env.unwrapped._campaign.techniques, model.unwrapped._campaign.techniques
    # the same campaign (same seed, same set, same start), revealed in another order
    assert learned[0] == sampled[0] and sorted(learned) == sorted(sampled)
    bare = gym.make("TIE-Forecast-v0", order="learned", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="tram"):
        bare.reset(seed=0)
