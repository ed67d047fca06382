"""SASRec beyond the conformance suite: what it refuses."""

from __future__ import annotations

import pytest

from recforge.data import Interactions
from recforge.errors import DataError
from recforge.models import get


def test_sasrec_refuses_data_without_timestamps() -> None:
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="no timestamps; load them with a timestamp column"):
        get("sasrec", epochs=1).fit(data)
