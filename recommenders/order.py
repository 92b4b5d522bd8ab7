"""What real attack order says follows what: successor counts and tactic transitions.

Two ordered sources:
- Attack Flow incidents: each edge of a flow's DAG (`recommenders.flows`) is a technique that
  enabled the next one;
- TRAM's annotated reports, in narrative order: each report's techniques in the order they are
  first mentioned, consecutive pairs taken as "then".

From those pairs come successor counts C[a, b] and tactic-to-tactic transitions over ATT&CK's
tactic structure (counts spread over each technique's tactics, add-half smoothing). The
order-aware forecaster (`agents/sequence.py`) and the generative adversary's `order="learned"`
read them; neither learns order from a sort.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommenders.flows import Flow

if TYPE_CHECKING:
    from recommenders.text.corpus import TextCorpus

Pair = tuple[int, int]


def enabling_pairs(flows: Iterable[Flow], vocabulary: Sequence[str]) -> list[Pair]:
    """Each DAG edge a → b of the flows as a pair of vocabulary columns (both in the vocabulary)."""
    index = {t: i for i, t in enumerate(vocabulary)}
    pairs = []
    for flow in flows:
        for node, nexts in flow.technique_successors.items():
            before = flow.actions[node].technique
            for successor in nexts:
                after = flow.actions[successor].technique
                if before in index and after in index and before != after:
                    pairs.append((index[before], index[after]))  # type: ignore[index]
    return pairs


def narrative_pairs(documents: Iterable[Sequence[str]], vocabulary: Sequence[str]) -> list[Pair]:
    """Consecutive techniques of each document, in order of first mention."""
    index = {t: i for i, t in enumerate(vocabulary)}
    pairs = []
    for document in documents:
        order = [index[t] for t in dict.fromkeys(document) if t in index]
        pairs.extend(itertools.pairwise(order))
    return pairs


def tram_narratives(corpus: TextCorpus) -> dict[str, list[str]]:
    """TRAM2 reports (`TextCorpus.tram_multi`): title → techniques in the order its sentences
    first mention them."""
    documents: dict[str, list[str]] = {}
    for sentence in corpus.tram_multi:
        if sentence.document:
            documents.setdefault(sentence.document, []).extend(sentence.labels)
    return {title: list(dict.fromkeys(labels)) for title, labels in documents.items()}


@dataclass(frozen=True)
class OrderEvidence:
    """What the ordered sources say follows what, over a model's vocabulary."""

    successors: np.ndarray
    """(n, n) counts of a → b pairs."""
    tactic_transitions: np.ndarray
    """(tactics, tactics) P(next tactic | last tactic)."""
    technique_tactics: np.ndarray
    """(n, tactics): each technique's tactics, weights summing to 1 (0 for none)."""
    first_tactic: np.ndarray
    """(n,) each technique's earliest tactic in the matrix's order (len(tactics) for none)."""

    @classmethod
    def fit(
        cls,
        pairs: Iterable[Pair],
        tactics: Sequence[Sequence[str]],
        tactic_order: Sequence[str],
        smoothing: float = 0.5,
    ) -> OrderEvidence:
        """From column pairs, each column's tactic shortnames, and the matrix's tactic order."""
        n, rank = len(tactics), {t: i for i, t in enumerate(tactic_order)}
        technique_tactics = np.zeros((n, len(tactic_order)))
        for column, names in enumerate(tactics):
            known = [rank[t] for t in names if t in rank]
            technique_tactics[column, known] = 1.0 / len(known) if known else 0.0
        successors = np.zeros((n, n))
        for before, after in pairs:
            successors[before, after] += 1.0
        transitions = technique_tactics.T @ successors @ technique_tactics + smoothing
        transitions /= transitions.sum(axis=1, keepdims=True)
        has = technique_tactics > 0
        first = np.where(has.any(axis=1), has.argmax(axis=1), len(tactic_order))
        return cls(successors, transitions, technique_tactics, first)

    def terms(self, seen: np.ndarray, last: int) -> np.ndarray:
        """(3, n): log(1 + successor evidence from the seen set), log P(tactic | last's
        tactics), and whether a technique's first tactic precedes the last one's (a step back)."""
        evidence = self.successors[seen].sum(axis=0)
        tactic = self.technique_tactics @ (self.technique_tactics[last] @ self.tactic_transitions)
        back = (self.first_tactic < self.first_tactic[last]).astype(np.float64)
        return np.stack([np.log1p(evidence), np.log(tactic + 1e-9), -back])


@dataclass(frozen=True)
class OrderStatistics:
    """How campaigns move through the kill chain, whatever techniques they hold: what the
    realism distance compares (a tactic-to-tactic share would mostly compare which tactics the
    campaigns use, not their order)."""

    directions: np.ndarray
    """(3,): share of consecutive steps to an earlier, the same, or a later first tactic."""
    positions: np.ndarray
    """(tactics,): mean relative position (0 first … 1 last) of each tactic's techniques."""
    weights: np.ndarray
    """(tactics,): each tactic's share of the techniques, to weigh `positions`."""

    @classmethod
    def of(cls, sequences: Iterable[Sequence[int]], evidence: OrderEvidence) -> OrderStatistics:
        """Over campaigns given as column sequences of `evidence`'s vocabulary."""
        tactics = evidence.technique_tactics.shape[1]
        directions = np.zeros(3)
        position_sum, mass = np.zeros(tactics), np.zeros(tactics)
        for sequence in sequences:
            columns = np.asarray(sequence, dtype=np.int64)
            if len(columns) < 2:
                continue
            first = evidence.first_tactic[columns]
            directions += np.bincount(np.sign(np.diff(first)) + 1, minlength=3)
            rows = evidence.technique_tactics[columns]
            position_sum += np.linspace(0.0, 1.0, len(columns)) @ rows
            mass += rows.sum(axis=0)
        positions = np.divide(position_sum, mass, out=np.full(tactics, 0.5), where=mass > 0)
        return cls(
            directions / max(directions.sum(), 1.0), positions, mass / max(mass.sum(), 1e-12)
        )

    def distance(self, reference: OrderStatistics) -> tuple[float, float]:
        """(total variation between the step directions, mean |position difference| weighted by
        the reference's tactic shares): 0 for campaigns that move like the reference's."""
        variation = 0.5 * float(np.abs(self.directions - reference.directions).sum())
        position = float(reference.weights @ np.abs(self.positions - reference.positions))
        return variation, position


def order_agreement(flow: Flow, document: Sequence[str]) -> tuple[int, int]:
    """How a narrative order agrees with a flow's: of the technique pairs the flow orders (one
    enables the other, directly or not, and never the reverse) that the document both mentions,
    (how many it mentions in the flow's order, how many there are)."""
    reach: dict[int, set[int]] = {}
    for node in reversed(flow.topological_order()):  # successors first
        reach[node] = set(flow.technique_successors[node])
        for successor in flow.technique_successors[node]:
            reach[node] |= reach[successor]
    technique = {node: flow.actions[node].technique for node in reach}
    before = {(technique[a], technique[b]) for a, after in reach.items() for b in after} - {
        (t, t) for t in technique.values()
    }
    position = {t: i for i, t in enumerate(dict.fromkeys(document))}
    ordered = [
        (a, b) for a, b in before if a in position and b in position and (b, a) not in before
    ]
    return sum(position[a] < position[b] for a, b in ordered), len(ordered)
