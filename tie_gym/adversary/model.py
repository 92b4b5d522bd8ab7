"""The Adversary: a trained recommender and its manifest, as the envs and agents see it.

It holds what every campaign source needs from the artifact (vocabulary, tactics, corpus
popularity and report sizes) and hands the work to `generative.py` (sampled campaigns),
`replay.py` (real reports), `flows.py` (Attack Flow incidents) and `ordering.py` (reveal orders). All randomness comes from the
`numpy.random.Generator` passed in (the env's `np_random`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recommenders.artifacts import DEFAULT_MODEL_DIR, ModelManifest, load_model
from recommenders.models import Recommender
from recommenders.order import OrderEvidence, PositionOrder, model_narratives
from tie_gym.adversary.campaign import DEFAULT_TEMPERATURE, Campaign, unpack_campaigns
from tie_gym.adversary.flows import FlowReplay
from tie_gym.adversary.generative import GenerativeSampler
from tie_gym.adversary.ordering import Arranger, Order, first_tactic_ranks
from tie_gym.adversary.replay import ReportReplay

DEFAULT_MODEL = "default"
_SHARED: dict[tuple[str, str | None], Adversary] = {}


class Adversary:
    """Campaign source built from a trained artifact (its model plus manifest)."""

    def __init__(
        self, model: Recommender, manifest: ModelManifest, data_dir: str | None = None
    ) -> None:
        self.model = model
        self.manifest = manifest
        self.data_dir = data_dir
        self.vocabulary: tuple[str, ...] = manifest.technique_ids
        self.n_techniques = len(self.vocabulary)
        self.tactic_order: tuple[str, ...] = manifest.tactic_order
        self.names: dict[str, str] = manifest.technique_names
        self.tactics: list[tuple[str, ...]] = [
            manifest.technique_tactics.get(t, ()) for t in self.vocabulary
        ]
        self.first_tactic_rank = first_tactic_ranks(self.tactics, self.tactic_order)
        stats = manifest.corpus_stats
        counts = np.asarray(
            stats.technique_report_counts if stats else np.ones(self.n_techniques),
            dtype=np.float64,
        )
        self.popularity = counts / counts.sum()
        sizes = np.asarray(stats.report_size_counts if stats else [0, 0, 1], dtype=np.float64)
        sizes[:2] = 0.0  # a campaign needs one technique to show and one to forecast
        self.size_probabilities = sizes / sizes.sum()
        self._learned_order: PositionOrder | None = None
        self.arranger = Arranger(self.first_tactic_rank, self.learned_order)
        self.generator = GenerativeSampler(
            model, self.popularity, self.size_probabilities, self.arranger
        )
        self.replayer = ReportReplay(manifest, data_dir, self.arranger)
        self._flows: dict[tuple[str | None, str], FlowReplay] = {}

    @classmethod
    def load(cls, model: str = DEFAULT_MODEL, data_dir: str | None = None) -> Adversary:
        """From "default" (the shipped artifact) or a model/run/output folder."""
        path = DEFAULT_MODEL_DIR if model == DEFAULT_MODEL else Path(model)
        recommender, manifest = load_model(path)
        return cls(recommender, manifest, data_dir)

    @classmethod
    def shared(cls, model: str = DEFAULT_MODEL, data_dir: str | None = None) -> Adversary:
        """One loaded adversary per (model, data folder) and process: envs in a vector share it."""
        key = (model, data_dir)
        if key not in _SHARED:
            _SHARED[key] = cls.load(model, data_dir)
        return _SHARED[key]

    def sample(
        self,
        rng: np.random.Generator,
        count: int,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = 1.0,
        order: Order = "model",
        initial: list[np.ndarray] | None = None,
        max_length: int | None = None,
        running: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generated campaigns as arrays: (count, width) columns padded with -1, and lengths
        (`GenerativeSampler.sample`; `running`: lengths given the start is not the end). Vector
        envs copy these rows with no per-campaign objects."""
        return self.generator.sample(
            rng, count, temperature, top_p, order, initial, max_length, running
        )

    def generate(
        self,
        rng: np.random.Generator,
        count: int,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = 1.0,
        order: Order = "model",
        initial: list[np.ndarray] | None = None,
        max_length: int | None = None,
    ) -> list[Campaign]:
        """`sample` as Campaign objects."""
        return unpack_campaigns(
            *self.sample(rng, count, temperature, top_p, order, initial, max_length), "generated"
        )

    def arrange(
        self, rng: np.random.Generator, techniques: np.ndarray, order: Order, keep_first: int = 0
    ) -> np.ndarray:
        """A technique set in the chosen reveal order (`ordering.Arranger`)."""
        return self.arranger(rng, techniques, order, keep_first)

    @property
    def corpus_reports(self) -> dict[str, list[tuple[str, np.ndarray]]]:
        """The corpus's reports of each split, read and checked once (`ReportReplay.reports`)."""
        return self.replayer.reports

    def replay(
        self, rng: np.random.Generator, order: Order = "killchain", split: str = "test"
    ) -> Campaign:
        """A uniformly drawn report of a split, in the chosen order."""
        return self.replayer.draw(rng, order, split)

    def learned_order(self) -> PositionOrder:
        """`order="learned"`: positions learned from TRAM's report narratives (the data folder's
        `tram/`), over this model's vocabulary; fitted on first use (a method, not a lambda,
        so that the env still pickles)."""
        if self._learned_order is None:
            index = {t: i for i, t in enumerate(self.vocabulary)}
            narratives = model_narratives(self.manifest, self.data_dir).values()
            self._learned_order = PositionOrder.fit(
                [[index[t] for t in document if t in index] for document in narratives],
                OrderEvidence.fit([], self.tactics, self.tactic_order),
            )
        return self._learned_order

    def flows(self, flow_dir: str | None = None, split: str = "all") -> FlowReplay:
        """The Attack Flow incidents of `flow_dir` (default: the data folder's attack-flow/) on
        one side of the fixed flow split ("all": every one) as campaigns over this model's
        vocabulary; read once per folder and split."""
        if (flow_dir, split) not in self._flows:
            self._flows[flow_dir, split] = FlowReplay(
                self.manifest, self.data_dir, self.arranger, flow_dir, split
            )
        return self._flows[flow_dir, split]
