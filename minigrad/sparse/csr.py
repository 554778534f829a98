r"""CSR (compressed sparse row) matrices: ``CSRTensor`` and ``sparse_csr_tensor``.

Layout (PyTorch's and SciPy's): an m × n matrix with nnz stored entries is three arrays,

* ``crow_indices`` (m + 1,): row i's entries are at positions ``crow[i] .. crow[i+1]-1``,
  so crow[0] = 0, crow[m] = nnz and crow never decreases;
* ``col_indices`` (nnz,): the column of each stored entry;
* ``values`` (nnz,): the stored values, a Tensor: the one that receives gradients.

Example: [[1, 0, 2], [0, 0, 0], [0, 3, 0]] has crow = [0, 2, 2, 3], col = [0, 2, 1],
values = [1, 2, 3] (row 1 is empty: crow[1] = crow[2]).

The index arrays (the *pattern*) are held by a :class:`CSRPattern`, immutable and shared by
every tensor and every product node with that pattern; it computes once, on demand, what
the products need: the row of each entry, the transposed pattern with its permutation, the
int32 copies the CUDA kernels take.

Columns within a row need not be sorted or distinct (PyTorch does not check them either);
``to_dense`` and products sum duplicates.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .._backend import device_of, get_array_module, to_device
from ..ops.shape import IndexAdd
from ..tensor import Tensor, _make_tensor, _shape_args
from . import ops as _ops

__all__ = ["CSRPattern", "CSRTensor", "sparse_csr_tensor", "to_sparse_csr"]


class CSRPattern:
    """The structure of a CSR matrix without its values: ``crow``, ``col`` (integer arrays
    on one device) and ``shape``. Never modified; caches derived arrays."""

    __slots__ = ("crow", "col", "shape", "_cache")

    def __init__(self, crow, col, shape):
        self.crow = crow
        self.col = col
        self.shape = (int(shape[0]), int(shape[1]))
        self._cache = {}

    @property
    def xp(self):
        return get_array_module(self.col)

    @property
    def nnz(self) -> int:
        return int(self.col.shape[0])

    def row(self):
        """Row index of every stored entry (int64), computed once."""
        r = self._cache.get("row")
        if r is None:
            r = self._cache["row"] = _ops.row_of_nonzeros(self.xp, self.crow, self.nnz)
        return r

    def transpose(self):
        """``(pattern_t, perm)``: the pattern of Aᵀ and the permutation that orders A's
        values for it (values of Aᵀ = values[perm]). Computed once; the transposed pattern
        knows its own transpose (this one, with the inverse permutation)."""
        t = self._cache.get("T")
        if t is None:
            xp = self.xp
            m, n = self.shape
            if xp is np:
                from ..kernels import sparse_cpu

                crow_t, col_t, perm = sparse_cpu.csr_transpose(self.crow, self.col, n)
            else:
                row = self.row()
                key = self.col.astype(xp.int64) * max(m, 1) + row
                perm = xp.argsort(key)
                counts = xp.bincount(self.col, minlength=n) if self.nnz else xp.zeros(n, int)
                crow_t = xp.zeros(n + 1, dtype=xp.int64)
                xp.cumsum(counts, out=crow_t[1:])
                col_t = row[perm]
            dt = self.col.dtype
            pattern_t = CSRPattern(crow_t.astype(dt, copy=False), col_t.astype(dt, copy=False),
                                   (n, m))
            inverse = xp.empty_like(perm)
            inverse[perm] = xp.arange(perm.shape[0], dtype=perm.dtype)
            pattern_t._cache["T"] = (self, inverse)
            pattern_t._cache["canonical"] = True  # the counting sort leaves rows increasing
            t = self._cache["T"] = (pattern_t, perm)
        return t

    def is_canonical(self) -> bool:
        """True when the columns of every row are strictly increasing (sorted, no
        duplicates): the form ``coalesce`` produces."""
        c = self._cache.get("canonical")
        if c is None:
            xp = self.xp
            if self.nnz < 2:
                c = True
            else:
                increasing = self.col[1:] > self.col[:-1]
                row = self.row()
                new_row = row[1:] != row[:-1]
                c = bool(xp.all(increasing | new_row))
            self._cache["canonical"] = c
        return c

    def int32_arrays(self):
        """``(crow, col)`` as int32 (what the CUDA kernels take), or None when the sizes do
        not fit in int32. Copied once."""
        if "int32" not in self._cache:
            m, n = self.shape
            if max(m + self.nnz, n) >= 2**31 - 1:
                self._cache["int32"] = None
            else:
                xp = self.xp
                self._cache["int32"] = (xp.ascontiguousarray(self.crow, dtype=xp.int32),
                                        xp.ascontiguousarray(self.col, dtype=xp.int32))
        return self._cache["int32"]

    def spmv_plan(self, dtype):
        """``kernels.spmv_plan`` of :meth:`int32_arrays` for values of ``dtype`` (CUDA): the
        kernel for A x and what it needs from the row pointers, worked out on the first
        product and kept, so that later ones launch only their kernels and read nothing
        back. None when the sizes do not fit in int32."""
        key = ("spmv_plan", np.dtype(dtype).name)
        if key not in self._cache:
            arrays = self.int32_arrays()
            plan = None
            if arrays is not None:
                from ..kernels import spmv_plan

                plan = spmv_plan(*arrays, dtype)
            self._cache[key] = plan
        return self._cache[key]

    def to(self, device):
        if device_of(self.col) == device:
            return self
        return CSRPattern(to_device(self.crow, device), to_device(self.col, device),
                          self.shape)


class CSRTensor(_ops.SparseTensorBase):
    """A 2-D sparse matrix in CSR layout. Build one with :func:`sparse_csr_tensor`,
    :func:`to_sparse_csr` or ``COOTensor.to_sparse_csr()``.

    The values Tensor is shared, not copied: gradients of everything computed from this
    matrix arrive in ``values().grad`` (for a leaf) or flow on through it.

    Examples
    --------
    >>> import minigrad as mg
    >>> v = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> A = mg.sparse.sparse_csr_tensor([0, 2, 2, 3], [0, 2, 1], v, (3, 3))
    >>> A.to_dense()
    tensor([[1., 0., 2.],
            [0., 0., 0.],
            [0., 3., 0.]], grad_fn=<IndexAdd backward>)
    >>> (A @ mg.tensor([1.0, 1.0, 1.0])).sum().backward()
    >>> v.grad
    tensor([1., 1., 1.])
    """

    __slots__ = ("_pattern", "_values", "_shape", "__weakref__")
    layout = "sparse_csr"

    def __init__(self, pattern, values):
        """Internal: use :func:`sparse_csr_tensor` (which validates)."""
        self._pattern = pattern
        self._values = values
        self._shape = pattern.shape

    # ------------------------------------------------------------------ structure
    def crow_indices(self):
        return _make_tensor(self._pattern.crow, None, False)

    def col_indices(self):
        return _make_tensor(self._pattern.col, None, False)

    def sparse_dim(self) -> int:
        return 2

    def dense_dim(self) -> int:
        return 0

    def is_coalesced(self) -> bool:
        return self._pattern.is_canonical()

    def _with_values(self, values):
        return CSRTensor(self._pattern, values)

    def _coalesced_for_values(self):
        return self if self._pattern.is_canonical() else self.to_sparse_coo().to_sparse_csr()

    def _to_device(self, device):
        return CSRTensor(self._pattern.to(device), self._values.to(device))

    # ------------------------------------------------------------------ conversions
    def to_dense(self):
        """The dense matrix (differentiable w.r.t. the values; duplicates add up)."""
        index = (self._pattern.row(), self._pattern.col)
        return IndexAdd(index, self._shape)(self._values)

    def to_sparse_coo(self):
        """The same matrix in COO layout, sharing the values Tensor."""
        from .coo import COOTensor

        xp = self._pattern.xp
        indices = xp.stack([self._pattern.row(), self._pattern.col.astype(xp.int64)])
        return COOTensor._make(indices, self._values, self._shape,
                               coalesced=self._pattern.is_canonical())

    def to_sparse(self):
        return self.to_sparse_coo()

    def to_sparse_csr(self):
        return self

    def coalesce(self):
        """CSR with sorted, distinct columns in every row (duplicates summed)."""
        return self if self._pattern.is_canonical() else self.to_sparse_coo().to_sparse_csr()

    def t(self):
        """Aᵀ in CSR: the transposed pattern and the values permuted (differentiably)."""
        pattern_t, perm = self._pattern.transpose()
        return CSRTensor(pattern_t, self._values[perm])

    def transpose(self, dim0, dim1):
        if {dim0 % 2, dim1 % 2} == {0, 1}:
            return self.t()
        if dim0 % 2 == dim1 % 2:
            return self
        raise ValueError(f"transpose: dims ({dim0}, {dim1}) out of range for a 2-D matrix")

    def to_scipy(self):
        """A ``scipy.sparse.csr_array`` with a copy of the data (on the CPU)."""
        sparse = _import_scipy_sparse("to_scipy()")
        data = to_device(self._values.data, "cpu").copy()
        return sparse.csr_array(
            (data, to_device(self._pattern.col, "cpu").copy(),
             to_device(self._pattern.crow, "cpu").copy()), shape=self._shape)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False):
        """Sum of all entries (0-d Tensor) or along ``dim`` (a dense Tensor).

        minigrad returns a dense Tensor for ``dim`` given; ``torch.sparse.sum`` returns a
        sparse one."""
        if dim is None:
            return self._values.sum()
        dims = sorted({d % 2 for d in ((dim,) if isinstance(dim, int) else dim)})
        if dims == [0, 1]:
            out = self._values.sum()
            return out.reshape(1, 1) if keepdim else out
        index = self._pattern.row() if dims == [1] else self._pattern.col
        n = self._shape[0] if dims == [1] else self._shape[1]
        out = IndexAdd((index,), (n,))(self._values)
        if keepdim:
            out = out.unsqueeze(dims[0])
        return out

    def _times_dense(self, D):
        """S ∘ D (elementwise, D dense of S's shape): the values times D at the pattern."""
        if D.shape != self._shape:
            D = D.broadcast_to(self._shape)
        return CSRTensor(self._pattern, self._values * D[self._pattern.row(), self._pattern.col])

    def __add__(self, other):
        if isinstance(other, CSRTensor) or _ops.is_sparse(other):
            return (self.to_sparse_coo() + other).to_sparse_csr()
        return self.to_sparse_coo() + other

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __repr__(self):
        p = self._pattern
        body = (f"crow_indices={_make_tensor(p.crow, None, False)!r},\n"
                f"       col_indices={_make_tensor(p.col, None, False)!r},\n"
                f"       values={self._values!r},\n"
                f"       size={self._shape}, nnz={self.nnz}, layout=sparse_csr")
        if self.device != "cpu":
            body += f", device='{self.device}'"
        return f"tensor({body})"


# --------------------------------------------------------------------------- validation


def _import_scipy_sparse(what):
    try:
        import scipy.sparse as sparse
    except ImportError:
        raise ImportError(f"{what} needs SciPy (pip install scipy); minigrad's sparse "
                          "tensors themselves work without it") from None
    return sparse


def _index_array(x, name, device):
    """An index argument as an integer array on ``device`` (TypeError otherwise)."""
    if isinstance(x, Tensor):
        arr = x.data
    elif hasattr(x, "dtype") and hasattr(x, "shape"):
        arr = x
    else:
        arr = np.asarray(x)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)  # [] is a valid (empty) index list
    if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
        raise TypeError(f"{name} must have an integer dtype (int32 or int64), got {arr.dtype}")
    if device is not None:
        arr = to_device(arr, device)
    return arr


def _values_tensor(values, dtype, device, requires_grad, what):
    """The values as a Tensor: the same object when it already is one and nothing is to
    change (so it receives the gradients), otherwise a differentiable conversion."""
    if isinstance(values, Tensor):
        v = values
        if dtype is not None and _dt.as_dtype(dtype) != v.dtype:
            v = v.to(dtype=dtype)
        if device is not None:
            v = v.to(device)
    else:
        v = Tensor(values, dtype=dtype, device=device)
    if v.ndim == 0:
        raise ValueError(f"{what}: values must have at least one dim (nnz, ...), got a "
                         "0-d tensor")
    if requires_grad:
        v.requires_grad_(True)
    return v


def _first(xp_mask):
    """Position of the first True of a boolean array (host int)."""
    return int(np.argmax(to_device(xp_mask, "cpu")))


def _check_crow(crow, n_rows, nnz):
    if crow.ndim != 1:
        raise ValueError(f"sparse_csr_tensor: crow_indices must be 1-D, got shape {crow.shape}")
    if crow.shape[0] != n_rows + 1:
        raise ValueError(f"sparse_csr_tensor: crow_indices must have n_rows + 1 = {n_rows + 1} "
                         f"entries for size[0] = {n_rows}, got {crow.shape[0]}")
    if int(crow[0]) != 0:
        raise ValueError(f"sparse_csr_tensor: crow_indices[0] must be 0, got {int(crow[0])}")
    if int(crow[-1]) != nnz:
        raise ValueError(f"sparse_csr_tensor: crow_indices[-1] = {int(crow[-1])} must equal "
                         f"nnz = len(col_indices) = {nnz}")
    if n_rows > 0:
        dec = crow[1:] < crow[:-1]
        if bool(dec.any()):
            i = _first(dec)
            raise ValueError(
                f"sparse_csr_tensor: crow_indices must be non-decreasing, but "
                f"crow_indices[{i}] = {int(crow[i])} > crow_indices[{i + 1}] = "
                f"{int(crow[i + 1])}")


def _check_range(idx, size, where):
    """0 <= idx < size, naming the first offending entry."""
    if idx.shape[0] == 0:
        return
    neg = idx < 0
    if bool(neg.any()):
        k = _first(neg)
        raise ValueError(f"{where}[{k}] = {int(idx[k])} is negative (indices must be >= 0)")
    big = idx >= size
    if bool(big.any()):
        k = _first(big)
        raise ValueError(f"{where}[{k}] = {int(idx[k])} is out of range for size {size}")


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None,
                      device=None, requires_grad=False, check_invariants=True):
    r"""A CSR matrix from its three arrays (PyTorch's ``torch.sparse_csr_tensor``).

    Parameters
    ----------
    crow_indices : integer array-like (m + 1,): row starts, 0 first, nnz last, non-decreasing.
    col_indices : integer array-like (nnz,), same dtype as ``crow_indices``.
    values : Tensor or array-like (nnz,). A Tensor is used as is (it receives the
        gradients) unless ``dtype``/``device`` ask for a conversion.
    size : (m, n), optional. Default: (len(crow) - 1, max(col) + 1).
    dtype, device, requires_grad : as for ``mg.tensor``; apply to the values.
    check_invariants : validate the arrays (default). minigrad always checks the layout
        by default; PyTorch does so only when asked.

    Raises
    ------
    TypeError for non-integer or mismatched index dtypes; ValueError for a size that is
    not 2-D, lengths that disagree, a crow_indices that does not start at 0, end at nnz
    or decreases, and column indices out of range (each message names the entry).
    """
    what = "sparse_csr_tensor"
    v = _values_tensor(values, dtype, device, requires_grad, what)
    crow = _index_array(crow_indices, "crow_indices", v.device)
    col = _index_array(col_indices, "col_indices", v.device)
    if crow.dtype != col.dtype:
        raise TypeError(f"{what}: crow_indices ({crow.dtype}) and col_indices ({col.dtype}) "
                        "must have the same dtype")
    if col.ndim != 1:
        raise ValueError(f"{what}: col_indices must be 1-D, got shape {col.shape}")
    if v.ndim != 1:
        raise ValueError(f"{what}: values must be 1-D (nnz,), got shape {v.shape}; "
                         "batched and hybrid CSR tensors are not supported")
    if col.shape[0] != v.shape[0]:
        raise ValueError(f"{what}: col_indices has {col.shape[0]} entries but values has "
                         f"{v.shape[0]}")
    if size is None:
        if crow.ndim != 1 or crow.shape[0] < 1:
            raise ValueError(f"{what}: crow_indices must be 1-D with at least one entry")
        n_cols = int(col.max()) + 1 if col.shape[0] else 0
        size = (crow.shape[0] - 1, n_cols)
    size = _shape_args(tuple(size) if hasattr(size, "__iter__") else (size,), what)
    if len(size) != 2:
        raise ValueError(f"{what}: CSR tensors are 2-D, got size {size}")
    if min(size) < 0:
        raise ValueError(f"{what}: size {size} has a negative dimension")
    if check_invariants:
        _check_crow(crow, size[0], col.shape[0])
        _check_range(col, size[1], "col_indices")
    return CSRTensor(CSRPattern(crow, col, size), v)


def to_sparse_csr(t):
    """A dense 2-D Tensor (or a COO/CSR tensor) in CSR layout.

    The values are gathered from ``t`` differentiably: gradients of the values flow back
    to ``t`` at its nonzero positions. Indices are int64 (PyTorch's default)."""
    if _ops.is_sparse(t):
        return t.to_sparse_csr()
    if not isinstance(t, Tensor):
        t = Tensor(t)
    if t.ndim != 2:
        raise ValueError(f"to_sparse_csr: expects a 2-D tensor, got shape {t.shape}")
    xp = t.xp
    rows, cols = xp.nonzero(t.data)
    rows = rows.astype(xp.int64, copy=False)
    cols = cols.astype(xp.int64, copy=False)
    crow = xp.zeros(t.shape[0] + 1, dtype=xp.int64)
    if rows.shape[0]:
        xp.cumsum(xp.bincount(rows, minlength=t.shape[0]), out=crow[1:])
    pattern = CSRPattern(crow, cols, t.shape)
    pattern._cache["row"] = rows
    pattern._cache["canonical"] = True
    return CSRTensor(pattern, t[rows, cols])
