"""Model names → classes. `get("bias", reg_items=5)` builds a model by name."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from recforge.errors import ParameterError
from recforge.models.base import Recommender

__all__ = ["available", "get", "model_class", "register"]

_MODELS: dict[str, type[Recommender]] = {}

M = TypeVar("M", bound=type[Recommender])


def register(cls: M) -> M:
    """Class decorator adding a Recommender subclass under its `name`."""
    if not cls.name or not cls.description:
        raise TypeError(f"{cls.__name__} needs a class-level name and one-line description")
    if cls.name in _MODELS and _MODELS[cls.name] is not cls:
        raise TypeError(f"a model named {cls.name!r} is already registered")
    _MODELS[cls.name] = cls
    return cls


def available() -> dict[str, str]:
    """Registered model names with their one-line descriptions, in registration order."""
    return {name: cls.description for name, cls in _MODELS.items()}


def model_class(name: str) -> type[Recommender]:
    """The class registered as `name`; an unknown name suggests the closest ones."""
    if name in _MODELS:
        return _MODELS[name]
    close = difflib.get_close_matches(name, list(_MODELS), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ParameterError(
        f"unknown model {name!r}; {hint}available: {', '.join(_MODELS)} (see 'recforge models')"
    )


def get(name: str, **params: Any) -> Recommender:
    """A new, unfitted model; unknown parameter names are refused with the valid ones listed."""
    cls = model_class(name)
    valid = cls.param_names()
    unknown = [p for p in params if p not in valid]
    if unknown:
        close = difflib.get_close_matches(unknown[0], valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParameterError(
            f"model {name!r} has no parameter {unknown[0]!r}{hint}; "
            f"its parameters are: {', '.join(valid)}"
        )
    return cls(**params)
