"""Time synthetic data generation at MovieLens-20M scale; print figures, never assert.

Run from the repository root:
    .venv/bin/python benchmarks/bench_synthetic.py [--interactions 20000000] [--repeat 1]
Writes benchmarks/results/synthetic.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from recforge.data.synthetic import synthetic_arrays, synthetic_interactions

N_USERS, N_ITEMS = 138_493, 26_744  # the shape of MovieLens 20M
RESULTS = Path(__file__).resolve().parent / "results" / "synthetic.json"


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time (s) of `repeat` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def top_share(item: np.ndarray, n_items: int) -> float:
    ranked = np.sort(np.bincount(item, minlength=n_items))[::-1]
    return float(ranked[: n_items // 10].sum() / ranked.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    n = args.interactions
    cases: list[dict[str, Any]] = []

    for explicit in (False, True):
        seconds, cols = best_of(
            args.repeat, lambda e=explicit: synthetic_arrays(N_USERS, N_ITEMS, n, explicit=e)
        )
        made = int(cols["user"].size)
        per_user = np.bincount(cols["user"], minlength=N_USERS)
        case = {
            "function": "synthetic_arrays",
            "explicit": explicit,
            "seconds": round(seconds, 2),
            "interactions": made,
            "short_of_request": n - made,
            "million_per_second": round(made / seconds / 1e6, 2),
            "top10pct_item_share": round(top_share(cols["item"], N_ITEMS), 3),
            "interactions_per_user_min_median_max": [
                int(per_user.min()),
                float(np.median(per_user)),
                int(per_user.max()),
            ],
        }
        if explicit:
            case["mean_rating"] = round(float(cols["rating"].mean()), 3)
        cases.append(case)
        print(json.dumps(case))
        del cols

    seconds, x = best_of(args.repeat, lambda: synthetic_interactions(N_USERS, N_ITEMS, n))
    case = {
        "function": "synthetic_interactions",
        "explicit": False,
        "seconds": round(seconds, 2),
        "interactions": x.nnz,
        "million_per_second": round(x.nnz / seconds / 1e6, 2),
    }
    cases.append(case)
    print(json.dumps(case))

    report = {
        "benchmark": "synthetic data generation",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "shape": {"users": N_USERS, "items": N_ITEMS, "requested_interactions": n},
        "repeat": args.repeat,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "cases": cases,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
