"""`make demo`: every registered model on MovieLens, a leaderboard, and sample recommendations."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from recforge.data import Interactions
from recforge.errors import ParameterError

__all__ = ["DEEP_SAMPLE", "LeaderboardRow", "demo_models", "leaderboard", "run_demo"]

# the deep models of the default demo: one quick one per family (NCF, autoencoder for implicit
# feedback and for ratings, feature interaction, graph); `recforge demo --all` trains them all.
# No sequence model: the demo's random per-user 80/20 split is not a next-item protocol, and a
# sequence model would double the demo's time
DEEP_SAMPLE = ("neumf", "multvae", "iautorec", "fm", "lightgcn")


@dataclass(frozen=True)
class LeaderboardRow:
    """One model's line of the leaderboard; rmse is None for ranking-only models;
    rating_ranker: the model lists the items of highest predicted rating (a poor top-N
    ranker on ratings)."""

    model: str
    rmse: float | None
    ndcg10: float
    recall20: float
    coverage10: float
    fit_seconds: float
    rating_ranker: bool = False


def demo_models(everything: bool = False) -> list[str]:
    """The models the demo trains: every registered one, or (default) every classical model and
    DEEP_SAMPLE, in registration order."""
    from recforge.models import available

    names = list(available())
    if everything:
        return names
    return [n for n in names if not _is_neural(n) or n in DEEP_SAMPLE]


def leaderboard(
    data: Interactions,
    seed: int = 0,
    item_features: Any = None,
    user_features: Any = None,
    models: list[str] | None = None,
    on_row: Callable[[LeaderboardRow], None] | None = None,
) -> tuple[list[LeaderboardRow], Any]:
    """Fit models on a per-user 80/20 split and score each with full ranking.

    models: registered names (default: every one); item_features: a FeatureTable for the
    models that need one (they are skipped without it); side-feature models (deeprating,
    twotower, fm …) get it and `user_features` too. on_row: called with each row as soon as
    its model is scored.

    Returns (rows sorted by NDCG@10, best fitted model).
    """
    from recforge.data import user_split
    from recforge.evaluation import evaluate
    from recforge.models import available, get

    names = list(available()) if models is None else list(models)
    parts = user_split(data, test=0.2, seed=seed)
    rows: list[LeaderboardRow] = []
    fitted: dict[str, Any] = {}
    for name in names:
        model = get(name, seed=seed, progress=False) if _is_neural(name) else get(name, seed=seed)
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
        row = LeaderboardRow(
            model=name,
            rmse=values.get("rmse"),
            ndcg10=values["ndcg@10"],
            recall20=values["recall@20"],
            coverage10=values["coverage@10"],
            fit_seconds=seconds,
            rating_ranker=bool(data.explicit and model.ranks_by_predicted_rating()),
        )
        rows.append(row)
        if on_row is not None:
            on_row(row)
        fitted[name] = model
    if not rows:
        raise ParameterError(
            "no model was trained: every model named needs item features, which were not given"
        )
    rows.sort(key=lambda r: -r.ndcg10)
    return rows, fitted[rows[0].model]


def _is_neural(name: str) -> bool:
    from recforge.models import model_class
    from recforge.models.neural_base import NeuralRecommender

    return issubclass(model_class(name), NeuralRecommender)


def run_demo(
    dataset: str = "ml-100k",
    seed: int = 0,
    console: Console | None = None,
    models: list[str] | None = None,
) -> None:
    """Print a line per model as it finishes, the leaderboard, and the best model's top-10 for
    two users with movie titles. models: default `demo_models()`."""
    from recforge.data import load_movielens
    from recforge.models import available

    console = console or Console()
    chosen = demo_models() if models is None else models
    console.print(
        f"[bold]recforge demo[/bold] — {dataset}, per-user 80/20 split (seed {seed}), "
        f"full ranking over unseen items, {len(chosen)} models"
    )
    movielens = load_movielens(dataset)

    def report(row: LeaderboardRow) -> None:
        console.print(f"  {row.model:<12} NDCG@10 {row.ndcg10:.4f}   fit {row.fit_seconds:6.1f} s")

    rows, model = leaderboard(
        movielens.interactions,
        seed,
        movielens.item_features,
        movielens.user_features,
        models=chosen,
        on_row=report,
    )
    table = Table(title="Leaderboard")
    for column in ("model", "ranks by", "RMSE", "NDCG@10", "Recall@20", "Coverage@10", "fit (s)"):
        table.add_column(column, justify="left" if column in ("model", "ranks by") else "right")
    for row in rows:
        table.add_row(
            row.model,
            "predicted rating" if row.rating_ranker else "ranking score",
            "—" if row.rmse is None else f"{row.rmse:.4f}",
            f"{row.ndcg10:.4f}",
            f"{row.recall20:.4f}",
            f"{row.coverage10:.3f}",
            f"{row.fit_seconds:.3f}",
        )
    console.print(table)
    if any(row.rating_ranker for row in rows):
        console.print(
            "Models that rank by predicted rating are rating models: use them for RMSE and "
            "'recforge predict'. They list rarely rated items with a few high ratings first, "
            "so for top-N lists use the models that rank by a ranking score."
        )
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
    left_out = [n for n in available() if n not in chosen]
    if models is None and left_out:
        console.print(
            f"{len(left_out)} more deep models ({', '.join(left_out)}) take several minutes "
            "more: 'recforge demo --all' trains every model, "
            "'recforge demo --models a,b' the ones you name."
        )
