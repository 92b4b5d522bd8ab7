"""The examples a new user copies from must keep running."""

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("script", "argv"),
    [
        ("quickstart.py", []),
        ("compare_baselines.py", ["--episodes", "5"]),
        ("train_sb3.py", ["--timesteps", "512", "--episodes", "3"]),
    ],
)
def test_example_runs(script, argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script, *argv])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert "hit" in capsys.readouterr().out


def test_the_sb3_example_trains_the_residual_policy_and_explains_its_numbers(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["train_sb3.py", "--timesteps", "512", "--episodes", "3"])
    runpy.run_path(str(EXAMPLES / "train_sb3.py"), run_name="__main__")
    out = capsys.readouterr().out
    rows = dict(re.findall(r"^  (\S.*?)\s{2,}(\d\.\d{3}) ±", out, flags=re.M))
    assert {"frequency (most common unseen)", "greedy (TIE's forecast)"} <= set(rows)
    assert rows["residual PPO, untrained"] == rows["greedy (TIE's forecast)"]  # starts as greedy
    assert "residual PPO, 512 steps" in rows
    assert "Bayes forecast" in out and "What the numbers mean" in out


def test_examples_leave_no_sb3_folders_in_the_temp_directory(monkeypatch, tmp_path, capsys):
    """SB3's default logger makes an empty SB3-<date> folder in the temp directory per run."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["train_sb3.py", "--timesteps", "256", "--episodes", "1"])
    runpy.run_path(str(EXAMPLES / "train_sb3.py"), run_name="__main__")
    assert not list(tmp_path.glob("SB3-*"))


@pytest.mark.parametrize(
    ("env_id", "vector"),
    [("TIE-ForecastGuess-v0", "ForecastVectorEnv"), ("TIE-Defend-v0", "DefendVectorEnv")],
)
def test_the_rllib_example_trains_ppo_on_the_native_vector_env(ray_cluster, env_id, vector):
    pytest.importorskip("ray.rllib", reason="RLlib's dependencies are in the [scale] extra")
    example = runpy.run_path(str(EXAMPLES / "train_rllib.py"))
    result = example["main"](["--env", env_id, "--iterations", "2", "--envs", "4", "--batch", "64"])
    assert result["vector_env"] == vector
    assert result["iteration"] == 2 and result["env_steps"] >= 128
    assert result["episode_return_mean"] == result["episode_return_mean"]  # episodes ended: not NaN
    assert ray_cluster.is_initialized()  # the caller's Ray is left running
