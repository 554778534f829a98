"""Numerical calculus on sampled values (PyTorch's trapezoid, cumulative_trapezoid and
gradient), written as compositions of slices and arithmetic, so each is differentiable in
the samples (and in the coordinates, when they are tensors).

With samples f_0 … f_{n−1} at coordinates x_0 … x_{n−1} along one dim, h_i = x_{i+1} − x_i:

    trapezoid             Σ_i  h_i (f_i + f_{i+1}) / 2
    cumulative_trapezoid  the partial sums of those n − 1 terms
    gradient, interior    (h_{i−1}² f_{i+1} + (h_i² − h_{i−1}²) f_i − h_i² f_{i−1})
                          / (h_{i−1} h_i (h_{i−1} + h_i))        (second order; for equal
                          spacing h: (f_{i+1} − f_{i−1}) / 2h)
    gradient, edges       first order (f_1 − f_0)/h_0, or second order with edge_order=2,
                          from the parabola through the three samples at the edge
                          (NumPy's ``np.gradient`` formulas, which PyTorch follows).

Integer samples give results in the default floating dtype, as in PyTorch.
"""
from __future__ import annotations

import numbers

from .. import dtypes as _dt
from ..tensor import Tensor
from . import shape as _shape
from .elementwise import in_float32
from .shape import _dim

__all__ = ["trapezoid", "trapz", "cumulative_trapezoid", "gradient"]


def _floating(y):
    return y if _dt.is_floating(y.dtype) else y.to(dtype=_dt.get_default_dtype())


def _slice(y, dim, start, stop=None):
    return y[(slice(None),) * dim + (slice(start, stop),)]


def _spacing_along(x, y, dim, op):
    """The differences h_i of the coordinates ``x`` along ``dim``: a 1-d tensor of n
    coordinates is laid along ``dim``; otherwise ``x`` must broadcast with ``y``."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise ValueError(f"{op}: {x.shape[0]} coordinates for a dim of size "
                             f"{y.shape[dim]}")
        x = x.reshape((-1,) + (1,) * (y.ndim - dim - 1))
        return _slice(x, 0, 1) - _slice(x, 0, 0, -1)
    d = dim - y.ndim + x.ndim
    if d < 0 or x.shape[d] != y.shape[dim]:
        raise ValueError(f"{op}: coordinates of shape {x.shape} do not match samples of "
                         f"shape {y.shape} along dim {dim}")
    return _slice(x, d, 1) - _slice(x, d, 0, -1)


def _terms(y, x, dx, dim, op):
    if not isinstance(y, Tensor):
        raise TypeError(f"{op}: expected a tensor of samples, got {type(y).__name__}")
    if x is not None and dx is not None:
        raise ValueError(f"{op}: pass the coordinates x or the spacing dx, not both")
    if y.ndim == 0:
        raise ValueError(f"{op}: expects samples with at least 1 dim, got a 0-d tensor")
    y = _floating(y)
    dim = _dim(dim, y.ndim, op)
    mean = (_slice(y, dim, 1) + _slice(y, dim, 0, -1)) * 0.5
    if x is None:
        return mean * (1.0 if dx is None else dx), dim
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: x must be a tensor of coordinates (use dx= for a spacing)")
    return mean * _spacing_along(_floating(x), y, dim, op), dim


@in_float32
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """∫ y along ``dim`` by the trapezoidal rule, at coordinates ``x`` (a tensor) or with
    the constant spacing ``dx`` (default 1). A dim with fewer than two samples gives 0.

    >>> import minigrad as mg
    >>> mg.trapezoid(mg.tensor([1.0, 2.0, 3.0])).item()
    4.0
    >>> mg.trapezoid(mg.tensor([1.0, 2.0, 3.0]), mg.tensor([0.0, 1.0, 3.0])).item()
    6.5
    """
    terms, dim = _terms(y, x, dx, dim, "trapezoid")
    return terms.sum(dim)


def trapz(y, x=None, *, dx=None, dim=-1):
    """An alias of :func:`trapezoid` (PyTorch keeps both names)."""
    return trapezoid(y, x, dx=dx, dim=dim)


@in_float32
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral along ``dim``: n − 1 values for n samples.

    >>> import minigrad as mg
    >>> mg.cumulative_trapezoid(mg.tensor([1.0, 2.0, 3.0])).tolist()
    [1.5, 4.0]
    """
    terms, dim = _terms(y, x, dx, dim, "cumulative_trapezoid")
    return terms.cumsum(dim)


def _dims_and_spacings(f, spacing, dim):
    if dim is None:
        dims = list(range(f.ndim))
    elif isinstance(dim, numbers.Integral):
        dims = [dim]
    else:
        dims = list(dim)
    dims = [_dim(d, f.ndim, "gradient") for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"gradient: dim {dim} repeats a dimension")
    if isinstance(spacing, numbers.Number) or (isinstance(spacing, Tensor)
                                                and spacing.ndim == 0):
        return dims, [spacing] * len(dims)
    if isinstance(spacing, Tensor):
        raise TypeError("gradient: pass coordinates as a list of 1-d tensors, one per dim")
    spacings = list(spacing)
    if len(spacings) != len(dims):
        raise RuntimeError(f"gradient: expected spacing to be a number or a list of "
                           f"{len(dims)} entries (one per dim), got {len(spacings)}")
    return dims, spacings


def _one_dim_gradient(f, d, s, edge_order):
    n = f.shape[d]
    if n < edge_order + 1:
        raise RuntimeError(f"gradient: each dimension needs at least edge_order + 1 = "
                           f"{edge_order + 1} samples; dim {d} has {n}")
    sl = lambda a, b=None: _slice(f, d, a, b)  # noqa: E731
    uniform = not (isinstance(s, Tensor) and s.ndim == 1)
    if uniform:
        h = float(s.item()) if isinstance(s, Tensor) else float(s)
        interior = (sl(2) - sl(0, -2)) * (1.0 / (2 * h))
        if edge_order == 1:
            first = (sl(1, 2) - sl(0, 1)) * (1.0 / h)
            last = (sl(-1) - sl(-2, -1)) * (1.0 / h)
        else:
            first = (sl(0, 1) * -1.5 + sl(1, 2) * 2.0 - sl(2, 3) * 0.5) * (1.0 / h)
            last = (sl(-3, -2) * 0.5 - sl(-2, -1) * 2.0 + sl(-1) * 1.5) * (1.0 / h)
    else:
        if s.shape[0] != n:
            raise RuntimeError(f"gradient: {s.shape[0]} coordinates for dim {d} of size {n}")
        x = _floating(s).reshape((-1,) + (1,) * (f.ndim - d - 1))
        h = _slice(x, 0, 1) - _slice(x, 0, 0, -1)  # h_i, n − 1 of them
        h1, h2 = _slice(h, 0, 0, -1), _slice(h, 0, 1)  # h_{i−1}, h_i at interior points
        interior = (sl(2) * (h1 * h1) + sl(1, -1) * (h2 * h2 - h1 * h1)
                    - sl(0, -2) * (h2 * h2)) / (h1 * h2 * (h1 + h2))
        if edge_order == 1:
            first = (sl(1, 2) - sl(0, 1)) / _slice(h, 0, 0, 1)
            last = (sl(-1) - sl(-2, -1)) / _slice(h, 0, -1)
        else:
            a, b = _slice(h, 0, 0, 1), _slice(h, 0, 1, 2)
            first = (sl(0, 1) * (-(2 * a + b) / (a * (a + b))) + sl(1, 2) * ((a + b) / (a * b))
                     - sl(2, 3) * (a / (b * (a + b))))
            a, b = _slice(h, 0, -2, -1), _slice(h, 0, -1)
            last = (sl(-3, -2) * (b / (a * (a + b))) - sl(-2, -1) * ((a + b) / (a * b))
                    + sl(-1) * ((2 * b + a) / (b * (a + b))))
    if n == 2:  # no interior point
        return _shape.cat([first, last], d)
    return _shape.cat([first, interior, last], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """∂input/∂x_d estimated by central differences, one tensor per dim in ``dim``
    (default: every dim), returned as a tuple. ``spacing``: a number (the same step for
    every dim), a list of numbers (one per dim), or a list of 1-d coordinate tensors (one
    per dim); ``edge_order`` 1 or 2 sets the accuracy at the two ends.

    >>> import minigrad as mg
    >>> mg.gradient(mg.tensor([1.0, 4.0, 9.0, 16.0]))[0].tolist()
    [3.0, 4.0, 6.0, 7.0]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"gradient: expected a tensor, got {type(input).__name__}")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    if input.ndim == 0:
        if dim is None or (not isinstance(dim, numbers.Integral) and not len(dim)):
            return ()   # no dims, no partial derivatives (as PyTorch)
        raise IndexError(f"gradient: dim {dim} given for a 0-d tensor, which has no "
                         "dimensions")
    f = _floating(input)
    dims, spacings = _dims_and_spacings(f, spacing, dim)
    return tuple(_one_dim_gradient(f, d, s, edge_order) for d, s in zip(dims, spacings))
