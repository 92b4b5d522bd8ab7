"""The recommender sweep on a local Ray (2 CPUs, started here) equals the local backend."""

import csv
import json

import pytest

from recommenders.sweeps import SWEEPS
from recommenders.train import TrainConfig, run


def _comparable(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for protocol in ("pair", "report"):
        for entry in metrics[protocol].values():
            entry.pop("refit_seconds")
    with (run_dir / "sweep.csv").open(newline="") as handle:
        without_time = [row[:4] + row[5:] for row in csv.reader(handle)]  # 5th: fit_seconds
    weights = {
        p.parent.name: p.read_bytes() for p in sorted(run_dir.glob("models/*/weights.safetensors"))
    }
    return metrics, without_time, weights


def test_ray_backend_selects_refits_and_saves_what_the_local_one_does(
    data_dir, tmp_path, ray_cluster
):
    models = tuple(SWEEPS)  # every family: each must take the object store's read-only arrays
    local = run(
        TrainConfig(
            data_dir=str(data_dir),
            out=str(tmp_path / "local"),
            models=models,
            seed=3,
            plots=False,
            threads=1,
        )
    )
    on_ray = run(
        TrainConfig(
            data_dir=str(data_dir),
            out=str(tmp_path / "ray"),
            models=models,
            seed=3,
            plots=False,
            threads=1,
            backend="ray",
        )
    )
    a, b = _comparable(local), _comparable(on_ray)
    assert len(a[1]) > 4  # several configurations were swept
    assert a == b
    manifest = json.loads((on_ray / "manifest.json").read_text())
    assert manifest["config"]["backend"] == "ray"


def test_ray_missing_is_one_line(monkeypatch):
    import builtins

    from recommenders.distributed import start_ray
    from recommenders.errors import DataError

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(DataError, match=r"Ray is not installed.*tie-gym\[scale\]"):
        start_ray(None)


def test_the_default_command_does_not_import_ray(data_dir, tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from recommenders.train import main;"
        f"main(['--data-dir', {str(data_dir)!r}, '--out', {str(tmp_path)!r}, '--quick', '--no-plots', '--models', 'ease']);"
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
