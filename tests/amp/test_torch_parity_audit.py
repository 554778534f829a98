"""Regression tests from a PyTorch-parity audit of minigrad.amp.

``torch.autocast``'s positional order is ``(device_type, dtype, enabled, cache_enabled)``;
minigrad's own is ``(dtype, enabled)``. A device string first switches to PyTorch's order,
so ``autocast("cuda", mg.bfloat16)`` means what it means in PyTorch (it used to raise
"enabled must be a bool"). The hand-derived tests run without PyTorch; the oracle test
fetches it inside the test.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad.amp import autocast, autocast_dtype

needs_bf16 = pytest.mark.skipif(mg.bfloat16 is None, reason="bfloat16 needs ml_dtypes")


def test_device_string_first_reads_the_rest_in_pytorch_order():
    a = autocast("cuda", mg.float16)
    assert (a.device_type, a.fast_dtype, a.enabled) == ("cuda", mg.float16, True)
    a = autocast("cpu", mg.float16, False)
    assert (a.device_type, a.fast_dtype, a.enabled) == ("cpu", mg.float16, False)
    a = autocast("cuda", None, False, True)  # cache_enabled, accepted and ignored
    assert (a.fast_dtype, a.enabled) == (mg.float16, False)
    a = autocast("cuda", enabled=False)
    assert (a.fast_dtype, a.enabled) == (mg.float16, False)


def test_minigrad_positional_order_is_unchanged():
    a = autocast(mg.float16, False)
    assert (a.device_type, a.fast_dtype, a.enabled) == (None, mg.float16, False)
    with pytest.raises(TypeError, match="enabled must be a bool"):
        autocast(mg.float16, "yes")
    with pytest.raises(TypeError, match="too many positional arguments"):
        autocast(mg.float16, True, True)


@needs_bf16
def test_pytorch_order_region_casts_matmul_to_its_dtype():
    x = mg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with autocast("cuda", mg.bfloat16):
        assert autocast_dtype() == mg.bfloat16
        y = x @ x.T
    assert y.dtype == mg.bfloat16
    y.float().sum().backward()
    assert x.grad.dtype == mg.float32
    with autocast("cpu", mg.float16, False):
        assert autocast_dtype() is None


@needs_bf16
def test_pytorch_oracle_accepts_the_same_positional_calls():
    torch = pytest.importorskip("torch")
    for ours, theirs in (((mg.bfloat16,), (torch.bfloat16,)),
                         ((mg.float16, False), (torch.float16, False))):
        t = torch.autocast("cpu", *theirs)
        m = autocast("cpu", *ours)
        assert str(t.fast_dtype).removeprefix("torch.") == str(m.fast_dtype)
        assert t._enabled == m.enabled
