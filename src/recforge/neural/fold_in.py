"""Fold-in: a new user's vector for a trained softmax next-item model, all else fixed.

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

__all__ = ["gaussian_prior", "map_user_vector", "map_user_vectors"]

RIDGE = 1e-3  # added to the covariance, times its mean variance: a full-rank precision
ARMIJO = 0.25  # sufficient decrease of the backtracking line search
MAX_HALVINGS = 30
CURVATURE_CELLS = 1 << 22  # cells of the item outer products [items, d²] held at once
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
    owners = torch.zeros(targets.numel(), dtype=torch.long, device=offsets.device)
    return map_user_vectors(offsets, targets, owners, 1, weights, prior, steps)[0]


def map_user_vectors(
    offsets: torch.Tensor,
    targets: torch.Tensor,
    owners: torch.Tensor,
    users: int,
    weights: torch.Tensor,
    prior: tuple[torch.Tensor, torch.Tensor],
    steps: int,
) -> torch.Tensor:
    """`map_user_vector` for `users` independent sessions at once: P [users, d] (float64), row b
    fitted to the transitions t with owners[t] = b (offsets [T, n], targets [T], owners int64
    [T] in 0 … users − 1; a session without one gets μ). Each session takes its own damped
    Newton steps and line search, and stops on its own, as it would alone; each pass reads
    only the transitions of the sessions still moving."""
    mean, precision = prior
    o, w = offsets.detach(), weights.detach().to(offsets.dtype)
    n, d = int(w.shape[0]), int(w.shape[1])
    everyone = torch.arange(users, device=o.device)
    target_logit = _per_user(
        o[torch.arange(targets.numel(), device=o.device), targets], owners, users
    )
    target_w = _per_user(w[targets], owners, users)  # Σ_t W_{y_t} [users, d]

    def rows_of(some: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(the transitions [T'] of users `some` [U'] (ascending), their owners as positions in
        `some`); None for all transitions when `some` is everyone."""
        if some.numel() == users:
            return None, owners
        position = torch.full((users,), -1, dtype=torch.long, device=o.device)
        position[some] = torch.arange(some.numel(), device=o.device)
        local = position[owners]
        rows = torch.nonzero(local >= 0)[:, 0]
        return rows, local[rows]

    def evaluate(
        some: torch.Tensor, p: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For users `some` [U'] at P [U', d]: (objectives [U'], logits [T', n] and their
        logsumexp [T'] of their transitions, in the order of `rows_of`)."""
        rows, local = rows_of(some)
        logits = _take(o, rows) + p.to(o.dtype)[local] @ w.T
        lse = torch.logsumexp(logits, dim=1)
        gap = p - mean
        value = (
            _per_user(lse, local, some.numel())
            - target_logit[some]
            - (target_w[some] * p).sum(dim=1)
            + 0.5 * ((gap @ precision) * gap).sum(dim=1)
        )
        return value, logits, lse

    p = mean.expand(users, d).clone()
    value, logits, lse = evaluate(everyone, p)
    running = torch.ones(users, dtype=torch.bool, device=o.device)
    for _ in range(int(steps)):
        live = torch.nonzero(running)[:, 0]
        if live.numel() == 0:
            break
        rows, local = rows_of(live)
        probs = torch.exp(_take(logits, rows) - _take(lse, rows)[:, None])  # [T', n]
        expected = o.new_zeros(live.numel(), n).index_add_(0, local, probs)  # [U', n]
        gradient = (expected @ w).double() - target_w[live] + (p[live] - mean) @ precision
        spread = _spread((probs @ w).double(), local, live.numel())
        hessian = _curvature(expected, w) - spread + precision
        step = torch.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
        decrement = (gradient * step).sum(dim=1)
        # below this the objective (summed in o's dtype) cannot tell a better point
        resolution = torch.finfo(o.dtype).eps * (1.0 + value[live].abs())
        moving = decrement / 2 >= torch.clamp(resolution, min=TOLERANCE)
        running[live[~moving]] = False
        some, step, decrement = live[moving], step[moving], decrement[moving]
        size = torch.ones(some.numel(), dtype=torch.float64, device=o.device)
        for _ in range(MAX_HALVINGS):
            if some.numel() == 0:
                break
            trial = p[some] - size[:, None] * step
            trial_value, trial_logits, trial_lse = evaluate(some, trial)
            better = trial_value <= value[some] - ARMIJO * size * decrement
            p[some[better]] = trial[better]
            value[some[better]] = trial_value[better]
            rows, local = rows_of(some)
            if rows is None and bool(better.all()):
                logits, lse = trial_logits, trial_lse
            else:
                taken = better[local]
                at = torch.nonzero(taken)[:, 0] if rows is None else rows[taken]
                logits[at] = trial_logits[taken]
                lse[at] = trial_lse[taken]
            some, step, decrement = some[~better], step[~better], decrement[~better]
            size = size[~better] / 2
        running[some] = False  # no decrease found: p is as good as the arithmetic can tell
    return p


def _take(values: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """values[rows], or values itself for rows None (all of them)."""
    return values if rows is None else values[rows]


def _per_user(values: torch.Tensor, owners: torch.Tensor, users: int) -> torch.Tensor:
    """Sums over each user's transitions of values [T, …] → [users, …] (float64)."""
    out = torch.zeros((users, *values.shape[1:]), dtype=torch.float64, device=values.device)
    return out.index_add_(0, owners, values.double())


def _curvature(expected: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Wᵀ diag(expected_b) W [users, d, d] (float64) of expected [users, n] and W [n, d] (in
    their dtype). Fewer users than d: Wᵀ (expected_b ⊙ W) each; more: expected @ (w_i w_iᵀ
    over items i), one GEMM per block of items, whose outer products then pay for themselves."""
    n, d = w.shape
    users = expected.shape[0]
    if users < d:
        return (w.T @ (expected[:, :, None] * w)).double()
    out = expected.new_zeros(users, d * d)
    step = max(1, CURVATURE_CELLS // max(1, d * d))
    for start in range(0, n, step):
        block = w[start : start + step]
        outers = (block[:, :, None] * block[:, None, :]).reshape(-1, d * d)  # [items, d²]
        out += expected[:, start : start + step] @ outers
    return out.reshape(users, d, d).double()


def _spread(spread: torch.Tensor, owners: torch.Tensor, users: int) -> torch.Tensor:
    """Σ over each user's transitions t of s_t s_tᵀ [users, d, d] (float64), s: spread [T, d]
    (row t: E_t[W], the expected output vector of transition t): each user's rows laid out
    in a zero-padded [users, most transitions, d] block, then one batched product."""
    d = int(spread.shape[1])
    counts = torch.bincount(owners, minlength=users)
    order = torch.argsort(owners, stable=True)
    firsts = torch.cumsum(counts, 0) - counts
    ranked = owners[order]
    slot = torch.arange(order.numel(), device=owners.device) - firsts[ranked]
    padded = spread.new_zeros(users, int(counts.max()) if counts.numel() else 0, d).double()
    padded[ranked, slot] = spread[order].double()
    return padded.transpose(1, 2) @ padded
