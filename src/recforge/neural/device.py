"""Devices named explicitly: "cpu", "cuda", "cuda:1", "mps", or "auto" (cuda, mps, else cpu)."""

from __future__ import annotations

import torch

from recforge.errors import ParameterError

__all__ = ["resolve_device"]


def resolve_device(name: str, owner: str = "") -> torch.device:
    """The torch.device for `name`, refusing one this machine lacks with the fix in the message."""
    where = f" of {owner}" if owner else ""
    if not isinstance(name, str):
        raise ParameterError(
            f"The 'device' parameter{where} must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'. "
            f"Got {name!r} instead."
        )
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ParameterError(
            f"The 'device' parameter{where} must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'. "
            f"Got {name!r} instead."
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(
                f"device={name!r}{where}: this machine has no usable CUDA GPU (or torch is a CPU "
                "build); use device='cpu' or 'auto'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ParameterError(
                f"device={name!r}{where}: only {torch.cuda.device_count()} CUDA device(s) here"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ParameterError(
                f"device={name!r}{where}: MPS (Apple GPU) is not available here; use 'cpu'"
            )
    elif device.type != "cpu":
        raise ParameterError(
            f"The 'device' parameter{where} must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'. "
            f"Got {name!r} instead."
        )
    return device
