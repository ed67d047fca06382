"""Fetching named datasets: found on disk, downloaded and checked, or a clear error saying where
to put the files. A local file:// archive stands in for GroupLens."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from recforge.data import DATASETS, RemoteDataset, data_home, fetch, load
from recforge.data import download as download_module
from recforge.errors import DatasetNotFoundError, ParameterError


@pytest.fixture
def local_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RemoteDataset:
    """A zip laid out like ml-100k's, registered under the name 'ml-100k'."""
    zip_path = tmp_path / "src" / "ml-100k.zip"
    zip_path.parent.mkdir()
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t10\t4\t100\n2\t10\t5\t200\n")
        zf.writestr("ml-100k/u.genre", "unknown|0\nDrama|1\n")
        zf.writestr("ml-100k/u.item", "10|Film (1999)|01-Jan-1999||http://x|0|1\n")
        zf.writestr("ml-100k/u.user", "1|30|F|writer|12345\n2|40|M|artist|54321\n")
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    spec = RemoteDataset(
        "ml-100k", "test", zip_path.as_uri(), f"sha256:{digest}", "ml-100k", "u.data"
    )
    monkeypatch.setitem(download_module.DATASETS, "ml-100k", spec)
    return spec


def test_every_dataset_has_a_url_and_a_checksum() -> None:
    for name, spec in DATASETS.items():
        assert spec.name == name
        assert spec.url.startswith("https://files.grouplens.org/")
        algorithm, _, digest = spec.checksum.partition(":")
        assert algorithm in ("sha256", "md5")
        assert len(digest) == {"sha256": 64, "md5": 32}[algorithm]


def test_data_home_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECFORGE_DATA", str(tmp_path))
    assert data_home() == tmp_path
    monkeypatch.delenv("RECFORGE_DATA")
    assert data_home() == Path.home() / ".cache" / "recforge"


def test_download_checks_and_unpacks_then_reuses(
    tmp_path: Path, local_archive: RemoteDataset
) -> None:
    home = tmp_path / "home"
    target = fetch("ml-100k", home)
    assert target == home / "ml-100k"
    assert (target / "u.data").is_file()
    assert [p.name for p in home.iterdir()] == ["ml-100k"]  # no temporary files left
    Path(local_archive.url.removeprefix("file://")).unlink()  # now offline: the copy is used
    assert fetch("ml-100k", home) == target
    assert load("ml-100k", home=home).nnz == 2


def test_bad_checksum_is_refused_and_says_where_to_put_files(
    tmp_path: Path, local_archive: RemoteDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = RemoteDataset(**{**local_archive.__dict__, "checksum": "sha256:" + "0" * 64})
    monkeypatch.setitem(download_module.DATASETS, "ml-100k", wrong)
    home = tmp_path / "home"
    with pytest.raises(DatasetNotFoundError, match="failed its SHA256 check") as info:
        fetch("ml-100k", home)
    assert str(home / "ml-100k" / "u.data") in str(info.value)
    assert not (home / "ml-100k").exists()


def test_offline_error_names_the_url_and_the_folder(
    tmp_path: Path, local_archive: RemoteDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = RemoteDataset(**{**local_archive.__dict__, "url": (tmp_path / "gone.zip").as_uri()})
    monkeypatch.setitem(download_module.DATASETS, "ml-100k", gone)
    with pytest.raises(DatasetNotFoundError, match="cannot be downloaded") as info:
        fetch("ml-100k", tmp_path / "home")
    message = str(info.value)
    assert gone.url in message
    assert "RECFORGE_DATA" in message
    assert "\n" not in message


def test_unknown_name() -> None:
    with pytest.raises(ParameterError, match="known datasets are ml-100k"):
        fetch("ml-1b")
