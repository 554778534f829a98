r"""``autocast``: run matmul and convolution in half precision, keep the rest in float32.

Intuition
---------
A float16 multiply-add on tensor cores is many times faster than a float32 one, and a
float16 tensor is half the bytes. But float16 has a 10-bit mantissa and a largest value of
65504: long sums (reductions, softmax normalisers, losses, batch statistics) lose digits
or overflow in it. Mixed precision therefore casts *per op*: the ops that are products of
matrices (matmul, conv) take half inputs and accumulate in float32; the ops that sum many
terms take float32 inputs. The parameters themselves stay float32 — they are the "master
weights" — and each half copy lives only as long as the op that uses it.

Design (PyTorch's ``torch.autocast``)
-------------------------------------
* ``autocast(dtype)`` sets a thread-local state that ops read through
  :func:`autocast_dtype` (the half dtype, or ``None`` outside a region).
* **Half ops** call :func:`autocast_inputs` on their operands: float32 Tensors come back
  cast to the half dtype through the differentiable ``Cast`` op (float64 and integer
  Tensors are left alone, as in PyTorch). The product is computed by
  :func:`half_matmul`: float32 accumulation, one rounding of the result to half.
* **Float32 ops** (sum, softmax, log_softmax, logsumexp, norms, losses, normalization
  statistics) call :func:`autocast_float32`, which casts half Tensors up to float32.
* **Everything else** runs in the dtype its inputs have; mixed half/float32 operands
  promote to float32 by NumPy's rules. An op of several roundings on half inputs
  (``Function.opmath``: gelu, silu, erf...) computes in float32 and returns the half
  dtype, rounded once, inside a region or not. One exception, PyTorch's: batch norm of a half
  input with float32 parameters (a half convolution's output) computes its statistics
  and affine in float32 and returns the input's half dtype, so a conv–BN–ReLU–conv chain
  stays half with no cast between its layers.
* **FP32 master weights.** Parameters are never converted. The engine casts every
  gradient back to the dtype of the tensor it flows into (``Cast``'s VJP and
  ``run_backward``), so the gradients that reach the float32 leaves are float32 and the
  optimizer updates float32 weights: the "FP32 master weights with half copies for
  compute" of mixed-precision training (Micikevicius et al. 2018), without a second copy
  of the model. (A model converted with ``.half()`` is the other design; minigrad's
  optimizers then keep a float32 master inside their state, see ``minigrad.optim``.)
* Pair it with :class:`minigrad.amp.GradScaler` when the dtype is float16: small
  gradients underflow in float16 unless the loss is scaled up first.

Where the hooks sit
-------------------
Each op class declares its policy, and ``Function.__call__`` applies it::

    class Function:
        amp_policy = None          # the default: run in the inputs' dtypes
    class MatMul(Function):
        amp_policy = "half"        # operands cast by autocast_inputs
    class Softmax(Function):
        amp_policy = "float32"     # operands cast by autocast_float32

    # Function.__call__, after non-Tensor operands are wrapped:
    if _amp_state.dtype is not None and self.amp_policy is not None:
        inputs = cast_inputs(self.amp_policy, inputs)

Policies: ``"half"`` for MatMul, LinearFunction, Conv2dFunction and its two gradient
Functions, and Einsum when it contracts (see the op lists below); ``"float32"`` for Sum,
LogSumExp, Softmax, LogSoftmax, Cumsum, Norm, the normalization statistics, and the ops
PyTorch's CUDA autocast keeps in float32 for range or precision (Exp, Log, Log1p, Pow,
Rsqrt, Softplus). Losses need nothing of their own: they are built from log_softmax and
sums. The forwards of the half ops compute their products with :func:`half_matmul` (a
drop-in for ``xp.matmul``). Custom code can call
:func:`autocast_inputs` / :func:`autocast_float32` directly (``minigrad.ops.fused`` does).

The op lists
------------
PyTorch keeps one list per device; minigrad has one, PyTorch's CUDA list (the device
autocast is for) where the two differ, except for einsum:

* half: matmul (1-D @ 1-D included), ``@``, mm, bmm, mv, linear, conv, prelu,
  scaled_dot_product_attention, tensordot, inner of matrices, chain_matmul,
  linalg.multi_dot (MatMul); addmm, baddbmm, addbmm, addmv,
  addr (their float32 sum of a half product and the input, rounded once to half); einsum
  when a letter of two or more operands is summed away (``"ij,kj->ik"``, ``"i,i->"``).
* the inputs' dtype (on neither list): dot, vdot, inner of two vectors, outer / ger,
  kron, linalg.vecdot, einsum without such a sum (``"ij->i"``, ``"i,j->ij"``); and
  matrix_exp, lstsq, cholesky_inverse and adaptive average pooling, single kernels in
  PyTorch that minigrad builds from matmuls (:func:`autocast_off`).
* PyTorch's CPU autocast differs: mv, addmv and addr stay float32 there (they are on
  the CUDA list only), and linalg.vecdot is half (CPU list only). Its CUDA autocast casts
  every einsum to half; its CPU autocast only the einsums it computes with bmm (the
  contractions), which minigrad follows, so that a sum over one operand never runs in
  half.

Notes
-----
* Backward runs in the dtypes the forward recorded, inside or outside the region (the
  ``Cast`` nodes are in the graph), so ``loss.backward()`` may be called after the
  ``with`` block, as PyTorch recommends.
* PyTorch caches the half copy of each weight for the length of a region; minigrad casts
  once per use (a weight used twice in one forward is cast twice).
* ``bfloat16`` needs the ``ml_dtypes`` package; on CUDA it also needs CuPy 14 or later
  (``mg.cuda.is_bf16_supported()``), and its products go through ``cupy.matmul``, not our
  float16 tensor-core GEMM.

References
----------
P. Micikevicius et al., "Mixed Precision Training", ICLR 2018.
PyTorch, "Automatic Mixed Precision package - torch.amp" (op lists and casting rules).
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from .. import dtypes as _dt
from .._backend import device_constant, quiet_fp_off, quiet_fp_on
from ..cuda_graphs import is_current_stream_capturing

__all__ = [
    "autocast", "autocast_dtype", "is_autocast_enabled", "autocast_inputs",
    "autocast_float32", "autocast_off", "cast_inputs", "half_matmul", "is_half",
]


class _State(threading.local):
    dtype = None  # the half dtype while inside an enabled autocast region (per thread)


_state = _State()


def autocast_dtype():
    """The half dtype (``mg.float16`` or ``mg.bfloat16``) inside an enabled ``autocast``
    region of this thread, ``None`` outside one."""
    return _state.dtype


def is_autocast_enabled(device_type=None) -> bool:
    """True inside an enabled ``autocast`` region (``device_type`` accepted for PyTorch)."""
    return _state.dtype is not None


def is_half(dtype) -> bool:
    """True for float16 and bfloat16: the dtypes whose products need float32 accumulation."""
    return dtype == _dt.float16 or (_dt.bfloat16 is not None and dtype == _dt.bfloat16)


def _check_half_dtype(dtype):
    if dtype is None:
        return _dt.float16
    if isinstance(dtype, str) and dtype == "bfloat16" and _dt.bfloat16 is None:
        raise TypeError("autocast: bfloat16 needs the ml_dtypes package (pip install "
                        "ml_dtypes); use dtype=mg.float16")
    d = _dt.as_dtype(dtype)
    if not is_half(d):
        raise ValueError(f"autocast: dtype must be float16 or bfloat16, got {d}")
    return d


class autocast:
    r"""Context manager (and decorator) for mixed-precision regions.

    Inside the region matmul and convolution cast their float32 inputs to ``dtype`` and
    return ``dtype`` (products accumulated in float32); reductions, softmax, losses and
    normalization statistics run in float32; parameters and their gradients stay float32.

    Parameters
    ----------
    dtype : mg.float16 (default) or mg.bfloat16
        A device string ("cuda"/"cpu") in this position is read as ``device_type`` and the
        positional arguments after it in PyTorch's order ``(device_type, dtype, enabled,
        cache_enabled)``, so ``autocast("cuda")`` and ``autocast("cuda", mg.bfloat16)``
        work as in PyTorch.
    enabled : bool, default True
        ``autocast(enabled=False)`` inside a region switches autocasting off again.
    device_type : str, optional
        Accepted for PyTorch compatibility; minigrad autocasts on every device.
    cache_enabled : bool, optional
        Accepted for PyTorch compatibility; ignored (no cast cache, see the module notes).

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad.amp import autocast, autocast_dtype
    >>> with autocast():
    ...     print(autocast_dtype())
    ...     with autocast(enabled=False):
    ...         print(autocast_dtype())
    float16
    None
    >>> print(autocast_dtype())
    None
    """

    def __init__(self, dtype=None, enabled=True, *args, device_type=None, cache_enabled=None):
        if isinstance(dtype, str) and dtype.split(":")[0] in ("cuda", "cpu"):
            # PyTorch's positional order: autocast(device_type, dtype, enabled, cache_enabled)
            device_type, dtype = dtype, None
            if not isinstance(enabled, (bool, np.bool_)):  # the second positional: a dtype
                dtype, enabled = enabled, True
                if args:
                    enabled, args = args[0], args[1:]
        if len(args) > 1 or (args and device_type is None):
            raise TypeError(f"autocast: too many positional arguments: {args!r}")
        if not isinstance(enabled, (bool, np.bool_)):
            raise TypeError(f"autocast: enabled must be a bool, got {type(enabled).__name__}")
        self.device_type = device_type
        self.fast_dtype = _check_half_dtype(dtype)
        self.enabled = bool(enabled)
        self._saved = []  # a stack, so one instance may be entered re-entrantly

    def __enter__(self):
        self._saved.append(_state.dtype)
        _state.dtype = self.fast_dtype if self.enabled else None
        return self

    def __exit__(self, *exc):
        _state.dtype = self._saved.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.fast_dtype, self.enabled, device_type=self.device_type):
                return fn(*args, **kwargs)

        return wrapper

    def __repr__(self):
        return f"autocast(dtype={self.fast_dtype}, enabled={self.enabled})"


# --------------------------------------------------------------------------- casting


def _cast(t, dtype):
    """Differentiable cast of a Tensor (anything else passes through)."""
    return t.to(dtype=dtype)


def autocast_inputs(*tensors):
    r"""The operands of a half op (matmul, conv, linear), cast for the current region.

    Outside an enabled ``autocast`` region, or for operands that are not float32/half
    Tensors (float64, integer, non-Tensor values, ``None``), the operands come back
    unchanged. Inside one, floating Tensors other than float64 are cast to the region's
    half dtype through the differentiable ``Cast`` op, so their gradients come back in
    their own (float32) dtype.

    Returns
    -------
    tuple
        As many values as were passed, in order: ``a, b = autocast_inputs(a, b)``.
    """
    dtype = _state.dtype
    if dtype is None:
        return tensors
    return tuple(
        _cast(t, dtype) if _castable(t) and t.dtype != dtype and t.dtype != _dt.float64
        else t
        for t in tensors
    )


def autocast_float32(*tensors):
    r"""The inputs of a float32 op (sums, softmax, losses, norms), upcast for the region.

    Inside an enabled ``autocast`` region, float16/bfloat16 Tensors come back cast to
    float32 (differentiably); everything else, and everything outside a region, comes
    back unchanged. Returns a tuple: ``(x,) = autocast_float32(x)``.
    """
    if _state.dtype is None:
        return tensors
    return tuple(
        _cast(t, _dt.float32) if _castable(t) and is_half(t.dtype) else t for t in tensors
    )


def cast_inputs(policy, inputs):
    """``autocast_inputs(*inputs)`` for ``policy == "half"``, ``autocast_float32(*inputs)``
    for ``"float32"``: the one line ``Function.__call__`` needs (see the module notes)."""
    if policy == "half":
        return autocast_inputs(*inputs)
    if policy == "float32":
        return autocast_float32(*inputs)
    raise ValueError(f"autocast policy must be 'half' or 'float32', got {policy!r}")


def autocast_off(fn):
    """Decorate a function that PyTorch computes in its inputs' dtype under autocast (one
    kernel, on neither list: matrix_exp, lstsq, cholesky_inverse, adaptive pooling) and
    minigrad builds from ops that autocast lists (matmul): inside a region it runs with
    autocast off, so its products are not cast to half."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _state.dtype is None:
            return fn(*args, **kwargs)
        with autocast(enabled=False):
            return fn(*args, **kwargs)

    return wrapper


def _castable(t):
    # A Tensor (duck-typed: this module is imported while minigrad.tensor loads).
    return hasattr(t, "requires_grad") and hasattr(t, "to") and _dt.is_floating(t.dtype)


# --------------------------------------------------------------------------- compute


def half_matmul(xp, a, b, out_dtype=None):
    r"""``xp.matmul(a, b)``, except that half operands are multiplied with float32
    accumulation and the result rounded once (to the half dtype, or ``out_dtype``).

    A drop-in for ``xp.matmul`` in the forward of every product op: operands that are
    not both float16 (or both bfloat16) go to ``xp.matmul`` unchanged. Mixed-precision
    GEMMs keep a float32 accumulator: a float16 running sum of K terms loses about
    log2(K) bits, and NumPy's own float16 matmul is a slow non-BLAS loop.

    * NumPy: both operands converted to float32, ``numpy.matmul`` (BLAS), result cast to
      the output dtype. The conversions are exact, so this equals a tensor-core GEMM up
      to the order of the float32 additions.
    * CuPy, 2-D C-contiguous operands: our tensor-core GEMMs, float16 or bfloat16 in,
      float32 accumulators, half or float32 output: ``minigrad.kernels.hgemm_wgmma`` on an
      sm_90 GPU for outputs of at least ``kernels.WGMMA_MIN_OUTPUT`` elements, else
      ``minigrad.kernels.hgemm``.
    * CuPy otherwise (batched, transposed or broadcast operands), and float32/float64
      operands that ``cupy.matmul`` would copy: ``minigrad.kernels.cublas_gemm.gemm``,
      cuBLAS called directly with the views' strides (no copies) and, for half operands,
      float32 compute and a half or float32 result (no float32 copies of the operands);
      float32 products in TF32 while ``mg.backends.cuda.matmul.allow_tf32`` (off by
      default, as in PyTorch).
      Always while a CUDA graph captures (:mod:`minigrad.cuda_graphs`: CuPy refuses to
      call cuBLAS then). Inside ``cublas_gemm.direct_gemm(False)`` these go to
      ``cupy.matmul`` instead (half operands converted to float32 first when a float32
      result is asked for, and always for bfloat16, which CuPy's matmul does not take).

    Parameters
    ----------
    xp : module
        NumPy or CuPy, the array module of ``a`` and ``b``.
    a, b : array
        Shapes ``(..., m, k)`` and ``(..., k, n)``.
    out_dtype : dtype, optional
        For half operands: the result dtype, the half dtype (default) or float32 — use
        float32 when the products are summed further (a batch of weight gradients).

    Returns
    -------
    array of shape ``(..., m, n)``
    """
    dtype = a.dtype
    half = dtype == b.dtype and is_half(dtype)
    out_dtype = dtype if out_dtype is None or not half else np.dtype(out_dtype)
    if half and out_dtype not in (dtype, np.float32):
        raise TypeError(f"half_matmul: out_dtype must be {dtype} or float32, got {out_dtype}")
    if xp is np:
        # Overflow gives inf silently, as on a GPU and in PyTorch (for half outputs it is
        # GradScaler's signal to skip the step), not a NumPy RuntimeWarning.
        token = quiet_fp_on()
        try:
            if not half:
                return np.matmul(a, b)
            return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(out_dtype)
        finally:
            quiet_fp_off(token)
    from minigrad.kernels import cublas_gemm

    capturing = is_current_stream_capturing()
    direct = _direct(a, b, capturing or cublas_gemm.direct_enabled())
    if not half:
        from minigrad import backends

        tf32 = a.dtype == np.float32 and backends.cuda.matmul.allow_tf32
        if direct and (capturing or tf32 or not _plain(a, b)):
            return cublas_gemm.gemm(a, b, tf32=tf32)
        return xp.matmul(a, b)
    if a.ndim == 2 and b.ndim == 2 and a.flags.c_contiguous and b.flags.c_contiguous:
        from minigrad import kernels

        gemm = kernels.hgemm_wgmma if kernels.wgmma_worth_it(a.shape[0], b.shape[1]) else \
            kernels.hgemm
        return gemm(a, b, out_dtype=out_dtype)
    if direct:
        return cublas_gemm.gemm(a, b, out_dtype=out_dtype)
    if out_dtype == np.float32 or dtype != np.float16:  # cuBLAS through CuPy: float16 only
        return xp.matmul(a.astype(np.float32), b.astype(np.float32)).astype(out_dtype)
    return xp.matmul(a, b)


def matmul_into(xp, a, b, dest, tf32=None):
    """dest += a @ b by cuBLAS's β = 1 (``cublas_gemm.gemm(add_to=dest)``) where
    :func:`half_matmul` would send this float32/float64 CuPy product to cuBLAS directly
    (TF32 as it would, unless ``tf32`` says), ``dest`` of the product's shape and dtype and
    not overlapping a or b; returns whether it did (else the caller computes the product
    and adds it)."""
    if xp is np or is_half(a.dtype) or dest.dtype != a.dtype or \
            dest.shape != a.shape[:-1] + b.shape[-1:] or \
            xp.may_share_memory(dest, a) or xp.may_share_memory(dest, b):
        return False
    from minigrad.kernels import cublas_gemm

    if not _direct(a, b, is_current_stream_capturing() or cublas_gemm.direct_enabled()):
        return False
    if tf32 is None:
        from minigrad import backends

        tf32 = a.dtype == np.float32 and backends.cuda.matmul.allow_tf32
    cublas_gemm.gemm(a, b, tf32=tf32, add_to=dest)
    return True


def sum_rows_into(xp, g, dest):
    """dest += Σ_rows g for a 2-D CuPy ``g`` (R, F) and ``dest`` (F,), as the product
    ones(1, R) @ g by :func:`matmul_into` (full float32 products, no TF32: a bias gradient
    is a sum; the row of ones made once per R, dtype and device); returns whether it did
    (else the caller sums and adds: two launches)."""
    if xp is np or g.ndim != 2 or not dest.flags.c_contiguous:  # (reshaped, not copied)
        return False
    ones = device_constant(("ones row", g.shape[0], g.dtype, g.device.id),
                           lambda: xp.ones((1, g.shape[0]), dtype=g.dtype))
    return matmul_into(xp, ones, g, dest.reshape(1, -1), tf32=False)


def _direct(a, b, wanted):
    """Whether a CuPy product may go to cuBLAS directly (``cublas_gemm.gemm``): when
    ``wanted`` (always while a CUDA graph captures, as CuPy refuses cuBLAS then; else
    while ``direct_gemm`` is on, the default) and the operands are what it takes: two or
    more dims, one dtype among float16, bfloat16, float32 and float64."""
    return (wanted and a.ndim >= 2 and b.ndim >= 2 and a.dtype == b.dtype
            and (is_half(a.dtype) or a.dtype in (np.float32, np.float64)))


def _plain(a, b):
    """Operands ``cupy.matmul`` takes as they are: both C-contiguous with the same batch
    dims (it copies any other layout and passes broadcast batches as pointer arrays)."""
    return a.flags.c_contiguous and b.flags.c_contiguous and a.shape[:-2] == b.shape[:-2]


def is_autocast_available(device_type) -> bool:
    """Whether autocast runs on ``device_type``: "cpu" and "cuda" (the CPU path is slower,
    for testing, as in the rest of minigrad)."""
    return device_type in ("cpu", "cuda")


def custom_fwd(fwd=None, *, device_type="cuda", cast_inputs=None):
    """Decorate a custom Function's ``forward`` (PyTorch's ``torch.amp.custom_fwd``): the
    autocast state at the call is remembered for :func:`custom_bwd`; with ``cast_inputs``
    (a floating dtype) and autocast on, the floating tensor arguments are cast to it and
    the forward runs with autocast off."""
    import functools

    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def forward(ctx, *args, **kwargs):
        ctx._amp_dtype = _state.dtype
        if cast_inputs is None or _state.dtype is None:
            return fwd(ctx, *args, **kwargs)
        from ..tensor import Tensor

        def cast(a):
            if isinstance(a, Tensor) and a.is_floating_point():
                return a.to(dtype=cast_inputs)
            return a

        with autocast(enabled=False):
            return fwd(ctx, *[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})

    return forward


def custom_bwd(bwd=None, *, device_type="cuda"):
    """Decorate a custom Function's ``backward`` (``torch.amp.custom_bwd``): it runs with
    the autocast state its forward ran with."""
    import functools

    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def backward(ctx, *grads):
        saved = _state.dtype
        _state.dtype = getattr(ctx, "_amp_dtype", None)
        try:
            return bwd(ctx, *grads)
        finally:
            _state.dtype = saved

    return backward
