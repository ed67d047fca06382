"""A two-tower retrieval model in the style of YouTube DNN (Covington et al. 2016), trained with
an in-batch or sampled softmax with the logQ correction (Yi et al. 2019).

User tower: the user id embedding, the mean of the id embeddings of the user's `history_len` most
recent training items (the item tower's own table: see recforge.neural.towers) and the user
features when given → MLP → a unit vector. Item tower: the item id embedding and the item
features when given → MLP → a unit vector. score(u, i) is the cosine of the two, so
`user_embeddings(u) @ item_embeddings().T` reproduces `score` and feeds an ANN index.

Leakage: for a training example (u, i), u's pooled history leaves i out (the stored history is
masked where it holds i), so the tower never sees the answer among its inputs. Scoring a known
user pools their whole stored history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_choice, check_float, check_int
from recforge.data.interactions import Interactions
from recforge.models.neural_base import NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.loop import Step
    from recforge.neural.towers import TwoTowerNet

__all__ = ["TwoTower"]


@register
class TwoTower(NeuralRecommender):
    """Two towers scored by the cosine of their unit outputs.

    factors: d, the size of every field embedding and of the towers' outputs; hidden,
    hidden_layers: width and number of the ReLU layers of each tower's MLP (0: one linear map);
    temperature: the softmax's τ (logits = cosine / τ); loss: "in_batch" (each positive against
    the batch's other positives) or "sampled" (plus `negatives` items per batch drawn by
    `sampler`, uniform or popularity^0.75); history_len: the recent items pooled per user.

    The logQ correction subtracts from each candidate's logit the log of its expected count
    among a batch's candidates, B·f_i + S·q_i (f_i: the item's share of the training
    interactions, q_i: its sampler probability, S = negatives; S = 0 for in_batch).

    A new user (`recommend_for_history`) goes through the user tower with zero vectors for the
    user id and features and the mean embedding of all the given items. cold_dropout: the
    probability that a training example's user fields are zeroed the same way, so the tower
    also learns to serve from the history alone.
    """

    module_: TwoTowerNet

    name = "twotower"
    description = "two-tower retrieval (YouTube DNN style): user and item MLP towers, softmax loss"
    accepts_side_features = True
    supports_history = True
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 20, "batch_size": 1024, "lr": 2e-3}
    _learned = ("user_fields_", "item_fields_")

    user_fields_: str  # the FieldSpecs of the user and item fields, as JSON
    item_fields_: str

    def __init__(
        self,
        *,
        factors: int = 64,
        hidden: int = 128,
        hidden_layers: int = 1,
        temperature: float = 0.05,
        loss: str = "in_batch",
        negatives: int = 256,
        sampler: str = "popularity",
        history_len: int = 50,
        cold_dropout: float = 0.1,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.hidden = hidden
        self.hidden_layers = hidden_layers
        self.temperature = temperature
        self.loss = loss
        self.negatives = negatives
        self.sampler = sampler
        self.history_len = history_len
        self.cold_dropout = cold_dropout

    def _validate_model_params(self) -> None:
        check_int(self.factors, "factors", "TwoTower", low=1)
        check_int(self.hidden, "hidden", "TwoTower", low=1)
        check_int(self.hidden_layers, "hidden_layers", "TwoTower", low=0)
        check_float(self.temperature, "temperature", "TwoTower", low=0.0, low_open=True)
        check_choice(self.loss, "loss", ("in_batch", "sampled"), "TwoTower")
        check_int(self.negatives, "negatives", "TwoTower", low=1)
        check_choice(self.sampler, "sampler", ("uniform", "popularity"), "TwoTower")
        check_int(self.history_len, "history_len", "TwoTower", low=1)
        check_float(self.cold_dropout, "cold_dropout", "TwoTower", low=0.0, high=1.0)

    # ------------------------------------------------------------------ training
    def _build_module(self, train: Interactions | None) -> nn.Module:
        import torch

        from recforge.neural.fields import EntityFields, specs_from_json, specs_to_json
        from recforge.neural.towers import TwoTowerNet, recent_items

        d = int(self.factors)
        if train is None:  # a saved model: the buffers come from its state
            users = EntityFields(self.n_users_, specs_from_json(self.user_fields_), d)
            items = EntityFields(self.n_items_, specs_from_json(self.item_fields_), d)
        else:
            users = EntityFields.from_table(self.n_users_, self._user_features, d)
            items = EntityFields.from_table(self.n_items_, self._item_features, d)
            self.user_fields_ = specs_to_json(users.specs)
            self.item_fields_ = specs_to_json(items.specs)
        net = TwoTowerNet(
            self.n_users_,
            users,
            items,
            int(self.history_len),
            int(self.hidden),
            int(self.hidden_layers),
            d,
        )
        if train is not None:
            net.history.copy_(torch.from_numpy(recent_items(train, int(self.history_len))))
        return net

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        import torch

        from recforge.neural.sampling import NegativeSampler

        users, items, _ = train.coo()
        counts = np.bincount(items, minlength=self.n_items_).astype(np.float64)
        frequency = torch.from_numpy((counts / counts.sum()).astype(np.float32))
        self._frequency = frequency.to(self._device)
        if self.loss == "sampled":
            self._sampler = NegativeSampler(self.seen_, self._device, self.sampler)
            self._draw_probability = self._sampler.log_q.exp()
        return torch.from_numpy(users.astype(np.int64)), torch.from_numpy(items.astype(np.int64))

    def _batch_loss(
        self, module: TwoTowerNet, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        import torch

        from recforge.neural import losses

        users, items = batch
        cold = None
        if self.cold_dropout > 0:
            draws = torch.rand(users.shape, generator=step.generator, device=users.device)
            cold = draws < float(self.cold_dropout)
        queries = module.users(users, exclude=items, cold=cold)  # [B, d]
        expected = items.numel() * self._frequency
        ids = items
        if self.loss == "sampled":
            extra = self._sampler.draw(int(self.negatives), step.generator)
            ids = torch.cat([items, extra])
            expected = expected + int(self.negatives) * self._draw_probability
        log_q = torch.log(expected[ids].clamp(min=1e-12))
        candidates = module.items(ids)  # [C, d]
        return losses.sampled_softmax_loss(
            queries, candidates, log_q, items, ids, temperature=float(self.temperature)
        )

    # ------------------------------------------------------------------ inference
    def _score_batch(
        self, module: TwoTowerNet, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        return module.users(users) @ module.items(items).T

    def item_embeddings(self) -> np.ndarray:
        """float32 [n_items, d]: the unit outputs of the item tower (an ANN index's vectors)."""
        self._check_fitted("item_embeddings")
        return self._inference(lambda m: m.items(None))

    def user_embeddings(self, users: Any) -> np.ndarray:
        """float32 [B, d]: the unit outputs of the user tower for user indices [B]; their dot
        products with `item_embeddings()` are the scores."""
        import torch

        self._check_fitted("user_embeddings")
        u = self._as_users(users, "user_embeddings")
        return self._inference(lambda m: m.users(torch.as_tensor(u, device=self.device_)))

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """The cosine of the new user's tower output (zero id and feature vectors, the mean
        embedding of all the given items) with every item's."""
        import torch

        rows = torch.as_tensor(history.astype(np.int64) + 1, device=self.device_)[None, :]
        return self._inference(lambda m: m.new_users(rows) @ m.items(None).T)[0]

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the item tower outputs."""
        vectors = self.item_embeddings()
        return vectors[items] @ vectors.T

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, d], items float32 [n_items, d]): the towers' unit outputs,
        whose inner products are the scores, for an ANN index (recforge.retrieval)."""
        self._check_fitted("retrieval_vectors")
        return self.retrieval_user_vectors(np.arange(self.n_users_)), self.item_embeddings()

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, d]: rows `users` [B] of `retrieval_vectors()[0]` (the user tower, run in
        chunks)."""
        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        chunk = 1 << 14
        parts = [self.user_embeddings(u[s : s + chunk]) for s in range(0, u.size, chunk)]
        if not parts:
            return np.zeros((0, int(self.factors)), dtype=np.float32)
        return np.concatenate(parts)
