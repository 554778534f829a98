r"""The rest of ``torch.sparse``'s functional API: ``softmax``, ``log_softmax``, ``sum``,
``addmm``, ``sampled_addmm``, ``spdiags``, ``spsolve``.

Each is differentiable with respect to the stored values of its sparse operands (their
gradient keeps the sparsity pattern) and to its dense operands. The derivative rules
(``g`` is the slice of an entry k along ``dim``: the entries that share all the other
sparse indices; S(·) sums over a slice, ``[g]`` gathers a slice's sum back to its entries):

=====================================  ==================================================
``softmax``: y_k = e^(v_k − m_g)/Σ_g   gv = y ⊙ (gy − S(gy ⊙ y)[g])
``log_softmax``: y_k = v_k − log Σ_g   gv = gy − e^y ⊙ S(gy)[g]
``sampled_addmm``: w = βv + α(P Q)|ₖ   gv = β gw,  gP = α A(gw) Q,  gQ = α Pᵀ A(gw)
                                       (SDDMM's rule: :mod:`minigrad.sparse.ops`)
``spsolve``: X = A(v)⁻¹ B              gB = A⁻ᵀ gX (one more sparse solve, with Aᵀ),
                                       gv = −(gB Xᵀ) at the pattern (Giles 2008)
``spdiags``: values = diagonals[k, j]  a gather: gdiagonals is the scatter of gvalues
=====================================  ==================================================

``addmm`` and ``sum`` are compositions of :func:`~minigrad.sparse.mm`, ``coalesce`` and
dense ops, differentiable through them. Every backward is written in Tensor ops, so
second derivatives work (``gradgradcheck`` holds).

Examples
--------
>>> import minigrad as mg
>>> S = mg.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [1.0, 1.0, 5.0], (2, 3))
>>> mg.sparse.softmax(S, dim=1).to_dense()
tensor([[0.5, 0. , 0.5],
        [0. , 1. , 0. ]])
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes as _dt
from .._backend import scatter_add as _scatter_add
from .._backend import to_device
from ..autograd.function import Function, ieee
from ..ops.linalg import LinAlgError, _lapack, _scaled_sum
from ..ops.reduction import normalize_dims
from ..ops.shape import IndexAdd, _dim
from ..tensor import Tensor
from .coo import COOTensor, _linear_keys
from .csr import CSRTensor, _index_array
from .ops import SDDMM, _as_dense, mm, row_of_nonzeros

__all__ = ["softmax", "log_softmax", "sum", "addmm", "sampled_addmm", "spdiags", "spsolve",
           "SparseSoftmax", "SparseLogSoftmax", "SparseSolve", "spsolve_reference"]

_SOLVE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _sparse_operand(x, op, name="input"):
    """``x`` when it is a COO or CSR tensor; a TypeError naming ``op`` otherwise."""
    if isinstance(x, (COOTensor, CSRTensor)):
        return x
    raise TypeError(f"{op}: {name} must be a sparse COO or CSR tensor, got "
                    f"{type(x).__name__}" + (" (make one with .to_sparse())"
                                             if isinstance(x, Tensor) else ""))


def _sparse_matrix(x, op, name="input"):
    """A COO/CSR operand that is a 2-D matrix without dense dims."""
    x = _sparse_operand(x, op, name)
    if x.ndim != 2 or x.dense_dim() != 0:
        raise ValueError(f"{op}: {name} must be a 2-D sparse matrix without dense dims, got "
                         f"shape {x.shape} with {x.dense_dim()} dense dims")
    return x


def _dense_matrix(x, op, name):
    x = _as_dense(x, op)
    if x.ndim != 2:
        raise ValueError(f"{op}: {name} must be a 2-D dense matrix, got shape {x.shape}")
    return x


def _scale(x, c):
    return x if c == 1 else x * c


# ------------------------------------------------------------------------------ softmax


def _scatter_max(xp, a, index, b):
    """``a[index] = max(a[index], b)`` with repeated indices (unbuffered), in place."""
    if xp is np or hasattr(xp.maximum, "at"):
        xp.maximum.at(a, index, b)
    else:  # pragma: no cover - CuPy without ufunc.at
        import cupyx

        cupyx.scatter_max(a, index, b)
    return a


def _segment_sum(x, group, n_groups):
    """S(x): the sum of the entries (rows of x) of each slice, shape (n_groups, ...)."""
    return IndexAdd((group,), (n_groups,) + tuple(x.shape[1:]))(x)


class SparseSoftmax(Function):
    r"""y_k = e^(v_k − m_g) / Σ_{j ∈ g} e^(v_j − m_g) over the stored entries of each slice g
    (``group[k]`` = g, m_g the slice's maximum: the unstored entries count as −∞).
    Values may be hybrid (nnz, ...): each dense position is its own softmax.

    VJP: gv = y ⊙ (gy − S(gy ⊙ y)[g]), the dense softmax rule restricted to the slice."""

    save_output = True

    def __init__(self, group, n_groups):
        self.group, self.n_groups = group, n_groups

    @ieee  # a slice of −∞ gives nan (−∞ − (−∞)), as in PyTorch's dense softmax
    def forward(self, xp, v):
        m = xp.full((self.n_groups,) + v.shape[1:], -np.inf, dtype=v.dtype)
        _scatter_max(xp, m, self.group, v)
        e = xp.exp(v - m[self.group])
        s = xp.zeros_like(m)
        _scatter_add(s, self.group, e)
        return e / s[self.group]

    def backward(self, gy):
        y = self.saved_output
        return y * (gy - _segment_sum(gy * y, self.group, self.n_groups)[self.group])


class SparseLogSoftmax(Function):
    r"""y_k = v_k − m_g − log Σ_{j ∈ g} e^(v_j − m_g) over the stored entries of each slice.

    VJP: gv = gy − e^y ⊙ S(gy)[g]."""

    save_output = True

    def __init__(self, group, n_groups):
        self.group, self.n_groups = group, n_groups

    @ieee
    def forward(self, xp, v):
        m = xp.full((self.n_groups,) + v.shape[1:], -np.inf, dtype=v.dtype)
        _scatter_max(xp, m, self.group, v)
        z = v - m[self.group]
        s = xp.zeros_like(m)
        _scatter_add(s, self.group, xp.exp(z))
        return z - xp.log(s)[self.group]

    def backward(self, gy):
        y = self.saved_output
        return gy - y.exp() * _segment_sum(gy, self.group, self.n_groups)[self.group]


def _slices(S, d):
    """``(group, n_groups)``: the slice along dim ``d`` of every stored entry of a
    coalesced COO (d a sparse dim) or canonical CSR tensor, numbered 0 .. n_groups − 1."""
    xp = S.xp
    if isinstance(S, CSRTensor):
        p = S._pattern
        return (p.row(), p.shape[0]) if d == 1 else (p.col, p.shape[1])
    others = [e for e in range(S.sparse_dim()) if e != d]
    if not others:
        return xp.zeros(S.nnz, dtype=xp.int64), 1
    if len(others) == 1:
        return S._idx[others[0]], S.shape[others[0]]
    keys = _linear_keys(xp, S._idx[others], [S.shape[e] for e in others])
    unique, group = xp.unique(keys, return_inverse=True)
    return group.reshape(-1), int(unique.shape[0])


def _softmax(op, Fn, dense_fn, input, dim, dtype):
    S = _sparse_operand(input, op)
    d = _dim(dim, S.ndim, op)
    if dtype is not None:
        S = S.to(dtype=dtype)
    if not _dt.is_floating(S.dtype):
        raise TypeError(f"{op}: expects floating-point values, got {S.dtype} (pass dtype=)")
    S = S.coalesce()  # duplicates summed first: softmax is not linear
    if d >= S.sparse_dim():  # a dense dim: every entry is a dense block, softmax within it
        return S._with_values(dense_fn(S.values(), d - S.sparse_dim() + 1))
    group, n_groups = _slices(S, d)
    return S._with_values(Fn(group, n_groups)(S.values()))


def softmax(input, dim, *, dtype=None):
    r"""Softmax along ``dim`` over the *stored* entries (PyTorch's ``torch.sparse.softmax``).

    The entries that are not stored count as −∞: they get probability 0 and stay unstored,
    so the result has the input's sparsity pattern (after ``coalesce``: duplicates are
    summed first). Along a sparse dim each slice of stored entries sums to 1; along a dense
    dim of a hybrid COO tensor it is the dense softmax of each stored block.

    Parameters
    ----------
    input : COOTensor or CSRTensor (PyTorch has COO only; CSR is softmax over the stored
        entries of each row, dim=1, or column, dim=0).
    dim : int.
    dtype : optional; the values are cast to it first.

    Returns
    -------
    A sparse tensor of the input's layout, coalesced. Differentiable with respect to the
    values: gv = y ⊙ (gy − S(gy ⊙ y)[g]) within each slice.

    Examples
    --------
    >>> import minigrad as mg
    >>> S = mg.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [0.0, 0.0, 3.0], (2, 3))
    >>> mg.sparse.softmax(S, 1).values()
    tensor([0.5, 0.5, 1. ])
    >>> mg.sparse.softmax(S, 0).values()  # the columns hold one entry each
    tensor([1., 1., 1.])
    """
    return _softmax("sparse.softmax", SparseSoftmax, lambda v, d: v.softmax(d), input, dim,
                    dtype)


def log_softmax(input, dim, *, dtype=None):
    r"""log of :func:`softmax`, computed stably (PyTorch's ``torch.sparse.log_softmax``):
    y_k = v_k − log Σ_{j in k's slice} e^(v_j), on the stored entries; the pattern is kept.

    Examples
    --------
    >>> import minigrad as mg
    >>> S = mg.sparse_coo_tensor([[0, 0], [0, 2]], [1.0, 1.0], (1, 3))
    >>> mg.sparse.log_softmax(S, 1).values().exp()  # log(1/2) each
    tensor([0.5, 0.5])
    """
    return _softmax("sparse.log_softmax", SparseLogSoftmax, lambda v, d: v.log_softmax(d),
                    input, dim, dtype)


# ---------------------------------------------------------------------------------- sum


def sum(input, dim=None, dtype=None):  # noqa: A001 - PyTorch's name (torch.sparse.sum)
    r"""Sum of a sparse tensor's entries (PyTorch's ``torch.sparse.sum``).

    ``dim`` None: a 0-d Tensor. Otherwise, as PyTorch documents it: a dense Tensor when
    every sparse dim is summed, else a coalesced COO tensor over the sparse dims that
    remain (the summed dense dims reduced in its values). The method ``S.sum(dim)``
    returns a dense Tensor in every case.

    Parameters
    ----------
    input : COOTensor or CSRTensor (CSR is summed as the COO tensor it equals).
    dim : int or tuple of ints, optional.
    dtype : optional; the values are cast to it first.

    Examples
    --------
    >>> import minigrad as mg
    >>> S = mg.sparse_coo_tensor([[0, 0, 2], [0, 1, 1]], [1.0, 2.0, 3.0], (3, 2))
    >>> mg.sparse.sum(S)
    tensor(6.)
    >>> mg.sparse.sum(S, 1).to_dense()
    tensor([3., 0., 3.])
    >>> mg.sparse.sum(S, (0, 1))
    tensor(6.)
    """
    S = _sparse_operand(input, "sparse.sum")
    if dtype is not None:
        S = S.to(dtype=dtype)
    if dim is None:
        return S.values().sum()
    S = S.to_sparse_coo()
    dims = normalize_dims(dim, S.ndim, "sparse.sum")
    sd = S.sparse_dim()
    keep = [d for d in range(sd) if d not in dims]
    if not keep:
        return S.sum(dims)
    v = S.values()
    dense_dims = tuple(d - sd + 1 for d in dims if d >= sd)
    if dense_dims:
        v = v.sum(dim=dense_dims)
    shape = tuple(S.shape[d] for d in keep) + tuple(v.shape[1:])
    # The kept index tuples repeat where summed dims differed: coalesce adds them up.
    return COOTensor._make(S._idx[keep], v, shape, coalesced=None).coalesce()


# ------------------------------------------------------------------------------ products


def addmm(mat, mat1, mat2, *, beta=1, alpha=1):
    r"""β·mat + α·(mat1 @ mat2) for a sparse mat1 (PyTorch's ``torch.sparse.addmm``).

    Parameters
    ----------
    mat : dense Tensor, broadcastable to the product's shape (m, N). With β = 0 it is
        ignored (its nan/inf do not propagate), as in PyTorch.
    mat1 : COOTensor or CSRTensor (m, n).
    mat2 : dense Tensor (n, N).
    beta, alpha : numbers.

    Returns
    -------
    A dense Tensor (m, N), differentiable with respect to mat, the values of mat1 (a
    gradient with mat1's pattern) and mat2, through :func:`~minigrad.sparse.mm`.

    Examples
    --------
    >>> import minigrad as mg
    >>> S = mg.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
    >>> mg.sparse.addmm(mg.ones(2, 1), S, mg.tensor([[1.0], [10.0]]), beta=2, alpha=0.5)
    tensor([[12. ],
            [ 3.5]])
    """
    op = "sparse.addmm"
    mat1 = _sparse_matrix(mat1, op, "mat1")
    mat2 = _dense_matrix(mat2, op, "mat2")
    return _scaled_sum(op, _as_dense(mat, op), mm(mat1, mat2), beta, alpha)


def _check_same_device(op, *xs):
    devices = {x.device for x in xs}
    if len(devices) > 1:
        raise RuntimeError(f"{op}: operands on different devices {sorted(devices)}; move "
                           "them with .to(device)")


def sampled_addmm(input, mat1, mat2, *, beta=1, alpha=1):
    r"""β·input + α·(mat1 @ mat2) at input's stored positions (PyTorch's
    ``torch.sparse.sampled_addmm``, SDDMM), without forming the dense product.

    out = α (mat1 @ mat2) ∘ spy(input) + β input: for each stored entry k at (i, j),
    w_k = β v_k + α Σ_l mat1[i, l] mat2[l, j], one gathered row · column dot per entry
    (:class:`~minigrad.sparse.ops.SDDMM`), O(nnz·k) work.

    Parameters
    ----------
    input : CSRTensor (m, n): the pattern and the values added (β = 0 multiplies them by 0,
        so a nan in them stays nan, as the formula and PyTorch's CPU kernel have it).
    mat1 : dense Tensor (m, k).
    mat2 : dense Tensor (k, n).
    beta, alpha : numbers.

    Returns
    -------
    A CSRTensor with input's pattern. Gradients: gv = β gw, gmat1 = α A(gw) mat2ᵀ,
    gmat2 = α mat1ᵀ A(gw), where A(gw) is the sparse matrix of the output gradient.

    Examples
    --------
    >>> import minigrad as mg
    >>> I = mg.eye(2).to_sparse_csr()
    >>> P, Q = mg.tensor([[1.0, 2.0], [3.0, 4.0]]), mg.tensor([[1.0, 0.0], [1.0, 1.0]])
    >>> mg.sparse.sampled_addmm(I, P, Q, beta=0.5).to_dense()  # diag(P Q) + I/2
    tensor([[3.5, 0. ],
            [0. , 4.5]])
    """
    op = "sparse.sampled_addmm"
    if not isinstance(input, CSRTensor):
        _sparse_operand(input, op)  # a dense tensor: the generic message
        raise TypeError(f"{op}: input must be a sparse CSR tensor, got layout "
                        f"{input.layout} (convert it with .to_sparse_csr())")
    mat1 = _dense_matrix(mat1, op, "mat1")
    mat2 = _dense_matrix(mat2, op, "mat2")
    (m, n), (m1, k), (k2, n2) = input.shape, mat1.shape, mat2.shape
    if k != k2:
        raise ValueError(f"{op}: mat1 {mat1.shape} and mat2 {mat2.shape} cannot be "
                         f"multiplied (inner dimensions {k} and {k2} differ)")
    if (m1, n2) != (m, n):
        raise ValueError(f"{op}: the product mat1 @ mat2 has shape {(m1, n2)} but input has "
                         f"shape {input.shape}")
    _check_same_device(op, input, mat1, mat2)
    dtype = np.result_type(input.dtype, mat1.dtype, mat2.dtype)
    if not _dt.is_floating(dtype):
        raise TypeError(f"{op}: expects floating-point operands, got {input.dtype}, "
                        f"{mat1.dtype} and {mat2.dtype}")
    v, mat1, mat2 = (x.to(dtype=dtype) for x in (input.values(), mat1, mat2))
    w = SDDMM(input._pattern)(mat1, mat2.T)  # w_k = mat1[row_k] · mat2[:, col_k]
    return CSRTensor(input._pattern, _scale(v, beta) + _scale(w, alpha))


# ------------------------------------------------------------------------------ spdiags


def spdiags(diagonals, offsets, shape, layout=None):
    r"""A sparse matrix with the rows of ``diagonals`` on the diagonals ``offsets``
    (PyTorch's ``torch.sparse.spdiags``, SciPy's ``scipy.sparse.spdiags`` alignment).

    Row k of diagonals fills diagonal offsets[k] (0 the main one, > 0 above, < 0 below),
    indexed by *column*: out[j − offsets[k], j] = diagonals[k, j] for every column j with
    0 ≤ j < min(n, diagonals.shape[1]) and 0 ≤ j − offsets[k] < m. So a superdiagonal
    skips the first entries of its row and a subdiagonal leaves the last ones unused.
    Every position on the selected diagonals is stored, zeros included.

    Parameters
    ----------
    diagonals : Tensor (k, L), or (L,) for one diagonal. Gradients flow back to it (a
        gather; PyTorch's spdiags has no derivative).
    offsets : integer Tensor or array-like (k,) (or a scalar), distinct.
    shape : (m, n).
    layout : None or "sparse_coo" (default), or "sparse_csr".

    Returns
    -------
    A coalesced COOTensor (row-major entries; PyTorch's order is diagonal by diagonal), or
    a CSRTensor.

    Notes
    -----
    PyTorch 2.x departs from SciPy (and reads out of bounds) when diagonals has more
    columns than the matrix and m > n; minigrad follows SciPy there.

    Examples
    --------
    >>> import minigrad as mg
    >>> d = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    >>> mg.sparse.spdiags(d, mg.tensor([0, -1, 1]), (3, 3)).to_dense()
    tensor([[1., 8., 0.],
            [4., 2., 9.],
            [0., 5., 3.]])
    """
    op = "sparse.spdiags"
    if not isinstance(diagonals, Tensor):
        if isinstance(diagonals, (COOTensor, CSRTensor)):
            raise TypeError(f"{op}: diagonals must be a dense Tensor, got "
                            f"{type(diagonals).__name__}")
        diagonals = Tensor(diagonals)
    off = to_device(_index_array(offsets, f"{op}: offsets", None), "cpu").astype(np.int64)
    if off.ndim > 1:
        raise ValueError(f"{op}: offsets must be a scalar or a 1-D tensor, got shape "
                         f"{off.shape}")
    off = off.reshape(-1)
    if diagonals.ndim == 1:
        diagonals = diagonals.unsqueeze(0)
    if diagonals.ndim != 2:
        raise ValueError(f"{op}: diagonals must be 1-D or 2-D (k, L), got shape "
                         f"{diagonals.shape}")
    if diagonals.shape[0] != off.shape[0]:
        raise ValueError(f"{op}: the number of diagonals ({diagonals.shape[0]}) does not match "
                         f"the number of offsets ({off.shape[0]})")
    if np.unique(off).shape[0] != off.shape[0]:
        raise ValueError(f"{op}: offsets {off.tolist()} contain duplicate values")
    shape = tuple(shape)
    if len(shape) != 2 or not all(isinstance(s, numbers.Integral) and s >= 0 for s in shape):
        raise ValueError(f"{op}: shape must be two non-negative ints (m, n), got {shape}")
    m, n = (int(s) for s in shape)
    if layout not in (None, "sparse_coo", "sparse_csr"):
        raise ValueError(f"{op}: layout must be 'sparse_coo' or 'sparse_csr' (minigrad has "
                         f"no CSC or BSR layout), got {layout!r}")
    L = diagonals.shape[1]
    ks, rows, cols = [], [], []
    for k, o in enumerate(off.tolist()):
        j = np.arange(max(0, o), min(n, L, m + o), dtype=np.int64)  # the columns it reaches
        ks.append(np.full(j.shape, k, dtype=np.int64))
        rows.append(j - o)
        cols.append(j)
    ks, rows, cols = (np.concatenate(a) if a else np.zeros(0, np.int64)
                      for a in (ks, rows, cols))
    order = np.lexsort((cols, rows))  # row-major: coalesced (the diagonals never overlap)
    ks, rows, cols = ks[order], rows[order], cols[order]
    device = diagonals.device
    values = diagonals[to_device(ks, device), to_device(cols, device)]
    indices = to_device(np.stack([rows, cols]), device)
    out = COOTensor._make(indices, values, (m, n), coalesced=True)
    return out.to_sparse_csr() if layout == "sparse_csr" else out


# ------------------------------------------------------------------------------ spsolve


def spsolve_reference(xp, crow, col, data, B):
    r"""X = A⁻¹ B for the CSR matrix A(crow, col, data), by a dense LU factorization of A
    (``xp.linalg.solve``): the specification the SciPy (SuperLU) path is tested against,
    and the path on CUDA or without SciPy. O(n²) memory, O(n³) time."""
    n = crow.shape[0] - 1
    A = xp.zeros((n, n), dtype=data.dtype)
    _scatter_add(A, (row_of_nonzeros(xp, crow, col.shape[0]), col), data)  # duplicates add
    return _lapack(xp, "sparse.spsolve", "the matrix A is singular", xp.linalg.solve, A, B)


def _superlu_solve(crow, col, data, B):
    """X = A⁻¹ B by SciPy's sparse LU (SuperLU), or None when SciPy is not installed."""
    try:
        import scipy.sparse as sparse
        from scipy.sparse.linalg import splu
    except ImportError:
        return None
    n = crow.shape[0] - 1
    A = sparse.csr_array((data, col, crow), shape=(n, n)).tocsc()  # duplicates summed
    try:
        lu = splu(A)
    except RuntimeError:  # "Factor is exactly singular"
        raise LinAlgError("sparse.spsolve: the matrix A is singular") from None
    return lu.solve(np.ascontiguousarray(B)).astype(data.dtype, copy=False)


class SparseSolve(Function):
    r"""X = A(v)⁻¹ B for the square CSR pattern ``pattern`` filled with the values v;
    B is (n, k) or a vector (n,).

    VJP (Giles 2008, matrix inverse product): gB = A⁻ᵀ gX = SparseSolve(patternᵀ)(v[perm],
    gX); gv = −(gB Xᵀ) at the pattern = −SDDMM(pattern)(gB, X) (one number per entry).

    Forward: on the CPU with SciPy, SuperLU on the sparse matrix; otherwise (CUDA, or no
    SciPy) :func:`spsolve_reference`, a dense factorization."""

    save_output = True

    def __init__(self, pattern):
        self.pattern = pattern

    def forward(self, xp, v, B):
        p = self.pattern
        if p.shape[0] == 0:
            return xp.zeros(B.shape, dtype=v.dtype)
        if xp is np:
            X = _superlu_solve(p.crow, p.col, v, B)
            if X is not None:
                return X
        return spsolve_reference(xp, p.crow, p.col, v, B)

    def backward(self, gX):
        v, _ = self.inputs
        X = self.saved_output
        pattern_t, perm = self.pattern.transpose()
        gB = SparseSolve(pattern_t)(v[perm], gX)
        gv = -SDDMM(self.pattern)(gB, X) if self.needs_input_grad[0] else None
        return gv, gB if self.needs_input_grad[1] else None


def spsolve(input, other, *, left=True):
    r"""X with A X = B (``left=False``: X A = B) for a sparse square A and a dense B
    (PyTorch's ``torch.sparse.spsolve``).

    Parameters
    ----------
    input : CSRTensor or COOTensor (n, n) (COO is coalesced into CSR first).
    other : dense Tensor (n,) or (n, k) ((k, n) or (n,) for left=False).
    left : solve A X = B (default) or X A = B (PyTorch supports only left=True).

    Returns
    -------
    A dense Tensor of other's shape. Differentiable with respect to the values of A (the
    gradient −(A⁻ᵀ gX) Xᵀ sampled at A's pattern) and to B (A⁻ᵀ gX).

    Raises
    ------
    TypeError for a dense A or a dtype other than float32/float64; ValueError for a
    non-square A or a B of the wrong shape; :class:`~minigrad.linalg.LinAlgError` for a
    singular A.

    Notes
    -----
    A direct solve. On the CPU with SciPy installed it is SciPy's sparse LU (SuperLU,
    ``scipy.sparse.linalg.splu``), which keeps the factors sparse; otherwise (on CUDA, or
    without SciPy) A is densified and factorized (:func:`spsolve_reference`): O(n²) memory,
    fine up to a few thousand unknowns. For larger systems, an iterative solver (conjugate
    gradients for a symmetric positive-definite A) built on :func:`~minigrad.sparse.mm`.

    Examples
    --------
    >>> import minigrad as mg
    >>> A = mg.tensor([[4.0, 1.0], [0.0, 2.0]]).to_sparse_csr()
    >>> mg.sparse.spsolve(A, mg.tensor([6.0, 4.0]))
    tensor([1., 2.])
    """
    op = "sparse.spsolve"
    if isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a sparse CSR or COO matrix, got a dense Tensor "
                        "(use mg.linalg.solve)")
    A = _sparse_matrix(input, op)
    B = _as_dense(other, op)
    n = A.shape[0]
    if A.shape[1] != n:
        raise ValueError(f"{op}: A must be square, got shape {A.shape}")
    if B.ndim not in (1, 2):
        raise ValueError(f"{op}: other must be 1-D or 2-D, got shape {B.shape}")
    side = B.shape[0] if left or B.ndim == 1 else B.shape[1]
    if side != n:
        equation = "A X = B" if left else "X A = B"
        raise ValueError(f"{op}: A {A.shape} and B {B.shape} do not fit the equation "
                         f"{equation}")
    _check_same_device(op, A, B)
    dtype = np.result_type(A.dtype, B.dtype)
    if dtype not in _SOLVE_DTYPES:
        raise TypeError(f"{op}: expects float32 or float64, got {A.dtype} and {B.dtype}")
    A = A.to_sparse_csr().to(dtype=dtype)
    B = B.to(dtype=dtype)
    if not left:  # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
        A = A.t()
        if B.ndim == 2:
            return SparseSolve(A._pattern)(A.values(), B.T).T
    return SparseSolve(A._pattern)(A.values(), B)
