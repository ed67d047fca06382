"""EASE at 10k and 27k items: fit time and peak memory of each precision, and the old fit.

Each case runs in a child process of its own (so its peak RSS is its own) on synthetic clicks:
--users users with popularity-skewed (Zipf 1.1) items, 40 clicks each on average. Cases:
    before   the fit as it was until this script (9ec543e): float64 Cholesky factor, then
             cho_solve against the identity, then B and its float32 copy as new arrays;
    float64  EASE(dtype="float64"): potrf + potri in place, B in place;
    float32  EASE(dtype="float32");
    sparseK  SparseEASE(neighbours=K): each item's column restricted to its K most
             co-occurring items (sparse B).
The quality check runs on ML-100K's validation split (per-user chronological 80/10/10, fit on
train, NDCG@10 over unseen items on valid): the two precisions side by side, the largest
gap between their weight matrices, and SparseEASE at several K, from which its default
neighbours is chosen: the smallest K within 1% of EASE's NDCG. The test split is never read.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ease.py [--items 10000,27000]
        [--cases before,float64,float32,sparse400] [--users 60000]

Results: benchmarks/results/ease.json (cases by items; the quality check).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from typing import Any

import numpy as np

from _common import machine, peak_rss_mb, read_result, write_result

NEIGHBOURS = (50, 100, 200, 400, 800)  # SparseEASE's candidates on validation


def clicks(n_users: int, n_items: int, seed: int = 0) -> Any:
    """Interactions: about 40 distinct items per user, item popularity Zipf(1.1)."""
    from recforge.data import Interactions

    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** 1.1
    items = rng.choice(n_items, size=n_users * 40, p=weights / weights.sum())
    users = np.repeat(np.arange(n_users), 40)
    pairs = np.unique(users.astype(np.int64) * n_items + items)
    return Interactions.from_arrays(pairs // n_items, pairs % n_items)


def fit_before(data: Any, reg: float = 250.0) -> np.ndarray:
    """The EASE fit of 9ec543e, line for line."""
    import scipy.linalg

    X = data.binary()
    gram = (X.T @ X).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += float(reg)
    factor = scipy.linalg.cho_factor(gram, overwrite_a=True, check_finite=False)
    P = scipy.linalg.cho_solve(factor, np.eye(gram.shape[0]), check_finite=False)
    del gram, factor
    B = P / -np.diag(P)[None, :]
    B[np.diag_indices_from(B)] = 0.0
    return B.astype(np.float32)


def child(case: str, n_items: int, n_users: int) -> dict[str, Any]:
    from recforge.models import get

    data = clicks(n_users, n_items)
    start = time.perf_counter()
    if case == "before":
        weights = fit_before(data)
    elif case.startswith("sparse"):
        weights = get("sparseease", neighbours=int(case.removeprefix("sparse"))).fit(data).weights
        weights = weights.data  # its non-zero weights
    else:
        weights = get("ease", dtype=case).fit(data).weights_
    seconds = time.perf_counter() - start
    return {
        "case": case,
        "items": n_items,
        "users": n_users,
        "interactions": int(data.nnz),
        "fit_s": round(seconds, 2),
        "peak_rss_mib": round(peak_rss_mb()),
        "weights_checksum": float(np.abs(weights).sum(dtype=np.float64)),
    }


def quality() -> dict[str, Any]:
    """float32 against float64 on ML-100K's validation split."""
    from recforge.data import load_movielens, user_split
    from recforge.evaluation import evaluate
    from recforge.models import get

    parts = user_split(load_movielens("ml-100k").interactions, test=0.1, valid=0.1, order="time")
    train, valid = parts.train, parts.valid  # parts.test is never read
    out: dict[str, Any] = {"data": "ml-100k, per-user chronological 80/10/10, valid split"}
    weights = {}
    for dtype in ("float64", "float32"):
        model = get("ease", dtype=dtype).fit(train)
        weights[dtype] = model.weights_
        values = evaluate(model, valid, train=train, k=[10], metrics=["ndcg"]).as_dict()
        out[f"valid_ndcg@10 {dtype}"] = round(values["ndcg@10"], 5)
    out["largest_weight_gap"] = float(np.abs(weights["float64"] - weights["float32"]).max())
    ease_ndcg = out["valid_ndcg@10 float32"]
    chosen = None
    for k in NEIGHBOURS:
        model = get("sparseease", neighbours=k).fit(train)
        values = evaluate(model, valid, train=train, k=[10], metrics=["ndcg"]).as_dict()
        out[f"valid_ndcg@10 sparseease neighbours={k}"] = round(values["ndcg@10"], 5)
        if chosen is None and values["ndcg@10"] >= 0.99 * ease_ndcg:
            chosen = k
    out["sparseease neighbours chosen (smallest within 1% of EASE)"] = chosen
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", default="10000,27000")
    parser.add_argument("--cases", default="before,float64,float32,sparse400")
    parser.add_argument("--users", type=int, default=60_000)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "ITEMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.users)))
        return
    results = read_result("ease")
    results.pop("machine", None)
    runs = results.setdefault("fits", {})
    for n_items in [int(n) for n in args.items.split(",")]:
        for case in args.cases.split(","):
            command = [sys.executable, __file__, "--child", case, str(n_items),
                       "--users", str(args.users)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True)
            key = f"{case} {n_items} items"
            if done.returncode < 0:  # killed by a signal: say which (a crash leaves no stderr)
                name = signal.Signals(-done.returncode).name
                runs[key] = {"case": case, "items": n_items, "failed": f"killed by {name}"}
            elif done.returncode != 0:
                runs[key] = {"case": case, "items": n_items, "failed": done.stderr.strip()[-300:]}
            else:
                runs[key] = json.loads(done.stdout.strip().splitlines()[-1])
            runs[key]["machine"] = machine()
            print(key, runs[key], flush=True)
            write_result("ease", results)
    results["quality"] = quality()
    print(results["quality"])
    print(f"wrote {write_result('ease', results)}")


if __name__ == "__main__":
    main()
