"""TIE dataset → validated reports → CSR matrix → seeded splits.

Reports are *sets* of techniques; a matrix row is one report, a column one technique of a sorted,
deterministic vocabulary that travels with every model trained on it.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp

from recommenders.attack import TechniqueCatalog, load_catalog
from recommenders.errors import DataError
from recommenders.jsonio import read_json, sha256_file

if TYPE_CHECKING:
    from recommenders.artifacts import SplitRecord, TrainingData

log = logging.getLogger(__name__)

DEFAULT_CORPUS = Path("tie") / "combined_dataset_full_frequency.json"
DEFAULT_ATTACK = Path("attack") / "enterprise-attack-15.0.json"
"""The default bundle under a data folder; `default_attack_path` also finds it as `.json.gz`."""
COUNT_LIMIT = float(np.finfo(np.float32).max)
"""Largest count a float32 matrix holds (about 3.4e38); anything above becomes inf."""


def default_attack_path(root: str | Path) -> Path:
    """`<root>/attack/enterprise-attack-15.0.json`, or the same name with `.gz`, whichever exists."""
    plain = Path(root) / DEFAULT_ATTACK
    packed = plain.with_name(plain.name + ".gz")
    for path in (plain, packed):
        if path.is_file():
            return path
    raise DataError(
        plain.parent,
        None,
        f"neither {plain.name} nor {packed.name} found",
        "put the ATT&CK Enterprise bundle there (python -m recommenders.download fetches it), "
        "or pass its path with --attack",
    )


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder from an explicit argument or `TIE_DATA_DIR`, with a fix when neither works."""
    chosen = data_dir if data_dir is not None else os.environ.get("TIE_DATA_DIR")
    if not chosen:
        raise DataError(
            None,
            "TIE_DATA_DIR",
            "no data directory given",
            "set TIE_DATA_DIR (or pass --data-dir) to the folder holding tie/ and attack/",
        )
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataError(
            path,
            "TIE_DATA_DIR",
            "not a directory",
            "point it at the folder holding tie/ and attack/",
        )
    return path


@dataclass(frozen=True)
class Report:
    """One CTI report: its ID, its technique counts and where it came from."""

    id: str
    techniques: dict[str, int]
    origin: str
    references: tuple[str, ...] = ()
    """The report's reference URLs, normalised (`normalised_url`): how other sources citing the
    same report are recognised."""


@dataclass(frozen=True)
class DropSummary:
    """What validation removed and why, so a user can audit a dirty file."""

    ids_by_reason: dict[str, list[str]] = field(default_factory=dict)
    observations_dropped: int = 0
    empty_reports_dropped: int = 0
    reports_filtered_by_origin: int = 0

    @property
    def ids_dropped(self) -> int:
        return sum(len(ids) for ids in self.ids_by_reason.values())

    def describe(self, show: int = 8) -> str:
        """A few readable lines: how many IDs were dropped per reason, with examples."""
        if (
            not self.ids_by_reason
            and not self.empty_reports_dropped
            and not self.reports_filtered_by_origin
        ):
            return "nothing dropped"
        lines = [
            f"dropped {self.ids_dropped} technique IDs ({self.observations_dropped} observations), "
            f"{self.empty_reports_dropped} reports left empty, "
            f"{self.reports_filtered_by_origin} reports filtered by origin"
        ]
        for reason, ids in sorted(self.ids_by_reason.items()):
            examples = ", ".join(repr(i) for i in ids[:show]) + (" …" if len(ids) > show else "")
            lines.append(f"  {reason}: {len(ids)} ({examples})")
        return "\n".join(lines)


@dataclass(frozen=True)
class Corpus:
    """Validated reports plus the audit of what was dropped."""

    reports: tuple[Report, ...]
    dropped: DropSummary
    source: str = ""
    sha256: str = ""


def _field(path: Path, where: str, problem: str, fix: str) -> DataError:
    return DataError(path, where, problem, fix)


def normalised_url(url: str) -> str:
    """A URL compared the way citations of one report are matched: no scheme, no www., lower case, letters and
    digits only."""
    url = re.sub(r"^https?://(www\.)?", "", url.strip().lower()).rstrip("/")
    return re.sub(r"[^a-z0-9]", "", url)


def _references(raw: dict[str, Any], path: Path, where: str) -> tuple[str, ...]:
    references = raw.get("references") or []
    if not isinstance(references, list):
        raise _field(
            path, f"{where}.references", "not a list", 'give references as [{"url": ...}, ...]'
        )
    urls = (r.get("url") for r in references if isinstance(r, dict))
    return tuple(sorted({normalised_url(u) for u in urls if isinstance(u, str)} - {""}))


def _parse_reports(payload: Any, path: Path) -> list[Report]:
    fix = "use the TIE combined dataset schema: {reports: [{id, mitre_techniques: {ID: count}, origin_of_data}]}"
    if not isinstance(payload, dict) or not isinstance(payload.get("reports"), list):
        raise _field(path, "reports", "missing or not a list", fix)
    reports = []
    seen: set[str] = set()
    for i, raw in enumerate(payload["reports"]):
        where = f"reports[{i}]"
        if not isinstance(raw, dict):
            raise _field(path, where, "not an object", fix)
        if "id" not in raw:
            raise _field(path, f"{where}.id", "missing", fix)
        report_id = str(raw["id"])
        if report_id in seen:
            raise _field(
                path,
                f"{where}.id",
                f"duplicate report id {report_id!r}",
                "give every report a unique id",
            )
        seen.add(report_id)
        techniques = raw.get("mitre_techniques")
        if not isinstance(techniques, dict):
            raise _field(path, f"{where}.mitre_techniques", "missing or not an object", fix)
        for technique_id, count in techniques.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise _field(
                    path,
                    f"{where}.mitre_techniques[{technique_id!r}]",
                    f"count {count!r} is not a non-negative integer",
                    "store observation counts as integers",
                )
        origin = raw.get("origin_of_data", "")
        if not isinstance(origin, str):
            raise _field(path, f"{where}.origin_of_data", f"{origin!r} is not a string", fix)
        reports.append(
            Report(
                report_id,
                {k: v for k, v in techniques.items() if v > 0},
                origin,
                _references(raw, path, where),
            )
        )
    return reports


def load_corpus(
    path: str | Path,
    catalog: TechniqueCatalog,
    origins: list[str] | None = None,
) -> Corpus:
    """Load and validate a TIE dataset against an ATT&CK catalog.

    IDs that are not Enterprise techniques, unknown to the catalog, revoked or deprecated are
    dropped (with the reason recorded); reports left with no technique are dropped too.

    Args:
        path: the dataset (`.json` or `.json.gz`).
        catalog: the ATT&CK release the IDs are checked against.
        origins: keep only reports whose `origin_of_data` is listed (None keeps all).
    """
    path = Path(path)
    raw_reports = _parse_reports(read_json(path), path)
    if origins is not None:
        known = {r.origin for r in raw_reports}
        if missing := sorted(set(origins) - known):
            raise DataError(
                path,
                "origin_of_data",
                f"no report has origin {missing}",
                f"choose among {sorted(known)}",
            )
    dropped: dict[str, set[str]] = {}
    observations_dropped = empty = filtered = 0
    kept = []
    for report in raw_reports:
        if origins is not None and report.origin not in origins:
            filtered += 1
            continue
        techniques = {}
        for technique_id, count in report.techniques.items():
            status = catalog.status(technique_id)
            if status == "active":
                techniques[technique_id] = count
            else:
                dropped.setdefault(status, set()).add(technique_id)
                observations_dropped += 1
        if techniques:
            kept.append(Report(report.id, techniques, report.origin, report.references))
        else:
            empty += 1
    summary = DropSummary(
        {reason: sorted(ids) for reason, ids in dropped.items()},
        observations_dropped,
        empty,
        filtered,
    )
    if summary.ids_dropped or empty or filtered:
        log.info("%s: %s", path.name, summary.describe())
    if not kept:
        raise DataError(
            path,
            "reports",
            "no report has a valid Enterprise technique",
            "check the file and the ATT&CK version",
        )
    return Corpus(tuple(kept), summary, source=path.name, sha256=sha256_file(path))


@dataclass(frozen=True)
class InteractionMatrix:
    """Report × technique matrix with the vocabulary and row IDs that give it meaning."""

    matrix: sp.csr_matrix
    techniques: tuple[str, ...]
    report_ids: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]


def build_matrix(
    corpus: Corpus,
    values: Literal["binary", "count"] = "binary",
    rollup: bool = False,
) -> InteractionMatrix:
    """Build the CSR matrix over a sorted vocabulary of the techniques the corpus uses.

    Args:
        values: "binary" (TIE's choice: a technique is in a report or not) or raw "count".
        rollup: sum sub-technique counts into their parent technique.
    """
    rows: list[Counter[str]] = []
    for report in corpus.reports:
        counts: Counter[str] = Counter()
        for technique_id, count in report.techniques.items():
            counts[technique_id.split(".")[0] if rollup else technique_id] += count
        if values == "count":
            _check_counts(corpus, report, counts, rollup)
        rows.append(counts)
    vocabulary = tuple(sorted({t for counts in rows for t in counts}))
    column = {t: j for j, t in enumerate(vocabulary)}
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indices: list[int] = []
    data: list[float] = []
    for i, counts in enumerate(rows):
        for technique_id in sorted(counts, key=column.__getitem__):
            indices.append(column[technique_id])
            data.append(1.0 if values == "binary" else float(counts[technique_id]))
        indptr[i + 1] = len(indices)
    matrix = sp.csr_matrix(
        (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
        shape=(len(rows), len(vocabulary)),
    )
    return InteractionMatrix(matrix, vocabulary, tuple(r.id for r in corpus.reports))


def _check_counts(corpus: Corpus, report: Report, counts: Counter[str], rollup: bool) -> None:
    """A count matrix is float32: a larger count would become inf (or fail to convert at all)."""
    for technique_id, count in counts.items():
        if count > COUNT_LIMIT:
            summed = " (its sub-techniques rolled up into it)" if rollup else ""
            raise DataError(
                corpus.source,
                f"reports[id={report.id!r}].mitre_techniques[{technique_id!r}]",
                f"a count of {len(str(count))} digits{summed} exceeds what a count matrix holds "
                f"(float32, at most {COUNT_LIMIT:.2g})",
                "correct the count in the file, or use --values binary (TIE's choice), which "
                "needs only presence",
            )


def load_matrix(
    data_dir: str | Path | None = None,
    corpus_path: str | Path | None = None,
    attack_path: str | Path | None = None,
    values: Literal["binary", "count"] = "binary",
    rollup: bool = False,
    origins: list[str] | None = None,
) -> tuple[InteractionMatrix, Corpus, TechniqueCatalog]:
    """Convenience: data folder → (matrix, corpus, catalog) with the default file names."""
    root = resolve_data_dir(data_dir) if corpus_path is None or attack_path is None else None
    catalog = load_catalog(attack_path or default_attack_path(root))  # type: ignore[arg-type]
    corpus = load_corpus(corpus_path or root / DEFAULT_CORPUS, catalog, origins)  # type: ignore[operator]
    return build_matrix(corpus, values, rollup), corpus, catalog


def _row_major(
    rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float32)
    matrix.sort_indices()
    return matrix


@dataclass(frozen=True)
class PairSplit:
    """TIE's protocol: every report is a training row; some of its pairs are held out."""

    train: sp.csr_matrix
    validation: sp.csr_matrix
    test: sp.csr_matrix


def pair_holdout(
    matrix: sp.csr_matrix, seed: int, validation: float = 0.1, test: float = 0.2
) -> PairSplit:
    """Hold out (report, technique) pairs, keeping at least one pair of every report in train.

    Mirrors TIE's split: one random pair per report is pinned to train, then `validation` and
    `test` fractions of *all* pairs are drawn from the rest.
    """
    if not (validation > 0 and test > 0 and validation + test < 1):
        raise ValueError(
            f"validation ({validation}) and test ({test}) must be positive and sum below 1"
        )
    rng = np.random.default_rng(seed)
    coo = matrix.tocoo()
    order = np.lexsort((coo.col, coo.row))
    rows, cols, vals = coo.row[order], coo.col[order], coo.data[order]
    n = len(rows)
    pinned = np.zeros(n, dtype=bool)
    starts = np.searchsorted(rows, np.arange(matrix.shape[0]))
    lengths = np.diff(np.append(starts, n))
    has = lengths > 0
    pinned[starts[has] + (rng.random(has.sum()) * lengths[has]).astype(np.int64)] = True
    free = rng.permutation(np.flatnonzero(~pinned))
    n_val, n_test = round(validation * n), round(test * n)
    if n_val + n_test > len(free):
        raise ValueError("too few pairs to hold out: lower the validation/test fractions")
    assignment = np.zeros(n, dtype=np.int8)
    assignment[free[:n_val]] = 1
    assignment[free[n_val : n_val + n_test]] = 2
    shape = matrix.shape
    return PairSplit(
        *(
            _row_major(rows[assignment == k], cols[assignment == k], vals[assignment == k], shape)
            for k in range(3)
        )
    )


@dataclass(frozen=True)
class HeldOutReports:
    """Unseen reports, each split into techniques shown to a model and techniques to predict."""

    rows: np.ndarray
    """Row indices into the full matrix."""
    observed: sp.csr_matrix
    heldout: sp.csr_matrix


@dataclass(frozen=True)
class ReportSplit:
    """Whole-report protocol: test reports are unseen and scored by fold-in (the env's case)."""

    train_rows: np.ndarray
    train: sp.csr_matrix
    validation: HeldOutReports
    test: HeldOutReports


def _hold_out(
    matrix: sp.csr_matrix, rows: np.ndarray, fraction: float, rng: np.random.Generator
) -> HeldOutReports:
    sub = matrix[rows].tocsr()
    sub.sort_indices()
    observed_mask = np.zeros(sub.nnz, dtype=bool)
    for i in range(sub.shape[0]):
        start, stop = sub.indptr[i], sub.indptr[i + 1]
        length = stop - start
        n_observed = min(max(1, int(np.floor(fraction * length))), length - 1)
        observed_mask[start + rng.choice(length, size=n_observed, replace=False)] = True

    def keep(mask: np.ndarray) -> sp.csr_matrix:
        part = sub.copy()
        part.data = np.where(mask, part.data, 0).astype(np.float32)
        part.eliminate_zeros()
        return part

    return HeldOutReports(rows, keep(observed_mask), keep(~observed_mask))


def report_holdout(
    matrix: sp.csr_matrix,
    seed: int,
    validation: float = 0.1,
    test: float = 0.2,
    observed_fraction: float = 0.5,
) -> ReportSplit:
    """Hold out whole reports; each held-out report shows `observed_fraction` of its techniques.

    Only reports with two or more techniques can be held out (one to show, one to predict);
    single-technique reports always train.
    """
    if not (validation > 0 and test > 0 and validation + test < 1 and 0 < observed_fraction < 1):
        raise ValueError(
            "validation, test and observed_fraction must lie in (0, 1) with validation + test < 1"
        )
    rng = np.random.default_rng(seed)
    lengths = np.diff(matrix.indptr)
    eligible = rng.permutation(np.flatnonzero(lengths >= 2))
    n_rows = matrix.shape[0]
    n_val, n_test = round(validation * n_rows), round(test * n_rows)
    if n_val + n_test >= len(eligible):
        raise ValueError("too few multi-technique reports for these validation/test fractions")
    val_rows = np.sort(eligible[:n_val])
    test_rows = np.sort(eligible[n_val : n_val + n_test])
    train_rows = np.setdiff1d(np.arange(n_rows), np.concatenate([val_rows, test_rows]))
    train = matrix[train_rows].tocsr()
    return ReportSplit(
        train_rows,
        train,
        _hold_out(matrix, val_rows, observed_fraction, rng),
        _hold_out(matrix, test_rows, observed_fraction, rng),
    )


def trained_split_reports(
    root: str | Path,
    training: TrainingData,
    split: SplitRecord,
    vocabulary: tuple[str, ...],
) -> dict[str, list[tuple[str, np.ndarray]]]:
    """A model's training corpus as (report ID, sorted technique columns), split as it was trained.

    "test" holds the split's held-out test reports, "train" every other report with ≥ 2
    techniques. The files are read from `root` by the names the model recorded and checked
    against its corpus checksum and technique vocabulary.
    """
    corpus_path = Path(root) / DEFAULT_CORPUS.parent / training.corpus_file
    attack_path = Path(root) / DEFAULT_ATTACK.parent / training.attack_file
    for path in (corpus_path, attack_path):
        if not path.is_file():
            raise DataError(
                path,
                None,
                "the model was trained on this file, and it is missing",
                "point TIE_DATA_DIR at the data the model was trained on",
            )
    corpus = load_corpus(
        corpus_path,
        load_catalog(attack_path),
        list(training.origins) if training.origins else None,
    )
    if corpus.sha256 != training.corpus_sha256:
        raise DataError(
            corpus_path,
            "sha256",
            "differs from the corpus the model was trained on",
            "use the same dataset file, or retrain on this one",
        )
    matrix = build_matrix(corpus, training.values, training.rollup)  # type: ignore[arg-type]
    if matrix.techniques != vocabulary:
        raise DataError(
            corpus_path,
            "technique_ids",
            "the corpus yields another technique vocabulary",
            "use the ATT&CK bundle the model was trained with",
        )
    held_out = set(split.test_report_ids)
    csr = matrix.matrix
    reports: dict[str, list[tuple[str, np.ndarray]]] = {"test": [], "train": []}
    for row, rid in enumerate(matrix.report_ids):
        columns = np.sort(csr.indices[csr.indptr[row] : csr.indptr[row + 1]]).astype(np.int64)
        if rid in held_out:
            reports["test"].append((rid, columns))
        elif len(columns) >= 2:
            reports["train"].append((rid, columns))
    return reports
