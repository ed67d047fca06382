"""EASE (Steck 2019): a closed-form item-item linear autoencoder with a zero diagonal.

    P = (XᵀX + λI)⁻¹,   B = I − P·diag(1/diag(P))   (so B_jj = 0),   score(u) = x_u·B
X: the binary user-item matrix [U, I].
P is inverted in place by LAPACK (a Cholesky factor, then its inverse: I³ flops, a third of
solving against the identity), in `dtype`, and B is computed in place of P: the fit holds the
sparse XᵀX and one dense I × I in `dtype` (4·I² bytes as float32, 2.9 GB at 27k items; float64
doubles that and adds B's float32 copy). B is kept as float32 [I, I].
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from recforge._validation import check_choice, check_float, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.base import Recommender
from recforge.models.registry import register

__all__ = ["EASE"]


@register
class EASE(Recommender):
    """Embarrassingly shallow autoencoder: item-item weights from one regularised inverse.

    reg: λ, the L2 weight on B (RecBole's default 250; Steck used 500 on ML-20M).
    dtype: "float32" or "float64", the precision of the inverse. float32 takes half the memory
        and time; it was chosen on validation (benchmarks/bench_ease.py), where both gave the
        same ranking quality.
    seed: accepted for uniformity; the fit is exact and deterministic.
    """

    name = "ease"
    description = "EASE: closed-form item-item linear autoencoder (Steck 2019)"
    supports_history = True
    _learned: ClassVar[tuple[str, ...]] = ("weights_",)

    weights_: np.ndarray  # B, float32 [n_items, n_items], zero diagonal

    def __init__(
        self, *, reg: float = 250.0, dtype: str = "float32", seed: int | None = None
    ) -> None:
        self.reg = reg
        self.dtype = dtype
        self.seed = seed

    def _validate_params(self) -> None:
        check_float(self.reg, "reg", "EASE", low=0.0, low_open=True)
        check_choice(self.dtype, "dtype", ("float32", "float64"), "EASE")
        check_seed(self.seed, "seed", "EASE")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        X = train.binary()
        P = (X.T @ X).astype(self.dtype).toarray()  # the Gram matrix, [I, I], C order
        P[np.diag_indices_from(P)] += float(self.reg)
        invert_spd_in_place(P)
        scale = -1.0 / np.diag(P)
        B = np.multiply(P, scale[None, :], out=P)  # B = −P·diag(1/diag(P)), in place
        B[np.diag_indices_from(B)] = 0.0
        self.weights_ = B if B.dtype == np.float32 else B.astype(np.float32)

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        B = self.weights_ if items is None else self.weights_[:, items]
        return np.asarray(self.seen_[users] @ B, dtype=np.float32)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """Rows B[j, ·]: what EASE would score for a user who has seen only item j."""
        return self.weights_[items]

    def _explain_weights(self, user: int, item: int, history: np.ndarray) -> tuple[np.ndarray, str]:
        """B[j, item] for each history item j: the score is exactly their sum."""
        return self.weights_[history, item], "contribution"

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """x·B for the new user's 0/1 history x."""
        return self.weights_[history].sum(axis=0, dtype=np.float32)


def invert_spd_in_place(matrix: np.ndarray, block: int = 2048) -> None:
    """Overwrite a symmetric positive definite `matrix` [n, n] (C or Fortran order) with its
    inverse.

    LAPACK's potrf (Cholesky) then potri (inverse from the factor) work on one triangle of the
    Fortran-ordered view in place (another order would make LAPACK copy the whole matrix); the
    other triangle is then mirrored block by block, so no second n × n array is made.
    """
    if matrix.flags.f_contiguous:
        fortran, valid = matrix, matrix.T  # LAPACK's upper triangle is matrix.T's lower
    elif matrix.flags.c_contiguous:
        fortran, valid = matrix.T, matrix  # the same memory in Fortran order
    else:
        raise ValueError("invert_spd_in_place needs a contiguous matrix")
    potrf, potri = scipy.linalg.get_lapack_funcs(("potrf", "potri"), (fortran,))
    # OpenBLAS's threaded Cholesky (potrf → parallel syrk) crashes the process with SIGSEGV
    # on large matrices (benchmarks/results/ease.json, "before 27000 items"): one BLAS thread.
    with threadpool_limits(limits=1, user_api="blas"):
        factor, info = potrf(fortran, lower=False, clean=False, overwrite_a=True)
    if info != 0:
        raise DataError(
            f"EASE: the regularised Gram matrix is not positive definite (LAPACK info {info}); "
            "raise reg"
        )
    inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise DataError(f"EASE: the inverse failed (LAPACK info {info}); raise reg")
    if not np.shares_memory(inverse, matrix):  # LAPACK worked on a copy after all
        fortran[...] = inverse
    n = matrix.shape[0]
    for start in range(0, n, block):  # valid's lower triangle holds the inverse: mirror it
        stop = min(start + block, n)
        valid[start:stop, stop:] = valid[stop:, start:stop].T
        square = valid[start:stop, start:stop]
        upper = np.triu_indices(stop - start, 1)
        square[upper] = square.T[upper]
