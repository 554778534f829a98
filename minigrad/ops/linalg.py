"""Matrix products."""
from __future__ import annotations

from ..amp.autocast_mode import half_matmul
from ..autograd.function import Function
from .elementwise import promote


class MatMul(Function):
    """Y = A @ B for A (..., m, k), B (..., k, n) with broadcast batch dims.
    VJP: gA = gY @ Bᵀ, gB = Aᵀ @ gY (batch broadcasting is summed away by the engine)."""

    amp_policy = "half"

    def forward(self, xp, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: inner dimensions differ: {a.shape[-1]} (from {a.shape}) "
                f"vs {b.shape[-2]} (from {b.shape})"
            )
        return half_matmul(xp, *promote(a, b))  # PyTorch refuses int @ float; we promote

    def backward(self, gy):
        a, b = self.inputs
        ga = gy @ b.mT if self.needs_input_grad[0] else None
        gb = a.mT @ gy if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b):
    """PyTorch/NumPy matmul semantics, 1-d operands included: a 1-d left operand is a
    row vector, a 1-d right operand a column vector, and the added dim is removed."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} "
                         f"and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise ValueError(f"matmul: vectors of different lengths: {a.shape} and {b.shape}")
        return (a * b).sum()
    if a.ndim == 1:
        return MatMul()(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return MatMul()(a, b.unsqueeze(-1)).squeeze(-1)
    return MatMul()(a, b)
