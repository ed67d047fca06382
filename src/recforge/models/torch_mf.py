"""Dot-product matrix factorisation trained by the shared torch loop with any ranking loss.

loss="bpr" is BPR-MF (Rendle et al. 2009) on the GPU-ready path; "bce" is pointwise logistic
MF with sampled negatives; "sampled_softmax" scores each positive against the batch's other
positives plus sampled items, with the logQ correction; "softmax" uses the whole catalogue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_choice, check_float, check_int
from recforge.data.interactions import Interactions
from recforge.models.factors import cosine_rows
from recforge.models.neural_base import NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.loop import Step
    from recforge.neural.modules import DotProduct

__all__ = ["TorchMF"]

LOSSES = ("bpr", "bce", "sampled_softmax", "softmax")


@register
class TorchMF(NeuralRecommender):
    module_: DotProduct

    """score(u, i) = p_uᵀq_i + b_i, embeddings learned by the shared loop.

    factors: d; loss: bpr | bce | sampled_softmax | softmax; negatives: sampled items per
    positive (bpr, bce) or per batch (sampled_softmax); sampler: uniform | popularity (both
    skip the user's positives); reg: L2 on the embeddings of each batch.
    """

    name = "torchmf"
    description = "matrix factorisation in PyTorch with a BPR, BCE or (sampled) softmax loss"
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": 40,
        "batch_size": 2048,
        "lr": 0.005,
        "patience": 10,  # BPR's validation NDCG is noisy from epoch to epoch
    }

    def __init__(
        self,
        *,
        factors: int = 64,
        loss: str = "bpr",
        negatives: int = 1,
        sampler: str = "uniform",
        reg: float = 1e-4,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.loss = loss
        self.negatives = negatives
        self.sampler = sampler
        self.reg = reg

    def _validate_model_params(self) -> None:
        check_int(self.factors, "factors", "TorchMF", low=1)
        check_choice(self.loss, "loss", LOSSES, "TorchMF")
        check_int(self.negatives, "negatives", "TorchMF", low=1)
        check_choice(self.sampler, "sampler", ("uniform", "popularity"), "TorchMF")
        check_float(self.reg, "reg", "TorchMF", low=0.0)

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.modules import DotProduct

        return DotProduct(self.n_users_, self.n_items_, int(self.factors))

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        import torch

        from recforge.neural.sampling import NegativeSampler

        users, items, _ = train.coo()
        if self.loss != "softmax":
            self._sampler = NegativeSampler(self.seen_, self._device, self.sampler)
        return torch.from_numpy(users.astype(np.int64)), torch.from_numpy(items.astype(np.int64))

    def _batch_loss(
        self, module: DotProduct, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        import torch

        from recforge.neural import losses

        users, items = batch
        p = module.user_embedding(users)
        if self.loss == "softmax":
            logits = module.scores(users, None)
            return losses.full_softmax_loss(logits, items) + self._penalty(p, module.items(items))
        if self.loss == "sampled_softmax":
            extra = self._sampler.draw(int(self.negatives), step.generator)
            ids = torch.cat([items, extra])
            q = module.item_embedding(ids)
            # the bias joins the dot product: [p, 1]·[q, b] = pᵀq + b
            queries = torch.cat([p, torch.ones_like(p[:, :1])], dim=1)
            cand = torch.cat([q, module.item_bias(ids)], dim=1)
            log_q = self._in_batch_log_q(ids, items.numel())
            return losses.sampled_softmax_loss(queries, cand, log_q, items, ids) + self._penalty(
                p, q
            )
        negatives = self._sampler.sample(users, int(self.negatives), step.generator)
        # one lookup per table: positives and negatives together, [B, 1 + N]
        candidates = torch.cat([items[:, None], negatives], dim=1)
        q = module.item_embedding(candidates)
        scores = (p[:, None, :] * q).sum(-1) + module.item_bias(candidates).squeeze(-1)
        pos, neg = scores[:, 0], scores[:, 1:]
        penalty = self._penalty(p, q[:, 0], q[:, 1:])
        if self.loss == "bpr":
            return losses.bpr_loss(pos, neg) + penalty
        return losses.bce_with_negatives(pos, neg) + penalty

    def _in_batch_log_q(self, ids: torch.Tensor, n_positive: int) -> torch.Tensor:
        """log q of each candidate: positives are drawn as often as they occur in the data,
        sampled extras by the sampler's distribution."""
        import torch

        if not hasattr(self, "_log_frequency"):
            counts = np.bincount(self.seen_.indices, minlength=self.n_items_).astype(np.float64)
            freq = np.maximum(counts, 1.0) / counts.sum()
            self._log_frequency = torch.from_numpy(np.log(freq).astype(np.float32)).to(ids.device)
        return torch.cat(
            [self._log_frequency[ids[:n_positive]], self._sampler.log_q[ids[n_positive:]]]
        )

    def _penalty(self, *embeddings: torch.Tensor) -> torch.Tensor:
        """reg × the mean squared norm of each embedding batch, summed."""
        total = embeddings[0].float().pow(2).sum(-1).mean()
        for e in embeddings[1:]:
            total = total + e.float().pow(2).sum(-1).mean()
        return float(self.reg) * total

    def _score_batch(
        self, module: DotProduct, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        return module.scores(users, items)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the item embeddings."""
        weights = self.module_.item_embedding.weight.detach().cpu().numpy()
        return cosine_rows(weights, items)

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, d + 1], items float32 [n_items, d + 1]) whose inner products
        are the scores, for an ANN index (recforge.retrieval): [p_u, 1]·[q_i, b_i]."""
        self._check_fitted("retrieval_vectors")
        module = self.module_
        q = module.item_embedding.weight.detach().float().cpu().numpy()
        b = module.item_bias.weight.detach().float().cpu().numpy()
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, np.hstack([q, b]).astype(np.float32)

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, d + 1]: rows `users` [B] of `retrieval_vectors()[0]`."""
        import torch

        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        weight = self.module_.user_embedding.weight.detach()
        p = weight[torch.as_tensor(u, device=weight.device)].float().cpu().numpy()
        return np.hstack([p, np.ones((u.size, 1), dtype=np.float32)]).astype(np.float32)
