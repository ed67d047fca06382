"""Caser (Tang & Wang 2018, "Personalized Top-N Sequential Recommendation via Convolutional
Sequence Embedding"): next-item recommendation by convolutions over the newest items.

The newest `max_len` = L items form an L × d image; horizontal filters (heights 1 … L) find
union-level and point-level sequential patterns wherever they occur, vertical filters weigh
the L positions; a fully connected layer sums them up to z, and the state [z ; P_u] adds the
user's general taste. See `recforge.neural.caser_net.CaserNet` (and how an anonymous session
stands in for P_u there).

Training: every item preceded by at least one item of its user is a target, read with the up
to L items before it and the user (`next_item_positions`, `next_item_windows`; the windows are
cut per batch, only the positions are stored). One target per window (T = 1, as RecBole; the
paper predicts T = 3 next items at once), with the shared next-item loss (softmax | sampled |
bpr-max), plus reg × Σ‖W‖ over the weight matrices (RecBole's reg_weight penalty).

An anonymous session (`recommend_for_history`) has no P_u of its own: with `fold_in` > 0 its P
is fitted to the session's own transitions (MAP under a Gaussian prior from the trained users,
`recforge.neural.fold_in`), else it is the users' mean. The fold-in brings a session's
recommendations close to those of the same model continuing a stored user, well above the
users' mean (the form of the prior was chosen on the validation items, not on the test items),
but it makes recommend_for_history several times slower: set fold_in=0 where latency matters
more. Measured figures: benchmarks/README.md (sequence: the sessions and latency tables).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_float, check_int
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError
from recforge.models.registry import register
from recforge.models.sequence_base import NextItemRecommender

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.caser_net import CaserNet
    from recforge.neural.loop import Step

__all__ = ["Caser"]

# the fold-in holds a few [transitions, n_items] arrays: at most this many cells each (64 MiB
# of float32), so a long session over a large catalogue reads only its newest transitions
FOLD_IN_CELLS = 1 << 24


@register
class Caser(NextItemRecommender):
    """Horizontal and vertical convolutions over the newest `max_len` items, plus the user.

    factors: d, the item and user embedding size; max_len: L, the items read (RecBole asks
    for a small one, "such as 10"; the paper uses 5); vertical, horizontal: the numbers of
    L × 1 filters and of h × d filters per height h (one of them may be 0, not both);
    dropout: on the convolutions' output; reg: weight of Σ‖W‖ over the weight matrices;
    loss: softmax | sampled | bpr-max, negatives: items drawn per batch for the last two;
    fold_in: Newton steps fitting an anonymous session's user vector (0: the users' mean;
    it stops sooner once converged). Defaults are RecBole's (embedding_size 64, nv 4, nh 8,
    dropout_prob 0.4, reg_weight 1e-4, CE loss); epochs, batch_size and lr are those of the
    authors' code (50, 512, 1e-3).
    """

    name = "caser"
    description = "Caser: convolutional embedding of each user's recent items (Tang 2018)"
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 50, "batch_size": 512, "lr": 1e-3}

    module_: CaserNet

    def __init__(
        self,
        *,
        factors: int = 64,
        max_len: int = 10,
        vertical: int = 4,
        horizontal: int = 8,
        dropout: float = 0.4,
        reg: float = 1e-4,
        loss: str = "softmax",
        negatives: int = 256,
        fold_in: int = 10,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.max_len = max_len
        self.vertical = vertical
        self.horizontal = horizontal
        self.dropout = dropout
        self.reg = reg
        self.loss = loss
        self.negatives = negatives
        self.fold_in = fold_in

    def _validate_model_params(self) -> None:
        self._validate_sequence_params()
        check_int(self.factors, "factors", "Caser", low=1)
        check_int(self.vertical, "vertical", "Caser", low=0)
        check_int(self.horizontal, "horizontal", "Caser", low=0)
        check_float(self.dropout, "dropout", "Caser", low=0.0, high=1.0, high_open=True)
        check_float(self.reg, "reg", "Caser", low=0.0)
        check_int(self.fold_in, "fold_in", "Caser", low=0)
        if int(self.vertical) == 0 and int(self.horizontal) == 0:
            raise ParameterError(
                "The 'horizontal' parameter of Caser must be an int ≥ 1 when vertical is 0 "
                "(Caser needs some filters). Got 0 instead."
            )

    def _make_net(self) -> nn.Module:
        from recforge.neural.caser_net import CaserNet

        return CaserNet(
            self.n_users_, self.n_items_, int(self.factors), int(self.max_len),
            int(self.vertical), int(self.horizontal), float(self.dropout),
        )  # fmt: skip

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        """(flat positions [N] of the targets in train.histories(), their users [N])."""
        return self._target_examples(train)

    def _batch_loss(
        self, module: CaserNet, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        import torch

        from recforge.data.sequences import next_item_windows

        positions, users = batch
        inputs, targets = next_item_windows(
            self._histories, positions.cpu().numpy(), int(self.max_len)
        )
        device = positions.device
        states = module.last_state(torch.from_numpy(inputs).to(device), users)
        loss = self._next_item_loss(module, states, torch.from_numpy(targets).to(device), step)
        if self.reg:
            loss = loss + float(self.reg) * module.weight_norms()
        return loss

    def _sequences_scores(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Scores [B, n_items]: each session fits its own user vector, so one at a time."""
        return np.stack([self._sequence_scores(s) for s in sequences])

    def _sequence_scores(self, sequence: np.ndarray) -> np.ndarray:
        """Scores [n_items] after the session's newest `max_len` items, its user vector
        fitted to the session's transitions (see the module docstring): all of them, or the
        newest FOLD_IN_CELLS // n_items where a long session meets a large catalogue."""
        import torch

        from recforge.data.interactions import Histories
        from recforge.data.sequences import next_item_positions, next_item_windows

        items = np.asarray(sequence, dtype=np.int64)
        session = Histories(np.array([0, items.size], dtype=np.int64), items, None)
        newest = next_item_positions(session)[-max(1, FOLD_IN_CELLS // int(self.n_items_)) :]
        windows, targets = next_item_windows(session, newest, int(self.max_len))
        device = self.device_
        seq = torch.as_tensor(self._session_codes([items]), device=device)
        inputs = torch.as_tensor(windows, device=device)
        y = torch.as_tensor(targets, device=device)
        steps = int(self.fold_in)
        return self._inference(
            lambda m: m.session_state(seq, inputs, y, steps) @ m.item_vectors(None).T
        )[0]
