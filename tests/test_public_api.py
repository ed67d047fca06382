"""The public surface: every package declares an `__all__` of names that really exist (ruff's
RUF022 keeps it sorted)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "recforge",
    "recforge.data",
    "recforge.evaluation",
    "recforge.models",
    "recforge.errors",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.{attr} is listed in __all__ but missing"


def test_top_level_entry_points() -> None:
    import recforge

    assert callable(recforge.load)
    assert callable(recforge.models.get)
    assert recforge.__version__.count(".") == 2


def test_importing_recforge_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, recforge, recforge.data, recforge.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
