"""Faults injected into model saves: kill -9 at random points of `save`, with a reader polling.

Two EASE models (reg 100 and reg 500, 2,000 items: a 16 MB weight matrix, so a save takes long
enough to be cut in any of its steps) are fitted once. For each of --kills trials a forked
child saves them alternately into one artifact directory without end, and the parent kills it
with SIGKILL after a random delay (0 to --max-delay-ms ms), then loads the directory: it must
load, and be one of the two models (its reg, and its scores for three users equal to that
model's). All the while a second forked process loads the directory in a loop and counts its
loads and failures. The figures: trials, loads after a kill that failed or gave neither model,
the reader's loads and failures (with the first failure's message), and the most staging
directories and versions found on disk after a kill (a later save removes a dead writer's).

    .venv/bin/python benchmarks/bench_faults.py [--kills 1000] [--max-delay-ms 150] [--out PATH]

Exits non-zero when any load failed. Results: benchmarks/results/faults.json (or --out).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import RESULTS, machine, write_result

USERS = np.array([0, 1, 2])


def models() -> tuple[Any, Any]:
    from recforge.data import synthetic_interactions
    from recforge.models import get

    data = synthetic_interactions(1500, 2000, 60_000, seed=0)
    return get("ease", reg=100.0).fit(data), get("ease", reg=500.0).fit(data)


def writer(path: Path, pair: tuple[Any, Any]) -> None:
    """Save the two models alternately into `path`, forever (until killed)."""
    n = 0
    while True:
        pair[n % 2].save(path)
        n += 1


def reader(path: Path, stop: Any, out: Any) -> None:
    """Load `path` in a loop until `stop` is set; send (loads, failures, first error)."""
    from recforge import load

    loads = failures = 0
    first = ""
    while not stop.is_set():
        try:
            load(path)
            loads += 1
        except Exception as exc:  # any failure counts
            failures += 1
            first = first or f"{type(exc).__name__}: {exc}"
    out.send((loads, failures, first))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--max-delay-ms", type=float, default=150.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.json")
    args = parser.parse_args()

    from recforge import load

    pair = models()
    expected = {float(m.reg): m.score(USERS) for m in pair}
    rng = random.Random(args.seed)
    context = mp.get_context("fork")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "model"
        pair[0].save(path)
        stop = context.Event()
        receive, send = context.Pipe(duplex=False)
        polling = context.Process(target=reader, args=(path, stop, send))
        polling.start()
        bad_loads, first_bad = 0, ""
        most_staging = most_versions = 0
        for _ in range(args.kills):
            child = context.Process(target=writer, args=(path, pair))
            child.start()
            time.sleep(rng.uniform(0.0, args.max_delay_ms) / 1000)
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
            child.join()
            try:
                model = load(path)
                reg = float(model.reg)
                if reg not in expected or not np.array_equal(model.score(USERS), expected[reg]):
                    raise ValueError(f"neither model (reg {reg})")
            except Exception as exc:  # any failure counts
                bad_loads += 1
                first_bad = first_bad or f"{type(exc).__name__}: {exc}"
            entries = [p.name for p in (Path(name) / ".model.versions").iterdir()]
            most_staging = max(most_staging, sum(e.startswith(".tmp") for e in entries))
            most_versions = max(most_versions, sum(e.startswith("v") for e in entries))
        stop.set()
        reader_loads, reader_failures, first_reader = receive.recv()
        polling.join()
    seconds = time.perf_counter() - start
    record = {
        "machine": machine(),
        "save_kills": {
            "kills": args.kills,
            "max_delay_ms": args.max_delay_ms,
            "model": "ease, 2,000 items (16 MB weights), reg 100 / 500 alternately",
            "loads_after_kill_failed": bad_loads,
            "first_failure": first_bad,
            "reader_loads": reader_loads,
            "reader_failures": reader_failures,
            "reader_first_failure": first_reader,
            "most_staging_dirs_left": most_staging,
            "most_versions_on_disk": most_versions,
            "seconds": seconds,
        },
    }
    print(
        f"{args.kills} kill -9s during saves: {bad_loads} failed loads after a kill; a reader "
        f"polling meanwhile: {reader_loads} loads, {reader_failures} failed; at most "
        f"{most_staging} staging directories and {most_versions} versions on disk ({seconds:.0f} s)"
    )
    if args.out == RESULTS / "faults.json":
        write_result("faults", record)
    else:
        import json

        args.out.write_text(json.dumps(record, indent=2) + "\n")
    if bad_loads or reader_failures:
        sys.exit(f"failures: {first_bad or first_reader}")


if __name__ == "__main__":
    main()
