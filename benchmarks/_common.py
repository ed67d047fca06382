"""Helpers shared by the benchmark scripts: peak memory, machine facts, JSON results."""

from __future__ import annotations

import itertools
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# The second rated data set the defaults are checked on (never tuned on): not MovieLens-like,
# with flatter popularity, more items than users and heavier users.
SYNTHETIC_RATED: dict[str, Any] = {
    "n_users": 3000,
    "n_items": 4000,
    "n_interactions": 150_000,
    "popularity_exponent": 0.7,
    "activity_exponent": 0.8,
    "seed": 1,
}
RATED_DATASETS = ("ml-100k", "synthetic")


def rated_dataset(name: str) -> Any:
    """Interactions with ratings: MovieLens 100K, or the synthetic set of SYNTHETIC_RATED."""
    from recforge.data import load_movielens, synthetic_interactions

    if name == "ml-100k":
        return load_movielens("ml-100k").interactions
    if name == "synthetic":
        return synthetic_interactions(**SYNTHETIC_RATED, explicit=True)
    raise SystemExit(f"unknown data set {name!r}; choose from {', '.join(RATED_DATASETS)}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    VmHWM from /proc: getrusage's ru_maxrss survives fork and exec on Linux, so a child
    started by a large parent would report the parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Current resident memory of this process, in MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def read_result(name: str) -> dict[str, Any]:
    """benchmarks/results/<name>.json as written by `write_result`, or {} when absent (so a run
    of some cases can keep the figures of the others)."""
    path = RESULTS / f"{name}.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json and return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    return path


def over_seeds(runs: list[dict[str, Any]], spread: str) -> dict[str, Any]:
    """One record for the runs of several seeds (a single run is returned as it is).

    A field equal in every run keeps its value. Every other figure that is a number in every
    run is the mean over the runs; one missing or null in any run makes it null (a mean of
    some seeds would pass for all of them). `spread` (a figure's name) also gets its sample
    standard deviation as f"{spread}_std". "when" is the latest run's; other fields (names,
    parameters) are the first run's; per-run lists (valid curves) and "seed" stay in the runs,
    which the record keeps under "runs", their seeds under "seeds".
    """
    if len(runs) == 1:
        return runs[0]
    record: dict[str, Any] = {}
    for key, first in runs[0].items():
        if key in ("seed", "runs", "seeds") or isinstance(first, list):
            continue
        values = [r.get(key) for r in runs]
        if all(v == first for v in values):
            record[key] = first
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            record[key] = statistics.fmean(values)
        elif first is None or (isinstance(first, int | float) and not isinstance(first, bool)):
            record[key] = None
        else:
            record[key] = first
    if "when" in record:
        record["when"] = max(r["when"] for r in runs)
    record[f"{spread}_std"] = statistics.stdev(r[spread] for r in runs)
    record["seeds"] = [r["seed"] for r in runs]
    record["runs"] = runs
    return record


def grid_search(
    axes: dict[str, list[Any]],
    score: Callable[[dict[str, Any]], float],
    rounds: int,
    floors: dict[str, float] | None = None,
    key: str = "valid",
) -> list[dict[str, Any]]:
    """Score every point of the grid `axes` (higher is better) and, where the best lies on an
    axis's edge, extend that axis one step outward from the best point (the ratio of its first
    two values), for up to `rounds` rounds; an axis never goes below its `floors` value.
    Returns every point tried: {"params", key: its score, "extension_round"}."""
    floors = floors or {}
    tried: list[dict[str, Any]] = []

    def run(point: dict[str, Any], round_: int) -> None:
        tried.append({"params": point, key: score(point), "extension_round": round_})

    for values in itertools.product(*axes.values()):
        run(dict(zip(axes, values, strict=True)), 0)
    for round_ in range(1, rounds + 1):
        best = max(tried, key=lambda t: t[key])["params"]
        new = []
        for axis, start in axes.items():
            seen = sorted({t["params"][axis] for t in tried})
            step = start[1] / start[0]
            if best[axis] == seen[-1]:
                new.append({**best, axis: type(start[0])(seen[-1] * step)})
            elif best[axis] == seen[0] and seen[0] / step > floors.get(axis, 0):
                new.append({**best, axis: type(start[0])(seen[0] / step)})
        new = [p for p in new if p not in [t["params"] for t in tried]]
        if not new:
            break
        for point in new:
            run(point, round_)
    return tried
