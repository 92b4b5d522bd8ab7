import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from agents.baselines import GreedyAgent
from agents.evaluate import build_agents, run_episodes
from agents.sequence import SequenceAgent
from recommenders.order import OrderEvidence


def _evidence(adversary, pairs=()):
    return OrderEvidence.fit(list(pairs), adversary.tactics, adversary.tactic_order)


def test_zero_weights_are_greedy():
    env = gym.make("TIE-Forecast-v0")
    adversary = env.unwrapped.adversary
    greedy = run_episodes(env, GreedyAgent(adversary.model), 20, seed=0)
    plain = SequenceAgent(adversary.model, _evidence(adversary), weights=(0.0, 0.0, 0.0))
    assert run_episodes(env, plain, 20, seed=0)["hit@k"] == greedy["hit@k"]


def test_successor_evidence_moves_the_forecast():
    env = gym.make("TIE-ForecastGuess-v0").unwrapped
    adversary = env.adversary
    obs, info = env.reset(seed=0, options={"campaign": ["T1566.001", "T1059.001", "T1105"]})
    index = {t: i for i, t in enumerate(adversary.vocabulary)}
    greedy_guess = GreedyAgent(adversary.model, "guess").act(obs, info)
    rare = index["T1105"] if greedy_guess != index["T1105"] else index["T1059.001"]
    pairs = [(index["T1566.001"], rare)] * 50  # "T1566.001 enabled it" fifty times over
    agent = SequenceAgent(adversary.model, _evidence(adversary, pairs), (5.0, 0.0, 0.0), "guess")
    assert agent.act(obs, info) == rare != greedy_guess


def test_evidence_over_another_vocabulary_is_refused():
    adversary = gym.make("TIE-Forecast-v0").unwrapped.adversary
    other = OrderEvidence.fit([], [("execution",)] * 3, adversary.tactic_order)
    with pytest.raises(ValueError, match="vocabulary"):
        SequenceAgent(adversary.model, other)


def test_evaluate_builds_it_from_the_data_folder(real_data_dir):
    env = gym.make("TIE-ForecastFlow-v0", data_dir=str(real_data_dir))
    (agent,) = build_agents(["sequence"], env, seed=0)["sequence"]
    assert agent.evidence.successors.sum() > 500  # TRAM's narratives and the flows' edges
    assert np.isfinite(run_episodes(env, agent, 5, seed=0)["hit@k"]).all()


def test_order_evidence_for_a_flow_split_learns_from_the_train_incidents_only(real_data_dir):
    import gymnasium as gym

    from agents.sequence import fit_order_evidence
    from recommenders.flows import flow_split
    from recommenders.order import enabling_pairs

    adversary = gym.make("TIE-DefendFlow-v0", data_dir=str(real_data_dir)).unwrapped.adversary
    every = fit_order_evidence(adversary)
    held = fit_order_evidence(adversary, "test")
    assert fit_order_evidence(adversary, "train").successors.sum() == held.successors.sum()
    test_flows = [f for f in adversary.flows().flows if flow_split(f.name) == "test"]
    test_only = set(enabling_pairs(test_flows, adversary.vocabulary)) - set(
        enabling_pairs(adversary.flows(split="train").flows, adversary.vocabulary)
    )
    assert test_only  # some order only a held-out incident shows
    for a, b in test_only:
        assert held.successors[a, b] < every.successors[a, b]
