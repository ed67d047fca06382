"""DINNet: the torch module of DIN (Zhou et al. 2018), target attention over a behaviour sequence.

An item is the concatenation of its fields (its id and its side features, each embedded in d by
an `EntityFields`): e_i [D], D = F_i × d. For a candidate c and a history h_1 … h_L (item codes,
index + 1, 0 = padding, right-aligned as in `recforge.data.sequences`):

    w_j      = softplus(a([e_hj, e_c, e_hj − e_c, e_hj ⊙ e_c]))   ≥ 0; 0 at padding
    interest = Σ_j w_j e_hj                                       [D]
    logit    = MLP([interest, e_c, the user's fields])            (zeros for a new session)

a is the activation unit, an MLP with PReLU: a weight depends on the history item and the
candidate only (no batch statistics). As in the paper the weights are not normalised (no
softmax: they keep the intensity of the interest); unlike it, softplus keeps them ≥ 0: with a
free sign the MLP may read the interest either way round, and "the item with the largest weight
drove this score" would not hold for explanations. The MLP uses Dice (the paper's data-adaptive
PReLU) or PReLU. There are no positions: DIN reads the history as a set of behaviours.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from recforge.neural.fields import EntityFields
from recforge.neural.modules import mlp

__all__ = ["ACTIVATIONS", "ActivationUnit", "DINNet", "Dice", "prediction_mlp"]

ACTIVATIONS = ("dice", "prelu")
DICE_EPS = 1e-8  # the paper's ε


class Dice(nn.Module):
    """Dice (Zhou et al. 2018): f(s) = p(s) s + (1 − p(s)) α s, p(s) = σ((s − E[s]) / √(Var[s] + ε))
    per unit, with the mini-batch's mean and variance in training and their moving averages at
    inference; α [width] learned, starting at 0. forward(s [N, width]) → [N, width]."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(width, eps=DICE_EPS, affine=False)
        self.alpha = nn.Parameter(torch.zeros(width))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(self.norm(s))
        return p * s + (1 - p) * self.alpha * s


def prediction_mlp(sizes: list[int], activation: str, dropout: float) -> nn.Sequential:
    """Linear layers sizes[0] → … → sizes[-1], each hidden one followed by Dice or PReLU (one
    slope per unit) and dropout before each linear layer (as `recforge.neural.modules.mlp`)."""
    layers: list[nn.Module] = []
    for j in range(len(sizes) - 1):
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[j], sizes[j + 1]))
        if j < len(sizes) - 2:
            width = sizes[j + 1]
            layers.append(Dice(width) if activation == "dice" else nn.PReLU(width))
    return nn.Sequential(*layers)


class ActivationUnit(nn.Module):
    """DIN's activation unit: w(h, c) = softplus(MLP([h, c, h − c, h ⊙ c])) ≥ 0 with hidden
    sizes `hidden`, PReLU between them, one linear output.

    forward(history [B, L, D], candidates [B, K, D] or [K, D] shared by all rows) → [B, K, L].
    The first layer W [H, 4D] is applied by parts, W [h, c, h − c, h ⊙ c] =
    (W_h + W_−) h + (W_c − W_−) c + W_⊙ (h ⊙ c), so only the product term costs B·K·L·D.
    """

    def __init__(self, dim: int, hidden: list[int]) -> None:
        super().__init__()
        self.dim = dim
        self.mlp = mlp([4 * dim, *hidden, 1], activation=nn.PReLU)

    def forward(self, history: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        first = self.mlp[0]
        assert isinstance(first, nn.Linear)
        w_h, w_c, w_diff, w_prod = first.weight.split(self.dim, dim=1)
        by_history = history @ (w_h + w_diff).T  # [B, L, H]
        by_candidate = candidates @ (w_c - w_diff).T + first.bias  # [B, K, H] or [K, H]
        if candidates.dim() == 2:
            candidates, by_candidate = candidates[None], by_candidate[None]
        product = history[:, None, :, :] * candidates[:, :, None, :]  # [B, K, L, D]
        x = product @ w_prod.T + by_history[:, None] + by_candidate[:, :, None]
        return F.softplus(self.mlp[1:](x)[..., 0])


class DINNet(nn.Module):
    """DIN over user fields (side features only: the behaviours stand for the user, and a new
    session has no id) and item fields (id first, then side features), both of width d.

    attention_layers: the activation unit's hidden sizes; layers: the MLP's hidden sizes;
    activation: "dice" | "prelu" (the MLP's); dropout: before each MLP layer.
    history: int64 buffer [n_users, max_len], each user's newest training items as codes.
    """

    history: torch.Tensor
    bias_column = False  # see recforge.models.sequence_base.SequenceNet

    def __init__(
        self,
        n_users: int,
        users: EntityFields,
        items: EntityFields,
        max_len: int,
        attention_layers: list[int],
        layers: list[int],
        activation: str,
        dropout: float,
    ) -> None:
        super().__init__()
        self.users = users
        self.items = items
        self.item_width = items.n_fields * items.dim
        self.user_width = users.n_fields * users.dim
        self.attention = ActivationUnit(self.item_width, attention_layers)
        sizes = [2 * self.item_width + self.user_width, *layers, 1]
        self.mlp = prediction_mlp(sizes, activation, dropout)
        self.register_buffer("history", torch.zeros(n_users, max_len, dtype=torch.long))

    def item_vectors(self, rows: torch.Tensor) -> torch.Tensor:
        """e_i [..., D]: the concatenated fields of item indices of any shape."""
        flat = self.items(rows.reshape(-1)).flatten(1)
        return flat.view(*rows.shape, self.item_width)

    def user_vectors(self, users: torch.Tensor | None, batch: int) -> torch.Tensor:
        """[batch, F_u × d]: the users' concatenated side-feature fields (None: an anonymous
        session, zeros as for missing features; no user features: width 0)."""
        if users is None or self.user_width == 0:
            return torch.zeros(batch, self.user_width, device=self.history.device)
        return self.users(users).flatten(1)

    def attention_weights(self, seq: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """w [B, K, L]: each history item's weight for each candidate; 0 at padding.

        seq: item codes [B, L]; candidates: item indices [B, K] or [K] (the same for all rows).
        """
        history = self.item_vectors((seq - 1).clamp(min=0))
        return self._weights(seq, history, self.item_vectors(candidates))

    def _weights(
        self, seq: torch.Tensor, history: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        weights = self.attention(history, target)
        return weights * (seq > 0)[:, None, :].to(weights.dtype)

    def forward(
        self, seq: torch.Tensor, users: torch.Tensor | None, candidates: torch.Tensor
    ) -> torch.Tensor:
        """Logits [B, K] of candidates (item indices [B, K], or [K] for every row) after the
        histories seq [B, L] (codes) of users [B] (None: anonymous sessions)."""
        b = seq.shape[0]
        history = self.item_vectors((seq - 1).clamp(min=0))  # [B, L, D]
        target = self.item_vectors(candidates)  # [B, K, D] or [K, D]
        interest = self._weights(seq, history, target) @ history  # [B, K, D]
        k = interest.shape[1]
        user = self.user_vectors(users, b)[:, None, :].expand(b, k, self.user_width)
        x = torch.cat([interest, target.expand(b, k, self.item_width), user], dim=-1)
        return self.mlp(x.reshape(b * k, -1)).view(b, k)
