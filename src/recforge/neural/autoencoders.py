"""Autoencoder modules: AutoRec (Sedhain et al. 2015) and Mult-VAE / Mult-DAE (Liang et al.
2018), and `SparseRows`, which keeps a CSR matrix on the device and hands out its rows.

Shapes: B rows in a batch, D input (= output) units, M selected output units, k hidden units.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

__all__ = ["ACTIVATIONS", "AutoRec", "MultVAE", "SparseRows", "inference"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "identity": nn.Identity,
}


@contextmanager
def inference(module: nn.Module) -> Iterator[None]:
    """Evaluation mode (no dropout, no sampling) without gradients; the mode found is restored."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


class SparseRows:
    """A CSR matrix [N, D] held as tensors on `device`, read a batch of rows at a time."""

    def __init__(self, matrix: sp.csr_array, device: torch.device) -> None:
        self.shape = (int(matrix.shape[0]), int(matrix.shape[1]))
        self.indptr = torch.from_numpy(matrix.indptr.astype(np.int64)).to(device)
        self.indices = torch.from_numpy(matrix.indices.astype(np.int64)).to(device)
        self.data = torch.from_numpy(np.asarray(matrix.data, dtype=np.float32)).to(device)

    def _entries(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch position int64 [E], CSR slot int64 [E]) of every stored entry of `rows` [B]."""
        start = self.indptr[rows]
        counts = self.indptr[rows + 1] - start
        total = int(counts.sum())
        owner = torch.repeat_interleave(
            torch.arange(rows.numel(), device=rows.device), counts, output_size=total
        )
        first = torch.cumsum(counts, 0) - counts
        slots = start[owner] + torch.arange(total, device=rows.device) - first[owner]
        return owner, slots

    def dense(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(values, mask): float [B, D] each; mask is 1 where the matrix stores an entry."""
        owner, slots = self._entries(rows)
        cols = self.indices[slots]
        values = torch.zeros(rows.numel(), self.shape[1], device=rows.device)
        mask = torch.zeros_like(values)
        values[owner, cols] = self.data[slots]
        mask[owner, cols] = 1.0
        return values, mask

    def sparse(self, rows: torch.Tensor, *, l2_normalise: bool = False) -> torch.Tensor:
        """The rows as a sparse COO tensor [B, D]; l2_normalise scales each to unit length."""
        owner, slots = self._entries(rows)
        values = self.data[slots]
        if l2_normalise:
            squares = torch.zeros(rows.numel(), device=rows.device).index_add_(0, owner, values**2)
            values = values / squares.sqrt().clamp_min(1e-12)[owner]
        index = torch.stack([owner, self.indices[slots]])
        shape = (rows.numel(), self.shape[1])
        # CSR rows are sorted and free of repeats, so the entries are already coalesced
        return torch.sparse_coo_tensor(
            index, values, shape, is_coalesced=True, check_invariants=False
        )


def _linear(x: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    """layer(x) for a dense or sparse COO x [B, in] → [B, out]."""
    if x.is_sparse:
        return torch.sparse.mm(x, layer.weight.T) + layer.bias
    return layer(x)


def _select(h: torch.Tensor, layer: nn.Linear, outputs: torch.Tensor | None) -> torch.Tensor:
    """layer(h) restricted to the output units `outputs` [M] (None: all): [B, M]."""
    if outputs is None:
        return layer(h)
    return F.linear(h, layer.weight[outputs], layer.bias[outputs])


class AutoRec(nn.Module):
    """One hidden layer: h = f(V·x + μ) [B, k], x̂ = g(W·h + b) [B, D].

    x: a partially observed rating vector (unobserved entries 0), dense or sparse COO.
    activation f, output_activation g: names in ACTIVATIONS (the paper: sigmoid, identity).
    """

    def __init__(
        self,
        n_inputs: int,
        hidden: int,
        activation: str = "sigmoid",
        output_activation: str = "identity",
    ) -> None:
        super().__init__()
        self.encoder = nn.Linear(n_inputs, hidden)
        self.decoder = nn.Linear(hidden, n_inputs)
        self.activation = ACTIVATIONS[activation]()
        self.output_activation = ACTIVATIONS[output_activation]()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """h [B, k] for inputs x [B, D]."""
        return self.activation(_linear(x, self.encoder))

    def decode(self, h: torch.Tensor, outputs: torch.Tensor | None = None) -> torch.Tensor:
        """x̂ [B, M] at the output units `outputs` [M] (None: all D) for codes h [B, k]."""
        return self.output_activation(_select(h, self.decoder, outputs))

    def decode_pairs(self, h: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """x̂ [P] of code h[p] [P, k] at output unit outputs[p] [P]."""
        w, b = self.decoder.weight[outputs], self.decoder.bias[outputs]
        return self.output_activation((h * w).sum(-1) + b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction [B, D] of x [B, D]."""
        return self.decode(self.encode(x))

    def penalty(self) -> torch.Tensor:
        """‖V‖² + ‖W‖² (the weights, not the biases)."""
        return self.encoder.weight.pow(2).sum() + self.decoder.weight.pow(2).sum()


class MultVAE(nn.Module):
    """Mult-VAE / Mult-DAE over n_items: the input x [B, n_items] is L2-normalised, then dropped
    out (training only).

    variational=True (Mult-VAE): x → hidden (tanh) → 2·latent = (μ, log σ²); z = μ + σ·ε while
    training, μ otherwise; z → hidden (tanh) → n_items logits.
    variational=False (Mult-DAE): x → hidden → latent → hidden → n_items, tanh after every
    layer but the last.
    """

    def __init__(
        self, n_items: int, hidden: int, latent: int, dropout: float, variational: bool
    ) -> None:
        super().__init__()
        self.variational = variational
        self.latent = latent
        self.dropout = nn.Dropout(dropout)
        self.encoder_hidden = nn.Linear(n_items, hidden)
        self.encoder_out = nn.Linear(hidden, 2 * latent if variational else latent)
        self.decoder_hidden = nn.Linear(latent, hidden)
        self.decoder_out = nn.Linear(hidden, n_items)
        for layer in (self.encoder_hidden, self.encoder_out, self.decoder_hidden, self.decoder_out):
            nn.init.xavier_uniform_(layer.weight)  # as Liang et al.'s code (biases N(0, 0.001²))
            nn.init.normal_(layer.bias, std=0.001)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(μ [B, latent], log σ² [B, latent] or None for the DAE) for x [B, n_items], dense
        (normalised here) or sparse COO (already L2-normalised; no dropout)."""
        if not x.is_sparse:
            x = self.dropout(F.normalize(x, dim=1))
        h = torch.tanh(_linear(x, self.encoder_hidden))
        out = self.encoder_out(h)
        if not self.variational:
            return torch.tanh(out), None
        return out[:, : self.latent], out[:, self.latent :]

    def decode(self, z: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, M] over `items` [M] (None: all) for codes z [B, latent]."""
        return _select(torch.tanh(self.decoder_hidden(z)), self.decoder_out, items)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(logits [B, n_items], μ, log σ²) for x [B, n_items]; z is sampled (with `generator`)
        only in training mode."""
        mu, logvar = self.encode(x)
        z = mu
        if logvar is not None and self.training:
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            z = mu + eps * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar

    @staticmethod
    def kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(N(μ, σ²) ‖ N(0, I)) per row [B]."""
        return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)

    def penalty(self) -> torch.Tensor:
        """The sum of the squared weights of the four layers (not the biases)."""
        total = self.encoder_hidden.weight.pow(2).sum()
        for layer in (self.encoder_out, self.decoder_hidden, self.decoder_out):
            total = total + layer.weight.pow(2).sum()
        return total
