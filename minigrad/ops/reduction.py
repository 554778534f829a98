"""Reductions and normalizing maps: sum, mean, var, std, amax/amin, max/min, logsumexp,
softmax, log_softmax, cumsum, norm.

``dim`` is None (all dims), an int, or a tuple of ints; negative dims count from the end.
"""
from __future__ import annotations

from ..amp.autocast_mode import autocast_float32
from ..autograd.function import Function
from ..tensor import _make_tensor, values_indices
from .elementwise import const, where


def normalize_dims(dim, ndim, op):
    """``dim`` as a sorted tuple of non-negative axes (all axes for None)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(d % max(ndim, 1))
    return tuple(sorted(set(out)))


def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """y = Σ over ``axes`` of x.   VJP: gx = gy broadcast back over the summed axes."""

    amp_policy = "float32"

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, xp, x):
        self.x_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        if not self.keepdim:
            gy = gy.reshape(_keepdim_shape(self.x_shape, self.axes))
        return gy.broadcast_to(self.x_shape)


def sum(x, dim=None, keepdim=False):
    axes = normalize_dims(dim, x.ndim, "sum")
    if x.ndim == 0:
        return Sum((), keepdim)(x)
    return Sum(axes, keepdim)(x)


def _count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x, dim=None, keepdim=False):
    """Σx / n over ``dim``."""
    axes = normalize_dims(dim, x.ndim, "mean")
    n = _count(x, axes)
    return sum(x, axes, keepdim) * (1.0 / n if n else float("nan"))


def var(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """Σ(x − x̄)² / (n − correction); ``correction=1`` (Bessel) is the default, as in PyTorch."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_dims(dim, x.ndim, "var")
    n = _count(x, axes)
    d = x - mean(x, axes, keepdim=True)
    denom = n - correction
    return sum(d * d, axes, keepdim) * (1.0 / denom if denom > 0 else float("nan"))


def std(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """√var."""
    return var(x, dim, keepdim, correction, unbiased).sqrt()


class _Extremum(Function):
    """y = max (or min) over ``axes``.   VJP: gy goes to the arg-extremum; ties share it
    equally (the subgradient PyTorch's amax uses)."""

    reduce = None
    save_output = True

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, xp, x):
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor")
        self.axes = normalize_dims(self.dim, x.ndim, self.name)
        return getattr(xp, self.reduce)(x, axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        (x,) = self.inputs
        shape = _keepdim_shape(x.shape, self.axes)
        mask = x.data == self._output_array.reshape(shape)
        mask = mask / mask.sum(axis=self.axes, keepdims=True)
        return gy.reshape(shape) * const(mask.astype(x.dtype))


class Amax(_Extremum):
    reduce = "amax"


class Amin(_Extremum):
    reduce = "amin"


def argmax(x, dim=None, keepdim=False):
    if dim is None:
        return _make_tensor(x.xp.argmax(x.data), None, False)
    return _make_tensor(x.xp.argmax(x.data, axis=dim, keepdims=keepdim), None, False)


def argmin(x, dim=None, keepdim=False):
    if dim is None:
        return _make_tensor(x.xp.argmin(x.data), None, False)
    return _make_tensor(x.xp.argmin(x.data, axis=dim, keepdims=keepdim), None, False)


def max_min(x, dim, keepdim, which):
    """PyTorch's ``max``/``min``: the extreme value, or ``(values, indices)`` along ``dim``."""
    op = Amax if which == "max" else Amin
    if dim is None:
        return op(None, False)(x)
    values = op(dim, keepdim)(x)
    indices = (argmax if which == "max" else argmin)(x, dim, keepdim)
    return values_indices(values, indices)


class LogSumExp(Function):
    """y = log Σ eˣ over ``dim``, computed as m + log Σ e^(x − m) with m = max x.
    VJP: gx = gy·e^(x − y) (the softmax)."""

    amp_policy = "float32"

    save_output = True

    def __init__(self, dim, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, xp, x):
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


class Softmax(Function):
    """y = e^(x − m) / Σ e^(x − m) along ``dim``.   VJP: gx = y·(gy − Σ gy·y)."""

    amp_policy = "float32"

    save_output = True

    def __init__(self, dim):
        self.dim = dim

    def forward(self, xp, x):
        e = xp.exp(x - xp.amax(x, axis=self.dim, keepdims=True))
        return e / e.sum(axis=self.dim, keepdims=True)

    def backward(self, gy):
        y = self.saved_output
        return y * (gy - (gy * y).sum(self.dim, keepdim=True))


class LogSoftmax(Function):
    """y = x − logsumexp(x) along ``dim``.   VJP: gx = gy − e^y·Σ gy."""

    amp_policy = "float32"

    save_output = True

    def __init__(self, dim):
        self.dim = dim

    def forward(self, xp, x):
        m = xp.amax(x, axis=self.dim, keepdims=True)
        z = x - m
        return z - xp.log(xp.exp(z).sum(axis=self.dim, keepdims=True))

    def backward(self, gy):
        y = self.saved_output
        return gy - y.exp() * gy.sum(self.dim, keepdim=True)


class Cumsum(Function):
    """yᵢ = Σ_{j ≤ i} xⱼ along ``dim``.   VJP: gxⱼ = Σ_{i ≥ j} gyᵢ (a reversed cumsum)."""

    amp_policy = "float32"

    def __init__(self, dim):
        self.dim = dim

    def forward(self, xp, x):
        return xp.cumsum(x, axis=self.dim)

    def backward(self, gy):
        return gy.flip(self.dim).cumsum(self.dim).flip(self.dim)


class Norm(Function):
    r"""y = ‖x‖_p = (Σ |x|^p)^(1/p) over ``axes``, for a finite p > 0.
    VJP: gx = gy·sign(x)·(|x| / y)^(p−1), which is gy·x / y for p = 2; and gx = 0 where
    y = 0, the subgradient PyTorch picks at the origin (the formula there is 0/0)."""

    amp_policy = "float32"

    save_output = True

    def __init__(self, p, dim, keepdim):
        self.p, self.dim, self.keepdim = p, dim, keepdim

    def forward(self, xp, x):
        self.axes = normalize_dims(self.dim, x.ndim, "norm")
        a = xp.abs(x)
        if self.p == 2:
            return xp.sqrt((a * a).sum(axis=self.axes, keepdims=self.keepdim))
        return (a**self.p).sum(axis=self.axes, keepdims=self.keepdim) ** (1.0 / self.p)

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


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim``: p = 1, 2, inf or any positive number. At x = 0 the
    gradient is 0, as in PyTorch."""
    if not (p == float("inf") or (isinstance(p, (int, float)) and p > 0)):
        raise ValueError(f"norm: p must be a positive number or inf, got {p!r}")
    (x,) = autocast_float32(x)
    if p == 1:
        return x.abs().sum(dim, keepdim)
    if p == float("inf"):
        return x.abs().amax(dim, keepdim)
    return Norm(p, dim, keepdim)(x)


def logsumexp(x, dim, keepdim=False):
    return LogSumExp(dim, keepdim)(x)


def softmax(x, dim):
    return Softmax(dim)(x)


def log_softmax(x, dim):
    return LogSoftmax(dim)(x)
