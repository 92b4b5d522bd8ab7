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
from pathlib import Path
from typing import Literal

import numpy as np

from recommenders.artifacts import DEFAULT_MODEL_DIR, ModelManifest, load_model
from recommenders.errors import DataError
from recommenders.models import Recommender
from recommenders.models.foldin import IncrementalFoldIn
from tie_gym.additive_sampler import BLOCK, FLAT, sample_campaigns, supports

Order = Literal["model", "killchain", "random"]
ORDERS: tuple[str, ...] = ("model", "killchain", "random")
DEFAULT_MODEL = "default"
# Calibrated by `python -m benchmarks.temperature` (benchmarks/results/temperature.md) with the
# shipped EASE model: the temperature at which the greedy recommender's hit@10 on generated
# campaigns equals its hit@10 on the reports the model trained on, replayed in random order
# (never the test reports). Held-out reports are harder still (see that table).
DEFAULT_TEMPERATURE = 1.65


@dataclass(frozen=True)
class Campaign:
    """One adversary campaign: technique columns in reveal order, and where it came from."""

    techniques: np.ndarray
    source: str
    """"generated" or the replayed report's ID."""


def _inverse_cdf_draw(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row with probability ∝ weights, by a two-level inverse CDF.

    A full row-wise cumsum is a slow scalar loop in NumPy; summing blocks of 32 is vectorised, so
    we pick a block from the block totals, then an index inside it (one uniform draw per row).
    """
    rows, width = weights.shape
    padded_width = -(-width // BLOCK) * BLOCK
    if padded_width != width:
        weights = np.pad(weights, ((0, 0), (0, padded_width - width)))
    blocks = weights.reshape(rows, -1, BLOCK)
    block_cdf = np.cumsum(blocks.sum(axis=2), axis=1)
    target = rng.random(rows, dtype=np.float32) * block_cdf[:, -1]
    block = np.minimum((block_cdf <= target[:, None]).sum(axis=1), block_cdf.shape[1] - 1)
    before = np.where(block > 0, block_cdf[np.arange(rows), block - 1], 0.0)
    inner_cdf = np.cumsum(blocks[np.arange(rows), block], axis=1)
    inner = np.minimum((inner_cdf <= (target - before)[:, None]).sum(axis=1), BLOCK - 1)
    # float rounding can land on a zero-weight slot at a block's end: step back to a live one
    index = block * BLOCK + inner
    dead = weights[np.arange(rows), index] <= 0
    if dead.any():
        index[dead] = np.argmax(weights[dead], axis=1)
    return index


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
        rank = {t: i for i, t in enumerate(self.tactic_order)}
        self.first_tactic_rank = np.array(
            [min((rank.get(t, len(rank)) for t in ts), default=len(rank)) for ts in self.tactics]
        )
        stats = manifest.corpus_stats
        counts = np.asarray(
            stats.technique_report_counts if stats else np.ones(self.n_techniques),
            dtype=np.float64,
        )
        self.popularity = counts / counts.sum()
        sizes = np.asarray(stats.report_size_counts if stats else [0, 0, 1], dtype=np.float64)
        sizes[:2] = 0.0  # a campaign needs one technique to show and one to forecast
        self.size_probabilities = sizes / sizes.sum()
        self._fold_ins: dict[int, IncrementalFoldIn] = {}
        self._additive: dict[float, tuple[np.ndarray, np.ndarray] | None] = {}

    @classmethod
    def load(cls, model: str = DEFAULT_MODEL, data_dir: str | None = None) -> Adversary:
        """From "default" (the shipped artifact) or a model/run/output folder."""
        path = DEFAULT_MODEL_DIR if model == DEFAULT_MODEL else Path(model)
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
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = 1.0,
        order: Order = "model",
        initial: list[np.ndarray] | None = None,
        max_length: int | None = None,
    ) -> list[Campaign]:
        """Sample `count` campaigns in one batch.

        Each starts from a popularity draw (or `initial[i]`), then repeatedly samples the next
        technique from softmax(z / temperature) restricted to the smallest set whose probability
        reaches `top_p`, where z are the model's fold-in scores of the unused techniques,
        standardised over those techniques at every step (zero mean, unit variance).

        Why per step: a family's score spread grows with the evidence folded in (for the shipped
        EASE, ~8× over 15 reveals), so one fixed scale made the effective temperature fall from
        4.8 to 0.7 over a campaign: generated campaigns got far easier as they went on (greedy
        hit@10 0.10 at the first forecast, 0.93 after 15), while real reports vary far less
        (0.2–0.4). Standardised, the profile is 0.50 → 0.34 against real reports' 0.33 → 0.42
        (benchmarks/results/temperature.md): not level, but within 0.17 of the real one at every
        stage instead of 0.57, and the temperature means the same for every family and step.
        """
        if not (
            np.isfinite(temperature) and temperature > 0 and np.isfinite(top_p) and 0 < top_p <= 1
        ):
            raise ValueError(
                f"temperature must be > 0 and top_p in (0, 1], got {temperature}, {top_p}"
            )
        if initial is None and top_p == 1 and self._additive_tables(temperature) is not None:
            sequences, lengths = self.generate_block(
                rng, count, temperature, top_p, order, max_length
            )
            return [
                Campaign(sequence[:length].copy(), "generated")
                for sequence, length in zip(sequences, lengths, strict=True)
            ]
        lengths = self.sample_lengths(rng, count, max_length)
        if initial is None:
            starts = np.ones(count, dtype=np.int64)
            given_sets = list(self._draw(rng, self._popularity_cdf, count)[:, None])
        else:
            given_sets = [np.asarray(given, dtype=np.int64) for given in initial]
            starts = np.array([len(given) for given in given_sets], dtype=np.int64)
            # a given start shows all of itself and still leaves one technique to forecast
            lengths = np.where(starts < self.n_techniques, np.maximum(lengths, starts + 1), starts)
        # Work in order of decreasing length so the campaigns still growing at any step are a
        # prefix: every batched update then acts on a contiguous slice, not a fancy index.
        order_by_length = np.argsort(-lengths, kind="stable")
        lengths, starts = lengths[order_by_length], starts[order_by_length]
        sequences = np.full((count, int(lengths.max())), -1, dtype=np.int64)
        fold_in = self._fold_in(count)
        for position, campaign in enumerate(order_by_length):
            given = given_sets[campaign]
            sequences[position, : len(given)] = given
        if initial is None:
            fold_in.add(slice(0, count), sequences[:, 0])
        else:
            for position in range(count):
                given = sequences[position, : starts[position]]
                fold_in.add(np.full(len(given), position), given)
        rows = np.arange(count)
        for step in range(int(starts.min()), int(lengths.max())):
            growing = int(np.count_nonzero(lengths > step))
            if np.all(starts[:growing] <= step):
                active: slice | np.ndarray = slice(0, growing)
                positions = rows[:growing]
            else:
                positions = rows[(step < lengths) & (step >= starts)]
                active = positions
            if len(positions) == 0:
                continue
            chosen = self._sample_next(
                rng, fold_in.scores(active), sequences[positions, :step], temperature, top_p
            )
            sequences[positions, step] = chosen
            fold_in.add(active, chosen)
        campaigns: list[Campaign | None] = [None] * count
        for position, campaign in enumerate(order_by_length):
            techniques = sequences[position, : lengths[position]]
            campaigns[campaign] = Campaign(
                self.arrange(rng, techniques, order, keep_first=int(starts[position])), "generated"
            )
        return campaigns  # type: ignore[return-value]

    def _additive_tables(self, temperature: float) -> tuple[np.ndarray, np.ndarray] | None:
        """B padded to whole blocks and the popularity fallback's weights, for the compiled
        sampler; None when the model is not additive, and the NumPy sampler runs instead."""
        if temperature in self._additive:
            return self._additive[temperature]
        tables = None
        if self.model.family == "ease" and supports(temperature, self.n_techniques):
            n = self.n_techniques
            padded = -(-n // BLOCK) * BLOCK
            item_scores = np.zeros((n, padded))
            item_scores[:, :n] = self.model.weights
            tables = (item_scores, self._popularity_weights(temperature, padded))
        self._additive[temperature] = tables
        return tables

    def _popularity_weights(self, temperature: float, width: int) -> np.ndarray:
        """Unnormalised softmax(standardised log-popularity / temperature), zero-padded."""
        logits = self._popularity_logits.astype(np.float64)
        weights = np.zeros(width)
        weights[: len(logits)] = np.exp((logits - logits.max()) / temperature)
        return weights

    def generate_block(
        self,
        rng: np.random.Generator,
        count: int,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = 1.0,
        order: Order = "model",
        max_length: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`generate` as arrays: (count, width) technique columns padded with -1, and lengths.
        Vector envs copy these rows directly, with no per-campaign Python objects."""
        tables = self._additive_tables(temperature) if top_p == 1 and temperature > 0 else None
        if tables is None:
            return pack_campaigns(
                self.generate(rng, count, temperature, top_p, order, max_length=max_length)
            )
        lengths = self.sample_lengths(rng, count, max_length)
        starts = self._draw(rng, self._popularity_cdf, count)
        uniforms = rng.random((count, int(lengths.max())))
        sequences = sample_campaigns(*tables, 1.0 / temperature, starts, lengths, uniforms)
        if order != "model":
            for sequence, length in zip(sequences, lengths, strict=True):
                sequence[:length] = self.arrange(rng, sequence[:length], order, keep_first=1)
        return sequences, lengths

    def _fold_in(self, count: int) -> IncrementalFoldIn:
        """A reset fold-in state for `count` campaigns, reused between calls (no per-reset setup)."""
        fold_in = self._fold_ins.get(count)
        if fold_in is None:
            fold_in = self._fold_ins[count] = self.model.incremental_fold_in(count)
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
        # (rows, t) columns each row has already used: zeroed by index, not by a full mask pass
        temperature: float,
        top_p: float,
    ) -> np.ndarray:
        """One draw per row from softmax(z / temperature) over unused techniques, z the scores
        standardised over them, nucleus-cut to `top_p`; inverse-CDF sampling (one uniform per row).

        A row whose unused scores are all equal (e.g. EASE after a technique that never
        co-occurred in training) carries no signal, so it samples from tempered popularity:
        softmax(standardised log-popularity / temperature).
        """
        rows = np.arange(len(scores))[:, None]
        unused = np.ones(scores.shape, dtype=bool)
        unused[rows, used] = False
        values = np.asarray(scores, dtype=np.float64)
        count = unused.sum(axis=1, keepdims=True)
        mean = np.where(unused, values, 0.0).sum(axis=1, keepdims=True) / count
        spread = np.sqrt(
            np.where(unused, (values - mean) ** 2, 0.0).sum(axis=1, keepdims=True) / count
        )
        flat = spread[:, 0] <= FLAT
        top = np.where(unused, values, -np.inf).max(axis=1, keepdims=True)
        width = -(-scores.shape[1] // BLOCK) * BLOCK
        weights = np.zeros((len(scores), width))
        weights[:, : scores.shape[1]] = np.exp(
            (values - top) / (np.where(flat[:, None], 1.0, spread) * temperature)
        )
        if flat.any():
            weights[flat] = self._popularity_weights(temperature, width)
        weights[rows, used] = 0.0
        if top_p < 1:
            order = np.argsort(-weights, axis=1)
            sorted_weights = np.take_along_axis(weights, order, axis=1)
            mass_before = (np.cumsum(sorted_weights, axis=1) - sorted_weights) / sorted_weights.sum(
                axis=1, keepdims=True
            )
            cut = np.zeros_like(weights, dtype=bool)
            np.put_along_axis(cut, order, mass_before >= top_p, axis=1)  # the first always stays
            weights[cut] = 0.0
        return _inverse_cdf_draw(rng, weights)

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
    def corpus_reports(self) -> dict[str, list[tuple[str, np.ndarray]]]:
        """The corpus's reports as (ID, technique columns), split as the artifact was trained
        (`recommenders.data.trained_split_reports`), read from `data_dir` or `TIE_DATA_DIR`."""
        from recommenders.data import trained_split_reports

        split, data = self.manifest.split, self.manifest.data
        if split is None or not split.test_report_ids or data is None:
            raise DataError(
                self.manifest.path,
                "split.test_report_ids",
                "this artifact records no test split",
                "train it with `python -m recommenders.train`, which records one",
            )
        root = self.data_dir or os.environ.get("TIE_DATA_DIR")
        if not root:
            raise DataError(
                None,
                "TIE_DATA_DIR",
                "the TIE corpus (for replayed reports, or an agent fitted on the training reports) is needed and no data folder was given",
                "set TIE_DATA_DIR (or pass data_dir=) to the folder holding tie/ and attack/",
            )
        return trained_split_reports(root, data, split, self.vocabulary)

    def replay(
        self, rng: np.random.Generator, order: Order = "killchain", split: str = "test"
    ) -> Campaign:
        """A uniformly drawn report of a split, in the chosen order ("model" is undefined here)."""
        if order == "model":
            raise ValueError(
                'replayed reports have no model order: use order="killchain" or "random"'
            )
        if split not in ("test", "train"):
            raise ValueError(f'split must be "test" or "train", got {split!r}')
        reports = self.corpus_reports[split]
        rid, columns = reports[int(rng.integers(len(reports)))]
        return Campaign(self.arrange(rng, columns, order), rid)


class CampaignStream:
    """The campaigns one environment plays: generative ones sampled `batch` at a time (one batched
    fold-in instead of a Python loop per campaign), replayed ones drawn one by one. `clear()` on
    reseeding empties the batch, so the same seed always gives the same campaigns."""

    def __init__(
        self,
        adversary: Adversary,
        campaign: str = "generative",
        order: Order = "model",
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = 1.0,
        split: str = "test",
        max_length: int | None = None,
        batch: int = 64,
    ) -> None:
        self.adversary, self.campaign, self.order = adversary, campaign, order
        self.temperature, self.top_p, self.split, self.max_length = (
            temperature,
            top_p,
            split,
            max_length,
        )
        self.batch = batch
        self._sequences = np.zeros((0, 1), dtype=np.int64)
        self._lengths = np.zeros(0, dtype=np.int64)
        self._offset = 0

    def clear(self) -> None:
        self._sequences, self._lengths, self._offset = self._sequences[:0], self._lengths[:0], 0

    def take(self, rng: np.random.Generator, count: int = 1) -> list[Campaign]:
        if self.campaign == "replay":
            return [self.adversary.replay(rng, self.order, self.split) for _ in range(count)]
        sequences, lengths = self.take_block(rng, count)
        return [
            Campaign(sequence[:length].copy(), "generated")
            for sequence, length in zip(sequences, lengths, strict=True)
        ]

    def take_block(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next `count` campaigns as (count, width) columns padded with -1, and lengths."""
        if self.campaign == "replay":
            return pack_campaigns(self.take(rng, count))
        if len(self._lengths) - self._offset < count:
            fresh, fresh_lengths = self.adversary.generate_block(
                rng,
                max(self.batch, count),
                self.temperature,
                self.top_p,
                self.order,
                self.max_length,
            )
            rest = self._sequences[self._offset :]
            width = max(rest.shape[1], fresh.shape[1])
            merged = np.full((len(rest) + len(fresh), width), -1, dtype=np.int64)
            merged[: len(rest), : rest.shape[1]] = rest
            merged[len(rest) :, : fresh.shape[1]] = fresh
            self._sequences = merged
            self._lengths = np.concatenate([self._lengths[self._offset :], fresh_lengths])
            self._offset = 0
        taken = slice(self._offset, self._offset + count)
        self._offset += count
        return self._sequences[taken], self._lengths[taken]


def pack_campaigns(campaigns: list[Campaign]) -> tuple[np.ndarray, np.ndarray]:
    """Campaigns as (count, longest) technique columns padded with -1, and their lengths."""
    lengths = np.array([len(c.techniques) for c in campaigns], dtype=np.int64)
    sequences = np.full((len(campaigns), int(lengths.max())), -1, dtype=np.int64)
    for row, campaign in enumerate(campaigns):
        sequences[row, : len(campaign.techniques)] = campaign.techniques
    return sequences, lengths
