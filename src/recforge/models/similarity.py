"""Sparse top-k similarities between the rows of a sparse matrix.

Rows are the things compared (items for item-KNN, users for user-KNN); columns are where they
meet. A compiled kernel (`similarity_kernels.topk_rows`) computes each row's similarities to the
rows it shares a column with and keeps its `neighbors` best positive ones, on all of numba's
threads, blocks of rows at a time, so memory stays at the kept neighbours plus one block.

Kinds (x_i: row i; U: the columns rows i and j share; n = |U|):
    cosine            x_i·x_j / (‖x_i‖·‖x_j‖)             (whole rows)
    pearson           Pearson correlation over U, each row centred on its mean over U
                      (Surprise's "pearson")
    common_cosine     Σ_U x_i·x_j / √(Σ_U x_i² · Σ_U x_j²)  (Surprise's "pearson_baseline" and
                      Sarwar's adjusted cosine, once the caller has subtracted baselines or
                      user means from the values)
    jaccard           n / (|x_i| + |x_j| − n)                (patterns only)
shrinkage s multiplies every similarity by (n − 1) / (n − 1 + s) (Surprise's shrinkage);
pairs sharing fewer than `min_support` columns get 0. A stored value of 0 still counts as a
shared column. Sums are float64; similarities are kept as float32.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["SIMILARITY_KINDS", "topk_similarity"]

SIMILARITY_KINDS = ("cosine", "pearson", "common_cosine", "jaccard")
_BLOCK_CELLS = 1 << 23  # kept-neighbour cells per block of rows (the kernel's output arrays)


def topk_similarity(
    X: sp.csr_array,
    kind: str,
    *,
    neighbors: int,
    shrinkage: float = 0.0,
    min_support: int = 1,
) -> sp.csr_array:
    """float32 CSR [n, n]: row i holds the ≤ `neighbors` most similar other rows with a positive
    similarity, columns ascending. X: CSR [n, m] (values; the pattern counts for jaccard)."""
    import numba

    from recforge.models.similarity_kernels import KIND_CODES, topk_cosine_rows, topk_rows

    if kind not in SIMILARITY_KINDS:
        raise ValueError(f"unknown similarity kind {kind!r}")
    X = sp.csr_array(X, dtype=np.float64)
    X.sort_indices()
    n = X.shape[0]
    plain_cosine = kind == "cosine" and shrinkage <= 0 and min_support <= 1
    # a cosine is blind to scale, so one repeated value counts as 1s: sums of counts
    unit = plain_cosine and X.nnz > 0 and X.data[0] != 0 and bool(np.all(X.data == X.data[0]))
    if unit:
        X = sp.csr_array((np.ones(X.nnz), X.indices, X.indptr), shape=X.shape)
    XT = sp.csr_array(X.T.tocsr())
    norms = np.sqrt(np.bincount(
        np.repeat(np.arange(n), np.diff(X.indptr)), weights=X.data**2, minlength=n
    ))  # fmt: skip
    k = min(neighbors, max(n - 1, 1))
    block = max(1, min(n, _BLOCK_CELLS // k))
    chunks = 8 * numba.get_num_threads()  # pieces of a block for the threads to share
    parts = []
    for start in range(0, n, block):
        stop = min(n, start + block)
        pieces = min(chunks, stop - start)
        if plain_cosine:
            counts, cols, values = topk_cosine_rows(
                X.indptr, X.indices, X.data, XT.indptr, XT.indices, XT.data, norms, start, stop,
                k, unit, pieces,
            )  # fmt: skip
        else:
            counts, cols, values = topk_rows(
                X.indptr, X.indices, X.data, XT.indptr, XT.indices, XT.data, norms, start, stop,
                KIND_CODES[kind], k, float(shrinkage), int(min_support), pieces,
            )  # fmt: skip
        kept = np.arange(k)[None, :] < counts[:, None]
        parts.append((counts, cols[kept], values[kept]))
    counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    S = sp.csr_array(
        (
            np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.float32),
            np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int32),
            indptr,
        ),
        shape=(n, n),
    )
    S.sort_indices()
    S.indices = S.indices.astype(np.int32, copy=False)
    return S
