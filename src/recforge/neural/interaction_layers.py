"""Building blocks of the feature-interaction models: FM, Wide&Deep, DeepFM, DCN-v2, AutoInt.

Every model reads the same input: the fields of a (user, item, context) triple, each embedded by
an `EntityFields` (the user's id and features, the item's id and features, the context's
hour/day fields) and stacked on the field axis into v [N, F, d] in the order user, context,
item. A model is then a sum of terms over v, each [N, F, d] → [N] (the FM pairwise term, a deep
tower, a cross network, self-attention), plus, for the "wide" ones, a bias and a first-order
term: the same fields embedded in one dimension and summed.

`PairFields` embeds the query side (user + context) and the item side separately, so scoring
all items embeds the catalogue once and broadcasts it against each batch of users.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from recforge.neural.fields import EntityFields
from recforge.neural.modules import mlp

__all__ = [
    "CrossNetV2",
    "CrossTower",
    "DeepTower",
    "FMInteraction",
    "FieldInteractionNet",
    "InteractingLayer",
    "InteractingTower",
    "PairFields",
    "Side",
    "first_order",
    "fm_pairwise",
]

Side = tuple[torch.Tensor, torch.Tensor | None]  # (fields [..., F, d], first-order sum [...])


def fm_pairwise(v: torch.Tensor) -> torch.Tensor:
    """Σ_{i<j} <v_i, v_j> over the fields of v [..., F, d] → [...], in O(F d) by
    ½ Σ_k ((Σ_i v_ik)² − Σ_i v_ik²) (Rendle 2010)."""
    total = v.sum(dim=-2)
    return 0.5 * (total.pow(2) - v.pow(2).sum(dim=-2)).sum(dim=-1)


def first_order(w: torch.Tensor) -> torch.Tensor:
    """The linear ("wide") term Σ_i w_i of fields embedded in one dimension, w [..., F, 1] →
    [...]: one weight per id, category, label (a multi-hot field averages its labels' weights)
    and per unit of a z-scored number."""
    return w.sum(dim=(-2, -1))


class FMInteraction(nn.Module):
    """The second-order FM term as a module: forward(v [N, F, d]) → [N]."""

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return fm_pairwise(v)


class DeepTower(nn.Module):
    """An MLP over the concatenated fields: forward(v [N, F, d]) → [N].

    Hidden sizes `layers` (ReLU between them; none gives a linear map), `dropout` before each
    linear layer, then a linear output unit.
    """

    def __init__(self, n_fields: int, dim: int, layers: list[int], dropout: float) -> None:
        super().__init__()
        self.mlp = mlp([n_fields * dim, *layers, 1], dropout)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.mlp(v.flatten(1))[:, 0]


class CrossNetV2(nn.Module):
    """The DCN-v2 cross network (Wang et al. 2021): x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l with a
    full-rank W_l [D, D] per layer; forward(x0 [N, D]) → [N, D]."""

    def __init__(self, dim: int, n_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n_layers))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for layer in self.layers:
            x = x0 * layer(x) + x
        return x


class CrossTower(nn.Module):
    """DCN-v2, stacked: the cross network on the concatenated fields, then a DeepTower-style MLP
    (`layers`, `dropout`) to one output unit; forward(v [N, F, d]) → [N]."""

    def __init__(
        self, n_fields: int, dim: int, cross_layers: int, layers: list[int], dropout: float
    ) -> None:
        super().__init__()
        self.cross = CrossNetV2(n_fields * dim, cross_layers)
        self.mlp = mlp([n_fields * dim, *layers, 1], dropout)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.cross(v.flatten(1)))[:, 0]


class InteractingLayer(nn.Module):
    """Multi-head self-attention across fields with a residual (AutoInt, Song et al. 2019).

    forward(e [N, F, d_in]) → [N, F, heads × head_dim]:
        ReLU(concat_h softmax(Q_h K_hᵀ / √head_dim) V_h + e W_res), Q_h = e W_Q,h etc.
    """

    def __init__(self, d_in: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = head_dim
        width = heads * head_dim
        self.query = nn.Linear(d_in, width, bias=False)
        self.key = nn.Linear(d_in, width, bias=False)
        self.value = nn.Linear(d_in, width, bias=False)
        self.residual = nn.Linear(d_in, width, bias=False)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        n, f, _ = e.shape
        q, k, v = (
            proj(e).view(n, f, self.heads, self.head_dim).transpose(1, 2)  # [N, H, F, a]
            for proj in (self.query, self.key, self.value)
        )
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        attended = (weights @ v).transpose(1, 2).reshape(n, f, self.heads * self.head_dim)
        return torch.relu(attended + self.residual(e))


class InteractingTower(nn.Module):
    """AutoInt: `n_layers` InteractingLayers (head_dim = d), then a linear output unit over the
    concatenated fields; forward(v [N, F, d]) → [N]."""

    def __init__(self, n_fields: int, dim: int, n_layers: int, heads: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            InteractingLayer(dim if j == 0 else heads * dim, heads, dim) for j in range(n_layers)
        )
        width = heads * dim if n_layers else dim
        self.output = nn.Linear(n_fields * width, 1)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            v = layer(v)
        return self.output(v.flatten(1))[:, 0]


class PairFields(nn.Module):
    """The user, context (optional) and item EntityFields of one width d.

    query(users [B], contexts [B]) → [B, F_u + F_c, d]; items(rows [...]) → [..., F_i, d].
    """

    def __init__(
        self, user: EntityFields, item: EntityFields, context: EntityFields | None
    ) -> None:
        super().__init__()
        self.user = user
        self.item = item
        self.context = context

    @property
    def n_fields(self) -> int:
        extra = 0 if self.context is None else self.context.n_fields
        return self.user.n_fields + extra + self.item.n_fields

    def query(self, users: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        out = self.user(users)
        if self.context is not None:
            out = torch.cat([out, self.context(contexts)], dim=1)
        return out

    def items(self, rows: torch.Tensor) -> torch.Tensor:
        flat = self.item(rows.reshape(-1))
        return flat.view(*rows.shape, *flat.shape[1:])


class FieldInteractionNet(nn.Module):
    """logit(u, i, c) = [bias + first_order(w)] + Σ_t term_t(v), v = the stacked fields.

    fields: the d-dimensional PairFields; linear: the one-dimensional PairFields of the
    first-order term (None: no bias and no first-order term); terms: modules v [N, F, d] → [N].
    user_context: int64 [n_users] buffer, the context row each user is scored in.
    """

    user_context: torch.Tensor

    def __init__(
        self,
        fields: PairFields,
        linear: PairFields | None,
        terms: list[nn.Module],
        n_users: int,
    ) -> None:
        super().__init__()
        self.fields = fields
        self.linear = linear
        self.terms = nn.ModuleList(terms)
        self.bias = nn.Parameter(torch.zeros(())) if linear is not None else None
        self.register_buffer("user_context", torch.zeros(n_users, dtype=torch.int64))

    def query_side(self, users: torch.Tensor, contexts: torch.Tensor) -> Side:
        """(fields [B, F_q, d], first-order [B] or None) of users [B] in contexts [B]."""
        v = self.fields.query(users, contexts)
        if self.linear is None:
            return v, None
        return v, first_order(self.linear.query(users, contexts))

    def item_side(self, items: torch.Tensor) -> Side:
        """(fields [..., F_i, d], first-order [...] or None) of item rows of any shape."""
        v = self.fields.items(items)
        if self.linear is None:
            return v, None
        return v, first_order(self.linear.items(items))

    def combine(self, query: Side, item: Side) -> torch.Tensor:
        """logits [B, K] of query [B, F_q, d] against items [B, K, F_i, d] (each user its own
        items) or [K, F_i, d] (the same items for every user)."""
        qv, qw = query
        iv, iw = item
        b = qv.shape[0]
        if iv.dim() == 3:  # shared items: broadcast over the users
            iv = iv.unsqueeze(0)
            iw = None if iw is None else iw.unsqueeze(0)
        k = iv.shape[1]
        v = torch.cat([qv.unsqueeze(1).expand(b, k, *qv.shape[1:]), iv.expand(b, -1, -1, -1)], 2)
        flat = v.reshape(b * k, *v.shape[2:])
        logits = torch.zeros(b * k, device=flat.device, dtype=flat.dtype)
        for term in self.terms:
            logits = logits + term(flat)
        logits = logits.view(b, k)
        if qw is not None and iw is not None and self.bias is not None:
            logits = logits + self.bias + qw[:, None] + iw
        return logits

    def forward(
        self, users: torch.Tensor, items: torch.Tensor, contexts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [B, K], embedding size) for users [B], items [B, K], contexts [B].

        The size is the mean over the pairs of the squared norm of their field embeddings
        (first-order weights included), for an L2 penalty on the batch.
        """
        qv, iv = self.fields.query(users, contexts), self.fields.items(items)
        size = _squared_norm(qv) + _squared_norm(iv)
        qw = iw = None
        if self.linear is not None:
            qw_fields, iw_fields = self.linear.query(users, contexts), self.linear.items(items)
            size = size + _squared_norm(qw_fields) + _squared_norm(iw_fields)
            qw, iw = first_order(qw_fields), first_order(iw_fields)
        return self.combine((qv, qw), (iv, iw)), size


def _squared_norm(v: torch.Tensor) -> torch.Tensor:
    """The mean over the leading dimensions of Σ v² over the last two (fields, dims)."""
    return v.float().pow(2).sum(dim=(-2, -1)).mean()
