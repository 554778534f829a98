"""Reductions and normalizing maps: sum, mean, var, std, amax/amin, max/min, logsumexp,
softmax, log_softmax, cumsum, cumprod, prod, norm.

``dim`` is None (all dims), an int, or a tuple of ints; negative dims count from the end.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import dtypes as _dt
from .._backend import quiet_fp_off, quiet_fp_on
from ..amp.autocast_mode import autocast_dtype, autocast_float32, is_half
from ..autograd import grad_mode as _grad_mode
from ..autograd.function import Function, ieee
from ..tensor import Tensor, _make_tensor, values_indices
from .elementwise import const, in_float32, where
from .shape import accumulate, cat, take_along


def normalize_dims(dim, ndim, op):
    """``dim`` as a sorted tuple of non-negative axes. None and an empty tuple mean all
    axes (PyTorch's ``sum(x, dim=())`` reduces everything); a 0-d tensor accepts dim 0
    or −1 and has no axes; a dim named twice is an error, as in PyTorch."""
    if dim is None or isinstance(dim, (int, np.integer)):
        dims = None if dim is None else (dim,)
    elif isinstance(dim, (tuple, list)):
        dims = tuple(dim)
    else:
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
    if not dims:
        return tuple(range(ndim))
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(d % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: a dim appears more than once in {dim}")
    return tuple(sorted(out)) if ndim else ()


def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """y = Σ over ``axes`` of x.   VJP: gx = gy broadcast back over the summed axes.

    A float16/bfloat16 x is summed in float32; the result is rounded back to x's dtype,
    or, ``wide`` (autocast's float32 reductions: :func:`_wide`), stays float32 -- one
    kernel over the half data where a cast to float32 and a sum were two, and a float32
    copy of x. The gradient then goes back to x's dtype before it is broadcast (a cast
    of the small gy, not of the broadcast gradient)."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, axes, keepdim, wide=False):
        self.axes, self.keepdim, self.wide = axes, keepdim, wide

    @ieee  # inf + (−inf): nan, silently
    def forward(self, xp, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return accumulate(xp, "sum", x, self.wide, axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        if not self.keepdim:
            gy = gy.reshape(_keepdim_shape(self.x_shape, self.axes))
        if gy.dtype != self.x_dtype:
            gy = gy.to(dtype=self.x_dtype)
        return gy.broadcast_to(self.x_shape)


def _wide(x):
    """Whether a reduction of x returns float32 for a half x: inside autocast (whose
    reductions run in float32, PyTorch's autocast list)."""
    return autocast_dtype() is not None and is_half(x.dtype)


def sum(x, dim=None, keepdim=False):
    return Sum(normalize_dims(dim, x.ndim, "sum"), keepdim, _wide(x))(x)


class Mean(Sum):
    """y = (Σ over ``axes`` of x)·(1/n), n the number of values summed (1/n = NaN for
    none).   VJP: gx = gy·(1/n) broadcast back. One reduction kernel on CUDA (CuPy's
    mean), where a sum and a product would be two; on the CPU the sum times 1/n. A half
    x as in :class:`Sum`: the mean taken in float32, rounded once (or kept, ``wide``)."""

    def __init__(self, axes, keepdim, n, wide=False):
        super().__init__(axes, keepdim, wide)
        self.scale = 1.0 / n if n else float("nan")

    @ieee
    def forward(self, xp, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        if xp is not np and self.scale == self.scale:
            return accumulate(xp, "mean", x, self.wide, axis=self.axes,
                              keepdims=self.keepdim)
        # the sum (float32 for a half x), scaled, then rounded once (unless ``wide``)
        y = accumulate(xp, "sum", x, True, axis=self.axes, keepdims=self.keepdim)
        y = y * y.dtype.type(self.scale)
        return y if self.wide or y.dtype == x.dtype else y.astype(x.dtype)

    def backward(self, gy):
        if is_half(gy.dtype):  # gy·(1/n) rounded once, not 1/n first (PyTorch's gy / n)
            return super().backward((gy.to(dtype=_dt.float32) * self.scale).to(dtype=gy.dtype))
        return super().backward(gy * self.scale)


def _count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x, dim=None, keepdim=False):
    """Σx / n over ``dim``. Integer input gives the default float dtype (PyTorch raises)."""
    if not _dt.is_floating(x.dtype):
        x = x.to(dtype=_dt.get_default_dtype())
    axes = normalize_dims(dim, x.ndim, "mean")
    return Mean(axes, keepdim, _count(x, axes), _wide(x))(x)


@in_float32(autocast_list=True)
def var(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """Σ(x − x̄)² / (n − correction); ``correction=1`` (Bessel) is the default, as in PyTorch."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    if not _dt.is_floating(x.dtype):  # integers and bools: in the default float dtype
        x = x.to(dtype=_dt.get_default_dtype())
    axes = normalize_dims(dim, x.ndim, "var")
    n = _count(x, axes)
    d = x - mean(x, axes, keepdim=True)
    # n − correction ≤ 0 divides by 0, as PyTorch: inf, or nan for a constant input
    denom = n - correction
    return sum(d * d, axes, keepdim) * (1.0 / denom if denom > 0 else float("inf"))


class StdFromVar(Function):
    """y = √v, a standard deviation from its variance.
    VJP: gv = gy / (2y), and 0 where y = 0 (PyTorch's std backward: the std of a constant
    input has gradient 0 there, where √'s would be gy·∞ and the input's NaN)."""

    save_output = True

    @ieee
    def forward(self, xp, v):
        return xp.sqrt(v)

    def backward(self, gy):
        y = self.saved_output
        zero = const(y.data == 0)
        # 1 in place of the zeros, so that a second derivative meets no 0·∞ either
        return where(zero, 0.0, gy / (2 * y.masked_fill(zero, 1.0)))


@in_float32(autocast_list=True)
def std(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """√var (for float16/bfloat16 taken in float32, then rounded once); its gradient is 0
    where the std is 0, as PyTorch's (see :class:`StdFromVar`)."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return StdFromVar()(var(x, dim, keepdim, correction))


def var_mean(x, dim=None, *, correction=1, keepdim=False, unbiased=None):
    """``(var, mean)`` over ``dim`` in one call (PyTorch's ``var_mean``: a plain tuple)."""
    return var(x, dim, keepdim, correction, unbiased), mean(x, dim, keepdim)


def std_mean(x, dim=None, *, correction=1, keepdim=False, unbiased=None):
    """``(std, mean)`` over ``dim`` in one call (PyTorch's ``std_mean``)."""
    return std(x, dim, keepdim, correction, unbiased), mean(x, dim, keepdim)


def nansum(x, dim=None, keepdim=False, *, dtype=None):
    """Σx over ``dim`` with NaNs counted as 0 (they get gradient 0); ``dtype`` casts
    first."""
    if dtype is not None:
        x = x.to(dtype=dtype)
    if not _dt.is_floating(x.dtype):
        return sum(x, dim, keepdim)
    return sum(where(const(x.xp.isnan(x.data)), 0.0, x), dim, keepdim)


def nanmean(x, dim=None, keepdim=False, *, dtype=None):
    """The mean of the non-NaN elements over ``dim`` (NaN where all are NaN); ``dtype``
    casts first."""
    if dtype is not None:
        x = x.to(dtype=dtype)
    if not _dt.is_floating(x.dtype):
        raise TypeError(f"nanmean: expects a floating tensor, got {x.dtype} (as PyTorch)")
    return _nanmean(x, normalize_dims(dim, x.ndim, "nanmean"), keepdim)


@in_float32(autocast_list=True)
def _nanmean(x, axes, keepdim):
    n = (~x.xp.isnan(x.data)).sum(axis=axes, keepdims=keepdim)
    token = quiet_fp_on()
    try:
        inv = (1.0 / n.astype(np.float64)).astype(x.dtype)  # 1/0 = inf: 0·inf = NaN there
    finally:
        quiet_fp_off(token)
    return nansum(x, axes, keepdim) * const(inv)


def aminmax(x, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (all elements by default), a named tuple; ties share
    the gradient as in :func:`amin`/:func:`amax`."""
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"aminmax: dim must be an int or None, got {dim!r}")
    return min_max(Amin(dim, keepdim)(x), Amax(dim, keepdim)(x))


#: the result of :func:`aminmax`
min_max = namedtuple("aminmax", ["min", "max"])


class _Extremum(Function):
    """y = max (or min) over ``axes``.   VJP: gy goes to the arg-extremum; ties share it
    equally (the subgradient PyTorch's amax uses)."""

    piecewise_linear = True  # gradients from constants: see Function

    reduce = None
    save_output = True

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, xp, x):
        self.axes = normalize_dims(self.dim, x.ndim, self.name)
        if x.size == 0 and (x.ndim == 0 or any(x.shape[a] == 0 for a in self.axes)):
            raise ValueError(f"{self.name}: cannot reduce over an empty dim of shape "
                             f"{x.shape}")
        return getattr(xp, self.reduce)(x, axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        (x,) = self.inputs
        shape = _keepdim_shape(x.shape, self.axes)
        y = self._output_array.reshape(shape)
        mask = x.data == y
        if _dt.is_floating(x.dtype):  # a NaN result: the NaNs share the gradient
            xp = x.xp
            mask |= xp.isnan(x.data) & xp.isnan(y)
        mask = mask / mask.sum(axis=self.axes, keepdims=True)
        return gy.reshape(shape) * const(mask.astype(x.dtype))


class MedianOfAll(_Extremum):
    """y = the lower median (the ⌊(n − 1)/2⌋-th smallest) of all the elements, NaN when
    one is NaN.   VJP: gy shared equally by the elements equal to y (PyTorch's
    ``median()``), by the NaNs when y is NaN."""

    def __init__(self):
        super().__init__(None, False)

    def forward(self, xp, x):
        self.axes = tuple(range(x.ndim))
        flat = xp.sort(x.reshape(-1))  # NaNs sort last
        y = flat[(flat.size - 1) // 2]
        if _dt.is_floating(x.dtype):
            y = xp.where(xp.isnan(flat[-1]), flat[-1], y)
        return xp.asarray(y)


class NanMedianOfAll(MedianOfAll):
    """y = the lower median of the non-NaN elements (NaN when every one is NaN).
    VJP: as :class:`MedianOfAll` (PyTorch's ``nanmedian()`` shares it the same way)."""

    def forward(self, xp, x):
        self.axes = tuple(range(x.ndim))
        flat = xp.sort(x.reshape(-1))  # NaNs sort last
        k = (~xp.isnan(flat)).sum()    # (a device scalar: no synchronisation)
        return xp.asarray(xp.take(flat, xp.maximum((k - 1) // 2, 0)))


class Amax(_Extremum):
    reduce = "amax"


class Amin(_Extremum):
    reduce = "amin"


def _arg_extremum(x, dim, keepdim, which):
    """Index of the first max (min) along ``dim``, of the flattened tensor for None
    (shape (1, …, 1) with ``keepdim``, as in PyTorch)."""
    xp, op = x.xp, getattr(x.xp, which)
    if dim is None or x.ndim == 0:
        normalize_dims(dim, x.ndim, which)
        if x.data.size == 0:
            raise ValueError(f"{which}: cannot reduce an empty tensor of shape {x.shape}")
        i = op(x.data.reshape(-1))
        return _make_tensor(xp.asarray(i).reshape((1,) * x.ndim if keepdim else ()),
                            None, False)
    (axis,) = normalize_dims(dim, x.ndim, which)
    if x.shape[axis] == 0:  # an empty tensor reduced over a non-empty dim is just empty
        raise ValueError(f"{which}: cannot reduce over the empty dim {axis} of shape "
                         f"{x.shape}")
    return _make_tensor(op(x.data, axis=axis, keepdims=keepdim), None, False)


def argmax(x, dim=None, keepdim=False):
    return _arg_extremum(x, dim, keepdim, "argmax")


def argmin(x, dim=None, keepdim=False):
    return _arg_extremum(x, dim, keepdim, "argmin")


def max_min(x, dim, keepdim, which):
    """PyTorch's ``max``/``min``: the extreme value; ``(values, indices)`` along ``dim``
    (the first index among ties, which alone receives the gradient, as in PyTorch); or,
    given a tensor, the elementwise ``maximum``/``minimum``."""
    if isinstance(dim, Tensor):
        return x.maximum(dim) if which == "max" else x.minimum(dim)
    if dim is None:
        return (Amax if which == "max" else Amin)(None, False)(x)
    if x.ndim == 0:
        normalize_dims(dim, 0, which)
        return values_indices(x.clone(), _make_tensor(x.xp.asarray(0), None, False))
    (axis,) = normalize_dims(dim, x.ndim, which)
    indices = _arg_extremum(x, axis, True, "arg" + which)
    values = take_along(x, axis, indices.data)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return values_indices(values, indices)


class LogSumExp(Function):
    """y = log Σ eˣ over ``dim``, computed as m + log Σ e^(x − m) with m = max x.
    VJP: gx = gy·e^(x − y) (the softmax)."""

    amp_policy = "float32"
    # half tensors in float32, rounded once (see Function): in bfloat16 the sum of 3000
    # equal terms stops at 256, and a softmax summed to 11.75
    opmath = True

    save_output = True

    def __init__(self, dim, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    @ieee  # a row of −inf gives −inf (log 0), as in PyTorch
    def forward(self, xp, x):
        if not _dt.is_floating(x.dtype):   # integers and bools: the default float dtype
            x = x.astype(_dt.get_default_dtype())
        self.axes = normalize_dims(self.dim, x.ndim, "logsumexp")
        m = xp.amax(x, axis=self.axes, keepdims=True) if x.size else xp.zeros(
            _keepdim_shape(x.shape, self.axes), x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        y = m + xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True))
        return y if self.keepdim else y.reshape(
            tuple(s for i, s in enumerate(x.shape) if i not in self.axes))

    def backward(self, gy):
        (x,) = self.inputs
        shape = _keepdim_shape(x.shape, self.axes)
        y = self.saved_output.reshape(shape)
        return gy.reshape(shape) * (x - y).exp()


def _check_softmax_input(op, x, dim):
    """PyTorch's softmax and log_softmax take floating tensors only (F.softmax's ``dtype``
    converts first) and one dim in range."""
    normalize_dims(dim, x.ndim, op)
    _dt.require_floating(op, x, hint="as PyTorch; pass dtype= to F.softmax to convert")


def _cuda_rows(f, y, gy=None):
    """Whether softmax ``f``'s forward on the array ``y`` (or its VJP, given ``gy``: both
    CuPy, of one dtype, nothing recording) takes the row kernels of ops.fused: CuPy,
    float32 or float64 (Function.opmath widens half tensors first), over the last dim."""
    if type(y) is np.ndarray or y.dtype not in _ROW_DTYPES or y.size == 0:
        return False
    if f.dim not in (-1, y.ndim - 1):
        return False
    return gy is None or (type(gy) is type(y) and gy.dtype == y.dtype
                          and not _grad_mode.is_grad_enabled())


_ROW_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Softmax(Function):
    """y = e^(x − m) / Σ e^(x − m) along ``dim``.   VJP: gx = y·(gy − Σ gy·y).

    On CUDA over the last dim: y = e^(x − lse), lse from the one-pass row kernel of
    :mod:`~minigrad.ops.fused`, and an unrecorded VJP as one row reduction and one
    elementwise kernel (:func:`~minigrad.ops.fused.softmax_rows`): 4 launches forward and
    backward instead of 9."""

    amp_policy = "float32"
    opmath = True

    save_output = True

    def __init__(self, dim):
        self.dim = dim

    @ieee  # a row of −inf gives nan (−inf − (−inf)), as in PyTorch
    def forward(self, xp, x):
        _check_softmax_input("softmax", x, self.dim)
        if x.size == 0:
            return x.copy()
        if _cuda_rows(self, x):
            from .fused import softmax_rows

            return softmax_rows(x, log=False)
        e = xp.exp(x - xp.amax(x, axis=self.dim, keepdims=True))
        return e / e.sum(axis=self.dim, keepdims=True)

    def backward(self, gy):
        y = self.saved_output
        if _cuda_rows(self, y.data, gy.data):
            from .fused import softmax_rows_vjp

            return const(softmax_rows_vjp(gy.data, y.data, log=False))
        return y * (gy - (gy * y).sum(self.dim, keepdim=True))


class LogSoftmax(Function):
    """y = x − logsumexp(x) along ``dim``.   VJP: gx = gy − e^y·Σ gy.

    On CUDA over the last dim: y = x − lse from the row kernel, and an unrecorded VJP as
    one row sum and one elementwise kernel, as :class:`Softmax`."""

    amp_policy = "float32"
    opmath = True

    save_output = True

    def __init__(self, dim):
        self.dim = dim

    @ieee
    def forward(self, xp, x):
        _check_softmax_input("log_softmax", x, self.dim)
        if x.size == 0:
            return x.copy()
        if _cuda_rows(self, x):
            from .fused import softmax_rows

            return softmax_rows(x, log=True)
        m = xp.amax(x, axis=self.dim, keepdims=True)
        z = x - m
        return z - xp.log(xp.exp(z).sum(axis=self.dim, keepdims=True))

    def backward(self, gy):
        y = self.saved_output
        if _cuda_rows(self, y.data, gy.data):
            from .fused import softmax_rows_vjp

            return const(softmax_rows_vjp(gy.data, y.data, log=True))
        return gy - y.exp() * gy.sum(self.dim, keepdim=True)


def _reverse_cumsum(t, dim):
    """zⱼ = Σ_{i ≥ j} tᵢ along ``dim``."""
    return t.flip(dim).cumsum(dim).flip(dim)


class Cumsum(Function):
    """yᵢ = Σ_{j ≤ i} xⱼ along ``dim``.   VJP: gxⱼ = Σ_{i ≥ j} gyᵢ (a reversed cumsum)."""
    reads_inputs = False  # its backward needs no input's values

    amp_policy = "float32"

    def __init__(self, dim):
        self.dim = dim

    @ieee
    def forward(self, xp, x):
        if x.ndim == 0:  # NumPy would return shape (1,)
            normalize_dims(self.dim, 0, "cumsum")
            return x.copy()
        return accumulate(xp, "cumsum", x, axis=self.dim)

    def backward(self, gy):
        if gy.ndim == 0:
            return gy
        return _reverse_cumsum(gy, self.dim)


def ufunc_accumulate(xp, name, x, axis):
    """``xp.<name>.accumulate(x, axis=axis)`` (the running ufunc along ``axis``: for
    logaddexp yᵢ = log Σ_{j ≤ i} e^{xⱼ} by the pairwise scan, exact where the one-max
    formula underflows: [−1000, 0] gives [−1000, 0]); a CuPy without that ufunc method
    scans on the host."""
    try:
        return getattr(xp, name).accumulate(x, axis=axis)
    except (AttributeError, NotImplementedError, TypeError):  # pragma: no cover - CuPy
        from .._backend import to_device

        host = getattr(np, name).accumulate(to_device(x, "cpu"), axis=axis)
        return to_device(host, "cuda")


class LogCumSumExp(Function):
    r"""yᵢ = log Σ_{j ≤ i} e^{xⱼ} along ``dim`` (PyTorch's ``logcumsumexp``).

    VJP: gxⱼ = Σ_{i ≥ j} gyᵢ·e^{xⱼ − yᵢ}, computed in log space with gy split by sign
    (gy = p − n, p, n ≥ 0): gx = e^{x + S(log p − y)} − e^{x + S(log n − y)}, S the
    suffix log-sum-exp (logcumsumexp of the flipped sequence, flipped back), as PyTorch
    (after TensorFlow) does; written with Tensor ops, so it differentiates again."""

    amp_policy = "float32"
    opmath = True
    save_output = True

    def __init__(self, dim):
        self.dim = dim

    @ieee  # −inf entries give −inf (log 0), as in PyTorch
    def forward(self, xp, x):
        _dt.require_floating("logcumsumexp", x)
        if x.ndim == 0:
            normalize_dims(self.dim, 0, "logcumsumexp")
            return x.copy()
        (self.dim,) = normalize_dims(self.dim, x.ndim, "logcumsumexp")
        return ufunc_accumulate(xp, "logaddexp", x, self.dim)

    def backward(self, gy):
        if gy.ndim == 0:
            return gy
        (x,), y, d = self.inputs, self.saved_output, self.dim

        def suffix(a):  # log Σ_{i ≥ j} e^{aᵢ}
            return a.flip(d).logcumsumexp(d).flip(d)

        # log |gy| where gy has the sign, else the lowest finite number (PyTorch's choice:
        # −inf there would make −inf − (−inf) = nan in the second derivative)
        lowest = float(np.finfo(gy.dtype).min)
        token = quiet_fp_on()  # lowest + lowest = −inf, whose exp is the 0 wanted: silently
        try:
            log_abs = gy.abs().log()
            positive = where(gy > 0, log_abs, lowest)
            negative = where(gy < 0, log_abs, lowest)
            return (x + suffix(positive - y)).exp() - (x + suffix(negative - y)).exp()
        finally:
            quiet_fp_off(token)


def logcumsumexp(x, dim):
    return LogCumSumExp(dim)(x)


class Cumprod(Function):
    r"""yᵢ = Π_{j ≤ i} xⱼ along ``dim`` (integers and bool give int64, as in PyTorch).

    VJP: gxⱼ = Σ_{i ≥ j} gyᵢ·Π_{k ≤ i, k ≠ j} xₖ; see :func:`_cumprod_vjp`, exact with
    zeros too and differentiable again."""

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    save_output = True

    def __init__(self, dim):
        self.dim = dim

    @ieee
    def forward(self, xp, x):
        if x.ndim == 0:
            normalize_dims(self.dim, 0, "cumprod")
            return xp.cumprod(x.reshape(1)).reshape(())
        return accumulate(xp, "cumprod", x, axis=self.dim)

    def backward(self, gy):
        if gy.ndim == 0:
            return gy
        return _cumprod_vjp(self.inputs[0], gy, self.dim, self.saved_output)


def _cumprod_vjp(x, gy, d, y):
    r"""gxⱼ = Σ_{i ≥ j} gyᵢ·Π_{k ≤ i, k ≠ j} xₖ for y = cumprod(x) along ``d``.

    Without zeros: Σ_{i ≥ j} gyᵢ·yᵢ / xⱼ, a reversed cumsum. In a slice whose first zero
    is at z: j < z keeps that formula (yᵢ = 0 for i ≥ z drops the terms that would
    divide by 0); gx_z = Σ_{i ≥ z} gyᵢ·y'ᵢ with y' = cumprod(x') and x' = x with x_z set
    to 1; for j > z every product holds x_z, so gxⱼ = x_z·(the same VJP at x')ⱼ, which
    is 0 but has the right derivative in x_z (the recursion ends at x' without zeros).
    Each piece is the exact gradient on a neighbourhood, so this differentiates again
    (PyTorch's ``cumprod_backward`` is exact twice as well)."""
    zero = x.data == 0
    if not zero.any():
        return _reverse_cumsum(gy * y, d) / x
    count = x.xp.cumsum(zero, axis=d)            # zeros up to and including i
    before, first = count == 0, zero & (count == 1)
    x1 = where(first, 1.0, x)
    y1 = x1.cumprod(d)
    g_before = _reverse_cumsum(gy * y, d) / where(before, x, 1.0)
    g_first = _reverse_cumsum(gy * y1, d)
    x_z = where(first, x, 0.0).sum(d, keepdim=True)   # 0, kept for its derivative
    g_after = x_z * _cumprod_vjp(x1, gy, d, y1)
    return where(before, g_before, where(first, g_first, g_after))


def _product_of_others(x, axes):
    """Π_{j ≠ i} xⱼ over ``axes`` for every element i, without dividing (zeros allowed):
    with the reduced axes moved last and flattened, the cumprod of the elements before i
    times the cumprod of those after it."""
    rest = [a for a in range(x.ndim) if a not in axes]
    perm = rest + list(axes)
    xt = x.permute(*perm)
    n = _count(x, axes)
    flat = xt.reshape(xt.shape[:len(rest)] + (n,))
    one = const(x.xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype))
    before = cat([one, flat[..., :-1]], -1).cumprod(-1)
    after = cat([flat[..., 1:], one], -1).flip(-1).cumprod(-1).flip(-1)
    return (before * after).reshape(xt.shape).permute(*[perm.index(i) for i in range(x.ndim)])


class Prod(Function):
    r"""y = Π over ``axes`` of x (integers and bool give int64, as in PyTorch).

    VJP: gxᵢ = gy·Π_{j ≠ i} xⱼ, the product of the others: gy·y / xᵢ when no element is
    0; otherwise (cumprod before i)·(cumprod after i), exact for any number of zeros (one
    zero: only it gets the product of the others; two or more: all 0) and differentiable
    again, as PyTorch's ``prod_backward``."""

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    save_output = True

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    @ieee
    def forward(self, xp, x):
        return accumulate(xp, "prod", x, axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        (x,) = self.inputs
        gy = gy.reshape(_keepdim_shape(x.shape, self.axes))
        if not (x.data == 0).any():
            return gy * self.saved_output.reshape(gy.shape) / x
        return gy * _product_of_others(x, self.axes)


def prod(x, dim=None, keepdim=False):
    """The product of all elements, or along the one ``dim`` (an int, as in PyTorch)."""
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod: dim must be an int or None, got {dim!r}")
    return Prod(normalize_dims(dim, x.ndim, "prod"), keepdim)(x)


class Norm(Function):
    r"""y = ‖x‖_p = (Σ |x|^p)^(1/p) over ``axes``, for a finite p > 0.
    VJP: gx = gy·sign(x)·(|x| / y)^(p−1), which is gy·x / y for p = 2; and gx = 0 where
    y = 0, the subgradient PyTorch picks at the origin (the formula there is 0/0)."""

    amp_policy = "float32"

    save_output = True

    def __init__(self, p, dim, keepdim):
        self.p, self.dim, self.keepdim = p, dim, keepdim

    @ieee
    def forward(self, xp, x):
        self.axes = normalize_dims(self.dim, x.ndim, "norm")
        # float16/bfloat16 in float32, as PyTorch: 300² already overflows float16
        a = xp.abs(x if x.dtype.itemsize >= 4 else x.astype(_dt.float32))
        if self.p == 2:
            y = xp.sqrt((a * a).sum(axis=self.axes, keepdims=self.keepdim))
        else:
            y = (a**self.p).sum(axis=self.axes, keepdims=self.keepdim) ** (1.0 / self.p)
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.inputs
        shape = _keepdim_shape(x.shape, self.axes)
        y = self.saved_output.reshape(shape)
        at_origin = y.data == 0
        y = where(at_origin, 1.0, y)              # any nonzero stand-in: masked below
        if self.p == 2:
            slope = x / y
        else:                                     # 0^(p−1) is inf for p < 1: mask x = 0 too
            flat = x.data == 0
            slope = where(flat, 0.0, x.sign() * (where(flat, 1.0, x.abs()) / y) ** (self.p - 1))
        return where(at_origin, 0.0, gy.reshape(shape) * slope)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm over ``dim`` (every element by default): p = "fro" (= 2), 1, 2, ±inf or
    any positive number, or "nuc" (the nuclear norm of the matrices over the two dims of
    ``dim``, through ``mg.linalg.matrix_norm``); ``dtype`` casts first. At x = 0 the
    gradient is 0, as in PyTorch.

    Where minigrad differs: PyTorch's p = 0 (the count of nonzeros) is refused here, and
    ``dtype`` comes fourth (PyTorch's deprecated ``out`` is not taken)."""
    x = input
    if dtype is not None:
        x = x.to(dtype=dtype)
    _dt.require_floating("norm", x)  # (PyTorch's too; dtype= converts first here)
    if p == "nuc":
        from ..linalg import matrix_norm

        return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
    if p == "fro":
        p = 2
    if not (isinstance(p, (int, float)) and (p > 0 or p == float("-inf"))):
        raise ValueError(f"norm: p must be a positive number or inf (or 'fro', -inf), "
                         f"got {p!r}")
    (x,) = autocast_float32(x)
    if p == 1:
        return x.abs().sum(dim, keepdim)
    if p == float("inf"):
        return x.abs().amax(dim, keepdim)
    if p == float("-inf"):
        return x.abs().amin(dim, keepdim)
    return Norm(p, dim, keepdim)(x)


def logsumexp(x, dim, keepdim=False):
    return LogSumExp(dim, keepdim)(x)


def softmax(x, dim):
    return Softmax(dim)(x)


def log_softmax(x, dim):
    return LogSoftmax(dim)(x)
