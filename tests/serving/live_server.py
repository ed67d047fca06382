"""Helpers for tests that run `recforge serve` as a real process on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until_up(process: subprocess.Popen[bytes], url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer {url} within {seconds} s")


def worker_pids(server_pid: int) -> list[int]:
    """The worker processes of a `recforge serve --workers N` process (its children that run
    uvicorn's spawned workers, not multiprocessing's resource tracker), from /proc."""
    workers = []
    for child in _children(server_pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                command = fh.read().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile
        if b"spawn_main" in command and b"resource_tracker" not in command:
            workers.append(child)
    return workers


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(p) for p in fh.read().split()]
        except OSError:
            continue
    return found
