"""Training losses of the neural models, batch-first.

Shapes: B examples in a batch, N negatives per example, C candidate items, d embedding size.
Each returns the mean loss over the batch as a 0-d tensor.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F  # noqa: N812

__all__ = [
    "bce_with_negatives",
    "bpr_loss",
    "bpr_max_loss",
    "full_softmax_loss",
    "mse_loss",
    "multinomial_loss",
    "sampled_softmax_loss",
    "softmax_over_negatives",
]

BPR_MAX_REG = 1.0  # λ of BPR-max's score regulariser (GRU4Rec's published default)


def mse_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error of ratings: predicted, target float [B]."""
    return F.mse_loss(predicted.float(), target.float())


def bce_with_negatives(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits: positives [B] labelled 1, negatives [B, N] labelled 0;
    the negatives of one example count as much as its positive in total."""
    pos = F.softplus(-positive.float())  # -log σ(x)
    neg = F.softplus(negative.float()).mean(dim=1)  # -log(1 - σ(x))
    return (pos + neg).mean()


def bpr_loss(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking: -log σ(s⁺ - s⁻), positives [B], negatives [B, N]."""
    return F.softplus(negative.float() - positive.float()[:, None]).mean()


def sampled_softmax_loss(
    queries: torch.Tensor,
    candidates: torch.Tensor,
    candidate_log_q: torch.Tensor,
    positive_ids: torch.Tensor,
    candidate_ids: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Softmax over sampled candidates with the logQ correction (Yi et al. 2019).

    queries [B, d]; candidates [C, d] with ids [C], whose first B rows are the batch's own
    positives (row j is the positive of query j: in-batch negatives) and the rest extra sampled
    items; candidate_log_q [C]: log of each candidate's probability of being drawn, subtracted
    from its logit so popular items are not over-penalised. Candidates equal to a query's
    positive (other than its own row) are masked out: an accidental hit is not a negative.
    """
    logits = (queries.float() @ candidates.float().T) / temperature - candidate_log_q[None, :]
    batch = queries.shape[0]
    rows = torch.arange(batch, device=queries.device)
    hits = positive_ids[:, None] == candidate_ids[None, :]
    hits[rows, rows] = False
    logits = logits.masked_fill(hits, torch.finfo(logits.dtype).min)
    return F.cross_entropy(logits, rows)


def full_softmax_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over every item: logits [B, n_items], targets int64 [B]."""
    return F.cross_entropy(logits.float(), targets)


def multinomial_loss(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Multinomial log-likelihood of a user's whole row (Mult-VAE): -Σ_i x_i log softmax(z)_i,
    logits and counts [B, n_items], averaged over users."""
    return -(F.log_softmax(logits.float(), dim=1) * counts).sum(dim=1).mean()


def softmax_over_negatives(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the positive among itself and its sampled negatives: positives [B],
    negatives [B, N] (a masked negative holds the dtype's minimum)."""
    logits = torch.cat([positive.float()[:, None], negative.float()], dim=1)
    return F.cross_entropy(logits, torch.zeros_like(positive, dtype=torch.long))


def bpr_max_loss(
    positive: torch.Tensor, negative: torch.Tensor, reg: float = BPR_MAX_REG
) -> torch.Tensor:
    """BPR-max (Hidasi & Karatzoglou 2018): -log Σ_j s_j σ(r⁺ - r_j) + reg · Σ_j s_j r_j², with
    s = softmax of the negatives' scores, so the hardest negatives weigh most; positives [B],
    negatives [B, N] (a masked negative holds the dtype's minimum and gets weight 0)."""
    pos, neg = positive.float(), negative.float()
    weights = torch.softmax(neg, dim=1)
    real = neg > torch.finfo(neg.dtype).min
    ranked = (weights * torch.sigmoid(pos[:, None] - neg)).sum(dim=1)
    squares = (weights * torch.where(real, neg, 0.0) ** 2).sum(dim=1)
    return (-torch.log(ranked + 1e-24) + reg * squares).mean()
