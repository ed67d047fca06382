"""Faults injected on purpose, counted: kill -9 in saves, fits and serving; API fuzzing.

--scenario saves: kill -9 at random points of `save`, with a reader polling. Two EASE models
(reg 100 and reg 500, 2,000 items: a 16 MB weight matrix, so a save takes long enough to be
cut in any of its steps) are fitted once. For each of --kills trials a forked
child saves them alternately into one artifact directory without end, and the parent kills it
with SIGKILL after a random delay (0 to --max-delay-ms ms), then loads the directory: it must
load, and be one of the two models (its reg, and its scores for three users equal to that
model's). All the while a second forked process loads the directory in a loop and counts its
loads and failures. The figures: trials, loads after a kill that failed or gave neither model,
the reader's loads and failures (with the first failure's message), and the most staging
directories and versions found on disk after a kill (a later save removes a dead writer's).

--scenario resume: `recforge train --model torchmf` (5 epochs, seed 0) of 15,000 clicks, once
uninterrupted, then --trials times killed with SIGKILL after a random delay (0 to the
uninterrupted run's wall time) up to --kills-per-trial times, each kill followed by the same
command with --resume (without it when the kill came before the first checkpoint). The
figures: trials and kills, runs that failed, and trials whose final model differs from the
uninterrupted one (scores of every user apart by more than FLOAT_NOISE, or another per-epoch
log less its timings), and those equal to the bit. FLOAT_NOISE: a seeded CPU fit in a fresh
process now and then lands on a second outcome a little apart (uninterrupted fits included),
while a wrong resume moves scores by whole units; largest_score_gap records the noise seen.

--scenario service: `recforge serve --workers 2` (EASE) under an open-loop load of --rate GETs
per second: after --phase-s, one worker is killed with SIGKILL; after another --phase-s the
service gets SIGTERM and a new one is started on the same port, then runs --phase-s more. The
figures: the answers in each phase by status or error, server errors, how soon uvicorn
replaced the dead worker, the restart's gap. No route writes stored state, so there is no
acknowledged write to lose.

--scenario fuzz: the HTTP API fuzzed by schemathesis from its OpenAPI schema, with the harness
of tests/serving/test_api_fuzz.py (a real `recforge serve`, every check) and --examples cases
per route in the fuzzing phase (make test runs 100). The figures: operations and test cases,
passed and failed.

    .venv/bin/python benchmarks/bench_faults.py --scenario saves [--kills 1000]
        [--max-delay-ms 150]
    .venv/bin/python benchmarks/bench_faults.py --scenario resume [--trials 20]
        [--kills-per-trial 2]
    .venv/bin/python benchmarks/bench_faults.py --scenario service [--rate 100] [--phase-s 10]
    .venv/bin/python benchmarks/bench_faults.py --scenario fuzz [--examples 1000]

Exits non-zero when any load failed, any resumed model differs or any fuzz case failed.
Results: each scenario's record in benchmarks/results/reliability.json (the others' are kept).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import machine, read_result, write_result

USERS = np.array([0, 1, 2])
FLOAT_NOISE = 1e-3  # resume scenario: the score gap still counted as the same model


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


def save_kills(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The saves scenario: its record, and the first failure ("" when none)."""
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
    }
    print(
        f"{args.kills} kill -9s during saves: {bad_loads} failed loads after a kill; a reader "
        f"polling meanwhile: {reader_loads} loads, {reader_failures} failed; at most "
        f"{most_staging} staging directories and {most_versions} versions on disk ({seconds:.0f} s)"
    )
    return record, first_bad or first_reader


def write_clicks(path: Path) -> Path:
    """15,000 distinct (user, item) clicks of 300 users on 200 items."""
    rng = np.random.default_rng(0)
    pairs = rng.choice(300 * 200, 15_000, replace=False)
    path.write_text("\n".join(["user,item", *(f"u{p // 200},m{p % 200}" for p in pairs)]) + "\n")
    return path


def epoch_log(out: Path) -> list[dict[str, Any]]:
    """The run's metrics.jsonl less its timing fields."""
    lines = (out / "run" / "metrics.jsonl").read_text().splitlines()
    timing = ("seconds", "samples_per_s")
    return [{k: v for k, v in json.loads(x).items() if k not in timing} for x in lines if x]


def same_log(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    """The same epochs and learning rates in order, and losses equal up to FLOAT_NOISE."""
    if [(e["epoch"], e["lr"]) for e in got] != [(e["epoch"], e["lr"]) for e in want]:
        return False
    pairs = zip(got, want, strict=True)
    return all(abs(g["loss"] - w["loss"]) <= FLOAT_NOISE * abs(w["loss"]) for g, w in pairs)


def resume_kills(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The resume scenario: its record, and the first failure ("" when none)."""
    from recforge import load

    rng = random.Random(args.seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        work = Path(name)
        data = write_clicks(work / "clicks.csv")

        def command(out: Path, *extra: str) -> list[str]:
            return [
                sys.executable, "-m", "recforge", "train", "--data", str(data), "--model",
                "torchmf", "--param", "epochs=5", "--param", "seed=0", "--param",
                "batch_size=128", "--out", str(out), *extra,
            ]  # fmt: skip

        began = time.perf_counter()
        subprocess.run(command(work / "whole"), check=True, capture_output=True)
        whole_s = time.perf_counter() - began
        whole = load(work / "whole")
        users = np.arange(whole.n_users_)
        expected, expected_log = whole.score(users), epoch_log(work / "whole")
        kills = finished_first = fresh_restarts = failed_runs = differ = bitwise = 0
        worst = 0.0
        first = ""
        for trial in range(args.trials):
            out = work / f"trial{trial}"
            cut = 0
            while True:
                resume = (out / "run" / "checkpoint.pt").is_file()
                fresh_restarts += int(cut > 0 and not resume)
                run = subprocess.Popen(
                    command(out, *(["--resume"] if resume else [])),
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )  # fmt: skip
                if cut < args.kills_per_trial:
                    try:
                        run.wait(timeout=rng.uniform(0.0, whole_s))
                        finished_first += 1
                    except subprocess.TimeoutExpired:
                        run.kill()
                        run.wait()
                        run.stderr.close()  # type: ignore[union-attr]
                        kills += 1
                        cut += 1
                        continue
                run.wait()
                error = run.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
                run.stderr.close()  # type: ignore[union-attr]
                break
            if run.returncode != 0:
                failed_runs += 1
                first = first or f"trial {trial}: exit {run.returncode}: {error.strip()[-300:]}"
                continue
            scores = load(out).score(users)
            gap = float(np.max(np.abs(scores - expected)))
            worst = max(worst, gap)
            bitwise += int(gap == 0)
            if gap > FLOAT_NOISE or not same_log(epoch_log(out), expected_log):
                differ += 1
                first = first or f"trial {trial}: the model differs (scores by up to {gap:g})"
            print(f"trial {trial + 1}/{args.trials}: {cut} kills, score gap {gap:g}", flush=True)
    seconds = time.perf_counter() - start
    record = {
        "trials": args.trials,
        "kills_per_trial": args.kills_per_trial,
        "fit": "torchmf, 5 epochs, seed 0, batch 128, 15,000 clicks (300 users x 200 items)",
        "uninterrupted_s": round(whole_s, 1),
        "kills": kills,
        "runs_finished_before_their_kill": finished_first,
        "restarts_without_a_checkpoint": fresh_restarts,
        "failed_runs": failed_runs,
        "models_that_differ": differ,
        "differ_means": f"scores apart by more than {FLOAT_NOISE:g}, or another epoch log",
        "models_bitwise_equal": bitwise,
        "largest_score_gap": worst,
        "first_failure": first,
        "seconds": round(seconds, 1),
    }
    print(
        f"{args.trials} trials, {kills} kill -9s during fits: {failed_runs} runs failed, "
        f"{differ} final models differ from the uninterrupted fit, {bitwise} equal to the bit "
        f"(largest score gap {worst:g})"
    )
    return record, first


def api_fuzz(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The fuzz scenario: tests/serving/test_api_fuzz.py's harness with --examples per route."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from serving.test_api_fuzz import run_fuzz  # the same served set, config and checks

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        run = run_fuzz(Path(name), args.examples)
    report = run.stdout + run.stderr
    seconds = time.perf_counter() - start
    cases = re.search(r"(\d+) generated, (\d+) passed(?:, (\d+) failed)?", report)
    operations = re.search(r"Tested: (\d+)", report)
    if cases is None or operations is None:
        return {"report_tail": report[-2000:]}, "st printed no summary"
    failed = int(cases.group(3) or 0)
    record = {
        "tool": "schemathesis " + (re.search(r"Schemathesis v(\S+)", report) or ["", "?"])[1],
        "checks": "all (incl. response schema conformance), phases examples, coverage, fuzzing",
        "examples_per_route": args.examples,
        "operations_tested": int(operations.group(1)),
        "test_cases": int(cases.group(1)),
        "passed": int(cases.group(2)),
        "failed": failed,
        "exit_status": run.returncode,
        "seconds": round(seconds, 1),
    }
    print(
        f"{record['operations_tested']} operations, {record['test_cases']} test cases: "
        f"{failed} failed (st exit {run.returncode})"
    )
    failure = "" if failed == 0 and run.returncode == 0 else report[-3000:]
    return record, failure


class OpenLoop:
    """GET `url` at `rate` per second whatever the answers (a pool sends each on schedule);
    each outcome is (sent at, status or the error's type name)."""

    def __init__(self, url: str, rate: float) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.url, self.rate = url, rate
        self.outcomes: list[tuple[float, int | str]] = []
        self._pool = ThreadPoolExecutor(max_workers=64)
        self._stop = threading.Event()
        self._pacer = threading.Thread(target=self._pace)

    def __enter__(self) -> OpenLoop:
        self._pacer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._pacer.join()
        self._pool.shutdown(wait=True)

    def _pace(self) -> None:
        start, n = time.monotonic(), 0
        while not self._stop.is_set():
            self._pool.submit(self._one, time.monotonic())
            n += 1
            time.sleep(max(0.0, start + n / self.rate - time.monotonic()))

    def _one(self, sent: float) -> None:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.url, timeout=10) as response:
                response.read()
                outcome: int | str = response.status
        except urllib.error.HTTPError as error:
            outcome = error.code
        except OSError as error:
            reason = getattr(error, "reason", error)
            outcome = type(reason).__name__
        self.outcomes.append((sent, outcome))

    def tally(self, since: float = 0.0, until: float = float("inf")) -> dict[str, int]:
        counts: dict[str, int] = {}
        for sent, outcome in self.outcomes:
            if since <= sent < until:
                counts[str(outcome)] = counts.get(str(outcome), 0) + 1
        return counts


def service_faults(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The service scenario: kill -9 one of two workers, then restart the service, both under
    an open-loop load of --rate requests per second."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from recforge.data import Interactions
    from recforge.models import get
    from serving.live_server import free_port, wait_until_up, worker_pids

    with tempfile.TemporaryDirectory() as name:
        work = Path(name)
        rng = np.random.default_rng(0)
        pairs = rng.choice(2_000 * 1_000, 50_000, replace=False)
        data = Interactions.from_arrays(pairs // 1_000, pairs % 1_000)
        get("ease").fit(data).save(work / "run" / "model")
        port = free_port()
        serve = [sys.executable, "-m", "recforge", "serve", str(work / "run"), "--port",
                 str(port), "--workers", "2"]  # fmt: skip
        url = f"http://127.0.0.1:{port}/users/7/recommendations?k=10"
        first = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until_up(first, url)
        deadline = time.monotonic() + 60
        while len(workers := worker_pids(first.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        with OpenLoop(url, args.rate) as load:
            time.sleep(args.phase_s)
            killed_at = time.monotonic()
            os.kill(workers[0], signal.SIGKILL)
            replaced_s = None
            while time.monotonic() < killed_at + args.phase_s:
                now = worker_pids(first.pid)
                if replaced_s is None and len(now) >= 2 and workers[0] not in now:
                    replaced_s = time.monotonic() - killed_at
                time.sleep(0.05)
            stopped_at = time.monotonic()
            first.terminate()  # SIGTERM: uvicorn stops accepting and finishes what it has
            first.wait(timeout=60)
            second = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            wait_until_up(second, url)
            back_at = time.monotonic()
            time.sleep(args.phase_s)
        second.terminate()
        second.wait(timeout=60)
    before = load.tally(until=killed_at)
    kill = load.tally(killed_at, stopped_at)
    restart = load.tally(stopped_at, back_at + args.phase_s)
    server_errors = sum(n for k, n in load.tally().items() if k.startswith("5"))
    refused = ("200", "ConnectionRefusedError")  # an answer, or no connection at all
    reset = sum(n for p in (kill, restart) for k, n in p.items() if k not in refused)
    record = {
        "served": "ease, 2,000 users x 1,000 items, 2 workers; GET top-10 of one user",
        "rate_per_s": args.rate,
        "phase_s": args.phase_s,
        "before": before,
        "after_kill_of_one_worker": kill,
        "worker_replaced_after_s": None if replaced_s is None else round(replaced_s, 2),
        "across_restart": restart,
        "restart_gap_s": round(back_at - stopped_at, 2),
        "server_errors": server_errors,
        "requests_reset_unanswered": reset,
        "reset_means": "the connection was reset before any answer (at a restart: those the "
        "kernel had queued for the old service when it closed its socket)",
        "writes": "none: no route changes stored state, so no acknowledged write can be lost",
    }
    print(json.dumps(record, indent=1))
    failure = ""
    if server_errors or kill.get("200", 0) == 0 or replaced_s is None:
        failure = "a 5xx, no answer after the kill, or no replacement worker"
    return record, failure


SCENARIOS = {
    "saves": save_kills,
    "resume": resume_kills,
    "fuzz": api_fuzz,
    "service": service_faults,
}
RECORDS = {  # their keys in reliability.json
    "saves": "save_kills",
    "resume": "resume_kills",
    "fuzz": "api_fuzz",
    "service": "service_faults",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="saves")
    parser.add_argument("--kills", type=int, default=1000, help="saves: kill -9s")
    parser.add_argument("--max-delay-ms", type=float, default=150.0, help="saves")
    parser.add_argument("--trials", type=int, default=20, help="resume: fits to cut")
    parser.add_argument("--kills-per-trial", type=int, default=2, help="resume")
    parser.add_argument("--examples", type=int, default=1000, help="fuzz: cases per route")
    parser.add_argument("--rate", type=float, default=100.0, help="service: requests/s")
    parser.add_argument("--phase-s", type=float, default=10.0, help="service: s per phase")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    record, failure = SCENARIOS[args.scenario](args)
    record["machine"] = machine()
    record["load_1min_after"] = round(os.getloadavg()[0], 2)
    record["command"] = shlex.join(
        [".venv/bin/python", "benchmarks/bench_faults.py", *sys.argv[1:]]
    )
    results = read_result("reliability")
    results.pop("machine", None)  # each scenario's record carries its own
    results[RECORDS[args.scenario]] = record
    print(f"wrote {write_result('reliability', results)}")
    if failure:
        sys.exit(f"failures: {failure}")


if __name__ == "__main__":
    main()
