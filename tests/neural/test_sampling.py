"""NegativeSampler: never a positive, the right distribution, reproducible, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.errors import DataError, ParameterError
from recforge.neural import sampling
from recforge.neural.sampling import NegativeSampler

CPU = torch.device("cpu")


def csr(rows: list[list[int]], n_items: int) -> sp.csr_array:
    """Binary CSR [len(rows), n_items] with row u holding the items rows[u]."""
    r = np.repeat(np.arange(len(rows)), [len(x) for x in rows])
    c = np.array([i for x in rows for i in x], dtype=np.int64)
    m = sp.csr_array((np.ones(c.size, np.float32), (r, c)), shape=(len(rows), n_items))
    m.sum_duplicates()
    return m


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def assert_no_positive(seen: sp.csr_array, users: torch.Tensor, out: torch.Tensor) -> None:
    dense = seen.toarray().astype(bool)
    u = users.numpy()
    o = out.numpy()
    assert o.dtype == np.int64
    assert ((o >= 0) & (o < seen.shape[1])).all()
    assert not dense[u[:, None], o].any()


@st.composite
def seen_matrices(draw: st.DrawFn) -> sp.csr_array:
    """Small random positives; every user leaves ≥ 1 item unseen, many leave exactly one."""
    n_items = draw(st.integers(2, 7))
    n_users = draw(st.integers(1, 4))
    rows = []
    for _ in range(n_users):
        size = draw(st.one_of(st.just(n_items - 1), st.integers(0, n_items - 1)))
        rows.append(draw(st.permutations(range(n_items)))[:size])
    return csr(rows, n_items)


# ---------------------------------------------------------------------- never a positive
@settings(max_examples=60, deadline=None)
@given(
    seen_matrices(),
    st.sampled_from(["uniform", "popularity"]),
    st.integers(1, 6),
    st.integers(0, 2**16),
)
def test_sample_never_returns_a_positive(seen: sp.csr_array, kind: str, n: int, seed: int) -> None:
    sampler = NegativeSampler(seen, CPU, kind)
    users = torch.arange(seen.shape[0]).repeat(3)
    out = sampler.sample(users, n, gen(seed))
    assert out.shape == (users.numel(), n)
    assert_no_positive(seen, users, out)


@pytest.mark.parametrize("kind", ["uniform", "popularity"])
def test_exact_fallback_never_returns_a_positive(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no rejection rounds every draw that hits a positive is filled from the user's
    complement: a user who saw all but one item always gets that item."""
    monkeypatch.setattr(sampling, "ROUNDS", 0)
    # user 0 saw all but item 3; user 1 all but items 0 and 5; user 2 nothing
    seen = csr([[0, 1, 2, 4, 5], [1, 2, 3, 4], []], 6)
    sampler = NegativeSampler(seen, CPU, kind)
    users = torch.tensor([0, 1, 2, 0, 1])
    out = sampler.sample(users, 40, gen(3))
    assert_no_positive(seen, users, out)
    assert (out[[0, 3]] == 3).all()
    assert set(out[[1, 4]].unique().tolist()) <= {0, 5}


def test_exact_fallback_with_zero_weight_complement() -> None:
    """Popularity gives an item nobody saw probability 0; a user whose only unseen item is such
    an item still gets it (from the exact path, uniformly over the complement)."""
    seen = csr([[0, 1, 2], [0, 1]], 4)  # item 3: count 0; user 0's only negative
    sampler = NegativeSampler(seen, CPU, "popularity")
    assert float(sampler.log_q[3]) == -np.inf
    out = sampler.sample(torch.tensor([0, 1]), 25, gen(0))
    assert (out[0] == 3).all()
    assert_no_positive(seen, torch.tensor([0, 1]), out)
    assert set(out[1].tolist()) == {2}  # item 3 has probability 0 while item 2 is allowed


def test_is_positive_without_any_positive() -> None:
    sampler = NegativeSampler(csr([[], []], 4), CPU)
    assert not sampler.is_positive(torch.tensor([0, 1]), torch.tensor([[0, 3], [1, 2]])).any()
    out = sampler.sample(torch.tensor([0, 1]), 5, gen(0))
    assert out.shape == (2, 5)


def test_is_positive_known_answer() -> None:
    seen = csr([[1, 3], [0], [2, 3]], 4)
    sampler = NegativeSampler(seen, CPU)
    got = sampler.is_positive(
        torch.tensor([0, 1, 2]), torch.tensor([[0, 1, 3], [0, 1, 2], [3, 3, 0]])
    )
    expected = [[False, True, True], [True, False, False], [True, True, False]]
    assert got.tolist() == expected


# ---------------------------------------------------------------------- distributions
def chi_square(counts: np.ndarray, probs: np.ndarray) -> float:
    expected = counts.sum() * probs
    keep = expected > 0
    assert counts[~keep].sum() == 0  # nothing drawn where the probability is 0
    return float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())


# 30 is beyond the 0.9999 quantile of chi-square with ≤ 5 degrees of freedom (≈ 25.7)
LIMIT = 30.0


def test_uniform_frequencies_are_uniform() -> None:
    seen = csr([[], [0, 2]], 5)
    sampler = NegativeSampler(seen, CPU, "uniform")
    drawn = sampler.draw(20_000, gen(0)).numpy()
    assert chi_square(np.bincount(drawn, minlength=5), np.full(5, 0.2)) < LIMIT
    # conditional on the user's complement it stays uniform
    out = sampler.sample(torch.tensor([1] * 5_000), 4, gen(1)).numpy().ravel()
    counts = np.bincount(out, minlength=5)
    assert counts[[0, 2]].sum() == 0
    assert chi_square(counts, np.array([0, 1, 0, 1, 1]) / 3) < LIMIT


@pytest.mark.parametrize("alpha", [0.75, 1.0, 0.5])
def test_popularity_frequencies_follow_count_to_the_alpha(alpha: float) -> None:
    # item counts 1, 2, 4, 8 and 0 (item 4)
    rows = [[0, 1, 2, 3], [1, 2, 3], [2, 3], [2, 3], [3], [3], [3], [3]]
    seen = csr(rows, 5)
    sampler = NegativeSampler(seen, CPU, "popularity", alpha=alpha)
    weights = np.array([1.0, 2.0, 4.0, 8.0, 0.0]) ** alpha
    probs = weights / weights.sum()
    np.testing.assert_allclose(torch.exp(sampler.log_q).numpy(), probs, rtol=1e-6)
    drawn = sampler.draw(30_000, gen(0)).numpy()
    assert chi_square(np.bincount(drawn, minlength=5), probs) < LIMIT
    # user 4 saw item 3: its negatives follow the popularity of items 0, 1, 2
    out = sampler.sample(torch.tensor([4] * 5_000), 4, gen(1)).numpy().ravel()
    restricted = probs * np.array([1, 1, 1, 0, 1])
    assert chi_square(np.bincount(out, minlength=5), restricted / restricted.sum()) < LIMIT


def test_popularity_without_counts_falls_back_to_uniform() -> None:
    sampler = NegativeSampler(csr([[], []], 3), CPU, "popularity")
    np.testing.assert_allclose(torch.exp(sampler.log_q).numpy(), np.full(3, 1 / 3), rtol=1e-6)


@pytest.mark.parametrize("kind", ["uniform", "popularity"])
def test_log_q_sums_to_one_in_probability_space(kind: str) -> None:
    seen = csr([[0, 1], [1, 2, 5], [5], []], 7)  # items 3, 4, 6 never seen
    sampler = NegativeSampler(seen, CPU, kind)
    assert sampler.log_q.shape == (7,)
    assert sampler.log_q.dtype == torch.float32
    total = float(torch.exp(sampler.log_q.double()).sum())
    assert total == pytest.approx(1.0, abs=1e-6)
    if kind == "uniform":
        np.testing.assert_allclose(sampler.log_q.numpy(), np.log(np.full(7, 1 / 7)), rtol=1e-6)


# ---------------------------------------------------------------------- draw, seeds, errors
@pytest.mark.parametrize("kind", ["uniform", "popularity"])
def test_draw_shape_and_range(kind: str) -> None:
    seen = csr([[0, 1], [2]], 4)
    sampler = NegativeSampler(seen, CPU, kind)
    drawn = sampler.draw(7, gen(0))
    assert drawn.shape == (7,)
    assert drawn.dtype == torch.int64
    assert ((drawn >= 0) & (drawn < 4)).all()
    if kind == "popularity":  # item 3 was never seen: probability 0
        assert not (sampler.draw(500, gen(1)) == 3).any()


@pytest.mark.parametrize("kind", ["uniform", "popularity"])
@pytest.mark.parametrize("rounds", [0, sampling.ROUNDS])
def test_same_generator_seed_same_samples(
    kind: str, rounds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sampling, "ROUNDS", rounds)
    seen = csr([[0, 1, 2, 3, 4, 5, 6], [1, 3], [0, 2, 4, 6]], 8)
    sampler = NegativeSampler(seen, CPU, kind)
    users = torch.tensor([0, 1, 2, 2, 1, 0])
    a = sampler.sample(users, 5, gen(11))
    b = sampler.sample(users, 5, gen(11))
    assert torch.equal(a, b)
    assert torch.equal(sampler.draw(9, gen(4)), sampler.draw(9, gen(4)))
    # a fresh sampler over the same data draws the same, another seed draws differently
    again = NegativeSampler(seen, CPU, kind).sample(users, 5, gen(11))
    assert torch.equal(a, again)
    assert not torch.equal(sampler.sample(users, 5, gen(12)), a)
    assert_no_positive(seen, users, a)


def test_a_user_who_saw_every_item_is_a_data_error() -> None:
    seen = csr([[0], [0, 1, 2]], 3)
    with pytest.raises(DataError, match=r"user index 1 has interacted with every item"):
        NegativeSampler(seen, CPU)


def test_unknown_kind_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match=r"'sampler' parameter .*'uniform', 'popularity'"):
        NegativeSampler(csr([[0]], 2), CPU, "zipf")
