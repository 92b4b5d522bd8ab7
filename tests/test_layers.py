"""The layers import downward only: recommenders ← tie_gym ← agents (docs/architecture.md), and no
modules import each other in a cycle, of two or more. Function-local imports count, and so do
module paths written as strings ("tie_gym.vector:ForecastVectorEnv", `import_module("…")`): they
are arrows too."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"recommenders": 0, "tie_gym": 1, "agents": 2}
MODULE_STRING = re.compile(r"(?:recommenders|tie_gym|agents)(?:\.\w+)*(?=(?::[\w.-]+)?$)")
"""A module path written as a string: "tie_gym.vector", "pkg.mod:Class", "tie_gym:TIE-Forecast-v0"
(gym.make imports the part before the colon). Names built at run time are not seen."""


def _imports(path: Path, package: str = "") -> set[str]:
    """Modules `path` imports; `package` (the dotted package holding it) resolves relative ones."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            base = (
                package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            )
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}  # a submodule?
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (match := MODULE_STRING.match(node.value))
        ):
            names.add(match.group())
    return names


def _modules() -> dict[str, set[str]]:
    out = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts).removesuffix(".__init__")] = _imports(path, ".".join(parts[:-1]))
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


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    modules = _modules()
    graph = {a: {b for b in names if b in modules and b != a} for a, names in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_check_sees_three_modules_and_string_imports(tmp_path):
    """The check above must fail on what it guards: a three-module ring, and a string import."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    strings = (
        "x = import_module('tie_gym.vector')\ny = 'agents.policy:Policy'\nz = 'tie_gym is'\n"
        "e = 'tie_gym:TIE-Forecast-v0'\nfrom .vector import X\nfrom .. import agents"
    )
    path = tmp_path / "probe.py"
    path.write_text(strings, encoding="utf-8")
    found = _imports(path, "tie_gym.envs")
    assert {"tie_gym.vector", "agents.policy", "tie_gym"} <= found
    assert {"tie_gym.envs.vector", "tie_gym.agents"} <= found  # relative, resolved


def test_the_default_env_imports_no_torch(tmp_path):
    """The shipped model is EASE (one NumPy matrix): torch costs ~2 s and ~200 MB per process."""
    import subprocess
    import sys

    program = (
        "import sys, numpy as np, gymnasium as gym, tie_gym; e = gym.make('TIE-Forecast-v0');"
        "e.reset(seed=0); e.step(np.zeros(e.unwrapped.n_techniques, np.float32));"
        "print(sorted(m for m in ('torch', 'sklearn', 'implicit') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
