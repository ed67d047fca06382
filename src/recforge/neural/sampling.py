"""Negative samplers: items a user has not interacted with, drawn uniformly or by popularity.

Sampling is vectorised on the training device: draw, reject the user's positives (a binary
search in the sorted (user, item) keys), redraw the rejected. The few draws still rejected after
`ROUNDS` rounds (users who saw most of the catalogue) are drawn exactly from their complement.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from recforge.errors import DataError, ParameterError

__all__ = ["SAMPLERS", "NegativeSampler"]

SAMPLERS = ("uniform", "popularity")
ROUNDS = 10


class NegativeSampler:
    """Draws items outside each user's positives.

    seen: binary CSR [n_users, n_items] of the positives. kind: "uniform", or "popularity"
    (probability ∝ count^alpha, the item's training count). `log_q` [n_items] is the log of
    each item's draw probability before exclusion (for the logQ correction).
    """

    def __init__(
        self,
        seen: sp.csr_array,
        device: torch.device,
        kind: str = "uniform",
        alpha: float = 0.75,
    ) -> None:
        if kind not in SAMPLERS:
            raise ParameterError(
                f"The 'sampler' parameter must be one of {', '.join(map(repr, SAMPLERS))}. "
                f"Got {kind!r} instead."
            )
        self.n_users, self.n_items = seen.shape
        counts = np.diff(seen.indptr)
        full = np.flatnonzero(counts >= self.n_items)
        if full.size:
            raise DataError(
                f"user index {int(full[0])} has interacted with every item, so no negative can be "
                "drawn for them; drop such users or use a model without sampled negatives"
            )
        self.device = device
        self.seen = seen
        owners = np.repeat(np.arange(self.n_users, dtype=np.int64), counts)
        keys = np.sort(owners * self.n_items + seen.indices.astype(np.int64))
        self._keys = torch.from_numpy(keys).to(device)
        self.kind = kind
        popularity = np.bincount(seen.indices, minlength=self.n_items).astype(np.float64)
        if kind == "uniform":
            probs = np.full(self.n_items, 1.0 / self.n_items)
        else:
            weights = popularity**alpha
            if weights.sum() == 0:
                weights = np.ones(self.n_items)
            probs = weights / weights.sum()
        self._probs = probs
        self._cdf = torch.from_numpy(np.cumsum(probs)).to(device)
        with np.errstate(divide="ignore"):
            self.log_q = torch.from_numpy(np.log(probs).astype(np.float32)).to(device)

    def _draw(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        if self.kind == "uniform":
            return torch.randint(
                self.n_items, shape, generator=generator, device=self.device, dtype=torch.int64
            )
        u = torch.rand(shape, generator=generator, device=self.device, dtype=torch.float64)
        return torch.searchsorted(self._cdf, u * self._cdf[-1]).clamp_(max=self.n_items - 1)

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """int64 [n] items from the distribution, positives not excluded (shared negatives of a
        sampled softmax, whose loss masks accidental hits)."""
        return self._draw((n,), generator)

    def is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """bool, the shape of items: whether (users[b], items[b, ·]) is a training positive."""
        keys = users.reshape(-1, *([1] * (items.dim() - 1))) * self.n_items + items
        if self._keys.numel() == 0:  # no positives at all
            return torch.zeros_like(keys, dtype=torch.bool)
        where = torch.searchsorted(self._keys, keys).clamp_(max=self._keys.numel() - 1)
        return self._keys[where] == keys

    def sample(self, users: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """int64 [B, n]: n negatives for each of users int64 [B] (on the sampler's device)."""
        out = self._draw((users.numel(), n), generator)
        flat = out.view(-1)
        # flat positions still holding a positive; only these are redrawn and checked again
        rejected = torch.nonzero(self.is_positive(users, out).view(-1)).squeeze(1)
        for _ in range(ROUNDS):
            if rejected.numel() == 0:
                return out
            flat[rejected] = self._draw((rejected.numel(),), generator)
            rejected = rejected[self.is_positive(users[rejected // n], flat[rejected])]
        if rejected.numel():
            self._exact(users, out, rejected, generator)
        return out

    def _exact(
        self,
        users: torch.Tensor,
        out: torch.Tensor,
        rejected: torch.Tensor,
        generator: torch.Generator,
    ) -> None:
        """Fill the still-rejected draws (flat positions in out [B, n]) from each user's
        complement, in place."""
        n = out.shape[1]
        positions = rejected.cpu().numpy()
        rows, cols = positions // n, positions % n
        seeds = torch.randint(2**31 - 1, (1,), generator=generator, device=self.device)
        rng = np.random.default_rng(int(seeds.item()))
        user_ids = users.cpu().numpy()
        filled = out.cpu().numpy()
        for r, c in zip(rows, cols, strict=True):
            u = int(user_ids[r])
            allowed = np.ones(self.n_items, dtype=bool)
            allowed[self.seen.indices[self.seen.indptr[u] : self.seen.indptr[u + 1]]] = False
            choices = np.flatnonzero(allowed)
            weights = self._probs[choices]
            total = weights.sum()
            p = weights / total if total > 0 else None
            filled[r, c] = rng.choice(choices, p=p)
        out.copy_(torch.from_numpy(filled).to(out.device))
