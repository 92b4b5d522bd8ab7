"""The hyperparameter grids the pipeline sweeps, per named model (full and `--quick`).

A *name* is what the user selects with `--models`; several names can share a family (TIE's
published WALS settings run as `tie_wals`, beside our swept `wals`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sweep:
    """One named model: its family, fixed hyperparameters and the grid searched on validation."""

    family: str
    fixed: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    quick_grid: dict[str, list[Any]] = field(default_factory=dict)
    quick_fixed: dict[str, Any] = field(default_factory=dict)
    corpus_only: bool = False
    """Train on the corpus alone, without ATT&CK's procedure examples (TIE's reference)."""

    def configs(self, quick: bool = False) -> list[dict[str, Any]]:
        """Every hyperparameter combination, in a deterministic order."""
        grid = self.quick_grid if quick else self.grid
        fixed = {**self.fixed, **(self.quick_fixed if quick else {})}
        keys = list(grid)
        return [
            {**fixed, **dict(zip(keys, values, strict=True))}
            for values in itertools.product(*grid.values())
        ]


SWEEPS: dict[str, Sweep] = {
    "top_items": Sweep("top_items"),
    "ease": Sweep(
        "ease",
        grid={"regularization": [10.0, 30.0, 100.0, 300.0, 1000.0]},
        quick_grid={"regularization": [100.0]},
    ),
    # TIE's published settings (k=4, c=0.001, λ=0, 25 epochs) with TIE's behaviour: not swept.
    "tie_wals": Sweep(
        "wals",
        fixed={
            "factors": 4,
            "alpha": 0.0,
            "regularization": 0.0,
            "epochs": 25,
            "tie_compat": True,
            "c": 0.001,
        },
        corpus_only=True,
    ),
    "wals": Sweep(
        "wals",
        fixed={"epochs": 15},
        grid={"factors": [16, 32, 64], "regularization": [5.0, 20.0, 80.0], "alpha": [2.0, 10.0]},
        quick_grid={"factors": [32], "regularization": [20.0], "alpha": [5.0]},
        quick_fixed={"epochs": 8},
    ),
    "bpr": Sweep(
        "bpr",
        fixed={"epochs": 40, "batch_size": 2048},
        grid={"factors": [32, 64], "regularization": [1e-4, 1e-3]},
        quick_grid={"factors": [32], "regularization": [1e-3]},
        quick_fixed={"epochs": 5},
    ),
    "factorization": Sweep(
        "factorization",
        fixed={"epochs": 200},
        grid={"factors": [32, 64], "gravity": [0.3, 1.0], "regularization": [0.03, 0.3]},
        quick_grid={"factors": [32], "gravity": [1.0]},
        quick_fixed={"epochs": 30},
    ),
    "implicit_als": Sweep(
        "implicit_als",
        fixed={"iterations": 15},
        grid={"factors": [32, 64], "regularization": [5.0, 20.0, 80.0], "alpha": [3.0, 11.0]},
        quick_grid={"factors": [32], "regularization": [20.0], "alpha": [6.0]},
        quick_fixed={"iterations": 5},
    ),
    "implicit_bpr": Sweep(
        "implicit_bpr",
        fixed={"iterations": 100},
        grid={"factors": [32, 64], "learning_rate": [0.01, 0.05]},
        quick_grid={"factors": [32], "learning_rate": [0.05]},
        quick_fixed={"iterations": 10},
    ),
}

DEFAULT_MODELS: tuple[str, ...] = tuple(SWEEPS)
