r"""Embedding: a lookup table, y = W[idx]; EmbeddingBag: the sum, mean or max of the rows
of each bag of indices, without materializing the (bag, length, dim) lookups per bag.

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

__all__ = ["embedding", "EmbeddingFunction", "Embedding", "embedding_bag", "EmbeddingBag"]


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
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, dim), got shape "
                         f"{weight.shape}")
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


_BAG_MODES = ("sum", "mean", "max")


def _bags(idx, offsets, include_last_offset, what):
    """(flat indices, bag of each index, number of bags) for PyTorch's two layouts: a 2-D
    input (one bag per row) or a 1-D input cut at ``offsets``."""
    import numpy as np

    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{what}: offsets must be None for a 2-D input (each row is a "
                             "bag)")
        B, L = idx.shape
        return idx.reshape(-1), np.repeat(np.arange(B), L), B
    if idx.ndim != 1:
        raise ValueError(f"{what}: input must be 1-D (with offsets) or 2-D, got "
                         f"{idx.ndim}-D")
    if offsets is None:
        raise ValueError(f"{what}: a 1-D input needs offsets (where each bag starts)")
    off = offsets.data if isinstance(offsets, Tensor) else offsets
    off = np.asarray(off.get() if hasattr(off, "get") else off)
    if off.ndim != 1 or (off.size and off.dtype.kind not in "iu"):
        raise ValueError(f"{what}: offsets must be a 1-D integer tensor, got {off.dtype} of "
                         f"shape {off.shape}")
    n = idx.shape[0]
    if off.size and (off[0] != 0 or (np.diff(off) < 0).any() or off[-1] > n):
        raise ValueError(f"{what}: offsets must start at 0, never decrease and stay within "
                         f"the {n} indices, got {off.tolist()}")
    starts = off[:-1] if include_last_offset else off
    # Bag i is [offsets[i], offsets[i + 1]); the last bag runs to the end of the input.
    # With include_last_offset the final offset only counts the bags (len(offsets) − 1 of
    # them): PyTorch's kernel reads no bag end from it, so indices past it still fall in
    # the last bag, and there is no bag at all (nothing summed) for offsets == [0].
    ends = np.append(starts[1:], n) if starts.size else starts
    counts = ends - starts
    used = int(counts.sum())                     # n, or 0 when there is no bag
    return idx[:used], np.repeat(np.arange(counts.shape[0]), counts), counts.shape[0]


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2.0,
                  scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    r"""The sum, mean or max of the embedding rows of each bag (PyTorch's
    ``F.embedding_bag``): bags are the rows of a 2-D ``input``, or the runs of a 1-D
    ``input`` that start at ``offsets``. Entries equal to ``padding_idx`` are left out
    (and not counted by the mean); an empty bag gives zeros. ``per_sample_weights``
    (``mode="sum"`` only) scales each row first. Differentiable in ``weight`` (and in the
    per-sample weights); the max sends each gradient to the row that gave the max.
    With ``include_last_offset=True`` the B bags take B + 1 offsets; as in PyTorch the
    last bag still runs to the end of ``input``, whatever the final offset (at most
    ``len(input)``) says.

    >>> import minigrad as mg
    >>> w = mg.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    >>> embedding_bag(mg.tensor([0, 1, 2, 2]), w, mg.tensor([0, 2]), mode="sum").tolist()
    [[1.0, 2.0], [6.0, 6.0]]
    """
    import numpy as np

    what = "embedding_bag"
    if mode not in _BAG_MODES:
        raise ValueError(f"{what}: mode must be one of {_BAG_MODES}, got {mode!r}")
    n, dim = weight.shape
    idx = _indices(input, n, what)
    flat, bag, B = _bags(idx, offsets, include_last_offset, what)
    psw = None
    if per_sample_weights is not None:
        if mode != "sum":
            raise ValueError(f"{what}: per_sample_weights only work with mode='sum', got "
                             f"mode={mode!r}")
        if tuple(per_sample_weights.shape) != tuple(idx.shape):
            raise ValueError(f"{what}: per_sample_weights must have the input's shape "
                             f"{tuple(idx.shape)}, got {tuple(per_sample_weights.shape)}")
        psw = per_sample_weights.reshape(-1)
        if psw.shape[0] != flat.shape[0]:        # offsets == [0] with include_last_offset
            psw = psw[:flat.shape[0]]
    padding_idx = _padding(padding_idx, n, what)
    keep = np.ones(flat.shape[0], dtype=bool)
    if padding_idx is not None:
        host = flat.get() if hasattr(flat, "get") else flat
        keep = np.asarray(host) != padding_idx
        flat = flat[get_array_module(flat).asarray(keep)]
        bag = bag[keep]
        if psw is not None:
            psw = psw[np.nonzero(keep)[0]]
    rows = embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)
    counts = np.bincount(bag, minlength=B)
    if mode == "max":
        return _bag_max(rows, bag, counts, B, dim, weight)
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    bag_t = creation.tensor(bag, device=weight.device)
    out = creation.zeros(B, dim, dtype=rows.dtype, device=weight.device)
    out = out.index_add(0, bag_t, rows) if rows.shape[0] else out
    if mode == "mean":
        scale = 1.0 / np.maximum(counts, 1)
        out = out * creation.tensor(scale[:, None], dtype=out.dtype, device=weight.device)
    return out


def _bag_max(rows, bag, counts, B, dim, weight):
    """The max over each bag's rows: the rows laid out (B, longest bag, dim) with −inf in
    the gaps, max over dim 1; empty bags give 0."""
    import numpy as np

    from ..ops.elementwise import where

    M = int(counts.max(initial=0))
    if M == 0:
        return creation.zeros(B, dim, dtype=weight.dtype, device=weight.device)
    position = np.arange(bag.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    slots = np.full((B, M), rows.shape[0], dtype=np.int64)     # a −inf row past the end
    slots[bag, position] = np.arange(bag.shape[0])
    filler = creation.full((1, dim), float("-inf"), dtype=rows.dtype, device=weight.device)
    table = creation.cat([rows, filler], 0)[creation.tensor(slots, device=weight.device)]
    best = table.max(dim=1).values
    empty = creation.tensor((counts == 0)[:, None], device=weight.device)
    return where(empty, 0.0, best)


class EmbeddingBag(Module):
    r"""A table of ``num_embeddings`` vectors whose forward reduces each bag of indices to
    one vector: sum, mean (the default) or max (PyTorch's ``nn.EmbeddingBag``); see
    :func:`embedding_bag`. Initialized N(0, 1), the ``padding_idx`` row zero.

    ``forward(input, offsets=None, per_sample_weights=None)``.

    >>> import minigrad as mg
    >>> bag = EmbeddingBag(10, 3, mode="sum")
    >>> bag(mg.tensor([[1, 2], [4, 5]])).shape
    (2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        if mode not in _BAG_MODES:
            raise ValueError(f"EmbeddingBag: mode must be one of {_BAG_MODES}, got {mode!r}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = _padding(padding_idx, num_embeddings, "EmbeddingBag")
        if _weight is None:
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype,
                                                   device=device))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"EmbeddingBag: _weight has shape {tuple(_weight.shape)}, "
                                 f"expected {(num_embeddings, embedding_dim)}")
            self.weight = Parameter(_weight)

    reset_parameters = Embedding.reset_parameters

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.mode, self.sparse,
                             per_sample_weights, self.include_last_offset, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding ``embeddings`` (2-D); ``freeze`` turns its gradient off."""
        if embeddings.ndim != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got "
                             f"shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings, include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
