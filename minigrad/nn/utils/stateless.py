"""``torch.nn.utils.stateless.functional_call``: a module called with other tensors in
place of its parameters and buffers (:func:`minigrad.func.functional_call`)."""
from __future__ import annotations

from ...func import functional_call

__all__ = ["functional_call"]
