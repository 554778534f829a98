"""Differentiable collectives (PyTorch's ``torch.distributed.nn.functional``).

``all_reduce(x)`` returns Σ_ranks x on every rank. Its adjoint is the same sum: if every
rank r computes a loss L_r from the result y, then ∂(Σ_r L_r)/∂x_r = Σ_r ∂L_r/∂y, the
all-reduce of the incoming gradients. So a model that all-reduces inside its forward
(SyncBatchNorm's statistics) gets the gradient of the summed loss of all ranks.
Without an initialized process group (one process) it is the identity.
"""
from __future__ import annotations

from ..autograd.function import Function
from . import comm

__all__ = ["all_reduce"]


class AllReduceSum(Function):
    """y = Σ over ranks of x.   VJP: gx = Σ over ranks of gy."""

    def forward(self, xp, x):
        return comm.all_reduce_array(xp.ascontiguousarray(x).copy(), "sum")

    def backward(self, gy):
        return AllReduceSum()(gy)


def all_reduce(tensor):
    """The sum of ``tensor`` over all ranks, as a new tensor, differentiable."""
    if not comm.is_initialized() or comm.get_world_size() == 1:
        return tensor * 1  # a copy in the graph, as one rank's sum
    return AllReduceSum()(tensor)
