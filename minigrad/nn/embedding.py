r"""Embedding: a lookup table, y = W[idx].

Gradient (dense): gW = zeros with gy's rows scatter-added at idx (repeated indices
accumulate); the row ``padding_idx`` gets no gradient. With ``sparse=True`` the gradient
is a sparse tensor holding only the looked-up rows (``minigrad.sparse``), which sparse
optimizers consume.
"""
from __future__ import annotations

from .. import creation
from .._backend import get_array_module
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import const
from ..ops.shape import IndexAdd
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["embedding", "EmbeddingFunction", "Embedding"]


class EmbeddingFunction(Function):
    """y = W[idx].   VJP: gW = scatter-add of gy at idx (rows of ``padding_idx`` zeroed,
    each row divided by its count in the batch when ``scale_grad_by_freq``)."""

    def __init__(self, indices, padding_idx=None, scale_grad_by_freq=False):
        self.indices = indices
        self.padding_idx, self.scale_grad_by_freq = padding_idx, scale_grad_by_freq

    def forward(self, xp, w):
        return w[self.indices]

    def backward(self, gy):
        (w,) = self.inputs
        idx = self.indices
        xp = get_array_module(idx)
        if self.padding_idx is not None:
            gy = gy * const((idx != self.padding_idx)[..., None].astype(gy.dtype))
        if self.scale_grad_by_freq:
            counts = xp.bincount(idx.reshape(-1), minlength=w.shape[0])
            gy = gy * const((1.0 / counts[idx])[..., None].astype(gy.dtype))
        return IndexAdd((idx,), w.shape)(gy)


def _indices(input, num_embeddings, what):
    idx = input.data if isinstance(input, Tensor) else input
    xp = get_array_module(idx)
    idx = xp.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{what}: indices must be an integer tensor, got {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_embeddings):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"{what}: index {bad} is out of range for {num_embeddings} embeddings "
                         f"(valid: 0..{num_embeddings - 1})")
    return idx


def _padding(padding_idx, n, what):
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise ValueError(f"{what}: padding_idx {padding_idx} must be within num_embeddings {n}")
    return padding_idx % n


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) at integer ``input`` of any shape; output
    shape ``input.shape + (dim,)`` (PyTorch's ``F.embedding``).

    ``max_norm`` renormalizes the looked-up rows of ``weight`` in place to norm at most
    ``max_norm`` first. ``sparse=True`` returns the sparse-gradient form from
    :mod:`minigrad.sparse`.

    >>> import minigrad as mg
    >>> w = mg.arange(6.0).reshape(3, 2)
    >>> embedding(mg.tensor([2, 0]), w)
    tensor([[4., 5.],
            [0., 1.]])
    """
    n = weight.shape[0]
    idx = _indices(input, n, "embedding")
    padding_idx = _padding(padding_idx, n, "embedding")
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    if sparse:
        from ..sparse import embedding_sparse  # the sparse-gradient path lives there

        return embedding_sparse(input, weight, padding_idx=padding_idx,
                                scale_grad_by_freq=scale_grad_by_freq)
    return EmbeddingFunction(idx, padding_idx, scale_grad_by_freq)(weight)


def _renorm_rows(weight, idx, max_norm, norm_type):
    xp = weight.xp
    rows = xp.unique(idx.reshape(-1))
    with no_grad():
        w = weight.data[rows]
        norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.data[rows] = w * scale[:, None].astype(w.dtype)


class Embedding(Module):
    r"""A table of ``num_embeddings`` vectors of size ``embedding_dim`` (PyTorch's
    ``nn.Embedding``), initialized N(0, 1) with the ``padding_idx`` row zero.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
    padding_idx : int, optional — that row gets no gradient (and starts at zero).
    max_norm, norm_type : renormalize looked-up rows to norm ≤ max_norm.
    scale_grad_by_freq : divide each row's gradient by its count in the batch.
    sparse : gradients as sparse tensors (see :mod:`minigrad.sparse`).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype,
                                                   device=device), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, "
                                 f"expected {(num_embeddings, embedding_dim)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding ``embeddings`` (2-D); ``freeze`` turns its gradient off."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.sparse:
            s += ", sparse=True"
        return s
