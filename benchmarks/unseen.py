"""Simulated cold start: how well do ATT&CK-borrowed scores rank techniques a model never saw?

57 of v15.0's 637 active techniques have no column in the shipped model (no training report
names them), so a forecast could never name them. `recommenders.unseen` gives each a score
borrowed from its most similar seen techniques. To measure that without reports of the 57,
seen techniques are made unseen: the model's rare techniques (1–`--rare` training reports, like
the never-reported ones) are split into 5 folds; for each fold EASE (the shipped λ) is fitted
without the fold's columns and the fold's techniques are scored only from ATT&CK.

Each report (≥ 3 techniques) shows a random half of its techniques outside the fold; the rest
(with every fold technique it has) are the targets. All unshown techniques are ranked: seen
ones by the model, the fold's by the borrowed score (or never, "unreachable": the forecast
before). Metrics: masked recall@20 and AUC over all targets; for the fold's targets their AUC
against all candidates, against the fold's other techniques only ("among the unseen"), and the
share in the top 20. Settings are chosen on validation reports (a fifth of the training reports,
the model fitted on the rest) by the AUC over all targets, then measured once on the shipped
model's test reports (fitted on all its training reports). Reference rows, not available for a
never-reported technique: EASE fitted with the fold's columns, and the fold techniques' corpus
frequency; and a prior on ATT&CK's procedure-use counts (uses citing evaluation reports
withheld) added to the chosen scores.

Intervals are 95% over reports (each report's cases in the 5 folds averaged first) and, for the
fold's targets, over techniques (each technique's occurrences averaged first).

Run: python -m benchmarks.unseen; writes benchmarks/results/unseen.md and unseen.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from dataclasses import asdict, replace

import numpy as np
import scipy.sparse as sp

from benchmarks.timing import RESULTS, write_table
from recommenders.artifacts import DEFAULT_MODEL_DIR, load_model
from recommenders.attack import load_catalog
from recommenders.data import (
    DEFAULT_CORPUS,
    default_attack_path,
    load_corpus,
    resolve_data_dir,
    trained_split_reports,
)
from recommenders.models.ease import EASE
from recommenders.procedures import load_procedures, use_counts
from recommenders.unseen import Similarity, UnseenTechniques, similarity_terms, standardise

K = 20
FOLDS = 5
GRID = {
    "family": (0.0, 1.0),
    "tactics": (0.0, 0.5),
    "description": (1.0, 2.0),
    "neighbours": (20, 40),
    "offset": (-1.0, -0.5, 0.0),
    "observed": (4.0, 8.0),
}
"""Session 8's first, wider grid (offset −2…0, scale 0.5 or 1, observed 0/2/4, 5 or 20
neighbours, tactics up to 1, description 0–2) chose description 1, 20 neighbours, offset −0.5,
scale 1, observed 4: this grid is centred there (scale 1)."""
PRIOR = 0.25
"""Weight of log(1 + procedure uses) in the prior row (the first grid's best with a prior)."""


def matrix(reports: list[np.ndarray], width: int) -> sp.csr_matrix:
    rows = np.repeat(np.arange(len(reports)), [len(r) for r in reports])
    columns = np.concatenate(reports) if reports else np.zeros(0, int)
    return sp.csr_matrix(
        (np.ones(len(columns), np.float32), (rows, columns)), shape=(len(reports), width)
    )


def share_below(negatives: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each value, the share of `negatives` below it, ties counted half (an AUC per value)."""
    ordered = np.sort(negatives)
    lower = np.searchsorted(ordered, values, "left")
    upper = np.searchsorted(ordered, values, "right")
    return (lower + 0.5 * (upper - lower)) / max(1, len(ordered))


def standardised_scores(
    fit: list[np.ndarray], columns: np.ndarray, shown: list[np.ndarray], width: int, lam: float
) -> np.ndarray:
    """(reports, width) EASE scores fitted on `columns` only, standardised over each report's
    unshown techniques among them; -inf for shown techniques and columns left out."""
    where = np.full(width, -1)
    where[columns] = np.arange(len(columns))
    model = EASE(lam).fit(matrix(fit, width)[:, columns])
    x = matrix([where[s] for s in shown], len(columns))
    available = np.asarray(x.todense()) == 0
    z = standardise(np.asarray(model.score(x), dtype=np.float64), available)
    out = np.full((len(shown), width), -np.inf)
    out[:, columns] = np.where(available, z, -np.inf)
    return out


class Case:
    """One fold: its model's standardised scores for each evaluation report, ready for any
    scoring of the fold's techniques."""

    def __init__(
        self,
        fit: list[np.ndarray],
        evaluate: list[np.ndarray],
        fold: np.ndarray,
        width: int,
        lam: float,
        rng: np.random.Generator,
    ) -> None:
        self.fold, self.width = fold, width
        in_fold = np.zeros(width, bool)
        in_fold[fold] = True
        shown, self.targets, self.reports = [], [], []
        for report, columns in enumerate(evaluate):
            if len(columns) < 3:
                continue
            outside = rng.permutation(columns[~in_fold[columns]])
            half = len(outside) // 2
            if half == 0:
                continue
            shown.append(outside[:half])
            self.targets.append(np.setdiff1d(columns, outside[:half]))
            self.reports.append(report)
        self.shown = shown
        self.z = standardised_scores(fit, np.flatnonzero(~in_fold), shown, width, lam)
        self.observed = np.zeros((len(shown), width), bool)
        for row, columns in enumerate(shown):
            self.observed[row, columns] = True
        self.with_fold = standardised_scores(fit, np.arange(width), shown, width, lam)
        """The reference: the same reports scored by EASE fitted with the fold's columns."""

    def borrowed(self, unseen: UnseenTechniques) -> np.ndarray:
        """(reports, fold) the fold's scores borrowed from ATT&CK (`unseen` over the seen
        columns, in the order of `np.flatnonzero(~in_fold)`)."""
        seen = np.setdiff1d(np.arange(self.width), self.fold)
        z = np.where(np.isfinite(self.z[:, seen]), self.z[:, seen], 0.0)
        return unseen.scores(z, self.observed[:, seen])

    def rank(self, fold_scores: np.ndarray | None, full: np.ndarray | None = None) -> dict:
        """Metrics when the fold's techniques score `fold_scores` (None: unreachable), or of
        `full` scores for every technique (the reference)."""
        if full is None:
            full = self.z.copy()
            if fold_scores is not None:
                full[:, self.fold] = fold_scores
        top = np.argsort(-full, axis=1, kind="stable")[:, :K]
        in_fold = np.zeros(self.width, bool)
        in_fold[self.fold] = True
        out: dict[str, list] = {k: [] for k in ("recall", "auc", "report")}
        out |= {k: [] for k in ("fold_top", "fold_auc", "fold_within", "technique")}
        for row, targets in enumerate(self.targets):
            candidates = ~self.observed[row]
            is_target = np.zeros(self.width, bool)
            is_target[targets] = True
            auc = share_below(full[row, candidates & ~is_target], full[row, targets])
            found = np.isin(targets, top[row])
            out["recall"].append(found.sum() / min(K, len(targets)))
            out["auc"].append(auc.mean())
            out["report"].append(self.reports[row])
            others = full[row, self.fold[~is_target[self.fold]]]
            for i in np.flatnonzero(in_fold[targets]):
                out["fold_top"].append(found[i])
                out["fold_auc"].append(auc[i])
                out["fold_within"].append(share_below(others, full[row, [targets[i]]])[0])
                out["technique"].append(targets[i])
        return {k: np.array(v, dtype=float) for k, v in out.items()}


def cases(
    fit: list[np.ndarray],
    evaluate: list[np.ndarray],
    rare: np.ndarray,
    width: int,
    lam: float,
    seed: int,
) -> list[Case]:
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(rare), FOLDS)
    return [Case(fit, evaluate, np.sort(f), width, lam, rng) for f in folds]


def measure(runs: list[Case], scoring) -> dict[str, np.ndarray]:
    """Metrics over every fold; `scoring(case)` gives the fold's scores (or None)."""
    parts: dict[str, list[np.ndarray]] = {}
    for case in runs:
        for key, values in case.rank(scoring(case)).items():
            parts.setdefault(key, []).append(values)
    return {key: np.concatenate(values) for key, values in parts.items()}


def settings_scoring(terms: dict[str, np.ndarray], settings: Similarity, extra=None):
    def scoring(case: Case) -> np.ndarray:
        seen = np.setdiff1d(np.arange(case.width), case.fold)
        similar = settings.combine({k: v[np.ix_(case.fold, seen)] for k, v in terms.items()})
        scores = case.borrowed(
            UnseenTechniques.from_similarity(tuple(case.fold), similar, settings)
        )
        return scores if extra is None else scores + extra[case.fold][None]

    return scoring


def clustered(values: np.ndarray, clusters: np.ndarray) -> str:
    """Mean ± 95% interval over clusters (each cluster's values averaged first)."""
    means = np.array([values[clusters == c].mean() for c in np.unique(clusters)])
    half = 1.96 * means.std(ddof=1) / math.sqrt(len(means))
    return f"{values.mean():.3f} ± {half:.3f}"


def row(name: str, result: dict, unreachable: dict) -> list[str]:
    reports, techniques = result["report"], result["technique"]
    return [
        name,
        clustered(result["recall"], reports),
        clustered(result["recall"] - unreachable["recall"], reports),
        clustered(result["auc"], reports),
        clustered(result["auc"] - unreachable["auc"], reports),
        clustered(result["fold_auc"], techniques),
        clustered(result["fold_within"], techniques),
        f"{result['fold_top'].mean():.3f}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.unseen", description=__doc__)
    parser.add_argument("--data-dir", help="default: $TIE_DATA_DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rare",
        type=int,
        default=10,
        help="most training reports of a technique that may be made unseen (default: 10)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    root = resolve_data_dir(args.data_dir)
    _, manifest = load_model(DEFAULT_MODEL_DIR)
    vocabulary = manifest.technique_ids
    width = len(vocabulary)
    attack_path = default_attack_path(root)
    catalog = load_catalog(attack_path)
    reports = trained_split_reports(root, manifest.data, manifest.split, vocabulary)
    train = [c for _, c in reports["train"]]
    test = [c for _, c in reports["test"]]
    counts = np.bincount(np.concatenate(train), minlength=width)
    rare = np.flatnonzero((counts >= 1) & (counts <= args.rare))
    lam = float(manifest.hyperparameters["regularization"])
    terms = similarity_terms(catalog, list(vocabulary), list(vocabulary))
    corpus = root / DEFAULT_CORPUS.parent / manifest.data.corpus_file
    references = {r.id: r.references for r in load_corpus(corpus, catalog).reports}
    uses = load_procedures(attack_path, catalog)

    def log_uses(report_ids: list[str]) -> np.ndarray:
        """log(1 + procedure uses) per column, uses citing one of `report_ids` left out."""
        withheld = frozenset(url for r in report_ids for url in references.get(r, ()))
        counted = use_counts(uses, withheld)
        return np.log1p(np.array([counted.get(t, 0) for t in vocabulary], dtype=np.float64))

    order = np.random.default_rng(args.seed).permutation(len(train))
    cut = len(train) // 5
    validation_runs = cases(
        [train[i] for i in order[cut:]],
        [train[i] for i in order[:cut]],
        rare,
        width,
        lam,
        args.seed,
    )
    baseline = measure(validation_runs, lambda case: None)
    scored = []
    for values in itertools.product(*GRID.values()):
        settings = Similarity(**dict(zip(GRID, values, strict=True)))
        if settings.family == settings.tactics == settings.description == 0:
            continue
        scored.append((measure(validation_runs, settings_scoring(terms, settings)), settings))
    scored.sort(key=lambda item: -item[0]["auc"].mean())
    chosen = scored[0][1]

    test_ids = [r for r, _ in reports["test"]]
    test_runs = cases(train, test, rare, width, lam, args.seed + 1)
    unreachable = measure(test_runs, lambda case: None)
    variants = {
        "unreachable (before)": None,
        "chosen": chosen,
        "parent family only": replace(chosen, family=1.0, tactics=0.0, description=0.0),
        "tactics only": replace(chosen, family=0.0, tactics=1.0, description=0.0),
        "description only": replace(chosen, family=0.0, tactics=0.0, description=1.0),
        "observed neighbours lend 0": replace(chosen, observed=0.0),
    }
    rows, seen_settings = [], []
    for name, settings in variants.items():
        if settings is not None and settings in seen_settings:
            continue  # the same as a row above
        seen_settings.append(settings)
        scoring = (lambda case: None) if settings is None else settings_scoring(terms, settings)
        rows.append(row(name, measure(test_runs, scoring), unreachable))
    prior = settings_scoring(terms, chosen, PRIOR * log_uses(test_ids))
    rows.append(
        row(f"chosen + {PRIOR}·log(1 + procedure uses)", measure(test_runs, prior), unreachable)
    )
    reference = {}
    for case in test_runs:
        for key, values in case.rank(None, full=case.with_fold).items():
            reference.setdefault(key, []).append(values)
    reference = {k: np.concatenate(v) for k, v in reference.items()}
    rows.append(row("reference: EASE fitted with the fold's columns", reference, unreachable))
    frequency = measure(
        test_runs,
        lambda case: np.broadcast_to(
            np.log1p(counts[case.fold]), (len(case.targets), len(case.fold))
        ).astype(float),
    )
    best = scored[0][0]
    notes = [
        f"Rare techniques made unseen: {len(rare)} (1–{args.rare} training reports), "
        f"{FOLDS} folds; {len(unreachable['fold_auc'])} of their occurrences are test targets "
        f"in {len(unreachable['recall'])} report-fold cases ({len(set(unreachable['report']))} "
        "reports).",
        f"Chosen on validation by the AUC over all targets ({best['auc'].mean():.4f} vs "
        f"unreachable {baseline['auc'].mean():.4f}; recall@20 {best['recall'].mean():.3f} vs "
        f"{baseline['recall'].mean():.3f}): {chosen}. Next best: "
        + "; ".join(f"{r['auc'].mean():.4f} {s}" for r, s in scored[1:4]),
        "AUC: the share of a report's non-target candidates ranked below a target (ties half); "
        "an unreachable technique ties with the other unreachable ones at the bottom. Among the "
        "unseen: a fold target against the fold's other techniques only (0.5: no signal). The "
        "fold techniques' corpus frequency alone ranks them among the unseen at "
        f"{clustered(frequency['fold_within'], frequency['technique'])} (a never-reported "
        "technique has none).",
        "Intervals: 95% over reports (recall, AUC over all targets, differences paired with "
        "unreachable on the same cases) and over techniques (the unseen targets' columns).",
        f"{time.perf_counter() - started:.0f} s on this machine.",
    ]
    write_table(
        "unseen",
        "Techniques the model never saw: scores borrowed from ATT&CK (simulated cold start, test)",
        [
            "scoring of the unseen",
            "recall@20",
            "vs unreachable",
            "AUC, all targets",
            "vs unreachable",
            "AUC, unseen targets",
            "AUC among the unseen",
            "unseen targets in top 20",
        ],
        rows,
        notes,
    )
    (RESULTS / "unseen.json").write_text(
        json.dumps({"chosen": asdict(chosen), "rows": rows}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
