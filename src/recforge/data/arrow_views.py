"""numpy views of arrow arrays that never import pandas.

pyarrow's `Array.to_numpy` imports pandas on first use when it is installed (about 0.35 s of a
cold `read_interactions`); a null-free array of a fixed-width numeric type is only a buffer, so
it is viewed in place here, and anything else goes the pyarrow way.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["arrow_array", "numpy_dtype", "numpy_view"]


def _is_numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def numpy_dtype(kind: pa.DataType) -> np.dtype:
    """The numpy dtype of a fixed-width integer or floating arrow type (as
    `kind.to_pandas_dtype()`, which imports pandas)."""
    if not _is_numeric(kind):
        raise TypeError(f"no plain numpy dtype for arrow type {kind}")
    code = "i" if pa.types.is_signed_integer(kind) else "u"
    code = "f" if pa.types.is_floating(kind) else code
    return np.dtype(f"={code}{kind.bit_width // 8}")


def numpy_view(array: pa.Array) -> np.ndarray:
    """A read-only numpy array [len(array)] of the values: zero-copy for null-free integer and
    floating arrays, `array.to_numpy(zero_copy_only=False)` otherwise."""
    if array.null_count == 0 and _is_numeric(array.type):
        dtype = numpy_dtype(array.type)
        data = array.buffers()[1]
        if data is None:  # an empty array may carry no buffer
            return np.zeros(0, dtype=dtype)
        return np.frombuffer(data, dtype=dtype, count=len(array),
                             offset=array.offset * dtype.itemsize)  # fmt: skip
    return array.to_numpy(zero_copy_only=False)


def arrow_array(values: np.ndarray) -> pa.Array:
    """A null-free arrow array [n] over a 1-D numeric numpy array's memory (no copy when it is
    contiguous; as `pa.array(values)`, which imports pandas)."""
    values = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(values.dtype)
    if not _is_numeric(kind) or values.ndim != 1:
        raise TypeError(f"no plain arrow array for a numpy array of {values.dtype}")
    return pa.Array.from_buffers(kind, values.size, [None, pa.py_buffer(values)])
