"""Raw-id ↔ index maps.

Raw ids are integers or strings. Indices are assigned in sorted raw-id order, so a map is just its
sorted array of raw ids and lookups are vectorised binary searches (no Python dict).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recforge.errors import DataError

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
            raise DataError("raw ids of an IdMap must be unique and sorted; build it with factorize")
        raw.setflags(write=False)
        self._raw = raw

    @property
    def raw_ids(self) -> np.ndarray:
        """Read-only array of raw ids, shape [n]."""
        return self._raw

    @property
    def is_string(self) -> bool:
        return self._raw.dtype.kind == "U"

    def __len__(self) -> int:
        return int(self._raw.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
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
        if not bool(found.all()):
            if missing == "error":
                bad = flat[~found][0]
                raise DataError(
                    f"unknown {what} {bad!r}: it is not among the {len(self)} {what}s the model "
                    f"or dataset knows"
                )
        out = np.where(found, pos, -1).astype(np.int32)
        return out.reshape(query.shape)

    def to_raw(self, index: Any) -> np.ndarray:
        """Raw ids for indices (any integer array)."""
        idx = np.asarray(index)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise DataError(f"index out of range for an IdMap of {len(self)} ids")
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
                try:
                    flat_o[i] = int(str(v).strip())
                except ValueError:
                    pass  # stays unmatched: reported as unknown
            return out
        if query.dtype.kind == "f":
            if query.size and not bool(np.all(np.mod(query, 1) == 0)):
                raise DataError("ids must be integers or strings; got fractional numbers")
            return query.astype(np.int64)
        raise DataError(f"ids must be integers or strings; got dtype {query.dtype}")


def _as_raw_array(values: Any) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "U":
        return arr.copy()
    if arr.dtype.kind == "O":
        kinds = {type(x) for x in arr.reshape(-1)[:1000]}
        if kinds and all(issubclass(k, int | np.integer) for k in kinds):
            return arr.astype(np.int64)
        return arr.astype(str)
    if arr.dtype.kind == "f":
        if arr.size and not bool(np.all(np.mod(arr, 1) == 0)):
            raise DataError("ids must be integers or strings; got fractional numbers")
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        raise DataError("ids must be integers or strings; got booleans")
    return arr.astype(str)


def factorize(values: Any, *, what: str = "id") -> tuple[np.ndarray, IdMap]:
    """Map raw ids to dense indices in sorted raw-id order.

    values: 1-D array-like (numpy, pyarrow, list) of ints or strings, no nulls.
    Returns (codes int32 [n], IdMap).
    """
    dense = _factorize_dense_ints(values)
    if dense is not None:
        return dense
    arr = values if isinstance(values, pa.ChunkedArray | pa.Array) else _to_arrow(values)
    if arr.null_count:
        raise DataError(f"{what} column has {arr.null_count} missing values")
    if pa.types.is_floating(arr.type):
        arr = pa.array(_as_raw_array(arr))
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
    raw = _as_raw_array(dictionary)
    order = np.argsort(raw, kind="stable")
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    codes = rank[indices] if indices.size else indices.astype(np.int32)
    return codes.astype(np.int32, copy=False), IdMap(raw[order])


def _factorize_dense_ints(values: Any) -> tuple[np.ndarray, IdMap] | None:
    """O(n) factorisation through a presence table, for integer ids of a compact range."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if not pa.types.is_integer(values.type) or values.null_count:
            return None
        values = values.to_numpy() if isinstance(values, pa.Array) else np.asarray(values)
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu" or arr.size == 0:
        return None
    lo, hi = int(arr.min()), int(arr.max())
    span = hi - lo + 1
    if span > max(1 << 22, 4 * arr.size):
        return None
    offset = arr - lo if lo else arr
    present = np.zeros(span, dtype=bool)
    present[offset] = True
    rank = np.cumsum(present, dtype=np.int32) - 1
    raw = np.flatnonzero(present).astype(np.int64) + lo
    return rank[offset].astype(np.int32, copy=False), IdMap(raw)


def _to_arrow(values: Any) -> pa.Array:
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        arr = _as_raw_array(arr)
    if arr.dtype.kind == "f":
        arr = _as_raw_array(arr)
    return pa.array(arr)
