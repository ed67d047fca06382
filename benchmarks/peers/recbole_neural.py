"""Worker run inside the peer venv: RecBole 1.2.1's own NeuMF, MultiVAE, BPR or LightGCN trained
by RecBole's own Trainer on given files, top-k lists out.

python recbole_neural.py MODEL TRAIN_TSV VALID_TSV USERS_FILE OUT_TSV K
                         [--params JSON] [--seed N] [--device cpu|cuda] [--threads N]
    MODEL: NeuMF | MultiVAE | BPR | LightGCN. TRAIN_TSV / VALID_TSV: "user<TAB>item" lines (raw
    ids); VALID_TSV "-" trains for exactly `epochs` epochs without validation (a refit).
    With a VALID_TSV, RecBole's early stopping runs as shipped: full-sort evaluation on it after
    every epoch (eval_step 1), NDCG@10 rounded to 4 places (metric_decimal_place), stop once more
    than stopping_step=10 epochs in a row fall below the best (a tie counts as a new best), and
    the best epoch's checkpoint is restored. (RecBole's shipped valid_metric is MRR@10; NDCG@10
    is set here because the recforge side early-stops on it.)
    Every other setting is RecBole's default for the model (overall.yaml + the model's yaml:
    epochs 300, train_batch_size 2048, adam, learning_rate 0.001, one uniform negative per
    positive for NeuMF/BPR/LightGCN, none for MultiVAE) unless --params overrides it.
    Each listed user's scores are cut to the top K with the user's training items and RecBole's
    padding item 0 removed. Prints one JSON line: train_seconds (wall time of trainer.fit,
    validation passes and checkpoint writes included), epochs (run), best_epoch (1-based, None
    without validation), best_valid_ndcg@10 (RecBole's own figure), valid_curve (its figure
    after each epoch), epoch_seconds (mean time of the training part of an epoch), samples_per_s
    (training examples an epoch / epoch_seconds: positive interactions, or users for MultiVAE,
    which trains on user rows), and the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from recbole_compat import restore_numpy_aliases, restore_scipy_dok_update
from recbole_fit import recorded_fit

MODELS = ("NeuMF", "MultiVAE", "BPR", "LightGCN")
PREDICT_PAIRS = 1 << 20  # user-item pairs per predict() call for models without full_sort_predict


def read_pairs(path: str) -> list[tuple[str, str]]:
    rows = [ln.split("\t")[:2] for ln in Path(path).read_text().splitlines() if ln]
    return [(u.strip(), i.strip()) for u, i in rows]


def write_benchmark(
    folder: Path, train: list[tuple[str, str]], valid: list[tuple[str, str]] | None
) -> None:
    """data.train/valid/test.inter for benchmark_filename. The test part is never used (the
    lists are scored here); it holds one training pair so RecBole has a non-empty file, and so
    does valid when there is none."""
    header = "user_id:token\titem_id:token\n"
    dummy = [train[0]]
    parts = {"train": train, "valid": valid if valid else dummy, "test": dummy}
    for part, pairs in parts.items():
        text = header + "".join(f"{u}\t{i}\n" for u, i in pairs)
        (folder / f"data.{part}.inter").write_text(text)


def top_k(
    model: Any, dataset: Any, seen: Any, users: list[str], k: int, device: torch.device
) -> dict[str, list[str]]:
    """Top-k raw item ids per raw user id (users unknown to the dataset are skipped)."""
    from recbole.data.interaction import Interaction

    known = dataset.field2token_id["user_id"]
    wanted = [u for u in users if u in known]
    uids = np.array([known[u] for u in wanted], dtype=np.int64)
    n_items = dataset.item_num
    tokens = dataset.field2id_token["item_id"]
    chunk = max(1, PREDICT_PAIRS // n_items)
    lists: dict[str, list[str]] = {}
    model.eval()
    with torch.no_grad():
        for start in range(0, uids.size, chunk):
            batch = uids[start : start + chunk]
            u = torch.as_tensor(batch, device=device)
            try:
                scores = model.full_sort_predict(Interaction({"user_id": u}).to(device))
            except NotImplementedError:  # NeuMF: every user-item pair through predict()
                pairs = Interaction(
                    {
                        "user_id": u.repeat_interleave(n_items),
                        "item_id": torch.arange(n_items, device=device).repeat(batch.size),
                    }
                )
                scores = model.predict(pairs.to(device))
            scores = scores.view(batch.size, n_items).double().cpu().numpy()
            scores[:, 0] = -np.inf  # RecBole's padding item
            for row, uid in enumerate(batch):
                scores[row, seen[uid].indices] = -np.inf
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            for row, ranked in enumerate(order):
                user = wanted[start + row]
                lists[user] = [tokens[j] for j in ranked if np.isfinite(scores[row, j])]
    return lists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("train")
    parser.add_argument("valid", help='"-" for none (train exactly `epochs` epochs)')
    parser.add_argument("users")
    parser.add_argument("out")
    parser.add_argument("k", type=int)
    parser.add_argument("--params", default="{}", help="RecBole config overrides as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    restore_numpy_aliases()
    restore_scipy_dok_update()
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    train_pairs = read_pairs(args.train)
    valid_pairs = None if args.valid == "-" else read_pairs(args.valid)
    users = Path(args.users).read_text().split()
    out = Path(args.out).resolve()
    overrides = json.loads(args.params)
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # RecBole's Trainer writes log_tensorboard/ into the working directory
        try:
            folder = Path(tmp) / "data"
            folder.mkdir()
            write_benchmark(folder, train_pairs, valid_pairs)
            config_dict: dict[str, Any] = {
                "data_path": tmp,
                "checkpoint_dir": str(Path(tmp) / "saved"),
                "benchmark_filename": ["train", "valid", "test"],
                "load_col": {"inter": ["user_id", "item_id"]},
                "gpu_id": "0" if args.device.startswith("cuda") else "",
                "use_gpu": args.device.startswith("cuda"),
                "seed": args.seed,
                "reproducibility": True,
                "show_progress": False,
                "state": "ERROR",
                "eval_args": {"mode": "full", "order": "RO", "group_by": "user"},
                "metrics": ["NDCG"],
                "topk": [10],
                "valid_metric": "NDCG@10",
            }
            if args.model == "MultiVAE":
                config_dict["train_neg_sample_args"] = None  # trains on user rows
            config_dict.update(overrides)
            config = Config(model=args.model, dataset="data", config_dict=config_dict)
            init_seed(args.seed, True)
            dataset = create_dataset(config)
            train_data, valid_data, _ = data_preparation(config, dataset)
            init_seed(args.seed, True)
            model = get_model(args.model)(config, train_data.dataset).to(config["device"])
            trainer = get_trainer(config["MODEL_TYPE"], args.model)(config, model)

            validating = valid_pairs is not None
            fit = recorded_fit(trainer, train_data, valid_data if validating else None, args.model)
            if validating:  # the best epoch's weights, as RecBole's evaluate(load_best_model)
                checkpoint = torch.load(
                    trainer.saved_model_file, map_location=config["device"], weights_only=False
                )
                model.load_state_dict(checkpoint["state_dict"])
                model.load_other_parameter(checkpoint.get("other_parameter"))
            seen = train_data.dataset.inter_matrix(form="csr")
            lists = top_k(model, dataset, seen, users, args.k, config["device"])
        finally:
            os.chdir(cwd)
    with open(out, "w") as fh:
        for user, items in lists.items():
            fh.write(f"{user}\t{','.join(items)}\n")
    examples = dataset.user_num if args.model == "MultiVAE" else len(train_data.dataset)
    epoch_seconds = fit.epoch_seconds
    print(
        json.dumps(
            {
                "train_seconds": fit.train_seconds,
                "train_cpu_seconds": fit.train_cpu_seconds,
                "load_1min": os.getloadavg()[0],
                "epochs": len(fit.epoch_times),
                "best_epoch": fit.best_epoch,
                "best_valid_ndcg@10": fit.best_score,
                "valid_curve": fit.curve,
                "epoch_seconds": epoch_seconds,
                "samples_per_s": examples / epoch_seconds if epoch_seconds else None,
                "train_examples": int(examples),
                "n_users": int(dataset.user_num - 1),
                "n_items": int(dataset.item_num - 1),
                "threads": torch.get_num_threads(),
                "device": str(config["device"]),
            }
        )
    )


if __name__ == "__main__":
    main()
