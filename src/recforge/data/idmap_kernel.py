"""Compiled (numba) passes of the dense-integer id factorisation (`idmap.factorize`)."""

from __future__ import annotations

from numba import njit

__all__ = ["mark_present", "min_max", "write_codes"]


@njit(nogil=True, cache=True)
def min_max(values):  # type: ignore[no-untyped-def]
    """(smallest, largest) of a non-empty integer array [n], in one pass."""
    lo = hi = values[0]
    for v in values:
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return lo, hi


@njit(nogil=True, cache=True)
def mark_present(values, lo, present):  # type: ignore[no-untyped-def]
    """present[v − lo] = True for every value v [n] (no shifted copy of the values)."""
    for v in values:
        present[v - lo] = True


@njit(nogil=True, cache=True)
def write_codes(values, lo, rank, codes, start):  # type: ignore[no-untyped-def]
    """codes[start + t] = rank[values[t] − lo] for every t."""
    for t in range(values.size):
        codes[start + t] = rank[values[t] - lo]
