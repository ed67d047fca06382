"""The torch module of BERT4Rec: a bidirectional transformer that fills masked items in.

Sequences are int64 [B, L] of item codes (item index + 1, 0 = padding, n_items + 1 = MASK),
right-aligned: the newest item in the last column (see `recforge.data.sequences`).
"""

from __future__ import annotations

import torch
from torch import nn

from recforge.neural.sequence_modules import INIT_STD  # RecBole's initializer_range

__all__ = ["BERT4RecNet"]

MASKED = -1e9  # an additive attention mask value; finite, so an all-masked row stays finite


class BERT4RecNet(nn.Module):
    """BERT4Rec (Sun et al. 2019), after RecBole's: item + position embeddings → layer norm →
    dropout → `blocks` transformer layers (`heads` heads, a GELU feed-forward of `inner_size`,
    `dropout`) in which every position attends to every non-padding position, earlier or
    later → a layer norm → dot products with the same item embeddings plus an item bias.

    Unlike RecBole the layers normalise first (as SASRecNet's "pre" layout) and the output
    head is the layer norm alone, without RecBole's linear + GELU before it: with those,
    training on the ring of the known answer at lr 0.01 died at times (the GELU's inputs all
    went negative, every state the same, the loss stuck at log n_items); this way it did not,
    in any of the seeded runs tried.

    items: embeddings [n_items + 2, d] (std 0.02, RecBole's): row 0 the padding (kept at zero),
    rows 1 … n_items the items, row n_items + 1 the MASK token (an input only, never scored).
    positions: learned [max_len, d], aligned to the right (the last column always gets the last
    one), so padding shifts nothing. States are [output, 1] and output vectors [embedding, bias]
    (both d + 1): a state · a vector is the logit with its bias. history: int64 buffer
    [n_users, max_len] of each user's newest training items, what scoring reads.
    """

    history: torch.Tensor
    bias_column = True  # see SequenceNet

    def __init__(
        self, n_users: int, n_items: int, dim: int, max_len: int, blocks: int, heads: int,
        inner_size: int, dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.n_items = n_items
        self.mask_code = n_items + 1
        self.heads = heads
        self.items = nn.Embedding(n_items + 2, dim, padding_idx=0)
        self.positions = nn.Embedding(max_len, dim)
        nn.init.normal_(self.items.weight, std=INIT_STD)
        nn.init.normal_(self.positions.weight, std=INIT_STD)
        with torch.no_grad():
            self.items.weight[0].zero_()
        self.embedding_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=inner_size, dropout=dropout, activation="gelu",
            batch_first=True, norm_first=True,
        )  # fmt: skip
        self.blocks = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self.register_buffer("history", torch.zeros(n_users, max_len, dtype=torch.long))

    def _inputs(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(embedded inputs [B, L, d], additive attention mask [B * heads, L, L]) of `seq`."""
        L = seq.shape[1]
        x = self.items(seq) + self.positions.weight[-L:][None, :, :]
        x = self.dropout(self.embedding_norm(x))
        # [B, L (query), L (key)]: no padding key; but a position always sees itself, so no row
        # is wholly masked (torch's fused eval path turns such rows into NaN)
        itself = torch.eye(L, dtype=torch.bool, device=seq.device)
        blocked = (seq == 0)[:, None, :] & ~itself
        mask = torch.zeros(blocked.shape, dtype=x.dtype, device=seq.device)
        return x, mask.masked_fill(blocked, MASKED).repeat_interleave(self.heads, dim=0)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """States [B, L, d + 1] of sequences [B, L] (MASK allowed): position t reads every
        non-padding position of its row, before and after it."""
        x, mask = self._inputs(seq)
        states = self.norm(self.blocks(x, mask=mask))
        return torch.cat([states, states.new_ones(*states.shape[:-1], 1)], dim=-1)

    def attention(self, seq: torch.Tensor) -> torch.Tensor:
        """Weights [B, L] with which the MASK that predicts the next item (see `last_state`)
        attends to each column of `seq` in the last block, averaged over heads: its newest
        L - 1 items get their weight (0 on padding), column 0, which the MASK's sequence
        drops, −inf; the MASK's weight on itself is left out, so they sum to at most 1."""
        shifted = torch.cat([seq[:, 1:], torch.full_like(seq[:, :1], self.mask_code)], dim=1)
        x, mask = self._inputs(shifted)
        *earlier, last = self.blocks.layers
        for layer in earlier:
            x = layer(x, src_mask=mask)
        h = last.norm1(x)  # the layers normalise first
        _, weights = last.self_attn(
            h, h, h, attn_mask=mask, need_weights=True, average_attn_weights=True
        )
        dropped = weights.new_full((seq.shape[0], 1), float("-inf"))
        return torch.cat([dropped, weights[:, -1, :-1]], dim=1)

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """Output vectors [M, d + 1] of item indices [M] (None: all n_items, not the MASK):
        the input embeddings with the item bias."""
        if items is None:
            embeddings = self.items.weight[1 : self.n_items + 1]
            return torch.cat([embeddings, self.item_bias[:, None]], dim=1)
        return torch.cat([self.items(items + 1), self.item_bias[items][:, None]], dim=1)

    def last_state(self, seq: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The state [B, d + 1] of the item after sequences [B, L]: their newest L - 1 items
        followed by MASK in the last column, the MASK's state (the prediction setting of
        training's next-item windows); users unused."""
        mask = torch.full_like(seq[:, :1], self.mask_code)
        return self.forward(torch.cat([seq[:, 1:], mask], dim=1))[:, -1]
