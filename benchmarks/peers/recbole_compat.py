"""What RecBole 1.2.1 needs from newer NumPy and SciPy, restored before it is imported.

Shared by the RecBole peer scripts (run with the peer venv's Python; this folder is on their
sys.path as the script's own directory).
"""

from __future__ import annotations

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
