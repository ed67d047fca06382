"""`make demo`: every registered model on MovieLens, a leaderboard, and sample recommendations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from recforge.data import Interactions

__all__ = ["LeaderboardRow", "leaderboard", "run_demo"]


@dataclass(frozen=True)
class LeaderboardRow:
    """One model's line of the leaderboard; rmse is None for ranking-only models."""

    model: str
    rmse: float | None
    ndcg10: float
    recall20: float
    coverage10: float
    fit_seconds: float


def leaderboard(
    data: Interactions, seed: int = 0, item_features: Any = None, user_features: Any = None
) -> tuple[list[LeaderboardRow], Any]:
    """Fit every registered model on a per-user 80/20 split and score it with full ranking.

    item_features: a FeatureTable for the models that need one (they are skipped without it);
    side-feature models (deeprating, twotower, fm …) get it and `user_features` too.

    Returns (rows sorted by NDCG@10, best fitted model).
    """
    from recforge.data import user_split
    from recforge.evaluation import evaluate
    from recforge.models import available, get

    parts = user_split(data, test=0.2, seed=seed)
    rows: list[LeaderboardRow] = []
    fitted: dict[str, Any] = {}
    for name in available():
        model = get(name, seed=seed)
        if model.uses_item_features and item_features is None:
            continue
        start = time.perf_counter()
        if model.accepts_side_features:
            model.fit(parts.train, item_features=item_features, user_features=user_features)
        else:
            model.fit(parts.train, item_features=item_features)
        seconds = time.perf_counter() - start
        metrics = ["ndcg", "recall", "coverage"]
        if model.predicts_ratings and data.explicit:
            metrics.append("rmse")
        result = evaluate(model, parts.test, train=parts.train, k=[10, 20], metrics=metrics)
        values = result.as_dict()
        rows.append(
            LeaderboardRow(
                model=name,
                rmse=values.get("rmse"),
                ndcg10=values["ndcg@10"],
                recall20=values["recall@20"],
                coverage10=values["coverage@10"],
                fit_seconds=seconds,
            )
        )
        fitted[name] = model
    rows.sort(key=lambda r: -r.ndcg10)
    return rows, fitted[rows[0].model]


def run_demo(dataset: str = "ml-100k", seed: int = 0, console: Console | None = None) -> None:
    """Print the leaderboard and the best model's top-10 for two users, with movie titles."""
    from recforge.data import load_movielens

    console = console or Console()
    console.print(
        f"[bold]recforge demo[/bold] — {dataset}, per-user 80/20 split (seed {seed}), "
        "full ranking over unseen items"
    )
    movielens = load_movielens(dataset)
    rows, model = leaderboard(
        movielens.interactions, seed, movielens.item_features, movielens.user_features
    )
    table = Table(title="Leaderboard")
    for column in ("model", "RMSE", "NDCG@10", "Recall@20", "Coverage@10", "fit (s)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        table.add_row(
            row.model,
            "—" if row.rmse is None else f"{row.rmse:.4f}",
            f"{row.ndcg10:.4f}",
            f"{row.recall20:.4f}",
            f"{row.coverage10:.3f}",
            f"{row.fit_seconds:.3f}",
        )
    console.print(table)
    titles = movielens.item_titles
    for raw_user in model.user_ids_.raw_ids[:2]:
        user = model.user_ids_.to_index([raw_user])
        ids, scores = model.recommend(user, k=10)
        items = movielens.interactions.item_ids.to_index(
            model.item_ids_.to_raw(ids[0][ids[0] >= 0])
        )
        recs = Table(title=f"Top-10 for user {raw_user} from {rows[0].model}")
        recs.add_column("#", justify="right")
        recs.add_column("movie")
        recs.add_column("score", justify="right")
        for rank, (item, score) in enumerate(zip(items, scores[0], strict=False), start=1):
            recs.add_row(str(rank), str(titles[item]), f"{float(score):.3f}")
        console.print(recs)
