"""`recforge serve` as a user runs it: a real uvicorn process on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from recforge.data import Interactions
from recforge.models import get

from .live_server import free_port, get_json, wait_until_up, worker_pids


def request_counts(base: str, route: str) -> dict[str, float]:
    """recforge_requests_total of one route by status, read from /metrics."""
    text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    counts = {}
    for line in text.splitlines():
        if line.startswith("recforge_requests_total{") and f'route="{route}"' in line:
            status = re.search(r'status="(\d+)"', line)
            assert status is not None
            counts[status.group(1)] = float(line.rsplit(" ", 1)[1])
    return counts


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_over_http_until_stopped(
    tiny_explicit: Interactions, tmp_path: Path, workers: int
) -> None:
    model = get("ease").fit(tiny_explicit)
    model.save(tmp_path / "run" / "model")
    port = free_port()
    command = [sys.executable, "-m", "recforge", "serve", str(tmp_path / "run"),
               "--port", str(port), "--workers", str(workers)]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            wait_until_up(process, base + "/health")
            status, health = get_json(base + "/health")
            assert status == 200
            assert list(health["models"]) == ["run"]
            status, body = get_json(base + "/users/u1/recommendations?k=2")
            assert status == 200
            assert body["user"] == "u1"
            ids, _ = model.recommend(model.user_ids_.to_index(["u1"]), k=2)
            assert [r["item"] for r in body["items"]] == list(model.item_ids_.to_raw(ids[0]))
            status, body = get_json(base + "/users/u1/recommendations?k=0")
            assert status == 422
            assert body["detail"].startswith("query.k: Input should be greater than or equal")
            status, spec = get_json(base + "/openapi.json")
            assert "/users/{user_id}/recommendations" in spec["paths"]
            for _ in range(9):
                assert get_json(base + "/users/u2/recommendations?k=1")[0] == 200
            for _ in range(3):  # whichever worker answers, the counts are the service's
                counts = request_counts(base, "/users/{user_id}/recommendations")
                assert counts == {"200": 10.0, "422": 1.0}
            metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
            version = health["models"]["run"]
            assert f'recforge_model_info{{model="run",version="{version}"}} 1.0' in metrics
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_worker_killed_under_load_leaves_the_other_answering_and_is_replaced(
    tiny_explicit: Interactions, tmp_path: Path
) -> None:
    get("ease").fit(tiny_explicit).save(tmp_path / "run" / "model")
    port = free_port()
    command = [sys.executable, "-m", "recforge", "serve", str(tmp_path / "run"),
               "--port", str(port), "--workers", "2"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/users/u1/recommendations?k=2"
    outcomes: list[tuple[float, int | str]] = []  # (when, status or the error's type)
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    outcome: int | str = response.status
            except urllib.error.HTTPError as error:
                outcome = error.code
            except OSError as error:
                outcome = type(error).__name__
            outcomes.append((time.monotonic(), outcome))

    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            wait_until_up(process, url)
            deadline = time.monotonic() + 30
            while len(before := worker_pids(process.pid)) < 2:
                assert time.monotonic() < deadline, f"workers found: {before}"
                time.sleep(0.1)
            clients = [threading.Thread(target=client) for _ in range(4)]
            for thread in clients:
                thread.start()
            time.sleep(1.0)
            killed_at = time.monotonic()
            os.kill(before[0], signal.SIGKILL)
            time.sleep(2.0)
            stop.set()
            for thread in clients:
                thread.join()
            while len(after := worker_pids(process.pid)) < 2 or before[0] in after:
                assert time.monotonic() < deadline, f"no worker replaced {before[0]}: {after}"
                time.sleep(0.1)
            assert get_json(url)[0] == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
    answered_after = [o for t, o in outcomes if t > killed_at + 0.5]
    failed = [o for _, o in outcomes if o != 200]
    assert answered_after, "nothing was answered after the kill"
    assert set(answered_after) == {200}
    assert all(isinstance(o, str) for o in failed), failed  # no 5xx, only broken connections
    assert len(failed) <= 4  # at most the requests in flight on the killed worker
