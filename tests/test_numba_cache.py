"""Compiled kernels are cached in the user's cache directory, not in the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIT = (
    "import os, recforge; from recforge.data import synthetic_interactions; "
    "from recforge.models import get; "
    "get('bpr', epochs=1, seed=0).fit(synthetic_interactions(30, 20, 200, seed=0)); "
    "print(os.environ['NUMBA_CACHE_DIR'])"
)


def run_fit(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", FIT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_kernels_are_cached_under_the_user_cache_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    used = run_fit(env)
    assert used == str(tmp_path / "cache" / "recforge" / "numba")
    assert any(Path(used).rglob("bpr_kernels*.nbi")), list(Path(used).rglob("*"))


def test_a_given_numba_cache_dir_wins(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    assert run_fit(env) == str(tmp_path / "mine")
    assert any((tmp_path / "mine").rglob("bpr_kernels*.nbi"))
