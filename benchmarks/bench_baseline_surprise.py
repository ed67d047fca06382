"""BiasBaseline vs Surprise's BaselineOnly on MovieLens 100K, the same 5 folds.

The folds are made once by recforge (kfold, seed 0) and written as TSV files; recforge fits on
them in this process, Surprise in its own virtual environment (benchmarks/.peer-venv).

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_baseline_surprise.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import write_result
from peers import HERE, peer_python
from recforge.data import Interactions, kfold, load_movielens
from recforge.evaluation import mae, rmse
from recforge.models import BiasBaseline


def load_ml100k() -> Interactions:
    return load_movielens("ml-100k").interactions


def write_fold(part: Interactions, path: Path) -> None:
    users, items, ratings = part.coo()
    raw_u, raw_i = part.user_ids.to_raw(users), part.item_ids.to_raw(items)
    lines = (f"{u}\t{i}\t{r:g}\n" for u, i, r in zip(raw_u, raw_i, ratings, strict=True))
    path.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="fit timings take the best of N")
    args = parser.parse_args()

    data = load_ml100k()
    folds = kfold(data, k=args.folds, seed=args.seed)
    ours = []
    with tempfile.TemporaryDirectory() as tmp:
        fold_dirs = []
        for n, fold in enumerate(folds, start=1):
            fold_dir = Path(tmp) / f"fold-{n}"
            fold_dir.mkdir()
            write_fold(fold.train, fold_dir / "train.tsv")
            write_fold(fold.test, fold_dir / "test.tsv")
            fold_dirs.append(str(fold_dir))

            timings = []
            for _ in range(args.repeats):
                model = BiasBaseline()
                start = time.perf_counter()
                model.fit(fold.train)
                timings.append(time.perf_counter() - start)
            users, items, ratings = fold.test.coo()
            predicted = model.predict(users, items)
            ours.append(
                {
                    "rmse": rmse(ratings, predicted),
                    "mae": mae(ratings, predicted),
                    "fit_seconds": min(timings),
                }
            )
        python = peer_python()
        theirs_runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [str(python), str(HERE / "peers" / "surprise_baseline.py"), *fold_dirs],
                capture_output=True,
                text=True,
                check=True,
            )
            theirs_runs.append(json.loads(out.stdout))
    theirs = [
        {**runs[0], "fit_seconds": min(r["fit_seconds"] for r in runs)}
        for runs in zip(*theirs_runs, strict=True)
    ]

    print(
        f"{'fold':>4}  {'recforge RMSE':>13}  {'Surprise RMSE':>13}  "
        f"{'recforge fit':>12}  {'Surprise fit':>12}"
    )
    for n, (a, b) in enumerate(zip(ours, theirs, strict=True), start=1):
        print(
            f"{n:>4}  {a['rmse']:>13.4f}  {b['rmse']:>13.4f}  "
            f"{a['fit_seconds'] * 1e3:>10.2f}ms  {b['fit_seconds'] * 1e3:>10.2f}ms"
        )
    mean = {
        key: (float(np.mean([f[key] for f in ours])), float(np.mean([f[key] for f in theirs])))
        for key in ("rmse", "mae", "fit_seconds")
    }
    speedup = mean["fit_seconds"][1] / mean["fit_seconds"][0]
    print(
        f"mean  {mean['rmse'][0]:>13.4f}  {mean['rmse'][1]:>13.4f}  "
        f"{mean['fit_seconds'][0] * 1e3:>10.2f}ms  {mean['fit_seconds'][1] * 1e3:>10.2f}ms"
    )
    print(
        f"recforge fits {speedup:.1f}× faster; RMSE difference "
        f"{mean['rmse'][0] - mean['rmse'][1]:+.5f}"
    )
    path = write_result(
        "baseline_surprise",
        {
            "dataset": "ml-100k",
            "folds": args.folds,
            "seed": args.seed,
            "recforge": ours,
            "surprise": theirs,
            "mean_rmse": {"recforge": mean["rmse"][0], "surprise": mean["rmse"][1]},
            "mean_mae": {"recforge": mean["mae"][0], "surprise": mean["mae"][1]},
            "mean_fit_seconds": {
                "recforge": mean["fit_seconds"][0],
                "surprise": mean["fit_seconds"][1],
            },
            "fit_speedup": speedup,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
