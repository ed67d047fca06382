"""`SequenceRecommender`: what every next-item model (SASRec, GRU4Rec, Caser, BERT4Rec) shares.

Such a model reads each user's items in time order (`Interactions.histories()`) and turns the
newest `max_len` of them into a state [d]; an item's score is the state · the item's output
vector. Its torch module (a `SequenceNet`) keeps each training user's newest items in a
`history` buffer [n_users, max_len] (saved with the weights), so a known user continues from
their stored sequence and a new session (`recommend_for_history`) from its own items in the
order given.

The next-item loss is shared: `loss="softmax"` is the cross-entropy over all items (RecBole's
default), `"sampled"` the softmax over the target and `negatives` items drawn uniformly per
batch (for large catalogues), `"bpr-max"` GRU4Rec's ranking loss over the same negatives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from recforge._validation import check_choice, check_int
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.neural_base import NeuralRecommender

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.data.interactions import Histories
    from recforge.neural.loop import Step

__all__ = ["LOSSES", "NextItemRecommender", "SequenceNet", "SequenceRecommender"]

LOSSES = ("softmax", "sampled", "bpr-max")
STATE_CHUNK = 4096  # users whose states one forward pass computes, for retrieval vectors
SESSION_CELLS = 2**17  # sequence positions one forward pass over new sessions reads


class SequenceNet(Protocol):
    """The torch module of a sequence model (an nn.Module).

    history: int64 buffer [n_users, max_len], each user's newest training items as codes
    (index + 1, 0 = padding, right-aligned; see `recforge.data.sequences`).
    bias_column: True when the last column of the item vectors is a per-item bias (the states
    end in a constant 1); similar items then compare the vectors without it.
    """

    history: torch.Tensor
    bias_column: bool

    def last_state(self, seq: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """The state [B, d] after each sequence's newest item, for sequences [B, max_len] of
        `users` [B] (None: anonymous sessions)."""
        ...

    def item_vectors(self, items: torch.Tensor | None) -> torch.Tensor:
        """Output vectors [M, d] of item indices [M] (None: all n_items)."""
        ...


class SequenceRecommender(NeuralRecommender):
    """Base of the next-item models: timestamps required, history buffer, scoring, loss.

    Subclasses set `max_len`, `loss` and `negatives` in __init__ and write `_make_net()`.
    The training examples by default are windows read sequence-to-sequence (the net's
    forward(seq) gives states [B, L, d], each column predicting the next item: SASRec,
    GRU4Rec); models that predict one target from the items before it use
    `_target_examples`, others write their own `_examples` / `_batch_loss`.
    """

    supports_history = True
    _histories: Histories  # the training histories, while fitting
    max_len: int
    loss: str
    negatives: int

    def _validate_sequence_params(self) -> None:
        owner = type(self).__name__
        check_int(self.max_len, "max_len", owner, low=1)
        check_choice(self.loss, "loss", LOSSES, owner)
        check_int(self.negatives, "negatives", owner, low=1)

    def _check_training_data(self, train: Interactions) -> None:
        if train.timestamps is None:
            raise DataError(
                f"{type(self).__name__} reads each user's items in time order, but these "
                "interactions have no timestamps; load them with a timestamp column"
            )
        if train.nnz and np.diff(train.matrix.indptr).max() < 2:
            raise DataError(
                f"{type(self).__name__} learns which item follows which, but no user (or "
                "session) has two or more interactions; give it longer histories"
            )

    # ------------------------------------------------------------------ module
    def _make_net(self) -> nn.Module:
        """The untrained SequenceNet (its history buffer all padding)."""
        raise NotImplementedError

    def _build_module(self, train: Interactions | None) -> nn.Module:
        import torch

        from recforge.data.sequences import last_items

        net = self._make_net()
        if train is not None:  # a saved model's history comes with its state
            recent = last_items(train.histories(), np.arange(self.n_users_), int(self.max_len))
            history: torch.Tensor = net.history  # type: ignore[assignment]
            history.copy_(torch.from_numpy(recent))
        return net

    # ------------------------------------------------------------------ training
    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        try:
            super()._fit(train, valid)
        finally:  # the windows are cut from them while training only
            self.__dict__.pop("_histories", None)

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        """Windows (ends [N], starts [N], flat positions) that make every item but a user's
        first the target of exactly one scored window column (`sequence_chunks`)."""
        import torch

        from recforge.data.sequences import sequence_chunks

        self._histories = train.histories()
        ends, starts = sequence_chunks(self._histories, int(self.max_len), self._window_stride())
        return torch.from_numpy(ends), torch.from_numpy(starts)

    def _window_stride(self) -> int:
        """Items between consecutive training windows of a user, and the columns of each
        window that are scored (the rest is context): max_len, windows side by side, unless a
        model overlaps them (SASRec's `stride`)."""
        return int(self.max_len)

    def _batch_loss(self, module: Any, batch: tuple[torch.Tensor, ...], step: Step) -> torch.Tensor:
        """Every non-padding column of a batch of windows predicts the item after it."""
        import torch

        from recforge.data.sequences import shifted_windows

        ends, starts = (t.cpu().numpy() for t in batch)
        length = int(self.max_len)
        inputs, targets = shifted_windows(
            self._histories, ends, starts, length, scored=self._window_stride()
        )
        device = batch[0].device
        states = module(torch.from_numpy(inputs).to(device))  # [B, L, d]
        y = torch.from_numpy(targets).to(device)
        scored = y > 0
        return self._next_item_loss(module, states[scored], y[scored] - 1, step)

    def _target_examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        """(flat positions [N] in train.histories() of every item with at least one earlier
        item of its user, those users [N]): one target each, its window cut per batch with
        `next_item_windows`."""
        import torch

        from recforge.data.sequences import next_item_positions

        self._histories = train.histories()
        positions = next_item_positions(self._histories)
        users = np.searchsorted(self._histories.indptr, positions, side="right") - 1
        return torch.from_numpy(positions), torch.from_numpy(users.astype(np.int64))

    def _next_item_loss(
        self, module: Any, states: torch.Tensor, targets: torch.Tensor, step: Step
    ) -> torch.Tensor:
        """The mean loss of predicting item indices `targets` [N] from `states` [N, d]."""
        import torch

        from recforge.neural.losses import bpr_max_loss, full_softmax_loss, softmax_over_negatives

        if self.loss == "softmax":
            return full_softmax_loss(states @ module.item_vectors(None).T, targets)
        negatives = torch.randint(
            self.n_items_, (int(self.negatives),), generator=step.generator,
            device=states.device,
        )  # fmt: skip
        positive = (states * module.item_vectors(targets)).sum(dim=-1)
        negative = states @ module.item_vectors(negatives).T
        # a draw of the target itself is no negative
        negative = negative.masked_fill(
            negatives[None, :] == targets[:, None], torch.finfo(negative.dtype).min
        )
        if self.loss == "sampled":
            return softmax_over_negatives(positive, negative)
        return bpr_max_loss(positive, negative)

    # ------------------------------------------------------------------ inference
    def _score_batch(
        self, module: Any, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        return module.last_state(module.history[users], users) @ module.item_vectors(items).T

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the items' output vectors, a bias column left out (an item's
        popularity says nothing of what it is like)."""
        import torch

        from recforge.models.factors import cosine_rows

        every = torch.arange(self.n_items_, device=self.device_)
        vectors = self._inference(lambda m: m.item_vectors(every))
        if self.module_.bias_column:
            vectors = vectors[:, :-1]
        return cosine_rows(vectors, items)

    def _explain_weights(self, user: int, item: int, history: np.ndarray) -> tuple[np.ndarray, str]:
        """With an attention net (`attention(seq) -> [B, L]`): the weight with which the
        user's state attends to each of their stored newest items ("attention"; the same for
        every candidate, −inf for items older than the window); else item similarities."""
        if not hasattr(self.module_, "attention"):
            return super()._explain_weights(user, item, history)
        stored: torch.Tensor = self.module_.history  # type: ignore[assignment]
        seq = stored[user : user + 1]
        weights = self._inference(lambda m: m.attention(seq))[0]
        codes = seq[0].cpu().numpy()
        by_item = np.full(self.n_items_, -np.inf, dtype=np.float32)
        real = codes > 0
        by_item[codes[real] - 1] = weights[real]
        return by_item[history], "attention"

    def _session_codes(self, sequences: list[np.ndarray]) -> np.ndarray:
        """int64 [B, max_len]: the newest `max_len` items of each of B sessions as codes,
        right-aligned."""
        length = int(self.max_len)
        codes = np.zeros((len(sequences), length), dtype=np.int64)
        for row, sequence in enumerate(sequences):
            newest = sequence[-length:].astype(np.int64) + 1
            codes[row, length - newest.size :] = newest
        return codes

    def _sequence_scores(self, sequence: np.ndarray) -> np.ndarray:
        """The scores [n_items] after the session's newest `max_len` items, in order."""
        return self._sequences_scores([sequence])[0]

    def _sequences_scores(self, sequences: list[np.ndarray]) -> np.ndarray:
        """The scores [B, n_items] after each session's newest `max_len` items, in forward
        passes over SESSION_CELLS // max_len sessions (their activations stay bounded)."""
        import torch

        step = max(1, SESSION_CELLS // int(self.max_len))
        parts = []
        for start in range(0, len(sequences), step):
            codes = self._session_codes(sequences[start : start + step])
            seq = torch.as_tensor(codes, device=self.device_)
            parts.append(self._inference(lambda m, s=seq: self._codes_scores(m, s)))
        return np.concatenate(parts)

    def _codes_scores(self, module: Any, seq: torch.Tensor) -> torch.Tensor:
        """Scores [B, n_items] of anonymous sessions given as codes [B, max_len]."""
        return module.last_state(seq, None) @ module.item_vectors(None).T


class NextItemRecommender(SequenceRecommender):
    """A sequence model whose score is exactly the state · the item's output vector (SASRec,
    GRU4Rec, Caser, BERT4Rec; not DIN, whose state depends on the candidate), so its known
    users and its items are vectors an ANN index can serve (recforge.retrieval)."""

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, d], items float32 [n_items, d]): each user's state after
        their stored sequence, and the output vectors; U[u] @ V.T == score(u)."""
        self._check_fitted("retrieval_vectors")
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, self._inference(lambda m: m.item_vectors(None))

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, d]: rows `users` [B] of `retrieval_vectors()[0]` (the net run over the
        stored sequences, STATE_CHUNK users at a time)."""
        import torch

        self._check_fitted("retrieval_user_vectors")
        u = torch.as_tensor(self._as_users(users, "retrieval_user_vectors"), device=self.device_)
        parts = [
            self._inference(lambda m, c=u[s : s + STATE_CHUNK]: m.last_state(m.history[c], c))
            for s in range(0, int(u.numel()), STATE_CHUNK)
        ]
        if not parts:
            width = self._inference(lambda m: m.item_vectors(None)).shape[1]
            return np.zeros((0, width), dtype=np.float32)
        return np.concatenate(parts)
