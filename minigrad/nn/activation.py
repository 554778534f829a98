r"""Activation modules (PyTorch's names and arguments), each a thin wrapper around the op
in :mod:`minigrad.ops.activation` whose docstring holds the formula and its VJP.

======================  ==============================================
ReLU                    max(x, 0)
LeakyReLU(a)            x if x > 0 else a·x
ELU(α)                  x if x > 0 else α(eˣ − 1)
GELU                    x·Φ(x) (``approximate="tanh"``: the tanh form)
SiLU                    x·σ(x)
Tanh, Sigmoid           tanh x, 1/(1 + e⁻ˣ)
Softplus(β, threshold)  log(1 + e^{βx})/β (x where βx > threshold)
Softmax(dim)            e^{x_i}/Σ_j e^{x_j}
LogSoftmax(dim)         x_i − log Σ_j e^{x_j}
Softmin(dim)            softmax(−x)
SELU                    λ·elu(x, α), λ ≈ 1.0507, α ≈ 1.6733
CELU(α)                 x if x > 0 else α(e^{x/α} − 1)
Hardtanh(a, b), ReLU6   min(max(x, a), b); min(max(x, 0), 6)
Hardsigmoid, Hardswish  relu6(x + 3)/6; x·relu6(x + 3)/6
Mish                    x·tanh(softplus(x))
LogSigmoid, Softsign    log σ(x); x/(1 + |x|)
Hardshrink(λ)           x where |x| > λ, else 0
Softshrink(λ)           x − λ·sign(x) where |x| > λ, else 0
Tanhshrink              x − tanh(x)
PReLU(n, init)          max(0, x) + a·min(0, x), a learned (per channel)
GLU(dim)                a·σ(b), (a, b) the halves of x along dim
Threshold(t, v)         x if x > t else v
RReLU(l, u)             x if x ≥ 0 else a·x, a ~ U(l, u) per element in training,
                        a = (l + u)/2 in evaluation (Xu et al. 2015)
Softmax2d               softmax over the channels of (N, C, H, W) or (C, H, W)
======================  ==============================================

``inplace=True`` is accepted for compatibility and ignored: minigrad never writes into
its input (the functional ``F.relu_`` and friends do write: see
:mod:`minigrad.nn.functional`).
"""
from __future__ import annotations

from .. import creation
from ..ops import activation as _act
from ..ops import reduction as _red
from .module import Module, Parameter

__all__ = ["ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softplus",
           "Softmax", "LogSoftmax", "Softmin", "SELU", "CELU", "Hardtanh", "ReLU6",
           "Hardsigmoid", "Hardswish", "Mish", "LogSigmoid", "Softsign", "Hardshrink",
           "Softshrink", "Tanhshrink", "PReLU", "GLU", "Threshold", "RReLU", "Softmax2d",
           "rrelu", "softmax_dim"]


def softmax_dim(ndim):
    """PyTorch's implicit dim when ``dim=None`` (deprecated there): 0 for 0-, 1- and 3-D
    inputs, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


class ReLU(Module):
    """y = max(x, 0)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _act.ReLU()(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope·x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return _act.LeakyReLU(self.negative_slope)(input)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """y = x if x > 0 else α(eˣ − 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return _act.ELU(self.alpha)(input)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """y = x·Φ(x) (exact, with erf) or its tanh approximation."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return _act.GELU(self.approximate)(input)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """y = x·σ(x) (swish)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _act.SiLU()(input)


class Tanh(Module):
    """y = tanh x."""

    def forward(self, input):
        return _act.Tanh()(input)


class Sigmoid(Module):
    """y = 1/(1 + e⁻ˣ)."""

    def forward(self, input):
        return _act.Sigmoid()(input)


class Softplus(Module):
    """y = log(1 + e^{βx})/β, linear where βx > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return _act.Softplus(self.beta, self.threshold)(input)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _AlongDim(Module):
    """A normalizing map along ``dim`` (PyTorch's implicit dim when None)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return self._apply_along(input, softmax_dim(input.ndim) if self.dim is None else self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """Softmax along ``dim``."""

    def _apply_along(self, input, dim):
        return _red.Softmax(dim)(input)


class LogSoftmax(_AlongDim):
    """log-softmax along ``dim``."""

    def _apply_along(self, input, dim):
        return _red.LogSoftmax(dim)(input)


class Softmin(_AlongDim):
    """softmax(−x) along ``dim``."""

    def _apply_along(self, input, dim):
        return _red.Softmax(dim)(-input)


class Softmax2d(Module):
    """Softmax over the channels at every pixel: dim −3 of (N, C, H, W) or (C, H, W)."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expects a 3-D or 4-D input, got shape {input.shape}")
        return _red.Softmax(-3)(input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    r"""Randomized leaky ReLU (Xu et al. 2015, "Empirical Evaluation of Rectified
    Activations in Convolutional Networks"): y = x for x ≥ 0, a·x below, with a drawn from
    U(lower, upper) for every element in training (from minigrad's seeded generator) and
    a = (lower + upper)/2 in evaluation. The gradient is 1 or the same a (a constant).

    >>> import minigrad as mg
    >>> rrelu(mg.tensor([-3.0, 2.0]), 0.25, 0.75).tolist()
    [-1.5, 2.0]
    """
    from .. import random as _random
    from ..ops.elementwise import const, where

    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu: expects 0 <= lower <= upper, got lower={lower}, "
                         f"upper={upper}")
    if not training:
        return _act.LeakyReLU((lower + upper) / 2)(input)
    slope = _random.uniform(input.shape, lower, upper, input.dtype, input.device)
    return where(const(input.data >= 0), input, input * const(slope))


class RReLU(Module):
    """Randomized leaky ReLU: :func:`rrelu`, random slopes in training mode."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        if not 0 <= lower <= upper:
            raise ValueError(f"RReLU: expects 0 <= lower <= upper, got lower={lower}, "
                             f"upper={upper}")
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True"
                                                             if self.inplace else "")


class _Elementwise(Module):
    """An activation with no parameters: ``forward`` applies ``fn`` (an op of
    :mod:`minigrad.ops.activation`) with the hyperparameters named in ``hyper``."""

    fn = None
    hyper = ()

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).fn(input, *(getattr(self, h) for h in self.hyper))

    def extra_repr(self):
        parts = [f"{h}={getattr(self, h)}" for h in self.hyper]
        return ", ".join(parts + (["inplace=True"] if self.inplace else []))


class SELU(_Elementwise):
    """y = λ·(x if x > 0 else α(eˣ − 1)), λ ≈ 1.0507, α ≈ 1.6733 (Klambauer et al. 2017):
    with LeCun-normal weights, activations keep mean 0 and variance 1 through the layers."""

    fn = _act.selu


class CELU(_Elementwise):
    """y = x if x > 0 else α(e^{x/α} − 1) (Barron 2017)."""

    fn, hyper = _act.celu, ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = alpha


class Hardtanh(_Elementwise):
    """y = min(max(x, min_val), max_val)."""

    fn, hyper = _act.hardtanh, ("min_val", "max_val")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__(inplace)
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val "
                             f"({max_val})")
        self.min_val, self.max_val = min_val, max_val


class ReLU6(_Elementwise):
    """y = min(max(x, 0), 6)."""

    fn = _act.relu6


class Hardsigmoid(_Elementwise):
    """y = relu6(x + 3)/6."""

    fn = _act.hardsigmoid


class Hardswish(_Elementwise):
    """y = x·relu6(x + 3)/6 (MobileNetV3)."""

    fn = _act.hardswish


class Mish(_Elementwise):
    """y = x·tanh(softplus(x)) (Misra 2019)."""

    fn = _act.mish


class LogSigmoid(_Elementwise):
    """y = log σ(x) = −softplus(−x) (no linear threshold: exact for every x)."""

    fn = _act.logsigmoid

    def __init__(self):
        super().__init__()


class Softsign(_Elementwise):
    """y = x/(1 + |x|)."""

    fn = _act.softsign

    def __init__(self):
        super().__init__()


class Hardshrink(_Elementwise):
    """y = x where |x| > λ, else 0."""

    fn, hyper = _act.hardshrink, ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd


class Softshrink(_Elementwise):
    """y = x − λ for x > λ, x + λ for x < −λ, else 0 (the proximal map of λ|x|)."""

    fn, hyper = _act.softshrink, ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__()
        if not lambd >= 0:
            raise ValueError(f"Softshrink: lambd must be >= 0, got {lambd}")
        self.lambd = lambd


class Tanhshrink(_Elementwise):
    """y = x − tanh x."""

    fn = _act.tanhshrink

    def __init__(self):
        super().__init__()


class GLU(_Elementwise):
    """y = a·σ(b), (a, b) the two halves of the input along ``dim`` (Dauphin et al. 2017)."""

    fn, hyper = _act.glu, ("dim",)

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim


class Threshold(_Elementwise):
    """y = x if x > threshold else value."""

    fn, hyper = _act.threshold, ("threshold", "value")

    def __init__(self, threshold, value, inplace=False):
        super().__init__(inplace)
        self.threshold, self.value = threshold, value


class PReLU(Module):
    """y = max(0, x) + a·min(0, x) with a learned slope a (He et al. 2015): one slope, or
    ``num_parameters`` = the number of channels (dim 1 of the input), each starting at
    ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        if num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be ≥ 1, got {num_parameters}")
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(creation.full((num_parameters,), init, dtype=dtype,
                                              device=device))

    def forward(self, input):
        return _act.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
