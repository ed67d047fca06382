"""One entry point for interactions: a dataset name, a MovieLens folder, or a file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from recforge.data.download import DATASETS
from recforge.data.interactions import DuplicatePolicy, Interactions
from recforge.data.movielens import load_movielens, movielens_layout, read_movielens_ratings
from recforge.data.readers import FILE_FORMATS, BadLines, read_interactions
from recforge.errors import DataError, ParameterError

__all__ = ["SOURCE_FORMATS", "load"]

SOURCE_FORMATS = ("movielens", *FILE_FORMATS)


def load(
    source: str | Path,
    *,
    format: str | None = None,
    columns: str | Mapping[str, str | int] | Sequence[str] | None = None,
    sep: str | None = None,
    header: bool | None = None,
    duplicates: DuplicatePolicy = "last",
    on_bad_lines: BadLines = "error",
    home: str | Path | None = None,
    encoding: str = "utf-8",
) -> Interactions:
    """Interactions from a dataset name ("ml-100k", …), a MovieLens folder or file, or a
    CSV / TSV / Parquet file read through `read_interactions` (columns, sep, header as there).

    format: "movielens", "csv", "tsv" or "parquet"; None decides from the source.
    home: where named datasets live (default RECFORGE_DATA, else ~/.cache/recforge).
    encoding: of a text file (named datasets and MovieLens folders know their own).
    """
    if format is not None and format.lower() not in SOURCE_FORMATS:
        raise ParameterError(
            f"The 'format' parameter must be one of {', '.join(SOURCE_FORMATS)}. "
            f"Got {format!r} instead."
        )
    fmt = None if format is None else format.lower()
    text = str(source)
    path = Path(source)
    if text in DATASETS and not path.exists():
        if fmt not in (None, "movielens"):
            raise ParameterError(f"{text} is a MovieLens dataset; drop --format {fmt}")
        return load_movielens(text, home, duplicates=duplicates).interactions
    if path.is_dir():
        if movielens_layout(path) is None:
            raise DataError(
                f"{path}: a directory that is not a MovieLens folder; pass the interactions file"
            )
        return load_movielens(path, duplicates=duplicates).interactions
    if not path.exists():
        raise DataError(
            f"{text}: no such file, and not a dataset name (known: {', '.join(DATASETS)})"
        )
    if fmt == "movielens":
        return read_movielens_ratings(path, duplicates)
    return read_interactions(
        path,
        format=fmt,
        columns=columns,
        sep=sep,
        header=header,
        duplicates=duplicates,
        on_bad_lines=on_bad_lines,
        encoding=encoding,
    )
