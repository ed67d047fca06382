"""CaserNet: the torch module of Caser (Tang & Wang 2018), a `SequenceNet`.

Sequences are int64 [B, L] of item codes (item index + 1, 0 = padding), right-aligned: the
newest item in the last column (see `recforge.data.sequences`); L = max_len, fixed.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

__all__ = ["CaserNet"]


class CaserNet(nn.Module):
    """Convolutions over the L × d "image" of the newest L item embeddings, plus the user.

    items: input embeddings [n_items + 1, d] (row 0 the padding: zero, and masked as well, so
    a window shorter than L reads exactly zero rows on its left whatever row 0 holds).
    horizontal: for each height h in 1 … L, `horizontal` filters of size h × d (a Conv1d over
    time with d channels), ReLU, max-pooled over time → [B, L · horizontal]. vertical:
    `vertical` filters of size L × 1, each a weighted sum of the L rows, no activation →
    [B, vertical · d]. Both are concatenated, dropped out and mapped by a fully connected
    layer with ReLU to z [B, d]; users: embeddings P [n_users, d].

    The score of item i is W'_i · [z ; P_u] + b'_i (the paper's output layer: vectors
    W' [n_items, 2d] and biases b' [n_items]). To keep the SequenceNet protocol
    `score = last_state @ item_vectors.T`, the state is [z ; P_u ; 1] [B, 2d + 1] and an item's
    vector is [W'_i ; b'_i] [2d + 1]: the trailing 1 picks up the bias.

    An anonymous session (users=None) uses the mean embedding of the users with training
    items in place of P_u. z does not depend on the user and the score is linear in P_u, so
    this scores every item by the mean of the scores the session would get as each of those
    users: the population's average taste, not that of any invented user. (No such user: 0.)
    `session_state` does better with a session of two or more items: it fits the session's
    own P by MAP under a Gaussian prior drawn from those users (`recforge.neural.fold_in`),
    every item of the session after its first a target read from the items before it.

    history: int64 buffer [n_users, max_len] of each user's newest training items.
    """

    history: torch.Tensor
    horizontal_fits: torch.Tensor
    bias_column = True  # see SequenceNet

    def __init__(
        self, n_users: int, n_items: int, dim: int, max_len: int, vertical: int, horizontal: int,
        dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.dim = dim
        self.max_len = max_len
        self.items = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.users = nn.Embedding(n_users, dim)
        self.vertical = nn.Linear(max_len, vertical) if vertical else None
        heights = range(1, max_len + 1) if horizontal else range(0)
        self.horizontal = nn.ModuleList(nn.Conv1d(dim, horizontal, h) for h in heights)
        # [L · horizontal, L]: 1 where a filter of height h at position p lies within the L
        # items (p ≤ L - h), in the channel order of the filters; not saved (derived)
        fits = torch.tensor([[p <= max_len - h for p in range(max_len)] for h in heights])
        self.register_buffer(
            "horizontal_fits", fits.repeat_interleave(horizontal, dim=0).float(), persistent=False
        )
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(vertical * dim + horizontal * max_len, dim)
        self.output = nn.Embedding(n_items, 2 * dim)
        self.output_bias = nn.Parameter(torch.zeros(n_items, 1))
        # the scale of the authors' code and RecBole: N(0, 1/d) embeddings, Xavier layers
        for table in (self.items, self.users):
            nn.init.normal_(table.weight, std=1.0 / dim)
        nn.init.normal_(self.output.weight, std=1.0 / (2 * dim))
        nn.init.xavier_normal_(self.hidden.weight)
        nn.init.zeros_(self.hidden.bias)
        with torch.no_grad():
            self.items.weight[0].zero_()
        self.register_buffer("history", torch.zeros(n_users, max_len, dtype=torch.long))

    def sequence_embedding(self, seq: torch.Tensor) -> torch.Tensor:
        """z [B, d] of sequences [B, L]: the convolutions' summary of the items, in order."""
        x = self.items(seq) * (seq > 0).unsqueeze(-1).to(self.items.weight.dtype)  # [B, L, d]
        channels = x.transpose(1, 2)  # [B, d, L]
        parts = []
        if self.vertical is not None:
            parts.append(self.vertical(channels).flatten(1))  # [B, d · vertical]
        if len(self.horizontal):
            parts.append(self.horizontal_features(channels))
        return torch.relu(self.hidden(self.dropout(torch.cat(parts, dim=1))))

    def horizontal_features(self, channels: torch.Tensor) -> torch.Tensor:
        """[B, L · horizontal] of channels [B, d, L]: each height's filters, ReLU, max-pooled
        over the positions where they fit, heights in order. One convolution for all heights
        (a call per height costs more than its arithmetic on windows this small): each h × d
        filter is padded with zero rows to L × d, the items with L - 1 zero columns on the
        right, and the positions where a height-h filter would overrun the L items are dropped
        (ReLU's output is ≥ 0 and every height fits at position 0, so zeroing them leaves each
        maximum as it was)."""
        L = self.max_len
        convs = cast(list[nn.Conv1d], list(self.horizontal))  # heights 1 … L
        weight = torch.cat(
            [nn.functional.pad(conv.weight, (0, L - int(conv.weight.shape[-1]))) for conv in convs]
        )  # [L · horizontal, d, L]
        bias = torch.cat([cast(torch.Tensor, conv.bias) for conv in convs])
        out = nn.functional.conv1d(nn.functional.pad(channels, (0, L - 1)), weight, bias)
        fits = self.horizontal_fits.to(out.dtype)
        return (torch.relu(out) * fits).amax(dim=-1)  # out: [B, L · horizontal, L]

    def user_embedding(self, users: torch.Tensor | None, batch: int) -> torch.Tensor:
        """P_u [B, d] of users [B]; for None the mean over users with training items (see the
        class docstring), repeated `batch` times."""
        if users is not None:
            return self.users(users)
        known = self.history[:, -1] > 0
        if not bool(known.any()):
            return self.users.weight.new_zeros(batch, self.dim)
        return self.users.weight[known].mean(dim=0).expand(batch, -1)

    def last_state(self, seq: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The state [z ; P_u ; 1] [B, 2d + 1] of sequences [B, L] of `users` [B] (None:
        anonymous sessions)."""
        z = self.sequence_embedding(seq)
        p = self.user_embedding(users, seq.shape[0]).to(z.dtype)
        return torch.cat([z, p, torch.ones_like(z[:, :1])], dim=1)

    def session_state(
        self, seq: torch.Tensor, windows: torch.Tensor, targets: torch.Tensor, steps: int
    ) -> torch.Tensor:
        """The state [1, 2d + 1] of an anonymous session: its newest items seq [1, L], and P
        fitted to its transitions (windows [T, L] → item indices targets [T], see
        `next_item_windows`) by at most `steps` Newton steps; the mean user without a prior."""
        from recforge.neural.fold_in import map_user_vector

        prior = self._user_prior()
        if prior is None or targets.numel() == 0 or steps == 0:
            return self.last_state(seq, None)
        both = self.sequence_embedding(torch.cat([windows, seq]))  # one pass: [T + 1, d]
        z = both[-1:]
        vectors = self.item_vectors(None)  # [n, 2d + 1]: W' for z, for P, then b'
        offsets = both[:-1] @ vectors[:, : self.dim].T + vectors[:, -1]
        fitted = map_user_vector(offsets, targets, vectors[:, self.dim : -1], prior, steps)
        p = fitted.to(z.dtype)[None, :]
        return torch.cat([z, p, torch.ones_like(z[:, :1])], dim=1)

    def _user_prior(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """`gaussian_prior` of the embeddings of the users with training items, cached until
        the embeddings or the histories change (torch counts in-place writes: training,
        load_state_dict; a move to another device gives new storage)."""
        from recforge.neural.fold_in import gaussian_prior

        weights, history = self.users.weight, self.history
        key = (weights._version, weights.data_ptr(), history._version, history.data_ptr())
        cached = self.__dict__.get("_prior_cache")
        if cached is None or cached[0] != key:
            cached = (key, gaussian_prior(weights[history[:, -1] > 0]))
            self.__dict__["_prior_cache"] = cached
        return cached[1]

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """[W'_i ; b'_i] [M, 2d + 1] of item indices [M] (None: all n_items)."""
        if items is None:
            return torch.cat([self.output.weight, self.output_bias], dim=1)
        return torch.cat([self.output(items), self.output_bias[items]], dim=1)

    def weight_norms(self) -> torch.Tensor:
        """Σ ‖W‖ (Frobenius, not squared) over the weight matrices, biases excepted: the L2
        penalty of RecBole's Caser, which its reg_weight multiplies."""
        weights = [self.items.weight, self.users.weight, self.hidden.weight, self.output.weight]
        if self.vertical is not None:
            weights.append(self.vertical.weight)
        weights.extend(
            w for name, w in self.horizontal.named_parameters() if name.endswith("weight")
        )
        return torch.stack([w.float().norm() for w in weights]).sum()
