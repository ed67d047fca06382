"""Model artifacts: one `.npz` file, read with `allow_pickle=False`.

Layout:
    __meta__        JSON text: format, version, recforge version, model name, hyper-parameters,
                    fitted scalars, shapes.
    user_ids        raw user ids [n_users] (int64 or unicode)
    item_ids        raw item ids [n_items]
    seen_indptr     int64 [n_users + 1]   ┐ the training interactions, for filtering seen items
    seen_indices    int32 [nnz]           ┘
    state.<name>    each learned array of the model

A loaded model needs no dataset. Deep models keep their tensors as `state.<name>` arrays too.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recforge.data.idmap import IdMap
from recforge.errors import DataError, ParameterError

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "save_model"]

FORMAT = "recforge-model"
FORMAT_VERSION = 1
MODEL_FILE = "model.npz"


def save_model(model: Any, path: str | Path) -> Path:
    """Write a fitted Recommender to `path` (a file; written atomically). Returns the path."""
    from recforge import __version__

    target = Path(path)
    if target.is_dir():
        target = target / MODEL_FILE
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for name, value in model._get_state().items():
        if isinstance(value, np.ndarray):
            arrays[f"state.{name}"] = value
        elif isinstance(value, bool | int | float | str) or value is None:
            scalars[name] = value
        else:
            raise TypeError(f"cannot save attribute {name} of type {type(value).__name__}")
    params = model.get_params()
    try:
        json.dumps(params)
    except TypeError:
        raise ParameterError(
            f"{type(model).__name__} has hyper-parameters that are not plain values "
            f"({params}); only numbers, strings, booleans, None and lists of them can be saved"
        ) from None
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "recforge": __version__,
        "model": model.name,
        "params": params,
        "scalars": scalars,
        "n_users": model.n_users_,
        "n_items": model.n_items_,
        "explicit": model.explicit_,
    }
    seen = model.seen_
    arrays.update(
        __meta__=np.array(json.dumps(meta)),
        user_ids=model.user_ids_.raw_ids,
        item_ids=model.item_ids_.raw_ids,
        seen_indptr=seen.indptr.astype(np.int64),
        seen_indices=seen.indices.astype(np.int32),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load(path: str | Path) -> Any:
    """Load a model saved by `Recommender.save` (a file, or a directory holding model.npz)."""
    from recforge.models.registry import model_class

    source = Path(path)
    if source.is_dir():
        source = source / MODEL_FILE
    if not source.is_file():
        raise DataError(
            f"{source}: no model file there; train one with "
            "'recforge train --data … --model … --out DIR' or model.save(path)"
        )
    try:
        with np.load(source, allow_pickle=False) as npz:
            contents = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(f"{source}: not a recforge model file ({exc})") from None
    if "__meta__" not in contents:
        raise DataError(f"{source}: not a recforge model file (no __meta__ entry)")
    try:
        meta = json.loads(str(contents["__meta__"]))
    except json.JSONDecodeError:
        raise DataError(f"{source}: corrupt model metadata") from None
    if meta.get("format") != FORMAT:
        raise DataError(f"{source}: not a recforge model file (format {meta.get('format')!r})")
    if meta.get("version") != FORMAT_VERSION:
        raise DataError(
            f"{source}: model format version {meta.get('version')} is not supported by this "
            f"recforge (it reads version {FORMAT_VERSION}); retrain or upgrade recforge"
        )
    cls = model_class(meta["model"])
    model = cls(**meta["params"])
    n_users, n_items = int(meta["n_users"]), int(meta["n_items"])
    model.user_ids_ = IdMap(contents["user_ids"])
    model.item_ids_ = IdMap(contents["item_ids"])
    model.n_users_, model.n_items_ = n_users, n_items
    indices = contents["seen_indices"]
    model.seen_ = sp.csr_array(
        (np.ones(indices.size, dtype=np.float32), indices, contents["seen_indptr"]),
        shape=(n_users, n_items),
    )
    model.explicit_ = bool(meta["explicit"])
    state: dict[str, Any] = dict(meta["scalars"])
    for key, value in contents.items():
        if key.startswith("state."):
            state[key.removeprefix("state.")] = value
    model._set_state(state)
    return model
