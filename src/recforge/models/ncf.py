"""Neural collaborative filtering (He et al. 2017): GMF, MLP and their fusion NeuMF.

All three learn from implicit feedback: each training interaction is a positive, `negatives`
items the user never interacted with are drawn for it (uniformly or by popularity), and the
network's logits are fitted with binary cross-entropy (the paper's log loss; here a positive's
negatives together weigh as much as it, where the paper counts each negative as one example)
or, with loss="bpr", ranked above the negatives' by BPR. Ratings, when present, count as
interactions. Scores are the logits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_bool, check_choice, check_float, check_int
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError
from recforge.models.neural_base import NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.loop import Step
    from recforge.neural.ncf_modules import GMFNet, MLPNet, NeuMFNet

__all__ = ["GMF", "MLP", "NeuMF"]

LOSSES = ("bce", "bpr")
SAMPLERS = ("uniform", "popularity")
NCF_TRAINING: dict[str, Any] = {"epochs": 10, "batch_size": 2048, "lr": 5e-3}


class _NCF(NeuralRecommender):
    """What GMF, MLP and NeuMF share: sampled negatives, the loss and grid scoring.

    Subclasses build the network (`_build_module`) and validate their own sizes.
    """

    training_defaults: ClassVar[dict[str, Any]] = NCF_TRAINING
    loss: str
    negatives: int
    sampler: str

    def _validate_common(self) -> None:
        owner = type(self).__name__
        check_choice(self.loss, "loss", LOSSES, owner)
        check_int(self.negatives, "negatives", owner, low=1)
        check_choice(self.sampler, "sampler", SAMPLERS, owner)

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        """The positives: users and items int64 [nnz]."""
        import torch

        from recforge.neural.sampling import NegativeSampler

        users, items, _ = train.coo()
        self._sampler = NegativeSampler(self.seen_, self._device, self.sampler)
        return torch.from_numpy(users.astype(np.int64)), torch.from_numpy(items.astype(np.int64))

    def _batch_loss(
        self, module: nn.Module, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        import torch

        from recforge.neural import losses

        users, items = batch
        negatives = self._sampler.sample(users, int(self.negatives), step.generator)  # [B, N]
        logits = module(users, torch.cat([items[:, None], negatives], dim=1))  # [B, 1 + N]
        pos, neg = logits[:, 0], logits[:, 1:]
        if self.loss == "bpr":
            return losses.bpr_loss(pos, neg)
        return losses.bce_with_negatives(pos, neg)

    def _score_batch(
        self, module: nn.Module, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        return module(users, items)


def _check_layers(layers: Any, owner: str) -> list[int]:
    """A non-empty list of ints ≥ 1 whose first entry (the concatenated embeddings) is even."""
    ok = (
        isinstance(layers, list | tuple)
        and len(layers) > 0
        and all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in layers)
        and all(x >= 1 for x in layers)
        and layers[0] % 2 == 0
    )
    if not ok:
        raise ParameterError(
            f"The 'layers' parameter of {owner} must be a non-empty list of ints ≥ 1 whose first "
            f"entry (the user and item embeddings side by side) is even, e.g. [64, 32, 16]. "
            f"Got {layers!r} instead."
        )
    return [int(x) for x in layers]


@register
class GMF(_NCF):
    """Generalised matrix factorisation: logit(u, i) = hᵀ(p_u ⊙ q_i) + b.

    factors: the size of p_u, q_i; loss: bce (sampled negatives labelled 0) | bpr;
    negatives: sampled per positive; sampler: uniform | popularity (both skip the user's
    positives).
    """

    module_: GMFNet

    name = "gmf"
    description = "generalised matrix factorisation (NCF) with sampled negatives"

    def __init__(
        self,
        *,
        factors: int = 32,
        loss: str = "bce",
        negatives: int = 4,
        sampler: str = "uniform",
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.loss = loss
        self.negatives = negatives
        self.sampler = sampler

    def _validate_model_params(self) -> None:
        check_int(self.factors, "factors", "GMF", low=1)
        self._validate_common()

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.ncf_modules import GMFNet

        return GMFNet(self.n_users_, self.n_items_, int(self.factors))

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, k + 1], items float32 [n_items, k + 1]) whose inner products
        are the logits, for an ANN index (recforge.retrieval): [h ⊙ p_u, b]·[q_i, 1]."""
        self._check_fitted("retrieval_vectors")
        q = self.module_.branch.item_embedding.weight.detach().float().cpu().numpy()
        items = np.hstack([q, np.ones((q.shape[0], 1), dtype=np.float32)])
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, items.astype(np.float32)

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, k + 1]: rows `users` [B] of `retrieval_vectors()[0]`."""
        import torch

        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        module = self.module_
        weight = module.branch.user_embedding.weight.detach()
        p = weight[torch.as_tensor(u, device=weight.device)].float()
        h = module.output.weight.detach()[0].float()
        b = float(module.output.bias.detach().float().cpu()[0])
        scaled = (p * h).cpu().numpy()
        return np.hstack([scaled, np.full((u.size, 1), b, dtype=np.float32)]).astype(np.float32)


@register
class MLP(_NCF):
    """Multi-layer perceptron over [p_u, q_i]: logit(u, i) = hᵀ tower([p_u, q_i]) + b.

    layers: [concatenated embedding size (even: each side gets half), hidden ReLU sizes …]
    (one entry: no hidden layer, so hᵀ[p_u, q_i] = a_u + b_i ranks items alike for everyone);
    dropout: on the embeddings and before each later layer (a user's embedding mask is shared
    by the positive and the negatives scored with it); loss, negatives, sampler as for GMF.
    """

    module_: MLPNet

    name = "mlp"
    description = "multi-layer perceptron over user and item embeddings (NCF)"

    def __init__(
        self,
        *,
        layers: list[int] = [64, 32, 16],  # noqa: B006 (never mutated; a list survives saving)
        dropout: float = 0.0,
        loss: str = "bce",
        negatives: int = 4,
        sampler: str = "uniform",
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.layers = layers
        self.dropout = dropout
        self.loss = loss
        self.negatives = negatives
        self.sampler = sampler

    def _validate_model_params(self) -> None:
        _check_layers(self.layers, "MLP")
        check_float(self.dropout, "dropout", "MLP", low=0.0, high=1.0, high_open=True)
        self._validate_common()

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.ncf_modules import MLPNet

        layers = _check_layers(self.layers, "MLP")
        return MLPNet(self.n_users_, self.n_items_, layers, float(self.dropout))


@register
class NeuMF(_NCF):
    """Neural matrix factorisation: GMF and MLP branches, each with its own embeddings, under
    one output layer: logit(u, i) = hᵀ[p_u ⊙ q_i, tower([p'_u, q'_i])] + b.

    factors: the GMF branch's size; layers, dropout: the MLP branch's (as for MLP);
    pretrain: first fit a GMF and an MLP of these sizes with the same training parameters and
    data (their own `fit`, early-stopping on `valid` when given; no run_dir), then start NeuMF
    from their weights with the output layer [α h_GMF, (1 − α) h_MLP], bias
    α b_GMF + (1 − α) b_MLP; alpha: that α (the paper's 0.5; used only with pretrain). The
    paper continues with plain SGD after pre-training; here NeuMF keeps the configured
    optimizer, which the pre-trained models share (optimizer="sgd" would train them with SGD
    too). A resumed run (resume=True) skips pre-training: the checkpoint holds the weights.
    loss, negatives, sampler as for GMF.
    """

    module_: NeuMFNet

    name = "neumf"
    description = "neural matrix factorisation (NCF): GMF and MLP fused, optionally pre-trained"

    def __init__(
        self,
        *,
        factors: int = 32,
        layers: list[int] = [64, 32, 16],  # noqa: B006 (never mutated; a list survives saving)
        dropout: float = 0.0,
        pretrain: bool = False,
        alpha: float = 0.5,
        loss: str = "bce",
        negatives: int = 4,
        sampler: str = "uniform",
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.layers = layers
        self.dropout = dropout
        self.pretrain = pretrain
        self.alpha = alpha
        self.loss = loss
        self.negatives = negatives
        self.sampler = sampler

    def _validate_model_params(self) -> None:
        check_int(self.factors, "factors", "NeuMF", low=1)
        _check_layers(self.layers, "NeuMF")
        check_float(self.dropout, "dropout", "NeuMF", low=0.0, high=1.0, high_open=True)
        check_bool(self.pretrain, "pretrain", "NeuMF")
        check_float(self.alpha, "alpha", "NeuMF", low=0.0, high=1.0)
        self._validate_common()

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        self._pretrained: tuple[GMF, MLP] | None = None
        if self.pretrain and not self._resume:
            self._pretrained = self._pretrain(train, valid)
        try:
            super()._fit(train, valid)
        finally:
            self._pretrained = None

    def _pretrain(self, train: Interactions, valid: Interactions | None) -> tuple[GMF, MLP]:
        """A GMF and an MLP of NeuMF's sizes, fitted with NeuMF's training parameters."""
        from recforge.neural.config import TrainingConfig

        training = {n: getattr(self, n) for n in TrainingConfig.names()}
        shared: dict[str, Any] = {
            "loss": self.loss,
            "negatives": self.negatives,
            "sampler": self.sampler,
        }
        gmf = GMF(factors=self.factors, **shared, **training).fit(train, valid)
        mlp = MLP(layers=self.layers, dropout=self.dropout, **shared, **training).fit(train, valid)
        return gmf, mlp

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.ncf_modules import NeuMFNet

        layers = _check_layers(self.layers, "NeuMF")
        net = NeuMFNet(self.n_users_, self.n_items_, int(self.factors), layers, float(self.dropout))
        pretrained = getattr(self, "_pretrained", None) if train is not None else None
        if pretrained is not None:
            gmf, mlp = pretrained
            net.init_from(gmf.module_.cpu(), mlp.module_.cpu(), float(self.alpha))
        return net
