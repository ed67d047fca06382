"""Parameter checks with scikit-learn style messages.

"The 'k' parameter of recommend must be an int ≥ 1. Got 0 instead."
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from recforge.errors import ParameterError

__all__ = ["check_bool", "check_choice", "check_float", "check_int", "check_seed"]


def _where(owner: str) -> str:
    return f" of {owner}" if owner else ""


def check_int(
    value: Any, name: str, owner: str = "", *, low: int | None = None, high: int | None = None
) -> int:
    """Return `value` as an int after checking that it is an integer in [low, high]."""
    ok = isinstance(value, int | _np_integer()) and not isinstance(value, bool)
    if ok and (low is None or value >= low) and (high is None or value <= high):
        return int(value)
    raise ParameterError(
        f"The {name!r} parameter{_where(owner)} must be an int{_bounds(low, high)}. "
        f"Got {value!r} instead."
    )


def check_float(
    value: Any,
    name: str,
    owner: str = "",
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return `value` as a float after checking that it is finite and inside the interval."""
    ok = isinstance(value, int | float | _np_number()) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = math.isfinite(v)
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v < high if high_open else v <= high
        if ok:
            return v
    lo = "" if low is None else (f" > {low}" if low_open else f" ≥ {low}")
    hi = "" if high is None else (f" < {high}" if high_open else f" ≤ {high}")
    sep = " and" if lo and hi else ""
    raise ParameterError(
        f"The {name!r} parameter{_where(owner)} must be a finite number{lo}{sep}{hi}. "
        f"Got {value!r} instead."
    )


def check_bool(value: Any, name: str, owner: str = "") -> bool:
    """Return `value` after checking it is a bool (not merely truthy)."""
    if isinstance(value, bool):
        return value
    raise ParameterError(
        f"The {name!r} parameter{_where(owner)} must be a bool. Got {value!r} instead."
    )


def check_choice(value: Any, name: str, choices: Collection[str], owner: str = "") -> str:
    """Return `value` after checking it is one of `choices`."""
    if isinstance(value, str) and value in choices:
        return value
    options = ", ".join(repr(c) for c in choices)
    raise ParameterError(
        f"The {name!r} parameter{_where(owner)} must be one of {options}. Got {value!r} instead."
    )


def check_seed(value: Any, name: str = "seed", owner: str = "") -> int | None:
    """A seed is None or an int ≥ 0."""
    if value is None:
        return None
    return check_int(value, name, owner, low=0)


def _bounds(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" ≥ {low}"
    if high is not None:
        return f" ≤ {high}"
    return ""


def _np_integer() -> type:
    import numpy as np

    return np.integer


def _np_number() -> type:
    import numpy as np

    return np.number
