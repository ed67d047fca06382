"""Item sequences for sequence-aware models, cut from per-user histories without looking ahead.

A history (`Interactions.histories()`) lists each user's items oldest first. Sequence models
read fixed-length windows of it. Here an item is encoded as its index + 1, so that 0 is the
padding (an embedding row that is masked and never scored), the convention of the two-tower
model's history too. Windows are right-aligned: the newest item sits in the last column and
padding fills the left, which is where a causal model reads its next-item state.

Nothing here lets a window see the future: the input of a prediction at position p of a
history holds only positions < p of the same user (checked by property tests).
"""

from __future__ import annotations

import numpy as np

from recforge._validation import check_int
from recforge.data.interactions import Histories
from recforge.errors import ParameterError

__all__ = [
    "PAD",
    "history_windows",
    "last_items",
    "next_item_positions",
    "next_item_windows",
    "sequence_chunks",
    "shifted_sequences",
    "shifted_windows",
]

PAD = 0  # the padding code; item i is coded i + 1


def _owner_of(histories: Histories, positions: np.ndarray) -> np.ndarray:
    """The user int64 [B] whose history holds each flat position [B]."""
    return np.searchsorted(histories.indptr, positions, side="right").astype(np.int64) - 1


def _window(histories: Histories, ends: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """int64 [B, length]: items + 1 at flat positions ends - length … ends - 1, right-aligned,
    0 where a position falls before its row's start (another user's items, or none)."""
    offsets = ends[:, None] - length + np.arange(length, dtype=np.int64)[None, :]
    inside = offsets >= starts[:, None]
    if histories.items.size == 0:
        return np.zeros(offsets.shape, dtype=np.int64)
    codes = histories.items[np.where(inside, offsets, 0)].astype(np.int64) + 1
    return np.where(inside, codes, PAD)


def last_items(histories: Histories, users: np.ndarray, length: int) -> np.ndarray:
    """int64 [B, length]: the `length` newest items (+1) of each of `users` [B], oldest first,
    right-aligned and 0-padded on the left; what a sequence model reads to recommend next."""
    length = check_int(length, "length", "last_items", low=1)
    u = np.asarray(users, dtype=np.int64).reshape(-1)
    return _window(histories, histories.indptr[u + 1], histories.indptr[u], length)


def next_item_positions(histories: Histories, min_history: int = 1) -> np.ndarray:
    """Flat positions int64 [N] into histories.items that are training targets: every item
    preceded by at least `min_history` items of its user (each prefix predicts the next item).
    N = Σ_u max(0, n_u − min_history)."""
    min_history = check_int(min_history, "min_history", "next_item_positions", low=1)
    counts = np.diff(histories.indptr)
    owners = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    rank = np.arange(histories.items.size, dtype=np.int64) - histories.indptr[owners]
    return np.flatnonzero(rank >= min_history).astype(np.int64)


def next_item_windows(
    histories: Histories, positions: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training examples for next-item prediction at flat positions [B] (from
    `next_item_positions`): (inputs int64 [B, length], the up-to-`length` items + 1 before each
    position, right-aligned; targets int64 [B], the item index at the position)."""
    length = check_int(length, "length", "next_item_windows", low=1)
    pos = np.asarray(positions, dtype=np.int64).reshape(-1)
    if pos.size and (pos.min() < 0 or pos.max() >= histories.items.size):
        raise ParameterError(
            f"next_item_windows: positions must lie in [0, {histories.items.size}); "
            "take them from next_item_positions"
        )
    starts = histories.indptr[_owner_of(histories, pos)]
    return _window(histories, pos, starts, length), histories.items[pos].astype(np.int64)


def shifted_sequences(
    histories: Histories, users: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sequence-to-sequence examples (SASRec-style) for `users` [B]: each user's newest
    length + 1 items give inputs int64 [B, length] (all but the newest, + 1) and targets int64
    [B, length] (the item + 1 that follows each input position; 0 where the input is padding),
    both right-aligned. Column t of the targets is the next item after column t of the inputs."""
    length = check_int(length, "length", "shifted_sequences", low=1)
    u = np.asarray(users, dtype=np.int64).reshape(-1)
    return shifted_windows(histories, histories.indptr[u + 1], histories.indptr[u], length)


def shifted_windows(
    histories: Histories,
    ends: np.ndarray,
    starts: np.ndarray,
    length: int,
    scored: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`shifted_sequences` for windows whose targets end just before flat positions `ends` [B]
    within histories starting at `starts` [B] (from `sequence_chunks`). With `scored`, only
    the last `scored` columns keep their targets (the others 0: read as context, not
    predicted), as `sequence_chunks(..., stride=scored)` expects."""
    ends = np.asarray(ends, dtype=np.int64).reshape(-1)
    starts = np.asarray(starts, dtype=np.int64).reshape(-1)
    targets = _window(histories, ends, starts + 1, length)  # never a history's first item
    inputs = _window(histories, ends - 1, starts, length)
    if scored is not None:
        scored = check_int(scored, "scored", "shifted_windows", low=1, high=length)
        targets[:, : length - scored] = PAD
    return inputs, targets


def sequence_chunks(
    histories: Histories, length: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Windows that make every item but a history's first the target of exactly one
    `shifted_windows(..., scored=stride)` column: per user, ends at the history's end, then
    every `stride` (default `length`) items back while targets remain. A stride below
    `length` overlaps the windows so that each scored target reads at least length - stride
    items before it (fewer only at a history's start), for length / stride times the windows.
    Returns (ends int64 [N], starts int64 [N]) flat positions."""
    length = check_int(length, "length", "sequence_chunks", low=1)
    step = (
        length
        if stride is None
        else check_int(stride, "stride", "sequence_chunks", low=1, high=length)
    )
    counts = np.diff(histories.indptr)
    targets = np.maximum(counts - 1, 0)
    n_chunks = -(-targets // step)  # ceil
    owners = np.repeat(np.arange(counts.size, dtype=np.int64), n_chunks)
    first = np.cumsum(n_chunks) - n_chunks
    back = np.arange(owners.size, dtype=np.int64) - first[owners]  # 0 = the newest chunk
    ends = histories.indptr[owners + 1] - back * step
    return ends, histories.indptr[owners]


def history_windows(histories: Histories, length: int) -> np.ndarray:
    """int64 [N, length]: every item (+ 1) of every history in exactly one right-aligned window,
    per user oldest first: the n_u mod `length` oldest items left-padded (when not 0), then full
    windows of `length`; N = Σ_u ceil(n_u / length), none for a user without items. What a model
    reads that sees each item once per epoch with its neighbours on both sides (BERT4Rec)."""
    length = check_int(length, "length", "history_windows", low=1)
    counts = np.diff(histories.indptr)
    n_windows = -(-counts // length)  # ceil
    owners = np.repeat(np.arange(counts.size, dtype=np.int64), n_windows)
    first = np.cumsum(n_windows) - n_windows
    back = n_windows[owners] - 1 - (np.arange(owners.size, dtype=np.int64) - first[owners])
    ends = histories.indptr[owners + 1] - back * length  # back = 0: the newest window
    return _window(histories, ends, histories.indptr[owners], length)
