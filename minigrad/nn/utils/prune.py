"""PyTorch's ``torch.nn.utils.prune`` path. The pruning methods and functions live in
:mod:`minigrad.sparse.prune`, with the sparse formats they feed; importing this path gives
that very module (it replaces itself in ``sys.modules``), so both names are one object."""
from __future__ import annotations

import sys

from ...sparse import prune as _prune

sys.modules[__name__] = _prune
