"""Ranking models vs implicit 0.7.3 and RecBole 1.2.1 (EASE) on MovieLens 100K, implicit
feedback, the same split.

Every rating is an interaction. Each user's latest 20% go to test (per-user chronological
holdout); the latest 20% of the rest form a validation slice for tuning. Both libraries try the
same grid on (fit part → validation); where either side's best lies on the grid's edge, the
grid is extended outward along that axis for both sides until both bests are interior (or at a
bound). Each side's best setting is refitted on the whole training part and scored on test.
implicit runs with OPENBLAS_NUM_THREADS=1, as it asks; iALS and implicit's ALS are also timed
at equal iteration counts (15 and 30). For the randomised models (iALS, BPR) both sides refit
with --seeds seeds and the mean NDCG is compared, since one seed's luck moves NDCG@10 by a few
thousandths.
Both sides' top-100 lists are scored by the same code
(recforge.evaluation.evaluate_recommendations), so the metrics cannot differ in definition.
The peers run in their own virtual environment (benchmarks/.peer-venv).

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ranking.py [--pairs ials,bpr]

--rated runs the protocol of top-N from rating data instead, on ML-100K with its ratings and on
a synthetic rated set of another shape (checked, never tuned on): each user's latest 10% of
ratings are test and the 10% before them valid (per-user chronological 80/10/10). Choices are
made on valid (fit on train, score valid): item-KNN's ranking, the KNN models' neighbour count
(neighbors="auto" against the fixed 200 it replaced), and whether ranking models learn from low
ratings (fit's min_rating). Then every model at its defaults is fitted on train +
valid and scored on test once, with train + valid masked, beside implicit's CosineRecommender
at its defaults (K=20) fed 0/1 and fed the ratings. Rating models are in the table too, with
their test RMSE, to show which of them rank well.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ranking.py --rated

--speed times the fits alone, both sides with the same parameters (SPEED_CASES: iALS and
implicit's ALS at 64 factors and 15 iterations, item-KNN and implicit's CosineRecommender at
K=20, BPR and implicit's BPR at 64 factors and 100 epochs), on ML-100K (every rating an
interaction) and on a 10,000-item synthetic set (SPEED_SYNTHETIC): --speed-repeats fits a side,
the median reported. recforge fits in this process after a warm-up fit (numba's kernels loaded;
implicit's are compiled ahead of time); implicit fits --speed-repeats times in one process of
the peer venv, with its default threads (every core) and OPENBLAS_NUM_THREADS=1.
--speed-models itemknn retimes only that case (each case records when it was measured).

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ranking.py --speed

--bpr-strata 1,2,4,8,16 chooses BPR's `strata` default on validation: BPR at recforge's chosen
point of the last recorded run (ranking.json's "bpr") is fitted for each value on the fit part
of two validation splits, ML-100K (--seeds seeds) and the training part of the 10k-item
synthetic set (3 seeds, where all 16 strata are used), and scored on their validation parts;
the largest value within 1% of the best mean validation NDCG@10 on both is chosen. The
synthetic set's test part is read once, for the chosen value and for serial SGD.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ranking.py \
        --bpr-strata 1,2,4,8,16
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from _common import SYNTHETIC_RATED, machine, rated_dataset, read_result, write_result
from peers import HERE, peer_python
from recforge.data import Interactions, load_movielens, synthetic_interactions, user_split
from recforge.evaluation import evaluate, evaluate_recommendations, read_recommendations
from recforge.models import get

K = 100  # list length written by both sides


@dataclass(frozen=True)
class Grid:
    """One recforge-vs-peer pair's search space, the same for both sides.

    axes: each hyper-parameter's starting values (ascending); both sides try their product.
    params: a point (axis → value) as (recforge params, peer params) defining the same model.
    bounds: the lowest and highest value an axis may be extended to (default: (0, inf)).
    Where a side's best point sits on an axis's edge, that axis is extended one step outward
    from it (the starting values' ratio), and both sides try the new point, until every side's
    best is interior or at a bound (see `extend`).
    """

    model: str
    peer: str
    axes: dict[str, list[float]]
    params: Callable[[dict[str, float]], tuple[dict[str, Any], dict[str, Any]]]
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    integer: tuple[str, ...] = ()


# implicit's ALS weighs an observed cell by alpha·r where recforge (as Hu et al.) uses
# 1 + alpha·r, so recforge's alpha is implicit's minus 1 on 0/1 data (implicit's alpha ≥ 1).
GRIDS: dict[str, Grid] = {
    "ials": Grid(
        "ials", "als",
        {"factors": [32, 64], "reg": [0.01, 0.1, 1.0], "alpha": [1.0, 10.0],
         "iterations": [15, 30]},
        lambda p: (
            {"factors": p["factors"], "reg": p["reg"], "alpha": p["alpha"] - 1.0,
             "iterations": p["iterations"]},
            {"factors": p["factors"], "regularization": p["reg"], "alpha": p["alpha"],
             "iterations": p["iterations"]},
        ),
        bounds={"alpha": (1.0, 1e4), "factors": (8, 256), "iterations": (5, 120)},
        integer=("factors", "iterations"),
    ),
    "bpr": Grid(
        "bpr", "bpr",
        {"factors": [32, 64], "lr": [0.01, 0.05], "reg": [0.001, 0.01], "epochs": [100]},
        lambda p: (
            {"factors": p["factors"], "lr": p["lr"], "reg": p["reg"], "epochs": p["epochs"]},
            {"factors": p["factors"], "learning_rate": p["lr"], "regularization": p["reg"],
             "iterations": p["epochs"]},
        ),
        bounds={"factors": (8, 256), "lr": (1e-4, 0.5)},
        integer=("factors", "epochs"),
    ),
    "itemknn": Grid(
        "itemknn", "cosine",
        {"neighbors": [20, 50, 100, 200]},
        lambda p: ({"similarity": "cosine", "neighbors": p["neighbors"]}, {"K": p["neighbors"]}),
        bounds={"neighbors": (5, 1600)},
        integer=("neighbors",),
    ),
    "ease": Grid(
        "ease", "recbole-ease",
        {"reg": [100.0, 250.0, 500.0]},
        lambda p: ({"reg": p["reg"]}, {"reg_weight": p["reg"]}),
        bounds={"reg": (1.0, 1e5)},
    ),
}  # fmt: skip
EXTENSION_ROUNDS = 4  # at most this many rounds of edge extension


def points_of(grid: Grid) -> list[dict[str, float]]:
    names = list(grid.axes)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(grid.axes[n] for n in names))]  # fmt: skip


def extend(grid: Grid, tried: list[dict[str, Any]]) -> list[dict[str, float]]:
    """New points: for each side's best point (by its valid NDCG) and each axis on which it
    sits at the edge of the values tried, the next value outward (within the bounds)."""
    new: list[dict[str, float]] = []
    seen = [t["point"] for t in tried]
    for side in ("recforge", "peer"):
        best = max(tried, key=lambda t: t[f"{side}_valid_ndcg"])["point"]
        for axis, start in grid.axes.items():
            if len(start) < 2:
                continue
            values = sorted({t["point"][axis] for t in tried})
            step = start[1] / start[0] if start[0] > 0 else 2.0
            low, high = grid.bounds.get(axis, (0.0, float("inf")))
            for edge, moved in ((values[-1], values[-1] * step), (values[0], values[0] / step)):
                if best[axis] != edge:
                    continue
                value: float = round(moved) if axis in grid.integer else float(f"{moved:.3g}")
                if low <= value <= high and value != edge:
                    point = {**best, axis: value}
                    if point not in seen and point not in new:
                        new.append(point)
    return new


# --speed: (recforge model, its parameters, implicit algorithm, the same parameters in its names)
SPEED_CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("ials", {"factors": 64, "iterations": 15, "reg": 0.01, "alpha": 0.0},
     "als", {"factors": 64, "iterations": 15, "regularization": 0.01, "alpha": 1.0}),
    ("itemknn", {"similarity": "cosine", "neighbors": 20}, "cosine", {"K": 20}),
    ("bpr", {"factors": 64, "epochs": 100, "lr": 0.01, "reg": 0.01},
     "bpr", {"factors": 64, "iterations": 100, "learning_rate": 0.01, "regularization": 0.01}),
]  # fmt: skip
SPEED_SYNTHETIC: dict[str, Any] = {
    "n_users": 30_000,
    "n_items": 10_000,
    "n_interactions": 1_000_000,
}


def speed(repeats: int, tmp: Path, models: list[str]) -> dict[str, Any]:
    """Fit seconds of the SPEED_CASES pairs of `models` on each data set (see the module
    docstring), each case stamped with when it was measured."""
    sets = {
        "ml-100k": implicit_feedback(),
        "synthetic 10k items": synthetic_interactions(**SPEED_SYNTHETIC, seed=0),
    }
    out: dict[str, Any] = {"repeats": repeats, "synthetic": SPEED_SYNTHETIC, "sets": {}}
    for name, data in sets.items():
        train_file = tmp / "speed-train.tsv"
        write_pairs(data, train_file)
        users = [str(u) for u in data.user_ids.to_raw(np.arange(10))]  # lists are not scored
        cases: dict[str, Any] = {}
        for model, mine, algorithm, theirs_params in SPEED_CASES:
            if model not in models:
                continue
            get(model, seed=0, **mine).fit(data)  # untimed: loads the kernels for these dtypes
            runs = []
            for _ in range(repeats):
                fitted = get(model, seed=0, **mine)
                start = time.perf_counter()
                fitted.fit(data)
                runs.append(time.perf_counter() - start)
            _, peer_seconds = theirs(
                algorithm, {**theirs_params, "repeat": repeats}, train_file, users, tmp
            )
            ours_seconds = float(np.median(runs))
            cases[model] = {
                "peer_algorithm": algorithm,
                "recforge_params": mine,
                "peer_params": theirs_params,
                "recforge_seconds": ours_seconds,
                "peer_seconds": peer_seconds,
                "ratio": ours_seconds / peer_seconds,
                "recforge_runs": runs,
                "when": machine()["when"],
            }
            print(
                f"[speed {name}] {model:<8} {ours_seconds:.3f} s vs implicit {algorithm:<6} "
                f"{peer_seconds:.3f} s: {ours_seconds / peer_seconds:.2f}x",
                flush=True,
            )
        shape = {"users": data.n_users, "items": data.n_items, "interactions": data.nnz}
        out["sets"][name] = {"shape": shape, "cases": cases}
    return out


SYNTHETIC_SEEDS = 6  # --bpr-strata: fits per value on the 10k-item synthetic set


def bpr_strata(values: list[int], seeds: int) -> dict[str, Any]:
    """BPR's strata chosen on two validation sets: the validation NDCG@10 (mean over seeds) and
    fit seconds (median) of each value on an ML-100K inner split (where at most 14 strata fit
    MIN_GROUP) and on an inner split of the 10k-item synthetic set's training part (where all
    16 do); the largest value within 1% of the best on both is chosen. The synthetic set's
    held-out test part is read once, for the chosen value and for serial SGD (strata=1)."""
    point = read_result("ranking")["bpr"]["best"]["recforge"]
    outer = user_split(synthetic_interactions(**SPEED_SYNTHETIC, seed=0), test=0.2, seed=0)
    ml_inner = user_split(user_split(implicit_feedback(), test=0.2, order="time").train,
                          test=0.2, order="time")  # fmt: skip
    sets = {
        "ml-100k": (ml_inner, seeds),
        "synthetic": (user_split(outer.train, test=0.2, seed=1), SYNTHETIC_SEEDS),
    }
    get("bpr", **point, strata=max(values)).fit(sets["ml-100k"][0].train)  # untimed: kernels

    def fitted(train: Interactions, strata: int, seed: int) -> tuple[Any, float]:
        start = time.perf_counter()
        model = get("bpr", **point, strata=strata, seed=seed).fit(train)
        return model, time.perf_counter() - start

    rows = []
    for strata in values:
        row: dict[str, Any] = {"strata": strata}
        for name, (split, n_seeds) in sets.items():
            runs = []
            for seed in range(n_seeds):
                model, seconds = fitted(split.train, strata, seed)
                runs.append((scored(model, split.test, split.train)["ndcg@10"], seconds))
            row[f"{name}_ndcg@10"] = float(np.mean([r[0] for r in runs]))
            row[f"{name}_ndcg@10_per_seed"] = [r[0] for r in runs]
            row[f"{name}_fit_seconds"] = float(np.median([r[1] for r in runs]))
        rows.append(row)
        print(f"bpr strata={strata}: " + "; ".join(
            f"{name} valid NDCG@10 {row[f'{name}_ndcg@10']:.4f}, fit "
            f"{row[f'{name}_fit_seconds']:.2f} s" for name in sets), flush=True)  # fmt: skip
    best = {name: max(r[f"{name}_ndcg@10"] for r in rows) for name in sets}
    chosen = max(r["strata"] for r in rows
                 if all(r[f"{name}_ndcg@10"] >= 0.99 * best[name] for name in sets))  # fmt: skip
    check = []
    for strata in sorted({1, chosen}):
        scores = []
        for seed in range(SYNTHETIC_SEEDS):
            model, seconds = fitted(outer.train, strata, seed)
            scores.append((scored(model, outer.test, outer.train)["ndcg@10"], seconds))
        check.append({"strata": strata, "ndcg@10": float(np.mean([c[0] for c in scores])),
                      "ndcg@10_per_seed": [c[0] for c in scores],
                      "fit_seconds": float(np.median([c[1] for c in scores]))})  # fmt: skip
        print(
            f"bpr strata={strata} on the synthetic test part: NDCG@10 "
            f"{check[-1]['ndcg@10']:.4f}, fit {check[-1]['fit_seconds']:.1f} s",
            flush=True,
        )
    return {"machine": machine(), "params": point, "valid": {
        "ml-100k": "ML-100K inner split (latest 20% of the outer training part per user), "
                   f"{seeds} seeds",
        "synthetic": "user_split(test=0.2, seed=1) of the training part of user_split(test=0.2, "
                     f"seed=0) of SPEED_SYNTHETIC, {SYNTHETIC_SEEDS} seeds"},
        "rule": "the largest value within 1% of the best validation NDCG@10 on both sets (more "
                "strata fit faster where the data outgrows the cache)",
        "chosen": chosen, "test": "the held-out part of user_split(test=0.2, seed=0) of "
        f"SPEED_SYNTHETIC, read once for the chosen value and serial SGD, the mean of "
        f"{SYNTHETIC_SEEDS} seeds", "rows": rows, "check": check}  # fmt: skip


# --rated: ranking models at their defaults, the rating models beside them, and the choices
# made on valid (the synthetic set: benchmarks/_common.py)
RATED_RANKERS = ["itemknn", "userknn", "ease", "ials", "bpr", "puresvd", "popularity"]
RATING_MODELS = [
    "bias", "svd", "svdpp", "nmf", "als", "pmf", "bpmf", "deeprating", "iautorec", "uautorec",
]  # fmt: skip
# the neighbour count of the KNN rankings: chosen on held-out training items ("auto", the
# default) or fixed (200, the default before "auto")
NEIGHBOR_COUNTS: list[int | str] = ["auto", 200]
THRESHOLD_MODELS = ["itemknn", "ease", "ials"]
THRESHOLDS: list[float | None] = [None, 3.0, 4.0]


def implicit_feedback() -> Interactions:
    ratings = load_movielens("ml-100k").interactions
    users, items, _ = ratings.coo()
    raw_u, raw_i = ratings.user_ids.to_raw(users), ratings.item_ids.to_raw(items)
    return Interactions.from_arrays(raw_u, raw_i, None, ratings.timestamps)


def write_pairs(part: Interactions, path: Path) -> None:
    """user<TAB>item[<TAB>value] lines in raw ids (the value for ratings)."""
    users, items, values = part.coo()
    raw_u, raw_i = part.user_ids.to_raw(users), part.item_ids.to_raw(items)
    if part.explicit:
        rows = zip(raw_u, raw_i, values, strict=True)
        path.write_text("".join(f"{u}\t{i}\t{v:g}\n" for u, i, v in rows))
    else:
        path.write_text("".join(f"{u}\t{i}\n" for u, i in zip(raw_u, raw_i, strict=True)))


def test_users(part: Interactions) -> list[str]:
    users = part.user_ids.to_raw(part.matrix.nonzero()[0])
    return sorted({str(u) for u in users})


def ours(
    name: str, params: dict[str, Any], train: Interactions, users: list[str], seed: int = 0
) -> tuple[dict[str, list[str]], float]:
    model = get(name, seed=seed, **params)
    start = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - start
    return raw_lists(model, train, users), seconds


def theirs(
    algorithm: str, params: dict[str, Any], train_file: Path, users: list[str], tmp: Path
) -> tuple[dict[str, list[str]], float]:
    users_file, out = tmp / "users.txt", tmp / "peer-recs.tsv"
    users_file.write_text("\n".join(users) + "\n")
    files = [str(train_file), str(users_file), str(out), str(K)]
    if algorithm == "recbole-ease":
        command = [str(HERE / "peers" / "recbole_ease.py"), str(params["reg_weight"]), *files]
    else:
        command = [str(HERE / "peers" / "implicit_rank.py"), algorithm, json.dumps(params), *files]
    # implicit asks for a single-threaded BLAS (its own threads do the work)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(peer_python()), *command], capture_output=True, text=True, check=True, env=env
    )
    return read_recommendations(out), float(json.loads(done.stdout.splitlines()[-1])["fit_seconds"])


def ndcg(lists: dict[str, list[str]], test: Interactions, train: Interactions) -> float:
    result = evaluate_recommendations(lists, test, train=train, k=[10], metrics=["ndcg"])
    return float(result.as_dict()["ndcg@10"])


def scored(model: Any, test: Interactions, train: Interactions) -> dict[str, float]:
    """NDCG@10 and recall@20 of a fitted model (train masked), RMSE for rating models."""
    metrics = ["ndcg", "recall"] + (["rmse"] if model.predicts_ratings else [])
    values = evaluate(model, test, train=train, k=[10, 20], metrics=metrics).as_dict()
    out = {"ndcg@10": values["ndcg@10"], "recall@20": values["recall@20"]}
    if "rmse" in values:
        out["rmse"] = values["rmse"]
    return out


def raw_lists(
    model: Any, train: Interactions, users: list[str], k: int = K
) -> dict[str, list[str]]:
    """A fitted model's top-k lists in raw ids for the raw `users`, training items excluded."""
    ids, _ = model.recommend(train.user_ids.to_index(users), k=k)
    raw = train.item_ids.to_raw(ids.clip(0))
    return {u: [str(i) for i, j in zip(row, ids_row, strict=True) if j >= 0]
            for u, row, ids_row in zip(users, raw, ids, strict=True)}  # fmt: skip


def ndcg_per_user(lists: dict[str, list[str]], test: Interactions, k: int = 10) -> np.ndarray:
    """NDCG@k of each test user (sorted raw ids; a user without a list scores 0), binary
    relevance: the figure whose mean `ndcg` reports, kept per user for paired comparisons."""
    users, items, _ = test.coo()
    relevant: dict[str, set[str]] = {}
    for u, i in zip(test.user_ids.to_raw(users), test.item_ids.to_raw(items), strict=True):
        relevant.setdefault(str(u), set()).add(str(i))
    gains = 1.0 / np.log2(np.arange(k) + 2.0)
    out = []
    for user in sorted(relevant):
        hits = [item in relevant[user] for item in lists.get(user, [])[:k]]
        dcg = float(np.sum(gains[: len(hits)][np.array(hits, dtype=bool)]))
        out.append(dcg / float(gains[: min(k, len(relevant[user]))].sum()))
    return np.array(out)


def paired_difference(ours: np.ndarray, theirs: np.ndarray, draws: int = 2000) -> dict[str, Any]:
    """Mean of ours − theirs over the same users, with a 95% paired-bootstrap interval."""
    diff = ours - theirs
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, diff.size, (draws, diff.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return {"mean": float(diff.mean()), "ci95": [float(low), float(high)], "users": diff.size}


def rated(dataset: str, tmp: Path) -> dict[str, Any]:
    """The --rated protocol on one data set (see the module docstring)."""
    data = rated_dataset(dataset)
    parts = user_split(data, test=0.1, valid=0.1, order="time")
    assert parts.valid is not None
    train, valid, test = parts.train, parts.valid, parts.test
    seen = parts.train_valid()
    print(f"[{dataset}] {data.n_users} users × {data.n_items} items, {data.nnz:,} ratings")
    # choices, on valid
    choices: dict[str, Any] = {"itemknn_ranking": {}, "neighbors": {}, "min_rating": {}}
    for ranking in ("sum", "predicted"):
        model = get("itemknn", ranking=ranking).fit(train)
        choices["itemknn_ranking"][ranking] = scored(model, valid, train)["ndcg@10"]
    for name in ("itemknn", "userknn"):
        by_count = {}
        for neighbors in NEIGHBOR_COUNTS:
            model = get(name, neighbors=neighbors).fit(train)
            by_count[str(neighbors)] = scored(model, valid, train)["ndcg@10"]
            if neighbors == "auto":
                by_count["auto chose"] = model.neighbors_
        choices["neighbors"][name] = by_count
    for name in THRESHOLD_MODELS:
        by_threshold = {}
        for threshold in THRESHOLDS:
            model = get(name, seed=0).fit(train, min_rating=threshold)
            by_threshold[str(threshold)] = scored(model, valid, train)["ndcg@10"]
        choices["min_rating"][name] = by_threshold
    print(f"[{dataset}] valid NDCG@10: {json.dumps(choices)}")
    # test, read once: every model at its defaults on train + valid
    models: dict[str, Any] = {}
    users = test_users(test)
    knn_lists: dict[str, list[str]] = {}
    for name in RATED_RANKERS + RATING_MODELS:
        model = get(name, seed=0)
        start = time.perf_counter()
        model.fit(seen)
        seconds = time.perf_counter() - start
        figures = scored(model, test, seen)
        models[name] = {
            **figures,
            "fit_seconds": seconds,
            "ranks_by_predicted_rating": model.ranks_by_predicted_rating(),
        }
        if hasattr(model, "neighbors_"):
            models[name]["neighbors_chosen"] = model.neighbors_
        if name == "itemknn":
            knn_lists = raw_lists(model, seen, users)
        rmse = f"   RMSE {figures['rmse']:.4f}" if "rmse" in figures else ""
        print(f"[{dataset}] {name:<11} NDCG@10 {figures['ndcg@10']:.4f}{rmse}   {seconds:.1f} s")
    seen_file = tmp / f"{dataset}-seen.tsv"
    write_pairs(seen, seen_file)
    knn_per_user = ndcg_per_user(knn_lists, test)
    peer: dict[str, Any] = {}
    for values in ("binary", "ratings"):
        lists, seconds = theirs("cosine", {"values": values}, seen_file, users, tmp)
        versus = paired_difference(knn_per_user, ndcg_per_user(lists, test))
        peer[values] = {
            "ndcg@10": ndcg(lists, test, seen),
            "fit_seconds": seconds,
            "itemknn_minus_peer": versus,
        }
        low, high = versus["ci95"]
        print(
            f"[{dataset}] implicit CosineRecommender(K=20) on {values}: NDCG@10 "
            f"{peer[values]['ndcg@10']:.4f}; itemknn − it {versus['mean']:+.4f} "
            f"(95% paired bootstrap {low:+.4f} … {high:+.4f})"
        )
    return {
        "shape": {"users": data.n_users, "items": data.n_items, "ratings": data.nnz},
        "synthetic": None if dataset == "ml-100k" else SYNTHETIC_RATED,
        "valid_choices": choices,
        "test": models,
        "peer": {"algorithm": "implicit CosineRecommender, defaults (K=20)", **peer},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=",".join(GRIDS), help="comma-separated")
    parser.add_argument(
        "--seeds", type=int, default=5, help="final fits per side (random models), averaged"
    )
    parser.add_argument(
        "--rated", action="store_true", help="top-N from rating data (module docstring)"
    )
    parser.add_argument(
        "--speed", action="store_true", help="fit times at equal parameters (module docstring)"
    )
    parser.add_argument("--speed-repeats", type=int, default=5, help="fits a side (--speed)")
    parser.add_argument(
        "--speed-models",
        default=",".join(case[0] for case in SPEED_CASES),
        help="--speed: the cases to (re)time; the others keep their recorded figures",
    )
    parser.add_argument("--bpr-strata", default="", help="choose BPR's strata (docstring)")
    args = parser.parse_args()
    if args.bpr_strata:
        found = bpr_strata([int(v) for v in args.bpr_strata.split(",")], args.seeds)
        path = write_result("ranking", {**read_result("ranking"), "bpr_strata": found})
        print(f"wrote {path}")
        return
    if args.speed:
        models = args.speed_models.split(",")
        with tempfile.TemporaryDirectory() as name:
            found = speed(max(1, args.speed_repeats), Path(name), models)
        before = read_result("ranking").get("speed", {}).get("sets", {})
        for set_name, part in found["sets"].items():  # cases not re-run keep their figures
            kept = {m: c for m, c in before.get(set_name, {}).get("cases", {}).items()
                    if m not in models}  # fmt: skip
            part["cases"] = {**kept, **part["cases"]}
        found = {"machine": machine(), **found}
        path = write_result("ranking", {**read_result("ranking"), "speed": found})
        print(f"wrote {path}")
        return
    if args.rated:
        with tempfile.TemporaryDirectory() as name:
            found = {d: rated(d, Path(name)) for d in ("ml-100k", "synthetic")}
        previous = read_result("ranking")
        path = write_result(
            "ranking",
            {
                **previous,  # the other pairs keep their figures and their machine record
                "rated": {
                    "machine": machine(),
                    "split": "per-user chronological 80/10/10; fit on train + valid, test once",
                    **found,
                },
            },
        )
        print(f"wrote {path}")
        return
    data = implicit_feedback()
    outer = user_split(data, test=0.2, order="time")
    inner = user_split(outer.train, test=0.2, order="time")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        fit_file, train_file = tmp / "fit.tsv", tmp / "train.tsv"
        write_pairs(inner.train, fit_file)
        write_pairs(outer.train, train_file)
        valid_users, final_users = test_users(inner.test), test_users(outer.test)
        for pair in [p.strip() for p in args.pairs.split(",") if p.strip()]:
            grid = GRIDS[pair]
            model, algorithm = grid.model, grid.peer
            tuning: list[dict[str, Any]] = []
            todo, rounds = points_of(grid), 0
            while todo:
                for point in todo:
                    mine, peer = grid.params(point)
                    lists, _ = ours(model, mine, inner.train, valid_users)
                    peer_lists, _ = theirs(algorithm, peer, fit_file, valid_users, tmp)
                    tuning.append(
                        {
                            "point": point,
                            "extension_round": rounds,
                            "recforge": mine,
                            "peer": peer,
                            "recforge_valid_ndcg": ndcg(lists, inner.test, inner.train),
                            "peer_valid_ndcg": ndcg(peer_lists, inner.test, inner.train),
                        }
                    )
                rounds += 1
                todo = extend(grid, tuning) if rounds <= EXTENSION_ROUNDS else []
                if todo:
                    print(f"{pair}: a best point is on the grid's edge; trying {todo}", flush=True)
            best_mine = max(tuning, key=lambda t: t["recforge_valid_ndcg"])["recforge"]
            best_peer = max(tuning, key=lambda t: t["peer_valid_ndcg"])["peer"]
            stochastic = algorithm in ("als", "bpr")
            seeds = range(args.seeds if stochastic else 1)
            ours_runs, peer_runs = [], []
            for seed in seeds:
                lists, seconds = ours(model, best_mine, outer.train, final_users, seed)
                peer_params = {**best_peer, "random_state": seed} if stochastic else best_peer
                peer_lists, peer_seconds = theirs(
                    algorithm, peer_params, train_file, final_users, tmp
                )
                ours_runs.append((ndcg(lists, outer.test, outer.train), seconds))
                peer_runs.append((ndcg(peer_lists, outer.test, outer.train), peer_seconds))
            ours_ndcg = float(np.mean([r[0] for r in ours_runs]))
            peer_ndcg = float(np.mean([r[0] for r in peer_runs]))
            seconds = float(np.median([r[1] for r in ours_runs]))
            peer_seconds = float(np.median([r[1] for r in peer_runs]))
            same_work = {}
            if pair == "ials":  # time also at equal iteration counts, on recforge's best point
                point = max(tuning, key=lambda t: t["recforge_valid_ndcg"])["point"]
                for n in (15, 30):
                    mine, peer = grid.params({**point, "iterations": n})
                    times = [
                        (ours(model, mine, outer.train, final_users)[1],
                         theirs(algorithm, peer, train_file, final_users, tmp)[1])
                        for _ in range(3)
                    ]  # fmt: skip
                    same_work[str(n)] = {
                        "recforge": float(np.median([t[0] for t in times])),
                        "peer": float(np.median([t[1] for t in times])),
                    }
                print(f"ials vs als fit seconds at equal iterations: {same_work}")
            results[pair] = {
                "peer_algorithm": algorithm,
                "best": {"recforge": best_mine, "peer": best_peer},
                "test_ndcg@10": {"recforge": ours_ndcg, "peer": peer_ndcg},
                "test_ndcg@10_per_seed": {
                    "recforge": [r[0] for r in ours_runs],
                    "peer": [r[0] for r in peer_runs],
                },
                "fit_seconds": {"recforge": seconds, "peer": peer_seconds},
                **({"fit_seconds_at_iterations": same_work} if same_work else {}),
                "tuning": tuning,
            }
            print(
                f"{pair:<8} vs {algorithm:<13} NDCG@10 {ours_ndcg:.4f} vs {peer_ndcg:.4f}"
                f" (mean of {len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
                f"   fit {seconds:.2f} s vs {peer_seconds:.2f} s   best {best_mine} / {best_peer}"
            )
    previous = read_result("ranking")
    kept = {pair: previous[pair] for pair in GRIDS if pair in previous and pair not in results}
    for section in ("rated", "speed", "bpr_strata"):
        if section in previous:
            kept[section] = previous[section]
    path = write_result(
        "ranking",
        {
            "dataset": "ml-100k",
            "split": "per-user chronological 80/20, valid 20%",
            **kept,  # a run of some pairs keeps the others' figures
            **results,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
