"""Loading a 20M-row interactions CSV: recforge.data.read_interactions beside pandas.read_csv.

Each reader runs in a fresh child process, so peak RSS belongs to that reader alone. recforge
goes all the way to Interactions (CSR, id maps, timestamps, duplicates checked); pandas only to a
DataFrame. "final arrays" is the size of what recforge keeps. A child imports its library, then
reads twice: the first read ("seconds", cold) is what one CLI call pays, lazy imports and the
loading of compiled kernels included (numba: about half a second); the second ("warm") is the
reading itself.

    .venv/bin/python benchmarks/bench_loader.py [--rows 20000000] [--csv PATH] [--keep]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import current_rss_mb, peak_rss_mb, write_result

HERE = Path(__file__).resolve().parent


def write_csv(path: Path, rows: int) -> None:
    """A synthetic log with a header: user,item,rating,timestamp (power-law item popularity,
    ML-20M-like shape: rows/100 users, rows/400 items)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from recforge.data import synthetic_arrays

    columns = synthetic_arrays(
        n_users=max(10, rows // 100), n_items=max(100, rows // 400), n_interactions=rows,
        explicit=True, seed=0,
    )  # fmt: skip
    table = pa.table(columns)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))


def read_once(reader: str, path: str) -> tuple[float, float, dict[str, int]]:
    """One read by `reader`: (seconds, MiB of what it keeps, its shape)."""
    if reader == "recforge":
        from recforge.data import read_interactions

        start = time.perf_counter()
        data = read_interactions(path)
        seconds = time.perf_counter() - start
        m = data.matrix
        parts = [m.data, m.indices, m.indptr, data.user_ids.raw_ids, data.item_ids.raw_ids]
        if data.timestamps is not None:
            parts.append(data.timestamps)
        shape = {"users": data.n_users, "items": data.n_items, "interactions": data.nnz}
        return seconds, sum(p.nbytes for p in parts) / 2**20, shape
    import pandas as pd

    if reader == "pandas+interactions":
        from recforge.data import Interactions

        start = time.perf_counter()
        frame = pd.read_csv(path)
        built = Interactions.from_dataframe(
            frame, user="user", item="item", rating="rating", timestamp="timestamp"
        )
        seconds = time.perf_counter() - start
        return seconds, built.matrix.data.nbytes * 4 / 2**20, {"interactions": built.nnz}
    if reader.startswith("pandas"):
        engine = "pyarrow" if reader == "pandas-pyarrow" else "c"
        start = time.perf_counter()
        frame = pd.read_csv(path, engine=engine)
        seconds = time.perf_counter() - start
        return seconds, float(frame.memory_usage(deep=True).sum()) / 2**20, {"rows": len(frame)}
    raise SystemExit(f"unknown reader {reader!r}")


def child(reader: str, path: str) -> dict[str, Any]:
    """Runs in the child: import, read once (cold: what one CLI call pays, lazy imports and
    compiled-kernel loading included), report time and memory, then read again (warm)."""
    if reader == "recforge":
        import recforge.data
    else:
        import pandas  # noqa: F401

        if reader == "pandas+interactions":
            import recforge.data  # noqa: F401
    base = current_rss_mb()
    seconds, final_mb, shape = read_once(reader, path)
    peak = peak_rss_mb()
    warm_seconds, _, _ = read_once(reader, path)
    return {
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "peak_rss_mib": peak,
        "rss_after_imports_mib": base,
        "peak_above_imports_mib": peak - base,
        "result_mib": final_mb,
        **shape,
    }


def run_child(reader: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", reader, "--csv", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--csv", type=Path, help="reuse this CSV (written when absent)")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per reader")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, str(args.csv))))
        return
    tmp = None
    path = args.csv
    if path is None:
        tmp = tempfile.TemporaryDirectory(prefix="recforge-bench-")
        path = Path(tmp.name) / "interactions.csv"
    if not path.exists():
        start = time.perf_counter()
        write_csv(path, args.rows)
        print(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB) in "
              f"{time.perf_counter() - start:.1f}s")  # fmt: skip
    readers = ("recforge", "pandas", "pandas-pyarrow", "pandas+interactions")
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in readers}
    # Interleaved rounds, each in a fresh process: on a shared VM the first touch of fresh
    # memory costs seconds at random, so each reader's best round is compared.
    for round_ in range(args.rounds):
        for reader in readers:
            r = run_child(reader, path)
            runs[reader].append(r)
            print(
                f"round {round_ + 1}  {reader:<20} {r['seconds']:6.2f} s (warm "
                f"{r['warm_seconds']:.2f} s)   peak RSS "
                f"{r['peak_rss_mib']:6.0f} MiB ({r['peak_above_imports_mib']:.0f} above imports)"
                f"   result {r['result_mib']:.0f} MiB"
            )
    results: dict[str, dict[str, Any]] = {}
    for reader, rounds in runs.items():
        times = sorted(r["seconds"] for r in rounds)
        best = min(rounds, key=lambda r: r["seconds"])
        results[reader] = {
            **best,
            "seconds": times[0],
            "median_seconds": times[len(times) // 2],
            "all_seconds": [r["seconds"] for r in rounds],
            "median_warm_seconds": float(np.median([r["warm_seconds"] for r in rounds])),
            "all_warm_seconds": [r["warm_seconds"] for r in rounds],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in rounds),
            "peak_above_imports_mib": max(r["peak_above_imports_mib"] for r in rounds),
        }
        print(
            f"{reader:<20} best {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s, "
            f"median warm {results[reader]['median_warm_seconds']:.2f} s, "
            f"peak RSS {results[reader]['peak_rss_mib']:.0f} MiB"
        )
    ours, pandas = results["recforge"], results["pandas"]
    ratios = {
        "time_vs_pandas": ours["seconds"] / pandas["seconds"],
        "time_vs_pandas_pyarrow": ours["seconds"] / results["pandas-pyarrow"]["seconds"],
        "time_vs_pandas_plus_interactions": ours["seconds"]
        / results["pandas+interactions"]["seconds"],
        "median_time_vs_pandas": ours["median_seconds"] / pandas["median_seconds"],
        "median_warm_time_vs_pandas": ours["median_warm_seconds"] / pandas["median_warm_seconds"],
        "peak_above_imports_over_final_arrays": ours["peak_above_imports_mib"] / ours["result_mib"],
        "peak_over_final_arrays": ours["peak_rss_mib"] / ours["result_mib"],
    }
    for name, value in ratios.items():
        print(f"{name:<40} {value:.2f}")
    out = write_result(
        "loader",
        {
            "rows": args.rows,
            "rounds": args.rounds,
            "csv_mib": path.stat().st_size / 2**20,
            **results,
            "ratios": ratios,
        },
    )
    print(f"wrote {out}")
    if tmp is not None and not args.keep:
        tmp.cleanup()


if __name__ == "__main__":
    main()
