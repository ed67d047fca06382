"""LightGCN's graph (He et al. 2020): the normalised user-item adjacency and the propagation of
the embeddings over it.

The bipartite graph has n_users + n_items nodes (users first); its adjacency A = [[0, R], [Rᵀ, 0]]
for the binary interactions R is normalised to Â = D^-1/2 A D^-1/2 (D: node degrees; a node
without edges keeps a zero row). Â is symmetric, so the gradient of Âx is Â·grad: the backward
pass reuses Â instead of transposing it.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

__all__ = ["LightGCNEncoder", "normalized_adjacency", "sparse_tensor"]


def normalized_adjacency(seen: sp.csr_array) -> sp.csr_array:
    """Â = D^-1/2 A D^-1/2, float32 CSR [n_users + n_items, n_users + n_items], for the binary
    interactions seen [n_users, n_items]; users are nodes 0…n_users-1, items follow."""
    R = sp.csr_array(seen, dtype=np.float64)
    R.data[:] = 1.0
    n_users, n_items = R.shape
    degree = np.concatenate([R.sum(axis=1), R.sum(axis=0)])
    inv_sqrt = np.zeros_like(degree)
    np.divide(1.0, np.sqrt(degree), out=inv_sqrt, where=degree > 0)
    A = sp.block_array([[None, R], [R.T, None]], format="csr")
    A = sp.csr_array((sp.diags_array(inv_sqrt) @ A @ sp.diags_array(inv_sqrt)).astype(np.float32))
    A.sort_indices()
    assert A.shape == (n_users + n_items, n_users + n_items)
    return A


def sparse_tensor(matrix: sp.csr_array, device: torch.device | str = "cpu") -> torch.Tensor:
    """The torch sparse CSR tensor of a scipy CSR matrix (int64 indices), on `device`."""
    with warnings.catch_warnings():  # torch warns once that sparse CSR is a beta feature
        warnings.simplefilter("ignore", UserWarning)
        out = torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)),
            torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(np.asarray(matrix.data, dtype=np.float32)),
            matrix.shape,
            check_invariants=False,
        )
    return out.to(device)


class _SymmetricProduct(torch.autograd.Function):
    """Âx for a symmetric sparse Â [n, n] and dense x [n, d]; the gradient of x is Â·grad."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor, x: torch.Tensor
    ) -> torch.Tensor:
        ctx.adjacency = a  # type: ignore[attr-defined]
        return a @ x

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[None, torch.Tensor]:
        return None, ctx.adjacency @ grad  # type: ignore[attr-defined]


class LightGCNEncoder(nn.Module):
    """Ego embeddings E⁰ of users [n_users, d] and items [n_items, d], initialised N(0, 0.1²),
    and their propagation E^(k+1) = Â E^k; the final embedding is the mean of E⁰ … E^K.

    adjacency: Â as a sparse tensor [n_users + n_items]² (a non-persistent buffer: it moves with
    the module but is not part of its state; the model rebuilds it from its interactions).
    """

    adjacency: torch.Tensor

    def __init__(
        self, n_users: int, n_items: int, dim: int, layers: int, adjacency: torch.Tensor
    ) -> None:
        super().__init__()
        self.n_users = n_users
        self.layers = layers
        self.user_embedding = nn.Embedding(n_users, dim)
        self.item_embedding = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user_embedding.weight, std=0.1)
        nn.init.normal_(self.item_embedding.weight, std=0.1)
        self.register_buffer("adjacency", adjacency, persistent=False)
        self._cache: tuple[tuple[object, ...], torch.Tensor, torch.Tensor] | None = None

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final embeddings (users [n_users, d], items [n_items, d]), differentiable; training
        calls this once per batch."""
        x = torch.cat([self.user_embedding.weight, self.item_embedding.weight]).float()
        total = x
        device = x.device.type
        with torch.autocast(device, enabled=False):  # sparse products stay in float32
            for _ in range(self.layers):
                x = _SymmetricProduct.apply(self.adjacency, x)
                total = total + x
        final = total / (self.layers + 1)
        return final[: self.n_users], final[self.n_users :]

    def final_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`propagate()` without gradients, cached for scoring. The cache is keyed on every
        parameter's storage and version counter (which each in-place update, an optimiser step
        or `load_state_dict`, increments), so it is recomputed after any change of the weights
        or a move to another device."""
        key = (id(self.adjacency), *((p.data_ptr(), p._version) for p in self.parameters()))
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                users, items = self.propagate()
            self._cache = (key, users, items)
        return self._cache[1], self._cache[2]
