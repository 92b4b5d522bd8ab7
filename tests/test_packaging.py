"""The built wheel, not the source tree: what `pip install .` gives a user must run.

The editable install used for development finds every file in the checkout, so a file left out
of the wheel (agents/hyperparams.yml was once) only shows here: build the wheel, unpack it into a
fresh folder, and run commands from outside the source tree with that folder first on the path.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    # build from a copy holding only what a clean clone has: a development checkout's
    # *.egg-info lists every file it has seen, which would hide a missing package-data rule
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.cfg", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("recommenders", "tie_gym", "agents"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "-v",
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("tie_gym-*.whl")
    (out / "build.log").write_text(build.stdout + build.stderr)
    target = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def _run(installed, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("TIE_DATA_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(installed)
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_build_declares_every_folder_it_ships(installed):
    log = (installed.parent / "build.log").read_text()
    assert "copying recommenders/default_model/model.json" in log  # the log is the build's
    assert "absent from the `packages` configuration" not in log


def test_the_wheel_carries_its_data_files(installed):
    for relative in (
        "agents/hyperparams/maskable_ppo.yml",
        "agents/hyperparams/ppo.yml",
        "recommenders/default_model/model.json",
        "recommenders/default_model/weights.safetensors",
        "recommenders/default_model/unseen.json",
        "recommenders/text/default_model/model.json",
        "recommenders/text/default_model/weights.safetensors",
        "recommenders/service/static/app.js",
    ):
        assert (installed / relative).is_file(), relative


def test_the_installed_package_trains_an_agent_and_plays(installed, tmp_path):
    check = _run(
        installed,
        tmp_path,
        "-c",
        "import agents, tie_gym, gymnasium as gym; print(agents.__file__);"
        "env = gym.make('TIE-Forecast-v0'); env.reset(seed=0); print(env.unwrapped.n_techniques)",
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines()[0].startswith(str(installed))  # not the source tree
    trained = _run(
        installed,
        tmp_path,
        "-m",
        "agents.train",
        "--algo",
        "ppo",
        "--env",
        "TIE-ForecastGuess-v0",
        "--timesteps",
        "64",
        "--eval-freq",
        "1000000",
        "--out",
        str(tmp_path / "runs"),
        "--no-progress",
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert list((tmp_path / "runs").glob("*/final.zip"))


def test_the_installed_package_maps_text_and_serves_without_a_data_folder(installed, tmp_path):
    shipped = installed / "recommenders" / "text" / "default_model"
    assert sum(f.stat().st_size for f in shipped.iterdir()) <= 10_000_000  # the budget
    mapped = _run(
        installed,
        tmp_path,
        "-c",
        "import gymnasium as gym, tie_gym; env = gym.make('TIE-Forecast-v0').unwrapped;"
        "env.reset(seed=0, options={'text': 'They ran mimikatz to dump lsass memory.'});"
        "print(env.seen_ids)",
    )
    assert mapped.returncode == 0, mapped.stderr[-2000:]
    assert "T1003.001" in mapped.stdout
    served = _run(
        installed,
        tmp_path,
        "-c",
        "from fastapi.testclient import TestClient;"
        "from recommenders.forecast.forecaster import Forecaster;"
        "from recommenders.service.app import create_app;"
        "c = TestClient(create_app(Forecaster.load()));"
        "print(c.get('/').status_code, c.post('/api/forecast/text', json={'text': 'mimikatz on lsass'}).status_code)",
    )
    assert served.returncode == 0, served.stderr[-2000:]
    assert served.stdout.split() == ["200", "200"]
