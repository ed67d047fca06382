"""Splits: known answers on the tiny dataset, parameter errors, and partition properties."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from recforge.data.interactions import Interactions
from recforge.data.split import (
    SPLIT_METHODS,
    Split,
    kfold,
    leave_last_out,
    random_split,
    split,
    time_split,
    user_split,
)
from recforge.errors import DataError, ParameterError

Pair = tuple[str, str]


def pairs(x: Interactions | None) -> set[Pair]:
    """(raw user, raw item) of every interaction."""
    if x is None:
        return set()
    rows, items, _ = x.coo()
    users = x.user_ids.to_raw(rows).tolist()
    return set(zip(users, x.item_ids.to_raw(items).tolist(), strict=True))


def records(x: Interactions) -> set[tuple[Any, ...]]:
    """(user, item, value, timestamp) of every interaction."""
    rows, items, values = x.coo()
    ts = x.timestamps.tolist() if x.timestamps is not None else [None] * x.nnz
    users = x.user_ids.to_raw(rows).tolist()
    return set(zip(users, x.item_ids.to_raw(items).tolist(), values.tolist(), ts, strict=True))


def assert_partition(data: Interactions, s: Split) -> None:
    """Parts share data's id maps, are disjoint, and together are exactly data."""
    parts = [s.train, s.test] + ([s.valid] if s.valid is not None else [])
    for part in parts:
        assert part.user_ids is data.user_ids
        assert part.item_ids is data.item_ids
        assert part.explicit == data.explicit
    assert sum(p.nnz for p in parts) == data.nnz
    union: set[tuple[Any, ...]] = set()
    for part in parts:
        union |= records(part)
    assert union == records(data)


def without_time(x: Interactions) -> Interactions:
    return Interactions(x.matrix, x.user_ids, x.item_ids, None, x.explicit)


# ---------------------------------------------------------------------- known answers
def test_leave_last_out_known_answer(tiny_explicit: Interactions) -> None:
    s = leave_last_out(tiny_explicit)
    assert pairs(s.test) == {("u1", "i3"), ("u2", "i4"), ("u3", "i5"), ("u4", "i5")}
    assert s.valid is None
    assert s.train.nnz == 6
    r = s.report()
    assert (r.method, r.train, r.valid, r.test, r.test_users) == ("leave-last-out", 6, None, 4, 4)
    assert r.test_cold.as_dict() == {
        "users": 0,
        "items": 1,  # i5 is only ever the last item
        "user_interactions": 0,
        "item_interactions": 2,
    }
    assert r.users_kept_in_train == 0


def test_leave_last_out_with_valid_keeps_short_users_in_train(tiny_explicit: Interactions) -> None:
    s = leave_last_out(tiny_explicit, test=1, valid=1)
    assert pairs(s.test) == {("u1", "i3"), ("u3", "i5")}
    assert pairs(s.valid) == {("u1", "i2"), ("u3", "i3")}
    assert pairs(s.train) == {
        ("u1", "i1"),
        ("u2", "i1"),
        ("u2", "i4"),
        ("u3", "i2"),
        ("u4", "i4"),
        ("u4", "i5"),
    }
    r = s.report()
    assert r.users_kept_in_train == 2
    assert r.valid == 2
    assert r.valid_cold is not None
    assert r.valid_cold.items == 1  # i3: u1 and u3 both hold it out
    assert "2 users had too few interactions" in str(r)


def test_user_split_by_time_known_answer(tiny_explicit: Interactions) -> None:
    s = user_split(tiny_explicit, test=0.5, order="time")
    # 3 interactions → round(1.5) = 2 held out; 2 interactions → 1 held out.
    assert pairs(s.test) == {
        ("u1", "i2"),
        ("u1", "i3"),
        ("u2", "i4"),
        ("u3", "i3"),
        ("u3", "i5"),
        ("u4", "i5"),
    }
    assert s.report().method == "user-time"


def test_user_split_min_train(tiny_explicit: Interactions) -> None:
    s = user_split(tiny_explicit, test=0.5, min_train=2, seed=4)
    assert s.test.user_counts().tolist() == [1, 0, 1, 0]
    assert s.train.user_counts().tolist() == [2, 2, 2, 2]
    assert s.report().users_kept_in_train == 2


def test_user_split_random_counts_per_user(tiny_explicit: Interactions) -> None:
    s = user_split(tiny_explicit, test=0.5, seed=1)
    assert s.test.user_counts().tolist() == [2, 1, 2, 1]
    assert s.train.user_counts().tolist() == [1, 1, 1, 1]
    v = user_split(tiny_explicit, test=0.34, valid=0.34, seed=1)
    assert v.valid is not None
    assert v.test.user_counts().tolist() == [1, 0, 1, 0]
    assert v.valid.user_counts().tolist() == [1, 0, 1, 0]
    assert v.report().users_kept_in_train == 2


def test_time_split_known_answer(tiny_explicit: Interactions) -> None:
    s = time_split(tiny_explicit, test_from=1_000_600)
    assert pairs(s.test) == {("u3", "i3"), ("u3", "i5"), ("u4", "i4"), ("u4", "i5")}
    iso = time_split(tiny_explicit, test_from="1970-01-12T13:56:40")
    assert pairs(iso.test) == pairs(s.test)
    v = time_split(tiny_explicit, test_from=1_000_600, valid_from=1_000_400)
    assert pairs(v.valid) == {("u2", "i4"), ("u3", "i2")}
    assert v.train.nnz == 4
    r = v.report()
    assert r.test_cold.users == 2  # u3 and u4 have nothing before valid_from
    assert r.test_cold.user_interactions == 4


def test_random_split_sizes(tiny_explicit: Interactions) -> None:
    s = random_split(tiny_explicit, test=0.2, valid=0.1, seed=3)
    assert (s.train.nnz, s.test.nnz) == (7, 2)
    assert s.valid is not None
    assert s.valid.nnz == 1
    assert_partition(tiny_explicit, s)


def test_kfold_sizes_and_partition(tiny_explicit: Interactions) -> None:
    folds = kfold(tiny_explicit, k=3, seed=2)
    assert sorted(f.test.nnz for f in folds) == [3, 3, 4]
    tests = [records(f.test) for f in folds]
    assert set().union(*tests) == records(tiny_explicit)
    assert sum(len(t) for t in tests) == tiny_explicit.nnz
    for f in folds:
        assert f.valid is None
        assert_partition(tiny_explicit, f)
    assert folds[0].report().method == "kfold 1/3"


def test_report_counts_cold_start(tiny_explicit: Interactions) -> None:
    x = tiny_explicit
    rows, _, _ = x.coo()
    train_mask = rows <= 1  # u1, u2
    s = Split(train=x.subset(train_mask), valid=None, test=x.subset(~train_mask))
    r = s.report()
    assert r.test_users == 2
    assert r.test_cold.as_dict() == {
        "users": 2,
        "items": 1,
        "user_interactions": 5,
        "item_interactions": 2,
    }
    d = r.as_dict()
    assert d["method"] == "custom"
    assert d["test_cold"]["users"] == 2
    assert "test users unseen in train: 2 (5 interactions)" in str(r)


def test_split_parts_must_share_id_maps(tiny_explicit: Interactions) -> None:
    other = Interactions.from_arrays(["u1"], ["i1"])
    with pytest.raises(DataError, match="share train's id maps"):
        Split(train=tiny_explicit, valid=None, test=other)


def test_train_valid_joins_the_parts(tiny_explicit: Interactions) -> None:
    s = leave_last_out(tiny_explicit, test=1, valid=1)
    joined = s.train_valid()
    assert records(joined) == records(s.train) | records(s.valid)  # type: ignore[arg-type]
    plain = leave_last_out(tiny_explicit)
    assert plain.train_valid() is plain.train


# ---------------------------------------------------------------------- dispatcher
def test_split_dispatches_by_name(tiny_explicit: Interactions) -> None:
    assert pairs(split(tiny_explicit, "leave-last-out", test=1).test) == pairs(
        leave_last_out(tiny_explicit).test
    )
    assert pairs(split(tiny_explicit, "user-time", test=0.5, seed=9).test) == pairs(
        user_split(tiny_explicit, test=0.5, order="time").test
    )
    assert pairs(split(tiny_explicit, "user", test=0.5, seed=9).test) == pairs(
        user_split(tiny_explicit, test=0.5, seed=9).test
    )
    assert pairs(split(tiny_explicit, "random", test=0.3, seed=5).test) == pairs(
        random_split(tiny_explicit, test=0.3, seed=5).test
    )
    assert pairs(split(tiny_explicit, "time", test_from=1_000_600).test) == pairs(
        time_split(tiny_explicit, test_from=1_000_600).test
    )
    assert set(SPLIT_METHODS) == {"random", "user", "user-time", "leave-last-out", "time"}


def test_split_unknown_method_lists_the_valid_ones(tiny_explicit: Interactions) -> None:
    msg = (
        "The 'method' parameter of split must be one of 'random', 'user', 'user-time', "
        "'leave-last-out', 'time'. Got 'temporal' instead."
    )
    with pytest.raises(ParameterError, match=re.escape(msg)):
        split(tiny_explicit, "temporal")


def test_split_unexpected_parameter(tiny_explicit: Interactions) -> None:
    with pytest.raises(
        ParameterError, match="'time' takes test_from, valid_from; got unexpected seed"
    ):
        split(tiny_explicit, "time", test_from=1, seed=0)
    with pytest.raises(ParameterError, match="unexpected order"):
        split(tiny_explicit, "user-time", order="random")


# ---------------------------------------------------------------------- parameter errors
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda d: random_split(d, test=1.5),
            "The 'test' parameter of random_split must be a finite number > 0 and < 1. "
            "Got 1.5 instead.",
        ),
        (
            lambda d: random_split(d, test=0.5, valid=0.5),
            "The 'test' and 'valid' parameters of random_split must add up to less than 1",
        ),
        (
            lambda d: user_split(d, order="latest"),
            "The 'order' parameter of user_split must be one of 'random', 'time'. "
            "Got 'latest' instead.",
        ),
        (
            lambda d: user_split(d, min_train=0),
            "The 'min_train' parameter of user_split must be an int ≥ 1. Got 0 instead.",
        ),
        (
            lambda d: leave_last_out(d, test=0),
            "The 'test' parameter of leave_last_out must be an int ≥ 1. Got 0 instead.",
        ),
        (lambda d: kfold(d, k=1), "The 'k' parameter of kfold must be an int in [2, 10]."),
        (lambda d: kfold(d, k=11), "Got 11 instead."),
        (lambda d: random_split(d, seed=-1), "The 'seed' parameter of random_split"),
        (
            lambda d: time_split(d, test_from="next week"),
            "The 'test_from' parameter of time_split must be epoch seconds or an ISO date",
        ),
        (
            lambda d: time_split(d, test_from=1_000_500, valid_from=1_000_600),
            "The 'valid_from' parameter of time_split must be earlier than test_from",
        ),
    ],
)
def test_parameter_errors(tiny_explicit: Interactions, call: Any, message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        call(tiny_explicit)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: leave_last_out(d),
        lambda d: user_split(d, order="time"),
        lambda d: time_split(d, test_from=0),
    ],
)
def test_time_based_splits_need_timestamps(tiny_explicit: Interactions, call: Any) -> None:
    with pytest.raises(DataError, match="needs timestamps and these interactions have none"):
        call(without_time(tiny_explicit))


def test_time_split_empty_parts_are_errors(tiny_explicit: Interactions) -> None:
    with pytest.raises(DataError, match="no interaction at or after 1970-01-12T14:03:20"):
        time_split(tiny_explicit, test_from=1_001_000)
    with pytest.raises(DataError, match=r"no interaction before .* for train"):
        time_split(tiny_explicit, test_from=1_000_000)
    with pytest.raises(DataError, match="for valid"):
        time_split(tiny_explicit, test_from=1_000_600, valid_from=1_000_550)


def test_random_user_splits_work_without_timestamps(tiny_explicit: Interactions) -> None:
    x = without_time(tiny_explicit)
    assert_partition(x, random_split(x, test=0.3))
    assert_partition(x, user_split(x, test=0.3))


# ---------------------------------------------------------------------- properties
@st.composite
def interactions(draw: st.DrawFn) -> Interactions:
    """Up to 150 distinct (user, item) pairs over 12 users × 20 items, ratings, few timestamps."""
    pair_set = draw(
        st.sets(st.tuples(st.integers(0, 11), st.integers(0, 19)), min_size=2, max_size=150)
    )
    ordered = sorted(pair_set)
    ts = draw(st.lists(st.integers(0, 30), min_size=len(ordered), max_size=len(ordered)))
    users = np.array([f"u{u}" for u, _ in ordered])
    items = np.array([i for _, i in ordered])
    ratings = np.arange(len(ordered)) % 5 + 1
    return Interactions.from_arrays(users, items, ratings, np.array(ts))


fractions = st.sampled_from([0.1, 0.2, 0.25, 0.5])
valid_fractions = st.sampled_from([0.0, 0.1, 0.3])
seeds = st.integers(0, 2**32 - 1)


@settings(deadline=None, max_examples=60)
@given(interactions(), fractions, valid_fractions, seeds)
def test_random_split_partitions(x: Interactions, t: float, v: float, seed: int) -> None:
    s = random_split(x, test=t, valid=v, seed=seed)
    assert_partition(x, s)
    assert s.test.nnz == int(np.floor(t * x.nnz + 0.5))
    again = random_split(x, test=t, valid=v, seed=seed)
    assert records(again.test) == records(s.test)


@settings(deadline=None, max_examples=60)
@given(
    interactions(),
    fractions,
    valid_fractions,
    st.sampled_from(["random", "time"]),
    st.integers(1, 3),
    seeds,
)
def test_user_split_properties(
    x: Interactions, t: float, v: float, order: str, min_train: int, seed: int
) -> None:
    s = user_split(x, test=t, valid=v, order=order, min_train=min_train, seed=seed)
    assert_partition(x, s)
    counts = x.user_counts()
    held = s.test.user_counts() + (s.valid.user_counts() if s.valid is not None else 0)
    need = min_train + 1 + (1 if v > 0 else 0)
    split_users = counts >= need
    assert np.array_equal(held > 0, split_users)
    assert bool((s.train.user_counts()[split_users] >= min_train).all())
    assert bool((s.test.user_counts()[split_users] >= 1).all())
    assert s.report().users_kept_in_train == int(((counts > 0) & ~split_users).sum())
    if order == "time":
        assert_latest_in_test(s)
    again = user_split(x, test=t, valid=v, order=order, min_train=min_train, seed=seed)
    assert records(again.test) == records(s.test)


def assert_latest_in_test(s: Split) -> None:
    """Per user: every test (time, item) follows every valid one, which follows every train."""

    def by_user(x: Interactions | None) -> dict[int, list[tuple[int, int]]]:
        out: dict[int, list[tuple[int, int]]] = defaultdict(list)
        if x is None:
            return out
        assert x.timestamps is not None
        rows, items, _ = x.coo()
        for u, i, t in zip(rows.tolist(), items.tolist(), x.timestamps.tolist(), strict=True):
            out[u].append((t, i))
        return out

    train, valid, test = by_user(s.train), by_user(s.valid), by_user(s.test)
    for u in set(train) | set(valid) | set(test):
        for early, late in ((train, valid), (valid, test), (train, test)):
            if early.get(u) and late.get(u):
                assert max(early[u]) < min(late[u])


@settings(deadline=None, max_examples=60)
@given(interactions(), st.integers(1, 3), st.integers(0, 2))
def test_leave_last_out_properties(x: Interactions, k: int, kv: int) -> None:
    s = leave_last_out(x, test=k, valid=kv)
    assert_partition(x, s)
    assert_latest_in_test(s)
    counts = x.user_counts()
    eligible = counts > k + kv
    assert np.array_equal(s.test.user_counts(), np.where(eligible, k, 0))
    if s.valid is not None:
        assert np.array_equal(s.valid.user_counts(), np.where(eligible, kv, 0))
    assert s.report().users_kept_in_train == int(((counts > 0) & ~eligible).sum())


@settings(deadline=None, max_examples=60)
@given(interactions(), st.data())
def test_time_split_respects_the_cutoff(x: Interactions, data: st.DataObject) -> None:
    assert x.timestamps is not None
    lo, hi = int(x.timestamps.min()), int(x.timestamps.max())
    assume(hi - lo >= 2)
    cut = data.draw(st.integers(lo + 1, hi))
    s = time_split(x, test_from=cut)
    assert_partition(x, s)
    assert s.test.timestamps is not None
    assert s.train.timestamps is not None
    assert int(s.test.timestamps.min()) >= cut
    assert int(s.train.timestamps.max()) < cut


@settings(deadline=None, max_examples=40)
@given(interactions(), st.integers(2, 6), seeds)
def test_kfold_folds_partition_the_data(x: Interactions, k: int, seed: int) -> None:
    assume(x.nnz >= k)
    folds = kfold(x, k=k, seed=seed)
    assert len(folds) == k
    seen: set[tuple[Any, ...]] = set()
    for f in folds:
        assert_partition(x, f)
        part = records(f.test)
        assert not part & seen
        seen |= part
    assert seen == records(x)
    sizes = [f.test.nnz for f in folds]
    assert max(sizes) - min(sizes) <= 1


@settings(deadline=None, max_examples=30)
@given(interactions(), fractions, seeds)
def test_report_matches_a_direct_count(x: Interactions, t: float, seed: int) -> None:
    s = random_split(x, test=t, seed=seed)
    r = s.report()
    train_users = {u for u, _ in pairs(s.train)}
    train_items = {i for _, i in pairs(s.train)}
    test_pairs = pairs(s.test)
    assert r.test_cold.users == len({u for u, _ in test_pairs} - train_users)
    assert r.test_cold.items == len({i for _, i in test_pairs} - train_items)
    assert r.test_cold.user_interactions == sum(u not in train_users for u, _ in test_pairs)
    assert r.test_cold.item_interactions == sum(i not in train_items for _, i in test_pairs)
    assert r.train + r.test == x.nnz


def test_different_seeds_give_different_splits() -> None:
    rng = np.random.default_rng(0)
    flat = rng.choice(200 * 300, size=3000, replace=False)
    x = Interactions.from_arrays(flat // 300, flat % 300, None, rng.integers(0, 10**6, 3000))
    assert records(random_split(x, seed=0).test) != records(random_split(x, seed=1).test)
    assert records(user_split(x, seed=0).test) != records(user_split(x, seed=1).test)
    assert records(kfold(x, seed=0)[0].test) != records(kfold(x, seed=1)[0].test)
    assert records(random_split(x, seed=7).test) == records(random_split(x, seed=7).test)
