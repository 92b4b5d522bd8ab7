import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from recommenders.artifacts import ModelManifest, TrainingData
from recommenders.errors import DataError
from recommenders.forecast import observed_techniques
from recommenders.forecast.cli import main


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


def test_text_that_is_not_a_file_points_at_standard_input(
    caplog, monkeypatch, tmp_path, text_model
):
    monkeypatch.chdir(tmp_path)
    assert main(["--text", "some words", "--text-model", str(text_model)]) == 2
    assert (
        "no such file" in caplog.text and "'-'" in caplog.text and "standard input" in caplog.text
    )


def test_text_from_standard_input(capsys, monkeypatch, tmp_path, text_model):
    import io

    monkeypatch.chdir(tmp_path)
    stdin = io.TextIOWrapper(io.BytesIO(b"They ran mimikatz to dump lsass memory."))
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["--text", "-", "--text-model", str(text_model), "--json"]) == 0
    assert "T1003.001" in capsys.readouterr().out


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
    env = gym.make("TIE-Forecast-v0", text_model=str(text_model)).unwrapped
    env.reset(seed=0, options={"text": "The actor ran mimikatz against lsass."})
    assert env.seen_ids == ["T1003.001"]
    with pytest.raises(ValueError, match="no technique"):
        env.reset(options={"text": "We had lunch."})


def test_text_works_after_installation_with_the_shipped_mapper(tmp_path):
    """Outside the source tree, nothing trained, no data folder: the shipped mapper answers."""
    (tmp_path / "incident.txt").write_text("The actor ran mimikatz to dump lsass memory.")
    env = {k: v for k, v in os.environ.items() if k not in ("TIE_TEXT_MODEL", "TIE_DATA_DIR")}
    done = subprocess.run(
        [sys.executable, "-m", "recommenders.forecast", "--text", "incident.txt", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["text_model"].endswith("default_model")
    assert "T1003.001" in [t["technique"] for t in answer["found"]["techniques"]]


def test_a_named_text_model_folder_without_one_names_make_text_and_the_folder(tmp_path):
    (tmp_path / "incident.txt").write_text("The actor ran mimikatz against lsass.")
    env = {**os.environ, "TIE_TEXT_MODEL": str(tmp_path / "nothing")}
    done = subprocess.run(
        [sys.executable, "-m", "recommenders.forecast", "--text", "incident.txt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "make text" in lines[0] and "python -m recommenders.text.train" in lines[0]
    assert str(Path(os.path.realpath(tmp_path)) / "nothing") in lines[0]


def test_text_model_from_environment_variable(capsys, monkeypatch, tmp_path, text_model):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIE_TEXT_MODEL", str(text_model))
    incident = tmp_path / "incident.txt"
    incident.write_text("They ran mimikatz on lsass.")
    assert main(["--text", str(incident), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text_model"] == str(text_model.absolute())
    env = gym.make("TIE-Forecast-v0").unwrapped
    env.reset(seed=0, options={"text": "The actor ran mimikatz against lsass."})
    assert env.seen_ids == ["T1003.001"]
    monkeypatch.setenv("TIE_TEXT_MODEL", str(tmp_path / "nothing"))
    with pytest.raises(DataError, match="make text"):
        env.reset(options={"text": "The actor ran mimikatz against lsass."})


@pytest.mark.parametrize("nul", [True, False])
def test_random_bytes_are_refused_as_binary(caplog, capsys, monkeypatch, tmp_path, text_model, nul):
    monkeypatch.chdir(tmp_path)
    raw = np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)
    if not nul:
        raw[raw == 0] = 1  # the share of undecodable and control characters alone tells
    blob = tmp_path / "blob.bin"
    blob.write_bytes(raw.tobytes())
    assert main(["--text", str(blob), "--text-model", str(text_model), "--json"]) == 2
    assert "blob.bin: looks like binary data, not text" in caplog.text
    assert capsys.readouterr().out == ""


def test_unknown_and_repeated_ids_are_ignored_and_reported(capsys, monkeypatch, tmp_path):
    """The CLI and the env report the same ignored IDs for the same input."""
    monkeypatch.chdir(tmp_path)
    given = ["T1566.001", "T9999", "t1566.001", "T1059.001", "junk"]
    assert main(["--techniques", ",".join(given), "--json", "-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["observed"] == ["T1566.001", "T1059.001"]
    assert set(out["ignored"]) == {"T9999", "T1566.001", "junk"}
    assert "vocabulary" in out["ignored"]["T9999"] and "repeated" in out["ignored"]["T1566.001"]
    env = gym.make("TIE-Forecast-v0").unwrapped
    _, info = env.reset(seed=0, options={"observed": given})
    assert env.seen_ids == out["observed"] and info["ignored"] == out["ignored"]


def test_revoked_and_deprecated_ids_name_their_replacement(data_dir, monkeypatch):
    """The fixture bundle (named like the model's ATT&CK file) revokes T1098 for T1004 and
    deprecates T1099."""
    manifest = ModelManifest(
        ("T1001", "T1004"),
        data=TrainingData("corpus.json", "", attack_file="enterprise-attack-15.0.json"),
    )
    given = ["T1001", "T1098", "T1099", "T1002", "T1999"]
    result = observed_techniques(given, manifest, str(data_dir))
    assert result.usable == ["T1001"]
    assert "replaced by T1004 Script (use it instead)" in result.ignored["T1098"]
    assert "deprecated" in result.ignored["T1099"]
    assert "never saw in training" in result.ignored["T1002"]
    assert "unknown to ATT&CK v15.0" in result.ignored["T1999"]
    assert "newer ATT&CK release" in result.ignored["T1999"]
    with pytest.raises(ValueError, match=r"no usable technique ID \('T1098': revoked"):
        observed_techniques(["T1098"], manifest, str(data_dir))
    # without a data folder the reason cannot be named: the message says what might be and how
    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    why = observed_techniques(given, manifest, None).ignored["T1098"]
    assert why.startswith("not in the model's vocabulary (ATT&CK v15.0)")
    assert "newer ATT&CK release" in why and "TIE_DATA_DIR" in why


def test_revoked_id_names_its_successor_with_the_real_bundle(real_data_dir, capsys, monkeypatch):
    monkeypatch.setenv("TIE_DATA_DIR", str(real_data_dir))
    assert main(["--techniques", "T1086,T1566.001", "--json"]) == 0
    ignored = json.loads(capsys.readouterr().out)["ignored"]
    assert "replaced by T1059.001 PowerShell" in ignored["T1086"]


@pytest.mark.parametrize("bad", ["T1059", b"T1059", 1059])
def test_a_bare_string_is_not_split_into_characters(bad):
    env = gym.make("TIE-Forecast-v0").unwrapped
    with pytest.raises(ValueError, match="must be a list of technique IDs"):
        env.reset(options={"observed": bad})


def test_cli_names_its_models_and_cuts_evidence_at_a_word(
    capsys, monkeypatch, tmp_path, text_model
):
    monkeypatch.chdir(tmp_path)
    sentence = "The actor ran mimikatz against lsass " + " ".join(
        f"withaverylongword{i}" for i in range(8)
    )
    assert len(sentence) > 120
    incident = tmp_path / "incident.txt"
    incident.write_text(sentence)
    assert main(["--text", str(incident), "--text-model", str(text_model), "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert f"Text mapper: {text_model.absolute()}" in out
    assert "Recommender: " in out and "default_model" in out
    quoted = next(line for line in out.splitlines() if "“" in line)
    shown = quoted.split("“", 1)[1].split("”", 1)[0]
    assert shown.endswith("…") and len(shown) <= 110
    assert sentence.startswith(shown[:-1]) and sentence[len(shown) - 1] == " "


def test_navigator_layer_names_the_models_attack_release():
    from recommenders.forecast import navigator_attack_version

    def trained_on(attack_file: str, version: str | None = None) -> ModelManifest:
        return ModelManifest(("T1001",), data=TrainingData("c.json", "", attack_file, "", version))

    assert navigator_attack_version(trained_on("x", "16.1")) == "16"
    assert navigator_attack_version(trained_on("enterprise-attack-18.1.json.gz")) == "18"


def test_a_forecast_never_names_an_observed_technique_and_says_when_none_is_left():
    from recommenders.artifacts import DEFAULT_MODEL_DIR, load_model
    from recommenders.forecast import forecast

    model, manifest = load_model(DEFAULT_MODEL_DIR)
    vocabulary = list(manifest.technique_ids)
    most = forecast(model, manifest, vocabulary[:-3], k=10)  # three left to forecast
    assert {p.technique for p in most.predictions} == set(vocabulary[-3:])
    everything = forecast(model, manifest, vocabulary, k=10)
    assert everything.predictions == () and "nothing left to forecast" in everything.note


@pytest.mark.parametrize("bad", ["0", "1", "-0.5", "nan", "high"])
def test_a_threshold_outside_zero_to_one_is_refused(bad, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["--text", "-", "--threshold", bad])
    assert exit_info.value.code == 2
    assert "between 0 and 1" in capsys.readouterr().err
