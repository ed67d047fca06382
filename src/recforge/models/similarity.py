"""Sparse top-k similarities between the rows of a sparse matrix, built block by block.

Rows are the things compared (items for item-KNN, users for user-KNN); columns are where they
meet. Each block of rows is compared with all rows through sparse products, turned into
similarities densely for that block only, and cut to its `neighbors` best positive entries, so
memory stays at one dense block plus the kept neighbours.

Kinds (x_i: row i; U: the columns rows i and j share; n = |U|):
    cosine            x_i·x_j / (‖x_i‖·‖x_j‖)             (whole rows)
    pearson           Pearson correlation over U, each row centred on its mean over U
                      (Surprise's "pearson")
    common_cosine     Σ_U x_i·x_j / √(Σ_U x_i² · Σ_U x_j²)  (Surprise's "pearson_baseline" and
                      Sarwar's adjusted cosine, once the caller has subtracted baselines or
                      user means from the values)
    jaccard           n / (|x_i| + |x_j| − n)                (patterns only)
shrinkage s multiplies every similarity by (n − 1) / (n − 1 + s) (Surprise's shrinkage);
pairs sharing fewer than `min_support` columns get 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recforge._topk import topk

__all__ = ["SIMILARITY_KINDS", "topk_similarity"]

SIMILARITY_KINDS = ("cosine", "pearson", "common_cosine", "jaccard")
_BLOCK_CELLS = 1 << 24  # dense cells per block (64 MiB of float32 per intermediate)


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
    if kind not in SIMILARITY_KINDS:
        raise ValueError(f"unknown similarity kind {kind!r}")
    # float32 halves the dense blocks' memory traffic; Pearson's centred sums cancel badly in
    # float32, so it keeps float64.
    dtype = np.float64 if kind == "pearson" else np.float32
    X = sp.csr_array(X, dtype=dtype)
    n = X.shape[0]
    pattern = sp.csr_array((np.ones(X.nnz, dtype=dtype), X.indices, X.indptr), shape=X.shape)
    XT, PT = X.T.tocsr(), pattern.T.tocsr()
    squares = sp.csr_array(X.multiply(X))
    ST = squares.T.tocsr()
    row_norms = np.sqrt(np.asarray(squares.sum(axis=1)).ravel())
    row_counts = np.diff(X.indptr).astype(dtype)
    block = max(1, min(n, _BLOCK_CELLS // max(n, 1)))
    k = min(neighbors, max(n - 1, 1))
    needs_freq = kind in ("jaccard", "pearson") or shrinkage > 0 or min_support > 1
    out_rows, out_cols, out_vals = [], [], []
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = slice(start, stop)
        freq = (pattern[rows] @ PT).toarray() if needs_freq else None
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "cosine":
                sims = (X[rows] @ XT).toarray()
                sims /= row_norms[rows, None]
                sims /= row_norms[None, :]
            elif kind == "jaccard":
                assert freq is not None
                sims = freq / (row_counts[rows, None] + row_counts[None, :] - freq)
            elif kind == "common_cosine":
                sims = (X[rows] @ XT).toarray()
                sims /= np.sqrt((squares[rows] @ PT).toarray() * (pattern[rows] @ ST).toarray())
            else:  # pearson over the common columns
                assert freq is not None
                prods = (X[rows] @ XT).toarray()
                sum_i = (X[rows] @ PT).toarray()
                sum_j = (pattern[rows] @ XT).toarray()
                sq_i = (squares[rows] @ PT).toarray()
                sq_j = (pattern[rows] @ ST).toarray()
                num = freq * prods - sum_i * sum_j
                sims = num / np.sqrt((freq * sq_i - sum_i**2) * (freq * sq_j - sum_j**2))
            if freq is not None and shrinkage:
                sims *= (freq - 1) / (freq - 1 + shrinkage)
        sims[~np.isfinite(sims)] = 0.0
        if freq is not None and min_support > 1:
            sims[freq < min_support] = 0.0
        sims[np.arange(stop - start), np.arange(start, stop)] = 0.0  # never one's own neighbour
        cols, values = topk(sims.astype(np.float32), k)
        keep = values > 0
        out_rows.append(np.repeat(np.arange(start, stop), keep.sum(axis=1)))
        out_cols.append(cols[keep])
        out_vals.append(values[keep])
    rows_all = np.concatenate(out_rows) if out_rows else np.zeros(0, dtype=np.int64)
    S = sp.csr_array(
        (
            np.concatenate(out_vals).astype(np.float32) if out_vals else np.zeros(0, np.float32),
            (rows_all, np.concatenate(out_cols) if out_cols else np.zeros(0, dtype=np.int64)),
        ),
        shape=(n, n),
    )
    S.sort_indices()
    S.indices = S.indices.astype(np.int32, copy=False)
    return S
