"""What real attack order says follows what: successor counts and tactic transitions.

Two ordered sources:
- Attack Flow incidents: each edge of a flow's DAG (`recommenders.flows`) is a technique that
  enabled the next one;
- TRAM's annotated reports, in narrative order: each report's techniques in the order they are
  first mentioned, consecutive pairs taken as "then".

From those pairs come successor counts C[a, b] and tactic-to-tactic transitions over ATT&CK's
tactic structure (counts spread over each technique's tactics, add-half smoothing). The
order-aware forecaster (`agents/sequence.py`) reads them. `PositionOrder`, learned from TRAM's
narratives, is the adversary's `order="learned"`. None of them learns order from a sort.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommenders.errors import DataError
from recommenders.flows import Flow

if TYPE_CHECKING:
    from recommenders.artifacts import ModelManifest
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


NARRATIVES_OF_FLOWS = {
    "cisa iranian apt": "iraniangovernmentsponsoredaptactorscompromisefederalnetwork"
}
"""Flow incident (`flows.incident`) → a `match_key` fragment of the TRAM report titles that tell
the same incident (CISA advisory AA22-320A; found by reading the titles, checked by order
agreement: 18/19 and 19/25 of the pairs the flow orders). Anything evaluated on that flow must
not learn from them."""


def narratives_of(incident: str, narratives: dict[str, list[str]]) -> list[str]:
    """Titles of the TRAM narratives that tell this flow incident (`NARRATIVES_OF_FLOWS`)."""
    from recommenders.text.corpus import match_key

    fragment = NARRATIVES_OF_FLOWS.get(incident)
    return [t for t in narratives if fragment and fragment in match_key(t)]


def model_narratives(manifest: ModelManifest, data_dir: str | None = None) -> dict[str, list[str]]:
    """TRAM's narratives (`tram_narratives`) read from `data_dir` or `TIE_DATA_DIR` with the
    model's ATT&CK bundle; a one-line DataError naming TIE_DATA_DIR when no folder holds them."""
    from recommenders.forecast import attack_catalog
    from recommenders.text.corpus import load_text_corpus

    root = data_dir or os.environ.get("TIE_DATA_DIR")
    catalog = attack_catalog(manifest, data_dir)
    if not root or catalog is None or not (Path(root) / "tram").is_dir():
        raise DataError(
            None,
            "TIE_DATA_DIR",
            "learning order from TRAM's report narratives needs the data folder's tram/ and the "
            "model's ATT&CK bundle, and none was found",
            "set TIE_DATA_DIR (or data_dir=) to the folder holding tram/ and attack/",
        )
    return tram_narratives(load_text_corpus(root, catalog))


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


@dataclass(frozen=True)
class PositionOrder:
    """A reveal order learned from narratives: each technique has a typical relative position
    in a campaign (0 first … 1 last); a set is revealed by position plus Gaussian noise of
    `spread`, so that campaigns go back in the kill chain about as often as real ones do.

    Positions are the technique's mean position in the narratives, shrunk toward its tactics'
    mean position (`prior` pseudo-observations); a technique no narrative mentions gets its
    tactics' position. `spread` is chosen on the narratives themselves (`fit`)."""

    positions: np.ndarray
    spread: float

    @classmethod
    def fit(
        cls,
        sequences: Sequence[Sequence[int]],
        evidence: OrderEvidence,
        prior: float = 3.0,
        spreads: Sequence[float] = (0.1, 0.2, 0.3, 0.5),
        seed: int = 0,
    ) -> PositionOrder:
        """From column sequences (e.g. TRAM's narratives): the spread whose re-arrangement of the
        shuffled sequences is closest to their own order statistics."""
        sequences = [np.asarray(s, dtype=np.int64) for s in sequences if len(s) >= 2]
        if not sequences:
            raise ValueError("a position order needs sequences of at least two techniques")
        reference = OrderStatistics.of(sequences, evidence)
        tactic_position = evidence.technique_tactics @ reference.positions
        tactic_position[evidence.technique_tactics.sum(axis=1) == 0] = 0.5
        total, count = np.zeros(len(tactic_position)), np.zeros(len(tactic_position))
        for sequence in sequences:
            np.add.at(total, sequence, np.linspace(0.0, 1.0, len(sequence)))
            np.add.at(count, sequence, 1.0)
        positions = (total + prior * tactic_position) / (count + prior)

        def distance(spread: float) -> float:
            rng = np.random.default_rng(seed)
            order = cls(positions, spread)
            arranged = [order.arrange(rng, rng.permutation(s)) for s in sequences]
            return sum(OrderStatistics.of(arranged, evidence).distance(reference))

        return cls(positions, min(spreads, key=distance))

    def arrange(
        self, rng: np.random.Generator, techniques: np.ndarray, keep_first: int = 0
    ) -> np.ndarray:
        """The set in this order; the first `keep_first` stay in front."""
        head, tail = techniques[:keep_first], techniques[keep_first:]
        keys = self.positions[tail] + self.spread * rng.standard_normal(len(tail))
        return np.concatenate([head, tail[np.argsort(keys, kind="stable")]])
