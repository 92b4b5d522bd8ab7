import json

import pytest

from recommenders.artifacts import load_model
from recommenders.train import TrainConfig, main, run


def test_quick_pipeline_on_fixture(data_dir, tmp_path):
    out = tmp_path / "out"
    run_dir = run(
        TrainConfig(
            data_dir=str(data_dir),
            out=str(out),
            quick=True,
            models=("top_items", "ease", "wals"),
            plots=True,
            threads=1,
        )
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["pair"]) == set(metrics["report"]) == {"top_items", "ease", "wals"}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["data"]["corpus"]["sha256"] and manifest["config"]["seed"] == 0
    assert (run_dir / "sweep.csv").read_text().count("\n") == 1 + 2 * 3
    assert (run_dir / "plots" / "metrics_vs_k_report.png").stat().st_size > 1000
    _, model_manifest = load_model(out)  # best.json at the output root
    assert model_manifest["name"] == metrics["best"]
    assert model_manifest["tactic_order"][0] == "initial-access"
    assert not list(out.glob(".tmp-*"))


def test_same_seed_same_metrics(data_dir, tmp_path):
    runs = [
        run(
            TrainConfig(
                data_dir=str(data_dir),
                out=str(tmp_path / f"o{i}"),
                quick=True,
                models=("wals",),
                plots=False,
                threads=1,
            )
        )
        for i in range(2)
    ]
    a, b = (json.loads((r / "metrics.json").read_text()) for r in runs)
    assert a["report"]["wals"]["test"] == b["report"]["wals"]["test"]


def test_cli_errors_cleanly_without_data(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    assert main(["--out", str(tmp_path), "--quick"]) == 2
    assert "TIE_DATA_DIR" in caplog.text


def test_cli_rejects_unknown_model():
    with pytest.raises(SystemExit):
        main(["--models", "nope"])


@pytest.mark.expensive
def test_quick_pipeline_on_real_data(real_data_dir, tmp_path):
    run_dir = run(
        TrainConfig(data_dir=str(real_data_dir), out=str(tmp_path), quick=True, plots=False)
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    best = metrics["best"]
    assert (
        metrics["report"][best]["test"]["masked/ndcg@20"]
        > metrics["report"]["top_items"]["test"]["masked/ndcg@20"]
    )
