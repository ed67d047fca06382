"""The networks of neural collaborative filtering (He et al. 2017): GMF, MLP and NeuMF, and
DeepRating's MLP over user and item field embeddings.

Each network gives a logit per (user, item) pair. A branch turns pairs into a feature vector
(GMF: p_u ⊙ q_i; MLP: a ReLU tower over [p_u, q_i]); a network puts a linear output layer on its
branches. Every call scores B users against items: [B, C] (C items per user, e.g. a positive
and its sampled negatives) or [M] (the same M items for all). The user side is computed once
per user: GMF's logit is (p_u ⊙ h)ᵀq_i, and the MLP's first layer splits into a user and an item
part, W[p; q] + b = (W_u p + b) + W_i q, added by broadcasting before the rest of the tower.
DeepRating regresses ratings the same way from its users' and items' field vectors.
"""

from __future__ import annotations

import torch
from torch import nn

from recforge.neural.fields import EntityFields
from recforge.neural.modules import mlp

__all__ = ["DeepRatingNet", "GMFBranch", "GMFNet", "MLPBranch", "MLPNet", "NeuMFNet"]

GRID_VALUES = 1 << 24  # the most hidden activations one chunk of users holds (64 MB of float32)


def _embedding(rows: int, dim: int) -> nn.Embedding:
    """An embedding table initialised N(0, 0.01²), as in the paper."""
    table = nn.Embedding(rows, dim)
    nn.init.normal_(table.weight, std=0.01)
    return table


def _glorot(module: nn.Module) -> None:
    """Keras' defaults, as in the models rebuilt here: Glorot-uniform weights, zero biases
    (every ReLU starts at its kink, so no unit is dead for all inputs from the start)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


def _item_vectors(table: nn.Embedding, items: torch.Tensor | None) -> torch.Tensor:
    """[B, C, d] for items [B, C]; [M, d] for items [M]; the whole table for None."""
    return table.weight if items is None else table(items)


class GMFBranch(nn.Module):
    """Generalised matrix factorisation: features p_u ⊙ q_i of size `dim`."""

    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.user_embedding = _embedding(n_users, dim)
        self.item_embedding = _embedding(n_items, dim)

    def forward(
        self, users: torch.Tensor, items: torch.Tensor | None, weight: torch.Tensor
    ) -> torch.Tensor:
        """weightᵀ(p_u ⊙ q_i): [B, C] for users [B], items [B, C]; [B, M] for items [M] (None:
        all); weight [dim]."""
        p = self.user_embedding(users) * weight  # [B, d]
        q = _item_vectors(self.item_embedding, items)
        if q.dim() == 3:
            return (p[:, None, :] * q).sum(-1)
        return p @ q.T


class MLPBranch(nn.Module):
    """Multi-layer perceptron over [p_u, q_i]: `layers[0]` is the size of the concatenation
    (each embedding has layers[0] // 2), every later entry a ReLU layer; features of size
    `dim` = layers[-1]. `dropout` applies to the embeddings and before each later layer; the
    dropout of a user's embedding is shared by the items scored with it in one call."""

    def __init__(self, n_users: int, n_items: int, layers: list[int], dropout: float) -> None:
        super().__init__()
        half = layers[0] // 2
        self.dim = layers[-1] if len(layers) > 1 else 2 * half
        self.user_embedding = _embedding(n_users, half)
        self.item_embedding = _embedding(n_items, half)
        self.input_dropout = nn.Dropout(dropout)
        self.first = nn.Linear(2 * half, layers[1]) if len(layers) > 1 else None
        # after the first layer: ReLU, then (dropout, linear, ReLU) for each later layer
        tail = [*mlp(layers[1:], dropout), nn.ReLU()] if len(layers) > 2 else []
        self.rest = nn.Sequential(nn.ReLU(), *tail)
        _glorot(self)

    def forward(
        self, users: torch.Tensor, items: torch.Tensor | None, weight: torch.Tensor
    ) -> torch.Tensor:
        """weightᵀ tower([p_u, q_i]): [B, C] for users [B], items [B, C]; [B, M] for items [M]
        (None: all); weight [dim]."""
        p = self.input_dropout(self.user_embedding(users))  # [B, h]
        q = self.input_dropout(_item_vectors(self.item_embedding, items))  # [B, C, h] or [M, h]
        half = p.shape[1]
        if self.first is None:  # no hidden layer: the features are [p, q] themselves
            user_part = p @ weight[:half]  # [B]
            item_part = q @ weight[half:]  # [B, C] or [M]
            return user_part[:, None] + (item_part if item_part.dim() == 2 else item_part[None])
        user_first = p @ self.first.weight[:, :half].T + self.first.bias  # [B, h₁]
        item_first = q @ self.first.weight[:, half:].T  # [B, C, h₁] or [M, h₁]
        if item_first.dim() == 3:
            return self.rest(user_first[:, None, :] + item_first) @ weight
        # one grid: chunks of users so that a chunk's activations stay ≤ GRID_VALUES
        rows = max(1, GRID_VALUES // max(item_first.numel(), 1))
        out = [
            self.rest(user_first[start : start + rows, None, :] + item_first[None]) @ weight
            for start in range(0, user_first.shape[0], rows)
        ]
        return torch.cat(out, dim=0)


class GMFNet(nn.Module):
    """GMF: logit = hᵀ(p_u ⊙ q_i) + b."""

    def __init__(self, n_users: int, n_items: int, factors: int) -> None:
        super().__init__()
        self.branch = GMFBranch(n_users, n_items, factors)
        self.output = nn.Linear(factors, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        """Logits [B, C] for users [B] and items [B, C]; [B, M] for items [M] (None: all)."""
        return self.branch(users, items, self.output.weight[0]) + self.output.bias


class MLPNet(nn.Module):
    """MLP: logit = hᵀ tower([p_u, q_i]) + b."""

    def __init__(self, n_users: int, n_items: int, layers: list[int], dropout: float) -> None:
        super().__init__()
        self.branch = MLPBranch(n_users, n_items, layers, dropout)
        self.output = nn.Linear(self.branch.dim, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        """Logits [B, C] for users [B] and items [B, C]; [B, M] for items [M] (None: all)."""
        return self.branch(users, items, self.output.weight[0]) + self.output.bias


class NeuMFNet(nn.Module):
    """NeuMF: logit = hᵀ[p ⊙ q, tower([p', q'])] + b, each branch with its own embeddings."""

    def __init__(
        self, n_users: int, n_items: int, factors: int, layers: list[int], dropout: float
    ) -> None:
        super().__init__()
        self.gmf = GMFBranch(n_users, n_items, factors)
        self.mlp = MLPBranch(n_users, n_items, layers, dropout)
        self.output = nn.Linear(self.gmf.dim + self.mlp.dim, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        """Logits [B, C] for users [B] and items [B, C]; [B, M] for items [M] (None: all)."""
        w = self.output.weight[0]
        d = self.gmf.dim
        return self.gmf(users, items, w[:d]) + self.mlp(users, items, w[d:]) + self.output.bias

    @torch.no_grad()
    def init_from(self, gmf: GMFNet, mlp_net: MLPNet, alpha: float) -> None:
        """Start from pre-trained networks: their branches' weights, and the output layer
        [α h_GMF, (1 − α) h_MLP] with bias α b_GMF + (1 − α) b_MLP (the paper's α = 0.5)."""
        self.gmf.load_state_dict(gmf.branch.state_dict())
        self.mlp.load_state_dict(mlp_net.branch.state_dict())
        self.output.weight.copy_(
            torch.cat([alpha * gmf.output.weight, (1 - alpha) * mlp_net.output.weight], dim=1)
        )
        self.output.bias.copy_(alpha * gmf.output.bias + (1 - alpha) * mlp_net.output.bias)


class DeepRatingNet(nn.Module):
    """A rating regressor: the user's and the item's field vectors side by side, then
    Dropout(input_dropout), Dense(k, ReLU), Dropout(dropout), Dense(k/4, ReLU), Dropout(dropout),
    Dense(k/16, ReLU), Dropout(dropout), Dense(1) (k = factors, each width at least 1).

    users, items: the EntityFields of each side (the id, then side features), d = factors.
    The output is the rating minus the global mean (the model adds it back).
    """

    def __init__(
        self,
        users: EntityFields,
        items: EntityFields,
        factors: int,
        input_dropout: float,
        dropout: float,
    ) -> None:
        super().__init__()
        self.users = users
        self.items = items
        self.user_width = users.n_fields * factors
        hidden = [factors, max(factors // 4, 1), max(factors // 16, 1), 1]
        self.input_dropout = nn.Dropout(input_dropout)
        self.first = nn.Linear(self.user_width + items.n_fields * factors, hidden[0])
        self.rest = nn.Sequential(nn.ReLU(), *mlp(hidden, dropout))
        _glorot(self.first)
        _glorot(self.rest)

    @staticmethod
    def vectors(fields: EntityFields, rows: torch.Tensor) -> torch.Tensor:
        """[B, F·d]: the flattened field vectors of rows [B]; a row of −1 (unknown) gets the
        mean vector of all the entity's rows."""
        known = rows >= 0
        out = fields(rows.clamp(min=0)).flatten(1)
        if not bool(known.all()):
            every = torch.arange(fields.categories.shape[0], device=rows.device)
            mean = fields(every).flatten(1).mean(dim=0)
            out = torch.where(known[:, None], out, mean)
        return out

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Centred ratings [B] of the pairs (users[b], items[b]); −1 marks an unknown one."""
        x = torch.cat([self.vectors(self.users, users), self.vectors(self.items, items)], dim=1)
        return self.rest(self.first(self.input_dropout(x))).squeeze(-1)

    def grid(self, users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        """Centred ratings [B, M] of users [B] × items [M] (None: all), all known."""
        if items is None:
            items = torch.arange(self.items.categories.shape[0], device=users.device)
        u = self.input_dropout(self.vectors(self.users, users))
        i = self.input_dropout(self.vectors(self.items, items))
        w = self.first.weight
        user_part = u @ w[:, : self.user_width].T + self.first.bias  # [B, k]
        item_part = i @ w[:, self.user_width :].T  # [M, k]
        rows = max(1, GRID_VALUES // max(item_part.numel(), 1))
        out = [
            self.rest(user_part[start : start + rows, None, :] + item_part[None]).squeeze(-1)
            for start in range(0, user_part.shape[0], rows)
        ]
        return torch.cat(out, dim=0)
