"""Worker run inside the peer venv: RecBole 1.2.1's EASE on given files, top-k lists out.

python recbole_ease.py REG_WEIGHT TRAIN_TSV USERS_FILE OUT_TSV K
    TRAIN_TSV: "user<TAB>item" lines (raw ids). The model is RecBole's own EASE class built on
    a RecBole dataset of exactly these interactions; its scores for each listed user are cut to
    the top K with the user's training items removed. Prints {"fit_seconds": …} as JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from recbole_compat import restore_numpy_aliases


def main() -> None:
    reg_weight, train_path, users_path, out_path, k = sys.argv[1:6]
    restore_numpy_aliases()
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.data.interaction import Interaction
    from recbole.model.general_recommender import EASE
    from recbole.utils import init_seed

    lines = [ln.split("\t")[:2] for ln in Path(train_path).read_text().splitlines() if ln]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        folder.mkdir()
        rows = "".join(f"{u}\t{i}\n" for u, i in lines)
        header = "user_id:token\titem_id:token\n"
        first = f"{lines[0][0]}\t{lines[0][1]}\n"
        for part in ("train", "valid", "test"):  # valid/test are unused: scores come directly
            (folder / f"data.{part}.inter").write_text(
                header + (rows if part == "train" else first)
            )
        config = Config(
            model="EASE",
            dataset="data",
            config_dict={
                "data_path": tmp,
                "benchmark_filename": ["train", "valid", "test"],
                "load_col": {"inter": ["user_id", "item_id"]},
                "reg_weight": float(reg_weight),
                "device": "cpu",
                "use_gpu": False,
                "show_progress": False,
                "train_neg_sample_args": None,
                "eval_args": {"mode": "full", "order": "RO", "group_by": "user"},
                "state": "ERROR",
            },
        )
        init_seed(0, True)
        dataset = create_dataset(config)
        train_data, _, _ = data_preparation(config, dataset)
        start = time.perf_counter()
        model = EASE(config, train_data.dataset)  # RecBole's EASE solves B in its constructor
        fit_seconds = time.perf_counter() - start
        seen = train_data.dataset.inter_matrix(form="csr")
        known = dataset.field2token_id["user_id"]
        wanted = [u for u in Path(users_path).read_text().split() if u in known]
        uids = np.array([known[u] for u in wanted])
        with torch.no_grad():
            scores = model.full_sort_predict(Interaction({"user_id": torch.tensor(uids)}))
        scores = scores.view(len(uids), -1).numpy().astype(np.float64)
        scores[:, 0] = -np.inf  # RecBole's padding item
        for row, uid in enumerate(uids):
            scores[row, seen[uid].indices] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, : int(k)]
        tokens = dataset.field2id_token["item_id"]
        with open(out_path, "w") as out:
            for u, row, ranked in zip(wanted, top, scores, strict=True):
                items = [tokens[j] for j in row if np.isfinite(ranked[j])]
                out.write(f"{u}\t{','.join(items)}\n")
    print(json.dumps({"fit_seconds": fit_seconds}))


if __name__ == "__main__":
    main()
