"""The `recforge` command line. Parsing lives here and nowhere else.

A user mistake exits with status 1 and one line on stderr (`error: …`), never a traceback; a usage
mistake (unknown option, missing argument) exits with status 2, also on one line.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from recforge.errors import DataError, ParameterError, RecforgeError

app = typer.Typer(
    name="recforge",
    help="Build, evaluate and serve recommender systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(
    help="Inspect and fetch datasets.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(data_app, name="data")

# Options shared by every command that reads an interactions file.
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", help="movielens, csv, tsv or parquet (default: from the name)."),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Column mapping, e.g. user,item,rating,timestamp (names with a header, "
        "else positions; roles: user (or session, for a session log), item, rating or "
        "weight, timestamp).",
    ),
]
SepOpt = Annotated[str | None, typer.Option("--sep", help="Field separator, e.g. ',' '\\t' '::'.")]
HeaderOpt = Annotated[
    bool | None,
    typer.Option("--header/--no-header", help="Whether the file has a header (default: detect)."),
]
DuplicatesOpt = Annotated[
    str,
    typer.Option(
        "--duplicates", help="Repeated (user, item) pairs: last, first, sum, mean, error."
    ),
]
EncodingOpt = Annotated[
    str, typer.Option("--encoding", help="Text encoding of the data files, e.g. latin-1.")
]
BadLinesOpt = Annotated[
    str,
    typer.Option("--on-bad-lines", help="Malformed lines: error (stop at the first) or skip."),
]


def _read(
    source: str,
    fmt: str | None = None,
    columns: str | None = None,
    sep: str | None = None,
    header: bool | None = None,
    duplicates: str = "last",
    on_bad_lines: str = "error",
    encoding: str = "utf-8",
) -> Any:
    """Interactions from a dataset name or a path."""
    from recforge.data import load

    return load(
        source,
        format=fmt,
        columns=columns,
        sep=_unescape(sep),
        header=header,
        duplicates=duplicates,  # type: ignore[arg-type]  # checked by the reader
        on_bad_lines=on_bad_lines,  # type: ignore[arg-type]
        encoding=encoding,
    )


def _unescape(sep: str | None) -> str | None:
    if sep is None:
        return None
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(sep, sep)


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    """`key=value` strings → keyword arguments; values are Python literals when they parse."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, eq, raw = pair.partition("=")
        if not eq or not key.strip():
            raise ParameterError(
                f"--param takes key=value; got {pair!r} (e.g. --param reg_items=5)"
            )
        try:
            value: Any = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = {"true": True, "false": False, "none": None}.get(raw.lower(), raw)
        params[key.strip()] = value
    return params


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(
            f"--k takes comma-separated integers such as 10,20; got {text!r}"
        ) from None
    if not ks or min(ks) < 1:
        raise ParameterError(f"--k takes integers ≥ 1 such as 10,20; got {text!r}")
    return ks


# --------------------------------------------------------------------------- data
@data_app.command(
    "info",
    epilog="Example: recforge data info ml-100k --json",
)
def data_info(
    source: Annotated[
        str, typer.Argument(help="A dataset name (see 'recforge data list') or a file.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    encoding: EncodingOpt = "utf-8",
    duplicates: DuplicatesOpt = "last",
    on_bad_lines: BadLinesOpt = "error",
) -> None:
    """Users (or sessions), items, interactions, sparsity, the rating histogram, time span."""
    data = _read(source, fmt, columns, sep, header, duplicates, on_bad_lines, encoding)
    stats = data.stats().as_dict()
    if as_json:
        typer.echo(json.dumps({"source": source, **stats}))
        return
    typer.echo(f"source         {source}")
    rows = f"{stats['rows']}s"  # "users", or "sessions" for a session log
    typer.echo(f"{rows:<15}{stats['users']:,}")
    typer.echo(f"items          {stats['items']:,}")
    kind = "explicit" if stats["explicit"] else "implicit"
    typer.echo(f"interactions   {stats['interactions']:,} ({kind})")
    typer.echo(f"sparsity       {stats['sparsity']:.4%}")
    per_user, per_item = stats["interactions_per_user"], stats["interactions_per_item"]
    for label, degree in ((f"per {stats['rows']}", per_user), ("per item", per_item)):
        typer.echo(
            f"{label:<15}min {degree['min']:g}  median {degree['median']:g}  max {degree['max']:g}"
        )
    if stats["time_min"] is not None:
        typer.echo(
            f"time span      {stats['time_min'][:10]} → {stats['time_max'][:10]} "
            f"({stats['time_span_days']:.0f} days)"
        )
    if stats["rating_histogram"]:
        typer.echo("ratings")
        total = max(1, stats["interactions"])
        for value, count in stats["rating_histogram"].items():
            bar = "#" * max(1, round(40 * count / total))
            typer.echo(f"  {value:>12}  {count:>10,}  {bar}")


@data_app.command("list", epilog="Example: recforge data list")
def data_list() -> None:
    """Datasets recforge knows by name, and whether each is already on disk."""
    from recforge.data import DATASETS, data_home

    home = data_home()
    for name, description in DATASETS.items():
        here = "on disk" if (home / name).is_dir() else "download on first use"
        typer.echo(f"{name:<16} {description}  [{here}]")
    typer.echo(f"(RECFORGE_DATA = {home})")


@data_app.command("download", epilog="Example: recforge data download ml-1m")
def data_download(name: Annotated[str, typer.Argument(help="Dataset name, e.g. ml-1m.")]) -> None:
    """Fetch a dataset from GroupLens into RECFORGE_DATA, checking its SHA-256."""
    from recforge.data import fetch

    typer.echo(str(fetch(name)))


# --------------------------------------------------------------------------- split
@app.command(
    epilog="Example: recforge split ml-100k --method user-time --test 0.2 --valid 0.1 "
    "--out splits/ml100k",
)
def split(
    source: Annotated[str, typer.Argument(help="A dataset name or an interactions file.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for train/valid/test .tsv files.")],
    method: Annotated[
        str,
        typer.Option(help="random, user, user-time, leave-last-out, time or kfold."),
    ] = "user",
    test: Annotated[float, typer.Option(help="Test share (ratio methods).")] = 0.2,
    valid: Annotated[float, typer.Option(help="Validation share (ratio methods).")] = 0.0,
    last: Annotated[int, typer.Option(help="Items per user held out (leave-last-out).")] = 1,
    valid_last: Annotated[
        int, typer.Option(help="Validation items per user (leave-last-out).")
    ] = 0,
    test_from: Annotated[
        str | None, typer.Option(help="Cutoff for method=time: epoch seconds or ISO date.")
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option(help="Validation cutoff for method=time.")
    ] = None,
    folds: Annotated[int, typer.Option(help="Number of folds (kfold).")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    encoding: EncodingOpt = "utf-8",
    duplicates: DuplicatesOpt = "last",
    on_bad_lines: BadLinesOpt = "error",
) -> None:
    """Split interactions for honest offline evaluation and write train/valid/test files."""
    from recforge.data import kfold, write_interactions
    from recforge.data import split as make_split

    _output_dir(out)
    data = _read(source, fmt, columns, sep, header, duplicates, on_bad_lines, encoding)
    if method == "kfold":
        parts = kfold(data, k=folds, seed=seed)
        reports = []
        for n, part in enumerate(parts, start=1):
            fold_dir = out / f"fold-{n}"
            fold_dir.mkdir(exist_ok=True)
            write_interactions(part.train, fold_dir / "train.tsv")
            write_interactions(part.test, fold_dir / "test.tsv")
            reports.append(part.report().as_dict())
        (out / "split.json").write_text(json.dumps({"method": "kfold", "folds": reports}, indent=2))
        typer.echo(f"wrote {len(parts)} folds to {out}")
        return
    params: dict[str, Any] = {"seed": seed}
    if method in ("random", "user", "user-time"):
        params.update(test=test, valid=valid)
    elif method == "leave-last-out":
        params = {"test": last, "valid": valid_last}
    elif method == "time":
        if test_from is None:
            raise ParameterError("method=time needs --test-from (epoch seconds or an ISO date)")
        params = {"test_from": _cutoff(test_from), "valid_from": _cutoff(valid_from)}
    parts1 = make_split(data, method, **params)
    write_interactions(parts1.train, out / "train.tsv")
    if parts1.valid is not None and parts1.valid.nnz:
        write_interactions(parts1.valid, out / "valid.tsv")
    write_interactions(parts1.test, out / "test.tsv")
    report = parts1.report()
    (out / "split.json").write_text(json.dumps({"method": method, **report.as_dict()}, indent=2))
    typer.echo(str(report))
    typer.echo(
        f"wrote {out}/train.tsv, {out}/test.tsv"
        + (", valid.tsv" if parts1.valid is not None and parts1.valid.nnz else "")
    )


def _cutoff(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.strip().lstrip("-").isdigit() else value


# --------------------------------------------------------------------------- train
@app.command(
    epilog="Example: recforge train --data ml-100k --model bias --param reg_items=5 "
    "--out runs/bias",
)
def train(
    data: Annotated[str, typer.Option("--data", help="A dataset name or a training file.")],
    model: Annotated[str, typer.Option("--model", help="A model name (see 'recforge models').")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the model to.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Hyper-parameter key=value; repeat for more."),
    ] = None,
    valid: Annotated[str | None, typer.Option("--valid", help="Validation file.")] = None,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    encoding: EncodingOpt = "utf-8",
    duplicates: DuplicatesOpt = "last",
    on_bad_lines: BadLinesOpt = "error",
    item_features: Annotated[
        str | None,
        typer.Option(
            "--item-features",
            help="MovieLens dataset name or folder whose item features (genres, year, title) "
            "feature-based models such as 'content' use (default: --data, when it is one); "
            "side-feature models (deeprating, twotower, fm …) use them only when given.",
        ),
    ] = None,
    user_features: Annotated[
        str | None,
        typer.Option(
            "--user-features",
            help="MovieLens dataset name or folder whose user features (age, gender, "
            "occupation) side-feature models use.",
        ),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir",
            help="Neural models: where checkpoint.pt and metrics.jsonl go (default: OUT/run).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Neural models: continue the interrupted run in --run-dir."),
    ] = False,
    min_rating: Annotated[
        float | None,
        typer.Option(
            "--min-rating",
            help="Ratings only: learn from the ratings at least this high; the lower ones "
            "are kept as seen (never recommended) but shape nothing. Default: learn from all.",
        ),
    ] = None,
) -> None:
    """Train a model on interactions and save it (no pickle) to DIR/model."""
    from recforge.models import get
    from recforge.models.neural_base import NeuralRecommender

    params = _parse_params(param or [])
    estimator = get(model, **params)  # bad names and parameters fail before any data is read
    _output_dir(out)  # and an unusable --out before any fitting
    train_data = _read(data, fmt, columns, sep, header, duplicates, on_bad_lines, encoding)
    valid_data = None
    if valid is not None:
        raw_valid = _read(valid, fmt, columns, sep, header, duplicates, on_bad_lines, encoding)
        valid_data, dropped = raw_valid.restrict(train_data.user_ids, train_data.item_ids)
        if dropped:
            warnings.warn(
                f"{valid}: {dropped} validation interactions involve users or items absent from "
                f"the training data and are left out of validation",
                _data_warning(),
                stacklevel=1,
            )
    features = None
    if estimator.uses_item_features:
        features = _features(item_features or data, model, "item", needed=True)
    elif item_features is not None:  # side features, or only titles and genres to show
        features = _features(item_features, model, "item")  # models without side features ignore it
    users = None
    if user_features is not None:
        if not estimator.accepts_side_features:
            raise ParameterError(
                f"model {model!r} does not use user features; drop --user-features or choose a "
                "side-feature model (deeprating, twotower, fm, widedeep, deepfm, dcnv2, autoint)"
            )
        users = _features(user_features, model, "user")
    fit_options: dict[str, Any] = {"item_features": features, "min_rating": min_rating}
    if users is not None:
        fit_options["user_features"] = users
    if isinstance(estimator, NeuralRecommender):
        fit_options.update(run_dir=run_dir or out / "run", resume=resume)
    elif run_dir is not None or resume:
        raise ParameterError(
            f"model {model!r} is not a neural model: --run-dir and --resume apply to neural "
            "models only (see 'recforge models')"
        )
    start = time.perf_counter()
    estimator.fit(train_data, valid_data, **fit_options)
    seconds = time.perf_counter() - start
    shown = _display_features(features if features is not None else item_features or data)
    path = estimator.save(out / "model", items=shown, ratings=train_data)
    learned = ""
    if estimator.disliked_ is not None:
        below = int(estimator.disliked_.nnz)
        learned = (
            f", learning from the {train_data.nnz - below:,} rated at least {min_rating:g} "
            f"(the {below:,} below are kept as seen)"
        )
    typer.echo(
        f"trained {model} on {train_data.nnz:,} interactions "
        f"({train_data.n_users:,} {train_data.rows}s × {train_data.n_items:,} items){learned} "
        f"in {seconds:.2f}s → {path}"
    )
    if train_data.explicit and estimator.ranks_by_predicted_rating():
        typer.echo(
            f"note: {model} recommends the items of highest predicted rating, which ranks "
            "poorly for top-N (benchmarks/README.md, ranking); for top-N lists train a ranking "
            "model such as ease, itemknn or ials",
            err=True,
        )


def _features(source: str, model: str, side: str, *, needed: bool = False) -> Any:
    """The item (side="item") or user FeatureTable of a MovieLens dataset (name or folder)."""
    from recforge.data import load_movielens
    from recforge.errors import DataError, DatasetNotFoundError

    try:
        dataset = load_movielens(source)
    except (DataError, DatasetNotFoundError):
        raise ParameterError(
            f"--{side}-features {source!r} is not a MovieLens dataset name or folder; pass one, "
            f"or leave the option out"
            + (f" (model {model!r} needs {side} features)" if needed else "")
        ) from None
    table = dataset.item_features if side == "item" else dataset.user_features
    if table is None:
        raise ParameterError(
            f"--{side}-features {source}: this MovieLens release has no {side} features "
            "(only 100K and 1M have user demographics)"
        )
    return table


def _display_features(source: Any) -> Any:
    """The title and genres of the items (a FeatureTable), kept with a trained model for
    `recforge serve` to show and filter by; from a FeatureTable or a MovieLens dataset name or
    folder, else None (any other data source has none to offer)."""
    from recforge.data import FeatureTable, load_movielens
    from recforge.errors import DataError, DatasetNotFoundError

    table = source
    if not isinstance(source, FeatureTable):
        try:
            table = load_movielens(source).item_features
        except (DataError, DatasetNotFoundError, OSError):
            return None
    kept = [table[name] for name in ("title", "genres") if name in table]
    return FeatureTable(table.ids, kept) if kept else None


def _data_warning() -> type[Warning]:
    from recforge.errors import DataWarning

    return DataWarning


# --------------------------------------------------------------------------- recommend / predict
@app.command(
    epilog="Examples:\n\n\b\n"  # \b: click keeps the lines below as they are
    "recforge recommend runs/bias --users all -k 10 --out recs.tsv\n"
    "recforge recommend runs/gru4rec --sessions new_clicks.csv --out next.tsv"
)
def recommend(
    model_dir: Annotated[Path, typer.Argument(help="Directory written by 'recforge train'.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: user<TAB>item1,item2,…")],
    users: Annotated[
        str, typer.Option("--users", help="'all', or a file with one raw user id per line.")
    ] = "all",
    sessions: Annotated[
        Path | None,
        typer.Option(
            "--sessions",
            help="Instead of known users: an interactions file of new sessions (or users), "
            "read like 'train' reads its data; each one's items, oldest first, are its history, "
            "left out of its list (models that can score a history: see 'recforge models').",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Items per user.")] = 10,
    include_seen: Annotated[
        bool, typer.Option("--include-seen", help="Do not filter out items the user has seen.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Users scored per batch.", min=1)] = 1024,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    encoding: EncodingOpt = "utf-8",
    on_bad_lines: BadLinesOpt = "error",
) -> None:
    """Top-K recommendations for known users, or for the new sessions of a file, best first,
    seen items filtered out."""
    import numpy as np

    from recforge import load

    if k < 1:
        raise ParameterError(f"The 'k' parameter of recommend must be an int ≥ 1. Got {k} instead.")
    if sessions is not None:
        if users != "all" or include_seen:
            raise ParameterError(
                "--sessions recommends for the file's sessions, their own items left out; "
                "drop --users and --include-seen, or drop --sessions"
            )
        model = load(model_dir)
        read = _read(str(sessions), fmt, columns, sep, header, "last", on_bad_lines, encoding)
        written, longest = _recommend_sessions(model, read, sessions, out, k)
        typer.echo(f"wrote {_lists_written(k, longest)} for {written:,} {read.rows}s to {out}")
        return
    model = load(model_dir)
    if users == "all":
        user_idx = np.arange(model.n_users_, dtype=np.int64)
    else:
        raw = _read_id_lines(Path(users))
        user_idx = model.user_ids_.to_index(raw, missing="mask")
        unknown = np.flatnonzero(user_idx < 0)
        if unknown.size:
            raise DataError(
                f"{users}:{int(unknown[0]) + 1}: user {raw[unknown[0]]!r} is unknown to the model "
                f"({unknown.size} unknown users in all); remove them or retrain with their data"
            )
    raw_users = model.user_ids_.to_raw(user_idx)
    written = longest = 0
    with open(out, "w", encoding="utf-8") as fh:
        for start in range(0, user_idx.size, batch_size):
            batch = user_idx[start : start + batch_size]
            ids, _ = model.recommend(batch, k=k, exclude_seen=not include_seen)
            for row, user in zip(ids, raw_users[start : start + batch_size], strict=True):
                items = model.item_ids_.to_raw(row[row >= 0])
                fh.write(f"{user}\t{','.join(str(i) for i in items)}\n")
                written += 1
                longest = max(longest, len(items))
    left = "every item" if include_seen else "every unseen item"
    typer.echo(f"wrote {_lists_written(k, longest, left)} for {written:,} users to {out}")


def _lists_written(k: int, longest: int, left: str = "every unseen item") -> str:
    """What a recommend run wrote: 'top-10 lists', or, where fewer items than k were left,
    the longest list written (`left`: what such a list holds)."""
    if longest >= k:
        return f"top-{k} lists"
    return f"lists of at most {longest:,} items ({left}; -k {k:,} asked for more)"


def _recommend_sessions(model: Any, data: Any, source: Path, out: Path, k: int) -> tuple[int, int]:
    """Write row<TAB>item1,… for every row (session) of `data` from
    model.recommend_for_histories(its items the model knows, oldest first); returns the count
    of lists and the length of the longest.
    Unknown items are left out of the histories, and rows with no known item out of the file,
    each counted in a warning."""
    from recforge.errors import UnsupportedOperationError
    from recforge.evaluation.sessions import known_histories

    if not model.supports_history:
        raise UnsupportedOperationError(
            f"{type(model).__name__} cannot score a new session's items; --sessions needs a "
            "model with supports_history (sequence models, item-KNN, EASE, autoencoders)"
        )
    histories, unknown = known_histories(model, data)
    served: list[str] = []
    skipped: list[str] = []
    sequences = []
    for raw, history in zip(data.user_ids.raw_ids, histories, strict=True):
        if history.size:
            served.append(str(raw))
            sequences.append(history)
        else:
            skipped.append(str(raw))
    width = min(k, model.n_items_)  # lists hold at most the catalogue
    ids = model.recommend_for_histories(sequences, k=width)[0] if sequences else None
    longest = 0
    with open(out, "w", encoding="utf-8") as fh:
        for raw, row in zip(served, ids if ids is not None else [], strict=True):
            top = model.item_ids_.to_raw(row[row >= 0])
            fh.write(f"{raw}\t{','.join(str(i) for i in top)}\n")
            longest = max(longest, len(top))
    if unknown:
        warnings.warn(
            f"{source}: {unknown:,} of {data.nnz:,} interactions are with items the "
            "model does not know and are left out of their histories",
            _data_warning(),
            stacklevel=1,
        )
    if skipped:
        warnings.warn(
            f"{source}: {data.rows}s without an item the model knows get no list: {len(skipped):,} "
            f"(the first: {skipped[0]!r}); retrain with their items to serve them",
            _data_warning(),
            stacklevel=1,
        )
    return len(served), longest


@app.command(epilog="Example: recforge predict runs/bias --pairs pairs.tsv --out predictions.tsv")
def predict(
    model_dir: Annotated[Path, typer.Argument(help="Directory written by 'recforge train'.")],
    pairs: Annotated[Path, typer.Option("--pairs", help="File of user<TAB>item lines.")],
    out: Annotated[Path, typer.Option("--out", help="Output: user<TAB>item<TAB>prediction.")],
    unknown: Annotated[
        str,
        typer.Option(
            help="Pairs whose user or item the model never saw: 'error' stops at the first, "
            "'skip' leaves them out and reports how many."
        ),
    ] = "error",
) -> None:
    """Predicted ratings for (user, item) pairs (a user<TAB>item file, or the files that
    'recforge split' writes)."""
    import numpy as np

    from recforge import load

    if unknown not in ("error", "skip"):
        raise ParameterError(f"--unknown must be 'error' or 'skip', not {unknown!r}")
    model = load(model_dir)
    raw_users, raw_items, lines = _read_pairs(pairs)
    u = model.user_ids_.to_index(raw_users, missing="mask")
    i = model.item_ids_.to_index(raw_items, missing="mask")
    unseen = np.flatnonzero((u < 0) | (i < 0))
    if unseen.size:
        first = int(unseen[0])
        what = "user" if u[first] < 0 else "item"
        value = raw_users[first] if u[first] < 0 else raw_items[first]
        where = f"{pairs}:{lines[first]}: {what} {value!r} is unknown to the model"
        if unknown == "error":
            raise DataError(
                f"{where} ({unseen.size} pairs with unknown ids in all); pass --unknown skip "
                f"to predict the others"
            )
        warnings.warn(
            f"skipped {unseen.size} of {len(raw_users)} pairs with ids unknown to the model "
            f"(first: {where})",
            _data_warning(),
            stacklevel=1,
        )
        keep = (u >= 0) & (i >= 0)
        raw_users = [r for r, kept in zip(raw_users, keep, strict=True) if kept]
        raw_items = [r for r, kept in zip(raw_items, keep, strict=True) if kept]
        u, i = u[keep], i[keep]
    values = model.predict(u, i)
    with open(out, "w", encoding="utf-8") as fh:
        for user, item, value in zip(raw_users, raw_items, values, strict=True):
            fh.write(f"{user}\t{item}\t{float(value):.6g}\n")
    typer.echo(f"wrote {len(values):,} predictions to {out}")


def _output_dir(out: Path, option: str = "--out") -> Path:
    """Create the output directory before any work is done, or fail with one line."""
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{option} {out} is a file, not a directory; give a directory path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            f"{option} {out}: cannot create the directory ({exc.strerror}); choose a writable path"
        ) from None
    if not os.access(out, os.W_OK):
        raise ParameterError(f"{option} {out} is not writable; choose a writable directory")
    return out


def _read_id_lines(path: Path) -> list[str]:
    from recforge.data.text_lines import read_text_lines

    if not path.is_file():
        raise DataError(f"{path}: no such file; pass --users all or a file of user ids")
    ids = [line.strip() for line in read_text_lines(path)]
    ids = [x for x in ids if x]
    if not ids:
        raise DataError(f"{path}: no user ids in the file (one raw user id per line)")
    return ids


def _read_pairs(path: Path) -> tuple[list[str], list[str], list[int]]:
    """(users, items, line numbers) of a user<TAB>item[<TAB>…] file; a header line (such as
    the quoted one of `recforge split`'s files) and blank lines are skipped."""
    from recforge.data.text_lines import read_text_lines

    if not path.is_file():
        raise DataError(f"{path}: no such file")
    users: list[str] = []
    items: list[str] = []
    lines: list[int] = []
    for n, line in enumerate(read_text_lines(path), start=1):
        if not line.strip():
            continue
        fields = [_unquoted(field) for field in line.split("\t")]
        if len(fields) < 2:
            raise DataError(f"{path}:{n}: expected user<TAB>item, got {line!r}")
        if not users and fields[0].lower() in ("user", "userid", "user_id", "user id"):
            continue  # header
        users.append(fields[0])
        items.append(fields[1])
        lines.append(n)
    if not users:
        raise DataError(f"{path}: no user<TAB>item pairs in the file")
    return users, items, lines


def _unquoted(field: str) -> str:
    """A field without surrounding spaces and one pair of double quotes."""
    text = field.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


# --------------------------------------------------------------------------- evaluate
@app.command(
    epilog="Examples:\n\n\b\n"  # \b: click keeps the lines below as they are
    "recforge evaluate runs/bias --test splits/test.tsv --k 10,20 --json\n"
    "recforge evaluate --recs recs.tsv --test splits/test.tsv --train splits/train.tsv\n"
    "recforge evaluate runs/gru4rec --sessions splits/sessions/test.tsv --k 10,20",
)
def evaluate(
    model_dir: Annotated[
        Path | None, typer.Argument(help="Directory written by 'recforge train'.")
    ] = None,
    test: Annotated[str | None, typer.Option("--test", help="Test interactions file.")] = None,
    recs: Annotated[
        Path | None, typer.Option("--recs", help="Recommendations file from any system.")
    ] = None,
    train: Annotated[
        str | None,
        typer.Option(
            "--train",
            help="Training file (with --recs: novelty, leakage; with --sessions: the clicks "
            "that come before the sessions').",
        ),
    ] = None,
    valid: Annotated[
        str | None, typer.Option("--valid", help="Validation file: its items are also excluded.")
    ] = None,
    k: Annotated[str, typer.Option("--k", help="Cut-offs, comma-separated.")] = "10,20",
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="Comma-separated metric names (default: all).")
    ] = None,
    sampled: Annotated[
        int | None,
        typer.Option("--sampled", help="Rank among N sampled negatives instead of all items."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampled negatives.")] = 0,
    sessions: Annotated[
        str | None,
        typer.Option(
            "--sessions",
            help="Instead of --test: a file of sessions, new to the model or not; each click "
            "is ranked after the clicks before it in its session (next-item prediction), "
            "the session's clicks in --train, if given, first.",
        ),
    ] = None,
    targets: Annotated[
        str,
        typer.Option(
            "--targets",
            help="With --sessions: every (each click with one before it) or last (each "
            "session's last click).",
        ),
    ] = "every",
    as_json: Annotated[bool, typer.Option("--json", help="Print one flat JSON object.")] = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Score a trained model (full ranking by default) or a recommendations file on test data,
    or a model on predicting the next click of sessions."""
    ks = _parse_ks(k)
    metric_names = None if metrics is None else [m.strip() for m in metrics.split(",") if m.strip()]

    def read(path: str) -> Any:
        return _read(path, fmt, columns, sep, header, encoding=encoding)

    if sessions is not None:
        given = {"--test": test, "--recs": recs, "--valid": valid}
        extra = [flag for flag, value in given.items() if value is not None]
        if sampled is not None:
            extra.append("--sampled")
        if model_dir is None or extra:
            raise ParameterError(
                "evaluate --sessions FILE scores a model directory on the file (and --train); "
                + (f"drop {', '.join(extra)}" if extra else "give the model directory")
            )
        result = _evaluate_sessions(
            model_dir,
            sessions,
            train,
            read,
            k=ks,
            metrics=metric_names,
            targets=targets,
        )
        typer.echo(json.dumps(result.as_dict()) if as_json else result.to_table())
        return
    if test is None:
        raise ParameterError("evaluate needs --test PATH (the held-out interactions)")
    if (model_dir is None) == (recs is None):
        raise ParameterError("evaluate takes either a model directory or --recs FILE, not both")
    if recs is not None:
        result = _evaluate_recs(recs, test, train, ks, metric_names, read)
    else:
        assert model_dir is not None
        result = _evaluate_model(
            model_dir,
            test,
            train,
            valid,
            ks,
            metric_names,
            sampled,
            seed,
            read,
        )
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
    else:
        typer.echo(result.to_table())


def _evaluate_model(
    model_dir: Path,
    test: str,
    train: str | None,
    valid: str | None,
    ks: list[int],
    metric_names: list[str] | None,
    sampled: int | None,
    seed: int,
    read: Callable[[str], Any],
) -> Any:
    from recforge import load
    from recforge.evaluation import evaluate as run_evaluation

    model = load(model_dir)

    def on_model_maps(path: str, role: str) -> Any:
        raw = read(path)
        mapped, dropped = raw.restrict(model.user_ids_, model.item_ids_)
        if role == "test" and raw.rows == "session" and not mapped.nnz:
            raise DataError(
                f"{path}: none of its sessions is known to the model; score new sessions with "
                f"--sessions {path} (next-item prediction)"
            )
        if dropped:
            warnings.warn(
                f"{path}: {dropped} of {raw.nnz} {role} interactions involve {raw.rows}s or "
                f"items the model never saw (cold start) and cannot be scored"
                + ("; new sessions are scored with --sessions" if raw.rows == "session" else ""),
                _data_warning(),
                stacklevel=1,
            )
        return mapped

    test_data = on_model_maps(test, "test")
    train_data = None if train is None else on_model_maps(train, "train")
    valid_data = None if valid is None else on_model_maps(valid, "validation")
    return run_evaluation(
        model,
        test_data,
        train=train_data,
        valid=valid_data,
        k=ks,
        metrics=metric_names,
        sampled_negatives=sampled,
        seed=seed,
    )


def _evaluate_sessions(
    model_dir: Path,
    sessions: str,
    before: str | None,
    read: Callable[[str], Any],
    **options: Any,
) -> Any:
    """evaluate_sessions of the model in `model_dir` on the file `sessions`, the file `before`
    holding earlier clicks; `read` reads a file, `options` go to evaluate_sessions."""
    from recforge import load
    from recforge.evaluation import evaluate_sessions

    model = load(model_dir)
    earlier = None if before is None else read(before)
    return evaluate_sessions(model, read(sessions), before=earlier, **options)


def _evaluate_recs(
    recs: Path,
    test: str,
    train: str | None,
    ks: list[int],
    metric_names: list[str] | None,
    read: Callable[[str], Any],
) -> Any:
    from recforge.evaluation import evaluate_recommendations, read_recommendations

    lists = read_recommendations(recs)
    test_data = read(test)
    train_data = None if train is None else read(train)
    return evaluate_recommendations(lists, test_data, train=train_data, k=ks, metrics=metric_names)


# --------------------------------------------------------------------------- models / demo
@app.command(epilog="Example: recforge models")
def models() -> None:
    """The model registry: one line per model."""
    from recforge.models import available

    for name, description in available().items():
        typer.echo(f"{name:<14} {description}")


@app.command(epilog="Example: RECFORGE_DATA=../shared/data recforge demo")
def demo(
    dataset: Annotated[str, typer.Option(help="MovieLens dataset name.")] = "ml-100k",
    seed: Annotated[int, typer.Option(help="Split seed.")] = 0,
    all_models: Annotated[
        bool, typer.Option("--all", help="Train every registered model (several minutes).")
    ] = False,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma-separated model names to train.")
    ] = None,
) -> None:
    """Train models on MovieLens, print a leaderboard and sample recommendations.

    By default: every classical model and one quick deep model per family."""
    from recforge.demo import demo_models, run_demo
    from recforge.models import model_class

    if all_models and models is not None:
        raise typer.BadParameter("give --all or --models, not both", param_hint="--models")
    chosen: list[str] | None = None
    if models is not None:
        chosen = [m.strip() for m in models.split(",") if m.strip()]
        if not chosen:
            raise typer.BadParameter("name at least one model, e.g. --models ease,multvae")
        for name in chosen:
            model_class(name)  # an unknown name fails here, with the closest ones
    elif all_models:
        chosen = demo_models(everything=True)
    run_demo(dataset=dataset, seed=seed, models=chosen)


# --------------------------------------------------------------------------- serve
@app.command(epilog="Example: recforge index runs/ials --kind ivf -p nprobe=128")
def index(
    model_dir: Annotated[
        Path, typer.Argument(help="A model directory ('recforge train --out' or model.save).")
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="ivf (k-means lists) or hnsw (a graph). The recall each keeps on trained "
            "models is in benchmarks/README.md (ann); --check measures it on yours."
        ),
    ] = "ivf",
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Index parameter key=value: M, ef_construction, ef_search (hnsw); nlist, "
            "nprobe (ivf).",
        ),
    ] = None,
    check: Annotated[
        int, typer.Option(help="Users whose ANN top-10 is compared with exact search.", min=0)
    ] = 1000,
) -> None:
    """Build an approximate nearest-neighbour index (faiss) of an embedding model's items, for
    'recforge serve' to answer from on large catalogues; seen items stay filtered exactly."""
    import numpy as np

    from recforge.artifact import load_with_manifest
    from recforge.retrieval import ANNIndex, recommend_ann, retrieval_vectors
    from recforge.serving.store import INDEX_DIR

    source = model_dir / "model" if (model_dir / "model" / "manifest.json").is_file() else model_dir
    model, manifest = load_with_manifest(source)
    params = _parse_params(param or [])
    vectors = retrieval_vectors(model)[1]
    start = time.perf_counter()
    built = ANNIndex.build(vectors, kind=kind, **params)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    built.meta["model_sha256"] = manifest["content_sha256"]
    where = built.save(source / INDEX_DIR)
    typer.echo(
        f"indexed {built.n_items:,} items ({built.dim}-d) as {built.kind} in {seconds:.1f}s "
        f"→ {where}"
    )
    if check:
        users = np.random.default_rng(0).permutation(model.n_users_)[:check]
        exact, _ = model.recommend(users, k=10)
        approx, _ = recommend_ann(model, built, users, k=10)
        found = [
            len(set(a[a >= 0]) & set(e[e >= 0])) / max(1, int((e >= 0).sum()))
            for a, e in zip(approx, exact, strict=True)
        ]
        typer.echo(f"recall@10 against exact top-10, {users.size:,} users: {np.mean(found):.4f}")


@app.command(epilog="Example: recforge serve runs/ease --port 8000")
def serve(
    model_dir: Annotated[
        Path,
        typer.Argument(
            help="A model directory ('recforge train --out'), or a directory of them (each "
            "served under its folder name)."
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    watch: Annotated[
        float,
        typer.Option(
            help="Seconds between looks for re-saved models, swapped in without dropping "
            "requests (0: only POST /admin/reload, which reaches one worker).",
            min=0,
        ),
    ] = 2.0,
    default_model: Annotated[
        str | None,
        typer.Option(
            help="The model that answers requests naming none (default: the first by name)."
        ),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="RECFORGE_ADMIN_TOKEN",
            help="Lets /admin/* answer clients on other hosts that send 'Authorization: "
            "Bearer <token>' (without one, only this machine may reload).",
        ),
    ] = None,
) -> None:
    """Serve recommendations over HTTP (FastAPI on uvicorn); the API is described at /docs."""
    from recforge.serving.server import serve as run_server
    from recforge.serving.store import ModelStore

    # a missing or damaged model, or an unknown --default-model, fails here in one line
    store = ModelStore(model_dir, default=default_model)
    how = "" if store.default_chosen or len(store.names) == 1 else ", the first by name; "
    how += "--default-model to choose" if how else ""
    typer.echo(
        f"serving {', '.join(store.names)} on http://{host}:{port} (API at /docs; default "
        f"model {store.default}{how}); Ctrl-C stops"
    )
    run_server(store, host=host, port=port, workers=workers, watch=watch, admin_token=admin_token)


# --------------------------------------------------------------------------- entry point
def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (also used by tests)."""
    from recforge.errors import DataWarning

    with warnings.catch_warnings():
        # Dropped or merged rows are reported on one line each, whatever the caller's filters.
        warnings.simplefilter("always", DataWarning)
        warnings.showwarning = _show_warning
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="recforge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 1
    except click.ClickException as exc:
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
        return exc.exit_code
    except RecforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a missing, unreadable or unwritable path; a full disk
        target = exc.filename if exc.filename is not None else ""
        print(f"error: {exc.strerror or exc}: {target}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
