r"""INT8 quantization: quantize / dequantize (symmetric and asymmetric, per-tensor and
per-channel), post-training quantization of weights, and quantization-aware training with
fake quantization and the straight-through estimator.

Intuition. Store a float tensor x as 8-bit integers q and one (or one per channel) float
scale s and integer zero point z, with x ≈ s·(q − z). The grid has 256 points spaced s apart;
rounding to the nearest costs at most s/2 per element inside the range, and values outside
the range are clamped to its ends.

Symbols: [q_min, q_max] the integer range (int8: [−128, 127]); x_min, x_max the observed
range, widened to contain 0 so that 0 is exact: x_min ← min(x_min, 0), x_max ← max(x_max, 0).

Asymmetric (affine), int8::

    s = (x_max − x_min) / 255                          (= (x_max − x_min) / (q_max − q_min))
    z = round(−x_min / s) − 128                        (= q_min + round(−x_min / s))

Symmetric, int8 (z = 0, the narrow range [−127, 127] so that the grid is symmetric)::

    s = max|x| / 127,  z = 0

Quantize and dequantize (round = half to even, as ``torch.round`` and ``numpy.rint``)::

    q = clamp(round(x / s) + z, q_min, q_max)          (an int8 array)
    x̂ = s · (q − z)

Error bound: |x − x̂| ≤ s/2 for every x in the representable range
[s·(q_min − z), s·(q_max − z)] (which contains [x_min, x_max] up to the rounding of z).
Per-channel: the same formulas with x_min, x_max (and so s, z) computed separately for each
index along ``axis`` (the output channel, axis 0, of a Linear or Conv weight).
A constant-zero range gives s = 0; s is then replaced by float32's machine epsilon, as PyTorch
does, so that q = z and x̂ = 0.

Fake quantization for training (Jacob et al. 2018)::

    y = s · (clamp(round(x / s) + z, q_min, q_max) − z)         forward: x̂, in float
    ∂y/∂x := 1 if q_min ≤ round(x / s) + z ≤ q_max else 0       straight-through estimator

The true derivative of the staircase is 0 almost everywhere; the STE pretends the rounding is
the identity inside the range and keeps the clamp's zero gradient outside it (PyTorch's
``fake_quantize_per_tensor_affine`` rule).

Examples
--------
>>> import minigrad as mg
>>> from minigrad import quantization as Q
>>> x = mg.tensor([-1.0, 0.0, 0.5, 2.0])
>>> q = Q.quantize(x)                         # asymmetric, per tensor
>>> round(q.q_scale(), 6), q.q_zero_point()   # s = 3/255, z = round(1/s) - 128
(0.011765, -43)
>>> q.int_repr().tolist()
[-128, -43, -1, 127]
>>> q.dequantize().tolist()
[-1.0, 0.0, 0.4941176474094391, 2.0]
>>> s = Q.quantize(x, symmetric=True)         # s = 2/127, z = 0
>>> s.int_repr().tolist()
[-64, 0, 32, 127]

References
----------
Jacob et al., "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-
Only Inference", CVPR 2018. Krishnamoorthi, "Quantizing deep convolutional networks for
efficient inference: A whitepaper", arXiv:1806.08342 (2018). Bengio et al., "Estimating or
Propagating Gradients Through Stochastic Neurons", arXiv:1308.3432 (2013) (the STE).

Notes
-----
Departures from PyTorch: quantized tensors are a small :class:`QuantizedTensor` (int8
array + scale + zero point) rather than a tensor dtype, and there are no integer kernels:
post-training quantization (:func:`quantize_model_weights`) stores the int8 weights and puts
their dequantized values back into the float weights, so inference uses exactly the numbers
an int8 kernel would see. Symmetric int8 uses [−127, 127] and s = max|x|/127 (PyTorch's
``per_tensor_symmetric`` divides by 127.5 and uses [−128, 127]). A :class:`FakeQuantize`
observes statistics only in training mode (PyTorch observes whenever its observer is on).
PyTorch's ``reduce_range=True`` is ``bits=7`` here (int8 [−64, 63], uint8 [0, 127]).
Rounding: q = round(x/s) + z is computed in float64 (PyTorch's documented formula). PyTorch's
CPU kernels compute in float32 with s⁻¹ rounded to float32, and ``quantize_per_tensor``
(FBGEMM) rounds z + x·s⁻¹ after adding z, so q can differ by 1 where x/s is within float32
rounding of a half-integer (e.g. x = 0.25, s = 0.02, z = −5: here round(12.4999…) − 5 = 7,
PyTorch round(7.5) = 8). Elsewhere the integers agree.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from ._backend import get_array_module
from .autograd.function import Function
from .nn import init
from .nn.module import Module, Parameter
from .tensor import Tensor, _make_tensor

__all__ = [
    "QuantizedTensor",
    "calculate_qparams",
    "quantize",
    "quantize_per_tensor",
    "quantize_per_channel",
    "dequantize",
    "fake_quantize",
    "fake_quantize_per_tensor_affine",
    "fake_quantize_per_channel_affine",
    "FakeQuantizeFunction",
    "FakeQuantize",
    "QATLinear",
    "quantize_model_weights",
    "quant_range",
]

_EPS = float(np.finfo(np.float32).eps)


def quant_range(dtype=_dt.int8, symmetric=False, bits=8):
    """``(q_min, q_max)``: int8 [−128, 127] (symmetric: [−127, 127]); uint8 [0, 255].

    ``bits`` < 8 narrows the grid inside the 8-bit storage type: signed
    [−2^(b−1), 2^(b−1) − 1] (symmetric ±(2^(b−1) − 1)), unsigned [0, 2^b − 1]; the formulas
    of the module docstring hold with 255 → q_max − q_min and −128 → q_min."""
    dtype = np.dtype(dtype)
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an int in [2, 8], got {bits!r}")
    half = 2 ** (bits - 1)
    if dtype == np.int8:
        return (-(half - 1), half - 1) if symmetric else (-half, half - 1)
    if dtype == np.uint8:
        if symmetric:
            raise ValueError("symmetric quantization needs a signed type (int8)")
        return 0, 2 ** bits - 1
    raise TypeError(f"quantization supports int8 and uint8, got {dtype}")


def _array(x):
    return x.data if isinstance(x, Tensor) else x


def _reduce_axes(ndim, axis):
    if axis is None:
        return None
    return tuple(d for d in range(ndim) if d != axis % ndim)


def _channel_axis(ndim, axis, what):
    """``axis`` normalized to [0, ndim) (negative counts from the end; PyTorch takes only
    non-negative axes), or a ValueError naming ``what``."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{what}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a {ndim}-d tensor")
    return int(axis) % ndim


def _check_zero_point(xp, z, q_min, q_max, what):
    """z must lie on the grid [q_min, q_max] (PyTorch raises too): else 0 is not
    representable and x̂ = s·(q − z) cannot reach the clamped values."""
    z = xp.asarray(z)
    if bool(((z < q_min) | (z > q_max)).any()):
        raise ValueError(f"{what}: zero_point must be in [{q_min}, {q_max}], got "
                         f"{z.tolist()}")


def _expand(p, ndim, axis):
    """Per-channel parameters (C,) shaped to broadcast along ``axis``."""
    if axis is None or getattr(p, "ndim", 0) == 0:
        return p
    shape = [1] * ndim
    shape[axis % ndim] = -1
    return p.reshape(shape)


def calculate_qparams(x, symmetric=False, axis=None, dtype=_dt.int8, bits=8):
    r"""Scale and zero point of ``x`` by the formulas of this module's docstring.

    Parameters
    ----------
    x : Tensor or array.
    symmetric : s = max|x|/127, z = 0 (int8) instead of the asymmetric formulas.
    axis : None for per-tensor; an int for per-channel along that axis.
    dtype : int8 (default) or uint8.
    bits : width of the grid (default 8), see :func:`quant_range`.

    Returns
    -------
    ``(scale, zero_point)``: float64 and int64 arrays, 0-d (per-tensor) or (C,).
    """
    a = _array(x)
    xp = get_array_module(a)
    if a.size == 0:
        raise ValueError("calculate_qparams: empty tensor")
    if not bool(xp.isfinite(a).all()):
        raise ValueError("calculate_qparams: the tensor holds inf or NaN")
    red = _reduce_axes(a.ndim, axis)
    a = a.astype(xp.float64)
    return _qparams_from_range(xp, a.min(axis=red), a.max(axis=red), symmetric, dtype, bits)


def _qparams_from_range(xp, x_min, x_max, symmetric, dtype=_dt.int8, bits=8):
    q_min, q_max = quant_range(dtype, symmetric, bits)
    x_min = xp.minimum(xp.asarray(x_min, dtype=xp.float64), 0.0)
    x_max = xp.maximum(xp.asarray(x_max, dtype=xp.float64), 0.0)
    if symmetric:
        s = xp.maximum(-x_min, x_max) / q_max                      # s = max|x| / 127
        z = xp.zeros(s.shape, dtype=xp.int64)
    else:
        s = (x_max - x_min) / (q_max - q_min)                      # s = (max − min) / 255
        s = xp.maximum(s, _EPS)
        z = q_min + xp.rint(-x_min / s)                           # z = round(−min/s) − 128
        z = xp.clip(z, q_min, q_max).astype(xp.int64)
    s = xp.maximum(s, _EPS)
    return s, z


def _quantize_array(xp, a, s, z, q_min, q_max, axis):
    s = _expand(s, a.ndim, axis)
    z = _expand(z, a.ndim, axis)
    return xp.clip(xp.rint(a.astype(xp.float64) / s) + z, q_min, q_max)


class QuantizedTensor:
    """An int8 (or uint8) array with its scale(s) and zero point(s): x ≈ s·(q − z).

    Methods follow PyTorch's quantized tensors: ``int_repr()``, ``dequantize()``,
    ``q_scale()``, ``q_zero_point()``, ``q_per_channel_scales()``,
    ``q_per_channel_zero_points()``, ``q_per_channel_axis()``, ``qscheme()``.
    """

    def __init__(self, q, scale, zero_point, axis=None, symmetric=False, dtype=None, bits=8):
        self.q = q
        self.bits = bits
        self.scale = scale
        self.zero_point = zero_point
        self.axis = axis
        self.symmetric = symmetric
        self.float_dtype = dtype or _dt.get_default_dtype()

    @property
    def shape(self):
        return tuple(self.q.shape)

    @property
    def dtype(self):
        return self.q.dtype

    @property
    def device(self):
        return _make_tensor(self.q, None, False).device

    def int_repr(self):
        return _make_tensor(self.q, None, False)

    def dequantize(self):
        """x̂ = s·(q − z) as a float Tensor (the dtype that was quantized)."""
        xp = get_array_module(self.q)
        s = _expand(self.scale, self.q.ndim, self.axis)
        z = _expand(self.zero_point, self.q.ndim, self.axis)
        x = s * (self.q.astype(xp.float64) - z)
        return _make_tensor(x.astype(self.float_dtype), None, False)

    def qscheme(self):
        kind = "symmetric" if self.symmetric else "affine"
        return f"per_{'tensor' if self.axis is None else 'channel'}_{kind}"

    def q_scale(self):
        return float(self.scale)

    def q_zero_point(self):
        return int(self.zero_point)

    def q_per_channel_scales(self):
        return _make_tensor(self.scale, None, False)

    def q_per_channel_zero_points(self):
        return _make_tensor(self.zero_point, None, False)

    def q_per_channel_axis(self):
        return self.axis

    def nbytes(self):
        """Bytes to store it: the integers packed at ``bits`` each, plus a float32 scale and
        an int32 zero point per channel (or one of each)."""
        return int(-(-self.q.size * self.bits // 8) + 8 * max(np.size(self.scale), 1))

    def __repr__(self):
        return (f"QuantizedTensor(shape={self.shape}, dtype={self.dtype}, "
                f"qscheme={self.qscheme()})")


def quantize_per_tensor(input, scale, zero_point, dtype=_dt.int8):
    """q = clamp(round(x/s) + z, q_min, q_max) with one scale and zero point (PyTorch's
    ``torch.quantize_per_tensor``)."""
    a = _array(input)
    xp = get_array_module(a)
    q_min, q_max = quant_range(dtype)
    s = xp.asarray(scale, dtype=xp.float64)
    z = xp.asarray(zero_point, dtype=xp.int64)
    if s.ndim or z.ndim:
        raise ValueError("quantize_per_tensor takes a scalar scale and zero point")
    if float(s) <= 0:
        raise ValueError(f"quantize_per_tensor: scale must be positive, got {float(s)}")
    _check_zero_point(xp, z, q_min, q_max, "quantize_per_tensor")
    q = _quantize_array(xp, a, s, z, q_min, q_max, None).astype(dtype)
    return QuantizedTensor(q, s, z, None, False, a.dtype)


def quantize_per_channel(input, scales, zero_points, axis, dtype=_dt.int8):
    """Per-channel quantization along ``axis`` (PyTorch's ``torch.quantize_per_channel``)."""
    a = _array(input)
    xp = get_array_module(a)
    q_min, q_max = quant_range(dtype)
    s = xp.asarray(_array(scales), dtype=xp.float64)
    z = xp.asarray(_array(zero_points), dtype=xp.int64)
    axis = _channel_axis(a.ndim, axis, "quantize_per_channel")
    C = a.shape[axis]
    if s.shape != (C,) or z.shape != (C,):
        raise ValueError(f"quantize_per_channel: need {C} scales and zero points for axis "
                         f"{axis} of shape {a.shape}, got {s.shape} and {z.shape}")
    if bool((s <= 0).any()):
        raise ValueError("quantize_per_channel: scales must be positive")
    _check_zero_point(xp, z, q_min, q_max, "quantize_per_channel")
    q = _quantize_array(xp, a, s, z, q_min, q_max, axis).astype(dtype)
    return QuantizedTensor(q, s, z, axis, False, a.dtype)


def quantize(x, symmetric=False, per_channel=False, axis=0, dtype=_dt.int8, bits=8):
    """Compute the scale(s) and zero point(s) of ``x`` (:func:`calculate_qparams`) and
    quantize it: per-tensor, or per-channel along ``axis`` when ``per_channel``; ``bits``
    < 8 uses a narrower grid (:func:`quant_range`)."""
    a = _array(x)
    xp = get_array_module(a)
    ax = _channel_axis(a.ndim, axis, "quantize") if per_channel else None
    s, z = calculate_qparams(a, symmetric, ax, dtype, bits)
    q_min, q_max = quant_range(dtype, symmetric, bits)
    q = _quantize_array(xp, a, s, z, q_min, q_max, ax).astype(dtype)
    return QuantizedTensor(q, s, z, ax, symmetric, a.dtype, bits)


def dequantize(q):
    """x̂ = s·(q − z) (PyTorch's ``torch.dequantize``)."""
    if not isinstance(q, QuantizedTensor):
        raise TypeError(f"dequantize expects a QuantizedTensor, got {type(q).__name__}")
    return q.dequantize()


# ------------------------------------------------------------------ fake quantization


class FakeQuantizeFunction(Function):
    """y = s·(clamp(round(x/s) + z, q_min, q_max) − z).
    VJP (straight-through): gx = gy · 1[q_min ≤ round(x/s) + z ≤ q_max]."""

    def __init__(self, scale, zero_point, q_min, q_max, axis=None):
        self.scale, self.zero_point = scale, zero_point
        self.q_min, self.q_max, self.axis = q_min, q_max, axis
        self.inside = None

    def forward(self, xp, x):
        s = _expand(xp.asarray(self.scale, dtype=xp.float64), x.ndim, self.axis)
        z = _expand(xp.asarray(self.zero_point, dtype=xp.float64), x.ndim, self.axis)
        xq = xp.rint(x.astype(xp.float64) / s) + z
        self.inside = (xq >= self.q_min) & (xq <= self.q_max)
        return (s * (xp.clip(xq, self.q_min, self.q_max) - z)).astype(x.dtype)

    def backward(self, gy):
        # the mask is a constant: the STE's derivative is piecewise constant in x
        return gy * _make_tensor(self.inside.astype(gy.dtype), None, False)


def fake_quantize(x, scale, zero_point, quant_min=-128, quant_max=127, axis=None):
    """Differentiable fake quantization (straight-through gradient) of a Tensor: per tensor
    (``axis=None``, scalar scale and zero point) or per channel along ``axis`` (one of each
    per index of that axis)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"fake_quantize expects a Tensor, got {type(x).__name__}")
    if not _dt.is_floating(x.dtype):
        raise TypeError(f"fake_quantize expects a floating Tensor, got {x.dtype}")
    if quant_min > quant_max:
        raise ValueError(f"fake_quantize: quant_min ({quant_min}) must be <= quant_max "
                         f"({quant_max})")
    xp = get_array_module(x.data)
    s, z = xp.asarray(_array(scale)), xp.asarray(_array(zero_point))
    if axis is not None:
        axis = _channel_axis(x.ndim, axis, "fake_quantize")
        C = x.shape[axis]
        if s.shape not in ((), (C,)) or z.shape not in ((), (C,)):
            raise ValueError(f"fake_quantize: need {C} scales and zero points for axis "
                             f"{axis} of shape {x.shape}, got {s.shape} and {z.shape}")
    elif s.ndim or z.ndim:
        raise ValueError("fake_quantize: per tensor (axis=None) takes a scalar scale and "
                         "zero point")
    if bool((s <= 0).any()):
        raise ValueError("fake_quantize: scale must be positive")
    _check_zero_point(xp, z, quant_min, quant_max, "fake_quantize")
    return FakeQuantizeFunction(s, z, quant_min, quant_max, axis)(x)


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    """PyTorch's ``torch.fake_quantize_per_tensor_affine``."""
    return fake_quantize(input, scale, zero_point, quant_min, quant_max)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    """PyTorch's ``torch.fake_quantize_per_channel_affine``."""
    return fake_quantize(input, scale, zero_point, quant_min, quant_max, axis)


class FakeQuantize(Module):
    r"""Fake-quantize its input with an observed range (PyTorch's ``FakeQuantize`` with a
    min/max observer).

    In training mode (and while the observer is enabled) the range is updated from each
    input: with ``averaging_constant`` c, x_min ← x_min + c·(min(x) − x_min) (and x_max
    alike; the first input sets them), c = 1 uses the current input only. The scale and
    zero point follow from the range by this module's formulas.

    Parameters
    ----------
    symmetric : bool, default False.
    ch_axis : None (per tensor) or the channel axis (per channel).
    averaging_constant : float in (0, 1], default 0.01.
    dtype : int8 (default) or uint8.
    bits : grid width, default 8 (:func:`quant_range`).

    Buffers: ``scale``, ``zero_point``, ``min_val``, ``max_val``.
    """

    def __init__(self, symmetric=False, ch_axis=None, averaging_constant=0.01,
                 dtype=_dt.int8, bits=8):
        super().__init__()
        if not 0 < averaging_constant <= 1:
            raise ValueError(f"FakeQuantize: averaging_constant must be in (0, 1], got "
                             f"{averaging_constant}")
        self.symmetric = symmetric
        self.ch_axis = ch_axis
        self.averaging_constant = averaging_constant
        self.qdtype = np.dtype(dtype)
        self.bits = bits
        self.quant_min, self.quant_max = quant_range(dtype, symmetric, bits)
        self.observer_enabled = True
        self.fake_quant_enabled = True
        self.register_buffer("scale", _make_tensor(np.ones((), np.float64), None, False))
        self.register_buffer("zero_point", _make_tensor(np.zeros((), np.int64), None, False))
        self.register_buffer("min_val", None)
        self.register_buffer("max_val", None)

    def enable_observer(self, enabled=True):
        self.observer_enabled = enabled
        return self

    def disable_observer(self):
        return self.enable_observer(False)

    def enable_fake_quant(self, enabled=True):
        self.fake_quant_enabled = enabled
        return self

    def disable_fake_quant(self):
        return self.enable_fake_quant(False)

    def observe(self, x):
        """Update the range and the scale / zero point from ``x`` (no gradient)."""
        a = _array(x)
        xp = get_array_module(a)
        red = _reduce_axes(a.ndim, self.ch_axis)
        lo = a.min(axis=red).astype(xp.float64)
        hi = a.max(axis=red).astype(xp.float64)
        if self.min_val is None:
            self.min_val = _make_tensor(lo, None, False)
            self.max_val = _make_tensor(hi, None, False)
        else:
            c = self.averaging_constant
            self.min_val.data = self.min_val.data + c * (lo - self.min_val.data)
            self.max_val.data = self.max_val.data + c * (hi - self.max_val.data)
        s, z = _qparams_from_range(xp, self.min_val.data, self.max_val.data, self.symmetric,
                                   self.qdtype, self.bits)
        self.scale = _make_tensor(s, None, False)
        self.zero_point = _make_tensor(z, None, False)

    def forward(self, x):
        if self.training and self.observer_enabled:
            self.observe(x)
        if not self.fake_quant_enabled or self.min_val is None:
            return x
        return fake_quantize(x, self.scale.data, self.zero_point.data, self.quant_min,
                             self.quant_max, self.ch_axis)

    def extra_repr(self):
        return (f"symmetric={self.symmetric}, ch_axis={self.ch_axis}, "
                f"quant_min={self.quant_min}, quant_max={self.quant_max}")


class QATLinear(Module):
    r"""Linear layer for quantization-aware training: y = fq_x(x) · fq_W(W)ᵀ + b.

    ``weight_fake_quant`` fake-quantizes the weight (symmetric per output channel by
    default, range of the current weight: averaging_constant = 1); ``input_fake_quant``
    fake-quantizes the input (asymmetric per tensor, moving-average range) unless
    ``quantize_input=False``. Gradients pass by the straight-through estimator; the bias
    stays float (as in int8 inference, where it is added in int32).

    ``QATLinear.from_float(linear)`` copies a trained ``nn.Linear``;
    ``quantized_weight()`` returns the int8 weight a deployment would store.
    """

    def __init__(self, in_features, out_features, bias=True, weight_symmetric=True,
                 weight_per_channel=True, quantize_input=True, weight_bits=8, input_bits=8,
                 device=None, dtype=None):
        super().__init__()
        from . import creation

        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        init.reset_layer_(self.weight, self.bias)  # as nn.Linear
        self.weight_fake_quant = FakeQuantize(
            symmetric=weight_symmetric, ch_axis=0 if weight_per_channel else None,
            averaging_constant=1.0, bits=weight_bits)
        self.input_fake_quant = FakeQuantize(bits=input_bits) if quantize_input else None

    @classmethod
    def from_float(cls, linear, **kwargs):
        """A QATLinear with the weight and bias of ``linear`` (copied)."""
        W = linear.weight
        m = cls(W.shape[1], W.shape[0], bias=linear.bias is not None, dtype=W.dtype,
                device=W.device, **kwargs)
        m.weight.data = W.data.copy()
        if linear.bias is not None:
            m.bias.data = linear.bias.data.copy()
        return m

    def forward(self, x):
        if self.input_fake_quant is not None:
            x = self.input_fake_quant(x)
        if self.training or self.weight_fake_quant.min_val is None:
            self.weight_fake_quant.observe(self.weight)
        W = self.weight_fake_quant(self.weight)
        y = x @ W.T
        return y + self.bias if self.bias is not None else y

    def quantized_weight(self):
        """The int8 weight a deployment would store: the weight quantized with the same
        scheme as ``weight_fake_quant`` (whose range is the current weight's)."""
        fq = self.weight_fake_quant
        return quantize(self.weight, symmetric=fq.symmetric, per_channel=fq.ch_axis is not None,
                        axis=fq.ch_axis or 0, dtype=fq.qdtype, bits=fq.bits)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


# ------------------------------------------------------------------ post-training


def _default_types():
    try:
        from .nn import Conv1d, Conv2d, Linear
    except ImportError:  # pragma: no cover - nn not assembled yet
        return None
    return (Linear, Conv1d, Conv2d)


def quantize_model_weights(model, symmetric=True, per_channel=True, dtype=_dt.int8,
                           types=None, bits=8):
    """Post-training quantization of the weights of every Linear / Conv layer of ``model``.

    Each selected layer's ``weight`` is quantized (per output channel, axis 0, by default)
    and replaced *in place* by its dequantized values s·(q − z), so the model computes with
    exactly the numbers an int8 kernel would; biases stay float.

    Parameters
    ----------
    model : Module.
    symmetric, per_channel, dtype, bits : as :func:`quantize`.
    types : tuple of Module classes to quantize; default ``(nn.Linear, nn.Conv1d,
        nn.Conv2d)`` (and any module with a ≥2-D ``weight`` if those are unavailable).

    Returns
    -------
    dict ``{module name: QuantizedTensor}`` of the stored int8 weights.
    """
    types = types if types is not None else _default_types()
    out = {}
    for name, m in model.named_modules():
        w = m._parameters.get("weight")
        if w is None or w.ndim < 2:
            continue
        if types is not None and not isinstance(m, types):
            continue
        q = quantize(w, symmetric=symmetric, per_channel=per_channel, axis=0, dtype=dtype,
                     bits=bits)
        w.data = q.dequantize().data.astype(w.dtype)
        out[name] = q
    return out
