"""Does an observed sub-technique that the model lacks help when read as its parent?

ATT&CK's hierarchy says using T1003.008 is using T1003; issue 26 asks whether the forecast
should read a sub-technique outside the model's vocabulary as its parent. Simulated on the
shipped model's reports, each with a random half shown: for every shown sub-technique whose
parent is in the vocabulary, the model is given the rest of the shown half (the sub-technique
dropped, as today) or the rest plus the parent (the stand-in), and both are scored by masked
recall@20 on the hidden half, the sub-technique and its parent left out of ranking and targets.
Rows for the model's training reports (in sample) and its held-out test reports; the decision
does not change any published number either way (the stand-in is not the default).

Run: python -m benchmarks.hierarchy; writes benchmarks/results/hierarchy.md.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp

from benchmarks.timing import write_table
from recommenders.artifacts import DEFAULT_MODEL_DIR, load_model
from recommenders.attack import load_catalog
from recommenders.data import default_attack_path, resolve_data_dir, trained_split_reports

K = 20


def recall_pairs(
    model, vocabulary: tuple[str, ...], reports: list[np.ndarray], seed: int
) -> np.ndarray:
    """(cases, 2) recall@K without and with the parent stand-in, one row per shown
    sub-technique whose parent the model has."""
    column = {t: i for i, t in enumerate(vocabulary)}
    rng = np.random.default_rng(seed)
    rows = []
    for columns in reports:
        if len(columns) < 3:
            continue
        shuffled = rng.permutation(columns)
        half = max(1, len(shuffled) // 2)
        shown, hidden = shuffled[:half], shuffled[half:]
        for sub in shown:
            parent = column.get(vocabulary[sub].split(".")[0])
            if "." not in vocabulary[sub] or parent is None:
                continue
            rest = [c for c in shown if c != sub]
            targets = set(hidden.tolist()) - {parent, sub}
            if not targets:
                continue
            found = []
            for given in (rest, [*rest, parent]):
                x = sp.csr_matrix(
                    (np.ones(len(given), np.float32), (np.zeros(len(given), int), given)),
                    shape=(1, len(vocabulary)),
                )
                scores = np.asarray(model.score(x), dtype=np.float64)[0]
                scores[[*given, parent, sub]] = -np.inf
                top = np.argsort(-scores, kind="stable")[:K]
                found.append(len(targets & set(top.tolist())) / min(K, len(targets)))
            rows.append(found)
    return np.array(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hierarchy", description=__doc__)
    parser.add_argument("--data-dir", help="default: $TIE_DATA_DIR")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    root = resolve_data_dir(args.data_dir)
    model, manifest = load_model(DEFAULT_MODEL_DIR)
    vocabulary = manifest.technique_ids
    reports = trained_split_reports(root, manifest.data, manifest.split, vocabulary)
    table = []
    for name in ("train", "test"):
        pairs = recall_pairs(model, vocabulary, [c for _, c in reports[name]], args.seed)
        gain = pairs[:, 1] - pairs[:, 0]
        half = 1.96 * gain.std(ddof=1) / np.sqrt(len(gain))
        table.append(
            [
                f"{name} reports ({len(reports[name])})",
                len(pairs),
                f"{pairs[:, 0].mean():.4f}",
                f"{pairs[:, 1].mean():.4f}",
                f"{gain.mean():+.4f} ± {half:.4f}",
                f"{(gain > 0).sum()} / {(gain < 0).sum()}",
            ]
        )
    catalog = load_catalog(default_attack_path(root))
    active = set(catalog.active_ids())
    missing = active - set(vocabulary)
    subs = [t for t in missing if "." in t]
    with_parent = [t for t in subs if t.split(".")[0] in vocabulary]
    path = write_table(
        "hierarchy",
        "Observed sub-technique read as its parent (issue 26)",
        ["reports", "cases", f"recall@{K}, dropped", "with parent", "gain (95%)", "better / worse"],
        table,
        [
            f"Shipped model ({len(vocabulary)} techniques). Each report's shown half is a seeded "
            f"random half (seed {args.seed}); cases are shown sub-techniques whose parent the "
            "model has.",
            f"Coverage of ATT&CK {catalog.version}'s {len(active)} active Enterprise techniques: "
            f"{len(active & set(vocabulary))} in the vocabulary "
            f"({len(active & set(vocabulary)) / len(active):.1%}); of the {len(missing)} outside "
            f"it, {len(subs)} are sub-techniques, {len(with_parent)} of them with their parent in "
            "the vocabulary.",
        ],
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
