"""Raw-id ↔ index maps.

Raw ids are integers or strings. Indices are assigned in sorted raw-id order, so a map is just its
sorted array of raw ids and lookups are vectorised binary searches (no Python dict).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recforge.data.arrow_views import numpy_view
from recforge.errors import DataError, ParameterError

__all__ = ["IdMap", "factorize"]


class IdMap:
    """Sorted unique raw ids; index `i` stands for raw id `raw_ids[i]`.

    `raw_ids` is a 1-D int64 or unicode array, strictly increasing.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw_ids: Any) -> None:
        raw = _as_raw_array(raw_ids)
        if raw.ndim != 1:
            raise DataError(f"raw ids must be 1-D; got an array of shape {raw.shape}")
        if raw.size > 1 and not bool(np.all(raw[1:] > raw[:-1])):
            raise DataError(
                "raw ids of an IdMap must be unique and sorted; build the map with factorize"
            )
        raw.setflags(write=False)
        self._raw = raw

    @property
    def raw_ids(self) -> np.ndarray:
        """Read-only array of raw ids, shape [n]."""
        return self._raw

    @property
    def is_string(self) -> bool:
        """True when raw ids are strings, False when they are int64."""
        return self._raw.dtype.kind == "U"

    def __len__(self) -> int:
        return int(self._raw.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        if self is other or self._raw is other._raw:
            return True
        return self._raw.dtype.kind == other._raw.dtype.kind and np.array_equal(
            self._raw, other._raw
        )

    def __hash__(self) -> int:
        return hash((len(self), self._raw[:1].tobytes(), self._raw[-1:].tobytes()))

    def __repr__(self) -> str:
        head = ", ".join(str(x) for x in self._raw[:3])
        more = ", …" if len(self) > 3 else ""
        return f"IdMap(n={len(self)}, [{head}{more}])"

    def to_index(self, raw: Any, *, missing: str = "error", what: str = "id") -> np.ndarray:
        """Indices (int32, shape like `raw`) of raw ids.

        missing: "error" raises a DataError naming the first unknown id; "mask" returns -1 there.
        """
        if missing not in ("error", "mask"):
            raise ParameterError(
                f"The 'missing' parameter of to_index must be one of 'error', 'mask'. "
                f"Got {missing!r} instead."
            )
        query = self._coerce(np.asarray(raw))
        flat = query.reshape(-1)
        if self._raw.size == 0:
            pos = np.zeros(flat.shape, dtype=np.int64)
            found = np.zeros(flat.shape, dtype=bool)
        else:
            pos = np.searchsorted(self._raw, flat)
            pos_c = np.minimum(pos, self._raw.size - 1)
            found = self._raw[pos_c] == flat
            pos = pos_c
        if missing == "error" and not bool(found.all()):
            bad = np.asarray(raw).reshape(-1)[np.flatnonzero(~found)[0]]
            raise DataError(
                f"unknown {what} {_show(bad)}: it is not among the {len(self)} {what}s the "
                f"model or dataset knows; drop it or use ids from the training data"
            )
        out = np.where(found, pos, -1).astype(np.int32)
        return out.reshape(query.shape)

    def to_raw(self, index: Any) -> np.ndarray:
        """Raw ids (shape like `index`) for indices (any integer array-like)."""
        idx = np.asarray(index)
        if idx.dtype.kind not in "iu":
            raise DataError(f"indices must be integers; got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
            raise DataError(
                f"index {bad} is out of range for an IdMap of {len(self)} ids; "
                f"indices must lie in [0, {len(self)})"
            )
        return self._raw[idx]

    def _coerce(self, query: np.ndarray) -> np.ndarray:
        """Bring a query to the map's dtype: ints ↔ strings of ints."""
        if self.is_string:
            return query.astype(str) if query.dtype.kind != "U" else query
        if query.dtype.kind in "iu":
            return query.astype(np.int64, copy=False)
        if query.dtype.kind in "UO":
            out = np.full(query.shape, np.iinfo(np.int64).min, dtype=np.int64)
            flat_q, flat_o = query.reshape(-1), out.reshape(-1)
            for i, v in enumerate(flat_q):
                with contextlib.suppress(ValueError, TypeError, OverflowError):
                    flat_o[i] = int(str(v).strip())  # unparsable ids stay unmatched
            return out
        if query.dtype.kind == "f":
            _check_whole(query)
            return query.astype(np.int64)
        raise DataError(f"ids must be integers or strings; got dtype {query.dtype}")


def _show(value: Any) -> str:
    """An id as the user wrote it: 'u1' for strings, 7 for numbers."""
    return repr(value.item() if isinstance(value, np.generic) else value)


_FLOAT_EXACT = 2.0**53  # every integer up to this is exact in a float64


def _check_whole(arr: np.ndarray, what: str = "id") -> None:
    """Float ids are accepted only when every value is a whole number (no NaN)."""
    if arr.size and bool(np.isnan(arr).any()):
        raise DataError(
            f"{what} column has {int(np.isnan(arr).sum())} missing values; drop those rows first"
        )
    if arr.size and not bool(np.all(np.mod(arr, 1) == 0)):
        raise DataError(f"{what}s must be integers or strings; got fractional numbers")
    if arr.size and float(np.abs(arr).max()) > _FLOAT_EXACT:
        raise DataError(
            f"{what}s above 2**53 held as floats may have merged (a float keeps 53 bits); "
            f"read them as strings or int64"
        )


def _as_raw_array(values: Any, what: str = "id") -> np.ndarray:
    """Raw ids as a 1-D int64 or unicode numpy array; missing values are a DataError."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if values.null_count:
            raise DataError(
                f"{what} column has {values.null_count} missing values; drop those rows first"
            )
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            return values.to_numpy(zero_copy_only=False).astype(str)
        values = values.to_numpy(zero_copy_only=False)
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        return arr.astype(str)  # beyond int64: kept distinct as text
    if kind in "iu":
        return arr.astype(np.int64)
    if kind == "U":
        return arr.copy()
    if kind == "f":
        _check_whole(arr, what)
        return arr.astype(np.int64)
    if kind == "b":
        raise DataError(f"{what}s must be integers or strings; got booleans")
    if kind == "O":
        return _as_raw_array(_object_to_arrow(arr, what), what)
    return arr.astype(str)


def _object_to_arrow(arr: np.ndarray, what: str) -> pa.Array:
    """Object arrays (pandas columns) through arrow, which finds None / NaN in C."""
    flat = arr.reshape(-1)
    try:
        out = pa.array(flat, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        # Mixed ints and strings: compare them as strings, after looking for missing values.
        missing = int(sum(v is None or (isinstance(v, float) and v != v) for v in flat))
        if missing:
            raise DataError(
                f"{what} column has {missing} missing values; drop those rows first"
            ) from None
        return pa.array(flat.astype(str))
    if out.null_count:
        raise DataError(f"{what} column has {out.null_count} missing values; drop those rows first")
    if pa.types.is_null(out.type):  # empty input
        return pa.array([], type=pa.int64())
    if pa.types.is_floating(out.type):
        return pa.array(_as_raw_array(out.to_numpy(zero_copy_only=False), what))
    return out


def factorize(values: Any, *, what: str = "id") -> tuple[np.ndarray, IdMap]:
    """Map raw ids to dense indices in sorted raw-id order.

    values: 1-D array-like (numpy, pyarrow, list) of ints or strings, no nulls.
    Returns (codes int32 [n], IdMap).
    """
    if not isinstance(values, pa.ChunkedArray | pa.Array) and np.ndim(values) != 1:
        raise DataError(f"{what}s must be a 1-D array; got shape {np.shape(values)}")
    dense = _factorize_dense_ints(values)
    if dense is not None:
        return dense
    arr = values if isinstance(values, pa.ChunkedArray | pa.Array) else _to_arrow(values, what)
    if arr.null_count:
        raise DataError(f"{what} column has {arr.null_count} missing values; drop those rows first")
    if pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):
        arr = pa.array(_as_raw_array(arr, what))
    encoded = pc.dictionary_encode(arr)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries() if encoded.num_chunks > 1 else encoded
        chunks = encoded.chunks
        dictionary = chunks[0].dictionary if chunks else pa.array([], type=arr.type)
        indices = (
            np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks])
            if chunks
            else np.zeros(0, dtype=np.int32)
        )
    else:
        dictionary = encoded.dictionary
        indices = encoded.indices.to_numpy(zero_copy_only=False)
    raw = _as_raw_array(dictionary, what)
    order = np.argsort(raw, kind="stable")
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    codes = rank[indices] if indices.size else indices.astype(np.int32)
    return codes.astype(np.int32, copy=False), IdMap(raw[order])


def _factorize_dense_ints(values: Any) -> tuple[np.ndarray, IdMap] | None:
    """O(n) factorisation through a presence table, for integer ids of a compact range.

    Arrow input is processed chunk by chunk, so no int64 copy of the whole column is made.
    """
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if not pa.types.is_integer(values.type) or values.null_count:
            return None
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        parts = [numpy_view(c) for c in chunks if len(c)]
    else:
        parts = [np.asarray(values)]
    if not parts or parts[0].dtype.kind not in "iu" or parts[0].ndim != 1:
        return None
    if parts[0].dtype == np.uint64:  # may exceed int64: the general path decides
        return None
    n = sum(p.size for p in parts)
    if n == 0:
        return None
    from recforge.data.idmap_kernel import mark_present, min_max, write_codes

    bounds = [min_max(p) for p in parts if p.size]
    lo = min(int(b[0]) for b in bounds)
    hi = max(int(b[1]) for b in bounds)
    span = hi - lo + 1
    if span > max(1 << 22, 4 * n):
        return None
    present = np.zeros(span, dtype=bool)
    for p in parts:
        mark_present(p, lo, present)
    rank = np.cumsum(present, dtype=np.int32) - 1
    raw = np.flatnonzero(present).astype(np.int64) + lo
    codes = np.empty(n, dtype=np.int32)
    start = 0
    for p in parts:
        write_codes(p, lo, rank, codes, start)
        start += p.size
    return codes, IdMap(raw)


def _to_arrow(values: Any, what: str) -> pa.Array:
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        return _object_to_arrow(arr, what)
    if arr.dtype.kind in "fb":
        arr = _as_raw_array(arr, what)
    if arr.dtype.kind == "U" and _has_inner_nul(arr):
        return pa.array(arr.astype(object))  # arrow's fast path would cut at the NUL
    return pa.array(arr)


def _has_inner_nul(arr: np.ndarray) -> bool:
    """Whether a unicode array holds a NUL before another character in some string."""
    width = arr.dtype.itemsize // 4
    if arr.size == 0 or width < 2:
        return False
    codes = np.ascontiguousarray(arr).view(np.uint32).reshape(arr.size, width)
    return bool(((codes[:, :-1] == 0) & (codes[:, 1:] != 0)).any())
