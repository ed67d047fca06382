"""Worker run inside the peer venv: one Surprise algorithm on fold files; prints JSON.

python surprise_fit.py ALGORITHM REPEATS FOLD_DIR [FOLD_DIR …]
    ALGORITHM: baseline | svd | svdpp | svdpp-cached | nmf | knnbaseline (Surprise's defaults,
    random_state 0; svdpp-cached: cache_ratings=True; BaselineOnly by ALS; KNNBaseline
    item-based with pearson_baseline, Surprise's own example).
    Each FOLD_DIR holds train.tsv and test.tsv. Times are the best of REPEATS runs per fold.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from surprise import NMF, SVD, BaselineOnly, Dataset, KNNBaseline, Reader, SVDpp, accuracy


def make(algorithm: str) -> Any:
    if algorithm == "baseline":
        return BaselineOnly(bsl_options={"method": "als"}, verbose=False)
    if algorithm == "svd":
        return SVD(random_state=0)
    if algorithm == "svdpp":
        return SVDpp(random_state=0)
    if algorithm == "svdpp-cached":
        return SVDpp(random_state=0, cache_ratings=True)
    if algorithm == "nmf":
        return NMF(random_state=0)
    if algorithm == "knnbaseline":
        return KNNBaseline(
            sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False
        )
    raise SystemExit(f"unknown algorithm {algorithm!r}")


def run_fold(algorithm: str, repeats: int, fold_dir: str) -> dict[str, float]:
    reader = Reader(line_format="user item rating", sep="\t", rating_scale=(1, 5))
    trainset = Dataset.load_from_file(f"{fold_dir}/train.tsv", reader).build_full_trainset()
    with open(f"{fold_dir}/test.tsv") as fh:
        testset = [(u, i, float(r)) for u, i, r in (line.rstrip("\n").split("\t") for line in fh)]
    fits, predicts = [], []
    for _ in range(repeats):
        algo = make(algorithm)
        start = time.perf_counter()
        algo.fit(trainset)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        predictions = algo.test(testset)
        predicts.append(time.perf_counter() - start)
    return {
        "rmse": float(accuracy.rmse(predictions, verbose=False)),
        "mae": float(accuracy.mae(predictions, verbose=False)),
        "fit_seconds": min(fits),
        "predict_seconds": min(predicts),
    }


if __name__ == "__main__":
    algorithm, repeats = sys.argv[1], int(sys.argv[2])
    print(json.dumps([run_fold(algorithm, repeats, d) for d in sys.argv[3:]]))
