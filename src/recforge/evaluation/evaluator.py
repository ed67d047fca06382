"""Scoring a model on held-out interactions: full ranking by default, users in batches.

Full ranking: every item is ranked for every test user, except the user's own train (and
valid) items. The sampled mode ranks each user's test items among N sampled negatives instead,
and labels its result "sampled-N" so it is never mistaken for full ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from recforge._topk import topk
from recforge._validation import check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import DataError, ParameterError
from recforge.evaluation.beyond import (
    average_popularity,
    catalogue_coverage,
    gini_index,
    intra_list_diversity,
    novelty,
)
from recforge.evaluation.metrics import RANKING_METRICS, auc_from_counts, ranking_metric
from recforge.evaluation.rating import mae, rmse
from recforge.evaluation.result import EvaluationResult

__all__ = ["ALL_METRICS", "Scorer", "evaluate", "parse_ks", "parse_metrics", "put_mean"]

BEYOND_METRICS = ("coverage", "novelty", "diversity", "arp", "gini")
RATING_METRICS = ("rmse", "mae")
ALL_METRICS = (*RANKING_METRICS, "auc", *BEYOND_METRICS, *RATING_METRICS)
SCORE_BUDGET_BYTES = 256 * 2**20
SAMPLED_CELLS = 1 << 24  # sampled mode: cells of its [rows, positives, candidates] arrays


class Scorer(Protocol):
    """What the evaluator needs from a model: scores for a batch of users."""

    def score(self, users: Any, items: Any | None = None) -> np.ndarray:
        """float [B, n_items] for user indices [B] (or [B, M] for item indices [M])."""
        ...


def parse_ks(k: int | Sequence[int], owner: str = "evaluate") -> list[int]:
    """Cut-offs as a sorted list of distinct ints ≥ 1."""
    values = [k] if isinstance(k, int | np.integer) else list(k)
    if not values:
        raise ParameterError(f"The 'k' parameter of {owner} needs at least one cut-off.")
    return sorted({check_int(v, "k", owner, low=1) for v in values})


def parse_metrics(metrics: Sequence[str] | None, default: Sequence[str]) -> list[str]:
    """Metric names, checked against ALL_METRICS; None gives `default`."""
    if metrics is None:
        return list(default)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in names if m not in ALL_METRICS]
    if unknown:
        raise ParameterError(f"unknown metric {unknown[0]!r}; choose from {', '.join(ALL_METRICS)}")
    return names


def evaluate(
    model: Scorer,
    test: Interactions,
    *,
    train: Interactions | None = None,
    valid: Interactions | None = None,
    k: int | Sequence[int] = (10, 20),
    metrics: Sequence[str] | None = None,
    batch_size: int | None = None,
    sampled_negatives: int | None = None,
    seed: int = 0,
    item_features: np.ndarray | sp.sparray | None = None,
) -> EvaluationResult:
    """Score `model` on `test` (same id maps as the training data).

    train / valid: interactions excluded from each user's ranking (train defaults to the
        model's `seen_`). Test pairs that are also in train/valid are not counted as relevant.
    k: cut-offs for the @k metrics. metrics: names from ALL_METRICS (default: every metric the
        model and data allow). batch_size: users per batch (default: ~256 MB of scores).
    sampled_negatives: rank test items among this many sampled unseen items per user.
    item_features: [n_items, d] for intra-list diversity.
    """
    if not isinstance(test, Interactions):
        raise DataError(f"test must be recforge Interactions, got {type(test).__name__}")
    ks = parse_ks(k)
    predicts = bool(getattr(model, "predicts_ratings", False))
    default = [*RANKING_METRICS, "auc", "coverage", "novelty", "arp", "gini"]
    if item_features is not None:
        default.append("diversity")
    if predicts and test.explicit:
        default.extend(RATING_METRICS)
    names = parse_metrics(metrics, default)
    seed = check_seed(seed, "seed", "evaluate") or 0
    n_items = test.n_items
    model_items = getattr(model, "n_items_", n_items)
    if model_items != n_items or getattr(model, "n_users_", test.n_users) != test.n_users:
        raise DataError(
            f"test has {test.n_users} users × {n_items} items but the model knows "
            f"{getattr(model, 'n_users_', '?')} × {model_items}; build the test set on the "
            "training id maps (one split, or test.restrict(model.user_ids_, model.item_ids_))"
        )
    if "diversity" in names and item_features is None:
        raise ParameterError("the diversity metric needs item_features [n_items, d]")
    if item_features is not None and item_features.shape[0] != n_items:
        raise ParameterError(
            f"item_features must have one row per item ({n_items}); got {item_features.shape[0]}"
        )
    notes: list[str] = []
    exclude = _exclusions(model, train, valid, test.n_users, n_items, notes)
    relevant = _relevant(test, exclude, notes)

    values: dict[str, float] = {}
    wanted_rating = [m for m in names if m in RATING_METRICS]
    if wanted_rating:
        values.update(_rating_metrics(model, test, wanted_rating))

    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    skipped = int(np.count_nonzero(test.user_counts()) - users.size)
    if skipped:
        notes.append(f"{skipped} test users have no test item outside train/valid and are skipped")
    ranking = [m for m in names if m not in RATING_METRICS]
    if not ranking:
        return EvaluationResult(values, "full", int(users.size), skipped, tuple(notes))
    if users.size == 0:
        raise DataError("no test user has a test item to rank; check the split")
    if batch_size is None:
        batch_size = max(1, min(4096, SCORE_BUDGET_BYTES // (4 * max(n_items, 1))))
    batch_size = check_int(batch_size, "batch_size", "evaluate", low=1)

    if sampled_negatives is not None:
        n_neg = check_int(sampled_negatives, "sampled_negatives", "evaluate", low=1)
        if n_neg >= n_items:
            raise ParameterError(
                f"sampled_negatives ({n_neg}) must be below the catalogue's {n_items} items; "
                f"leave it out to rank among all items"
            )
        beyond = [m for m in ranking if m in BEYOND_METRICS]
        if beyond:
            notes.append(
                f"{', '.join(beyond)} skipped: they describe full top-k lists, not sampled ranks"
            )
        ranking = [m for m in ranking if m not in BEYOND_METRICS]
        hits, n_rel, auc = _sampled(
            model, users, relevant, exclude, ks[-1], n_neg, seed, batch_size, "auc" in ranking
        )
        lists = None
        protocol = f"sampled-{n_neg}"
    else:
        hits, n_rel, auc, lists = _full(
            model, users, relevant, exclude, ks[-1], batch_size, "auc" in ranking
        )
        protocol = "full"
    for name in ranking:
        if name in RANKING_METRICS:
            for cut in ks:
                values[f"{name}@{cut}"] = float(ranking_metric(name, hits, n_rel, cut).mean())
    if "auc" in ranking and auc is not None:
        values["auc"] = float(auc.mean())
    if lists is not None:
        train_seen = train.binary() if train is not None else getattr(model, "seen_", exclude)
        train_pop = np.bincount(train_seen.indices, minlength=n_items)
        n_train_users = int(np.count_nonzero(np.diff(train_seen.indptr)))
        for cut in ks:
            top = lists[:, :cut]
            if "coverage" in ranking:
                values[f"coverage@{cut}"] = catalogue_coverage(top, n_items)
            if "novelty" in ranking:
                put_mean(values, notes, f"novelty@{cut}", novelty(top, train_pop, n_train_users))
            if "arp" in ranking:
                put_mean(values, notes, f"arp@{cut}", average_popularity(top, train_pop))
            if "gini" in ranking:
                values[f"gini@{cut}"] = gini_index(top, n_items)
            if "diversity" in ranking and item_features is not None:
                ild = intra_list_diversity(top, item_features)
                put_mean(values, notes, f"diversity@{cut}", ild)
    return EvaluationResult(values, protocol, int(users.size), skipped, tuple(notes))


# ---------------------------------------------------------------------- pieces
def put_mean(values: dict[str, float], notes: list[str], key: str, per_list: np.ndarray) -> None:
    """Store the mean over lists that have a value; note the metric when none has."""
    finite = per_list[~np.isnan(per_list)]
    if finite.size:
        values[key] = float(finite.mean())
    else:
        notes.append(f"{key} not computed: no list has an item it can be measured on")


def _exclusions(
    model: Any,
    train: Interactions | None,
    valid: Interactions | None,
    n_users: int,
    n_items: int,
    notes: list[str],
) -> sp.csr_array:
    """Binary CSR [n_users, n_items] of what each user has already interacted with."""
    parts: list[sp.csr_array] = []
    if train is not None:
        parts.append(_binary_on(train, n_users, n_items, "train"))
    elif hasattr(model, "excluded"):
        parts.append(sp.csr_array(model.excluded(), dtype=np.float32))
    else:
        notes.append("no train interactions given and the model has none: nothing is excluded")
    if valid is not None:
        parts.append(_binary_on(valid, n_users, n_items, "valid"))
    if not parts:
        return sp.csr_array((n_users, n_items), dtype=np.float32)
    total = parts[0].copy()  # a part may be the data's own (read-only) matrix
    for p in parts[1:]:
        total = total + p
    total = sp.csr_array(total)
    total.sum_duplicates()
    total.data[:] = 1.0
    total.sort_indices()
    return total


def _binary_on(data: Interactions, n_users: int, n_items: int, what: str) -> sp.csr_array:
    if data.matrix.shape != (n_users, n_items):
        raise DataError(
            f"{what} has shape {data.matrix.shape} but test has ({n_users}, {n_items}); use the "
            "parts of one split (they share id maps)"
        )
    return data.binary()


def _relevant(test: Interactions, exclude: sp.csr_array, notes: list[str]) -> sp.csr_array:
    """Test pattern minus pairs that are also excluded (they could never be recommended)."""
    rel = test.binary()
    overlap = rel.multiply(exclude)
    n_overlap = int(overlap.nnz)
    if n_overlap:
        notes.append(
            f"{n_overlap} test interactions also appear in train/valid and are not counted as "
            "relevant"
        )
        rel = sp.csr_array(rel - overlap)
        rel.eliminate_zeros()
    rel.sort_indices()
    return rel


def _rating_metrics(model: Any, test: Interactions, wanted: list[str]) -> dict[str, float]:
    if not getattr(model, "predicts_ratings", False):
        raise ParameterError(
            f"{', '.join(wanted)} need a model that predicts ratings; "
            f"{type(model).__name__} only ranks"
        )
    if not test.explicit:
        raise ParameterError(f"{', '.join(wanted)} need explicit test ratings")
    users, items, ratings = test.coo()
    predicted = model.predict(users, items)
    _refuse_nan(model, np.asarray(predicted), "predicted ratings")
    out = {}
    if "rmse" in wanted:
        out["rmse"] = rmse(ratings, predicted)
    if "mae" in wanted:
        out["mae"] = mae(ratings, predicted)
    return out


def _batch_scores(model: Any, users: np.ndarray) -> np.ndarray:
    scores = np.asarray(model.score(users), dtype=np.float32)
    _refuse_nan(model, scores, "scores")
    if not scores.flags.writeable or not scores.flags.c_contiguous:
        scores = np.array(scores, dtype=np.float32, order="C")
    return scores


def _refuse_nan(model: Any, values: np.ndarray, what: str) -> None:
    """A model that gives NaN cannot be ranked or scored: refuse it rather than report metrics
    outside their range."""
    if bool(np.isnan(values).any()):
        raise DataError(
            f"{type(model).__name__} gave NaN {what}, so it cannot be evaluated; its learned "
            f"state is not finite: fit it again (with a lower lr where it has one)"
        )


def _mask(scores: np.ndarray, rows: sp.csr_array) -> None:
    local = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    scores[local, rows.indices] = -np.inf


def _lookup_hits(rel_rows: sp.csr_array, cols: np.ndarray) -> np.ndarray:
    """hits bool [B, K]: is cols[b, r] among the relevant items of batch row b."""
    n_items = rel_rows.shape[1]
    local = np.repeat(np.arange(rel_rows.shape[0], dtype=np.int64), np.diff(rel_rows.indptr))
    keys = local * n_items + rel_rows.indices  # sorted: rows ascending, indices sorted per row
    query = np.arange(cols.shape[0], dtype=np.int64)[:, None] * n_items + cols
    if keys.size == 0:
        return np.zeros(cols.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    return keys[pos] == query


def _full(
    model: Any,
    users: np.ndarray,
    relevant: sp.csr_array,
    exclude: sp.csr_array,
    k_max: int,
    batch_size: int,
    want_auc: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Full-ranking hits [U, k_max], relevant counts [U], AUC [U] or None, lists [U, k_max]."""
    n_items = relevant.shape[1]
    k_eff = min(k_max, n_items)
    hits = np.zeros((users.size, k_max), dtype=bool)
    lists = np.full((users.size, k_max), -1, dtype=np.int32)
    n_rel = np.diff(relevant.indptr)[users].astype(np.int64)
    auc = np.empty(users.size) if want_auc else None
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        scores = _batch_scores(model, batch)
        ex_rows = exclude[batch]
        _mask(scores, ex_rows)
        cols, vals = topk(scores, k_eff)
        cols = np.where(np.isneginf(vals), -1, cols)
        rel_rows = relevant[batch]
        rel_rows.sort_indices()
        end = start + batch.size
        hits[start:end, :k_eff] = _lookup_hits(rel_rows, np.maximum(cols, 0)) & (cols >= 0)
        lists[start:end, :k_eff] = cols
        if auc is not None:
            n_excluded = np.diff(ex_rows.indptr)
            auc[start:end] = _auc_rows(scores, rel_rows, n_items - n_excluded)
    return hits, n_rel, auc, lists


def _auc_rows(scores: np.ndarray, rel_rows: sp.csr_array, n_candidates: np.ndarray) -> np.ndarray:
    """Per-row AUC of relevant items against every other non-excluded item.

    scores: float32 [B, N] with excluded items at -inf; n_candidates: non-excluded items [B].
    """
    n_pos = np.diff(rel_rows.indptr)
    local = np.repeat(np.arange(scores.shape[0]), n_pos)
    pos_scores = scores[local, rel_rows.indices]
    above = np.empty(local.size)
    chunk = max(1, (64 * 2**20) // (4 * scores.shape[1]))
    for s in range(0, local.size, chunk):
        rows = scores[local[s : s + chunk]]
        p = pos_scores[s : s + chunk, None]
        above[s : s + chunk] = (rows > p).sum(axis=1) + 0.5 * ((rows == p).sum(axis=1) - 1)
    per_user = np.bincount(local, weights=above, minlength=scores.shape[0])
    negatives_above = per_user - n_pos * (n_pos - 1) / 2.0
    return auc_from_counts(negatives_above, n_pos, n_candidates - n_pos)


def _sampled(
    model: Any,
    users: np.ndarray,
    relevant: sp.csr_array,
    exclude: sp.csr_array,
    k_max: int,
    n_neg: int,
    seed: int,
    batch_size: int,
    want_auc: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Hits [U, k_max], relevant counts [U] and AUC when ranking among sampled negatives."""
    n_items = relevant.shape[1]
    rng = np.random.default_rng(seed)
    n_rel = np.diff(relevant.indptr)[users].astype(np.int64)
    hits = np.zeros((users.size, k_max), dtype=bool)
    auc = np.empty(users.size) if want_auc else None
    known = sp.csr_array(exclude + relevant)
    known.sort_indices()
    # rows per batch: the [B, positives, candidates] AUC comparison stays within SAMPLED_CELLS
    p_all = int(n_rel.max()) if n_rel.size else 0
    cells = (p_all + n_neg) * (max(p_all, 1) if want_auc else 1)
    batch_size = max(1, min(batch_size, SAMPLED_CELLS // max(cells, 1)))
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        p_max = int(n_rel[start : start + batch.size].max())
        width = p_max + n_neg
        columns = np.full((batch.size, width), -1, dtype=np.int64)
        for b, u in enumerate(batch):
            pos = relevant.indices[relevant.indptr[u] : relevant.indptr[u + 1]]
            seen = known.indices[known.indptr[u] : known.indptr[u + 1]]
            columns[b, : pos.size] = pos
            neg = _sample_unseen(rng, n_items, seen, n_neg)
            columns[b, p_max : p_max + neg.size] = neg
        full = _batch_scores(model, batch)
        cand = np.take_along_axis(full, np.maximum(columns, 0), axis=1)
        cand[columns < 0] = -np.inf
        order, vals = topk(cand, min(k_max, width))
        is_pos = order < p_max
        end = start + batch.size
        hits[start:end, : order.shape[1]] = is_pos & ~np.isneginf(vals)
        if auc is not None:
            n_p = n_rel[start:end]
            pos_s = cand[:, :p_max]
            neg_s = cand[:, p_max:]
            valid_neg = columns[:, p_max:] >= 0
            above = (neg_s[:, None, :] > pos_s[:, :, None]) & valid_neg[:, None, :]
            ties = (neg_s[:, None, :] == pos_s[:, :, None]) & valid_neg[:, None, :]
            valid_pos = np.arange(p_max)[None, :] < n_p[:, None]
            counts = ((above + 0.5 * ties).sum(axis=2) * valid_pos).sum(axis=1)
            auc[start:end] = auc_from_counts(counts, n_p, valid_neg.sum(axis=1))
    return hits, n_rel, auc


def _sample_unseen(rng: np.random.Generator, n_items: int, seen: np.ndarray, n: int) -> np.ndarray:
    """Up to n distinct items not in `seen` (sorted int array), uniformly at random."""
    available = n_items - seen.size
    if available <= n:
        return np.setdiff1d(np.arange(n_items), seen, assume_unique=True)
    chosen: np.ndarray = np.zeros(0, dtype=np.int64)
    while chosen.size < n:
        draw = rng.integers(0, n_items, size=2 * (n - chosen.size) + 8)
        draw = draw[~np.isin(draw, seen, assume_unique=False)]
        merged = np.concatenate([chosen, draw])
        _, first = np.unique(merged, return_index=True)
        chosen = merged[np.sort(first)]
    return chosen[:n]
