"""SASRec beyond the conformance suite: what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recforge.data import Interactions
from recforge.errors import DataError
from recforge.models import get


def test_sasrec_refuses_data_without_timestamps() -> None:
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="no timestamps; load them with a timestamp column"):
        get("sasrec", epochs=1).fit(data)


def test_explanations_are_the_attention_over_the_stored_window() -> None:
    """SASRec explains with the attention of its newest position: weights over the user's
    stored window that sum to 1, older items left out; sessions of one item attend to it."""
    from .answers_sequence import cycle

    model = get(
        "sasrec", factors=8, heads=2, blocks=2, max_len=4, dropout=0.0, epochs=2, seed=0,
        progress=False,
    ).fit(cycle())  # fmt: skip
    items, weights, how = model.explain(0, 3, n=10)
    assert how == "attention"
    assert set(items.tolist()) == {2, 3, 4, 5}  # user 0 saw 0 … 5; the window holds the last 4
    assert abs(float(weights.sum()) - 1.0) < 1e-5
    same, again, _ = model.explain(0, 7, n=10)
    assert set(same.tolist()) == set(items.tolist())  # the state is the same for every candidate
    np.testing.assert_allclose(sorted(again), sorted(weights), rtol=1e-6)


def test_sasrec_refuses_histories_of_one_item() -> None:
    data = Interactions.from_arrays([0, 1, 2], [0, 1, 1], [1.0, 1.0, 1.0], [5, 6, 7])
    with pytest.raises(DataError, match="no user \\(or session\\) has two or more interactions"):
        get("sasrec", epochs=1).fit(data)


def test_a_time_cutoff_split_tests_the_items_after_it() -> None:
    """time_split on sequences: every user's step after the cutoff is what follows their last
    training item on the ring, and SASRec trained on the steps before it finds each one."""
    from recforge.data import time_split
    from recforge.evaluation import evaluate

    from .answers_sequence import cycle

    split = time_split(cycle(), test_from=5)
    assert split.train.nnz == 12 * 5
    model = get(
        "sasrec", factors=16, heads=1, blocks=1, max_len=4, dropout=0.0, epochs=150, lr=0.01,
        batch_size=16, seed=0, progress=False,
    ).fit(split.train)  # fmt: skip
    result = evaluate(model, split.test, train=split.train, k=1, metrics=["hit_rate"])
    assert float(result["hit_rate@1"]) == 1.0


def test_the_training_histories_are_not_kept_after_fit() -> None:
    data = Interactions.from_arrays([0, 0, 1, 1], [0, 1, 1, 2], [1.0] * 4, [1, 2, 3, 4])
    model = get("sasrec", factors=4, heads=1, max_len=2, epochs=1, progress=False).fit(data)
    assert not hasattr(model, "_histories")
    assert model.module_.history.tolist() == [[1, 2], [2, 3]]  # what scoring reads stays


def test_overlapping_windows_learn_the_ring_and_stride_max_len_is_the_default() -> None:
    """stride 2 of max_len 4 (every target read with at least 2 items before it) learns what
    follows what; stride = max_len is exactly the default, side-by-side windows."""
    import torch

    from .answers_sequence import assert_follows_the_ring, cycle

    small = {"factors": 16, "heads": 1, "blocks": 1, "max_len": 4, "dropout": 0.0, "seed": 0}
    fit = {"lr": 0.01, "batch_size": 16, "progress": False}
    overlapped = get("sasrec", stride=2, epochs=150, **small, **fit).fit(cycle())
    assert_follows_the_ring(overlapped)
    side_by_side = get("sasrec", stride=4, epochs=3, **small, **fit).fit(cycle())
    default = get("sasrec", epochs=3, **small, **fit).fit(cycle())
    for name, value in default.module_.state_dict().items():
        torch.testing.assert_close(side_by_side.module_.state_dict()[name], value, msg=name)


@pytest.mark.parametrize("positions_from", ["newest", "oldest"])
def test_the_papers_pre_norm_layout_learns_the_ring_too(positions_from: str) -> None:
    from .answers_sequence import assert_follows_the_ring, cycle

    model = get(
        "sasrec", norm="pre", factors=16, heads=1, blocks=1, max_len=4, dropout=0.0, epochs=150,
        lr=0.01, batch_size=16, seed=0, progress=False, positions_from=positions_from,
    ).fit(cycle())  # fmt: skip
    assert model.module_.norm_first
    assert model.module_.from_oldest == (positions_from == "oldest")
    assert_follows_the_ring(model)


def test_recboles_layer_trains_and_a_bad_ffn_dropout_is_named() -> None:
    """norm "post", positions from the oldest item, no dropout in the feed-forward's hidden
    layer: RecBole's SASRec layer, built and trained through the model's parameters."""
    from recforge.errors import ParameterError

    from .answers_sequence import assert_follows_the_ring, cycle

    model = get(
        "sasrec", norm="post", positions_from="oldest", dropout=0.1, ffn_dropout=0.0,
        factors=16, heads=1, blocks=1, max_len=4, epochs=150, lr=0.01, batch_size=16, seed=0,
        progress=False,
    ).fit(cycle())  # fmt: skip
    assert [layer.dropout.p for layer in model.module_.blocks.layers] == [0.0]
    assert model.module_.blocks.layers[0].dropout1.p == 0.1
    assert_follows_the_ring(model)
    with pytest.raises(ParameterError, match="ffn_dropout"):
        get("sasrec", ffn_dropout=1.5).fit(cycle())


def test_an_artifact_saved_before_norm_existed_loads_with_the_layout_it_had(
    tmp_path: Path,
) -> None:
    """Artifacts written before the `norm` and `positions_from` parameters have neither in
    their params; they were trained with the "pre" layout and positions from the newest item,
    and load as that, scoring as when saved."""
    from recforge.artifact import ARRAYS_FILE, MANIFEST_FILE, _content_hash, load

    from .answers_sequence import cycle

    model = get(
        "sasrec", norm="pre", factors=8, heads=2, max_len=4, epochs=2, seed=0, progress=False
    ).fit(cycle())
    model.save(tmp_path / "old")
    manifest = json.loads((tmp_path / "old" / MANIFEST_FILE).read_text())
    del manifest["params"]["norm"], manifest["params"]["positions_from"]
    manifest["content_sha256"] = _content_hash(manifest, tmp_path / "old" / ARRAYS_FILE)
    (tmp_path / "old" / MANIFEST_FILE).write_text(json.dumps(manifest))
    loaded = load(tmp_path / "old")
    assert (loaded.norm, loaded.positions_from) == ("pre", "newest")
    np.testing.assert_allclose(loaded.score(np.arange(12)), model.score(np.arange(12)), rtol=1e-5)


def test_many_histories_in_several_passes_equal_each_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """recommend_for_histories split into score chunks of 5 rows, each in forward passes of 2
    sessions, gives every history the row it gets alone."""
    from recforge.models import base, sequence_base

    from .answers_sequence import cycle

    model = get("sasrec", factors=8, heads=1, max_len=4, epochs=2, seed=0, progress=False)
    model.fit(cycle())
    histories = [[i, (i + 1) % 8, (i + 3) % 8][: 1 + i % 3] for i in range(7)]
    monkeypatch.setattr(sequence_base, "SESSION_CELLS", 2 * 4)  # 2 sessions of max_len 4
    monkeypatch.setattr(base, "HISTORY_SCORE_BYTES", 5 * 4 * 8)  # 5 rows of 8 float32
    ids, scores = model.recommend_for_histories(histories, k=5)
    for row, history in enumerate(histories):
        one_ids, one_scores = model.recommend_for_history(history, k=5)
        np.testing.assert_array_equal(ids[row], one_ids[0])
        np.testing.assert_allclose(scores[row], one_scores[0], rtol=1e-5, atol=1e-6)
