"""Seeded behaviour pinned before a refactor: episodes of every registered id, fold-in scores of
every family, campaigns of the NumPy sampler's paths (the registered ids all take the compiled
EASE sampler), and a quick training run's metrics. A refactor that changes none of them keeps
`tests/test_golden.py` green; a deliberate behaviour change re-records them (and bumps the env
ids): `python -m tests.golden.record` (with TIE_DATA_DIR for the replay ids).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import scipy.sparse as sp

import tie_gym
from recommenders.models import FAMILIES, make_model
from recommenders.train import TrainConfig, run

GOLDEN = Path(__file__).with_name("golden.json")
SEEDS = (0, 1)
STEPS = 12


def _digest(array: np.ndarray) -> str:
    """A short hash of an observation rounded to 4 decimals (robust to last-bit float noise)."""
    return hashlib.sha1(np.round(np.asarray(array, dtype=np.float64), 4).tobytes()).hexdigest()[:12]


def episodes(env_id: str) -> list[list[Any]]:
    """Per seed: the first observation's digest, then per step (reward, done, obs digest)."""
    out = []
    for seed in SEEDS:
        env = gym.make(env_id)
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        trace: list[Any] = [_digest(obs)]
        for _ in range(STEPS):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append([round(float(reward), 6), bool(terminated or truncated), _digest(obs)])
            if terminated or truncated:
                obs, _ = env.reset()
                trace.append(_digest(obs))
        out.append(trace)
    return out


def fold_ins() -> dict[str, list[list[float]]]:
    """Every family's fold-in scores (3 decimals) of three fixed reports."""
    from tests.conftest import make_block_matrix
    from tests.recommenders.test_models import SMALL

    observed = sp.csr_matrix(
        (np.ones(5, dtype=np.float32), ([0, 0, 1, 2, 2], [0, 1, 6, 3, 9])), shape=(3, 12)
    )
    out = {}
    for family in sorted(FAMILIES):
        model = make_model(family, **SMALL[family]).fit(make_block_matrix(), seed=0)
        out[family] = np.round(model.score(observed).astype(np.float64), 3).tolist()
    return out


def metrics() -> dict[str, Any]:
    """A quick run's test metrics (6 decimals) on the test suite's fixture data folder."""
    from tests.conftest import write_data_dir

    with tempfile.TemporaryDirectory() as tmp:
        root = write_data_dir(Path(tmp))
        run_dir = run(
            TrainConfig(
                data_dir=str(root),
                out=str(root / "out"),
                quick=True,
                models=("top_items", "ease", "wals"),
                plots=False,
                threads=1,
            )
        )
        values = json.loads((run_dir / "metrics.json").read_text())
    return {
        protocol: {
            name: {k: round(v, 6) for k, v in sorted(values[protocol][name]["test"].items())}
            for name in sorted(values[protocol])
        }
        for protocol in ("pair", "report")
    }


def sampler_paths() -> dict[str, list[list[int]]]:
    """Campaigns the NumPy sampler draws: nucleus cut, a temperature too cold for the compiled
    sampler, given starts in kill-chain order, and a WALS adversary (mixed lengths throughout)."""
    from recommenders.artifacts import CorpusStats, ModelManifest
    from tests.conftest import make_block_matrix
    from tie_gym.adversary import Adversary

    ease = Adversary.load("default")
    ids = tuple(f"T{1000 + i}" for i in range(12))
    manifest = ModelManifest(
        ids,
        tactic_order=("initial-access", "execution"),
        technique_tactics={
            t: ("initial-access" if i % 3 == 0 else "execution",) for i, t in enumerate(ids)
        },
        corpus_stats=CorpusStats((0, 0, 3, 4, 2, 1, 1), (5, 1, 2, 3, 1, 4, 2, 2, 3, 1, 1, 6)),
    )
    wals = Adversary(
        make_model("wals", factors=4, epochs=3).fit(make_block_matrix(), seed=0), manifest
    )
    starts = [np.array([3, 10]), np.array([5]), np.array([7, 1, 2]), np.array([0])] * 2
    starts.append(np.array([11]))

    def take(adversary: Adversary, seed: int, **kwargs: Any) -> list[list[int]]:
        campaigns = adversary.generate(np.random.default_rng(seed), 9, **kwargs)
        return [c.techniques.tolist() for c in campaigns]

    return {
        "ease_top_p": take(ease, 1, top_p=0.9),
        "ease_cold": take(ease, 2, temperature=0.05),
        "ease_start_killchain": take(ease, 3, order="killchain", initial=starts),
        "wals": take(wals, 4),
        "wals_random_top_p": take(wals, 5, order="random", top_p=0.8),
        "wals_start_killchain": take(wals, 6, order="killchain", initial=starts, max_length=4),
    }


def registered_ids(with_replay: bool) -> list[str]:
    ids = [*tie_gym.PRESETS, *tie_gym.DEFEND_PRESETS]
    return [i for i in ids if with_replay or not needs_data(i)]


def needs_data(env_id: str) -> bool:
    """Replayed reports and flows are read from the data folder (TIE_DATA_DIR)."""
    return "Replay" in env_id or "Flow" in env_id


def record() -> dict[str, Any]:
    with_replay = bool(os.environ.get("TIE_DATA_DIR"))
    return {
        "episodes": {env_id: episodes(env_id) for env_id in registered_ids(with_replay)},
        "fold_in": fold_ins(),
        "sampler_paths": sampler_paths(),
        "metrics": metrics(),
    }


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(record(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
