"""Activation functions, in numerically stable forms.

sigmoid and softplus never evaluate e^(+|x|), so |x| up to 1e4 in float32 gives no
overflow, no warning and no NaN.
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from ..amp.autocast_mode import autocast_inputs
from ..autograd.function import Function, ieee
from ..autograd.grad_mode import is_grad_enabled
from .elementwise import const, in_float32, masked_array, to_float, where
from .shape import _sized_dim

# ---------------------------------------------------------------- one kernel on CUDA
# The activations of ops.fused.ACTIVATIONS (leaky_relu, elu, gelu, silu, sigmoid, tanh,
# softplus, hardsigmoid, hardswish, mish) run on CuPy arrays as one elementwise kernel
# forward and one for an unrecorded VJP, each computing in float32 (float64 for float64)
# and rounding once (Function.fused_cuda). Composed of CuPy operations they took 5-11
# launches each way (forward + backward on the CuPy stand-in: hardswish 14, mish 8;
# 2 each now), and half tensors more casts; on an H200 forward + backward of 32M
# elements took (fp16) gelu 18.0, silu 5.2, sigmoid 3.4, tanh 2.2 ms, mish 5.3,
# hardswish 3.5, and gelu, silu, sigmoid, tanh 0.87-0.89 ms each in one kernel
# (benchmarks/results/gpu-2026-11-27-h200-stop30-half-ops-after.log).

_FUSED_DTYPES = frozenset({np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)})


def _fused_forward(f, x):
    """act(x) in one kernel (``f.kernel_args()``: its name in ACTIVATIONS and keywords);
    None where there is none for x's dtype (bfloat16: the Tensor-op forms)."""
    if x.dtype not in _FUSED_DTYPES:
        return None
    from .fused import _bias_act_kernel

    name, items = f.kernel_args()
    return _bias_act_kernel(name, items, x.dtype.name, None, x.dtype.name)(x)


def _fused_vjp(f, gy):
    """gx = gy·act′ in one kernel, on CuPy arrays when the VJP is not recorded
    (create_graph and forward AD record it: then the Tensor-op VJP), else None."""
    g = gy.data
    if type(g) is np.ndarray or is_grad_enabled() or g.dtype not in _FUSED_DTYPES:
        return None
    v = f.saved_output.data if f.save_output else f.inputs[0].data
    if v.dtype not in _FUSED_DTYPES:
        return None
    from .fused import _act_grad_kernel

    name, items = f.kernel_args()
    return const(_act_grad_kernel(name, items, v.dtype.name, g.dtype.name)(v, g))


class ReLU(Function):
    """y = max(x, 0).   VJP: gx = gy where x > 0, else 0 (selected: an inf or NaN in gy at
    x ≤ 0 gives 0 there, as PyTorch's threshold_backward, not NaN): :class:`ReLUGrad`."""

    piecewise_linear = True  # gradients from constants: see Function

    def forward(self, xp, x):
        return xp.maximum(x, 0)

    def backward(self, gy):
        return ReLUGrad()(gy, const(self.inputs[0].data))


@functools.cache
def _relu_grad_kernel():
    from .._backend import cupy

    return cupy().ElementwiseKernel("T g, U x", "T gx", "gx = x > (U)0 ? g : (T)0",
                                    "minigrad_relu_grad")


class ReLUGrad(Function):
    """gx = g where x > 0, else 0 (selected), x a constant: ReLU's VJP, in one kernel on
    CUDA (a comparison and a ``where`` would be two, and a boolean temporary). Linear in g,
    so its own VJP is ReLUGrad(u, x); none for x (the derivative of the step is 0 a.e.)."""

    def forward(self, xp, g, x):
        if xp is np:
            return masked_array(g, x > 0)
        return _relu_grad_kernel()(g, x)

    def backward(self, u):
        return ReLUGrad()(u, const(self.inputs[1].data)), None


class LeakyReLU(Function):
    """y = x if x > 0 else s·x.   VJP: gx = gy·(1 if x > 0 else s)."""

    opmath = True

    piecewise_linear = True  # gradients from constants: see Function

    fused_cuda = True

    def __init__(self, negative_slope=0.01):
        self.s = negative_slope

    def kernel_args(self):
        return "leaky_relu", (("negative_slope", self.s),)

    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        return xp.where(x > 0, x, x * self.s)

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        x = self.inputs[0].data
        return gy * const(self.inputs[0].xp.where(x > 0, 1.0, self.s).astype(x.dtype))


class ELU(Function):
    """y = x if x > 0 else α(eˣ − 1).   VJP: gx = gy·(1 if x > 0 else α·eˣ)."""

    opmath = True

    fused_cuda = True

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def kernel_args(self):
        return "elu", (("alpha", self.alpha),)

    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        (x,) = self.inputs
        pos = const((x.data > 0).astype(x.dtype))
        # e^min(x, 0) whose own derivative is e^x at x = 0 too (PyTorch's double backward)
        return gy * (pos + (1 - pos) * self.alpha * where(x.data > 0, 0.0, x).exp())


class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF, as ½ erfc(−x/√2) (exact in the negative
    tail).   VJP: gx = gy·(Φ(x) + x·φ(x)).

    ``approximate="tanh"``: y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³) (Hendrycks &
    Gimpel 2016), computed as x·σ(2u) (the same, as ½(1 + tanh u) = σ(2u), without the
    cancellation of 1 + tanh u for x ≪ 0).   VJP: gx = gy·(σ(2u) + 2x·σ(2u)σ(−2u)·u′).
    """

    opmath = True

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    fused_cuda = True

    def kernel_args(self):
        return "gelu", (("approximate", self.approximate),)

    @ieee
    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        if self.approximate == "tanh":
            u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
            return x * _sigmoid(xp, 2 * u)
        from .._backend import erfc

        # Φ(x) = ½ erfc(−x/√2): the negative tail keeps its digits (gelu(−10) is −7.6e-23;
        # ½(1 + erf(x/√2)), PyTorch's too, cancels to 0 there)
        return 0.5 * x * erfc(x * (-1 / math.sqrt(2)))

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        (x,) = self.inputs
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            two_u = 2 * k * (x + 0.044715 * x * x * x)
            s, s_neg = two_u.sigmoid(), (-two_u).sigmoid()
            du = k * (1 + 3 * 0.044715 * x * x)
            return gy * (s + 2 * x * s * s_neg * du)
        cdf = 0.5 * (x * (-1 / math.sqrt(2))).erfc()
        pdf = (-0.5 * x * x).exp() * (1 / math.sqrt(2 * math.pi))
        return gy * (cdf + x * pdf)


def _sigmoid(xp, x):
    """σ(x) = 1/(1 + e⁻ˣ) on an array, from e^(−|x|) ≤ 1, which never overflows."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """y = 1/(1 + e⁻ˣ).   VJP: gx = gy·y(1 − y)."""

    opmath = True

    save_output = True

    fused_cuda = True

    def kernel_args(self):
        return "sigmoid", ()

    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        return _sigmoid(xp, x)

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        y = self.saved_output
        return gy * y * (1 - y)


class Tanh(Function):
    """y = tanh x.   VJP: gx = gy·(1 − y²)."""

    opmath = True

    save_output = True

    fused_cuda = True

    def kernel_args(self):
        return "tanh", ()

    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        return xp.tanh(x)

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        y = self.saved_output
        return gy * (1 - y * y)


class SiLU(Function):
    """y = x·σ(x).   VJP: gx = gy·σ(x)(1 + x(1 − σ(x)))."""

    opmath = True

    fused_cuda = True

    def kernel_args(self):
        return "silu", ()

    @ieee
    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        return x * _sigmoid(xp, x)

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        (x,) = self.inputs
        s = x.sigmoid()
        return gy * s * (1 + x * (1 - s))


class Softplus(Function):
    """y = log(1 + e^(βx))/β, and y = x where βx > threshold (PyTorch's rule).

    Computed as (max(βx, 0) + log1p(e^(−|βx|)))/β.   VJP: gx = gy·σ(βx) (1 past threshold).
    """

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    fused_cuda = True

    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def kernel_args(self):
        return "softplus", (("beta", self.beta), ("threshold", self.threshold))

    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        bx = self.beta * x
        y = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        return xp.where(bx > self.threshold, x, y)

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        (x,) = self.inputs
        linear = const((self.beta * x.data > self.threshold).astype(x.dtype))
        return gy * (linear + (1 - linear) * (x * self.beta).sigmoid())


class Hardsigmoid(Function):
    """y = relu6(x + 3)/6: 0 below −3, 1 above 3, x/6 + ½ between.   VJP: gx = gy/6
    strictly inside (−3, 3), 0 elsewhere: at ±3 too, and at NaN (PyTorch's choice)."""

    opmath = True

    piecewise_linear = True  # gradients from constants: see Function

    fused_cuda = True

    def kernel_args(self):
        return "hardsigmoid", ()

    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        return xp.clip(x + 3, 0, 6) * (1 / 6)  # clip keeps a NaN

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        return gy * _hardsigmoid_slope(self.inputs[0].data)


def _hardsigmoid_slope(x):
    """h′(x) of hardsigmoid as a constant: 1/6 strictly inside (−3, 3), else 0 (a NaN: 0)."""
    t = x + 3
    return const(((t > 0) & (t < 6)).astype(t.dtype) * (1 / 6))


class Hardswish(Function):
    """y = x·h(x), h = hardsigmoid (Howard et al. 2019, MobileNetV3).
    VJP: gx = gy·(h(x) + x·h′(x)), h′ = 1/6 strictly inside (−3, 3), else 0: x/3 + ½
    inside, 0 at −3 and below, 1 at 3 and above (NaN at NaN; PyTorch's ½ and 1.5 at ±3
    are the other one-sided limits)."""

    opmath = True

    fused_cuda = True

    def kernel_args(self):
        return "hardswish", ()

    @ieee
    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        return x * Hardsigmoid().forward(xp, x)  # x·h(x): x·6 first would overflow

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        (x,) = self.inputs
        return gy * (Hardsigmoid()(x) + x * _hardsigmoid_slope(x.data))


class Mish(Function):
    """y = x·tanh(softplus(x)) (Misra 2019), softplus with PyTorch's threshold 20.
    VJP: gx = gy·(t + x·(1 − t²)·σ(x)), t = tanh(softplus(x)) (σ(x) → 1 past 20, as the
    softplus's own VJP)."""

    opmath = True

    fused_cuda = True

    def kernel_args(self):
        return "mish", ()

    t = None  # tanh(softplus(x)) of a forward on arrays, for an unrecorded VJP

    @ieee
    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        if xp is not np and (y := _fused_forward(self, x)) is not None:
            return y
        self.t = xp.tanh(Softplus().forward(xp, x))
        return x * self.t

    def backward(self, gy):
        if (gx := _fused_vjp(self, gy)) is not None:
            return gx
        (x,) = self.inputs
        if not is_grad_enabled() and self.t is not None and self.t.dtype == x.dtype:
            # nothing records it: the forward's t, a constant here (as the composition's
            # saved tanh was), and one pass of array arithmetic
            xa, t = x.data, self.t
            with np.errstate(invalid="ignore", over="ignore"):
                s = x.xp.where(xa > 20, 1.0, _sigmoid(x.xp, xa)).astype(t.dtype, copy=False)
                return const(gy.data * (t + xa * (1 - t * t) * s))
        t = Softplus()(x).tanh()
        linear = const((x.data > 20).astype(x.dtype))
        s = linear + (1 - linear) * x.sigmoid()  # softplus′(x)
        return gy * (t + x * (1 - t * t) * s)

    def release(self):
        super().release()
        self.t = None


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


def hardsigmoid(x):
    """y = relu6(x + 3)/6 (:class:`Hardsigmoid`)."""
    return Hardsigmoid()(x)


def hardswish(x):
    """y = x·relu6(x + 3)/6 (:class:`Hardswish`)."""
    return Hardswish()(x)


def mish(x):
    """y = x·tanh(softplus(x)) (:class:`Mish`)."""
    return Mish()(x)


# ----------------------------------------------------------------------------------------
# Activations composed from the ops above: their gradients (and higher ones) come from the
# chain rule through those ops, so each is one line of math.

# SELU's fixed point constants (Klambauer et al. 2017, eq. 14): with them, activations of
# a LeCun-normal-initialized network keep mean 0 and variance 1 layer after layer.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@in_float32
def selu(x):
    """y = λ·(x if x > 0 else α(eˣ − 1)), λ ≈ 1.0507, α ≈ 1.6733 (self-normalizing)."""
    return ELU(SELU_ALPHA)(x) * SELU_SCALE


@in_float32
def celu(x, alpha=1.0):
    """y = x if x > 0 else α(e^(x/α) − 1) (Barron 2017): ELU made continuously
    differentiable in α, as α·elu(x/α)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return ELU(1.0)(x * (1.0 / alpha)) * alpha


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """y = min(max(x, min_val), max_val).   Gradient 1 strictly inside (min_val, max_val),
    0 elsewhere, at the two corners too (PyTorch's choice; ``clamp`` passes it there)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    inside = (x.data > min_val) & (x.data < max_val)
    # in x's dtype: an integer tensor stays integer, as PyTorch's (NumPy's clip would
    # promote it to float64 by the float bounds)
    return where(inside, x, const(x.xp.clip(x.data, min_val, max_val).astype(x.dtype)))


def relu6(x):
    """y = min(max(x, 0), 6)."""
    return hardtanh(x, 0.0, 6.0)


@in_float32
def logsigmoid(x):
    """y = log σ(x) = −softplus(−x), stable for large |x|: the softplus without PyTorch's
    linear threshold, which would drop log1p(eˣ) below x = −20 (3.6e-11 relative at −21,
    where PyTorch's logsigmoid is exact too)."""
    return -softplus(-x, threshold=math.inf)


@in_float32
def softsign(x):
    """y = x/(1 + |x|)."""
    return x / (x.abs() + 1.0)


def hardshrink(x, lambd=0.5):
    """y = x where |x| > λ, else 0.   Gradient 1 where |x| > λ, else 0 (at ±λ too).
    A NaN stays NaN (the test is "not |x| ≤ λ"), as in PyTorch."""
    x = to_float(x)
    return where(~(x.data.__abs__() <= lambd), x, 0.0)


def softshrink(x, lambd=0.5):
    """y = x − λ for x > λ, x + λ for x < −λ, else 0 (λ ≥ 0): the proximal map of λ|x|,
    computed as y = x − clamp(x, −λ, λ) where not |x| ≤ λ, so a NaN stays NaN, as in
    PyTorch. Gradient 1 where |x| > λ (and at a NaN), else 0 (at ±λ too)."""
    if not lambd >= 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    x = to_float(x)
    return where(~(x.data.__abs__() <= lambd), x - x.clamp(-lambd, lambd), 0.0)


@functools.cache
def _tanhshrink_series(terms=18):
    """a₀, a₁, … with x − tanh x = x³·Σₖ aₖ·(x²)ᵏ: minus tanh's Taylor coefficients from x³
    on, 2²ⁿ(2²ⁿ − 1)·B₂ₙ/(2n)! for x²ⁿ⁻¹, the Bernoulli numbers B₂ₙ exact (fractions, by the
    Akiyama–Tanigawa algorithm). 18 terms give float64's digits for |x| < ½."""
    m = 2 * terms + 2
    a, bernoulli = [Fraction(0)] * (m + 1), []
    for i in range(m + 1):
        a[i] = Fraction(1, i + 1)
        for j in range(i, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        bernoulli.append(a[0])
    return [float(-Fraction(4**n * (4**n - 1)) * bernoulli[2 * n] / math.factorial(2 * n))
            for n in range(2, terms + 2)]


class Tanhshrink(Function):
    """y = x − tanh x, and for |x| < ½ its Taylor series x³/3 − 2x⁵/15 + 17x⁷/315 − …,
    where the difference cancels (PyTorch's x − tanh x: tanhshrink(1e-4) in float32 is 5%
    off; this is exact to rounding), computed in float64.   VJP: gx = gy·tanh² x."""

    opmath = True  # (the backward)

    @ieee
    def forward(self, xp, x):
        x = to_float(x)  # integers give the default float dtype, as in PyTorch
        # in float64: the difference still cancels above ½ (4 bits at ½), which float32
        # would show (1e-6 relative), float64 not (5e-16)
        w = x.astype(np.float64, copy=False)
        u = w * w
        coefficients = _tanhshrink_series()
        s = coefficients[-1]
        for c in reversed(coefficients[:-1]):
            s = s * u + c
        return xp.where(xp.abs(w) < 0.5, w * u * s, w - xp.tanh(w)).astype(x.dtype, copy=False)

    def backward(self, gy):
        t = self.inputs[0].tanh()
        return gy * (t * t)


def tanhshrink(x):
    """y = x − tanh x (:class:`Tanhshrink`, exact near 0 too).   Gradient tanh² x."""
    return Tanhshrink()(x)


def prelu(x, weight):
    """y = max(0, x) + a·min(0, x) with a learnable slope ``weight``: one value, or one per
    channel (dim 1 of the input), as PyTorch; an input of fewer than 2 dims has one
    channel."""
    if weight.ndim != 1:
        raise ValueError(f"prelu: weight must be 1-D, got shape {weight.shape}")
    x, weight = autocast_inputs(x, weight)  # on PyTorch's CUDA autocast half list
    n = weight.shape[0]
    if n != 1:
        if x.ndim < 2 or x.shape[1] != n:
            channels = x.shape[1] if x.ndim >= 2 else 1
            raise ValueError(f"prelu: {n} slopes for an input of shape {x.shape}, which has "
                             f"{channels} channel(s) (dim 1)")
        weight = weight.reshape((n,) + (1,) * (x.ndim - 2))
    return where(x.data > 0, x, weight * x)      # gx = w at x = 0 and at a NaN, as PyTorch


@in_float32
def glu(x, dim=-1):
    """y = a·σ(b) where (a, b) are the two halves of x along ``dim`` (Dauphin et al. 2017)."""
    n = x.shape[_sized_dim(dim, x, "glu")]
    if n % 2:
        raise ValueError(f"glu: dim {dim} of shape {x.shape} must have an even size")
    a, b = x.chunk(2, dim)
    return a * b.sigmoid()


def threshold(x, threshold, value):
    """y = x if x > threshold else value."""
    return where(x.data > threshold, x, value)
