"""numpy views of arrow arrays: the values of every numeric type, slices, nulls, and no
pandas import on the way (it costs a cold read about a third of a second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from recforge.data.arrow_views import numpy_view

NUMERIC = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(),
           pa.uint64(), pa.float16(), pa.float32(), pa.float64()]  # fmt: skip


@pytest.mark.parametrize("kind", NUMERIC, ids=str)
@pytest.mark.parametrize("start", [0, 3])
def test_numeric_arrays_are_viewed_with_their_values_and_dtype(
    kind: pa.DataType, start: int
) -> None:
    values = np.arange(10) * 3 + 1
    array = pa.array(values.astype(kind.to_pandas_dtype()), type=kind).slice(start, 5)
    view = numpy_view(array)
    assert view.dtype == np.dtype(kind.to_pandas_dtype())
    np.testing.assert_array_equal(view, values[start : start + 5])


def test_empty_nullable_and_other_arrays_take_pyarrows_way() -> None:
    assert numpy_view(pa.array([], type=pa.int32())).size == 0
    with_null = numpy_view(pa.array([1.0, None, 3.0]))
    assert np.isnan(with_null[1])
    np.testing.assert_array_equal(numpy_view(pa.array(["a", "b"])), np.array(["a", "b"], object))


def test_reading_interactions_never_imports_pandas(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    lines = [f"{u},{i},{(u + i) % 5 + 1},{1_600_000_000 + u}" for u in range(50) for i in range(9)]
    path.write_text("user,item,rating,timestamp\n" + "\n".join(lines) + "\n")
    code = (
        "import sys\nfrom recforge.data import read_interactions\n"
        f"data = read_interactions({str(path)!r})\n"
        "assert data.nnz == 450, data\nprint('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
