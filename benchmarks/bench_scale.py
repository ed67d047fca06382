"""Scale: iALS beside implicit's ALS, and the item-KNN similarity build, on 20M interactions.

The synthetic set has MovieLens 20M's shape (138,493 users × 26,744 items, power-law
popularity). Each run is a fresh child process, so its peak RSS is its own; the CSR is written
once to a .npz that both libraries load. The children warm up on a tiny set first, so numba's
one-off kernel loading is not timed (implicit's kernels are compiled ahead of time). implicit
runs with OPENBLAS_NUM_THREADS=1, as it asks (its own threads do the work).

    .venv/bin/python benchmarks/bench_scale.py [--interactions 20000000] [--runs ials,implicit,knn]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import peak_rss_mb, read_result, write_result
from peers import peer_python

N_USERS, N_ITEMS = 138_493, 26_744
FACTORS, ITERATIONS = 64, 15

IMPLICIT_CHILD = """
import json, sys, time
import numpy as np, scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
z = np.load(sys.argv[1])
m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
AlternatingLeastSquares(factors=4, iterations=1).fit(m[:100], show_progress=False)
model = AlternatingLeastSquares(factors=int(sys.argv[2]), iterations=int(sys.argv[3]),
                                regularization=0.01, alpha=1.0, random_state=0)
start = time.perf_counter()
model.fit(m, show_progress=False)
seconds = time.perf_counter() - start
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0]
print(json.dumps({"seconds": seconds, "peak_rss_mib": int(hwm.split()[1]) / 1024}))
"""


def child(run: str, path: str) -> dict[str, Any]:
    import scipy.sparse as sp

    from recforge.data import IdMap, Interactions
    from recforge.models import get

    z = np.load(path)
    shape = tuple(int(x) for x in z["shape"])
    matrix = sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=shape)
    data = Interactions(matrix, IdMap(np.arange(shape[0])), IdMap(np.arange(shape[1])))
    small = Interactions(
        sp.csr_array(matrix[:200]), IdMap(np.arange(200)), IdMap(np.arange(shape[1]))
    )
    if run == "ials":
        params = {"factors": FACTORS, "iterations": ITERATIONS, "reg": 0.01, "alpha": 0.0}
        get("ials", factors=4, iterations=1).fit(small)  # load the compiled kernels
        model = get("ials", seed=0, **params)
    else:
        params = {"similarity": "cosine", "neighbors": 100}
        get("itemknn", **params).fit(small)
        model = get("itemknn", **params)
    start = time.perf_counter()
    model.fit(data)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mib": peak_rss_mb(), "params": params}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=20_000_000)
    parser.add_argument("--runs", default="ials,implicit,knn")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--npz", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.npz)))
        return
    from recforge.data import synthetic_interactions

    start = time.perf_counter()
    data = synthetic_interactions(N_USERS, N_ITEMS, args.interactions, timestamps=False, seed=0)
    print(f"generated {data.nnz:,} interactions in {time.perf_counter() - start:.1f}s")
    results: dict[str, Any] = {"interactions": data.nnz, "users": N_USERS, "items": N_ITEMS}
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "data.npz"
        m = data.matrix
        np.savez(npz, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.array(m.shape))
        del data, m
        for run in [r.strip() for r in args.runs.split(",") if r.strip()]:
            if run == "implicit":
                command = [str(peer_python()), "-c", IMPLICIT_CHILD, str(npz), str(FACTORS),
                           str(ITERATIONS)]  # fmt: skip
            else:
                command = [sys.executable, __file__, "--child", run, "--npz", str(npz)]
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"} if run == "implicit" else None
            out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
            results[run] = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{run:<9} {results[run]['seconds']:7.1f} s   peak RSS "
                f"{results[run]['peak_rss_mib']:7.0f} MiB"
            )
    previous = read_result("scale")
    if previous.get("interactions") == results["interactions"]:  # keep the runs not redone
        results = {**{k: v for k, v in previous.items() if k != "machine"}, **results}
    if "ials" in results and "implicit" in results:
        results["ials_time_vs_implicit"] = (
            results["ials"]["seconds"] / results["implicit"]["seconds"]
        )
        print(f"iALS / implicit time: {results['ials_time_vs_implicit']:.2f}")
    print(f"wrote {write_result('scale', results)}")


if __name__ == "__main__":
    main()
