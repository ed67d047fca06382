"""A compiled parser for lines of plain numbers: the inner loop of `numeric_csv`.

It accepts only what it can parse exactly like pyarrow's reader: integers of optional '-' and
digits, decimals of at most 15 digits without an exponent, no quotes, no spaces, one byte
separator, '\\n' or '\\r\\n' line ends, empty lines skipped. Anything else stops it with a code,
and the caller reads the file the general way.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["OK", "parse_lines"]

OK = 0
BAD_FIELD_COUNT = 1
BAD_NUMBER = 2
OUT_OF_RANGE = 3

_POW10 = np.array([10.0**k for k in range(16)])
_SKIP, _USER, _ITEM, _VALUE, _STAMP = 0, 1, 2, 3, 4  # what each field of a line holds


@njit(nogil=True, cache=True)
def parse_lines(buf, size, sep, kinds, id_limit, user, item, value, stamp, row):  # type: ignore[no-untyped-def]
    """Parse the whole lines in buf[:size] into the outputs from index `row` on, in one pass.

    kinds: int64 [fields per line], what each field holds: 0 nothing wanted, 1 user, 2 item,
        3 value, 4 timestamp.
    id_limit: int64 [2], the largest magnitude the user and item outputs hold.
    user, item: int32 or int64 [capacity]; value: float32; stamp: int64 (size 0 when absent).
    Returns (code, rows written so far, byte offset of the line that stopped it).
    """
    n_fields = kinds.size
    at = 0
    while at < size:
        if buf[at] == 10:  # an empty line
            at += 1
            continue
        if buf[at] == 13 and at + 1 < size and buf[at + 1] == 10:
            at += 2
            continue
        line_start = at
        for field in range(n_fields):
            kind = kinds[field]
            if kind == _SKIP:
                while at < size and buf[at] != sep and buf[at] != 10 and buf[at] != 13:
                    if buf[at] == 34:  # a quote: the general reader decides
                        return BAD_NUMBER, row, line_start
                    at += 1
            else:
                negative = at < size and buf[at] == 45  # '-'
                if negative:
                    at += 1
                mantissa = 0
                digits = 0
                decimals = -1  # -1: no decimal point yet
                while at < size:
                    digit = np.int64(buf[at]) - 48
                    if 0 <= digit <= 9:
                        mantissa = mantissa * 10 + digit
                        digits += 1
                        if decimals >= 0:
                            decimals += 1
                    elif digit == -2 and decimals < 0 and kind == _VALUE:  # '.'
                        decimals = 0
                    else:
                        break
                    at += 1
                if digits == 0 or digits > (15 if kind == _VALUE else 18):
                    return BAD_NUMBER, row, line_start
                if kind == _VALUE:
                    # Exact: mantissa < 2**53 and 10**k are exact doubles, so this division is
                    # rounded once; the store rounds once more, to float32.
                    number = mantissa / _POW10[max(decimals, 0)]
                    value[row] = -number if negative else number
                else:
                    whole = -mantissa if negative else mantissa
                    if kind == _USER:
                        if mantissa > id_limit[0]:
                            return OUT_OF_RANGE, row, line_start
                        user[row] = whole
                    elif kind == _ITEM:
                        if mantissa > id_limit[1]:
                            return OUT_OF_RANGE, row, line_start
                        item[row] = whole
                    else:
                        stamp[row] = whole
            if field < n_fields - 1:
                if at >= size or buf[at] != sep:
                    return BAD_FIELD_COUNT, row, line_start
                at += 1
            else:
                if at < size and buf[at] == 13:
                    at += 1
                if at < size:
                    if buf[at] != 10:
                        return BAD_FIELD_COUNT, row, line_start
                    at += 1
        row += 1
    return OK, row, size
