"""Exceptions and warnings that recforge raises for user mistakes.

Every `RecforgeError` carries a one-line message that names the problem and the fix; the command
line prints it without a traceback. Anything else escaping recforge is a bug.
"""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = [
    "DataError",
    "DataWarning",
    "DatasetNotFoundError",
    "DuplicateInteractionError",
    "NotFittedError",
    "NotFoundError",
    "ParameterError",
    "RecforgeError",
    "StorageError",
    "UnsupportedOperationError",
    "storage_error",
]


class RecforgeError(Exception):
    """Base class of errors caused by the user's input, parameters or environment."""


class DataError(RecforgeError, ValueError):
    """Input data is malformed: a file, line and column, or an array, is named in the message."""


class DuplicateInteractionError(DataError):
    """A (user, item) pair repeats under duplicates="error".

    row, first_row: the input rows (from 0) of the second and first occurrence of the first
    repeated pair; repeated: how many rows repeat an earlier one, in all.
    """

    def __init__(self, message: str, *, row: int, first_row: int, repeated: int) -> None:
        super().__init__(message)
        self.row = row
        self.first_row = first_row
        self.repeated = repeated


class ParameterError(RecforgeError, ValueError):
    """A parameter has a bad type or value."""


class NotFittedError(RecforgeError, AttributeError):
    """A model was used before `fit` (or `load`)."""


class DatasetNotFoundError(RecforgeError, FileNotFoundError):
    """A named dataset is neither under RECFORGE_DATA nor downloadable."""


class DataWarning(UserWarning):
    """Rows were dropped or merged; the message counts them and says how to change the policy."""


class NotFoundError(RecforgeError, LookupError):
    """A name the user gave (a genre, a served model) names nothing; the message lists what
    exists."""


class UnsupportedOperationError(RecforgeError):
    """The model cannot do this by design (e.g. similar items from a popularity ranking)."""


class StorageError(RecforgeError, OSError):
    """A file or directory could not be written: no space left, a read-only place, no
    permission. The message names the path and what to do; what was there before is intact."""


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def storage_error(exc: OSError, path: Path, what: str, size: int | None = None) -> StorageError:
    """The one-line error for `exc`, raised while writing `what` (e.g. "the model") to `path`;
    `size`: the bytes it needed, when known."""
    if exc.errno in _FULL:
        need = f" ({size / 1e6:,.1f} MB to write)" if size else ""
        return StorageError(
            f"{path}: no space left to write {what}{need}; free space there or write it elsewhere"
        )
    if exc.errno in _READ_ONLY:
        return StorageError(
            f"{path}: cannot write {what} there ({exc.strerror}); choose a writable place"
        )
    return StorageError(f"{path}: writing {what} failed: {exc.strerror or exc}")
