"""`Interactions`: the user × item matrix that every split, model and metric works on."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recforge.data.idmap import IdMap, factorize
from recforge.errors import DataError, DataWarning, DuplicateInteractionError, ParameterError

__all__ = ["DUPLICATE_POLICIES", "Histories", "InteractionStats", "Interactions", "concat"]

DuplicatePolicy = Literal["last", "first", "sum", "mean", "error"]
DUPLICATE_POLICIES: tuple[str, ...] = ("last", "first", "sum", "mean", "error")
ROW_KINDS: tuple[str, ...] = ("user", "session")  # what a row of the matrix is
_DIGEST_CHUNK = 1 << 20  # elements hashed at a time by `fingerprint`


class Histories(NamedTuple):
    """Per-user item sequences in time order, as a CSR-like triple.

    indptr: int64 [n_users + 1]; items: int32 [nnz]; timestamps: int64 [nnz] or None.
    User u's history is items[indptr[u]:indptr[u + 1]], oldest first.
    """

    indptr: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None

    def of(self, user: int) -> np.ndarray:
        """Item indices of one user, oldest first (int32 [n_u])."""
        return self.items[self.indptr[user] : self.indptr[user + 1]]


@dataclass(frozen=True)
class InteractionStats:
    """Summary numbers of an `Interactions`; `as_dict` gives JSON-ready values.

    rating_histogram maps each rating (as text, e.g. "4" or "3.5") to its count, or value bins
    "[lo, hi)" when there are more than 20 distinct values; it is empty for implicit data.
    time_min / time_max are epoch seconds (None without timestamps). user_degree / item_degree
    hold min, median, mean and max interactions per user / item. rows: "user", or "session"
    for a session log (then n_users counts sessions).
    """

    n_users: int
    n_items: int
    n_interactions: int
    density: float
    explicit: bool
    rating_histogram: dict[str, int]
    time_min: int | None
    time_max: int | None
    user_degree: dict[str, float]
    item_degree: dict[str, float]
    rows: str = "user"

    @property
    def sparsity(self) -> float:
        """1 - density."""
        return 1.0 - self.density

    @property
    def time_span_days(self) -> float | None:
        """Days between the first and the last interaction (None without timestamps)."""
        if self.time_min is None or self.time_max is None:
            return None
        return (self.time_max - self.time_min) / 86400.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (times as ISO-8601 UTC strings)."""
        from datetime import UTC, datetime

        def iso(t: int | None) -> str | None:
            return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()

        return {
            "rows": self.rows,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": self.n_interactions,
            "density": self.density,
            "sparsity": self.sparsity,
            "explicit": self.explicit,
            "rating_histogram": self.rating_histogram,
            "time_min": iso(self.time_min),
            "time_max": iso(self.time_max),
            "time_span_days": self.time_span_days,
            "interactions_per_user": self.user_degree,
            "interactions_per_item": self.item_degree,
        }


@dataclass(frozen=True, eq=False)
class Interactions:
    """Immutable user × item interactions.

    matrix: CSR [n_users, n_items], float32 values (ratings, or weights — 1.0 for plain implicit
        events), column indices sorted within each row, no duplicate (user, item) pairs.
    user_ids, item_ids: raw id ↔ index maps (indices are rows / columns of `matrix`).
    timestamps: int64 [nnz] aligned with `matrix.data` (seconds since the epoch), or None.
    explicit: True when values are ratings, False when they are implicit weights.
    rows: what a row is: "user", or "session" for a session log (read with a session column),
        whose sessions stand in for users everywhere; it names the rows in summaries.

    "CSR order" below means the order of `matrix.data`: by user index, then item index.
    Build one with `from_arrays`, `from_dataframe`, `from_indices` or a loader in `recforge.data`;
    the arrays of a built instance are read-only.
    """

    matrix: sp.csr_array
    user_ids: IdMap
    item_ids: IdMap
    timestamps: np.ndarray | None = None
    explicit: bool = False
    rows: str = "user"

    def __post_init__(self) -> None:
        _check_rows(self.rows)
        m = self.matrix
        if not sp.issparse(m):
            raise DataError(
                f"Interactions needs a scipy sparse matrix; got {type(m).__name__}. "
                f"Build one with Interactions.from_arrays"
            )
        if not isinstance(m, sp.csr_array) or m.dtype != np.float32:
            m = sp.csr_array(m, dtype=np.float32)
            object.__setattr__(self, "matrix", m)
        if m.shape != (len(self.user_ids), len(self.item_ids)):
            raise DataError(
                f"matrix shape {m.shape} does not match the id maps "
                f"({len(self.user_ids)} users, {len(self.item_ids)} items)"
            )
        if not m.has_canonical_format:
            raise DataError(
                "the matrix has unsorted or repeated (user, item) entries; build it with "
                "Interactions.from_indices, which resolves duplicates"
            )
        if self.timestamps is not None:
            ts = np.asarray(self.timestamps)
            if ts.shape != (m.nnz,) or ts.dtype.kind not in "iu":
                raise DataError(
                    f"timestamps must be an integer array with one entry per interaction "
                    f"({m.nnz}); got dtype {ts.dtype} and shape {ts.shape}"
                )
            object.__setattr__(self, "timestamps", ts.astype(np.int64, copy=False))
        object.__setattr__(self, "explicit", bool(self.explicit))
        for arr in (m.data, m.indices, m.indptr, self.timestamps):
            if arr is not None:
                arr.setflags(write=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        users: Any,
        items: Any,
        values: Any | None = None,
        timestamps: Any | None = None,
        *,
        explicit: bool | None = None,
        duplicates: DuplicatePolicy = "last",
        user_ids: IdMap | None = None,
        item_ids: IdMap | None = None,
        source: str = "arrays",
        rows: str = "user",
    ) -> Interactions:
        """Build from raw-id arrays (ints or strings) of equal length n.

        values: ratings or weights [n] (default 1.0); explicit defaults to `values is not None`.
        timestamps: [n] epoch seconds (ints, whole floats, datetime64 or ISO strings), or None.
        user_ids / item_ids: reuse existing maps (ids outside them are an error), e.g. for a test
            file scored by a trained model.
        duplicates: what to do with repeated (user, item) pairs — "last" keeps the latest (by
            timestamp, then by position), "first" the earliest, "sum" / "mean" combine the values
            (keeping the latest timestamp), "error" refuses. Merged rows are counted in a
            DataWarning.
        source: names the input in error messages (a file name, "DataFrame", …).
        rows: "user", or "session" when `users` are session ids (a session log).
        """
        n = _check_same_length(
            source, users=users, items=items, values=values, timestamps=timestamps
        )
        if n == 0:
            raise DataError(f"{source}: no interactions (empty input)")
        if user_ids is None:
            u_idx, user_ids = factorize(users, what="user")
        else:
            u_idx = user_ids.to_index(users, what="user")
        if item_ids is None:
            i_idx, item_ids = factorize(items, what="item")
        else:
            i_idx = item_ids.to_index(items, what="item")
        return cls.from_indices(
            u_idx,
            i_idx,
            values,
            timestamps,
            user_ids=user_ids,
            item_ids=item_ids,
            explicit=values is not None if explicit is None else explicit,
            duplicates=duplicates,
            source=source,
            rows=rows,
        )

    @classmethod
    def from_dataframe(
        cls,
        df: Any,
        *,
        user: str = "user",
        item: str = "item",
        rating: str | None = None,
        timestamp: str | None = None,
        explicit: bool | None = None,
        duplicates: DuplicatePolicy = "last",
        rows: str = "user",
    ) -> Interactions:
        """Build from a pandas / polars DataFrame or a pyarrow Table by column names.

        rating: a ratings (or weights, with explicit=False) column; None gives weight 1.0.
        timestamp: epoch seconds, datetimes (tz-aware ones are taken in UTC) or ISO strings.
        rows: "session" when the `user` column holds session ids (a session log).
        """
        names = getattr(df, "column_names", None) or getattr(df, "columns", None)
        if names is None:
            raise DataError(
                f"from_dataframe needs a DataFrame or a pyarrow Table; got {type(df).__name__}"
            )
        columns = [str(c) for c in names]
        roles = (("user", user), ("item", item), ("rating", rating), ("timestamp", timestamp))
        for role, name in roles:
            if name is not None and name not in columns:
                raise DataError(
                    f"DataFrame has no {role} column {name!r}; columns are {columns}. "
                    f"Pass {role}=<column name>."
                )
        return cls.from_arrays(
            _column(df, user),
            _column(df, item),
            None if rating is None else _column(df, rating),
            None if timestamp is None else _column(df, timestamp),
            explicit=explicit,
            duplicates=duplicates,
            source="DataFrame",
            rows=rows,
        )

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> Interactions:
        """Read a CSV / TSV / any-separator / Parquet file; `options` are those of
        `recforge.data.read_interactions` (columns, sep, header, duplicates, on_bad_lines, …)."""
        from recforge.data.readers import read_interactions

        return read_interactions(path, **options)

    @classmethod
    def from_indices(
        cls,
        users: Any,
        items: Any,
        values: Any | None,
        timestamps: Any | None,
        *,
        user_ids: IdMap,
        item_ids: IdMap,
        explicit: bool,
        duplicates: DuplicatePolicy = "last",
        source: str = "arrays",
        rows: str = "user",
    ) -> Interactions:
        """Build from index arrays (int, [n]) that already refer to `user_ids` / `item_ids`.

        values [n] (None: 1.0) and timestamps [n] (or None) as in `from_arrays`; so is
        `duplicates`. n may be 0 (an empty matrix over the given id maps). rows: what the
        users are, "user" or "session" (a session log), kept as the `rows` field.
        """
        if duplicates not in DUPLICATE_POLICIES:
            raise ParameterError(
                f"The 'duplicates' parameter must be one of {', '.join(DUPLICATE_POLICIES)}. "
                f"Got {duplicates!r} instead."
            )
        _check_rows(rows)
        _check_same_length(source, users=users, items=items, values=values, timestamps=timestamps)
        u = _as_index(users, "user", source)
        i = _as_index(items, "item", source)
        n_users, n_items = len(user_ids), len(item_ids)
        if u.size and (u.min() < 0 or u.max() >= n_users):
            raise DataError(f"{source}: user index out of range [0, {n_users})")
        if i.size and (i.min() < 0 or i.max() >= n_items):
            raise DataError(f"{source}: item index out of range [0, {n_items})")
        vals = _clean_values(values, u.size, source)
        ts = _clean_timestamps(timestamps, u.size, source)
        matrix, _ = _to_csr(u, i, n_users, n_items)
        del users, items, u, i  # the largest temporaries
        if _has_adjacent_repeats(matrix):
            matrix, ts_out = _merge_duplicates(matrix, vals, ts, duplicates, source, rows)
        else:  # the data of each slot is its input row
            from recforge.data.csr_kernel import take

            perm = matrix.data
            matrix.data = take(vals, perm)
            matrix.has_canonical_format = True  # columns ascend in each row, none repeated
            ts_out = None if ts is None else take(ts, perm)
        return cls(matrix, user_ids, item_ids, ts_out, bool(explicit), rows)

    # ------------------------------------------------------------------ basic views
    @property
    def n_users(self) -> int:
        """Rows of `matrix` (users known to the id map, with or without interactions)."""
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        """Columns of `matrix`."""
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        """Number of (user, item) interactions."""
        return int(self.matrix.nnz)

    def __len__(self) -> int:
        return self.nnz

    def __repr__(self) -> str:
        kind = "explicit" if self.explicit else "implicit"
        ts = ", timestamps" if self.timestamps is not None else ""
        return (
            f"Interactions({self.n_users} {self.rows}s × {self.n_items} items, "
            f"{self.nnz} {kind} interactions{ts})"
        )

    def fingerprint(self) -> str:
        """A hex digest of the data: the matrix (pattern and values), the timestamps and the
        raw ids of both sides; equal data gives the same digest in any process."""
        digest = hashlib.blake2b(digest_size=16)
        m = self.matrix
        parts: list[tuple[np.ndarray, Any]] = [(m.indptr, np.int64), (m.indices, np.int64)]
        parts += [(m.data, None), (self.user_ids.raw_ids, None), (self.item_ids.raw_ids, None)]
        if self.timestamps is not None:
            parts.append((self.timestamps, None))
        for part, dtype in parts:
            dtype = part.dtype if dtype is None else np.dtype(dtype)
            digest.update(f"{dtype.str}{part.shape}".encode())
            for start in range(0, max(part.shape[0], 1), _DIGEST_CHUNK):  # no copy of the whole
                chunk = np.ascontiguousarray(part[start : start + _DIGEST_CHUNK], dtype=dtype)
                digest.update(chunk.tobytes())
        return digest.hexdigest()

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(user int32 [nnz], item int32 [nnz], value float32 [nnz]) in CSR order."""
        rows = np.repeat(np.arange(self.n_users, dtype=np.int32), np.diff(self.matrix.indptr))
        return rows, self.matrix.indices.astype(np.int32, copy=False), self.matrix.data

    def user_counts(self) -> np.ndarray:
        """Interactions per user, int64 [n_users]."""
        return np.diff(self.matrix.indptr).astype(np.int64)

    def item_counts(self) -> np.ndarray:
        """Interactions per item, int64 [n_items]."""
        return np.bincount(self.matrix.indices, minlength=self.n_items).astype(np.int64)

    def binary(self) -> sp.csr_array:
        """The interaction pattern with every value set to 1.0 (float32 CSR [n_users, n_items]):
        `matrix` itself when its values already are (no copy; neither may be changed in place)."""
        m = self.matrix
        if m.data.dtype == np.float32 and bool((m.data == 1.0).all()):
            return m
        out = sp.csr_array((np.ones(m.nnz, dtype=np.float32), m.indices, m.indptr), shape=m.shape)
        out.has_canonical_format = True
        return out

    def time_order(self) -> np.ndarray:
        """Permutation of CSR slots (int64 [nnz]) listing users in index order and each user's
        interactions oldest first; equal times (and data without timestamps) by item index."""
        n = self.nnz
        if self.timestamps is None or n == 0:
            return np.arange(n, dtype=np.int64)
        ts = self.timestamps
        rows, _, _ = self.coo()
        lo, hi = int(ts.min()), int(ts.max())
        span = hi - lo + 1
        if span * self.n_users < 2**62:  # one stable sort of a combined key
            key = rows.astype(np.int64) * span + (ts - lo)
            return np.argsort(key, kind="stable").astype(np.int64, copy=False)
        return np.lexsort((ts, rows)).astype(np.int64, copy=False)

    def histories(self) -> Histories:
        """Per-user item sequences, oldest first (ties, or no timestamps: by item index)."""
        indptr = self.matrix.indptr.astype(np.int64)
        items = self.matrix.indices.astype(np.int32, copy=False)
        if self.timestamps is None:
            return Histories(indptr, items, None)
        order = self.time_order()
        return Histories(indptr, items[order], self.timestamps[order])

    def to_dataframe(self, *, raw_ids: bool = True) -> Any:
        """A pandas DataFrame with columns user (session for a session log), item,
        rating|weight[, timestamp], in CSR order."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_dataframe needs pandas: pip install 'recforge[pandas]'") from exc
        rows, items, values = self.coo()
        data: dict[str, Any] = {
            self.rows: self.user_ids.to_raw(rows) if raw_ids else rows,
            "item": self.item_ids.to_raw(items) if raw_ids else items,
            "rating" if self.explicit else "weight": values,
        }
        if self.timestamps is not None:
            data["timestamp"] = self.timestamps
        return pd.DataFrame(data)

    # ------------------------------------------------------------------ derived datasets
    def subset(self, mask: Any) -> Interactions:
        """Keep the interactions where `mask` (bool [nnz], CSR order) is True; same id maps."""
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (self.nnz,):
            raise DataError(
                f"subset needs a bool mask of shape ({self.nnz},), one entry per interaction "
                f"in CSR order; got dtype {mask.dtype} and shape {mask.shape}"
            )
        m = self.matrix
        csum = np.zeros(self.nnz + 1, dtype=np.int64)
        np.cumsum(mask, out=csum[1:])
        indptr = csum[m.indptr]
        matrix = sp.csr_array((m.data[mask], m.indices[mask], indptr), shape=m.shape)
        matrix.has_canonical_format = True
        ts = None if self.timestamps is None else self.timestamps[mask]
        return Interactions(matrix, self.user_ids, self.item_ids, ts, self.explicit, self.rows)

    def compact(self) -> Interactions:
        """Drop users and items with no interactions and re-index (new, smaller id maps)."""
        u_counts = self.user_counts()
        keep_u = np.flatnonzero(u_counts > 0)
        keep_i = np.flatnonzero(self.item_counts() > 0)
        if keep_u.size == self.n_users and keep_i.size == self.n_items:
            return self
        m = self.matrix
        new_i = np.full(self.n_items, -1, dtype=np.int32)
        new_i[keep_i] = np.arange(keep_i.size, dtype=np.int32)
        indptr = np.zeros(keep_u.size + 1, dtype=np.int64)
        np.cumsum(u_counts[keep_u], out=indptr[1:])
        # Renumbering is monotone, so CSR order (and the timestamps' alignment) is unchanged.
        matrix = sp.csr_array((m.data, new_i[m.indices], indptr), shape=(keep_u.size, keep_i.size))
        matrix.has_canonical_format = True
        return Interactions(
            matrix,
            IdMap(self.user_ids.raw_ids[keep_u]),
            IdMap(self.item_ids.raw_ids[keep_i]),
            self.timestamps,
            self.explicit,
            self.rows,
        )

    def filter(
        self,
        *,
        min_user_interactions: int = 1,
        min_item_interactions: int = 1,
        iterate: bool = True,
    ) -> Interactions:
        """Keep users and items with at least the given number of interactions (a k-core when
        `iterate`, repeating until stable), then `compact`."""
        from recforge._validation import check_int

        mu = check_int(min_user_interactions, "min_user_interactions", "filter", low=1)
        mi = check_int(min_item_interactions, "min_item_interactions", "filter", low=1)
        current = self
        while True:
            ok_u = current.user_counts() >= mu
            ok_i = current.item_counts() >= mi
            rows, items, _ = current.coo()
            mask = ok_u[rows] & ok_i[items]
            if bool(mask.all()):
                return current.compact()
            current = current.subset(mask)
            if not iterate:
                return current.compact()

    def binarize(self, threshold: float) -> Interactions:
        """Explicit → implicit: keep ratings ≥ threshold, with weight 1.0 (same id maps)."""
        from recforge._validation import check_float

        t = check_float(threshold, "threshold", "binarize")
        if not self.explicit:
            raise DataError("binarize needs explicit ratings; these interactions are implicit")
        kept = self.subset(self.matrix.data >= t)
        return Interactions(
            kept.binary(), self.user_ids, self.item_ids, kept.timestamps, False, self.rows
        )

    def restrict(self, user_ids: IdMap, item_ids: IdMap) -> tuple[Interactions, int]:
        """Re-express these interactions in other id maps, dropping pairs whose user or item is
        unknown there. Returns (interactions, number of dropped pairs); callers report the count."""
        if user_ids == self.user_ids and item_ids == self.item_ids:
            same = Interactions(
                self.matrix, user_ids, item_ids, self.timestamps, self.explicit, self.rows
            )
            return same, 0
        rows, items, values = self.coo()
        u = user_ids.to_index(self.user_ids.raw_ids, missing="mask")[rows]
        i = item_ids.to_index(self.item_ids.raw_ids, missing="mask")[items]
        keep = (u >= 0) & (i >= 0)
        dropped = int(keep.size - np.count_nonzero(keep))
        ts = None if self.timestamps is None else self.timestamps[keep]
        out = Interactions.from_indices(
            u[keep],
            i[keep],
            values[keep],
            ts,
            user_ids=user_ids,
            item_ids=item_ids,
            explicit=self.explicit,
            rows=self.rows,
        )
        return out, dropped

    # ------------------------------------------------------------------ stats
    def stats(self) -> InteractionStats:
        """Counts, density, rating histogram, time span and degree summaries."""
        hist: dict[str, int] = {}
        if self.explicit and self.nnz:
            vals, counts = np.unique(self.matrix.data, return_counts=True)
            if vals.size <= 20:
                hist = {_fmt(v): int(c) for v, c in zip(vals, counts, strict=True)}
            else:
                c, e = np.histogram(self.matrix.data, bins=10)
                hist = {f"[{_fmt(e[k])}, {_fmt(e[k + 1])})": int(c[k]) for k in range(c.size)}
        ts = self.timestamps
        return InteractionStats(
            n_users=self.n_users,
            n_items=self.n_items,
            n_interactions=self.nnz,
            density=self.nnz / max(1, self.n_users * self.n_items),
            explicit=self.explicit,
            rating_histogram=hist,
            time_min=None if ts is None or ts.size == 0 else int(ts.min()),
            time_max=None if ts is None or ts.size == 0 else int(ts.max()),
            user_degree=_degree(self.user_counts()),
            item_degree=_degree(self.item_counts()),
            rows=self.rows,
        )


def concat(parts: Sequence[Interactions]) -> Interactions:
    """Union of interactions that share id maps, e.g. train + valid of one split.

    A (user, item) pair found in several parts keeps the value and timestamp of the last part
    holding it; such repeats are counted in a DataWarning (parts of one split never repeat).
    """
    if not parts:
        raise DataError("concat needs at least one Interactions")
    first = parts[0]
    for p in parts[1:]:
        if p.user_ids != first.user_ids or p.item_ids != first.item_ids:
            raise DataError(
                "concat can only combine interactions that share id maps (parts of one split); "
                "use restrict to re-express one in the other's id maps"
            )
        if p.explicit != first.explicit:
            raise DataError("concat cannot mix explicit ratings with implicit weights")
        if (p.timestamps is None) != (first.timestamps is None):
            raise DataError("concat cannot mix interactions with and without timestamps")
        if p.rows != first.rows:
            raise DataError(
                f"concat cannot mix a log of {first.rows}s with one of {p.rows}s; read both "
                "with the same column roles"
            )
    if len(parts) == 1:
        return first
    vals = np.concatenate([p.matrix.data for p in parts])
    ts = None
    if first.timestamps is not None:
        ts = np.concatenate([p.timestamps for p in parts if p.timestamps is not None])
    # Sum sparse matrices holding 1-based positions: a linear merge of sorted rows, no sort.
    merged: sp.csr_array | None = None
    offset = 0
    for p in parts:
        pos = np.arange(offset + 1, offset + p.nnz + 1, dtype=np.int64)
        one = sp.csr_array((pos, p.matrix.indices, p.matrix.indptr), shape=p.matrix.shape)
        merged = one if merged is None else merged + one
        offset += p.nnz
    assert merged is not None  # at least two parts
    if merged.nnz == offset:  # disjoint parts: every slot holds one position
        matrix = merged
        perm = merged.data - 1
    else:
        # Keep the last occurrence of every pair (positions of repeated pairs were summed).
        coos = [p.coo() for p in parts]
        u = np.concatenate([c[0] for c in coos]).astype(np.int64)
        i = np.concatenate([c[1] for c in coos]).astype(np.int64)
        _, last_rev = np.unique((u * first.n_items + i)[::-1], return_index=True)
        keep = np.sort(u.size - 1 - last_rev)
        warnings.warn(
            f"concat: {u.size - keep.size} (user, item) pairs appear in more than one part; "
            f"kept the value of the last part holding each",
            DataWarning,
            stacklevel=2,
        )
        matrix, perm_kept = _to_csr(u[keep], i[keep], first.n_users, first.n_items)
        perm = keep[perm_kept]
    matrix = sp.csr_array((vals[perm], matrix.indices, matrix.indptr), shape=matrix.shape)
    matrix.has_canonical_format = True
    ts_out = None if ts is None else ts[perm]
    return Interactions(matrix, first.user_ids, first.item_ids, ts_out, first.explicit, first.rows)


# ---------------------------------------------------------------------- helpers
def _check_rows(rows: str) -> None:
    if rows not in ROW_KINDS:
        raise ParameterError(
            f"The 'rows' parameter must be one of {', '.join(ROW_KINDS)}. Got {rows!r} instead."
        )


def _fmt(v: float) -> str:
    return f"{float(v):g}"


def _degree(counts: np.ndarray) -> dict[str, float]:
    if counts.size == 0:
        return {"min": 0.0, "median": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "min": float(counts.min()),
        "median": float(np.median(counts)),
        "mean": float(counts.mean()),
        "max": float(counts.max()),
    }


def _column(df: Any, name: str) -> Any:
    """One column as an array (pyarrow columns stay arrow; tz-aware datetimes become UTC)."""
    col = df[name]
    dt = getattr(col, "dt", None)
    if dt is not None and getattr(dt, "tz", None) is not None:
        col = dt.tz_convert(None)
    if isinstance(col, pa.Array | pa.ChunkedArray) or not hasattr(col, "to_numpy"):
        return col
    return col.to_numpy()


def _check_same_length(source: str, **arrays: Any) -> int:
    lengths: dict[str, int] = {}
    for name, value in arrays.items():
        if value is None:
            continue
        if isinstance(value, pa.Array | pa.ChunkedArray):
            ndim = 1
        else:
            ndim = len(value.shape) if hasattr(value, "shape") else np.ndim(value)
        if ndim != 1:
            raise DataError(f"{source}: {name} must be a 1-D array; got {ndim} dimensions")
        lengths[name] = len(value)
    if len(set(lengths.values())) > 1:
        raise DataError(f"{source}: arrays differ in length: {lengths}")
    return next(iter(lengths.values()))


def _as_index(values: Any, what: str, source: str) -> np.ndarray:
    """Integer indices [n]; int32 stays int32 (half the memory of int64 at scale)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise DataError(f"{source}: {what} indices must be integers; got dtype {arr.dtype}")
    if arr.dtype == np.int32:
        return arr
    return arr.astype(np.int64, copy=False)


def _clean_values(values: Any | None, n: int, source: str) -> np.ndarray:
    if values is None:
        return np.ones(n, dtype=np.float32)
    native = isinstance(values, np.ndarray) and values.dtype == np.float32
    if native and bool(np.isfinite(values).all()):
        return values  # the common case from readers: no float64 round trip
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"{source}: ratings/weights must be numbers; convert or drop the other values"
        ) from None
    bad = ~np.isfinite(v)
    if bool(bad.any()):
        k = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: rating/weight at row {k} is {float(v[k])} ({int(bad.sum())} such rows); "
            f"every value must be a finite number, so drop or fill those rows"
        )
    return v.astype(np.float32)


def _clean_timestamps(ts: Any | None, n: int, source: str) -> np.ndarray | None:
    """Epoch seconds, int64 [n], from ints, whole floats, datetime64 or ISO strings."""
    if ts is None:
        return None
    if isinstance(ts, pa.Array | pa.ChunkedArray):
        ts = ts.to_numpy(zero_copy_only=False)
    elif hasattr(ts, "to_numpy"):  # a DataFrame column
        ts = ts.to_numpy()
    arr = np.asarray(ts)
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(np.int64, copy=False)
    if kind == "f":
        bad = ~np.isfinite(arr)
        if bool(bad.any()):
            k = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: timestamp at row {k} is missing or not finite "
                f"({int(bad.sum())} such rows); drop or fill those rows"
            )
        return np.floor(arr).astype(np.int64)
    if kind in "UO":
        try:
            arr = arr.astype("datetime64[s]")
        except (TypeError, ValueError):
            raise DataError(
                f"{source}: timestamps must be epoch seconds, datetimes or ISO-8601 strings "
                f"such as '2024-03-01T12:00:00'"
            ) from None
        kind = "M"
    if kind == "M":
        nat = np.isnat(arr)
        if bool(nat.any()):
            k = int(np.flatnonzero(nat)[0])
            raise DataError(
                f"{source}: timestamp at row {k} is missing ({int(nat.sum())} such rows); "
                f"drop or fill those rows"
            )
        return arr.astype("datetime64[s]").astype(np.int64)
    raise DataError(
        f"{source}: timestamps must be epoch seconds, datetimes or ISO-8601 strings; "
        f"got dtype {arr.dtype}"
    )


def _to_csr(
    u: np.ndarray, i: np.ndarray, n_users: int, n_items: int
) -> tuple[sp.csr_array, np.ndarray]:
    """The CSR [n_users, n_items] of the pairs (u, i), repeated pairs kept side by side in
    input order and columns ascending within a row, whose data is the input row of each slot;
    and that data array (int [nnz])."""
    from recforge.data.csr_kernel import stable_csr

    indptr, indices, origin = stable_csr(u, i, n_users, n_items)
    m = sp.csr_array((origin, indices, indptr), shape=(n_users, n_items))
    return m, origin


def _has_adjacent_repeats(m: sp.csr_array) -> bool:
    """Whether some row of a CSR with ascending columns holds the same column twice."""
    return bool(m.nnz > 1 and not _group_starts(m).all())


def _group_starts(m: sp.csr_array) -> np.ndarray:
    """bool [nnz]: whether each slot starts a new (row, column) pair (ascending columns)."""
    indices = m.indices
    starts = np.ones(indices.size, dtype=bool)
    np.not_equal(indices[1:], indices[:-1], out=starts[1:])
    row_starts = m.indptr[:-1]
    starts[row_starts[row_starts < indices.size]] = True
    return starts


def _merge_duplicates(
    pattern: sp.csr_array,
    vals: np.ndarray,
    ts: np.ndarray | None,
    policy: str,
    source: str,
    rows_are: str = "user",
) -> tuple[sp.csr_array, np.ndarray | None]:
    """The canonical float32 matrix and its timestamps from `_to_csr`'s output (data: input
    rows, repeated pairs side by side in input order), each pair resolved by `policy`; warns
    with the count of merged rows (`rows_are`: "user" or "session", how they are named). Only
    the slots of repeated pairs are sorted."""
    rows = pattern.data.astype(np.int64)  # input row of every slot
    new = _group_starts(pattern)
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, new.size))
    group = np.cumsum(new) - 1  # pair number of every slot
    repeated_slots = np.flatnonzero((sizes > 1)[group])
    g, r = group[repeated_slots], rows[repeated_slots]
    if policy == "error":
        # The earliest row that repeats an earlier one; rows of a pair are in input order.
        pair_start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        seconds = r[pair_start + 1]
        k = int(np.argmin(seconds))
        row, first_row = int(seconds[k]), int(r[pair_start[k]])
        repeated = int(new.size - starts.size)
        raise DuplicateInteractionError(
            f"{source}: duplicate ({rows_are}, item) pair at row {row} (first at row {first_row}; "
            f"{repeated} repeated rows in all); pass duplicates='last'|'first'|'sum'|'mean'",
            row=row,
            first_row=first_row,
            repeated=repeated,
        )
    # Within a pair: ascending time, then input order, so a pair's last row is the latest.
    order = np.lexsort((r, ts[r] if ts is not None else r, g))
    r, g = r[order], g[order]
    first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.append(first, g.size))
    chosen = rows[starts]
    merged = g[first]
    chosen[merged] = r[first] if policy == "first" else r[first + counts - 1]
    data = vals[chosen]
    if policy in ("sum", "mean"):
        sums = np.add.reduceat(vals[r].astype(np.float64), first)
        data[merged] = (sums if policy == "sum" else sums / counts).astype(np.float32)
    row_of_start = np.searchsorted(pattern.indptr, starts, side="right") - 1
    per_row = np.bincount(row_of_start, minlength=pattern.shape[0])
    indptr = np.zeros(pattern.shape[0] + 1, dtype=np.int64)
    np.cumsum(per_row, out=indptr[1:])
    matrix = sp.csr_array(
        (data, pattern.indices[starts], indptr.astype(pattern.indptr.dtype)), shape=pattern.shape
    )
    # a session's repeated clicks on an item become one: it sits in the session's sequence
    # at the time of the click the policy keeps
    kept = "a repeated item keeps the time of its " + ("first" if policy == "first" else "latest")
    also = f" ({kept} click in the sequence)" if rows_are == "session" else ""
    warnings.warn(
        f"{source}: merged {new.size - starts.size} duplicate ({rows_are}, item) rows with "
        f"duplicates={policy!r}{also}; pass duplicates='last'|'first'|'sum'|'mean'|'error' to "
        f"change this",
        DataWarning,
        stacklevel=4,
    )
    return matrix, None if ts is None else ts[chosen]
