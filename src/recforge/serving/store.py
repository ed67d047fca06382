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
import scipy.sparse as sp

from recforge.artifact import MANIFEST_FILE, load_for_serving
from recforge.data.features import FeatureTable
from recforge.errors import DataError, NotFoundError, UnsupportedOperationError
from recforge.retrieval import MANIFEST_FILE as ANN_MANIFEST
from recforge.retrieval import ANNIndex, recommend_ann

__all__ = ["INDEX_DIR", "ModelStore", "ServedModel", "artifact_dirs", "read_index"]

INDEX_DIR = "ann"  # where `recforge index` puts a model's ANN index, inside its directory


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
    items: FeatureTable | None = None
    ratings: sp.csr_array | None = None
    ann: ANNIndex | None = None
    user_text: np.ndarray | None = None  # raw user ids as text [n_users], for search
    title_text: np.ndarray | None = None  # lower-case titles [n_items], for search

    @classmethod
    def from_dir(cls, name: str, path: Path) -> ServedModel:
        model, manifest, items, ratings = load_for_serving(path)
        counts = np.bincount(model.seen_.indices, minlength=model.n_items_).astype(np.int64)
        popular = np.lexsort((np.arange(counts.size), -counts)).astype(np.int64)
        version = manifest["content_sha256"][:12]
        ann = read_index(path, manifest)
        user_text = model.user_ids_.raw_ids.astype(str)
        title_text = None
        if items is not None and "title" in items and items["title"].kind == "text":
            title_text = np.char.lower(items["title"].values.astype(str))
        served = cls(
            name, path, model, manifest, version, popular, counts, items, ratings, ann,
            user_text, title_text,
        )  # fmt: skip
        served.recommend(0, k=1)  # first-call costs (lazy imports, caches) before serving
        return served

    def find_users(self, prefix: str, limit: int) -> np.ndarray:
        """Indices of up to `limit` users whose raw id starts with `prefix`, in id order."""
        text = self.user_text
        if text is None:
            text = self.model.user_ids_.raw_ids.astype(str)
        return np.flatnonzero(np.char.startswith(text, prefix))[:limit]

    def find_items(self, search: str, limit: int) -> np.ndarray:
        """Indices of up to `limit` items whose title holds every word of `search` (case-blind)
        or whose raw id is `search`, most interacted-with first; all items for no words."""
        words = search.lower().split()
        if not words:
            return self.popular[:limit]
        hit = np.zeros(self.model.n_items_, dtype=bool)
        if self.title_text is not None:
            hit[:] = True
            for word in words:
                hit &= np.char.find(self.title_text, word) >= 0
        exact = self.item_index(search.strip())
        if exact is not None:
            hit[exact] = True
        return self.popular[hit[self.popular]][:limit]

    @property
    def retrieval(self) -> str:
        """How top-k lists are found: "exact", or the ANN index kind ("hnsw", "ivf")."""
        return "exact" if self.ann is None else self.ann.kind

    def recommend(
        self, user: int, k: int, exclude_seen: bool = True, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of one user index (ids int32 [1, k], scores float32 [1, k]): from the ANN
        index when the model has one, exactly otherwise and when limited to `among` items."""
        if self.ann is not None and among is None:
            return recommend_ann(self.model, self.ann, [user], k=k, exclude_seen=exclude_seen)
        return self.model.recommend([user], k=k, exclude_seen=exclude_seen, candidates=among)

    @property
    def genre_names(self) -> list[str]:
        """The genres items can be filtered by (the "genres" item feature), or []."""
        genres = self._genres()
        return [] if genres is None else [str(g) for g in genres[1]]

    def _genres(self) -> tuple[sp.csr_array, np.ndarray] | None:
        """The "genres" item feature: (0/1 CSR [n_items, G], names [G]), or None."""
        if self.items is None or "genres" not in self.items:
            return None
        feature = self.items["genres"]
        if feature.kind != "multi_hot" or feature.vocabulary is None:
            return None
        return feature.values, feature.vocabulary

    def items_in_genres(self, names: list[str]) -> np.ndarray:
        """Item indices int64 [m] having any of the genres `names` (matched case-blind)."""
        genres = self._genres()
        if genres is None:
            raise UnsupportedOperationError(
                f"model {self.name!r} was saved without item genres, so it cannot filter by "
                "them; train it with item features ('recforge train' on a MovieLens dataset)"
            )
        matrix, names_known = genres
        vocabulary = {str(g).lower(): n for n, g in enumerate(names_known)}
        unknown = [g for g in names if g.lower() not in vocabulary]
        if unknown:
            raise NotFoundError(
                f"unknown genre {unknown[0]!r}; genres: {', '.join(self.genre_names)}"
            )
        columns = [vocabulary[g.lower()] for g in names]
        return np.flatnonzero(matrix[:, columns].sum(axis=1) > 0)

    def describe(self, indices: np.ndarray) -> list[dict[str, Any]]:
        """Display fields per item index: {"title": str | None, "genres": [str]}, from the
        item features saved with the model ("title", "genres"); empty without them."""
        titles = None
        if self.items is not None and "title" in self.items:
            titles = self.items["title"].values
        genres = self._genres()
        out = []
        for i in np.asarray(indices, dtype=np.int64):
            title = str(titles[i]) or None if titles is not None else None
            names: list[str] = []
            if genres is not None:
                matrix, vocabulary = genres
                row = matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]]
                names = [str(vocabulary[c]) for c in row]
            out.append({"title": title, "genres": names})
        return out

    def history(self, user: int) -> tuple[np.ndarray, np.ndarray | None]:
        """A user's training items int64 [m] and their values float32 [m] (None when the
        model was saved without them)."""
        seen = self.model.seen_
        lo, hi = seen.indptr[user], seen.indptr[user + 1]
        items = seen.indices[lo:hi].astype(np.int64)
        values = None if self.ratings is None else self.ratings.data[lo:hi]
        return items, values

    def user_index(self, raw: str) -> int | None:
        """The index of raw user id `raw` (given as text), or None for a user not trained on."""
        return _index(self.model.user_ids_, raw)

    def item_index(self, raw: str) -> int | None:
        return _index(self.model.item_ids_, raw)

    def raw_user(self, index: int) -> str | int:
        """The raw user id (JSON-ready) of a user index."""
        return _plain(self.model.user_ids_.to_raw([index])[0])

    def unknown_user(self, raw: str | int) -> str | int:
        """A user id the model does not know, typed as the model's ids are (an int where they
        are ints and it reads as one), so that known and unknown users look alike."""
        if not self.model.user_ids_.is_string:
            try:
                return int(str(raw))
            except ValueError:
                return raw
        return str(raw)

    def raw_items(self, indices: np.ndarray) -> list[str | int]:
        """Raw item ids (JSON-ready) of item indices."""
        return [_plain(x) for x in self.model.item_ids_.to_raw(indices)]


def _index(ids: Any, raw: str) -> int | None:
    found = int(ids.to_index([raw], missing="mask")[0])  # "42" matches integer id 42
    return None if found < 0 else found


def _plain(x: Any) -> str | int:
    return int(x) if isinstance(x, np.integer) else str(x)


def read_index(path: Path, manifest: dict[str, Any]) -> ANNIndex | None:
    """The ANN index `recforge index` wrote beside the model in `path` (path/ann), or None;
    an index built for another version of the model is refused."""
    where = path / INDEX_DIR
    if not (where / ANN_MANIFEST).is_file():
        return None
    index = ANNIndex.load(where)
    if index.meta.get("model_sha256") != manifest["content_sha256"]:
        raise DataError(
            f"{where}: this ANN index was built for another version of the model; rebuild it "
            f"with 'recforge index {path}', or delete it to serve exact top-k"
        )
    return index


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
    """What changes when an artifact is saved again or indexed: the inode and mtime of each
    manifest and ANN index manifest (a save renames a new directory into place)."""
    stamps = []
    for name, path in dirs.items():
        for part in (path / MANIFEST_FILE, path / INDEX_DIR / ANN_MANIFEST):
            try:
                st = part.stat()
            except OSError:
                stamps.append((name, -1, -1))
            else:
                stamps.append((name, st.st_ino, st.st_mtime_ns))
    return tuple(stamps)


class ModelStore:
    """Served models by name, loaded from `root` (see `artifact_dirs`); `reload()` reads them
    again and swaps the whole set in at once; `changed()` says whether the files on disk differ
    from the set served (a model saved again, added or removed)."""

    def __init__(self, root: Path, default: str | None = None) -> None:
        """default: the model answering requests that name none (None: the first by name)."""
        self.root = Path(root)
        self._default = default
        self._lock = threading.Lock()
        self._models, self._stamp = self._read()

    def _read(self) -> tuple[dict[str, ServedModel], Stamp]:
        dirs = artifact_dirs(self.root)
        if self._default is not None and self._default not in dirs:
            raise DataError(
                f"no model named {self._default!r} under {self.root.name}; its models: "
                f"{', '.join(dirs)} (choose the default among them)"
            )
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
        """The model answering requests that name none: the one given, else the first by
        name."""
        return self._default if self._default is not None else next(iter(self._models))

    @property
    def default_chosen(self) -> bool:
        """Whether the default was given rather than taken as the first by name."""
        return self._default is not None

    def get(self, name: str | None) -> ServedModel | None:
        """The model served as `name` (None: the default), or None if there is no such."""
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
