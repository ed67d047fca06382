"""Evaluating top-k lists produced by any system, read from a file.

File format (what `recforge recommend` writes): one line per user,
    raw_user_id<TAB>item1,item2,…   (best first; an empty list is allowed)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recforge.data.interactions import Interactions
from recforge.data.text_lines import read_text_lines
from recforge.errors import DataError
from recforge.evaluation.beyond import (
    average_popularity,
    catalogue_coverage,
    gini_index,
    intra_list_diversity,
    novelty,
)
from recforge.evaluation.evaluator import parse_ks, parse_metrics, put_mean
from recforge.evaluation.metrics import RANKING_METRICS, ranking_metric
from recforge.evaluation.result import EvaluationResult

__all__ = ["evaluate_recommendations", "read_recommendations"]


def read_recommendations(path: str | Path) -> dict[str, list[str]]:
    """Raw user id → raw item ids (best first), as strings, from a recommendations file."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: no such recommendations file")
    lists: dict[str, list[str]] = {}
    for n, text in enumerate(read_text_lines(source), start=1):
        if not text.strip():
            continue
        user, tab, items = text.partition("\t")
        if not tab or not user.strip():
            raise DataError(
                f"{source}:{n}: expected user<TAB>item1,item2,… (best first); got {text[:60]!r}"
            )
        user = user.strip()
        if user in lists:
            raise DataError(f"{source}:{n}: user {user!r} already has a list on an earlier line")
        ranked = [x.strip() for x in items.split(",") if x.strip()]
        if len(set(ranked)) != len(ranked):
            raise DataError(f"{source}:{n}: user {user!r} has an item listed twice")
        lists[user] = ranked
    if not lists:
        raise DataError(f"{source}: no recommendation lines")
    return lists


def evaluate_recommendations(
    recommendations: Mapping[Any, Sequence[Any]],
    test: Interactions,
    *,
    train: Interactions | None = None,
    k: int | Sequence[int] = (10, 20),
    metrics: Sequence[str] | None = None,
    item_features: np.ndarray | sp.sparray | None = None,
) -> EvaluationResult:
    """Top-k metrics of ranked lists against `test`, matched by raw ids.

    recommendations: raw user id → raw item ids, best first.
    train: enables novelty / popularity measures and the leakage check (recommended items the
        user already had in train); coverage is over the train catalogue when given.
    item_features: [n_items of test, d], for diversity.
    A test user without a list counts as all misses; unknown items count as misses.
    AUC needs scores for every item and is not available from lists.
    """
    ks = parse_ks(k, "evaluate_recommendations")
    default = [*RANKING_METRICS, "coverage"]
    if train is not None:
        default += ["novelty", "arp", "gini"]
    if item_features is not None:
        default.append("diversity")
    names = parse_metrics(metrics, default)
    notes: list[str] = []
    if "auc" in names or "rmse" in names or "mae" in names:
        raise DataError(
            "auc, rmse and mae need model scores; a recommendations file only has ranked lists"
        )
    if train is None and any(m in names for m in ("novelty", "arp", "gini")):
        raise DataError("novelty, arp and gini need the training data (--train)")
    k_max = ks[-1]
    test_users = np.flatnonzero(test.user_counts() > 0)
    raw_test_users = test.user_ids.to_raw(test_users)
    by_user = {str(u): list(v) for u, v in recommendations.items()}
    missing_lists = 0
    lists = np.full((test_users.size, k_max), -1, dtype=np.int64)
    catalogue = train.item_ids if train is not None else test.item_ids
    shown = np.full((test_users.size, k_max), -1, dtype=np.int64)
    for row, raw_user in enumerate(raw_test_users):
        ranked = by_user.get(str(raw_user))
        if ranked is None:
            missing_lists += 1
            continue
        top = ranked[:k_max]
        if top:
            lists[row, : len(top)] = test.item_ids.to_index(np.array(top), missing="mask")
            shown[row, : len(top)] = catalogue.to_index(np.array(top), missing="mask")
    if missing_lists:
        notes.append(f"{missing_lists} test users have no list and count as all misses")
    unknown_users = len(set(by_user) - {str(u) for u in raw_test_users})
    if unknown_users:
        notes.append(f"{unknown_users} listed users have no test interactions and are ignored")

    rel = test.binary()[test_users]
    rel.sort_indices()
    hits = _hits(rel, lists)
    n_rel = np.diff(rel.indptr).astype(np.int64)
    values: dict[str, float] = {}
    for name in names:
        if name in RANKING_METRICS:
            for cut in ks:
                values[f"{name}@{cut}"] = float(ranking_metric(name, hits, n_rel, cut).mean())
    if train is not None:
        leaked = _leakage(train, raw_test_users, shown)
        values["seen_items_recommended"] = float(leaked)
        if leaked:
            notes.append(f"{leaked} recommended items were already in the user's train data")
        pop = train.item_counts()
        n_train_users = int(np.count_nonzero(train.user_counts()))
    for cut in ks:
        shown_top = shown[:, :cut]
        if "coverage" in names:
            values[f"coverage@{cut}"] = catalogue_coverage(shown_top, len(catalogue))
        if train is not None:
            if "novelty" in names:
                put_mean(values, notes, f"novelty@{cut}", novelty(shown_top, pop, n_train_users))
            if "arp" in names:
                put_mean(values, notes, f"arp@{cut}", average_popularity(shown_top, pop))
            if "gini" in names:
                values[f"gini@{cut}"] = gini_index(shown_top, len(catalogue))
        if "diversity" in names:
            if item_features is None:
                raise DataError("the diversity metric needs item_features")
            put_mean(
                values,
                notes,
                f"diversity@{cut}",
                intra_list_diversity(lists[:, :cut], item_features),
            )
    return EvaluationResult(values, "recommendations", int(test_users.size), 0, tuple(notes))


def _hits(rel: sp.csr_array, lists: np.ndarray) -> np.ndarray:
    n_items = rel.shape[1]
    local = np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr))
    keys = local * n_items + rel.indices
    query = np.arange(lists.shape[0], dtype=np.int64)[:, None] * n_items + np.maximum(lists, 0)
    pos = np.minimum(np.searchsorted(keys, query), max(keys.size - 1, 0))
    return (keys[pos] == query) & (lists >= 0) if keys.size else np.zeros(lists.shape, bool)


def _leakage(train: Interactions, raw_users: np.ndarray, shown: np.ndarray) -> int:
    """Number of listed items (in train's index space) that the user had in train."""
    users = train.user_ids.to_index(raw_users, missing="mask")
    seen = train.binary()
    count = 0
    for row, u in enumerate(users):
        if u < 0:
            continue
        items = shown[row][shown[row] >= 0]
        if items.size:
            row_items = seen.indices[seen.indptr[u] : seen.indptr[u + 1]]
            count += int(np.isin(items, row_items).sum())
    return count
