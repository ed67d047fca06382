"""Neural models vs RecBole 1.2.1 on MovieLens 100K, implicit feedback, the same split.

Pairs (recforge model vs RecBole's own class): neumf vs NeuMF, multvae vs MultiVAE, lightgcn vs
LightGCN, torchmf (loss="bpr") vs BPR. Every rating is an interaction; the split is
bench_ranking's: each user's latest 20% are test (outer), the latest 20% of the rest validation
(inner).

Protocol, identical for both sides:
1. select: fit on inner.train with early stopping on inner.test as RecBole ships it: at most 300
   epochs, NDCG@10 (full ranking, training items excluded) after every epoch, stop when the
   11th epoch in a row fails to improve (RecBole's stopping_step=10; recforge's patience=11),
   the best epoch's weights restored. (RecBole rounds the metric to 4 places and counts a tie as
   an improvement; recforge compares exactly.)
2. refit: train afresh on outer.train for exactly the best epoch count of step 1 (no
   validation), then rank for every test user with the outer.train items excluded.
Refitting rather than scoring the step-1 model uses the validation slice's interactions (the
users' most recent before test) for the final model, as bench_ranking does for the classical
models, so the NDCG@10 here can be read beside results/ranking.json. Each side uses its own best
epoch; model hyper-parameters are each library's defaults unless RECFORGE_PARAMS / PEER_PARAMS
say otherwise. Both sides' top-10 lists are scored by the same code
(recforge.evaluation.evaluate_recommendations), for validation and test alike; each library's
own best validation NDCG@10 (RecBole's rounded to 4 places, as it reports it) is kept beside as
"library_valid_ndcg@10", a check of the id mapping and seen-item filtering of both sides.

Seconds: "select_seconds" is the whole early-stopped fit, validation passes included (RecBole's
trainer.fit incl. its checkpoint writes; recforge's model.fit); "refit_seconds" the fixed-epoch
refit. samples_per_s: training examples an epoch (positive interactions; MultiVAE: user rows)
over the mean training time of an epoch, validation excluded. The throughput section trains
recforge neumf and twotower (and RecBole NeuMF, the only RecBole equivalent) for a few epochs on
outer.train and reports the same figure. Both sides use --threads torch threads (default: every
core); RecBole runs in benchmarks/.peer-venv, whose torch is the CPU build, so --device cuda
moves the recforge side only (the peer's JSON records the device it used).

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_neural.py \
        [--models neumf,multvae,lightgcn,torchmf] [--peers-only | --ours-only] \
        [--device cpu] [--threads N] [--seeds 0,1,2] [--params JSON | --grid] [--no-throughput]
--grid gives both sides the same search (GRID_AXES: learning rate, regularisation, embedding
size) on the inner split, each choosing by its own early-stopped validation NDCG@10, then runs
the protocol at its best point (records "recforge grid" and "peer grid", beside the defaults').
--tune multvae chooses Mult-VAE's defaults on the inner split alone (TUNE_GRIDS, the library's
own fixed-epoch training). With several seeds each side runs the whole protocol once per seed
(its model's seed and, for RecBole, its config seed) and the record keeps the means beside each
run.
    (--models "" runs the throughput section alone)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import RESULTS, grid_search, over_seeds, read_result, write_result
from bench_ranking import implicit_feedback, ndcg, raw_lists, test_users, write_pairs
from peers import HERE, peer_python
from recforge.data import Interactions, user_split
from recforge.models import available, get

K = 10  # list length written by both sides
SEEDS = "0"  # default --seeds

# recforge model and RecBole model class of each pair
PAIRS: dict[str, tuple[str, str]] = {
    "neumf": ("neumf", "NeuMF"),
    "multvae": ("multvae", "MultiVAE"),
    "lightgcn": ("lightgcn", "LightGCN"),
    "torchmf": ("torchmf", "BPR"),
}
# recforge parameters per pair (beyond STOPPING); {} = the model's defaults
# neumf: RecBole NeuMF's shape (64-d embeddings, MLP 128 → 128 → 64, dropout 0.1) with the paper's
# 4 negatives and lr 0.002: of five settings tried (issue 4's notes list them), the best NDCG@10 on
# the inner validation split; recforge's own defaults are the paper's smaller network.
RECFORGE_PARAMS: dict[str, dict[str, Any]] = {
    "neumf": {
        "factors": 64,
        "layers": [128, 128, 64],
        "dropout": 0.1,
        "negatives": 4,
        "lr": 0.002,
    },
    # a constant rate: the default cosine schedule spans `epochs`, so the early-stopped run (300)
    # and the refit (the best epoch count) would follow different schedules
    "multvae": {"lr_schedule": "constant"},
    "lightgcn": {},
    "torchmf": {"loss": "bpr"},
}
# RecBole config overrides per pair; {} = RecBole's defaults for the model
PEER_PARAMS: dict[str, dict[str, Any]] = {name: {} for name in PAIRS}
# RecBole's early stopping as shipped, in recforge's terms (see the module docstring)
STOPPING: dict[str, Any] = {"epochs": 300, "patience": 11, "valid_metric": "ndcg@10"}
# throughput section: recforge models (and parameters), their RecBole equivalent if any. neumf
# takes RecBole NeuMF's default shape and work per step (64-d GMF, 64-d MLP embeddings into
# 128 → 64, dropout 0.1, one negative per positive, 2048 rows = 1024 positives a batch), so
# positives per second compare like for like; twotower keeps its defaults.
THROUGHPUT: dict[str, tuple[dict[str, Any], str | None]] = {
    "neumf": (
        {
            "factors": 64,
            "layers": [128, 128, 64],
            "dropout": 0.1,
            "negatives": 1,
            "batch_size": 1024,
        },
        "NeuMF",
    ),
    "twotower": ({}, None),
}
THROUGHPUT_EPOCHS = 5
# --grid: the same search space for both sides (learning rate, regularisation, embedding size),
# chosen on the inner split by each side's own early-stopped validation NDCG@10
GRID_AXES: dict[str, dict[str, list[Any]]] = {
    "torchmf": {"lr": [1e-3, 5e-3], "reg": [0.0, 1e-4], "embedding": [64, 128]},
    "neumf": {"lr": [1e-3, 5e-3], "reg": [0.0, 1e-5], "embedding": [32, 64]},
    "multvae": {"lr": [1e-3, 3e-3], "reg": [0.3, 0.5], "embedding": [128, 200]},
    "lightgcn": {"lr": [1e-3, 1e-2], "reg": [1e-5, 1e-4], "embedding": [32, 64]},
}
# what each axis is called on each side: (recforge parameters, RecBole config keys); "reg" is
# weight decay for torchmf / BPR and NeuMF, dropout for Mult-VAE, the embedding L2 for LightGCN
GRID_NAMES: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "torchmf": {"lr": (["lr"], ["learning_rate"]), "reg": (["weight_decay"], ["weight_decay"]),
                "embedding": (["factors"], ["embedding_size"])},
    "neumf": {"lr": (["lr"], ["learning_rate"]), "reg": (["weight_decay"], ["weight_decay"]),
              "embedding": (["factors"], ["mf_embedding_size", "mlp_embedding_size"])},
    "multvae": {"lr": (["lr"], ["learning_rate"]), "reg": (["dropout"], ["dropout_prob"]),
                "embedding": (["latent"], ["latent_dimension"])},
    "lightgcn": {"lr": (["lr"], ["learning_rate"]), "reg": (["reg"], ["reg_weight"]),
                 "embedding": (["factors"], ["embedding_size"])},
}  # fmt: skip


# --tune MODEL: the library defaults' own training (fixed epochs, no early stopping) over this
# grid, fit on inner.train and scored on inner.test: what validation picks as the defaults
TUNE_GRIDS: dict[str, dict[str, list[Any]]] = {
    "multvae": {
        "lr": [1e-3, 2e-3, 5e-3],
        "dropout": [0.3, 0.5],
        "anneal_cap": [0.1, 0.2, 0.4],
        "epochs": [50, 100],
    },
}


def tune_defaults(name: str, inner: Any, device: str) -> dict[str, Any]:
    """Validation NDCG@10 of each TUNE_GRIDS point (no test part is read) and the best. Where
    the best lies on an axis's edge, that axis is extended one step outward (the ratio of its
    first two values) from the best point, for up to EXTENSION_ROUNDS rounds."""
    from recforge.evaluation import evaluate

    axes = TUNE_GRIDS[name]

    def score(point: dict[str, Any]) -> float:
        model = get(name, seed=0, device=device, progress=False, **point).fit(inner.train)
        found = evaluate(model, inner.test, train=inner.train, k=[10], metrics=["ndcg"])
        value = float(found.as_dict()["ndcg@10"])
        print(f"tune {name} {point}: valid NDCG@10 {value:.4f}", flush=True)
        return value

    tried = grid_search(axes, score, EXTENSION_ROUNDS, {"dropout": 0.05}, key="valid_ndcg@10")
    best = max(tried, key=lambda t: t["valid_ndcg@10"])
    defaults = get(name).get_params()
    return {"valid": "inner split (the latest 20% of outer.train per user)", "grid": tried,
            "chosen": best["params"], "defaults": {k: defaults[k] for k in axes}}  # fmt: skip


EXTENSION_ROUNDS = 3


def grid_points(pair: str) -> list[dict[str, Any]]:
    axes = GRID_AXES[pair]
    names = list(axes)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(axes[n] for n in names))]  # fmt: skip


def side_params(pair: str, side: str, point: dict[str, Any]) -> dict[str, Any]:
    """A grid point in one side's parameter names."""
    out: dict[str, Any] = {}
    for axis, value in point.items():
        mine, theirs_ = GRID_NAMES[pair][axis]
        for key in mine if side == "recforge" else theirs_:
            out[key] = value
    return out


def speed(epochs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean training seconds of an epoch and examples per second over it."""
    if not epochs:
        return {"epoch_seconds": None, "samples_per_s": None}
    examples = round(epochs[0]["samples_per_s"] * epochs[0]["seconds"])
    mean = float(np.mean([e["seconds"] for e in epochs]))
    return {"epoch_seconds": mean, "samples_per_s": examples / mean, "train_examples": examples}


def ours(
    name: str,
    params: dict[str, Any],
    train: Interactions,
    valid: Interactions | None,
    users: list[str],
    device: str,
    seed: int,
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    model = get(name, seed=seed, device=device, progress=False, **params)
    start = time.perf_counter()
    model.fit(train, valid)
    seconds = time.perf_counter() - start
    history = model.training_history_
    facts = {
        "seconds": seconds,
        "epochs": len(history.epochs),
        "best_epoch": history.best_epoch,
        "best_valid_ndcg@10": history.best_value,
        "valid_curve": [e[STOPPING["valid_metric"]] for e in history.epochs if valid is not None],
        **speed(history.epochs),
    }
    return (raw_lists(model, train, users, K) if users else {}), facts


def theirs(
    model: str,
    params: dict[str, Any],
    train_file: Path,
    valid_file: Path | None,
    users: list[str],
    tmp: Path,
    args: argparse.Namespace,
    seed: int,
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    from recforge.evaluation import read_recommendations

    users_file, out = tmp / "users.txt", tmp / "peer-recs.tsv"
    users_file.write_text("\n".join(users) + "\n")
    command = [
        str(peer_python()),
        str(HERE / "peers" / "recbole_neural.py"),
        model,
        str(train_file),
        "-" if valid_file is None else str(valid_file),
        str(users_file),
        str(out),
        str(K),
        "--params",
        json.dumps(params),
        "--seed",
        str(seed),
        "--device",
        args.device,
        "--threads",
        str(args.threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"RecBole {model} failed:\n{done.stderr[-4000:]}")
    facts = json.loads(done.stdout.splitlines()[-1])
    facts["seconds"] = facts.pop("train_seconds")
    return (read_recommendations(out) if users else {}), facts


def ours_params(pair: str, args: argparse.Namespace) -> dict[str, Any]:
    """recforge's parameters for a pair: RECFORGE_PARAMS with this run's --params over them."""
    return {**RECFORGE_PARAMS[pair], **args.params.get(pair, {})}


def record_key(pair: str, side: str, args: argparse.Namespace) -> str:
    """Where a record is kept: "recforge" / "peer", or for a recforge run with --params for the
    pair "recforge <those params>", beside (not over) the run with the usual parameters."""
    if side == "recforge" and args.params.get(pair):
        return f"recforge {json.dumps(args.params[pair], sort_keys=True)}"
    return side


def run_pair(
    pair: str,
    side: str,
    data: dict[str, Any],
    tmp: Path,
    args: argparse.Namespace,
    seed: int,
    extra: dict[str, Any] | None = None,
    select_only: bool = False,
) -> dict[str, Any]:
    """Select (early stopping on the inner split), then refit on outer.train; one side.
    extra: this side's parameters over its usual ones (a --grid point); select_only: stop
    after the selection (its validation figures only)."""
    inner, outer = data["inner"], data["outer"]
    mine, peer = PAIRS[pair]
    extra = extra or {}

    def fit(train: Interactions, valid: Interactions | None, users: list[str], epochs: int | None):
        if side == "recforge":
            params = {**STOPPING, **ours_params(pair, args), **extra}
            if epochs is not None:
                params["epochs"] = epochs
            return ours(mine, params, train, valid, users, args.device, seed)
        overrides = {**PEER_PARAMS[pair], **extra}
        if epochs is not None:
            overrides["epochs"] = epochs
        train_file = data["fit_file"] if valid is not None else data["train_file"]
        valid_file = data["valid_file"] if valid is not None else None
        return theirs(peer, overrides, train_file, valid_file, users, tmp, args, seed)

    lists, select = fit(inner.train, inner.test, data["valid_users"], None)
    select["valid_ndcg@10"] = ndcg(lists, inner.test, inner.train)
    best = select["best_epoch"] or select["epochs"]
    if select_only:
        return {"valid_ndcg@10": select["valid_ndcg@10"], "best_epoch": best,
                "select_seconds": select["seconds"]}  # fmt: skip
    lists, refit = fit(outer.train, None, data["final_users"], best)
    return {
        "model": mine if side == "recforge" else peer,
        "params": {**STOPPING, **ours_params(pair, args), **extra}
        if side == "recforge"
        else {**PEER_PARAMS[pair], **extra},
        "test_ndcg@10": ndcg(lists, outer.test, outer.train),
        "valid_ndcg@10": select.pop("valid_ndcg@10"),
        "library_valid_ndcg@10": select.pop("best_valid_ndcg@10"),
        "best_epoch": select["best_epoch"],
        "epochs_run": select["epochs"],
        "valid_curve": [round(v, 4) for v in select["valid_curve"]],
        "select_seconds": select["seconds"],
        "refit_seconds": refit["seconds"],
        "refit_epochs": refit["epochs"],
        "samples_per_s": refit["samples_per_s"],
        "epoch_seconds": refit["epoch_seconds"],
        "device": select.get("device", args.device),
        "threads": args.threads,
        "seed": seed,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def throughput(
    name: str, side: str, data: dict[str, Any], tmp: Path, args: argparse.Namespace
) -> dict[str, Any]:
    params, peer = THROUGHPUT[name]
    fixed = {"epochs": THROUGHPUT_EPOCHS}
    seed = args.seeds[0]
    if side == "recforge":
        train = data["outer"].train
        _, facts = ours(name, {**params, **fixed}, train, None, [], args.device, seed)
    else:
        assert peer is not None
        _, facts = theirs(peer, fixed, data["train_file"], None, [], tmp, args, seed)
    return {
        "model": name if side == "recforge" else peer,
        "params": params if side == "recforge" else {},
        "epochs": facts["epochs"],
        "samples_per_s": facts["samples_per_s"],
        "epoch_seconds": facts["epoch_seconds"],
        "device": facts.get("device", args.device),
        "threads": args.threads,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def show(name: str, sides: dict[str, Any], key: str, fmt: str) -> str:
    ours_v, peer_v = sides.get("recforge", {}).get(key), sides.get("peer", {}).get(key)
    cell = [format(v, fmt) if v is not None else "-" for v in (ours_v, peer_v)]
    return f"{cell[0]:>9} {cell[1]:>9} {ratio(ours_v, peer_v):>7}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(PAIRS), help="comma-separated pairs")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--peers-only", action="store_true", help="run the RecBole side only")
    only.add_argument("--ours-only", action="store_true", help="run the recforge side only")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (recforge side)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    parser.add_argument("--throughput", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--seeds", default=SEEDS, help="comma-separated seeds; figures are means over them"
    )
    parser.add_argument("--tune", default="", help="choose a model's defaults on validation")
    parser.add_argument(
        "--grid",
        action="store_true",
        help="both sides search GRID_AXES on the inner split; each refits its best point "
        '(records "recforge grid" / "peer grid")',
    )
    parser.add_argument(
        "--params",
        default="{}",
        help='recforge parameters over RECFORGE_PARAMS, per pair: \'{"torchmf": {"lr": 0.02}}\'',
    )
    args = parser.parse_args()
    try:
        args.params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        parser.error(f"--params is not JSON: {exc}")
    if not isinstance(args.params, dict) or not all(
        p in PAIRS and isinstance(v, dict) for p, v in args.params.items()
    ):
        parser.error(f"--params must map pair names ({', '.join(PAIRS)}) to parameter objects")
    try:
        args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if not args.seeds:
        parser.error("--seeds needs at least one seed")
    import torch

    torch.set_num_threads(args.threads)
    pairs = [p.strip() for p in args.models.split(",") if p.strip()]
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown:
        parser.error(f"unknown pair {unknown[0]!r}; pairs: {', '.join(PAIRS)}")
    sides = (
        ["peer"] if args.peers_only else ["recforge"] if args.ours_only else ["recforge", "peer"]
    )
    if args.grid and args.params:
        parser.error("--grid searches the parameters itself; leave --params out")
    full = implicit_feedback()
    outer = user_split(full, test=0.2, order="time")
    inner = user_split(outer.train, test=0.2, order="time")
    if args.tune:
        found = tune_defaults(args.tune, inner, args.device)
        print(f"{args.tune}: validation chooses {found['chosen']} (defaults {found['defaults']})")
        results = read_result("neural")
        results.setdefault("tuning", {})[args.tune] = {**found, "when": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
        write_result("neural", results)
        return
    done: dict[str, dict[str, dict[str, Any]]] = {"pairs": {}, "throughput": {}}

    def save() -> dict[str, Any]:
        """Merge this run's records into results/neural.json (re-read each time, so another run
        writing other pairs or sides meanwhile keeps its figures)."""
        results = read_result("neural")
        results.pop("machine", None)
        results.update(
            {
                "dataset": "ml-100k",
                "split": "per-user chronological 80/20, valid 20% of train",
                "protocol": "select on the inner split by early stopping, refit on outer.train "
                "for the best epoch count, NDCG@10 on outer.test by recforge's evaluator",
            }
        )
        for section, records in done.items():
            kept = results.setdefault(section, {})
            for name_, by_side in records.items():
                kept.setdefault(name_, {}).update(by_side)
        write_result("neural", results)
        return results

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data: dict[str, Any] = {
            "inner": inner,
            "outer": outer,
            "fit_file": tmp / "fit.tsv",
            "valid_file": tmp / "valid.tsv",
            "train_file": tmp / "train.tsv",
            "valid_users": test_users(inner.test),
            "final_users": test_users(outer.test),
        }
        write_pairs(inner.train, data["fit_file"])
        write_pairs(inner.test, data["valid_file"])
        write_pairs(outer.train, data["train_file"])
        for pair in pairs:
            for side in sides:
                if side == "recforge" and PAIRS[pair][0] not in available():
                    print(f"{pair:<9} recforge has no model {PAIRS[pair][0]!r} yet: skipped")
                    continue
                extra: dict[str, Any] = {}
                key = record_key(pair, side, args)
                if args.grid:
                    tried = []
                    for point in grid_points(pair):
                        params = side_params(pair, side, point)
                        seed = args.seeds[0]
                        found = run_pair(pair, side, data, tmp, args, seed, params, True)
                        tried.append({"point": point, **found})
                        print(f"{pair:<9} {side:<8} grid {point}: valid NDCG@10 "
                              f"{found['valid_ndcg@10']:.4f}", flush=True)  # fmt: skip
                    best = max(tried, key=lambda t: t["valid_ndcg@10"])["point"]
                    extra, key = side_params(pair, side, best), f"{side} grid"
                    done.setdefault("grid", {}).setdefault(pair, {})[side] = {
                        "axes": GRID_AXES[pair], "tried": tried, "chosen": best,
                    }  # fmt: skip
                runs = []
                for seed in args.seeds:
                    runs.append(run_pair(pair, side, data, tmp, args, seed, extra))
                    print(f"{pair:<9} {side:<8} seed {seed}: NDCG@10 test "
                          f"{runs[-1]['test_ndcg@10']:.4f}", flush=True)  # fmt: skip
                record = over_seeds(runs, "test_ndcg@10")
                done["pairs"].setdefault(pair, {})[key] = record
                save()
                print(
                    f"{pair:<9} {side:<8} NDCG@10 test {record['test_ndcg@10']:.4f}"
                    f" valid {record['valid_ndcg@10']:.4f}"
                    f" (its own {record['library_valid_ndcg@10']})"
                    f"  best epoch {record['best_epoch']}/{record['epochs_run']}"
                    f"  select {record['select_seconds']:.1f} s"
                    f" refit {record['refit_seconds']:.1f} s"
                    + (f"  (means of seeds {args.seeds})" if len(args.seeds) > 1 else ""),
                    flush=True,
                )
        if args.throughput:
            for name_, (_, peer) in THROUGHPUT.items():
                for side in sides:
                    if side == "peer" and peer is None:
                        continue
                    if side == "recforge" and name_ not in available():
                        print(f"throughput: recforge has no model {name_!r} yet: skipped")
                        continue
                    record = throughput(name_, side, data, tmp, args)
                    done["throughput"].setdefault(name_, {})[side] = record
                    save()
                    print(
                        f"throughput {name_:<9} {side:<8} {record['samples_per_s']:.0f} samples/s",
                        flush=True,
                    )
    results = save()
    print(f"\n{'pair':<9} {'':<14} {'recforge':>9} {'RecBole':>9} {'ratio':>7}")
    for pair, found in results["pairs"].items():
        print(f"{pair:<9} {'NDCG@10 test':<14} {show(pair, found, 'test_ndcg@10', '.4f')}")
        print(f"{'':<9} {'select s':<14} {show(pair, found, 'select_seconds', '.1f')}")
        print(f"{'':<9} {'refit s':<14} {show(pair, found, 'refit_seconds', '.1f')}")
        print(f"{'':<9} {'epochs run':<14} {show(pair, found, 'epochs_run', '.0f')}")
        print(f"{'':<9} {'samples/s':<14} {show(pair, found, 'samples_per_s', '.0f')}")
        for key, variant in found.items():
            if key.startswith("recforge "):
                print(
                    f"{'':<9} {key}: NDCG@10 test {variant['test_ndcg@10']:.4f}, select "
                    f"{variant['select_seconds']:.1f} s, refit {variant['refit_seconds']:.1f} s"
                )
    for name_, found in results["throughput"].items():
        print(f"{name_:<9} {'samples/s':<14} {show(name_, found, 'samples_per_s', '.0f')}")
    print(f"wrote {RESULTS / 'neural.json'}")


if __name__ == "__main__":
    main()
