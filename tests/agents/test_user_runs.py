"""agents.train and agents.evaluate keep a user's runs whole and play what a user brings."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest

import agents.train
import tie_gym  # noqa: F401
from agents.evaluate import build_agents, run_episodes
from agents.train import AgentTrainConfig, train
from recommenders.errors import DataError

TINY = {"n_steps": 16, "batch_size": 16, "n_epochs": 1}


def _config(tmp_path: Path, **changes) -> AgentTrainConfig:
    settings = dict(
        algo="ppo",
        env="TIE-ForecastGuess-v0",
        timesteps=32,
        n_envs=2,
        eval_freq=32,
        eval_episodes=2,
        overrides=TINY,
        out=str(tmp_path / "runs"),
        progress=False,
    )
    return AgentTrainConfig(**{**settings, **changes})


def test_an_existing_run_folder_is_refused_then_replaced_whole_with_overwrite(tmp_path):
    first = train(_config(tmp_path))
    stamp = (first / "run.json").stat().st_mtime_ns
    with pytest.raises(DataError, match=r"exists.*Fix: pass --overwrite.*--seed"):
        train(_config(tmp_path))
    assert (first / "run.json").stat().st_mtime_ns == stamp  # untouched
    second = train(_config(tmp_path, overwrite=True, timesteps=64))
    assert second == first
    assert json.loads((second / "run.json").read_text())["config"]["timesteps"] == 64
    assert len(list((second / "tb").iterdir())) == 1  # one TensorBoard run, not two
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [first.name]  # no .tmp- left


def test_a_run_keeps_no_checkpoints_unless_asked_and_records_the_steps_trained(tmp_path):
    run = train(_config(tmp_path, timesteps=40))
    record = json.loads((run / "run.json").read_text())
    assert record["timesteps_trained"] == 64  # whole rollouts: 16 steps × 2 envs, rounded up
    assert not (run / "checkpoints").exists()
    run = train(_config(tmp_path, checkpoints=2, name="ck"))
    assert len(list((run / "checkpoints").iterdir())) == 2


def test_the_log_says_what_will_be_trained(tmp_path, caplog):
    caplog.set_level("INFO", logger="agents.train")
    train(_config(tmp_path, timesteps=40))
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "for 64 steps" in said and "--timesteps 40 rounded up" in said


def test_defend_training_speaks_of_returns_per_campaign(tmp_path, caplog):
    caplog.set_level("INFO", logger="agents.train")
    train(_config(tmp_path, env="TIE-Defend-v0"))
    evals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("eval @")]
    assert evals and all("return" in e and "per campaign" in e for e in evals)
    assert not any("forecast" in e for e in evals)


def _stop_training(tmp_path, stop) -> tuple[int, str]:
    """Start agents.train, `stop(process)` once it has saved a model mid-run; (exit code,
    stderr). stderr goes to a file: a pipe nobody reads could fill up and stall the child."""
    argv = ["--algo", "ppo", "--env", "TIE-ForecastGuess-v0", "--timesteps", "1000000"]
    argv += ["--n-envs", "1", "--eval-freq", "32", "--eval-episodes", "1", "--no-progress"]
    argv += ["--set", "n_steps=16", "batch_size=16", "n_epochs=1", "--out", str(tmp_path)]
    log = tmp_path.parent / f"{tmp_path.name}.stderr"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "agents.train", *argv],
            cwd=tmp_path,
            stderr=sink,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    building = tmp_path / ".tmp-ppo-TIE-ForecastGuess-v0-seed0"
    deadline = time.time() + 120
    while not (building / "best_model.zip").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (building / "best_model.zip").exists(), "training never saved a model"
    stop(process)
    process.wait(timeout=60)
    return process.returncode, log.read_text()


def test_ctrl_c_exits_130_in_one_line_and_keeps_nothing(tmp_path):
    returncode, stderr = _stop_training(tmp_path, lambda p: p.send_signal(signal.SIGINT))
    assert returncode == 130, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if "interrupted" in line]
    assert len(errors) == 1 and "nothing was kept" in errors[0]
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env_id", ["TIE-ForecastGuess-v0", "TIE-ForecastReplayGuess-v0"])
def test_evaluate_plays_guess_envs_with_every_agent_guessing_its_top_unseen(env_id, request):
    if "Replay" in env_id:
        request.getfixturevalue("real_data_dir")
    env = gym.make(env_id)
    agents = build_agents(["random", "frequency", "greedy"], env, seed=0)
    scores = {name: run_episodes(env, members[0], 5, 100_000) for name, members in agents.items()}
    hits = {name: sum(result["hit@1"]) for name, result in scores.items()}
    assert hits["greedy"] > hits["random"]
    for result in scores.values():  # one guess: hit@k is hit@1
        assert result["hit@k"] == result["hit@1"]


def _own_zip(tmp_path: Path, env_id: str, algorithm: str = "a2c") -> Path:
    from stable_baselines3 import A2C, PPO

    cls = {"a2c": A2C, "ppo": PPO}[algorithm]
    model = cls("MlpPolicy", gym.make(env_id), n_steps=8, seed=0, device="cpu")
    model.learn(8)
    model.save(tmp_path / "ppo_tie.zip")
    return tmp_path / "ppo_tie.zip"


def test_evaluate_plays_a_users_own_sb3_zip(tmp_path):
    path = _own_zip(tmp_path, "TIE-ForecastGuess-v0")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "agents.evaluate", "--env", "TIE-ForecastGuess-v0"),
            *("--agents", "greedy", f"mine={path}", f"named=a2c:{path}", "--episodes", "2"),
            *("--out", str(tmp_path / "out")),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| mine |" in table and "| named |" in table and "hit@1" in table


def test_a_zip_that_is_not_sb3_is_refused_in_one_line(tmp_path):
    from agents.policy import load_sb3_zip

    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"x.zip.*not a stable-baselines3 zip.*Fix"):
        load_sb3_zip(tmp_path / "x.zip")


def test_rl_zoo_trains_on_the_shared_hyperparameter_files(tmp_path):
    pytest.importorskip("rl_zoo3", reason="RL Zoo is the [zoo] extra (make setup installs it)")
    conf = Path(agents.train.__file__).with_name("hyperparams") / "ppo.yml"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", "TIE-Forecast-v0"),
            *("--gym-packages", "tie_gym", "--conf-file", str(conf), "-n", "32", "--seed", "0"),
            *("--eval-freq", "-1", "-f", str(tmp_path / "logs"), "--log-interval", "-1"),
            *("-params", "n_envs:1", "n_steps:32", "batch_size:32", "n_epochs:1"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    saved = list((tmp_path / "logs" / "ppo").glob("TIE-Forecast-v0_*/TIE-Forecast-v0.zip"))
    assert saved, done.stdout[-2000:]
    from agents.policy import load_sb3_zip  # and agents.evaluate can play what RL Zoo saved

    assert load_sb3_zip(saved[0]).action_space.shape == (580,)


def test_a_table_of_guess_and_score_envs_names_each_forecast_length():
    from agents.evaluate import markdown

    row = {m: 0.5 for m in ("hit@k", "ndcg@k", "hit@1", "campaign_recall", "steps_to_first_hit")}
    row |= {f"{m}_ci95": 0.01 for m in row} | {"agent": "greedy", "seeds": 1}
    row["no_hit_episodes"] = 0.1
    table = markdown([{**row, "env": "G", "k": 1}, {**row, "env": "S", "k": 10}])
    scores, guess = table.split("\n\n")  # the longer forecast first
    assert "hit@1 | NDCG@1" in guess and "| G |" in guess and "| S |" not in guess
    assert "hit@10 | NDCG@10" in scores and "| S |" in scores


def test_a_zip_of_another_env_is_refused_in_one_line(tmp_path):
    path = _own_zip(tmp_path, "TIE-Defend-v0", "ppo")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "agents.evaluate", "--env", "TIE-ForecastGuess-v0"),
            *("--agents", f"m={path}", "--episodes", "1", "--out", str(tmp_path / "out")),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "wait" in done.stderr and "Fix:" in done.stderr


@pytest.mark.parametrize("tamper", ["pickled_weights", "wrong_shape"])
def test_a_tampered_zip_is_a_data_error_not_a_traceback(tmp_path, tamper):
    import pickle
    import zipfile

    from agents.policy import load_sb3_zip

    path = _own_zip(tmp_path, "TIE-ForecastGuess-v0")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if tamper == "pickled_weights":  # torch's weights-only loader must refuse it
        members["policy.pth"] = pickle.dumps({"x": print})
    else:
        data = json.loads(members["data"])
        data["observation_space"]["_shape"] = [7]
        members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    with pytest.raises(DataError, match=r"ppo_tie.zip, field 'policy': cannot be rebuilt"):
        load_sb3_zip(path)


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("learning_rate: !!python/object/apply:os.system ['true']", "not plain YAML"),
        ("learning_rate: lin_0.001", "RL Zoo schedule"),
        ("policy: os.system", "policy"),
        ('policy_kwargs: "dict(features_extractor_class=os.system)"', "not a literal"),
    ],
)
def test_a_hyperparameter_file_fails_in_one_line(tmp_path, setting, words):
    from agents.algorithms import load_hyperparams

    (tmp_path / "ppo.yml").write_text(f"default:\n  policy: MlpPolicy\n  {setting}\n")
    with pytest.raises(DataError, match=words):
        load_hyperparams(tmp_path, "TIE-Forecast-v0", "ppo")


def test_a_setting_the_algorithm_refuses_is_a_data_error(tmp_path):
    (tmp_path / "ppo.yml").write_text(
        "default:\n  policy: MlpPolicy\n  n_steps: 16\n  foo_bar: 3\n"
    )
    with pytest.raises(DataError, match=r"do not build a ppo agent.*foo_bar"):
        train(_config(tmp_path, hyperparams=str(tmp_path), overrides={}))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_sigterm_exits_143_and_keeps_nothing(tmp_path):
    returncode, stderr = _stop_training(tmp_path, lambda p: p.terminate())
    assert returncode == 143 and "terminated; nothing was kept" in stderr, stderr[-3000:]
    assert list(tmp_path.iterdir()) == []
