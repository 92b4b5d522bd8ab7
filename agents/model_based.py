"""A defender that learns the adversary from experience, then deploys greedily on what it learnt.

Greedy is close to optimal when its recommender *is* the adversary's (TIE-Defend's generative
env): there is little for a policy to learn. When the adversary is another model — another
family, another corpus, a real actor — the heuristics keep reasoning with the wrong one. This
defender spends its training budget watching campaigns instead: it plays `wait` on training
episodes (every technique of the campaign is then revealed), fits EASE to those technique sets,
chooses EASE's λ by its return on selection episodes, and then acts as greedy on that model.
Seeds: training from `seed` (agents.train's range), selection from `SELECTION_SEED`, never the
benchmark's evaluation range (agents/evaluate.py). Where the training side is a finite list
(replayed train reports, the train incidents of a flow env) selection episodes replay campaigns
it watched, so λ is chosen in sample there; on generated campaigns they are new.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import scipy.sparse as sp

from agents.baselines import GreedyAgent
from agents.defenders import ForecastDefender, WaitDefender, run_defence
from agents.evaluate import SELECTION_SEED
from recommenders.models.ease import EASE

REGULARIZATION = (100.0, 300.0, 1_000.0, 3_000.0, 10_000.0)
"""EASE's λ candidates: experience is many short, noisy sets, so the strong end is tried."""


def watch(env: gym.Env, episodes: int, seed: int) -> sp.csr_matrix:
    """(episodes, techniques) the techniques each campaign revealed while the defender waited."""
    n = env.unwrapped.n_techniques  # type: ignore[attr-defined]
    waiting = WaitDefender(n)
    rows = []
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        done = False
        while not done:
            action = waiting.act(observation, info)
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        rows.append(np.flatnonzero(waiting.schema.seen(observation)))
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(rows), n)
    )


@dataclass(frozen=True)
class LearnedAdversary:
    """The model fitted to experience, and how it was chosen."""

    model: EASE
    campaigns: int
    selection: dict[float, float]
    """λ → mean return on the selection episodes."""

    def defender(self) -> ForecastDefender:
        """Greedy on the learnt model."""
        return ForecastDefender(GreedyAgent(self.model))


def learn_adversary(
    env: gym.Env, episodes: int, seed: int = 0, selection_episodes: int = 200
) -> LearnedAdversary:
    """Watch `episodes` training campaigns of `env`, fit EASE to them for each λ, keep the λ
    whose greedy returns most on `selection_episodes` selection episodes."""
    campaigns = watch(env, episodes, seed)
    selection: dict[float, float] = {}
    models: dict[float, EASE] = {}
    for regularization in REGULARIZATION:
        models[regularization] = EASE(regularization).fit(campaigns)
        played = run_defence(
            env,
            ForecastDefender(GreedyAgent(models[regularization])),
            selection_episodes,
            SELECTION_SEED,
        )
        selection[regularization] = float(np.mean(played["return"]))
    best = max(selection, key=lambda r: selection[r])
    return LearnedAdversary(models[best], episodes, selection)
