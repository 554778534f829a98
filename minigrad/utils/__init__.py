"""``minigrad.utils``: PyTorch's ``torch.utils`` pieces that are not data loading (that is
:mod:`minigrad.data`): :mod:`.checkpoint` (activation checkpointing)."""
from . import checkpoint

__all__ = ["checkpoint"]
