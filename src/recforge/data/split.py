"""Train / valid / test splits of `Interactions`.

Every part keeps the full dataset's id maps, so an index means the same user or item in each.
Nothing is dropped: users or items of valid / test never seen in train (cold start) are counted
in `Split.report()`, and users with too few interactions to split stay wholly in train (counted).
Each function is deterministic for a given `seed`; ties in time are broken by item index (the
higher index counts as later).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from recforge._validation import check_choice, check_float, check_int, check_seed
from recforge.data.interactions import Interactions, concat
from recforge.errors import DataError, ParameterError

__all__ = [
    "SPLIT_METHODS",
    "ColdStart",
    "Split",
    "SplitReport",
    "kfold",
    "leave_last_out",
    "random_split",
    "split",
    "time_split",
    "user_split",
]

_TRAIN, _VALID, _TEST = 0, 1, 2


@dataclass(frozen=True)
class ColdStart:
    """Users / items of one part (valid or test) that never occur in train, and how many of that
    part's interactions involve them."""

    users: int
    items: int
    user_interactions: int
    item_interactions: int

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return {
            "users": self.users,
            "items": self.items,
            "user_interactions": self.user_interactions,
            "item_interactions": self.item_interactions,
        }


@dataclass(frozen=True)
class SplitReport:
    """Sizes of the parts of a split and what in valid / test is unseen in train.

    train / valid / test: interactions per part (valid is None when there is no valid part).
    test_users: users with at least one test interaction.
    users_kept_in_train: users with interactions who were too few to split and stay in train.
    rows: "user", or "session" for a session log (the users above are then sessions).
    """

    method: str
    train: int
    valid: int | None
    test: int
    test_users: int
    test_cold: ColdStart
    valid_cold: ColdStart | None
    users_kept_in_train: int
    rows: str = "user"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "method": self.method,
            "train": self.train,
            "valid": self.valid,
            "test": self.test,
            "test_users": self.test_users,
            "test_cold": self.test_cold.as_dict(),
            "valid_cold": None if self.valid_cold is None else self.valid_cold.as_dict(),
            "users_kept_in_train": self.users_kept_in_train,
            "rows": self.rows,
        }

    def __str__(self) -> str:
        valid = "" if self.valid is None else f", valid {self.valid:,}"
        cold, rows = self.test_cold, self.rows
        lines = [
            f"{self.method} split: train {self.train:,}{valid}, test {self.test:,} interactions "
            f"({self.test_users:,} test {rows}s)",
            f"test {rows}s unseen in train: {cold.users:,} ({cold.user_interactions:,} "
            f"interactions); test items unseen in train: {cold.items:,} "
            f"({cold.item_interactions:,} interactions)",
        ]
        if self.valid_cold is not None:
            vc = self.valid_cold
            lines.append(
                f"valid {rows}s unseen in train: {vc.users:,} ({vc.user_interactions:,} "
                f"interactions); valid items unseen in train: {vc.items:,} "
                f"({vc.item_interactions:,} interactions)"
            )
        if self.users_kept_in_train:
            lines.append(
                f"{self.users_kept_in_train:,} {rows}s had too few interactions to split "
                f"and stay wholly in train"
            )
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class Split:
    """Train, optional valid and test `Interactions` over the same id maps.

    method names how it was made; users_kept_in_train counts users left wholly in train.
    """

    train: Interactions
    valid: Interactions | None
    test: Interactions
    method: str = "custom"
    users_kept_in_train: int = 0

    def __post_init__(self) -> None:
        for name, part in (("valid", self.valid), ("test", self.test)):
            if part is None:
                continue
            if part.user_ids != self.train.user_ids or part.item_ids != self.train.item_ids:
                raise DataError(
                    f"the {name} part of a Split must share train's id maps; build the parts "
                    f"with Interactions.subset or restrict them with Interactions.restrict"
                )

    def report(self) -> SplitReport:
        """Counts per part, with users / items of valid and test never seen in train."""
        train_u, train_i = self.train.user_counts(), self.train.item_counts()
        return SplitReport(
            method=self.method,
            train=self.train.nnz,
            valid=None if self.valid is None else self.valid.nnz,
            test=self.test.nnz,
            test_users=int(np.count_nonzero(self.test.user_counts())),
            test_cold=_cold(train_u, train_i, self.test),
            valid_cold=None if self.valid is None else _cold(train_u, train_i, self.valid),
            users_kept_in_train=self.users_kept_in_train,
            rows=self.train.rows,
        )

    def train_valid(self) -> Interactions:
        """Train and valid together (train when there is no valid part), e.g. to refit a model
        with the hyper-parameters chosen on valid."""
        return self.train if self.valid is None else concat([self.train, self.valid])


def _cold(train_users: np.ndarray, train_items: np.ndarray, part: Interactions) -> ColdStart:
    rows, items, _ = part.coo()
    unseen_u = train_users == 0
    unseen_i = train_items == 0
    return ColdStart(
        users=int(np.count_nonzero(unseen_u & (part.user_counts() > 0))),
        items=int(np.count_nonzero(unseen_i & (part.item_counts() > 0))),
        user_interactions=int(np.count_nonzero(unseen_u[rows])),
        item_interactions=int(np.count_nonzero(unseen_i[items])),
    )


# ---------------------------------------------------------------------- split functions
def random_split(
    data: Interactions, *, test: float = 0.2, valid: float = 0.0, seed: int | None = 0
) -> Split:
    """Assign round(test · nnz) random interactions to test and round(valid · nnz) to valid.

    A user or item may end up only in test (cold start, counted in the report).
    """
    owner = "random_split"
    t, v = _check_fractions(test, valid, owner)
    rng = np.random.default_rng(check_seed(seed, owner=owner))
    n = data.nnz
    n_test = min(n, _round_half_up(t * n))
    n_valid = min(n - n_test, _round_half_up(v * n))
    perm = rng.permutation(n)
    part = np.full(n, _TRAIN, dtype=np.int8)
    part[perm[:n_test]] = _TEST
    part[perm[n_test : n_test + n_valid]] = _VALID
    return _from_parts(data, part, has_valid=v > 0, method="random")


def user_split(
    data: Interactions,
    *,
    test: float = 0.2,
    valid: float = 0.0,
    order: str = "random",
    seed: int | None = 0,
    min_train: int = 1,
) -> Split:
    """Split each user's interactions: test · n_u to test, valid · n_u to valid (rounded half up).

    Every split user keeps ≥ min_train interactions in train and gets ≥ 1 test (and ≥ 1 valid
    when valid > 0) interaction; users with fewer than min_train + 1 (+ 1 with valid)
    interactions stay wholly in train. order="random" picks the held-out interactions at
    random; order="time" holds out each user's latest ones (needs timestamps; `seed` unused).
    """
    owner = "user_split"
    t, v = _check_fractions(test, valid, owner)
    order = check_choice(order, "order", ("random", "time"), owner)
    seed = check_seed(seed, owner=owner)
    min_train = check_int(min_train, "min_train", owner, low=1)
    if order == "time":
        _need_timestamps(data, "user_split(order='time')", "use order='random'")
    counts = data.user_counts()
    need_valid = 1 if v > 0 else 0
    eligible = counts >= min_train + 1 + need_valid
    room = np.maximum(counts - min_train - need_valid, 1)
    n_test = np.where(eligible, np.clip(_round_half_up_array(t * counts), 1, room), 0)
    n_valid = np.zeros_like(n_test)
    if need_valid:
        room_v = np.maximum(counts - min_train - n_test, 1)
        n_valid = np.where(eligible, np.clip(_round_half_up_array(v * counts), 1, room_v), 0)
    if order == "time":
        ordering = data.time_order()
    else:
        ordering = _random_order(data, np.random.default_rng(seed))
    part = _assign_tails(data, ordering, n_test, n_valid)
    kept = int(np.count_nonzero((counts > 0) & ~eligible))
    method = "user-time" if order == "time" else "user"
    return _from_parts(data, part, has_valid=v > 0, method=method, kept=kept)


def leave_last_out(data: Interactions, *, test: int = 1, valid: int = 0) -> Split:
    """Each user's last `test` interactions by time go to test, the `valid` before them to valid.

    Users with ≤ test + valid interactions stay wholly in train (counted in the report).
    Needs timestamps; equal times are ordered by item index.
    """
    owner = "leave_last_out"
    k = check_int(test, "test", owner, low=1)
    kv = check_int(valid, "valid", owner, low=0)
    _need_timestamps(data, "leave_last_out", "use user_split(order='random')")
    counts = data.user_counts()
    eligible = counts > k + kv
    n_test = np.where(eligible, k, 0)
    n_valid = np.where(eligible, kv, 0)
    part = _assign_tails(data, data.time_order(), n_test, n_valid)
    kept = int(np.count_nonzero((counts > 0) & ~eligible))
    return _from_parts(data, part, has_valid=kv > 0, method="leave-last-out", kept=kept)


def time_split(
    data: Interactions,
    *,
    test_from: int | str | datetime | date,
    valid_from: int | str | datetime | date | None = None,
) -> Split:
    """A global cutoff: interactions at or after `test_from` are test, those in
    [valid_from, test_from) valid, the rest train.

    Cutoffs are epoch seconds or ISO dates / datetimes ("1998-03-01", "1998-03-01T12:00:00";
    naive ones are UTC). Needs timestamps; an empty train, valid or test part is a DataError.
    """
    owner = "time_split"
    cut = _to_epoch(test_from, "test_from", owner)
    vcut = None if valid_from is None else _to_epoch(valid_from, "valid_from", owner)
    if vcut is not None and vcut >= cut:
        raise ParameterError(
            f"The 'valid_from' parameter of time_split must be earlier than test_from "
            f"({_iso(cut)}). Got {valid_from!r} instead."
        )
    ts = _need_timestamps(data, "time_split", "use random_split or user_split")
    part = np.full(data.nnz, _TRAIN, dtype=np.int8)
    part[ts >= cut] = _TEST
    if vcut is not None:
        part[(ts >= vcut) & (ts < cut)] = _VALID
    span = f"the data spans {_iso(int(ts.min()))} to {_iso(int(ts.max()))}" if ts.size else ""
    first = vcut if vcut is not None else cut
    if not bool((part == _TEST).any()):
        raise DataError(f"time_split: no interaction at or after {_iso(cut)}; {span}")
    if not bool((part == _TRAIN).any()):
        raise DataError(f"time_split: no interaction before {_iso(first)} for train; {span}")
    if vcut is not None and not bool((part == _VALID).any()):
        raise DataError(
            f"time_split: no interaction between {_iso(vcut)} and {_iso(cut)} for valid; {span}"
        )
    return _from_parts(data, part, has_valid=vcut is not None, method="time")


def kfold(data: Interactions, *, k: int = 5, seed: int | None = 0) -> list[Split]:
    """Interaction-level k-fold: every interaction is in exactly one test fold (fold sizes
    differ by at most one); valid is None."""
    owner = "kfold"
    k = check_int(k, "k", owner, low=2, high=max(2, data.nnz))
    rng = np.random.default_rng(check_seed(seed, owner=owner))
    fold = np.empty(data.nnz, dtype=np.int64)
    fold[rng.permutation(data.nnz)] = np.arange(data.nnz) % k
    return [
        Split(
            train=data.subset(fold != f),
            valid=None,
            test=data.subset(fold == f),
            method=f"kfold {f + 1}/{k}",
        )
        for f in range(k)
    ]


SPLIT_METHODS: dict[str, tuple[Callable[..., Split], dict[str, Any]]] = {
    "random": (random_split, {}),
    "user": (user_split, {"order": "random"}),
    "user-time": (user_split, {"order": "time"}),
    "leave-last-out": (leave_last_out, {}),
    "time": (time_split, {}),
}


def split(data: Interactions, method: str, **params: Any) -> Split:
    """Split by method name (see SPLIT_METHODS) with that function's keyword parameters."""
    if method not in SPLIT_METHODS:
        raise ParameterError(
            f"The 'method' parameter of split must be one of "
            f"{', '.join(repr(m) for m in SPLIT_METHODS)}. Got {method!r} instead."
        )
    fn, fixed = SPLIT_METHODS[method]
    accepted = [p for p in inspect.signature(fn).parameters if p != "data" and p not in fixed]
    unknown = [p for p in params if p not in accepted]
    if unknown:
        raise ParameterError(
            f"split method {method!r} takes {', '.join(accepted)}; "
            f"got unexpected {', '.join(unknown)}"
        )
    return fn(data, **fixed, **params)


# ---------------------------------------------------------------------- helpers
def _from_parts(
    data: Interactions, part: np.ndarray, *, has_valid: bool, method: str, kept: int = 0
) -> Split:
    return Split(
        train=data.subset(part == _TRAIN),
        valid=data.subset(part == _VALID) if has_valid else None,
        test=data.subset(part == _TEST),
        method=method,
        users_kept_in_train=kept,
    )


def _assign_tails(
    data: Interactions, ordering: np.ndarray, n_test: np.ndarray, n_valid: np.ndarray
) -> np.ndarray:
    """Part of every CSR slot (int8 [nnz]) when each user's last n_test[u] slots of `ordering`
    (a permutation grouped by user in index order) are test and the n_valid[u] before valid."""
    rows, _, _ = data.coo()
    indptr = data.matrix.indptr.astype(np.int64)
    counts = np.diff(indptr)
    # `ordering` is grouped by user like CSR order, so its k-th slot belongs to user rows[k].
    from_end = counts[rows] - 1 - (np.arange(data.nnz, dtype=np.int64) - indptr[rows])
    t, v = n_test[rows], n_valid[rows]
    sorted_part = np.where(from_end < t, _TEST, np.where(from_end < t + v, _VALID, _TRAIN))
    part = np.empty(data.nnz, dtype=np.int8)
    part[ordering] = sorted_part
    return part


def _random_order(data: Interactions, rng: np.random.Generator) -> np.ndarray:
    """A random permutation of CSR slots grouped by user in index order (int64 [nnz])."""
    rows, _, _ = data.coo()
    key = (rows.astype(np.int64) << 32) | rng.integers(0, 1 << 32, size=data.nnz, dtype=np.int64)
    return np.argsort(key, kind="stable").astype(np.int64, copy=False)


def _check_fractions(test: Any, valid: Any, owner: str) -> tuple[float, float]:
    t = check_float(test, "test", owner, low=0, high=1, low_open=True, high_open=True)
    v = check_float(valid, "valid", owner, low=0, high=1, high_open=True)
    if t + v >= 1.0:
        raise ParameterError(
            f"The 'test' and 'valid' parameters of {owner} must add up to less than 1 so that "
            f"train keeps some interactions. Got {test!r} + {valid!r} instead."
        )
    return t, v


def _need_timestamps(data: Interactions, what: str, instead: str) -> np.ndarray:
    if data.timestamps is None:
        raise DataError(
            f"{what} needs timestamps and these interactions have none; load the timestamp "
            f"column or {instead}"
        )
    return data.timestamps


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def _round_half_up_array(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5).astype(np.int64)


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _to_epoch(value: Any, name: str, owner: str) -> int:
    """Epoch seconds from an int, a digit string, an ISO date / datetime string or object."""
    ok_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if ok_int:
        return int(value)
    moment: datetime | None = None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
    elif isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, np.datetime64) and not np.isnat(value):
        return int(value.astype("datetime64[s]").astype(np.int64))
    if moment is None:
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be epoch seconds or an ISO date such as "
            f"'1998-03-01'. Got {value!r} instead."
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
