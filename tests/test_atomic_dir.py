"""Atomic replacement of model directories: a writer killed at any step of a save leaves the
old model or the new one loadable, and the next save clears what the dead writer left."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from recforge import atomic_dir, load
from recforge.data import synthetic_interactions
from recforge.models import get


def _models() -> tuple[object, object]:
    data = synthetic_interactions(40, 30, 400, seed=0)
    return get("ease", reg=10.0).fit(data), get("ease", reg=90.0).fit(data)


def _die_at(step: int) -> None:
    """In this (forked) process: exit at once, as kill -9 would, at the step-th filesystem
    step of a publish."""
    count = 0

    def dying(real):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal count
            count += 1
            if count == step:
                os._exit(9)
            return real(*args, **kwargs)

        return call

    atomic_dir._fsync_dir = dying(atomic_dir._fsync_dir)  # type: ignore[assignment]
    atomic_dir._exchange = dying(atomic_dir._exchange)  # type: ignore[assignment]
    atomic_dir.os.replace = dying(os.replace)  # type: ignore[assignment]
    atomic_dir.os.symlink = dying(os.symlink)  # type: ignore[assignment]


@pytest.mark.parametrize("earlier_layout", [False, True])
@pytest.mark.parametrize("step", range(1, 9))  # past the last step: the save completes
def test_a_save_killed_at_any_step_leaves_a_whole_model(
    tmp_path: Path, step: int, earlier_layout: bool
) -> None:
    old, new = _models()
    path = tmp_path / "m"
    if earlier_layout:  # a model directory written before the versions layout
        staging = tmp_path / "plain"
        old.save(staging)  # type: ignore[attr-defined]
        os.replace(staging.resolve(), path)
    else:
        old.save(path)  # type: ignore[attr-defined]
    pid = os.fork()
    if pid == 0:  # the writer, killed at `step`
        _die_at(step)
        new.save(path)  # type: ignore[attr-defined]
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    finished = os.waitstatus_to_exitcode(status) == 0
    loaded = load(path)  # whole: the old model, or the new one once the link was swapped
    assert loaded.reg in (10.0, 90.0)
    if finished:
        assert loaded.reg == 90.0
    expected = new if loaded.reg == 90.0 else old
    np.testing.assert_array_equal(loaded.score([0, 1]), expected.score([0, 1]))  # type: ignore[attr-defined]
    old.save(path)  # type: ignore[attr-defined]
    left = [p.name for p in atomic_dir.versions_dir(path).iterdir()]
    assert not [name for name in left if name.startswith(".tmp")], left
    assert len(left) <= atomic_dir.KEEP_VERSIONS
    assert load(path).reg == 10.0
