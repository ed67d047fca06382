"""`Interactions`: the user × item matrix that every split, model and metric works on."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from recforge.data.idmap import IdMap, factorize
from recforge.errors import DataError, DataWarning, ParameterError

__all__ = ["DUPLICATE_POLICIES", "Histories", "Interactions", "InteractionStats"]

DuplicatePolicy = Literal["last", "first", "sum", "mean", "error"]
DUPLICATE_POLICIES: tuple[str, ...] = ("last", "first", "sum", "mean", "error")


class Histories(NamedTuple):
    """Per-user item sequences in time order, as a CSR-like triple.

    indptr: int64 [n_users + 1]; items: int32 [nnz]; timestamps: int64 [nnz] or None.
    User u's history is items[indptr[u]:indptr[u + 1]], oldest first.
    """

    indptr: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None

    def of(self, user: int) -> np.ndarray:
        """Item indices of one user, oldest first."""
        return self.items[self.indptr[user] : self.indptr[user + 1]]


@dataclass(frozen=True)
class InteractionStats:
    """Summary numbers of an `Interactions`; `as_dict` gives JSON-ready values."""

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

    @property
    def sparsity(self) -> float:
        return 1.0 - self.density

    def as_dict(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        def iso(t: int | None) -> str | None:
            return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()

        return {
            "users": self.n_users,
            "items": self.n_items,
            "interactions": self.n_interactions,
            "density": self.density,
            "sparsity": self.sparsity,
            "explicit": self.explicit,
            "rating_histogram": self.rating_histogram,
            "time_min": iso(self.time_min),
            "time_max": iso(self.time_max),
            "time_span_days": None
            if self.time_min is None or self.time_max is None
            else (self.time_max - self.time_min) / 86400.0,
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

    Build one with `from_arrays`, `from_dataframe`, `from_indices` or a loader in `recforge.data`.
    """

    matrix: sp.csr_array
    user_ids: IdMap
    item_ids: IdMap
    timestamps: np.ndarray | None = None
    explicit: bool = False

    def __post_init__(self) -> None:
        m = self.matrix
        if m.shape != (len(self.user_ids), len(self.item_ids)):
            raise DataError(
                f"matrix shape {m.shape} does not match the id maps "
                f"({len(self.user_ids)} users, {len(self.item_ids)} items)"
            )
        if self.timestamps is not None and self.timestamps.shape != (m.nnz,):
            raise DataError(f"timestamps must have one entry per interaction ({m.nnz})")
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
    ) -> Interactions:
        """Build from raw-id arrays (ints or strings) of equal length n.

        values: ratings or weights [n] (default 1.0); explicit defaults to `values is not None`.
        timestamps: int-like [n] seconds, or None.
        user_ids / item_ids: reuse existing maps (ids outside them are an error), e.g. for a test
            file scored by a trained model.
        duplicates: what to do with repeated (user, item) pairs — "last" keeps the latest (by
            timestamp, then by position), "first" the earliest, "sum" / "mean" combine the values,
            "error" refuses. Merged rows are counted in a DataWarning.
        """
        users_a, items_a = np.asarray(users), np.asarray(items)
        n = _check_same_length(source, users=users_a, items=items_a, values=values, ts=timestamps)
        if n == 0:
            raise DataError(f"{source}: no interactions (empty input)")
        if user_ids is None:
            u_idx, user_ids = factorize(users_a, what="user")
        else:
            u_idx = user_ids.to_index(users_a, what="user")
        if item_ids is None:
            i_idx, item_ids = factorize(items_a, what="item")
        else:
            i_idx = item_ids.to_index(items_a, what="item")
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
        duplicates: DuplicatePolicy = "last",
    ) -> Interactions:
        """Build from a pandas (or any column-indexable) DataFrame by column names."""
        columns = list(getattr(df, "columns", []))
        for role, name in (("user", user), ("item", item), ("rating", rating), ("timestamp", timestamp)):
            if name is not None and name not in columns:
                raise DataError(
                    f"DataFrame has no {role} column {name!r}; columns are {columns}. "
                    f"Pass {role}=<column name>."
                )
        return cls.from_arrays(
            df[user].to_numpy(),
            df[item].to_numpy(),
            None if rating is None else df[rating].to_numpy(),
            None if timestamp is None else df[timestamp].to_numpy(),
            duplicates=duplicates,
            source="DataFrame",
        )

    @classmethod
    def from_indices(
        cls,
        users: np.ndarray,
        items: np.ndarray,
        values: Any | None,
        timestamps: Any | None,
        *,
        user_ids: IdMap,
        item_ids: IdMap,
        explicit: bool,
        duplicates: DuplicatePolicy = "last",
        source: str = "arrays",
    ) -> Interactions:
        """Build from index arrays (int, [n]) that already refer to `user_ids` / `item_ids`."""
        if duplicates not in DUPLICATE_POLICIES:
            raise ParameterError(
                f"The 'duplicates' parameter must be one of {', '.join(DUPLICATE_POLICIES)}. "
                f"Got {duplicates!r} instead."
            )
        u = np.asarray(users, dtype=np.int64)
        i = np.asarray(items, dtype=np.int64)
        n_users, n_items = len(user_ids), len(item_ids)
        if u.size and (u.min() < 0 or u.max() >= n_users):
            raise DataError(f"{source}: user index out of range [0, {n_users})")
        if i.size and (i.min() < 0 or i.max() >= n_items):
            raise DataError(f"{source}: item index out of range [0, {n_items})")
        vals = _clean_values(values, u.size, source)
        ts = _clean_timestamps(timestamps, u.size, source)
        matrix, perm = _to_csr(u, i, n_users, n_items)
        if matrix.nnz == u.size:  # no duplicates: perm maps CSR slots to input rows
            matrix.data = vals[perm]
            ts_out = None if ts is None else ts[perm]
        else:
            matrix, ts_out = _merge_duplicates(u, i, vals, ts, n_users, n_items, duplicates, source)
        return cls(matrix, user_ids, item_ids, ts_out, bool(explicit))

    # ------------------------------------------------------------------ basic views
    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def __len__(self) -> int:
        return self.nnz

    def __repr__(self) -> str:
        kind = "explicit" if self.explicit else "implicit"
        ts = ", timestamps" if self.timestamps is not None else ""
        return (
            f"Interactions({self.n_users} users × {self.n_items} items, "
            f"{self.nnz} {kind} interactions{ts})"
        )

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
        """The interaction pattern with every value set to 1.0 (float32 CSR)."""
        m = self.matrix
        return sp.csr_array(
            (np.ones(m.nnz, dtype=np.float32), m.indices, m.indptr), shape=m.shape
        )

    def histories(self) -> Histories:
        """Per-user item sequences, oldest first (ties, or no timestamps: by item index)."""
        rows, items, _ = self.coo()
        if self.timestamps is None:
            return Histories(self.matrix.indptr.astype(np.int64), items, None)
        order = np.lexsort((self.timestamps, rows))
        return Histories(
            self.matrix.indptr.astype(np.int64), items[order], self.timestamps[order]
        )

    def to_dataframe(self, *, raw_ids: bool = True) -> Any:
        """A pandas DataFrame with columns user, item, value[, timestamp] (pandas needed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "to_dataframe needs pandas: pip install 'recforge[pandas]'"
            ) from exc
        rows, items, values = self.coo()
        data: dict[str, Any] = {
            "user": self.user_ids.to_raw(rows) if raw_ids else rows,
            "item": self.item_ids.to_raw(items) if raw_ids else items,
            "rating" if self.explicit else "weight": values,
        }
        if self.timestamps is not None:
            data["timestamp"] = self.timestamps
        return pd.DataFrame(data)

    # ------------------------------------------------------------------ derived datasets
    def subset(self, mask: np.ndarray) -> Interactions:
        """Keep the interactions where `mask` (bool [nnz], CSR order) is True; same id maps."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.nnz,):
            raise DataError(f"mask must be a bool array of length {self.nnz}")
        m = self.matrix
        counts = np.bincount(
            np.repeat(np.arange(self.n_users), np.diff(m.indptr))[mask], minlength=self.n_users
        )
        indptr = np.zeros(self.n_users + 1, dtype=m.indptr.dtype)
        np.cumsum(counts, out=indptr[1:])
        matrix = sp.csr_array((m.data[mask], m.indices[mask], indptr), shape=m.shape)
        matrix.has_sorted_indices = True
        ts = None if self.timestamps is None else self.timestamps[mask]
        return Interactions(matrix, self.user_ids, self.item_ids, ts, self.explicit)

    def compact(self) -> Interactions:
        """Drop users and items with no interactions and re-index (new, smaller id maps)."""
        keep_u = np.flatnonzero(self.user_counts() > 0)
        keep_i = np.flatnonzero(self.item_counts() > 0)
        if keep_u.size == self.n_users and keep_i.size == self.n_items:
            return self
        rows, items, values = self.coo()
        new_u = np.full(self.n_users, -1, dtype=np.int64)
        new_u[keep_u] = np.arange(keep_u.size)
        new_i = np.full(self.n_items, -1, dtype=np.int64)
        new_i[keep_i] = np.arange(keep_i.size)
        return Interactions.from_indices(
            new_u[rows],
            new_i[items],
            values,
            self.timestamps,
            user_ids=IdMap(self.user_ids.raw_ids[keep_u]),
            item_ids=IdMap(self.item_ids.raw_ids[keep_i]),
            explicit=self.explicit,
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
            rows, items, _ = current.coo()
            ok_u = current.user_counts() >= mu
            ok_i = current.item_counts() >= mi
            mask = ok_u[rows] & ok_i[items]
            if bool(mask.all()):
                return current.compact()
            current = current.subset(mask)
            if not iterate:
                return current.compact()

    def binarize(self, threshold: float) -> Interactions:
        """Explicit → implicit: keep ratings ≥ threshold, with weight 1.0."""
        from recforge._validation import check_float

        t = check_float(threshold, "threshold", "binarize")
        if not self.explicit:
            raise DataError("binarize needs explicit ratings; these interactions are implicit")
        kept = self.subset(self.matrix.data >= t)
        m = kept.matrix
        matrix = sp.csr_array((np.ones(m.nnz, dtype=np.float32), m.indices, m.indptr), m.shape)
        return Interactions(matrix, self.user_ids, self.item_ids, kept.timestamps, explicit=False)

    def restrict(self, user_ids: IdMap, item_ids: IdMap) -> tuple[Interactions, int]:
        """Re-express these interactions in other id maps, dropping pairs whose user or item is
        unknown there. Returns (interactions, number of dropped pairs); callers report the count."""
        rows, items, values = self.coo()
        u = user_ids.to_index(self.user_ids.raw_ids, missing="mask")[rows]
        i = item_ids.to_index(self.item_ids.raw_ids, missing="mask")[items]
        keep = (u >= 0) & (i >= 0)
        dropped = int((~keep).sum())
        if not bool(keep.any()):
            empty = sp.csr_array((len(user_ids), len(item_ids)), dtype=np.float32)
            ts_e = None if self.timestamps is None else np.zeros(0, dtype=np.int64)
            return Interactions(empty, user_ids, item_ids, ts_e, self.explicit), dropped
        ts = None if self.timestamps is None else self.timestamps[keep]
        out = Interactions.from_indices(
            u[keep], i[keep], values[keep], ts,
            user_ids=user_ids, item_ids=item_ids, explicit=self.explicit,
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
                edges = np.histogram_bin_edges(self.matrix.data, bins=10)
                c, e = np.histogram(self.matrix.data, bins=edges)
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
        )


# ---------------------------------------------------------------------- helpers
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


def _check_same_length(source: str, **arrays: Any) -> int:
    lengths = {k: len(np.asarray(v)) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise DataError(f"{source}: arrays differ in length: {lengths}")
    return next(iter(lengths.values()))


def _clean_values(values: Any | None, n: int, source: str) -> np.ndarray:
    if values is None:
        return np.ones(n, dtype=np.float32)
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: ratings/weights must be numeric ({exc})") from None
    bad = ~np.isfinite(v)
    if bool(bad.any()):
        k = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: rating/weight at row {k} is {v[k]!r}; every value must be a finite number"
        )
    return v.astype(np.float32)


def _clean_timestamps(ts: Any | None, n: int, source: str) -> np.ndarray | None:
    if ts is None:
        return None
    arr = np.asarray(ts)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[s]").astype(np.int64)
    if arr.dtype.kind == "f":
        if not bool(np.isfinite(arr).all()):
            k = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise DataError(f"{source}: timestamp at row {k} is missing or not finite")
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    raise DataError(f"{source}: timestamps must be integers (seconds) or datetimes")


def _to_csr(u: np.ndarray, i: np.ndarray, n_users: int, n_items: int) -> tuple[sp.csr_array, np.ndarray]:
    """CSR of the pattern, plus the input row behind each CSR slot (valid when no duplicates)."""
    pos = np.arange(u.size, dtype=np.int64)
    m = sp.csr_array((pos, (u, i)), shape=(n_users, n_items))
    m.sum_duplicates()
    m.indices = m.indices.astype(np.int32, copy=False)
    return m, m.data


def _merge_duplicates(
    u: np.ndarray,
    i: np.ndarray,
    vals: np.ndarray,
    ts: np.ndarray | None,
    n_users: int,
    n_items: int,
    policy: str,
    source: str,
) -> tuple[sp.csr_array, np.ndarray | None]:
    """Resolve repeated (user, item) pairs with `policy`; warn with the count of merged rows.

    Only rows of repeated pairs are sorted: repeated pairs are found from a summed count matrix,
    so a few duplicates among millions of rows cost two sparse conversions, not a full sort.
    """
    key = u * n_items + i
    counts = sp.csr_array((np.ones(u.size, dtype=np.int32), (u, i)), shape=(n_users, n_items))
    counts.sum_duplicates()
    c_rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(counts.indptr))
    repeated = counts.data > 1
    dup_keys = c_rows[repeated] * n_items + counts.indices[repeated]  # sorted
    user_has_dup = np.zeros(n_users, dtype=bool)
    user_has_dup[c_rows[repeated]] = True
    candidates = np.flatnonzero(user_has_dup[u])
    in_dup = np.zeros(u.size, dtype=bool)
    in_dup[candidates] = np.isin(key[candidates], dup_keys, assume_unique=False)
    dup_rows = np.flatnonzero(in_dup)
    dkey = key[dup_rows]
    dts = ts[dup_rows] if ts is not None else dup_rows
    # Within a pair: ascending time, then file order, so a group's last row is the latest.
    order = dup_rows[np.lexsort((dup_rows, dts, dkey))]
    skey = key[order]
    starts = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]])
    sizes = np.diff(np.r_[starts, skey.size])
    n_merged = int(order.size - starts.size)
    if policy == "error":
        raise DataError(
            f"{source}: duplicate (user, item) pair at row {int(order[starts[0]])} "
            f"({n_merged} repeated rows); choose a duplicates policy: last, first, sum or mean"
        )
    if policy == "first":
        pick = order[starts]
        picked_vals = vals[pick]
    else:
        pick = order[starts + sizes - 1]
        if policy == "last":
            picked_vals = vals[pick]
        else:
            sums = np.add.reduceat(vals[order].astype(np.float64), starts)
            picked_vals = (sums if policy == "sum" else sums / sizes).astype(np.float32)
    keep = np.flatnonzero(~in_dup)
    rows_all = np.concatenate([keep, pick])
    vals_all = np.concatenate([vals[keep], picked_vals])
    matrix, perm = _to_csr(u[rows_all], i[rows_all], n_users, n_items)
    matrix.data = vals_all[perm]
    warnings.warn(
        f"{source}: merged {n_merged} duplicate (user, item) rows with duplicates={policy!r}; "
        f"pass duplicates='first'|'sum'|'mean'|'error' to change this",
        DataWarning,
        stacklevel=4,
    )
    return matrix, None if ts is None else ts[rows_all][perm]


def concat_sequence(parts: Sequence[Interactions]) -> Interactions:
    """Union of interactions that share id maps (later parts win on repeated pairs)."""
    if not parts:
        raise DataError("nothing to concatenate")
    first = parts[0]
    for p in parts[1:]:
        if p.user_ids != first.user_ids or p.item_ids != first.item_ids:
            raise DataError("can only combine interactions that share id maps (from one split)")
    coos = [p.coo() for p in parts]
    has_ts = all(p.timestamps is not None for p in parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return Interactions.from_indices(
            np.concatenate([c[0] for c in coos]),
            np.concatenate([c[1] for c in coos]),
            np.concatenate([c[2] for c in coos]),
            np.concatenate([p.timestamps for p in parts]) if has_ts else None,  # type: ignore[misc]
            user_ids=first.user_ids,
            item_ids=first.item_ids,
            explicit=first.explicit,
            duplicates="last",
        )
