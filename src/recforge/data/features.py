"""Side features of users or items, aligned row for row to an id map.

Four kinds: categorical (one value, e.g. occupation), multi-hot (a set, e.g. genres or tags),
numeric (e.g. age, release year) and text (e.g. titles). Missing values are explicit:
code -1, an empty set, NaN, or "".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from recforge.data.idmap import IdMap, factorize
from recforge.errors import DataError, ParameterError

__all__ = ["FEATURE_KINDS", "Feature", "FeatureTable"]

FeatureKind = Literal["categorical", "multi_hot", "numeric", "text"]
FEATURE_KINDS: tuple[FeatureKind, ...] = ("categorical", "multi_hot", "numeric", "text")


@dataclass(frozen=True)
class Feature:
    """One feature over n rows.

    categorical: values int32 [n] codes into `vocabulary` (-1 = missing).
    multi_hot:   values float32 CSR [n, len(vocabulary)] of 0/1.
    numeric:     values float64 [n] (NaN = missing).
    text:        values unicode [n] ("" = missing).
    """

    name: str
    kind: FeatureKind
    values: Any
    vocabulary: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @classmethod
    def categorical(cls, name: str, raw: Sequence[Any] | np.ndarray) -> Feature:
        """From raw category values [n]; None, NaN and "" are missing."""
        arr = np.asarray(raw, dtype=object)
        missing = np.array([_missing(v) for v in arr], dtype=bool)
        present = arr[~missing].astype(str)
        vocabulary, codes = np.unique(present, return_inverse=True)
        out = np.full(arr.size, -1, dtype=np.int32)
        out[~missing] = codes
        return cls(name, "categorical", out, vocabulary)

    @classmethod
    def multi_hot(
        cls, name: str, raw: Sequence[Any] | np.ndarray, *, sep: str = "|", drop: Iterable[str] = ()
    ) -> Feature:
        """From per-row sets [n]: lists of labels, or strings joined by `sep` ("Action|Comedy").

        drop: labels that mean "none", e.g. MovieLens's "(no genres listed)".
        """
        dropped = set(drop)
        rows: list[list[str]] = []
        for value in raw:
            if _missing(value):
                labels: list[str] = []
            elif isinstance(value, str):
                labels = [t.strip() for t in value.split(sep)]
            else:
                labels = [str(t).strip() for t in value]
            rows.append(sorted({t for t in labels if t and t not in dropped}))
        vocabulary = np.array(sorted({t for row in rows for t in row}), dtype=str)
        position = {label: n for n, label in enumerate(vocabulary)}
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        indices = np.array([position[t] for row in rows for t in row], dtype=np.int32)
        matrix = sp.csr_array(
            (np.ones(indices.size, dtype=np.float32), indices, indptr),
            shape=(len(rows), vocabulary.size),
        )
        return cls(name, "multi_hot", matrix, vocabulary)

    @classmethod
    def numeric(cls, name: str, raw: Sequence[Any] | np.ndarray) -> Feature:
        """From numbers [n]; None and NaN are missing."""
        try:
            values = np.array([np.nan if _missing(v) else float(v) for v in raw], dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"feature {name!r}: numeric features need numbers") from None
        return cls(name, "numeric", values)

    @classmethod
    def text(cls, name: str, raw: Sequence[Any] | np.ndarray) -> Feature:
        """From strings [n]; None is missing ("")."""
        return cls(name, "text", np.array(["" if _missing(v) else str(v) for v in raw], dtype=str))

    def take(self, rows: np.ndarray) -> Feature:
        """Rows reordered or selected; rows == -1 gives a missing value."""
        rows = np.asarray(rows, dtype=np.int64)
        absent = rows < 0
        safe = np.where(absent, 0, rows)
        if self.kind == "multi_hot":
            picked = self.values[safe]
            if bool(absent.any()):
                keep = sp.diags_array((~absent).astype(np.float32))
                picked = sp.csr_array(keep @ picked)
                picked.eliminate_zeros()
            return Feature(self.name, self.kind, sp.csr_array(picked), self.vocabulary)
        if len(self) == 0:
            values = np.full(rows.size, _MISSING[self.kind], dtype=self.values.dtype)
        else:
            values = self.values[safe].copy()
            values[absent] = _MISSING[self.kind]
        return Feature(self.name, self.kind, values, self.vocabulary)

    def encode(self) -> sp.csr_array:
        """A float32 CSR [n, d] for similarity and diversity: one-hot categories, multi-hot
        sets, z-scored numbers (missing → 0). Text has no encoding here."""
        n = len(self)
        if self.kind == "categorical":
            assert self.vocabulary is not None
            present = self.values >= 0
            rows = np.flatnonzero(present)
            return sp.csr_array(
                (np.ones(rows.size, dtype=np.float32), (rows, self.values[present])),
                shape=(n, self.vocabulary.size),
            )
        if self.kind == "multi_hot":
            return sp.csr_array(self.values, dtype=np.float32)
        if self.kind == "numeric":
            finite = np.isfinite(self.values)
            column = np.zeros(n, dtype=np.float64)
            if bool(finite.any()):
                mean = float(self.values[finite].mean())
                std = float(self.values[finite].std()) or 1.0
                column[finite] = (self.values[finite] - mean) / std
            return sp.csr_array(column.reshape(n, 1).astype(np.float32))
        raise ParameterError(
            f"feature {self.name!r} is text; turn it into numbers first (e.g. TF-IDF)"
        )


_MISSING: dict[str, Any] = {"categorical": -1, "numeric": np.nan, "text": ""}


class FeatureTable(Mapping[str, Feature]):
    """Features for the users (or items) of `ids`: row k describes index k of the id map."""

    def __init__(self, ids: IdMap, features: Iterable[Feature] = ()) -> None:
        self.ids = ids
        self._features: dict[str, Feature] = {}
        for feature in features:
            if feature.kind not in FEATURE_KINDS:
                raise ParameterError(
                    f"feature {feature.name!r}: kind must be one of {', '.join(FEATURE_KINDS)}"
                )
            if len(feature) != len(ids):
                raise DataError(
                    f"feature {feature.name!r} has {len(feature)} rows for {len(ids)} ids"
                )
            if feature.name in self._features:
                raise DataError(f"feature {feature.name!r} is given twice")
            self._features[feature.name] = feature

    @classmethod
    def from_rows(
        cls, raw_ids: Sequence[Any] | np.ndarray, features: Iterable[Feature], *, align_to: IdMap
    ) -> FeatureTable:
        """Features given for `raw_ids` (one row each, any order), laid out on `align_to`.

        Ids of `align_to` without a row get missing values; rows for ids outside it are left
        out (they have no interactions). Repeated raw ids are an error.
        """
        codes, source = factorize(raw_ids, what="feature row id")
        if len(source) != codes.size:
            raise DataError("feature rows repeat an id; give one row per user or item")
        order = np.empty(codes.size, dtype=np.int64)
        order[codes] = np.arange(codes.size)
        rows = source.to_index(align_to.raw_ids, missing="mask")
        picked = np.where(rows >= 0, order[np.maximum(rows, 0)], -1)
        return cls(align_to, [f.take(picked) for f in features])

    def __getitem__(self, name: str) -> Feature:
        try:
            return self._features[name]
        except KeyError:
            raise KeyError(
                f"no feature {name!r}; features are {', '.join(self._features) or 'none'}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._features)

    def __len__(self) -> int:
        return len(self._features)

    def __repr__(self) -> str:
        parts = ", ".join(f"{f.name}:{f.kind}" for f in self._features.values())
        return f"FeatureTable({len(self.ids)} rows; {parts})"

    @property
    def n_rows(self) -> int:
        return len(self.ids)

    def align(self, ids: IdMap) -> FeatureTable:
        """The same features laid out on another id map (e.g. a model's); unknown ids → missing."""
        rows = self.ids.to_index(ids.raw_ids, missing="mask")
        return FeatureTable(ids, [f.take(rows) for f in self._features.values()])

    def matrix(self, names: Sequence[str] | None = None) -> sp.csr_array:
        """Encoded features side by side, float32 CSR [n_rows, d] (text features are skipped
        unless named, which is an error)."""
        chosen = (
            [self[n] for n in names]
            if names is not None
            else [f for f in self._features.values() if f.kind != "text"]
        )
        if not chosen:
            raise ParameterError("no non-text features to encode; name some with names=[...]")
        return sp.csr_array(sp.hstack([f.encode() for f in chosen], format="csr"))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()
