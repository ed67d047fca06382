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

from _common import read_result, write_result
from peers import HERE, peer_python
from recforge.data import Interactions, load_movielens, user_split
from recforge.evaluation import evaluate_recommendations, read_recommendations
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


def implicit_feedback() -> Interactions:
    ratings = load_movielens("ml-100k").interactions
    users, items, _ = ratings.coo()
    raw_u, raw_i = ratings.user_ids.to_raw(users), ratings.item_ids.to_raw(items)
    return Interactions.from_arrays(raw_u, raw_i, None, ratings.timestamps)


def write_pairs(part: Interactions, path: Path) -> None:
    users, items, _ = part.coo()
    raw_u, raw_i = part.user_ids.to_raw(users), part.item_ids.to_raw(items)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=",".join(GRIDS), help="comma-separated")
    parser.add_argument(
        "--seeds", type=int, default=5, help="final fits per side (random models), averaged"
    )
    args = parser.parse_args()
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
