"""BERT4Rec (Sun et al. 2019): next-item recommendation by a bidirectional transformer trained
to fill in masked items (the cloze task).

Training reads each user's history (`Interactions.histories()`, oldest first) in windows of
`max_len` (`recforge.data.sequences.history_windows`: every item in exactly one window), each
window `copies` times an epoch (the original code's dupe_factor: a window gives few targets, so
one pass over them teaches little). Each copy gives one training row, drawn afresh with the
loop's generator:
- with probability `next_item_ratio`, a next-item row: the window's items up to a random one
  (uniform among them), right-aligned, that newest item masked. This is what prediction asks:
  every item before the MASK visible and nothing after it, at any history length from 0 to
  max_len - 1 (RecBole trains this case as `ft_ratio` on each user's every prefix; masking
  only a whole window's last item would leave the short sessions and short users unseen);
- otherwise a cloze row: every item of the window masked with probability `mask_ratio`, and
  at least one (the item with the smallest draw), so no row is wasted.
Drawn per row rather than RecBole's per batch, so every batch mixes both kinds. A masked item's
code becomes MASK (n_items + 1); the states at the masked positions predict the items there
(`loss`: the full softmax, RecBole's CE, by default).

To recommend, the user's (or session's) newest max_len - 1 items are followed by MASK; the
state there scores every item (`BERT4RecNet.last_state`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from recforge._validation import check_float, check_int
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError
from recforge.models.registry import register
from recforge.models.sequence_base import NextItemRecommender

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.bert4rec_net import BERT4RecNet
    from recforge.neural.loop import Step

__all__ = ["BERT4Rec"]


@register
class BERT4Rec(NextItemRecommender):
    """A bidirectional transformer over the newest `max_len` items of each user, trained to
    fill in masked items.

    factors: d, the item and position embedding size; blocks, heads: transformer layers and
    attention heads (d must divide by heads); inner_size: the feed-forward width; dropout: on
    embeddings, attention and the feed-forward layers; mask_ratio: the chance of each item of a
    cloze window to be masked; next_item_ratio: the share of windows whose only masked item is
    the newest; copies: training rows per window and epoch, each masked afresh; max_len ≥ 2
    (prediction reads max_len - 1 items and the MASK); loss: softmax | sampled | bpr-max,
    negatives: items drawn per batch for the last two. `explain` gives the attention of the
    MASK that predicts the next item on the user's items, in the last block.
    """

    name = "bert4rec"
    description = "BERT4Rec: bidirectional self-attention that fills in masked items (Sun 2019)"
    # A window gives fewer targets than SASRec's (max_len - 1): next_item_ratio · 1 +
    # (1 - next_item_ratio) · mask_ratio · max_len, 5.5 by default; hence several copies a
    # window. copies = 10 (the original code's dupe_factor) was chosen on validation among 5,
    # 10 and 20 (bench_sequence.py --tune bert4rec; figures in benchmarks/README.md).
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 40, "batch_size": 128, "lr": 1e-3}

    module_: BERT4RecNet

    def __init__(
        self,
        *,
        factors: int = 64,
        max_len: int = 50,
        blocks: int = 2,
        heads: int = 2,
        inner_size: int = 256,
        dropout: float = 0.2,
        mask_ratio: float = 0.2,
        next_item_ratio: float = 0.5,
        copies: int = 10,
        loss: str = "softmax",
        negatives: int = 256,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.max_len = max_len
        self.blocks = blocks
        self.heads = heads
        self.inner_size = inner_size
        self.dropout = dropout
        self.mask_ratio = mask_ratio
        self.next_item_ratio = next_item_ratio
        self.copies = copies
        self.loss = loss
        self.negatives = negatives

    def _validate_model_params(self) -> None:
        self._validate_sequence_params()
        check_int(self.max_len, "max_len", "BERT4Rec", low=2)
        check_int(self.factors, "factors", "BERT4Rec", low=1)
        check_int(self.blocks, "blocks", "BERT4Rec", low=1)
        check_int(self.heads, "heads", "BERT4Rec", low=1)
        check_int(self.inner_size, "inner_size", "BERT4Rec", low=1)
        check_float(self.dropout, "dropout", "BERT4Rec", low=0.0, high=1.0, high_open=True)
        check_float(self.mask_ratio, "mask_ratio", "BERT4Rec", low=0.0, high=1.0, low_open=True)
        check_float(self.next_item_ratio, "next_item_ratio", "BERT4Rec", low=0.0, high=1.0)
        check_int(self.copies, "copies", "BERT4Rec", low=1)
        if int(self.factors) % int(self.heads):
            raise ParameterError(
                f"The 'heads' parameter of BERT4Rec must divide factors ({self.factors}). "
                f"Got {self.heads} instead."
            )

    def _make_net(self) -> nn.Module:
        from recforge.neural.bert4rec_net import BERT4RecNet

        return BERT4RecNet(
            self.n_users_, self.n_items_, int(self.factors), int(self.max_len),
            int(self.blocks), int(self.heads), int(self.inner_size), float(self.dropout),
        )  # fmt: skip

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        import torch

        from recforge.data.sequences import history_windows

        windows = torch.from_numpy(history_windows(train.histories(), int(self.max_len)))
        return (windows.repeat(int(self.copies), 1),)  # [copies · N, max_len]

    def _batch_loss(
        self, module: BERT4RecNet, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        inputs, masked = self._cloze(batch[0], step)
        states = module(inputs.masked_fill(masked, module.mask_code))
        return self._next_item_loss(module, states[masked], inputs[masked] - 1, step)

    def _cloze(self, windows: torch.Tensor, step: Step) -> tuple[torch.Tensor, torch.Tensor]:
        """The training rows of windows [B, L] (right-aligned codes, none empty): (inputs
        int64 [B, L], the window or a prefix of it; masked bool [B, L], the positions to
        replace by MASK and predict), drawn with the loop's generator (see the module
        docstring)."""
        import torch

        B, L = windows.shape
        rows = torch.arange(B, device=windows.device)
        columns = torch.arange(L, device=windows.device)
        real = windows > 0
        draws = torch.rand(B, L, generator=step.generator, device=windows.device)
        # the real position with the smallest draw: uniform among them
        chosen = draws.masked_fill(~real, 2.0).argmin(dim=1)
        cloze = real & (draws < float(self.mask_ratio))
        cloze[rows, chosen] = True  # masked whenever any is: at least one per window
        # next-item rows: the window up to the chosen position, shifted right, newest masked
        source = columns[None, :] - (L - 1 - chosen)[:, None]
        prefix = windows.gather(1, source.clamp(min=0)).masked_fill(source < 0, 0)
        newest = (columns == L - 1).expand(B, L)
        next_item = torch.rand(B, generator=step.generator, device=windows.device)
        next_item = (next_item < float(self.next_item_ratio))[:, None]
        return torch.where(next_item, prefix, windows), torch.where(next_item, newest, cloze)
