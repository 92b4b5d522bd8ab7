"""Attack Flow incidents → DAGs of technique actions: the one source of *real* attack order.

The TIE corpus holds sets; an Attack Flow drawing says what enabled what. Two formats are read:
the Attack Flow Builder's `.afb` (objects joined action → anchor → latch ← line → latch → anchor →
next object) and Attack Flow STIX 2.1 bundles (`attack-action.effect_refs`, conditions'
`on_true_refs`/`on_false_refs`, operators' `effect_refs`). Conditions, operators, assets and
observables are passed through, so an action's successors are the next *actions*.

IDs are mapped through an ATT&CK catalog: a revoked ID follows its `revoked-by` chain, a deprecated
or unknown one is dropped (its action stays in the graph, tactic only) and reported.

A flow is a partial order, not a sequence: `topological_order` draws one seeded linear extension,
`frontier` says what may come next after a prefix. Both work on the technique actions, passing
through actions without a usable technique.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from recommenders.attack import TECHNIQUE_ID, TechniqueCatalog
from recommenders.data import normalised_url
from recommenders.errors import DataError
from recommenders.jsonio import read_json

log = logging.getLogger(__name__)


class FlowWarning(UserWarning):
    """A flow was read with part of it left out (a loop, a technique_id that is not text): the
    rest is usable, but a script should see what was dropped, so it is a warning, not a log line."""


FLOW_SUFFIXES = (".afb", ".json")
FIX = "export the flow again from the Attack Flow Builder (.afb) or as an Attack Flow STIX bundle"


@dataclass(frozen=True)
class FlowAction:
    """One action of a flow: what the drawing says, and the technique it maps to."""

    key: str
    """The action's object ID in the file (an `.afb` instance or a STIX `attack-action--…` id)."""
    name: str
    technique: str | None
    """The catalog's active ID for the drawn one (revoked IDs followed), or None."""
    tactic: str | None
    """The drawn tactic ID (e.g. TA0002), kept for tactic-only actions too."""
    drawn_technique: str | None = None
    """The ID as drawn, before mapping."""


@dataclass(frozen=True)
class Flow:
    """A flow's actions and the edges between them (index → the actions it enabled)."""

    name: str
    source: str
    actions: tuple[FlowAction, ...]
    successors: tuple[tuple[int, ...], ...]
    mapped: dict[str, str] = field(default_factory=dict)
    """Drawn ID → the ID it was mapped to (revoked IDs followed to their successor)."""
    dropped: dict[str, str] = field(default_factory=dict)
    """Drawn ID → why it has no technique here (deprecated, unknown, malformed)."""
    loops: tuple[tuple[str, str], ...] = ()
    """Edges (action key → earlier action key) dropped because they closed a cycle."""
    references: tuple[str, ...] = ()
    """URLs of the reports the flow was drawn from (its external references)."""

    @cached_property
    def technique_actions(self) -> tuple[int, ...]:
        """Indices of the actions that carry a usable technique, in drawing order."""
        return tuple(i for i, a in enumerate(self.actions) if a.technique is not None)

    @cached_property
    def technique_successors(self) -> dict[int, tuple[int, ...]]:
        """Edges between technique actions, through actions that have none (tactic only or
        dropped): a → (tactic-only) → b becomes a → b."""
        out: dict[int, tuple[int, ...]] = {}
        for start in self.technique_actions:
            found: list[int] = []
            stack, visited = list(self.successors[start]), set()
            while stack:
                node = stack.pop()
                if node in visited:
                    continue
                visited.add(node)
                if self.actions[node].technique is not None:
                    found.append(node)
                else:
                    stack.extend(self.successors[node])
            out[start] = tuple(sorted(set(found)))
        return out

    @cached_property
    def technique_predecessors(self) -> dict[int, tuple[int, ...]]:
        before: dict[int, list[int]] = {i: [] for i in self.technique_actions}
        for node, nexts in self.technique_successors.items():
            for successor in nexts:
                before[successor].append(node)
        return {node: tuple(sorted(set(nodes))) for node, nodes in before.items()}

    @property
    def techniques(self) -> list[str]:
        """Distinct techniques of the flow, in drawing order (a set: see `topological_order`)."""
        return list(dict.fromkeys(self.actions[i].technique for i in self.technique_actions))  # type: ignore[misc]

    def topological_order(self, rng: np.random.Generator | None = None) -> list[int]:
        """Technique actions in an order the flow allows: every action after all that enabled it.

        With `rng`, each step picks uniformly among the ready actions (a seeded draw among the
        flow's orders); without, the earliest-drawn ready action (one fixed order).
        """
        waiting = {node: len(before) for node, before in self.technique_predecessors.items()}
        ready = sorted(node for node, count in waiting.items() if count == 0)
        order: list[int] = []
        while ready:
            pick = int(rng.integers(len(ready))) if rng is not None else 0
            node = ready.pop(pick)
            order.append(node)
            for successor in self.technique_successors[node]:
                waiting[successor] -= 1
                if waiting[successor] == 0:
                    ready.append(successor)
            ready.sort()
        return order

    def campaign(self, rng: np.random.Generator | None = None) -> list[str]:
        """The flow's distinct techniques in one topological order (a technique drawn twice is
        used once, where it first appears)."""
        order = self.topological_order(rng)
        return list(dict.fromkeys(self.actions[i].technique for i in order))  # type: ignore[misc]

    def frontier(self, prefix: Iterable[str]) -> list[str]:
        """Techniques that may come next once `prefix` has been used: those of the actions not
        yet done whose every enabling technique action is done. An action counts as done when
        its technique is in `prefix` (so a technique drawn twice is done at its first use)."""
        done = set(prefix)
        ready = [
            self.actions[node].technique
            for node in self.technique_actions
            if self.actions[node].technique not in done
            and all(self.actions[b].technique in done for b in self.technique_predecessors[node])
        ]
        return list(dict.fromkeys(ready))  # type: ignore[arg-type]


FLOW_SPLITS = ("all", "train", "test")
"""Which flows a flow replay draws (`flow_split`): every one, or one side of the fixed split."""


def flow_split(name: str) -> str:
    """ "test" for about one incident in three, "train" for the rest: a fixed rule on the incident's
    name (`incident`, SHA-256), so an incident's drawings fall on one side together and any folder
    of flows splits the same way on every machine (the 21 incidents here: 9 test, 12 train)."""
    return "test" if hashlib.sha256(incident(name).encode()).digest()[0] % 3 == 0 else "train"


def incident(name: str) -> str:
    """The incident or actor a flow draws, so that its drawings are held out together: the name
    without a parenthesised variant or a trailing case number ("CISA AA22-138B … (TA1)" and
    "(TA2)", "FIN13 Case 1" and "Case 2")."""
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name.strip())
    name = re.sub(r"\s+case\s*\d+$", "", name, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", name).casefold()


# -- reading ---------------------------------------------------------------------------------


@dataclass
class _Graph:
    """Objects of a drawing as nodes, whatever their kind, before passing through non-actions."""

    actions: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    """key → (name, drawn technique ID, drawn tactic ID), in file order."""
    edges: dict[str, list[str]] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)
    """Lines not attached at both ends (they join nothing)."""

    def add_edge(self, source: str, target: str) -> None:
        self.edges.setdefault(source, []).append(target)


def _properties(obj: dict[str, Any], path: Path, key: str) -> dict[str, Any]:
    """An `.afb` object's `properties` list of [name, value] pairs as a dict."""
    pairs = obj.get("properties", [])
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs
    ):
        raise DataError(path, f"{key}.properties", "not a list of [name, value] pairs", FIX)
    return dict(pairs)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _drawn_id(value: Any) -> Any:
    """A drawn technique or tactic ID as given: stripped when text, None when absent or empty,
    anything else kept as is so that `_map_technique` reports it instead of losing it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


def _afb_urls(references: Any) -> list[str]:
    """URLs in an `.afb` flow's external references: [[key, [[field, value], …]], …]."""
    urls = []
    for entry in references if isinstance(references, list) else []:
        fields = entry[1] if isinstance(entry, list) and len(entry) == 2 else []
        for pair in fields if isinstance(fields, list) else []:
            if (
                isinstance(pair, list)
                and len(pair) == 2
                and pair[0] == "url"
                and isinstance(pair[1], str)
                and pair[1].strip()
            ):
                urls.append(pair[1].strip())
    return urls


def _read_afb(payload: dict[str, Any], path: Path) -> tuple[str, _Graph]:
    objects = payload.get("objects")
    if not isinstance(objects, list):
        raise DataError(path, "objects", "missing or not a list", FIX)
    graph = _Graph()
    owner: dict[str, str] = {}  # anchor → the object it belongs to
    anchor_of: dict[str, str] = {}  # latch → the anchor holding it
    lines: list[tuple[str, Any, Any]] = []
    seen_keys: set[str] = set()
    name = path.stem
    for position, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise DataError(path, f"objects[{position}]", "not an object with an 'id' kind", FIX)
        key = obj.get("instance")
        if not isinstance(key, str):
            raise DataError(path, f"objects[{position}].instance", "missing or not a string", FIX)
        kind = obj["id"]
        if key in seen_keys:
            raise DataError(path, f"objects[{position}].instance", f"{key!r} is used twice", FIX)
        seen_keys.add(key)
        anchors = obj.get("anchors") or {}
        if not isinstance(anchors, dict) or not all(isinstance(a, str) for a in anchors.values()):
            raise DataError(path, f"{key}.anchors", "not a mapping of angle → anchor id", FIX)
        for anchor in anchors.values():
            owner[anchor] = key
        if kind.endswith("_anchor"):
            latches = obj.get("latches") or []
            if not isinstance(latches, list) or not all(isinstance(x, str) for x in latches):
                raise DataError(path, f"{key}.latches", "not a list of latch ids", FIX)
            for latch in latches:
                anchor_of[latch] = key
        elif kind == "dynamic_line":
            lines.append((key, obj.get("source"), obj.get("target")))
        elif kind == "action":
            props = _properties(obj, path, key)
            graph.actions[key] = (
                _text(props.get("name")) or "",
                _drawn_id(props.get("technique_id")),
                _text(props.get("tactic_id")),
            )
        elif kind == "flow":
            props = _properties(obj, path, key)
            name = _text(props.get("name")) or name
            graph.references += _afb_urls(props.get("external_references"))
    for key, source, target in lines:
        ends = []
        for end in (source, target):
            anchor = anchor_of.get(end) if isinstance(end, str) else None
            ends.append(owner.get(anchor) if anchor is not None else None)
        if None not in ends:  # a line left loose at one end joins nothing
            graph.add_edge(ends[0], ends[1])  # type: ignore[arg-type]
        else:
            graph.loose.append(key)
    return name, graph


STIX_EDGES = ("effect_refs", "on_true_refs", "on_false_refs")


def _read_stix(payload: dict[str, Any], path: Path) -> tuple[str, _Graph]:
    objects = payload.get("objects")
    if not isinstance(objects, list):
        raise DataError(path, "objects", "missing or not a list", FIX)
    graph = _Graph()
    seen_keys: set[str] = set()
    name = path.stem
    for position, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise DataError(path, f"objects[{position}]", "not a STIX object with an id", FIX)
        key, kind = obj["id"], obj.get("type")
        if key in seen_keys:
            raise DataError(path, f"objects[{position}].id", f"{key!r} is used twice", FIX)
        seen_keys.add(key)
        if kind == "attack-action":
            graph.actions[key] = (
                _text(obj.get("name")) or "",
                _drawn_id(obj.get("technique_id")),
                _text(obj.get("tactic_id")),
            )
        elif kind == "attack-flow":
            name = _text(obj.get("name")) or name
            graph.references += [
                ref["url"]
                for ref in obj.get("external_references") or []
                if isinstance(ref, dict) and isinstance(ref.get("url"), str)
            ]
        for edge in STIX_EDGES:
            targets = obj.get(edge, [])
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                raise DataError(path, f"{key}.{edge}", "not a list of object ids", FIX)
            for target in targets:
                graph.add_edge(key, target)
    return name, graph


def _map_technique(drawn: Any, catalog: TechniqueCatalog) -> tuple[str | None, str | None]:
    """(the active ID, None) for a drawn ID, or (None, why it has none)."""
    if drawn is None:
        return None, None
    if not isinstance(drawn, str):
        return None, f"not a technique ID string ({type(drawn).__name__})"
    technique = drawn.upper()
    if not TECHNIQUE_ID.match(technique):
        return None, "not an ATT&CK technique ID"
    seen = set()
    while catalog.status(technique) == "revoked" and technique not in seen:
        seen.add(technique)
        successor = catalog.techniques[technique].revoked_by
        if successor is None:
            return None, f"revoked in ATT&CK {catalog.version or catalog.source}, no successor"
        technique = successor
    status = catalog.status(technique)
    if status != "active":
        return None, f"{status} in ATT&CK {catalog.version or catalog.source}"
    return technique, None


def read_flow(path: str | Path, catalog: TechniqueCatalog) -> Flow:
    """Read one `.afb` or Attack Flow STIX bundle into a `Flow` over `catalog`'s technique IDs.

    Raises DataError naming the file and the object for anything that is not a flow. Edges that
    close a cycle are dropped and kept in `Flow.loops` (see `_drop_loops`).
    """
    path = Path(path)
    return flow_from_payload(read_json(path), path, catalog)


def flow_from_payload(payload: Any, source: str | Path, catalog: TechniqueCatalog) -> Flow:
    """`read_flow` of a flow already parsed from JSON (e.g. an upload); `source` names it in
    errors and in `Flow.source`, and is never opened."""
    path = Path(source)
    if isinstance(payload, dict) and payload.get("type") == "bundle":
        name, graph = _read_stix(payload, path)
    elif isinstance(payload, dict) and str(payload.get("schema", "")).startswith("attack_flow"):
        name, graph = _read_afb(payload, path)
    else:
        raise DataError(
            path,
            "schema",
            "neither an Attack Flow Builder file (schema attack_flow_v2) nor a STIX bundle",
            FIX,
        )
    keys = list(graph.actions)
    index = {key: i for i, key in enumerate(keys)}
    actions, mapped, dropped = [], {}, {}
    for key in keys:
        action_name, drawn, tactic = graph.actions[key]
        technique, why = _map_technique(drawn, catalog)
        if why is not None:
            dropped[drawn if isinstance(drawn, str) else repr(drawn)] = why
            if drawn is not None and not isinstance(drawn, str):
                warnings.warn(
                    f"{path}: action {key!r} has technique_id {drawn!r}, not a string: kept as a "
                    'tactic-only step; write the ID as text (e.g. "T1059.001")',
                    FlowWarning,
                    stacklevel=2,
                )
        elif technique is not None and technique != drawn.upper():  # type: ignore[union-attr]
            mapped[drawn] = technique
        actions.append(
            FlowAction(
                key, action_name, technique, tactic, drawn if isinstance(drawn, str) else None
            )
        )
    successors, self_loops = [], []
    for key in keys:  # the next actions, through every object that is not one
        found, stack, visited = set(), list(graph.edges.get(key, [])), set()
        while stack:
            node = stack.pop()
            if node in visited:
                continue
            visited.add(node)
            if node in index:
                found.add(index[node])
            else:
                stack.extend(graph.edges.get(node, []))
        if index[key] in found:  # an action that enables itself, directly or through others
            found.discard(index[key])
            self_loops.append((index[key], index[key]))
        successors.append(tuple(sorted(found)))
    successors, loops = _drop_loops(successors)
    loops = self_loops + loops
    if loops:
        pairs = ", ".join(f"{actions[a].key} → {actions[b].key}" for a, b in loops[:3])
        warnings.warn(
            f"{path}: {len(loops)} edge(s) loop back to an earlier action and were ignored "
            f"({pairs}{', …' if len(loops) > 3 else ''}); a flow is a DAG: remove the edge, or "
            "draw the repeat as a new action",
            FlowWarning,
            stacklevel=2,
        )
    if graph.loose:
        log.info("%s: %d lines not attached at both ends ignored", path.name, len(graph.loose))
    loops_by_key = tuple((actions[a].key, actions[b].key) for a, b in loops)
    return Flow(
        name,
        path.name,
        tuple(actions),
        tuple(successors),
        mapped,
        dropped,
        loops_by_key,
        tuple(graph.references),
    )


def _drop_loops(
    successors: list[tuple[int, ...]],
) -> tuple[list[tuple[int, ...]], list[tuple[int, int]]]:
    """The edges without those that lead back to an action on the way to them, found by a
    depth-first walk from the flow's first actions in drawing order; and the edges dropped.

    Drawings do loop ("retry", a technique used again later): the loop's way back says the
    adversary repeats what it already did, which a campaign of distinct techniques already holds.
    """
    has_predecessor = {t for nexts in successors for t in nexts}
    starts = [i for i in range(len(successors)) if i not in has_predecessor]
    starts += [i for i in range(len(successors)) if i in has_predecessor]
    state = [0] * len(successors)  # 0 new, 1 on the current path, 2 done
    loops: list[tuple[int, int]] = []
    for root in starts:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, nexts = stack[-1]
            successor = next(nexts, None)
            if successor is None:
                state[node] = 2
                stack.pop()
            elif state[successor] == 1:
                loops.append((node, successor))
            elif state[successor] == 0:
                state[successor] = 1
                stack.append((successor, iter(successors[successor])))
    dropped = set(loops)
    kept = [
        tuple(t for t in nexts if (node, t) not in dropped) for node, nexts in enumerate(successors)
    ]
    return kept, loops


@dataclass(frozen=True)
class FlowSet:
    """The flows of a folder, with what reading them left out."""

    flows: tuple[Flow, ...]
    empty: tuple[str, ...]
    """Files whose flow has no usable technique (e.g. attack trees drawn without IDs)."""

    @property
    def dropped(self) -> dict[str, str]:
        return {k: v for flow in self.flows for k, v in flow.dropped.items()}

    @property
    def mapped(self) -> dict[str, str]:
        return {k: v for flow in self.flows for k, v in flow.mapped.items()}

    def describe(self) -> str:
        return (
            f"{len(self.flows)} flows with techniques ({len(self.empty)} without: "
            f"{', '.join(self.empty) or 'none'}); {len(self.mapped)} revoked IDs mapped to their "
            f"successor, {len(self.dropped)} IDs dropped ({', '.join(sorted(self.dropped)) or 'none'})"
        )

    def named(self, name: str) -> Flow:
        for flow in self.flows:
            if name in (flow.name, flow.source, Path(flow.source).stem):
                return flow
        raise ValueError(f"no flow named {name!r}; choose among {[f.name for f in self.flows]}")


def load_flows(directory: str | Path, catalog: TechniqueCatalog, minimum: int = 2) -> FlowSet:
    """Every `.afb` and `.json` flow in `directory`, sorted by file name; flows with fewer than
    `minimum` distinct usable techniques are listed in `FlowSet.empty`, not returned."""
    directory = Path(directory)
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in FLOW_SUFFIXES)
    if not files:
        raise DataError(
            directory, None, "no .afb or .json Attack Flow file here", "pass a folder of flows"
        )
    flows, empty = [], []
    for path in files:
        flow = read_flow(path, catalog)
        (flows if len(flow.techniques) >= minimum else empty).append(flow)
    found = FlowSet(tuple(flows), tuple(f.source for f in empty))
    log.info("%s: %s", directory.name, found.describe())
    return found


def columns(techniques: Sequence[str], vocabulary: Sequence[str]) -> tuple[list[int], list[str]]:
    """Techniques as columns of a model's vocabulary, and those it does not have."""
    index = {t: i for i, t in enumerate(vocabulary)}
    return [index[t] for t in techniques if t in index], [t for t in techniques if t not in index]


def copies_of(
    flow: Flow,
    reports: Iterable[tuple[str, set[str], Iterable[str]]],
    overlap: float = 0.5,
    also: Iterable[set[str]] = (),
) -> list[str]:
    """IDs of the reports (ID, techniques, reference URLs) that describe the flow's incident: they
    cite one of its references (normalised), or their technique set overlaps the flow's by
    Jaccard ≥ `overlap`, or nearly equals (Jaccard ≥ 0.8) one of the sets in `also` (e.g. TRAM
    narratives of the same incident, which the corpus holds again as sets)."""
    own = set(flow.techniques)
    cited = {normalised_url(u) for u in flow.references} - {""}
    others = [set(s) for s in also]

    def jaccard(a: set[str], b: set[str]) -> float:
        return len(a & b) / len(a | b) if a | b else 0.0

    return [
        report_id
        for report_id, techniques, urls in reports
        if cited & {normalised_url(u) for u in urls}
        or jaccard(own, techniques) >= overlap
        or any(jaccard(techniques, other) >= 0.8 for other in others)
    ]


ATTACK_FLOW_EXTENSION = "extension-definition--fb9c968a-745b-4ade-9b25-c324172197f4"
"""The Attack Flow STIX extension's id (Attack Flow 2.x, MITRE CTID)."""


def suggestions_bundle(
    flow: Flow, suggestions: Sequence[tuple[str, str, str]], created: str
) -> dict[str, Any]:
    """The flow as an Attack Flow STIX bundle, its last actions leading through an OR operator
    to the suggested next actions, for the Attack Flow Builder to open.

    Args:
        suggestions: (technique ID, name, description) of each suggested action, best first.
        created: STIX timestamp for the new objects (the caller's clock, so output is testable).
    """

    def stix_id(kind: str, key: str) -> str:
        """A UUID-shaped id derived from the flow and the object: the same input, the same file."""
        h = hashlib.sha256(f"{flow.source}|{key}".encode()).hexdigest()
        return f"{kind}--{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"

    def sdo(kind: str, key: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "spec_version": "2.1",
            "id": stix_id(kind, key),
            "created": created,
            "modified": created,
            "extensions": {ATTACK_FLOW_EXTENSION: {"extension_type": "new-sdo"}},
            **fields,
        }

    actions = [
        sdo(
            "attack-action",
            a.key,
            name=a.name or a.technique or "action",
            **({"technique_id": a.technique} if a.technique else {}),
            **({"tactic_id": a.tactic} if a.tactic else {}),
        )
        for a in flow.actions
    ]
    suggested = [
        sdo("attack-action", f"suggested {t}", name=name, technique_id=t, description=why)
        for t, name, why in suggestions
    ]
    operator = sdo(
        "attack-operator", "suggested next", operator="OR", effect_refs=[s["id"] for s in suggested]
    )
    for action, next_ in zip(actions, flow.successors, strict=True):
        action["effect_refs"] = [actions[j]["id"] for j in next_]
    ends = [a for a, next_ in zip(actions, flow.successors, strict=True) if not next_]
    for action in ends:
        action["effect_refs"] = [operator["id"]]
    starts = {j for next_ in flow.successors for j in next_}
    head = sdo(
        "attack-flow",
        "flow",
        name=f"{flow.name} + suggested next",
        description="The flow's actions, then the techniques tie-gym forecasts next (OR).",
        scope="incident",
        start_refs=[a["id"] for i, a in enumerate(actions) if i not in starts],
    )
    return {
        "type": "bundle",
        "id": stix_id("bundle", "bundle"),
        "objects": [head, *actions, operator, *suggested],
    }
