"""Matrix factorisation on observed entries with a gravity term, TIE's "factorization" family.

Loss = mean over observed (r − u·v)² + γ·mean over all cells (u·v)² + λ(‖U‖²/n + ‖V‖²/m).
Fitting only observed entries would predict 1 everywhere; the gravity term (the mean squared
prediction over the whole matrix, computed as Σ(UᵀU ∘ VᵀV)/(nm) without forming UVᵀ) pulls
unobserved predictions toward 0. The row's share of that loss is quadratic in u, so fold-in is
a closed-form k×k solve.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from recommenders.models.base import resolve_device
from recommenders.models.factor_model import FactorModel, hyperparameters


class Factorization(FactorModel):
    """Full-batch Adam on the gravity-regularised observed-entry loss."""

    family = "factorization"
    arrays = ("user_factors", "item_factors", "observed_weight")

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.1,
        gravity: float = 1.0,
        epochs: int = 300,
    ) -> None:
        super().__init__(**hyperparameters(locals()))
        self.observed_weight = np.ones(1)
        """(1,) weight of one observed entry in a row's share of the loss."""

    def fit(self, train: sp.csr_matrix, seed: int = 0, device: str = "cpu") -> Factorization:
        train = self._remember(train)
        torch_device = resolve_device(device)
        n_rows, n_items = train.shape
        init = torch.Generator().manual_seed(seed)
        k = self.hparams["factors"]
        user = (torch.randn(n_rows, k, generator=init) / k**0.5).to(torch_device).requires_grad_()
        item = (torch.randn(n_items, k, generator=init) / k**0.5).to(torch_device).requires_grad_()
        coo = train.tocoo()
        rows = torch.as_tensor(coo.row, dtype=torch.int64, device=torch_device)
        cols = torch.as_tensor(coo.col, dtype=torch.int64, device=torch_device)
        target = torch.as_tensor(coo.data, dtype=torch.float32, device=torch_device)
        gravity, reg = self.hparams["gravity"], self.hparams["regularization"]
        optimiser = torch.optim.Adam([user, item], lr=self.hparams["learning_rate"])
        for _ in range(self.hparams["epochs"]):
            predicted = (user[rows] * item[cols]).sum(-1)
            whole = ((user.T @ user) * (item.T @ item)).sum() / (n_rows * n_items)
            loss = (
                ((predicted - target) ** 2).mean()
                + gravity * whole
                + reg * ((user**2).sum() / n_rows + (item**2).sum() / n_items)
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.user_factors = user.detach().cpu().numpy()
        self.item_factors = item.detach().cpu().numpy()
        # One row's share of the loss, scaled by n: observed entries weigh n / nnz each.
        self.observed_weight = np.array([n_rows / max(train.nnz, 1)])
        return self

    def fold_in(self, observed: sp.csr_matrix) -> np.ndarray:
        """Minimise the row's share of the training loss with V fixed: one k×k solve per row."""
        observed = self._check_observed(observed)
        v = self.item_factors.astype(np.float64)  # type: ignore[union-attr]
        k = v.shape[1]
        base = self.hparams["gravity"] * (v.T @ v) / v.shape[0] + self.hparams[
            "regularization"
        ] * np.eye(k)
        weight = float(self.observed_weight[0])
        users = np.zeros((observed.shape[0], k))
        for i in range(observed.shape[0]):
            start, stop = observed.indptr[i], observed.indptr[i + 1]
            if start == stop:
                continue
            v_obs = v[observed.indices[start:stop]]
            system = base + weight * v_obs.T @ v_obs
            users[i] = np.linalg.solve(system, weight * v_obs.T @ observed.data[start:stop])
        return users

    def score(self, observed: sp.csr_matrix) -> np.ndarray:
        return (self.fold_in(observed) @ self.item_factors.T).astype(np.float32)  # type: ignore[union-attr]
