"""Replace a directory so that readers always find a whole one: versions and one pointer.

DIR is a symbolic link to DIR's parent/.DIR.versions/v<time>-<tag>/. A writer fills a staging
directory inside .DIR.versions, renames it to a version, and points DIR at it by renaming a new
link over DIR (one atomic rename), so DIR names the old version or the new one at every
moment, never nothing and never half of one. A reader resolves DIR once (`resolve`) and reads
every file from that version. The newest KEEP_VERSIONS versions are kept (a reader that
resolved the previous one can still finish), older ones and the staging directories of dead
writers on this host are removed by the next publish.

A DIR that is still a real directory (written before this layout, or an empty one) is
exchanged with the new link in one step (Linux renameat2) and then kept as a version; where
no such exchange exists it is moved aside first, so that first publish leaves a moment without
DIR. Where the platform has no symbolic links, the staging directory is renamed to DIR after the
old one is moved aside, the earlier behaviour.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["KEEP_VERSIONS", "discard", "publish", "resolve", "staging_dir", "versions_dir"]

KEEP_VERSIONS = 2  # the current version and the one before it
_STAGING = ".tmp"


def versions_dir(target: Path) -> Path:
    """Where the versions of `target` live: a hidden sibling, on the same filesystem."""
    return target.parent / f".{target.name}.versions"


def resolve(path: str | Path) -> Path:
    """The version directory `path` points at now (`path` itself when it is no link)."""
    return Path(os.path.realpath(path))


# what os.symlink raises where the filesystem has no symbolic links (FAT: EPERM)
_NO_SYMLINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


def staging_dir(target: Path) -> Path:
    """A new private directory to write the next version of `target` into."""
    versions = versions_dir(target)
    versions.mkdir(parents=True, exist_ok=True)
    prefix = f"{_STAGING}-{socket.gethostname()}-{os.getpid()}-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=versions))


def discard(staging: Path) -> None:
    """Remove a staging directory that will not be published."""
    shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, target: Path) -> None:
    """Make the finished `staging` directory (from `staging_dir(target)`) what `target` names."""
    _fsync_dir(staging)
    versions = versions_dir(target)
    version = versions / f"v{time.time_ns():020d}-{staging.name.rsplit('-', 1)[-1]}"
    os.replace(staging, version)
    link = versions / f"{_STAGING}-{socket.gethostname()}-{os.getpid()}-link"
    try:
        if link.is_symlink():
            link.unlink()
        os.symlink(os.path.relpath(version, target.parent), link)
    except (OSError, NotImplementedError) as exc:
        if isinstance(exc, OSError) and exc.errno not in _NO_SYMLINKS:  # e.g. a full disk
            discard(version)
            raise
        _rename_into_place(version, target)  # no symbolic links on this filesystem
        return
    if target.is_dir() and not target.is_symlink():  # the earlier layout: keep it as a version
        if _exchange(link, target):  # one atomic swap: `link` now holds the old directory
            os.replace(link, versions / f"v{time.time_ns() - 1:020d}-earlier")
        else:  # no atomic exchange here: a moment without `target`, this once
            os.replace(target, versions / f"v{time.time_ns() - 1:020d}-earlier")
            os.replace(link, target)
    else:
        os.replace(link, target)
    _fsync_dir(target.parent)
    _prune(versions, current=version)


def _prune(versions: Path, current: Path) -> None:
    """Remove versions older than the newest KEEP_VERSIONS (never `current`) and staging
    directories of writers on this host that are no longer running."""
    kept = sorted((p for p in versions.iterdir() if p.name.startswith("v")), reverse=True)
    for old in kept[KEEP_VERSIONS:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
    host = socket.gethostname()
    for entry in versions.iterdir():
        parts = entry.name.split("-")
        if entry.name.startswith(f"{_STAGING}-{host}-") and not _running(parts[-2]):
            if entry.is_symlink():
                entry.unlink(missing_ok=True)
            else:
                shutil.rmtree(entry, ignore_errors=True)


def _running(pid: str) -> bool:
    """Whether the process `pid` (text) runs on this host; True when that cannot be told."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError, OSError):
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap the entries `a` and `b` in one atomic step (Linux renameat2 RENAME_EXCHANGE);
    False where that is not available, nothing changed."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE
    done = renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), exchange)
    return bool(done == 0)


def _rename_into_place(version: Path, target: Path) -> None:
    """Without symbolic links: move an old `target` aside, rename `version` to it."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".old-{target.name}-", dir=target.parent))
        old.rmdir()
        os.replace(target, old)
    try:
        os.replace(version, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
