r"""Embedding lookup whose weight gradient is a sparse COO tensor.

Forward: y = W[idx] (``idx`` integer, any shape; y has shape idx.shape + (dim,)).
Backward: the gradient with respect to W touches only the looked-up rows, so instead of a
dense (num_embeddings, dim) array of mostly zeros it is PyTorch's hybrid COO tensor

    indices = idx.reshape(1, n),   values = gy.reshape(n, dim),   size = W.shape

with one entry per lookup (n = idx.size): a row looked up twice appears twice, and the two
entries are summed when the gradient is coalesced (SparseAdam does that first). Its dense
form equals the dense Embedding gradient exactly. The engine stores it as the weight's
``.grad`` and accumulates further sparse gradients by concatenation
(``minigrad/autograd/function.py``, ``to_leaf``).
"""
from __future__ import annotations

from .._backend import get_array_module
from ..autograd.function import Function
from ..ops.elementwise import const
from ..ops.shape import IndexAdd
from ..tensor import Tensor
from .coo import COOTensor

__all__ = ["EmbeddingSparse", "embedding_sparse"]


class EmbeddingSparse(Function):
    r"""y = W[idx].   VJP: gW = COO(idx, gy) holding only the looked-up rows (entries of
    ``padding_idx`` left out; each entry divided by its row's count in idx when
    ``scale_grad_by_freq``).

    Sparse gradients are accumulated at leaves only; when W is not a leaf (it came out of
    other ops, whose backward expects a dense gradient) the dense scatter-add is returned."""

    def __init__(self, indices, padding_idx=None, scale_grad_by_freq=False):
        self.indices = indices
        self.padding_idx = padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq

    def forward(self, xp, W):
        return W[self.indices]

    def backward(self, gy):
        (W,) = self.inputs
        idx = self.indices
        xp = get_array_module(idx)
        rows = idx.reshape(-1).astype(xp.int64, copy=False)
        values = gy.reshape((rows.shape[0],) + tuple(W.shape[1:]))
        if self.scale_grad_by_freq:
            counts = xp.bincount(rows, minlength=W.shape[0])
            scale = (1.0 / counts[rows]).astype(gy.dtype)
            values = values * const(scale.reshape((-1,) + (1,) * (values.ndim - 1)))
        if self.padding_idx is not None:
            keep = xp.nonzero(rows != self.padding_idx)[0]
            rows, values = rows[keep], values[keep]
        if W.creator is not None:
            return IndexAdd((rows,), W.shape)(values)
        return COOTensor._make(rows.reshape(1, -1), values, W.shape, coalesced=None)


def embedding_sparse(input, weight, padding_idx=None, scale_grad_by_freq=False):
    r"""Rows of ``weight`` at the integer ``input``, with a sparse (COO) weight gradient.

    Parameters
    ----------
    input : integer Tensor or array, any shape; entries in [0, num_embeddings).
    weight : Tensor (num_embeddings, dim).
    padding_idx : int, optional. That row receives no gradient.
    scale_grad_by_freq : divide each lookup's gradient by its row's count in ``input``.

    Returns
    -------
    Tensor of shape input.shape + (dim,).

    Examples
    --------
    >>> import minigrad as mg
    >>> W = mg.zeros(5, 2, requires_grad=True)
    >>> embedding_sparse(mg.tensor([3, 1, 3]), W).sum().backward()
    >>> W.grad.indices()
    tensor([[3, 1, 3]])
    >>> W.grad.to_dense()
    tensor([[0., 0.],
            [1., 1.],
            [0., 0.],
            [2., 2.],
            [0., 0.]])
    """
    idx = input.data if isinstance(input, Tensor) else input
    xp = weight.xp
    idx = xp.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding_sparse: indices must be an integer tensor, got {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding_sparse: weight must be 2-D (num_embeddings, dim), got "
                         f"shape {weight.shape}")
    n = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"embedding_sparse: index {bad} is out of range for {n} embeddings "
                         f"(valid: 0..{n - 1})")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding_sparse: padding_idx {padding_idx} must be within "
                             f"num_embeddings {n}")
        padding_idx %= n
    return EmbeddingSparse(idx, padding_idx, scale_grad_by_freq)(weight)
