"""IdMap and factorize: known answers, bad input, and round-trip properties."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.data.idmap import IdMap, factorize
from recforge.errors import DataError, ParameterError


def test_factorize_ints_in_sorted_order() -> None:
    codes, ids = factorize([30, 10, 20, 30, 10])
    assert codes.dtype == np.int32
    assert codes.tolist() == [2, 0, 1, 2, 0]
    assert ids.raw_ids.tolist() == [10, 20, 30]
    assert ids.raw_ids.dtype == np.int64
    assert not ids.is_string


def test_factorize_sparse_ints_take_the_arrow_path() -> None:
    codes, ids = factorize(np.array([10**15, -5, 10**15, 7]))
    assert codes.tolist() == [2, 0, 2, 1]
    assert ids.raw_ids.tolist() == [-5, 7, 10**15]


def test_factorize_strings() -> None:
    codes, ids = factorize(["b", "a", "c", "a"])
    assert codes.tolist() == [1, 0, 2, 0]
    assert ids.raw_ids.tolist() == ["a", "b", "c"]
    assert ids.is_string


def test_factorize_arrow_chunked_strings() -> None:
    codes, ids = factorize(pa.chunked_array([["x", "y"], ["y", "w"]]))
    assert codes.tolist() == [1, 2, 2, 0]
    assert ids.raw_ids.tolist() == ["w", "x", "y"]


def test_factorize_whole_floats_become_ints() -> None:
    codes, ids = factorize([2.0, 1.0, 2.0])
    assert codes.tolist() == [1, 0, 1]
    assert ids.raw_ids.tolist() == [1, 2]


def test_factorize_mixed_objects_compare_as_strings() -> None:
    codes, ids = factorize(np.array([1, "a", 2], dtype=object))
    assert ids.raw_ids.tolist() == ["1", "2", "a"]
    assert codes.tolist() == [0, 2, 1]


def test_factorize_empty() -> None:
    codes, ids = factorize(np.array([], dtype=np.int64))
    assert codes.size == 0
    assert len(ids) == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.array(["a", None], dtype=object), "1 missing values"),
        (pa.array(["a", None, None]), "2 missing values"),
        ([1.0, np.nan], "missing values"),
        ([1.5, 2.0], "fractional"),
        ([2.0**60, 2.0**60 + 256], "above 2\\*\\*53"),
        ([True, False], "booleans"),
        ([[1, 2], [3, 4]], "1-D"),
    ],
)
def test_factorize_rejects_bad_ids(values: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        factorize(values, what="user")


def test_uint64_ids_beyond_int64_stay_distinct() -> None:
    big = np.array([2**64 - 1, 2**64 - 2, 5], dtype=np.uint64)
    codes, ids = factorize(big)
    assert len(ids) == 3
    assert ids.to_raw(codes).tolist() == ["18446744073709551615", "18446744073709551614", "5"]


def test_missing_value_message_names_the_column_role() -> None:
    with pytest.raises(DataError, match=r"^user column has 1 missing values; drop those rows"):
        factorize(np.array(["u1", None], dtype=object), what="user")


def test_to_index_and_to_raw_known_answers() -> None:
    ids = IdMap(["a", "c", "e"])
    assert ids.to_index(["e", "a"]).tolist() == [2, 0]
    assert ids.to_index(np.array([["c"], ["a"]])).tolist() == [[1], [0]]
    assert ids.to_raw([1, 2]).tolist() == ["c", "e"]
    assert ids.to_index(["b", "c"], missing="mask").tolist() == [-1, 1]


def test_to_index_unknown_id_names_it() -> None:
    ids = IdMap([1, 5, 9])
    with pytest.raises(DataError, match="unknown user 7: it is not among the 3 users"):
        ids.to_index([5, 7], what="user")


def test_to_index_bad_missing_policy() -> None:
    with pytest.raises(ParameterError, match="'missing' parameter of to_index"):
        IdMap([1]).to_index([1], missing="drop")


def test_int_map_accepts_digit_strings() -> None:
    ids = IdMap([1, 5, 9])
    assert ids.to_index(["9", "1"]).tolist() == [2, 0]
    assert ids.to_index(np.array(["5", "x"], dtype=object), missing="mask").tolist() == [1, -1]


def test_string_map_accepts_ints() -> None:
    ids = IdMap(["1", "2"])
    assert ids.to_index([2]).tolist() == [1]


def test_to_raw_rejects_out_of_range_and_non_integers() -> None:
    ids = IdMap([1, 5, 9])
    with pytest.raises(DataError, match=r"index 3 is out of range .* \[0, 3\)"):
        ids.to_raw([0, 3])
    with pytest.raises(DataError, match="index -1 is out of range"):
        ids.to_raw([-1])
    with pytest.raises(DataError, match="must be integers"):
        ids.to_raw(np.array([True, False]))


def test_idmap_must_be_sorted_and_unique() -> None:
    with pytest.raises(DataError, match="unique and sorted"):
        IdMap([3, 1])
    with pytest.raises(DataError, match="unique and sorted"):
        IdMap(["a", "a"])


def test_idmap_equality_and_hash() -> None:
    a, b = IdMap([1, 2, 3]), IdMap(np.array([1, 2, 3]))
    assert a == b
    assert hash(a) == hash(b)
    assert a != IdMap(["1", "2", "3"])
    assert a != IdMap([1, 2])
    assert a.raw_ids.flags.writeable is False


# ---------------------------------------------------------------------- properties
int_ids = st.lists(st.integers(-(2**40), 2**40), max_size=60) | st.lists(
    st.integers(0, 50), max_size=60
)
str_ids = st.lists(st.text(min_size=0, max_size=6), max_size=60)


@settings(deadline=None, max_examples=150)
@given(int_ids)
def test_factorize_round_trips_int_ids(values: list[int]) -> None:
    codes, ids = factorize(np.array(values, dtype=np.int64))
    assert ids.to_raw(codes).tolist() == values
    assert ids.raw_ids.tolist() == sorted(set(values))


@settings(deadline=None, max_examples=150)
@given(str_ids)
def test_factorize_round_trips_string_ids(values: list[str]) -> None:
    arr = np.array(values, dtype=str) if values else np.array([], dtype=str)
    codes, ids = factorize(arr)
    assert ids.to_raw(codes).tolist() == arr.tolist()
    assert ids.raw_ids.tolist() == sorted(set(arr.tolist()))


@settings(deadline=None, max_examples=100)
@given(
    st.lists(st.integers(-1000, 1000), min_size=1, unique=True)
    | st.lists(st.text(), min_size=1, unique=True)
)
def test_to_index_inverts_to_raw(values: list[object]) -> None:
    _, ids = factorize(np.array(values))
    idx = np.arange(len(ids))
    assert np.array_equal(ids.to_index(ids.to_raw(idx)), idx)
    assert np.array_equal(ids.to_index(ids.raw_ids), idx)


def test_uint64_ids_beyond_int64_stay_distinct_as_strings() -> None:
    values = np.array([2**63 + 5, 2**63 + 3, 2**63 + 5], dtype=np.uint64)
    codes, ids = factorize(values)
    assert codes.tolist() == [1, 0, 1]
    assert ids.raw_ids.tolist() == [str(2**63 + 3), str(2**63 + 5)]
    small, small_ids = factorize(np.array([9, 4, 9], dtype=np.uint64))
    assert small.tolist() == [1, 0, 1]
    assert small_ids.raw_ids.tolist() == [4, 9]
