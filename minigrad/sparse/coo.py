r"""COO (coordinate) sparse tensors: ``COOTensor``, ``sparse_coo_tensor``, ``to_sparse_coo``,
``from_scipy``.

Layout (PyTorch's): a tensor of shape ``size`` with nnz stored entries is

* ``indices`` (sparse_dim, nnz), int64: column k holds the coordinates of entry k in the
  first ``sparse_dim`` dimensions;
* ``values`` (nnz, *size[sparse_dim:]): a Tensor, the one that receives gradients. With
  ``dense_dim = len(size) - sparse_dim > 0`` each entry is a whole dense block ("hybrid"
  COO): the gradient of an embedding table, for instance, is a COO tensor with
  sparse_dim = 1 whose values are the touched rows.

Example: [[0, 2], [3, 0]] is indices = [[0, 1], [1, 0]], values = [2, 3].

Duplicates are allowed: an index that appears twice means the sum of the two values
(``to_dense`` and every product add them). ``coalesce()`` sums them, differentiably, and
sorts the entries in row-major order of their indices; a tensor whose indices already are
sorted and distinct is coalesced as it stands (``is_coalesced()`` checks that, where
PyTorch keeps a flag).
"""
from __future__ import annotations

import numpy as np

from .._backend import get_array_module, to_device
from ..ops.shape import IndexAdd, cat
from ..tensor import Tensor, _make_tensor, _shape_args
from . import ops as _ops
from .csr import (
    CSRPattern,
    _check_range,
    _import_scipy_sparse,
    _index_array,
    _values_tensor,
)

__all__ = ["COOTensor", "sparse_coo_tensor", "to_sparse_coo", "to_sparse", "from_scipy"]


def _strides(sparse_shape):
    """Row-major strides of the sparse dims, or None when the index space exceeds int64."""
    total = 1
    for s in sparse_shape:
        total *= max(int(s), 1)
    if total >= 2**63:
        return None
    strides, acc = [], 1
    for s in reversed(sparse_shape):
        strides.append(acc)
        acc *= max(int(s), 1)
    return strides[::-1]


def _linear_keys(xp, indices, sparse_shape):
    """One int64 key per entry, increasing in row-major order of the index tuples."""
    strides = _strides(sparse_shape)
    if strides is None:
        raise ValueError(f"coalesce: the sparse index space {tuple(sparse_shape)} has more "
                         "than 2**63 positions")
    keys = xp.zeros(indices.shape[1], dtype=xp.int64)
    for d, s in enumerate(strides):
        keys += indices[d] * s
    return keys


def _coalesce_structure(indices, sparse_shape):
    """``(new_indices, inverse, csr_pattern or None)``: the sorted distinct index tuples,
    where each input entry went, and for 2 sparse dims the CSR pattern of the result."""
    xp = get_array_module(indices)
    if indices.shape[0] == 2 and xp is np:
        from ..kernels import sparse_cpu

        m, n = sparse_shape
        crow, col, inverse = sparse_cpu.coo_to_csr(indices[0], indices[1], m, n)
        row = np.repeat(np.arange(m, dtype=np.int64), np.diff(crow))
        pattern = CSRPattern(crow, col, (m, n))
        pattern._cache["row"] = row
        pattern._cache["canonical"] = True
        return np.stack([row, col]), inverse, pattern
    keys = _linear_keys(xp, indices, sparse_shape)
    unique, inverse = xp.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    if indices.shape[0] == 1:
        new = unique.reshape(1, -1)
    else:
        new = xp.stack(xp.unravel_index(unique, tuple(sparse_shape))).astype(xp.int64)
    return new, inverse, None


def _csr_pattern_of_sorted(xp, indices, shape):
    """CSR pattern of 2-D COO indices that are sorted and distinct."""
    rows, cols = indices[0], indices[1]
    crow = xp.zeros(shape[0] + 1, dtype=xp.int64)
    if rows.shape[0]:
        xp.cumsum(xp.bincount(rows, minlength=shape[0]), out=crow[1:])
    pattern = CSRPattern(crow, cols, shape)
    pattern._cache["row"] = rows
    pattern._cache["canonical"] = True
    return pattern


class COOTensor(_ops.SparseTensorBase):
    """A sparse tensor in COO layout (possibly hybrid: sparse dims first, then dense ones).

    Build one with :func:`sparse_coo_tensor`, :func:`to_sparse_coo`, :func:`from_scipy`.

    Examples
    --------
    >>> import minigrad as mg
    >>> v = mg.tensor([2.0, 3.0, 1.0], requires_grad=True)
    >>> S = mg.sparse.sparse_coo_tensor([[0, 1, 0], [1, 0, 1]], v, (2, 2))  # (0, 1) twice
    >>> S.coalesce().values()
    tensor([3., 3.], grad_fn=<IndexAdd backward>)
    >>> S.to_dense()
    tensor([[0., 3.],
            [3., 0.]], grad_fn=<IndexAdd backward>)
    """

    __slots__ = ("_idx", "_values", "_shape", "_coalesced", "_cache", "__weakref__")
    layout = "sparse_coo"

    @classmethod
    def _make(cls, indices, values, shape, coalesced=None):
        """Internal constructor, no validation. ``coalesced``: True/False when known,
        None to find out on demand."""
        S = cls.__new__(cls)
        S._idx = indices
        S._values = values
        S._shape = tuple(int(s) for s in shape)
        S._coalesced = coalesced
        S._cache = {}
        return S

    # ------------------------------------------------------------------ structure
    def indices(self):
        """The (sparse_dim, nnz) int64 index Tensor (no gradient)."""
        return _make_tensor(self._idx, None, False)

    def sparse_dim(self) -> int:
        return int(self._idx.shape[0])

    def dense_dim(self) -> int:
        return len(self._shape) - self.sparse_dim()

    def is_coalesced(self) -> bool:
        """True when the indices are sorted (row-major) and distinct."""
        if self._coalesced is None:
            xp = self.xp
            if self.nnz < 2:
                self._coalesced = True
            else:
                strides = _strides(self._shape[:self.sparse_dim()])
                if strides is None:
                    self._coalesced = False
                else:
                    keys = _linear_keys(xp, self._idx, self._shape[:self.sparse_dim()])
                    self._coalesced = bool(xp.all(keys[1:] > keys[:-1]))
        return self._coalesced

    def _with_values(self, values):
        S = COOTensor._make(self._idx, values, self._shape, self._coalesced)
        S._cache = self._cache  # same indices, same derived structure
        return S

    def _coalesced_for_values(self):
        return self.coalesce()

    def _to_device(self, device):
        return COOTensor._make(to_device(self._idx, device), self._values.to(device),
                               self._shape, self._coalesced)

    # ------------------------------------------------------------------ conversions
    def coalesce(self):
        r"""The same tensor with duplicate indices summed and entries sorted row-major.

        Differentiable: the new values are a scatter-add of the old ones (VJP: a gather),
        so gradients reach the values this tensor was built from. Returns ``self`` when
        already coalesced."""
        if self.is_coalesced():
            return self
        sparse_shape = self._shape[:self.sparse_dim()]
        structure = self._cache.get("coalesce")
        if structure is None:
            structure = self._cache["coalesce"] = _coalesce_structure(self._idx, sparse_shape)
        new, inverse, pattern = structure
        n = int(new.shape[1])
        values = IndexAdd((inverse,), (n,) + tuple(self._values.shape[1:]))(self._values)
        out = COOTensor._make(new, values, self._shape, coalesced=True)
        if pattern is not None:
            out._cache["csr"] = pattern
        return out

    def to_dense(self):
        """The dense tensor (differentiable w.r.t. the values; duplicates add up)."""
        return IndexAdd(tuple(self._idx), self._shape)(self._values)

    def to_sparse_coo(self):
        return self

    def to_sparse(self):
        return self

    def to_sparse_csr(self):
        """The matrix in CSR layout (2-D, no dense dims): coalesced, then compressed.
        Shares the values Tensor when already coalesced."""
        if self.sparse_dim() != 2 or self.dense_dim() != 0:
            raise ValueError(f"to_sparse_csr: CSR needs a 2-D matrix without dense dims, got "
                             f"shape {self._shape} with sparse_dim {self.sparse_dim()}")
        from .csr import CSRTensor

        c = self.coalesce()
        pattern = c._cache.get("csr")
        if pattern is None:
            pattern = c._cache["csr"] = _csr_pattern_of_sorted(self.xp, c._idx, self._shape)
        return CSRTensor(pattern, c._values)

    def t(self):
        """The transpose of a matrix (2 sparse dims, no dense dims); a view on the same
        values (the result is not coalesced: its order is column-major)."""
        if self.ndim < 2:
            return self
        if self.ndim > 2:
            raise ValueError(f"t(): expects a tensor with <= 2 dims, got shape {self._shape}")
        return self.transpose(0, 1)

    def transpose(self, dim0, dim1):
        """Swap two sparse dims (indices swapped) or two dense dims (values transposed)."""
        nd, sd = self.ndim, self.sparse_dim()
        d0, d1 = dim0 % nd, dim1 % nd
        if d0 == d1:
            return self
        shape = list(self._shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        if d0 < sd and d1 < sd:
            idx = self._idx.copy()
            idx[[d0, d1]] = self._idx[[d1, d0]]
            return COOTensor._make(idx, self._values, shape, coalesced=None)
        if d0 >= sd and d1 >= sd:
            values = self._values.transpose(d0 - sd + 1, d1 - sd + 1)
            return COOTensor._make(self._idx, values, shape, self._coalesced)
        raise ValueError(f"transpose: cannot swap a sparse dim with a dense dim "
                         f"(dims {dim0}, {dim1}, sparse_dim {sd})")

    def to_scipy(self):
        """A ``scipy.sparse.coo_array`` (2-D, no dense dims) with a copy of the data."""
        sparse = _import_scipy_sparse("to_scipy()")
        if self.sparse_dim() != 2 or self.dense_dim() != 0:
            raise ValueError(f"to_scipy(): SciPy holds 2-D matrices, got shape {self._shape} "
                             f"with sparse_dim {self.sparse_dim()}")
        idx = to_device(self._idx, "cpu")
        data = to_device(self._values.data, "cpu").copy()
        return sparse.coo_array((data, (idx[0].copy(), idx[1].copy())), shape=self._shape)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False):
        """Sum of all entries (0-d Tensor), or over ``dim`` (an int or tuple): a dense
        Tensor (``torch.sparse.sum`` returns a sparse one while sparse dims remain)."""
        if dim is None:
            return self._values.sum()
        nd, sd = self.ndim, self.sparse_dim()
        dims = sorted({d % nd for d in ((dim,) if isinstance(dim, int) else dim)})
        v = self._values
        dense_dims = tuple(d - sd + 1 for d in dims if d >= sd)
        if dense_dims:
            v = v.sum(dim=dense_dims)
        keep = [d for d in range(sd) if d not in dims]
        dense_shape = tuple(s for d, s in enumerate(self._shape) if d >= sd and d not in dims)
        if keep:
            out_shape = tuple(self._shape[d] for d in keep) + dense_shape
            out = IndexAdd(tuple(self._idx[d] for d in keep), out_shape)(v)
        else:
            out = v.sum(dim=0)
        if keepdim:
            out = out.reshape(tuple(1 if d in dims else s for d, s in enumerate(self._shape)))
        return out

    # ------------------------------------------------------------------ arithmetic
    def _times_dense(self, D):
        """S ∘ D (elementwise, D dense, broadcast to S's shape): values times D at the
        stored positions."""
        if D.shape != self._shape:
            D = D.broadcast_to(self._shape)
        return self._with_values(self._values * D[tuple(self._idx)])

    def __add__(self, other):
        """COO + COO: the entries of both, concatenated (duplicates summed lazily, by
        ``coalesce``); COO + dense: a dense Tensor."""
        if _ops.is_sparse(other):
            if not isinstance(other, COOTensor):
                other = other.to_sparse_coo()
            if other.shape != self._shape or other.sparse_dim() != self.sparse_dim():
                raise ValueError(f"sparse add: shapes {self._shape} (sparse_dim "
                                 f"{self.sparse_dim()}) and {other.shape} (sparse_dim "
                                 f"{other.sparse_dim()}) differ")
            if other.device != self.device:
                raise RuntimeError(f"sparse add: tensors on {self.device} and {other.device}")
            a, b = self._values, other._values
            dtype = np.result_type(a.dtype, b.dtype)
            a, b = a.to(dtype=dtype), b.to(dtype=dtype)
            if self.nnz == 0:
                return COOTensor._make(other._idx, b, self._shape, other._coalesced)
            if other.nnz == 0:
                return COOTensor._make(self._idx, a, self._shape, self._coalesced)
            idx = self.xp.concatenate([self._idx, other._idx], axis=1)
            return COOTensor._make(idx, cat([a, b], 0), self._shape, coalesced=False)
        if isinstance(other, Tensor):
            return self.to_dense() + other
        if _ops._is_scalar(other):
            raise TypeError("sparse + scalar would fill every zero; add to .to_dense() "
                            "instead")
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __repr__(self):
        body = (f"indices={_make_tensor(self._idx, None, False)!r},\n"
                f"       values={self._values!r},\n"
                f"       size={self._shape}, nnz={self.nnz}, layout=sparse_coo")
        if self.device != "cpu":
            body += f", device='{self.device}'"
        return f"tensor({body})"


# ------------------------------------------------------------------------- construction


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      requires_grad=False, is_coalesced=None, check_invariants=True):
    r"""A COO tensor from its indices and values (PyTorch's ``torch.sparse_coo_tensor``).

    Parameters
    ----------
    indices : integer array-like (sparse_dim, nnz). Stored as int64.
    values : Tensor or array-like (nnz, *dense_shape). A Tensor is used as is, so it
        receives the gradients, unless ``dtype``/``device`` ask for a conversion.
    size : tuple, optional. Default: max(indices) + 1 per sparse dim, then the dense
        shape of the values.
    dtype, device, requires_grad : as for ``mg.tensor``; apply to the values.
    is_coalesced : bool, optional. Declare the indices sorted and distinct (verified when
        ``check_invariants``); by default minigrad finds out when asked.
    check_invariants : validate (default True; PyTorch checks index bounds always and the
        rest on request).

    Raises
    ------
    TypeError for non-integer indices; ValueError for indices that are not 2-D, lengths
    that disagree, a size that does not match the values' dense shape, and indices out of
    range (the message names the dimension, the position and the size).

    Examples
    --------
    >>> import minigrad as mg
    >>> mg.sparse.sparse_coo_tensor([[0, 2]], [1.0, 5.0], (3,)).to_dense()
    tensor([1., 0., 5.])
    """
    what = "sparse_coo_tensor"
    v = _values_tensor(values, dtype, device, requires_grad, what)
    idx = _index_array(indices, "indices", v.device)
    if idx.ndim == 1 and idx.shape[0] == 0:
        idx = idx.reshape(1, 0) if v.shape[0] == 0 else idx
    if idx.ndim != 2:
        raise ValueError(f"{what}: indices must be 2-D (sparse_dim, nnz), got shape "
                         f"{tuple(idx.shape)}")
    sd, nnz = int(idx.shape[0]), int(idx.shape[1])
    if v.shape[0] != nnz:
        raise ValueError(f"{what}: indices hold {nnz} entries (columns) but values has "
                         f"{v.shape[0]} (its first dim)")
    idx = idx.astype(v.xp.int64, copy=False)
    dense_shape = tuple(v.shape[1:])
    if size is None:
        if nnz:
            sparse_shape = tuple(int(m) + 1 for m in idx.max(axis=1).tolist())
        else:
            sparse_shape = (0,) * sd
        size = sparse_shape + dense_shape
    size = _shape_args(tuple(size) if hasattr(size, "__iter__") else (size,), what)
    if min(size, default=0) < 0:
        raise ValueError(f"{what}: size {size} has a negative dimension")
    if len(size) != sd + len(dense_shape):
        raise ValueError(f"{what}: size {size} has {len(size)} dims, but indices give "
                         f"{sd} sparse dims and values {len(dense_shape)} dense dims "
                         f"(shape {tuple(v.shape)})")
    if size[sd:] != dense_shape:
        raise ValueError(f"{what}: the dense dims of size {size[sd:]} do not match the "
                         f"values' trailing shape {dense_shape}")
    if check_invariants:
        for d in range(sd):
            _check_range(idx[d], size[d], f"indices[{d}]")
    S = COOTensor._make(idx, v, size, coalesced=None)
    if is_coalesced is not None:
        if check_invariants and bool(is_coalesced) and not S.is_coalesced():
            raise ValueError(f"{what}: is_coalesced=True but the indices are not sorted "
                             "and distinct")
        S._coalesced = bool(is_coalesced) and (S._coalesced is not False)
    return S


def to_sparse(t, sparse_dim=None):
    """A dense Tensor as COO (PyTorch's ``Tensor.to_sparse(sparse_dim)``).

    With ``sparse_dim`` < t.ndim the result is hybrid: an entry for every index of the
    first ``sparse_dim`` dims whose block of trailing dims is not all zero. The values are
    gathered from ``t`` differentiably (gradients flow back to ``t`` at those positions).
    """
    if _ops.is_sparse(t):
        return t.to_sparse_coo()
    if not isinstance(t, Tensor):
        t = Tensor(t)
    if t.ndim == 0:
        raise ValueError("to_sparse: a 0-d tensor has no sparse layout")
    sd = t.ndim if sparse_dim is None else int(sparse_dim)
    if not 1 <= sd <= t.ndim:
        raise ValueError(f"to_sparse: sparse_dim must be in 1..{t.ndim}, got {sparse_dim}")
    xp = t.xp
    mask = t.data != 0
    if sd < t.ndim:
        mask = mask.any(axis=tuple(range(sd, t.ndim)))
    nz = xp.nonzero(mask)
    idx = xp.stack([a.astype(xp.int64, copy=False) for a in nz]) if nz[0].shape[0] else \
        xp.zeros((sd, 0), dtype=xp.int64)
    values = t[tuple(idx)]
    return COOTensor._make(idx, values, t.shape, coalesced=True)


def to_sparse_coo(t):
    """A dense Tensor in COO layout, every dim sparse (PyTorch's ``Tensor.to_sparse_coo()``).

    Examples
    --------
    >>> import minigrad as mg
    >>> S = mg.sparse.to_sparse_coo(mg.tensor([[0.0, 2.0], [3.0, 0.0]]))
    >>> S.indices()
    tensor([[0, 1],
            [1, 0]])
    >>> S.values()
    tensor([2., 3.])
    """
    return to_sparse(t)


def from_scipy(matrix, *, device=None, requires_grad=False):
    """A minigrad sparse tensor from a ``scipy.sparse`` matrix or array (data copied).

    CSR input gives a :class:`CSRTensor` (its index dtype kept); any other format a
    :class:`COOTensor` (duplicates kept, as in the SciPy object).
    """
    sparse = _import_scipy_sparse("from_scipy()")
    if not sparse.issparse(matrix):
        raise TypeError(f"from_scipy: expects a scipy.sparse matrix or array, got "
                        f"{type(matrix).__name__}")
    if matrix.format == "csr":
        from .csr import sparse_csr_tensor

        crow = np.array(matrix.indptr)
        col = np.array(matrix.indices, dtype=crow.dtype)
        return sparse_csr_tensor(crow, col, np.array(matrix.data), matrix.shape,
                                 device=device, requires_grad=requires_grad)
    coo = matrix.tocoo()
    idx = np.stack([np.asarray(coo.row, dtype=np.int64), np.asarray(coo.col, dtype=np.int64)])
    S = sparse_coo_tensor(idx, np.array(coo.data), coo.shape, device=device,
                          requires_grad=requires_grad)
    return S
