"""Read interactions from CSV / TSV / any-separator text files and Parquet; write them back.

Parsing runs in pyarrow's multithreaded C++ reader. When something is wrong, a second, slow pass
over the text finds the exact line, so every error names `file:line` and the column.
"""

from __future__ import annotations

import codecs
import csv
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recforge.data.arrow_views import numpy_view
from recforge.data.columns import ColumnMapping, detect_columns, header_score, parse_columns
from recforge.data.idmap import IdMap, factorize
from recforge.data.interactions import DUPLICATE_POLICIES, DuplicatePolicy, Interactions
from recforge.data.numeric_csv import NumericLayout, read_numeric_columns
from recforge.errors import DataError, DataWarning, DuplicateInteractionError, ParameterError

__all__ = ["FILE_FORMATS", "read_interactions", "write_interactions"]

FILE_FORMATS = ("csv", "tsv", "parquet")
BadLines = Literal["error", "skip"]
# (role, predicate on a field's text) → "file:line: column … = value" of the first match
Locator = Callable[[str, Callable[[str], bool]], str]
_SNIFF_SEPARATORS = ("\t", "::", ",", ";", "|", " ")
_HEAD_BYTES = 1 << 16
_BLOCK_BYTES = 1 << 24  # arrow infers column types from the first block
_UNIT_SEP = "\x1f"  # stands in for multi-character separators, which arrow cannot split on
_FAST_MIN_BYTES = 1 << 24  # smaller files are read in one go
_ASCII_COMPATIBLE = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"})
_INTEGER = re.compile(r"-?[0-9]+")
_NULLS = frozenset({"", "na", "nan", "null", "none", "n/a", "#n/a", "-nan"})


@dataclass(frozen=True)
class _TextLayout:
    """How a text file is laid out: separator, header, column names ([ncols])."""

    path: Path
    sep: str
    header: bool
    names: list[str]
    encoding: str
    quoted: bool
    sample: tuple[str, ...] = ()  # the first data lines (at most 50), for the fast path's check

    def split(self, line: str) -> list[str]:
        if len(self.sep) == 1 and self.quoted:
            return next(csv.reader([line], delimiter=self.sep))
        return line.split(self.sep)


def read_interactions(
    path: str | Path,
    *,
    format: str | None = None,
    columns: str | Mapping[str, str | int] | Sequence[str] | None = None,
    sep: str | None = None,
    header: bool | None = None,
    duplicates: DuplicatePolicy = "last",
    explicit: bool | None = None,
    encoding: str = "utf-8",
    on_bad_lines: BadLines = "error",
    user_ids: IdMap | None = None,
    item_ids: IdMap | None = None,
) -> Interactions:
    """Interactions from a CSV / TSV / text file (any separator, "::" included) or Parquet.

    format: "csv", "tsv" or "parquet"; None infers it from the suffix (.csv, .tsv, .tab,
        .parquet, .pq), else sniffs the separator.
    columns: which column is which (see `parse_columns`): "user,item,rating,timestamp" by
        position, "user=userId,item=movieId" by header name; None detects common header names
        (userId, movieId, rating, timestamp, …) or takes user, item[, rating[, timestamp]] in order.
        A "weight" column instead of "rating" marks implicit feedback. A "session" column
        (header session_id, sessionId …) replaces the user: each row of the result is then a
        session, what session-based recommendation (the sequence models) reads.
    sep: field separator; header: whether line 1 is a header (None: detect).
    duplicates: repeated (user, item) pairs — "last" (default: the latest by timestamp, then by
        line), "first", "sum", "mean" or "error"; merged rows are counted in a DataWarning. In
        a session log these are a session's repeated clicks on an item: the item appears once
        in the session's sequence, at the time of the click kept (the latest, or the first
        with "first"), since Interactions holds one entry per (session, item).
    explicit: override whether the values are ratings (default: a rating column → True).
    on_bad_lines: "error" (default) stops at the first malformed line with file:line; "skip"
        drops malformed lines and counts them in a DataWarning.
    user_ids / item_ids: map ids through existing maps (unknown ids are an error).
    """
    path = Path(path)
    if on_bad_lines not in ("error", "skip"):
        raise ParameterError(
            f"The 'on_bad_lines' parameter must be 'error' or 'skip'. Got {on_bad_lines!r} instead."
        )
    if duplicates not in DUPLICATE_POLICIES:
        raise ParameterError(
            f"The 'duplicates' parameter must be one of {', '.join(DUPLICATE_POLICIES)}. "
            f"Got {duplicates!r} instead."
        )
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ParameterError(
            f"unknown encoding {encoding!r}; pass a Python codec name such as 'utf-8' or 'latin-1'"
        ) from None
    fmt = _resolve_format(path, format)
    codec = _compression(path) if fmt != "parquet" else None
    if codec is not None:
        return _read_compressed(
            path, codec, format=format, columns=columns, sep=sep, header=header,
            duplicates=duplicates, explicit=explicit, encoding=encoding,
            on_bad_lines=on_bad_lines, user_ids=user_ids, item_ids=item_ids,
        )  # fmt: skip
    mapping = parse_columns(columns)
    if fmt == "parquet":
        table, mapping = _read_parquet(path, mapping)
        locate: Locator = _row_locator(path, mapping)
    else:
        layout = _sniff(path, fmt, sep, header, encoding, mapping)
        if mapping is None:
            mapping = detect_columns(layout.names, has_header=layout.header, source=str(path))
        table = _read_numeric_text(layout, mapping)
        if table is None:
            table = _read_text(path, layout, mapping, on_bad_lines)
        locate = _line_locator(layout, mapping, on_bad_lines)
    if table.num_rows == 0:
        raise DataError(f"{path}: no interactions (the file has no data rows)")
    # Each column leaves the arrow table as soon as it is converted, so memory stays near the
    # size of the final arrays.
    codes: dict[str, np.ndarray] = {}
    maps: dict[str, IdMap] = {}
    for role, given in (("user", user_ids), ("item", item_ids)):
        raw = _ids(table.column(role), role, locate)
        table = table.drop_columns([role])
        if given is None:
            codes[role], maps[role] = factorize(raw, what=role)
        else:
            try:
                codes[role] = given.to_index(raw, what=role)
            except DataError as exc:
                raise DataError(f"{path}: {exc}") from None
            maps[role] = given
        del raw
    values = None
    if "value" in table.column_names:
        values = _numeric_values(table.column("value"), locate, mapping)
        table = table.drop_columns(["value"])
    timestamps = None
    if "timestamp" in table.column_names:
        timestamps = _timestamps(table.column("timestamp"), locate)
    del table
    is_explicit = mapping.explicit if explicit is None else explicit
    try:
        return Interactions.from_indices(
            codes.pop("user"),
            codes.pop("item"),
            values,
            timestamps,
            user_ids=maps["user"],
            item_ids=maps["item"],
            explicit=bool(is_explicit),
            duplicates=duplicates,
            source=str(path),
            rows=mapping.rows,
        )
    except DuplicateInteractionError as exc:
        if fmt == "parquet":
            where, first = f"{path}: row {exc.row} (from 0)", f"row {exc.first_row}"
        else:
            lines = _line_numbers(layout, (exc.first_row, exc.row))
            where, first = f"{path}:{lines[exc.row]}", f"line {lines[exc.first_row]}"
        raise DataError(
            f"{where}: repeats the ({mapping.rows}, item) pair of {first} ({exc.repeated} "
            f"repeated rows in all); pass duplicates='last' (keep the latest), 'first', 'sum' "
            f"or 'mean'"
        ) from None


def write_interactions(data: Interactions, path: str | Path, *, sep: str = "\t") -> Path:
    """Write raw ids, values and timestamps with a header (user, item, rating|weight[, timestamp];
    session instead of user for a session log).

    A .parquet suffix writes Parquet; anything else a text file with `sep` (default tab).
    `read_interactions` reads the file back to equal Interactions.
    """
    path = Path(path)
    u, i, v = data.coo()
    columns: dict[str, Any] = {
        data.rows: data.user_ids.to_raw(u),
        "item": data.item_ids.to_raw(i),
        "rating" if data.explicit else "weight": np.asarray(v, dtype=np.float32),
    }
    if data.timestamps is not None:
        columns["timestamp"] = data.timestamps
    table = pa.table(columns)
    if path.suffix.lower() in (".parquet", ".pq"):
        pq.write_table(table, path)
    else:
        options = pacsv.WriteOptions(delimiter=sep, quoting_style="none")
        try:
            pacsv.write_csv(table, path, options)
        except pa.ArrowInvalid:
            raise DataError(
                f"{path}: an id contains the separator {sep!r}, a quote or a line break; "
                f"write Parquet (a .parquet path) or choose another sep"
            ) from None
    return path


# ----------------------------------------------------------------------------- layout
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))
_COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".zst", ".zstd")


def _compression(path: Path) -> str | None:
    """The codec of a compressed file by its first bytes (whatever its name), or None."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    return next((codec for magic, codec in _MAGIC if head.startswith(magic)), None)


def _read_compressed(path: Path, codec: str, **options: Any) -> Interactions:
    """read_interactions of a gzip / bz2 / zstd file: decompressed (streaming, by pyarrow) into
    a temporary file beside nothing the user owns, read as text, with every message and warning
    naming `path` and the line numbers of the decompressed text."""
    import tempfile

    inner = path.name
    for suffix in _COMPRESSED_SUFFIXES:
        inner = inner.removesuffix(suffix)
    with tempfile.TemporaryDirectory(prefix="recforge-decompressed-") as folder:
        plain = Path(folder) / (inner or "data")
        try:
            with (
                pa.CompressedInputStream(pa.OSFile(str(path)), codec) as source,
                open(plain, "wb") as sink,
            ):
                while chunk := source.read(_BLOCK_BYTES):
                    sink.write(chunk)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(
                f"{path}: looks {codec}-compressed but cannot be decompressed ({exc}); "
                f"check the file is complete"
            ) from None
        shown = f"{path} (decompressed)"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = read_interactions(plain, **options)
            except DataError as exc:
                raise type(exc)(str(exc).replace(str(plain), shown)) from None
        for warning in caught:
            text = str(warning.message).replace(str(plain), shown)
            warnings.warn(type(warning.message)(text), stacklevel=3)
        return result


def _resolve_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in FILE_FORMATS:
            raise ParameterError(
                f"The 'format' parameter must be one of {', '.join(FILE_FORMATS)} for a file. "
                f"Got {fmt!r} instead."
            )
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory; pass the interactions file inside it")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (no interactions)")
    if fmt is None and path.suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    return fmt or "text"


def _sniff(
    path: Path,
    fmt: str,
    sep: str | None,
    header: bool | None,
    encoding: str,
    mapping: ColumnMapping | None,
) -> _TextLayout:
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))  # NULs are text there
    if b"\x00" in head and not wide:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: holds NUL bytes, so it is binary, not a text interactions file; "
            f"pass the CSV / TSV / Parquet file (a Parquet file needs the .parquet suffix or "
            f"format='parquet')"
        )
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the block boundary
            line = head[: exc.start].count(b"\n") + 1
            raise DataError(
                f"{path}:{line}: not valid {encoding}; pass encoding= (--encoding on the "
                f"command line), e.g. 'latin-1'"
            ) from None
        text = head[: exc.start].decode(encoding)
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if len(head) == _HEAD_BYTES:
        lines = lines[:-1]  # possibly cut
    lines = [ln for ln in lines if ln.strip()][:50]
    if not lines:
        raise DataError(f"{path}: the file is empty (no interactions)")
    if sep is None:
        sep = {"csv": ",", "tsv": "\t"}.get(fmt) or _guess_separator(path, lines)
    if sep == "":
        raise ParameterError("The 'sep' parameter must be a non-empty string.")
    quoted = len(sep) == 1 and sep not in ('"', _UNIT_SEP)
    probe = _TextLayout(path, sep, False, [], encoding, quoted)
    first = probe.split(lines[0])
    if header is None:
        header = _looks_like_header(first, [probe.split(ln) for ln in lines[1:3]], mapping)
    names = [f.strip().strip('"') for f in first] if header else [str(n) for n in range(len(first))]
    if header and len(lines) == 1:
        raise DataError(f"{path}: the file has a header but no interactions")
    sample = tuple(lines[1:] if header else lines)
    return _TextLayout(path, sep, header, names, encoding, quoted, sample)


def _guess_separator(path: Path, lines: list[str]) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return ","
    if suffix in (".tsv", ".tab"):
        return "\t"
    sample = lines[:20]
    for candidate in _SNIFF_SEPARATORS:  # the same number of fields on every line
        counts = {ln.count(candidate) for ln in sample}
        if len(counts) == 1 and counts.pop() > 0:
            return candidate
    for candidate in _SNIFF_SEPARATORS:  # present everywhere, some lines malformed
        if all(candidate in ln for ln in sample):
            return candidate
    raise DataError(
        f"{path}: cannot tell the field separator from the first lines; pass sep= "
        f"(--sep on the command line), e.g. sep=',' or sep='\\t'"
    )


def _looks_like_header(
    first: list[str], following: list[list[str]], mapping: ColumnMapping | None
) -> bool:
    if mapping is not None:
        names = {c.lower() for c in mapping.roles.values() if isinstance(c, str)}
        if names & {f.strip().strip('"').lower() for f in first}:
            return True
    if header_score(first):
        return True
    # A non-numeric first line above numeric lines is a header.
    if following and not any(_is_number(f) for f in first):
        return all(any(_is_number(f) for f in row) for row in following)
    return False


# ----------------------------------------------------------------------------- parsing
def _read_numeric_text(layout: _TextLayout, mapping: ColumnMapping) -> pa.Table | None:
    """The parallel fast path (see `numeric_csv`) for a large file whose sampled lines hold
    integer ids, numeric values and integer timestamps; None when it does not apply or gives up."""
    path = layout.path
    if (
        path.stat().st_size < _FAST_MIN_BYTES
        or len(layout.sep) != 1
        or layout.sep in ('"', "\r", "\n")
        or codecs.lookup(layout.encoding).name not in _ASCII_COMPATIBLE
        or not layout.sample
    ):
        return None
    positions = mapping.resolve(layout.names, has_header=layout.header, source=str(path))
    wanted = {"user": positions["user"], "item": positions["item"]}
    value_pos = positions.get("rating", positions.get("weight"))
    if value_pos is not None:
        wanted["value"] = value_pos
    if "timestamp" in positions:
        wanted["timestamp"] = positions["timestamp"]
    rows = [layout.split(line) for line in layout.sample]
    if any(len(fields) != len(layout.names) for fields in rows):
        return None
    types: dict[str, pa.DataType] = {}
    for role, position in wanted.items():
        column = [fields[position] for fields in rows]
        if role == "value":
            if not all(_is_number(f) and math.isfinite(float(f)) for f in column):
                return None
            types[role] = pa.float32()
        elif all(_INTEGER.fullmatch(f) for f in column):
            small = role != "timestamp" and all(abs(int(f)) < 2**31 for f in column)
            types[role] = pa.int32() if small else pa.int64()
        else:
            return None
    with open(path, "rb") as fh:
        first = fh.readline()
    if not first.strip():
        return None  # blank lines before the header: let the general reader decide
    numeric = NumericLayout(
        path=path,
        sep=layout.sep,
        encoding=layout.encoding,
        names=layout.names,
        wanted=wanted,
        types=types,
        data_start=len(first) if layout.header else 0,
    )
    return read_numeric_columns(numeric)


def _read_text(
    path: Path, layout: _TextLayout, mapping: ColumnMapping, on_bad_lines: BadLines
) -> pa.Table:
    positions = mapping.resolve(layout.names, has_header=layout.header, source=str(path))
    value_pos = positions.get("rating", positions.get("weight"))
    internal = [f"c{n}" for n in range(len(layout.names))]
    wanted = {"user": positions["user"], "item": positions["item"]}
    if value_pos is not None:
        wanted["value"] = value_pos
    if "timestamp" in positions:
        wanted["timestamp"] = positions["timestamp"]
    bad: list[str] = []

    def on_invalid(row: Any) -> str:
        bad.append(row.text)
        return "skip"

    sep = layout.sep
    source: Any = str(path)
    if len(sep) > 1:
        raw = path.read_bytes()
        marker = _UNIT_SEP.encode()
        if marker in raw:
            raise DataError(f"{path}: the file contains the control character 0x1f; remove it")
        source = pa.BufferReader(raw.replace(sep.encode(layout.encoding), marker))
        del raw
        sep = _UNIT_SEP
    column_types: dict[str, pa.DataType] = {}
    if value_pos is not None:
        column_types[internal[value_pos]] = pa.float32()
    read_options = pacsv.ReadOptions(
        column_names=internal,
        skip_rows=1 if layout.header else 0,
        encoding=layout.encoding,
        block_size=_BLOCK_BYTES,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=sep,
        quote_char='"' if layout.quoted else False,
        invalid_row_handler=on_invalid,
    )
    for attempt in range(len(wanted) + 1):
        convert_options = pacsv.ConvertOptions(
            include_columns=[internal[p] for p in wanted.values()],
            column_types=column_types,
        )
        if isinstance(source, pa.BufferReader):
            source.seek(0)
        bad.clear()
        try:
            table = pacsv.read_csv(source, read_options, parse_options, convert_options)
        except pa.ArrowInvalid as exc:
            column = _failed_column(str(exc))
            role = next((r for r, p in wanted.items() if column == p), None)
            if role in ("user", "item", "timestamp") and attempt < len(wanted):
                # Type inference saw numbers first; read the column as text and check it later.
                column_types[internal[wanted[role]]] = pa.string()
                continue
            if role == "value":
                where = _line_locator(layout, mapping, on_bad_lines)("value", _not_number)
                raise DataError(
                    f"{where}: the {_value_role(mapping)} is not a number; fix or drop the line"
                ) from None
            raise DataError(f"{path}: cannot parse the file ({_first_line(exc)})") from None
        # Ids inferred as floats (beyond int64, or written "1.5"): their text is the id, since a
        # float would merge ids that differ past its 53 bits.
        floating = [
            internal[wanted[role]]
            for role in ("user", "item")
            if pa.types.is_floating(table.column(internal[wanted[role]]).type)
        ]
        if not floating:
            break
        column_types.update(dict.fromkeys(floating, pa.string()))
    else:  # every attempt retyped a column, which cannot happen more than once per column
        raise DataError(f"{path}: cannot parse the file; pass columns= and sep= explicitly")
    if bad:
        first_bad = _locate_bad_line(layout, bad[0])
        if on_bad_lines == "error":
            raise DataError(
                f"{first_bad}: expected {len(layout.names)} fields separated by "
                f"{_sep_name(layout)}, found {len(layout.split(bad[0]))}; fix the line or "
                f"pass on_bad_lines='skip' "
                f"({len(bad)} malformed lines in all)"
            )
        warnings.warn(
            f"{path}: skipped {len(bad)} malformed lines (first at {first_bad}); "
            f"pass on_bad_lines='error' to stop at them instead",
            DataWarning,
            stacklevel=3,
        )
    return table.rename_columns([role for role in wanted])


def _read_parquet(path: Path, mapping: ColumnMapping | None) -> tuple[pa.Table, ColumnMapping]:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    names = list(schema.names)
    if mapping is None:
        mapping = detect_columns(names, has_header=True, source=str(path))
    positions = mapping.resolve(names, has_header=True, source=str(path))
    wanted = {"user": positions["user"], "item": positions["item"]}
    value_pos = positions.get("rating", positions.get("weight"))
    if value_pos is not None:
        wanted["value"] = value_pos
    if "timestamp" in positions:
        wanted["timestamp"] = positions["timestamp"]
    table = pq.read_table(path, columns=[names[p] for p in wanted.values()])
    return table.rename_columns(list(wanted)), mapping


# ----------------------------------------------------------------------------- validation
def _ids(column: pa.ChunkedArray, role: str, locate: Locator) -> Any:
    """Raw ids as the arrow column, once checked for missing values."""
    if column.null_count or _has_blank_strings(column):
        where = locate(role, _is_null)
        raise DataError(f"{where}: the {role} id is missing; fill it in or drop the line")
    return column  # factorize reads integer chunks in place


def _contiguous(column: pa.ChunkedArray) -> np.ndarray:
    """One numpy array from the chunks of a null-free primitive column (read-only; a copy
    only when there are several chunks)."""
    if column.num_chunks == 1:
        return numpy_view(column.chunk(0))
    return np.concatenate([numpy_view(chunk) for chunk in column.chunks])


def _numeric_values(column: pa.ChunkedArray, locate: Locator, mapping: ColumnMapping) -> np.ndarray:
    """float32 [n] ratings or weights, every one a finite number."""
    role = _value_role(mapping)
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        if pa.types.is_null(column.type):
            raise DataError(f"{locate('value', _is_null)}: the {role} is missing")
        where = locate("value", _not_number)
        raise DataError(f"{where}: the {role} is not a number; fix or drop the line")
    if column.null_count:
        where = locate("value", _is_null)
        raise DataError(
            f"{where}: the {role} is missing or NaN ({column.null_count} such lines); "
            f"fill them in or drop them"
        )
    values = _contiguous(column).astype(np.float32, copy=False)
    if not bool(np.isfinite(values).all()):
        where = locate("value", _not_finite)
        raise DataError(f"{where}: the {role} is not a finite number; fix or drop the line")
    return values


def _timestamps(column: pa.ChunkedArray, locate: Locator) -> np.ndarray:
    if column.null_count or _has_blank_strings(column):
        raise DataError(f"{locate('timestamp', _is_null)}: the timestamp is missing")
    if pa.types.is_timestamp(column.type):
        if column.type.tz is not None:
            column = column.cast(pa.timestamp(column.type.unit))
        return column.to_numpy().astype("datetime64[s]").astype(np.int64)
    if pa.types.is_integer(column.type):
        return _contiguous(column).astype(np.int64, copy=False)
    if pa.types.is_floating(column.type):
        return np.floor(column.to_numpy()).astype(np.int64)
    text = column.to_numpy(zero_copy_only=False).astype(str)
    try:
        return text.astype("datetime64[s]").astype(np.int64)
    except ValueError:
        raise DataError(
            f"{locate('timestamp', _not_time)}: the timestamp is neither epoch seconds nor an "
            f"ISO-8601 date such as 2024-03-01T12:00:00"
        ) from None


def _has_blank_strings(column: pa.ChunkedArray) -> bool:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    return bool(pc.any(pc.equal(pc.utf8_trim_whitespace(column), "")).as_py())


def _is_null(field: str) -> bool:
    return field.strip().strip('"').lower() in _NULLS


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _not_number(field: str) -> bool:
    return not _is_null(field) and not _is_number(field)


def _not_finite(field: str) -> bool:
    return _is_number(field) and not math.isfinite(float(field))


def _not_time(field: str) -> bool:
    if _is_number(field):
        return False
    try:
        np.datetime64(field.strip(), "s")
    except ValueError:
        return True
    return False


def _value_role(mapping: ColumnMapping) -> str:
    return "weight" if mapping.explicit is False else "rating"


# ----------------------------------------------------------------------------- locating
def _line_locator(layout: _TextLayout, mapping: ColumnMapping, on_bad_lines: BadLines) -> Locator:
    """A function (role, predicate on the field) → 'file:line: column …' of the first match."""
    positions = mapping.resolve(layout.names, has_header=layout.header, source=str(layout.path))
    positions["value"] = positions.get("rating", positions.get("weight", -1))

    def locate(role: str, predicate: Callable[[str], bool]) -> str:
        position = positions[role]
        label = layout.names[position] if layout.header else f"{position}"
        column = f"column {label!r}" if layout.header else f"column {label} (from 0)"
        for lineno, fields in _data_lines(layout):
            if len(fields) != len(layout.names):
                continue  # malformed lines were skipped or reported already
            if predicate(fields[position]):
                return f"{layout.path}:{lineno}: {column} = {fields[position]!r}"
        return f"{layout.path}: {column}"

    return locate


def _row_locator(path: Path, mapping: ColumnMapping) -> Locator:
    """Like `_line_locator` for Parquet, which has rows rather than lines (error path only)."""

    def locate(role: str, predicate: Callable[[str], bool]) -> str:
        table, _ = _read_parquet(path, mapping)
        for n, value in enumerate(table.column(role).to_pylist()):
            text = "" if value is None else str(value)
            if predicate(text):
                return f"{path}: row {n} (from 0), column {role!r} = {value!r}"
        return f"{path}: column {role!r}"

    return locate


def _data_lines(layout: _TextLayout) -> Any:
    """(line number, fields) for each non-blank data line, read slowly in Python."""
    with open(layout.path, encoding=layout.encoding, errors="replace", newline="") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1 and layout.header:
                continue
            text = line.rstrip("\r\n")
            if text.strip():
                yield lineno, layout.split(text)


def _line_numbers(layout: _TextLayout, rows: tuple[int, ...]) -> dict[int, int]:
    """The file line of each data row (from 0) in `rows` (malformed lines are never rows)."""
    wanted, found, row = set(rows), {}, 0
    for lineno, fields in _data_lines(layout):
        if len(fields) != len(layout.names):
            continue  # skipped (on_bad_lines="skip"); with "error" reading stopped there
        if row in wanted:
            found[row] = lineno
            if len(found) == len(wanted):
                break
        row += 1
    return found


def _locate_bad_line(layout: _TextLayout, text: str) -> str:
    target = text.replace(_UNIT_SEP, layout.sep)
    for lineno, fields in _data_lines(layout):
        if len(fields) != len(layout.names) and layout.sep.join(fields) == target:
            return f"{layout.path}:{lineno}"
    for lineno, fields in _data_lines(layout):
        if len(fields) != len(layout.names):
            return f"{layout.path}:{lineno}"
    return f"{layout.path}: line {target!r}"


def _failed_column(message: str) -> int | None:
    """The file column (from 0) named in an arrow conversion error, if any."""
    marker = "In CSV column #"
    at = message.find(marker)
    if at < 0:
        return None
    digits = message[at + len(marker) :].split(":", 1)[0].strip()
    return int(digits) if digits.isdigit() else None


def _sep_name(layout: _TextLayout) -> str:
    return {"\t": "tabs", ",": "commas", ";": "semicolons", " ": "spaces", "|": "'|'"}.get(
        layout.sep, repr(layout.sep)
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
