r"""Products of sparse and dense matrices, as autograd Functions, and what the sparse
tensor classes share.

The two Functions, and their derivative rules (A is a CSR matrix whose *pattern* -- the
positions (row_k, col_k) of its stored entries -- is fixed and whose stored values v are
an input like any other):

=====================================  ==================================================
``SpMM(pattern)(v, B)``                Y = A(v) B        (B is (n, N); a vector (n,): SpMV)
                                       gv = SDDMM(gY, B),   gB = A(v)ᵀ gY
``SDDMM(pattern)(P, Q)``               w_k = Σ_j P[row_k, j] Q[col_k, j]  ("sampled" P Qᵀ)
                                       gP = A(gw) Q,        gQ = A(gw)ᵀ P
=====================================  ==================================================

Each backward is written with the other Function (and ``values[perm]`` for the transpose,
a differentiable gather), so it is differentiable again: ``gradgradcheck`` holds with
respect to the values and the dense operand. The gradient of the values is the dense
product ``gY Bᵀ`` *sampled at the pattern*: one number per stored entry, so it keeps the
sparsity pattern (entries that are not stored get no gradient, as in PyTorch).

Where the arithmetic runs: on "cpu", float32/float64, the Numba kernels of
``minigrad.kernels.sparse_cpu`` (imported on the first product); on "cuda", float32/float64,
``minigrad.kernels.spmv_csr``/``spmm_csr`` (our CUDA kernels, or cuSPARSE inside
``mg.kernels.use_vendor()``); anything else (other dtypes, huge CUDA matrices whose indices
do not fit int32) the pure-``xp`` references :func:`spmm_reference` and
:func:`sddmm_reference`, which are also what the kernels are tested against.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes as _dt
from .._backend import get_array_module
from .._backend import scatter_add as _scatter_add
from .._conversions import DeviceDtypeShorthands
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["SpMM", "SDDMM", "mm", "spmm_reference", "sddmm_reference", "is_sparse"]

_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_INT32_MAX = 2**31 - 1


def is_sparse(x) -> bool:
    """True for minigrad's sparse tensors (COO, CSR, 2:4), False for everything else."""
    return bool(getattr(x, "is_sparse", False))


# --------------------------------------------------------------------------- references


def row_of_nonzeros(xp, crow, nnz):
    """The row index of every stored entry of a CSR matrix (COO rows), int64."""
    n_rows = crow.shape[0] - 1
    if xp is np:
        return np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(crow))
    return xp.searchsorted(crow[1:], xp.arange(nnz), side="right").astype(xp.int64)


def spmm_reference(xp, crow, col, data, B):
    r"""Y = A B (or A x for 1-D B) for CSR A, in plain ``xp``: Y[row_k] += data_k B[col_k].

    The specification the Numba and CUDA kernels are tested against."""
    row = row_of_nonzeros(xp, crow, col.shape[0])
    n_rows = crow.shape[0] - 1
    dtype = np.result_type(data.dtype, B.dtype)
    prod = (data[:, None] if B.ndim == 2 else data) * B[col]
    Y = xp.zeros((n_rows,) + tuple(B.shape[1:]), dtype=dtype)
    return _scatter_add(Y, row, prod.astype(dtype, copy=False))


def sddmm_reference(xp, row, col, P, Q):
    r"""w_k = Σ_j P[row_k, j] Q[col_k, j] (w_k = P[row_k] Q[col_k] for vectors), in ``xp``."""
    if P.ndim == 1:
        return P[row] * Q[col]
    return (P[row] * Q[col]).sum(axis=-1)


# ------------------------------------------------------------------------------ dispatch


def _cpu_kernels():
    from ..kernels import sparse_cpu  # Numba loads here, on the first product

    return sparse_cpu


def _spmm_forward(xp, pattern, data, B):
    """A(data) @ B on arrays, on the fastest path available for this device and dtype."""
    crow, col = pattern.crow, pattern.col
    if data.dtype in _KERNEL_DTYPES and B.dtype == data.dtype:
        if xp is np:
            k = _cpu_kernels()
            f = k.spmv_csr if B.ndim == 1 else k.spmm_csr
            return f(crow, col, data, B)
        arrays = pattern.int32_arrays()
        if arrays is not None:
            from .. import kernels

            data, B = xp.ascontiguousarray(data), xp.ascontiguousarray(B)
            if B.ndim == 1:
                return kernels.spmv_csr(*arrays, data, B, plan=pattern.spmv_plan(data.dtype))
            return kernels.spmm_csr(*arrays, data, B)
    return spmm_reference(xp, crow, col, data, B)


def _sddmm_forward(xp, pattern, P, Q):
    if xp is np and P.dtype in _KERNEL_DTYPES and Q.dtype == P.dtype:
        vec = P.ndim == 1
        P2 = P.reshape(-1, 1) if vec else P
        Q2 = Q.reshape(-1, 1) if vec else Q
        return _cpu_kernels().sddmm_csr(pattern.crow, pattern.col, P2, Q2)
    return sddmm_reference(xp, pattern.row(), pattern.col, P, Q)


# ----------------------------------------------------------------------------- Functions


class SpMM(Function):
    r"""Y = A(v) B for the CSR pattern ``pattern`` filled with the values v; B is (n, N) or
    a vector (n,).

    VJP: gv_k = Σ_j gY[row_k, j] B[col_k, j] = SDDMM(gY, B)_k  (gY Bᵀ at the pattern);
    gB = A(v)ᵀ gY = SpMM(patternᵀ)(v[perm], gY)."""

    def __init__(self, pattern):
        self.pattern = pattern

    def forward(self, xp, v, B):
        return _spmm_forward(xp, self.pattern, v, B)

    def backward(self, gY):
        v, B = self.inputs
        gv = SDDMM(self.pattern)(gY, B) if self.needs_input_grad[0] else None
        gB = None
        if self.needs_input_grad[1]:
            pattern_t, perm = self.pattern.transpose()
            gB = SpMM(pattern_t)(v[perm], gY)
        return gv, gB


class SDDMM(Function):
    r"""w_k = Σ_j P[row_k, j] Q[col_k, j] at the stored positions k of ``pattern``
    (w_k = P[row_k] Q[col_k] when P, Q are vectors): the product P Qᵀ sampled at the pattern.

    VJP: gP = A(gw) Q = SpMM(pattern)(gw, Q);  gQ = A(gw)ᵀ P = SpMM(patternᵀ)(gw[perm], P)."""

    def __init__(self, pattern):
        self.pattern = pattern

    def forward(self, xp, P, Q):
        return _sddmm_forward(xp, self.pattern, P, Q)

    def backward(self, gw):
        P, Q = self.inputs
        gP = SpMM(self.pattern)(gw, Q) if self.needs_input_grad[0] else None
        gQ = None
        if self.needs_input_grad[1]:
            pattern_t, perm = self.pattern.transpose()
            gQ = SpMM(pattern_t)(gw[perm], P)
        return gP, gQ


# ----------------------------------------------------------------------------- products


def _as_dense(x, what):
    if isinstance(x, Tensor):
        return x
    if is_sparse(x):
        raise TypeError(f"{what}: expected a dense operand, got {type(x).__name__}")
    return Tensor(x)


def _promote(S, D):
    """Cast the sparse values and the dense operand to their common dtype (as dense
    matmul does), differentiably."""
    dtype = _dt.result_type(S.values().data, D.data)  # PyTorch's rule: int64 @ f32 is f32
    if not _dt.is_floating(dtype) and dtype.kind not in "iu":
        raise TypeError(f"mm: cannot multiply {S.dtype} by {D.dtype}")
    if S.dtype != dtype:
        S = S.to(dtype=dtype)
    if D.dtype != dtype:
        D = D.to(dtype=dtype)
    return S, D


def _sparse_times_dense(S, D):
    """S @ D for a CSR/COO S (2-D, no dense dims) and a dense 1-D or 2-D Tensor D."""
    if S.device != D.device:
        raise RuntimeError(f"mm: the sparse operand is on {S.device} and the dense one on "
                           f"{D.device}; move one with .to(device)")
    if D.ndim not in (1, 2):
        raise ValueError(f"mm: the dense operand must be 1-D or 2-D, got shape {D.shape}")
    if S.shape[1] != D.shape[0]:
        raise ValueError(f"mm: cannot multiply sparse {S.shape} by dense {D.shape}: inner "
                         f"dimensions {S.shape[1]} and {D.shape[0]} differ")
    S = S.to_sparse_csr()
    S, D = _promote(S, D)
    return SpMM(S._pattern)(S.values(), D)


def _dense_times_sparse(D, S):
    """D @ S = (Sᵀ Dᵀ)ᵀ; a vector d @ S = Sᵀ d."""
    if D.ndim not in (1, 2):
        raise ValueError(f"mm: the dense operand must be 1-D or 2-D, got shape {D.shape}")
    if D.shape[-1] != S.shape[0]:
        raise ValueError(f"mm: cannot multiply dense {D.shape} by sparse {S.shape}: inner "
                         f"dimensions {D.shape[-1]} and {S.shape[0]} differ")
    St = S.to_sparse_csr().t()
    if D.ndim == 1:
        return _sparse_times_dense(St, D)
    return _sparse_times_dense(St, D.T).T


def _check_matrix(S):
    if S.ndim != 2 or S.dense_dim() != 0:
        raise ValueError(f"mm: the sparse operand must be a 2-D matrix without dense "
                         f"dimensions, got shape {S.shape} with {S.dense_dim()} dense dims")


def mm(a, b):
    r"""Matrix product with a sparse operand: ``S @ D`` (SpMM), ``S @ v`` (SpMV), ``D @ S``.

    Differentiable with respect to the stored values of the sparse operand (the gradient
    keeps its pattern) and to the dense operand. A COO operand is converted to CSR first
    (duplicates summed, differentiably). dtypes are promoted as in dense matmul.

    Parameters
    ----------
    a, b : COOTensor, CSRTensor, a 2:4 ``SparseSemiStructuredTensor``, or a dense Tensor
        (1-D or 2-D); exactly one of them sparse.

    Returns
    -------
    Tensor (dense): (m, N) for S (m, n) @ D (n, N); (m,) for S @ v.

    Examples
    --------
    >>> import minigrad as mg
    >>> S = mg.sparse.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
    >>> mg.sparse.mm(S, mg.tensor([1.0, 10.0]))
    tensor([20.,  3.])
    """
    from .coo import COOTensor
    from .csr import CSRTensor

    ours = (COOTensor, CSRTensor)
    if isinstance(a, ours):
        if is_sparse(b):
            raise TypeError("mm: sparse @ sparse is not supported; densify one operand "
                            "with .to_dense()")
        _check_matrix(a)
        return _sparse_times_dense(a, _as_dense(b, "mm"))
    if isinstance(b, ours):
        _check_matrix(b)
        a = _as_dense(a, "mm")
        if a.device != b.device:
            raise RuntimeError(f"mm: the dense operand is on {a.device} and the sparse one "
                               f"on {b.device}; move one with .to(device)")
        return _dense_times_sparse(a, b)
    if is_sparse(a):  # another sparse format (2:4) brings its own product
        return a @ b
    if is_sparse(b):
        return b.__rmatmul__(a)
    raise TypeError(f"mm: expects a sparse operand, got {type(a).__name__} and "
                    f"{type(b).__name__}; use mg.matmul for dense matrices")


# ------------------------------------------------------------------- shared tensor methods


def _is_scalar(x) -> bool:
    if isinstance(x, Tensor):
        return x.ndim == 0
    return isinstance(x, numbers.Number) or (isinstance(x, np.ndarray) and x.ndim == 0)


class SparseTensorBase(DeviceDtypeShorthands):
    """What COO and CSR tensors share: attributes, device/dtype moves, value-wise math.

    Subclasses hold their index arrays (raw, never differentiated) and the values Tensor
    ``_values`` (the one that receives gradients), and implement ``_with_values(values)``
    (same pattern, new values), ``_coalesced_for_values()`` (an equivalent tensor without
    duplicate entries, for nonlinear value-wise functions), ``_to_device(device)``,
    ``to_dense()``, ``to_sparse_csr()``, ``t()``, ``sum()``."""

    __slots__ = ()
    is_sparse = True
    __array_ufunc__ = None  # NumPy scalars defer to our reflected operators
    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"cannot convert a {type(self).__name__} to a dense NumPy array "
                        "implicitly; use .to_dense().numpy() (or .to_scipy())")

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    def size(self, dim=None):
        return self._shape if dim is None else self._shape[dim]

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def device(self) -> str:
        return self._values.device

    @property
    def xp(self):
        return get_array_module(self._values.data)

    @property
    def nnz(self) -> int:
        """The number of stored entries (duplicates counted, as in PyTorch's ``_nnz()``)."""
        return int(self._values.shape[0])

    def _nnz(self) -> int:
        return self.nnz

    @property
    def requires_grad(self) -> bool:
        return self._values.requires_grad

    def requires_grad_(self, requires_grad=True):
        self._values.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._values.is_leaf

    def values(self):
        """The stored values: the Tensor that receives gradients (for a tensor built with
        ``sparse_coo_tensor``/``sparse_csr_tensor`` it is the ``values`` passed in)."""
        return self._values

    @property
    def data(self):
        """The same sparse tensor, cut from the graph (PyTorch's ``.data``): ``self`` when
        it has no graph (a ``.grad``), else a copy sharing indices and value storage."""
        if not self._values.requires_grad:
            return self
        return self._with_values(self._values.detach())

    def detach(self):
        return self._with_values(self._values.detach())

    def numel(self) -> int:
        n = 1
        for s in self._shape:
            n *= s
        return n

    def zero_(self):
        """Set the stored values to 0 (the pattern stays), as ``grad.zero_()``: in place
        when the values array is writable, else (a gradient that is a broadcast view) by
        giving this tensor fresh zero values."""
        v = self._values.data
        if getattr(v, "flags", None) is not None and v.flags.writeable:
            v[...] = 0
        else:
            self._values = Tensor(get_array_module(v).zeros(v.shape, dtype=v.dtype))
        return self

    def __setitem__(self, index, value):
        # Only ``S[...] = 0`` (what Optimizer.zero_grad(set_to_none=False) does to .grad.data).
        if index is Ellipsis and _is_scalar(value) and float(value) == 0:
            self.zero_()
            return
        raise TypeError(f"{type(self).__name__} does not support item assignment "
                        "(only S[...] = 0, which zeroes the stored values)")

    # ------------------------------------------------------------------ moves
    def to(self, device=None, dtype=None):
        """The tensor on ``device`` with value dtype ``dtype`` (values differentiable)."""
        out = self
        if device is not None:
            from .._backend import normalize_device

            if normalize_device(device) != self.device:
                out = out._to_device(normalize_device(device))
        if dtype is not None and _dt.as_dtype(dtype) != out.dtype:
            out = out._with_values(out._values.to(dtype=dtype))
        return out

    def type_as(self, other):
        return self.to(dtype=other.dtype)

    # ------------------------------------------------------------------ value-wise math
    def _map_values(self, fn, linear=False):
        """Apply ``fn`` (with fn(0) = 0) to the stored values; the pattern stays. A
        nonlinear fn needs the duplicates summed first: f(a) + f(b) != f(a + b)."""
        base = self if linear else self._coalesced_for_values()
        return base._with_values(fn(base._values))

    def __mul__(self, other):
        if _is_scalar(other):
            return self._map_values(lambda v: v * other, linear=True)
        if isinstance(other, Tensor):
            return self._times_dense(other)
        if is_sparse(other):
            raise TypeError("sparse * sparse is not supported; densify one operand")
        return NotImplemented

    def __rmul__(self, other):
        return self.__mul__(other)

    def mul(self, other):
        return self * other

    def __truediv__(self, other):
        if _is_scalar(other):
            return self._map_values(lambda v: v / other, linear=True)
        raise TypeError("sparse / x: only division by a scalar keeps the sparsity "
                        "(dividing by a tensor would fill the zeros with 0/x or nan)")

    def div(self, other):
        return self / other

    def __neg__(self):
        return self._map_values(lambda v: -v, linear=True)

    def neg(self):
        return -self

    def __pos__(self):
        return self

    def abs(self):
        return self._map_values(lambda v: v.abs())

    __abs__ = abs

    def relu(self):
        return self._map_values(lambda v: v.relu())

    def sqrt(self):
        return self._map_values(lambda v: v.sqrt())

    def square(self):
        return self._map_values(lambda v: v * v)

    def sin(self):
        return self._map_values(lambda v: v.sin())

    def tanh(self):
        return self._map_values(lambda v: v.tanh())

    def sign(self):
        return self._map_values(lambda v: v.sign())

    def pow(self, exponent):
        if not (isinstance(exponent, numbers.Real) and exponent > 0):
            raise ValueError(f"sparse pow: the exponent must be a positive number so that "
                             f"0 ** p = 0 keeps the sparsity, got {exponent!r}")
        return self._map_values(lambda v: v**exponent)

    __pow__ = pow

    # ------------------------------------------------------------------ products
    def __matmul__(self, other):
        return mm(self, other)

    def __rmatmul__(self, other):
        return mm(other, self)

    def matmul(self, other):
        return mm(self, other)

    def mm(self, other):
        return mm(self, other)

    @property
    def T(self):
        return self.t()

    @property
    def mT(self):
        return self.t()
