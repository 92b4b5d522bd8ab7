"""Generative campaigns: the recommender samples the adversary's next technique step by step.

Each campaign starts from a popularity draw (or a given start), then repeatedly samples the next
technique from softmax(z / T) restricted to the smallest set whose probability reaches `top_p`,
where z are the model's fold-in scores of the unused techniques, standardised over those
techniques at every step (zero mean, unit variance).

Why per step: a family's score spread grows with the evidence folded in (for the shipped EASE,
~8× over 15 reveals), so one fixed scale made the effective temperature fall from 4.8 to 0.7
over a campaign: generated campaigns got far easier as they went on (greedy hit@10 0.10 at the
first forecast, 0.93 after 15), while real reports vary far less (0.2–0.4). Standardised, the
profile is 0.50 → 0.34 against real reports' 0.33 → 0.42 (benchmarks/results/temperature.md):
not level, but within 0.17 of the real one at every stage instead of 0.57, and the temperature
means the same for every family and step.

A row whose unused scores are all equal (e.g. EASE after a technique that never co-occurred in
training) carries no signal, so it samples from tempered popularity: softmax(standardised
log-popularity / T). EASE campaigns without a given start or nucleus cut take the compiled
sampler (`additive.py`); everything else the NumPy one here. Both draw the same distribution.
"""

from __future__ import annotations

import numpy as np

from recommenders.models import Recommender
from recommenders.models.foldin import IncrementalFoldIn
from tie_gym.adversary.additive import BLOCK, FLAT, sample_campaigns, supports
from tie_gym.adversary.draws import draw_from_cdf, draw_rows
from tie_gym.adversary.ordering import Arranger, Order


class GenerativeSampler:
    """Samples campaigns from a model, the training corpus's popularity and report sizes."""

    def __init__(
        self,
        model: Recommender,
        popularity: np.ndarray,
        size_probabilities: np.ndarray,
        arranger: Arranger,
    ) -> None:
        self.model = model
        self.n_techniques = len(popularity)
        self.arrange = arranger
        self._popularity_cdf = np.cumsum(popularity)
        self._size_cdf = np.cumsum(size_probabilities)
        log_pop = np.log(np.maximum(popularity, 1e-12))
        self._popularity_logits = ((log_pop - log_pop.mean()) / log_pop.std()).astype(np.float32)
        self._fold_ins: dict[int, IncrementalFoldIn] = {}
        self._additive: dict[float, tuple[np.ndarray, np.ndarray] | None] = {}

    def sample_lengths(
        self,
        rng: np.random.Generator,
        count: int,
        max_length: int | None = None,
        at_least: np.ndarray | None = None,
    ) -> np.ndarray:
        """Campaign lengths from the training corpus's report-size distribution (≥ 2); with
        `at_least`, from that distribution *given* that campaign i is at least `at_least[i]` long
        (one uniform draw per campaign either way)."""
        cap = min(max_length or self.n_techniques, self.n_techniques)
        if at_least is None:
            return np.minimum(draw_from_cdf(rng, self._size_cdf, count), cap)
        cdf = self._size_cdf
        floor = np.minimum(np.asarray(at_least, dtype=np.int64), len(cdf) - 1)
        below = np.where(floor > 0, cdf[np.maximum(floor - 1, 0)], 0.0)  # P(L < at_least)
        uniforms = below + rng.random(count) * (1.0 - below)
        drawn = np.minimum(np.searchsorted(cdf, uniforms, side="right"), len(cdf) - 1)
        return np.minimum(np.maximum(drawn, floor), cap)

    def sample(
        self,
        rng: np.random.Generator,
        count: int,
        temperature: float,
        top_p: float = 1.0,
        order: Order = "model",
        initial: list[np.ndarray] | None = None,
        max_length: int | None = None,
        running: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`count` campaigns as (count, width) technique columns padded with -1, and lengths.

        `initial[i]`, when given, is campaign i's start, shown in front whatever the order. Its
        length is the drawn one, raised to the start + 1 where shorter (an env reset with a given
        start: one technique left to forecast); with `running`, it is drawn from the size
        distribution *given* that it exceeds the start (a planner continuing a campaign known to
        go on: raising short draws puts far too much mass on one more step).
        """
        if not (
            np.isfinite(temperature) and temperature > 0 and np.isfinite(top_p) and 0 < top_p <= 1
        ):
            raise ValueError(
                f"temperature must be > 0 and top_p in (0, 1], got {temperature}, {top_p}"
            )
        tables = self._additive_tables(temperature) if initial is None and top_p == 1 else None
        if tables is None:
            return self._sample_numpy(
                rng, count, temperature, top_p, order, initial, max_length, running
            )
        lengths = self.sample_lengths(rng, count, max_length)
        starts = draw_from_cdf(rng, self._popularity_cdf, count)
        uniforms = rng.random((count, int(lengths.max())))
        sequences = sample_campaigns(*tables, 1.0 / temperature, starts, lengths, uniforms)
        if order != "model":
            for sequence, length in zip(sequences, lengths, strict=True):
                sequence[:length] = self.arrange(rng, sequence[:length], order, keep_first=1)
        return sequences, lengths

    def _sample_numpy(
        self,
        rng: np.random.Generator,
        count: int,
        temperature: float,
        top_p: float,
        order: Order,
        initial: list[np.ndarray] | None,
        max_length: int | None,
        running: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Any family: batched incremental fold-in, one `next_techniques` per step."""
        if initial is None:
            lengths = self.sample_lengths(rng, count, max_length)
            starts = np.ones(count, dtype=np.int64)
            given_sets = list(draw_from_cdf(rng, self._popularity_cdf, count)[:, None])
        else:  # given starts draw no random number, so the lengths' draw keeps its place
            given_sets = [np.asarray(given, dtype=np.int64) for given in initial]
            starts = np.array([len(given) for given in given_sets], dtype=np.int64)
            at_least = np.minimum(starts + 1, self.n_techniques) if running else None
            lengths = self.sample_lengths(rng, count, max_length, at_least)
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
            chosen = self.next_techniques(
                rng, fold_in.scores(active), sequences[positions, :step], temperature, top_p
            )
            sequences[positions, step] = chosen
            fold_in.add(active, chosen)
        out = np.full_like(sequences, -1)
        for position, campaign in enumerate(order_by_length):
            techniques = sequences[position, : lengths[position]]
            out[campaign, : lengths[position]] = self.arrange(
                rng, techniques, order, keep_first=int(starts[position])
            )
        return out, lengths[np.argsort(order_by_length)]

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
            item_scores[:, :n] = self.model.weights  # type: ignore[attr-defined]
            tables = (item_scores, self._popularity_weights(temperature, padded))
        self._additive[temperature] = tables
        return tables

    def _popularity_weights(self, temperature: float, width: int) -> np.ndarray:
        """The flat-score fallback: unnormalised softmax(standardised log-popularity / T),
        zero-padded to `width` (both samplers use this one table)."""
        logits = self._popularity_logits.astype(np.float64)
        weights = np.zeros(width)
        weights[: len(logits)] = np.exp((logits - logits.max()) / temperature)
        return weights

    def _fold_in(self, count: int) -> IncrementalFoldIn:
        """A reset fold-in state for `count` campaigns, reused between calls (no per-reset setup)."""
        fold_in = self._fold_ins.get(count)
        if fold_in is None:
            fold_in = self._fold_ins[count] = self.model.incremental_fold_in(count)
        fold_in.reset(np.arange(count))
        return fold_in

    def next_techniques(
        self,
        rng: np.random.Generator,
        scores: np.ndarray,
        used: np.ndarray,
        # (rows, t) columns each row has already used: zeroed by index, not by a full mask pass
        temperature: float,
        top_p: float,
    ) -> np.ndarray:
        """One draw per row from softmax(z / T) over unused techniques, z the scores standardised
        over them (popularity when they are all equal), nucleus-cut to `top_p`."""
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
        return draw_rows(rng, weights)
