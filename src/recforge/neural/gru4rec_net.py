"""The torch module of GRU4Rec: a GRU over the item sequence, blind to its padding.

Sequences are int64 [B, L] of item codes (item index + 1, 0 = padding), right-aligned: the
newest item in the last column (see `recforge.data.sequences`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["GRU4RecNet"]


class GRU4RecNet(nn.Module):
    """GRU4Rec (Hidasi et al. 2016/2018), shaped as RecBole's: item embeddings → dropout →
    a GRU of `layers` layers and `hidden` units (dropout between layers) → a linear map back to
    the embedding size d, dotted with the same item embeddings (tied output).

    items: embeddings [n_items + 1, d] (row 0 the padding, kept at zero). A GRU run over the
    leading padding of a right-aligned window would move its state (the biases act even on a
    zero input), so each row is rotated left until its first item sits in column 0, the GRU
    runs, and the outputs are rotated back: padding after the items cannot touch the causal
    outputs before it. Padding positions get zero states. history: int64 buffer
    [n_users, max_len] of each user's newest training items, what scoring reads.
    """

    history: torch.Tensor
    bias_column = False  # see SequenceNet

    def __init__(
        self, n_users: int, n_items: int, dim: int, hidden: int, layers: int, max_len: int,
        dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.items = nn.Embedding(n_items + 1, dim, padding_idx=0)
        nn.init.normal_(self.items.weight, std=1.0 / math.sqrt(dim))
        with torch.no_grad():
            self.items.weight[0].zero_()
        self.dropout = nn.Dropout(dropout)
        # torch warns about inter-layer dropout on a single layer, where it does nothing
        between = dropout if layers > 1 else 0.0
        self.gru = nn.GRU(dim, hidden, num_layers=layers, dropout=between, batch_first=True)
        self.project = nn.Linear(hidden, dim)
        self.register_buffer("history", torch.zeros(n_users, max_len, dtype=torch.long))

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """States [B, L, d] of right-aligned sequences [B, L]: position t summarises the items
        up to t, whatever padding precedes them (zero at padding positions)."""
        B, L = seq.shape
        real = seq > 0
        pads = L - real.sum(dim=1)  # [B] leading padding of each row
        columns = torch.arange(L, device=seq.device)
        to_front = (columns[None, :] + pads[:, None]) % L  # [B, L]: items first, padding after
        front = seq.gather(1, to_front)
        longest = max(1, int((L - pads).max())) if B else 1  # columns past it are all padding
        out, _ = self.gru(self.dropout(self.items(front[:, :longest])))
        states = self.project(out)  # [B, longest, d]
        if longest < L:
            states = torch.cat([states, states.new_zeros(B, L - longest, states.shape[-1])], 1)
        back = (columns[None, :] - pads[:, None]) % L  # [B, L]: undo the rotation
        states = states.gather(1, back[:, :, None].expand(-1, -1, states.shape[-1]))
        return states * real[:, :, None]

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """Output vectors [M, d] of item indices [M] (None: all n_items): the input embeddings."""
        return self.items.weight[1:] if items is None else self.items(items + 1)

    def last_state(self, seq: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The state [B, d] after each sequence's newest item (its last column); users unused."""
        return self.forward(seq)[:, -1]
