"""The layers import downward only: recommenders ← tie_gym ← agents (docs/architecture.md), and no two
modules of a layer import each other. Function-local imports count: they are arrows too."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"recommenders": 0, "tie_gym": 1, "agents": 2}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> dict[str, set[str]]:
    out = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[module.removesuffix(".__init__")] = _imports(path)
    return out


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_no_import_runs_back_up_a_layer(package):
    upward = [
        f"{module} imports {name}"
        for module, names in _modules().items()
        if module.split(".")[0] == package
        for name in names
        if LAYERS.get(name.split(".")[0], -1) > LAYERS[package]
    ]
    assert upward == []


def test_no_two_modules_import_each_other():
    modules = _modules()
    pairs = sorted(
        (a, b)
        for a, names in modules.items()
        for b in names
        if b in modules and a < b and a in modules[b]
    )
    assert pairs == []


def test_the_default_env_imports_no_torch(tmp_path):
    """The shipped model is EASE (one NumPy matrix): torch costs ~2 s and ~200 MB per process."""
    import subprocess
    import sys

    program = (
        "import sys, numpy as np, gymnasium as gym, tie_gym; e = gym.make('TIE-Forecast-v1');"
        "e.reset(seed=0); e.step(np.zeros(e.unwrapped.n_techniques, np.float32));"
        "print(sorted(m for m in ('torch', 'sklearn', 'implicit') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
