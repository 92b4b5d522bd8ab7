"""Shared fixtures: a tiny STIX bundle and TIE corpus built in-test, and the real data when present."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch

torch.set_num_threads(1)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TIE_NUM_THREADS", "1")

TACTICS = ["initial-access", "execution", "persistence", "discovery", "exfiltration"]


def _technique(
    tid: str, name: str, tactics: list[str], revoked: bool = False, deprecated: bool = False
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "attack-pattern",
        "id": f"attack-pattern--{tid}",
        "name": name,
        "description": f"{name} description.",
        "x_mitre_domains": ["enterprise-attack"],
        "external_references": [{"source_name": "mitre-attack", "external_id": tid}],
        "kill_chain_phases": [
            {"kill_chain_name": "mitre-attack", "phase_name": t} for t in tactics
        ],
    }
    if revoked:
        obj["revoked"] = True
    if deprecated:
        obj["x_mitre_deprecated"] = True
    return obj


def make_bundle() -> dict[str, Any]:
    """Twelve active techniques over five tactics, plus one revoked and one deprecated."""
    tactics = [
        {
            "type": "x-mitre-tactic",
            "id": f"x-mitre-tactic--{i}",
            "name": t.title(),
            "x_mitre_shortname": t,
            "external_references": [{"source_name": "mitre-attack", "external_id": f"TA{i:04d}"}],
        }
        for i, t in enumerate(TACTICS)
    ]
    matrix = {
        "type": "x-mitre-matrix",
        "id": "x-mitre-matrix--1",
        "name": "Enterprise ATT&CK",
        "tactic_refs": [t["id"] for t in tactics],
    }
    techniques = [
        _technique("T1001", "Phish", ["initial-access"]),
        _technique("T1002", "Exploit", ["initial-access"]),
        _technique("T1003", "Shell", ["execution"]),
        _technique("T1003.001", "PowerShell", ["execution"]),
        _technique("T1004", "Script", ["execution"]),
        _technique("T1005", "Run Key", ["persistence", "execution"]),
        _technique("T1006", "Service", ["persistence"]),
        _technique("T1007", "Scan", ["discovery"]),
        _technique("T1008", "Enumerate", ["discovery"]),
        _technique("T1009", "Exfil C2", ["exfiltration"]),
        _technique("T1010", "Exfil Web", ["exfiltration"]),
        _technique("T1011", "Cloud Exfil", ["exfiltration"]),
        _technique("T1098", "Old Thing", ["execution"], revoked=True),
        _technique("T1099", "Stale Thing", ["discovery"], deprecated=True),
    ]
    revoked_rel = {
        "type": "relationship",
        "id": "relationship--r",
        "relationship_type": "revoked-by",
        "source_ref": "attack-pattern--T1098",
        "target_ref": "attack-pattern--T1004",
    }
    return {
        "type": "bundle",
        "id": "bundle--test",
        "spec_version": "2.0",
        "objects": [*tactics, matrix, *techniques, revoked_rel],
    }


GROUP_A = ["T1001", "T1003", "T1003.001", "T1005", "T1007", "T1009"]
GROUP_B = ["T1002", "T1004", "T1006", "T1008", "T1010", "T1011"]


def make_corpus(n_reports: int = 60, seed: int = 0, dirty: bool = False) -> dict[str, Any]:
    """Reports drawn from two disjoint technique groups: a known answer for every recommender."""
    rng = np.random.default_rng(seed)
    reports = []
    for i in range(n_reports):
        group = GROUP_A if i % 2 == 0 else GROUP_B
        chosen = rng.choice(group, size=int(rng.integers(3, len(group) + 1)), replace=False)
        techniques = {str(t): int(rng.integers(1, 4)) for t in chosen}
        reports.append(
            {
                "id": i,
                "mitre_techniques": techniques,
                "references": [],
                "origin_of_data": "OpenCTI" if i % 3 else "TRAM",
            }
        )
    if dirty:
        reports[0]["mitre_techniques"].update(
            {"T1098": 1, "T1099": 2, "AML.T0001": 1, "T1999": 1, "": 1}
        )
        reports.append({"id": 999, "mitre_techniques": {"T1099": 1}, "origin_of_data": "VECTR"})
    return {"name": "fixture", "reports": reports}


def make_afb(
    name: str, nodes: list[tuple[str, str, str | None, str | None]], edges: list[tuple[str, str]]
) -> dict[str, Any]:
    """An Attack Flow Builder file: `nodes` are (key, kind, technique_id, tactic_id), each edge a
    line from a latch on the source's anchor to a latch on the target's, as the Builder draws."""
    objects: list[dict[str, Any]] = []
    latches: dict[str, list[str]] = {}
    for key, kind, technique, tactic in nodes:
        props: list[list[Any]] = [["name", f"{kind} {key}"], ["description", "drawn in a test"]]
        if kind == "action":
            props += [["tactic_id", tactic], ["technique_id", technique], ["confidence", None]]
        objects.append(
            {
                "id": kind,
                "instance": key,
                "properties": props,
                "anchors": {"0": f"{key}-out", "180": f"{key}-in"},
            }
        )
        latches[f"{key}-out"], latches[f"{key}-in"] = [], []
    for n, (source, target) in enumerate(edges):
        latches[f"{source}-out"].append(f"latch-s{n}")
        latches[f"{target}-in"].append(f"latch-t{n}")
        objects += [
            {"id": "generic_latch", "instance": f"latch-s{n}"},
            {"id": "generic_latch", "instance": f"latch-t{n}"},
            {
                "id": "dynamic_line",
                "instance": f"line{n}",
                "source": f"latch-s{n}",
                "target": f"latch-t{n}",
                "handles": [],
            },
        ]
    for anchor, held in latches.items():
        objects.append({"id": "horizontal_anchor", "instance": anchor, "latches": held})
    flow = {
        "id": "flow",
        "instance": f"flow-{name}",
        "properties": [["name", name]],
        "objects": [o["instance"] for o in objects],
    }
    return {"schema": "attack_flow_v2", "theme": "dark_theme", "objects": [flow, *objects]}


ALPHA = (
    "Alpha Intrusion",
    [
        ("a1", "action", "T1001", "TA0000"),
        ("c1", "condition", None, None),
        ("a2", "action", "t1003 ", "TA0001"),  # case and spaces as people type them
        ("a3", "action", "T1003.001", "TA0001"),
        ("a4", "action", "T1098", "TA0001"),  # revoked by T1004
        ("op", "AND_operator", None, None),
        ("a5", "action", None, "TA0002"),  # tactic only
        ("a6", "action", "T1007", "TA0003"),
        ("a7", "action", "T1099", "TA0003"),  # deprecated: dropped, passed through
        ("asset", "asset", None, None),
        ("a8", "action", "T1009", "TA0004"),
    ],
    [
        ("a1", "c1"),
        ("c1", "a2"),
        ("a2", "a3"),
        ("a2", "a4"),
        ("a3", "op"),
        ("a4", "op"),
        ("op", "a5"),
        ("a5", "a6"),
        ("a6", "a7"),
        ("a7", "asset"),
        ("asset", "a8"),
    ],
)
"""T1001 → T1003 → {T1003.001, T1004} → (tactic only) → T1007 → (dropped) → T1009."""


def make_stix_flow(name: str, chain: list[str], loop: tuple[int, int] | None = None) -> dict:
    """An Attack Flow STIX bundle: actions in a chain through a condition, optionally a loop."""
    ids = [f"attack-action--{i}" for i in range(len(chain))]
    objects: list[dict[str, Any]] = [
        {"type": "attack-flow", "id": "attack-flow--1", "name": name, "start_refs": ids[:1]}
    ]
    for i, technique in enumerate(chain):
        nexts = [ids[i + 1]] if i + 1 < len(chain) else []
        if loop and i == loop[0]:
            nexts.append(ids[loop[1]])
        if i == 0:  # through a condition's on_true_refs
            objects.append(
                {"type": "attack-condition", "id": "attack-condition--1", "on_true_refs": nexts}
            )
            nexts = ["attack-condition--1"]
        objects.append(
            {
                "type": "attack-action",
                "id": ids[i],
                "name": f"step {i}",
                "technique_id": technique,
                "effect_refs": nexts,
            }
        )
    return {"type": "bundle", "id": "bundle--flow", "objects": objects}


def write_data_dir(root: Path) -> Path:
    """A data folder laid out like the real one, with tiny files."""
    (root / "tie").mkdir()
    (root / "attack").mkdir()
    (root / "attack-flow").mkdir()
    (root / "attack" / "enterprise-attack-15.0.json").write_text(json.dumps(make_bundle()))
    (root / "tie" / "combined_dataset_full_frequency.json").write_text(json.dumps(make_corpus()))
    flows = root / "attack-flow"
    (flows / "Alpha Intrusion.afb").write_text(json.dumps(make_afb(*ALPHA)))
    beta = ["T1002", "T1004", "T1006", "T1008", "T1010"]
    (flows / "beta.json").write_text(json.dumps(make_stix_flow("Beta Case 1", beta, (3, 1))))
    gamma = ["T1002", "T1006", "T1010", "T1011"]
    (flows / "beta2.json").write_text(json.dumps(make_stix_flow("Beta Case 2", gamma)))
    return root


def make_block_matrix() -> sp.csr_matrix:
    """120 reports × 12 techniques; even rows use columns 0–5, odd rows 6–11."""
    rng = np.random.default_rng(1)
    rows, cols = [], []
    for i in range(120):
        base = 0 if i % 2 == 0 else 6
        for j in rng.choice(6, size=int(rng.integers(3, 7)), replace=False):
            rows.append(i)
            cols.append(base + j)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(120, 12))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_data_dir(tmp_path)


@pytest.fixture
def block_matrix() -> sp.csr_matrix:
    return make_block_matrix()


def require_real_data() -> Path:
    """The real data (TIE_DATA_DIR); the calling test skips when it is not set."""
    value = os.environ.get("TIE_DATA_DIR")
    if not value or not (Path(value) / "tie").is_dir():
        pytest.skip("TIE_DATA_DIR not set to the real data folder")
    return Path(value).resolve()  # the Makefile's default is relative: links made from it break


@pytest.fixture
def real_data_dir() -> Path:
    """The real data (TIE_DATA_DIR); tests that need it skip when it is not set."""
    return require_real_data()


@pytest.fixture(scope="session")
def text_model(tmp_path_factory):
    """A tiny text mapper that knows two techniques (T1003.001 mimikatz/lsass, T1053.005
    schtasks) and one kind of noise."""
    from recommenders.text.corpus import Sentence
    from recommenders.text.mapper import TextMapper

    rng = np.random.default_rng(0)
    words = {
        "T1003.001": ["mimikatz", "lsass"],
        "T1053.005": ["schtasks", "scheduled"],
        None: ["lunch", "weather"],
    }
    sentences = []
    for i in range(300):
        technique = list(words)[i % 3]
        text = " ".join([*rng.choice(["the", "actor", "then", "host"], 4), *words[technique]])
        sentences.append(Sentence(text, (technique,) if technique else ()))
    path = tmp_path_factory.mktemp("text") / "model"
    TextMapper(threshold=0.5).fit(sentences).save(path)
    return path


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray with 2 CPUs, started once for the tests that need one."""
    ray = pytest.importorskip("ray", reason="Ray is the [scale] extra (make setup installs it)")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
