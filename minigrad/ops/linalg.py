r"""Linear algebra: matrix products, matrix structure, and the matrix decompositions with
their derivative rules.

Each Function's docstring gives y and its VJP, with the source of the rule. Every backward
is written in Tensor ops (the Functions of this module, matmul, the elementwise and shape
ops), so it can be differentiated again: gradgradcheck holds wherever PyTorch has a
double backward. The rules, by group:

- products: ``MatMul`` (matmul, mm, bmm, dot, outer, inner, addmm, baddbmm, addmv are
  built on it or on broadcasting products), ``Einsum``;
- structure: ``Diagonal`` and ``DiagonalScatter``, each the VJP of the other (diagonal,
  diag, diag_embed, trace); tril/triu, cross, kron and cdist are compositions;
- decompositions: ``Det``, ``LogAbsDet``, ``Inv``, ``Solve``, ``Cholesky``, ``QR``,
  ``Eigh``, ``EigvalsH``, ``SVD``, ``SVDVals``, ``Pinv``, ``LU``. The public torch.linalg
  namespace over them is :mod:`minigrad.linalg`.

Decompositions with several outputs (QR, eigh, SVD) are one Function whose output holds
the results side by side along a last dim, taken apart by differentiable slices
(:func:`unpack`): the engine's Functions have one output. The slices that the loss does
not use send back constant zeros, which the rules below treat as PyTorch treats an
undefined gradient (:func:`_used`): they are skipped, so that, for example, the
eigenvalues of a matrix with repeated eigenvalues keep a finite gradient.

Errors: shapes a function cannot take raise ``ValueError`` naming the op and the shapes;
a singular or not positive-definite matrix raises :class:`LinAlgError` (a RuntimeError,
as PyTorch's ``torch.linalg.LinAlgError``) naming the op, never NumPy's exception.
"""
from __future__ import annotations

import math
import string
from collections import Counter, namedtuple

import numpy as np

from .. import dtypes as _dt
from ..amp.autocast_mode import (
    autocast_float32,
    autocast_inputs,
    autocast_off,
    half_matmul,
    is_half,
)
from ..autograd.function import Function, ieee, product_inputs_read
from ..tensor import Tensor
from .elementwise import const, promote, where
from .shape import _dim, _sized_dim, broadcasts_to, cat


class LinAlgError(RuntimeError):
    """The matrix is one the op cannot handle: singular (inv, solve), not
    positive-definite (cholesky), or the iteration did not converge (eigh, svd).
    PyTorch's ``torch.linalg.LinAlgError``, also a RuntimeError."""


# =========================================================================== products
class MatMul(Function):
    """Y = A @ B for A (..., m, k), B (..., k, n) with broadcast batch dims.
    VJP: gA = gY @ Bᵀ, gB = Aᵀ @ gY (batch broadcasting is summed away by the engine)."""

    amp_policy = "half"
    inputs_read = product_inputs_read
    out_dtype = None  # of a product of half operands: their dtype (see MatMulFloat32)

    def forward(self, xp, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: inner dimensions differ: {a.shape[-1]} (from {a.shape}) "
                f"vs {b.shape[-2]} (from {b.shape})"
            )
        # PyTorch refuses int @ float; we promote
        return half_matmul(xp, *promote(a, b), out_dtype=self.out_dtype)

    def backward(self, gy):
        a, b = self.inputs
        ga = gy @ b.mT if self.needs_input_grad[0] else None
        gb = a.mT @ gy if self.needs_input_grad[1] else None
        return ga, gb


class MatMulFloat32(MatMul):
    """Y = A @ B, where half operands (both float16 or both bfloat16) give a float32 Y: the
    float32 accumulation kept, not rounded to half (the scores of flash attention before
    their softmax, :func:`~minigrad.nn.attention.scaled_dot_product_attention`). Other
    dtypes: :class:`MatMul`, whose autocast policy its caller applies instead.

    VJP (half operands): gA = half(gY) @ Bᵀ, gB = Aᵀ @ half(gY), each accumulated in
    float32 and rounded once to its operand's dtype, as flash attention's backward rounds
    dS to half for its two products (half tensor cores, no float32 GEMM)."""

    amp_policy = None
    out_dtype = np.float32

    def backward(self, gy):
        a, b = self.inputs
        if not (a.dtype == b.dtype and is_half(a.dtype)):
            return super().backward(gy)
        g = gy.to(dtype=a.dtype)
        ga = MatMulFloat32()(g, b.mT) if self.needs_input_grad[0] else None
        gb = MatMulFloat32()(a.mT, g) if self.needs_input_grad[1] else None
        return ga, gb


class Dot(MatMul):
    """y = a @ b for a row a (1, k) and a column b (k, 1): PyTorch's ``dot``, ``vdot`` and
    ``inner`` of two vectors, which are on neither of autocast's lists (they run in their
    inputs' dtype), while ``matmul`` is on its half list.   VJP: MatMul's."""

    amp_policy = None


def _vector_product(op, a, b):
    """Σ aᵢ·bᵢ of two 1-D tensors of equal length, by :class:`Dot`."""
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"{op}: expects 1-D tensors, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"{op}: vectors of different lengths: {a.shape} and {b.shape}")
    return Dot()(a.unsqueeze(0), b.unsqueeze(-1)).reshape(())


def _sparse_product(a, b):
    """The product when an operand is a sparse tensor (COO, CSR, 2:4): the sparse
    product (:func:`minigrad.sparse.mm`), which takes 1-D and 2-D dense operands, as
    PyTorch's matmul and mm take a sparse operand. None when both are dense."""
    if not (getattr(a, "is_sparse", False) or getattr(b, "is_sparse", False)):
        return None
    from ..sparse import mm as sparse_mm

    return sparse_mm(a, b)


def matmul(a, b):
    """PyTorch/NumPy matmul semantics, 1-d operands included: a 1-d left operand is a
    row vector, a 1-d right operand a column vector, and the added dim is removed.
    With a sparse operand, the sparse product (:func:`minigrad.sparse.mm`)."""
    product = _sparse_product(a, b)
    if product is not None:
        return product
    for x in (a, b):
        if not isinstance(x, Tensor):
            raise TypeError(f"matmul: expects Tensors, got {type(x).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} "
                         f"and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:  # a MatMul all the same: on autocast's half list
        if a.shape != b.shape:
            raise ValueError(f"matmul: vectors of different lengths: {a.shape} and {b.shape}")
        return MatMul()(a.unsqueeze(0), b.unsqueeze(-1)).reshape(())
    if a.ndim == 1:
        return MatMul()(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return MatMul()(a, b.unsqueeze(-1)).squeeze(-1)
    return MatMul()(a, b)


def _need_ndim(op, what, x, ndim):
    if x.ndim != ndim:
        raise ValueError(f"{op}: {what} must be {ndim}-D, got shape {x.shape}")


def _need_product(op, a_name, a, a_ndim, b_name, b, b_ndim):
    """The operands of a product ``a @ b`` have the dims ``op`` takes and equal inner
    dims (a's last; b's first when b is a vector, else its second to last)."""
    _need_ndim(op, a_name, a, a_ndim)
    _need_ndim(op, b_name, b, b_ndim)
    k_a, k_b = a.shape[-1], b.shape[0 if b_ndim == 1 else -2]
    if k_a != k_b:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({k_a} != {k_b})")


def mm(input, mat2):
    """The product of two matrices (PyTorch's ``mm``: 2-D only, no broadcasting); with a
    sparse operand, the sparse product (:func:`minigrad.sparse.mm`)."""
    _need_product("mm", "input", input, 2, "mat2", mat2, 2)
    product = _sparse_product(input, mat2)
    return product if product is not None else MatMul()(input, mat2)


def bmm(input, mat2):
    """Batched matrix product: (b, n, m) @ (b, m, p) → (b, n, p), no broadcasting."""
    _need_ndim("bmm", "input", input, 3)
    _need_ndim("bmm", "mat2", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: batch1 and batch2 must have the same number of batches, "
                         f"got shapes {input.shape} and {mat2.shape}")
    if input.shape[2] != mat2.shape[1]:
        raise ValueError(f"bmm: shapes {input.shape} and {mat2.shape} cannot be multiplied "
                         f"({input.shape[2]} != {mat2.shape[1]})")
    return MatMul()(input, mat2)


def dot(input, other):
    """The inner product of two 1-D tensors of equal length (PyTorch's ``torch.dot``;
    under autocast it keeps its inputs' dtype, as PyTorch's)."""
    return _vector_product("dot", input, other)


def outer(input, vec2):
    """yᵢⱼ = aᵢ·bⱼ for 1-D a (n,) and b (m,): an (n, m) matrix."""
    _need_ndim("outer", "input", input, 1)
    _need_ndim("outer", "vec2", vec2, 1)
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def inner(input, other):
    """The inner product over the last dims: shape ``a.shape[:-1] + b.shape[:-1]``
    (a product with a 0-d tensor is elementwise)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    k = input.shape[-1]
    if other.shape[-1] != k:
        raise ValueError(f"inner: last dims differ: shapes {input.shape} and {other.shape}")
    if input.ndim == 1 and other.ndim == 1:  # PyTorch's dot: not cast by autocast
        return _vector_product("inner", input, other)
    y = MatMul()(input.reshape(-1, k), other.reshape(-1, k).mT)
    return y.reshape(input.shape[:-1] + other.shape[:-1])


def _scaled_sum(op, input, product, beta, alpha):
    """β·input + α·product, with input broadcast to the product's shape (PyTorch's addmm
    family); β = 0 ignores input (its nan/inf do not propagate), as in PyTorch."""
    if not broadcasts_to(input.shape, product.shape):
        raise ValueError(f"{op}: input of shape {input.shape} does not broadcast to the "
                         f"product's shape {product.shape}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return (input if beta == 1 else input * beta) + product


def _autocast_result(y):
    """The result of an op on autocast's half list that is composed here of ops with
    other policies (a half product plus a float32 input is float32): rounded once to the
    region's half dtype, the dtype PyTorch's single op returns; unchanged outside one."""
    (y,) = autocast_inputs(y)
    return y


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """β·input + α·(mat1 @ mat2) for 2-D mat1, mat2 (input broadcasts). Under autocast
    the product is half and the sum is rounded to half (PyTorch: half)."""
    return _autocast_result(_scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·bmm(batch1, batch2) for 3-D batches (input broadcasts); half under
    autocast, as :func:`addmm`."""
    return _autocast_result(_scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha))


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """β·input + α·(mat @ vec) for a 2-D mat (n, m) and a 1-D vec (m,); half under
    autocast (PyTorch's CUDA list; its CPU autocast leaves addmv float32)."""
    _need_product("addmv", "mat", mat, 2, "vec", vec, 1)
    return _autocast_result(_scaled_sum("addmv", input, matmul(mat, vec), beta, alpha))


# --------------------------------------------------------------------------- einsum
_LETTERS = string.ascii_letters  # a-z then A-Z; sorted() puts A-Z first, as PyTorch


def _parse_einsum(equation, shapes):
    """``equation`` spelled out for these operand shapes: (input subscripts, output
    subscripts, size of each letter), ``...`` replaced by letters of its own.

    PyTorch's rules: ``...`` stands for the same broadcast dims in every operand
    (right-aligned); without ``->`` the output is the ellipsis dims followed by the
    letters that occur exactly once, in alphabetical order (A-Z before a-z); with ``->``
    but no ``...`` in the output the ellipsis dims are summed; size-1 dims of a letter
    broadcast against the other operands'."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand "
                         f"subscripts, but {len(shapes)} operands were given")
    for t in terms + [out]:
        if t.count("...") > 1 or set(t.replace("...", "")) - set(_LETTERS):
            raise ValueError(f"einsum: invalid subscripts {t!r} in {equation!r} (letters "
                             "a-z and A-Z, at most one '...' per operand)")
    free = [c for c in _LETTERS if c not in eq]
    n_ell = max([len(s) - len(t) + 3 for t, s in zip(terms, shapes) if "..." in t] or [0])
    ell = "".join(free[:n_ell])
    full = []
    for i, (t, s) in enumerate(zip(terms, shapes)):
        if "..." in t:
            k = len(s) - len(t) + 3
            t = t.replace("...", ell[n_ell - k:]) if k >= 0 else t
        if len(t) != len(s):
            raise ValueError(f"einsum: operand {i} has shape {tuple(s)}, which its "
                             f"subscripts {terms[i]!r} do not fit")
        full.append(t)
    if arrow:
        out = out.replace("...", ell)
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts {out!r} repeat a letter")
        if set(out) - set("".join(full)):
            raise ValueError(f"einsum: output subscripts of {equation!r} name a letter "
                             "that no operand has")
    else:
        counts = Counter("".join(full))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    sizes = {}
    for i, (t, s) in enumerate(zip(full, shapes)):
        own = {}
        for c, n in zip(t, s):
            if own.setdefault(c, n) != n:
                raise ValueError(f"einsum: subscript {c} is repeated for operand {i} but "
                                 f"the sizes don't match, {own[c]} != {n}")
        for c, n in own.items():
            m = sizes.get(c, 1)
            if n != 1 and m != 1 and n != m:
                raise ValueError(f"einsum: operands do not broadcast with remapped shapes "
                                 f"{[tuple(s) for s in shapes]} of {equation!r}: "
                                 f"subscript {c} has sizes {m} and {n}")
            sizes[c] = n if n != 1 else m
    return full, out, sizes


def _contracts(terms, out):
    """Whether an einsum multiplies operands and sums a product away: a letter of two
    or more operands that is not in the output (``"ij,kj->ik"``, ``"i,i->"``), the case
    PyTorch computes with ``bmm``, on autocast's half list. A sum within one operand
    (``"ij->i"``) or a product without a sum (``"i,j->ij"``) runs in the inputs' dtype."""
    return any(c not in out and sum(c in t for t in terms) >= 2 for c in set("".join(terms)))


class Einsum(Function):
    r"""y = Σ over the letters not in the output of Πₖ xₖ[sₖ]: ``xp.einsum`` on explicit
    subscripts (``terms``) whose letters have one size in every operand.

    VJP (einsum is linear in each operand): operand k gets gy contracted with the others,

        gxₖ[sₖ] = Σ gy[out] · Π_{j≠k} xⱼ[sⱼ],

    written as one more Einsum, where a letter repeated in sₖ (a diagonal, x[i, i]) takes
    a fresh letter i′ and a constant factor δ_{ii′} (an identity matrix), so that gxₖ is
    zero off that diagonal, and a letter found in sₖ only (summed away inside xₖ alone)
    takes a constant factor 1ᵢ (a vector of ones), so that gy is spread along it. The
    gradient is an Einsum of tensors, so it is differentiable again (the product rule
    for multilinear maps; see e.g. Laue, Mitterreiter & Giesen, "A simple and efficient
    tensor calculus", AAAI 2020)."""

    def __init__(self, terms, out):
        self.terms, self.out = tuple(terms), out
        # a contraction is a product of matrices: on autocast's half list (as bmm)
        self.amp_policy = "half" if _contracts(self.terms, out) else None

    def forward(self, xp, *arrays):
        arrays = promote(*arrays)
        self.sizes = {c: n for t, a in zip(self.terms, arrays) for c, n in zip(t, a.shape)}
        dtype = arrays[0].dtype
        if is_half(dtype):  # sums of half products in float32, rounded once (as half_matmul)
            arrays = [a.astype(np.float32) for a in arrays]
        y = xp.einsum(f"{','.join(self.terms)}->{self.out}", *arrays, optimize=True)
        if y.dtype != dtype:
            return y.astype(dtype)
        return y.copy() if len(arrays) == 1 else y  # one operand: einsum may return a view

    def backward(self, gy):
        xs, xp = self.inputs, gy.xp
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            subs = [self.out] + [t for j, t in enumerate(self.terms) if j != k]
            ops = [gy] + [x for j, x in enumerate(xs) if j != k]
            fresh = iter(c for c in _LETTERS if c not in "".join(self.terms) + self.out)
            target, seen = "", set()
            for c in self.terms[k]:
                if c in seen:  # the diagonal x[.., i, .., i, ..]: a fresh letter and δ
                    f = next(fresh, None)
                    if f is None:
                        raise ValueError("einsum: too many letters for the gradient of a "
                                         "repeated subscript (at most 52 in all)")
                    subs.append(c + f)
                    ops.append(const(xp.eye(self.sizes[c], dtype=gy.dtype)))
                    c = f
                seen.add(c)
                target += c
            present = set("".join(subs))
            for c in target:
                if c not in present:  # summed inside x_k alone: gy is spread along it
                    subs.append(c)
                    ops.append(const(xp.ones(self.sizes[c], dtype=gy.dtype)))
            grads.append(Einsum(subs, target)(*ops))
        return tuple(grads)


def einsum(equation, *operands):
    r"""Einstein summation, PyTorch's ``einsum(equation, *operands)`` (also
    ``einsum(equation, [a, b, ...])``).

    Implicit (``"ij,jk"``: the output is the letters that occur once, sorted) and
    explicit (``"ij,jk->ik"``) outputs, ``...`` for broadcast batch dims, repeated letters
    within one operand (``"ii->i"``, a diagonal; ``"ii"``, the trace) and letters summed
    away inside one operand (``"ij->i"``). The forward is ``xp.einsum(optimize=True)``;
    the gradient is an einsum again (:class:`Einsum`), so it has a gradient of its own.

    Examples
    --------
    >>> import minigrad as mg
    >>> a = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> mg.einsum("ii", a), mg.einsum("ij->j", a), mg.einsum("i,j->ij", a[0], a[1])
    (tensor(5.), tensor([4., 6.]), tensor([[3., 4.],
            [6., 8.]]))
    """
    if isinstance(equation, Tensor):  # the sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: expects at least one operand")
    if not all(isinstance(x, Tensor) for x in operands):
        raise TypeError("einsum: the operands must be tensors")
    terms, out, sizes = _parse_einsum(equation, [x.shape for x in operands])
    operands = [x.broadcast_to(tuple(sizes[c] for c in t)) for x, t in zip(operands, terms)]
    return Einsum(terms, out)(*operands)


def _sublist_equation(args):
    """(equation, operands) of PyTorch's sublist form: operand, list of ints (0…51, or
    Ellipsis), …, and an optional output list."""
    letters = string.ascii_lowercase + string.ascii_uppercase

    def term(sublist):
        out = []
        for s in sublist:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, int) and 0 <= s < len(letters):
                out.append(letters[s])
            else:
                raise ValueError(f"einsum: subscripts must be ints in [0, {len(letters)}) or "
                                 f"Ellipsis, got {s!r}")
        return "".join(out)

    args = list(args)
    output = args.pop() if len(args) % 2 == 1 else None
    operands, terms = args[0::2], args[1::2]
    if not all(isinstance(x, Tensor) for x in operands) or not all(
            isinstance(t, (list, tuple)) for t in terms):
        raise TypeError("einsum: the sublist form alternates tensors and lists of "
                        "subscripts, with an optional output list at the end")
    equation = ",".join(term(t) for t in terms)
    if output is not None:
        equation += "->" + term(output)
    return equation, tuple(operands)


# =========================================================================== structure
def _diagonal_positions(n1, n2, offset):
    """Row and column indices of the diagonal ``offset`` of an n1 × n2 matrix (above the
    main one for offset > 0), as NumPy's and PyTorch's ``diagonal`` define it."""
    k = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    i = np.arange(k)
    return i + max(-offset, 0), i + max(offset, 0)


class Diagonal(Function):
    """y = the diagonal ``offset`` of the (dim1, dim2) planes of x, as a new last dim: a
    view, as in PyTorch (``x.diagonal().fill_(1)`` under no_grad writes into x).
    VJP: gx = zeros of x's shape with gy on that diagonal (:class:`DiagonalScatter`)."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, offset, dim1, dim2):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, xp, x):
        self.x_shape = x.shape
        y = xp.diagonal(x, self.offset, self.dim1, self.dim2)
        if xp is np:  # NumPy hands the diagonal out read-only; the view is writable
            y.flags.writeable = x.flags.writeable
        return y

    def backward(self, gy):
        return DiagonalScatter(self.x_shape, self.offset, self.dim1, self.dim2)(gy)


class DiagonalScatter(Function):
    """y = zeros of ``shape`` with the diagonal ``offset`` of its (dim1, dim2) planes set to
    x (whose last dim runs along it): ``diag_embed``, and the VJP of :class:`Diagonal`.
    VJP: gx = the same diagonal of gy (:class:`Diagonal`)."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, shape, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = tuple(shape), offset, dim1, dim2

    def forward(self, xp, x):
        y = xp.zeros(self.shape, dtype=x.dtype)
        planes = xp.moveaxis(y, (self.dim1, self.dim2), (-2, -1))  # a writable view
        rows, cols = _diagonal_positions(planes.shape[-2], planes.shape[-1], self.offset)
        planes[..., xp.asarray(rows), xp.asarray(cols)] = x
        return y

    def backward(self, gy):
        return Diagonal(self.offset, self.dim1, self.dim2)(gy)


def _two_dims(op, dim1, dim2, ndim):
    d1, d2 = _dim(dim1, ndim, op), _dim(dim2, ndim, op)
    if d1 == d2:
        raise ValueError(f"{op}: dim1 and dim2 cannot be the same dim ({dim1}, {dim2})")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal ``offset`` (> 0 above the main one) of the planes (dim1, dim2), as the
    last dim of the result (PyTorch's ``diagonal``)."""
    if input.ndim < 2:
        raise ValueError(f"diagonal: input must have at least 2 dims, got shape {input.shape}")
    d1, d2 = _two_dims("diagonal", dim1, dim2, input.ndim)
    return Diagonal(offset, d1, d2)(input)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices (in dims dim1, dim2 of the result) with the last dim of ``input`` on their
    diagonal ``offset`` and zeros elsewhere (PyTorch's ``diag_embed``)."""
    if input.ndim < 1:
        raise ValueError("diag_embed: input must have at least 1 dim, got a 0-d tensor")
    d1, d2 = _two_dims("diag_embed", dim1, dim2, input.ndim + 1)
    n = input.shape[-1] + abs(offset)
    shape = list(input.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    return DiagonalScatter(shape, offset, d1, d2)(input)


def diag(input, diagonal=0):
    """1-D input: the square matrix with it on diagonal ``diagonal``; 2-D input: that
    diagonal, as a 1-D tensor (PyTorch's ``diag``)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return Diagonal(diagonal, 0, 1)(input)
    raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {input.shape}")


def trace(input):
    """The sum of the main diagonal of a 2-D tensor."""
    _need_ndim("trace", "input", input, 2)
    return Diagonal(0, 0, 1)(input).sum()


def _triangle(op, input, keep):
    """``input`` with zeros where ``keep`` (a boolean matrix of the last two dims) is False:
    ``where``, so nan and inf outside the triangle do not leak into it."""
    if input.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dims, got shape {input.shape}")
    return where(keep, input, const(input.xp.zeros((), dtype=input.dtype)))


def tril(input, diagonal=0):
    """The lower triangle (on and below diagonal ``diagonal``) of the last two dims; zeros
    above. VJP: the same triangle of gy."""
    n, m = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    return _triangle("tril", input, input.xp.tri(n, m, k=diagonal, dtype=bool))


def triu(input, diagonal=0):
    """The upper triangle (on and above diagonal ``diagonal``) of the last two dims; zeros
    below. VJP: the same triangle of gy."""
    n, m = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    return _triangle("triu", input, ~input.xp.tri(n, m, k=diagonal - 1, dtype=bool))


def _broadcast_pair(op, a, b):
    try:
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast") from None
    return a.broadcast_to(shape), b.broadcast_to(shape)


def cross(input, other, dim=None):
    r"""The cross product a × b of 3-vectors along ``dim`` (sizes broadcast; the numbers of
    dims must agree, as in PyTorch):
    (a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀). ``dim=None`` takes the first dim of size 3,
    as ``torch.cross`` (which warns that this default is deprecated; minigrad does not);
    ``minigrad.linalg.cross`` defaults to the last dim."""
    if input.ndim != other.ndim:  # PyTorch broadcasts sizes, not numbers of dims, here
        raise ValueError(f"cross: inputs must have the same number of dims, got shapes "
                         f"{input.shape} and {other.shape}")
    a, b = _broadcast_pair("cross", input, other)
    if dim is None:
        dim = next((d for d, n in enumerate(a.shape) if n == 3), None)
        if dim is None:
            raise ValueError(f"cross: no dim of size 3 in the shape {a.shape}")
    d = _sized_dim(dim, a, "cross")
    if a.shape[d] != 3:
        raise ValueError(f"cross: dim {dim} of shape {a.shape} must have size 3, got "
                         f"{a.shape[d]}")
    nxt, prev = np.array([1, 2, 0]), np.array([2, 0, 1])  # component i+1 and i+2 (mod 3)
    return (a.index_select(d, nxt) * b.index_select(d, prev)
            - a.index_select(d, prev) * b.index_select(d, nxt))


def kron(input, other):
    """The Kronecker product: y[i·q + j] = a[i]·b[j] along every dim (the operand with fewer
    dims gets leading size-1 dims), a broadcasting product of interleaved reshapes."""
    a, b = input, other
    n = max(a.ndim, b.ndim)
    sa, sb = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
    a2 = a.reshape(tuple(v for s in sa for v in (s, 1)))
    b2 = b.reshape(tuple(v for s in sb for v in (1, s)))
    return (a2 * b2).reshape(tuple(x * y for x, y in zip(sa, sb)))


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    r"""The p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M):
    y[..., i, j] = ‖x1[..., i, :] − x2[..., j, :]‖_p, p ∈ [0, ∞] (batch dims broadcast).
    Where a distance is 0 its gradient is 0, as in PyTorch.

    Notes
    -----
    Computed from the differences (P·R·M elements), always: ``compute_mode`` is checked
    and accepted for PyTorch compatibility, but PyTorch's matrix-product shortcut for
    p = 2 (faster, less accurate) is not used."""
    from ..linalg import vector_norm

    if x1.ndim < 2 or x2.ndim < 2:
        raise ValueError(f"cdist: expects tensors with at least 2 dims, got shapes "
                         f"{x1.shape} and {x2.shape}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: x1 and x2 must have the same number of columns, got "
                         f"shapes {x1.shape} and {x2.shape}")
    if not p >= 0:
        raise ValueError(f"cdist: p must be non-negative, got {p}")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"cdist: compute_mode must be one of {_CDIST_MODES}, got "
                         f"{compute_mode!r}")
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, dim=-1)


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: :func:`minigrad.linalg.pinv` with ``rtol=rcond``."""
    from ..linalg import pinv

    return pinv(input, rtol=rcond)


# =========================================================================== decompositions
def check_matrix(op, A, square=True, name="A"):
    """``A`` ready for a decomposition: a float32/float64 tensor (half ones are upcast
    inside ``autocast``, refused outside it: PyTorch refuses low-precision dtypes in its
    decompositions) with at least 2 dims, square in the last two when ``square``."""
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}: expects a tensor, got {type(A).__name__}")
    (A,) = autocast_float32(A)
    _dt.require_floating(op, A, "A")
    if A.dtype.itemsize < 4:
        raise TypeError(f"{op}: low-precision dtype {A.dtype} is not supported (as in "
                        "PyTorch); convert with .float() first (inside autocast it runs "
                        "in float32)")
    if A.ndim < 2:
        raise ValueError(f"{op}: {name} must have at least 2 dims, got shape {A.shape}")
    if square and A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: {name} must be batches of square matrices, but they are "
                         f"{A.shape[-2]} by {A.shape[-1]} matrices (shape {A.shape})")
    return A


def _lapack(xp, op, problem, fn, *args, **kwargs):
    """``fn(*args)``, with NumPy's LinAlgError (a singular or indefinite matrix, no
    convergence) raised as ours, naming the op. CuPy does not raise: it returns nan, which
    is checked instead."""
    try:
        out = fn(*args, **kwargs)
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: {problem}") from None
    if xp is not np:
        for a in out if isinstance(out, tuple) else (out,):
            if not bool(xp.isfinite(a).all()):
                raise LinAlgError(f"{op}: {problem} (or the input has nan/inf entries)")
    return out


def _mT(xp, a):
    return xp.swapaxes(a, -1, -2)


def _pack(xp, batch, *arrays):
    """The arrays (each of shape batch + its own) flattened and joined along a last dim,
    the one output of a multi-output Function; :func:`unpack` takes it apart."""
    return xp.concatenate([a.reshape(batch + (-1,)) for a in arrays], axis=-1)


def unpack(t, shapes):
    """The Tensors packed by :func:`_pack` in ``t``: differentiable slices of its last dim,
    reshaped to the batch dims + each of ``shapes``."""
    out, start, batch = [], 0, t.shape[:-1]
    for s in shapes:
        n = int(np.prod(s, dtype=np.int64))
        out.append(t[..., start:start + n].reshape(batch + tuple(s)))
        start += n
    return out


def _used(g):
    """``g``, or None when it is a constant zero: the gradient of an output the loss does
    not use, which the rules skip as PyTorch skips an undefined gradient."""
    return g if g.requires_grad or bool(g.data.any()) else None


def _eye_mask(xp, n):
    return xp.eye(n, dtype=bool)


def _cofactor(a):
    """The cofactor matrix Cᵢⱼ = (−1)^(i+j)·det(A without row i and column j), by
    differentiable minors: adj(A) = Cᵀ, and ∂det/∂A = C for every A, singular ones too."""
    xp, n = a.xp, a.shape[-1]
    if n == 1:
        return const(xp.ones(a.shape, dtype=a.dtype))
    idx = np.arange(n)
    others = np.array([[j for j in idx if j != i] for i in idx])          # (n, n − 1)
    minors = a[..., others[:, None, :, None], others[None, :, None, :]]   # (.., n, n, n−1, n−1)
    sign = xp.asarray((-1.0) ** (idx[:, None] + idx[None, :]), dtype=a.dtype)
    return Det()(minors) * const(sign)


class Det(Function):
    r"""y = det A for square A (batched).
    VJP: gA = gy·y·A⁻ᵀ (Giles 2008, "An extended collection of matrix derivative
    results", determinant: d det A = det A·tr(A⁻¹dA)); where some A of the batch is exactly
    singular (y = 0), gA = gy·C, the cofactor matrix (C = adj(A)ᵀ = det A·A⁻ᵀ where A⁻¹
    exists), from differentiable (n−1)×(n−1) determinants.

    Where minigrad differs: PyTorch 2 returns a zero gradient for some exactly singular
    matrices (e.g. [[1, 2], [2, 4]]); the cofactor matrix is the derivative there."""

    save_output = True

    def forward(self, xp, a):
        return xp.linalg.det(a)

    def backward(self, gy):
        (a,) = self.inputs
        y = self.saved_output
        if not bool(y.data.all()):
            return gy[..., None, None] * _cofactor(a)
        return (gy * y)[..., None, None] * Inv()(a).mT


class LogAbsDet(Function):
    r"""y = log|det A| (slogdet's ``logabsdet``; its ``sign`` is piecewise constant and
    has no gradient, and is kept in ``self.sign``).
    VJP: gA = gy·A⁻ᵀ (Giles 2008, determinant: d log|det A| = tr(A⁻¹dA)).

    At a singular A (y = −∞) there is no gradient: backward raises :class:`LinAlgError`
    (PyTorch returns ±inf entries)."""

    def forward(self, xp, a):
        self.sign, y = xp.linalg.slogdet(a)
        return y

    def backward(self, gy):
        (a,) = self.inputs
        if not bool(self.sign.all()):
            raise LinAlgError("linalg.slogdet: the gradient of logabsdet does not exist at "
                              "a singular matrix (logabsdet = -inf)")
        return gy[..., None, None] * Inv()(a).mT


class Inv(Function):
    r"""Y = A⁻¹.   VJP: gA = −Yᵀ·gY·Yᵀ (Giles 2008, inverse: dY = −Y·dA·Y)."""

    save_output = True

    def forward(self, xp, a):
        return _lapack(xp, "linalg.inv", "the matrix is singular", xp.linalg.inv, a)

    def backward(self, gy):
        yt = self.saved_output.mT
        return -(yt @ gy @ yt)


class Solve(Function):
    r"""X = A⁻¹B for A (..., n, n) and B (..., n, k), batch dims broadcast.
    VJP (Giles 2008, matrix inverse product): gB = A⁻ᵀ·gX (one more solve, with Aᵀ),
    gA = −gB·Xᵀ."""

    save_output = True

    def forward(self, xp, a, b):
        a, b = promote(a, b)
        batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        a = xp.broadcast_to(a, batch + a.shape[-2:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        return _lapack(xp, "linalg.solve", "the matrix A is singular", xp.linalg.solve, a, b)

    def backward(self, gx):
        a, _ = self.inputs
        gb = Solve()(a.mT, gx)
        ga = -(gb @ self.saved_output.mT) if self.needs_input_grad[0] else None
        return ga, gb if self.needs_input_grad[1] else None


class Cholesky(Function):
    r"""L = cholesky(A), lower triangular with A = L·Lᵀ (only the lower triangle of A is
    read).
    VJP (Murray 2016, "Differentiation of the Cholesky decomposition", in the symmetric
    form of PyTorch's ``cholesky_backward``): P = tril(Lᵀ·gL), Φ = ½(P + tril(P, −1)ᵀ)
    (P's lower triangle, mirrored, with a halved diagonal), gA = L⁻ᵀ·Φ·L⁻¹, symmetric:
    the gradient with respect to a symmetric A. The two triangular solves are general
    solves (:class:`Solve`)."""

    save_output = True

    def forward(self, xp, a):
        return _lapack(xp, "linalg.cholesky", "the input is not positive-definite",
                       xp.linalg.cholesky, a)

    def backward(self, gl):
        L = self.saved_output
        P = tril(L.mT @ gl)
        phi = 0.5 * (P + tril(P, -1).mT)
        x = Solve()(L.mT, phi)                # L⁻ᵀΦ
        return Solve()(L.mT, x.mT).mT         # (L⁻ᵀ (L⁻ᵀΦ)ᵀ)ᵀ = L⁻ᵀΦL⁻¹ (Φ symmetric)


def _copyltu(M):
    """The symmetric matrix with M's lower triangle: tril(M) + tril(M, −1)ᵀ."""
    return tril(M) + tril(M, -1).mT


def _qr_tall_backward(Q, R, gQ, gR):
    r"""gA for A = QR with A m×n, m ≥ n (Q m×n, R n×n): M = R·gRᵀ − gQᵀ·Q,
    gA = (gQ + Q·copyltu(M))·R⁻ᵀ (the solve with R, not an inverse)."""
    M = R @ gR.mT - gQ.mT @ Q
    b = gQ + Q @ _copyltu(M)
    return Solve()(R, b.mT).mT


class QR(Function):
    r"""A = QR (``mode`` "reduced": Q m×k with orthonormal columns, R k×n upper
    triangular, k = min(m, n); "complete": Q m×m; "r": R only). The output packs Q and R
    (:func:`unpack`).

    VJP, for A m×n with m ≥ n (Walter & Lehmann, "Algorithmic differentiation of linear
    algebra functions with application in optimum experimental design", arXiv:1001.1654;
    Liao et al. 2019, "Differentiable programming tensor networks", PRX 9; PyTorch's
    ``linalg_qr_backward``): M = R·gRᵀ − gQᵀ·Q, gA = (gQ + Q·copyltu(M))·R⁻ᵀ, where
    copyltu(M) = tril(M) + tril(M, −1)ᵀ. For m < n, split A = [X | Y] and R = [U | V]
    with X, U m×m: X = QU, V = QᵀY, so gY = Q·gV and gX is the rule above with
    gQ + Y·gVᵀ in place of gQ (Liao et al. 2019).

    Like PyTorch, no gradient for mode "r" (Q is not computed) nor for mode "complete"
    with m > n (Q's extra columns are not determined by A)."""

    save_output = True

    def __init__(self, mode):
        self.mode = mode

    def forward(self, xp, a):
        m, n = a.shape[-2:]
        k = min(m, n)
        batch = a.shape[:-2]
        if self.mode == "r":
            r = xp.linalg.qr(a, mode="r")
            self.parts = [(k, n)]
            return _pack(xp, batch, r)
        q, r = xp.linalg.qr(a, mode=self.mode)
        self.parts = [q.shape[-2:], r.shape[-2:]]
        return _pack(xp, batch, q, r)

    def backward(self, gy):
        (a,) = self.inputs
        m, n = a.shape[-2:]
        if self.mode == "r":
            raise RuntimeError("linalg.qr: the derivative of linalg.qr depends on Q, which "
                               "is not computed when mode='r'; use mode='reduced' to "
                               "differentiate through linalg.qr")
        if self.mode == "complete" and m > n:
            raise RuntimeError("linalg.qr: the QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols")
        Q, R = unpack(self.saved_output, self.parts)
        gQ, gR = unpack(gy, self.parts)
        if m >= n:
            return _qr_tall_backward(Q, R, gQ, gR)
        Y = a[..., m:]
        gU, gV = gR[..., :m], gR[..., m:]
        gX = _qr_tall_backward(Q, R[..., :m], gQ + Y @ gV.mT, gU)
        return cat([gX, Q @ gV], -1)


def _off_diagonal_quotient(num, den):
    """num / den off the diagonal, 0 on it (den's diagonal, a difference of equal
    values, is replaced by 1 first so that nothing divides by 0)."""
    eye = _eye_mask(num.xp, num.shape[-1])
    return where(eye, 0.0, num / where(eye, 1.0, den))


class Eigh(Function):
    r"""A = V·diag(λ)·Vᵀ for symmetric A (only the ``UPLO`` triangle is read): eigenvalues
    λ ascending, orthonormal eigenvectors V. The output packs λ and V (:func:`unpack`).

    VJP (Giles 2008, eigenvalues and eigenvectors; in the symmetric form of PyTorch's
    ``linalg_eig_backward``):

        gA = V·(diag(gλ) + skew(Vᵀ·gV) / E)·Vᵀ,  skew(X) = (X − Xᵀ)/2,

    with E_ij = λ_j − λ_i off the diagonal (the division only there). This is the
    symmetric part of Giles' V·(diag(gλ) + F∘(Vᵀ·gV))·Vᵀ, F_ij = 1/(λ_j − λ_i): the
    gradient with respect to a symmetric A. An unused V (gV = 0) is skipped, so repeated
    eigenvalues give a finite gradient for λ; used eigenvectors of repeated eigenvalues
    are not determined by A, and their gradient is inf/nan, as in PyTorch.

    The eigenvectors are defined up to sign: a loss of V must not depend on that sign
    (V·Vᵀ, V², or signs fixed by a rule) for the gradient to mean anything."""

    save_output = True

    def __init__(self, UPLO="L"):
        self.UPLO = UPLO

    def forward(self, xp, a):
        w, v = _lapack(xp, "linalg.eigh", "the algorithm failed to converge",
                       xp.linalg.eigh, a, UPLO=self.UPLO)
        n = a.shape[-1]
        self.parts = [(n,), (n, n)]
        return _pack(xp, a.shape[:-2], w, v)

    def backward(self, gy):
        lam, V = unpack(self.saved_output, self.parts)
        glam, gV = unpack(gy, self.parts)
        inner = DiagonalScatter(V.shape, 0, V.ndim - 2, V.ndim - 1)(glam)   # diag(gλ)
        if _used(gV) is not None:
            X = V.mT @ gV
            E = lam.unsqueeze(-2) - lam.unsqueeze(-1)      # E_ij = λ_j − λ_i
            inner = inner + _off_diagonal_quotient(0.5 * (X - X.mT), E)
        return V @ inner @ V.mT


class EigvalsH(Function):
    r"""λ = the eigenvalues of symmetric A, ascending (``UPLO`` triangle read).
    VJP (Giles 2008, eigenvalues: dλᵢ = vᵢᵀ·dA·vᵢ): gA = V·diag(gλ)·Vᵀ, with V from an
    :class:`Eigh` of A computed in backward, so that the gradient is differentiable again."""

    def __init__(self, UPLO="L"):
        self.UPLO = UPLO

    def forward(self, xp, a):
        return _lapack(xp, "linalg.eigvalsh", "the algorithm failed to converge",
                       xp.linalg.eigvalsh, a, UPLO=self.UPLO)

    def backward(self, gy):
        (a,) = self.inputs
        f = Eigh(self.UPLO)
        _, V = unpack(f(a), [(a.shape[-1],), a.shape[-2:]])
        return (V * gy.unsqueeze(-2)) @ V.mT


def svd_backward(U, S, Vh, gU, gS, gVh):
    r"""gA for the reduced SVD A = U·diag(S)·Vh (m×n, k = min(m, n)), in Tensor ops:
    PyTorch's ``svd_backward`` (Townsend 2016, "Differentiating the singular value
    decomposition"; Seeger et al. 2017, "Auto-differentiating linear algebra"), real case.
    gU and gVh may be None (not used by the loss).

        J = skew(Uᵀ·gU), K = skew(Vh·gVhᵀ), skew(X) = X − Xᵀ
        E_jl = S_l² − S_j² off the diagonal
        core = (J·diag(S) + diag(S)·K) / E + diag(gS)
        gA = U·core·Vh + (I − UUᵀ)·gU·S⁻¹·Vh  (m > n)  or  U·S⁻¹·gVh·(I − VhᵀVh)  (m < n)
    """
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        return (U * gS.unsqueeze(-2)) @ Vh
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1)
    num = None
    if gU is not None:
        J = U.mT @ gU
        num = (J - J.mT) * S.unsqueeze(-2)
    if gVh is not None:
        K = Vh @ gVh.mT
        part = S.unsqueeze(-1) * (K - K.mT)
        num = part if num is None else num + part
    core = _off_diagonal_quotient(num, E)
    core = core + DiagonalScatter(core.shape, 0, core.ndim - 2, core.ndim - 1)(gS)
    if m > n and gU is not None:
        gUS = gU / S.unsqueeze(-2)
        return (U @ core + gUS - U @ (U.mT @ gUS)) @ Vh
    if m < n and gVh is not None:
        SgVh = gVh / S.unsqueeze(-1)
        return U @ (core @ Vh + SgVh - (SgVh @ Vh.mT) @ Vh)
    return U @ core @ Vh


class SVD(Function):
    r"""A = U·diag(S)·Vh, singular values S descending; ``full_matrices``: U m×m and Vh
    n×n, else U m×k and Vh k×n (k = min(m, n)). The output packs U, S and Vh
    (:func:`unpack`).

    VJP: :func:`svd_backward` (PyTorch's rule; Townsend 2016). With ``full_matrices`` the
    gradients of U's columns and Vh's rows past k are ignored, as PyTorch 2 does: those
    vectors are any orthonormal basis of a complement, not functions of A. Singular
    vectors are defined up to a common sign of uᵢ and vᵢ; a loss must not depend on it.
    Used singular vectors of repeated singular values have no gradient (inf/nan)."""

    save_output = True

    def __init__(self, full_matrices=False):
        self.full_matrices = full_matrices

    def forward(self, xp, a):
        u, s, vh = _lapack(xp, "linalg.svd", "the algorithm failed to converge",
                           xp.linalg.svd, a, full_matrices=self.full_matrices)
        self.parts = [u.shape[-2:], s.shape[-1:], vh.shape[-2:]]
        return _pack(xp, a.shape[:-2], u, s, vh)

    def backward(self, gy):
        U, S, Vh = unpack(self.saved_output, self.parts)
        gU, gS, gVh = unpack(gy, self.parts)
        k = S.shape[-1]
        if self.full_matrices:
            U, Vh, gU, gVh = U[..., :k], Vh[..., :k, :], gU[..., :k], gVh[..., :k, :]
        return svd_backward(U, S, Vh, _used(gU), gS, _used(gVh))


class SVDVals(Function):
    r"""S = the singular values of A, descending.
    VJP (Townsend 2016; dσᵢ = uᵢᵀ·dA·vᵢ): gA = U·diag(gS)·Vh, with U, Vh from an
    :class:`SVD` of A computed in backward, so that the gradient is differentiable again
    (where the singular values are distinct, as for PyTorch's double backward)."""

    def forward(self, xp, a):
        return _lapack(xp, "linalg.svdvals", "the algorithm failed to converge",
                       xp.linalg.svd, a, compute_uv=False)

    def backward(self, gy):
        (a,) = self.inputs
        m, n = a.shape[-2:]
        k = min(m, n)
        U, _, Vh = unpack(SVD(False)(a), [(m, k), (k,), (k, n)])
        return (U * gy.unsqueeze(-2)) @ Vh


class Pinv(Function):
    r"""Y = A⁺, the Moore–Penrose pseudo-inverse, from the SVD (or, ``hermitian``, the
    eigendecomposition) with the singular values ≤ max(atol, rtol·σ_max) taken as 0.

    VJP (Golub & Pereyra 1973, "The differentiation of pseudo-inverses and nonlinear least
    squares problems whose variables separate", SIAM J. Numer. Anal. 10; PyTorch's
    ``pinv_backward``), for A of locally constant rank:
    gA = −Yᵀ·gY·Yᵀ + (I − A·Y)·gYᵀ·Y·Yᵀ + Yᵀ·Y·gYᵀ·(I − Y·A), in products with the
    saved Y (no identity matrices formed)."""

    save_output = True

    def __init__(self, atol, rtol, hermitian=False):
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    @ieee  # 1/σ for σ = 0 is computed, then masked
    def forward(self, xp, a):
        if self.hermitian:
            w, v = _lapack(xp, "linalg.pinv", "the algorithm failed to converge",
                           xp.linalg.eigh, a)
            s = xp.abs(w)
            cut = xp.maximum(self.atol, self.rtol * s.max(axis=-1, keepdims=True))
            winv = xp.where(s > cut, 1 / w, 0).astype(a.dtype)
            return (v * winv[..., None, :]) @ _mT(xp, v)
        u, s, vh = _lapack(xp, "linalg.pinv", "the algorithm failed to converge",
                           xp.linalg.svd, a, full_matrices=False)
        smax = s[..., :1] if s.shape[-1] else s
        cut = xp.maximum(self.atol, self.rtol * smax)
        sinv = xp.where(s > cut, 1 / s, 0).astype(a.dtype)
        return (_mT(xp, vh) * sinv[..., None, :]) @ _mT(xp, u)

    def backward(self, gy):
        (a,) = self.inputs
        y = self.saved_output
        yt, gt = y.mT, gy.mT
        gA = -(yt @ gy @ yt)
        left = gt @ (y @ yt)                        # gYᵀ·Y·Yᵀ
        gA = gA + left - a @ (y @ left)             # + (I − A·Y)·gYᵀ·Y·Yᵀ
        right = (yt @ y) @ gt                       # Yᵀ·Y·gYᵀ
        return gA + right - (right @ y) @ a         # + Yᵀ·Y·gYᵀ·(I − Y·A)


# =========================================================================== more products
# indexing, splitting and linear algebra additions: PyTorch's remaining products
# (mv, vdot, addr, addbmm, ger, adjoint), the LU decomposition with its derivative rule,
# and PyTorch's top-level (legacy) decomposition functions over minigrad.linalg.
class SylvesterSym(Function):
    r"""G = L_X⁻¹(S), the solution of X·G + G·X = S for symmetric positive-definite X (its
    lower triangle read): the derivative of the square root, dX = L_X⁻¹(dA) for X = √A
    (Higham 2008, *Functions of Matrices*, §6.1). Where two eigenvalues of X are 0 it is
    inf or nan.

    VJP: differentiating X·G + G·X = S gives L_X(dG) = dS − dX·G − G·dX, and L_X is
    self-adjoint (X symmetric), so with W = L_X⁻¹(gG):  gS = W,  gX = −(W·Gᵀ + Gᵀ·W),
    made of this Function again, so every higher derivative exists too."""

    save_output = True

    @ieee
    def forward(self, xp, x, s):
        # in X's eigenbasis X = W·diag(μ)·Wᵀ:  G = W·((Wᵀ·S·W) / (μᵢ + μⱼ))·Wᵀ
        x, s = promote(x, s)
        mu, w = _lapack(xp, "the gradient of linalg.matrix_sqrth or linalg.polar",
                        "the algorithm failed to converge", xp.linalg.eigh, x)
        wt = _mT(xp, w)
        return w @ ((wt @ s @ w) / (mu[..., :, None] + mu[..., None, :])) @ wt

    def backward(self, gg):
        x, _ = self.inputs
        G = self.saved_output
        W = SylvesterSym()(x, gg)
        return -(W @ G.mT + G.mT @ W) if self.needs_input_grad[0] else None, W


class MatrixSqrth(Function):
    r"""X = √A, the principal square root of symmetric positive-definite A (its lower
    triangle read): from A = V·diag(λ)·Vᵀ, X = V·diag(√λ)·Vᵀ, symmetric. Eigenvalues below
    0 (an A that is not positive-semidefinite, or rounding) count as 0, as in PyTorch.

    VJP (X·dX + dX·X = dA, Higham 2008 §6.1): gA = L_X⁻¹(½(gX + gXᵀ)) by
    :class:`SylvesterSym`: the gradient with respect to a symmetric A. It is finite where
    eigenvalues repeat (the divisors are √λᵢ + √λⱼ, where an eigenvector's gradient has
    λᵢ − λⱼ), A = c·I included."""

    save_output = True

    def forward(self, xp, a):
        lam, v = _lapack(xp, "linalg.matrix_sqrth", "the algorithm failed to converge",
                         xp.linalg.eigh, a)
        x = (v * xp.sqrt(xp.maximum(lam, 0))[..., None, :]) @ _mT(xp, v)
        return 0.5 * (x + _mT(xp, x))            # symmetric to the last bit

    def backward(self, gx):
        return SylvesterSym()(self.saved_output, 0.5 * (gx + gx.mT))


class Polar(Function):
    r"""A = U·H for A (..., m, n) with m ≥ n: U with orthonormal columns, the closest such
    matrix to A in the Frobenius norm, and H = (AᵀA)^½ symmetric positive-semidefinite.
    From the thin SVD A = W·diag(σ)·Vᵀ: U = W·Vᵀ, H = V·diag(σ)·Vᵀ (Higham 2008, *Functions
    of Matrices*, ch. 8). The output packs U and H (:func:`unpack`).

    VJP, from AᵀA = H² and A = U·H (A of full column rank, H invertible):

        H·dH + dH·H = dAᵀ·A + Aᵀ·dA,    dU = (dA − U·dH)·H⁻¹,

    so with M = gU·H⁻¹ and Y = L_H⁻¹(gH − Uᵀ·M) (:class:`SylvesterSym`, self-adjoint):

        gA = M + A·(Y + Yᵀ).

    Finite where singular values repeat (an orthogonal A included), where the SVD's own
    gradient is not; Tensor ops throughout, so it is differentiable again."""

    save_output = True

    def forward(self, xp, a):
        w, sigma, vh = _lapack(xp, "linalg.polar", "the algorithm failed to converge",
                               xp.linalg.svd, a, full_matrices=False)
        m, n = a.shape[-2:]
        self.parts = [(m, n), (n, n)]
        h = (_mT(xp, vh) * sigma[..., None, :]) @ vh
        return _pack(xp, a.shape[:-2], w @ vh, 0.5 * (h + _mT(xp, h)))

    def backward(self, gy):
        (a,) = self.inputs
        U, H = unpack(self.saved_output, self.parts)
        gU, gH = unpack(gy, self.parts)
        M = Solve()(H, gU.mT).mT                 # gU·H⁻¹ (H symmetric)
        Y = SylvesterSym()(H, gH - U.mT @ M)
        return M + a @ (Y + Y.mT)


def mv(input, vec):
    """The product of a matrix (n, m) and a vector (m,): an (n,) vector."""
    _need_product("mv", "input", input, 2, "vec", vec, 1)
    return matmul(input, vec)


def vdot(input, other):
    """Σ aᵢ·bᵢ for 1-D tensors of equal length (real tensors: nothing to conjugate, so it
    is :func:`dot`)."""
    return _vector_product("vdot", input, other)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """β·input + α·outer(vec1, vec2) (input broadcasts to (n, m)); half under autocast
    (PyTorch's CUDA list; its CPU autocast leaves addr float32), while outer is not."""
    return _autocast_result(_scaled_sum("addr", input, outer(vec1, vec2), beta, alpha))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·Σ_b batch1[b] @ batch2[b] for 3-D batches (input broadcasts): the
    batch of products summed to one matrix; half under autocast (the half products are
    summed in float32, the result rounded once), as PyTorch's."""
    _need_ndim("addbmm", "batch1", batch1, 3)
    _need_ndim("addbmm", "batch2", batch2, 3)
    if batch1.shape[0] != batch2.shape[0]:
        raise ValueError(f"addbmm: batch1 and batch2 must have the same number of batches, "
                         f"got shapes {batch1.shape} and {batch2.shape}")
    return _autocast_result(_scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta,
                                        alpha))


ger = outer  # PyTorch's older name of outer


def tensordot(a, b, dims=2):
    """Σ over the paired dims of a and b: ``dims`` an int n (a's last n dims with b's
    first n) or two lists of dims. The result has a's free dims, then b's. Written as a
    permute, a reshape and one matmul, so its gradient is theirs.

    >>> import minigrad as mg
    >>> mg.tensordot(mg.ones(2, 3, 4), mg.ones(4, 3, 5), dims=([1, 2], [1, 0])).shape
    (2, 5)
    """
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims must be in [0, {min(a.ndim, b.ndim)}], got "
                             f"{dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise ValueError(f"tensordot: both lists of dims must have the same length, "
                             f"got {da} and {db}")
        da = [_norm_dim(d, a.ndim) for d in da]
        db = [_norm_dim(d, b.ndim) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: contracted dimension {i} of a (size {a.shape[i]}) "
                             f"and {j} of b (size {b.shape[j]}) differ")
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    rows, cols = math.prod(a.shape[d] for d in free_a), math.prod(b.shape[d] for d in free_b)
    left = a.permute(*(free_a + da)).reshape(rows, k)     # sizes, not −1: k may be 0
    right = b.permute(*(db + free_b)).reshape(k, cols)
    shape = tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b)
    return matmul(left, right).reshape(shape)


def _norm_dim(d, ndim):
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise IndexError(f"tensordot: dim {d} is out of range for a tensor with {ndim} dims")
    return d % max(ndim, 1)


def vander(x, N=None, increasing=False):
    """PyTorch's ``torch.vander`` of a 1-D x: columns x^(N−1), …, x¹, x⁰ (decreasing
    powers, NumPy's order; ``increasing=True`` reverses them), N = len(x) by default."""
    if x.ndim != 1:
        raise ValueError(f"vander: expects a 1-D tensor, got shape {x.shape}")
    from ..linalg import vander as increasing_vander

    if (x.shape[0] if N is None else N) == 0:       # no columns
        return x.reshape(-1, 1)[:, :0]
    v = increasing_vander(x, N=N)
    return v if increasing else v.flip(-1)


def chain_matmul(*matrices):
    """The product of the matrices (PyTorch's deprecated name; ``linalg.multi_dot``
    picks the cheapest order)."""
    from ..linalg import multi_dot

    if len(matrices) == 1:
        return matrices[0]
    return multi_dot(matrices)


def adjoint(input):
    """The conjugate transpose of the last two dims: for real tensors their transpose,
    a view (``Tensor.mH``)."""
    if input.ndim < 2:
        raise ValueError(f"adjoint: expects a matrix or a batch of matrices, got shape "
                         f"{input.shape}")
    return input.mT


# =========================================================================== LU
def _lu_decompose(xp, a, pivot):
    r"""A = P·L·U for a batch of m × n matrices a: Gaussian elimination, column by
    column (LAPACK's unblocked getf2 order). With ``pivot``, step j brings to row j the
    row of largest |a_ij|, i ≥ j (the first one at ties, as LAPACK's idamax); without it
    no rows move (a zero pivot then gives inf/nan, as PyTorch's CUDA path).

    Returns L (m × k, unit lower triangular), U (k × n, upper triangular), k = min(m, n);
    ``perm``, the row order with A[perm] = L·U (Pᵀ·A, P[perm[i], i] = 1); LAPACK's
    ``pivots`` (int32, 1-based: row j was swapped with row pivots[j] − 1); and ``info``,
    the 1-based index of the first zero on U's diagonal (0 when there is none).

    It is k vectorized steps (Python-level, each an O(batch·m·n) update): the one
    implementation for NumPy and CuPy, slower than LAPACK for large matrices."""
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    B = int(np.prod(batch, dtype=np.int64))
    A = a.reshape((B, m, n)).copy()
    rows = xp.arange(B)[:, None]
    perm = xp.tile(xp.arange(m), (B, 1))
    pivots = xp.zeros((B, k), dtype=np.int32)
    info = xp.zeros(B, dtype=np.int32)
    for j in range(k):
        p = j + xp.argmax(xp.abs(A[:, j:, j]), axis=1) if pivot else xp.full(B, j)
        pivots[:, j] = p + 1
        swap = xp.stack([xp.full(B, j), p], axis=1)          # rows j and p, per matrix
        A[rows, swap] = A[rows, swap[:, ::-1]]
        perm[rows, swap] = perm[rows, swap[:, ::-1]]
        d = A[:, j, j]
        zero = d == 0
        info = xp.where(zero & (info == 0), j + 1, info).astype(np.int32)
        # multipliers l_ij = a_ij / a_jj; with pivoting a zero pivot's column is all zero
        A[:, j + 1:, j] /= (xp.where(zero, 1, d) if pivot else d)[:, None]
        A[:, j + 1:, j + 1:] -= A[:, j + 1:, j, None] * A[:, j, None, j + 1:]   # Schur
    L = xp.tril(A[..., :k], -1) + xp.eye(m, k, dtype=A.dtype)
    U = xp.triu(A[..., :k, :])
    return (L.reshape(batch + (m, k)), U.reshape(batch + (k, n)), perm.reshape(batch + (m,)),
            pivots.reshape(batch + (k,)), info.reshape(batch))


def permutation_matrix(xp, perm, dtype):
    """P with P[perm[i], i] = 1 (batched over perm's leading dims): P·X puts row i of X
    at row perm[i], Pᵀ·X = X[perm]."""
    m = perm.shape[-1]
    P = xp.zeros(perm.shape + (m,), dtype=dtype)
    B = int(np.prod(perm.shape[:-1], dtype=np.int64))
    flat, order = P.reshape(B, m, m), perm.reshape(B, m)
    flat[xp.arange(B)[:, None], order, xp.arange(m)] = 1
    return P


def pivots_to_perm(xp, pivots, m):
    """The row order ``perm`` (Pᵀ·A = A[perm]) of LAPACK's pivots: row j swapped with row
    pivots[j] − 1 (1-based), for j = 0, 1, ... in turn."""
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    B = int(np.prod(batch, dtype=np.int64))
    piv = pivots.reshape(B, k).astype(np.int64) - 1
    perm = xp.tile(xp.arange(m), (B, 1))
    rows = xp.arange(B)[:, None]
    for j in range(k):
        swap = xp.stack([xp.full(B, j), piv[:, j]], axis=1)
        perm[rows, swap] = perm[rows, swap[:, ::-1]]
    return perm.reshape(batch + (m,))


def lu_backward(L, U, gL, gU):
    r"""gA for A = P·L·U (without the P: the caller multiplies by it), A m × n,
    k = min(m, n), L m × k unit lower triangular, U k × n upper triangular.

    Square (m = n): from Pᵀ·dA = dL·U + L·dU, X = L⁻¹·Pᵀ·dA·U⁻¹ = L⁻¹dL + dU·U⁻¹, whose
    strictly lower part is L⁻¹dL (L is unit triangular) and upper part dU·U⁻¹; so
    dL = L·tril₋₁(X), dU = triu(X)·U, and ⟨gL, dL⟩ + ⟨gU, dU⟩ = ⟨M, X⟩ with

        M = tril₋₁(Lᵀ·gL) + triu(gU·Uᵀ),   gA = P·L⁻ᵀ·M·U⁻ᵀ

    (the standard rule: e.g. Walter & Lehmann, arXiv:1001.1654; PyTorch's
    ``linalg_lu_backward``). Wide (m < n, U = [U₁ | U₂]): A₁ = P·L·U₁ as above and
    U₂ = L⁻¹·Pᵀ·A₂, so dU₂ = L⁻¹Pᵀ·dA₂ − tril₋₁(X)·U₂:
    M = tril₋₁(Lᵀ·gL − gU₂·U₂ᵀ) + triu(gU₁·U₁ᵀ), gA = P·L⁻ᵀ·[M·U₁⁻ᵀ | gU₂].
    Tall (m > n, L = [L₁; L₂]): Pᵀ·A = [L₁·U; L₂·U], L₂ = (Pᵀ·A)₂·U⁻¹, so
    dL₂ = (Pᵀ·dA)₂·U⁻¹ − L₂·triu(X): M = tril₋₁(L₁ᵀ·gL₁) + triu(gU·Uᵀ − L₂ᵀ·gL₂),
    gA = P·[L₁⁻ᵀ·M; gL₂]·U⁻ᵀ. The solves are triangular solves, so the rule is
    differentiable again."""
    from ..linalg import solve_triangular

    def left(L1, X):    # L1⁻ᵀ·X, L1 unit lower triangular
        return solve_triangular(L1.mT, X, upper=True, unitriangular=True)

    def right(U1, X):   # X·U1⁻ᵀ, U1 upper triangular
        return solve_triangular(U1.mT, X, upper=False, left=False)

    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m == n:
        return left(L, right(U, tril(L.mT @ gL, -1) + triu(gU @ U.mT)))
    if m < n:
        U1, U2, gU1, gU2 = U[..., :k], U[..., k:], gU[..., :k], gU[..., k:]
        M = tril(L.mT @ gL - gU2 @ U2.mT, -1) + triu(gU1 @ U1.mT)
        return left(L, cat([right(U1, M), gU2], -1))
    L1, L2, gL1, gL2 = L[..., :k, :], L[..., k:, :], gL[..., :k, :], gL[..., k:, :]
    M = tril(L1.mT @ gL1, -1) + triu(gU @ U.mT - L2.mT @ gL2)
    return right(U, cat([left(L1, M), gL2], -2))


class LU(Function):
    r"""A = P·L·U with partial pivoting (``pivot``; without it P = I): L m × k unit lower
    triangular, U k × n upper triangular, k = min(m, n) (:func:`_lu_decompose`). The
    output packs L and U (:func:`unpack`); P is piecewise constant and has no gradient:
    the row order, LAPACK's pivots and the first zero of U's diagonal are kept in
    ``self.perm``, ``self.pivots`` and ``self.info``.

    VJP: :func:`lu_backward` (the standard LU rule, with its wide and tall forms), times
    P. It needs U's leading k × k block nonsingular (A of full rank), as PyTorch's."""

    save_output = True

    def __init__(self, pivot=True):
        self.pivot = pivot

    @ieee  # a zero pivot without pivoting divides by zero: inf/nan, as PyTorch's
    def forward(self, xp, a):
        L, U, self.perm, self.pivots, self.info = _lu_decompose(xp, a, self.pivot)
        self.parts = [L.shape[-2:], U.shape[-2:]]
        return _pack(xp, a.shape[:-2], L, U)

    def backward(self, gy):
        L, U = unpack(self.saved_output, self.parts)
        gL, gU = unpack(gy, self.parts)
        P = const(permutation_matrix(gy.xp, self.perm, gy.dtype))
        return P @ lu_backward(L, U, gL, gU)


def check_pivots(op, pivots, LU):
    """LAPACK-style ``pivots`` of the factorization ``LU`` (..., m, n) as an int64 array
    on its device: an integer tensor of shape LU.shape[:-2] + (min(m, n),), entries in
    [1, m]. (PyTorch asks for int32; any integer dtype is taken here.)"""
    if not isinstance(pivots, Tensor):
        raise TypeError(f"{op}: pivots must be a tensor, got {type(pivots).__name__}")
    if pivots.device != LU.device:
        raise RuntimeError(f"{op}: pivots are on {pivots.device} but LU is on {LU.device}")
    piv = pivots.data
    if piv.dtype.kind not in "iu":
        raise TypeError(f"{op}: pivots must be an integer tensor, got {piv.dtype}")
    m, n = LU.shape[-2:]
    expected = LU.shape[:-2] + (min(m, n),)
    if tuple(piv.shape) != expected:
        raise ValueError(f"{op}: pivots must have shape {expected} for LU of shape "
                         f"{LU.shape}, got {tuple(piv.shape)}")
    if piv.size and not (1 <= int(piv.min()) and int(piv.max()) <= m):
        raise ValueError(f"{op}: pivots must be in [1, {m}] (LAPACK's 1-based row "
                         "numbers, as lu_factor returns them)")
    return piv.astype(np.int64)


# =========================================================================== torch.* names
# PyTorch's top-level decompositions and solvers (the older API beside torch.linalg), as
# thin layers over minigrad.linalg, with their own argument order and return types.
svd_legacy_result = namedtuple("svd", ["U", "S", "V"])
triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
lu_unpack_result = namedtuple("lu_unpack", ["P", "L", "U"])


def svd(input, some=True, compute_uv=True):
    """``torch.svd``: ``(U, S, V)`` with A = U·diag(S)·Vᵀ — V, not Vh as
    :func:`minigrad.linalg.svd` returns. ``some=True``: the reduced factors (U m × k,
    V n × k); ``some=False``: U m × m, V n × n. ``compute_uv=False``: S only, U and V
    zero-filled (m × m and n × n), as PyTorch. Gradients: those of linalg.svd/svdvals."""
    from .. import linalg

    A = check_matrix("svd", input, square=False)
    if not compute_uv:
        m, n = A.shape[-2:]
        zeros = A.xp.zeros
        return svd_legacy_result(const(zeros(A.shape[:-2] + (m, m), dtype=A.dtype)),
                                 linalg.svdvals(A),
                                 const(zeros(A.shape[:-2] + (n, n), dtype=A.dtype)))
    U, S, Vh = linalg.svd(A, full_matrices=not some)
    return svd_legacy_result(U, S, Vh.mT)


def qr(input, some=True):
    """``torch.qr``: ``(Q, R)``, the reduced factors with ``some=True``, the complete
    ones (Q m × m) with ``some=False`` (:func:`minigrad.linalg.qr`)."""
    from .. import linalg

    return linalg.qr(input, "reduced" if some else "complete")


def cholesky(input, upper=False):
    """``torch.cholesky``: L with A = L·Lᵀ, or U = Lᵀ with ``upper=True``
    (:func:`minigrad.linalg.cholesky`)."""
    from .. import linalg

    return linalg.cholesky(input, upper=upper)


def matrix_exp(input):
    """``torch.matrix_exp``: e^A (:func:`minigrad.linalg.matrix_exp`)."""
    from .. import linalg

    return linalg.matrix_exp(input)


def _triangle_with_full_gradient(F, upper):
    """F's lower (or upper) triangle as the value, with the gradient of every entry of F
    passed through: PyTorch reads only the triangle of a Cholesky factor in
    cholesky_inverse and cholesky_solve, but its gradient is that of the formula in the
    whole F (A = F·Fᵀ), not zero outside the triangle. The other triangle is subtracted
    as a constant, so the value is exact.

    Where minigrad differs: PyTorch's backward formula multiplies by the whole input, so
    where the unread triangle holds nonzero entries its gradient uses them; here it uses
    the triangle (the two agree for a triangular F, the factor cholesky returns)."""
    other = tril(F, -1) if upper else triu(F, 1)
    return F - other.detach()


def _batched_pair(op, A, B):
    """A (..., n, n) and B (..., n, k) with their batch dims broadcast to a common one, so
    that a solve cannot mistake B for a batch of vectors."""
    if B.ndim < 2:
        raise ValueError(f"{op}: B must have at least 2 dims, got shape {B.shape}")
    try:
        batch = tuple(np.broadcast_shapes(A.shape[:-2], B.shape[:-2]))
    except ValueError:
        raise ValueError(f"{op}: the batch dims of {A.shape} and {B.shape} do not "
                         "broadcast") from None
    return A.broadcast_to(batch + A.shape[-2:]), B.broadcast_to(batch + B.shape[-2:])


@autocast_off
def cholesky_inverse(input, upper=False):
    r"""(L·Lᵀ)⁻¹ from the Cholesky factor L (lower triangle of ``input`` read), or
    (Uᵀ·U)⁻¹ with ``upper=True``: A⁻¹ = L⁻ᵀ·L⁻¹ = MᵀM with M = L⁻¹ (a solve).

    Gradient: PyTorch's, that of (F·Fᵀ)⁻¹ in every entry of F (its triangle in the value:
    :func:`_triangle_with_full_gradient`); to check it with finite differences, pass a
    triangular F built with ``tril``/``triu``.

    >>> import minigrad as mg
    >>> mg.cholesky_inverse(mg.tensor([[2.0, 0.0], [1.0, 1.0]])).tolist()
    [[0.5, -0.5], [-0.5, 1.0]]
    """
    F = _triangle_with_full_gradient(check_matrix("cholesky_inverse", input), upper)
    M = Solve()(F, const(F.xp.broadcast_to(F.xp.eye(F.shape[-1], dtype=F.dtype), F.shape)))
    return M @ M.mT if upper else M.mT @ M


def cholesky_solve(B, L, upper=False):
    r"""X with A·X = B for A = L·Lᵀ given its Cholesky factor L (lower triangle read), or
    A = Uᵀ·U with ``upper=True``: two solves, X = L⁻ᵀ·(L⁻¹·B). Batch dims broadcast; B
    needs at least 2 dims. Gradient in L: PyTorch's, as :func:`cholesky_inverse`.

    >>> import minigrad as mg
    >>> L = mg.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> mg.cholesky_solve(mg.tensor([[4.0], [3.0]]), L).tolist()
    [[0.5], [1.0]]
    """
    L = check_matrix("cholesky_solve", L)
    if not isinstance(B, Tensor) or not _dt.is_floating(B.dtype):
        raise TypeError("cholesky_solve: B must be a floating-point tensor")
    F, B = _batched_pair("cholesky_solve", _triangle_with_full_gradient(L, upper), B)
    if B.shape[-2] != F.shape[-1]:
        raise ValueError(f"cholesky_solve: B {B.shape} must have {F.shape[-1]} rows, as the "
                         f"factor {L.shape}")
    first, second = (F.mT, F) if upper else (F, F.mT)
    return Solve()(second, Solve()(first, B))


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    r"""``torch.triangular_solve``: X with A·X = b (Aᵀ·X = b with ``transpose``) for
    triangular A (its ``upper`` — the default — or lower triangle read; diagonal taken as
    ones with ``unitriangular``), returned with a copy of A broadcast to the batch, as the
    named tuple ``(solution, cloned_coefficient)``. The gradient in A lies in the
    triangle read (:func:`minigrad.linalg.solve_triangular`); the copy passes its own
    gradient to all of A, as PyTorch's.

    >>> import minigrad as mg
    >>> U = mg.tensor([[2.0, 1.0], [0.0, 4.0]])
    >>> mg.triangular_solve(mg.tensor([[4.0], [8.0]]), U).solution.tolist()
    [[1.0], [2.0]]
    """
    from ..linalg import solve_triangular

    A = check_matrix("triangular_solve", A)
    if not isinstance(b, Tensor) or not _dt.is_floating(b.dtype):
        raise TypeError("triangular_solve: b must be a floating-point tensor")
    T, b = _batched_pair("triangular_solve", A, b)
    if b.shape[-2] != T.shape[-1]:
        raise ValueError(f"triangular_solve: b {b.shape} must have {T.shape[-1]} rows, as A "
                         f"{A.shape}")
    if transpose:
        T, upper = T.mT, not upper
    X = solve_triangular(T, b, upper=upper, unitriangular=unitriangular)
    return triangular_solve_result(X, A.broadcast_to(X.shape[:-2] + A.shape[-2:]).clone())


def lu(A, pivot=True, get_infos=False):
    """``torch.lu``: ``(LU, pivots)`` of :func:`minigrad.linalg.lu_factor` (a singular A
    raises), or ``(LU, pivots, infos)`` of :func:`minigrad.linalg.lu_factor_ex` with
    ``get_infos``."""
    from ..linalg import lu_factor_ex

    LU, pivots, info = lu_factor_ex(A, pivot=pivot, check_errors=not get_infos)
    return (LU, pivots, info) if get_infos else (LU, pivots)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """``(P, L, U)`` from the packed factorization of :func:`minigrad.linalg.lu_factor`:
    L (m × k) is LU's strict lower triangle with a unit diagonal, U (k × n) its upper
    triangle (both differentiable in LU_data), P the permutation of the pivots. Parts
    not unpacked are empty tensors, as PyTorch.

    >>> import minigrad as mg
    >>> A = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> P, L, U = mg.lu_unpack(*mg.linalg.lu_factor(A))
    >>> (P @ L @ U).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    LU = check_matrix("lu_unpack", LU_data, square=False)
    m, n = LU.shape[-2:]
    k = min(m, n)
    xp = LU.xp
    empty = const(xp.zeros((0,), dtype=LU.dtype))
    L = U = P = empty
    if unpack_data:
        L = tril(LU[..., :, :k], -1) + const(xp.eye(m, k, dtype=LU.dtype))
        U = triu(LU[..., :k, :])
    if unpack_pivots:
        perm = pivots_to_perm(xp, check_pivots("lu_unpack", LU_pivots, LU), m)
        P = const(permutation_matrix(xp, perm, LU.dtype))
    return lu_unpack_result(P, L, U)


def lu_solve(b, LU_data, LU_pivots):
    """``torch.lu_solve``: X with A·X = b from A's :func:`minigrad.linalg.lu_factor`
    (:func:`minigrad.linalg.lu_solve` with its arguments in this older order)."""
    from ..linalg import lu_solve as _lu_solve

    return _lu_solve(LU_data, LU_pivots, b)
