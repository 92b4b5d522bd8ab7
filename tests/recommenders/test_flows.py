import json
from itertools import pairwise

import numpy as np
import pytest

from recommenders.attack import load_catalog
from recommenders.data import default_attack_path
from recommenders.errors import DataError
from recommenders.flows import FlowWarning, incident, load_flows, read_flow
from tests.conftest import ALPHA, make_afb, make_stix_flow


@pytest.fixture
def catalog(data_dir):
    return load_catalog(data_dir / "attack" / "enterprise-attack-15.0.json")


def _alpha(data_dir, catalog):
    return read_flow(data_dir / "attack-flow" / "Alpha Intrusion.afb", catalog)


def test_afb_reader_follows_lines_and_passes_through_non_actions(data_dir, catalog):
    flow = _alpha(data_dir, catalog)
    assert flow.name == "Alpha Intrusion"
    by_key = {a.key: i for i, a in enumerate(flow.actions)}
    edges = {
        (flow.actions[a].key, flow.actions[b].key)
        for a, nexts in enumerate(flow.successors)
        for b in nexts
    }
    # the condition, the AND operator and the asset are passed through; actions stay
    assert edges == {
        ("a1", "a2"), ("a2", "a3"), ("a2", "a4"), ("a3", "a5"), ("a4", "a5"), ("a5", "a6"),
        ("a6", "a7"), ("a7", "a8"),
    }  # fmt: skip
    assert flow.actions[by_key["a2"]].technique == "T1003"  # stripped, upper-cased
    assert flow.actions[by_key["a4"]].technique == "T1004" and flow.mapped == {"T1098": "T1004"}
    assert (
        flow.actions[by_key["a5"]].tactic == "TA0002"
        and flow.actions[by_key["a5"]].technique is None
    )
    assert set(flow.dropped) == {"T1099"} and "deprecated" in flow.dropped["T1099"]
    assert flow.techniques == ["T1001", "T1003", "T1003.001", "T1004", "T1007", "T1009"]


def test_technique_dag_frontier_and_orders(data_dir, catalog):
    flow = _alpha(data_dir, catalog)
    assert flow.frontier([]) == ["T1001"]
    assert flow.frontier(["T1001", "T1003"]) == ["T1003.001", "T1004"]
    # the tactic-only action is passed through: T1007 waits for both of its enablers
    assert flow.frontier(["T1001", "T1003", "T1004"]) == ["T1003.001"]
    assert flow.frontier(["T1001", "T1003", "T1004", "T1003.001"]) == ["T1007"]
    # …and so is the dropped deprecated one
    assert flow.frontier(["T1001", "T1003", "T1004", "T1003.001", "T1007"]) == ["T1009"]
    orders = {tuple(flow.campaign(np.random.default_rng(seed))) for seed in range(40)}
    assert orders == {
        ("T1001", "T1003", "T1003.001", "T1004", "T1007", "T1009"),
        ("T1001", "T1003", "T1004", "T1003.001", "T1007", "T1009"),
    }
    assert flow.campaign() == flow.techniques  # no rng: earliest drawn first
    for order in orders:  # every revealed technique was on the frontier of its prefix
        assert all(order[t] in flow.frontier(order[:t]) for t in range(len(order)))


def test_stix_bundle_with_a_loop(data_dir, catalog):
    with pytest.warns(FlowWarning, match=r"beta.json: 1 edge.*loop back.*attack-action--3"):
        flow = read_flow(data_dir / "attack-flow" / "beta.json", catalog)
    assert flow.name == "Beta Case 1" and len(flow.loops) == 1
    assert flow.campaign(np.random.default_rng(0)) == ["T1002", "T1004", "T1006", "T1008", "T1010"]
    assert flow.frontier(["T1002"]) == ["T1004"]  # the loop back does not block T1004


def test_a_non_string_technique_id_is_a_warning_naming_file_and_action(tmp_path, catalog):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(make_stix_flow("Odd", ["T1001", 1059, "T1004"])))
    with pytest.warns(
        FlowWarning, match=r"odd.json: action 'attack-action--1'.*1059.*not a string"
    ):
        flow = read_flow(path, catalog)
    assert flow.techniques == ["T1001", "T1004"]


def test_load_flows_sorts_groups_and_reports(data_dir, catalog):
    found = load_flows(data_dir / "attack-flow", catalog)
    assert [f.source for f in found.flows] == ["Alpha Intrusion.afb", "beta.json", "beta2.json"]
    assert incident("Beta Case 1") == incident("beta case 2") != incident("Alpha Intrusion")
    assert incident("CISA AA22-138B VMWare Workspace (TA1)") == incident(
        "CISA AA22-138B  VMWare Workspace (Alt)"
    )
    assert "1 IDs dropped (T1099)" in found.describe()
    assert found.named("beta").name == "Beta Case 1"
    with pytest.raises(ValueError, match="no flow named"):
        found.named("gamma")


@pytest.mark.parametrize(
    "payload, match",
    [
        ({"schema": "attack_flow_v2", "objects": {}}, "objects"),
        ({"schema": "attack_flow_v2", "objects": [{"instance": "x"}]}, r"objects\[0\]"),
        ({"type": "bundle", "objects": [{"id": "a", "effect_refs": "b"}]}, "a.effect_refs"),
        ({"name": "not a flow"}, "schema"),
        (
            {
                "schema": "attack_flow_v2",
                "objects": [{"id": "action", "instance": "a", "anchors": {"0": {}}}],
            },
            "a.anchors",
        ),
        (
            {
                "schema": "attack_flow_v2",
                "objects": [{"id": "horizontal_anchor", "instance": "h", "latches": 3}],
            },
            "h.latches",
        ),
        (
            {"schema": "attack_flow_v2", "objects": [{"id": "note", "instance": "x"}] * 2},
            "used twice",
        ),
        ({"type": "bundle", "objects": [{"id": "a", "type": "attack-action"}] * 2}, "used twice"),
    ],
)
def test_malformed_files_name_the_file_and_object(tmp_path, catalog, payload, match):
    path = tmp_path / "bad.afb"
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError, match=match) as info:
        read_flow(path, catalog)
    assert "bad.afb" in str(info.value) and "Fix:" in str(info.value)


def test_malformed_properties(tmp_path, catalog):
    payload = make_afb(*ALPHA)
    payload["objects"][1]["properties"] = "T1001"  # the first action
    path = tmp_path / "bad.afb"
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError, match="properties"):
        read_flow(path, catalog)


def test_every_real_flow(real_data_dir):
    catalog = load_catalog(default_attack_path(real_data_dir))
    found = load_flows(real_data_dir / "attack-flow", catalog)
    assert len(found.flows) + len(found.empty) == 27 and len(found.flows) >= 20
    groups = {incident(f.name) for f in found.flows}
    assert len(groups) == len(found.flows) - 3  # three CISA AA22-138B drawings, two FIN13 cases
    rng = np.random.default_rng(0)
    for flow in found.flows:
        order = flow.campaign(rng)
        assert sorted(order) == sorted(flow.techniques)  # every technique, once
        assert all(catalog.status(t) == "active" for t in order)
        assert all(order[t] in flow.frontier(order[:t]) for t in range(len(order)))
        position = {a: i for i, a in enumerate(flow.topological_order(rng))}
        assert all(
            position[a] < position[b]
            for a, nexts in flow.technique_successors.items()
            for b in nexts
        )
    assert all(a != b for a, b in pairwise(sorted(f.name for f in found.flows)))


def test_odd_ids_are_reported_and_self_loops_recorded(tmp_path, catalog):
    bundle = {
        "type": "bundle",
        "objects": [
            {"type": "attack-action", "id": "a", "technique_id": 1059, "effect_refs": ["b"]},
            {"type": "attack-action", "id": "b", "technique_id": "T1003", "effect_refs": ["c"]},
            {"type": "attack-condition", "id": "c", "on_true_refs": ["b"]},  # b enables itself
        ],
    }
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(bundle))
    flow = read_flow(path, catalog)
    assert flow.dropped == {"1059": "not a technique ID string (int)"}  # not silently lost
    assert flow.loops == (("b", "b"),) and flow.successors[1] == ()
