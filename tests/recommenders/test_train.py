import json
import logging
import os
import re
import subprocess
import sys

import pytest

import recommenders.train as train_module
from recommenders.artifacts import load_model, resolve_model_dir
from recommenders.attack import load_catalog
from recommenders.data import default_attack_path
from recommenders.train import TrainConfig, main, run
from recommenders.unseen import load_unseen


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
    assert manifest["data"]["attack"]["version"] == "15.0"
    assert (run_dir / "sweep.csv").read_text().count("\n") == 1 + 2 * 3
    assert (run_dir / "plots" / "metrics_vs_k_report.png").stat().st_size > 1000
    _, model_manifest = load_model(out)  # best.json at the output root
    assert model_manifest.name == metrics["best"]
    assert model_manifest.tactic_order[0] == "initial-access"
    # the fixture's corpus names every active technique: nothing left to borrow a score for
    unseen = load_unseen(resolve_model_dir(out), model_manifest.technique_ids)
    assert unseen is not None and unseen.techniques == ()
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
    # every active technique of the release is reachable: a column, or scored from ATT&CK
    _, manifest = load_model(tmp_path)
    unseen = load_unseen(resolve_model_dir(tmp_path), manifest.technique_ids)
    catalog = load_catalog(default_attack_path(real_data_dir))
    assert unseen is not None and unseen.techniques
    assert set(manifest.technique_ids) | set(unseen.techniques) == set(catalog.active_ids())


def test_direct_cli_run_prints_no_openblas_warning(data_dir, tmp_path):
    """`python -m recommenders.train` without the Makefile's exports: the code limits BLAS itself."""
    cwd = tmp_path / "elsewhere"  # outside the source tree, as a user runs it
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MKL_NUM_THREADS", "OMP_NUM_THREADS")}
    # What a shell without the Makefile gives OpenBLAS on a 2-core machine; explicit, so that the
    # test means the same on a 1-core runner.
    env["OPENBLAS_NUM_THREADS"] = "2"
    command = [sys.executable, "-m", "recommenders.train", "--quick", "--models", "implicit_als"]
    command += ["--data-dir", str(data_dir), "--out", str(cwd / "runs"), "--no-plots"]
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "OpenBLAS" not in done.stderr and "Warning" not in done.stderr, done.stderr


def _quick(data_dir, out, models=("top_items", "ease")):
    args = ["--data-dir", str(data_dir), "--out", str(out), "--quick", "--no-plots"]
    return [*args, "--models", ",".join(models), "--threads", "1"]


def test_progress_is_logged_per_config_and_model(data_dir, tmp_path, caplog):
    """A CI log (no terminal, so no tqdm bars) still shows progress with elapsed times."""
    caplog.set_level(logging.INFO, logger="recommenders.train")
    assert main(_quick(data_dir, tmp_path)) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "recommenders.train"]
    sweep = [line for line in lines if line.startswith("sweep ")]
    refit = [line for line in lines if line.startswith("refit ")]
    assert len(sweep) == 2 and sweep[0].startswith("sweep 1/2 top_items")
    assert sweep[1].startswith("sweep 2/2 ease") and "regularization=100.0" in sweep[1]
    assert len(refit) == 4 and any(line.startswith("refit 4/4 top_items/report") for line in refit)
    assert all(re.search(r"\d+\.\d s elapsed", line) for line in sweep + refit)


def test_summary_names_the_chosen_hyperparameters(data_dir, tmp_path):
    run_dir = run(
        TrainConfig(
            data_dir=str(data_dir),
            out=str(tmp_path),
            quick=True,
            models=("top_items", "ease", "wals"),
            plots=False,
            threads=1,
        )
    )
    summary = (run_dir / "summary.txt").read_text()
    chosen = summary.split("chosen hyperparameters", 1)[1]
    for protocol in ("pair", "report"):
        assert re.search(rf"ease\s+{protocol}\s+[\d.]+\s+regularization=100\.0", chosen)
        assert re.search(rf"wals\s+{protocol}\s+[\d.]+\s+alpha=5\.0 epochs=8 factors=32", chosen)
        assert re.search(rf"top_items\s+{protocol}\s+[\d.]+\s+\(none\)", chosen)


@pytest.mark.parametrize("interrupt_at", [1, 7], ids=["during-sweep", "during-refit"])
def test_interrupt_removes_staging_and_exits_130(
    data_dir, tmp_path, monkeypatch, caplog, interrupt_at
):
    """Ctrl-C: no traceback, no hidden `.tmp-*` folder left behind, exit status 130."""
    out = tmp_path / "runs"
    calls = {"n": 0, "staged": False}
    real_fit = train_module._fit

    def fit(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == interrupt_at:
            # The 7th fit is top_items' pair refit: the ease model is already saved in staging.
            calls["staged"] = any((d / "models" / "ease").is_dir() for d in out.glob(".tmp-*"))
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train_module, "_fit", fit)
    caplog.set_level(logging.INFO, logger="recommenders.train")
    try:
        status = main(_quick(data_dir, out))
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main(): the user sees a raw traceback")
    assert status == 130
    assert calls["staged"] == (interrupt_at == 7)
    assert not list(out.glob(".tmp-*")) and not list(out.glob("*/"))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == ["interrupted: nothing was kept"]
