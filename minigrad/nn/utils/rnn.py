"""PyTorch's ``torch.nn.utils.rnn`` path: padding and packing variable-length sequences
for the recurrent layers (the code is in :mod:`minigrad.nn.rnn`, next to the layers)."""
from __future__ import annotations

from ..rnn import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "pad_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]
