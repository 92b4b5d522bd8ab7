"""The generative adversary's draws match the softmax it documents, on both samplers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recommenders.artifacts import CorpusStats, ModelManifest
from recommenders.models.ease import EASE
from tie_gym.adversary import Adversary

N, LENGTH, TEMPERATURE = 6, 3, 2.0


def _adversary() -> Adversary:
    rng = np.random.default_rng(7)
    weights = rng.normal(size=(N, N)).astype(np.float32)
    np.fill_diagonal(weights, 0.0)
    weights[5] = 0.0  # a technique that never co-occurred: its scores carry no signal
    model = EASE()
    model.weights, model.n_items = weights, N
    manifest = ModelManifest(
        tuple(f"T10{i:02d}" for i in range(N)),
        corpus_stats=CorpusStats(
            technique_report_counts=(5, 1, 2, 3, 1, 4),
            report_size_counts=(0,) * LENGTH + (1,),  # every campaign has LENGTH techniques
        ),
    )
    return Adversary(model, manifest)


def _exact(adversary: Adversary) -> dict[tuple[int, ...], float]:
    """P(sequence) by enumeration: popularity start, then softmax(z / T) over unused techniques,
    z = Σ B[seen] standardised over the unused ones, or popularity while those are all equal."""
    weights = adversary.model.weights.astype(np.float64)  # type: ignore[attr-defined]
    popularity = np.exp(adversary.generator._popularity_logits.astype(np.float64) / TEMPERATURE)
    exact = {}
    for sequence in itertools.permutations(range(N), LENGTH):
        p = adversary.popularity[sequence[0]]
        for step in range(1, LENGTH):
            seen = list(sequence[:step])
            unused = np.setdiff1d(np.arange(N), seen)
            scores = weights[seen].sum(axis=0)[unused]
            if scores.std() <= 1e-9:
                odds = popularity[unused]
            else:
                odds = np.exp((scores - scores.mean()) / scores.std() / TEMPERATURE)
            p *= odds[list(unused).index(sequence[step])] / odds.sum()
        exact[sequence] = p
    return exact


@pytest.mark.parametrize("sampler", ["compiled", "numpy"])
def test_generated_campaigns_follow_the_softmax(sampler):
    adversary = _adversary()
    if sampler == "numpy":
        adversary.generator._additive[TEMPERATURE] = None  # not additive: the NumPy path runs
    else:
        assert adversary.generator._additive_tables(TEMPERATURE) is not None
    rng = np.random.default_rng(0)
    draws = 40_000
    campaigns = adversary.generate(rng, draws, temperature=TEMPERATURE)
    counts: dict[tuple[int, ...], int] = {}
    for campaign in campaigns:
        key = tuple(int(t) for t in campaign.techniques)
        assert len(set(key)) == LENGTH  # never a technique twice
        counts[key] = counts.get(key, 0) + 1
    exact = _exact(adversary)
    assert set(counts) <= set(exact)
    chi_square = sum(
        (counts.get(key, 0) - draws * p) ** 2 / (draws * p) for key, p in exact.items()
    )
    degrees = len(exact) - 1  # 119: mean 119, sd ≈ 15.4
    assert chi_square < degrees + 5 * np.sqrt(2 * degrees)
    # the flat start (technique 5) falls back to popularity, not to a uniform draw
    after_flat = [k[1] for k in counts for _ in range(counts[k]) if k[0] == 5]
    assert np.bincount(after_flat, minlength=N).argmax() == 0  # the most popular technique


def test_compiled_sampler_is_seeded():
    first = _adversary().generate(np.random.default_rng(3), 50, temperature=TEMPERATURE)
    again = _adversary().generate(np.random.default_rng(3), 50, temperature=TEMPERATURE)
    assert all(
        np.array_equal(a.techniques, b.techniques) for a, b in zip(first, again, strict=True)
    )


def test_cold_temperatures_take_the_numpy_sampler():
    """Below the compiled sampler's exponent range the NumPy one runs, and still draws validly."""
    from tie_gym.adversary.additive import supports

    adversary = _adversary()
    assert supports(TEMPERATURE, N) and not supports(0.001, N)
    assert adversary.generator._additive_tables(0.001) is None
    for campaign in adversary.generate(np.random.default_rng(0), 200, temperature=0.001):
        assert len(set(campaign.techniques.tolist())) == LENGTH


@pytest.mark.parametrize("temperature", [1.65, "coldest"])
def test_compiled_weights_are_the_standardised_softmax(temperature):
    """The polynomial exp and the moment shift give softmax(z / T) over the unused columns,
    down to the coldest temperature `supports` admits."""
    from tie_gym.adversary.additive import (
        _TWO_TO_U,
        BLOCK,
        _add_and_moments,
        _fill_weights,
        supports,
    )

    n, padded = 580, 608
    if temperature == "coldest":
        temperature = 2 * np.sqrt(n) / 700 * 1.0001
    assert supports(temperature, n)
    rng = np.random.default_rng(0)
    scores = np.zeros(padded)
    row = np.zeros(padded)
    row[:n] = rng.standard_t(2, n)  # heavy tails: a few far-out scores, as after long campaigns
    unused = np.zeros(padded)
    unused[:n] = 1.0
    unused[rng.choice(n, 40, replace=False)] = 0.0
    count, mean, spread = _add_and_moments(scores, unused, row)
    weights, blocks = np.empty(padded), np.empty(padded // BLOCK)
    total = _fill_weights(
        scores,
        unused,
        mean + spread * np.sqrt(count),
        1 / (spread * temperature),
        weights,
        blocks,
        _TWO_TO_U,
    )
    live = unused > 0
    z = (scores[live] - scores[live].mean()) / scores[live].std()
    exact = np.exp((z - z.max()) / temperature)
    np.testing.assert_allclose(weights[live] / total, exact / exact.sum(), rtol=1e-6, atol=1e-300)
    assert np.all(weights[~live] == 0) and np.isclose(blocks.sum(), total)


def test_a_running_campaign_draws_its_length_given_that_it_goes_on():
    """A planner continuing a 5-technique prefix must draw L from P(L | L ≥ 6), not raise every
    shorter draw to 6 (that put 43% of the mass on L = 6 against a true 11%)."""
    import gymnasium as gym

    adversary = gym.make("TIE-Defend-v0").unwrapped.adversary
    sizes = adversary.size_probabilities
    start, draws = np.arange(5), 6000
    _, lengths = adversary.sample(
        np.random.default_rng(0), draws, 1.65, initial=[start] * draws, running=True
    )
    assert lengths.min() >= 6
    expected = sizes[6:] / sizes[6:].sum()
    observed = np.bincount(lengths, minlength=len(sizes))[6:] / draws
    assert np.abs(observed - expected).max() < 0.02  # ~4.5 standard errors at the largest cell
    _, clipped = adversary.sample(np.random.default_rng(0), draws, 1.65, initial=[start] * draws)
    assert np.mean(clipped == 6) > 0.3  # the env's reset keeps its documented rule
