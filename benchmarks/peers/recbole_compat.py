"""What RecBole 1.2.1 needs from newer NumPy, SciPy and pandas, restored before it is imported.

Shared by the RecBole peer scripts (run with the peer venv's Python; this folder is on their
sys.path as the script's own directory).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def restore_numpy_aliases() -> None:
    """RecBole 1.2.1 predates NumPy 2: its Config re-exports aliases that NumPy 2 removed
    (np.float_ …). Restore the three it reads; nothing else changes."""
    for alias, kind in {
        "float_": np.float64,
        "complex_": np.complex128,
        "unicode_": np.str_,
    }.items():
        setattr(np, alias, kind)


def restore_scipy_dok_update() -> None:
    """RecBole 1.2.1's graph models (LightGCN …) fill their adjacency with dok_matrix._update, a
    private method newer SciPy dropped; restore it as the plain dict update it was."""
    import scipy.sparse as sp

    if not hasattr(sp.dok_matrix, "_update"):
        sp.dok_matrix._update = lambda self, data: self._dict.update(data)


def restore_series_agg_len() -> None:
    """RecBole 1.2.1 takes each sequence's length as `series.agg(len)` (remapping item_id_list
    tokens, and item_length in _benchmark_presets); pandas 3 answers the Series' own length
    there, where pandas 2 applied `len` to each element. Restore the per-element answer for
    `len` alone, the only way RecBole calls it (with np.concatenate it wants the whole Series,
    which pandas 3 still gives)."""
    import pandas as pd

    aggregate = pd.Series.aggregate

    def per_element_len(self: Any, func: Any = None, *args: Any, **kwargs: Any) -> Any:
        if func is len:
            return self.apply(len)
        return aggregate(self, func, *args, **kwargs)

    pd.Series.agg = pd.Series.aggregate = per_element_len
