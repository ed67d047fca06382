"""Interactions: construction policies, derived datasets, stats, and structural properties."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.data.idmap import IdMap
from recforge.data.interactions import Interactions, concat
from recforge.errors import DataError, DataWarning, ParameterError

Record = tuple[Any, Any, float, int | None]


def records(x: Interactions) -> list[Record]:
    """Every interaction as (raw user, raw item, value, timestamp), sorted."""
    rows, items, values = x.coo()
    users = x.user_ids.to_raw(rows).tolist()
    its = x.item_ids.to_raw(items).tolist()
    ts = [None] * x.nnz if x.timestamps is None else x.timestamps.tolist()
    return sorted(zip(users, its, values.tolist(), ts, strict=True))


def assert_canonical(x: Interactions) -> None:
    """CSR rows strictly increasing (sorted, no duplicates), arrays aligned and read-only."""
    m = x.matrix
    for u in range(x.n_users):
        cols = m.indices[m.indptr[u] : m.indptr[u + 1]]
        assert np.all(np.diff(cols) > 0)
    assert m.dtype == np.float32
    assert x.timestamps is None or x.timestamps.shape == (x.nnz,)
    assert not m.data.flags.writeable


# ---------------------------------------------------------------------- duplicates
DUP_USERS = ["a", "a", "a", "b", "b"]
DUP_ITEMS = ["x", "x", "y", "x", "x"]
DUP_VALUES = [1.0, 2.0, 3.0, 4.0, 5.0]
DUP_TIMES = [30, 10, 5, 1, 1]  # (a, x): the first row is the latest; (b, x): a tie


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("last", [("a", "x", 1.0, 30), ("a", "y", 3.0, 5), ("b", "x", 5.0, 1)]),
        ("first", [("a", "x", 2.0, 10), ("a", "y", 3.0, 5), ("b", "x", 4.0, 1)]),
        ("sum", [("a", "x", 3.0, 30), ("a", "y", 3.0, 5), ("b", "x", 9.0, 1)]),
        ("mean", [("a", "x", 1.5, 30), ("a", "y", 3.0, 5), ("b", "x", 4.5, 1)]),
    ],
)
def test_duplicate_policies(policy: Any, expected: list[Record]) -> None:
    with pytest.warns(DataWarning, match=rf"merged 2 duplicate .* duplicates='{policy}'"):
        x = Interactions.from_arrays(DUP_USERS, DUP_ITEMS, DUP_VALUES, DUP_TIMES, duplicates=policy)
    assert records(x) == expected
    assert_canonical(x)


def test_duplicate_last_without_timestamps_is_the_later_row() -> None:
    with pytest.warns(DataWarning):
        x = Interactions.from_arrays(DUP_USERS, DUP_ITEMS, DUP_VALUES)
    assert records(x) == [("a", "x", 2.0, None), ("a", "y", 3.0, None), ("b", "x", 5.0, None)]


def test_duplicate_error_names_the_rows() -> None:
    with pytest.raises(DataError, match=r"duplicate \(user, item\) pair at row 1 \(first at row 0"):
        Interactions.from_arrays(DUP_USERS, DUP_ITEMS, DUP_VALUES, DUP_TIMES, duplicates="error")


def test_unknown_duplicate_policy() -> None:
    with pytest.raises(ParameterError, match="'duplicates' parameter"):
        Interactions.from_arrays([1], [1], duplicates="max")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- construction
def test_from_arrays_known_answer(tiny_explicit: Interactions) -> None:
    x = tiny_explicit
    assert (x.n_users, x.n_items, x.nnz) == (4, 5, 10)
    assert x.explicit
    assert x.user_ids.raw_ids.tolist() == ["u1", "u2", "u3", "u4"]
    assert x.matrix.toarray().tolist() == [
        [5, 3, 4, 0, 0],
        [4, 0, 0, 2, 0],
        [0, 1, 5, 0, 4],
        [0, 0, 0, 3, 5],
    ]
    assert x.user_counts().tolist() == [3, 2, 3, 2]
    assert x.item_counts().tolist() == [2, 2, 2, 2, 2]
    assert x.binary().toarray().sum() == 10
    assert_canonical(x)


def test_implicit_by_default() -> None:
    x = Interactions.from_arrays([1, 2], [3, 3])
    assert not x.explicit
    assert x.matrix.data.tolist() == [1.0, 1.0]
    assert x.timestamps is None


def test_reusing_id_maps_rejects_unknown_ids(tiny_explicit: Interactions) -> None:
    x = Interactions.from_arrays(
        ["u2"], ["i5"], user_ids=tiny_explicit.user_ids, item_ids=tiny_explicit.item_ids
    )
    assert x.matrix.shape == (4, 5)
    assert x.matrix.toarray()[1, 4] == 1.0
    with pytest.raises(DataError, match="unknown item 'i9'"):
        Interactions.from_arrays(["u1"], ["i9"], item_ids=tiny_explicit.item_ids)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": [], "items": []}, "no interactions"),
        ({"users": [1, 2], "items": [1]}, "differ in length"),
        ({"users": [1, 2], "items": [1, 2], "values": [1.0, np.nan]}, "row 1 is nan"),
        ({"users": [1, 2], "items": [1, 2], "values": ["a", "b"]}, "must be numbers"),
        ({"users": [1], "items": [1], "timestamps": [np.nan]}, "timestamp at row 0 is missing"),
        ({"users": [1], "items": [1], "timestamps": ["soon"]}, "ISO-8601"),
        ({"users": [1], "items": [1], "timestamps": [np.datetime64("NaT")]}, "is missing"),
        ({"users": 1, "items": 1}, "1-D"),
    ],
)
def test_from_arrays_rejects_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        Interactions.from_arrays(**kwargs)


def test_timestamps_from_datetimes_and_iso_strings() -> None:
    a = Interactions.from_arrays([1], [1], None, ["1970-01-02T00:00:10"])
    b = Interactions.from_arrays([1], [1], None, np.array(["1970-01-02T00:00:10"], "M8[ms]"))
    assert a.timestamps is not None
    assert b.timestamps is not None
    assert a.timestamps.tolist() == b.timestamps.tolist() == [86_410]


def test_from_dataframe_known_answer() -> None:
    df = pd.DataFrame(
        {
            "uid": [7, 7, 9],
            "iid": ["x", "y", "x"],
            "stars": [4.0, 2.0, 5.0],
            "when": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"], utc=True),
        }
    )
    x = Interactions.from_dataframe(df, user="uid", item="iid", rating="stars", timestamp="when")
    assert records(x) == [
        (7, "x", 4.0, 1_577_836_800),
        (7, "y", 2.0, 1_577_923_200),
        (9, "x", 5.0, 1_578_009_600),
    ]
    assert x.explicit


def test_from_dataframe_weights_can_be_implicit() -> None:
    df = pd.DataFrame({"user": [1, 2], "item": [1, 1], "clicks": [3, 1]})
    x = Interactions.from_dataframe(df, rating="clicks", explicit=False)
    assert not x.explicit
    assert x.matrix.data.tolist() == [3.0, 1.0]


def test_from_arrow_table() -> None:
    table = pa.table({"user": ["a", "b"], "item": [1, 2], "t": pa.array([5, 6], pa.timestamp("s"))})
    x = Interactions.from_dataframe(table, timestamp="t")
    assert records(x) == [("a", 1, 1.0, 5), ("b", 2, 1.0, 6)]


def test_from_dataframe_names_the_missing_column() -> None:
    df = pd.DataFrame({"u": [1], "i": [2], "r": [3.0]})
    with pytest.raises(
        DataError, match=r"no item column 'item'; columns are \['u', 'i', 'r'\]\. Pass item="
    ):
        Interactions.from_dataframe(df, user="u")
    with pytest.raises(DataError, match="no timestamp column 'ts'"):
        Interactions.from_dataframe(df, user="u", item="i", timestamp="ts")


def test_from_dataframe_nan_rating() -> None:
    df = pd.DataFrame({"user": [1, 2, 3], "item": [1, 2, 3], "rating": [4.0, None, None]})
    with pytest.raises(
        DataError, match=r"DataFrame: rating/weight at row 1 is nan \(2 such rows\)"
    ):
        Interactions.from_dataframe(df, rating="rating")


def test_from_dataframe_missing_user_id() -> None:
    df = pd.DataFrame({"user": ["a", None], "item": [1, 2]})
    with pytest.raises(DataError, match="user column has 1 missing values"):
        Interactions.from_dataframe(df)


def test_direct_construction_is_checked(tiny_explicit: Interactions) -> None:
    m = tiny_explicit.matrix
    with pytest.raises(DataError, match="does not match the id maps"):
        Interactions(m, IdMap(["a"]), tiny_explicit.item_ids)
    bad = sp.csr_array(
        (np.ones(2, dtype=np.float32), np.array([1, 0]), np.array([0, 2, 2, 2, 2])), shape=(4, 5)
    )
    with pytest.raises(DataError, match="unsorted or repeated"):
        Interactions(bad, tiny_explicit.user_ids, tiny_explicit.item_ids)
    with pytest.raises(DataError, match="one entry per interaction"):
        Interactions(m, tiny_explicit.user_ids, tiny_explicit.item_ids, np.zeros(3, np.int64))
    converted = Interactions(
        sp.csr_matrix(m.astype(np.float64)), tiny_explicit.user_ids, tiny_explicit.item_ids
    )
    assert isinstance(converted.matrix, sp.csr_array)
    assert converted.matrix.dtype == np.float32
    assert converted.matrix.toarray().tolist() == m.toarray().tolist()


# ---------------------------------------------------------------------- views
def test_histories_in_time_order_ties_by_item() -> None:
    x = Interactions.from_arrays(["u", "u", "u", "v"], ["i3", "i1", "i2", "i1"], None, [5, 7, 5, 1])
    h = x.histories()
    assert h.of(0).tolist() == [1, 2, 0]  # i2 and i3 tie at t=5: by item index
    assert h.timestamps is not None
    assert h.timestamps[h.indptr[0] : h.indptr[1]].tolist() == [5, 5, 7]
    assert h.of(1).tolist() == [0]
    order = x.time_order()
    assert x.matrix.indices[order].tolist() == h.items.tolist()


def test_histories_without_timestamps_follow_item_index(tiny_explicit: Interactions) -> None:
    x = Interactions(tiny_explicit.matrix, tiny_explicit.user_ids, tiny_explicit.item_ids)
    h = x.histories()
    assert h.timestamps is None
    assert h.of(2).tolist() == [1, 2, 4]


def test_to_dataframe_round_trip(tiny_explicit: Interactions) -> None:
    df = tiny_explicit.to_dataframe()
    assert list(df.columns) == ["user", "item", "rating", "timestamp"]
    back = Interactions.from_dataframe(df, rating="rating", timestamp="timestamp")
    assert records(back) == records(tiny_explicit)


# ---------------------------------------------------------------------- derived datasets
def test_subset_and_compact(tiny_explicit: Interactions) -> None:
    mask = np.zeros(10, dtype=bool)
    mask[[0, 3]] = True  # (u1, i1) and (u2, i1)
    sub = tiny_explicit.subset(mask)
    assert sub.user_ids is tiny_explicit.user_ids
    assert sub.nnz == 2
    small = sub.compact()
    assert small.user_ids.raw_ids.tolist() == ["u1", "u2"]
    assert small.item_ids.raw_ids.tolist() == ["i1"]
    assert records(small) == records(sub)
    with pytest.raises(DataError, match="bool mask of shape"):
        tiny_explicit.subset(np.array([0, 3]))


def test_filter_k_core_iterates_until_stable() -> None:
    users = ["A", "A", "A", "B", "B", "C", "C", "D"]
    items = [1, 2, 3, 1, 2, 3, 4, 4]
    x = Interactions.from_arrays(users, items)
    core = x.filter(min_user_interactions=2, min_item_interactions=2)
    assert core.user_ids.raw_ids.tolist() == ["A", "B"]
    assert core.item_ids.raw_ids.tolist() == [1, 2]
    assert core.nnz == 4
    once = x.filter(min_user_interactions=2, min_item_interactions=2, iterate=False)
    assert once.user_ids.raw_ids.tolist() == ["A", "B", "C"]
    assert once.nnz == 7
    with pytest.raises(ParameterError, match="'min_user_interactions' parameter of filter"):
        x.filter(min_user_interactions=0)


def test_binarize(tiny_explicit: Interactions) -> None:
    b = tiny_explicit.binarize(4)
    assert not b.explicit
    assert b.user_ids is tiny_explicit.user_ids
    assert [(u, i) for u, i, _, _ in records(b)] == [
        ("u1", "i1"),
        ("u1", "i3"),
        ("u2", "i1"),
        ("u3", "i3"),
        ("u3", "i5"),
        ("u4", "i5"),
    ]
    assert set(b.matrix.data.tolist()) == {1.0}
    assert b.timestamps is not None
    assert sorted(b.timestamps.tolist()) == [
        1_000_000,
        1_000_200,
        1_000_300,
        1_000_600,
        1_000_700,
        1_000_900,
    ]
    with pytest.raises(DataError, match="needs explicit ratings"):
        b.binarize(1)


def test_restrict(tiny_explicit: Interactions) -> None:
    users, items = IdMap(["u1", "u2", "u9"]), IdMap(["i1", "i2"])
    r, dropped = tiny_explicit.restrict(users, items)
    assert dropped == 7
    assert r.user_ids is users
    assert records(r) == [
        ("u1", "i1", 5.0, 1_000_000),
        ("u1", "i2", 3.0, 1_000_100),
        ("u2", "i1", 4.0, 1_000_300),
    ]
    none, dropped_all = tiny_explicit.restrict(IdMap(["zz"]), items)
    assert (none.nnz, dropped_all, none.matrix.shape) == (0, 10, (1, 2))


def test_concat_rebuilds_the_whole(tiny_explicit: Interactions) -> None:
    mask = np.arange(10) % 3 == 0
    whole = concat([tiny_explicit.subset(mask), tiny_explicit.subset(~mask)])
    assert records(whole) == records(tiny_explicit)
    assert_canonical(whole)


def test_concat_later_part_wins_and_is_counted(tiny_explicit: Interactions) -> None:
    x = tiny_explicit
    doubled = Interactions(
        sp.csr_array((x.matrix.data * 2, x.matrix.indices, x.matrix.indptr), shape=x.matrix.shape),
        x.user_ids,
        x.item_ids,
        x.timestamps,
        True,
    )
    with pytest.warns(DataWarning, match="10 .* pairs appear in more than one part"):
        both = concat([x, doubled])
    assert records(both) == records(doubled)
    with pytest.raises(DataError, match="share id maps"):
        concat([x, Interactions.from_arrays(["u1"], ["i1"], [1.0], [0])])


def test_a_session_log_stays_one_through_every_derived_dataset() -> None:
    """rows="session" survives subset, compact, filter, restrict, binarize, concat and the
    splits, names the rows in repr and stats, and cannot be mixed with a log of users."""
    from recforge.data.split import leave_last_out, time_split

    log = Interactions.from_arrays(
        ["s1", "s1", "s1", "s2", "s2", "s3"],
        ["a", "b", "c", "a", "c", "b"],
        [1.0, 2.0, 1.0, 3.0, 1.0, 2.0],
        [1, 2, 3, 4, 5, 6],
        explicit=True,
        rows="session",
    )
    half = log.subset(np.arange(log.nnz) % 2 == 0)
    derived = [
        half,
        half.compact(),
        log.filter(min_item_interactions=2),
        log.restrict(IdMap(["s1", "s2"]), log.item_ids)[0],
        log.restrict(log.user_ids, log.item_ids)[0],
        log.binarize(2.0),
        concat([half, log.subset(np.arange(log.nnz) % 2 == 1)]),
    ]
    for split in (leave_last_out(log, test=1, valid=1), time_split(log, test_from=5)):
        derived += [split.train, split.test, split.train_valid()]
    assert [d.rows for d in derived] == ["session"] * len(derived)
    assert repr(log).startswith("Interactions(3 sessions × 3 items")
    assert log.stats().as_dict()["rows"] == "session"
    users = Interactions(log.matrix, log.user_ids, log.item_ids, log.timestamps, True)
    assert users.rows == "user"
    assert users.stats().rows == "user"
    with pytest.raises(DataError, match="cannot mix a log of sessions with one of users"):
        concat([log, users])
    with pytest.raises(ParameterError, match="'rows' parameter must be one of user, session"):
        Interactions.from_arrays(["s1"], ["a"], rows="visits")


# ---------------------------------------------------------------------- stats
def test_stats_known_answer(tiny_explicit: Interactions) -> None:
    s = tiny_explicit.stats()
    assert (s.n_users, s.n_items, s.n_interactions) == (4, 5, 10)
    assert s.density == pytest.approx(0.5)
    assert s.rating_histogram == {"1": 1, "2": 1, "3": 2, "4": 3, "5": 3}
    assert (s.time_min, s.time_max) == (1_000_000, 1_000_900)
    assert s.time_span_days == pytest.approx(900 / 86400)
    assert s.user_degree == {"min": 2.0, "median": 2.5, "mean": 2.5, "max": 3.0}
    d = s.as_dict()
    assert d["time_min"] == "1970-01-12T13:46:40+00:00"
    assert d["sparsity"] == pytest.approx(0.5)


def test_stats_bins_many_distinct_values() -> None:
    x = Interactions.from_arrays(np.arange(100), np.zeros(100, int), np.linspace(0, 1, 100))
    hist = x.stats().rating_histogram
    assert len(hist) == 10
    assert sum(hist.values()) == 100
    assert next(iter(hist)) == "[0, 0.1)"


def test_stats_implicit_without_time() -> None:
    s = Interactions.from_arrays([1, 2], [1, 1]).stats()
    assert s.rating_histogram == {}
    assert s.time_span_days is None


@pytest.mark.ml100k
def test_movielens_100k_known_counts(ml100k_dir: Path) -> None:
    df = pd.read_csv(ml100k_dir / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"])
    x = Interactions.from_dataframe(df, rating="rating", timestamp="timestamp")
    s = x.stats()
    assert (s.n_users, s.n_items, s.n_interactions) == (943, 1682, 100_000)
    assert s.rating_histogram == {"1": 6110, "2": 11370, "3": 27145, "4": 34174, "5": 21201}
    assert (s.time_min, s.time_max) == (874_724_710, 893_286_638)
    assert s.user_degree["min"] == 20.0
    assert s.user_degree["max"] == 737.0
    h = x.histories()
    assert h.timestamps is not None
    same_user = np.repeat(np.arange(943), np.diff(h.indptr))
    steps = np.diff(h.timestamps)[same_user[1:] == same_user[:-1]]
    assert bool((steps >= 0).all())
    core = x.filter(min_user_interactions=50, min_item_interactions=50)
    assert int(core.user_counts().min()) >= 50
    assert int(core.item_counts().min()) >= 50


# ---------------------------------------------------------------------- properties
rows_strategy = st.lists(
    st.tuples(
        st.integers(0, 6),  # user
        st.integers(0, 9),  # item
        st.integers(1, 5),  # value
        st.integers(0, 5),  # timestamp (few values: ties happen)
    ),
    min_size=1,
    max_size=80,
)


def build(rows: list[tuple[int, int, int, int]], policy: Any = "last") -> Interactions:
    u, i, v, t = (list(c) for c in zip(*rows, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return Interactions.from_arrays(u, i, v, t, duplicates=policy)


def reference(rows: list[tuple[int, int, int, int]], policy: str) -> list[Record]:
    """The duplicate policies written the slow, obvious way."""
    groups: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for pos, (u, i, v, t) in enumerate(rows):
        groups.setdefault((u, i), []).append((t, pos, v))
    out: list[Record] = []
    for (u, i), g in groups.items():
        g.sort()
        latest_t = g[-1][0]
        if policy == "last":
            out.append((u, i, float(g[-1][2]), latest_t))
        elif policy == "first":
            out.append((u, i, float(g[0][2]), g[0][0]))
        elif policy == "sum":
            out.append((u, i, float(sum(v for _, _, v in g)), latest_t))
        else:
            out.append((u, i, float(np.float32(sum(v for _, _, v in g) / len(g))), latest_t))
    return sorted(out)


@settings(deadline=None, max_examples=150)
@given(rows_strategy, st.sampled_from(["last", "first", "sum", "mean"]))
def test_duplicate_policies_match_reference(rows: list[Any], policy: str) -> None:
    x = build(rows, policy)
    assert records(x) == reference(rows, policy)
    assert_canonical(x)


@settings(deadline=None, max_examples=100)
@given(rows_strategy, st.data())
def test_subset_compact_concat_preserve_pairs(rows: list[Any], data: st.DataObject) -> None:
    x = build(rows)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=x.nnz, max_size=x.nnz)), bool)
    sub = x.subset(mask)
    expected = [r for r, keep in zip(records_in_csr_order(x), mask, strict=True) if keep]
    assert records(sub) == sorted(expected)
    assert_canonical(sub)
    small = sub.compact()
    assert records(small) == records(sub)
    assert bool((small.user_counts() > 0).all())
    assert bool((small.item_counts() > 0).all())
    assert records(concat([sub, x.subset(~mask)])) == records(x)


def records_in_csr_order(x: Interactions) -> list[Record]:
    rows, items, values = x.coo()
    ts = x.timestamps.tolist() if x.timestamps is not None else [None] * x.nnz
    return list(
        zip(
            x.user_ids.to_raw(rows).tolist(),
            x.item_ids.to_raw(items).tolist(),
            values.tolist(),
            ts,
            strict=True,
        )
    )


@settings(deadline=None, max_examples=100)
@given(rows_strategy)
def test_histories_are_sorted_per_user(rows: list[Any]) -> None:
    x = build(rows)
    h = x.histories()
    assert h.timestamps is not None
    for u in range(x.n_users):
        lo, hi = h.indptr[u], h.indptr[u + 1]
        pairs = list(zip(h.timestamps[lo:hi].tolist(), h.items[lo:hi].tolist(), strict=True))
        assert pairs == sorted(pairs)
        assert sorted(h.items[lo:hi].tolist()) == x.matrix.indices[lo:hi].tolist()


@settings(deadline=None, max_examples=60)
@given(rows_strategy)
def test_restrict_to_own_maps_is_identity(rows: list[Any]) -> None:
    x = build(rows)
    same, dropped = x.restrict(x.user_ids, x.item_ids)
    assert dropped == 0
    assert records(same) == records(x)


def test_fingerprint_hashed_in_chunks_is_the_digest_of_the_whole_arrays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunked hashing (no copy of a large array) gives the digest of the arrays hashed whole,
    so artifacts fingerprinted before keep matching."""
    import hashlib

    import recforge.data.interactions as module

    data = Interactions.from_arrays(["a", "bb", "a", "c"], ["x", "y", "zz", "x"], [1.0, 2, 3, 4])
    digest = hashlib.blake2b(digest_size=16)
    m = data.matrix
    for part in (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data,
                 data.user_ids.raw_ids, data.item_ids.raw_ids):  # fmt: skip
        array = np.ascontiguousarray(part)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    monkeypatch.setattr(module, "_DIGEST_CHUNK", 2)
    assert data.fingerprint() == digest.hexdigest()


def test_matrices_built_from_indices_keep_one_index_dtype_for_scipy() -> None:
    """scipy refuses a CSR whose indptr and indices differ in dtype (nonzero, tocoo)."""
    from recforge.data import synthetic_interactions

    m = synthetic_interactions(300, 100, 1000, seed=0).matrix
    assert m.indptr.dtype == m.indices.dtype
    rows, cols = m.nonzero()
    np.testing.assert_array_equal(cols, m.indices)
    assert rows.size == m.nnz
    np.testing.assert_array_equal(m.tocoo().toarray(), m.toarray())


@settings(deadline=None, max_examples=80)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), max_size=200),
    grouped=st.booleans(),  # rows past INSERTION_ROWS long take the radix sort
    wide=st.booleans(),  # columns on either side of byte boundaries: three radix passes
)
def test_stable_csr_is_the_stable_sort_by_row_then_column(
    pairs: list[tuple[int, int]], grouped: bool, wide: bool
) -> None:
    """Columns ascend within a row and repeated pairs keep their input order, whether the pairs
    come grouped by row (the sorted-file path) or in any order."""
    from recforge.data.csr_kernel import stable_csr

    if grouped:
        pairs = sorted(pairs, key=lambda pair: pair[0])  # stable: columns keep their order
    rows = np.array([p[0] for p in pairs], dtype=np.int64)
    columns = np.array([0, 255, 256, 70_000, 131_071] if wide else [0, 1, 2, 3, 4])
    cols = columns[[p[1] for p in pairs]].astype(np.int64)
    indptr, indices, origin = stable_csr(rows, cols, 7, int(columns[-1]) + 1)
    order = np.lexsort((np.arange(rows.size), cols, rows))
    np.testing.assert_array_equal(origin, order)
    np.testing.assert_array_equal(indices, cols[order])
    counts = np.bincount(rows, minlength=7)
    np.testing.assert_array_equal(indptr, np.concatenate([[0], np.cumsum(counts)]))
    assert indptr.dtype == indices.dtype == origin.dtype == np.int32


@pytest.mark.parametrize("grouped", [True, False])
def test_stable_csr_sorts_long_rows_on_every_byte_of_the_column(grouped: bool) -> None:
    """Rows far past INSERTION_ROWS, columns up to 2²⁰ and on both sides of byte boundaries,
    repeats included: the stable order by row, then column."""
    from recforge.data.csr_kernel import INSERTION_ROWS, stable_csr, take

    rng = np.random.default_rng(3)
    edges = np.array([0, 255, 256, 65_535, 65_536, 70_000, 1 << 20])
    n = 40 * INSERTION_ROWS
    cols = np.where(rng.random(n) < 0.5, edges[rng.integers(0, edges.size, n)],
                    rng.integers(0, (1 << 20) + 1, n))  # fmt: skip
    rows = rng.integers(0, 3, n)
    if grouped:
        rows = np.sort(rows)
    _, indices, origin = stable_csr(rows, cols, 3, (1 << 20) + 1)
    order = np.lexsort((np.arange(n), cols, rows))
    np.testing.assert_array_equal(origin, order)
    np.testing.assert_array_equal(indices, cols[order])
    times = rng.integers(0, 10**9, n)
    np.testing.assert_array_equal(take(times, origin), times[order])
