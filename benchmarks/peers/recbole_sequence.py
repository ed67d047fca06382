"""Worker run inside the peer venv: RecBole 1.2.1's own SASRec, GRU4Rec, BERT4Rec or Caser
trained by RecBole's own Trainer on a given leave-last-one-out split, top-k lists out.

python recbole_sequence.py MODEL FOLDER K [--params JSON] [--seed N] [--device cpu|cuda]
                           [--threads N] [--state DIR]
    MODEL: SASRec | GRU4Rec | BERT4Rec | Caser. FOLDER holds the split, raw ids:
      train.tsv  "user<TAB>item item item …": each user's training items, oldest first (the
                 order is the caller's, equal timestamps included: nothing is re-sorted here);
      valid.tsv, test.tsv  "user<TAB>item": the user's validation / test item (users without
                 one are absent).
    and receives valid-recs.tsv and test-recs.tsv ("user<TAB>item,item,…", best first).

RecBole reads a pre-split sequential dataset through `benchmark_filename`: data.train.inter,
data.valid.inter, data.test.inter with the columns user_id, item_id_list (token_seq, the
alias of item_id so that both share one id map) and item_id, taken as they are (no
augmentation, no filtering). They are written here as RecBole's own `data_augmentation` would
cut a chronological file, with L = MAX_ITEM_LIST_LENGTH (50):
    train: every prefix of each train sequence: (the up to L items before position p → item
           p) for p = 1 … n-1, the first item never a target;
    valid: (the user's last L train items → the valid item);
    test:  (the last L of train + valid → the test item); RecBole never reads it while fitting
           (it keeps the test target items in the catalogue, as the recforge side has them).
Every other setting is RecBole's default for the model (overall.yaml + the model's yaml +
quick_start_config/sequential.yaml: epochs 300, train_batch_size 2048, adam, learning_rate
0.001, loss_type CE, so train_neg_sample_args None as RecBole requires for CE) unless --params
overrides it.

Early stopping is RecBole's: full-sort NDCG@10 on valid after every epoch (eval_step 1), rounded
to 4 places (metric_decimal_place), stop once more than stopping_step = 10 epochs in a row fall
below the best (a tie counts as a new best), the best epoch's checkpoint restored. (RecBole's
shipped valid_metric is MRR@10; NDCG@10 is set because the recforge side stops on it.) One
change to what it ranks: RecBole's sequential full-sort evaluation masks only its padding item,
not the user's history; here the validation loader also hands the trainer each user's train
items as its history index, so that RecBole's early stopping watches the same figure as
recforge's (training items excluded).

--state DIR makes the fit resumable (recbole_fit.py): the trainer's state is kept in DIR after
every epoch, and a run on the same DIR (and the same split and settings) continues the fit
where the last one stopped; a finished fit is not run again, its best checkpoint is scored.

Scoring (done here, not by RecBole's evaluator): model.full_sort_predict on an Interaction of
item_id_list (the last L items, left-aligned, 0-padded on the right as RecBole pads) and
item_length (and user_id, which Caser reads), with the padding item 0 and the user's seen items
(valid: train; test: train + valid, all of them, not only the last L) removed; top K out.
Prints one JSON line: train_seconds (wall time of trainer.fit: training, validation passes and
checkpoint writes; with --state summed over the sittings), train_cpu_seconds (CPU time over
all threads in the same spans; null when a sitting began before it was kept), load_1min (the
load average at the end), sittings, epochs (run), best_epoch (1-based), best_valid_ndcg@10
(RecBole's own figure), valid_curve, epoch_seconds (mean training part of an epoch),
samples_per_s (training prefixes / epoch_seconds), the sizes and the settings that matter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from recbole_compat import restore_numpy_aliases, restore_series_agg_len
from recbole_fit import recorded_fit

MODELS = ("SASRec", "GRU4Rec", "BERT4Rec", "Caser")
SCORE_ROWS = 1024  # sequences per full_sort_predict call
SHOWN = (  # settings recorded in the output, where the model has them
    "MAX_ITEM_LIST_LENGTH", "epochs", "train_batch_size", "learning_rate", "stopping_step",
    "loss_type", "hidden_size", "embedding_size", "n_layers", "num_layers", "n_heads",
    "inner_size", "hidden_dropout_prob", "attn_dropout_prob", "dropout_prob", "mask_ratio",
    "ft_ratio", "nv", "nh", "reg_weight", "weight_decay",
)  # fmt: skip


def read_sequences(path: Path) -> dict[str, list[str]]:
    """user → items, in file order."""
    rows = (ln.split("\t") for ln in path.read_text().splitlines() if ln.strip())
    return {u.strip(): items.split() for u, items in rows}


def read_targets(path: Path) -> dict[str, str]:
    rows = (ln.split("\t") for ln in path.read_text().splitlines() if ln.strip())
    return {u.strip(): i.strip() for u, i in rows}


def write_benchmark(
    folder: Path,
    train: dict[str, list[str]],
    valid: dict[str, str],
    test: dict[str, str],
    length: int,
) -> int:
    """data.{train,valid,test}.inter as described in the module docstring; returns the number
    of training prefixes."""
    header = "user_id:token\titem_id_list:token_seq\titem_id:token\n"

    def row(user: str, before: list[str], target: str) -> str:
        return f"{user}\t{' '.join(before[-length:])}\t{target}\n"

    lines = [
        row(user, items[:p], items[p])
        for user, items in train.items()
        for p in range(1, len(items))
    ]
    (folder / "data.train.inter").write_text(header + "".join(lines))
    valid_rows = [row(u, train[u], item) for u, item in valid.items()]
    test_rows = [row(u, train[u] + ([valid[u]] if u in valid else []), i) for u, i in test.items()]
    (folder / "data.valid.inter").write_text(header + "".join(valid_rows))
    (folder / "data.test.inter").write_text(header + "".join(test_rows))
    return len(lines)


def check_loaded(train: Any, prefixes: int) -> None:
    """RecBole kept every training prefix, each with its true length (the pandas 3 fault that
    restore_series_agg_len mends would give every row the same item_length)."""
    if len(train) != prefixes:
        raise RuntimeError(f"RecBole kept {len(train)} of {prefixes} training prefixes")
    feat = train.inter_feat
    if not torch.equal(feat["item_length"], (feat["item_id_list"] != 0).sum(dim=1)):
        raise RuntimeError("RecBole's item_length disagrees with its item_id_list")


def seen_matrix(dataset: Any, sequences: dict[str, list[str]]) -> sp.csr_array:
    """Binary [user_num, item_num] of each user's items in `sequences` (RecBole ids)."""
    users, items = dataset.field2token_id["user_id"], dataset.field2token_id["item_id"]
    rows = [users[u] for u, seq in sequences.items() for _ in seq]
    cols = [items[i] for seq in sequences.values() for i in seq]
    shape = (dataset.user_num, dataset.item_num)
    seen = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=shape)
    seen.sum_duplicates()
    return seen


def mask_history_in_validation(valid_data: Any, seen: sp.csr_array) -> None:
    """Make the full-sort validation loader hand the trainer each row's seen items as the
    history index (RecBole's non-sequential loaders do; its sequential one passes None)."""
    collate = valid_data.collate_fn

    def with_history(index: Any) -> Any:
        interaction, _, positive_u, positive_i = collate(index)
        users = interaction["user_id"].numpy()
        starts, ends = seen.indptr[users], seen.indptr[users + 1]
        rows = np.repeat(np.arange(users.size), ends - starts)
        cols = np.concatenate([seen.indices[s:e] for s, e in zip(starts, ends, strict=True)])
        history = (torch.as_tensor(rows), torch.as_tensor(cols, dtype=torch.int64))
        return interaction, history, positive_u, positive_i

    valid_data.collate_fn = with_history  # the torch DataLoader calls self.collate_fn


def top_k(
    model: Any,
    dataset: Any,
    histories: dict[str, list[str]],
    k: int,
    device: torch.device,
) -> dict[str, list[str]]:
    """Top-k raw item ids per user after the user's history (raw ids, oldest first), the
    history and the padding item excluded."""
    from recbole.data.interaction import Interaction

    user_ids, item_ids = dataset.field2token_id["user_id"], dataset.field2token_id["item_id"]
    tokens = dataset.field2id_token["item_id"]
    width = dataset.field2seqlen["item_id_list"]  # the width the model was trained on
    length = min(width, model.max_seq_length)
    users = list(histories)
    lists: dict[str, list[str]] = {}
    model.eval()
    with torch.no_grad():
        for start in range(0, len(users), SCORE_ROWS):
            chunk = users[start : start + SCORE_ROWS]
            seq = np.zeros((len(chunk), width), dtype=np.int64)
            lengths = np.zeros(len(chunk), dtype=np.int64)
            for row, user in enumerate(chunk):
                recent = [item_ids[i] for i in histories[user][-length:]]
                seq[row, : len(recent)] = recent
                lengths[row] = len(recent)
            batch = Interaction(
                {
                    "user_id": torch.as_tensor([user_ids[u] for u in chunk]),
                    "item_id_list": torch.as_tensor(seq),
                    "item_length": torch.as_tensor(lengths),
                }
            )
            scores = model.full_sort_predict(batch.to(device))
            scores = scores.view(len(chunk), -1).double().cpu().numpy()
            scores[:, 0] = -np.inf  # RecBole's padding item
            for row, user in enumerate(chunk):
                scores[row, [item_ids[i] for i in histories[user]]] = -np.inf
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            for row, ranked in enumerate(order):
                finite = [j for j in ranked if np.isfinite(scores[row, j])]
                lists[chunk[row]] = [tokens[j] for j in finite]
    return lists


def write_lists(path: Path, lists: dict[str, list[str]]) -> None:
    path.write_text("".join(f"{u}\t{','.join(items)}\n" for u, items in lists.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("folder", type=Path)
    parser.add_argument("k", type=int)
    parser.add_argument("--params", default="{}", help="RecBole config overrides as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--state", type=Path, help="keep the fit resumable in this folder")
    args = parser.parse_args()
    sys.argv = sys.argv[:1]  # RecBole's Config reads "--key=value" arguments from argv
    torch.set_num_threads(args.threads)
    restore_numpy_aliases()
    restore_series_agg_len()
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    folder = args.folder.resolve()
    train = read_sequences(folder / "train.tsv")
    valid = read_targets(folder / "valid.tsv")
    test = read_targets(folder / "test.tsv")
    overrides = json.loads(args.params)
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # RecBole's Trainer writes log_tensorboard/ into the working directory
        try:
            config_dict: dict[str, Any] = {
                "data_path": tmp,
                "checkpoint_dir": str(Path(tmp) / "saved"),
                "benchmark_filename": ["train", "valid", "test"],
                "load_col": {"inter": ["user_id", "item_id_list", "item_id"]},
                "alias_of_item_id": ["item_id_list"],
                "train_neg_sample_args": None,  # CE loss: RecBole refuses negatives
                "gpu_id": "0" if args.device.startswith("cuda") else "",
                "use_gpu": args.device.startswith("cuda"),
                "seed": args.seed,
                "reproducibility": True,
                "show_progress": False,
                "state": "ERROR",
                "eval_args": {
                    "split": {"LS": "valid_and_test"},
                    "order": "TO",
                    "mode": "full",
                    "group_by": "user",
                },
                "metrics": ["NDCG"],
                "topk": [10],
                "valid_metric": "NDCG@10",
            }
            config_dict.update(overrides)
            config = Config(model=args.model, dataset="data", config_dict=config_dict)
            length = int(config["MAX_ITEM_LIST_LENGTH"])
            (Path(tmp) / "data").mkdir()
            prefixes = write_benchmark(Path(tmp) / "data", train, valid, test, length)
            init_seed(args.seed, True)
            dataset = create_dataset(config)
            train_data, valid_data, _ = data_preparation(config, dataset)
            check_loaded(train_data.dataset, prefixes)
            mask_history_in_validation(valid_data, seen_matrix(dataset, train))
            init_seed(args.seed, True)
            model = get_model(args.model)(config, train_data.dataset).to(config["device"])
            trainer = get_trainer(config["MODEL_TYPE"], args.model)(config, model)

            state = args.state.resolve() if args.state else None
            fit = recorded_fit(trainer, train_data, valid_data, args.model, state)
            # the best epoch's weights, as RecBole's evaluate(load_best_model=True)
            checkpoint = torch.load(
                trainer.saved_model_file, map_location=config["device"], weights_only=False
            )
            model.load_state_dict(checkpoint["state_dict"])
            model.load_other_parameter(checkpoint.get("other_parameter"))
            started = time.perf_counter()
            valid_lists = top_k(
                model, dataset, {u: train[u] for u in valid}, args.k, config["device"]
            )
            test_histories = {u: train[u] + ([valid[u]] if u in valid else []) for u in test}
            test_lists = top_k(model, dataset, test_histories, args.k, config["device"])
            predict_seconds = time.perf_counter() - started
            settings = {key: config[key] for key in SHOWN if config[key] is not None}
        finally:
            os.chdir(cwd)
    write_lists(folder / "valid-recs.tsv", valid_lists)
    write_lists(folder / "test-recs.tsv", test_lists)
    epoch_seconds = fit.epoch_seconds
    print(
        json.dumps(
            {
                "train_seconds": fit.train_seconds,
                "train_cpu_seconds": fit.train_cpu_seconds,
                "load_1min": os.getloadavg()[0],
                "epochs": len(fit.epoch_times),
                "sittings": fit.sittings,
                "best_epoch": fit.best_epoch,
                "best_valid_ndcg@10": fit.best_score,
                "valid_curve": fit.curve,
                "epoch_seconds": epoch_seconds,
                "samples_per_s": prefixes / epoch_seconds if epoch_seconds else None,
                "train_examples": prefixes,
                "predict_seconds": predict_seconds,
                "n_users": int(dataset.user_num - 1),
                "n_items": int(dataset.item_num - 1),
                "settings": settings,
                "threads": torch.get_num_threads(),
                "device": str(config["device"]),
            }
        )
    )


if __name__ == "__main__":
    main()
