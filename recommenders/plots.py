"""Figures written with every training run (matplotlib, headless Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recommenders.attack import TechniqueCatalog
from recommenders.jsonio import atomic_write


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png"))
    _pyplot().close(fig)


def metric_vs_k(
    test_metrics: dict[str, dict[str, float]], protocol: str, path: Path, ks: Sequence[int]
) -> None:
    """Masked recall@k and NDCG@k against k, one line per model."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, metrics in sorted(test_metrics.items()):
        for ax, metric in zip(axes, ("recall", "ndcg"), strict=True):
            ax.plot(ks, [metrics[f"masked/{metric}@{k}"] for k in ks], marker="o", label=name)
    for ax, metric in zip(axes, ("recall@k", "NDCG@k"), strict=True):
        ax.set_xscale("log")
        ax.set_xticks(list(ks), [str(k) for k in ks])
        ax.set_xlabel("k")
        ax.set_ylabel(f"masked {metric} (test)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Test metrics vs k — {protocol} protocol")
    _save(fig, path)


def sweep_heatmaps(rows: list[dict[str, Any]], protocol: str, directory: Path) -> list[Path]:
    """Validation NDCG@20 over the first two swept hyperparameters (best over the others)."""
    plt = _pyplot()
    written = []
    for name in sorted({r["name"] for r in rows}):
        family_rows = [r for r in rows if r["name"] == name and r["protocol"] == protocol]
        swept = [
            key
            for key in family_rows[0]["hparams"]
            if len({str(r["hparams"][key]) for r in family_rows}) > 1
        ]
        if len(swept) < 2:
            continue
        x_key, y_key = swept[:2]
        xs = sorted({r["hparams"][x_key] for r in family_rows})
        ys = sorted({r["hparams"][y_key] for r in family_rows})
        grid = np.full((len(ys), len(xs)), np.nan)
        for r in family_rows:
            i, j = ys.index(r["hparams"][y_key]), xs.index(r["hparams"][x_key])
            grid[i, j] = np.nanmax([grid[i, j], r["val_ndcg@20"]])
        fig, ax = plt.subplots(figsize=(1.2 * len(xs) + 2, 0.8 * len(ys) + 1.5))
        image = ax.imshow(grid, cmap="viridis", aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="w", fontsize=8)
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set_xlabel(x_key)
        ax.set_ylabel(y_key)
        ax.set_title(f"{name}: validation masked NDCG@20 ({protocol})")
        fig.colorbar(image, ax=ax)
        path = directory / f"sweep_{name}_{protocol}.png"
        _save(fig, path)
        written.append(path)
    return written


def technique_map(
    embeddings: np.ndarray,
    vocabulary: Sequence[str],
    catalog: TechniqueCatalog,
    path: Path,
    title: str,
) -> None:
    """2-D PCA of technique embeddings, coloured by each technique's first tactic."""
    plt = _pyplot()
    centred = embeddings - embeddings.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    tactics = catalog.tactic_order
    first = [
        (
            catalog.techniques[t].tactics[0]
            if t in catalog.techniques and catalog.techniques[t].tactics
            else "unknown"
        )
        for t in vocabulary
    ]
    fig, ax = plt.subplots(figsize=(9, 7))
    cmap = plt.get_cmap("tab20")
    for i, tactic in enumerate([*tactics, "unknown"]):
        chosen = [j for j, f in enumerate(first) if f == tactic]
        if chosen:
            ax.scatter(coords[chosen, 0], coords[chosen, 1], s=14, color=cmap(i % 20), label=tactic)
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7, markerscale=1.5, loc="best", ncol=2)
    _save(fig, path)


def reliability_diagram(
    panels: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], path: Path, bins: int = 10
) -> None:
    """One panel per data set (e.g. validation, test), one line per kind of confidence (raw,
    calibrated): share of pairs true against mean confidence in equal-width bins, the diagonal
    where a confidence means what it says, and each line's expected calibration error."""
    from recommenders.text.calibration import expected_calibration_error, reliability_bins

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
    for ax, (title, lines) in zip(axes[0], panels.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1)
        for name, (confidence, truth) in lines.items():
            rows = reliability_bins(confidence, truth, bins)
            ece = expected_calibration_error(confidence, truth, bins)
            ax.plot(
                [c for c, _, _ in rows],
                [t for _, t, _ in rows],
                marker="o",
                label=f"{name} (ECE {ece:.3f})",
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (mean in bin)")
        ax.set_ylabel("share the annotators listed")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Text mapper: reliability of document-level confidences")
    _save(fig, path)
