"""PyTorch's ``torch.nn.utils.parametrizations`` path: ``orthogonal``, ``weight_norm``,
``spectral_norm`` as parametrizations (the code is in :mod:`minigrad.nn.parametrize`)."""
from __future__ import annotations

from ..parametrize import orthogonal, spectral_norm, weight_norm

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]
