"""The examples a new user copies from must keep running."""

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
        ("train_sb3.py", ["512"]),
    ],
)
def test_example_runs(script, argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script, *argv])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert "hit" in capsys.readouterr().out
