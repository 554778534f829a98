"""Test helpers for people who write ops, layers and gradient-check exercises.

Hypothesis strategies (``pip install minigrad[test]``):

- ``shapes()``: array shapes, size-1 and (optionally) empty dims included;
- ``broadcastable_shapes()``: a tuple of shapes that broadcast together;
- ``tensors()``: float64 tensors that require grad, with values kept away from kinks;

and ``assert_close`` for comparing a Tensor with an array or another Tensor.

Examples
--------
>>> import minigrad as mg
>>> from hypothesis import given
>>> from minigrad.testing import tensors
>>> @given(tensors(max_dims=3))
... def test_tanh(x):
...     assert mg.gradcheck(lambda x: x.tanh(), (x,))
>>> test_tanh()
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._backend import to_device
from .tensor import Tensor

__all__ = ["shapes", "broadcastable_shapes", "tensors", "arrays", "assert_close"]


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Shapes with ``min_dims..max_dims`` dims of sizes ``min_side..max_side``
    (``min_side=0`` admits empty dims)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=5):
    """A tuple of ``num_shapes`` shapes that broadcast together (NumPy rules), with size-1
    dims and missing leading dims on some of them."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side,
    ).map(lambda r: r.input_shapes)


def _away_from(values, avoid, margin):
    """Push every element at least ``margin`` away from each point in ``avoid``."""
    for a in avoid:
        near = np.abs(values - a) < margin
        values = np.where(near, a + np.where(values >= a, margin, -margin), values)
    return values


@st.composite
def arrays(draw, shape=None, dtype=np.float64, min_value=-3.0, max_value=3.0, avoid=(),
           margin=1e-3, unique=False, **shape_kwargs):
    """A NumPy array of floats in [min_value, max_value].

    Parameters
    ----------
    shape : a shape, a strategy of shapes, or None (``shapes(**shape_kwargs)``).
    avoid : points where the function under test has a kink (0 for relu/abs, the clamp
        bounds...); values are kept ``margin`` away from them, so central differences
        with h = 1e-6 never straddle one.
    unique : make all values distinct (for max/min/sort, whose gradient is undefined
        at ties).
    """
    if shape is None:
        shape = draw(shapes(**shape_kwargs))
    elif not isinstance(shape, tuple):
        shape = draw(shape)
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False,
                         width=64)
    values = draw(hnp.arrays(np.float64, shape, elements=elements, unique=unique))
    values = _away_from(values, avoid, margin)
    if unique and values.size:
        # separate near-ties by more than the finite-difference step
        order = np.argsort(values, axis=None)
        ranks = np.empty(values.size)
        ranks[order] = np.arange(values.size)
        values = values + ranks.reshape(values.shape) * 1e-2
    return values.astype(dtype)


@st.composite
def tensors(draw, shape=None, dtype=np.float64, requires_grad=True, device="cpu",
            **array_kwargs):
    """A minigrad Tensor (float64 and requiring grad by default) from :func:`arrays`."""
    values = draw(arrays(shape=shape, dtype=dtype, **array_kwargs))
    return Tensor(values, device=device, requires_grad=requires_grad)


def assert_close(actual, expected, rtol=1e-7, atol=0.0, msg=""):
    """Assert that two tensors/arrays have equal shapes and values within
    |a − e| ≤ atol + rtol·|e|, with a message naming the worst element.

    Where it differs from ``torch.testing.assert_close``: the tolerances are fixed defaults
    (NumPy's ``assert_allclose``: rtol 1e-7, atol 0), not chosen by dtype; NaNs in the same
    places compare equal; dtypes and devices are not compared (the values are, in float64
    on the CPU)."""
    a = actual.data if isinstance(actual, Tensor) else actual
    e = expected.data if isinstance(expected, Tensor) else expected
    a = np.asarray(to_device(np.asarray(a) if np.isscalar(a) else a, "cpu"))
    e = np.asarray(to_device(np.asarray(e) if np.isscalar(e) else e, "cpu"))
    if a.shape != e.shape:
        raise AssertionError(f"{msg} shapes differ: {a.shape} vs {e.shape}".strip())
    if a.size == 0:
        return
    with np.errstate(invalid="ignore"):  # inf − inf: equal infinities pass below
        err = np.abs(a.astype(np.float64) - e.astype(np.float64))
    bound = atol + rtol * np.abs(e.astype(np.float64))
    bad = ~(err <= bound) & ~((a == e) | (np.isnan(a) & np.isnan(e)))
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, err - bound, -np.inf)), a.shape)
        raise AssertionError(
            f"{msg} {int(bad.sum())} of {a.size} elements differ; worst at index {i}: "
            f"actual {a[i]!r}, expected {e[i]!r} (rtol={rtol}, atol={atol})".strip()
        )
