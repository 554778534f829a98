r"""Argument checks shared by the CUDA launchers (``_cuda``) and their NumPy twins
(``reference``): one copy, so that both accept and refuse the same inputs with the same
exception types and messages, each message naming the function (``"spmv_csr: x must have
dtype float32, got float64"``).

Two kinds of check, and who runs them:

* **Attribute checks** read only what an array says about itself: type, dtype, ndim, shape,
  C-contiguity, sizes. They cost nothing on a GPU, and the launchers and the twins run the
  same ones (``validate_csr``, ``validate_spmv_method``, ``validate_threads_per_row``,
  ``validate_hgemm``, ``validate_compress_24``, ``validate_mm24``). A launcher then adds
  only its device check (``_cuda._require_device``: CuPy arrays, a GPU).
* **Content checks** read the arrays' values: the CSR structure (``check_csr_structure``:
  ``indptr`` starts at 0, never decreases and ends at nnz; every column index lies in
  ``[0, n_cols)``), the 2:4 metadata nibbles (``reference.decode_metadata``) and the padded
  columns of a packed 2:4 matrix (``check_mm24_padding``). On CUDA each would copy device
  memory to the host and synchronise on every call, so the launchers do not run them
  (``validate_csr`` reads no device memory, and stays that way); the twins do. Content that
  breaks them is undefined on the GPU: a column index out of range reads outside ``x``, a
  decreasing ``indptr`` gives a row no products or another row's.

NumPy only: importing this module needs no CuPy and no GPU.
"""
from __future__ import annotations

import operator

import numpy as np

from minigrad.dtypes import dtype_name

HALF = ("float16", "bfloat16")  # the tensor-core kernels' input types
CSR_VALUES = ("float32", "float64")  # the CSR kernels' value types
SPMV_METHODS = ("vector", "merge", "stream")
THREADS_PER_ROW = (2, 4, 8, 16, 32)  # the CSR-vector group sizes spmv_csr.cu is built for


def _dtype_name(a) -> str:
    return dtype_name(a.dtype)


def check_array(fname, name, a, ndim=None, dtypes=None, shape=None, *, contiguous=True):
    """Raise unless ``a`` is an array (NumPy or CuPy) with ``ndim`` dimensions, one of the
    ``dtypes`` (names), the given ``shape`` and (``contiguous``) a C-contiguous layout.
    ``TypeError`` for the type and the dtype, ``ValueError`` for the rest; the message
    starts with ``fname`` (when given) and names the argument ``name``."""
    # (every launch runs these: one attribute read each, messages made only to raise)
    try:
        dtype, a_shape, flags = a.dtype, a.shape, a.flags
    except AttributeError:
        raise TypeError(f"{fname + ': ' if fname else ''}{name} must be an array, got "
                        f"{type(a).__name__}") from None
    problem = None
    if ndim is not None and len(a_shape) != ndim:
        problem = ValueError, f"must be {ndim}-D, got shape {tuple(a_shape)}"
    elif dtypes is not None and dtype_name(dtype) not in dtypes:
        problem = TypeError, f"must have dtype {' or '.join(dtypes)}, got {dtype}"
    elif shape is not None and tuple(a_shape) != tuple(shape):
        problem = ValueError, f"must have shape {tuple(shape)}, got {tuple(a_shape)}"
    elif contiguous and not flags.c_contiguous:
        problem = ValueError, "must be C-contiguous (use ascontiguousarray)"
    if problem is not None:
        kind, message = problem
        raise kind(f"{fname + ': ' if fname else ''}{name} {message}")


def check_out(fname, out, shape, dtypes):
    """``check_array`` for an optional output argument ``out``."""
    if out is not None:
        check_array(fname, "out", out, len(shape), dtypes, shape)


# ------------------------------------------------------------------------------------ CSR


def validate_csr_pattern(fname, indptr, indices):
    """The attribute checks of a CSR pattern: int32 ``indptr`` (n_rows + 1 >= 1 entries) and
    ``indices``, n_rows + nnz within int32. Returns (n_rows, nnz)."""
    check_array(fname, "indptr", indptr, 1, ("int32",))
    check_array(fname, "indices", indices, 1, ("int32",))
    if indptr.shape[0] < 1:
        raise ValueError(f"{fname}: indptr must hold n_rows + 1 >= 1 entries, got none")
    n_rows, nnz = indptr.shape[0] - 1, indices.shape[0]
    if n_rows + nnz >= 2**31 - 1:
        raise ValueError(f"{fname}: n_rows + nnz must fit in int32, got {n_rows} + {nnz}")
    return n_rows, nnz


def validate_csr(fname, indptr, indices, data, x, x_name="x", x_ndim=1, out=None):
    """The attribute checks of spmv_csr (``x`` 1-D) and spmm_csr (``x`` = B, 2-D): the
    pattern's (:func:`validate_csr_pattern`), float32/float64 ``data`` as long as
    ``indices``, ``x`` and ``out`` of data's dtype, ``out`` of shape (n_rows,) +
    x.shape[1:]. Reads no array contents (no device sync on CUDA); ``check_csr_structure``
    is the content check. Returns (n_rows, nnz, n_cols), n_cols = x.shape[0]."""
    n_rows, nnz = validate_csr_pattern(fname, indptr, indices)
    check_array(fname, "data", data, 1, CSR_VALUES)
    if indices.shape[0] != data.shape[0]:
        raise ValueError(f"{fname}: indices ({indices.shape[0]}) and data ({data.shape[0]}) "
                         f"must have the same length")
    check_array(fname, x_name, x, x_ndim, (_dtype_name(data),))
    check_out(fname, out, (n_rows, *x.shape[1:]), (_dtype_name(data),))
    return n_rows, nnz, x.shape[0]


def validate_spmv_method(fname, method):
    if method is not None and method not in SPMV_METHODS:
        raise ValueError(f"{fname}: method must be 'vector', 'merge', 'stream' or None, got "
                         f"{method!r}")


def validate_threads_per_row(fname, threads_per_row):
    if threads_per_row is not None and threads_per_row not in THREADS_PER_ROW:
        raise ValueError(f"{fname}: threads_per_row must be 2, 4, 8, 16 or 32, got "
                         f"{threads_per_row!r}")


def check_csr_structure(fname, indptr, indices, n_cols, x_name="x"):
    """The content checks of a CSR matrix with ``n_cols`` columns (``ValueError``):
    ``indptr[0] == 0``, ``indptr`` non-decreasing, ``indptr[-1] == len(indices)`` and every
    column index in ``[0, n_cols)`` (n_cols: the length of x, the rows of B). NumPy arrays:
    on CUDA it would be a device synchronisation, so only the NumPy twins run it."""
    nnz = indices.shape[0]
    first, last = int(indptr[0]), int(indptr[-1])
    if first != 0:
        raise ValueError(f"{fname}: indptr[0] must be 0, got {first}")
    steps = np.diff(indptr.astype(np.int64))
    if steps.size and steps.min() < 0:
        r = int(np.argmax(steps < 0))
        raise ValueError(f"{fname}: indptr must be non-decreasing, but indptr[{r + 1}] = "
                         f"{int(indptr[r + 1])} < indptr[{r}] = {int(indptr[r])}")
    if last != nnz:
        raise ValueError(f"{fname}: indptr[-1] must equal the number of stored values "
                         f"({nnz}), got {last}")
    if nnz:
        bad = (indices < 0) | (indices >= n_cols)
        if bad.any():
            k = int(np.argmax(bad))
            size = "len(x)" if x_name == "x" else f"{x_name}.shape[0]"
            raise ValueError(f"{fname}: column index {int(indices[k])} (indices[{k}]) is "
                             f"outside [0, {n_cols}) ({size} = {n_cols})")


# ---------------------------------------------------------------------- tensor-core GEMMs


def resolve_out_dtype(fname, in_dtype, out, out_dtype) -> str:
    """The output dtype name of a tensor-core GEMM: ``out``'s dtype, else ``out_dtype``,
    else float32; ``ValueError`` when ``out`` and ``out_dtype`` disagree, ``TypeError``
    unless it is float32 or the input type."""
    allowed = ("float32", dtype_name(in_dtype))
    if out is not None:
        check_array(fname, "out", out)
        dt = _dtype_name(out)
        if out_dtype is not None and dtype_name(out_dtype) != dt:
            raise ValueError(f"{fname}: out has dtype {dt} but out_dtype is "
                             f"{np.dtype(out_dtype).name}")
    else:
        dt = dtype_name(out_dtype) if out_dtype is not None else "float32"
    if dt not in allowed:
        raise TypeError(f"{fname}: output dtype must be {' or '.join(allowed)}, got {dt}")
    return dt


def validate_hgemm(fname, A, B, out=None, out_dtype=None) -> str:
    """The checks of hgemm and its variants: A (M, K) float16 or bfloat16, B (K, N) of the
    same dtype, both C-contiguous; ``out`` (M, N) of the output dtype, which is returned."""
    check_array(fname, "A", A, 2, HALF)
    check_array(fname, "B", B, 2, (_dtype_name(A),))
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"{fname}: A is {tuple(A.shape)} and B is {tuple(B.shape)}: inner "
                         f"sizes differ (need A (M, K) and B (K, N))")
    dt = resolve_out_dtype(fname, A.dtype, out, out_dtype)
    check_out(fname, out, (A.shape[0], B.shape[1]), (dt,))
    return dt


def validate_compress_24(fname, W):
    """W (M, K) float16 or bfloat16, any layout (compress_24 is array code that copies W
    into its zero-padded width first)."""
    check_array(fname, "W", W, 2, HALF, contiguous=False)


def validate_mm24(fname, values, metadata, B, out=None, K=None) -> str:
    r"""The checks of mm_24 and mm_24_wgmma; returns the output dtype name.

    ``values`` (M, Kp/2) float16/bfloat16, ``metadata`` (ceil(M/16), Kp/32, 16) uint32,
    ``B`` (K, N) of values' dtype, all C-contiguous; ``out`` (M, N) float32 or the input
    type (default float32).

    The packed format does not record K, W's width: it holds W padded with zero columns to
    Kp = round_up(K, 32), so its shapes fix K only up to that padding, and every K in
    (Kp - 32, Kp] passes the shape check ``round_up(B.shape[0], 32) == Kp``. A B that is
    short by a few rows is caught by the NumPy twin only if W holds a nonzero in a column
    at or past B.shape[0] (``check_mm24_padding``, a content check); a B with spare rows
    that meet W's zero padding is not caught at all. Pass ``K`` (W's true width, e.g.
    ``W.shape[1]`` before ``compress_24``) and B.shape[0] must equal it: an exact check that
    reads no array contents, on both paths.
    """
    check_array(fname, "values", values, 2, HALF)
    M, KC = values.shape
    if KC % 16:
        raise ValueError(f"{fname}: values must have round_up(K, 32) / 2 columns, a multiple "
                         f"of 16, got shape {tuple(values.shape)}")
    check_array(fname, "metadata", metadata, 3, ("uint32",), (-(-M // 16), KC // 16, 16))
    check_array(fname, "B", B, 2, (_dtype_name(values),))
    rows, N = B.shape
    if K is not None:
        K = operator.index(K)
        if K != rows:
            raise ValueError(f"{fname}: W has K = {K} columns but B has {rows} rows")
    if 2 * KC != -(-rows // 32) * 32:
        raise ValueError(f"{fname}: values hold {2 * KC} columns of W (K padded to a multiple "
                         f"of 32) but B has {rows} rows (values.shape[1] must be "
                         f"round_up(K, 32) / 2)")
    if out is None:
        return "float32"
    check_array(fname, "out", out)
    dt = _dtype_name(out)
    if dt not in ("float32", _dtype_name(values)):
        raise TypeError(f"{fname}: out must be float32 or {_dtype_name(values)}, got {dt}")
    check_out(fname, out, (M, N), (dt,))
    return dt


def check_mm24_padding(fname, W, K):
    """The content check of a decompressed 2:4 matrix W (M, Kp) against B's K rows: W must be
    zero in the padding columns K .. Kp-1, else B is missing rows that W multiplies. Reads
    W's values: only the NumPy twin runs it."""
    tail = W[:, K:] != 0
    if tail.any():
        col = K + int(np.argmax(tail.any(axis=0)))
        raise ValueError(f"{fname}: W has a nonzero in column {col} but B has only {K} rows "
                         f"(B must have W's K rows; the packed format holds W's columns "
                         f"padded to {W.shape[1]}, so only such a column can show it: pass "
                         f"K= for an exact check)")
