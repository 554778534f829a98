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
======================  ==============================================

``inplace=True`` is accepted for compatibility and ignored: minigrad never writes into
its input.
"""
from __future__ import annotations

from ..ops import activation as _act
from ..ops import reduction as _red
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softplus",
           "Softmax", "LogSoftmax", "softmax_dim"]


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


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = softmax_dim(input.ndim) if self.dim is None else self.dim
        return _red.Softmax(dim)(input)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log-softmax along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = softmax_dim(input.ndim) if self.dim is None else self.dim
        return _red.LogSoftmax(dim)(input)

    def extra_repr(self):
        return f"dim={self.dim}"
