"""Ranking models vs implicit 0.7.3 and RecBole 1.2.1 (EASE) on MovieLens 100K, implicit
feedback, the same split.

Every rating is an interaction. Each user's latest 20% go to test (per-user chronological
holdout); the latest 20% of the rest form a validation slice for tuning. Both libraries try the
same small grid on (fit part → validation), the best setting is refitted on the whole training
part and scored on test. For the randomised models (iALS, BPR) both sides refit with --seeds
seeds and the mean NDCG is compared, since one seed's luck moves NDCG@10 by about ±0.002.
Both sides' top-100 lists are scored by the same code
(recforge.evaluation.evaluate_recommendations), so the metrics cannot differ in definition.
The peers run in their own virtual environment (benchmarks/.peer-venv).

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ranking.py [--pairs ials,bpr]

--rated runs the protocol of top-N from rating data instead, on ML-100K with its ratings and on
a synthetic rated set of another shape (checked, never tuned on): each user's latest 10% of
ratings are test and the 10% before them valid (per-user chronological 80/10/10). Choices are
made on valid (fit on train, score valid): item-KNN's ranking, and whether ranking models learn
from low ratings (fit's min_rating). Then every model at its defaults is fitted on train +
valid and scored on test once, with train + valid masked, beside implicit's CosineRecommender
at its defaults (K=20) fed 0/1 and fed the ratings. Rating models are in the table too, with
their test RMSE, to show which of them rank well.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_ranking.py --rated
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import SYNTHETIC_RATED, machine, rated_dataset, read_result, write_result
from peers import HERE, peer_python
from recforge.data import Interactions, load_movielens, user_split
from recforge.evaluation import evaluate, evaluate_recommendations, read_recommendations
from recforge.models import get

K = 100  # list length written by both sides

# recforge model, implicit algorithm, and the grid as (recforge params, implicit params) pairs
# that define the same model. implicit's ALS weighs an observed cell by alpha·r where recforge
# (as Hu et al.) uses 1 + alpha·r, so recforge's alpha is implicit's minus 1 on 0/1 data.
GRIDS: dict[str, tuple[str, str, list[tuple[dict[str, Any], dict[str, Any]]]]] = {
    "ials": (
        "ials",
        "als",
        [
            ({"factors": f, "reg": r, "alpha": a - 1.0, "iterations": n},
             {"factors": f, "regularization": r, "alpha": a, "iterations": n})
            for f, r, a, n in itertools.product([32, 64], [0.01, 0.1, 1.0], [1.0, 10.0], [15, 30])
        ],
    ),
    "bpr": (
        "bpr",
        "bpr",
        [
            ({"factors": f, "lr": lr, "reg": r, "epochs": 100},
             {"factors": f, "learning_rate": lr, "regularization": r, "iterations": 100})
            for f, lr, r in itertools.product([32, 64], [0.01, 0.05], [0.001, 0.01])
        ],
    ),
    "itemknn": (
        "itemknn",
        "cosine",
        [({"similarity": "cosine", "neighbors": n}, {"K": n}) for n in [20, 50, 100, 200]],
    ),
    "ease": (
        "ease",
        "recbole-ease",
        [({"reg": r}, {"reg_weight": r}) for r in [100.0, 250.0, 500.0]],
    ),
}  # fmt: skip


# --rated: ranking models at their defaults, the rating models beside them, and the choices
# made on valid (the synthetic set: benchmarks/_common.py)
RATED_RANKERS = ["itemknn", "userknn", "ease", "ials", "bpr", "puresvd", "popularity"]
RATING_MODELS = [
    "bias", "svd", "svdpp", "nmf", "als", "pmf", "bpmf", "deeprating", "iautorec", "uautorec",
]  # fmt: skip
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
    index = train.user_ids.to_index(users)
    ids, _ = model.recommend(index, k=K)
    raw = train.item_ids.to_raw(ids.clip(0))
    lists = {u: [str(i) for i, j in zip(row, ids_row, strict=True) if j >= 0]
             for u, row, ids_row in zip(users, raw, ids, strict=True)}  # fmt: skip
    return lists, seconds


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
    done = subprocess.run(
        [str(peer_python()), *command], capture_output=True, text=True, check=True
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


def raw_lists(model: Any, train: Interactions, users: list[str]) -> dict[str, list[str]]:
    """A fitted model's top-K lists in raw ids for the raw `users`."""
    ids, _ = model.recommend(train.user_ids.to_index(users), k=K)
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
    choices: dict[str, Any] = {"itemknn_ranking": {}, "min_rating": {}}
    for ranking in ("sum", "predicted"):
        model = get("itemknn", ranking=ranking).fit(train)
        choices["itemknn_ranking"][ranking] = scored(model, valid, train)["ndcg@10"]
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
    args = parser.parse_args()
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
            model, algorithm, grid = GRIDS[pair]
            tuning = []
            for mine, peer in grid:
                lists, _ = ours(model, mine, inner.train, valid_users)
                peer_lists, _ = theirs(algorithm, peer, fit_file, valid_users, tmp)
                tuning.append(
                    {
                        "recforge": mine,
                        "peer": peer,
                        "recforge_valid_ndcg": ndcg(lists, inner.test, inner.train),
                        "peer_valid_ndcg": ndcg(peer_lists, inner.test, inner.train),
                    }
                )
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
            results[pair] = {
                "peer_algorithm": algorithm,
                "best": {"recforge": best_mine, "peer": best_peer},
                "test_ndcg@10": {"recforge": ours_ndcg, "peer": peer_ndcg},
                "test_ndcg@10_per_seed": {
                    "recforge": [r[0] for r in ours_runs],
                    "peer": [r[0] for r in peer_runs],
                },
                "fit_seconds": {"recforge": seconds, "peer": peer_seconds},
                "tuning": tuning,
            }
            print(
                f"{pair:<8} vs {algorithm:<13} NDCG@10 {ours_ndcg:.4f} vs {peer_ndcg:.4f}"
                f" (mean of {len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
                f"   fit {seconds:.2f} s vs {peer_seconds:.2f} s   best {best_mine} / {best_peer}"
            )
    previous = read_result("ranking")
    kept = {pair: previous[pair] for pair in GRIDS if pair in previous and pair not in results}
    if "rated" in previous:
        kept["rated"] = previous["rated"]
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
