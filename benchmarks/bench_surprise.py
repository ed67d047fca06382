"""Rating models vs Surprise 1.1.5 on MovieLens 100K: the same 5 folds, RMSE and fit time.

The folds are made once by recforge (kfold, seed 0) and written as TSV files; recforge fits on
them in this process, Surprise in its own virtual environment (benchmarks/.peer-venv), with its
default parameters for each algorithm.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_surprise.py [--models bias,svd]
        [--dataset synthetic]

--dataset synthetic runs the same on a rated synthetic set of another shape (flatter
popularity, more items than users; benchmarks/_common.py), on which both libraries' defaults
are checked, never tuned.

Fit and predict times are the best of --repeats runs per fold, for both libraries; predict
takes raw ids in and gives predictions out on both sides (recforge's time includes mapping the
test's raw ids to indices, as Surprise's `test` does). recforge's first fit in the process also
loads its compiled kernels; it is reported apart ("first fit"). SVD++ is run against Surprise
twice: at its defaults and with `cache_ratings=True`, its documented speed switch.
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

from _common import (
    RATED_DATASETS,
    SYNTHETIC_RATED,
    machine,
    rated_dataset,
    read_result,
    write_result,
)
from peers import HERE, peer_python
from recforge.data import Interactions, kfold
from recforge.evaluation import mae, rmse
from recforge.models import get

# entry → (recforge model, the Surprise algorithm it is compared with; see
# peers/surprise_fit.py); None: Surprise has no such model, recforge's figures are alone.
PEERS: dict[str, tuple[str, str | None]] = {
    "bias": ("bias", "baseline"),
    "svd": ("svd", "svd"),
    "svdpp": ("svdpp", "svdpp"),
    "svdpp-cached": ("svdpp", "svdpp-cached"),
    "nmf": ("nmf", "nmf"),
    "itemknn": ("itemknn", "knnbaseline"),
    "bpmf": ("bpmf", None),
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
        raw_users, raw_items = fold.test.user_ids.to_raw(users), fold.test.item_ids.to_raw(items)
        for _ in range(repeats):
            model = get(name, seed=0)
            start = time.perf_counter()
            model.fit(fold.train)
            fits.append(time.perf_counter() - start)
            start = time.perf_counter()  # raw ids in, predictions out
            u = model.user_ids_.to_index(raw_users, missing="mask")
            i = model.item_ids_.to_index(raw_items, missing="mask")
            predicted = model.predict(u, i)
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
    parser.add_argument("--dataset", default="ml-100k", choices=RATED_DATASETS)
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise SystemExit(f"no Surprise peer for {unknown}; choose from {', '.join(PEERS)}")

    data = rated_dataset(args.dataset)
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
            model, peer = PEERS[name]
            ours = run_recforge(model, folds, args.repeats)
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
    previous = read_result("surprise")
    if args.dataset == "ml-100k":
        merged = {**previous.get("models", {}), **results}  # other models keep their figures
        kept = {k: v for k, v in previous.items() if k != "machine"}  # this run's machine
        payload = {**kept, "dataset": "ml-100k", "folds": args.folds, "seed": args.seed}
        payload["models"] = merged
    else:  # the checked set: its own record, the MovieLens figures and machine kept
        before = previous.get("synthetic", {}).get("models", {})
        payload = {**previous, "synthetic": {
            "machine": machine(), "generator": SYNTHETIC_RATED, "folds": args.folds,
            "seed": args.seed, "models": {**before, **results},
        }}  # fmt: skip
    path = write_result("surprise", payload)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
