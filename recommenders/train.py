"""`python -m recommenders.train`: sweep every model family, select on validation, test, save.

Both split protocols run side by side: TIE's pair holdout and the whole-report holdout the
environments live in. Selection uses masked validation NDCG@20 only; test numbers are computed
once per model after selection and never feed a choice. The run folder is built under a hidden
temporary name and renamed into place at the end; a crash or Ctrl-C removes it, so an unfinished
run leaves nothing behind (exit status 130 on Ctrl-C). Progress goes to tqdm bars on a terminal
and to log lines (one per configuration and per refit, with the elapsed time) everywhere, so that
a CI log shows it too.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

import recommenders
from recommenders.artifacts import (
    CorpusStats,
    ModelManifest,
    SplitRecord,
    TrainingData,
    save_model,
    write_best_pointer,
)
from recommenders.data import (
    DEFAULT_CORPUS,
    PairSplit,
    ReportSplit,
    default_attack_path,
    load_matrix,
    pair_holdout,
    report_holdout,
    resolve_data_dir,
)
from recommenders.errors import DataError
from recommenders.evaluation import evaluate_pairs, evaluate_reports
from recommenders.jsonio import atomic_write, staged_folder, write_json
from recommenders.metrics import KS
from recommenders.models import Recommender, make_model
from recommenders.models.base import resolve_device
from recommenders.procedures import ProcedureSplit, load_procedures
from recommenders.sweeps import DEFAULT_MODELS, SWEEPS
from recommenders.unseen import DEFAULT as UNSEEN_DEFAULT
from recommenders.unseen import UnseenTechniques, save_unseen

log = logging.getLogger("recommenders.train")

SELECTION_METRIC = "masked/ndcg@20"
PROTOCOLS = ("pair", "report")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on; recorded verbatim in the run manifest."""

    data_dir: str | None = None
    """Folder holding tie/ and attack/ (default: TIE_DATA_DIR)."""
    corpus: str | None = None
    """Dataset file; default <data_dir>/tie/combined_dataset_full_frequency.json."""
    attack: str | None = None
    """ATT&CK Enterprise bundle; default <data_dir>/attack/enterprise-attack-15.0.json (or .json.gz)."""
    out: str = "runs"
    """Output folder; each run gets a timestamped subfolder and `best.json` points at the best model."""
    models: tuple[str, ...] = DEFAULT_MODELS
    """Named models to sweep (see recommenders.sweeps)."""
    device: str = "auto"
    """torch device for WALS/BPR/MF and `implicit` ("auto", "cpu", "cuda")."""
    seed: int = 0
    """Seeds the splits and every model."""
    quick: bool = False
    """One configuration per model and few epochs: a CI-sized run."""
    values: str = "binary"
    """"binary" (TIE) or "count" matrix values."""
    rollup: bool = False
    """Roll sub-techniques up into their parents."""
    origins: tuple[str, ...] | None = None
    """Keep only reports of these `origin_of_data` values."""
    threads: int = 0
    """CPU threads for torch and `implicit` (0: all cores)."""
    plots: bool = True
    """Write PNG figures."""
    backend: str = "local"
    """Where the sweep's configurations run: "local" (one after another, here) or "ray" (Ray
    tasks: `recommenders.distributed`); selection, refit and artifacts are the same."""
    address: str | None = None
    """Ray cluster address (`ray start --head` prints it); None starts a local Ray."""
    procedures: float = 0.0
    """Weight of ATT&CK's procedure examples as extra training rows (`recommenders.procedures`);
    0, the default, turns them off. Off because 0.5 measured +0.001 (EASE) / +0.007 (WALS)
    validation NDCG@20 on the report protocol, and selection would then pick WALS, whose test
    NDCG@20 (0.343) is below EASE's (0.358): docs/progress.md. `tie_wals` never gets them."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    family: str
    protocol: str
    hparams: dict[str, Any]
    validation: dict[str, float]
    fit_seconds: float


def _fit(
    name: str,
    hparams: dict[str, Any],
    train: sp.csr_matrix,
    config: TrainConfig,
    procedures: sp.csr_matrix,
) -> tuple[Recommender, float]:
    """Fit on the corpus rows `train`, with the procedure rows after them (row indices of the
    corpus are kept) unless the model trains on the corpus alone."""
    if procedures.shape[0] and not SWEEPS[name].corpus_only:
        train = sp.vstack([train, procedures], format="csr")
    model = make_model(SWEEPS[name].family, **hparams)
    start = time.perf_counter()
    model.fit(train, seed=config.seed, device=config.device)
    return model, time.perf_counter() - start


def describe_hparams(hparams: dict[str, Any]) -> str:
    """`alpha=5.0 factors=32`: a configuration on one line, keys sorted ("(none)" when empty)."""
    return " ".join(f"{key}={value}" for key, value in sorted(hparams.items())) or "(none)"


def _stack_reports(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    return matrix[np.sort(rows)].tocsr()


def sweep_job(
    name: str,
    hparams: dict[str, Any],
    pair: PairSplit,
    report: ReportSplit,
    procedures: ProcedureSplit,
    config: TrainConfig,
) -> tuple[Result, Result]:
    """One configuration fitted and validated on both protocols (each with the procedure rows
    its selection may see): the unit a backend runs."""
    family = SWEEPS[name].family
    model, seconds = _fit(name, hparams, pair.train, config, procedures.pair_selection)
    on_pairs = Result(
        name, family, "pair", hparams, evaluate_pairs(model, pair.train, pair.validation), seconds
    )
    model, seconds = _fit(name, hparams, report.train, config, procedures.report_selection)
    on_reports = Result(
        name, family, "report", hparams, evaluate_reports(model, report.validation), seconds
    )
    return on_pairs, on_reports


def sweep(
    config: TrainConfig, pair: PairSplit, report: ReportSplit, procedures: ProcedureSplit
) -> list[Result]:
    """Fit every configuration of every named model on both protocols' training data, here or
    on Ray (`config.backend`); results come back in job order either way."""
    jobs = [(name, hp) for name in config.models for hp in SWEEPS[name].configs(config.quick)]
    if config.backend == "ray":
        from recommenders.distributed import ray_sweep

        done: Iterator[tuple[Result, Result]] = ray_sweep(
            sweep_job, jobs, (pair, report, procedures), config
        )
    else:
        done = (sweep_job(name, hp, pair, report, procedures, config) for name, hp in jobs)
    results = []
    started = time.perf_counter()
    bar = tqdm(
        zip(jobs, done, strict=True), total=len(jobs), desc="sweep", unit="config", disable=None
    )
    for i, ((name, hparams), (on_pairs, on_reports)) in enumerate(bar, start=1):
        bar.set_postfix_str(name)
        results += [on_pairs, on_reports]
        log.info(
            "sweep %d/%d %s %s: validation NDCG@20 pair %.3f, report %.3f (%.1f s elapsed)",
            i,
            len(jobs),
            name,
            describe_hparams(hparams),
            on_pairs.validation[SELECTION_METRIC],
            on_reports.validation[SELECTION_METRIC],
            time.perf_counter() - started,
        )
    return results


def select(results: list[Result]) -> dict[tuple[str, str], Result]:
    """Best configuration per (name, protocol) by validation masked NDCG@20."""
    best: dict[tuple[str, str], Result] = {}
    for result in results:
        key = (result.name, result.protocol)
        if (
            key not in best
            or result.validation[SELECTION_METRIC] > best[key].validation[SELECTION_METRIC]
        ):
            best[key] = result
    return best


def _sweep_csv(results: list[Result]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "name",
            "family",
            "protocol",
            "hyperparameters",
            "fit_seconds",
            "val_masked_ndcg@20",
            "val_masked_recall@20",
            "val_masked_precision@20",
            "val_tie_ndcg@20",
        ]
    )
    for r in results:
        writer.writerow(
            [
                r.name,
                r.family,
                r.protocol,
                json.dumps(r.hparams, sort_keys=True),
                f"{r.fit_seconds:.3f}",
                f"{r.validation['masked/ndcg@20']:.5f}",
                f"{r.validation['masked/recall@20']:.5f}",
                f"{r.validation['masked/precision@20']:.5f}",
                f"{r.validation['tie/ndcg@20']:.5f}",
            ]
        )
    return buffer.getvalue()


def summary_table(
    test: dict[str, dict[str, dict[str, float]]], ks: tuple[int, ...] = (10, 20, 50)
) -> str:
    """Plain-text table: test P/R/NDCG@k per model and protocol (masked), plus TIE-compat NDCG@20."""
    header = (
        f"{'model':14s} {'protocol':8s} "
        + " ".join(f"{m}@{k:<3d}" for k in ks for m in ("P", "R", "N"))
        + "  tieN@20"
    )
    lines = [header, "-" * len(header)]
    for protocol in PROTOCOLS:
        for name, metrics in sorted(
            test[protocol].items(), key=lambda kv: -kv[1]["masked/ndcg@20"]
        ):
            cells = " ".join(
                f"{metrics[f'masked/{m}@{k}']:.3f}".rjust(len(f"{m[0].upper()}@{k:<3d}"))
                for k in ks
                for m in ("precision", "recall", "ndcg")
            )
            lines.append(f"{name:14s} {protocol:8s} {cells}  {metrics['tie/ndcg@20']:.3f}")
    return "\n".join(lines)


def chosen_table(chosen: dict[tuple[str, str], Result]) -> str:
    """Plain-text table: the configuration selected per model and protocol, with its score."""
    header = f"{'model':14s} {'protocol':8s} {'val N@20':8s}  hyperparameters"
    lines = [
        f"chosen hyperparameters (best validation {SELECTION_METRIC} per model and protocol)",
        header,
        "-" * len(header),
    ]
    for protocol in PROTOCOLS:
        for (name, p), result in sorted(chosen.items()):
            if p == protocol:
                lines.append(
                    f"{name:14s} {protocol:8s} {result.validation[SELECTION_METRIC]:8.3f}  "
                    f"{describe_hparams(result.hparams)}"
                )
    return "\n".join(lines)


def _report_rows_trainval(matrix: sp.csr_matrix, report: ReportSplit) -> sp.csr_matrix:
    return _stack_reports(matrix, np.concatenate([report.train_rows, report.validation.rows]))


def run(config: TrainConfig) -> Path:
    """The whole pipeline; returns the run folder."""
    torch.manual_seed(config.seed)
    threads = config.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    os.environ.setdefault("TIE_NUM_THREADS", str(threads))
    torch_device = str(resolve_device(config.device))

    root = (
        resolve_data_dir(config.data_dir)
        if config.corpus is None or config.attack is None
        else None
    )
    corpus_path = Path(config.corpus) if config.corpus else root / DEFAULT_CORPUS  # type: ignore[operator]
    attack_path = Path(config.attack) if config.attack else default_attack_path(root)  # type: ignore[arg-type]
    data, corpus, catalog = load_matrix(
        corpus_path=corpus_path,
        attack_path=attack_path,
        values=config.values,  # type: ignore[arg-type]
        rollup=config.rollup,
        origins=list(config.origins) if config.origins else None,
    )
    release = (
        f"ATT&CK {catalog.version} (from the {catalog.version_source})"
        if catalog.version
        else "ATT&CK release unknown"
    )
    log.info(
        "%s: %s; matrix: %d reports × %d techniques, %d entries; %s",
        attack_path.name,
        release,
        *data.shape,
        data.matrix.nnz,
        corpus.dropped.describe(),
    )
    matrix = data.matrix
    pair = pair_holdout(matrix, config.seed)
    report = report_holdout(matrix, config.seed)
    procedures = ProcedureSplit.build(
        load_procedures(attack_path, catalog) if config.procedures > 0 else [],
        data.techniques,
        [r.references for r in corpus.reports],
        pair,
        report,
        config.procedures,
    )
    if config.procedures > 0:
        log.info(
            "ATT&CK procedure examples: %d rows of weight %g (%d in selection fits: uses citing "
            "held-out reports are withheld); --procedures 0 turns them off",
            procedures.report_refit.shape[0],
            config.procedures,
            procedures.report_selection.shape[0],
        )

    started = time.perf_counter()
    results = sweep(config, pair, report, procedures)
    chosen = select(results)

    out = Path(config.out)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    final = out / stamp
    suffix = 1
    while final.exists():
        final = out / f"{stamp}-{suffix}"
        suffix += 1
    with staged_folder(final) as staging:
        test: dict[str, dict[str, dict[str, float]]] = {p: {} for p in PROTOCOLS}
        metrics: dict[str, Any] = {p: {} for p in PROTOCOLS}
        pair_trainval = (pair.train + pair.validation).tocsr()
        report_trainval = _report_rows_trainval(matrix, report)
        training_data = TrainingData(
            corpus_file=corpus_path.name,
            corpus_sha256=corpus.sha256,
            attack_file=attack_path.name,
            attack_sha256=catalog.sha256,
            attack_version=catalog.version,
            attack_version_source=catalog.version_source,
            values=config.values,
            rollup=config.rollup,
            origins=tuple(config.origins) if config.origins else None,
            procedures=config.procedures,
            procedure_rows=procedures.report_refit.shape[0],
        )
        description = ModelManifest(
            technique_ids=data.techniques,
            tactic_order=tuple(catalog.tactic_order),
            technique_names={t: catalog.techniques[t].name for t in data.techniques},
            technique_tactics={t: tuple(catalog.techniques[t].tactics) for t in data.techniques},
            data=training_data,
            seed=config.seed,
            corpus_stats=CorpusStats(
                tuple(np.bincount(np.diff(report_trainval.indptr)).tolist()),
                tuple(np.asarray((report_trainval > 0).sum(axis=0)).ravel().tolist()),
            ),
            split=SplitRecord(tuple(data.report_ids[i] for i in report.test.rows)),
        )
        models_dir = staging / "models"
        unseen = UnseenTechniques.build(catalog, data.techniques, UNSEEN_DEFAULT)
        refit_bar = tqdm(sorted(chosen.items()), desc="refit+test", unit="model", disable=None)
        for i, ((name, protocol), result) in enumerate(refit_bar, start=1):
            refit_bar.set_postfix_str(f"{name}/{protocol}")
            if protocol == "pair":
                model, seconds = _fit(
                    name, result.hparams, pair_trainval, config, procedures.pair_refit
                )
                scores = evaluate_pairs(model, pair_trainval, pair.test)
            else:
                model, seconds = _fit(
                    name, result.hparams, report_trainval, config, procedures.report_refit
                )
                scores = evaluate_reports(model, report.test)
                save_model(
                    model,
                    models_dir / name,
                    replace(
                        description,
                        name=name,
                        metrics={"validation": result.validation, "test": scores},
                    ),
                )
                save_unseen(unseen, models_dir / name)
            test[protocol][name] = scores
            metrics[protocol][name] = {
                "hyperparameters": result.hparams,
                "validation": result.validation,
                "test": scores,
                "refit_seconds": seconds,
            }
            log.info(
                "refit %d/%d %s/%s: test NDCG@20 %.3f (fit %.1f s, %.1f s elapsed)",
                i,
                len(chosen),
                name,
                protocol,
                scores[SELECTION_METRIC],
                seconds,
                time.perf_counter() - started,
            )

        best_name = max(
            (n for (n, p) in chosen if p == "report"),
            key=lambda n: chosen[(n, "report")].validation[SELECTION_METRIC],
        )
        elapsed = time.perf_counter() - started
        write_json(
            staging / "metrics.json",
            {"selection_metric": SELECTION_METRIC, "best": best_name, **metrics},
        )
        atomic_write(
            staging / "sweep.csv", lambda tmp: tmp.write_text(_sweep_csv(results), encoding="utf-8")
        )
        table, chosen_text = summary_table(test), chosen_table(chosen)
        atomic_write(
            staging / "summary.txt",
            lambda tmp: tmp.write_text(f"{table}\n\n{chosen_text}\n", encoding="utf-8"),
        )
        write_json(
            staging / "manifest.json",
            {
                "package_version": recommenders.__version__,
                "created_utc": stamp,
                "config": {k: v for k, v in asdict(config).items() if k != "extra"},
                "data": training_data.to_json(),
                "matrix": {
                    "reports": data.shape[0],
                    "techniques": data.shape[1],
                    "entries": int(matrix.nnz),
                    "dropped": corpus.dropped.ids_by_reason,
                },
                "best": {"name": best_name, "path": f"models/{best_name}"},
                "selection_metric": SELECTION_METRIC,
                "sweep_seconds": round(elapsed, 2),
                "torch": torch.__version__,
                "torch_device": torch_device,
                "python": sys.version.split()[0],
            },
        )
        if config.plots:
            _write_plots(staging, results, test, models_dir, data.techniques, catalog)
        write_best_pointer(staging, models_dir / best_name)
    write_best_pointer(out, final / "models" / best_name)
    log.info("\n%s\n\n%s", table, chosen_text)
    log.info("best model: %s → %s (%.1f s)", best_name, final, elapsed)
    return final


def _write_plots(
    staging: Path,
    results: list[Result],
    test: dict[str, Any],
    models_dir: Path,
    vocabulary: tuple[str, ...],
    catalog: Any,
) -> None:
    from recommenders import plots
    from recommenders.artifacts import load_model

    plot_dir = staging / "plots"
    rows = [
        {
            "name": r.name,
            "protocol": r.protocol,
            "hparams": r.hparams,
            "val_ndcg@20": r.validation["masked/ndcg@20"],
        }
        for r in results
    ]
    for protocol in PROTOCOLS:
        plots.metric_vs_k(test[protocol], protocol, plot_dir / f"metrics_vs_k_{protocol}.png", KS)
        plots.sweep_heatmaps(rows, protocol, plot_dir)
    for name in ("wals", "implicit_als", "bpr", "factorization", "tie_wals"):
        if (models_dir / name).is_dir():
            model, _ = load_model(models_dir / name)
            plots.technique_map(
                np.asarray(model.state_dict()["item_factors"]),
                vocabulary,
                catalog,
                plot_dir / "technique_map.png",
                f"Technique embeddings ({name}), PCA, coloured by first tactic",
            )
            break


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommenders.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-dir", help="folder with tie/ and attack/ (default: $TIE_DATA_DIR)")
    parser.add_argument("--corpus", help="dataset file (overrides the default in --data-dir)")
    parser.add_argument(
        "--attack", help="ATT&CK Enterprise bundle (overrides the default in --data-dir)"
    )
    parser.add_argument("--out", default="runs", help="output folder (default: runs)")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated names among {','.join(SWEEPS)} (default: all)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="one configuration per model, few epochs (CI)"
    )
    parser.add_argument("--values", choices=["binary", "count"], default="binary")
    parser.add_argument("--rollup", action="store_true", help="roll sub-techniques up into parents")
    parser.add_argument("--origins", help="comma-separated origin_of_data values to keep")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="run the sweep's configurations here or as Ray tasks (the [scale] extra); the "
        "selection, refit and artifacts are the same",
    )
    parser.add_argument(
        "--address",
        help="Ray cluster address (default: start a local Ray with this machine's CPUs)",
    )
    parser.add_argument(
        "--procedures",
        type=float,
        default=TrainConfig.procedures,
        metavar="WEIGHT",
        help="weight of ATT&CK's procedure examples (groups, software, campaigns) as extra "
        "training rows; 0 turns them off (default: %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.address and args.backend != "ray":
        parser.error("--address is for --backend ray")
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    if unknown := [m for m in models if m not in SWEEPS]:
        parser.error(f"unknown model(s) {unknown}; choose among {list(SWEEPS)}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    return TrainConfig(
        data_dir=args.data_dir,
        corpus=args.corpus,
        attack=args.attack,
        out=args.out,
        models=models,
        device=args.device,
        seed=args.seed,
        quick=args.quick,
        values=args.values,
        rollup=args.rollup,
        origins=tuple(args.origins.split(",")) if args.origins else None,
        threads=args.threads,
        plots=not args.no_plots,
        backend=args.backend,
        address=args.address,
        procedures=args.procedures,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    out = Path(config.out)
    before = set(out.iterdir()) if out.is_dir() else set()
    try:
        # Log lines print above the bars instead of through them.
        with logging_redirect_tqdm():
            run(config)
    except DataError as exc:
        log.error("error: %s", exc)
        return 2
    except KeyboardInterrupt:
        # run() has removed its unfinished folder; only a Ctrl-C after the final rename keeps one.
        kept = sorted(p for p in set(out.iterdir()) - before if p.is_dir()) if out.is_dir() else []
        log.error(
            "interrupted: %s", f"kept the finished run {kept[0]}" if kept else "nothing was kept"
        )
        return 130  # 128 + SIGINT, as a shell reports it
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
