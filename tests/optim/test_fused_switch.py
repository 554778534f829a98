"""``fused=True`` (one fused kernel per parameter group) gives the same trajectory as
the per-tensor step; on NumPy the two are equal to the last bit."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import optim

CASES = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.01)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.AdaBelief, dict(lr=0.01)),
    (optim.Lion, dict(lr=0.001, weight_decay=0.1)),
]


def _trajectory(cls, kwargs, fused, device, steps=5):
    rng = np.random.default_rng(0)
    params = [mg.tensor(rng.standard_normal(s), device=device, requires_grad=True)
              for s in [(3, 4), (4,), (2, 2, 2)]]
    opt = cls(params, fused=fused, **kwargs)
    for _ in range(steps):
        for p in params:
            p.grad = mg.tensor(rng.standard_normal(p.shape), device=device)
        opt.step()
    return [p.cpu().numpy().copy() for p in params]


@pytest.mark.parametrize("cls, kwargs", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_fused_equals_per_tensor_step(cls, kwargs, device):
    fused = _trajectory(cls, kwargs, True, device)
    plain = _trajectory(cls, kwargs, False, device)
    for a, b in zip(fused, plain):
        if device == "cpu":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fused_is_off_by_default():
    assert not optim.Adam([mg.zeros(1, requires_grad=True)]).fused


@pytest.mark.parametrize("cls, kwargs", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_fused_zero_grad_keeps_gradients_in_the_flat_buffer(cls, kwargs, device,
                                                             monkeypatch):
    """``zero_grad(set_to_none=False)`` of a fused optimizer zeroes the flat gradient
    buffer (one launch) and keeps every gradient a view of it; a parameter that had no
    gradient keeps none and is not moved (PyTorch: momentum/decay would move it)."""
    rng = np.random.default_rng(1)
    params = [mg.tensor(rng.standard_normal(s), device=device, requires_grad=True)
              for s in [(3, 4), (4,), (2, 2)]]
    ref = [mg.tensor(p.cpu().numpy().copy(), device=device, requires_grad=True)
           for p in params]
    opt, ref_opt = cls(params, fused=True, **kwargs), cls(ref, fused=False, **kwargs)
    frozen = params[2].cpu().numpy().copy()
    from minigrad.optim import fused

    calls = []
    flat_zero_grad = fused.FlatParams.zero_grad
    monkeypatch.setattr(fused.FlatParams, "zero_grad",
                        lambda self: calls.append(1) or flat_zero_grad(self))
    for _ in range(3):
        opt.zero_grad(set_to_none=False)
        ref_opt.zero_grad(set_to_none=False)
        assert params[2].grad is None and ref[2].grad is None
        for p, q in zip(params[:2], ref[:2]):
            g = rng.standard_normal(p.shape)
            if p.grad is None:
                p.grad = mg.tensor(g, device=device)
            else:
                assert not p.grad.data.any()  # zeroed in place
                p.grad.data += p.xp.asarray(g)  # as backward accumulates
            q.grad = mg.tensor(g, device=device)
        opt.step()
        ref_opt.step()
        flat = opt._fused_flat[0]
        assert all(p.grad.data.base is flat.grad for p in params[:2])
    assert len(calls) == 2  # one flat zeroing per step after the first (packing) step
    np.testing.assert_array_equal(params[2].cpu().numpy(), frozen)
    for p, q in zip(params, ref):
        np.testing.assert_allclose(p.cpu().numpy(), q.cpu().numpy(), rtol=1e-6, atol=1e-7)
