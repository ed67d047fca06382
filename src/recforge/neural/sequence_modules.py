"""Torch modules of the sequence models.

Sequences are int64 [B, L] of item codes (item index + 1, 0 = padding), right-aligned: the
newest item in the last column (see `recforge.data.sequences`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SASRecNet"]

MASKED = -1e9  # an additive attention mask value; finite, so an all-masked row stays finite
POST_NORM_EPS = 1e-12  # BERT's and RecBole's layer norm eps
INIT_STD = 0.02  # BERT's and RecBole's initializer_range


class SASRecNet(nn.Module):
    """SASRec (Kang & McAuley 2018): causal self-attention over the item sequence.

    items: embeddings [n_items + 1, d] (row 0 the padding, kept at zero), shared with the
    output layer (a position's logits are its state · every item embedding); positions:
    learned embeddings [max_len, d], counted back from the newest item (`positions_from`
    "newest": it always has the last one) or on from the oldest item of the window ("oldest",
    RecBole's: the k-th item has position k - 1 however much padding precedes it); `blocks`
    transformer layers with `heads` heads, a feed-forward of 4·d with GELU, `dropout` on the
    embedded input, the attention weights and each sublayer's output, and `ffn_dropout` (None:
    `dropout`, torch's layer; 0: none, RecBole's) on the feed-forward's hidden layer. A
    position attends to itself and earlier non-padding positions only. Two layouts (`norm`):
      "post" — BERT's, as RecBole's SASRec: item + position embeddings → layer norm → dropout →
               layers that normalise after each residual sum; every weight drawn from
               N(0, 0.02), layer norm eps 1e-12;
      "pre"  — the paper's code: item embeddings · √d + positions → dropout → layers that
               normalise before attention and feed-forward → a final layer norm; embeddings
               drawn from N(0, 1/d), torch's defaults elsewhere.
    history: int64 buffer [n_users, max_len] of each user's newest training items, what
    scoring reads.
    """

    history: torch.Tensor
    bias_column = False  # see SequenceNet

    def __init__(
        self, n_users: int, n_items: int, dim: int, max_len: int, blocks: int, heads: int,
        dropout: float, norm: str = "pre", positions_from: str = "newest",
        ffn_dropout: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.dim = dim
        self.heads = heads
        self.from_oldest = positions_from == "oldest"
        self.norm_first = norm == "pre"
        eps = 1e-5 if self.norm_first else POST_NORM_EPS
        self.items = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.positions = nn.Embedding(max_len, dim)
        if self.norm_first:  # drawn first, so a seed gives the weights it gave before `norm`
            nn.init.normal_(self.items.weight, std=1.0 / math.sqrt(dim))
            nn.init.normal_(self.positions.weight, std=1.0 / math.sqrt(dim))
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=4 * dim, dropout=dropout, activation="gelu",
            batch_first=True, norm_first=self.norm_first, layer_norm_eps=eps,
        )  # fmt: skip
        if ffn_dropout is not None:  # torch's layer drops its feed-forward hidden layer too
            layer.dropout = nn.Dropout(ffn_dropout)
        self.blocks = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        # pre: the final norm of the states; post: the norm of the embedded input
        self.norm = nn.LayerNorm(dim, eps=eps)
        if not self.norm_first:
            _bert_init(self)
        with torch.no_grad():
            self.items.weight[0].zero_()
        self.register_buffer("history", torch.zeros(n_users, max_len, dtype=torch.long))

    def _inputs(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The embedded sequence [B, L, d] and the additive attention mask [B·heads, L, L]."""
        L = seq.shape[1]
        if self.from_oldest:  # padding comes first: the k-th real item has position k - 1
            positions = self.positions((seq > 0).cumsum(dim=1).sub(1).clamp(min=0))
        else:
            positions = self.positions.weight[-L:][None, :, :]
        if self.norm_first:
            x = self.items(seq) * math.sqrt(self.dim) + positions
        else:
            x = self.norm(self.items(seq) + positions)
        x = self.dropout(x * (seq > 0).unsqueeze(-1))
        future = torch.triu(torch.ones(L, L, dtype=torch.bool, device=seq.device), diagonal=1)
        # [B, L (query), L (key)]: no future, no padding; but a position always sees itself,
        # so no row is wholly masked (torch's fused eval path turns such rows into NaN)
        itself = torch.eye(L, dtype=torch.bool, device=seq.device)
        blocked = (future[None, :, :] | (seq == 0)[:, None, :]) & ~itself
        mask = torch.zeros(blocked.shape, dtype=x.dtype, device=seq.device)
        return x, mask.masked_fill(blocked, MASKED).repeat_interleave(self.heads, dim=0)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """States [B, L, d] of sequences [B, L]: position t summarises items 0 … t."""
        x, mask = self._inputs(seq)
        states = self.blocks(x, mask=mask)
        return self.norm(states) if self.norm_first else states

    def attention(self, seq: torch.Tensor) -> torch.Tensor:
        """Weights [B, L] with which the newest position of the last block attends to each
        position (averaged over heads; they sum to 1, 0 on padding): which past items shape
        the state that scores the next item."""
        x, mask = self._inputs(seq)
        *earlier, last = self.blocks.layers
        for layer in earlier:
            x = layer(x, src_mask=mask)
        h = last.norm1(x) if self.norm_first else x
        _, weights = last.self_attn(
            h, h, h, attn_mask=mask, need_weights=True, average_attn_weights=True
        )
        return weights[:, -1, :]

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """Output vectors [M, d] of item indices [M] (None: all n_items): the input embeddings."""
        return self.items.weight[1:] if items is None else self.items(items + 1)

    def last_state(self, seq: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The state [B, d] after each sequence's newest item (its last column); users unused."""
        return self.forward(seq)[:, -1]


def _bert_init(module: nn.Module) -> None:
    """BERT's initialisation: every linear, embedding and attention projection weight drawn
    from N(0, INIT_STD), biases zero (layer norms keep weight 1, bias 0)."""
    for part in module.modules():
        if isinstance(part, nn.Linear | nn.Embedding):
            nn.init.normal_(part.weight, std=INIT_STD)
            if isinstance(part, nn.Linear) and part.bias is not None:
                nn.init.zeros_(part.bias)
        elif isinstance(part, nn.MultiheadAttention) and part.in_proj_weight is not None:
            nn.init.normal_(part.in_proj_weight, std=INIT_STD)
            nn.init.zeros_(part.in_proj_bias)
