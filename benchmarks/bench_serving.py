"""Load test of `recforge serve` on loopback: latency, throughput, errors, reload under load.

The server is the real command (`recforge serve DIR`, uvicorn) in its own process; the client
is an asyncio load generator in this process, with C workers, each holding one keep-alive
HTTP/1.1 connection.

- open loop (the bar): requests are scheduled at a fixed rate R, whatever the server does, and
  each latency runs from the request's scheduled time to its last response byte. A slow
  server therefore shows as queueing delay instead of as fewer requests sent (no "coordinated
  omission", as wrk2 measures). Every request asks for a random known user.
- closed loop: each worker sends its next request as soon as the last one returns; gives the
  highest throughput (at the cost of latency = C / throughput).
- reload under load: an open-loop run during which the served artifact is saved again every
  few seconds (alternating two fits), so the server's watcher swaps it in, and POST
  /admin/reload is called too; any failed request fails the run.
- large catalogue (--catalogue N, instead of the above): an iALS model (64 factors) of 20,000
  synthetic users and N synthetic items, served with exact top-k (closed loop, 4 clients: its
  capacity), then open loop from the ANN index (--index-kind, default ivf) that `recforge index`
  builds (its recall@10 against exact is printed). During the exact run a probe connection
  asks /health 20 times a second: its latency shows whether the scans stall the event loop.

    RECFORGE_DATA=../shared/data .venv/bin/python benchmarks/bench_serving.py \
        [--models svd,ials] [--rate 500] [--clients 32] [--duration 60] [--workers 1]
        [--closed] [--only-reload | --no-reload] [--catalogue 1000000 [--exact-only]]

Results go to benchmarks/results/serving.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from _common import read_result, write_result

VERSION = re.compile(rb'"version":"([0-9a-f]+)"')


@dataclass
class Tally:
    """What the clients saw: latencies in seconds, failures by kind, versions answered."""

    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    versions: set[str] = field(default_factory=set)

    def fail(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1

    def summary(self, seconds: float) -> dict[str, Any]:
        lat = np.array(self.latencies) * 1000.0
        pct = np.percentile(lat, [50, 90, 99, 99.9]) if lat.size else [float("nan")] * 4
        return {
            "requests": int(lat.size) + sum(self.failures.values()),
            "ok": int(lat.size),
            "failures": dict(self.failures),
            "req_per_s": round(lat.size / seconds, 1),
            "p50_ms": round(float(pct[0]), 2),
            "p90_ms": round(float(pct[1]), 2),
            "p99_ms": round(float(pct[2]), 2),
            "p999_ms": round(float(pct[3]), 2),
            "max_ms": round(float(lat.max()), 2) if lat.size else None,
            "versions_seen": sorted(self.versions),
        }


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(match.group(1))) if match else b""
    return status, body


Schedule = asyncio.Queue[float | None]  # open loop: each request's send time; None ends


async def _client(
    port: int, paths: list[str], queue: Schedule | None, stop: float, tally: Tally
) -> None:
    """One connection. With a queue (open loop) it takes scheduled send times from it; without
    one (closed loop) it sends back to back until `stop`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(id(tally) ^ id(reader))
    try:
        while True:
            if queue is not None:
                scheduled = await queue.get()
                if scheduled is None:
                    return
            else:
                scheduled = time.perf_counter()
                if scheduled >= stop:
                    return
            path = rng.choice(paths)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            try:
                status, body = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                tally.fail("connection")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if status != 200:
                tally.fail(f"http {status}")
                continue
            tally.latencies.append(time.perf_counter() - scheduled)
            found = VERSION.search(body)
            if found:
                tally.versions.add(found.group(1).decode())
    finally:
        writer.close()


async def _schedule(queue: Schedule, start: float, seconds: float, rate: float, ends: int) -> None:
    """Put each request's send time on `queue` when it falls due, then `ends` Nones."""
    for j in range(int(seconds * rate)):
        due = start + j / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(due)
    for _ in range(ends):
        queue.put_nowait(None)


Probe = tuple[str, float]  # a path asked by one more connection at a fixed rate, e.g. /health


async def _load(
    port: int,
    paths: list[str],
    clients: int,
    seconds: float,
    rate: float | None,
    probe: Probe | None = None,
) -> dict[str, Any]:
    """Run the load; rate None is closed loop. Returns the tally's summary and client CPU;
    with a probe, also the probe's own summary (open loop, latency from its schedule)."""
    tally, probed = Tally(), Tally()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    stop = start + seconds
    queue: Schedule | None = asyncio.Queue() if rate else None
    workers = [
        asyncio.create_task(_client(port, paths, queue, stop, tally)) for _ in range(clients)
    ]
    feeds = []
    if queue is not None and rate:
        feeds.append(_schedule(queue, start, seconds, rate, len(workers)))
    if probe is not None:
        probes: Schedule = asyncio.Queue()
        workers.append(asyncio.create_task(_client(port, [probe[0]], probes, stop, probed)))
        feeds.append(_schedule(probes, start, seconds, probe[1], 1))
    await asyncio.gather(*feeds, *workers)
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    out = tally.summary(elapsed)
    out["seconds"] = round(elapsed, 1)
    out["client_cpu_s"] = round(
        (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 1
    )
    if probe is not None:
        out["probe"] = {"path": probe[0], "rate": probe[1], **probed.summary(elapsed)}
    return out


def run_load(
    port: int,
    paths: list[str],
    clients: int,
    seconds: float,
    rate: float | None,
    probe: Probe | None = None,
) -> dict[str, Any]:
    try:
        import uvloop

        return uvloop.run(_load(port, paths, clients, seconds, rate, probe))
    except ImportError:
        return asyncio.run(_load(port, paths, clients, seconds, rate, probe))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`recforge serve DIR` as a child process, ready once /health answers."""

    def __init__(self, directory: Path, workers: int, watch: float) -> None:
        self.port = free_port()
        cmd = [
            sys.executable, "-m", "recforge", "serve", str(directory), "--port", str(self.port),
            "--workers", str(workers), "--watch", str(watch),
        ]  # fmt: skip
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (read until the server stops)
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start: {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def train(name: str, out: Path, seed: int = 0) -> Callable[[Path], None]:
    """Fit model `name` on ML-100K and save it to `out` with titles, genres and ratings (as
    `recforge train` does), so responses carry what a real page shows. Returns a function
    that saves this fit, with the same extras, again to a path."""
    from recforge.data import FeatureTable, load_movielens
    from recforge.models.registry import get

    data = load_movielens("ml-100k")
    model = get(name, seed=seed)
    model.fit(data.interactions)
    shown = FeatureTable(
        data.item_features.ids, [data.item_features[n] for n in ("title", "genres")]
    )

    def save(path: Path) -> None:
        model.save(path, items=shown, ratings=data.interactions)

    save(out)
    return save


def user_paths(directory: Path, name: str) -> list[str]:
    """A request path per known user of the model saved in `directory`, served as `name`."""
    from recforge import load

    fitted = load(directory)
    ids = fitted.user_ids_.to_raw(np.arange(fitted.n_users_))
    return [f"/users/{u}/recommendations?k=10&model={name}" for u in ids]


def reload_under_load(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Open-loop load on model svd while its artifact is re-saved (two fits in turn) every
    `--reload-every` seconds and POST /admin/reload is called between saves."""
    served = root / "svd"
    fits = [train("svd", served, seed=0), train("svd", root.parent / "spare", seed=1)]
    server = Server(root, args.workers, watch=0.5)
    done = threading.Event()
    saves = reloads = 0

    def swapper() -> None:
        nonlocal saves, reloads
        turn = 1
        while not done.wait(args.reload_every):
            fits[turn % 2](served)
            saves += 1
            turn += 1
            if done.wait(args.reload_every / 2):
                break
            request = urllib.request.Request(
                f"http://127.0.0.1:{server.port}/admin/reload", method="POST"
            )
            urllib.request.urlopen(request, timeout=30).read()
            reloads += 1

    thread = threading.Thread(target=swapper)
    try:
        thread.start()
        result = run_load(
            server.port, user_paths(served, "svd"), args.clients, args.reload_seconds, args.rate
        )
    finally:
        done.set()
        thread.join()
        server.stop()
    result.update(saves=saves, admin_reloads=reloads, rate=args.rate)
    return result


def large_catalogue(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Open-loop load on an iALS model (64 factors) of a synthetic catalogue of
    `--catalogue` items, served from its ANN index (`recforge index`); the same model served
    with exact top-k, whose capacity is far lower, is measured in a closed loop of 4 clients."""
    from recforge.data import synthetic_interactions
    from recforge.models.registry import get

    n_items = args.catalogue
    start = time.perf_counter()
    data = synthetic_interactions(20_000, n_items, 5_000_000, factors=32, seed=0)
    model = get("ials", factors=64, iterations=3, seed=0).fit(data)
    path = model.save(root / "large")
    fit_s = time.perf_counter() - start
    users = [f"/users/{u}/recommendations?k=10" for u in range(data.n_users)]
    out: dict[str, Any] = {"n_items": n_items, "n_users": data.n_users, "fit_s": round(fit_s, 1)}
    server = Server(path, args.workers, watch=0)  # no index yet: exact
    try:
        # a full scan of N items per request: closed loop with 4 clients gives its capacity;
        # meanwhile /health, asked 20 times a second, shows whether the scans stall the
        # event loop (the bar: its p99 under 20 ms)
        out["exact"] = run_load(server.port, users, 4, args.duration, None, ("/health", 20.0))
        print("exact, closed loop, 4 clients", out["exact"], flush=True)
    finally:
        server.stop()
    if args.exact_only:
        return out
    start = time.perf_counter()
    indexed = subprocess.run(
        [
            sys.executable, "-m", "recforge", "index", str(path), "--kind", args.index_kind,
            "--check", "1000",
        ],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    out["index_s"] = round(time.perf_counter() - start, 1)
    out["index_output"] = indexed.stdout.strip().splitlines()
    print(*out["index_output"], sep="\n", flush=True)
    server = Server(path, args.workers, watch=0)
    try:
        run_load(server.port, users, args.clients, 3.0, args.rate)
        out[args.index_kind] = run_load(server.port, users, args.clients, args.duration, args.rate)
        print(args.index_kind, out[args.index_kind], flush=True)
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="svd,ials")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop requests/s")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--closed", action="store_true", help="also a closed-loop run")
    parser.add_argument("--reload-seconds", type=float, default=30.0)
    parser.add_argument("--reload-every", type=float, default=3.0)
    parser.add_argument("--no-reload", action="store_true")
    parser.add_argument("--only-reload", action="store_true", help="skip the other runs")
    parser.add_argument(
        "--catalogue",
        type=int,
        default=0,
        help="instead: serve an iALS model of this many synthetic items from an ANN index",
    )
    parser.add_argument("--index-kind", default="ivf", help="with --catalogue: ivf or hnsw")
    parser.add_argument(
        "--exact-only", action="store_true", help="with --catalogue: skip the ANN index"
    )
    args = parser.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the server: one thread per worker
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    root = work / "models"
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    failed_reload: dict[str, int] = {}
    record = read_result("serving")
    runs = record.setdefault("runs", {})
    try:
        if args.catalogue:
            served = f"{args.index_kind}, open {args.rate:g}/s c{args.clients}"
            if args.exact_only:
                served = "exact only, c4 + /health 20/s"
            key = f"ials {args.catalogue:,} items, {served} w{args.workers}"
            runs[key] = large_catalogue(args, root)
            runs[key]["load_1min_after"] = round(os.getloadavg()[0], 2)
            args.only_reload = args.no_reload = True  # nothing else this run
        for name in [] if args.only_reload else models:
            train(name, root / name)
        server = None if args.only_reload else Server(root, args.workers, watch=0)
        try:
            for name in [] if server is None else models:
                paths = user_paths(root / name, name)
                assert server is not None
                run_load(server.port, paths, args.clients, 3.0, None)  # warm-up
                key = f"{name} open {args.rate:g}/s c{args.clients} w{args.workers}"
                runs[key] = run_load(server.port, paths, args.clients, args.duration, args.rate)
                print(key, runs[key], flush=True)
                if args.closed:
                    key = f"{name} closed c{args.clients} w{args.workers}"
                    runs[key] = run_load(server.port, paths, args.clients, args.duration, None)
                    print(key, runs[key], flush=True)
        finally:
            if server is not None:
                server.stop()
        if not args.no_reload and "svd" in models:
            key = f"svd reload under load {args.rate:g}/s c{args.clients} w{args.workers}"
            runs[key] = reload_under_load(args, root)
            print(key, runs[key], flush=True)
            failed_reload = runs[key]["failures"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = write_result("serving", record)
    print(f"wrote {path}")
    if failed_reload:  # recorded as measured, and the run fails, as the docstring says
        raise SystemExit(
            f"reload under load: {sum(failed_reload.values())} requests failed ({failed_reload})"
        )


if __name__ == "__main__":
    main()
