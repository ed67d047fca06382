"""Next-item evaluation of sessions: each click ranked after the clicks before it.

The protocol of session-based recommendation (GRU4Rec and its successors). A test session
s_0 … s_{n-1} (its items in time order) gives the predictions s_0 … s_{t-1} → s_t for
t = 1 … n-1 (targets="every"), or only the last one (targets="last"). Each prediction is a full
ranking: the model scores every item after the prefix (`recommend_for_histories`, the
prefix's items excluded) and the target's place gives HR / recall, MRR, NDCG … at each
cut-off, averaged over the predictions. The sessions need not be known to the model, which is
what scoring a time split of a session log needs: its test sessions begin after the cut-off.

`before` (e.g. the train part of that split) holds clicks that come before the sessions': a
session that began before the cut-off, or a user of a user log, then has its earlier clicks
as the start of every prefix, and only its clicks in `sessions` are predicted.
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

__all__ = ["TARGETS", "evaluate_sessions", "known_histories"]

TARGETS = ("every", "last")  # which clicks of a session are predicted


def evaluate_sessions(
    model: Any,
    sessions: Interactions,
    *,
    before: Interactions | None = None,
    k: int | Sequence[int] = (10, 20),
    metrics: Sequence[str] | None = None,
    targets: str = "every",
) -> EvaluationResult:
    """Score `model` on predicting each session's next click (module docstring).

    model: a fitted model with `supports_history` (sequence models, item-KNN, EASE,
        autoencoders). sessions: Interactions with timestamps whose rows are the sessions (any
        id maps: items are matched to the model's by raw id; unknown ones are left out of the
        sessions, and counted in the notes). before: clicks that precede the sessions', rows
        matched by raw id (None: every session starts in `sessions`). k: cut-offs. metrics:
        names from RANKING_METRICS (default: all). targets: "every" click of `sessions` that
        has a click before it, or only each session's "last".
    The result's counts are sessions ("unit"): those with a prediction, and those skipped for
    having no click in `sessions` with a known click before it.
    """
    _check(model, sessions, "sessions")
    if before is not None:
        _check(model, before, "before")
    if targets not in TARGETS:
        raise ParameterError(
            f"The 'targets' parameter of evaluate_sessions must be one of {', '.join(TARGETS)}. "
            f"Got {targets!r} instead."
        )
    ks = parse_ks(k, "evaluate_sessions")
    names = parse_metrics(metrics, RANKING_METRICS)
    other = [m for m in names if m not in RANKING_METRICS]
    if other:
        raise ParameterError(
            f"evaluate_sessions computes {', '.join(RANKING_METRICS)}; {other[0]!r} is not one "
            "of them (evaluate gives it for known users)"
        )
    notes: list[str] = []
    clicks = _known_histories(model, sessions, "sessions", notes)
    earlier: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * sessions.n_users
    if before is not None:
        rows = before.user_ids.to_index(sessions.user_ids.raw_ids, missing="mask")
        known_before = _known_histories(model, before, "before", notes)
        earlier = [known_before[r] if r >= 0 else earlier[0] for r in rows]
    prefixes: list[np.ndarray] = []  # one per prediction: the clicks before its target
    wanted: list[int] = []
    scored = skipped = 0
    present = sessions.user_counts() > 0  # the rows of sessions that are sessions there
    for head, tail, here in zip(earlier, clicks, present, strict=True):
        if not here:
            continue
        items = np.concatenate([head, tail])
        first = max(1, head.size)  # the first click of `sessions` that has one before it
        if items.size <= first:
            skipped += 1
            continue
        scored += 1
        for t in range(first, items.size) if targets == "every" else (items.size - 1,):
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
    notes.insert(0, f"predictions: {hits.shape[0]:,}; the metrics are means over them")
    if skipped:
        notes.append(f"sessions without a known click that has one before it, skipped: {skipped:,}")
    return EvaluationResult(
        values, f"sessions-{targets}", scored, skipped, tuple(notes), unit="sessions"
    )


def _check(model: Any, data: Interactions, name: str) -> None:
    if not isinstance(data, Interactions):
        raise DataError(f"{name} must be recforge Interactions, got {type(data).__name__}")
    if not getattr(model, "supports_history", False):
        raise UnsupportedOperationError(
            f"{type(model).__name__} cannot score a session's items; evaluating sessions needs "
            "a model with supports_history (sequence models, item-KNN, EASE, autoencoders)"
        )
    if data.timestamps is None:
        raise DataError(
            f"{name} need timestamps: the order of a session's clicks is what is predicted"
        )


def known_histories(model: Any, data: Interactions) -> tuple[list[np.ndarray], int]:
    """(each row's items the model knows, as int64 model indices [T_r] in time order; the
    number of interactions left out because the model does not know their item)."""
    known = model.item_ids_.to_index(data.item_ids.raw_ids, missing="mask")
    histories = data.histories()
    out = []
    for row in range(data.n_users):
        items = known[histories.of(row)]
        out.append(items[items >= 0].astype(np.int64, copy=False))
    return out, int(np.count_nonzero(known[histories.items] < 0))


def _known_histories(
    model: Any, data: Interactions, name: str, notes: list[str]
) -> list[np.ndarray]:
    """`known_histories`, its unknown clicks counted in `notes`."""
    out, unknown = known_histories(model, data)
    if unknown:
        notes.append(
            f"{name}: {unknown:,} of {data.nnz:,} clicks are on items the model does not know "
            "and are left out"
        )
    return out
