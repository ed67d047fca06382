"""GRU4Rec (Hidasi et al. 2016; Hidasi & Karatzoglou 2018): next-item recommendation by a
recurrent network (GRU) over each user's item sequence.

Training is SASRec's: each user's history (`Interactions.histories()`, oldest first) is read in
windows of `max_len` (`recforge.data.sequences.sequence_chunks`), and every column of a window
predicts the item that follows it, in one GRU pass per window. The loss is the cross-entropy of
the next item over all items (RecBole's default), over sampled negatives (`loss="sampled"`) or
the paper's BPR-max over the same negatives (`loss="bpr-max"`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from recforge._validation import check_float, check_int
from recforge.models.registry import register
from recforge.models.sequence_base import NextItemRecommender

if TYPE_CHECKING:
    from torch import nn

    from recforge.neural.gru4rec_net import GRU4RecNet

__all__ = ["GRU4Rec"]


@register
class GRU4Rec(NextItemRecommender):
    """A GRU over the newest `max_len` items of each user.

    factors: d, the item embedding size (input and tied output); hidden: the GRU's units;
    layers: stacked GRU layers; dropout: on the item embeddings and between GRU layers;
    loss: softmax | sampled | bpr-max, negatives: items drawn per batch for the last two.
    """

    name = "gru4rec"
    description = "GRU4Rec: a recurrent network over each user's item sequence (Hidasi 2016)"
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 30, "batch_size": 128, "lr": 1e-3}

    module_: GRU4RecNet

    def __init__(
        self,
        *,
        factors: int = 64,
        hidden: int = 128,
        layers: int = 1,
        max_len: int = 50,
        dropout: float = 0.3,
        loss: str = "softmax",
        negatives: int = 256,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.hidden = hidden
        self.layers = layers
        self.max_len = max_len
        self.dropout = dropout
        self.loss = loss
        self.negatives = negatives

    def _validate_model_params(self) -> None:
        self._validate_sequence_params()
        check_int(self.factors, "factors", "GRU4Rec", low=1)
        check_int(self.hidden, "hidden", "GRU4Rec", low=1)
        check_int(self.layers, "layers", "GRU4Rec", low=1)
        check_float(self.dropout, "dropout", "GRU4Rec", low=0.0, high=1.0, high_open=True)

    def _make_net(self) -> nn.Module:
        from recforge.neural.gru4rec_net import GRU4RecNet

        return GRU4RecNet(
            self.n_users_, self.n_items_, int(self.factors), int(self.hidden), int(self.layers),
            int(self.max_len), float(self.dropout),
        )  # fmt: skip
