"""Deep rating models on MovieLens 100K, 5-fold: DeepRating and I-/U-AutoRec beside biased MF.

The folds are recforge's kfold (seed 0), the same ones bench_surprise.py uses. Each model is fit
on a fold's train part and scored on its test part (RMSE, MAE); DeepRating's training RMSE is
reported too (the seed material quotes about 0.82 on MovieLens). Neural models train for their
default epochs without early stopping (no validation data is carved out of the folds).

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_deep_ratings.py \
        [--models svd,deeprating,iautorec] [--folds 5] [--side-features]

Writes benchmarks/results/deep_ratings.json (runs of some models keep the figures of others).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from _common import read_result, write_result
from recforge.data import kfold, load_movielens
from recforge.evaluation import mae, rmse
from recforge.models import get

MODELS = ("svd", "deeprating", "iautorec", "uautorec")


def run(name: str, folds: list[Any], features: dict[str, Any]) -> dict[str, Any]:
    per_fold = []
    for fold in folds:
        model = get(name, seed=0)
        start = time.perf_counter()
        if features and model.accepts_side_features:
            model.fit(fold.train, **features)
        else:
            model.fit(fold.train)
        seconds = time.perf_counter() - start
        users, items, ratings = fold.test.coo()
        tu, ti, tr = fold.train.coo()
        predicted = model.predict(users, items)
        per_fold.append(
            {
                "rmse": rmse(ratings, predicted),
                "mae": mae(ratings, predicted),
                "train_rmse": rmse(tr, model.predict(tu, ti)),
                "fit_seconds": seconds,
            }
        )
        print(f"  {name} fold {len(per_fold)}: {per_fold[-1]}", flush=True)
    summary = {
        key: float(np.mean([f[key] for f in per_fold]))
        for key in ("rmse", "mae", "train_rmse", "fit_seconds")
    }
    return {"folds": per_fold, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--folds", type=int, default=5, help="how many of the 5 folds to run")
    parser.add_argument(
        "--side-features",
        action="store_true",
        help="give side-feature models (deeprating) the MovieLens user and item features",
    )
    args = parser.parse_args()
    movielens = load_movielens("ml-100k")
    folds = kfold(movielens.interactions, k=5, seed=0)[: args.folds]
    features: dict[str, Any] = {}
    if args.side_features:
        features = {
            "user_features": movielens.user_features,
            "item_features": movielens.item_features,
        }
    results = read_result("deep_ratings").get("models", {})
    for name in args.models.split(","):
        key = f"{name}+features" if features and get(name).accepts_side_features else name
        print(f"{key}: {args.folds} fold(s)", flush=True)
        results[key] = {"n_folds": args.folds, **run(name, folds, features)}
    print(f"\n{'model':<22}{'test RMSE':>10}{'MAE':>8}{'train RMSE':>12}{'fit s':>8}")
    for key, r in results.items():
        print(
            f"{key:<22}{r['rmse']:>10.4f}{r['mae']:>8.4f}{r['train_rmse']:>12.4f}"
            f"{r['fit_seconds']:>8.1f}"
        )
    if "svd" in results and "iautorec" in results:
        pairs = zip(results["iautorec"]["folds"], results["svd"]["folds"], strict=False)
        wins = sum(a["rmse"] < b["rmse"] for a, b in pairs)
        better = results["iautorec"]["rmse"] < results["svd"]["rmse"]
        print(f"I-AutoRec beats biased MF: {better} (mean), on {wins} of {args.folds} folds")
    path = write_result(
        "deep_ratings", {"dataset": "ml-100k", "split": "kfold k=5 seed 0", "models": results}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
