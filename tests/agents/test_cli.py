"""The agents CLIs as a new user meets them: no data folder, --help, one-line errors, threads."""

import argparse
import os
import subprocess
import sys

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import agents.evaluate
import agents.train
from agents.train import AgentTrainConfig, EnvTimer, train
from recommenders.errors import DataError


def _without_data_dir() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "TIE_DATA_DIR"}


def _evaluate(tmp_path, *argv: str) -> subprocess.CompletedProcess:
    """`python -m agents.evaluate` run from outside the source tree, without TIE_DATA_DIR."""
    return subprocess.run(
        [sys.executable, "-m", "agents.evaluate", *argv, "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=_without_data_dir(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_evaluate_without_data_runs_the_default_agents_from_the_shipped_model(tmp_path):
    done = _evaluate(tmp_path, "--env", "TIE-Forecast-v0", "--episodes", "2")
    assert done.returncode == 0, done.stderr
    # matplotlib says "generated new fontManager" once per machine, on its first plot
    notice = [line for line in done.stderr.strip().splitlines() if "fontManager" not in line]
    assert len(notice) == 1, done.stderr  # the skipped default, in one line, and nothing else
    assert "markov" in notice[0] and "TIE_DATA_DIR" in notice[0] and "skipping" in notice[0]
    table = (tmp_path / "out" / "results.md").read_text()
    for agent in ("random", "frequency", "greedy", "greedy_tactic"):
        assert f"| {agent} |" in table
    assert "markov" not in table


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--env", "TIE-Forecast-v0", "--agents", "greedy", "markov"], "markov"),
        (["--env", "TIE-ForecastReplay-v0", "--agents", "greedy"], "TIE-ForecastReplay-v0"),
    ],
)
def test_evaluate_stops_in_one_line_when_what_the_user_named_needs_the_corpus(
    tmp_path, argv, named
):
    done = _evaluate(tmp_path, *argv, "--episodes", "2")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert named in lines[0] and "TIE_DATA_DIR" in lines[0] and "Fix:" in lines[0]
    assert not (tmp_path / "out").exists()


def test_training_on_a_replay_env_without_data_stops_before_any_step(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    argv = ["--env", "TIE-ForecastReplayTrainGuess-v0", "--timesteps", "64", "--n-envs", "1"]
    assert agents.train.main([*argv, "--out", str(tmp_path), "--no-progress"]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "TIE-ForecastReplayTrainGuess-v0" in errors[0] and "TIE_DATA_DIR" in errors[0]
    assert not any(tmp_path.iterdir())


def test_markov_names_itself_when_the_corpus_is_missing(monkeypatch):
    import gymnasium as gym

    from agents.markov import fit_transitions

    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    adversary = gym.make("TIE-Forecast-v0").unwrapped.adversary
    with pytest.raises(DataError, match=r"TIE_DATA_DIR: markov .*not set\. Fix: set TIE_DATA_DIR"):
        fit_transitions(adversary)


@pytest.mark.parametrize("algo", ["dqn", "maskable_ppo"])
def test_single_guess_algorithms_refuse_a_score_vector_env_up_front(algo, tmp_path):
    config = AgentTrainConfig(algo=algo, env="TIE-Forecast-v0", out=str(tmp_path), progress=False)
    with pytest.raises(DataError, match=r"algo: .*single-guess.*Fix: train on"):
        train(config)


@pytest.mark.parametrize("module", [agents.train, agents.evaluate])
def test_every_option_has_help_and_shows_its_default(module, capsys):
    parser = module.build_parser()
    assert issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter)
    options = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert options and all(a.help for a in options), [a.dest for a in options if not a.help]
    with pytest.raises(SystemExit):
        module.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    suppressed = [a for a in options if a.default is argparse.SUPPRESS]
    assert text.count("(default:") == len(options), "an option's default is not shown"
    assert all("(default:" in a.help for a in suppressed)


def test_evaluate_help_explains_the_learned_agent_syntax(capsys):
    with pytest.raises(SystemExit):
        agents.evaluate.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "NAME=GLOB" in text and "run folders" in text and "one per training seed" in text


def _blas_threads() -> int:
    return max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


def test_training_steps_its_envs_on_one_blas_thread(tmp_path, monkeypatch):
    seen = []
    step_wait = EnvTimer.step_wait

    def recording_step_wait(self):
        seen.append(_blas_threads())
        return step_wait(self)

    monkeypatch.setattr(EnvTimer, "step_wait", recording_step_wait)
    with threadpool_limits(2, "blas"):
        if _blas_threads() != 2:
            pytest.skip("this BLAS cannot be given two threads")
        config = AgentTrainConfig(
            algo="ppo", timesteps=64, n_envs=2, eval_freq=10**6, out=str(tmp_path), progress=False
        )
        train(config)
    assert seen and set(seen) == {1}


def test_evaluation_runs_single_threaded(tmp_path, monkeypatch):
    seen = []
    run_episodes = agents.evaluate.run_episodes

    def recording_run_episodes(*args, **kwargs):
        seen.append((_blas_threads(), torch.get_num_threads()))
        return run_episodes(*args, **kwargs)

    monkeypatch.setattr(agents.evaluate, "run_episodes", recording_run_episodes)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threadpool_limits(2, "blas"):
            if _blas_threads() != 2:
                pytest.skip("this BLAS cannot be given two threads")
            argv = ["--env", "TIE-Forecast-v0", "--agents", "greedy", "--episodes", "1"]
            assert agents.evaluate.main([*argv, "--out", str(tmp_path)]) == 0
    finally:
        torch.set_num_threads(threads)
    assert seen == [(1, 1)]


def test_learning_curves_skip_runs_without_evaluations(tmp_path, caplog):
    """A run shorter than --eval-freq has no evaluations.npz: the plot skips it with a notice."""
    from agents.evaluate import learning_curves

    (tmp_path / "ppo-TIE-ForecastGuess-v0-seed0").mkdir()
    learning_curves([f"short={tmp_path}/ppo-*"], tmp_path / "curves.png")
    assert (tmp_path / "curves.png").is_file() and "no evaluations.npz" in caplog.text


def test_a_setting_error_names_the_setting_first():
    from recommenders.errors import DataError

    message = str(DataError(None, "TIE_DATA_DIR", "not set", "set it"))
    assert message.startswith("TIE_DATA_DIR: not set")
