"""SASRec (Kang & McAuley 2018): next-item recommendation by causal self-attention over each
user's item sequence.

Training reads each user's history (`Interactions.histories()`, oldest first) in windows of
`max_len` (`recforge.data.sequences.sequence_chunks`): every column of a window predicts the
item that follows it, so each item but a user's first is a target once per epoch, seen with
the items before it in its window. With `stride` < max_len the windows overlap and only each
window's last `stride` columns are scored, the columns before them read as context: every
target then sees at least max_len - stride earlier items (where the user has them), as in
training on every prefix, at max_len / stride times the work of an epoch. A smaller stride
tends to raise accuracy but multiplies the training time, so the default is no overlap. The
loss is the cross-entropy of the next item over all items (a full softmax, as RecBole's
default) or over sampled negatives (`loss="sampled"`).

Two layouts of the transformer (`norm`, see `recforge.neural.sequence_modules.SASRecNet`):
"pre", the paper's code, the default; "post", BERT's and RecBole's. The two are level at the
default max_len; "pre" stays sound as the window grows, where "post" loses accuracy.

Position embeddings count back from the newest item (`positions_from="newest"`, the default:
the newest item always has the last position) or on from the oldest item of the window
("oldest", RecBole's: the position tells how many items came before); the two are level.

RecBole's whole recipe, `stride=10, dropout=0.5, ffn_dropout=0.0, norm="post",
positions_from="oldest"`, has the best validation figure of these settings and is level with
RecBole's own SASRec on the same split, but it trains markedly longer than the defaults, so it
is not the default. On top of it, a larger `factors` does not improve validation, and neither
does a longer window (a larger max_len and stride) or a smaller stride.

Measured figures (each setting, per seed, with training times): benchmarks/README.md
(sequence).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from recforge._validation import check_choice, check_float, check_int
from recforge.errors import ParameterError
from recforge.models.registry import register
from recforge.models.sequence_base import NextItemRecommender

if TYPE_CHECKING:
    from torch import nn

    from recforge.neural.sequence_modules import SASRecNet

__all__ = ["SASRec"]

NORMS = ("pre", "post")  # the layouts of SASRecNet
POSITIONS_FROM = ("newest", "oldest")  # where SASRecNet's position embeddings start counting


@register
class SASRec(NextItemRecommender):
    """Causal self-attention over the newest `max_len` items of each user.

    factors: d, the item and position embedding size; blocks, heads: transformer layers and
    attention heads (d must divide by heads); dropout: on embeddings, attention and the
    feed-forward layers; ffn_dropout: on the feed-forward's hidden layer (None: `dropout`, as
    torch's layer; 0: none, as RecBole's); stride: 1 … max_len, items between a user's
    training windows (None: max_len, no overlap; see the module docstring); loss: softmax |
    sampled | bpr-max, negatives: items drawn per batch for the last two; norm: post | pre,
    the layer norms' layout; positions_from: newest | oldest, where the position embeddings
    start counting: back from the newest item (which always has the same position) or on from
    the oldest item of the window (RecBole's) (both: see the module docstring).
    """

    name = "sasrec"
    description = "SASRec: causal self-attention over each user's item sequence (Kang 2018)"
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 30, "batch_size": 128, "lr": 1e-3}
    # artifacts saved before `norm` (`positions_from`) existed were trained with the "pre"
    # layout (positions from the newest item), whatever the defaults are now
    legacy_params: ClassVar[dict[str, Any]] = {"norm": "pre", "positions_from": "newest"}

    module_: SASRecNet

    def __init__(
        self,
        *,
        factors: int = 64,
        max_len: int = 50,
        blocks: int = 2,
        heads: int = 2,
        dropout: float = 0.2,
        ffn_dropout: float | None = None,
        stride: int | None = None,
        loss: str = "softmax",
        negatives: int = 256,
        norm: str = "pre",
        positions_from: str = "newest",
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.max_len = max_len
        self.blocks = blocks
        self.heads = heads
        self.dropout = dropout
        self.ffn_dropout = ffn_dropout
        self.stride = stride
        self.loss = loss
        self.negatives = negatives
        self.norm = norm
        self.positions_from = positions_from

    def _validate_model_params(self) -> None:
        self._validate_sequence_params()
        check_int(self.factors, "factors", "SASRec", low=1)
        check_int(self.blocks, "blocks", "SASRec", low=1)
        check_int(self.heads, "heads", "SASRec", low=1)
        check_float(self.dropout, "dropout", "SASRec", low=0.0, high=1.0, high_open=True)
        if self.ffn_dropout is not None:
            check_float(
                self.ffn_dropout, "ffn_dropout", "SASRec", low=0.0, high=1.0, high_open=True
            )
        check_choice(self.norm, "norm", NORMS, "SASRec")
        check_choice(self.positions_from, "positions_from", POSITIONS_FROM, "SASRec")
        if self.stride is not None:
            check_int(self.stride, "stride", "SASRec", low=1, high=int(self.max_len))
        if int(self.factors) % int(self.heads):
            raise ParameterError(
                f"The 'heads' parameter of SASRec must divide factors ({self.factors}). "
                f"Got {self.heads} instead."
            )

    def _window_stride(self) -> int:
        return int(self.max_len) if self.stride is None else int(self.stride)

    def _make_net(self) -> nn.Module:
        from recforge.neural.sequence_modules import SASRecNet

        return SASRecNet(
            self.n_users_, self.n_items_, int(self.factors), int(self.max_len),
            int(self.blocks), int(self.heads), float(self.dropout), str(self.norm),
            str(self.positions_from),
            None if self.ffn_dropout is None else float(self.ffn_dropout),
        )  # fmt: skip
