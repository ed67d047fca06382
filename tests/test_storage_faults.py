"""Saving where writing fails: a full disk or a read-only place gives one StorageError that
names the path and the fix, and the model saved there before stays whole and loadable.

Simulated here (an OSError at the write), and for real on a small tmpfs in a private mount
namespace (`unshare -m`), which needs the right to mount: that test is skipped without it."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import recforge
from recforge import artifact
from recforge.data import Interactions
from recforge.errors import StorageError
from recforge.models import get


def versions_left(target: Path) -> list[str]:
    return sorted(p.name for p in (target.parent / f".{target.name}.versions").iterdir())


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOSPC, "no space left to write the model ("),
        (errno.EDQUOT, "no space left to write the model ("),
        (errno.EROFS, "cannot write the model there (Read-only file system); choose a writable"),
        (errno.EACCES, "cannot write the model there (Permission denied)"),
        (errno.EIO, "writing the model failed: Input/output error"),
    ],
)
def test_a_failed_write_names_the_path_and_leaves_the_old_model(
    tiny_explicit: Interactions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    expected: str,
) -> None:
    old = get("ease", reg=10.0).fit(tiny_explicit)
    target = old.save(tmp_path / "m")
    before = versions_left(target)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(artifact.np, "savez", fail)
    with pytest.raises(StorageError) as caught:
        get("ease", reg=99.0).fit(tiny_explicit).save(target)
    message = str(caught.value)
    assert message.startswith(f"{target}: ")
    assert expected in message
    assert "\n" not in message
    monkeypatch.undo()
    assert recforge.load(target).reg == 10.0
    assert versions_left(target) == before  # the staging directory went with the failure


def test_a_directory_that_cannot_be_made_is_a_storage_error(
    tiny_explicit: Interactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(StorageError, match=r"m: cannot write the model there \(Read-only"):
        get("ease").fit(tiny_explicit).save(tmp_path / "m")


SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys
    from pathlib import Path
    import numpy as np
    import recforge
    from recforge.data import synthetic_interactions
    from recforge.errors import StorageError
    from recforge.models import get

    place = Path(sys.argv[1])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(place)], check=True)
    small = get("ease").fit(synthetic_interactions(100, 300, 3000, seed=0))  # 0.4 MB
    big = get("ease").fit(synthetic_interactions(100, 600, 6000, seed=0))  # 1.4 MB: over the 1 MB
    target = small.save(place / "m")
    try:
        big.save(target)
    except StorageError as exc:
        print("FULL", exc)
    assert recforge.load(target).n_items_ == 300, "the old model is not whole"
    print("LEFT", sorted(os.listdir(place / ".m.versions")))
    subprocess.run(["mount", "-o", "remount,ro", str(place)], check=True)
    try:
        small.save(target)
    except StorageError as exc:
        print("READONLY", exc)
    assert recforge.load(target).n_items_ == 300
    """
)


def test_a_full_and_a_read_only_filesystem_for_real(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    probe = [unshare, "-m", "true"] if unshare else None
    if probe is None or subprocess.run(probe, capture_output=True).returncode != 0:
        pytest.skip("needs `unshare -m` and the right to mount a tmpfs (root or CAP_SYS_ADMIN)")
    place = tmp_path / "small"
    place.mkdir()
    (tmp_path / "run.py").write_text(SCRIPT)
    done = subprocess.run(
        [unshare, "-m", sys.executable, str(tmp_path / "run.py"), str(place)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["FULL"].startswith(f"{place}/m: no space left to write the model (")
    assert "free space there or write it elsewhere" in lines["FULL"]
    assert lines["LEFT"].count("'v") == 1  # the one version; the failed staging is gone
    assert lines["READONLY"].startswith(f"{place}/m: cannot write the model there (Read-only")


def test_the_cli_reports_a_full_disk_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from recforge.cli import main

    data = tmp_path / "clicks.csv"
    rng = np.random.default_rng(0)
    pairs = rng.choice(20 * 30, 200, replace=False)
    data.write_text("user,item\n" + "".join(f"u{p // 30},i{p % 30}\n" for p in pairs))

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(artifact.np, "savez", full)
    code = main(["train", "--data", str(data), "--model", "ease", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: {tmp_path / 'o'}")
    assert "no space left to write the model" in err
