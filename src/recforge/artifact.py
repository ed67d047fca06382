"""Model artifacts: a directory with `manifest.json` and `arrays.npz`; no pickle anywhere.

Layout of DIR:
    manifest.json   format, format_version, the recforge / numpy / torch versions that wrote it,
                    the model name, its hyper-parameters and fitted scalars, the catalogue
                    sizes, the id maps (count and dtype; the ids themselves are arrays), the
                    training-data fingerprint, evaluation metrics given at save time, every
                    array's name, dtype and shape, and content_sha256: a SHA-256 of the rest of
                    the manifest and of arrays.npz, checked on load.
    arrays.npz      user_ids, item_ids [n] (int64 or unicode), seen_indptr int64 [n_users + 1],
                    seen_indices int32 [nnz] (the training interactions, for filtering seen
                    items), state.<name> (each learned array; deep models' tensors too).
                    Read with allow_pickle=False, so loading runs no code from the file.

DIR is a link to the version directory of its latest save (`recforge.atomic_dir`): a save
writes a new version beside the old ones and swaps the link in one rename, and a load reads
every file from the version it resolved, so a reader sees the old artifact or the new one,
never half of one and never none. Artifacts of format 1 (a single .npz file) still
load.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from recforge import atomic_dir
from recforge.data.features import FEATURE_KINDS, Feature, FeatureTable
from recforge.data.idmap import IdMap
from recforge.data.interactions import Interactions
from recforge.errors import DataError, ParameterError, storage_error

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "load",
    "load_for_serving",
    "load_with_manifest",
    "read_manifest",
    "save_model",
]

FORMAT = "recforge-model"
FORMAT_VERSION = 2
MANIFEST_FILE = "manifest.json"
ARRAYS_FILE = "arrays.npz"
LEGACY_FILE = "model.npz"  # format 1: one .npz with a __meta__ entry
_READ_ATTEMPTS = 3  # reads of a version that a concurrent save may replace
_T = TypeVar("_T")


def save_model(
    model: Any,
    path: str | Path,
    *,
    metrics: dict[str, float] | None = None,
    items: FeatureTable | None = None,
    ratings: Interactions | None = None,
) -> Path:
    """Write a fitted Recommender as the artifact directory `path` (replacing an artifact
    already there, atomically). Returns the directory.

    metrics: evaluation figures to record, e.g. {"ndcg@10": 0.4}.
    items: item features to keep beside the model for display and filtering (titles, genres),
        laid out on the model's items; what a service shows and filters by.
    ratings: the interactions the model was trained on, to keep their values (ratings or
        weights) beside the seen items; a service shows them as the user's history.
    """
    target = Path(path)
    if target.exists() and not _replaceable(target):
        raise DataError(
            f"{target}: exists and is not a recforge model directory; choose a new path "
            "(an existing model directory is replaced)"
        )
    arrays, scalars = _arrays_of(model)
    feature_kinds = _catalogue_arrays(model, arrays, items, ratings)
    manifest = _manifest(model, scalars, arrays, metrics)
    manifest["item_features"] = feature_kinds
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = atomic_dir.staging_dir(target)
    except OSError as exc:
        raise storage_error(exc, target, "the model") from None
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; an artifact is not
        arrays_path = staging / ARRAYS_FILE
        with arrays_path.open("wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        manifest["content_sha256"] = _content_hash(manifest, arrays_path)
        with (staging / MANIFEST_FILE).open("w") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        atomic_dir.publish(staging, target)
    except OSError as exc:  # a full disk, a place made read-only: the old model stays
        atomic_dir.discard(staging)
        size = sum(a.nbytes for a in arrays.values() if isinstance(a, np.ndarray))
        raise storage_error(exc, target, "the model", size) from None
    except BaseException:
        atomic_dir.discard(staging)
        raise
    return target


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of the artifact directory `path`, its hash checked."""
    return _from_one_version(path, _read_manifest)


def _from_one_version(path: str | Path, read: Callable[[Path], _T]) -> _T:
    """read(version) of the version the artifact directory `path` names now (see
    `atomic_dir`), so that every file comes from one save; read again when a save replaced the
    version while it was read. Errors name `path`, not the version directory."""
    for attempt in range(_READ_ATTEMPTS):
        version = atomic_dir.resolve(path)
        try:
            return read(version)
        except DataError as exc:
            if attempt + 1 < _READ_ATTEMPTS and atomic_dir.resolve(path) != version:
                continue
            if version == Path(path):
                raise
            raise DataError(str(exc).replace(str(version), str(path))) from None
    raise AssertionError("unreachable")


def _read_manifest(directory: Path) -> dict[str, Any]:
    manifest = _read_json(directory / MANIFEST_FILE)
    _check_format(directory, manifest)
    expected = manifest.get("content_sha256")
    actual = _content_hash(manifest, directory / ARRAYS_FILE)
    if expected != actual:
        raise DataError(
            f"{directory}: the model is damaged ({_damage(directory, manifest)}); save or "
            "train it again"
        )
    return manifest


def _damage(directory: Path, manifest: dict[str, Any]) -> str:
    """Which part of an artifact whose content hash fails is at fault, as far as can be told."""
    arrays = directory / ARRAYS_FILE
    if arrays.stat().st_size == 0:
        return f"{ARRAYS_FILE} is empty"
    try:
        with zipfile.ZipFile(arrays) as archive:
            broken = archive.testzip()  # reads every entry against its CRC
            names = {n.removesuffix(".npy") for n in archive.namelist()}
    except (zipfile.BadZipFile, OSError, EOFError):
        return f"{ARRAYS_FILE} is truncated or not an .npz archive"
    if broken is not None:
        return f"{ARRAYS_FILE} is corrupt (its entry {broken} fails its checksum)"
    if names != set(manifest.get("arrays", {})):
        return f"{ARRAYS_FILE} and {MANIFEST_FILE} come from different models"
    return f"{MANIFEST_FILE} or {ARRAYS_FILE} was changed after the save: its content hash fails"


def load(path: str | Path) -> Any:
    """Load a model saved by `Recommender.save`: an artifact directory, a directory holding one
    (`recforge train --out DIR` writes DIR/model), or a format-1 .npz file."""
    source = Path(path)
    if (source / "model" / MANIFEST_FILE).is_file():
        source = source / "model"
    if (source / MANIFEST_FILE).is_file():
        return load_with_manifest(source)[0]
    legacy = source / LEGACY_FILE if source.is_dir() else source
    if legacy.is_file():
        return _load_legacy(legacy)
    raise DataError(
        f"{source}: no recforge model there (no {MANIFEST_FILE}); train one with "
        "'recforge train --data … --model … --out DIR' or model.save(path)"
    )


def load_with_manifest(directory: str | Path) -> tuple[Any, dict[str, Any]]:
    """The model of the artifact directory `directory` and its manifest (read and checked
    once)."""

    def read(version: Path) -> tuple[Any, dict[str, Any]]:
        manifest = _read_manifest(version)
        return _build(manifest, _read_arrays(version / ARRAYS_FILE, manifest)), manifest

    return _from_one_version(directory, read)


def load_for_serving(
    directory: str | Path,
) -> tuple[Any, dict[str, Any], FeatureTable | None, sp.csr_array | None]:
    """What a service needs from the artifact directory `directory`, read and checked once:
    the model, its manifest, the item features saved with it (None when none were) and the
    training values float32 CSR [n_users, n_items] on the seen items' pattern (None when not
    saved)."""
    return _from_one_version(directory, _serving_parts)


def _serving_parts(
    directory: Path,
) -> tuple[Any, dict[str, Any], FeatureTable | None, sp.csr_array | None]:
    manifest = _read_manifest(directory)
    contents = _read_arrays(directory / ARRAYS_FILE, manifest)
    model = _build(manifest, contents)
    items = None
    kinds = manifest.get("item_features") or {}
    if kinds:
        items = FeatureTable(
            model.item_ids_, [_feature(name, kind, contents) for name, kind in kinds.items()]
        )
    ratings = None
    if "seen_values" in contents:
        ratings = sp.csr_array(
            (contents["seen_values"], model.seen_.indices, model.seen_.indptr),
            shape=model.seen_.shape,
        )
    return model, manifest, items, ratings


# ---------------------------------------------------------------------------- writing
def _catalogue_arrays(
    model: Any,
    arrays: dict[str, np.ndarray],
    items: FeatureTable | None,
    ratings: Interactions | None,
) -> dict[str, str]:
    """Add the item features ("items.<name>.<part>") and training values ("seen_values") to
    `arrays`; returns the features' kinds by name, for the manifest."""
    kinds: dict[str, str] = {}
    if items is not None:
        for name, feature in items.align(model.item_ids_).items():
            kinds[name] = feature.kind
            prefix = f"items.{name}."
            if feature.kind == "multi_hot":
                arrays[prefix + "indptr"] = feature.values.indptr.astype(np.int64)
                arrays[prefix + "indices"] = feature.values.indices.astype(np.int32)
            else:
                arrays[prefix + "values"] = np.asarray(feature.values)
            if feature.vocabulary is not None:
                arrays[prefix + "vocabulary"] = np.asarray(feature.vocabulary, dtype=str)
    if ratings is not None:
        trained_on = getattr(model, "train_fingerprint_", None)
        if trained_on is not None and ratings.fingerprint() != trained_on:
            raise ParameterError(
                "The 'ratings' given to save are not the interactions the model was trained on; "
                "pass the training interactions, or leave 'ratings' out"
            )
        if getattr(model, "min_rating_", None) is not None:  # the learned part: seen_
            ratings = ratings.subset(ratings.matrix.data >= model.min_rating_)
        matrix = ratings.matrix
        same = np.array_equal(matrix.indptr, model.seen_.indptr) and np.array_equal(
            matrix.indices, model.seen_.indices
        )
        if not same:
            raise ParameterError(
                "The 'ratings' given to save do not cover the model's training interactions; "
                "pass the interactions it was fitted on"
            )
        arrays["seen_values"] = np.asarray(matrix.data, dtype=np.float32)
    return kinds


def _arrays_of(model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The model's arrays (with the id maps and seen items) and its JSON scalars."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for name, value in model._get_state().items():
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"cannot save attribute {name}: object arrays need pickle")
            arrays[f"state.{name}"] = value
        elif isinstance(value, bool | int | float | str) or value is None:
            scalars[name] = value
        else:
            raise TypeError(f"cannot save attribute {name} of type {type(value).__name__}")
    seen = model.seen_
    arrays.update(
        user_ids=model.user_ids_.raw_ids,
        item_ids=model.item_ids_.raw_ids,
        seen_indptr=seen.indptr.astype(np.int64),
        seen_indices=seen.indices.astype(np.int32),
    )
    disliked = getattr(model, "disliked_", None)
    if disliked is not None:  # fit(min_rating=…): the ratings below it, never recommended
        arrays.update(
            disliked_indptr=disliked.indptr.astype(np.int64),
            disliked_indices=disliked.indices.astype(np.int32),
        )
    return arrays, scalars


def _manifest(
    model: Any,
    scalars: dict[str, Any],
    arrays: dict[str, np.ndarray],
    metrics: dict[str, float] | None,
) -> dict[str, Any]:
    from recforge import __version__

    params = model.get_params()
    try:
        json.dumps(params)
    except TypeError:
        raise ParameterError(
            f"{type(model).__name__} has hyper-parameters that are not plain values "
            f"({params}); only numbers, strings, booleans, None and lists of them can be saved"
        ) from None
    torch = sys.modules.get("torch")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {
            "recforge": __version__,
            "numpy": np.__version__,
            "torch": getattr(torch, "__version__", None),
        },
        "model": model.name,
        "params": params,
        "scalars": scalars,
        "n_users": int(model.n_users_),
        "n_items": int(model.n_items_),
        "explicit": bool(model.explicit_),
        "id_maps": {
            side: {"count": len(ids), "dtype": ids.raw_ids.dtype.str}
            for side, ids in (("users", model.user_ids_), ("items", model.item_ids_))
        },
        "train_fingerprint": getattr(model, "train_fingerprint_", None),
        "min_rating": getattr(model, "min_rating_", None),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()},
    }


def _content_hash(manifest: dict[str, Any], arrays_path: Path) -> str:
    """SHA-256 of the manifest (without its own hash, keys sorted) followed by arrays.npz."""
    digest = hashlib.sha256()
    rest = {k: v for k, v in manifest.items() if k != "content_sha256"}
    digest.update(json.dumps(rest, sort_keys=True).encode())
    try:
        with arrays_path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise DataError(
            f"{arrays_path.parent}: the model is incomplete ({ARRAYS_FILE} is missing)"
        ) from None
    return digest.hexdigest()


def _replaceable(target: Path) -> bool:
    """Whether `target` may be overwritten: an artifact directory, or an empty directory."""
    if not target.is_dir():
        return False
    return (target / MANIFEST_FILE).is_file() or not any(target.iterdir())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------- reading
def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path.parent}: no recforge model there (no {MANIFEST_FILE})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: the model manifest is damaged ({exc})") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}: not a recforge model manifest")
    return value


def _check_format(where: Path, manifest: dict[str, Any]) -> None:
    if manifest.get("format") != FORMAT:
        raise DataError(f"{where}: not a recforge model (format {manifest.get('format')!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        writer = manifest.get("versions", {}).get("recforge", "?")
        raise DataError(
            f"{where}: model format {version} (written by recforge {writer}) cannot be read by "
            f"this recforge, which reads format {FORMAT_VERSION}; upgrade recforge or retrain"
        )


def _read_arrays(path: Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            contents = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: the model arrays cannot be read ({exc})") from None
    listed = manifest.get("arrays", {})
    if set(listed) != set(contents):
        raise DataError(f"{path.parent}: the model's arrays do not match its manifest")
    for name, spec in listed.items():
        if contents[name].dtype.str != spec["dtype"] or list(contents[name].shape) != spec["shape"]:
            raise DataError(f"{path.parent}: array {name!r} does not match the manifest")
    return contents


def _build(meta: dict[str, Any], contents: dict[str, np.ndarray]) -> Any:
    """A model from its manifest (or format-1 metadata) and arrays."""
    from recforge.models.registry import model_class

    cls = model_class(meta["model"])
    # a parameter added since the artifact was written takes the value its model then had
    model = cls(**{**cls.legacy_params, **meta["params"]})
    n_users, n_items = int(meta["n_users"]), int(meta["n_items"])
    model.user_ids_ = IdMap(contents["user_ids"])
    model.item_ids_ = IdMap(contents["item_ids"])
    model.n_users_, model.n_items_ = n_users, n_items
    indices = contents["seen_indices"]
    model.seen_ = sp.csr_array(
        (np.ones(indices.size, dtype=np.float32), indices, contents["seen_indptr"]),
        shape=(n_users, n_items),
    )
    if "disliked_indices" in contents:
        indices = contents["disliked_indices"]
        model.disliked_ = sp.csr_array(
            (np.ones(indices.size, dtype=np.float32), indices, contents["disliked_indptr"]),
            shape=(n_users, n_items),
        )
    model.min_rating_ = meta.get("min_rating")
    model.explicit_ = bool(meta["explicit"])
    model.train_fingerprint_ = meta.get("train_fingerprint")
    state: dict[str, Any] = dict(meta["scalars"])
    for key, value in contents.items():
        if key.startswith("state."):
            state[key.removeprefix("state.")] = value
    model._set_state(state)
    return model


def _feature(name: str, kind: str, contents: dict[str, np.ndarray]) -> Feature:
    """Item feature `name` as saved by `_catalogue_arrays`."""
    if kind not in FEATURE_KINDS:
        raise DataError(f"item feature {name!r} has an unknown kind {kind!r}; upgrade recforge")
    prefix = f"items.{name}."
    vocabulary = contents.get(prefix + "vocabulary")
    if kind == "multi_hot":
        indices = contents[prefix + "indices"]
        indptr = contents[prefix + "indptr"]
        size = 0 if vocabulary is None else vocabulary.size
        values: Any = sp.csr_array(
            (np.ones(indices.size, dtype=np.float32), indices, indptr),
            shape=(indptr.size - 1, size),
        )
    else:
        values = contents[prefix + "values"]
    return Feature(name, kind, values, vocabulary)


def _load_legacy(source: Path) -> Any:
    """A format-1 artifact: one .npz whose __meta__ entry holds the JSON metadata."""
    if not zipfile.is_zipfile(source):  # numpy would try it as a pickle and advise allow_pickle
        raise DataError(
            f"{source}: no recforge model there (a file that is not an .npz archive); give "
            "the directory written by 'recforge train --out DIR' or model.save(DIR)"
        )
    try:
        with np.load(source, allow_pickle=False) as npz:
            contents = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(f"{source}: not a recforge model file ({exc})") from None
    if "__meta__" not in contents:
        raise DataError(f"{source}: not a recforge model file (no __meta__ entry)")
    try:
        meta = json.loads(str(contents.pop("__meta__")))
    except json.JSONDecodeError:
        raise DataError(f"{source}: corrupt model metadata") from None
    if meta.get("format") != FORMAT or meta.get("version") != 1:
        raise DataError(f"{source}: not a recforge model file (format {meta.get('format')!r})")
    return _build(meta, contents)
