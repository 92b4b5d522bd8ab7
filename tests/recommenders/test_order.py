import numpy as np
import pytest

from recommenders.attack import load_catalog
from recommenders.flows import read_flow
from recommenders.order import (
    OrderEvidence,
    OrderStatistics,
    enabling_pairs,
    narrative_pairs,
    order_agreement,
)

VOCAB = ["T1001", "T1003", "T1003.001", "T1004", "T1007", "T1009"]
TACTIC_ORDER = ("initial-access", "execution", "discovery", "exfiltration")
TACTICS = [
    ("initial-access",),
    ("execution",),
    ("execution",),
    ("execution", "discovery"),
    ("discovery",),
    ("exfiltration",),
]


@pytest.fixture
def evidence():
    return OrderEvidence.fit([(0, 1), (1, 2), (1, 2), (4, 5)], TACTICS, TACTIC_ORDER)


def test_enabling_pairs_are_the_flow_edges(data_dir):
    catalog = load_catalog(data_dir / "attack" / "enterprise-attack-15.0.json")
    flow = read_flow(data_dir / "attack-flow" / "Alpha Intrusion.afb", catalog)
    pairs = enabling_pairs([flow], VOCAB)
    # through the tactic-only and the dropped actions; T1009's column is the last one
    assert sorted(pairs) == [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 5)]
    assert enabling_pairs([flow], VOCAB[:2]) == [(0, 1)]  # pairs outside the vocabulary go


def test_narrative_pairs_use_first_mentions_in_order():
    document = ["T1003", "T1001", "T1003", "T9999", "T1007"]
    assert narrative_pairs([document], VOCAB) == [(1, 0), (0, 4)]


def test_counts_and_tactic_transitions(evidence):
    assert evidence.successors[1, 2] == 2 and evidence.successors.sum() == 4
    assert np.allclose(evidence.tactic_transitions.sum(axis=1), 1.0)
    execution = TACTIC_ORDER.index("execution")
    # execution → execution (twice) outweighs execution → anything else
    assert evidence.tactic_transitions[execution].argmax() == execution
    assert list(evidence.first_tactic) == [0, 1, 1, 1, 2, 3]
    seen = np.zeros(len(VOCAB), dtype=bool)
    seen[[0, 1]] = True
    succession, tactic, back = evidence.terms(seen, last=1)
    assert succession[2] == pytest.approx(np.log(3.0)) and succession[5] == 0.0
    assert back[0] == -1.0 and back[4] == 0.0  # T1001 (initial access) is a step back
    assert tactic[2] > tactic[0]  # after execution, execution is likelier than initial access


def test_order_statistics_see_direction_not_content(evidence):
    forward = [[0, 1, 4, 5]]
    backward = [[5, 4, 1, 0]]
    assert list(OrderStatistics.of(forward, evidence).directions) == [0.0, 0.0, 1.0]
    assert list(OrderStatistics.of(backward, evidence).directions) == [1.0, 0.0, 0.0]
    reference = OrderStatistics.of(forward, evidence)
    assert reference.distance(reference) == (0.0, 0.0)
    direction, position = OrderStatistics.of(backward, evidence).distance(reference)
    assert direction == 1.0 and position > 0.5


def test_order_agreement_counts_pairs_the_flow_orders(data_dir):
    catalog = load_catalog(data_dir / "attack" / "enterprise-attack-15.0.json")
    flow = read_flow(data_dir / "attack-flow" / "Alpha Intrusion.afb", catalog)
    # T1003.001 and T1004 are unordered in the flow: their pair does not count either way
    assert order_agreement(flow, ["T1001", "T1004", "T1003.001", "T1009"]) == (5, 5)
    assert order_agreement(flow, ["T1009", "T1001"]) == (0, 1)
    assert order_agreement(flow, ["T9999"]) == (0, 0)


def test_position_order_learns_where_techniques_come(evidence):
    from recommenders.order import PositionOrder

    narratives = [[0, 1, 4, 5], [0, 2, 5], [1, 4, 5]] * 5  # 0 early, 5 last, 3 never mentioned
    order = PositionOrder.fit(narratives, evidence, spreads=(0.01, 0.5))
    assert order.positions[0] < order.positions[4] < order.positions[5]
    # T1004 (execution + discovery) takes its tactics' positions: between T1003's and T1007's
    assert order.positions[1] < order.positions[3] < order.positions[4]
    assert order.spread == 0.01  # the narratives never step back: the sharper order wins
    rng = np.random.default_rng(0)
    assert list(order.arrange(rng, np.array([5, 4, 1, 0]))) == [0, 1, 4, 5]
    assert list(order.arrange(rng, np.array([5, 4, 1, 0]), keep_first=1)) == [5, 0, 1, 4]
    with pytest.raises(ValueError, match="at least two"):
        PositionOrder.fit([[1]], evidence)
