r"""Resampling: ``F.interpolate`` and ``nn.Upsample``, with PyTorch's index conventions.

Every mode works one spatial dim at a time. Output position j of a dim resized from n to
m reads the input at a source coordinate

==============================  ===============================================
``nearest``                     i = min(⌊j·r⌋, n − 1)
``nearest-exact``               i = min(⌊(j + ½)·r⌋, n − 1)
linear, ``align_corners=False`` u = max((j + ½)·r − ½, 0), pixel centres aligned
linear, ``align_corners=True``  u = j·(n − 1)/(m − 1), corner pixels aligned
==============================  ===============================================

with r = n/m, or r = 1/scale_factor when a ``scale_factor`` is given (PyTorch's rule,
unless ``recompute_scale_factor=True``); a dim whose size does not change is copied, as
PyTorch's linear kernels and its 2-D nearest kernel do (its 1-D nearest kernel, and its
3-D one in the forward pass only, apply the formula: ``scale_factor=1.2`` on size 3 gives
x[0], x[0], x[1] there, and x[0], x[1], x[2] here). Linear modes blend the two neighbours
i₀ = ⌊u⌋ and i₁ = min(i₀ + 1, n − 1): y = (1 − λ)·x[i₀] + λ·x[i₁], λ = u − i₀.
(bilinear and trilinear are linear along each dim in turn.) ``bicubic`` reads four
neighbours i₀ − 1 … i₀ + 2 (clamped to the edges) at u = j·r' (align_corners) or
(j + ½)·r − ½ (not clamped at 0), with the cubic-convolution weights of Keys (1981),
a = −0.75 as in PyTorch and OpenCV, for t = u − i₀:

    w₋₁ = c₂(t + 1),  w₀ = c₁(t),  w₁ = c₁(1 − t),  w₂ = c₂(2 − t)
    c₁(x) = ((a + 2)x − (a + 3))x² + 1,   c₂(x) = ((ax − 5a)x + 8a)x − 4a

applied along each dim in turn (the 2-D kernel is their product). Each step is indexing
with an integer array, a gather whose gradient is a scatter-add, and products with
constant weights, so the op is differentiable to any order. ``area`` is adaptive average
pooling.

``antialias=True`` (``bilinear`` and ``bicubic``; PyTorch's ``_upsample_bilinear2d_aa``
and ``_upsample_bicubic2d_aa``, after Pillow's resampling) stretches the filter by the
downscaling factor, so that every input element contributes. With the scale s = r, or
s = (n − 1)/(m − 1) (0 for m = 1) with ``align_corners``, output j of a dim resized from
n to m is y[j] = Σᵢ W[j, i]·x[i], 0 ≤ i < n, with

    c_j = s·(j + ½)   (also with align_corners, as PyTorch)
    W[j, i] ∝ f((i − c_j + ½) / max(s, 1)),   each row normalised to sum 1,

where f(x) = max(1 − |x|, 0), the triangle, for bilinear, for bicubic f(x) = c₁(|x|)
for |x| < 1, c₂(|x|) for 1 ≤ |x| < 2, else 0, with a = −½ (Pillow's, not the −0.75
above), and for ``lanczos`` (which PyTorch offers with ``antialias=True`` only) Pillow's
Lanczos-3 window f(x) = sinc(x)·sinc(x/3) for |x| < 3, else 0, sinc(x) = sin(πx)/(πx).
f vanishes outside PyTorch's window of taps, |i − c_j + ½| < σ = (k/2)·max(s, 1)
(k = 2, 4 or 6), cut to the input. Upsampling (s < 1) keeps the plain filter's width. The
(m × n) matrices are constants, so y = W_h · x · W_wᵀ is two matrix products,
differentiable to any order; a dim that keeps its size is copied.
"""
from __future__ import annotations

import math

import numpy as np

from .. import creation
from ..amp.autocast_mode import autocast_off
from ..ops.elementwise import in_float32
from .module import Module
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
           "upsample", "upsample_nearest", "upsample_bilinear"]

_LINEAR = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # mode → spatial dims
_DIMS = {**_LINEAR, "lanczos": 2}  # the modes for one input rank → its spatial dims
MODES = ("nearest", "nearest-exact", "area") + tuple(_DIMS)
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) cubic-convolution parameter
_ANTIALIASED = ("bilinear", "bicubic", "lanczos")  # the modes that take antialias=True
_LANCZOS_A = 3  # Pillow's Lanczos window: 3 lobes
_AA_CUBIC_A = -0.5  # Pillow's, which PyTorch's antialiased bicubic uses


def _per_dim(value, k, what):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * k
    if len(values) != k:
        raise ValueError(f"interpolate: {what} {value!r} must have one entry per spatial dim "
                         f"({k})")
    return values


def _source_index(n, m, r, mode, align_corners):
    """(i₀, i₁, λ) for one dim resized from n to m (i₁ and λ None for nearest modes)."""
    j = np.arange(m, dtype=np.float64)
    if mode in ("nearest", "nearest-exact"):
        shift = 0.5 if mode == "nearest-exact" else 0.0
        return np.minimum(np.floor((j + shift) * r).astype(np.int64), n - 1), None, None
    u = j * r if align_corners else np.maximum((j + 0.5) * r - 0.5, 0.0)
    i0 = np.minimum(np.floor(u).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, u - i0


def _cubic_taps(n, m, r, align_corners):
    """The four source indices (4, m) and weights (4, m) of each output position of a
    dim resized from n to m by bicubic interpolation (see the module notes)."""
    j = np.arange(m, dtype=np.float64)
    u = j * r if align_corners else (j + 0.5) * r - 0.5
    i0 = np.floor(u)
    weights = np.stack(cubic_weights(u - i0))
    index = np.clip(i0.astype(np.int64) + np.arange(-1, 3)[:, None], 0, n - 1)
    return index, weights


def cubic_weights(t):
    """Keys' cubic-convolution weights (w₋₁, w₀, w₁, w₂) of the taps i₀ − 1 … i₀ + 2 at
    the offset t = u − i₀ ∈ [0, 1) (see the module notes). Arithmetic only, so ``t`` may
    be an array (constant weights) or a Tensor (weights differentiable in t, as
    ``F.grid_sample``'s bicubic mode needs)."""
    a = _CUBIC_A
    return _c2(t + 1, a), _c1(t, a), _c1(1 - t, a), _c2(2 - t, a)


def _c1(x, a):
    """Keys' cubic on 0 ≤ x < 1: ((a + 2)x − (a + 3))x² + 1."""
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _c2(x, a):
    """Keys' cubic on 1 ≤ x < 2: ((ax − 5a)x + 8a)x − 4a."""
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _antialias_matrix(n, m, s, mode):
    """The (m, n) float64 matrix W of the antialiased resampling of a dim from n to m at
    the scale s (see the module notes): row j holds the filter at the offsets of all n
    inputs from the centre c_j, normalised to sum 1."""
    stretch = max(s, 1.0)                      # the filter widens only when downsampling
    center = s * (np.arange(m) + 0.5)[:, None]
    x = np.abs((np.arange(n) - center + 0.5) / stretch)
    if mode == "bilinear":
        w = np.maximum(1 - x, 0.0)
    elif mode == "lanczos":
        w = np.where(x < _LANCZOS_A, np.sinc(x) * np.sinc(x / _LANCZOS_A), 0.0)
    else:
        w = np.where(x < 1, _c1(x, _AA_CUBIC_A), np.where(x < 2, _c2(x, _AA_CUBIC_A), 0.0))
    total = w.sum(axis=1, keepdims=True)
    return w / np.where(total == 0, 1.0, total)   # an all-zero row stays zero, as PyTorch


@in_float32
@autocast_off  # (the antialias path's matrix products)
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    r"""Resize the spatial dims of ``input`` (N, C, d₁ [, d₂ [, d₃]]) to ``size`` or by
    ``scale_factor``; PyTorch's ``F.interpolate``.

    Parameters
    ----------
    size : int or tuple, the output spatial size (exactly one of size and scale_factor).
    scale_factor : float or tuple; the output size is ⌊d·scale_factor⌋.
    mode : ``"nearest"``, ``"nearest-exact"``, ``"linear"`` (3-D input), ``"bilinear"``,
        ``"bicubic"`` or ``"lanczos"`` (4-D; lanczos with ``antialias=True`` only, as in
        PyTorch), ``"trilinear"`` (5-D) or ``"area"`` (3-D to 5-D).
    align_corners : linear modes only (default False): map the corner pixels' centres
        onto each other instead of the image edges.
    recompute_scale_factor : True maps indices with the ratio of the sizes instead of
        ``1/scale_factor``.
    antialias : ``"bilinear"``, ``"bicubic"`` and ``"lanczos"`` only: widen the kernel by
        the downscaling factor so that every input pixel contributes (Pillow's resampling,
        PyTorch's ``antialias``; upsampling is the plain filter, with a = −½ for bicubic).
        Unlike PyTorch 2.13's CPU kernels, a dim that keeps its size under a scale_factor
        ≠ 1 gets the gradient of the copy the forward makes (PyTorch's backward applies
        the scale's weights), and with an output width of 1 the height is resampled
        (PyTorch repeats the first row).

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([[[1.0, 2.0, 4.0]]])
    >>> interpolate(x, scale_factor=2)
    tensor([[[1., 1., 2., 2., 4., 4.]]])
    >>> interpolate(x, size=5, mode="linear", align_corners=True)
    tensor([[[1. , 1.5, 2. , 3. , 4. ]]])
    >>> interpolate(mg.tensor([[[[0.0, 7.0, 14.0, 21.0]]]]), size=(1, 2), mode="bilinear",
    ...             antialias=True)
    tensor([[[[ 5., 16.]]]])
    """
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be one of {MODES}, got {mode!r}")
    k = input.ndim - 2
    if k not in (1, 2, 3):
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, spatial...), "
                         f"got shape {input.shape}")
    if mode in _DIMS and _DIMS[mode] != k:
        raise ValueError(f"interpolate: mode {mode!r} needs a {_DIMS[mode] + 2}-D input, "
                         f"got shape {input.shape}")
    if mode == "lanczos":  # PyTorch's rules: Pillow's filter, pixel centres, antialiased
        if align_corners:
            raise ValueError("interpolate: mode 'lanczos' does not take align_corners=True")
        if not antialias:
            raise ValueError("interpolate: mode 'lanczos' needs antialias=True (as PyTorch)")
        align_corners = None
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(f"interpolate: align_corners applies to the linear modes only, not "
                         f"{mode!r}")
    if antialias and mode not in _ANTIALIASED:
        raise ValueError(f"interpolate: antialias=True applies to modes 'bilinear', "
                         f"'bicubic' and 'lanczos' (4-D input) only, not {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial = input.shape[2:]
    if size is not None:
        out = tuple(int(s) for s in _per_dim(size, k, "size"))
        ratios = [n / m if m else 0.0 for n, m in zip(spatial, out)]
    else:
        scales = tuple(float(s) for s in _per_dim(scale_factor, k, "scale_factor"))
        if min(scales) <= 0:
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor}")
        out = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
        ratios = ([n / m if m else 0.0 for n, m in zip(spatial, out)]
                  if recompute_scale_factor else [1.0 / s for s in scales])
    if align_corners:  # PyTorch's area_pixel_compute_scale: corner pixels' centres aligned
        ratios = [(n - 1) / (m - 1) if m > 1 else 0.0 for n, m in zip(spatial, out)]
    if min(out) < 1 or min(spatial) < 1:
        raise ValueError(f"interpolate: input spatial size {spatial} and output size {out} "
                         "must be positive")
    if mode == "area":  # adaptive average pooling to the output size, as PyTorch
        pool = {1: adaptive_avg_pool1d, 2: adaptive_avg_pool2d, 3: adaptive_avg_pool3d}[k]
        return pool(input, out)
    y = input
    for d, (n, m, r) in enumerate(zip(spatial, out, ratios), start=2):
        if n == m:
            continue                                  # a dim that keeps its size is copied
        if antialias:                        # rows (d = 2), then columns (d = 3)
            w = creation.tensor(_antialias_matrix(n, m, r, mode), dtype=y.dtype,
                                device=y.device)
            y = w @ y if d == 2 else y @ w.mT
            continue
        lead = (slice(None),) * d
        if mode == "bicubic":
            index, weights = _cubic_taps(n, m, r, bool(align_corners))
            shape = (m,) + (1,) * (y.ndim - d - 1)
            taps = [y[lead + (index[k],)] * creation.tensor(
                        weights[k].reshape(shape), dtype=y.dtype, device=y.device)
                    for k in range(4)]
            y = taps[0] + taps[1] + taps[2] + taps[3]
            continue
        i0, i1, lam = _source_index(n, m, r, mode, bool(align_corners))
        if lam is None:
            y = y[lead + (i0,)]
            continue
        lam = creation.tensor(lam.reshape((m,) + (1,) * (y.ndim - d - 1)), dtype=y.dtype,
                              device=y.device)
        y = y[lead + (i0,)] * (1 - lam) + y[lead + (i1,)] * lam
    return y


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """:func:`interpolate` under its old name (PyTorch's ``F.upsample``, deprecated there
    in favour of ``F.interpolate``; minigrad keeps it without a warning)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate(input, size, scale_factor, mode="nearest")`` (PyTorch's
    ``F.upsample_nearest``, deprecated there; here without a warning)."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)``
    (PyTorch's ``F.upsample_bilinear``, deprecated there; here without a warning). Note
    the corners are aligned, unlike ``interpolate``'s default.

    Examples
    --------
    >>> import minigrad as mg
    >>> upsample_bilinear(mg.tensor([[[[0.0, 3.0]]]]), size=(1, 4))
    tensor([[[[0., 1., 2., 3.]]]])
    """
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


class Upsample(Module):
    """Resize by ``scale_factor`` or to ``size`` with :func:`interpolate` (PyTorch's
    ``nn.Upsample``).

    Examples
    --------
    >>> import minigrad as mg
    >>> up = Upsample(scale_factor=2, mode="bilinear")
    >>> up(mg.randn(1, 3, 4, 4)).shape
    (1, 3, 8, 8)
    >>> up
    Upsample(scale_factor=2.0, mode='bilinear')
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"Upsample: mode must be one of {MODES}, got {mode!r}")
        self.size, self.mode = size, mode
        self.scale_factor = (None if scale_factor is None else
                             tuple(float(s) for s in scale_factor)
                             if isinstance(scale_factor, (tuple, list)) else float(scale_factor))
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self):
        what = (f"scale_factor={self.scale_factor!r}" if self.size is None
                else f"size={self.size!r}")
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """:class:`Upsample` with ``mode="nearest"`` (PyTorch's ``nn.UpsamplingNearest2d``).

    Examples
    --------
    >>> import minigrad as mg
    >>> UpsamplingNearest2d(scale_factor=2)(mg.tensor([[[[1.0, 2.0]]]]))
    tensor([[[[1., 1., 2., 2.],
              [1., 1., 2., 2.]]]])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """:class:`Upsample` with ``mode="bilinear"`` and ``align_corners=True``, the corner
    pixels' centres mapped onto each other (PyTorch's ``nn.UpsamplingBilinear2d``; note
    ``Upsample(mode="bilinear")`` defaults to align_corners=False).

    Examples
    --------
    >>> import minigrad as mg
    >>> UpsamplingBilinear2d(size=(1, 3))(mg.tensor([[[[0.0, 4.0]]]]))
    tensor([[[[0., 2., 4.]]]])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
