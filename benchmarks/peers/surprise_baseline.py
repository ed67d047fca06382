"""Worker run inside the peer venv: Surprise BaselineOnly (ALS) on fold files; prints JSON.

python surprise_baseline.py FOLD_DIR [FOLD_DIR …]   (each holds train.tsv and test.tsv)
"""

from __future__ import annotations

import json
import sys
import time

from surprise import BaselineOnly, Dataset, Reader, accuracy


def run_fold(fold_dir: str) -> dict[str, float]:
    reader = Reader(line_format="user item rating", sep="\t", rating_scale=(1, 5))
    start = time.perf_counter()
    trainset = Dataset.load_from_file(f"{fold_dir}/train.tsv", reader).build_full_trainset()
    with open(f"{fold_dir}/test.tsv") as fh:
        testset = [(u, i, float(r)) for u, i, r in (line.rstrip("\n").split("\t") for line in fh)]
    build_seconds = time.perf_counter() - start
    algo = BaselineOnly(bsl_options={"method": "als"}, verbose=False)
    start = time.perf_counter()
    algo.fit(trainset)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = algo.test(testset)
    predict_seconds = time.perf_counter() - start
    return {
        "rmse": float(accuracy.rmse(predictions, verbose=False)),
        "mae": float(accuracy.mae(predictions, verbose=False)),
        "fit_seconds": fit_seconds,
        "build_seconds": build_seconds,
        "predict_seconds": predict_seconds,
    }


if __name__ == "__main__":
    print(json.dumps([run_fold(d) for d in sys.argv[1:]]))
