"""The models a service holds: loaded artifacts by name, swapped in whole on reload.

A request takes the current `ServedModel` once and uses it to the end, so a reload (which
replaces the store's dict in one assignment) never changes a model under a request in flight.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recforge.artifact import MANIFEST_FILE, load_with_manifest
from recforge.errors import DataError

__all__ = ["ModelStore", "ServedModel", "artifact_dirs"]


@dataclass(frozen=True)
class ServedModel:
    """A loaded model with what serving needs beside it.

    name: the name it is served under; path: its artifact directory; version: the first 12
    hex digits of its content hash; popular: item indices int64 [n_items], most interactions
    first (the fallback for unknown users); counts: int64 [n_items] training interactions.
    """

    name: str
    path: Path
    model: Any
    manifest: dict[str, Any]
    version: str
    popular: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_dir(cls, name: str, path: Path) -> ServedModel:
        model, manifest = load_with_manifest(path)
        counts = np.bincount(model.seen_.indices, minlength=model.n_items_).astype(np.int64)
        popular = np.lexsort((np.arange(counts.size), -counts)).astype(np.int64)
        version = manifest["content_sha256"][:12]
        model.recommend([0], k=1)  # first-call costs (lazy imports, caches) before serving
        return cls(name, path, model, manifest, version, popular, counts)

    def user_index(self, raw: str) -> int | None:
        """The index of raw user id `raw` (given as text), or None for a user not trained on."""
        return _index(self.model.user_ids_, raw)

    def item_index(self, raw: str) -> int | None:
        return _index(self.model.item_ids_, raw)

    def raw_user(self, index: int) -> str | int:
        """The raw user id (JSON-ready) of a user index."""
        return _plain(self.model.user_ids_.to_raw([index])[0])

    def raw_items(self, indices: np.ndarray) -> list[str | int]:
        """Raw item ids (JSON-ready) of item indices."""
        return [_plain(x) for x in self.model.item_ids_.to_raw(indices)]


def _index(ids: Any, raw: str) -> int | None:
    found = int(ids.to_index([raw], missing="mask")[0])  # "42" matches integer id 42
    return None if found < 0 else found


def _plain(x: Any) -> str | int:
    return int(x) if isinstance(x, np.integer) else str(x)


def artifact_dirs(path: Path) -> dict[str, Path]:
    """Models to serve from `path`: an artifact directory, a `recforge train --out` directory
    (its model/), or a directory of such directories (each served under its own name)."""
    if (path / MANIFEST_FILE).is_file():
        return {path.name: path}
    if (path / "model" / MANIFEST_FILE).is_file():
        return {path.name: path / "model"}
    found: dict[str, Path] = {}
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if (child / MANIFEST_FILE).is_file():
                found[child.name] = child
            elif (child / "model" / MANIFEST_FILE).is_file():
                found[child.name] = child / "model"
    if not found:
        raise DataError(
            f"{path}: no recforge model there; give a directory written by "
            "'recforge train --out DIR' or model.save(DIR), or a directory of them"
        )
    return found


Stamp = tuple[tuple[str, int, int], ...]


def _stamp(dirs: dict[str, Path]) -> Stamp:
    """What changes when an artifact is saved again: each manifest's inode and mtime (a save
    renames a new directory into place)."""
    stamps = []
    for name, path in dirs.items():
        try:
            st = (path / MANIFEST_FILE).stat()
        except OSError:
            stamps.append((name, -1, -1))
        else:
            stamps.append((name, st.st_ino, st.st_mtime_ns))
    return tuple(stamps)


class ModelStore:
    """Served models by name, loaded from `root` (see `artifact_dirs`); `reload()` reads them
    again and swaps the whole set in at once; `changed()` says whether the files on disk differ
    from the set served (a model saved again, added or removed)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._models, self._stamp = self._read()

    def _read(self) -> tuple[dict[str, ServedModel], Stamp]:
        dirs = artifact_dirs(self.root)
        stamp = _stamp(dirs)
        return {name: ServedModel.from_dir(name, p) for name, p in dirs.items()}, stamp

    @property
    def stamp(self) -> Stamp:
        """The stamp of the artifacts served (see `disk_stamp`)."""
        return self._stamp

    def disk_stamp(self) -> Stamp | None:
        """The stamp of the artifacts under `root` now (None when there are none); differs
        from `stamp` once a model is saved again, added or removed."""
        try:
            return _stamp(artifact_dirs(self.root))
        except DataError:
            return None

    @property
    def names(self) -> list[str]:
        return list(self._models)

    @property
    def default(self) -> str:
        return next(iter(self._models))

    def get(self, name: str | None) -> ServedModel | None:
        """The model served as `name` (None: the first one), or None if there is no such."""
        models = self._models
        return models.get(self.default if name is None else name)

    def versions(self) -> dict[str, str]:
        """The version of each served model, by name."""
        return {name: m.version for name, m in self._models.items()}

    def reload(self) -> dict[str, str]:
        """Load every model again (a failure leaves the served set as it was); returns the
        versions now served by name."""
        with self._lock:
            fresh, stamp = self._read()
            self._models, self._stamp = fresh, stamp
        return {name: m.version for name, m in fresh.items()}
