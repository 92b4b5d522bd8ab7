"""The real-order benchmark's leakage guard for ATT&CK's procedure examples."""

import warnings

from benchmarks.real_order import without_flow_procedures
from recommenders.attack import load_catalog
from recommenders.data import default_attack_path, normalised_url
from recommenders.flows import load_flows
from recommenders.jsonio import read_json
from recommenders.procedures import load_procedures


def test_no_procedure_example_tells_a_flows_incident(real_data_dir, tmp_path):
    catalog = load_catalog(default_attack_path(real_data_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the real flows' loops and unknown IDs are reported
        flows = list(load_flows(real_data_dir / "attack-flow", catalog).flows)
    out, removed = without_flow_procedures(real_data_dir, tmp_path / "data", flows)
    cited = {normalised_url(u) for flow in flows for u in flow.references} - {""}
    bundle = default_attack_path(out)
    for o in read_json(bundle)["objects"]:
        if o.get("relationship_type") == "uses":
            urls = {normalised_url(r.get("url") or "") for r in o.get("external_references", [])}
            assert not urls & cited, o["id"]
    techniques: dict[str, set[str]] = {}
    for use in load_procedures(bundle, load_catalog(bundle)):
        techniques.setdefault(use.source, set()).add(use.technique)
    for flow in flows:
        own = set(flow.techniques)
        for found in techniques.values():
            assert len(own & found) < 0.5 * len(own | found)
    everything = len(load_procedures(default_attack_path(real_data_dir), catalog))
    kept = sum(len(found) for found in techniques.values())
    assert removed > 0 and kept < everything
    assert (out / "tie").resolve() == (real_data_dir / "tie").resolve()
