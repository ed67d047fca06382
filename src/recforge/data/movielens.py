"""MovieLens in its three layouts: 100K (u.data, u.item, u.user), 1M/10M ("::" .dat files) and
20M/25M/latest-small (CSV with a header, movies.csv, tags.csv)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from recforge.data.download import DATASETS, fetch
from recforge.data.features import Feature, FeatureTable
from recforge.data.interactions import DuplicatePolicy, Interactions
from recforge.data.readers import read_interactions
from recforge.errors import DataError, DatasetNotFoundError

__all__ = ["MovieLensDataset", "load_movielens", "movielens_layout", "read_movielens_ratings"]

_YEAR = re.compile(r"\((\d{4})\)\s*$")
_NO_GENRE = ("(no genres listed)", "unknown")
_ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip


@dataclass(frozen=True)
class MovieLensDataset:
    """A loaded MovieLens release.

    interactions: explicit ratings with timestamps.
    item_features: genres (multi-hot), year (numeric), title (text) and, where the release has
        tags, tags (multi-hot, lower-cased) — rows aligned to interactions.item_ids.
    user_features: age, gender, occupation, zip (100K and 1M only), aligned to user_ids; else None.
    item_titles: unicode [n_items] aligned to interactions.item_ids ("" if unknown).
    """

    name: str
    path: Path
    interactions: Interactions
    item_features: FeatureTable
    user_features: FeatureTable | None

    @property
    def item_titles(self) -> np.ndarray:
        return np.asarray(self.item_features["title"].values)


def movielens_layout(directory: Path) -> str | None:
    """'100k', 'dat' or 'csv' for a MovieLens folder, None if it does not look like one."""
    if (directory / "u.data").is_file():
        return "100k"
    if (directory / "ratings.dat").is_file():
        return "dat"
    if (directory / "ratings.csv").is_file() and (directory / "movies.csv").is_file():
        return "csv"
    return None


def load_movielens(
    name: str | Path = "ml-100k",
    home: str | Path | None = None,
    *,
    duplicates: DuplicatePolicy = "last",
) -> MovieLensDataset:
    """Load a MovieLens release by name (see recforge.data.DATASETS) or from its folder.

    By name it looks in `home` (default RECFORGE_DATA, else ~/.cache/recforge) and downloads
    from GroupLens, checksum-verified, when the files are absent.
    """
    if str(name) in DATASETS:
        directory = fetch(str(name), home)
        label = str(name)
    else:
        directory = Path(name)
        label = directory.name
        if not directory.is_dir():
            raise DatasetNotFoundError(
                f"{name}: neither a known dataset ({', '.join(DATASETS)}) nor a MovieLens folder"
            )
    layout = movielens_layout(directory)
    if layout == "100k":
        return _load_100k(label, directory, duplicates)
    if layout == "dat":
        return _load_dat(label, directory, duplicates)
    if layout == "csv":
        return _load_csv(label, directory, duplicates)
    raise DataError(
        f"{directory}: not a MovieLens folder (expected u.data, ratings.dat or ratings.csv with "
        f"movies.csv)"
    )


def read_movielens_ratings(path: Path, duplicates: DuplicatePolicy = "last") -> Interactions:
    """One MovieLens ratings file: u.data (tabs), ratings.dat ("::") or ratings.csv (header)."""
    if path.suffix == ".csv":
        return read_interactions(
            path,
            sep=",",
            header=True,
            columns="user=userId,item=movieId,rating=rating,timestamp=timestamp",
            duplicates=duplicates,
        )
    return read_interactions(
        path,
        sep="::" if path.suffix == ".dat" else "\t",
        header=False,
        columns="user,item,rating,timestamp",
        duplicates=duplicates,
    )


# ----------------------------------------------------------------------------- 100K
def _load_100k(label: str, directory: Path, duplicates: DuplicatePolicy) -> MovieLensDataset:
    ratings = read_movielens_ratings(directory / "u.data", duplicates)
    genres = [row[0] for row in _rows(directory / "u.genre", "|", 2, "latin-1")]
    ids, titles, years, item_genres = [], [], [], []
    for row in _rows(directory / "u.item", "|", 5 + len(genres), "latin-1"):
        ids.append(int(row[0]))
        titles.append(row[1])
        years.append(_year(row[1], row[2]))
        flags = row[5 : 5 + len(genres)]
        item_genres.append([g for g, f in zip(genres, flags, strict=True) if f.strip() == "1"])
    items = _movie_table(ids, titles, item_genres, ratings, years)
    users = _user_table(
        [(int(r[0]), r[1], r[2], r[3], r[4]) for r in _rows(directory / "u.user", "|", 5)],
        ratings,
    )
    return MovieLensDataset(label, directory, ratings, items, users)


# ----------------------------------------------------------------------------- 1M / 10M
def _load_dat(label: str, directory: Path, duplicates: DuplicatePolicy) -> MovieLensDataset:
    ratings = read_movielens_ratings(directory / "ratings.dat", duplicates)
    encoding = _encoding(directory / "movies.dat")
    ids, titles, genres = [], [], []
    for row in _rows(directory / "movies.dat", "::", 3, encoding):
        ids.append(int(row[0]))
        titles.append(row[1])
        genres.append(row[2])
    items = _movie_table(ids, titles, genres, ratings)
    tags_file = directory / "tags.dat"
    if tags_file.is_file():
        tag_rows = [(int(r[1]), r[2]) for r in _rows(tags_file, "::", 3, _encoding(tags_file))]
        items = _with_tags(items, tag_rows, ratings)
    users = None
    if (directory / "users.dat").is_file():
        users = _user_table(
            [
                (int(r[0]), r[2], r[1], _ML1M_OCCUPATIONS[int(r[3])], r[4])
                for r in _rows(directory / "users.dat", "::", 5)
            ],
            ratings,
        )
    return MovieLensDataset(label, directory, ratings, items, users)


# ----------------------------------------------------------------------------- 20M / 25M / latest
def _load_csv(label: str, directory: Path, duplicates: DuplicatePolicy) -> MovieLensDataset:
    ratings = read_movielens_ratings(directory / "ratings.csv", duplicates)
    movies = _csv_table(directory / "movies.csv", ["movieId", "title", "genres"])
    items = _movie_table(
        movies.column("movieId").to_numpy(),
        movies.column("title").to_pylist(),
        movies.column("genres").to_pylist(),
        ratings,
    )
    tags_file = directory / "tags.csv"
    if tags_file.is_file():
        tags = _csv_table(tags_file, ["movieId", "tag"])
        pairs = zip(tags.column("movieId").to_pylist(), tags.column("tag").to_pylist(), strict=True)
        items = _with_tags(items, [(int(m), t) for m, t in pairs if t is not None], ratings)
    return MovieLensDataset(label, directory, ratings, items, None)


# ----------------------------------------------------------------------------- helpers
def _rows(path: Path, sep: str, width: int, encoding: str = "utf-8") -> Iterator[list[str]]:
    """Split lines of a small metadata file; a line with fewer than `width` fields is an error."""
    if not path.is_file():
        raise DataError(f"{path}: missing; the MovieLens folder is incomplete, download it again")
    with open(path, encoding=encoding, newline="") as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            fields = text.split(sep)
            if len(fields) < width:
                raise DataError(
                    f"{path}:{lineno}: expected {width} fields separated by {sep!r}, "
                    f"found {len(fields)}"
                )
            yield fields


def _csv_table(path: Path, columns: list[str]) -> pa.Table:
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types={"title": pa.string(), "genres": pa.string(), "tag": pa.string()},
            ),
        )
    except (pa.ArrowInvalid, KeyError) as exc:
        raise DataError(f"{path}: cannot read the columns {columns} ({exc})") from None


def _encoding(path: Path) -> str:
    """UTF-8 when the file decodes as UTF-8, else Latin-1 (older MovieLens releases)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def _year(title: str, release: str = "") -> float:
    match = _YEAR.search(title.strip())
    if match:
        return float(match.group(1))
    tail = release.strip()[-4:]
    return float(tail) if tail.isdigit() else float("nan")


def _movie_table(
    ids: Sequence[int] | np.ndarray,
    titles: list[str],
    genres: Sequence[Any],
    ratings: Interactions,
    years: list[float] | None = None,
) -> FeatureTable:
    """Genres (multi-hot), year (from the title unless given) and title, aligned to the items
    of `ratings`; one entry per movie row."""
    features = [
        Feature.multi_hot("genres", genres, drop=_NO_GENRE),
        Feature.numeric("year", years if years is not None else [_year(t) for t in titles]),
        Feature.text("title", titles),
    ]
    return FeatureTable.from_rows(ids, features, align_to=ratings.item_ids)


def _user_table(rows: list[tuple[int, str, str, str, str]], ratings: Interactions) -> FeatureTable:
    """rows: (user id, age, gender, occupation, zip)."""
    ids = [r[0] for r in rows]
    features = [
        Feature.numeric("age", [float(r[1]) for r in rows]),
        Feature.categorical("gender", [r[2] for r in rows]),
        Feature.categorical("occupation", [r[3] for r in rows]),
        Feature.categorical("zip", [r[4] for r in rows]),
    ]
    return FeatureTable.from_rows(ids, features, align_to=ratings.user_ids)


def _with_tags(
    items: FeatureTable, pairs: list[tuple[int, str]], ratings: Interactions
) -> FeatureTable:
    """items plus a multi-hot "tags" feature (lower-cased, trimmed) from (movie id, tag) pairs."""
    per_movie: dict[int, set[str]] = {}
    for movie, tag in pairs:
        text = tag.strip().lower()
        if text:
            per_movie.setdefault(movie, set()).add(text)
    movies = sorted(per_movie)
    tags = Feature.multi_hot("tags", [sorted(per_movie[m]) for m in movies])
    tag_table = FeatureTable.from_rows(movies, [tags], align_to=ratings.item_ids)
    return FeatureTable(items.ids, [*items.values(), tag_table["tags"]])
