"""Honest offline evaluation: full-ranking metrics by default, rating errors, beyond-accuracy."""

from recforge.evaluation.beyond import (
    average_popularity,
    catalogue_coverage,
    gini_index,
    intra_list_diversity,
    novelty,
)
from recforge.evaluation.evaluator import ALL_METRICS, Scorer, evaluate
from recforge.evaluation.metrics import (
    RANKING_METRICS,
    auc_from_counts,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from recforge.evaluation.rating import mae, rmse
from recforge.evaluation.recommendations import evaluate_recommendations, read_recommendations
from recforge.evaluation.result import EvaluationResult
from recforge.evaluation.sessions import evaluate_sessions

__all__ = [
    "ALL_METRICS",
    "RANKING_METRICS",
    "EvaluationResult",
    "Scorer",
    "auc_from_counts",
    "average_popularity",
    "catalogue_coverage",
    "evaluate",
    "evaluate_recommendations",
    "evaluate_sessions",
    "gini_index",
    "hit_rate_at_k",
    "intra_list_diversity",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "read_recommendations",
    "recall_at_k",
    "rmse",
]
