"""Next-item evaluation of sessions: each click ranked after the clicks before it.

The protocol of session-based recommendation (GRU4Rec and its successors). A test session
s_0 … s_{n-1} (its items in time order) gives the predictions s_0 … s_{t-1} → s_t for
t = 1 … n-1 (targets="every"), or only the last one (targets="last"). Each prediction is a full
ranking: the model scores every item after the prefix (`recommend_for_histories`, the
prefix's items excluded) and the target's place gives HR / recall, MRR, NDCG … at each
cut-off, averaged over the predictions. The sessions need not be known to the model, which is
what scoring a time split of a session log needs: its test sessions begin after the cut-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from recforge.data.interactions import Interactions
from recforge.errors import DataError, ParameterError, UnsupportedOperationError
from recforge.evaluation.evaluator import parse_ks, parse_metrics
from recforge.evaluation.metrics import RANKING_METRICS, ranking_metric
from recforge.evaluation.result import EvaluationResult

__all__ = ["TARGETS", "evaluate_sessions"]

TARGETS = ("every", "last")  # which clicks of a session are predicted


def evaluate_sessions(
    model: Any,
    sessions: Interactions,
    *,
    k: int | Sequence[int] = (10, 20),
    metrics: Sequence[str] | None = None,
    targets: str = "every",
) -> EvaluationResult:
    """Score `model` on predicting each session's next click (module docstring).

    model: a fitted model with `supports_history` (sequence models, item-KNN, EASE,
        autoencoders). sessions: Interactions with timestamps whose rows are the sessions (any
        id maps: items are matched to the model's by raw id; unknown ones are left out of the
        sessions, and counted in the notes). k: cut-offs. metrics: names from RANKING_METRICS
        (default: all). targets: "every" click after the first, or the "last" one.
    The result's counts are sessions ("unit"): those with a prediction, and those skipped for
    having fewer than two items the model knows.
    """
    if not isinstance(sessions, Interactions):
        raise DataError(f"sessions must be recforge Interactions, got {type(sessions).__name__}")
    if not getattr(model, "supports_history", False):
        raise UnsupportedOperationError(
            f"{type(model).__name__} cannot score a session's items; evaluating sessions needs "
            "a model with supports_history (sequence models, item-KNN, EASE, autoencoders)"
        )
    if targets not in TARGETS:
        raise ParameterError(
            f"The 'targets' parameter of evaluate_sessions must be one of {', '.join(TARGETS)}. "
            f"Got {targets!r} instead."
        )
    if sessions.timestamps is None:
        raise DataError(
            "sessions need timestamps: the order of a session's clicks is what is predicted"
        )
    ks = parse_ks(k, "evaluate_sessions")
    names = parse_metrics(metrics, RANKING_METRICS)
    other = [m for m in names if m not in RANKING_METRICS]
    if other:
        raise ParameterError(
            f"evaluate_sessions computes {', '.join(RANKING_METRICS)}; {other[0]!r} is not one "
            "of them (evaluate gives it for known users)"
        )
    known = model.item_ids_.to_index(sessions.item_ids.raw_ids, missing="mask")
    histories = sessions.histories()
    prefixes: list[np.ndarray] = []  # one per prediction: the clicks before its target
    wanted: list[int] = []
    scored = skipped = 0
    for row in range(sessions.n_users):
        clicks = histories.of(row)
        items = known[clicks]
        items = items[items >= 0]
        if items.size < 2:
            skipped += int(clicks.size > 0)
            continue
        scored += 1
        for t in range(1, items.size) if targets == "every" else (items.size - 1,):
            prefixes.append(items[:t])
            wanted.append(int(items[t]))
    if not prefixes:
        raise DataError(
            "no session has two items the model knows, so there is nothing to predict; check "
            "that the sessions come from the model's catalogue"
        )
    ids, _ = model.recommend_for_histories(prefixes, k=ks[-1])
    hits = ids == np.asarray(wanted)[:, None]  # bool [predictions, K]
    n_relevant = np.ones(hits.shape[0], dtype=np.int64)
    values = {
        f"{name}@{cut}": float(ranking_metric(name, hits, n_relevant, cut).mean())
        for name in names
        for cut in ks
    }
    notes = [f"{hits.shape[0]:,} predictions: the metrics are means over them"]
    unknown = int(np.count_nonzero(known[histories.items] < 0))
    if unknown:
        notes.append(
            f"{unknown:,} of {histories.items.size:,} clicks are on items the model does not "
            "know and are left out of their sessions"
        )
    if skipped:
        notes.append(f"sessions with fewer than two items the model knows, skipped: {skipped:,}")
    return EvaluationResult(
        values, f"sessions-{targets}", scored, skipped, tuple(notes), unit="sessions"
    )
