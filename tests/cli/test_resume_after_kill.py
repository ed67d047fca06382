"""`recforge train` of a neural model killed with SIGKILL in mid-fit, then run again with
--resume, ends with the model of a fit never interrupted (same seed): the same scores and
the same per-epoch log, each epoch once. benchmarks/bench_faults.py --scenario resume repeats
this at random kill times and counts.

"The same" allows float noise: a seeded CPU fit run as a fresh process, checkpointing every
epoch, now and then lands on a second outcome whose scores differ in the fourth decimal
(uninterrupted fits too, so not a resume effect; benchmarks/results/reliability.json counts
it). A wrong resume (the optimizer's moments dropped, the shuffle generator off) moves scores
by whole units, far beyond FLOAT_NOISE."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from recforge import load

EPOCHS = 5
VOLATILE = ("seconds", "samples_per_s")  # timing fields of metrics.jsonl
FLOAT_NOISE = 1e-3  # see the module docstring


def write_clicks(path: Path) -> Path:
    """15,000 distinct (user, item) clicks of 300 users on 200 items."""
    rng = np.random.default_rng(0)
    pairs = rng.choice(300 * 200, 15_000, replace=False)
    lines = ["user,item", *(f"u{p // 200},m{p % 200}" for p in pairs)]
    path.write_text("\n".join(lines) + "\n")
    return path


def train_command(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "recforge", "train", "--data", str(data), "--model", "torchmf",
        "--param", f"epochs={EPOCHS}", "--param", "seed=0", "--param", "batch_size=128",
        "--out", str(out), *extra,
    ]  # fmt: skip


def epochs_logged(out: Path) -> list[dict[str, float]]:
    path = out / "run" / "metrics.jsonl"
    if not path.is_file():
        return []
    lines = [line for line in path.read_text().splitlines() if line.endswith("}")]
    return [{k: v for k, v in json.loads(line).items() if k not in VOLATILE} for line in lines]


def test_a_fit_killed_mid_run_resumes_to_the_model_of_an_uninterrupted_fit(
    tmp_path: Path,
) -> None:
    data = write_clicks(tmp_path / "clicks.csv")
    subprocess.run(train_command(data, tmp_path / "whole"), check=True, capture_output=True)

    cut = tmp_path / "cut"
    with subprocess.Popen(
        train_command(data, cut), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as fit:
        deadline = time.monotonic() + 300
        while len(epochs_logged(cut)) < 2 and fit.poll() is None:
            assert time.monotonic() < deadline, "no epoch logged in 300 s"
            time.sleep(0.01)
        fit.send_signal(signal.SIGKILL)
        fit.wait()
    done = len(epochs_logged(cut))
    assert fit.returncode == -signal.SIGKILL
    assert 2 <= done < EPOCHS, f"the kill came after {done} epochs: nothing left to resume"
    assert not (cut / "model").exists()  # the model itself was never saved

    resumed = subprocess.run(
        train_command(data, cut, "--resume"), capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr

    whole, again = load(tmp_path / "whole"), load(cut)
    users = np.arange(whole.n_users_)
    np.testing.assert_allclose(again.score(users), whole.score(users), rtol=0, atol=FLOAT_NOISE)
    resumed_log, whole_log = epochs_logged(cut), epochs_logged(tmp_path / "whole")
    assert [(e["epoch"], e["lr"]) for e in resumed_log] == [
        (e["epoch"], e["lr"]) for e in whole_log
    ]
    losses = [e["loss"] for e in resumed_log]
    np.testing.assert_allclose(losses, [e["loss"] for e in whole_log], rtol=FLOAT_NOISE)
    assert not list((cut / "run").glob(".tmp-*"))  # no half-written checkpoint left behind
