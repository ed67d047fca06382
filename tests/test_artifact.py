"""Model artifacts: the directory layout, the manifest, integrity checks and atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import recforge
from recforge import atomic_dir
from recforge.artifact import (
    ARRAYS_FILE,
    MANIFEST_FILE,
    _content_hash,
    load,
    load_for_serving,
    read_manifest,
)
from recforge.data import Feature, FeatureTable, IdMap, Interactions
from recforge.errors import DataError, ParameterError
from recforge.models import Recommender, get


@pytest.fixture
def model(tiny_explicit: Interactions) -> Recommender:
    return get("bias", n_epochs=3).fit(tiny_explicit)


def rewrite_manifest(directory: Path, change: dict[str, Any], rehash: bool) -> None:
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    manifest.update(change)
    if rehash:
        manifest["content_sha256"] = _content_hash(manifest, directory / ARRAYS_FILE)
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_a_saved_model_is_a_directory_whose_manifest_describes_it(
    model: Recommender, tiny_explicit: Interactions, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "bias", metrics={"rmse": 0.9})
    assert sorted(p.name for p in path.iterdir()) == [ARRAYS_FILE, MANIFEST_FILE]
    manifest = read_manifest(path)
    assert manifest["model"] == "bias"
    assert manifest["params"] == model.get_params()
    assert manifest["versions"]["recforge"] == recforge.__version__
    assert manifest["versions"]["numpy"] == np.__version__
    assert manifest["id_maps"]["users"]["count"] == tiny_explicit.n_users
    assert manifest["id_maps"]["items"]["count"] == tiny_explicit.n_items
    assert manifest["train_fingerprint"] == tiny_explicit.fingerprint()
    assert manifest["metrics"] == {"rmse": 0.9}
    assert len(manifest["content_sha256"]) == 64
    assert "user_ids" in manifest["arrays"]
    loaded = load(path)
    assert loaded.train_fingerprint_ == tiny_explicit.fingerprint()
    np.testing.assert_array_equal(loaded.score([0, 1]), model.score([0, 1]))


def test_a_flipped_byte_in_the_arrays_is_refused(model: Recommender, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m")
    arrays = path / ARRAYS_FILE
    data = bytearray(arrays.read_bytes())
    data[len(data) // 2] ^= 0xFF
    arrays.write_bytes(bytes(data))
    with pytest.raises(DataError, match="damaged"):
        load(path)


def test_an_edited_manifest_is_refused(model: Recommender, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m")
    rewrite_manifest(path, {"params": {**model.get_params(), "n_epochs": 99}}, rehash=False)
    with pytest.raises(DataError, match="damaged"):
        load(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "someone-else"}, "not a recforge model"),
        ({"format_version": 3}, r"model format 3 .*upgrade recforge or retrain"),
    ],
)
def test_foreign_and_future_artifacts_are_refused(
    model: Recommender,
    tmp_path: Path,
    change: dict[str, Any],
    message: str,
) -> None:
    path = model.save(tmp_path / "m")
    rewrite_manifest(path, change, rehash=True)
    with pytest.raises(DataError, match=message):
        load(path)


def test_damaged_or_missing_parts_are_refused(model: Recommender, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m")
    (path / ARRAYS_FILE).unlink()
    with pytest.raises(DataError, match="incomplete"):
        load(path)
    path = model.save(tmp_path / "n")
    (path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(DataError, match="manifest is damaged"):
        load(path)
    with pytest.raises(DataError, match="no recforge model there"):
        load(tmp_path / "nothing")


def test_a_pickled_array_is_never_unpickled_even_with_a_matching_hash(
    model: Recommender, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "m")
    with np.load(path / ARRAYS_FILE) as npz:
        contents = {k: npz[k] for k in npz.files}
    contents["state.global_mean_"] = np.array([object()], dtype=object)
    np.savez(path / ARRAYS_FILE, **contents)  # pickles the object array
    rewrite_manifest(path, {}, rehash=True)
    with pytest.raises(DataError, match="cannot be read"):
        load(path)


def test_saving_replaces_an_artifact_and_leaves_no_temporary_files(
    model: Recommender, tiny_explicit: Interactions, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "m")
    other = get("popularity").fit(tiny_explicit)
    other.save(path)
    assert read_manifest(path)["model"] == "popularity"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.versions", "m"]
    for _ in range(3):
        other.save(path)
    kept = sorted(p.name for p in (tmp_path / ".m.versions").iterdir())
    assert len(kept) == atomic_dir.KEEP_VERSIONS  # no staging left, old versions pruned
    assert all(name.startswith("v") for name in kept)
    assert path.is_symlink()
    assert path.resolve().name == kept[-1]


def test_a_failed_save_keeps_the_old_artifact(
    model: Recommender, tiny_explicit: Interactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = model.save(tmp_path / "m")
    before = (path / MANIFEST_FILE).read_text()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        get("popularity").fit(tiny_explicit).save(path)
    assert (path / MANIFEST_FILE).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.versions", "m"]
    assert [p.name for p in (tmp_path / ".m.versions").iterdir()] == [path.resolve().name]
    assert load(path).name == "bias"


def test_a_directory_that_is_not_an_artifact_is_not_overwritten(
    model: Recommender, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ratings.csv").write_text("u,i,r\n")
    with pytest.raises(DataError, match="not a recforge model directory"):
        model.save(tmp_path / "data")
    assert (tmp_path / "data" / "ratings.csv").exists()


def test_format_1_files_still_load(model: Recommender, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m")
    manifest = read_manifest(path)
    with np.load(path / ARRAYS_FILE) as npz:
        contents = {k: npz[k] for k in npz.files}
    meta = {k: manifest[k] for k in ("model", "params", "scalars", "n_users", "n_items")}
    meta.update(format="recforge-model", version=1, explicit=manifest["explicit"])
    np.savez(tmp_path / "old.npz", __meta__=np.array(json.dumps(meta)), **contents)
    loaded = load(tmp_path / "old.npz")
    np.testing.assert_array_equal(loaded.score([0, 1]), model.score([0, 1]))


def test_the_fingerprint_follows_the_data(tiny_explicit: Interactions) -> None:
    users, items, values = tiny_explicit.coo()
    raw_u = tiny_explicit.user_ids.to_raw(users)
    raw_i = tiny_explicit.item_ids.to_raw(items)
    same = Interactions.from_arrays(raw_u, raw_i, values, tiny_explicit.timestamps)
    assert same.fingerprint() == tiny_explicit.fingerprint()
    changed = values.copy()
    changed[0] += 1
    assert Interactions.from_arrays(
        raw_u, raw_i, changed, tiny_explicit.timestamps
    ).fingerprint() != (tiny_explicit.fingerprint())
    assert (
        Interactions.from_arrays(raw_u, raw_i, values).fingerprint() != tiny_explicit.fingerprint()
    )


def test_an_artifact_gets_the_usual_permissions_not_a_private_temp_dir(
    model: Recommender, tmp_path: Path
) -> None:
    import os

    mask = os.umask(0o022)
    try:
        path = model.save(tmp_path / "m")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o755


def test_item_features_and_training_ratings_travel_with_the_model(
    model: Recommender, tiny_explicit: Interactions, tmp_path: Path
) -> None:
    # features of an item the model does not know (i9), none for one it knows (i3)
    ids = IdMap(np.array(["i1", "i2", "i4", "i5", "i9"]))
    items = FeatureTable(
        ids,
        [
            Feature.text("title", ["One", "Two", "Four", "Five", "Nine"]),
            Feature.multi_hot("genres", ["A", "B", "", "A|B", "X"]),
            Feature.numeric("year", [5, 4, 3, 2, 1]),
        ],
    )
    path = model.save(tmp_path / "m", items=items, ratings=tiny_explicit)
    loaded, manifest, shown, ratings = load_for_serving(path)
    assert manifest["item_features"] == {"title": "text", "genres": "multi_hot", "year": "numeric"}
    assert shown is not None
    assert ratings is not None
    order = loaded.item_ids_.to_raw(np.arange(loaded.n_items_))  # i1 … i5
    assert list(order) == ["i1", "i2", "i3", "i4", "i5"]
    assert list(shown["title"].values) == ["One", "Two", "", "Four", "Five"]
    genres = shown["genres"]
    assert list(genres.vocabulary) == ["A", "B", "X"]
    np.testing.assert_array_equal(
        genres.values.toarray(), [[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0], [1, 1, 0]]
    )
    np.testing.assert_array_equal(shown["year"].values, [5, 4, np.nan, 3, 2])
    np.testing.assert_array_equal(ratings.toarray(), tiny_explicit.matrix.toarray())
    assert recforge.load(path).get_params() == model.get_params()  # plain load ignores them


def test_ratings_other_than_the_training_data_are_refused(
    model: Recommender, tiny_explicit: Interactions, tmp_path: Path
) -> None:
    other = Interactions.from_arrays(["u1", "u2"], ["i1", "i2"], [1.0, 2.0])
    with pytest.raises(ParameterError, match="not the interactions the model was trained on"):
        model.save(tmp_path / "m", ratings=other)
    assert not (tmp_path / "m").exists()
    plain = load_for_serving(model.save(tmp_path / "plain"))
    assert plain[2] is None
    assert plain[3] is None
