"""Feature tables: the four kinds, missing values, alignment to id maps and encoding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recforge.data import Feature, FeatureTable, IdMap
from recforge.errors import DataError, ParameterError


def test_kinds_and_missing_values() -> None:
    cat = Feature.categorical("occupation", ["writer", None, "artist", "writer", ""])
    assert list(cat.vocabulary) == ["artist", "writer"]
    assert cat.values.tolist() == [1, -1, 0, 1, -1]
    multi = Feature.multi_hot(
        "genres", ["Action|Comedy", None, ["Drama"], "(none)"], drop=["(none)"]
    )
    assert list(multi.vocabulary) == ["Action", "Comedy", "Drama"]
    np.testing.assert_array_equal(
        multi.values.toarray(), [[1, 1, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]]
    )
    num = Feature.numeric("age", [20, None, 40.0])
    assert num.values[0] == 20
    assert np.isnan(num.values[1])
    text = Feature.text("title", ["A", None])
    assert text.values.tolist() == ["A", ""]
    with pytest.raises(DataError, match="numbers"):
        Feature.numeric("age", ["old"])


def test_from_rows_aligns_to_the_id_map_and_fills_missing_rows() -> None:
    ids = IdMap([10, 20, 30])
    table = FeatureTable.from_rows(
        [30, 10, 99],
        [Feature.categorical("c", ["z", "x", "q"]), Feature.numeric("n", [3.0, 1.0, 9.0])],
        align_to=ids,
    )
    assert table.n_rows == 3
    c = table["c"]
    assert list(c.vocabulary[c.values[[0, 2]]]) == ["x", "z"]
    assert c.values[1] == -1  # id 20 has no row
    assert table["n"].values[0] == 1.0
    assert np.isnan(table["n"].values[1])
    with pytest.raises(KeyError, match="features are c, n"):
        table["missing"]
    with pytest.raises(DataError, match="repeat an id"):
        FeatureTable.from_rows([1, 1], [Feature.numeric("n", [1, 2])], align_to=ids)


def test_encode_and_matrix() -> None:
    table = FeatureTable(
        IdMap([1, 2, 3]),
        [
            Feature.categorical("c", ["a", "b", None]),
            Feature.multi_hot("m", ["x|y", "y", ""]),
            Feature.numeric("n", [1.0, 3.0, None]),
            Feature.text("t", ["p", "q", "r"]),
        ],
    )
    dense = table.matrix().toarray()
    np.testing.assert_allclose(
        dense,
        [[1, 0, 1, 1, -1], [0, 1, 0, 1, 1], [0, 0, 0, 0, 0]],
    )
    with pytest.raises(ParameterError, match="text"):
        table.matrix(["t"])
    with pytest.raises(DataError, match="rows for 3 ids"):
        FeatureTable(IdMap([1, 2, 3]), [Feature.numeric("n", [1.0])])


@given(
    rows=st.lists(st.integers(0, 50), min_size=1, max_size=20, unique=True),
    query=st.lists(st.integers(0, 60), min_size=1, max_size=20, unique=True),
)
def test_align_keeps_each_ids_values(rows: list[int], query: list[int]) -> None:
    table = FeatureTable.from_rows(
        rows,
        [
            Feature.numeric("v", [float(r) for r in rows]),
            Feature.multi_hot("s", [[f"t{r % 3}"] for r in rows]),
        ],
        align_to=IdMap(sorted(rows)),
    )
    aligned = table.align(IdMap(sorted(query)))
    for n, raw in enumerate(sorted(query)):
        value = aligned["v"].values[n]
        labels = aligned["s"].vocabulary[aligned["s"].values[[n]].indices]
        if raw in rows:
            assert value == raw
            assert list(labels) == [f"t{raw % 3}"]
        else:
            assert np.isnan(value)
            assert labels.size == 0
