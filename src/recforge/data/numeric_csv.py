"""The fast path for large all-numeric interaction files: byte ranges parsed in parallel.

A file of integer ids, plain decimal values and integer timestamps is cut at line ends into one
range per core. Each thread reads its range block by block and a compiled loop
(`numeric_kernel`, numba, free of the GIL) writes the numbers straight into preallocated numpy
columns: no text table, no per-block arrays, memory near the size of the parsed columns.

Anything unusual — a malformed line, a missing field, quotes, an exponent, an id beyond the
column type — gives up (`None`), and the caller reads the file the general way, through
pyarrow, which reports the exact line.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from recforge.data.arrow_views import arrow_array, numpy_dtype

__all__ = ["read_numeric_columns"]

_BLOCK_BYTES = 1 << 22  # read size; lines are never split between parses
_MIN_RANGE_BYTES = 1 << 22  # no thread gets less than this


@dataclass(frozen=True)
class NumericLayout:
    """What the fast path needs to know about a text file.

    names: one name per field of a line; wanted: role → field position; types: role → the arrow
    type to parse it as (int32 / int64 / float32); data_start: byte offset of the first data line.
    """

    path: Path
    sep: str
    encoding: str
    names: list[str]
    wanted: Mapping[str, int]
    types: Mapping[str, pa.DataType]
    data_start: int


class _GiveUpError(Exception):
    """The range does not fit the fast path."""


def read_numeric_columns(layout: NumericLayout, threads: int | None = None) -> pa.Table | None:
    """A table with one column per role of `layout.wanted`, or None to read the general way.

    threads: parallel ranges (default: the usable cores, fewer for a small file).
    """
    size = layout.path.stat().st_size
    cuts = _cut_points(layout.path, layout.data_start, size, threads)
    parts: list[dict[str, np.ndarray] | None] = [None] * (len(cuts) - 1)
    failed: list[BaseException] = []

    def work(k: int) -> None:
        try:
            parts[k] = _parse_range(layout, cuts[k], cuts[k + 1])
        except BaseException as exc:  # handed to the calling thread
            failed.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(1, len(parts))]
    for worker in workers:
        worker.start()
    work(0)
    for worker in workers:
        worker.join()
    for exc in failed:
        if not isinstance(exc, _GiveUpError):
            raise exc
    if failed or any(part is None for part in parts):
        return None
    done = [part for part in parts if part is not None]  # popped column by column below
    return pa.table(
        {role: arrow_array(_join([part.pop(role) for part in done])) for role in layout.wanted}
    )


def _cut_points(path: Path, start: int, size: int, threads: int | None) -> list[int]:
    """Byte offsets [start, …, size] that split the data lines into ranges of whole lines."""
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    threads = max(1, min(threads, (size - start) // _MIN_RANGE_BYTES))
    cuts = [start]
    with open(path, "rb") as fh:
        for k in range(1, threads):
            fh.seek(start + (size - start) * k // threads)
            fh.readline()  # on to the next line start
            if fh.tell() > cuts[-1] and fh.tell() < size:
                cuts.append(fh.tell())
    cuts.append(size)
    return cuts


def _parse_range(layout: NumericLayout, start: int, end: int) -> dict[str, np.ndarray]:
    """Columns [rows] of the lines in bytes [start, end), parsed block by block."""
    from recforge.data.numeric_kernel import OK, parse_lines

    roles = ("user", "item", "value", "timestamp")
    kinds = np.zeros(len(layout.names), dtype=np.int64)  # see parse_lines
    for kind, role in enumerate(roles, start=1):
        if role in layout.wanted:
            kinds[layout.wanted[role]] = kind
    id_limit = np.array(
        [np.iinfo(numpy_dtype(layout.types[r])).max for r in ("user", "item")], dtype=np.int64
    )
    # The shortest possible line is one character per field plus separators and a newline, so
    # this capacity always suffices; pages never written cost no memory.
    capacity = (end - start) // (2 * len(layout.names)) + 1
    columns = {
        r: np.empty(capacity if r in layout.wanted else 0, dtype=_dtype(layout, r)) for r in roles
    }
    sep = layout.sep.encode(layout.encoding)[0]
    block = bytearray(_BLOCK_BYTES)
    held = 0  # bytes of an unfinished line carried over from the previous read
    rows = 0
    left = end - start
    with open(layout.path, "rb", buffering=0) as fh:
        fh.seek(start)
        while True:
            if held == len(block):  # a line longer than the block
                block.extend(bytes(len(block)))
            want = min(len(block) - held, left)
            got = (fh.readinto(memoryview(block)[held : held + want]) or 0) if want else 0
            left -= got
            size = held + got
            if size == 0:
                break
            cut = size  # at the end of the range the rest is its last line
            if left > 0 and got:
                cut = block.rfind(b"\n", 0, size) + 1  # otherwise whole lines only
                if cut == 0:
                    held = size
                    continue
            code, rows, _ = parse_lines(
                np.frombuffer(block, dtype=np.uint8), cut, sep, kinds, id_limit,
                columns["user"], columns["item"], columns["value"], columns["timestamp"], rows,
            )  # fmt: skip
            if code != OK:
                raise _GiveUpError(code)
            held = size - cut
            block[:held] = block[cut:size]
    return {role: columns[role][:rows] for role in layout.wanted}


def _dtype(layout: NumericLayout, role: str) -> np.dtype:
    if role in layout.types:
        return numpy_dtype(layout.types[role])
    return np.dtype(np.float32 if role == "value" else np.int64)


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """One array from the ranges' columns, releasing each part once copied."""
    if len(parts) == 1:
        return parts[0]
    out = np.empty(sum(p.size for p in parts), dtype=parts[0].dtype)
    at = 0
    while parts:
        part = parts.pop(0)
        out[at : at + part.size] = part
        at += part.size
        del part
    return out
