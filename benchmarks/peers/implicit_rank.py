"""Worker run inside the peer venv: fit one implicit 0.7.3 model, write top-k lists.

python implicit_rank.py ALGORITHM PARAMS_JSON TRAIN_TSV USERS_FILE OUT_TSV K
    ALGORITHM: als | bpr | cosine; PARAMS_JSON may hold random_state (default 0),
    "values": "binary" (default: every pair weighs 1) or "ratings" (the third column), and
    "repeat": fits timed one after another (default 1; the last fit's lists are written).
    TRAIN_TSV: "user<TAB>item[<TAB>rating]" lines (raw ids). USERS_FILE: one raw user id per line.
    OUT_TSV gets "user<TAB>item,item,…" (train items filtered out).
Prints {"fit_seconds": the median fit, "fit_runs": every fit's seconds} as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp


def make(algorithm: str, params: dict[str, Any], seed: int) -> Any:
    """An unfitted implicit model."""
    if algorithm == "als":
        from implicit.als import AlternatingLeastSquares

        return AlternatingLeastSquares(random_state=seed, **params)
    if algorithm == "bpr":
        from implicit.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(random_state=seed, **params)
    if algorithm == "cosine":
        from implicit.nearest_neighbours import CosineRecommender

        return CosineRecommender(**params)
    raise SystemExit(f"unknown algorithm {algorithm!r}")


def main() -> None:
    algorithm, params_json, train_path, users_path, out_path, k = sys.argv[1:7]
    params = json.loads(params_json)
    seed = int(params.pop("random_state", 0))
    weighting = params.pop("values", "binary")
    repeat = int(params.pop("repeat", 1))
    lines = [line.split("\t") for line in Path(train_path).read_text().splitlines() if line]
    pairs = [fields[:2] for fields in lines]
    weights = np.ones(len(pairs), dtype=np.float32)
    if weighting == "ratings":
        weights = np.array([float(fields[2]) for fields in lines], dtype=np.float32)
    users = sorted({u for u, _ in pairs})
    items = sorted({i for _, i in pairs})
    user_index = {u: n for n, u in enumerate(users)}
    item_index = {i: n for n, i in enumerate(items)}
    rows = np.array([user_index[u] for u, _ in pairs])
    cols = np.array([item_index[i] for _, i in pairs])
    matrix = sp.csr_matrix((weights, (rows, cols)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    if weighting == "binary":
        matrix.data[:] = 1.0
    runs = []
    for _ in range(repeat):
        model = make(algorithm, params, seed)
        start = time.perf_counter()
        model.fit(matrix, show_progress=False)
        runs.append(time.perf_counter() - start)
    listed = Path(users_path).read_text().split()
    wanted = [u for u in listed if u in user_index]
    ids = np.array([user_index[u] for u in wanted])
    top, _ = model.recommend(ids, matrix[ids], N=int(k), filter_already_liked_items=True)
    with open(out_path, "w") as out:
        for u, row in zip(wanted, top, strict=True):
            out.write(f"{u}\t{','.join(items[j] for j in row if j >= 0)}\n")
    print(json.dumps({"fit_seconds": float(np.median(runs)), "fit_runs": runs}))


if __name__ == "__main__":
    main()
