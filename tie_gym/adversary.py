"""A trained recommender as an adversary: it samples campaigns, or replays real reports.

Reports are sets, so the reveal order is a stated choice (`order`):
- "model": the order in which the generative adversary sampled its techniques;
- "killchain": ATT&CK tactic order (a technique's earliest tactic), ties broken at random;
- "random": a uniform shuffle.
All randomness comes from the `numpy.random.Generator` passed in (the env's `np_random`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from recommenders.artifacts import load_model
from recommenders.errors import DataError
from recommenders.models import Recommender
from tie_gym.foldin import BatchFoldIn, batch_fold_in

Order = Literal["model", "killchain", "random"]
ORDERS: tuple[str, ...] = ("model", "killchain", "random")
DEFAULT_MODEL = "default"


def default_model_path() -> Path:
    """The small artifact shipped inside the package (made by `python -m tie_gym.build_default`)."""
    return Path(str(resources.files("tie_gym") / "default_model"))


@dataclass(frozen=True)
class Campaign:
    """One adversary campaign: technique columns in reveal order, and where it came from."""

    techniques: np.ndarray
    source: str
    """"generated" or the replayed report's ID."""


class Adversary:
    """Campaign source built from a trained artifact (its model plus manifest)."""

    def __init__(
        self, model: Recommender, manifest: dict[str, Any], data_dir: str | None = None
    ) -> None:
        self.model = model
        self.manifest = manifest
        self.data_dir = data_dir
        self.vocabulary: tuple[str, ...] = tuple(manifest["technique_ids"])
        self.n_techniques = len(self.vocabulary)
        self.tactic_order: tuple[str, ...] = tuple(manifest.get("tactic_order", ()))
        tactics = manifest.get("technique_tactics", {})
        self.names: dict[str, str] = manifest.get("technique_names", {})
        self.tactics: list[tuple[str, ...]] = [tuple(tactics.get(t, ())) for t in self.vocabulary]
        rank = {t: i for i, t in enumerate(self.tactic_order)}
        self.first_tactic_rank = np.array(
            [min((rank.get(t, len(rank)) for t in ts), default=len(rank)) for ts in self.tactics]
        )
        stats = manifest.get("corpus_stats", {})
        counts = np.asarray(
            stats.get("technique_report_counts", np.ones(self.n_techniques)), dtype=np.float64
        )
        self.popularity = counts / counts.sum()
        sizes = np.asarray(stats.get("report_size_counts", [0, 0, 1]), dtype=np.float64)
        sizes[:2] = 0.0  # a campaign needs one technique to show and one to forecast
        self.size_probabilities = sizes / sizes.sum()
        self._fold_ins: dict[int, BatchFoldIn] = {}

    @classmethod
    def load(cls, model: str = DEFAULT_MODEL, data_dir: str | None = None) -> Adversary:
        """From "default" (the shipped artifact) or a model/run/output folder."""
        path = default_model_path() if model == DEFAULT_MODEL else Path(model)
        recommender, manifest = load_model(path)
        return cls(recommender, manifest, data_dir)

    def _draw(self, rng: np.random.Generator, cdf: np.ndarray, count: int) -> np.ndarray:
        """Inverse-CDF draws (rng.choice(p=…) rebuilds the CDF on every call)."""
        return np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), len(cdf) - 1)

    @cached_property
    def _size_cdf(self) -> np.ndarray:
        return np.cumsum(self.size_probabilities)

    @cached_property
    def _popularity_cdf(self) -> np.ndarray:
        return np.cumsum(self.popularity)

    def sample_lengths(
        self, rng: np.random.Generator, count: int, max_length: int | None = None
    ) -> np.ndarray:
        """Campaign lengths from the training corpus's report-size distribution (≥ 2)."""
        cap = min(max_length or self.n_techniques, self.n_techniques)
        return np.minimum(self._draw(rng, self._size_cdf, count), cap)

    def generate(
        self,
        rng: np.random.Generator,
        count: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        order: Order = "model",
        initial: list[np.ndarray] | None = None,
        max_length: int | None = None,
    ) -> list[Campaign]:
        """Sample `count` campaigns in one batch.

        Each starts from a popularity draw (or `initial[i]`), then repeatedly samples the next
        technique from softmax(z / temperature), where z are the model's fold-in scores over unused
        techniques, standardised per step over all scores (so the temperature means the same for
        every family),
        restricted to the smallest set whose probability reaches `top_p`.
        """
        if temperature <= 0 or not 0 < top_p <= 1:
            raise ValueError(
                f"temperature must be > 0 and top_p in (0, 1], got {temperature}, {top_p}"
            )
        lengths = self.sample_lengths(rng, count, max_length)
        rows = np.arange(count)
        used = np.zeros((count, self.n_techniques), dtype=bool)
        fold_in = self._fold_in(count)
        if initial is None:
            starts = np.ones(count, dtype=np.int64)
            sequences = np.full((count, int(lengths.max())), -1, dtype=np.int64)
            first = self._draw(rng, self._popularity_cdf, count)
            sequences[:, 0] = first
            used[rows, first] = True
            fold_in.add(rows, first)
        else:
            given_sets = [np.asarray(given, dtype=np.int64) for given in initial]
            starts = np.array([len(given) for given in given_sets], dtype=np.int64)
            # a given start shows all of itself and still leaves one technique to forecast
            lengths = np.where(starts < self.n_techniques, np.maximum(lengths, starts + 1), starts)
            sequences = np.full((count, int(lengths.max())), -1, dtype=np.int64)
            for i, given in enumerate(given_sets):
                sequences[i, : len(given)] = given
                used[i, given] = True
                fold_in.add(np.full(len(given), i), given)
        for step in range(int(starts.min()), int(lengths.max())):
            active = rows[(step < lengths) & (step >= starts)]
            if len(active) == 0:
                continue
            chosen = self._sample_next(
                rng, fold_in.scores(active), used[active], temperature, top_p
            )
            sequences[active, step] = chosen
            used[active, chosen] = True
            fold_in.add(active, chosen)
        return [
            Campaign(
                self.arrange(rng, sequences[i, : lengths[i]], order, keep_first=int(starts[i])),
                "generated",
            )
            for i in range(count)
        ]

    def _fold_in(self, count: int) -> BatchFoldIn:
        """A reset fold-in state for `count` campaigns, reused between calls (no per-reset setup)."""
        fold_in = self._fold_ins.get(count)
        if fold_in is None:
            fold_in = self._fold_ins[count] = batch_fold_in(self.model, count)
        fold_in.reset(np.arange(count))
        return fold_in

    @cached_property
    def _popularity_logits(self) -> np.ndarray:
        log_pop = np.log(np.maximum(self.popularity, 1e-12))
        return ((log_pop - log_pop.mean()) / log_pop.std()).astype(np.float32)

    def _sample_next(
        self,
        rng: np.random.Generator,
        scores: np.ndarray,
        used: np.ndarray,
        temperature: float,
        top_p: float,
    ) -> np.ndarray:
        """One draw per row from softmax(standardised scores / temperature) over unused techniques,
        nucleus-cut to `top_p`; inverse-CDF sampling (one uniform per row).

        A row whose scores are all equal (e.g. EASE after a technique that never co-occurred in
        training) carries no signal, so it samples from technique popularity instead.
        """
        scores = scores.astype(np.float32, copy=False)
        mean = scores.mean(axis=1, keepdims=True)
        std = np.sqrt(
            np.maximum(
                np.einsum("ij,ij->i", scores, scores)[:, None] / scores.shape[1] - mean * mean, 0.0
            )
        )
        flat = std[:, 0] <= 1e-12
        logits = (scores - mean) / (np.where(flat[:, None], 1.0, std) * temperature)
        if flat.any():
            logits[flat] = self._popularity_logits / temperature
        logits[used] = -np.inf
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        if top_p < 1:
            order = np.argsort(-weights, axis=1)
            sorted_weights = np.take_along_axis(weights, order, axis=1)
            mass_before = (np.cumsum(sorted_weights, axis=1) - sorted_weights) / sorted_weights.sum(
                axis=1, keepdims=True
            )
            cut = np.zeros_like(weights, dtype=bool)
            np.put_along_axis(cut, order, mass_before >= top_p, axis=1)  # the first always stays
            weights[cut] = 0.0
        cdf = np.cumsum(weights, axis=1)
        targets = rng.random((len(scores), 1), dtype=np.float32) * cdf[:, -1:]
        return np.minimum((cdf <= targets).sum(axis=1), scores.shape[1] - 1)

    def arrange(
        self, rng: np.random.Generator, techniques: np.ndarray, order: Order, keep_first: int = 0
    ) -> np.ndarray:
        """Put a technique set in the chosen reveal order (the first `keep_first` stay in front)."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        head, tail = techniques[:keep_first], techniques[keep_first:]
        if order == "model":
            return techniques.copy()
        if order == "random":
            return np.concatenate([head, rng.permutation(tail)])
        ranks = self.first_tactic_rank[tail]
        return np.concatenate([head, tail[np.lexsort((rng.random(len(tail)), ranks))]])

    @cached_property
    def replay_reports(self) -> list[tuple[str, np.ndarray]]:
        """The artifact's held-out test reports (ID, technique columns), read from the corpus."""
        from recommenders.attack import load_catalog
        from recommenders.data import DEFAULT_CORPUS, build_matrix, load_corpus

        split = self.manifest.get("split", {})
        data = self.manifest.get("data", {})
        test_ids = split.get("test_report_ids")
        if not test_ids or not data:
            raise DataError(
                None,
                "split.test_report_ids",
                "this artifact records no test split",
                "train it with `python -m recommenders.train`, which records one",
            )
        root = self.data_dir or os.environ.get("TIE_DATA_DIR")
        if not root:
            raise DataError(
                None,
                "TIE_DATA_DIR",
                "replay needs the TIE corpus and no data folder was given",
                "set TIE_DATA_DIR (or pass data_dir=) to the folder holding tie/ and attack/",
            )
        corpus_path = Path(root) / DEFAULT_CORPUS.parent / data["corpus"]["file"]
        attack_path = Path(root) / "attack" / data["attack"]["file"]
        for path in (corpus_path, attack_path):
            if not path.is_file():
                raise DataError(
                    path,
                    None,
                    "replay needs this file and it is missing",
                    "point TIE_DATA_DIR at the data the model was trained on",
                )
        corpus = load_corpus(corpus_path, load_catalog(attack_path), data.get("origins"))
        if corpus.sha256 != data["corpus"]["sha256"]:
            raise DataError(
                corpus_path,
                "sha256",
                "differs from the corpus the model was trained on",
                "use the same dataset file, or retrain on this one",
            )
        matrix = build_matrix(corpus, data.get("values", "binary"), data.get("rollup", False))
        if matrix.techniques != self.vocabulary:
            raise DataError(
                corpus_path,
                "technique_ids",
                "the corpus yields another technique vocabulary",
                "use the ATT&CK bundle the model was trained with",
            )
        row_of = {rid: i for i, rid in enumerate(matrix.report_ids)}
        reports = []
        for rid in test_ids:
            row = row_of[rid]
            columns = matrix.matrix.indices[
                matrix.matrix.indptr[row] : matrix.matrix.indptr[row + 1]
            ]
            reports.append((rid, np.sort(columns).astype(np.int64)))
        return reports

    def replay(self, rng: np.random.Generator, order: Order = "killchain") -> Campaign:
        """A uniformly drawn test report, in the chosen order ("model" is not defined for replay)."""
        if order == "model":
            raise ValueError(
                'replayed reports have no model order: use order="killchain" or "random"'
            )
        reports = self.replay_reports
        rid, columns = reports[int(rng.integers(len(reports)))]
        return Campaign(self.arrange(rng, columns, order), rid)
