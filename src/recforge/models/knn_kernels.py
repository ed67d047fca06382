"""Compiled (numba) neighbourhood estimates for item- and user-KNN rating prediction."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["neighbourhood_estimates"]


@njit(nogil=True, cache=True)
def neighbourhood_estimates(  # type: ignore[no-untyped-def]
    rated_ptr, rated_idx, rated_res, sim_ptr, sim_idx, sim_val, owners, targets, k, min_k, out
):
    """The KNNBaseline adjustment Σ s·e / Σ s for each pair (owners[t], targets[t]).

    rated_*: CSR whose row `owner` lists what the owner rated (column ascending) with the
        residuals e (rating − baseline); for item-KNN the owner is the user, for user-KNN the
        item. sim_*: CSR of positive similarities whose row `target` lists its neighbours
        (column ascending). Of the owner's rated entries that are neighbours of the target, the
        k most similar are averaged, weighted by similarity; fewer than min_k gives 0.
    out: float64 [n pairs].
    """
    longest = 0
    for r in range(sim_ptr.size - 1):
        longest = max(longest, sim_ptr[r + 1] - sim_ptr[r])
    sims = np.empty(longest)
    residuals = np.empty(longest)
    for t in range(owners.size):
        a = rated_ptr[owners[t]]
        a_end = rated_ptr[owners[t] + 1]
        b = sim_ptr[targets[t]]
        b_end = sim_ptr[targets[t] + 1]
        count = 0
        while a < a_end and b < b_end:
            ja = rated_idx[a]
            jb = sim_idx[b]
            if ja == jb:
                sims[count] = sim_val[b]
                residuals[count] = rated_res[a]
                count += 1
                a += 1
                b += 1
            elif ja < jb:
                a += 1
            else:
                b += 1
        if count == 0 or count < min_k:
            out[t] = 0.0
            continue
        num = 0.0
        den = 0.0
        if count <= k:
            for c in range(count):
                num += sims[c] * residuals[c]
                den += sims[c]
        else:
            best = np.argsort(-sims[:count], kind="mergesort")[:k]
            for c in best:
                num += sims[c] * residuals[c]
                den += sims[c]
        out[t] = num / den
