"""minigrad: a from-scratch autograd tensor engine on NumPy (CPU) and CuPy (GPU).

>>> import minigrad as mg
>>> x = mg.tensor([1.0, 2.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4.])
"""
from __future__ import annotations

import builtins as _builtins  # bool, float and max are minigrad's own names here

from . import autograd, dtypes, linalg, random
from . import cuda_graphs as _cuda_graphs
from ._backend import cuda_available
from ._backend import tune_host_allocator as _tune_host_allocator
from ._printing import set_printoptions
from ._source_tree import install_kernels_finder
from .autograd import (
    enable_grad,
    inference_mode,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .creation import (
    arange,
    as_tensor,
    bartlett_window,
    bernoulli,
    blackman_window,
    cat,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    hamming_window,
    hann_window,
    kaiser_window,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    stack,
    tensor,
    tril_indices,
    triu_indices,
    where,
    zeros,
    zeros_like,
)
from .dtypes import (
    bfloat16,
    bool,
    can_cast,
    double,
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    uint8,
)
from .gradcheck import (
    GradcheckError,
    GradcheckReport,
    gradcheck,
    gradcheck_report,
    gradgradcheck,
    gradgradcheck_report,
)
from .linalg import det, logdet, matrix_power, slogdet
from .linalg import inv as inverse
from .ops.activation import elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh
from .ops.elementwise import clamp
from .ops.linalg import (
    addmm,
    addmv,
    baddbmm,
    bmm,
    cdist,
    cross,
    diag,
    diag_embed,
    diagonal,
    dot,
    einsum,
    inner,
    kron,
    matmul,
    mm,
    outer,
    pinverse,
    trace,
    tril,
    triu,
)
from .ops.manipulation import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    cartesian_prod,
    column_stack,
    combinations,
    diff,
    dstack,
    fliplr,
    flipud,
    hstack,
    index_add,
    index_copy,
    index_fill,
    isin,
    masked_select,
    meshgrid,
    movedim,
    repeat_interleave,
    rot90,
    row_stack,
    rsub,
    take_along_dim,
    tile,
    unravel_index,
    vstack,
)
from .ops.numerical import cumulative_trapezoid, gradient, trapezoid, trapz
from .ops.reduction import (
    aminmax,
    log_softmax,
    logcumsumexp,
    logsumexp,
    nanmean,
    nansum,
    norm,
    softmax,
    std_mean,
    var_mean,
)
from .ops.shape import chunk, pad, split
from .ops.sorting import (
    argwhere,
    bucketize,
    count_nonzero,
    cummax,
    cummin,
    nonzero,
    searchsorted,
    unique,
)
from .ops.special import digamma, lgamma, mvlgamma, polygamma
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import load, save
from .tensor import Tensor

install_kernels_finder()  # minigrad.kernels from a source checkout (see _source_tree.py)
_tune_host_allocator()  # reuse freed step-sized buffers instead of faulting pages in again

__version__ = "0.1.0"

import inspect as _inspect  # noqa: E402
from numbers import Real as _Real  # noqa: E402  (mg.int and mg.float are dtypes)

# functional forms that take a Python number as their first operand (PyTorch's Scalar
# overloads): pow(2, t), mul(2, t)...
_NUMBER_FIRST = frozenset(("pow", "add", "sub", "mul", "div", "remainder", "floor_divide"))


def _unary(name):
    def f(input, *args, **kwargs):  # noqa: A002 (PyTorch's name for it)
        if not isinstance(input, Tensor) and not hasattr(input, name):  # (sparse have it)
            # a Python number first, as in torch.pow(2, t) and torch.mul(2, t): a constant
            # beside the Tensor that follows (its dtype rules: see tensor._as_operand)
            if name in _NUMBER_FIRST and args and isinstance(args[0], Tensor) and \
                    isinstance(input, _Real) and input is not True and input is not False:
                from .tensor import _as_operand

                input = _as_operand(input, args[0])
            else:
                raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Functional form of ``Tensor.{name}``."
    # the method's arguments, self as ``input`` (what help() and inspect show, and the
    # API audits count: mg.maximum takes two tensors, not one)
    sig = _inspect.signature(getattr(Tensor, name))
    self_, *rest = sig.parameters.values()
    f.__signature__ = sig.replace(parameters=[self_.replace(name="input"), *rest])
    return f


exp, log, log1p, sqrt, rsqrt, abs, sign, sin, cos, erf = (  # noqa: A001
    _unary(n) for n in ("exp", "log", "log1p", "sqrt", "rsqrt", "abs", "sign", "sin", "cos",
                        "erf"))
sum, mean, var, std, amax, amin, argmax, argmin, cumsum, flatten, reshape, flip = (  # noqa: A001
    _unary(n) for n in ("sum", "mean", "var", "std", "amax", "amin", "argmax", "argmin",
                        "cumsum", "flatten", "reshape", "flip"))
max, min, maximum, minimum, transpose, permute, squeeze, unsqueeze, pow = (  # noqa: A001
    _unary(n) for n in ("max", "min", "maximum", "minimum", "transpose", "permute",
                        "squeeze", "unsqueeze", "pow"))
floor, ceil, round, trunc, fix, frac, tan, expm1, exp2, log2, log10 = (  # noqa: A001
    _unary(n) for n in ("floor", "ceil", "round", "trunc", "fix", "frac", "tan", "expm1",
                        "exp2", "log2", "log10"))
reciprocal, square, isnan, isinf, isfinite, isposinf, isneginf, nan_to_num = (
    _unary(n) for n in ("reciprocal", "square", "isnan", "isinf", "isfinite", "isposinf",
                        "isneginf", "nan_to_num"))
any, all, prod, cumprod, sort, argsort, topk, kthvalue, median = (  # noqa: A001
    _unary(n) for n in ("any", "all", "prod", "cumprod", "sort", "argsort", "topk",
                        "kthvalue", "median"))
gather, scatter, scatter_add = (_unary(n) for n in ("gather", "scatter", "scatter_add"))
# elementwise math: inverse trigonometric, hyperbolic and special functions, two-operand
# functions and PyTorch's named compositions (each documented in ops/elementwise.py); the
# import sits here, with the functional forms, rather than at the top of the file
from .ops.elementwise import (  # noqa: E402
    acos,
    acosh,
    addcdiv,
    addcmul,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    copysign,
    cosh,
    deg2rad,
    erfc,
    erfinv,
    float_power,
    heaviside,
    hypot,
    lerp,
    logaddexp,
    logaddexp2,
    logit,
    rad2deg,
    result_type,
    sinc,
    sinh,
    true_divide,
    xlogy,
)

# shape, indexing and comparison functions that are Tensor methods (PyTorch's names)
clone, index_select, masked_fill, roll, narrow, unbind, broadcast_to, unflatten, t = (
    _unary(n) for n in ("clone", "index_select", "masked_fill", "roll", "narrow", "unbind",
                        "broadcast_to", "unflatten", "t"))
eq, ne, lt, le, gt, ge, isclose, allclose, equal = (
    _unary(n) for n in ("eq", "ne", "lt", "le", "gt", "ge", "isclose", "allclose", "equal"))
logical_not, logical_and, logical_or, logical_xor = (
    _unary(n) for n in ("logical_not", "logical_and", "logical_or", "logical_xor"))
add, sub, mul, div, neg, remainder, floor_divide, clamp_min, clamp_max = (
    _unary(n) for n in ("add", "sub", "mul", "div", "neg", "remainder", "floor_divide",
                        "clamp_min", "clamp_max"))
subtract, multiply, divide, negative, clip = sub, mul, div, neg, clamp
concat = concatenate = cat
swapaxes = swapdims = transpose
moveaxis = movedim

# statistics and integer ops (ops/statistics.py)
from .ops.special import i0, igamma, igammac  # noqa: E402
from .ops.statistics import (  # noqa: E402
    bincount,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    corrcoef,
    cov,
    dist,
    fmax,
    fmin,
    fmod,
    frexp,
    gcd,
    histc,
    histogram,
    is_nonzero,
    is_same_size,
    is_signed,
    isreal,
    lcm,
    ldexp,
    mode,
    msort,
    nanmedian,
    nanquantile,
    nextafter,
    positive,
    quantile,
    ravel,
    renorm,
    signbit,
    unique_consecutive,
)

absolute, sgn = abs, sign
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


# indexing, splitting and linear algebra additions (ops/indexing.py, ops/linalg.py)
from .creation import asarray, from_dlpack, scalar_tensor  # noqa: E402
from .ops.indexing import (  # noqa: E402
    diagflat,
    diagonal_scatter,
    dsplit,
    hsplit,
    index_put,
    index_reduce,
    masked_scatter,
    narrow_copy,
    put,
    scatter_reduce,
    select,
    select_scatter,
    slice_scatter,
    split_with_sizes,
    take,
    tensor_split,
    vsplit,
)
from .ops.linalg import (  # noqa: E402  # noqa: E402
    addbmm,
    addr,
    adjoint,
    chain_matmul,
    cholesky,
    cholesky_inverse,
    cholesky_solve,
    ger,
    lu,
    lu_solve,
    lu_unpack,
    matrix_exp,
    mv,
    qr,
    svd,
    tensordot,
    triangular_solve,
    vander,
    vdot,
)


def detach(input):
    """``input.detach()``: the same data, cut from the graph."""
    return input.detach()


def fill(input, value):
    """A new tensor shaped like ``input`` with every element ``value``."""
    return full_like(input, value)


def vmap(func, in_dims=0, out_dims=0):
    """``torch.vmap``: :func:`minigrad.func.vmap`."""
    from .func import vmap as _vmap

    return _vmap(func, in_dims, out_dims)


def autocast(device_type, dtype=None, enabled=True, cache_enabled=None):
    """``torch.autocast(device_type, ...)``: :class:`minigrad.amp.autocast`."""
    from .amp import autocast as _autocast

    return _autocast(dtype=dtype, enabled=enabled, device_type=device_type,
                     cache_enabled=cache_enabled)


def _functional(name):
    """``torch.<name>``: the function of ``minigrad.nn.functional`` with that name (the
    ones whose torch-level signature is the functional one)."""
    def forward(*args, **kwargs):
        from .nn import functional as F

        return getattr(F, name)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f"``torch.{name}``: :func:`minigrad.nn.functional.{name}`."
    return forward


(conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, avg_pool1d,
 max_pool1d, max_pool2d, max_pool3d, max_pool1d_with_indices, adaptive_avg_pool1d,
 adaptive_max_pool1d, pixel_shuffle, pixel_unshuffle, channel_shuffle, prelu, selu, celu,
 rrelu, threshold, hardshrink, bilinear, cosine_similarity, pairwise_distance, pdist,
 dropout, alpha_dropout, feature_alpha_dropout, rms_norm) = (_functional(n) for n in (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "avg_pool1d", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "adaptive_avg_pool1d", "adaptive_max_pool1d",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "prelu", "selu", "celu", "rrelu",
    "threshold", "hardshrink", "bilinear", "cosine_similarity", "pairwise_distance", "pdist",
    "dropout", "alpha_dropout", "feature_alpha_dropout", "rms_norm"))


def numel(input) -> int:
    """The number of elements of ``input``."""
    return input.numel()


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a minigrad Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:
    return input.is_floating_point()


def compile(model=None, **options):  # noqa: A001  (PyTorch's name)
    """``torch.compile``'s place: minigrad has no compiler, so the model (or function) is
    returned as it is, and ``@mg.compile`` decorates nothing; PyTorch code that calls it
    runs unchanged."""
    if model is None:
        return lambda fn: fn
    return model


_thread_limit = [None]


def get_num_threads() -> int:
    """The threads NumPy's BLAS uses (threadpoolctl's view; the CPU count without it)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        import os

        return os.cpu_count() or 1
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return _builtins.max(counts) if counts else 1


def set_num_threads(n: int) -> None:
    """Limit NumPy's BLAS to ``n`` threads (through threadpoolctl, which must be
    installed; PyTorch's intra-op threads have no other counterpart here)."""
    if isinstance(n, _builtins.bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise RuntimeError("set_num_threads needs the threadpoolctl package "
                           "(pip install threadpoolctl)") from None
    _thread_limit[0] = threadpool_limits(n, user_api="blas")


def is_complex(input) -> bool:
    """False: minigrad has no complex dtypes."""
    return input.is_complex()


class _Cuda:
    """``mg.cuda``: device queries that work (and answer False) without a GPU, and CUDA
    graphs (:mod:`minigrad.cuda_graphs`)."""

    CUDAGraph = _cuda_graphs.CUDAGraph  # PyTorch's torch.cuda names
    graph = staticmethod(_cuda_graphs.graph)
    graph_pool_handle = staticmethod(_cuda_graphs.graph_pool_handle)
    is_current_stream_capturing = staticmethod(_cuda_graphs.is_current_stream_capturing)

    @staticmethod
    def is_available():
        return cuda_available()

    @staticmethod
    def synchronize():
        from ._backend import cupy

        cupy().cuda.Device().synchronize()

    @staticmethod
    def manual_seed(seed):  # noqa: F811  (PyTorch's parameter name)
        manual_seed(seed)

    @staticmethod
    def device_count() -> int:
        """The number of visible CUDA devices (0 without CuPy or a GPU)."""
        if not cuda_available():
            return 0
        from ._backend import cupy

        return int(cupy().cuda.runtime.getDeviceCount())

    @staticmethod
    def current_device() -> int:
        from ._backend import cupy

        return int(cupy().cuda.Device().id)

    @staticmethod
    def get_device_name(device=None) -> str:
        from ._backend import cupy

        cp = cupy()
        index = cp.cuda.Device().id if device is None else int(str(device).split(":")[-1])
        name = cp.cuda.runtime.getDeviceProperties(index)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    @staticmethod
    def memory_allocated(device=None) -> int:
        """Bytes held by live CUDA tensors (CuPy's memory pool, in use)."""
        from ._backend import cupy

        return int(cupy().get_default_memory_pool().used_bytes())

    @staticmethod
    def memory_reserved(device=None) -> int:
        """Bytes the memory pool holds from the driver (in use or cached)."""
        from ._backend import cupy

        return int(cupy().get_default_memory_pool().total_bytes())

    @staticmethod
    def empty_cache() -> None:
        """Give the pool's cached, unused blocks back to the driver."""
        if cuda_available():
            from ._backend import cupy

            cupy().get_default_memory_pool().free_all_blocks()

    @staticmethod
    def Event(enable_timing=True):  # noqa: N802  (PyTorch's class name)
        """A CUDA event (``record()``, ``synchronize()``, ``elapsed_time(end)`` in ms):
        CuPy's ``cupy.cuda.Event``, with PyTorch's method names."""
        from ._backend import cupy

        return _CudaEvent(cupy().cuda.Event(disable_timing=not enable_timing))

    @staticmethod
    def is_bf16_supported():
        """Whether CUDA tensors can be bfloat16 (a GPU, and CuPy 14 or later with
        ml_dtypes); False without a GPU."""
        from ._backend import cupy_has_bfloat16

        return cuda_available() and cupy_has_bfloat16()


class _CudaEvent:
    """PyTorch's ``torch.cuda.Event`` methods over a ``cupy.cuda.Event``."""

    def __init__(self, event):
        self._event = event

    def record(self, stream=None):
        self._event.record(stream)

    def synchronize(self):
        self._event.synchronize()

    def query(self) -> bool:
        return _builtins.bool(self._event.done)

    def elapsed_time(self, end_event) -> float:
        """Milliseconds from this event to ``end_event`` (both recorded)."""
        from ._backend import cupy

        return _builtins.float(cupy().cuda.get_elapsed_time(self._event, end_event._event))


cuda = _Cuda()


def set_float32_matmul_precision(precision):
    """PyTorch's name (:func:`minigrad.backends.set_float32_matmul_precision`)."""
    from .backends import set_float32_matmul_precision as set_precision

    set_precision(precision)


def get_float32_matmul_precision():
    """PyTorch's name (:func:`minigrad.backends.get_float32_matmul_precision`)."""
    from .backends import get_float32_matmul_precision as get_precision

    return get_precision()


def sparse_coo_tensor(indices, values, size=None, **kwargs):
    """A COO sparse tensor (:func:`minigrad.sparse.sparse_coo_tensor`)."""
    from .sparse import sparse_coo_tensor as make

    return make(indices, values, size, **kwargs)


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, **kwargs):
    """A CSR sparse tensor (:func:`minigrad.sparse.sparse_csr_tensor`)."""
    from .sparse import sparse_csr_tensor as make

    return make(crow_indices, col_indices, values, size, **kwargs)


# Subpackages that load on first use (``mg.nn``, ``mg.optim``...), so ``import minigrad``
# stays light; ``testing`` needs hypothesis (a test extra).
_LAZY_SUBMODULES = ("nn", "optim", "sparse", "data", "amp", "kernels", "testing", "backends",
                    "distributed", "quantization", "viz", "train", "search", "distributions",
                    "special", "func", "utils")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
