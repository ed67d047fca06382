"""LightGCN (He et al. 2020): embeddings smoothed over the user-item graph, trained with BPR.

Each batch propagates the ego embeddings E⁰ through `layers` multiplications by the normalised
adjacency D^-1/2 A D^-1/2 (recforge.neural.graph) and averages E⁰ … E^K; a user's score for an
item is the dot product of their final embeddings. The loss is BPR against uniformly sampled
unseen items plus an L2 penalty on the ego embeddings of the batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_float, check_int
from recforge.data.interactions import Interactions
from recforge.models.factors import cosine_rows
from recforge.models.neural_base import NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.graph import LightGCNEncoder
    from recforge.neural.loop import Step

__all__ = ["LightGCN"]


@register
class LightGCN(NeuralRecommender):
    """score(u, i) = e_uᵀe_i for the final (layer-averaged) embeddings.

    factors: d; layers: propagation steps K (0 is plain BPR-MF); reg: L2 on the ego embeddings
    of each batch's users, positives and negatives (the mean squared norm of each, summed);
    negatives: uniformly sampled unseen items per positive.

    The normalised adjacency is built from the training interactions at fit and again from
    `seen_` at load, so it is never saved. Scoring propagates once and caches the final
    embeddings until the weights change (see LightGCNEncoder.final_embeddings).
    """

    module_: LightGCNEncoder

    name = "lightgcn"
    description = "LightGCN: embeddings propagated over the normalised user-item graph, BPR loss"
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 80, "batch_size": 4096, "lr": 1e-2}

    def __init__(
        self,
        *,
        factors: int = 64,
        layers: int = 3,
        reg: float = 1e-4,
        negatives: int = 1,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.layers = layers
        self.reg = reg
        self.negatives = negatives

    def _validate_model_params(self) -> None:
        check_int(self.factors, "factors", "LightGCN", low=1)
        check_int(self.layers, "layers", "LightGCN", low=0)
        check_float(self.reg, "reg", "LightGCN", low=0.0)
        check_int(self.negatives, "negatives", "LightGCN", low=1)

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.graph import LightGCNEncoder, normalized_adjacency, sparse_tensor

        adjacency = sparse_tensor(normalized_adjacency(self.seen_))
        return LightGCNEncoder(
            self.n_users_, self.n_items_, int(self.factors), int(self.layers), adjacency
        )

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        import torch

        from recforge.neural.sampling import NegativeSampler

        users, items, _ = train.coo()
        self._sampler = NegativeSampler(self.seen_, self._device, "uniform")
        return torch.from_numpy(users.astype(np.int64)), torch.from_numpy(items.astype(np.int64))

    def _batch_loss(
        self, module: LightGCNEncoder, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        from recforge.neural import losses

        users, items = batch
        negatives = self._sampler.sample(users, int(self.negatives), step.generator)  # [B, N]
        final_users, final_items = module.propagate()
        u = final_users[users]  # [B, d]
        pos = (u * final_items[items]).sum(-1)  # [B]
        neg = (u[:, None, :] * final_items[negatives]).sum(-1)  # [B, N]
        ego = (
            module.user_embedding(users),
            module.item_embedding(items),
            module.item_embedding(negatives),
        )
        penalty = sum(e.float().pow(2).sum(-1).mean() for e in ego)
        return losses.bpr_loss(pos, neg) + float(self.reg) * penalty

    def _score_batch(
        self, module: LightGCNEncoder, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        final_users, final_items = module.final_embeddings()
        q = final_items if items is None else final_items[items]
        return final_users[users] @ q.T

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the final item embeddings."""
        _, final_items = self.module_.final_embeddings()
        return cosine_rows(final_items.cpu().numpy(), items)

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, d], items float32 [n_items, d]): the final embeddings,
        whose inner products are the scores, for an ANN index (recforge.retrieval)."""
        self._check_fitted("retrieval_vectors")
        _, final_items = self.module_.final_embeddings()
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, np.array(final_items.float().cpu().numpy(), dtype=np.float32)

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, d]: rows `users` [B] of `retrieval_vectors()[0]`."""
        import torch

        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        final_users, _ = self.module_.final_embeddings()
        rows = final_users[torch.as_tensor(u, device=final_users.device)]
        return np.array(rows.float().cpu().numpy(), dtype=np.float32)
