"""The two towers of a YouTube-DNN-style retrieval model (Covington et al. 2016; Yi et al. 2019).

User tower: the user's fields (id + side features, [B, F_u, d]) and the mean of the embeddings of
their most recent training items, concatenated → MLP → a unit vector [B, out]. Item tower: the
item's fields (id + side features) → MLP → a unit vector. A score is the cosine of the two.

The history items are embedded with the item tower's own id table, so an item means the same in
a history and as a candidate, and a history of known items describes a user the model never saw.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from recforge.data.interactions import Interactions
from recforge.neural.fields import EntityFields
from recforge.neural.modules import mlp

__all__ = ["TwoTowerNet", "recent_items"]


def recent_items(train: Interactions, length: int) -> np.ndarray:
    """int64 [n_users, length]: each user's `length` most recent training items as index + 1
    (oldest first, 0-padded on the right; time ties and data without times: by item index)."""
    histories = train.histories()
    counts = np.diff(histories.indptr)
    kept = np.minimum(counts, length)
    owners = np.repeat(np.arange(train.n_users), counts)
    from_end = histories.indptr[owners + 1] - 1 - np.arange(histories.items.size)  # 0 = newest
    keep = from_end < kept[owners]
    column = kept[owners] - 1 - from_end
    out = np.zeros((train.n_users, length), dtype=np.int64)
    out[owners[keep], column[keep]] = histories.items[keep].astype(np.int64) + 1
    return out


class TwoTowerNet(nn.Module):
    """The user and item towers.

    user_fields, item_fields: EntityFields of dim d, the id first. history: int64 buffer
    [n_users, history_len] of each user's recent items + 1 (0 = padding). hidden,
    hidden_layers: the width and number of the hidden ReLU layers of each tower's MLP; out: the
    output size.
    """

    history: torch.Tensor

    def __init__(
        self,
        n_users: int,
        user_fields: EntityFields,
        item_fields: EntityFields,
        history_len: int,
        hidden: int,
        hidden_layers: int,
        out: int,
    ) -> None:
        super().__init__()
        if not item_fields.specs or item_fields.specs[0].kind != "id":
            raise ValueError("the item fields must start with the item id")
        d = item_fields.dim
        self.user_fields = user_fields
        self.item_fields = item_fields
        self.register_buffer("history", torch.zeros(n_users, history_len, dtype=torch.int64))
        self.user_mlp = mlp([(user_fields.n_fields + 1) * d, *[hidden] * hidden_layers, out])
        self.item_mlp = mlp([item_fields.n_fields * d, *[hidden] * hidden_layers, out])

    @property
    def item_ids(self) -> nn.Embedding:
        """The item tower's id embeddings [n_items, d], shared by the histories."""
        table = self.item_fields.embeddings["f0"]
        assert isinstance(table, nn.Embedding)
        return table

    def pool(self, history: torch.Tensor, exclude: torch.Tensor | None = None) -> torch.Tensor:
        """Mean item embedding [B, d] of history int64 [B, L] (item + 1, 0 = padding), leaving
        out the item `exclude[b]` (int64 [B]) from row b; an empty history pools to zeros."""
        mask = history > 0
        if exclude is not None:
            mask = mask & (history != exclude[:, None] + 1)
        weights = mask / mask.sum(dim=1, keepdim=True).clamp(min=1)  # [B, L]
        return F.embedding_bag(  # a weighted sum without the [B, L, d] intermediate
            (history - 1).clamp(min=0),
            self.item_ids.weight,
            mode="sum",
            per_sample_weights=weights.to(self.item_ids.weight.dtype),
        )

    def _user_tower(self, fields: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        x = torch.cat([fields.flatten(1), pooled], dim=1)
        return F.normalize(self.user_mlp(x), dim=-1)

    def users(
        self,
        users: torch.Tensor,
        exclude: torch.Tensor | None = None,
        cold: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Unit user vectors [B, out] for user indices [B], pooling each one's stored history
        (without the item `exclude[b]`, the training example's own, when given); rows where
        cold (bool [B]) is set get zero user fields, as a new user does."""
        pooled = self.pool(self.history[users], exclude)
        fields = self.user_fields(users)
        if cold is not None:
            fields = fields * (~cold)[:, None, None]
        return self._user_tower(fields, pooled)

    def new_users(self, history: torch.Tensor) -> torch.Tensor:
        """Unit vectors [B, out] of users the model never saw, from their histories [B, L]
        (item + 1, 0 = padding): every user field (id, features) is the zero vector, as a
        missing feature is."""
        rows = history.shape[0]
        width = self.user_fields.n_fields * self.item_fields.dim
        fields = torch.zeros(rows, width, device=history.device)
        return self._user_tower(fields, self.pool(history))

    def items(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """Unit item vectors [M, out] for item indices [M] (None: every item)."""
        if items is None:
            items = torch.arange(self.item_ids.num_embeddings, device=self.history.device)
        return F.normalize(self.item_mlp(self.item_fields(items).flatten(1)), dim=-1)
