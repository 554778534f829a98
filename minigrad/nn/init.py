r"""Weight initializers (PyTorch's ``torch.nn.init``), each a transcription of its formula.

Every function fills its tensor **in place** under ``no_grad``, draws from minigrad's
seeded generator (``mg.manual_seed`` makes it repeatable), and returns the tensor.

Fans (FORMULAS.md): for a Linear weight ``(out, in)``, fan_in = in, fan_out = out; for a
conv weight ``(C_out, C_in/groups, kH, kW)``, fan_in = C_in/groups·kH·kW and
fan_out = C_out·kH·kW.

=====================  =========================================================
initializer            distribution
=====================  =========================================================
``uniform_``           U[a, b]
``normal_``            N(mean, std²)
``trunc_normal_``      N(mean, std²) conditioned on [a, b]
``constant_``          every element = val (``zeros_``, ``ones_``)
``eye_``, ``dirac_``   identity (a 2-D matrix; conv kernels that pass input through)
``xavier_uniform_``    U[−a, a], a = gain·√(6/(fan_in + fan_out))
``xavier_normal_``     N(0, σ²), σ = gain·√(2/(fan_in + fan_out))
``kaiming_uniform_``   U[−b, b], b = √3·gain/√fan   (fan = fan_in or fan_out)
``kaiming_normal_``    N(0, σ²), σ = gain/√fan
``lecun_normal_``      N(0, 1/fan_in)  (the "calibrated" init: ``calibrated_normal_``)
``lecun_uniform_``     U[−√(3/fan_in), √(3/fan_in)]
``orthogonal_``        a (semi-)orthogonal matrix from the QR of a Gaussian, × gain
``sparse_``            N(0, std²) with a fraction ``sparsity`` of each column zeroed
=====================  =========================================================

Gains (``calculate_gain``): linear/conv/sigmoid 1; tanh 5/3; relu √2;
leaky_relu √(2/(1 + a²)); selu 3/4.

Why not zeros? With every weight of a layer equal, every hidden unit computes the same
function and receives the same gradient, so the units stay identical for ever
(``examples/init_symmetry.py`` shows it numerically). Random init breaks the symmetry;
the scaled inits above also keep the activation variance roughly constant from layer to
layer (Glorot & Bengio 2010 for tanh; He et al. 2015 for ReLU).

References
----------
Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
networks", AISTATS 2010. He et al., "Delving deep into rectifiers", ICCV 2015.
LeCun et al., "Efficient BackProp", 1998. Saxe et al., "Exact solutions to the nonlinear
dynamics of learning in deep linear neural networks", ICLR 2014.

Examples
--------
>>> import minigrad as mg
>>> from minigrad import nn
>>> mg.manual_seed(0)
0
>>> w = nn.init.kaiming_normal_(mg.empty(256, 512), nonlinearity="relu")
>>> round(float(w.std()), 2), round((2 / 512) ** 0.5, 2)
(0.06, 0.06)
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from .. import dtypes as _dt
from .. import random as _random
from .._backend import get_array_module
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import erfinv_array
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "lecun_normal_", "lecun_uniform_", "calibrated_normal_",
    "orthogonal_", "sparse_",
]

_GAIN_ONE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
             "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    r"""The recommended gain for ``nonlinearity`` (PyTorch's table).

    linear/conv/sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu: √(2/(1 + a²)) with
    ``param`` = a (default 0.01); selu: 3/4.

    >>> calculate_gain("relu") == 2 ** 0.5
    True
    """
    if nonlinearity in _GAIN_ONE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            a = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            a = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + a**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of at least 2 dims: (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 "
            f"dimensions (got shape {tuple(tensor.shape)})"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    fan_in = tensor.shape[1] * receptive
    fan_out = tensor.shape[0] * receptive
    return fan_in, fan_out


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _initializer(floating):
    """Decorate a public initializer: its first argument must be a Tensor, and a
    floating-point one for the random initializers (PyTorch refuses to draw them into
    integer tensors; the constants may fill any tensor)."""
    def wrap(fn):
        @functools.wraps(fn)
        def checked(tensor, *args, **kwargs):
            if not isinstance(tensor, Tensor):
                raise TypeError(f"{fn.__name__}: expects a Tensor, got {type(tensor).__name__}")
            if floating and not _dt.is_floating(tensor.dtype):
                raise TypeError(f"{fn.__name__}: expects a floating-point tensor, got "
                                f"{tensor.dtype}")
            return fn(tensor, *args, **kwargs)
        return checked
    return wrap


def _fill(tensor, array):
    """Write ``array`` into ``tensor`` in place (dtype cast), outside the graph."""
    with no_grad():
        tensor.data[...] = array.astype(tensor.dtype, copy=False)
    return tensor


def _empty(tensor, what):
    """PyTorch's rule: initializing a zero-element tensor warns and does nothing."""
    if tensor.data.size == 0:
        warnings.warn(f"{what}: initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


# --------------------------------------------------------------------------- basic


@_initializer(floating=True)
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U[a, b]."""
    if a > b:
        raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
    return _fill(tensor, _random.uniform(tensor.shape, a, b, np.float64, tensor.device,
                                         generator))


@_initializer(floating=True)
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std²)."""
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, _random.normal(tensor.shape, mean, std, np.float64, tensor.device,
                                        generator))


@_initializer(floating=True)
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    r"""Fill with N(mean, std²) truncated to [a, b] (absolute bounds, as PyTorch).

    Inverse-CDF sampling: u ~ U[Φ((a−μ)/σ), Φ((b−μ)/σ)], x = μ + σ·Φ⁻¹(u) with
    Φ⁻¹(u) = √2·erf⁻¹(2u − 1); the result is clamped to [a, b] against rounding.
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_: std must be positive, got {std}")

    def cdf(z):
        return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))

    lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
    u = _random.uniform(tensor.shape, 2 * lo - 1, 2 * hi - 1, np.float64, tensor.device,
                        generator)
    xp = get_array_module(u)
    eps = np.finfo(np.float64).eps
    u = xp.clip(u, -1 + eps, 1 - eps)
    x = erfinv_array(xp, u) * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, xp.clip(x, a, b))


@_initializer(floating=False)
def constant_(tensor, val):
    """Fill with ``val``."""
    with no_grad():
        tensor.data[...] = val
    return tensor


@_initializer(floating=False)
def ones_(tensor):
    return constant_(tensor, 1.0)


@_initializer(floating=False)
def zeros_(tensor):
    return constant_(tensor, 0.0)


@_initializer(floating=False)
def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal of a rectangle)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    xp = get_array_module(tensor.data)
    return _fill(tensor, xp.eye(*tensor.shape))


@_initializer(floating=False)
def dirac_(tensor, groups=1):
    """Fill a conv weight (3-, 4- or 5-D) with the Dirac delta: the convolution passes
    its input channels through unchanged (per group)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3, 4 or 5-D tensors are supported, got {tensor.shape}")
    out_per_group = tensor.shape[0] // groups
    if tensor.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({tensor.shape[0]}) must be divisible by groups")
    xp = get_array_module(tensor.data)
    w = xp.zeros(tensor.shape)
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            w[(g * out_per_group + d, d) + centre] = 1.0
    return _fill(tensor, w)


# --------------------------------------------------------------------------- scaled


@_initializer(floating=True)
def xavier_uniform_(tensor, gain=1.0, generator=None):
    r"""Glorot uniform: U[−a, a], a = gain·√(6/(fan_in + fan_out)), so that
    Var = gain²·2/(fan_in + fan_out)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if _empty(tensor, "xavier_uniform_"):
        return tensor
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


@_initializer(floating=True)
def xavier_normal_(tensor, gain=1.0, generator=None):
    r"""Glorot normal: N(0, σ²), σ = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if _empty(tensor, "xavier_normal_"):
        return tensor
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


@_initializer(floating=True)
def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He uniform: U[−b, b], b = √3·gain/√fan, gain = calculate_gain(nonlinearity, a).

    With the defaults (leaky_relu, a = 0) the gain is √2, He et al.'s ReLU init.
    PyTorch's default Linear/Conv weight init is ``kaiming_uniform_(w, a=√5)``, which
    gives b = 1/√fan_in.
    """
    fan = _calculate_correct_fan(tensor, mode)
    if _empty(tensor, "kaiming_uniform_"):
        return tensor
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def default_bias_bound(fan_in):
    """1/√fan_in (0 for fan_in = 0): the half-width of PyTorch's default bias init."""
    return 1 / math.sqrt(fan_in) if fan_in > 0 else 0


def reset_layer_(weight, bias=None):
    r"""PyTorch's default init of a Linear or Conv layer, in its order of draws:
    W ~ ``kaiming_uniform_(a=√5)`` = U[±1/√fan_in], then b ~ U[±1/√fan_in]."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = default_bias_bound(_calculate_fan_in_and_fan_out(weight)[0])
        uniform_(bias, -bound, bound)


@_initializer(floating=True)
def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He normal: N(0, σ²), σ = gain/√fan (Var = 2/fan_in for ReLU)."""
    fan = _calculate_correct_fan(tensor, mode)
    if _empty(tensor, "kaiming_normal_"):
        return tensor
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(fan), generator)


@_initializer(floating=True)
def lecun_normal_(tensor):
    r"""LeCun normal: N(0, 1/fan_in)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    if _empty(tensor, "lecun_normal_"):
        return tensor
    return normal_(tensor, 0.0, math.sqrt(1.0 / fan_in))


@_initializer(floating=True)
def lecun_uniform_(tensor):
    r"""LeCun uniform: U[−√(3/fan_in), √(3/fan_in)] (variance 1/fan_in)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    if _empty(tensor, "lecun_uniform_"):
        return tensor
    bound = math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -bound, bound)


@_initializer(floating=True)
def calibrated_normal_(tensor):
    r"""The "calibrated" init N(0, 1/fan_in): each unit's pre-activation variance equals
    the variance of one input (Var(Σ wᵢxᵢ) = fan_in·Var(w)·Var(x)). Same as
    :func:`lecun_normal_`."""
    return lecun_normal_(tensor)


@_initializer(floating=True)
def orthogonal_(tensor, gain=1.0, generator=None):
    r"""A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014).

    The tensor is viewed as (rows = shape[0], cols = rest). Draw A ~ N(0, 1) of shape
    (max, min), take A = QR, and fix the signs Q ← Q·diag(sign(diag R)) so that Q is
    uniformly distributed (Haar); transpose when rows < cols.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {tensor.shape}")
    if tensor.data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = _random.normal((rows, cols), 0.0, 1.0, np.float64, tensor.device, generator)
    xp = get_array_module(flat)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    d = xp.sign(xp.diag(r))
    d = xp.where(d == 0, 1.0, d)
    q = q * d[None, :]
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


@_initializer(floating=True)
def sparse_(tensor, sparsity, std=0.01, generator=None):
    """2-D only: N(0, std²) with ⌈sparsity·rows⌉ entries of every column set to zero
    (Martens 2010)."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: only 2-D tensors are supported, got shape {tensor.shape}")
    rows, cols = tensor.shape
    n_zeros = int(math.ceil(sparsity * rows))
    w = _random.normal((rows, cols), 0.0, std, np.float64, tensor.device, generator)
    for c in range(cols):
        idx = _random.permutation(rows, tensor.device, generator)[:n_zeros]
        w[idx, c] = 0.0
    return _fill(tensor, w)
