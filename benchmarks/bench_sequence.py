"""Sequence models vs RecBole 1.2.1 on MovieLens 100K: leave-last-one-out, full ranking.

Pairs (recforge model vs RecBole's own class): sasrec vs SASRec, gru4rec vs GRU4Rec, bert4rec vs
BERT4Rec, caser vs Caser. Every rating is an interaction, with its timestamp.

Split: recforge.data.leave_last_out(data, test=1, valid=1): per user the newest item is test,
the one before it valid, the rest train. Equal timestamps (frequent in ML-100K: a user rates
many films in one second) are ordered by recforge's item index, i.e. by movie id, so among the
newest second the highest movie id is the test item. The peer gets exactly this split, written
as files (each user's train items in that order, the valid and test item), and re-sorts nothing
(benchmarks/peers/recbole_sequence.py; RecBole reads it through benchmark_filename: every prefix
of the train sequences, (train → valid), (train + valid → test)).

Protocol, the same on both sides:
1. fit on train with early stopping on valid: NDCG@10 after every epoch, full ranking over all
   items with the user's train items excluded, at most 300 epochs (RecBole's default), stop
   when the 11th epoch in a row fails to improve (RecBole's stopping_step 10 = recforge's
   patience 11), the best epoch's weights restored. (RecBole rounds the metric to 4 places and
   counts a tie as an improvement; recforge compares exactly. RecBole's sequential full-sort
   evaluation as shipped does not exclude a user's history; the peer script adds the train
   items as its history index so that both stop on the same figure.)
2. test: each user's history is train + valid in time order; every item is ranked but the
   history's (and RecBole's padding item 0); top-10 lists out, one test item per user.
   recforge: the model continues each known user from train + valid (its history buffer
   [n_users, max_len] set to the newest train + valid items, then model.score, i.e. what
   RecBole's full_sort_predict gets: user id and sequence); the same lists come from
   model.recommend_for_history(history, 10) for every model that ignores the user id in its
   state, and those session lists are scored too ("session_*", "same_lists": the share of
   users whose two lists agree; they differ for Caser, whose state adds the user embedding,
   which an anonymous session fits to its own items instead, see recforge.models.caser).
   RecBole: model.full_sort_predict on item_id_list / item_length / user_id of the newest
   train + valid items. Both sides' lists are scored by the same code
   (recforge.evaluation.evaluate_recommendations): HR@10 and NDCG@10, and the count of
   history items recommended (0 on both sides: the check of the seen filtering).
   Valid lists (train history, train items excluded) are scored the same way
   ("valid_ndcg@10"), beside each library's own best valid figure ("library_valid_ndcg@10").
Hyper-parameters are each library's defaults for the model (recforge: the model's own,
including its batch_size, lr and max_len; RecBole: overall.yaml + the model's yaml, CE loss,
train_batch_size 2048, learning_rate 0.001, MAX_ITEM_LIST_LENGTH 50, but 10 for Caser as its
docstring asks, the length recforge's caser reads too) unless RECFORGE_PARAMS / PEER_PARAMS /
--params / --peer-params say otherwise.

Seconds: "train_seconds" is the whole early-stopped fit, validation passes included (recforge:
model.fit, its example building included; RecBole: trainer.fit incl. its checkpoint writes,
its dataset loading not); "epoch_seconds" the mean training part of an epoch. Records also give
"train_cpu_seconds", the fit's CPU time over all its threads (RecBole's: null when a resumed
fit began before the record kept it), and "load_1min", the machine's load average as the fit
ended: a load above --threads, or wall seconds far above CPU seconds / threads, says another
process competed and the wall time is inflated. Both sides use
--threads torch threads (default: every core); the peer venv's torch is the CPU build, so
--device cuda moves the recforge side only.

--resumable: RecBole's SASRec and BERT4Rec train on every prefix of every sequence (about 99,000
examples an epoch; recforge reads each history once, in windows) and take hours on a small
CPU (SASRec: about 280 s an epoch on 2 cores, more epochs than one sitting holds). With this
flag each RecBole fit keeps its state in benchmarks/.peer-state/<model>-<digest>/ after every
epoch (benchmarks/peers/recbole_fit.py: model, optimizer, early-stopping counters and every
random generator), and the same command run again continues it after its last finished epoch
as the uninterrupted fit would have gone on; "train_seconds" then sums the pieces (an epoch
cut short by a stop is not counted) and "sittings" says how many runs it took. The folder is
removed once the fit's lists are scored. The recforge side runs whole each time.

--add-seeds: this run's seeds join the runs already recorded under the same key (same side,
same --params / --peer-params, same --max-epochs) instead of replacing them, a seed run again
replacing its old run, and the record is saved after every seed. So a peer's further seeds can
be fitted one at a time, over several sittings with --resumable, and a finished seed is kept
when a later one is stopped. Runs recorded with other parameters are refused.

--tune MODEL chooses MODEL's defaults on validation alone: each point of TUNE_GRIDS[MODEL] is
fitted on train with seed 0 and the usual early stopping, and scored by its best validation
NDCG@10 (the valid item; no test part is read); where the best lies on the grid's edge, that
axis is extended one step outward (TUNE_ROUNDS times at most). The grid and the chosen point go
to "tuning" in the results, saved after every point ("complete": false until the grid is done);
the same command run again takes the points already recorded under the same --max-epochs,
--device and --threads and fits only the others. The defaults are then set to the chosen point
by hand and the comparison re-run.

--latency: recforge's recommend_for_history for 50-item histories (the newest 50 train + valid
items of each ML-100K user who has that many), on CPU, on a model of each pair trained for
--latency-epochs epochs (latency does not depend on training): --latency-calls timed calls
after LATENCY_WARMUP untimed ones, p50 / p99 / mean in µs; then all the distinct histories in
one recommend_for_histories call ("batched_us_per_history": its time over their number). A
pair's --params apply here too, and such a record is kept beside the default one
("caser {"fold_in": 0}").

--scale: SASRec on synthetic_interactions(138_493, 26_744, --interactions, timestamps=True)
(MovieLens-20M's shape; benchmarks/bench_synthetic.py), one epoch with loss="sampled" (the
softmax over the target and 256 uniformly drawn items: a full softmax over 26,744 items for
every position of every window is far too slow on a CPU), its other parameters the defaults:
epoch seconds (model.training_history_), peak resident memory of the fit (VmHWM, reset after
the data is built) and of the data generation, and on CUDA the peak allocated GPU memory.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_sequence.py \
        [--models sasrec,gru4rec,bert4rec,caser] [--peers-only | --ours-only] [--seeds 0] \
        [--device cpu] [--threads N] [--max-epochs 300] [--params JSON] [--peer-params JSON] \
        [--latency [--latency-epochs 3] [--latency-calls 2000]] \
        [--scale [--interactions 20000000]] [--tune bert4rec] [--compare] [--resumable] \
        [--add-seeds]
With --latency, --scale and/or --tune only those sections run, unless --compare is given too. A
model recforge does not register yet is skipped with a message. Results:
benchmarks/results/sequence.json (merged: a run of some models or sections keeps the others'
figures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _common import (
    RESULTS,
    current_rss_mb,
    grid_search,
    over_seeds,
    peak_rss_mb,
    read_result,
    write_result,
)
from bench_ranking import implicit_feedback
from peers import HERE, peer_python
from recforge.data import Interactions, concat, leave_last_out
from recforge.evaluation import evaluate_recommendations, read_recommendations
from recforge.models import available, get

K = 10  # list length of both sides
SEEDS = "0"  # default --seeds
MAX_EPOCHS = 300  # RecBole's default epochs

# recforge model → RecBole model class
PAIRS: dict[str, str] = {
    "sasrec": "SASRec",
    "gru4rec": "GRU4Rec",
    "bert4rec": "BERT4Rec",
    "caser": "Caser",
}
# recforge parameters per pair beyond STOPPING; {} = the model's defaults
RECFORGE_PARAMS: dict[str, dict[str, Any]] = {name: {} for name in PAIRS}
# RecBole config overrides per pair; {} = RecBole's defaults for the model. Caser reads 10 items
# on both sides: RecBole's Caser docstring asks for MAX_ITEM_LIST_LENGTH "small, such as 10"
# (its 50 builds 50 horizontal convolutions, one per height, and may give a NaN loss), and
# recforge's caser defaults to max_len 10 for that reason.
PEER_PARAMS: dict[str, dict[str, Any]] = {name: {} for name in PAIRS}
PEER_PARAMS["caser"] = {"MAX_ITEM_LIST_LENGTH": 10}
# RecBole's early stopping as shipped, in recforge's terms (see the module docstring)
STOPPING: dict[str, Any] = {"epochs": MAX_EPOCHS, "patience": 11, "valid_metric": "ndcg@10"}

# --tune MODEL: the grid over which validation chooses MODEL's defaults (see the docstring)
TUNE_GRIDS: dict[str, dict[str, list[Any]]] = {"bert4rec": {"copies": [5, 10, 20]}}
TUNE_ROUNDS = 1  # extensions of an axis whose best lies on the grid's edge

PEER_STATE = HERE / ".peer-state"  # --resumable: unfinished RecBole fits, one folder each

HISTORY_LEN = 50  # items of a latency request
LATENCY_WARMUP = 100  # untimed calls first
SCALE_SHAPE = (138_493, 26_744)  # users, items of MovieLens 20M
SCALE_PARAMS: dict[str, Any] = {"loss": "sampled", "epochs": 1}


# ---------------------------------------------------------------------- data
class Data:
    """The split, its train + valid history, and the split written for the peer."""

    def __init__(self, folder: Path) -> None:
        full = implicit_feedback()
        split = leave_last_out(full, test=1, valid=1)
        assert split.valid is not None
        self.train: Interactions = split.train
        self.valid: Interactions = split.valid
        self.test: Interactions = split.test
        self.seen = concat([self.train, self.valid])  # the history of a test user
        self.folder = folder
        self.valid_users = np.flatnonzero(self.valid.user_counts() > 0)
        self.test_users = np.flatnonzero(self.test.user_counts() > 0)
        self._write()

    def raw_users(self, users: np.ndarray) -> list[str]:
        return [str(u) for u in self.train.user_ids.to_raw(users)]

    def _write(self) -> None:
        """train.tsv (user, train items oldest first), valid.tsv and test.tsv (user, item)."""
        raw_items = np.array(
            [str(i) for i in self.train.item_ids.to_raw(np.arange(self.train.n_items))]
        )
        raw_users = self.raw_users(np.arange(self.train.n_users))
        train = self.train.histories()
        lines = [
            f"{raw_users[u]}\t{' '.join(raw_items[train.of(u)])}\n"
            for u in range(self.train.n_users)
            if train.of(u).size
        ]
        (self.folder / "train.tsv").write_text("".join(lines))
        for name, part in (("valid", self.valid), ("test", self.test)):
            hist = part.histories()
            rows = [
                f"{raw_users[u]}\t{raw_items[hist.of(u)[0]]}\n"
                for u in range(part.n_users)
                if hist.of(u).size
            ]
            (self.folder / f"{name}.tsv").write_text("".join(rows))


def scored(lists: dict[str, list[str]], truth: Interactions, seen: Interactions) -> dict[str, Any]:
    """HR@10, NDCG@10 and the seen items recommended, by recforge's list evaluator."""
    result = evaluate_recommendations(lists, truth, train=seen, k=[K], metrics=["hit_rate", "ndcg"])
    values = result.as_dict()
    return {
        "hr@10": float(values["hit_rate@10"]),
        "ndcg@10": float(values["ndcg@10"]),
        "seen_items_recommended": int(values["seen_items_recommended"]),
    }


def to_lists(ids: np.ndarray, raw_users: list[str], item_ids: Any) -> dict[str, list[str]]:
    """Raw top-K lists from index rows [B, K] (-1 = no item)."""
    raw = item_ids.to_raw(ids.clip(0))
    return {
        u: [str(i) for i, j in zip(row, ids_row, strict=True) if j >= 0]
        for u, row, ids_row in zip(raw_users, raw, ids, strict=True)
    }


# ---------------------------------------------------------------------- recforge side
def continued_lists(model: Any, data: Data) -> dict[str, list[str]]:
    """Each test user continued from train + valid: the model's history buffer set to the
    newest train + valid items (as _build_module sets it from train), model.score, the train +
    valid items masked, top K."""
    import torch

    from recforge.data.sequences import last_items

    users = data.test_users
    net = model.module_
    stored = net.history.clone()
    recent = last_items(data.seen.histories(), np.arange(model.n_users_), int(model.max_len))
    net.history.copy_(torch.from_numpy(recent))
    try:
        scores = model.score(users)
    finally:
        net.history.copy_(stored)
    seen = data.seen.binary()[users]
    rows = np.repeat(np.arange(users.size), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    ids = np.where(np.isfinite(np.take_along_axis(scores, ids, axis=1)), ids, -1)
    return to_lists(ids, data.raw_users(users), data.train.item_ids)


def session_lists(model: Any, data: Data) -> dict[str, list[str]]:
    """model.recommend_for_history(train + valid items, oldest first, K) per test user."""
    history = data.seen.histories()
    rows = [model.recommend_for_history(history.of(int(u)), k=K)[0][0] for u in data.test_users]
    return to_lists(np.stack(rows), data.raw_users(data.test_users), data.train.item_ids)


def ours(
    name: str, params: dict[str, Any], data: Data, args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    model: Any = get(name, seed=seed, device=args.device, progress=False, **params)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(data.train, data.valid)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    load = os.getloadavg()[0]
    history = model.training_history_
    ids, _ = model.recommend(data.valid_users, k=K)  # from train: the stored history
    valid_lists = to_lists(ids, data.raw_users(data.valid_users), data.train.item_ids)
    started = time.perf_counter()
    test_lists = continued_lists(model, data)
    predict_seconds = time.perf_counter() - started
    sessions = session_lists(model, data)
    same = np.mean([sessions[u] == test_lists[u] for u in test_lists])
    session = scored(sessions, data.test, data.seen)
    epochs = history.epochs
    epoch_seconds = float(np.mean([e["seconds"] for e in epochs]))
    examples = round(epochs[0]["samples_per_s"] * epochs[0]["seconds"])
    return {
        **scored(test_lists, data.test, data.seen),
        "session_hr@10": session["hr@10"],
        "session_ndcg@10": session["ndcg@10"],
        "same_lists": float(same),
        "valid_ndcg@10": scored(valid_lists, data.valid, data.train)["ndcg@10"],
        "library_valid_ndcg@10": history.best_value,
        "best_epoch": history.best_epoch,
        "epochs_run": len(epochs),
        "train_seconds": seconds,
        "train_cpu_seconds": cpu_seconds,
        "load_1min": load,
        "epoch_seconds": epoch_seconds,
        "samples_per_s": examples / epoch_seconds,
        "train_examples": examples,
        "predict_seconds": predict_seconds,
        "valid_curve": [round(e[STOPPING["valid_metric"]], 4) for e in epochs],
        "device": args.device,
    }


def tune_defaults(
    pair: str, data: Data, args: argparse.Namespace, save: Callable[[dict[str, Any]], Any]
) -> dict[str, Any]:
    """The early-stopped best validation NDCG@10 (fit on train, seed 0; no test part is read)
    of each TUNE_GRIDS point, and the best point. The record is saved (`save`) after every
    point with "complete": false until the grid is done, and a point already recorded under the
    same settings is taken from the record, not refitted: a stopped run continues."""
    axes = TUNE_GRIDS[pair]
    defaults = get(pair).get_params()
    settings = {"max_epochs": args.max_epochs, "device": args.device, "threads": args.threads}
    record: dict[str, Any] = {
        "valid": "the valid item of leave_last_out (fit on train, seed 0, early stopping on it)",
        "settings": settings,
        "defaults": {k: defaults[k] for k in axes},
        "complete": False,
        "grid": [],
    }
    previous = read_result("sequence").get("tuning", {}).get(pair, {})
    recorded = previous.get("grid", []) if previous.get("settings") == settings else []

    def score(point: dict[str, Any]) -> float:
        known = [t for t in recorded if t["params"] == point]
        if known:
            value = float(known[0]["valid_ndcg@10"])
            print(f"tune {pair} {point}: valid NDCG@10 {value:.4f} (recorded)", flush=True)
            record["grid"].append(known[0])
            return value
        model: Any = get(
            pair, seed=0, device=args.device, progress=False, **ours_params(pair, args), **point
        )
        start = time.perf_counter()
        model.fit(data.train, data.valid)
        history = model.training_history_
        seconds = time.perf_counter() - start
        print(
            f"tune {pair} {point}: valid NDCG@10 {history.best_value:.4f}, best epoch "
            f"{history.best_epoch}/{len(history.epochs)}, {seconds:.0f} s",
            flush=True,
        )
        record["grid"].append({
            "params": point, "valid_ndcg@10": float(history.best_value),
            "best_epoch": history.best_epoch, "epochs_run": len(history.epochs),
            "train_seconds": seconds, "load_1min": os.getloadavg()[0],
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })  # fmt: skip
        save(record)
        return float(history.best_value)

    tried = grid_search(axes, score, TUNE_ROUNDS, key="valid_ndcg@10")
    details = {json.dumps(t["params"], sort_keys=True): t for t in record["grid"]}
    record["grid"] = [{**details[json.dumps(t["params"], sort_keys=True)], **t} for t in tried]
    record["chosen"] = max(tried, key=lambda t: t["valid_ndcg@10"])["params"]
    record["complete"] = True
    save(record)
    return record


# ---------------------------------------------------------------------- RecBole side
def state_folder(model: str, params: dict[str, Any], data: Data, seed: int, threads: int) -> Path:
    """Where --resumable keeps a RecBole fit: named by everything the fit depends on (the
    model, its overrides, the seed, the threads and the split's files), so a changed run
    never continues another's fit."""
    digest = hashlib.sha256(json.dumps([model, params, seed, threads], sort_keys=True).encode())
    for name in ("train.tsv", "valid.tsv", "test.tsv"):
        digest.update((data.folder / name).read_bytes())
    return PEER_STATE / f"{model}-{digest.hexdigest()[:16]}"


def theirs(
    model: str, params: dict[str, Any], data: Data, args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    state = state_folder(model, params, data, seed, args.threads) if args.resumable else None
    command = [
        str(peer_python()),
        str(HERE / "peers" / "recbole_sequence.py"),
        model,
        str(data.folder),
        str(K),
        "--params",
        json.dumps(params),
        "--seed",
        str(seed),
        "--device",
        "cpu",
        "--threads",
        str(args.threads),
        *(["--state", str(state)] if state else []),
    ]
    # stderr goes through line by line (the peer's per-epoch progress; its tail is kept for the
    # error message); stdout, whose last line is the JSON, goes to a file so no pipe can fill
    out_path = data.folder / f"{model}-stdout.txt"
    tail: deque[str] = deque(maxlen=60)
    with (
        out_path.open("w") as out,
        subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=True) as peer,
    ):
        for line in peer.stderr or []:
            print(line, end="", file=sys.stderr, flush=True)
            tail.append(line)
    if peer.returncode != 0:
        raise RuntimeError(f"RecBole {model} failed:\n{''.join(tail)[-4000:]}")
    stdout = out_path.read_text()
    facts = json.loads(stdout.splitlines()[-1])
    valid_lists = read_recommendations(data.folder / "valid-recs.tsv")
    test_lists = read_recommendations(data.folder / "test-recs.tsv")
    if state:  # the fit is done and its lists are read: nothing left to resume
        shutil.rmtree(state)
    return {
        **scored(test_lists, data.test, data.seen),
        "valid_ndcg@10": scored(valid_lists, data.valid, data.train)["ndcg@10"],
        "library_valid_ndcg@10": facts["best_valid_ndcg@10"],
        "best_epoch": facts["best_epoch"],
        "epochs_run": facts["epochs"],
        "sittings": facts["sittings"],
        "train_seconds": facts["train_seconds"],
        "train_cpu_seconds": facts.get("train_cpu_seconds"),
        "load_1min": facts.get("load_1min"),
        "epoch_seconds": facts["epoch_seconds"],
        "samples_per_s": facts["samples_per_s"],
        "train_examples": facts["train_examples"],
        "predict_seconds": facts["predict_seconds"],
        "valid_curve": [round(v, 4) for v in facts["valid_curve"]],
        "settings": facts["settings"],
        "device": facts["device"],
    }


# ---------------------------------------------------------------------- comparison
def ours_params(pair: str, args: argparse.Namespace) -> dict[str, Any]:
    """recforge's parameters for a pair: STOPPING (epochs capped by --max-epochs),
    RECFORGE_PARAMS, then this run's --params."""
    stopping = {**STOPPING, "epochs": args.max_epochs}
    return {**stopping, **RECFORGE_PARAMS[pair], **args.params.get(pair, {})}


def peer_params(pair: str, args: argparse.Namespace) -> dict[str, Any]:
    """RecBole's overrides for a pair: epochs when --max-epochs caps them, PEER_PARAMS, then
    this run's --peer-params."""
    epochs = {} if args.max_epochs == MAX_EPOCHS else {"epochs": args.max_epochs}
    return {**epochs, **PEER_PARAMS[pair], **args.peer_params.get(pair, {})}


def record_key(side: str, params: dict[str, Any] | None, max_epochs: int) -> str:
    """Where a record is kept: "recforge" / "peer" (latency: the pair); a run with --params
    (--peer-params) for the pair is "<side> <those params>", and " (max N epochs)" is added
    when --max-epochs caps the run, so such runs are kept beside the usual records, not over
    them."""
    key = side
    if params:
        key = f"{side} {json.dumps(params, sort_keys=True)}"
    if max_epochs != MAX_EPOCHS:
        key += f" (max {max_epochs} epochs)"
    return key


def run_pair(pair: str, side: str, data: Data, args: argparse.Namespace, seed: int) -> dict:
    if side == "recforge":
        params = ours_params(pair, args)
        record = {"model": pair, "params": params, **ours(pair, params, data, args, seed)}
    else:
        params = peer_params(pair, args)
        record = {
            "model": PAIRS[pair],
            "params": params,
            **theirs(PAIRS[pair], params, data, args, seed),
        }
    return {
        **record,
        "threads": args.threads,
        "seed": seed,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def recorded_runs(
    recorded: dict[str, Any] | None, params: dict[str, Any], key: str
) -> list[dict[str, Any]]:
    """The runs of a `recorded` record (one seed's record, or `over_seeds`'s with its "runs");
    raises ValueError when one was fitted with other parameters than `params`."""
    kept = [] if not recorded else recorded.get("runs", [recorded])
    for old in kept:
        if old["params"] != params:
            raise ValueError(
                f"the record {key!r} holds seed {old['seed']} fitted with {old['params']}, "
                f"not this run's {params}; run without --add-seeds to replace it"
            )
    return kept


def joined_runs(kept: list[dict[str, Any]], runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`runs` joined to the `kept` ones, ordered by seed; a seed in both keeps its new run."""
    new_seeds = {r["seed"] for r in runs}
    return sorted([r for r in kept if r["seed"] not in new_seeds] + runs, key=lambda r: r["seed"])


# ---------------------------------------------------------------------- latency
def latency(pair: str, data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """recommend_for_history p50 / p99 for HISTORY_LEN-item histories, on CPU, and the time
    per history when recommend_for_histories takes all the distinct ones in one call."""
    params = {**RECFORGE_PARAMS[pair], **args.params.get(pair, {})}
    params["epochs"] = args.latency_epochs
    model: Any = get(pair, seed=args.seeds[0], device=args.device, progress=False, **params)
    model.fit(data.train).to("cpu")
    history = data.seen.histories()
    requests = [
        history.of(u)[-HISTORY_LEN:]
        for u in range(data.seen.n_users)
        if history.of(u).size >= HISTORY_LEN
    ]
    for n in range(LATENCY_WARMUP):
        model.recommend_for_history(requests[n % len(requests)], k=K)
    times = np.empty(args.latency_calls, dtype=np.int64)
    for n in range(args.latency_calls):
        request = requests[n % len(requests)]
        started = time.perf_counter_ns()
        model.recommend_for_history(request, k=K)
        times[n] = time.perf_counter_ns() - started
    micros = times / 1e3
    started = time.perf_counter_ns()
    batched, _ = model.recommend_for_histories(requests, k=K)
    batched_us = (time.perf_counter_ns() - started) / 1e3 / len(requests)
    alone = np.stack([model.recommend_for_history(r, k=K)[0][0] for r in requests[:50]])
    same = float(np.mean(np.all(alone == batched[:50], axis=1)))
    return {
        "model": pair,
        "params": params,
        "history_items": HISTORY_LEN,
        "k": K,
        "n_items": int(model.n_items_),
        "distinct_histories": len(requests),
        "calls": int(args.latency_calls),
        "p50_us": float(np.percentile(micros, 50)),
        "p99_us": float(np.percentile(micros, 99)),
        "mean_us": float(micros.mean()),
        "batched_us_per_history": batched_us,
        "batched_same_lists": same,  # share of the first 50 whose lists equal the single call's
        "device": "cpu",
        "threads": args.threads,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# ---------------------------------------------------------------------- scale
def reset_peak_rss() -> bool:
    """Start VmHWM afresh (Linux: clear_refs 5), so the next peak is the fit's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def scale(args: argparse.Namespace) -> dict[str, Any]:
    """SASRec, one epoch, loss="sampled", on MovieLens-20M-shaped synthetic data."""
    import torch

    from recforge.data import synthetic_interactions

    n_users, n_items = SCALE_SHAPE
    started = time.perf_counter()
    data = synthetic_interactions(n_users, n_items, args.interactions, timestamps=True, seed=0)
    data_seconds = time.perf_counter() - started
    data_peak = peak_rss_mb()
    rss_with_data = current_rss_mb()
    was_reset = reset_peak_rss()
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    model: Any = get(  # the epoch's progress bar shows when run on a terminal
        "sasrec", seed=args.seeds[0], device=args.device, progress=True, **SCALE_PARAMS
    )
    started = time.perf_counter()
    model.fit(data)
    fit_seconds = time.perf_counter() - started
    epoch = model.training_history_.epochs[0]
    windows = round(epoch["samples_per_s"] * epoch["seconds"])
    targets = data.nnz - int(np.count_nonzero(data.user_counts()))
    shown = ("factors", "max_len", "blocks", "heads", "negatives", "batch_size", "lr")
    return {
        "model": "sasrec",
        "params": {**SCALE_PARAMS, **{k: model.get_params()[k] for k in shown}},
        "users": n_users,
        "items": n_items,
        "interactions": int(data.nnz),
        "data_seconds": data_seconds,
        "fit_seconds": fit_seconds,
        "epoch_seconds": epoch["seconds"],
        "windows": windows,
        "windows_per_s": epoch["samples_per_s"],
        "targets_per_s": targets / epoch["seconds"],
        "rss_with_data_mb": rss_with_data,
        "peak_rss_data_mb": data_peak,
        "peak_rss_fit_mb": peak_rss_mb() if was_reset else None,
        "peak_rss_mb": max(data_peak, peak_rss_mb()),
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "device": args.device,
        "threads": args.threads,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# ---------------------------------------------------------------------- output
def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def show(sides: dict[str, Any], key: str, fmt: str, ours_key: str = "recforge") -> str:
    ours_v, peer_v = sides.get(ours_key, {}).get(key), sides.get("peer", {}).get(key)
    cell = [format(v, fmt) if v is not None else "-" for v in (ours_v, peer_v)]
    return f"{cell[0]:>9} {cell[1]:>9} {ratio(ours_v, peer_v):>7}"


def summary(results: dict[str, Any], args: argparse.Namespace) -> None:
    """Print each pair's figures side by side (the records of this run's settings: a run with
    --params, --peer-params or --max-epochs shows its own records), latency and scale."""
    pairs = results.get("pairs", {})
    if pairs:
        print(f"\n{'pair':<9} {'':<14} {'recforge':>9} {'RecBole':>9} {'ratio':>7}")
    for pair, found in pairs.items():
        given = {"recforge": args.params.get(pair), "peer": args.peer_params.get(pair)}
        sides = {
            side: found.get(record_key(side, given[side], args.max_epochs), {})
            for side in ("recforge", "peer")
        }
        if not any(sides.values()):
            continue
        print(f"{pair:<9} {'HR@10':<14} {show(sides, 'hr@10', '.4f')}")
        print(f"{'':<9} {'NDCG@10':<14} {show(sides, 'ndcg@10', '.4f')}")
        print(f"{'':<9} {'train s':<14} {show(sides, 'train_seconds', '.1f')}")
        print(f"{'':<9} {'epochs run':<14} {show(sides, 'epochs_run', '.0f')}")
        print(f"{'':<9} {'best epoch':<14} {show(sides, 'best_epoch', '.0f')}")
        print(f"{'':<9} {'epoch s':<14} {show(sides, 'epoch_seconds', '.2f')}")
        print(f"{'':<9} {'valid NDCG@10':<14} {show(sides, 'valid_ndcg@10', '.4f')}")
        if "session_ndcg@10" in sides["recforge"]:
            rec = sides["recforge"]
            print(
                f"{'':<9} recforge via recommend_for_history: HR@10 {rec['session_hr@10']:.4f}"
                f" NDCG@10 {rec['session_ndcg@10']:.4f} (same lists {rec['same_lists']:.0%})"
            )
    for pair, rec in results.get("latency", {}).items():
        print(
            f"latency {pair:<9} recommend_for_history({rec['history_items']} items): "
            f"p50 {rec['p50_us']:.0f} µs  p99 {rec['p99_us']:.0f} µs ({rec['threads']} threads)"
        )
    for key, rec in results.get("scale", {}).items():
        gpu = f", GPU peak {rec['peak_gpu_mb']:.0f} MiB" if rec.get("peak_gpu_mb") else ""
        fit = rec["peak_rss_fit_mb"]
        fit_text = f" (the fit's own {fit:.0f} MiB)" if fit is not None else ""
        print(
            f"scale {key}: {rec['interactions']:,} interactions, epoch {rec['epoch_seconds']:.1f}"
            f" s, peak RSS {rec['peak_rss_mb']:.0f} MiB{fit_text}{gpu}"
        )
    print(f"wrote {RESULTS / 'sequence.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(PAIRS), help="comma-separated pairs")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--peers-only", action="store_true", help="run the RecBole side only")
    only.add_argument("--ours-only", action="store_true", help="run the recforge side only")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (recforge side)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    parser.add_argument("--seeds", default=SEEDS, help="comma-separated; figures are means")
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=MAX_EPOCHS,
        help="cap both sides' epochs (a quick check; default RecBole's 300)",
    )
    parser.add_argument(
        "--params", default="{}", help='recforge parameters per pair: \'{"sasrec": {"lr": 0.002}}\''
    )
    parser.add_argument(
        "--peer-params",
        default="{}",
        help='RecBole config overrides per pair: \'{"sasrec": {"MAX_ITEM_LIST_LENGTH": 10}}\'',
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run the comparison also when --latency or --scale is given",
    )
    parser.add_argument(
        "--resumable",
        action="store_true",
        help="keep each RecBole fit resumable in benchmarks/.peer-state/ (a stopped run "
        "continues where it left off when run again)",
    )
    parser.add_argument(
        "--add-seeds",
        action="store_true",
        help="join this run's seeds to those recorded with the same settings, saving after "
        "each seed (see the module docstring)",
    )
    parser.add_argument(
        "--tune",
        choices=sorted(TUNE_GRIDS),
        help="choose this model's defaults on validation alone (TUNE_GRIDS)",
    )
    parser.add_argument("--latency", action="store_true", help="recommend_for_history latency")
    parser.add_argument("--latency-epochs", type=int, default=3)
    parser.add_argument("--latency-calls", type=int, default=2000)
    parser.add_argument("--scale", action="store_true", help="SASRec on 20M synthetic")
    parser.add_argument(
        "--interactions",
        type=int,
        default=20_000_000,
        help="--scale's interactions (try 200000 first)",
    )
    args = parser.parse_args()
    for flag in ("params", "peer_params"):
        try:
            value = json.loads(getattr(args, flag))
        except json.JSONDecodeError as exc:
            parser.error(f"--{flag.replace('_', '-')} is not JSON: {exc}")
        if not isinstance(value, dict) or not all(
            p in PAIRS and isinstance(v, dict) for p, v in value.items()
        ):
            parser.error(
                f"--{flag.replace('_', '-')} must map pair names ({', '.join(PAIRS)}) to "
                "parameter objects"
            )
        setattr(args, flag, value)
    try:
        args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if not args.seeds:
        parser.error("--seeds needs at least one seed")
    if args.max_epochs < 1 or args.latency_epochs < 1 or args.latency_calls < 1:
        parser.error("--max-epochs, --latency-epochs and --latency-calls must be ≥ 1")
    pairs = [p.strip() for p in args.models.split(",") if p.strip()]
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown:
        parser.error(f"unknown pair {unknown[0]!r}; pairs: {', '.join(PAIRS)}")
    missing = [p for p in pairs if p not in available()]
    for pair in missing:
        print(f"{pair:<9} recforge has no model {pair!r} registered yet: skipped", flush=True)
    pairs = [p for p in pairs if p not in missing]
    import torch

    torch.set_num_threads(args.threads)
    compare = args.compare or not (args.latency or args.scale or args.tune)
    sides = (
        ["peer"] if args.peers_only else ["recforge"] if args.ours_only else ["recforge", "peer"]
    )
    done: dict[str, dict[str, Any]] = {"pairs": {}, "latency": {}, "scale": {}, "tuning": {}}

    def save() -> dict[str, Any]:
        """Merge this run's records into results/sequence.json (re-read each time, so another
        run writing other pairs or sections meanwhile keeps its figures)."""
        results = read_result("sequence")
        results.pop("machine", None)
        results.update(
            {
                "dataset": "ml-100k, every rating an interaction, with timestamps",
                "split": "leave_last_out(test=1, valid=1): per user the newest item test, "
                "the one before valid; equal timestamps by item index (movie id)",
                "protocol": "fit on train, early stopping on valid NDCG@10 (train items "
                "excluded; at most 300 epochs, RecBole stopping_step 10 = patience 11), best "
                "epoch restored; test: history train + valid, its items excluded, full "
                "ranking, HR@10 / NDCG@10 by recforge's evaluator for both sides",
            }
        )
        results["pairs"] = results.get("pairs", {})
        for pair, by_side in done["pairs"].items():
            results["pairs"].setdefault(pair, {}).update(by_side)
        for section in ("latency", "scale", "tuning"):
            results.setdefault(section, {}).update(done[section])
        write_result("sequence", results)
        return results

    with tempfile.TemporaryDirectory() as name:
        needed = (bool(pairs) and (compare or args.latency)) or args.tune is not None
        data = Data(Path(name)) if needed else None
        if args.tune:
            assert data is not None

            def save_tuning(record: dict[str, Any]) -> None:
                done["tuning"][args.tune] = record
                save()

            found = tune_defaults(args.tune, data, args, save_tuning)
            chosen, defaults = found["chosen"], found["defaults"]
            print(f"{args.tune}: validation chooses {chosen} (defaults {defaults})", flush=True)
        for pair in pairs if compare else []:
            assert data is not None
            for side in sides:
                given = args.params if side == "recforge" else args.peer_params
                key = record_key(side, given.get(pair), args.max_epochs)
                kept: list[dict[str, Any]] = []
                if args.add_seeds:
                    recorded = read_result("sequence").get("pairs", {}).get(pair, {}).get(key)
                    params = (
                        ours_params(pair, args) if side == "recforge" else peer_params(pair, args)
                    )
                    try:
                        kept = recorded_runs(recorded, params, key)
                    except ValueError as exc:
                        sys.exit(f"{pair}: {exc}")
                runs: list[dict[str, Any]] = []
                for seed in args.seeds:
                    runs.append(run_pair(pair, side, data, args, seed))
                    last = runs[-1]
                    print(
                        f"{pair:<9} {side:<8} seed {seed}: HR@10 {last['hr@10']:.4f} NDCG@10 "
                        f"{last['ndcg@10']:.4f}  best epoch {last['best_epoch']}/"
                        f"{last['epochs_run']}  {last['train_seconds']:.1f} s",
                        flush=True,
                    )
                    done["pairs"].setdefault(pair, {})[key] = over_seeds(
                        joined_runs(kept, runs), "ndcg@10"
                    )
                    if args.add_seeds:  # saved now: a later seed stopped does not lose this one
                        save()
                save()
        for pair in pairs if args.latency else []:
            assert data is not None
            record = latency(pair, data, args)
            # a run with --params is kept beside the usual one, as the comparison's records are
            done["latency"][record_key(pair, args.params.get(pair), MAX_EPOCHS)] = record
            save()
            print(
                f"latency {pair:<9} p50 {record['p50_us']:.0f} µs p99 {record['p99_us']:.0f} µs"
                f", batched {record['batched_us_per_history']:.0f} µs a history",
                flush=True,
            )
        if args.scale:
            record = scale(args)
            key = f"sasrec {record['interactions']} {args.device}"
            done["scale"][key] = record
            save()
    summary(save(), args)


if __name__ == "__main__":
    main()
