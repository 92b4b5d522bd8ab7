"""Weighted alternating least squares (Hu, Koren & Volinsky 2008, "Collaborative Filtering for
Implicit Feedback Datasets"), with exact closed-form row solves batched in torch.

Loss: Σ_ui c_ui (p_ui − x_u·y_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²), with p_ui = 1 on observed pairs and
c_ui = 1 + α·r_ui there, c_ui = 1 elsewhere. Each row solve is
    x_u = (YᵀY + λI + W_uᵀW_u)⁻¹ Y_uᵀ c_u,   W_u = diag(√(α r_u)) Y_u,
and since a report holds far fewer techniques (median ≈ 5) than there are factors, the inverse
uses the Woodbury identity around the shared B = YᵀY + λI: an L×L solve per row instead of k×k.
Rows are bucketed by length (powers of two) so every bucket is one batched solve on CPU or GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from recommenders.models.base import resolve_device
from recommenders.models.factor_model import FactorModel, hyperparameters
from recommenders.models.foldin import IncrementalFoldIn, Rows, distinct_passes, take_pass

# Added to λ so that TIE's λ = 0 setting stays solvable when YᵀY is rank-deficient.
_JITTER = 1e-6


@dataclass
class _Bucket:
    rows: torch.Tensor
    """Which rows of the side being solved this bucket holds."""
    columns: torch.Tensor
    """(n, L) column indices, padded with the index of an all-zero row."""
    values: torch.Tensor
    """(n, L) interaction values r_ui, zero on padding."""


def _bucketize(matrix: sp.csr_matrix, device: torch.device, dtype: torch.dtype) -> list[_Bucket]:
    lengths = np.diff(matrix.indptr)
    pad_column = matrix.shape[1]
    buckets = []
    nonempty = lengths > 0
    widths = np.where(nonempty, 2 ** np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64), 0)
    for width in np.unique(widths[nonempty]):
        rows = np.flatnonzero(widths == width)
        columns = np.full((len(rows), width), pad_column, dtype=np.int64)
        values = np.zeros((len(rows), width), dtype=np.float64)
        for slot, row in enumerate(rows):
            start, stop = matrix.indptr[row], matrix.indptr[row + 1]
            columns[slot, : stop - start] = matrix.indices[start:stop]
            values[slot, : stop - start] = matrix.data[start:stop]
        buckets.append(
            _Bucket(
                torch.as_tensor(rows, device=device),
                torch.as_tensor(columns, device=device),
                torch.as_tensor(values, device=device, dtype=dtype),
            )
        )
    return buckets


def solve_rows(
    buckets: list[_Bucket],
    fixed: torch.Tensor,
    n_rows: int,
    alpha: float,
    regularization: float,
    tie_compat: bool = False,
) -> torch.Tensor:
    """Exact least-squares solve of every row against the fixed factors of the other side.

    Each observed entry adds g·y yᵀ to the row's Gram matrix and b·y to its right-hand side:
    g = α·r, b = 1 + α·r (Hu et al.), or with `tie_compat` TIE's g = 1, b = r (`WALS`).
    """
    k = fixed.shape[1]
    eye = torch.eye(k, device=fixed.device, dtype=fixed.dtype)
    gram = fixed.T @ fixed + (regularization + _JITTER) * eye
    gram_inv = torch.cholesky_inverse(torch.linalg.cholesky(gram))
    padded = torch.cat([fixed, fixed.new_zeros(1, k)])
    out = fixed.new_zeros(n_rows, k)
    for bucket in buckets:
        y_rows = padded[bucket.columns]  # (n, L, k)
        real = bucket.columns < fixed.shape[0]
        if tie_compat:
            gram_weight, rhs_weight = real.to(fixed.dtype), bucket.values
        else:
            gram_weight = alpha * bucket.values
            rhs_weight = torch.where(real, 1 + alpha * bucket.values, 0)
        rhs = torch.einsum("nlk,nl->nk", y_rows, rhs_weight)
        weighted = y_rows * torch.sqrt(gram_weight).unsqueeze(-1)  # W_u
        width = bucket.columns.shape[1]
        if alpha == 0 and not tie_compat:
            solution = rhs @ gram_inv
        elif width < k:
            # Woodbury: (B + WᵀW)⁻¹ = B⁻¹ − B⁻¹Wᵀ(I + W B⁻¹ Wᵀ)⁻¹ W B⁻¹
            w_binv = weighted @ gram_inv  # (n, L, k)
            inner = torch.eye(
                width, device=fixed.device, dtype=fixed.dtype
            ) + w_binv @ weighted.transpose(1, 2)
            base = rhs @ gram_inv
            z = torch.cholesky_solve(
                torch.einsum("nlk,nk->nl", weighted, base).unsqueeze(-1),
                torch.linalg.cholesky(inner),
            )
            solution = base - torch.einsum("nlk,nl->nk", w_binv, z.squeeze(-1))
        else:
            system = gram + weighted.transpose(1, 2) @ weighted
            solution = torch.cholesky_solve(
                rhs.unsqueeze(-1), torch.linalg.cholesky(system)
            ).squeeze(-1)
        out[bucket.rows] = solution
    return out


class WALS(FactorModel):
    """Weighted ALS with exact row solves; `tie_compat=True` reproduces TIE's implementation.

    Args:
        factors: embedding dimension k.
        alpha: confidence slope, c = 1 + α·r on observed pairs.
        regularization: λ on both factor matrices.
        epochs: full alternations (rows, then columns, as `implicit` does).
        tie_compat: TIE's row solve instead of Hu et al.'s, for training and fold-in alike
            (its `wals_recommender.py` and web app's `WalsRecommender.ts`):
            x = (VᵀV + V_SᵀV_S + λI)⁻¹ V_Sᵀ r. TIE derives α = 1/c − 1 but only tests it for
            zero (it asserts 0 < c < 1), so every observed entry adds y yᵀ once whatever c is,
            and its right-hand side drops the confidence. Factors start from a standard normal,
            as TIE's do. `alpha` is then unused.
        c: TIE's unobserved-entry weight, recorded for provenance (see `tie_compat`).
        dtype: "float32" or "float64" (parity tests use float64).
    """

    family = "wals"

    def __init__(
        self,
        factors: int = 64,
        alpha: float = 10.0,
        regularization: float = 0.1,
        epochs: int = 15,
        tie_compat: bool = False,
        c: float | None = None,
        dtype: str = "float32",
    ) -> None:
        super().__init__(**hyperparameters(locals()))
        self._row_system: RowSystem | None = None

    @property
    def binary_weights(self) -> tuple[float, float]:
        """(Gram, right-hand side) weight of one observed technique of value 1 in a row solve."""
        if self.hparams["tie_compat"]:
            return 1.0, 1.0
        alpha = float(self.hparams["alpha"])
        return alpha, 1.0 + alpha

    def _solve(self, buckets: list[_Bucket], fixed: torch.Tensor, n_rows: int) -> torch.Tensor:
        return solve_rows(
            buckets,
            fixed,
            n_rows,
            float(self.hparams["alpha"]),
            float(self.hparams["regularization"]),
            bool(self.hparams["tie_compat"]),
        )

    def fit(
        self,
        train: sp.csr_matrix,
        seed: int = 0,
        device: str = "cpu",
        initial: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> WALS:
        """Alternate exact solves; `initial=(X0, Y0)` starts from given factors (parity tests)."""
        train = self._remember(train)
        torch_device = resolve_device(device)
        dtype = getattr(torch, self.hparams["dtype"])
        n_rows, n_items = train.shape
        k = self.hparams["factors"]
        if initial is None:
            generator = torch.Generator().manual_seed(seed)
            scale = 1.0 if self.hparams["tie_compat"] else 0.01  # TIE starts from N(0, 1)
            x = torch.randn(n_rows, k, generator=generator, dtype=dtype) * scale
            y = torch.randn(n_items, k, generator=generator, dtype=dtype) * scale
        else:
            x, y = (torch.as_tensor(np.asarray(a), dtype=dtype) for a in initial)
        x, y = x.to(torch_device), y.to(torch_device)
        row_buckets = _bucketize(train, torch_device, dtype)
        column_buckets = _bucketize(train.T.tocsr(), torch_device, dtype)
        for _ in range(self.hparams["epochs"]):
            x = self._solve(row_buckets, y, n_rows)
            y = self._solve(column_buckets, x, n_items)
        self.user_factors = x.cpu().numpy()
        self.item_factors = y.cpu().numpy()
        self._loaded()
        return self

    def _loaded(self) -> None:
        self._row_system = None

    @property
    def row_system(self) -> RowSystem:
        """The fixed part of every row solve, computed once per fitted model."""
        if self._row_system is None:
            y = self.item_factors.astype(np.float64)  # type: ignore[union-attr]
            gram = y.T @ y + (float(self.hparams["regularization"]) + _JITTER) * np.eye(y.shape[1])
            self._row_system = RowSystem(np.linalg.inv(gram), y, np.ascontiguousarray(y.T))
        return self._row_system

    def fold_in(self, observed: sp.csr_matrix) -> np.ndarray:
        """Row factors of unseen reports (batched torch solve on the CPU)."""
        observed = self._check_observed(observed)
        dtype = torch.float64
        buckets = _bucketize(observed, torch.device("cpu"), dtype)
        fixed = torch.as_tensor(self.item_factors, dtype=dtype)
        return self._solve(buckets, fixed, observed.shape[0]).numpy()

    def score(self, observed: sp.csr_matrix) -> np.ndarray:
        return (self.fold_in(observed) @ self.item_factors.T.astype(np.float64)).astype(np.float32)  # type: ignore[union-attr]

    def incremental_fold_in(self, batch: int) -> WalsFoldIn:
        return WalsFoldIn(self, batch)

    def contributions(self, columns: np.ndarray) -> np.ndarray:
        """For a given seen set S the row solve is linear in its right-hand side: the report's
        factors are A_S⁻¹ b with b = h Σ_{i∈S} y_i, so technique i adds h·(A_S⁻¹ y_i)ᵀ y_j to
        technique j (A_S depends on the whole set, so a share is exact for this set only)."""
        columns = np.asarray(columns, dtype=np.int64)
        fold_in = WalsFoldIn(self, 1)
        fold_in.add(np.zeros(len(columns), dtype=np.int64), columns)
        system = self.row_system
        _, rhs_weight = self.binary_weights
        shares = rhs_weight * system.item_factors[columns] @ fold_in.inverse(0).T
        return shares @ system.item_factors_t


@dataclass(frozen=True)
class RowSystem:
    """B⁻¹ = (YᵀY + λI)⁻¹ and Y, in float64: what a row solve of a fitted model starts from."""

    gram_inverse: np.ndarray
    """(k, k) B⁻¹, the solve of a report that has seen nothing."""
    item_factors: np.ndarray
    """(techniques, k) Y."""
    item_factors_t: np.ndarray
    """(k, techniques) Yᵀ, contiguous: scores are factors @ Yᵀ."""


class WalsFoldIn(IncrementalFoldIn):
    """WALS with binary values: rank-one updates of the row system's inverse.

    For a report with seen set S: A = YᵀY + λI + g Σ_{j∈S} y_j y_jᵀ and b = h Σ_{j∈S} y_j, with
    (g, h) = (α, 1 + α) for Hu et al. 2008 (r = 1) or (1, 1) for TIE (`WALS.binary_weights`);
    adding j updates A⁻¹ by Sherman–Morrison and b by one vector.
    """

    def __init__(self, model: WALS, batch: int) -> None:
        super().__init__(model, batch)
        self._system = model.row_system
        self._gram_weight, self._rhs_weight = model.binary_weights
        k = self._system.gram_inverse.shape[0]
        self._inverse = np.broadcast_to(self._system.gram_inverse, (batch, k, k)).copy()
        self._rhs = np.zeros((batch, k))

    def reset(self, rows: Rows) -> None:
        self._inverse[rows] = self._system.gram_inverse
        self._rhs[rows] = 0.0

    def add(self, rows: Rows, columns: np.ndarray) -> None:
        for part in distinct_passes(rows):
            self._add_distinct(take_pass(rows, part), columns[part])

    def _add_distinct(self, rows: Rows, columns: np.ndarray) -> None:
        y = self._system.item_factors[columns]  # (r, k)
        self._rhs[rows] += self._rhs_weight * y
        if self._gram_weight == 0:
            return
        g = self._gram_weight
        inverse = self._inverse[rows]
        u = np.einsum("rij,rj->ri", inverse, y)
        denominator = 1.0 + g * np.einsum("ri,ri->r", y, u)
        inverse -= (g / denominator)[:, None, None] * u[:, :, None] * u[:, None, :]
        self._inverse[rows] = inverse

    def inverse(self, row: int) -> np.ndarray:
        """A⁻¹ of one row's system, (k, k), symmetric."""
        return self._inverse[row]

    def scores(self, rows: Rows) -> np.ndarray:
        factors = np.einsum("rij,rj->ri", self._inverse[rows], self._rhs[rows])
        return factors @ self._system.item_factors_t
