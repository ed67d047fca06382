"""DIN (Zhou et al. 2018, "Deep Interest Network for Click-Through Rate Prediction"): CTR-style
scoring of a candidate item by target attention over the user's behaviour sequence.

The user's newest `max_len` items are weighted by how much each one bears on the candidate (an
activation unit over the pair; weights ≥ 0, not normalised), summed into an interest vector and
fed, with the candidate and the user's side features, to an MLP that gives the logit; see
`recforge.neural.din_net.DINNet`. Items and users are embedded by the field layer of the
feature-interaction models (`recforge.neural.fields.EntityFields`): an item is its id plus the
side features given as item_features= (genres …), a user is the side features given as
user_features= (no user id: the behaviours stand for the user, so a new session is served like
a known user with unknown features).

Training, CTR-style from the sequences: every item with at least one earlier item of its user is
a positive (`next_item_positions`), read with the up-to-`max_len` items before it
(`next_item_windows`, cut per batch), and `negatives` items drawn uniformly are negatives of the
same history (a draw of the positive itself is dropped); binary cross-entropy
(`bce_with_negatives`). A score depends on the candidate through the attention, so scoring
evaluates users × candidates × history positions, in chunks (`_score_pairs`).

`explain(user, item)` gives the attention weight of each item in the user's stored window for
that candidate (how="attention").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_choice, check_float, check_int
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError
from recforge.models.registry import register
from recforge.models.sequence_base import SequenceRecommender

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.din_net import DINNet
    from recforge.neural.loop import Step

__all__ = ["DIN"]

SCORE_FLOATS = 1 << 26  # activation floats of one scoring chunk (~256 MB)


def _check_sizes(value: Any, name: str) -> list[int]:
    ok = isinstance(value, list | tuple) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in value
    )
    if not ok:
        raise ParameterError(
            f"The {name!r} parameter of DIN must be a list of ints ≥ 1 (hidden sizes; [] for "
            f"none). Got {value!r} instead."
        )
    return [int(v) for v in value]


@register
class DIN(SequenceRecommender):
    """Target attention over the newest `max_len` items of each user, CTR-style.

    factors: d, the width of every field embedding (an item is F_i × d wide: its id and side
    features); attention_layers: hidden sizes of the activation unit (PReLU); layers: hidden
    sizes of the MLP; activation: the MLP's, "dice" (the paper's) or "prelu"; dropout: before
    each MLP layer; negatives: uniformly drawn negatives per positive.
    Defaults: the hidden sizes of the authors' code (activation unit 80-40, MLP 200-80, Dice;
    RecBole uses 256-256-256 for both); d = 16 and negatives 4 as the feature-interaction
    models; max_len 50, dropout 0 and lr 1e-3 as RecBole; epochs and batch_size not yet tuned.
    Fitted: layout_ (the field specs as JSON) and module_ (DINNet).
    """

    name = "din"
    description = "DIN: target attention over each user's behaviour sequence, CTR-style (Zhou 2018)"
    accepts_side_features = True
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 20, "batch_size": 1024, "lr": 1e-3}
    _learned = ("layout_",)

    module_: DINNet
    layout_: str

    def __init__(
        self,
        *,
        factors: int = 16,
        max_len: int = 50,
        attention_layers: Sequence[int] = [80, 40],
        layers: Sequence[int] = [200, 80],
        activation: str = "dice",
        dropout: float = 0.0,
        negatives: int = 4,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.max_len = max_len
        self.attention_layers = attention_layers
        self.layers = layers
        self.activation = activation
        self.dropout = dropout
        self.negatives = negatives

    def _validate_model_params(self) -> None:
        from recforge.neural.din_net import ACTIVATIONS

        check_int(self.factors, "factors", "DIN", low=1)
        check_int(self.max_len, "max_len", "DIN", low=1)
        _check_sizes(self.attention_layers, "attention_layers")
        _check_sizes(self.layers, "layers")
        check_choice(self.activation, "activation", ACTIVATIONS, "DIN")
        check_float(self.dropout, "dropout", "DIN", low=0.0, high=1.0, high_open=True)
        check_int(self.negatives, "negatives", "DIN", low=1)

    # ------------------------------------------------------------------ module
    def _build_module(self, train: Interactions | None) -> nn.Module:
        """The fields come from the feature tables when fitting (their layout kept in layout_)
        and from layout_ and the saved buffers when loading."""
        import torch

        from recforge.data.sequences import last_items
        from recforge.neural.din_net import DINNet
        from recforge.neural.fields import EntityFields, specs_from_json, specs_to_json

        d = int(self.factors)
        if train is None:
            layout = json.loads(self.layout_)
            users = EntityFields(self.n_users_, specs_from_json(layout["user"]), d)
            items = EntityFields(self.n_items_, specs_from_json(layout["item"]), d)
        else:
            users = EntityFields.from_table(self.n_users_, self._user_features, d, with_id=False)
            items = EntityFields.from_table(self.n_items_, self._item_features, d)
            self.layout_ = json.dumps(
                {"user": specs_to_json(users.specs), "item": specs_to_json(items.specs)}
            )
        net = DINNet(
            self.n_users_, users, items, int(self.max_len),
            _check_sizes(self.attention_layers, "attention_layers"),
            _check_sizes(self.layers, "layers"), self.activation, float(self.dropout),
        )  # fmt: skip
        if train is not None:
            recent = last_items(train.histories(), np.arange(self.n_users_), int(self.max_len))
            net.history.copy_(torch.from_numpy(recent))
        return net

    # ------------------------------------------------------------------ training
    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        """(flat positions [N] of the positives in train.histories(), their users [N])."""
        return self._target_examples(train)

    def _batch_loss(
        self, module: DINNet, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        import torch

        from recforge.data.sequences import next_item_windows
        from recforge.neural.losses import bce_with_negatives

        positions, users = batch
        inputs, targets = next_item_windows(
            self._histories, positions.cpu().numpy(), int(self.max_len)
        )
        device = positions.device
        seq = torch.from_numpy(inputs).to(device)
        positive = torch.from_numpy(targets).to(device)
        negatives = torch.randint(
            self.n_items_, (positive.numel(), int(self.negatives)), generator=step.generator,
            device=device,
        )  # fmt: skip
        logits = module(seq, users, torch.cat([positive[:, None], negatives], dim=1))
        # a draw of the positive itself is no negative: softplus(min) = 0, no loss, no gradient
        negative = logits[:, 1:].masked_fill(
            negatives == positive[:, None], torch.finfo(logits.dtype).min
        )
        return bce_with_negatives(logits[:, 0], negative)

    # ------------------------------------------------------------------ inference
    def _score_pairs(self) -> int:
        """Pairs per chunk: each costs the activation unit at every history position (the
        product [D], the hidden layers before and after PReLU) plus the MLP."""
        net = self.module_
        hidden = _check_sizes(self.attention_layers, "attention_layers")
        mlp = _check_sizes(self.layers, "layers")
        per_position = net.item_width + 2 * sum(hidden) + 2
        per_pair = int(self.max_len) * per_position + 3 * net.item_width + 3 * sum(mlp)
        return max(1, SCORE_FLOATS // (per_pair + net.user_width))

    def _chunked_scores(
        self, module: DINNet, seq: torch.Tensor, users: torch.Tensor | None,
        items: torch.Tensor | None,
    ) -> torch.Tensor:  # fmt: skip
        """Logits [B, M] after histories seq [B, L] of users [B] (None: sessions) for items [M]
        (None: all), the items taken in chunks of at most `_score_pairs` pairs."""
        import torch

        rows = torch.arange(self.n_items_, device=seq.device) if items is None else items
        step = max(1, self._score_pairs() // seq.shape[0])
        parts = [module(seq, users, rows[s : s + step]) for s in range(0, rows.numel(), step)]
        return torch.cat(parts, dim=1)

    def _score_batch(
        self, module: DINNet, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        return self._chunked_scores(module, module.history[users], users, items)

    def _codes_scores(self, module: Any, seq: torch.Tensor) -> torch.Tensor:
        """Scores [B, n_items] after sessions given as codes [B, max_len] (no user features)."""
        return self._chunked_scores(module, seq, None, None)

    def _explain_weights(self, user: int, item: int, history: np.ndarray) -> tuple[np.ndarray, str]:
        """The attention weight of each of `history`'s items in the user's stored window for
        candidate `item`; items outside the window: −inf (left out)."""
        import torch

        codes = self.module_.history[user].cpu().numpy()
        seq = torch.as_tensor(codes[None], device=self.device_)
        candidate = torch.tensor([item], device=self.device_)
        weights = self._inference(lambda m: m.attention_weights(seq, candidate))[0, 0]
        present = codes > 0
        window, window_weights = codes[present] - 1, weights[present]  # an item occurs once
        order = np.argsort(window)
        window, window_weights = window[order], window_weights[order]
        out = np.full(history.size, -np.inf)
        if window.size:
            at = np.minimum(np.searchsorted(window, history), window.size - 1)
            found = window[at] == history
            out[found] = window_weights[at[found]]
        return out, "attention"
