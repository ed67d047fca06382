"""Deep rating models on MovieLens 100K, 5-fold: DeepRating and I-/U-AutoRec beside biased MF.

The folds are recforge's kfold (seed 0), the same ones bench_surprise.py uses. Each model is fit
on a fold's train part and scored on its test part (RMSE, MAE); DeepRating's training RMSE is
reported too (the seed material quotes about 0.82 on MovieLens). Neural models train for their
default epochs without early stopping (no validation data is carved out of the folds).

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_deep_ratings.py \
        [--models svd,deeprating,iautorec] [--folds 5] [--side-features] [--dataset synthetic]
        [--tune iautorec]

--tune MODEL chooses MODEL's defaults on validation alone: each point of its grid is fitted on
90% of the training part of the first --tune-folds folds and scored (RMSE) on the other 10%
(random, seed 0); no test part is read. The chosen point is what the model's defaults should
be; the test figures above are then those of the defaults. --dataset synthetic runs on a rated
synthetic set of another shape (benchmarks/_common.py) where the defaults are checked, never
tuned.

Writes benchmarks/results/deep_ratings.json (runs of some models keep the figures of others).
"""

from __future__ import annotations

import argparse
import time
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
from recforge.data import kfold, load_movielens, random_split
from recforge.evaluation import mae, rmse
from recforge.models import get

MODELS = ("svd", "deeprating", "iautorec", "uautorec")
# the validation grids (--tune): the hidden width, the L2 weight and the learning rate
GRIDS: dict[str, list[dict[str, Any]]] = {
    name: [
        {"hidden": h, "reg": r, "lr": lr}
        for h in (300, 500)
        for r in (20.0, 100.0, 200.0, 500.0, 1000.0)
        for lr in (1e-3, 3e-3)
    ]
    for name in ("iautorec", "uautorec")
}


def tune(name: str, folds: list[Any]) -> dict[str, Any]:
    """Mean validation RMSE of each grid point over the folds' inner splits; the best point."""
    inner = [random_split(fold.train, test=0.1, seed=0) for fold in folds]
    points = []
    for params in GRIDS[name]:
        errors = []
        for part in inner:
            model = get(name, seed=0, **params).fit(part.train)
            users, items, ratings = part.test.coo()
            errors.append(rmse(ratings, model.predict(users, items)))
        points.append({"params": params, "valid_rmse": float(np.mean(errors))})
        print(f"  {name} {params}: valid RMSE {points[-1]['valid_rmse']:.4f}", flush=True)
    best = min(points, key=lambda p: p["valid_rmse"])
    defaults = get(name).get_params()
    return {
        "folds": len(folds),
        "valid": "random 10% of each fold's train",
        "grid": points,
        "chosen": best["params"],
        "defaults": {k: defaults[k] for k in best["params"]},
    }


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
    parser.add_argument("--dataset", default="ml-100k", choices=RATED_DATASETS)
    parser.add_argument("--tune", default="", help="choose this model's defaults on validation")
    parser.add_argument("--tune-folds", type=int, default=2)
    args = parser.parse_args()
    folds = kfold(rated_dataset(args.dataset), k=5, seed=0)[: args.folds]
    previous = read_result("deep_ratings")
    if args.tune:
        found = tune(args.tune, kfold(rated_dataset(args.dataset), k=5, seed=0)[: args.tune_folds])
        print(f"{args.tune}: validation chooses {found['chosen']} (defaults {found['defaults']})")
        tuning = {**previous.get("tuning", {}), args.tune: {"machine": machine(), **found}}
        path = write_result("deep_ratings", {**previous, "tuning": tuning})
        print(f"wrote {path}")
        return
    features: dict[str, Any] = {}
    if args.side_features:
        movielens = load_movielens("ml-100k")
        features = {
            "user_features": movielens.user_features,
            "item_features": movielens.item_features,
        }
    key_of = "models" if args.dataset == "ml-100k" else "synthetic"
    results = previous.get(key_of, {})
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
    if args.dataset == "ml-100k":
        kept = {k: v for k, v in previous.items() if k != "machine"}
        payload = {**kept, "dataset": "ml-100k", "split": "kfold k=5 seed 0", "models": results}
    else:  # checked, not tuned: its own record beside the MovieLens one
        payload = {**previous, "synthetic": results, "synthetic_generator": SYNTHETIC_RATED}
        payload["synthetic_machine"] = machine()
    path = write_result("deep_ratings", payload)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
