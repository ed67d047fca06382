"""Fold-in of one user vector: the prior is the users' Gaussian, the answer is the MAP point
(zero gradient, no better point nearby), the prior mean without evidence, the generating
vector with much evidence."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.neural.fold_in import RIDGE, gaussian_prior, map_user_vector


def objective(
    p: torch.Tensor, o: torch.Tensor, y: torch.Tensor, w: torch.Tensor, prior: tuple
) -> torch.Tensor:
    """The negative log posterior, written the plain way: cross-entropy summed + prior."""
    mean, precision = prior
    nll = torch.nn.functional.cross_entropy(o + w @ p, y, reduction="sum")
    return nll + 0.5 * (p - mean) @ precision @ (p - mean)


def problem(seed: int, t: int, n: int, d: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    o = torch.randn(t, n, generator=g, dtype=torch.float64)
    w = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(n, (t,), generator=g)
    users = torch.randn(50, d, generator=g, dtype=torch.float64) * 0.7 + 0.3
    return o, y, w, users


def test_the_prior_is_the_mean_and_the_inverse_ridged_covariance() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 5)) @ rng.normal(size=(5, 5))
    prior = gaussian_prior(torch.from_numpy(vectors))
    assert prior is not None
    mean, precision = (x.numpy() for x in prior)
    np.testing.assert_allclose(mean, vectors.mean(axis=0))
    covariance = np.cov(vectors, rowvar=False)
    ridged = covariance + RIDGE * np.trace(covariance) / 5 * np.eye(5)
    np.testing.assert_allclose(precision @ ridged, np.eye(5), atol=1e-8)


def test_vectors_that_do_not_vary_give_no_prior() -> None:
    assert gaussian_prior(torch.ones(1, 3)) is None
    assert gaussian_prior(torch.ones(6, 3)) is None


def test_without_transitions_the_answer_is_the_prior_mean() -> None:
    o, _, w, users = problem(1, 0, 7, 3)
    prior = gaussian_prior(users)
    assert prior is not None
    p = map_user_vector(o, torch.zeros(0, dtype=torch.long), w, prior, steps=10)
    torch.testing.assert_close(p, prior[0])


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    t=st.integers(1, 40),
    n=st.integers(2, 30),
    d=st.integers(1, 6),
)
def test_the_answer_minimises_the_posterior(seed: int, t: int, n: int, d: int) -> None:
    o, y, w, users = problem(seed, t, n, d)
    prior = gaussian_prior(users)
    assert prior is not None
    p = map_user_vector(o, y, w, prior, steps=50)
    point = p.clone().requires_grad_(True)
    value_at = objective(point, o, y, w, prior)
    (gradient,) = torch.autograd.grad(value_at, point)
    value = float(value_at.detach())
    assert float(gradient.norm()) < 1e-4 * (1.0 + abs(value))
    g = torch.Generator().manual_seed(seed + 1)
    for _ in range(5):
        nearby = p + 1e-2 * torch.randn(d, generator=g, dtype=torch.float64)
        assert float(objective(nearby, o, y, w, prior)) >= value - 1e-9
    # fewer steps never end higher than the start, the prior mean
    start = float(objective(prior[0], o, y, w, prior))
    one = map_user_vector(o, y, w, prior, steps=1)
    assert float(objective(one, o, y, w, prior)) <= start + 1e-12


def test_much_evidence_recovers_the_generating_vector() -> None:
    """4,000 transitions drawn from softmax(o_t + W p*) under a vague prior: p ≈ p*."""
    g = torch.Generator().manual_seed(3)
    t, n, d = 4000, 12, 3
    o = torch.randn(t, n, generator=g, dtype=torch.float64)
    w = torch.randn(n, d, generator=g, dtype=torch.float64)
    truth = torch.tensor([0.8, -1.2, 0.5], dtype=torch.float64)
    y = torch.multinomial(torch.softmax(o + w @ truth, dim=1), 1, generator=g)[:, 0]
    prior = (torch.zeros(d, dtype=torch.float64), 1e-3 * torch.eye(d, dtype=torch.float64))
    p = map_user_vector(o, y, w, prior, steps=20)
    assert float((p - truth).abs().max()) < 0.1, p
