"""TF-IDF vectors for short item texts (titles, descriptions, tags joined into words)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["tfidf"]

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tfidf(texts: Sequence[str] | np.ndarray, *, min_df: int = 1) -> tuple[sp.csr_array, np.ndarray]:
    """(float32 CSR [n, V] of L2-normalised tf·idf rows, vocabulary [V]) for `texts` [n].

    Tokens are lowercase runs of letters and digits; words in fewer than `min_df` texts are
    dropped; idf = ln((1 + n) / (1 + df)) + 1 (the smoothed form), so no weight is 0. An empty
    text gives an all-zero row.
    """
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, text in enumerate(texts):
        for token in _TOKEN.findall(str(text).lower()):
            rows.append(row)
            cols.append(vocabulary.setdefault(token, len(vocabulary)))
    n = len(texts)
    counts = sp.csr_array(
        (np.ones(len(rows), dtype=np.float64), (np.array(rows, dtype=np.int64), cols)),
        shape=(n, len(vocabulary)),
    )
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=len(vocabulary))
    keep = np.flatnonzero(df >= max(min_df, 1))
    words = np.array(list(vocabulary), dtype=str)[keep] if vocabulary else np.array([], dtype=str)
    counts = sp.csr_array(counts[:, keep])
    idf = np.log((1.0 + n) / (1.0 + df[keep])) + 1.0
    weighted = sp.csr_array(counts @ sp.diags_array(idf))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    result = sp.csr_array(sp.diags_array(1.0 / norms) @ weighted, dtype=np.float32)
    return result, words
