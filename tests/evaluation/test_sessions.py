"""Next-item evaluation of sessions: known answers with a ring oracle, and a trained GRU4Rec."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recforge.data import IdMap, Interactions
from recforge.errors import DataError, ParameterError, UnsupportedOperationError
from recforge.evaluation import evaluate_sessions

N_ITEMS = 8


class RingOracle:
    """Ranks the items after a history's newest item i as i + 1, i + 2, … on a ring of 8
    (the history left out), whatever came before it; raw item ids are "i0" … "i7"."""

    supports_history = True
    item_ids_ = IdMap([f"i{n}" for n in range(N_ITEMS)])

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def recommend_for_histories(
        self, histories: list[np.ndarray], k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full((len(histories), k), -1, dtype=np.int32)
        for row, items in enumerate(histories):
            self.calls.append([int(i) for i in items])
            order = [(int(items[-1]) + step) % N_ITEMS for step in range(1, N_ITEMS)]
            ranked = [i for i in order if i not in set(self.calls[-1])][:k]
            ids[row, : len(ranked)] = ranked
        return ids, np.zeros(ids.shape, dtype=np.float32)


def sessions(rows: list[tuple[str, str, int]]) -> Interactions:
    """A session log from (session, item, time) rows."""
    return Interactions.from_arrays(
        [r[0] for r in rows], [r[1] for r in rows], None, [r[2] for r in rows], rows="session"
    )


def test_every_click_after_the_first_is_predicted_from_the_clicks_before_it() -> None:
    """a: i0 i1 i2 i3 (three predictions, each first on the ring); b: i5 then i7 (second,
    behind i6). The rows are read in time order, whatever their order in the log."""
    log = sessions(
        [("a", "i2", 3), ("a", "i0", 1), ("a", "i1", 2), ("a", "i3", 4), ("b", "i7", 9),
         ("b", "i5", 8)]
    )  # fmt: skip
    oracle = RingOracle()
    result = evaluate_sessions(oracle, log, k=[1, 2], metrics=["hit_rate", "mrr", "ndcg"])
    assert sorted(oracle.calls) == [[0], [0, 1], [0, 1, 2], [5]]
    assert result["hit_rate@1"] == pytest.approx(3 / 4)
    assert result["hit_rate@2"] == pytest.approx(1.0)
    assert result["mrr@2"] == pytest.approx((3 + 1 / 2) / 4)
    assert result["ndcg@2"] == pytest.approx((3 + 1 / math.log2(3)) / 4)
    assert (result.protocol, result.n_users, result.n_users_skipped) == ("sessions-every", 2, 0)
    assert result.unit == "sessions"
    assert "predictions: 4;" in result.notes[0]
    assert result.to_table().splitlines()[1].startswith("sessions: 2 scored")

    last = evaluate_sessions(RingOracle(), log, k=1, metrics=["hit_rate"], targets="last")
    assert last["hit_rate@1"] == pytest.approx(1 / 2)  # a's i2 → i3 found, b's i5 → i7 not
    assert "predictions: 2;" in last.notes[0]


def test_clicks_before_the_sessions_start_every_prefix_and_are_not_predicted() -> None:
    """before holds a's and c's earlier clicks (another id map, matched by raw id): a's i2 and
    i3 are predicted after i0 i1, c's i5 after i4; b has one click and nothing before it."""
    earlier = sessions([("c", "i4", 1), ("a", "i1", 2), ("a", "i0", 1), ("z", "i7", 1)])
    log = sessions([("a", "i2", 3), ("a", "i3", 4), ("b", "i6", 5), ("c", "i5", 6)])
    oracle = RingOracle()
    result = evaluate_sessions(oracle, log, before=earlier, k=1, metrics=["hit_rate"])
    assert sorted(oracle.calls) == [[0, 1], [0, 1, 2], [4]]
    assert (result["hit_rate@1"], result.n_users, result.n_users_skipped) == (1.0, 2, 1)
    oracle = RingOracle()
    last = evaluate_sessions(oracle, log, before=earlier, k=1, targets="last")
    assert sorted(oracle.calls) == [[0, 1, 2], [4]]
    assert last["hit_rate@1"] == 1.0


def test_unknown_items_leave_their_sessions_and_short_sessions_are_skipped() -> None:
    """c's unknown item drops out (i4 → i5 is then c's one prediction); d keeps one known item
    and is skipped; both are counted in the notes."""
    log = sessions(
        [("c", "i4", 1), ("c", "new", 2), ("c", "i5", 3), ("d", "i1", 1), ("d", "other", 2)]
    )
    result = evaluate_sessions(RingOracle(), log, k=1, metrics=["recall"])
    assert result["recall@1"] == 1.0
    assert (result.n_users, result.n_users_skipped) == (1, 1)
    assert any("2 of 5 clicks are on items the model does not know" in n for n in result.notes)
    assert any(
        "without a known click that has one before it, skipped: 1" in n for n in result.notes
    )
    with pytest.raises(DataError, match="no session has two items the model knows"):
        evaluate_sessions(RingOracle(), sessions([("d", "i1", 1), ("d", "x", 2)]))


def test_bad_requests_are_refused_in_one_line() -> None:
    log = sessions([("a", "i0", 1), ("a", "i1", 2)])
    with pytest.raises(ParameterError, match=r"'targets' parameter .* one of every, last"):
        evaluate_sessions(RingOracle(), log, targets="first")
    with pytest.raises(ParameterError, match="'auc' is not one of them"):
        evaluate_sessions(RingOracle(), log, metrics=["ndcg", "auc"])
    untimed = Interactions.from_arrays(["a", "a"], ["i0", "i1"], rows="session")
    with pytest.raises(DataError, match="sessions need timestamps"):
        evaluate_sessions(RingOracle(), untimed)

    class NoHistory:
        supports_history = False

    with pytest.raises(UnsupportedOperationError, match="needs a model with supports_history"):
        evaluate_sessions(NoHistory(), log)


def test_gru4rec_trained_on_a_session_log_predicts_the_sessions_after_a_time_cutoff() -> None:
    """Sessions walk the ring i → i + 1; the ones that begin after the cut-off are new to the
    model (evaluate, which scores known users, has none of them) and every click of theirs is
    predicted at rank 1 by a GRU4Rec trained on the earlier sessions."""
    from recforge.data import time_split
    from recforge.models import get

    rows = [(f"s{s}", f"i{(s + t) % N_ITEMS}", 10 * s + t) for s in range(24) for t in range(5)]
    split = time_split(sessions(rows), test_from=10 * 16)
    train = split.train.compact()
    test_sessions = set(split.test.user_ids.to_raw(np.flatnonzero(split.test.user_counts())))
    assert test_sessions.isdisjoint(train.user_ids.raw_ids.tolist())
    model = get(
        "gru4rec", factors=16, hidden=32, max_len=4, dropout=0.0, epochs=60, lr=0.01,
        weight_decay=1e-3, batch_size=16, seed=0, progress=False,
    ).fit(train)  # fmt: skip
    result = evaluate_sessions(model, split.test, k=1, metrics=["hit_rate"])
    assert (result.n_users, result["hit_rate@1"]) == (8, 1.0)
    assert "predictions: 32;" in result.notes[0]
