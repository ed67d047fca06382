"""Named datasets: where they live (RECFORGE_DATA) and how to fetch them from GroupLens."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from recforge.errors import DatasetNotFoundError, ParameterError

__all__ = ["DATASETS", "RemoteDataset", "data_home", "fetch"]

_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset archive: its URL, checksum ("sha256:<hex>", or "md5:<hex>" where GroupLens
    publishes only that), the folder inside the zip, and a file whose presence marks it complete."""

    name: str
    description: str
    url: str
    checksum: str
    folder: str
    marker: str


DATASETS: dict[str, RemoteDataset] = {
    d.name: d
    for d in (
        RemoteDataset(
            "ml-100k",
            "MovieLens 100K: 100,000 ratings, 943 users, 1,682 movies, demographics",
            _GROUPLENS + "ml-100k.zip",
            "sha256:50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
            "ml-100k",
            "u.data",
        ),
        RemoteDataset(
            "ml-1m",
            "MovieLens 1M: 1,000,209 ratings, 6,040 users, 3,706 movies, demographics",
            _GROUPLENS + "ml-1m.zip",
            "sha256:a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
            "ml-1m",
            "ratings.dat",
        ),
        RemoteDataset(
            "ml-10m",
            "MovieLens 10M: 10,000,054 ratings, 69,878 users, 10,677 movies, tags",
            _GROUPLENS + "ml-10m.zip",
            # GroupLens publishes only an MD5 for this archive (ml-10m.zip.md5).
            "md5:ce571fd55effeba0271552578f2648bd",
            "ml-10M100K",
            "ratings.dat",
        ),
        RemoteDataset(
            "ml-20m",
            "MovieLens 20M: 20,000,263 ratings, 138,493 users, 26,744 movies, tags",
            _GROUPLENS + "ml-20m.zip",
            "sha256:96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
            "ml-20m",
            "ratings.csv",
        ),
        RemoteDataset(
            "ml-25m",
            "MovieLens 25M: 25,000,095 ratings, 162,541 users, 59,047 movies, tags",
            _GROUPLENS + "ml-25m.zip",
            "sha256:8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
            "ml-25m",
            "ratings.csv",
        ),
        RemoteDataset(
            "ml-latest-small",
            "MovieLens latest-small: about 100,000 ratings, 610 users, 9,700 movies, tags",
            _GROUPLENS + "ml-latest-small.zip",
            "sha256:696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            "ml-latest-small",
            "ratings.csv",
        ),
    )
}


def data_home() -> Path:
    """The dataset directory: $RECFORGE_DATA, else ~/.cache/recforge."""
    env = os.environ.get("RECFORGE_DATA", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "recforge"


def fetch(name: str, home: str | Path | None = None, *, timeout: float = 60.0) -> Path:
    """The directory of dataset `name`, downloading and checking it first when absent.

    Looks in `home` (default: data_home()) for a folder `name` holding the dataset's files;
    otherwise downloads the zip from GroupLens, verifies its checksum and unpacks it there.
    Offline, or on a checksum mismatch, raises DatasetNotFoundError saying where to put the files.
    """
    spec = _spec(name)
    root = Path(home) if home is not None else data_home()
    target = root / spec.name
    if (target / spec.marker).is_file():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetNotFoundError(
            f"{name} is not in {root} and the directory cannot be created ({exc.strerror}); "
            f"set RECFORGE_DATA to a writable directory"
        ) from None
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{spec.name}-") as tmp:
        archive = Path(tmp) / f"{spec.name}.zip"
        _download(spec, archive, target, timeout)
        _verify(spec, archive, target)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        unpacked = Path(tmp) / spec.folder
        if not (unpacked / spec.marker).is_file():
            raise DatasetNotFoundError(
                f"{spec.url} did not contain {spec.folder}/{spec.marker}; download it by hand "
                f"and unzip it so that {target / spec.marker} exists"
            )
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return target


def _spec(name: str) -> RemoteDataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ParameterError(
            f"unknown dataset {name!r}; known datasets are {', '.join(DATASETS)} "
            f"(or pass a file path)"
        ) from None


def _where_to_put(spec: RemoteDataset, target: Path) -> str:
    return (
        f"download {spec.url} yourself and unzip it so that {target / spec.marker} exists "
        f"(or set RECFORGE_DATA to the directory that holds {spec.name}/)"
    )


def _download(spec: RemoteDataset, archive: Path, target: Path, timeout: float) -> None:
    try:
        with (
            urllib.request.urlopen(spec.url, timeout=timeout) as response,
            open(archive, "wb") as out,
        ):
            shutil.copyfileobj(response, out, length=1 << 20)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DatasetNotFoundError(
            f"{spec.name} is not in {target} and cannot be downloaded ({reason}); "
            + _where_to_put(spec, target)
        ) from None


def _verify(spec: RemoteDataset, archive: Path, target: Path) -> None:
    algorithm, _, expected = spec.checksum.partition(":")
    digest = hashlib.new(algorithm)
    with open(archive, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise DatasetNotFoundError(
            f"{spec.url} failed its {algorithm.upper()} check (got {digest.hexdigest()[:16]}…, "
            f"expected {expected[:16]}…), so it was not unpacked; retry, or "
            + _where_to_put(spec, target)
        )
