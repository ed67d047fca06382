"""Rating models vs Surprise 1.1.5 on MovieLens 100K: the same 5 folds, RMSE and fit time.

The folds are made once by recforge (kfold, seed 0) and written as TSV files; recforge fits on
them in this process, Surprise in its own virtual environment (benchmarks/.peer-venv), with its
default parameters for each algorithm.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_surprise.py [--models bias,svd]

Fit and predict times are the best of --repeats runs per fold, for both libraries. recforge's
first fit in the process also loads its compiled kernels; it is reported apart ("first fit").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import read_result, write_result
from peers import HERE, peer_python
from recforge.data import Interactions, kfold, load_movielens
from recforge.evaluation import mae, rmse
from recforge.models import get

# recforge model → the Surprise algorithm it is compared with (see peers/surprise_fit.py);
# None: Surprise has no such model, recforge's figures are reported alone.
PEERS: dict[str, str | None] = {
    "bias": "baseline",
    "svd": "svd",
    "svdpp": "svdpp",
    "nmf": "nmf",
    "itemknn": "knnbaseline",
    "bpmf": None,
}


def write_fold(part: Interactions, path: Path) -> None:
    users, items, ratings = part.coo()
    raw_u, raw_i = part.user_ids.to_raw(users), part.item_ids.to_raw(items)
    lines = (f"{u}\t{i}\t{r:g}\n" for u, i, r in zip(raw_u, raw_i, ratings, strict=True))
    path.write_text("".join(lines))


def run_recforge(name: str, folds: list[Any], repeats: int) -> dict[str, Any]:
    start = time.perf_counter()
    get(name, seed=0).fit(folds[0].train)
    first_fit = time.perf_counter() - start
    per_fold = []
    for fold in folds:
        fits, predicts = [], []
        users, items, ratings = fold.test.coo()
        for _ in range(repeats):
            model = get(name, seed=0)
            start = time.perf_counter()
            model.fit(fold.train)
            fits.append(time.perf_counter() - start)
            start = time.perf_counter()
            predicted = model.predict(users, items)
            predicts.append(time.perf_counter() - start)
        per_fold.append(
            {
                "rmse": rmse(ratings, predicted),
                "mae": mae(ratings, predicted),
                "fit_seconds": min(fits),
                "predict_seconds": min(predicts),
            }
        )
    return {"folds": per_fold, "first_fit_seconds": first_fit}


def run_surprise(algorithm: str, fold_dirs: list[str], repeats: int) -> list[dict[str, float]]:
    worker = HERE / "peers" / "surprise_fit.py"
    out = subprocess.run(
        [str(peer_python()), str(worker), algorithm, str(repeats), *fold_dirs],
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(out.stdout))


def mean(folds: list[dict[str, float]], key: str) -> float:
    return float(np.mean([f[key] for f in folds]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(PEERS), help="comma-separated")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="timings take the best of N")
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise SystemExit(f"no Surprise peer for {unknown}; choose from {', '.join(PEERS)}")

    data = load_movielens("ml-100k").interactions
    folds = kfold(data, k=args.folds, seed=args.seed)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fold_dirs = []
        for n, fold in enumerate(folds, start=1):
            fold_dir = Path(tmp) / f"fold-{n}"
            fold_dir.mkdir()
            write_fold(fold.train, fold_dir / "train.tsv")
            write_fold(fold.test, fold_dir / "test.tsv")
            fold_dirs.append(str(fold_dir))
        for name in names:
            ours = run_recforge(name, folds, args.repeats)
            peer = PEERS[name]
            theirs = run_surprise(peer, fold_dirs, args.repeats) if peer else []
            summary = {
                key: {"recforge": mean(ours["folds"], key)}
                | ({"surprise": mean(theirs, key)} if theirs else {})
                for key in ("rmse", "mae", "fit_seconds", "predict_seconds")
            }
            results[name] = {"surprise_algorithm": peer, "recforge": ours, "surprise": theirs}
            results[name]["mean"] = summary
            line = (
                f"{name:<7} RMSE {summary['rmse']['recforge']:.4f}   fit "
                f"{summary['fit_seconds']['recforge'] * 1e3:8.1f} ms per fold"
                f"   first fit {ours['first_fit_seconds'] * 1e3:.0f} ms"
            )
            if theirs:
                fit = summary["fit_seconds"]
                both = {
                    side: summary["fit_seconds"][side] + summary["predict_seconds"][side]
                    for side in ("recforge", "surprise")
                }
                results[name]["fit_speedup"] = fit["surprise"] / fit["recforge"]
                results[name]["fit_plus_predict_speedup"] = both["surprise"] / both["recforge"]
                line += (
                    f"   vs Surprise {peer}: RMSE {summary['rmse']['surprise']:.4f}, fit "
                    f"{fit['surprise'] * 1e3:.1f} ms ({results[name]['fit_speedup']:.1f}× faster,"
                    f" fit+predict {results[name]['fit_plus_predict_speedup']:.1f}×)"
                )
            print(line)
    merged = {
        **read_result("surprise").get("models", {}),
        **results,
    }  # a run of some models keeps the others' figures
    path = write_result(
        "surprise",
        {"dataset": "ml-100k", "folds": args.folds, "seed": args.seed, "models": merged},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
