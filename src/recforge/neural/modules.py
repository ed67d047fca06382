"""Small torch modules shared by several models."""

from __future__ import annotations

import itertools

import torch
from torch import nn

__all__ = ["DotProduct", "mlp"]


class DotProduct(nn.Module):
    """score(u, i) = p_uᵀq_i + b_i with user [n_users, d] and item [n_items, d] embeddings,
    initialised N(0, 0.01²) (biases 0)."""

    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.user_embedding = nn.Embedding(n_users, dim)
        self.item_embedding = nn.Embedding(n_items, dim)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.user_embedding.weight, std=0.01)
        nn.init.normal_(self.item_embedding.weight, std=0.01)
        nn.init.zeros_(self.item_bias.weight)

    def items(self, items: torch.Tensor) -> torch.Tensor:
        return self.item_embedding(items)

    def pair_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores of (users[·], items[·]) pairs, any matching shapes."""
        dot = (self.user_embedding(users) * self.item_embedding(items)).sum(-1)
        return dot + self.item_bias(items).squeeze(-1)

    def scores(self, users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        """[B, M] for users [B] and items [M] (None: all)."""
        q = self.item_embedding.weight if items is None else self.item_embedding(items)
        b = self.item_bias.weight[:, 0] if items is None else self.item_bias(items)[:, 0]
        return self.user_embedding(users) @ q.T + b[None, :]


def mlp(
    sizes: list[int], dropout: float | list[float] = 0.0, activation: type[nn.Module] = nn.ReLU
) -> nn.Sequential:
    """Linear layers sizes[0] → sizes[1] → … with `activation` after each and dropout before
    each (one rate, or one per layer); no activation after the last layer."""
    rates = dropout if isinstance(dropout, list) else [dropout] * (len(sizes) - 1)
    layers: list[nn.Module] = []
    for j, (a, b) in enumerate(itertools.pairwise(sizes)):
        if rates[j] > 0:
            layers.append(nn.Dropout(rates[j]))
        layers.append(nn.Linear(a, b))
        if j < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
