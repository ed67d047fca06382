"""The training losses: known answers worked out in numpy, and their defining properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.nn.functional import cross_entropy

from recforge.neural.losses import (
    bce_with_negatives,
    bpr_loss,
    full_softmax_loss,
    mse_loss,
    multinomial_loss,
    sampled_softmax_loss,
)


def t(values: object, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


def log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def close(got: torch.Tensor, expected: float) -> None:
    assert got.dim() == 0
    assert float(got) == pytest.approx(expected, rel=1e-5, abs=1e-6)


finite = st.floats(-5.0, 5.0, allow_nan=False, width=32)


# ---------------------------------------------------------------------- known answers
def test_mse_loss_known_answer() -> None:
    close(mse_loss(t([1.0, 2.0, 3.0]), t([1.0, 1.0, 1.0])), 5.0 / 3.0)
    # integer targets and half-precision predictions are promoted to float32
    close(mse_loss(t([0.5, -0.5], torch.float16), t([1, 1], torch.int64)), (0.25 + 2.25) / 2)


def test_bce_with_negatives_known_answer() -> None:
    pos = np.array([0.0, 2.0])
    neg = np.array([[0.0, 1.0], [-1.0, 3.0]])
    # -log σ(s⁺) + mean over the negatives of -log(1 - σ(s⁻)), averaged over the batch
    expected = np.mean(softplus(-pos) + softplus(neg).mean(axis=1))
    close(bce_with_negatives(t(pos), t(neg)), float(expected))
    # by hand for the first example: log 2 + (log 2 + log(1 + e)) / 2
    first = np.log(2) + (np.log(2) + np.log(1 + np.e)) / 2
    close(bce_with_negatives(t(pos[:1]), t(neg[:1])), float(first))


def test_bpr_loss_known_answer() -> None:
    pos = np.array([1.0, 0.0])
    neg = np.array([[0.0, 2.0], [1.0, -1.0]])
    expected = np.mean(softplus(neg - pos[:, None]))  # -log σ(s⁺ - s⁻) over all B·N pairs
    close(bpr_loss(t(pos), t(neg)), float(expected))
    close(bpr_loss(t([0.0]), t([[0.0]])), float(np.log(2)))


def test_full_softmax_loss_known_answer() -> None:
    logits = np.array([[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 3.0, 1.0]])
    targets = np.array([1, 3])
    expected = -np.mean(log_softmax(logits)[np.arange(2), targets])
    close(full_softmax_loss(t(logits), t(targets, torch.int64)), float(expected))
    close(full_softmax_loss(t([[0.0, 0.0, 0.0]]), t([2], torch.int64)), float(np.log(3)))


def test_multinomial_loss_known_answer() -> None:
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]])
    counts = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    expected = -np.mean((log_softmax(logits) * counts).sum(axis=1))
    close(multinomial_loss(t(logits), t(counts)), float(expected))


def numpy_sampled_softmax(
    queries: np.ndarray,
    cands: np.ndarray,
    log_q: np.ndarray,
    pos_ids: np.ndarray,
    cand_ids: np.ndarray,
    temperature: float = 1.0,
) -> float:
    """The reference: logits - log q, accidental hits (not the own row) removed, label = row."""
    logits = queries @ cands.T / temperature - log_q[None, :]
    b = queries.shape[0]
    hits = pos_ids[:, None] == cand_ids[None, :]
    hits[np.arange(b), np.arange(b)] = False
    logits = np.where(hits, -np.inf, logits)
    return float(-np.mean(log_softmax(logits)[np.arange(b), np.arange(b)]))


def test_sampled_softmax_known_answer_with_log_q_and_accidental_hits() -> None:
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(3, 2))
    # candidates: the 3 positives (items 7, 7, 2: rows 0 and 1 share their positive) + 2 extras,
    # the first of which (item 2) is an accidental hit of query 2
    pos_ids = np.array([7, 7, 2])
    cand_ids = np.array([7, 7, 2, 2, 9])
    cands = rng.normal(size=(5, 2))
    log_q = np.log(np.array([0.3, 0.3, 0.1, 0.1, 0.05]))
    expected = numpy_sampled_softmax(queries, cands, log_q, pos_ids, cand_ids)
    got = sampled_softmax_loss(
        t(queries), t(cands), t(log_q), t(pos_ids, torch.int64), t(cand_ids, torch.int64)
    )
    close(got, expected)
    # by hand for query 0: its softmax runs over its own column 0 and columns 2, 3, 4 (column 1
    # holds its positive again, for query 1, and is masked)
    z = queries[0] @ cands.T - log_q
    alone = -(z[0] - np.log(np.exp(z[[0, 2, 3, 4]]).sum()))
    per_row = []
    for j in range(3):
        zj = queries[j] @ cands.T - log_q
        keep = [c for c in range(5) if c == j or cand_ids[c] != pos_ids[j]]
        per_row.append(-(zj[j] - np.log(np.exp(zj[keep]).sum())))
    assert per_row[0] == pytest.approx(alone)
    close(got, float(np.mean(per_row)))


def test_sampled_softmax_log_q_is_subtracted() -> None:
    """A candidate drawn more often gets a lower corrected logit: with equal raw logits, the
    loss is that of the logits -log q."""
    queries = t([[0.0, 0.0]])  # every raw logit is 0
    cands = t([[1.0, 0.0], [0.0, 1.0]])
    log_q = np.log([0.5, 0.25])
    got = sampled_softmax_loss(
        queries, cands, t(log_q), t([0], torch.int64), t([0, 1], torch.int64)
    )
    z = -log_q  # [log 2, log 4] → p(own) = 2 / 6
    close(got, float(-np.log(2 / 6)))
    assert float(got) == pytest.approx(float(np.log(3)))
    close(got, float(-(z[0] - np.log(np.exp(z).sum()))))


def test_sampled_softmax_temperature_divides_the_dot_products() -> None:
    rng = np.random.default_rng(1)
    queries, cands = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    log_q = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    ids = np.array([0, 1, 2, 3])
    expected = numpy_sampled_softmax(queries, cands, log_q, ids[:2], ids, temperature=0.5)
    got = sampled_softmax_loss(
        t(queries),
        t(cands),
        t(log_q),
        t(ids[:2], torch.int64),
        t(ids, torch.int64),
        temperature=0.5,
    )
    close(got, expected)


def test_sampled_softmax_masked_hit_gets_no_gradient() -> None:
    """An accidental hit is not a negative: the loss neither depends on it nor pushes it."""
    queries = torch.tensor([[0.3, -0.2]])
    # the own positive (item 5), an extra negative (item 8) and an extra that is item 5 again
    cands = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], requires_grad=True)
    pos, ids = t([5], torch.int64), t([5, 8, 5], torch.int64)
    loss = sampled_softmax_loss(queries, cands, torch.zeros(3), pos, ids)
    expected = cross_entropy(queries @ cands[:2].T, torch.tensor([0]))
    assert float(loss.detach()) == pytest.approx(float(expected.detach()))
    loss.backward()
    assert cands.grad is not None
    assert torch.equal(cands.grad[2], torch.zeros(2))
    assert bool((cands.grad[:2] != 0).any())
    moved = cands.detach().clone()
    moved[2] = torch.tensor([100.0, -100.0])  # would dominate the softmax if it counted
    again = sampled_softmax_loss(queries, moved, torch.zeros(3), pos, ids)
    assert float(again) == pytest.approx(float(loss.detach()))


# ---------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 3)), elements=finite),
    arrays(np.float32, 4, elements=finite),
    st.floats(0.05, 3.0),
)
def test_bpr_loss_decreases_as_the_positive_score_rises(
    neg: np.ndarray, pos_pool: np.ndarray, delta: float
) -> None:
    pos = torch.from_numpy(pos_pool[: neg.shape[0]].copy())
    negative = torch.from_numpy(neg)
    assert float(bpr_loss(pos + delta, negative)) < float(bpr_loss(pos, negative))
    # and rises with any negative score
    assert float(bpr_loss(pos, negative + delta)) > float(bpr_loss(pos, negative))
    assert float(bpr_loss(pos, negative)) > 0


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(0, 2**16),
)
def test_sampled_softmax_without_log_q_or_extras_is_in_batch_cross_entropy(
    batch: int, dim: int, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    queries = torch.randn(batch, dim, generator=gen)
    positives = torch.randn(batch, dim, generator=gen)
    ids = torch.arange(batch) * 3  # distinct positives: nothing is masked
    got = sampled_softmax_loss(queries, positives, torch.zeros(batch), ids, ids)
    expected = cross_entropy(queries @ positives.T, torch.arange(batch))
    assert float(got) == pytest.approx(float(expected), rel=1e-5, abs=1e-6)
    # a constant added to every log q changes nothing (softmax shift invariance)
    shifted = sampled_softmax_loss(queries, positives, torch.full((batch,), -2.5), ids, ids)
    assert float(shifted) == pytest.approx(float(got), rel=1e-5, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(2, 6)), elements=finite),
    st.data(),
)
def test_full_softmax_equals_multinomial_with_one_hot_counts(
    logits: np.ndarray, data: st.DataObject
) -> None:
    b, n = logits.shape
    targets = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=b, max_size=b)))
    counts = np.zeros_like(logits)
    counts[np.arange(b), targets] = 1.0
    full = full_softmax_loss(torch.from_numpy(logits), torch.from_numpy(targets))
    mult = multinomial_loss(torch.from_numpy(logits), torch.from_numpy(counts))
    assert float(full) == pytest.approx(float(mult), rel=1e-5, abs=1e-6)
    # adding a constant to a row of logits changes neither
    moved = multinomial_loss(torch.from_numpy(logits + 4.0), torch.from_numpy(counts))
    assert float(moved) == pytest.approx(float(mult), rel=1e-4, abs=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 4), st.just(1)), elements=finite),
    arrays(np.float32, 4, elements=finite),
    st.integers(1, 5),
)
def test_bce_averages_the_negatives(neg: np.ndarray, pos_pool: np.ndarray, copies: int) -> None:
    """Repeating each example's negative k times gives the loss of one: the negatives of one
    example weigh as much as its positive in total."""
    pos = torch.from_numpy(pos_pool[: neg.shape[0]].copy())
    one = bce_with_negatives(pos, torch.from_numpy(neg))
    many = bce_with_negatives(pos, torch.from_numpy(np.repeat(neg, copies, axis=1)))
    assert float(many) == pytest.approx(float(one), rel=1e-5, abs=1e-6)
    # a higher positive score lowers the loss, a higher negative score raises it
    assert float(bce_with_negatives(pos + 1.0, torch.from_numpy(neg))) < float(one)
    assert float(bce_with_negatives(pos, torch.from_numpy(neg + 1.0))) > float(one)
