"""The parallel fast path for numeric files gives exactly what the general reader gives."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recforge.data import Interactions, read_interactions
from recforge.data import numeric_csv as numeric_module
from recforge.data import readers as readers_module
from recforge.errors import DataError, DataWarning

Record = tuple[Any, Any, float, Any]


def records(data: Interactions) -> list[Record]:
    u, i, v = data.coo()
    ts = data.timestamps if data.timestamps is not None else [None] * data.nnz
    raw_u, raw_i = data.user_ids.to_raw(u), data.item_ids.to_raw(i)
    return [
        (int(a), int(b), float(c), None if t is None else int(t))
        for a, b, c, t in zip(raw_u, raw_i, v, ts, strict=True)
    ]


class FastPathSpy:
    """Counts how often the fast path ran to the end (rather than giving up)."""

    def __init__(self) -> None:
        self.finished = 0
        self.gave_up = 0

    def __call__(self, layout: numeric_module.NumericLayout) -> pa.Table | None:
        table = numeric_module.read_numeric_columns(layout, threads=3)
        if table is None:
            self.gave_up += 1
        else:
            self.finished += 1
        return table


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> FastPathSpy:
    """Every file takes the fast path, in three ranges of tiny blocks."""
    spy = FastPathSpy()
    monkeypatch.setattr(readers_module, "_FAST_MIN_BYTES", 0)
    monkeypatch.setattr(readers_module, "read_numeric_columns", spy)
    monkeypatch.setattr(numeric_module, "_MIN_RANGE_BYTES", 8)
    monkeypatch.setattr(numeric_module, "_BLOCK_BYTES", 64)
    return spy


def general(path: Path, **options: Any) -> Interactions:
    """The same file through the general reader only."""
    saved = readers_module._FAST_MIN_BYTES
    readers_module._FAST_MIN_BYTES = 1 << 62
    try:
        return read_interactions(path, **options)
    finally:
        readers_module._FAST_MIN_BYTES = saved


def numbered(count: int, *, start: int = 0) -> list[str]:
    return [f"{u % 13},{(u * 7) % 29},{1 + u % 5}.5,{1000 + u}" for u in range(start, count)]


rows_strategy = st.lists(
    st.tuples(
        st.integers(-50, 50) | st.integers(2**31, 2**40),  # user (some beyond int32)
        st.integers(0, 30),  # item
        st.integers(0, 10).map(lambda v: v / 2),  # rating
        st.integers(0, 2**33),  # timestamp
    ),
    min_size=1,
    max_size=120,
)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=rows_strategy,
    sep=st.sampled_from([",", "\t", ";"]),
    header=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_fast_path_equals_the_general_reader(
    tmp_path: Path, fast: FastPathSpy, rows: list[Any], sep: str, header: bool, newline: str
) -> None:
    lines = [sep.join(str(f) for f in row) for row in rows]
    if header:
        lines.insert(0, sep.join(["user", "item", "rating", "timestamp"]))
    path = tmp_path / "r.csv"
    path.write_text(newline.join(lines) + newline)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # duplicates
        before = fast.finished
        got = read_interactions(path, sep=sep, header=header)
        assert fast.finished == before + 1
        expected = general(path, sep=sep, header=header)
    assert records(got) == records(expected)
    assert np.array_equal(got.user_ids.raw_ids, expected.user_ids.raw_ids)
    assert got.user_ids.raw_ids.dtype == expected.user_ids.raw_ids.dtype


def test_ranges_are_cut_at_line_ends_and_keep_the_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(numeric_module, "_MIN_RANGE_BYTES", 8)
    monkeypatch.setattr(numeric_module, "_BLOCK_BYTES", 256)
    lines = numbered(500)
    path = tmp_path / "n.csv"
    path.write_text("u,i,r,t\n" + "\n".join(lines) + "\n")
    start = len("u,i,r,t\n")
    cuts = numeric_module._cut_points(path, start, path.stat().st_size, threads=4)
    assert len(cuts) == 5
    assert (cuts[0], cuts[-1]) == (start, path.stat().st_size)
    raw = path.read_bytes()
    assert all(raw[c - 1 : c] == b"\n" for c in cuts[1:-1])
    layout = numeric_module.NumericLayout(
        path=path,
        sep=",",
        encoding="utf-8",
        names=["u", "i", "r", "t"],
        wanted={"user": 0, "item": 1, "value": 2, "timestamp": 3},
        types={
            "user": pa.int32(),
            "item": pa.int32(),
            "value": pa.float32(),
            "timestamp": pa.int64(),
        },
        data_start=start,
    )
    table = numeric_module.read_numeric_columns(layout, threads=4)
    assert table is not None
    reference = pacsv.read_csv(path)
    assert table.column("user").to_pylist() == reference.column("u").to_pylist()
    assert table.column("timestamp").to_pylist() == reference.column("t").to_pylist()
    assert table.column("value").to_pylist() == reference.column("r").to_pylist()


def test_a_malformed_line_past_the_sample_still_gets_file_and_line(
    tmp_path: Path, fast: FastPathSpy
) -> None:
    lines = numbered(300)
    lines[200] = "3,4"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{path.name}:201: expected 4 fields"):
        read_interactions(path)
    assert fast.gave_up == 1


def test_a_missing_rating_past_the_sample_is_reported_by_line(
    tmp_path: Path, fast: FastPathSpy
) -> None:
    lines = numbered(300)
    lines[250] = "3,4,,1000"
    path = tmp_path / "gap.csv"
    path.write_text("user,item,rating,timestamp\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{path.name}:252: column 'rating' = ''"):
        read_interactions(path)
    assert fast.gave_up == 1


@pytest.mark.parametrize(
    ("line", "kind"),
    [("3,4,2.0,2024-01-01T00:00:00", "a date"), ("5000000000,4,2.0,7", "an int64 id")],
)
def test_a_late_surprise_falls_back_to_the_same_result(
    tmp_path: Path, fast: FastPathSpy, line: str, kind: str
) -> None:
    lines = numbered(300)
    lines[280] = line
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        got = read_interactions(path)
        expected = general(path)
    assert fast.gave_up == 1, kind
    assert records(got) == records(expected)


def test_text_ids_never_enter_the_fast_path(tmp_path: Path, fast: FastPathSpy) -> None:
    path = tmp_path / "text.csv"
    path.write_text("user,item\n" + "".join(f"u{k},i{k % 5}\n" for k in range(40)))
    data = read_interactions(path)
    assert data.nnz == 40
    assert fast.finished == fast.gave_up == 0


# ----------------------------------------------------------------------------- the kernel
def kernel_values(tokens: list[str]) -> tuple[int, np.ndarray]:
    """(code, float32 values) of one-field lines through the compiled parser."""
    from recforge.data.numeric_kernel import parse_lines

    text = ("\n".join(tokens) + "\n").encode()
    values = np.zeros(len(tokens), dtype=np.float32)
    ids = np.zeros(0, dtype=np.int64)
    code, rows, _ = parse_lines(
        np.frombuffer(text, dtype=np.uint8), len(text), ord(","),
        np.array([3], dtype=np.int64), np.array([0, 0], dtype=np.int64),
        ids, ids, values, ids, 0,
    )  # fmt: skip
    return code, values[:rows]


def test_decimals_round_exactly_as_arrow_does() -> None:
    rng = np.random.default_rng(7)
    mantissas = np.concatenate([np.arange(3000), rng.integers(0, 10**15, 20_000)])
    tokens = [
        f"{'-' if m % 3 == 0 else ''}{str(m)[:-k] or '0'}.{str(m)[-k:].zfill(k)}" if k else str(m)
        for m, k in zip(
            mantissas.tolist(), rng.integers(0, 8, mantissas.size).tolist(), strict=True
        )
    ]
    code, values = kernel_values(tokens)
    assert code == 0
    expected = pa.array(tokens).cast(pa.float32()).to_numpy()
    assert np.array_equal(values, expected)


@pytest.mark.parametrize(
    "token", ["1e3", '"1"', " 1", "1 ", "+1", "1/2", "1.2.3", "-", ".", "1234567890123456.5"]
)
def test_the_kernel_gives_up_on_what_it_cannot_parse_exactly(token: str) -> None:
    code, _ = kernel_values(["1.5", token])
    assert code != 0


@pytest.mark.parametrize("token", [" 7", "7 ", "+7", "7/", "7.0", "x"])
def test_a_late_id_that_is_not_a_plain_integer_leaves_the_fast_path(
    tmp_path: Path, fast: FastPathSpy, token: str
) -> None:
    lines = numbered(300)
    lines[290] = f"{token},4,2.0,7"
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        got = read_interactions(path)
        expected = general(path)
    assert fast.gave_up == 1
    assert records_text(got) == records_text(expected)


def records_text(data: Interactions) -> list[tuple[str, str, float]]:
    u, i, v = data.coo()
    raw_u, raw_i = data.user_ids.to_raw(u), data.item_ids.to_raw(i)
    return sorted((str(a), str(b), float(c)) for a, b, c in zip(raw_u, raw_i, v, strict=True))
