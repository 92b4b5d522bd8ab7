"""Fit and fold-in speed per family on the real TIE matrix, as ratios measured in one run.

Rows: our exact WALS vs `implicit` ALS with its exact solver (use_cg=False, alpha = 1 + α) and with
its default CG solver, same factors, iterations and threads; our BPR vs `implicit` BPR; fold-in of
the report-protocol test reports per family; incremental WALS fold-in of one report; the full
default sweep; and GPU rows when torch sees CUDA.
Run: python -m benchmarks.recommenders [--skip-sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from benchmarks.timing import RESULTS, best_of, per_call_us, write_table
from recommenders.data import load_matrix, report_holdout
from recommenders.models import make_model
from recommenders.models.wals import WALS
from recommenders.train import TrainConfig, run

FACTORS, ITERATIONS, ALPHA, REG = 64, 15, 10.0, 20.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--skip-sweep", action="store_true", help="skip timing the full default sweep"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["TIE_NUM_THREADS"] = str(args.threads)
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    data, _, _ = load_matrix()
    matrix = data.matrix
    split = report_holdout(matrix, seed=0)
    rows: list[list[object]] = []
    record: dict[str, float] = {}

    def implicit_als(use_cg: bool) -> None:
        model = AlternatingLeastSquares(
            factors=FACTORS,
            regularization=REG,
            alpha=1 + ALPHA,
            iterations=ITERATIONS,
            use_cg=use_cg,
            num_threads=args.threads,
            random_state=0,
        )
        with threadpool_limits(1, "blas"):
            model.fit(matrix, show_progress=False)

    ours = best_of(
        lambda: WALS(factors=FACTORS, alpha=ALPHA, regularization=REG, epochs=ITERATIONS).fit(
            matrix
        )
    )
    exact = best_of(lambda: implicit_als(False))
    cg = best_of(lambda: implicit_als(True))
    record.update(wals_fit_s=ours, implicit_exact_fit_s=exact, implicit_cg_fit_s=cg)
    rows.append(["WALS fit, ours (exact, Woodbury, torch CPU)", f"{ours:.3f}", "1.00× (reference)"])
    rows.append(
        [
            "implicit ALS fit, exact (use_cg=False)",
            f"{exact:.3f}",
            f"ours/implicit = {ours / exact:.2f}×",
        ]
    )
    rows.append(
        ["implicit ALS fit, CG (default)", f"{cg:.3f}", f"ours/implicit = {ours / cg:.2f}×"]
    )

    epochs = 40
    bpr = best_of(
        lambda: make_model("bpr", factors=FACTORS, epochs=epochs, batch_size=2048).fit(matrix),
        repeats=2,
    )
    implicit_bpr = best_of(
        lambda: make_model("implicit_bpr", factors=FACTORS, iterations=epochs).fit(matrix),
        repeats=2,
    )
    record.update(bpr_fit_s=bpr, implicit_bpr_fit_s=implicit_bpr)
    rows.append([f"BPR fit, ours (torch, {epochs} epochs)", f"{bpr:.3f}", "1.00× (reference)"])
    rows.append(
        [
            f"implicit BPR fit ({epochs} iterations)",
            f"{implicit_bpr:.3f}",
            f"ours/implicit = {bpr / implicit_bpr:.2f}×",
        ]
    )

    observed = split.test.observed
    for family, hparams in [
        ("top_items", {}),
        ("ease", {"regularization": 100.0}),
        ("wals", {"factors": FACTORS, "alpha": ALPHA, "regularization": REG, "epochs": ITERATIONS}),
        (
            "implicit_als",
            {
                "factors": FACTORS,
                "alpha": 1 + ALPHA,
                "regularization": REG,
                "iterations": ITERATIONS,
            },
        ),
        ("bpr", {"factors": FACTORS, "epochs": epochs}),
        ("factorization", {"factors": FACTORS}),
        ("implicit_bpr", {"factors": FACTORS, "iterations": epochs}),
    ]:
        model = make_model(family, **hparams)
        fit = best_of(lambda m=model: m.fit(split.train), repeats=1)
        fold = best_of(lambda m=model: m.score(observed))
        record[f"{family}_fit_s"] = fit
        record[f"{family}_fold_in_batch_s"] = fold
        rows.append(
            [
                f"{family}: fit / fold-in of {observed.shape[0]} test reports",
                f"{fit:.3f} / {fold:.4f}",
                f"{fold / observed.shape[0] * 1e6:.0f} µs per report (batched)",
            ]
        )

    wals = WALS(factors=FACTORS, alpha=ALPHA, regularization=REG, epochs=ITERATIONS).fit(
        split.train
    )
    lengths = np.diff(observed.indptr)
    median_row = int(np.argsort(lengths)[len(lengths) // 2])
    row = observed[median_row]
    fold_in = wals.incremental_fold_in(1)
    first, columns = np.zeros(1, dtype=np.int64), row.indices

    def fold_in_row() -> None:
        fold_in.reset(first)
        fold_in.add(np.zeros(len(columns), dtype=np.int64), columns)

    single = per_call_us(fold_in_row)
    with_scores = per_call_us(lambda: (fold_in_row(), fold_in.scores(first)))
    record.update(fold_in_row_us=single, fold_in_row_scores_us=with_scores)
    rows.append(
        [
            f"WALS incremental fold-in of one report, {FACTORS} factors, median row ({row.nnz} techniques)",
            f"{single:.1f} µs",
            f"{with_scores:.1f} µs including all {matrix.shape[1]} scores",
        ]
    )

    if torch.cuda.is_available():
        wals_gpu = WALS(factors=FACTORS, alpha=ALPHA, regularization=REG, epochs=ITERATIONS)
        wals_gpu.fit(matrix, device="cuda")  # warm-up: CUDA context and kernels
        gpu = best_of(lambda: (wals_gpu.fit(matrix, device="cuda"), torch.cuda.synchronize()))
        record["wals_fit_cuda_s"] = gpu
        rows.append(
            [
                f"WALS fit, ours on {torch.cuda.get_device_name(0)}",
                f"{gpu:.3f}",
                f"CPU/GPU = {ours / gpu:.1f}×",
            ]
        )
        bpr_gpu = best_of(
            lambda: make_model("bpr", factors=FACTORS, epochs=epochs, batch_size=2048).fit(
                matrix, device="cuda"
            ),
            repeats=2,
        )
        record["bpr_fit_cuda_s"] = bpr_gpu
        rows.append(
            [
                f"BPR fit, ours on {torch.cuda.get_device_name(0)}",
                f"{bpr_gpu:.3f}",
                f"CPU/GPU = {bpr / bpr_gpu:.1f}×",
            ]
        )
        import implicit.gpu

        if implicit.gpu.HAS_CUDA:
            from implicit.gpu.als import AlternatingLeastSquares as GpuALS

            def implicit_gpu() -> None:
                GpuALS(
                    factors=FACTORS,
                    regularization=REG,
                    alpha=1 + ALPHA,
                    iterations=ITERATIONS,
                    random_state=0,
                ).fit(matrix, show_progress=False)

            implicit_gpu()
            gpu_implicit = best_of(implicit_gpu)
            record["implicit_als_fit_cuda_s"] = gpu_implicit
            rows.append(
                [
                    "implicit ALS fit on GPU (CG)",
                    f"{gpu_implicit:.3f}",
                    f"ours GPU/implicit GPU = {gpu / gpu_implicit:.2f}×",
                ]
            )
        else:
            rows.append(
                ["implicit ALS on GPU", "n/a", "implicit.gpu.HAS_CUDA is False (install rmm-cu13)"]
            )

    if not args.skip_sweep:
        start = time.perf_counter()
        run(TrainConfig(out=str(RESULTS / "raw" / "sweep"), plots=False, threads=args.threads))
        sweep = time.perf_counter() - start
        record["full_default_sweep_s"] = sweep
        rows.append(
            [
                "full default sweep + refit + test (python -m recommenders.train, no plots)",
                f"{sweep:.1f}",
                "target < 120 s on 2 cores",
            ]
        )

    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = f"recommenders_{device}"
    path = write_table(
        name,
        f"Recommender fit and fold-in timings ({device})",
        ["what", "seconds", "ratio / note"],
        rows,
        [
            f"Real TIE matrix {matrix.shape[0]}×{matrix.shape[1]} ({matrix.nnz} entries); factors={FACTORS}, "
            f"iterations={ITERATIONS}, α={ALPHA} (implicit alpha={1 + ALPHA}), λ={REG}, threads={args.threads}. "
            "Best of 3 unless noted. Regenerate: `make bench`."
        ],
    )
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
