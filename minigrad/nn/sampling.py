r"""Sampling an image at arbitrary points: ``F.affine_grid`` and ``F.grid_sample``
(PyTorch's), the grid generator and the sampler of a spatial transformer (Jaderberg et
al. 2015).

**Grids.** A grid holds, for each output position, the point to read, in normalized
coordinates: −1 is the left (top, front) edge of the input and +1 the right (bottom,
back) one. Its last dim lists (x, y) or (x, y, z), x along the *last* input dim (W),
y along H, z along D. For an input dim of size n, a normalized g is the pixel
coordinate

==============================  ======================================================
``align_corners=True``          u = (g + 1)/2 · (n − 1)     (±1: the corner pixels' centres)
``align_corners=False``         u = ((g + 1)·n − 1)/2       (±1: the image edges)
==============================  ======================================================

and ``affine_grid`` produces g = θ·(x, y, 1)ᵀ for the base points x, y spaced evenly in
[−1, 1] (the pixel centres of the *output* under the same convention: linspace(−1, 1, n),
times (n − 1)/n without aligned corners; 0 where n = 1).

**Padding** (``padding_mode``), applied to u, PyTorch's exact rules:

* ``"zeros"``: taps outside [0, n − 1] read 0.
* ``"border"``: u ← clip(u) = min(n − 1, max(u, 0)) (gradient 1 strictly inside, else 0).
* ``"reflection"``: u ← clip(reflect(u)), reflecting about the edges lo = −½, hi = n − ½
  (not aligned) or the corner centres lo = 0, hi = n − 1 (aligned), with span = hi − lo:
  d = |u − lo|, f = ⌊d/span⌋, e = d − f·span; reflect(u) = lo + e for even f, and
  lo + span − e for odd f (its gradient is ±1). With n = 1 and aligned corners, 0.

Coordinates that are not finite follow PyTorch's kernels: the clip sends ±inf to the
edges and NaN to 0 (reflection turns either into NaN first); a coordinate still not
finite, or past the int32 range, becomes −100, outside (``safe_downgrade_to_int_range``),
so under ``"zeros"`` it reads 0 (PyTorch's CUDA kernel; its vectorized CPU kernel gives
NaN for bilinear there). Bicubic weights of a non-finite point are NaN, as in PyTorch.

**Modes** (``mode``), for the padded coordinates u of one point:

* ``"nearest"``: y = x[rint(u)] (round half to even, as PyTorch).
* ``"bilinear"`` (trilinear for 5-D input): i₀ = ⌊u⌋ per dim, weights i₀ + 1 − u for the
  tap i₀ and u − i₀ for i₀ + 1, multiplied across dims: y = Σ_corners w·x[corner].
* ``"bicubic"`` (4-D only): the 4 × 4 taps ⌊u⌋ − 1 … ⌊u⌋ + 2 of the *unpadded* u, each tap's
  integer coordinate padded on its own, with Keys' cubic-convolution weights of
  t = u − ⌊u⌋ along each dim (the ones of :func:`~minigrad.nn.upsampling.interpolate`).

**Gradients.** Every mode is one gather y = Σ_k w_k·x[i_k] (integer-array indexing,
whose gradient is a scatter-add, whose gradient is the gather again) with constant tap
indices i_k and weights w_k written in tensor ops of the grid: g_x is the scatter-add of
w·g_y, and g_grid follows from the weights (the derivative of the tap choice itself is 0,
almost everywhere). So the function differentiates to any order, in the input and the
grid (PyTorch has no double backward for ``grid_sample``). In nearest mode the grid gets
a zero gradient, as in PyTorch. The gradient is discontinuous where u crosses an integer
(the taps change) and, with padding, at the clip and reflection points.

References
----------
M. Jaderberg, K. Simonyan, A. Zisserman, K. Kavukcuoglu, "Spatial Transformer Networks",
NeurIPS 2015. R. Keys, "Cubic convolution interpolation for digital image processing",
IEEE Trans. ASSP 29(6), 1981.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..dtypes import is_floating
from ..ops.elementwise import const, where
from ..ops.shape import stack
from ..tensor import Tensor
from .upsampling import cubic_weights

__all__ = ["affine_grid", "grid_sample"]

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
_OUTSIDE = -100.0                     # PyTorch's stand-in for an unusable coordinate
_INT_MAX, _INT_MIN = 2**31 - 1, -2**31


# --------------------------------------------------------------------------- affine_grid


def _base_coords(n, align_corners):
    """The n normalized coordinates of an output dim (PyTorch's linspace_from_neg_one)."""
    if n <= 1:
        return np.zeros(n)
    r = np.linspace(-1.0, 1.0, n)
    return r if align_corners else r * (n - 1) / n


def affine_grid(theta, size, align_corners=None):
    r"""The sampling grid of a batch of affine maps (PyTorch's ``F.affine_grid``).

    For 2-D, theta (N, 2, 3) and size (N, C, H, W): grid[n, h, w] = θₙ·(x_w, y_h, 1)ᵀ,
    shape (N, H, W, 2). For 3-D, theta (N, 3, 4) and size (N, C, D, H, W):
    grid[n, d, h, w] = θₙ·(x_w, y_h, z_d, 1)ᵀ, shape (N, D, H, W, 3). The base points are
    the output's pixel centres in normalized coordinates (see the module notes); the
    identity θ = [I | 0] reproduces the input through :func:`grid_sample` with the same
    ``align_corners``.

    The grid is the product of a constant base (H·W, 3) with θᵀ, so it is linear in θ:
    g_θₙ = g_gridₙᵀ·base.

    Parameters
    ----------
    theta : (N, 2, 3) or (N, 3, 4) floating-point tensor.
    size : the output size (N, C, H, W) or (N, C, D, H, W); C is not used.
    align_corners : bool (None means False, PyTorch's default, without its warning).

    Examples
    --------
    >>> import minigrad as mg
    >>> theta = mg.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> affine_grid(theta, (1, 1, 2, 2), align_corners=True)[0, :, :, 0]    # x
    tensor([[-1.,  1.],
            [-1.,  1.]])
    >>> affine_grid(theta, (1, 1, 2, 2), align_corners=False)[0, 0]        # row y = −½
    tensor([[-0.5, -0.5],
            [ 0.5, -0.5]])
    """
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid: theta must be a Tensor, got {type(theta).__name__}")
    if not is_floating(theta.dtype):
        raise TypeError(f"affine_grid: expected theta of a floating-point dtype, got "
                        f"{theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise ValueError(f"affine_grid: size must be (N, C, H, W) for 2-D or (N, C, D, H, W) "
                         f"for 3-D affine maps, got {size}")
    k = len(size) - 2
    if theta.shape != (size[0], k, k + 1):
        raise ValueError(f"affine_grid: expected a batch of {k}-D affine matrices of shape "
                         f"({size[0]}, {k}, {k + 1}) for size {size}, got theta of shape "
                         f"{theta.shape}")
    if min(size) <= 0:
        raise ValueError(f"affine_grid: expected a positive output size, got {size}")
    spatial = size[2:]
    # base[..., :k] = (x, y[, z]) of each output point, base[..., k] = 1
    axes = [_base_coords(n, bool(align_corners)) for n in spatial]   # (D,) H, W order
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack(list(mesh[::-1]) + [np.ones(spatial)], axis=-1).reshape(-1, k + 1)
    base = const(theta.xp.asarray(base, dtype=theta.dtype))
    grid = base @ theta.transpose(1, 2)                               # (N, P, k)
    return grid.reshape((size[0],) + spatial + (k,))


# --------------------------------------------------------------------------- coordinates


def _unnormalize(g, n, align_corners):
    """The pixel coordinate u of the normalized coordinate g along a dim of size n."""
    if align_corners:
        return (g + 1) / 2 * (n - 1)
    return ((g + 1) * n - 1) / 2


def _clip(u, n):
    """min(n − 1, max(u, 0)), NaN → 0 (fmax's rule, as PyTorch's kernels); gradient 1
    strictly inside (0, n − 1), 0 elsewhere, the bounds included (PyTorch's
    clip_coordinates_set_grad)."""
    v = u.data
    return where(~(v > 0), 0.0, where(v >= n - 1, float(n - 1), u))


def _reflect(u, twice_low, twice_high):
    """Fold u into [lo, hi] = [twice_low/2, twice_high/2] by reflecting at the ends
    (PyTorch's reflect_coordinates; the module notes have the formula)."""
    if twice_low == twice_high:
        return 0 * u                                                 # 0, gradient 0
    xp = u.xp
    lo, span = twice_low / 2, (twice_high - twice_low) / 2
    d = u - lo
    sign = xp.where(d.data < 0, -1.0, 1.0).astype(u.dtype)            # +1 at u = lo
    a = d * const(sign)                                              # |u − lo|
    flips = xp.floor(a.data / span)
    extra = a - const(flips * span)                                  # fmod(|u − lo|, span)
    return where(flips % 2 == 0, extra + lo, span - extra + lo)


def _pad_coordinates(u, n, padding_mode, align_corners):
    """PyTorch's compute_coordinates: u after the padding rule, with unusable values
    (not finite, or past the int32 range) replaced by −100."""
    xp = u.xp
    if padding_mode == "reflection":
        finite = xp.isfinite(u.data)
        u = where(finite, u, 0.0)                    # (no inf − inf inside _reflect)
        u = _reflect(u, 0, 2 * (n - 1)) if align_corners else _reflect(u, -1, 2 * n - 1)
        u = where(finite, u, 0.0)    # PyTorch: reflect(±inf or NaN) = NaN, clipped to 0
    if padding_mode != "zeros":
        u = _clip(u, n)                              # ±inf → the edges, NaN → 0
    v = u.data
    usable = xp.isfinite(v) & (v <= _INT_MAX - 1) & (v >= _INT_MIN)
    return u if bool(usable.all()) else where(usable, u, _OUTSIDE)


# --------------------------------------------------------------------------- taps


def _nearest_taps(coords, sizes, padding_mode, align_corners):
    """One tap: rint(u) per dim, weight 1 (written as r − stop_grad(r) + 1 with
    r = Σ rint(u): its value is 1 and its derivative rint' = 0, so the grid stays in the
    graph and gets PyTorch's zero gradient)."""
    us = [_pad_coordinates(_unnormalize(g, n, align_corners), n, padding_mode, align_corners)
          for g, n in zip(coords, sizes)]
    index = [u.xp.rint(u.data) for u in us]
    r = us[0].round()
    for u in us[1:]:
        r = r + u.round()
    return [(index, r - r.detach() + 1)]


def _linear_taps(coords, sizes, padding_mode, align_corners):
    """The 2ᵏ corners of the cell around u, weights Π (i₀ + 1 − u) or (u − i₀)."""
    us = [_pad_coordinates(_unnormalize(g, n, align_corners), n, padding_mode, align_corners)
          for g, n in zip(coords, sizes)]
    lows = [u.xp.floor(u.data) for u in us]
    # per dim: (index, weight) of the lower and of the upper neighbour
    sides = [((i0, (i0 + 1) - u), (i0 + 1, u - i0)) for u, i0 in zip(us, lows)]
    taps = []
    for corner in itertools.product(*sides):                          # x varies slowest
        index = [i for i, _ in corner]
        weight = corner[0][1]
        for _, w in corner[1:]:
            weight = weight * w
        taps.append((index, weight))
    return taps


def _cubic_taps(coords, sizes, padding_mode, align_corners):
    """The 4 × 4 taps ⌊u⌋ − 1 … ⌊u⌋ + 2 (each integer coordinate padded on its own) with
    Keys' weights of t = u − ⌊u⌋ along x and along y (2-D only)."""
    per_dim = []
    for g, n in zip(coords, sizes):
        u = _unnormalize(g, n, align_corners)
        i0 = u.xp.floor(u.data)
        weights = cubic_weights(u - i0)
        index = [_pad_coordinates(const(i0 + (j - 1)), n, padding_mode, align_corners).data
                 for j in range(4)]
        per_dim.append(list(zip(index, weights)))
    (x_taps, y_taps) = per_dim
    return [([ix, iy], wy * wx) for iy, wy in y_taps for ix, wx in x_taps]


_TAPS = {"nearest": _nearest_taps, "bilinear": _linear_taps, "bicubic": _cubic_taps}


def _gather(input, taps, sizes, out_spatial):
    """y[n, c, p] = Σ_k w_k[n, p] · x[n, c, i_k[n, p]] (0 where i_k is outside).

    ``taps``: (index, weight) pairs, the index a list of float arrays (N, P), one per grid
    component (x, y[, z]); ``sizes`` the input's spatial sizes in grid order (W, H[, D])."""
    N, C = input.shape[:2]
    xp = input.xp
    S = math.prod(sizes)
    flat, inside, weights = [], [], []
    strides = [int(s) for s in np.cumprod((1,) + sizes[:-1])]      # 1, W[, W·H]
    for index, weight in taps:
        ok = xp.ones(index[0].shape, dtype=bool)
        for i, n in zip(index, sizes):
            ok &= (i >= 0) & (i <= n - 1)
        # the flat position w + W·h [+ W·H·d] of the tap (0, a dummy, where outside)
        flat.append(sum(xp.where(ok, i, 0).astype(np.int64) * s
                        for i, s in zip(index, strides)))
        inside.append(ok)
        weights.append(weight)
    rows = xp.arange(N)[:, None, None] * S + xp.stack(flat, axis=1)   # (N, K, P)
    x = input.reshape(N, C, S).permute(0, 2, 1).reshape(N * S, C)     # one row per pixel
    values = x[rows]                                                  # (N, K, P, C)
    w = const(xp.stack(inside, axis=1).astype(input.dtype))           # outside: weight 0
    w = stack(weights, dim=1) * w
    y = (values * w.unsqueeze(-1)).sum(1)                             # (N, P, C)
    return y.permute(0, 2, 1).reshape((N, C) + out_spatial)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    r"""Sample ``input`` at the points of ``grid`` (PyTorch's ``F.grid_sample``).

    y[n, c, h, w] = x[n, c] read at the point grid[n, h, w] = (x, y) (normalized
    coordinates, −1 … 1, see the module notes), interpolated by ``mode``, outside points
    handled by ``padding_mode``. For 5-D input, grid[n, d, h, w] = (x, y, z).

    Parameters
    ----------
    input : (N, C, H_in, W_in) or (N, C, D_in, H_in, W_in), floating point.
    grid : (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3), input's dtype and device.
    mode : ``"bilinear"`` (trilinear for 5-D), ``"nearest"`` or ``"bicubic"`` (4-D only).
    padding_mode : ``"zeros"``, ``"border"`` or ``"reflection"``.
    align_corners : bool; True puts ±1 on the corner pixels' centres, False (the default,
        None, without PyTorch's warning) on the image edges.

    Returns
    -------
    (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out). Differentiable in ``input`` and,
    for bilinear and bicubic, in ``grid`` (nearest gives the grid a zero gradient), to any
    order.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([[[[0.0, 10.0], [20.0, 30.0]]]])
    >>> grid = mg.tensor([[[[0.0, 0.0], [0.5, -1.0]]]])          # the centre; (¾ right, top)
    >>> grid_sample(x, grid, align_corners=True)
    tensor([[[[15. ,  7.5]]]])
    >>> grid_sample(x, grid, mode="nearest", align_corners=True)  # rint(0.5) = 0, rint(.75) = 1
    tensor([[[[ 0., 10.]]]])
    """
    name = "grid_sample"
    if mode not in MODES:
        raise ValueError(f"{name}: mode must be one of {MODES}, got {mode!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got "
                         f"{padding_mode!r}")
    for what, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
        if not is_floating(t.dtype):
            raise TypeError(f"{name}: {what} must be floating point, got {t.dtype}")
    if input.dtype != grid.dtype:
        raise TypeError(f"{name}: input and grid must have the same dtype, got {input.dtype} "
                        f"and {grid.dtype}")
    if input.device != grid.device:
        raise RuntimeError(f"{name}: input is on {input.device} but grid is on {grid.device}")
    if input.ndim not in (4, 5):
        raise ValueError(f"{name}: expected 4-D (N, C, H, W) or 5-D (N, C, D, H, W) input, "
                         f"got shape {input.shape}")
    k = input.ndim - 2
    if grid.ndim != input.ndim or grid.shape[-1] != k or grid.shape[0] != input.shape[0]:
        raise ValueError(f"{name}: grid must have shape (N, *spatial_out, {k}) with N = "
                         f"{input.shape[0]} for input of shape {input.shape}, got grid of "
                         f"shape {grid.shape}")
    if min(input.shape[2:]) < 1:
        raise ValueError(f"{name}: expected non-empty spatial dims, got input of shape "
                         f"{input.shape}")
    if mode == "bicubic" and k != 2:
        raise ValueError(f"{name}: bicubic interpolation only supports 4-D input, got shape "
                         f"{input.shape}")
    N, out_spatial = input.shape[0], grid.shape[1:-1]
    g = grid.reshape(N, math.prod(out_spatial), k)
    coords = [g[:, :, i] for i in range(k)]           # x, y[, z]
    sizes = input.shape[2:][::-1]                     # W, H[, D]: the same order
    taps = _TAPS[mode](coords, sizes, padding_mode, bool(align_corners))
    return _gather(input, taps, sizes, out_spatial)
