"""Reading interactions files: layouts, column mappings, round trips and file:line errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recforge.data import Interactions, load, parse_columns, read_interactions, write_interactions
from recforge.data import readers as readers_module
from recforge.errors import DataError, DataWarning, ParameterError


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def triples(data: Interactions) -> set[tuple[str, str, float]]:
    u, i, v = data.coo()
    raw_u, raw_i = data.user_ids.to_raw(u), data.item_ids.to_raw(i)
    return {(str(a), str(b), float(c)) for a, b, c in zip(raw_u, raw_i, v, strict=True)}


# ----------------------------------------------------------------------------- layouts
def test_csv_with_a_movielens_style_header_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "userId,movieId,rating,timestamp\n1,10,4.5,100\n2,10,3,200\n")
    data = read_interactions(path)
    assert data.explicit
    assert triples(data) == {("1", "10", 4.5), ("2", "10", 3.0)}
    assert sorted(data.timestamps.tolist()) == [100, 200]


def test_headerless_tab_file_takes_user_item_rating_timestamp_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    data = read_interactions(path)
    assert data.nnz == 2
    assert data.explicit
    assert set(data.user_ids.raw_ids.tolist()) == {186, 196}


def test_double_colon_separator_is_sniffed(tmp_path: Path) -> None:
    path = write(tmp_path, "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
    data = read_interactions(path)
    assert triples(data) == {("1", "1193", 5.0), ("1", "661", 3.0)}


def test_two_columns_are_implicit_with_unit_weights(tmp_path: Path) -> None:
    path = write(tmp_path, "clicks.csv", "alice,shoe\nbob,hat\nalice,hat\n")
    data = read_interactions(path)
    assert not data.explicit
    assert triples(data) == {("alice", "shoe", 1.0), ("bob", "hat", 1.0), ("alice", "hat", 1.0)}


def test_bare_roles_map_positions_and_dash_skips(tmp_path: Path) -> None:
    path = write(tmp_path, "e.tsv", "x\t7\tu1\t2.5\nx\t8\tu2\t1\n")
    data = read_interactions(path, columns="-,item,user,weight")
    assert not data.explicit
    assert triples(data) == {("u1", "7", 2.5), ("u2", "8", 1.0)}


def test_role_equals_name_picks_header_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path, "events.csv", "when,who,what,score\n2024-01-02,a,x,1\n2024-01-01,b,y,5\n"
    )
    data = read_interactions(path, columns="user=who,item=what,rating=score,timestamp=when")
    assert triples(data) == {("a", "x", 1.0), ("b", "y", 5.0)}
    assert sorted(data.timestamps.tolist()) == [1704067200, 1704153600]


def test_a_session_column_replaces_the_user(tmp_path: Path) -> None:
    """A session log (no user at all) is read with sessions as the rows, detected or mapped."""
    text = "session_id,timestamp,item_id\ns1,3,a\ns1,1,b\ns2,2,a\n"
    path = write(tmp_path, "clicks.csv", text)
    for columns in (None, "session=session_id,item=item_id,timestamp=timestamp"):
        data = read_interactions(path, columns=columns)
        assert triples(data) == {("s1", "a", 1.0), ("s1", "b", 1.0), ("s2", "a", 1.0)}
        history = data.histories()
        s1 = int(data.user_ids.to_index(["s1"])[0])
        row = history.items[history.indptr[s1] : history.indptr[s1 + 1]]
        assert data.item_ids.to_raw(row).tolist() == ["b", "a"]  # by time
        assert data.rows == "session"
        assert "2 sessions × 2 items" in repr(data)
    assert read_interactions(path, columns="user=session_id,item=item_id").rows == "user"
    written = write_interactions(data, tmp_path / "again.tsv")
    assert written.read_text().splitlines()[0].split("\t")[0].strip('"') == "session"
    again = read_interactions(written)
    assert again.rows == "session"
    assert triples(again) == triples(data)
    assert next(iter(data.to_dataframe().columns)) == "session"


def test_repeated_clicks_in_a_session_log_are_named_as_such(tmp_path: Path) -> None:
    """A session that clicks an item twice: the warning (or the error) speaks of sessions and
    says where the merged item now sits in the session's sequence."""
    text = "session_id,timestamp,item_id\ns1,1,a\ns1,2,b\ns1,3,a\n"
    path = write(tmp_path, "clicks.csv", text)
    with pytest.warns(DataWarning, match=r"1 duplicate \(session, item\) rows.*latest click"):
        data = read_interactions(path)
    assert data.item_ids.to_raw(data.histories().items).tolist() == ["b", "a"]
    with pytest.warns(DataWarning, match=r"time of its first click"):
        data = read_interactions(path, duplicates="first")
    assert data.item_ids.to_raw(data.histories().items).tolist() == ["a", "b"]
    with pytest.raises(
        DataError, match=r"clicks.csv:4: repeats the \(session, item\) pair of line 2"
    ):
        read_interactions(path, duplicates="error")


def test_a_detected_session_column_wins_over_a_user_column(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", "user_id,session_id,item_id\nu1,s1,a\nu1,s2,b\n")
    data = read_interactions(path)
    assert sorted(data.user_ids.raw_ids.tolist()) == ["s1", "s2"]
    assert parse_columns("session,item").rows == "session"
    assert parse_columns("user,item").rows == "user"


def test_role_equals_position_works_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "5,a,x\n3,b,y\n")
    data = read_interactions(path, columns={"user": 1, "item": 2, "rating": 0})
    assert triples(data) == {("a", "x", 5.0), ("b", "y", 3.0)}


def test_parquet_by_detected_names_and_by_mapping(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"uid": ["a", "b"], "product_id": [1, 2], "clicks": [3.0, 1.0]}), path)
    detected = read_interactions(path)
    assert not detected.explicit
    assert triples(detected) == {("a", "1", 3.0), ("b", "2", 1.0)}
    mapped = read_interactions(path, columns="user=product_id,item=uid")
    assert triples(mapped) == {("1", "a", 1.0), ("2", "b", 1.0)}


def test_ids_typed_as_numbers_in_the_first_block_may_turn_to_text_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers_module, "_BLOCK_BYTES", 64)
    lines = [f"{u},{u % 7},1" for u in range(40)] + ["41,sku-9,1"]
    path = write(tmp_path, "mixed.csv", "\n".join(lines) + "\n")
    data = read_interactions(path)
    assert data.nnz == 41
    assert "sku-9" in set(data.item_ids.raw_ids.tolist())


@given(st.lists(st.integers(0, 10**30), min_size=1, max_size=8, unique=True))
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_integer_ids_of_any_size_are_never_merged(tmp_path: Path, users: list[int]) -> None:
    """Ids beyond int64 (which a float would round together) keep their text."""
    path = tmp_path / "big.csv"
    path.write_text("user,item,rating\n" + "".join(f"{u},{n % 3},4\n" for n, u in enumerate(users)))
    data = read_interactions(path)
    assert data.n_users == len(users)
    assert sorted(str(u) for u in data.user_ids.raw_ids.tolist()) == sorted(map(str, users))


def test_duplicates_keep_the_latest_by_default_and_warn(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "user,item,rating,timestamp\na,x,1,200\na,x,5,100\nb,x,2,1\n")
    with pytest.warns(DataWarning, match="1"):
        data = read_interactions(path)
    assert triples(data) == {("a", "x", 1.0), ("b", "x", 2.0)}
    with pytest.raises(
        DataError, match=rf"{path.name}:3: repeats the \(user, item\) pair of line 2"
    ):
        read_interactions(path, duplicates="error")


def test_a_duplicate_error_names_the_lines_past_blank_and_skipped_ones(tmp_path: Path) -> None:
    text = "user,item\n\nb,y\nbroken\na,x\nc,z\n\na,x\nb,y\n"
    path = write(tmp_path, "d.csv", text)
    with (
        pytest.warns(DataWarning, match="skipped 1 malformed"),
        pytest.raises(DataError, match=rf"{path.name}:8: repeats .* of line 5 \(2 repeated rows"),
    ):
        read_interactions(path, duplicates="error", on_bad_lines="skip")


def test_a_duplicate_error_in_parquet_names_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"user": [1, 2, 1], "item": [5, 5, 5]}), path)
    with pytest.raises(DataError, match=r"d.parquet: row 2 \(from 0\): repeats .* of row 0"):
        read_interactions(path, duplicates="error")


# ----------------------------------------------------------------------------- round trip
ids = st.one_of(
    st.lists(st.integers(-5, 10**6), min_size=1, max_size=30),
    st.lists(st.text("abcxyz-_.é", min_size=1, max_size=6), min_size=1, max_size=30),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    users=ids,
    items=ids,
    values=st.lists(st.floats(0.5, 5.0, width=16), min_size=30, max_size=30),
    explicit=st.booleans(),
    with_time=st.booleans(),
    suffix=st.sampled_from([".tsv", ".parquet"]),
)
def test_write_then_read_gives_equal_interactions(
    tmp_path: Path,
    users: list,
    items: list,
    values: list[float],
    explicit: bool,
    with_time: bool,
    suffix: str,
) -> None:
    n = min(len(users), len(items))
    times = np.arange(n, dtype=np.int64) * 7 + 1_600_000_000 if with_time else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # repeated pairs in the drawn ids
        original = Interactions.from_arrays(
            users[:n], items[:n], values[:n], times, explicit=explicit
        )
    path = write_interactions(original, tmp_path / f"rt{suffix}")
    back = read_interactions(path)
    assert back.explicit == original.explicit
    assert back.user_ids == original.user_ids
    assert back.item_ids == original.item_ids
    assert (back.matrix != original.matrix).nnz == 0
    if with_time:
        np.testing.assert_array_equal(back.timestamps, original.timestamps)
    else:
        assert back.timestamps is None


def test_load_dispatches_names_folders_and_files(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user,item\n1,2\n")
    assert load(path).nnz == 1
    with pytest.raises(DataError, match="no such file, and not a dataset name"):
        load(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="not a MovieLens folder"):
        load(tmp_path)
    with pytest.raises(ParameterError, match="format"):
        load(path, format="xlsx")


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("text", "kwargs", "pattern"),
    [
        ("", {}, "empty"),
        ("user,item,rating\n", {}, "header but no interactions"),
        ("user,item,rating\na,x,4\nb,y\nc,z,3\n", {}, r"r\.csv:3: expected 3 fields.*found 2"),
        ("user,item,rating\na,x,4\nb,y,good\n", {},
         r"r\.csv:3: column 'rating' = 'good'.*not a number"),
        ("user,item,rating\na,x,4\nb,y,NaN\n", {}, r"r\.csv:3: column 'rating'.*missing or NaN"),
        ("user,item,rating\na,x,4\nb,y,inf\n", {}, r"r\.csv:3: .*not a finite number"),
        ("user,item,rating\na,x,4\n,y,3\n", {}, r"r\.csv:3: column 'user'.*user id is missing"),
        ("user,item,rating\na,x,4\n", {"columns": "user=u,item=item"}, "no column named 'u'"),
        ("a,x,4\n", {"columns": "user=who,item=1"}, "no header"),
        ("a,x,4\n", {"columns": "user,item,rating,timestamp,-,weight"},
         "rating column or a weight"),
        ("a,x,4\n", {"columns": {"user": 0, "item": 5}}, "position 5.*3 columns"),
        ("a,x,4\n", {"columns": "user,thing"}, "unknown role 'thing'"),
        ("a,x,4\n", {"columns": "user,session,item"}, "a user column or a session column"),
        ("a,x,4\n", {"columns": "-,item,rating"}, "no user column.*session"),
        ("a,x,4\n", {"columns": "user,user=a"}, "mixes"),
        ("a,x,4\n", {"on_bad_lines": "ignore"}, "on_bad_lines"),
        ("a,x,4\n", {"duplicates": "newest"}, "duplicates"),
        ("user,item,time\na,x,yesterday\n", {"columns": "user=user,item=item,timestamp=time"},
         r"r\.csv:2: .*ISO-8601"),
    ],
)  # fmt: skip
def test_bad_input_gets_one_clear_line(
    tmp_path: Path, text: str, kwargs: dict, pattern: str
) -> None:
    path = write(tmp_path, "r.csv", text)
    with pytest.raises((DataError, ParameterError), match=pattern) as info:
        read_interactions(path, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_lines_can_be_skipped_and_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user,item,rating\na,x,4\nb,y\nc,z,3\nd,w,1,9\n")
    with pytest.warns(DataWarning, match=r"skipped 2 malformed lines \(first at .*r\.csv:3\)"):
        data = read_interactions(path, on_bad_lines="skip")
    assert triples(data) == {("a", "x", 4.0), ("c", "z", 3.0)}


def test_errors_after_skipped_lines_still_name_the_right_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user,item,rating\nb,y\n\na,x,4\nc,z,oops\n")
    with pytest.raises(DataError, match=r"r\.csv:5: .*'oops'"):
        read_interactions(path, on_bad_lines="skip")


def test_double_colon_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "ratings.dat", "1::10::5::1\n1::11::5\n")
    with pytest.raises(DataError, match=r"ratings\.dat:2: expected 4 fields"):
        read_interactions(path)


def test_wrong_encoding_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user,item\na,x\nb,Amélie\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"r\.csv:3: not valid utf-8.*latin-1"):
        read_interactions(path)
    assert read_interactions(path, encoding="latin-1").nnz == 2


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_interactions(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_interactions(tmp_path)


def test_parse_columns_forms() -> None:
    assert parse_columns(None) is None
    bare = parse_columns("user,-,item,rating")
    assert bare is not None
    assert bare.positional
    assert bare.roles == {"user": 0, "item": 2, "rating": 3}
    keyed = parse_columns("user=userId, item=3")
    assert keyed is not None
    assert keyed.roles == {"user": "userId", "item": 3}
    assert keyed.explicit is None
    with pytest.raises(ParameterError, match="no item column"):
        parse_columns("user=a")


def test_interactions_from_file_reads_like_read_interactions(tmp_path: Path) -> None:
    path = write(tmp_path, "r.tsv", "u1\ti1\t4\nu2\ti1\t2\n")
    data = Interactions.from_file(path, columns="user,item,rating")
    assert triples(data) == {("u1", "i1", 4.0), ("u2", "i1", 2.0)}


@pytest.mark.parametrize("codec", ["gzip", "bz2", "zstd"])
def test_compressed_files_are_read_by_their_bytes_whatever_their_name(
    tmp_path: Path, codec: str
) -> None:
    """A gzip file named .csv once got 'not valid utf-8; pass encoding=', the wrong advice."""
    text = "user,item,rating\nu1,i1,5\nu1,i2,3\nu2,i1,4\n"
    plain = tmp_path / "plain.csv"
    plain.write_text(text)
    packed = tmp_path / "ratings.csv"  # no compression suffix
    with pa.CompressedOutputStream(str(packed), codec) as sink:
        sink.write(text.encode())
    got, expected = read_interactions(packed), read_interactions(plain)
    assert (got.n_users, got.n_items, got.nnz) == (2, 2, 3)
    np.testing.assert_array_equal(got.matrix.toarray(), expected.matrix.toarray())


def test_errors_in_a_compressed_file_name_it_and_the_decompressed_line(tmp_path: Path) -> None:
    packed = tmp_path / "ratings.csv.gz"
    with pa.CompressedOutputStream(str(packed), "gzip") as sink:
        sink.write(b"user,item,rating\nu1,i1,5\nu1,i2,oops\n")
    with pytest.raises(DataError, match=rf"^{packed} \(decompressed\):3: column 'rating' = 'oops'"):
        read_interactions(packed)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(packed.read_bytes()[:20])
    with pytest.raises(DataError, match="looks gzip-compressed but cannot be decompressed"):
        read_interactions(cut)
