"""Full-ranking evaluation at scale: 100,000 users × 50,000 items from 64-factor scores.

Measures recforge.evaluation.evaluate (NDCG@10 and Recall@20, every item ranked except the
user's train items) for wall time and peak RSS, and compares, on a subsample of users, the
naive approach many codebases use (a full argsort per user, metrics in Python).

    .venv/bin/python benchmarks/bench_evaluator.py [--users 100000 --items 50000 --factors 64]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

from _common import current_rss_mb, peak_rss_mb, write_result
from recforge.data import random_split, synthetic_interactions, synthetic_model
from recforge.evaluation import evaluate


class FactorScorer:
    """Scores = user factors @ item factors.T, float32 [B, n_items]."""

    predicts_ratings = False

    def __init__(self, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
        self.user_factors = user_factors
        self.item_factors_t = np.ascontiguousarray(item_factors.T)
        self.n_users_, self.n_items_ = user_factors.shape[0], item_factors.shape[0]

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        scores = self.user_factors[users] @ self.item_factors_t
        return scores if items is None else scores[:, items]


def naive_metrics(model: FactorScorer, train, test, users: np.ndarray) -> tuple[float, float]:
    """NDCG@10 and Recall@20 by a full argsort per user and per-user Python sets."""
    ndcg, recall = [], []
    for u in users:
        scores = model.score(np.array([u]))[0]
        seen = set(train.matrix.indices[train.matrix.indptr[u] : train.matrix.indptr[u + 1]])
        relevant = set(test.matrix.indices[test.matrix.indptr[u] : test.matrix.indptr[u + 1]])
        ranked = [i for i in np.argsort(-scores, kind="stable") if i not in seen][:20]
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked[:10]) if i in relevant)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant), 10)))
        ndcg.append(dcg / idcg)
        recall.append(len(relevant.intersection(ranked[:20])) / len(relevant))
    return float(np.mean(ndcg)), float(np.mean(recall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--per-user", type=int, default=25, help="interactions per user")
    parser.add_argument("--naive-users", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n = args.users * args.per_user
    data = synthetic_interactions(
        args.users, args.items, n, factors=args.factors, seed=args.seed, timestamps=False
    )
    parts = random_split(data, test=0.2, seed=args.seed)
    # The generator's own 64 factors: scores that carry signal, so the metrics are not ~0 and
    # the agreement check against the naive path means something.
    truth = synthetic_model(args.users, args.items, factors=args.factors, seed=args.seed)
    model = FactorScorer(truth.user_factors, truth.item_factors)
    rss_before = current_rss_mb()
    print(
        f"data: {args.users:,} users × {args.items:,} items, train {parts.train.nnz:,}, "
        f"test {parts.test.nnz:,}; RSS before evaluation {rss_before:.0f} MiB"
    )

    evaluate(
        model, parts.test, train=parts.train, k=[10], metrics=["ndcg"], batch_size=64
    )  # warm-up: imports torch, allocates nothing large
    start = time.perf_counter()
    result = evaluate(model, parts.test, train=parts.train, k=[10, 20], metrics=["ndcg", "recall"])
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    print(
        f"recforge: ndcg@10 {result['ndcg@10']:.5f}  recall@20 {result['recall@20']:.5f}  "
        f"users {result.n_users:,}  wall {seconds:.1f} s  peak RSS {peak:.0f} MiB "
        f"(+{peak - rss_before:.0f} MiB over the data)"
    )

    sample = np.flatnonzero(parts.test.user_counts() > 0)[: args.naive_users]
    start = time.perf_counter()
    naive_ndcg, naive_recall = naive_metrics(model, parts.train, parts.test, sample)
    naive_seconds_per_user = (time.perf_counter() - start) / sample.size
    sub = parts.test.subset(np.isin(parts.test.coo()[0], sample))
    check = evaluate(model, sub, train=parts.train, k=[10, 20], metrics=["ndcg", "recall"])
    naive_total = naive_seconds_per_user * result.n_users
    print(
        f"naive argsort on {sample.size} users: {naive_seconds_per_user * 1e3:.1f} ms/user → "
        f"{naive_total:.0f} s extrapolated; recforge is {naive_total / seconds:.1f}× faster. "
        f"Same metrics on the sample: ndcg@10 {naive_ndcg:.5f} vs {check['ndcg@10']:.5f}, "
        f"recall@20 {naive_recall:.5f} vs {check['recall@20']:.5f}"
    )
    path = write_result(
        "evaluator",
        {
            "users": args.users,
            "items": args.items,
            "factors": args.factors,
            "test_users": result.n_users,
            "train_interactions": parts.train.nnz,
            "test_interactions": parts.test.nnz,
            "ndcg@10": result["ndcg@10"],
            "recall@20": result["recall@20"],
            "wall_seconds": seconds,
            "peak_rss_mib": peak,
            "rss_before_evaluation_mib": rss_before,
            "naive_seconds_per_user": naive_seconds_per_user,
            "naive_extrapolated_seconds": naive_total,
            "speedup_vs_naive": naive_total / seconds,
            "sample_agreement": {
                "naive_ndcg@10": naive_ndcg,
                "recforge_ndcg@10": check["ndcg@10"],
                "naive_recall@20": naive_recall,
                "recforge_recall@20": check["recall@20"],
            },
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    warnings.simplefilter("default")
    main()
