"""The design card's three uses, literally, and the README's code as a user would run it.

The card promises `gym.make("TIE-Forecast-v0")`, a stable-baselines3 agent trained on it, and
`python -m recommenders.train`. The README's Python blocks run as written (in a folder where
`python -m recommenders.train` has just made `runs/`), and every command line it shows parses with
its module's own parser, naming only registered env ids.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import pytest

import tie_gym  # noqa: F401  (registers the ids, as the card's users import it)
from tests.conftest import require_real_data

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ENV_ID = re.compile(r"\bTIE-[A-Za-z]+-v\d+\b")


def code_blocks(language: str) -> list[str]:
    """The README's fenced blocks of one language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text("utf-8"), re.M | re.S)


def readme_commands() -> list[list[str]]:
    """`python -m MODULE ARGS` lines of the README's bash blocks (continuations joined)."""
    commands = []
    for block in code_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("python -m "):
                commands.append(shlex.split(line)[2:])
            elif line.startswith("tie-gym "):  # the console script of recommenders.service
                commands.append(["recommenders.service", *shlex.split(line)[1:]])
    return commands


def test_the_card_first_line_makes_the_env_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DeprecatedEnv or a version warning fails here
        env = gym.make("TIE-Forecast-v0")
    observation, _ = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    _, reward, *_ = env.step(env.action_space.sample())
    assert 0.0 <= reward <= 1.0


def test_every_registered_id_is_v0_until_the_first_release():
    ours = [env_id for env_id in gym.registry if env_id.startswith("TIE-")]
    assert "TIE-Forecast-v0" in ours
    assert [i for i in ours if not i.endswith("-v0")] == []


def test_a_stable_baselines3_agent_trains_on_the_card_env(tmp_path):
    from stable_baselines3 import PPO

    env = gym.make("TIE-Forecast-v0")
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=32)
    model.save(tmp_path / "ppo_tie.zip")
    action, _ = PPO.load(tmp_path / "ppo_tie.zip", device="cpu").predict(env.reset(seed=1)[0])
    assert env.action_space.contains(action)


def _python(folder: Path, *argv: str) -> subprocess.CompletedProcess:
    """`python ARGV` in `folder`, as a user would type it there, with the real data folder."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=folder,
        env={**os.environ, "TIE_DATA_DIR": str(require_real_data())},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory) -> Path:
    """A folder where the card's `python -m recommenders.train` (CI-sized) has run."""
    folder = tmp_path_factory.mktemp("card")
    done = _python(folder, "-m", "recommenders.train", "--quick", "--models", "ease", "--no-plots")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (folder / "runs" / "best.json").is_file()
    return folder


@pytest.mark.realdata
@pytest.mark.parametrize("index", range(len(code_blocks("python"))))
def test_readme_python_block_runs(index, trained_folder):
    done = _python(trained_folder, "-c", code_blocks("python")[index])
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("argv", readme_commands(), ids=lambda argv: " ".join(argv)[:60])
def test_readme_command_parses(argv):
    name = argv[0]  # `python -m PACKAGE` runs PACKAGE.__main__
    is_package = importlib.util.find_spec(name).submodule_search_locations is not None
    module = importlib.import_module(f"{name}.__main__" if is_package else name)
    args = module.build_parser().parse_args(argv[1:])  # an unknown flag or choice exits here
    assert args is not None


def test_readme_names_only_registered_ids():
    named = set(ENV_ID.findall(README.read_text("utf-8")))
    assert named, "the README names no env id"
    assert sorted(named - set(gym.registry)) == []


def test_readme_shows_commands():
    modules = {argv[0] for argv in readme_commands()}
    assert {
        "agents.train",
        "agents.evaluate",
        "recommenders.forecast",
        "recommenders.service",
    } <= modules
