"""Approximate top-k (recforge.retrieval: faiss HNSW and IVF) against exact search on a
synthetic catalogue shaped like trained matrix-factorisation embeddings.

The catalogue (seeded, `generate`): N items with d-dimensional vectors that live near a
rank-24 subspace (a random orthonormal basis of R^d), with a decaying spectrum (the j-th latent
direction has scale 1/√(1+j), as trained factors' singular values decay). The items form 1000
clusters (tastes, genres) whose sizes follow a Zipf law of exponent 0.8: an item is its cluster
centre plus N(0, 0.35²)-scaled spread inside the subspace plus N(0, 0.05²) noise in all d
dimensions. Item norms are then set to a log-normal(0, 0.35), as popular items get longer
vectors under MF. Queries (users) come from the same mixture with a wider spread (0.5) and no
norm change. Isotropic Gaussian vectors would have no neighbour structure at all: every item
would be about as close as any other and no index could beat a scan.

Exact search is the baseline: batched float32 numpy matmul + recforge._topk.topk for the ground
truth, and one query at a time (numpy gemv + top-k, as a server answers) for its latency. For
each index kind: build time, index size (faiss's serialised bytes), recall@10 against exact,
and per-query latency p50/p99 of `ANNIndex.search` for one query at a time (faiss on --threads
threads), without and with exclusions: each user excludes 100 items, 20 drawn from their exact
top 50 (a user's training items score high under a trained model, so they crowd the top) and
80 uniformly, and recall is measured against the exact top 10 of what remains.

Run from the repository root (faiss-cpu installed: pip install 'recforge[ann]'):
    .venv/bin/python benchmarks/bench_ann.py [--n-items 1000000] [--dim 64] [--queries 1000]
        [--kinds hnsw,ivf] [--threads 1] [--build-threads 0] [--mips auto]
        [--ef-search 64,128,256] [--nprobe 32,64,128] [--out PATH]
Writes benchmarks/results/ann.json (or --out).

--trained measures the same indexes on trained models instead, where a user's own (excluded)
items crowd the top of their scores: iALS at its defaults on MovieLens 100K (every rating an
interaction), and iALS (64 factors, 3 iterations) on a synthetic log of 20,000 users × --n-items
items (5M interactions; the large-catalogue model of bench_serving.py). For 1,000 users each,
recall@10 of `recommend_ann` against `model.recommend` (seen items excluded on both sides) and
the per-user latency, at each kind's default knob and the sweep, for each --mips ("auto": each
kind's default). HNSW searches at least as deep as the candidates it fetches (k plus the user's
excluded items, rounded up to a power of two), so ef_search values below that depth measure the
same search. Kept in ann.json under "trained", beside the generator's figures.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ann.py --trained \
        [--mips ip,l2] [--ef-search 64,128,256,512,1024,2048] [--nprobe 16,32,64,128,256]
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(default: int = 1) -> int:
    """--threads, read before numpy loads so that OpenBLAS starts with that many threads."""
    for j, arg in enumerate(sys.argv):
        if arg == "--threads" and j + 1 < len(sys.argv):
            return int(sys.argv[j + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(_threads_from_argv()))

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from _common import RESULTS, machine, peak_rss_mb  # noqa: E402
from recforge._topk import topk  # noqa: E402
from recforge.retrieval import ANNIndex  # noqa: E402

K = 10
CLUSTERS, RANK = 1000, 24
EXCLUDED, EXCLUDED_FROM_TOP, TOP_POOL = 100, 20, 50


def generate(n_items: int, n_queries: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(items float32 [n_items, dim], queries float32 [n_queries, dim]); see the module doc."""
    rng = np.random.default_rng(seed)
    rank = min(RANK, dim)
    basis = np.linalg.qr(rng.standard_normal((dim, rank)))[0].T  # [rank, dim], orthonormal rows
    scales = 1.0 / np.sqrt(1.0 + np.arange(rank))
    centres = rng.standard_normal((CLUSTERS, rank)) * scales
    weights = 1.0 / (1.0 + np.arange(CLUSTERS)) ** 0.8
    weights /= weights.sum()

    def draw(n: int, spread: float) -> np.ndarray:
        out = np.empty((n, dim), dtype=np.float32)
        for start in range(0, n, 1 << 17):  # bounded float64 temporaries
            m = min(1 << 17, n - start)
            cluster = rng.choice(CLUSTERS, size=m, p=weights)
            z = centres[cluster] + spread * rng.standard_normal((m, rank)) * scales
            out[start : start + m] = z @ basis + 0.05 * rng.standard_normal((m, dim))
        return out

    items = draw(n_items, 0.35)
    norms = rng.lognormal(0.0, 0.35, n_items)
    items *= (norms / np.linalg.norm(items, axis=1)).astype(np.float32)[:, None]
    return items, draw(n_queries, 0.5)


def exact_search(
    items: np.ndarray, queries: np.ndarray, exclude: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, float]:
    """Exact top-K ids [Q, K] without and with the exclusions, and the seconds taken (batched
    matmul + recforge._topk.topk, both passes)."""
    plain = np.empty((len(queries), K), dtype=np.int64)
    masked = np.empty((len(queries), K), dtype=np.int64)
    start = time.perf_counter()
    batch = max(1, (1 << 27) // items.shape[0])  # score rows of ≤ 512 MiB
    for lo in range(0, len(queries), batch):
        scores = queries[lo : lo + batch] @ items.T
        plain[lo : lo + batch] = topk(scores, K)[0]
        for row in range(scores.shape[0]):
            scores[row, exclude[lo + row]] = -np.inf
        masked[lo : lo + batch] = topk(scores, K)[0]
    return plain, masked, time.perf_counter() - start


def exclusions(items: np.ndarray, queries: np.ndarray, seed: int) -> list[np.ndarray]:
    """Per query, EXCLUDED item ids: EXCLUDED_FROM_TOP of its exact top TOP_POOL and the rest
    uniformly at random (see the module doc)."""
    rng = np.random.default_rng(seed + 1)
    out = []
    batch = max(1, (1 << 27) // items.shape[0])
    for lo in range(0, len(queries), batch):
        top = topk(queries[lo : lo + batch] @ items.T, TOP_POOL)[0]
        for row in top:
            near = rng.choice(row, EXCLUDED_FROM_TOP, replace=False)
            far = rng.choice(items.shape[0], EXCLUDED - EXCLUDED_FROM_TOP, replace=False)
            out.append(np.unique(np.concatenate([near, far])))
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [np.intersect1d(a[a >= 0], b).size for a, b in zip(found, truth, strict=True)]
    return float(np.sum(hits) / truth.size)


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def exact_latency(items: np.ndarray, queries: np.ndarray, n: int) -> dict[str, float]:
    """One query at a time: gemv + top-k (recforge._topk), as a server without an index."""
    times = []
    for q in queries[:n]:
        start = time.perf_counter()
        topk((items @ q)[None, :], K)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def one_at_a_time(
    index: ANNIndex, queries: np.ndarray, exclude: list[np.ndarray] | None
) -> tuple[np.ndarray, dict[str, float]]:
    """`index.search` per query: ids [Q, K] and latency figures."""
    ids = np.empty((len(queries), K), dtype=np.int64)
    times = []
    for j, q in enumerate(queries):
        ex = None if exclude is None else [exclude[j]]
        start = time.perf_counter()
        found, _ = index.search(q[None, :], K, exclude=ex)
        times.append(time.perf_counter() - start)
        ids[j] = found[0]
    return ids, percentiles(times)


def faiss_latency(index: ANNIndex, queries: np.ndarray) -> dict[str, float]:
    """faiss's own search of one query for K (no exclusions, no exact rescoring)."""
    raw = index.faiss_index
    data = queries if index.mips == "ip" else np.hstack([queries, np.zeros((len(queries), 1))])
    data = np.ascontiguousarray(data, dtype=np.float32)
    times = []
    for j in range(len(data)):
        start = time.perf_counter()
        raw.search(data[j : j + 1], K)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def trained_models(n_items: int) -> list[tuple[str, Any]]:
    """(name, fitted iALS) of MovieLens 100K and of the synthetic large catalogue."""
    from recforge.data import Interactions, load_movielens, synthetic_interactions
    from recforge.models import get

    ratings = load_movielens("ml-100k").interactions
    users, items, _ = ratings.coo()
    implicit = Interactions.from_arrays(
        ratings.user_ids.to_raw(users), ratings.item_ids.to_raw(items), None, ratings.timestamps
    )
    out = [("ials defaults, ml-100k", get("ials", seed=0).fit(implicit))]
    large = synthetic_interactions(20_000, n_items, 5_000_000, factors=32, seed=0)
    model = get("ials", factors=64, iterations=3, seed=0).fit(large)
    return [*out, (f"ials 64 factors, synthetic {n_items:,} items", model)]


def trained(args: argparse.Namespace) -> dict[str, Any]:
    """Recall@10 against exact top-k and latency of each index on trained iALS models."""
    import faiss

    from recforge.retrieval import HNSW_DEFAULTS, IVF_DEFAULTS, recommend_ann, retrieval_vectors

    default_mips = {"hnsw": HNSW_DEFAULTS["mips"], "ivf": IVF_DEFAULTS["mips"]}

    cases = {}
    for name, model in trained_models(args.n_items):
        rng = np.random.default_rng(args.seed)
        active = np.flatnonzero(np.diff(model.seen_.indptr) > 0)
        users = np.sort(rng.choice(active, min(args.queries, active.size), replace=False))
        exact, _ = model.recommend(users, k=K)
        items = retrieval_vectors(model)[1]
        runs = []
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        mips_list = [None] if args.mips == "auto" else args.mips.split(",")
        for kind, mips in [(kind, mips) for kind in kinds for mips in mips_list]:
            faiss.omp_set_num_threads(args.build_threads or faiss.omp_get_max_threads())
            start = time.perf_counter()
            index = ANNIndex.build(items, kind, **({} if mips is None else {"mips": mips}))
            build_s = time.perf_counter() - start
            faiss.omp_set_num_threads(max(1, args.threads))
            knob = "ef_search" if kind == "hnsw" else "nprobe"
            default = index.params[knob]
            sweep = args.ef_search if kind == "hnsw" else args.nprobe
            ceiling = index.params.get("nlist", np.inf)  # nprobe is at most nlist
            values = sorted(
                {min(v, ceiling) for v in (default, *map(int, filter(None, sweep.split(","))))}
            )
            for value in values:
                index.set_search_params(**{knob: int(value)})
                found, _ = recommend_ann(model, index, users, k=K)
                hits = [
                    np.intersect1d(f[f >= 0], e[e >= 0]).size
                    for f, e in zip(found, exact, strict=True)
                ]
                latencies = []
                for user in users[:200]:
                    start = time.perf_counter()
                    recommend_ann(model, index, [user], k=K)
                    latencies.append((time.perf_counter() - start) * 1000)
                run = {
                    "kind": kind,
                    "params": index.params,
                    "default": value == default and index.mips == default_mips[kind],
                    "build_seconds": build_s,
                    "recall_at_10": float(np.mean(hits)) / K,
                    "p50_ms": float(np.percentile(latencies, 50)),
                    "p99_ms": float(np.percentile(latencies, 99)),
                }
                runs.append(run)
                print(f"{name}: {kind} {index.mips} {knob}={value}"
                      f"{' (default)' if run['default'] else ''} "
                      f"recall@10 {run['recall_at_10']:.4f}, p50 {run['p50_ms']:.2f} ms, "
                      f"p99 {run['p99_ms']:.2f} ms", flush=True)  # fmt: skip
        cases[name] = {"n_items": int(model.n_items_), "users": int(users.size), "runs": runs}
    return {"machine": machine(), "search_threads": args.threads, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--kinds", default="hnsw,ivf")
    parser.add_argument(
        "--threads", type=int, default=1, help="faiss and BLAS threads while searching"
    )
    parser.add_argument(
        "--build-threads", type=int, default=0, help="faiss threads while building (0: all)"
    )
    parser.add_argument("--mips", default="auto", help="auto (each kind's default), or ip,l2")
    parser.add_argument("--ef-search", default="", help="hnsw ef_search values to sweep")
    parser.add_argument("--nprobe", default="", help="ivf nprobe values to sweep")
    parser.add_argument("--exact-latency-queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "ann.json")
    parser.add_argument("--trained", action="store_true", help="trained iALS models instead")
    args = parser.parse_args()
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.trained:
        previous["trained"] = trained(args)
        args.out.write_text(json.dumps(previous, indent=2) + "\n")
        print(f"wrote {args.out}")
        return

    import faiss
    import torch

    torch.set_num_threads(max(1, args.threads))  # recforge._topk's batched selection
    all_threads = faiss.omp_get_max_threads()

    start = time.perf_counter()
    items, queries = generate(args.n_items, args.queries, args.dim, args.seed)
    exclude = exclusions(items, queries, args.seed)
    print(
        f"catalogue: {args.n_items:,} items × {args.dim}, {args.queries} queries, generated in "
        f"{time.perf_counter() - start:.1f} s"
    )
    truth, truth_excl, exact_s = exact_search(items, queries, exclude)
    exact = {
        "batched_seconds": exact_s,
        "one_query": exact_latency(items, queries, args.exact_latency_queries),
    }
    print(
        f"exact: batched {exact_s:.2f} s for {args.queries} queries (with and without "
        f"exclusions); one query p50 {exact['one_query']['p50_ms']:.2f} ms, "
        f"p99 {exact['one_query']['p99_ms']:.2f} ms"
    )

    runs: list[dict[str, Any]] = []
    header = (
        f"{'kind':<5} {'mips':<4} {'knob':<14} {'build s':>8} {'MiB':>7} {'recall':>7} "
        f"{'excl.':>7} {'p50 ms':>7} {'p99 ms':>7} {'ex p99':>7} {'faiss p99':>9}"
    )
    print(header)
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        mips_list = [None] if args.mips == "auto" else args.mips.split(",")
        for mips in mips_list:
            faiss.omp_set_num_threads(args.build_threads or all_threads)
            params = {} if mips is None else {"mips": mips}
            start = time.perf_counter()
            index = ANNIndex.build(items, kind, **params)
            build_s = time.perf_counter() - start
            size = int(faiss.serialize_index(index.faiss_index).nbytes)
            faiss.omp_set_num_threads(max(1, args.threads))
            knob = "ef_search" if kind == "hnsw" else "nprobe"
            sweep = args.ef_search if kind == "hnsw" else args.nprobe
            values = [int(v) for v in sweep.split(",") if v] or [index.params[knob]]
            default = index.params[knob]
            for value in values:
                index.set_search_params(**{knob: value})
                found, lat = one_at_a_time(index, queries, None)
                found_excl, lat_excl = one_at_a_time(index, queries, exclude)
                banned = sum(
                    int(np.isin(f, e).sum()) for f, e in zip(found_excl, exclude, strict=True)
                )
                run = {
                    "kind": kind,
                    "mips": index.mips,
                    "params": index.params,
                    "build_seconds": build_s,
                    "build_threads": args.build_threads or all_threads,
                    "index_bytes": size,
                    "recall_at_10": recall(found, truth),
                    "recall_at_10_excluded": recall(found_excl, truth_excl),
                    "excluded_returned": banned,
                    "latency": lat,
                    "latency_excluded": lat_excl,
                    "faiss_latency": faiss_latency(index, queries),
                }
                runs.append(run)
                print(
                    f"{kind:<5} {index.mips:<4} {knob + '=' + str(value):<14} {build_s:8.1f} "
                    f"{size / 2**20:7.0f} {run['recall_at_10']:7.4f} "
                    f"{run['recall_at_10_excluded']:7.4f} {lat['p50_ms']:7.3f} "
                    f"{lat['p99_ms']:7.3f} {lat_excl['p99_ms']:7.3f} "
                    f"{run['faiss_latency']['p99_ms']:9.3f}"
                )
                assert banned == 0, "an excluded item was returned"
            index.set_search_params(**{knob: default})
            del index

    payload = {
        "machine": machine(),
        "n_items": args.n_items,
        "dim": args.dim,
        "queries": args.queries,
        "k": K,
        "search_threads": args.threads,
        "generator": {
            "seed": args.seed,
            "clusters": CLUSTERS,
            "rank": min(RANK, args.dim),
            "excluded_per_query": EXCLUDED,
            "excluded_from_top": f"{EXCLUDED_FROM_TOP} of the exact top {TOP_POOL}",
        },
        "exact": exact,
        "runs": runs,
        "peak_rss_mib": peak_rss_mb(),
        **({"trained": previous["trained"]} if "trained" in previous else {}),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"peak RSS {peak_rss_mb():.0f} MiB; wrote {args.out}")


if __name__ == "__main__":
    main()
