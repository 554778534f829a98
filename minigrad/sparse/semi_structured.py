r"""2:4 semi-structured sparsity: in every group of 4 consecutive weights along the reduction
dimension keep the 2 of largest magnitude, store half the values and 2 bits per kept value.

Intuition. A weight matrix W (M x K) is used as ``W @ B`` (K is the reduction dim; for a
``Linear`` weight of shape (out_features, in_features) it is ``in_features``). Split every
row into groups of 4 along K; keep 2 entries per group. Half the multiply-adds vanish, and
the pattern is regular enough for hardware (NVIDIA sparse tensor cores, ``mma.sp``) to
skip the zeros at full speed.

Selection. In group g of row m, with a_p = |W[m, 4g + p]| (p = 0..3), position p is kept
when fewer than two positions q beat it, where q beats p if a_q > a_p, or a_q = a_p and
q < p (ties go to the lower position). So exactly two positions are kept, the two largest
by magnitude; an all-zero group keeps positions 0 and 1. Call them i0 < i1.

CPU packed format (this module; any float dtype)
-------------------------------------------------
For S of shape (M, K), K a multiple of 4, G = K / 4 groups per row:

* ``values`` (M, K/2), S's dtype: ``values[m, 2g] = W[m, 4g + i0]`` and
  ``values[m, 2g + 1] = W[m, 4g + i1]``, i.e. the kept entries in increasing column order.
* ``meta`` (M, ceil(G/2)) uint8: the 4-bit code of group g is ``nibble = (i1 << 2) | i0``;
  group g lives in byte ``g // 2`` of its row, in the low nibble (bits 0..3) for even g
  and in the high nibble (bits 4..7) for odd g::

      meta[m, b] = nibble(m, 2b) | (nibble(m, 2b + 1) << 4)

  When G is odd, the high nibble of the last byte is padding, set to 0b0100 (positions
  0 and 1: a legal code, as the GPU layout pads). Legal codes: 0b0100 (0,1), 0b1000
  (0,2), 0b1100 (0,3), 0b1001 (1,2), 0b1101 (1,3), 0b1110 (2,3); any nibble with
  i0 >= i1 (0b0000, 0b0101, 0b1010, 0b1111, ...) is rejected with the row and group.

Worked example (one row, K = 8)::

    W[0]    = [0.1, -3.0, 2.0, 0.5 | 0.0, 0.0, 0.0, 7.0]
    group 0: |w| = 0.1, 3.0, 2.0, 0.5  -> keep positions 1, 2 -> values -3.0, 2.0
             nibble = (2 << 2) | 1 = 0b1001 = 0x9
    group 1: |w| = 0, 0, 0, 7          -> keep 3 and, of the tied zeros, 0 -> values 0.0, 7.0
             nibble = (3 << 2) | 0 = 0b1100 = 0xC
    values[0] = [-3.0, 2.0, 0.0, 7.0]
    meta[0]   = [0x9 | (0xC << 4)] = [0xC9]

GPU (hardware) format. ``to_hardware()`` converts to the layout of
``minigrad.kernels.compress_24`` (float16/bfloat16 values padded to K multiple of 32, uint32
metadata words interleaved for ``mma.sp``; see ``kernels/reference.py``), which the CUDA
kernel ``minigrad.kernels.mm_24`` reads. ``mm24`` uses it automatically on CUDA for
float16/bfloat16 operands; on an sm_90 (Hopper) GPU, products of at least
``kernels.WGMMA_MIN_OUTPUT`` outputs take ``kernels.mm_24_wgmma`` (the same arrays, on
warpgroup sparse tensor cores: 0.19 ms against 0.28 ms at 4096³ on an H200), by
``kernels.wgmma_worth_it``, the rule autocast's half products follow.

Products and their gradients (S = S(values, meta); each a ``Function`` whose backward is
written with the others, so higher derivatives exist):

    Y = S D        gD = Sᵀ gY,          g_values = sddmm(gY, D)
    C = Sᵀ G       gG = S gC,           g_values = sddmm(G, gC)
    sddmm(A, B)[m, 2g + j] = A[m, :] · B[4g + i_j, :]      (A Bᵀ sampled at the kept places)

On the CPU they run as Numba kernels that read only ``values`` and ``meta``
(``minigrad.kernels.sparse24_cpu``); the ``reference_*`` functions here are the dense
NumPy/CuPy twins they must equal.

Examples
--------
>>> import numpy as np
>>> import minigrad as mg
>>> from minigrad.sparse.semi_structured import to_sparse_24
>>> W = mg.tensor([[0.1, -3.0, 2.0, 0.5, 0.0, 0.0, 0.0, 7.0]])
>>> S = to_sparse_24(W)
>>> S.values()
tensor([[-3.,  2.,  0.,  7.]])
>>> hex(int(S.meta[0, 0]))
'0xc9'
>>> S.to_dense()
tensor([[ 0., -3.,  2.,  0.,  0.,  0.,  0.,  7.]])
>>> (S @ mg.ones(8, 1)).tolist()
[[6.0]]

Notes
-----
``D @ S`` with a dense left operand (a Tensor or a NumPy array) is
``S.__rmatmul__(D)``: ``Tensor.__matmul__`` defers to sparse operands, and
``mg.sparse.mm(D, S)``, ``mg.matmul`` and ``mg.mm`` give the same product.

PyTorch's ``torch.sparse.to_sparse_semi_structured`` takes a matrix that is already 2:4
and does not prune; :func:`to_sparse_semi_structured` here does the same (it validates),
while :func:`to_sparse_24` prunes first. PyTorch stores its metadata in the CUTLASS /
cuSPARSELt layout; minigrad's CPU format above is simpler and documented, and
``to_hardware()`` gives the GPU layout.

References
----------
Mishra et al., "Accelerating Sparse Deep Neural Networks", arXiv:2104.08378 (2021).
"""
from __future__ import annotations

import weakref

import numpy as np

from .. import dtypes as _dt
from .._backend import get_array_module, to_device
from ..autograd.function import Function
from ..tensor import Tensor, _make_tensor

__all__ = [
    "SparseSemiStructuredTensor",
    "to_sparse_24",
    "to_sparse_semi_structured",
    "mm24",
    "mm_24",
    "select_24",
    "pack_meta",
    "unpack_meta",
    "compress_values",
    "decompress_values",
    "reference_mm24",
    "reference_mm24_t",
    "reference_sddmm24",
]

PAD_NIBBLE = 0b0100  # positions (0, 1): the padding code of an odd last group


# ---------------------------------------------------------------------- format (xp code)


def select_24(W):
    """Kept positions ``(i0, i1)``, each (M, K/4) int64, of the 2 largest |w| per group
    (ties to the lower position). ``W`` is a 2-D NumPy/CuPy array with K % 4 == 0."""
    xp = get_array_module(W)
    M, K = W.shape
    a = xp.abs(W).reshape(M, K // 4, 4)
    p = xp.arange(4)
    # beats[..., q, p]: position q beats position p
    beats = (a[..., :, None] > a[..., None, :]) | (
        (a[..., :, None] == a[..., None, :]) & (p[:, None] < p[None, :]))
    kept = beats.sum(axis=-2) < 2  # (M, G, 4), exactly two True per group
    i0 = xp.argmax(kept, axis=-1)
    i1 = 3 - xp.argmax(kept[..., ::-1], axis=-1)
    return i0.astype(xp.int64), i1.astype(xp.int64)


def pack_meta(i0, i1):
    """uint8 metadata (M, ceil(G/2)) from the positions (M, G): ``(i1 << 2) | i0`` per group,
    even groups in the low nibble, odd groups in the high nibble."""
    xp = get_array_module(i0)
    M, G = i0.shape
    nib = xp.full((M, 2 * (-(-G // 2))), PAD_NIBBLE, dtype=xp.uint8)
    nib[:, :G] = ((i1 << 2) | i0).astype(xp.uint8)
    return xp.ascontiguousarray(nib[:, 0::2] | (nib[:, 1::2] << 4))


def unpack_meta(meta, n_groups):
    """Positions ``(i0, i1)``, each (M, n_groups) int64, from uint8 metadata."""
    xp = get_array_module(meta)
    m = meta.astype(xp.int64)
    nib = xp.stack([m & 0xF, m >> 4], axis=-1).reshape(m.shape[0], 2 * m.shape[1])
    nib = nib[:, :n_groups]
    return nib & 3, nib >> 2


def _check_meta_codes(meta, n_groups):
    """Raise ValueError naming the first row and group whose code has i0 >= i1."""
    i0, i1 = unpack_meta(meta, n_groups)
    bad = i0 >= i1
    if bool(bad.any()):
        r, g = (int(v) for v in np.argwhere(to_device(bad, "cpu"))[0])
        code = int(to_device((i1 << 2) | i0, "cpu")[r, g])
        raise ValueError(
            f"2:4 metadata: row {r}, group {g} (columns {4 * g}..{4 * g + 3}) has the "
            f"illegal code {code:#06b}: a code is (i1 << 2) | i0 with kept positions "
            f"i0 < i1")


def _check_groups_of_4(kept, what, *, exact=False, noun="nonzeros", line="row",
                       across="columns", hint=""):
    """Raise ValueError naming the first ``line`` and group of the bool matrix ``kept``
    (M, K), K % 4 == 0, whose group of 4 along the last dim holds more than 2 True
    (``exact``: other than exactly 2). ``line`` / ``across`` name the rows and columns of
    ``kept`` in the message (a transposed mask passes "column" / "rows")."""
    M, K = kept.shape
    count = kept.reshape(M, K // 4, 4).sum(axis=-1)
    bad = count != 2 if exact else count > 2
    if bool(bad.any()):
        r, g = (int(v) for v in np.argwhere(to_device(bad, "cpu"))[0])
        raise ValueError(
            f"{what}: {line} {r}, group {g} ({across} {4 * g}..{4 * g + 3}) holds "
            f"{int(count[r, g])} {noun} ({'exactly' if exact else 'at most'} 2 per group "
            f"of 4){hint}")


def _flat_index(xp, i0, i1, K):
    """Flat (row-major) indices into an (M, K) matrix of the kept entries, in ``values``
    order: entry (m, 2g + j) sits at m·K + 4g + i_j."""
    M, G = i0.shape
    base = (xp.arange(M, dtype=xp.int64)[:, None] * K
            + 4 * xp.arange(G, dtype=xp.int64)[None, :])
    return xp.stack([base + i0, base + i1], axis=-1).reshape(M, 2 * G)


def compress_values(W, i0, i1):
    """``values`` (M, K/2) of W at the kept positions."""
    return _compress_at(W, _flat_index(get_array_module(W), i0, i1, W.shape[1]))


def decompress_values(values, i0, i1):
    """The dense (M, K) matrix with ``values`` at the kept positions and zeros elsewhere."""
    return _decompress_at(values, _flat_index(get_array_module(values), i0, i1,
                                              2 * values.shape[1]))


def _compress_at(W, flat):
    return get_array_module(W).ascontiguousarray(W).reshape(-1)[flat]


def _decompress_at(values, flat):
    xp = get_array_module(values)
    M, KC = values.shape
    dense = xp.zeros(M * 2 * KC, dtype=values.dtype)
    dense[flat] = values
    return dense.reshape(M, 2 * KC)


# Index arrays derived from metadata. Metadata that minigrad makes and never writes into
# (Linear24's, packed from its masks: ``frozen_meta``) keeps them, made once per metadata
# array while it lives, instead of once per product: on CUDA that is about 15 launches per
# compression or product, 20 to 30 a Linear24 step. Metadata that users hold
# (``SparseSemiStructuredTensor.meta``, ``to_sparse_24``) is never frozen, so an edit in
# place is always seen.
_DERIVED: dict = {}  # id(meta) -> {key: arrays}, the entry dropped when meta dies


def frozen_meta(meta):
    """Mark the uint8 metadata array ``meta`` as never written in place, so that the index
    arrays derived from it are kept while it lives; returns ``meta``."""
    key = id(meta)
    if key not in _DERIVED:
        _DERIVED[key] = {}
        weakref.finalize(meta, _DERIVED.pop, key, None)
    return meta


def _derived(meta, key, make):
    """``make()``, kept under ``key`` for frozen ``meta``."""
    cache = _DERIVED.get(id(meta))
    if cache is None:
        return make()
    value = cache.get(key)
    if value is None:
        value = cache[key] = make()
    return value


def _positions(meta, n_groups):
    """:func:`unpack_meta` (kept for frozen metadata)."""
    return _derived(meta, ("positions", n_groups), lambda: unpack_meta(meta, n_groups))


def _flat_index_of(meta, n_groups, K):
    """The flat indices of the kept entries of an (M, K) matrix under ``meta`` (kept for
    frozen metadata)."""
    return _derived(meta, ("flat", n_groups, K), lambda: _flat_index(
        get_array_module(meta), *_positions(meta, n_groups), K))


def reference_mm24(values, meta, B):
    """S B through the dense matrix (the twin of ``sparse24_cpu.mm24``)."""
    KC = values.shape[1]
    return _decompress_at(values, _flat_index_of(meta, KC // 2, 2 * KC)) @ B


def reference_mm24_t(values, meta, G):
    """Sᵀ G through the dense matrix (the twin of ``sparse24_cpu.mm24_t``)."""
    KC = values.shape[1]
    return _decompress_at(values, _flat_index_of(meta, KC // 2, 2 * KC)).T @ G


def reference_sddmm24(meta, A, B):
    """A Bᵀ at the kept positions (the twin of ``sparse24_cpu.sddmm24``)."""
    K = B.shape[0]
    return _compress_at(A @ B.T, _flat_index_of(meta, K // 4, K))


# ------------------------------------------------------------------------- dispatch


def _cpu_kernels():
    from minigrad.kernels import sparse24_cpu

    return sparse24_cpu


_NATIVE_CPU = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _on(xp, meta):
    """``meta`` on the device of ``xp``."""
    return meta if get_array_module(meta) is xp else to_device(meta, "cpu" if xp is np
                                                                else "cuda")


def _is_half(dtype):
    return dtype == np.float16 or (_dt.bfloat16 is not None and dtype == _dt.bfloat16)


def _mm24_forward(xp, values, meta, B):
    if xp is np and values.dtype in _NATIVE_CPU:
        return _cpu_kernels().mm24(values, meta, B)
    if xp is not np and _is_half(values.dtype):
        from minigrad import kernels
        from minigrad.kernels import reference

        # (no check of the codes here, a device synchronization per product: a
        # SparseSemiStructuredTensor checks them once, when it is made)
        G = values.shape[1] // 2
        v_hw = reference.pack_24_values(values)
        m_hw = _derived(meta, ("words", G), lambda: reference.pack_24_metadata(
            *_positions(meta, G)))
        out = xp.empty((values.shape[0], B.shape[1]), dtype=values.dtype)
        mm = kernels.mm_24_wgmma if kernels.wgmma_worth_it(*out.shape) else kernels.mm_24
        return mm(v_hw, m_hw, xp.ascontiguousarray(B), out=out)
    return reference_mm24(values, meta, B)


def _mm24_t_forward(xp, values, meta, G):
    if xp is np and values.dtype in _NATIVE_CPU:
        return _cpu_kernels().mm24_t(values, meta, G)
    return reference_mm24_t(values, meta, G)


def _sddmm24_forward(xp, meta, A, B):
    if xp is np and A.dtype in _NATIVE_CPU:
        return _cpu_kernels().sddmm24(meta, A, B)
    return reference_sddmm24(meta, A, B)


def _check_float_pair(name, a, b, what_a, what_b):
    if a.dtype != b.dtype:
        raise TypeError(f"{name}: {what_a} is {a.dtype} but {what_b} is {b.dtype}; "
                        f"cast one of them (.to(dtype=...))")


# ------------------------------------------------------------------------ Functions


class Compress24(Function):
    """values = W at the kept positions of ``meta``.   VJP: gW = decompress(g_values)
    (zero at the pruned positions: the straight-through gradient of the kept entries)."""

    def __init__(self, meta):
        self.meta = meta

    def forward(self, xp, W):
        K = W.shape[1]
        return _compress_at(W, _flat_index_of(_on(xp, self.meta), K // 4, K))

    def backward(self, gy):
        return Decompress24(self.meta)(gy)


class Decompress24(Function):
    """W = the dense matrix of (values, meta).   VJP: g_values = gW at the kept positions."""

    def __init__(self, meta):
        self.meta = meta

    def forward(self, xp, values):
        KC = values.shape[1]
        return _decompress_at(values, _flat_index_of(_on(xp, self.meta), KC // 2, 2 * KC))

    def backward(self, gy):
        return Compress24(self.meta)(gy)


class Mm24(Function):
    """Y = S D for S = S(values, meta) (M x K, 2:4 along K) and dense D (K x N).
    VJP: g_values = sddmm(gY, D), gD = Sᵀ gY."""

    def __init__(self, meta):
        self.meta = meta

    def forward(self, xp, values, D):
        if D.shape[0] != 2 * values.shape[1]:
            raise ValueError(f"S has K = {2 * values.shape[1]} columns but D has "
                             f"{D.shape[0]} rows")
        _check_float_pair("mm24", values, D, "S", "D")
        return _mm24_forward(xp, values, _on(xp, self.meta), D)

    def backward(self, gy):
        values, D = self.inputs
        gv = Sddmm24(self.meta)(gy, D) if self.needs_input_grad[0] else None
        gD = Mm24T(self.meta)(values, gy) if self.needs_input_grad[1] else None
        return gv, gD


class Mm24T(Function):
    """C = Sᵀ G for S = S(values, meta) (M x K) and dense G (M x N).
    VJP: g_values = sddmm(G, gC), gG = S gC."""

    def __init__(self, meta):
        self.meta = meta

    def forward(self, xp, values, G):
        if G.shape[0] != values.shape[0]:
            raise ValueError(f"S has {values.shape[0]} rows but G has {G.shape[0]}")
        _check_float_pair("mm24_t", values, G, "S", "G")
        return _mm24_t_forward(xp, values, _on(xp, self.meta), G)

    def backward(self, gC):
        values, G = self.inputs
        gv = Sddmm24(self.meta)(G, gC) if self.needs_input_grad[0] else None
        gG = Mm24(self.meta)(values, gC) if self.needs_input_grad[1] else None
        return gv, gG


class Sddmm24(Function):
    """out[m, 2g + j] = A[m, :] · B[4g + i_j, :] (A Bᵀ sampled at the kept positions).
    VJP: gA = S(g_out) B, gB = S(g_out)ᵀ A."""

    def __init__(self, meta):
        self.meta = meta

    def forward(self, xp, A, B):
        if A.shape[1] != B.shape[1] or B.shape[0] % 4:
            raise ValueError("sddmm24 needs A (M, N) and B (K, N) with K % 4 == 0")
        _check_float_pair("sddmm24", A, B, "A", "B")
        return _sddmm24_forward(xp, _on(xp, self.meta), A, B)

    def backward(self, gout):
        A, B = self.inputs
        gA = Mm24(self.meta)(gout, B) if self.needs_input_grad[0] else None
        gB = Mm24T(self.meta)(gout, A) if self.needs_input_grad[1] else None
        return gA, gB


# ---------------------------------------------------------------------- tensor class


def _as_tensor(x, what):
    if isinstance(x, Tensor):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype") or isinstance(x, (list, tuple)):
        return Tensor(x)
    raise TypeError(f"{what} must be a Tensor, an array or a list, got {type(x).__name__}")


class SparseSemiStructuredTensor:
    """A 2:4 sparse matrix (M x K): ``values`` (a Tensor, M x K/2) and ``meta`` (uint8,
    M x ceil(K/8)) in the CPU packed format of this module's docstring.

    Parameters
    ----------
    values : Tensor (M, K/2), floating. It is the tensor that receives the gradient of the
        stored values (as for the COO/CSR constructors).
    meta : uint8 array (M, ceil(K/8)) on the same device.
    shape : (M, K), K a multiple of 4.

    Use :func:`to_sparse_24` (prune a dense matrix) or :func:`to_sparse_semi_structured`
    (a matrix that is already 2:4) rather than this constructor.
    """

    layout = "sparse_semi_structured"
    __array_ufunc__ = None

    def __init__(self, values, meta, shape):
        values = _as_tensor(values, "values")
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2:
            raise ValueError(f"SparseSemiStructuredTensor is 2-D, got shape {shape}")
        M, K = shape
        if K % 4:
            raise ValueError(f"2:4 sparsity needs K (the last dim) to be a multiple of 4, "
                             f"got shape {shape}")
        if not _dt.is_floating(values.dtype):
            raise TypeError(f"values must be floating, got {values.dtype}")
        if values.shape != (M, K // 2):
            raise ValueError(f"values must have shape {(M, K // 2)} for a {shape} matrix, "
                             f"got {values.shape}")
        if not hasattr(meta, "dtype") or meta.dtype != np.uint8:
            raise TypeError(f"meta must be a uint8 array, got "
                            f"{getattr(meta, 'dtype', type(meta).__name__)}")
        G = K // 4
        if tuple(meta.shape) != (M, -(-G // 2)):
            raise ValueError(f"meta must have shape {(M, -(-G // 2))} for a {shape} matrix, "
                             f"got {tuple(meta.shape)}")
        meta = _on(values.xp, meta)
        _check_meta_codes(meta, G)
        self._values = values
        self.meta = meta
        self._shape = shape

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return 2

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def device(self):
        return self._values.device

    @property
    def requires_grad(self):
        return self._values.requires_grad

    @property
    def is_sparse(self):
        return True

    def size(self, dim=None):
        return self._shape if dim is None else self._shape[dim]

    def values(self):
        """The stored values (M, K/2) as a Tensor (in the graph, if it is)."""
        return self._values

    def positions(self):
        """Kept positions ``(i0, i1)`` within each group, each (M, K/4) int64 arrays."""
        return unpack_meta(self.meta, self._shape[1] // 4)

    def mask(self):
        """Bool Tensor (M, K): True at the kept entries."""
        xp = self._values.xp
        i0, i1 = self.positions()
        p = xp.arange(4)
        m = (p == i0[..., None]) | (p == i1[..., None])
        return _make_tensor(m.reshape(self._shape), xp, False)

    # ------------------------------------------------------------------ conversions
    def to_dense(self):
        """The (pruned) dense matrix; differentiable with respect to ``values()``."""
        return Decompress24(self.meta)(self._values)

    def to_hardware(self, dtype=None):
        """``(values, metadata)`` in the layout of ``minigrad.kernels.compress_24`` (the one
        the CUDA kernel ``kernels.mm_24`` reads), on this tensor's device.

        ``dtype`` is float16 (default; bfloat16 values stay bfloat16) or bfloat16. The
        kept entries and their positions are this tensor's (``kernels.reference.pack_24``:
        a layout conversion, no search for the nonzeros), so the decompressed matrices
        agree exactly (``kernels.reference.decompress_24``)."""
        from minigrad.kernels import reference

        if dtype is None:
            dtype = self.dtype if _is_half(self.dtype) else _dt.float16
        dtype = _dt.as_dtype(dtype)
        if not _is_half(dtype):
            raise TypeError(f"to_hardware: the GPU layout holds float16 or bfloat16, "
                            f"not {dtype}")
        v = self._values.data
        if dtype == np.float16 and v.size and float(abs(v).max()) > 65504.0:
            raise ValueError("to_hardware: values exceed the float16 range (|w| > 65504); "
                             "use dtype=mg.bfloat16 or rescale")
        return reference.pack_24(v.astype(dtype, copy=False), *self.positions())

    def to(self, device=None, dtype=None):
        """A copy on ``device`` / with ``dtype`` (the values stay differentiable)."""
        values = self._values.to(device=device, dtype=dtype)
        if values is self._values:
            return self
        return SparseSemiStructuredTensor(values, _on(values.xp, self.meta), self._shape)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def detach(self):
        return SparseSemiStructuredTensor(self._values.detach(), self.meta, self._shape)

    def requires_grad_(self, requires_grad=True):
        self._values.requires_grad_(requires_grad)
        return self

    # ------------------------------------------------------------------ products
    def matmul(self, other):
        return mm_24(self, other)

    def __matmul__(self, other):
        return mm_24(self, other)

    def __rmatmul__(self, other):
        """D @ S = (Sᵀ Dᵀ)ᵀ."""
        D = other if isinstance(other, Tensor) else Tensor(other)
        if D.ndim == 1:
            return self.__rmatmul__(D.unsqueeze(0)).squeeze(0)
        if D.ndim != 2:
            raise ValueError(f"D @ S: D must be 1-D or 2-D, got shape {D.shape}")
        if D.shape[1] != self._shape[0]:
            raise ValueError(f"D @ S: D has {D.shape[1]} columns but S has shape "
                             f"{self._shape}")
        return Mm24T(self.meta)(self._values, D.T).T

    def __repr__(self):
        return (f"SparseSemiStructuredTensor(shape={self._shape}, dtype={self.dtype}, "
                f"device='{self.device}', values={self._values!r})")


# ------------------------------------------------------------------------- constructors


def _dense_input(dense, what):
    dense = _as_tensor(dense, what)
    if dense.ndim != 2:
        raise ValueError(f"{what}: expects a 2-D matrix (M, K) with K the reduction dim, "
                         f"got shape {dense.shape}")
    if not _dt.is_floating(dense.dtype):
        raise TypeError(f"{what}: expects a floating matrix, got {dense.dtype}")
    M, K = dense.shape
    if K % 4:
        raise ValueError(f"{what}: 2:4 sparsity needs the last dim K to be a multiple of 4, "
                         f"got shape {dense.shape} (K % 4 = {K % 4})")
    if bool(dense.xp.isnan(dense.data).any()):
        raise ValueError(f"{what}: the matrix contains NaN")
    return dense


def _build(dense, what):
    i0, i1 = select_24(dense.data)
    meta = pack_meta(i0, i1)
    values = Compress24(meta)(dense)
    return SparseSemiStructuredTensor(values, meta, dense.shape)


def to_sparse_24(dense, prune=True):
    """Prune ``dense`` (M x K) to 2:4 along its last dim and compress it.

    Parameters
    ----------
    dense : Tensor or array (M, K), floating, K % 4 == 0. For a Linear weight
        (out_features, in_features) the groups run along in_features.
    prune : keep the 2 largest |w| in each group of 4 (default). With ``prune=False``
        the matrix must already be 2:4 (at most 2 nonzeros per group), else a
        ``ValueError`` names the first offending row and group.

    Returns
    -------
    SparseSemiStructuredTensor whose ``values()`` are taken from ``dense`` by a
    differentiable gather: when ``dense`` requires grad, gradients of the values reach it
    (zero at the pruned entries).
    """
    what = "to_sparse_24" if prune else "to_sparse_semi_structured"
    dense = _dense_input(dense, what)
    if not prune:
        _check_groups_of_4(dense.data != 0, f"{what}: the matrix is not 2:4 sparse",
                           hint="; use to_sparse_24(..., prune=True) to prune it")
    return _build(dense, what)


def to_sparse_semi_structured(dense):
    """PyTorch's name: compress a matrix that is already 2:4 (validates, does not prune)."""
    return to_sparse_24(dense, prune=False)


# ------------------------------------------------------------------------- products


def mm24(values, meta, D):
    """Y = S D for S given by its stored ``values`` (Tensor, M x K/2) and ``meta`` (uint8,
    M x ceil(K/8)), D a dense Tensor (K x N) or vector (K,). Differentiable with respect
    to ``values`` and ``D``.

    CPU: Numba kernels reading only values and meta. CUDA: float16/bfloat16 go through the
    sparse-tensor-core kernel ``minigrad.kernels.mm_24`` (output in the input dtype, fp32
    accumulation); other dtypes through the dense reference."""
    values = _as_tensor(values, "values")
    D = _as_tensor(D, "D")
    if values.ndim != 2:
        raise ValueError(f"mm24: values must be 2-D (M, K/2), got shape {values.shape}")
    if D.ndim == 1:
        return mm24(values, meta, D.unsqueeze(-1)).squeeze(-1)
    if D.ndim != 2:
        raise ValueError(f"mm24: D must be 1-D or 2-D, got shape {D.shape}")
    return Mm24(meta)(values, D)


def mm_24(S, D):
    """Y = S D for a :class:`SparseSemiStructuredTensor` S and a dense D (K x N or (K,))."""
    if not isinstance(S, SparseSemiStructuredTensor):
        raise TypeError(f"mm_24: S must be a SparseSemiStructuredTensor, got "
                        f"{type(S).__name__} (use to_sparse_24)")
    D = _as_tensor(D, "D")
    if D.ndim not in (1, 2):
        raise ValueError(f"mm_24: D must be 1-D or 2-D, got shape {D.shape}")
    if D.shape[0] != S.shape[1]:
        raise ValueError(f"mm_24: S has shape {S.shape} but D has shape {D.shape}")
    return mm24(S.values(), S.meta, D)
