"""Wrappers around `implicit`'s ALS and BPR, so users can compare against the library they know.

Thread control: `implicit` parallelises with its own threads, and a BLAS thread pool on top
oversubscribes small machines (5–10× slower on 2 cores), so BLAS is limited to one thread while it
runs, whatever the shell exports. The limit also covers *building* an ALS model: implicit's ALS
constructor checks the BLAS pool and warns (OPENBLAS_NUM_THREADS) when it is not single-threaded. GPU: `implicit.gpu.HAS_CUDA` is only true when `rmm-cu13` is installed; without it
`implicit` silently stays on the CPU, so a CUDA request without it is refused with the fix.
"""

from __future__ import annotations

import functools
import logging
import os

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommenders.models.bpr import bpr_fold_in
from recommenders.models.factor_model import FactorModel, hyperparameters

log = logging.getLogger(__name__)


def _threads() -> int:
    return int(os.environ.get("TIE_NUM_THREADS", 0)) or (os.cpu_count() or 1)


def _writable(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """`matrix`, or a copy where its arrays are read-only (Ray's object store hands workers
    read-only arrays; `implicit`'s Cython kernels need writable buffers, even for input)."""
    arrays = (matrix.data, matrix.indices, matrix.indptr)
    return matrix if all(a.flags.writeable for a in arrays) else matrix.copy()


def _use_gpu(device: str) -> bool:
    """GPU for "cuda" (refused with the fix when implicit cannot), or for "auto" when it can."""
    import implicit.gpu

    if device.startswith("cuda") and not implicit.gpu.HAS_CUDA:
        raise RuntimeError(
            "implicit was asked for CUDA but has no GPU support: pip install rmm-cu13"
        )
    if device == "auto" and not implicit.gpu.HAS_CUDA:
        _warn_cpu_fallback()
    return implicit.gpu.HAS_CUDA if device == "auto" else device.startswith("cuda")


@functools.cache
def _warn_cpu_fallback() -> None:
    """Once per process, and only where a GPU exists that implicit could not use."""
    import torch

    if torch.cuda.is_available():
        log.warning(
            "implicit runs on the CPU: its GPU extension did not load (pip install rmm-cu13)"
        )


class ImplicitALS(FactorModel):
    """`implicit.als.AlternatingLeastSquares`; `alpha` is implicit's (c = alpha·r on observed)."""

    family = "implicit_als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.1,
        alpha: float = 11.0,
        iterations: int = 15,
        use_cg: bool = True,
    ) -> None:
        super().__init__(**hyperparameters(locals()))
        self._model = None

    def _new_model(self, use_gpu: bool, seed: int = 0):  # type: ignore[no-untyped-def]
        from implicit.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.hparams["factors"],
            regularization=self.hparams["regularization"],
            alpha=self.hparams["alpha"],
            iterations=self.hparams["iterations"],
            use_cg=self.hparams["use_cg"],
            use_gpu=use_gpu,
            num_threads=_threads(),
            random_state=seed,
        )

    def fit(self, train: sp.csr_matrix, seed: int = 0, device: str = "cpu") -> ImplicitALS:
        train = self._remember(train)
        use_gpu = _use_gpu(device)
        with threadpool_limits(1, "blas"):
            model = self._new_model(use_gpu, seed)
            model.fit(_writable(train), show_progress=False)
        model = model.to_cpu() if hasattr(model, "to_cpu") else model
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)
        self._model = model
        return self

    def score(self, observed: sp.csr_matrix) -> np.ndarray:
        observed = self._check_observed(observed)
        with threadpool_limits(1, "blas"):
            users = self._model.recalculate_user(np.arange(observed.shape[0]), observed)  # type: ignore[union-attr]
        return np.asarray(users @ self.item_factors.T, dtype=np.float32)  # type: ignore[union-attr]

    def _loaded(self) -> None:
        """implicit's own model, on the CPU, around the loaded factors (it folds users in)."""
        with threadpool_limits(1, "blas"):
            model = self._new_model(use_gpu=False)
        model.user_factors = np.ascontiguousarray(self.user_factors, dtype=np.float32)
        model.item_factors = np.ascontiguousarray(self.item_factors, dtype=np.float32)
        self._model = model


class ImplicitBPR(FactorModel):
    """`implicit.bpr.BayesianPersonalizedRanking`; its last item column is the bias.

    `implicit` cannot fold in a BPR user, so unseen reports use our own fixed-item BPR fold-in;
    its factors are scaled differently from ours, and light shrinkage (1e-3) measured best.
    """

    family = "implicit_bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        fold_in_steps: int = 40,
        fold_in_regularization: float = 1e-3,
    ) -> None:
        super().__init__(**hyperparameters(locals()))

    def fit(self, train: sp.csr_matrix, seed: int = 0, device: str = "cpu") -> ImplicitBPR:
        from implicit.bpr import BayesianPersonalizedRanking

        train = self._remember(train)
        use_gpu = _use_gpu(device)
        with threadpool_limits(1, "blas"):
            model = BayesianPersonalizedRanking(
                factors=self.hparams["factors"],
                learning_rate=self.hparams["learning_rate"],
                regularization=self.hparams["regularization"],
                iterations=self.hparams["iterations"],
                use_gpu=use_gpu,
                num_threads=_threads(),
                random_state=seed,
            )
            model.fit(_writable(train), show_progress=False)
        model = model.to_cpu() if hasattr(model, "to_cpu") else model
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)
        return self

    def score(self, observed: sp.csr_matrix) -> np.ndarray:
        observed = self._check_observed(observed)
        items, bias = self.item_factors[:, :-1], self.item_factors[:, -1]  # type: ignore[index]
        users = bpr_fold_in(
            items,
            bias,
            observed,
            steps=self.hparams["fold_in_steps"],
            regularization=self.hparams["fold_in_regularization"],
        )
        return users @ items.T + bias
