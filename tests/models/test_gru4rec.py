"""GRU4Rec beyond the conformance suite: its other losses, and what it refuses."""

from __future__ import annotations

import pytest

from recforge.data import Interactions
from recforge.errors import DataError
from recforge.models import get

from .answers_gru4rec import ring_gru4rec
from .answers_sequence import assert_follows_the_ring


@pytest.mark.parametrize("loss", ["sampled", "bpr-max"])
def test_the_sampled_losses_learn_the_ring_too(loss: str) -> None:
    assert_follows_the_ring(ring_gru4rec(loss))


def test_gru4rec_refuses_data_without_timestamps() -> None:
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 1.0, 1.0])
    with pytest.raises(DataError, match=r"^GRU4Rec reads each user's items in time order"):
        get("gru4rec", epochs=1).fit(data)
