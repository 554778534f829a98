"""Activation functions, in numerically stable forms.

sigmoid and softplus never evaluate e^(+|x|), so |x| up to 1e4 in float32 gives no
overflow, no warning and no NaN.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from .elementwise import const


class ReLU(Function):
    """y = max(x, 0).   VJP: gx = gy·[x > 0]."""

    def forward(self, xp, x):
        return xp.maximum(x, 0)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * const((x > 0).astype(x.dtype))


class LeakyReLU(Function):
    """y = x if x > 0 else s·x.   VJP: gx = gy·(1 if x > 0 else s)."""

    def __init__(self, negative_slope=0.01):
        self.s = negative_slope

    def forward(self, xp, x):
        return xp.where(x > 0, x, x * self.s)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * const(self.inputs[0].xp.where(x > 0, 1.0, self.s).astype(x.dtype))


class ELU(Function):
    """y = x if x > 0 else α(eˣ − 1).   VJP: gx = gy·(1 if x > 0 else α·eˣ)."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, xp, x):
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))

    def backward(self, gy):
        (x,) = self.inputs
        pos = const((x.data > 0).astype(x.dtype))
        return gy * (pos + (1 - pos) * self.alpha * x.clamp(max=0).exp())


class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF.   VJP: gx = gy·(Φ(x) + x·φ(x)).

    ``approximate="tanh"``: y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (Hendrycks & Gimpel
    2016), differentiated through its own formula.
    """

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, xp, x):
        if self.approximate == "tanh":
            u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
            return 0.5 * x * (1 + xp.tanh(u))
        from .._backend import erf

        return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))

    def backward(self, gy):
        (x,) = self.inputs
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = (k * (x + 0.044715 * x * x * x)).tanh()
            du = k * (1 + 3 * 0.044715 * x * x)
            return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        cdf = 0.5 * (1 + (x * (1 / math.sqrt(2))).erf())
        pdf = (-0.5 * x * x).exp() * (1 / math.sqrt(2 * math.pi))
        return gy * (cdf + x * pdf)


class Sigmoid(Function):
    """y = 1/(1 + e⁻ˣ).   VJP: gx = gy·y(1 − y)."""

    save_output = True

    def forward(self, xp, x):
        e = xp.exp(-xp.abs(x))  # ≤ 1: never overflows
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, gy):
        y = self.saved_output
        return gy * y * (1 - y)


class Tanh(Function):
    """y = tanh x.   VJP: gx = gy·(1 − y²)."""

    save_output = True

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, gy):
        y = self.saved_output
        return gy * (1 - y * y)


class SiLU(Function):
    """y = x·σ(x).   VJP: gx = gy·σ(x)(1 + x(1 − σ(x)))."""

    def forward(self, xp, x):
        e = xp.exp(-xp.abs(x))
        s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return x * s

    def backward(self, gy):
        (x,) = self.inputs
        s = x.sigmoid()
        return gy * s * (1 + x * (1 - s))


class Softplus(Function):
    """y = log(1 + e^(βx))/β, and y = x where βx > threshold (PyTorch's rule).

    Computed as (max(βx, 0) + log1p(e^(−|βx|)))/β.   VJP: gx = gy·σ(βx) (1 past threshold).
    """

    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, xp, x):
        bx = self.beta * x
        y = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        return xp.where(bx > self.threshold, x, y)

    def backward(self, gy):
        (x,) = self.inputs
        linear = const((self.beta * x.data > self.threshold).astype(x.dtype))
        return gy * (linear + (1 - linear) * (x * self.beta).sigmoid())


def relu(x):
    return ReLU()(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU(negative_slope)(x)


def elu(x, alpha=1.0):
    return ELU(alpha)(x)


def gelu(x, approximate="none"):
    return GELU(approximate)(x)


def sigmoid(x):
    return Sigmoid()(x)


def tanh(x):
    return Tanh()(x)


def silu(x):
    return SiLU()(x)


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus(beta, threshold)(x)
