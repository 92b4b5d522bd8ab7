import json

import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from recommenders.forecast import main
from recommenders.text.corpus import Sentence
from recommenders.text.mapper import TextMapper


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = {
        "T1003.001": ["mimikatz", "lsass"],
        "T1053.005": ["schtasks", "scheduled"],
        None: ["lunch", "weather"],
    }
    sentences = []
    for i in range(300):
        technique = list(words)[i % 3]
        text = " ".join([*rng.choice(["the", "actor", "then", "host"], 4), *words[technique]])
        sentences.append(Sentence(text, (technique,) if technique else ()))
    path = tmp_path_factory.mktemp("text") / "model"
    TextMapper(threshold=0.5).fit(sentences).save(path)
    return path


def test_techniques_to_forecast_json(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no runs/ here: the shipped model is used
    assert (
        main(
            [
                "--techniques",
                "T1566.001,T1059.001",
                "-k",
                "5",
                "--json",
                "--navigator",
                "layer.json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert len(out["forecast"]) == 5 and not {"T1566.001", "T1059.001"} & {
        r["technique"] for r in out["forecast"]
    }
    assert out["forecast"][0]["name"] and out["forecast"][0]["tactics"]
    layer = json.loads((tmp_path / "layer.json").read_text())
    assert layer["domain"] == "enterprise-attack" and len(layer["techniques"]) == 7


def test_unknown_techniques_error_cleanly(caplog, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["--techniques", "T9999"]) == 2
    assert "vocabulary" in caplog.text


def test_text_to_forecast(capsys, monkeypatch, tmp_path, text_model):
    monkeypatch.chdir(tmp_path)
    incident = tmp_path / "incident.txt"
    incident.write_bytes(
        b"They ran mimikatz on lsass from 203.0.113[.]5.\nA schtasks entry kept access." + b"\xff"
    )
    assert main(["--text", str(incident), "--text-model", str(text_model), "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "T1003.001" in out and "203.0.113.5" in out and "Most likely next techniques" in out


def test_empty_text_is_an_error(caplog, monkeypatch, tmp_path, text_model):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert main(["--text", str(empty), "--text-model", str(text_model)]) == 2
    assert "empty" in caplog.text


def test_text_without_techniques_says_so(capsys, monkeypatch, tmp_path, text_model):
    monkeypatch.chdir(tmp_path)
    calm = tmp_path / "calm.txt"
    calm.write_text("The team had lunch and discussed the weather.")
    assert main(["--text", str(calm), "--text-model", str(text_model)]) == 0
    assert "no ATT&CK technique found" in capsys.readouterr().out


def test_env_starts_from_incident_text(text_model):
    env = gym.make("TIE-Forecast-v1", text_model=str(text_model)).unwrapped
    env.reset(seed=0, options={"text": "The actor ran mimikatz against lsass."})
    assert env.seen_ids == ["T1003.001"]
    with pytest.raises(ValueError, match="no technique"):
        env.reset(options={"text": "We had lunch."})
