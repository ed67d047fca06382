"""The HTTP API fuzzed from its own OpenAPI schema by schemathesis' `st run`, against a real
`recforge serve` process: every built-in check (no server error, status codes and response
bodies as documented, schema-valid requests accepted and schema-violating ones refused, 405
with Allow for other methods) on every route, in the examples, coverage (boundary values) and
fuzzing phases.

The served set covers each way a route can answer: a model with titles, genres, ratings and
history scoring (EASE), a rating model without history scoring (bias), one that cannot give
similar items or predict (popularity), and one whose ids are integers (item-KNN).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from recforge.data import Feature, FeatureTable, IdMap, Interactions
from recforge.models import get

from .live_server import free_port, wait_until_up

EXAMPLES = 100  # per route in the fuzzing phase (a fixed seed: the same cases every run)
# Half the generated ids and names are ones the served models know, so routes answer 200
# with full bodies as often as they answer 404 (st reads schemathesis.toml from its cwd).
KNOWN = """
[dictionaries.users]
values = ["u/0", "u/3", "u/7", "u/11", "0", "2"]
[dictionaries.items]
values = ["m0", "m4", "m9", "m14", "100", "103"]
[dictionaries.models]
values = ["ease", "bias", "popularity", "numbers"]
[dictionaries.genres]
values = ["Comedy", "Horror", "drama,comedy"]
[parameters]
"path.user_id" = { dictionary = "users", probability = 0.5 }
"path.item_id" = { dictionary = "items", probability = 0.5 }
"query.model" = { dictionary = "models", probability = 0.7 }
"query.genres" = { dictionary = "genres", probability = 0.5 }
"body.model" = { dictionary = "models", probability = 0.7 }
"body.users[*]" = { dictionary = "users", probability = 0.5 }
"body.items[*]" = { dictionary = "items", probability = 0.5 }
"body.genres" = { dictionary = "genres", probability = 0.5 }
"""


def _string_ids() -> tuple[Interactions, FeatureTable]:
    rng = np.random.default_rng(0)
    pairs = rng.choice(12 * 15, size=90, replace=False)  # distinct (user, item) pairs
    users = [f"u/{p // 15}" for p in pairs]  # "/" in ids: they must be addressable in paths
    items = [f"m{p % 15}" for p in pairs]
    data = Interactions.from_arrays(users, items, rng.integers(1, 6, 90).astype(np.float32))
    raw = [str(r) for r in data.item_ids.to_raw(np.arange(data.n_items))]
    genres = ["Comedy", "Drama|Comedy", "Horror", None]
    features = FeatureTable(
        IdMap(np.array(raw)),
        [
            Feature.text("title", [f"Film {r} (1990)" for r in raw]),
            Feature.multi_hot("genres", [genres[n % 4] for n in range(len(raw))]),
        ],
    )
    return data, features


def run_fuzz(workdir: Path, examples: int) -> subprocess.CompletedProcess[str]:
    """Serve the models above from `workdir` and fuzz every route, `examples` cases per route
    in the fuzzing phase; st's finished process (benchmarks/bench_faults.py --scenario fuzz
    runs this with more examples)."""
    root = workdir / "served"
    data, features = _string_ids()
    get("ease").fit(data).save(root / "ease", items=features, ratings=data)
    get("bias", n_epochs=3).fit(data).save(root / "bias")
    get("popularity").fit(data).save(root / "popularity")
    numbers = Interactions.from_arrays(np.arange(40) // 7, np.arange(40) % 7 + 100)
    get("itemknn").fit(numbers).save(root / "numbers")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "recforge", "serve", str(root), "--port", str(port)]
    fuzz = [
        str(Path(sys.executable).parent / "st"), "run", f"{base}/openapi.json",
        "--checks", "all", "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(examples), "--seed", "20261205", "--workers", "1",
        "--continue-on-failure", "--no-color",
    ]  # fmt: skip
    (workdir / "schemathesis.toml").write_text(KNOWN)
    with subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as server:
        try:
            wait_until_up(server, base + "/health")
            run = subprocess.run(
                fuzz, capture_output=True, text=True, cwd=workdir, timeout=3600,
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    return run


def test_every_route_keeps_its_documented_contract(tmp_path: Path) -> None:
    run = run_fuzz(tmp_path, EXAMPLES)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    tested = re.search(r"(\d+) generated, (\d+) passed", report)
    assert tested is not None, report[-3000:]
    assert int(tested.group(1)) == int(tested.group(2)) > 20 * 13  # every route, many cases
