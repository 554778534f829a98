r"""``minigrad.linalg``: PyTorch's ``torch.linalg``, differentiable, batched over leading
dims.

Norms (``vector_norm``, ``matrix_norm``, ``norm``), determinants (``det``, ``slogdet``),
inverses and systems (``inv``, ``solve``, ``pinv``), decompositions (``cholesky``, ``qr``,
``eigh``, ``eigvalsh``, ``svd``, ``svdvals``, and PyTorch 2.14's ``polar``), the square
root of a symmetric positive-definite matrix (``matrix_sqrth``, 2.14's too), products
(``matrix_power``, ``multi_dot``, ``matmul``, ``vecdot``, ``cross``) and ``diagonal``: the
names, argument order, defaults, shapes and return types of ``torch.linalg`` (``slogdet``,
``qr``, ``eigh``, ``svd`` and ``polar`` return named tuples). The derivative rules live in
:mod:`minigrad.ops.linalg`, one Function per rule, each docstring citing its source; every
backward is made of Tensor ops, so second derivatives work where PyTorch has them.

Errors, as PyTorch raises them but in minigrad's classes: a shape the function cannot
take is a ``ValueError`` naming the function and the shape (non-square input to ``inv``,
``det``, ``cholesky``...); a singular matrix (``inv``, ``solve``) or one that is not
positive-definite (``cholesky``) is a :class:`LinAlgError` (a RuntimeError) naming the
function, never NumPy's exception.

Notes
-----
Precision: float16 and bfloat16 input to the decompositions, determinants, inverses and
solves is refused with a ``TypeError``, as PyTorch refuses it ("Low precision dtypes not
supported"); inside ``minigrad.amp.autocast`` it is computed in float32 instead (the
norms accept half input and accumulate in float32). Integer input is refused too.

Examples
--------
>>> import minigrad as mg
>>> A = mg.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> mg.linalg.det(A)
tensor(5., grad_fn=<Det backward>)
>>> mg.linalg.solve(A, mg.tensor([3.0, 5.0]))
tensor([0.8, 1.4], grad_fn=<Reshape backward>)
>>> mg.linalg.vector_norm(mg.tensor([3.0, -4.0, 0.0]), ord=1)
tensor(7.)
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from . import dtypes as _dt
from .amp.autocast_mode import autocast_float32, autocast_off
from .ops import linalg as _ops
from .ops import reduction as _reduction
from .ops.elementwise import const, where
from .ops.linalg import LinAlgError, check_matrix, matmul, unpack
from .ops.linalg import cross as _cross
from .tensor import Tensor

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "det", "slogdet", "inv",
           "solve", "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv",
           "matrix_power", "multi_dot", "cross", "matmul", "vecdot", "diagonal",
           "solve_triangular", "lstsq", "matrix_rank", "cond", "matrix_exp", "vander",
           "tensorinv", "tensorsolve", "matrix_sqrth", "polar"]

slogdet_result = namedtuple("slogdet_result", ["sign", "logabsdet"])
qr_result = namedtuple("qr_result", ["Q", "R"])
eigh_result = namedtuple("eigh_result", ["eigenvalues", "eigenvectors"])
svd_result = namedtuple("svd_result", ["U", "S", "Vh"])
polar_result = namedtuple("polar_result", ["U", "H"])

_INF = math.inf


# --------------------------------------------------------------------------- norms
def _check_floating(op, x, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expects a tensor, got {type(x).__name__}")
    _dt.require_floating(op, x, name)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    r"""The vector ord-norm of ``x`` over ``dim`` (all elements by default; an int or a
    tuple): (Σ|x|^ord)^(1/ord) for any real ord ≠ 0; max|x| for inf, min|x| for −inf; the
    number of nonzero elements for 0.

    Gradients: 0 where the norm is 0 (for ord > 0, as PyTorch), 0 for ord = 0 (a count);
    for ord < 0 a zero element makes the norm 0 and its gradient 0 (PyTorch's values).
    ``dtype`` casts x first. Half input is reduced in float32 and rounded once.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([3.0, -4.0, 0.0])
    >>> [vector_norm(x, o).item() for o in (2, 1, float("inf"), 0)]
    [5.0, 7.0, 4.0, 2.0]
    """
    _check_floating("linalg.vector_norm", x)
    if dtype is not None:
        x = x.to(dtype=dtype)
    (x,) = autocast_float32(x)
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real) or math.isnan(ord):
        raise ValueError(f"linalg.vector_norm: ord must be a real number or ±inf, got {ord!r}")
    if isinstance(dim, list):
        dim = tuple(dim)
    if ord == 0:  # a count: 1 per nonzero element, and 0·x (0 there) for its zero gradient
        return where(const(x.data != 0), 1.0, x * 0.0).sum(dim, keepdim)
    if ord == _INF:
        return x.abs().amax(dim, keepdim)
    if ord == -_INF:
        return x.abs().amin(dim, keepdim)
    if ord > 0:
        return _reduction.norm(x, ord, dim, keepdim)
    return _negative_norm(x, ord, dim, keepdim)


def _negative_norm(x, p, dim, keepdim):
    """(Σ|x|^p)^(1/p) for p < 0: a zero element makes the sum inf and the norm 0; masks
    (constants) keep 0^p and its gradient out of the arithmetic there."""
    axes = _reduction.normalize_dims(dim, x.ndim, "linalg.vector_norm")
    a = x.abs()
    zero = a.data == 0
    has_zero = zero.any(axis=axes, keepdims=True)
    s = where(zero, 0.0, where(zero, 1.0, a) ** p).sum(axes, keepdim=True)
    y = where(has_zero, 0.0, where(has_zero, 1.0, s) ** (1.0 / p))
    return y if keepdim else y.squeeze(axes)


def _matrix_dims(op, A, dim):
    if A.ndim < 2:
        raise ValueError(f"{op}: A must have at least 2 dims, got shape {A.shape}")
    dim = tuple(dim)
    if len(dim) != 2:
        raise ValueError(f"{op}: dim must be a 2-tuple, got {dim}")
    return _ops._two_dims(op, dim[0], dim[1], A.ndim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    r"""The matrix norm of the matrices in dims ``dim`` of A: ``'fro'`` √(Σ a²ᵢⱼ),
    ``'nuc'`` Σσᵢ, 2 / −2 the largest / smallest singular value, 1 / −1 the largest /
    smallest column sum of |aᵢⱼ|, inf / −inf the largest / smallest row sum.

    The singular-value norms differentiate through :class:`~minigrad.ops.linalg.SVDVals`
    (and refuse half input, as the SVD does); the others are sums and extrema of |A|.

    Examples
    --------
    >>> import minigrad as mg
    >>> A = mg.tensor([[1.0, -2.0], [3.0, 4.0]])
    >>> [round(matrix_norm(A, o).item(), 4) for o in ("fro", 1, float("inf"), -1)]
    [5.4772, 6.0, 7.0, 4.0]
    """
    op = "linalg.matrix_norm"
    _check_floating(op, A, "A")
    if dtype is not None:
        A = A.to(dtype=dtype)
    (A,) = autocast_float32(A)
    d1, d2 = _matrix_dims(op, A, dim)
    if isinstance(ord, str):
        if ord == "fro":
            return vector_norm(A, 2, (d1, d2), keepdim)
        if ord != "nuc":
            raise ValueError(f"{op}: ord must be 'fro', 'nuc', ±1, ±2 or ±inf, got {ord!r}")
    elif ord not in (1, -1, 2, -2, _INF, -_INF):
        raise ValueError(f"{op}: ord must be 'fro', 'nuc', ±1, ±2 or ±inf, got {ord!r}")
    if ord in ("nuc", 2, -2):
        check_matrix(op, A, square=False)
        rest = [i for i in range(A.ndim) if i not in (d1, d2)]
        s = _ops.SVDVals()(A.permute(*rest, d1, d2))
        y = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        return y.unsqueeze(min(d1, d2)).unsqueeze(max(d1, d2)) if keepdim else y
    # 1: the largest column sum (sum over the rows, d1); inf: the largest row sum
    summed, extreme = (d1, d2) if ord in (1, -1) else (d2, d1)
    sums = A.abs().sum(summed, keepdim=True)
    y = sums.amax(extreme, keepdim=True) if ord > 0 else sums.amin(extreme, keepdim=True)
    return y if keepdim else y.squeeze((d1, d2))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    r"""``torch.linalg.norm``: a vector norm when ``dim`` is an int or a 1-tuple, or when
    ``dim`` and ``ord`` are both None (the 2-norm of all elements); a matrix norm when
    ``dim`` is a 2-tuple; with ``dim=None`` and an ``ord``, a vector norm of a 1-D A or a
    matrix norm of a 2-D A.

    Examples
    --------
    >>> import minigrad as mg
    >>> A = mg.tensor([[3.0, 0.0], [0.0, 4.0]])
    >>> norm(A).item(), norm(A, 2).item(), norm(A, 1, dim=1).tolist()
    (5.0, 4.0, [3.0, 4.0])
    """
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise ValueError(f"linalg.norm: dim must be an int, a 1-tuple or a 2-tuple, got {dim}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise ValueError(f"linalg.norm: with ord and without dim the input must be 1-D or 2-D, "
                     f"got shape {A.shape}")


# --------------------------------------------------------------------------- determinants
def det(A):
    r"""det A for square A (..., n, n). Gradient: det(A)·A⁻ᵀ, the cofactor matrix where A
    is singular (:class:`~minigrad.ops.linalg.Det`).

    Examples
    --------
    >>> import minigrad as mg
    >>> det(mg.tensor([[2.0, 5.0, 1.0], [0.0, 3.0, 7.0], [0.0, 0.0, 4.0]])).item()
    24.0
    """
    return _ops.Det()(check_matrix("linalg.det", A))


def slogdet(A):
    r"""``(sign, logabsdet)`` with det A = sign·exp(logabsdet), without overflow for large
    matrices: a named tuple, as PyTorch. ``sign`` has no gradient; ``logabsdet``'s is A⁻ᵀ
    (:class:`~minigrad.ops.linalg.LogAbsDet`). A singular A gives (0, −inf).

    Examples
    --------
    >>> import minigrad as mg
    >>> sign, logabsdet = slogdet(mg.tensor([[0.0, 2.0], [3.0, 0.0]]))
    >>> sign.item(), round(logabsdet.item(), 6)
    (-1.0, 1.791759)
    """
    A = check_matrix("linalg.slogdet", A)
    f = _ops.LogAbsDet()
    logabsdet = f(A)
    return slogdet_result(const(A.xp.asarray(f.sign, dtype=A.dtype)), logabsdet)


def logdet(A):
    """log det A (``torch.logdet``): nan where det A < 0, with a zero gradient there (as
    PyTorch's, whose logdet selects nan there); −inf where det A = 0, where the gradient
    does not exist (backward raises, naming it: ``slogdet``)."""
    A = check_matrix("logdet", A)
    sign, logabsdet = slogdet(A)
    return where(const(sign.data < 0), float("nan"), logabsdet)


# --------------------------------------------------------------------------- inverses
def inv(A):
    r"""A⁻¹ for square A (..., n, n); a singular A raises :class:`LinAlgError`.
    Gradient: −A⁻ᵀ·G·A⁻ᵀ (:class:`~minigrad.ops.linalg.Inv`).

    Examples
    --------
    >>> import minigrad as mg
    >>> inv(mg.tensor([[4.0, 7.0], [2.0, 6.0]]))
    tensor([[ 0.6, -0.7],
            [-0.2,  0.4]])
    """
    return _ops.Inv()(check_matrix("linalg.inv", A))


def solve(A, B, *, left=True):
    r"""X with A·X = B (``left=False``: X·A = B), A (..., n, n) and B (..., n, k) or a
    batch of vectors B (..., n) — PyTorch's rule: B is a vector when it is 1-D, or has one
    dim fewer than A and the shape ``A.shape[:-1]``. Batch dims broadcast. A singular A
    raises :class:`LinAlgError`.

    Examples
    --------
    >>> import minigrad as mg
    >>> A = mg.tensor([[3.0, 1.0], [1.0, 2.0]])
    >>> solve(A, mg.tensor([9.0, 8.0]))
    tensor([2., 3.])
    """
    A = check_matrix("linalg.solve", A)
    _check_floating("linalg.solve", B, "B")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if not left:
        return solve(A.mT, B) if vector else solve(A.mT, B.mT).mT
    Bm = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    if Bm.ndim < 2 or Bm.shape[-2] != n:
        raise ValueError(f"linalg.solve: incompatible shapes of A {A.shape} and B {B.shape} "
                         f"for the equation AX = B")
    try:
        np.broadcast_shapes(A.shape[:-2], Bm.shape[:-2])
    except ValueError:
        raise ValueError(f"linalg.solve: the batch dims of A {A.shape} and B {B.shape} do "
                         "not broadcast") from None
    X = _ops.Solve()(A, Bm)
    return X.squeeze(-1) if vector else X


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    r"""The Moore–Penrose pseudo-inverse A⁺ (n × m for A m × n), from the SVD with the
    singular values ≤ max(atol, rtol·σ_max) treated as 0; ``hermitian=True`` uses the
    eigendecomposition of a symmetric A (its lower triangle). PyTorch's defaults: without
    ``rtol``, rtol = eps·max(m, n) when atol is None or 0, else 0.

    Gradient: Golub & Pereyra's formula for A of locally constant rank
    (:class:`~minigrad.ops.linalg.Pinv`), so an A of full rank, whatever its singular
    values, has a finite gradient.

    Examples
    --------
    >>> import minigrad as mg
    >>> pinv(mg.tensor([[1.0], [2.0]], dtype=mg.float64))
    tensor([[0.2, 0.4]], dtype=float64)
    """
    A = check_matrix("linalg.pinv", A, square=hermitian)
    m, n = A.shape[-2:]

    def tolerance(t):
        return t.data[..., None] if isinstance(t, Tensor) else t

    if rtol is None:
        zero_atol = atol is None or (not isinstance(atol, Tensor) and atol <= 0)
        rtol = float(_dt.finfo(A.dtype).eps) * max(m, n) if zero_atol else 0.0
    atol = 0.0 if atol is None else atol
    return _ops.Pinv(tolerance(atol), tolerance(rtol), hermitian)(A)


# --------------------------------------------------------------------------- decompositions
def cholesky(A, *, upper=False):
    r"""L, lower triangular with A = L·Lᵀ, for symmetric positive-definite A (only its
    lower triangle is read); ``upper=True`` gives U = Lᵀ. An A that is not
    positive-definite raises :class:`LinAlgError`. Gradient: Murray 2016
    (:class:`~minigrad.ops.linalg.Cholesky`), symmetric.

    Examples
    --------
    >>> import minigrad as mg
    >>> cholesky(mg.tensor([[4.0, 2.0], [2.0, 5.0]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    L = _ops.Cholesky()(check_matrix("linalg.cholesky", A))
    return L.mT if upper else L


def qr(A, mode="reduced"):
    r"""``(Q, R)`` with A = Q·R, Q with orthonormal columns and R upper triangular.
    ``mode``: "reduced" (Q m×k, R k×n, k = min(m, n)), "complete" (Q m×m, R m×n) or "r"
    (R only; Q is an empty tensor). Gradient for "reduced", and for "complete" when
    m ≤ n (:class:`~minigrad.ops.linalg.QR`), as PyTorch.

    Examples
    --------
    >>> import minigrad as mg
    >>> Q, R = qr(mg.tensor([[3.0, 1.0], [4.0, 2.0]]))
    >>> (Q @ R).round(decimals=4)
    tensor([[3., 1.],
            [4., 2.]])
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    A = check_matrix("linalg.qr", A, square=False)
    f = _ops.QR(mode)
    parts = unpack(f(A), f.parts)
    if mode == "r":
        return qr_result(const(A.xp.zeros((0,), dtype=A.dtype)), parts[0])
    return qr_result(*parts)


def _check_uplo(op, UPLO):
    if UPLO not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")


def eigh(A, UPLO="L"):
    r"""``(eigenvalues, eigenvectors)`` of symmetric A: λ ascending, V orthonormal with
    A = V·diag(λ)·Vᵀ; only the ``UPLO`` ("L" or "U") triangle of A is read. The sign of
    each eigenvector is arbitrary. Gradient: :class:`~minigrad.ops.linalg.Eigh`.

    Examples
    --------
    >>> import minigrad as mg
    >>> eigh(mg.tensor([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    tensor([1., 3.])
    """
    _check_uplo("linalg.eigh", UPLO)
    A = check_matrix("linalg.eigh", A)
    f = _ops.Eigh(UPLO)
    return eigh_result(*unpack(f(A), f.parts))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of symmetric A, ascending (:func:`eigh`'s first output)."""
    _check_uplo("linalg.eigvalsh", UPLO)
    return _ops.EigvalsH(UPLO)(check_matrix("linalg.eigvalsh", A))


def _check_driver(op, driver):
    if driver is not None:
        raise ValueError(f"{op}: driver= chooses a cuSOLVER routine in PyTorch; minigrad "
                         f"takes only driver=None, got {driver!r}")


def svd(A, full_matrices=True, *, driver=None):
    r"""``(U, S, Vh)`` with A = U·diag(S)·Vh, S descending. ``full_matrices`` (the default,
    as PyTorch): U m×m and Vh n×n; else U m×k and Vh k×n, k = min(m, n). Gradient:
    :class:`~minigrad.ops.linalg.SVD`; with ``full_matrices=True`` the gradient of the
    columns of U and rows of Vh past k is ignored (PyTorch 2's rule), so differentiate
    with ``full_matrices=False``.

    Examples
    --------
    >>> import minigrad as mg
    >>> svd(mg.tensor([[3.0, 0.0], [0.0, -4.0]])).S
    tensor([4., 3.])
    """
    _check_driver("linalg.svd", driver)
    A = check_matrix("linalg.svd", A, square=False)
    f = _ops.SVD(full_matrices)
    return svd_result(*unpack(f(A), f.parts))


def svdvals(A, *, driver=None):
    """The singular values of A, descending (:func:`svd`'s S; cheaper, and its gradient
    needs no distinct singular values)."""
    _check_driver("linalg.svdvals", driver)
    return _ops.SVDVals()(check_matrix("linalg.svdvals", A, square=False))


# --------------------------------------------------------------------------- products
def matrix_power(A, n):
    r"""Aⁿ for square A and an integer n, by repeated squaring (⌊log₂|n|⌋ squarings and
    at most as many products); n < 0 is (A⁻¹)^|n|; n = 0 is the identity (with a zero
    gradient, as PyTorch's).

    Examples
    --------
    >>> import minigrad as mg
    >>> matrix_power(mg.tensor([[1.0, 1.0], [0.0, 1.0]]), 5)
    tensor([[1., 5.],
            [0., 1.]])
    """
    op = "linalg.matrix_power"
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{op}: n must be an int, got {type(n).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: A must be batches of square matrices, got shape {A.shape}")
    if n == 0:
        xp = A.xp
        eye = const(xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype), A.shape).copy())
        return where(xp.ones(A.shape, dtype=bool), eye, A)  # connected, gradient 0
    if n < 0:
        A, n = inv(A), -n
    result = None
    while n:
        if n & 1:
            result = A if result is None else result @ A
        n >>= 1
        if n:
            A = A @ A
    return result


def _chain_order(dims):
    """The split points of the cheapest parenthesization of a matrix chain with sizes
    dims[0] × dims[1], dims[1] × dims[2], ...: the classic O(n³) dynamic program
    (Cormen et al., "Introduction to Algorithms", §15.2), as PyTorch's multi_dot."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors):
    r"""The product of two or more matrices in the cheapest order (the chain's
    parenthesization by dynamic programming). The first may be 1-D (a row vector) and the
    last 1-D (a column vector); those dims are dropped from the result, as PyTorch.

    Examples
    --------
    >>> import minigrad as mg
    >>> multi_dot([mg.tensor([1.0, 2.0]), mg.eye(2), mg.tensor([3.0, 4.0])])
    tensor(11.)
    """
    op = "linalg.multi_dot"
    ts = list(tensors)
    if len(ts) < 2:
        raise ValueError(f"{op}: expected at least 2 tensors, got {len(ts)}")
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise ValueError(f"{op}: tensor {i} must be 2-D (the first and last may be 1-D), "
                             f"got shape {tensors[i].shape}")
    for i in range(len(ts) - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise ValueError(f"{op}: tensors {i} and {i + 1} cannot be multiplied: shapes "
                             f"{ts[i].shape} and {ts[i + 1].shape}")
    split = _chain_order([t.shape[0] for t in ts] + [ts[-1].shape[1]])

    def product(i, j):
        if i == j:
            return ts[i]
        k = split[i][j]
        return product(i, k) @ product(k + 1, j)

    y = product(0, len(ts) - 1)
    if first_vec:
        y = y.squeeze(0)
    return y.squeeze(-1) if last_vec else y


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (default: the last), batch dims
    broadcast (:func:`minigrad.cross`)."""
    return _cross(input, other, dim)


def vecdot(x, y, *, dim=-1):
    """Σ x·y along ``dim`` (real tensors: no conjugation), with broadcasting."""
    return (x * y).sum(dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal ``offset`` of the matrices in the last two dims (``minigrad.diagonal``
    with torch.linalg's default dims)."""
    return _ops.diagonal(A, offset, dim1, dim2)


# --------------------------------------------------------------------------- more solvers
lstsq_result = namedtuple("lstsq_result", ["solution", "residuals", "rank", "singular_values"])


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    r"""X with A·X = B (``left=False``: X·A = B) for triangular A, reading only A's upper
    or lower triangle (and taking its diagonal as ones with ``unitriangular``); the
    gradient with respect to A lies in that triangle, as PyTorch's.

    Where minigrad differs: a zero on the diagonal (a singular A) raises
    :class:`LinAlgError`, as :func:`lu_solve` does; PyTorch returns inf/nan.

    >>> import minigrad as mg
    >>> L = mg.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> solve_triangular(L, mg.tensor([[2.0], [3.0]]), upper=False).tolist()
    [[1.0], [2.0]]
    """
    from .ops.linalg import tril, triu

    A = check_matrix("linalg.solve_triangular", A)
    _check_floating("linalg.solve_triangular", B, "B")
    if B.ndim < 2:
        raise ValueError(f"linalg.solve_triangular: B must have at least 2 dims, got shape "
                         f"{B.shape}")
    T = triu(A) if upper else tril(A)
    if unitriangular:
        eye = const(A.xp.eye(A.shape[-1], dtype=bool))
        T = where(eye, 1.0, T)
    return solve(T, B) if left else solve(T.mT, B.mT).mT


@autocast_off
def lstsq(A, B, rcond=None, *, driver=None):
    r"""The least-squares solution X = argmin ‖AX − B‖_F (the minimum-norm one for a
    rank-deficient A): X = A⁺B through :func:`pinv` (singular values ≤ rcond·σ_max count
    as 0; default eps·max(m, n)), differentiable in A and B. Returns PyTorch's named tuple
    (solution, residuals, rank, singular_values): ``residuals`` are the column-wise
    squared residual norms when m > n and A has full rank (else empty), ``rank`` the
    numerical rank, ``singular_values`` A's (the gelsd/gelss drivers; empty otherwise).
    What each driver returns follows PyTorch (default gelsy on the CPU, gels on CUDA: the
    drivers themselves are not LAPACK's here, the solution is the same).

    >>> import minigrad as mg
    >>> A = mg.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], dtype=mg.float64)
    >>> X = lstsq(A, mg.tensor([[1.0], [2.0], [4.0]], dtype=mg.float64)).solution
    >>> [round(v, 12) for v in X.reshape(-1).tolist()]
    [0.833333333333, 1.5]
    """
    from .creation import zeros

    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise ValueError(f"linalg.lstsq: driver must be gels, gelsy, gelsd or gelss, got "
                         f"{driver!r}")
    A = check_matrix("linalg.lstsq", A, square=False)
    _check_floating("linalg.lstsq", B, "B")
    if driver is None:   # PyTorch's defaults: gelsy on the CPU, gels on CUDA
        driver = "gelsy" if A.device == "cpu" else "gels"
    if B.ndim == 0:
        raise ValueError("linalg.lstsq: B must have at least 1 dim, got a 0-d tensor")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-2]:
        raise ValueError(f"linalg.lstsq: A {A.shape} and B {B.shape} must have the same "
                         "number of rows")
    m, n = A.shape[-2:]
    rtol = float(_dt.finfo(A.dtype).eps) * max(m, n) if rcond is None else float(rcond)
    X = pinv(A, rtol=rtol) @ Bm
    s = svdvals(A.detach())
    if min(m, n) == 0:  # no singular values: rank 0 (the max below has no identity)
        rank = A.xp.zeros(A.shape[:-2], dtype=np.int64)
    else:
        rank = (s.data > rtol * s.data.max(axis=-1, keepdims=True)).sum(axis=-1)
    full = bool((rank == min(m, n)).all())
    if m > n and full and driver != "gelsy":
        r = A @ X - Bm
        residuals = (r * r).sum(-2)
    else:
        residuals = zeros(0, dtype=A.dtype, device=A.device)
    values = s if driver in ("gelsd", "gelss") else zeros(0, dtype=A.dtype, device=A.device)
    rank_t = Tensor(rank.astype(np.int64)) if driver != "gels" else \
        zeros(0, dtype=_dt.int64, device=A.device)
    return lstsq_result(X.squeeze(-1) if vector else X, residuals, rank_t, values)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values above max(atol, rtol·σ_max) (defaults as
    :func:`pinv`), an int64 tensor of A's batch shape; not differentiable."""
    A = check_matrix("linalg.matrix_rank", A, square=hermitian)
    m, n = A.shape[-2:]
    if isinstance(atol, Tensor):  # one tolerance per matrix of the batch, as PyTorch
        atol = atol.detach().data[..., None]
    if isinstance(rtol, Tensor):
        rtol = rtol.detach().data[..., None]
    if rtol is None:  # ε·max(m, n), or 0 where a positive atol is given (PyTorch's rule)
        rtol = float(_dt.finfo(A.dtype).eps) * max(m, n)
        if atol is not None:
            rtol = np.where(np.asarray(atol) > 0, 0.0, rtol)
    s = (eigvalsh(A).abs() if hermitian else svdvals(A)).detach().data
    tol = np.maximum(0.0 if atol is None else atol,
                     rtol * s.max(axis=-1, keepdims=True)) if s.size else 0
    return Tensor((s > tol).sum(axis=-1).astype(np.int64))


def cond(A, p=None):
    """The condition number: σ_max/σ_min for p None or 2 (−2: its inverse), else
    ‖A‖_p·‖A⁻¹‖_p with :func:`matrix_norm` (p in 'fro', 'nuc', ±1, ±inf). Empty matrices
    have condition number 0, as in PyTorch."""
    from .creation import zeros

    A = check_matrix("linalg.cond", A, square=p not in (None, 2, -2))
    if 0 in A.shape[-2:]:
        return zeros(A.shape[:-2], dtype=A.dtype, device=A.device)
    if p in (None, 2, -2):
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    inverse, info = inv_ex(A)
    if not bool((info.data != 0).any()):
        return matrix_norm(A, p) * matrix_norm(inverse, p)
    # a singular matrix has condition number ∞, as PyTorch (its inverse is NaN here)
    singular = const(info.data != 0)
    safe = where(singular.unsqueeze(-1).unsqueeze(-1), 0.0, inverse)
    return where(singular, float("inf"), matrix_norm(A, p) * matrix_norm(safe, p))


@autocast_off
def matrix_exp(A):
    r"""e^A = Σ Aᵏ/k! for square A (batched), by scaling and squaring: e^A = (e^(A/2ˢ))^(2ˢ)
    with ‖A/2ˢ‖₁ ≤ ½ and the Taylor series to order 18 there (truncation below 1e-22
    relative). It is matmuls only, so its gradient (the Fréchet derivative of the same
    approximation) and every higher one come from autograd.

    >>> import minigrad as mg
    >>> matrix_exp(mg.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=mg.float64)).tolist()[0]
    [0.5403023058681398, 0.8414709848078965]
    """
    from .creation import eye

    A = check_matrix("linalg.matrix_exp", A)
    n = A.shape[-1]
    norm1 = float(np.abs(A.detach().data).sum(axis=-2).max()) if A.numel() else 0.0
    s = max(0, math.ceil(math.log2(norm1 / 0.5))) if norm1 > 0.5 else 0
    X = A / (2.0 ** s)
    identity = eye(n, dtype=A.dtype, device=A.device)
    term, total = identity, identity
    for k in range(1, 19):
        term = term @ X / k
        total = total + term
    for _ in range(s):
        total = total @ total
    return total


def matrix_sqrth(A):
    r"""X = √A, the principal square root of symmetric positive-definite A (batched; only
    the lower triangle of A is read): the symmetric positive-definite X with X·X = A, from
    A's eigendecomposition (eigenvalues below 0 count as 0, as in PyTorch). PyTorch 2.14's
    ``torch.linalg.matrix_sqrth``. Gradient: :class:`~minigrad.ops.linalg.MatrixSqrth`,
    finite where eigenvalues repeat.

    >>> import minigrad as mg
    >>> matrix_sqrth(mg.tensor([[2.0, 0.0], [0.0, 9.0]], dtype=mg.float64)).tolist()
    [[1.4142135623730951, 0.0], [0.0, 3.0]]
    """
    return _ops.MatrixSqrth()(check_matrix("linalg.matrix_sqrth", A))


def polar(A):
    r"""``(U, H)`` with A = U·H for A (..., m, n), m ≥ n: U with orthonormal columns, the
    closest such matrix to A in the Frobenius norm (the orthogonalization that
    :class:`~minigrad.optim.Muon`'s Newton–Schulz iteration approximates), and
    H = (AᵀA)^½ symmetric positive-semidefinite. From the SVD, as PyTorch 2.14's
    ``torch.linalg.polar`` computes it on the CPU. Gradient
    (:class:`~minigrad.ops.linalg.Polar`) where A has full column rank, finite where
    singular values repeat.

    >>> import minigrad as mg
    >>> U, H = polar(mg.tensor([[0.0, -2.0], [2.0, 0.0]], dtype=mg.float64))
    >>> U.tolist(), H.tolist()                    # a rotation by 90°, scaled by 2
    ([[0.0, -1.0], [1.0, 0.0]], [[2.0, 0.0], [0.0, 2.0]])
    """
    A = check_matrix("linalg.polar", A, square=False)
    m, n = A.shape[-2:]
    if m < n:
        raise ValueError(f"linalg.polar: A must have at least as many rows as columns, but "
                         f"got {m} by {n} matrices (shape {A.shape})")
    f = _ops.Polar()
    return polar_result(*unpack(f(A), f.parts))


def vander(x, *, N=None):
    """The Vandermonde matrix of x (..., n): columns x⁰, x¹, …, x^(N−1) (N = n by
    default), increasing powers as torch.linalg's."""
    if x.dtype == _dt.bool:
        raise TypeError("linalg.vander: bool tensors are not supported (as PyTorch)")
    if x.ndim == 0:
        raise ValueError("linalg.vander: x must have at least 1 dim, got a 0-d tensor")
    n = x.shape[-1] if N is None else N
    if n < 1:
        raise ValueError(f"linalg.vander: N must be at least 1, got {n}")
    from .ops.shape import cat

    # x⁰ = 1, then xᵏ = xᵏ⁻¹·x: a cumulative product, as PyTorch and NumPy compute it,
    # exact for integer values on every device (CUDA's pow is only within 2 ulp)
    ones = const(x.xp.ones(x.shape + (1,), dtype=x.dtype))
    return cat([ones, x.unsqueeze(-1).expand(*x.shape, n - 1)], -1).cumprod(-1)


def tensorinv(A, ind=2):
    """The tensor T with tensordot(T, A, ind) = I: A reshaped to a square matrix (the
    first ``ind`` dims against the rest), inverted, reshaped back."""
    lead, rest = A.shape[:ind], A.shape[ind:]
    rows, cols = int(np.prod(lead)), int(np.prod(rest))
    if rows != cols:
        raise ValueError(f"linalg.tensorinv: the first {ind} dims of {A.shape} must have as "
                         "many elements as the others")
    return inv(A.reshape(rows, cols)).reshape(rest + lead)


def tensorsolve(A, B, dims=None):
    """X with tensordot(A, X, X.ndim) = B: A's leading dims (B's shape) against the rest,
    solved as one square system (``dims``: A's dims moved to the end first)."""
    if dims is not None:
        from .ops.manipulation import movedim

        dims = tuple(d % A.ndim for d in dims)
        A = movedim(A, dims, tuple(range(A.ndim - len(dims), A.ndim)))
    rest = A.shape[B.ndim:]
    rows, cols = int(np.prod(B.shape)), int(np.prod(rest))
    if rows != cols:
        raise ValueError(f"linalg.tensorsolve: A {A.shape} does not make a square system "
                         f"for B {B.shape}")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(rest)


# --------------------------------------------------------------------------- LU
# indexing, splitting and linear algebra additions: torch.linalg's LU family over the
# LU Function of minigrad.ops.linalg (its derivative rule: ops.linalg.lu_backward).
__all__ += ["lu", "lu_factor", "lu_factor_ex", "lu_solve"]

lu_result = namedtuple("lu_result", ["P", "L", "U"])
lu_factor_result = namedtuple("lu_factor_result", ["LU", "pivots"])
lu_factor_ex_result = namedtuple("lu_factor_ex_result", ["LU", "pivots", "info"])


def _lu(op, A, pivot):
    """The LU Function applied to A (..., m, n), and its L and U."""
    A = check_matrix(op, A, square=False)
    f = _ops.LU(pivot)
    L, U = unpack(f(A), f.parts)
    return A, f, L, U


def lu(A, *, pivot=True):
    r"""``(P, L, U)`` with A = P·L·U for A (..., m, n): P a permutation matrix (partial
    pivoting: at each step the row of largest magnitude, as LAPACK's getrf), L m × k unit
    lower triangular, U k × n upper triangular, k = min(m, n). A singular A is factored
    too (U then has a zero on its diagonal). ``pivot=False``: P = I, and a zero pivot
    gives inf/nan (PyTorch implements this on CUDA only; minigrad on both devices).

    Gradient (L and U; P has none): the standard LU rule with its wide and tall forms
    (:func:`~minigrad.ops.linalg.lu_backward`), for A of full rank.

    Examples
    --------
    >>> import minigrad as mg
    >>> P, L, U = lu(mg.tensor([[1.0, 2.0], [4.0, 4.0]]))
    >>> P.tolist(), L.tolist(), U.tolist()
    ([[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.25, 1.0]], [[4.0, 4.0], [0.0, 1.0]])
    """
    A, f, L, U = _lu("linalg.lu", A, pivot)
    return lu_result(const(_ops.permutation_matrix(A.xp, f.perm, A.dtype)), L, U)


def _pack_lu(L, U):
    """L's strict lower triangle and U in one m × n tensor, as LAPACK's getrf leaves them
    (differentiable in both)."""
    from .ops.shape import pad

    (m, k), n = L.shape[-2:], U.shape[-1]
    return pad(_ops.tril(L, -1), (0, n - k)) + pad(U, (0, 0, 0, m - k))


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    r"""``(LU, pivots, info)``: :func:`lu_factor` that does not raise on a singular A
    (unless ``check_errors``): ``info`` (int32, A's batch shape) is the 1-based index of
    the first zero on U's diagonal, 0 where there is none.

    Examples
    --------
    >>> import minigrad as mg
    >>> lu_factor_ex(mg.tensor([[1.0, 2.0], [2.0, 4.0]])).info.item()
    2
    """
    return _lu_factor_ex("linalg.lu_factor_ex", A, pivot, check_errors)


def _lu_factor_ex(op, A, pivot, check_errors):
    A, f, L, U = _lu(op, A, pivot)
    info = f.info
    if check_errors and bool((info != 0).any()):
        first = int(info.reshape(-1)[(info.reshape(-1) != 0).argmax()])
        raise LinAlgError(f"{op}: U[{first},{first}] is zero (the matrix is singular) and "
                          "using it in lu_solve would divide by zero; linalg.lu or "
                          "linalg.lu_factor_ex factor it anyway")
    return lu_factor_ex_result(_pack_lu(L, U), const(f.pivots), const(info))


def lu_factor(A, *, pivot=True):
    r"""``(LU, pivots)``: the LU decomposition with partial pivoting of A (..., m, n) in
    LAPACK's compact form — L's strict lower triangle (its unit diagonal implied) and U
    in one tensor, and ``pivots`` (int32, 1-based: row i was swapped with row
    pivots[i] − 1, in turn). A singular A raises :class:`LinAlgError`, as PyTorch. LU is
    differentiable (:func:`lu`'s rule); :func:`lu_solve` and
    :func:`minigrad.lu_unpack` take the pair.

    Examples
    --------
    >>> import minigrad as mg
    >>> LU, pivots = lu_factor(mg.tensor([[1.0, 2.0], [4.0, 4.0]]))
    >>> LU.tolist(), pivots.tolist()
    ([[4.0, 4.0], [0.25, 1.0]], [2, 2])
    """
    LU, pivots, _ = _lu_factor_ex("linalg.lu_factor", A, pivot, check_errors=True)
    return lu_factor_result(LU, pivots)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    r"""X with A·X = B from A's :func:`lu_factor` (``left=False``: X·A = B; ``adjoint``:
    Aᵀ in place of A). With A = P·L·U: X = U⁻¹·L⁻¹·Pᵀ·B, by two triangular solves that
    read LU's triangles (:func:`solve_triangular`), so X is differentiable in LU (and
    through it in A) and in B. Batch dims broadcast; B needs at least 2 dims.

    Where minigrad differs: a U with a zero on its diagonal raises :class:`LinAlgError`
    (PyTorch returns inf/nan); :func:`lu_factor` refuses such a matrix in both.

    Examples
    --------
    >>> import minigrad as mg
    >>> A = mg.tensor([[1.0, 2.0], [4.0, 4.0]])
    >>> lu_solve(*lu_factor(A), mg.tensor([[5.0], [12.0]])).tolist()
    [[1.0], [2.0]]
    """
    op = "linalg.lu_solve"
    LU = check_matrix(op, LU)
    _check_floating(op, B, "B")
    piv = _ops.check_pivots(op, pivots, LU)
    LU, B = _ops._batched_pair(op, LU, B)
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        side = "rows" if left else "columns"
        raise ValueError(f"{op}: B {B.shape} must have {n} {side}, as LU {LU.shape}")
    xp = LU.xp
    perm = _ops.pivots_to_perm(xp, xp.broadcast_to(piv, LU.shape[:-1]), n)
    P = const(_ops.permutation_matrix(xp, perm, LU.dtype))
    Lt, Ut = dict(upper=False, unitriangular=True), dict(upper=True)
    try:
        if left and not adjoint:       # U X = L⁻¹ Pᵀ B
            return solve_triangular(LU, solve_triangular(LU, P.mT @ B, **Lt), **Ut)
        if left:                       # Aᵀ = Uᵀ Lᵀ Pᵀ: X = P L⁻ᵀ U⁻ᵀ B
            Y = solve_triangular(LU.mT, B, upper=False)
            return P @ solve_triangular(LU.mT, Y, upper=True, unitriangular=True)
        if not adjoint:                # X = B U⁻¹ L⁻¹ Pᵀ
            Y = solve_triangular(LU, B, left=False, **Ut)
            return solve_triangular(LU, Y, left=False, **Lt) @ P.mT
        Y = solve_triangular(LU.mT, B @ P, upper=True, unitriangular=True, left=False)
        return solve_triangular(LU.mT, Y, upper=False, left=False)   # X = B P L⁻ᵀ U⁻ᵀ
    except LinAlgError:
        raise LinAlgError(f"{op}: U has a zero on its diagonal (A is singular)") from None


# =========================================================================== *_ex: no raise
inv_ex_result = namedtuple("inv_ex_result", ["inverse", "info"])
solve_ex_result = namedtuple("solve_ex_result", ["result", "info"])
cholesky_ex_result = namedtuple("cholesky_ex_result", ["L", "info"])


def _cholesky_info(A):
    """Per matrix of the batch: the order (1-based) of the first leading minor that is not
    positive-definite, 0 when A is (an unblocked Cholesky on the lower triangle, float64)."""
    xp = A.xp
    a = A.data.astype(np.float64)
    n = a.shape[-1]
    flat = a.reshape((-1, n, n))
    L = xp.zeros_like(flat)
    info = xp.zeros(flat.shape[0], dtype=np.int32)
    for j in range(n):
        d = flat[:, j, j] - (L[:, j, :j] ** 2).sum(-1)
        failed = ~(d > 0) & (info == 0)
        info = xp.where(failed, j + 1, info).astype(np.int32)
        root = xp.sqrt(xp.where(d > 0, d, 1.0))
        L[:, j, j] = root
        L[:, j + 1:, j] = (flat[:, j + 1:, j] - (L[:, j + 1:, :j] @ L[:, j, :j, None])[..., 0]
                           ) / root[:, None]
    return info.reshape(a.shape[:-2])


def _guarded(A, info, op, message, check_errors, compute):
    """``compute(A)`` with the failed matrices of the batch (info ≠ 0) replaced by the
    identity for the computation and by NaN in the result; raises with ``check_errors``."""
    if check_errors and bool((info != 0).any()):
        raise LinAlgError(f"{op}: {message}")
    bad = info != 0
    if not bool(bad.any()):
        return compute(A)
    from .creation import eye

    mask = const(bad.reshape(bad.shape + (1, 1)))
    identity = eye(A.shape[-1], dtype=A.dtype, device=A.device)
    out = compute(where(mask, identity, A))
    return where(mask.reshape(bad.shape + (1,) * (out.ndim - bad.ndim)), float("nan"), out)


def inv_ex(A, *, check_errors=False):
    """``(inverse, info)``: :func:`inv` that does not raise on a singular matrix: ``info``
    (int32, A's batch shape) is nonzero there (the 1-based index of U's first zero pivot)
    and that inverse is NaN; the others are exact and differentiable.

    >>> import minigrad as mg
    >>> inv_ex(mg.tensor([[1.0, 2.0], [2.0, 4.0]])).info.item()
    2
    """
    check_matrix("linalg.inv_ex", A, square=True)
    info = lu_factor_ex(A).info.data
    return inv_ex_result(_guarded(A, info, "linalg.inv_ex", "the matrix is singular",
                                  check_errors, inv), const(info))


def solve_ex(A, B, *, left=True, check_errors=False):
    """``(result, info)``: :func:`solve` that does not raise on a singular A (``info`` as
    in :func:`inv_ex`; the solution of a singular system is NaN)."""
    check_matrix("linalg.solve_ex", A, square=True)
    info = lu_factor_ex(A).info.data
    return solve_ex_result(_guarded(A, info, "linalg.solve_ex", "the matrix A is singular",
                                    check_errors, lambda a: solve(a, B, left=left)),
                           const(info))


def cholesky_ex(A, *, upper=False, check_errors=False):
    """``(L, info)``: :func:`cholesky` that does not raise: ``info`` (int32, A's batch
    shape) is the order of the first leading minor that is not positive-definite (0 when
    A is), and that factor is NaN.

    >>> import minigrad as mg
    >>> cholesky_ex(mg.tensor([[1.0, 2.0], [2.0, 1.0]])).info.item()
    2
    """
    check_matrix("linalg.cholesky_ex", A, square=True)
    info = _cholesky_info(A)
    return cholesky_ex_result(_guarded(A, info, "linalg.cholesky_ex",
                                       "the matrix is not positive-definite", check_errors,
                                       lambda a: cholesky(a, upper=upper)), const(info))


__all__ += ["inv_ex", "solve_ex", "cholesky_ex"]
