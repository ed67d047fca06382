"""Fold-in: one new user's vector for a trained softmax next-item model, all else fixed.

A model such as Caser scores item i after a window as o_i + W_i · p, where o [n_items] comes
from the window alone and p [d] is the user's vector. For an anonymous session with T
transitions (window t → item y_t) the vector is fitted by maximum a posteriori:

    minimise  Σ_t [logsumexp(o_t + W p) − (o_t + W p)_{y_t}]  +  ½ (p − μ)ᵀ Λ (p − μ)

under a Gaussian prior N(μ, Λ⁻¹) estimated from the trained users' vectors (`gaussian_prior`):
with no transition the answer is μ, the population's mean taste; with many it approaches the
vector the user would have been trained with. The objective is strictly convex in p, so a few
damped Newton steps (d × d Hessian, exact) reach its minimum.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_prior", "map_user_vector"]

RIDGE = 1e-3  # added to the covariance, times its mean variance: a full-rank precision
ARMIJO = 0.25  # sufficient decrease of the backtracking line search
MAX_HALVINGS = 30
TOLERANCE = 1e-10  # stop when half the Newton decrement gᵀH⁻¹g falls below this (or below
# what the dtype of the offsets can resolve)


def gaussian_prior(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(mean [d], precision [d, d]) of vectors [N, d], float64; None when they do not vary
    (fewer than two, or all equal): then no vector but the mean is plausible."""
    if vectors.shape[0] < 2:
        return None
    v = vectors.detach().double()
    mean = v.mean(dim=0)
    centred = v - mean
    covariance = centred.T @ centred / (v.shape[0] - 1)
    scale = float(covariance.diagonal().mean())
    if scale <= 0.0:
        return None
    eye = torch.eye(v.shape[1], dtype=v.dtype, device=v.device)
    return mean, torch.linalg.inv(covariance + RIDGE * scale * eye)


def map_user_vector(
    offsets: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    prior: tuple[torch.Tensor, torch.Tensor],
    steps: int,
) -> torch.Tensor:
    """The MAP vector p [d] (float64) of the module docstring, after at most `steps` Newton steps
    from the prior mean. offsets: [T, n] the logits without the user; targets: int64 [T] item
    indices; weights: W [n, d]; prior: (μ [d], Λ [d, d]) from `gaussian_prior`. The [T, n]
    work runs in the dtype of `offsets`, the d-sized algebra in float64."""
    mean, precision = prior
    o, w = offsets.detach(), weights.detach().to(offsets.dtype)
    rows = torch.arange(targets.numel(), device=o.device)
    target_logit = o[rows, targets].double().sum()  # Σ_t o_t[y_t]
    target_w = w[targets].double().sum(dim=0)  # Σ_t W_{y_t} [d]

    def evaluate(p: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
        """(the objective, logits [T, n], their logsumexp [T]) at p [d]."""
        logits = o + w @ p.to(o.dtype)
        lse = torch.logsumexp(logits, dim=1)
        gap = p - mean
        value = lse.double().sum() - target_logit - target_w @ p + 0.5 * gap @ precision @ gap
        return float(value), logits, lse

    p = mean.clone()
    value, logits, lse = evaluate(p)
    for _ in range(int(steps)):
        probs = torch.exp(logits - lse[:, None])  # [T, n]
        expected = probs.sum(dim=0)  # [n]
        gradient = (w.T @ expected).double() - target_w + precision @ (p - mean)
        spread = (probs @ w).double()  # [T, d], each row E_t[W]
        curvature = (w.T @ (expected[:, None] * w)).double()
        hessian = curvature - spread.T @ spread + precision
        step = torch.linalg.solve(hessian, gradient)
        decrement = float(gradient @ step)
        # below this the objective (summed in o's dtype) cannot tell a better point
        resolution = torch.finfo(o.dtype).eps * (1.0 + abs(value))
        if decrement / 2 < max(TOLERANCE, resolution):
            break
        size = 1.0
        for _ in range(MAX_HALVINGS):
            trial = p - size * step
            trial_value, trial_logits, trial_lse = evaluate(trial)
            if trial_value <= value - ARMIJO * size * decrement:
                p, value, logits, lse = trial, trial_value, trial_logits, trial_lse
                break
            size /= 2
        else:  # no decrease found: p is as good as the arithmetic can tell
            break
    return p
