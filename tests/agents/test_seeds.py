"""Training, hyperparameter selection and the benchmark play disjoint episode seeds."""

import itertools
from types import SimpleNamespace

import pytest

from agents.evaluate import (
    EVALUATION_SEED,
    SEED_RANGE_WIDTH,
    SELECTION_SEED,
    TRAIN_EVAL_SEED_OFFSET,
    parse_args,
)
from agents.train import AgentTrainConfig, train
from benchmarks import agents_sweep


def test_the_default_seed_ranges_do_not_overlap():
    evaluation, sweep = parse_args([]), agents_sweep.parse_args([])
    assert evaluation.seed == EVALUATION_SEED and sweep.seed == SELECTION_SEED
    assert max(evaluation.episodes, sweep.episodes) <= SEED_RANGE_WIDTH
    ranges = {
        "training envs": (0, TRAIN_EVAL_SEED_OFFSET),
        "training EvalCallback": (TRAIN_EVAL_SEED_OFFSET, 2 * TRAIN_EVAL_SEED_OFFSET),
        "evaluation": (EVALUATION_SEED, EVALUATION_SEED + SEED_RANGE_WIDTH),
        "selection": (SELECTION_SEED, SELECTION_SEED + SEED_RANGE_WIDTH),
    }
    spans = sorted(ranges.values())
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, ranges
    used = [
        (evaluation.seed, evaluation.seed + evaluation.episodes),
        (sweep.seed, sweep.seed + sweep.episodes),
    ]
    assert used[0][1] <= used[1][0] or used[1][1] <= used[0][0]


def test_training_seeds_that_would_reach_the_eval_callback_range_are_refused(tmp_path):
    config = AgentTrainConfig(
        algo="ppo",
        seed=TRAIN_EVAL_SEED_OFFSET - 1,
        n_envs=2,
        timesteps=64,
        eval_freq=10**6,
        out=str(tmp_path),
        progress=False,
    )
    with pytest.raises(ValueError, match="seed must lie in"):
        train(config)


def test_the_sweep_refuses_seeds_in_the_evaluation_range():
    with pytest.raises(SystemExit):
        agents_sweep.parse_args(["--seed", str(EVALUATION_SEED), "--episodes", "10"])


@pytest.mark.parametrize("suite", sorted(agents_sweep.SUITES))
def test_the_sweep_scores_every_setting_on_selection_episodes(tmp_path, monkeypatch, suite):
    settings = agents_sweep.SUITES[suite]
    for name, (algo, env_id, _) in settings.items():
        run = tmp_path / f"{algo}-{env_id}-seed0-{name}"
        run.mkdir()
        (run / "final.zip").touch()
    seeds = []

    def fake_run_episodes(env, agent, episodes, seed):
        seeds.append((seed, episodes))
        return {"hit@k": [0.0], "hit@1": [0.0]}

    table = tmp_path / "table.md"
    table.write_text("table\n")
    # no training processes, no models, no results file: only the selection wiring runs
    monkeypatch.setattr(
        agents_sweep.subprocess, "run", lambda *a, **k: SimpleNamespace(returncode=0)
    )
    monkeypatch.setattr(agents_sweep, "load_run", lambda path, env: None)
    monkeypatch.setattr(
        agents_sweep, "PolicyAgent", lambda model, n: SimpleNamespace(features="none")
    )
    monkeypatch.setattr(agents_sweep, "run_episodes", fake_run_episodes)
    monkeypatch.setattr(agents_sweep, "write_table", lambda *a: table)
    agents_sweep.main(["--suite", suite, "--runs", str(tmp_path), "--jobs", "1"])
    assert seeds == [(SELECTION_SEED, 200)] * len(settings)
