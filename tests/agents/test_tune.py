"""Agent studies through Ray Tune at a tiny budget: 2 algorithms × 2 seeds, and an Optuna phase."""

import copy
import json
import pickle

import pytest

from agents.tune import StudyConfig, study

TINY = {"n_steps": 16, "batch_size": 16, "n_epochs": 1}


def _study(tmp_path, **changes):
    settings = dict(
        envs=("TIE-ForecastGuess-v0",),
        algos=("ppo", "maskable_ppo"),
        seeds=(0, 1),
        timesteps=64,
        n_envs=1,
        eval_freq=32,
        eval_episodes=2,
        selection_episodes=3,
        overrides=TINY,
        out=str(tmp_path),
    )
    return StudyConfig(**{**settings, **changes})


def test_a_grid_of_two_algorithms_and_two_seeds_writes_agents_train_runs(ray_cluster, tmp_path):
    rows = study(_study(tmp_path))
    assert len(rows) == 4 and not any("error" in r for r in rows)
    assert {(r["algo"], r["seed"]) for r in rows} == {
        ("ppo", 0),
        ("ppo", 1),
        ("maskable_ppo", 0),
        ("maskable_ppo", 1),
    }
    for row in rows:
        record = json.loads(
            (tmp_path / "runs" / row["run"].split("/")[-1] / "run.json").read_text()
        )
        assert record["config"]["seed"] == row["seed"] and record["config"]["algo"] == row["algo"]
        assert 0.0 <= row["selection_score"] <= 1.0
    assert "selection score" in (tmp_path / "study.md").read_text()


def test_the_grid_spans_envs_and_each_trial_trains_and_is_scored_on_its_own(ray_cluster, tmp_path):
    envs = ("TIE-ForecastGuess-v0", "TIE-Defend-v0")
    rows = study(_study(tmp_path, envs=envs, algos=("maskable_ppo",), seeds=(0,)))
    assert sorted(r["env"] for r in rows) == sorted(envs)
    for row in rows:
        record = json.loads(
            (tmp_path / "runs" / row["run"].split("/")[-1] / "run.json").read_text()
        )
        assert record["config"]["env"] == row["env"]
    defend = next(r for r in rows if r["env"] == "TIE-Defend-v0")
    guess = next(r for r in rows if r["env"] == "TIE-ForecastGuess-v0")
    assert 0.0 <= guess["selection_score"] <= 1.0  # hits per forecast
    assert defend["selection_score"] != guess["selection_score"]  # Defend's return per campaign
    assert "| TIE-Defend-v0 |" in (tmp_path / "study.md").read_text()


def test_an_optuna_phase_chooses_settings_then_the_seed_grid_uses_them(ray_cluster, tmp_path):
    rows = study(_study(tmp_path, algos=("ppo",), search="optuna", samples=2, timesteps=96))
    search = [r for r in rows if r["phase"].startswith("search")]
    seeds = [r for r in rows if r["phase"] == "seeds"]
    assert len(search) == 2 and len(seeds) == 2
    chosen = json.loads((tmp_path / "study.json").read_text())["chosen"]["ppo"]
    assert set(chosen) == {"learning_rate", "ent_coef"}
    assert all(r["settings"] == chosen for r in seeds)
    record = json.loads(
        (tmp_path / "runs" / seeds[0]["run"].split("/")[-1] / "run.json").read_text()
    )
    assert record["hyperparameters"]["learning_rate"] == pytest.approx(chosen["learning_rate"])
    runs = [r["run"] for r in rows]
    assert len(set(runs)) == len(runs)  # the grid never overwrites a search trial's folder


def test_a_data_error_survives_copy_and_pickle():  # Ray copies a trial's exception
    from recommenders.errors import DataError

    error = DataError("f.yml", "x", "bad", "fix it")
    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert str(clone) == str(error) and clone.fix == "fix it"
