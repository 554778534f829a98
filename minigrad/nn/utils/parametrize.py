"""PyTorch's ``torch.nn.utils.parametrize`` path (the code is in
:mod:`minigrad.nn.parametrize`)."""
from __future__ import annotations

from ..parametrize import (
    ParametrizationList,
    cached,
    is_parametrized,
    register_parametrization,
    remove_parametrizations,
)

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "ParametrizationList"]
