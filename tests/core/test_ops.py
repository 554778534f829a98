"""Every op: forward against NumPy, gradcheck (float64, random cotangent) and, for ops
whose second derivative is used, gradgradcheck — on inputs drawn by hypothesis, on every
device."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd.function import Function
from minigrad.testing import assert_close

from .op_specs import SPECS


def _tensors(arrays, device):
    return tuple(mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True)
                 for a in arrays)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_forward_matches_numpy(spec, data, device):
    arrays, params = spec.draw(data)
    out = spec.fn(*_tensors(arrays, device), **params)
    assert_close(out, np.asarray(spec.ref(*arrays, **params)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_gradcheck(spec, data, device):
    arrays, params = spec.draw(data)
    xs = _tensors(arrays, device)
    assert mg.gradcheck(lambda *xs: spec.fn(*xs, **params), xs)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.gradgrad], ids=lambda s: s.name)
@settings(max_examples=8)
@given(data=st.data())
def test_gradgradcheck(spec, data, device):
    arrays, params = spec.draw(data)
    xs = _tensors(arrays, device)
    assert mg.gradgradcheck(lambda *xs: spec.fn(*xs, **params), xs)


def _graph_function_types(y):
    seen, stack, types = set(), [y.creator], set()
    while stack:
        f = stack.pop()
        if f is None or f in seen:
            continue
        seen.add(f)
        types.add(type(f))
        stack.extend(x.creator for x in f.inputs)
    return types


def _all_subclasses(cls):
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _all_subclasses(sub)
    return out


def test_every_registered_op_is_covered():
    """Coverage: every Function subclass in minigrad.ops appears in the specs' graphs
    (or in a dedicated test listed here)."""
    import minigrad.ops.activation  # noqa: F401  (make sure every op module is loaded)
    import minigrad.ops.elementwise  # noqa: F401
    import minigrad.ops.fused  # noqa: F401
    import minigrad.ops.linalg  # noqa: F401
    import minigrad.ops.reduction  # noqa: F401
    import minigrad.ops.shape  # noqa: F401
    covered = set()

    def collector(spec):
        @settings(max_examples=10, database=None)
        @given(data=st.data())
        def collect(data):
            arrays, params = spec.draw(data)
            y = spec.fn(*_tensors(arrays, "cpu"), **params)
            covered.update(_graph_function_types(y))
        return collect

    for spec in SPECS:
        collector(spec)()
    # Ops reached in backward only, or tested on their own (test_autograd.py; SylvesterSym,
    # matrix_sqrth's and polar's backward, by their gradgradchecks):
    dedicated = {"IndexAdd", "Cast", "ToDevice", "SylvesterSym"}
    ops = {c for c in _all_subclasses(Function)
           if c.__module__.startswith("minigrad.ops") and not c.__name__.startswith("_")}
    missing = sorted(c.__name__ for c in ops - covered if c.__name__ not in dedicated)
    assert not missing, f"ops with no gradient test: {missing}"
