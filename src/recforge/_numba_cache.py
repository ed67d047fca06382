"""Where numba keeps recforge's compiled kernels: a user cache directory
($XDG_CACHE_HOME/recforge/numba, else ~/.cache/recforge/numba), not the installed package,
which may be read-only or shared. NUMBA_CACHE_DIR, when set, wins."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["use_user_cache"]


def user_cache_dir() -> Path:
    """$XDG_CACHE_HOME/recforge/numba, else ~/.cache/recforge/numba."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recforge" / "numba"


def use_user_cache() -> None:
    """Point numba's cache at `user_cache_dir()` unless NUMBA_CACHE_DIR is set; also when
    numba was imported first (its config read the environment then)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    path = str(user_cache_dir())
    os.environ["NUMBA_CACHE_DIR"] = path
    config = sys.modules.get("numba.core.config")
    if config is not None and not getattr(config, "CACHE_DIR", ""):
        setattr(config, "CACHE_DIR", path)  # noqa: B010 (numba's config module is untyped)
