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
                        lambda self, *a: calls.append(1) or flat_zero_grad(self, *a))
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


def _loss(params, x):
    """A loss that reaches W and b (W also through a basic slice, as a recurrent layer's
    time steps do), not the third parameter."""
    W, b, _ = params
    return (x @ W + b).tanh().sum() + (W[1] * 2.0).sum()


@pytest.mark.parametrize("cls, kwargs", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_fused_zero_grad_set_to_none_hands_the_flat_buffer_to_backward(cls, kwargs, device):
    """``zero_grad()`` (set_to_none=True, the default) of a fused optimizer: every
    ``p.grad`` is None, and the next backward writes each gradient into the group's fresh
    flat gradient buffer (its views were set aside as slots), so the step copies nothing
    in. The trajectory equals the per-tensor optimizer's; a parameter the backward does
    not reach keeps None and does not move; a gradient held from an earlier step keeps
    its values (a fresh buffer each time, as PyTorch's set_to_none leaves old tensors
    alone)."""
    rng = np.random.default_rng(2)
    shapes = [(3, 4), (4,), (2, 2)]
    params = [mg.tensor(rng.standard_normal(s), device=device, requires_grad=True)
              for s in shapes]
    ref = [mg.tensor(p.cpu().numpy().copy(), device=device, requires_grad=True)
           for p in params]
    opt, ref_opt = cls(params, fused=True, **kwargs), cls(ref, fused=False, **kwargs)
    frozen = params[2].cpu().numpy().copy()
    held = []
    for step in range(4):
        opt.zero_grad()
        ref_opt.zero_grad()
        assert all(p.grad is None for p in params)
        x = mg.tensor(rng.standard_normal((5, 3)), device=device)
        _loss(params, x).backward()
        _loss(ref, x).backward()
        assert params[2].grad is None
        if step:  # packed by the first step: the gradients are views of its buffer
            flat = opt._fused_flat[0]
            assert all(p.grad.data.base is flat.grad for p in params[:2])
        for p, q in zip(params[:2], ref[:2]):
            np.testing.assert_array_equal(p.grad.cpu().numpy(), q.grad.cpu().numpy())
        for g, values in held:
            np.testing.assert_array_equal(g.cpu().numpy(), values)
        held.append((params[0].grad, params[0].grad.cpu().numpy().copy()))
        opt.step()
        ref_opt.step()
    np.testing.assert_array_equal(params[2].cpu().numpy(), frozen)
    for p, q in zip(params, ref):
        np.testing.assert_allclose(p.cpu().numpy(), q.cpu().numpy(), rtol=1e-6, atol=1e-7)


def test_a_slot_written_by_the_step_is_not_reused(device):
    """A gradient assigned by hand after ``zero_grad()`` is copied into the flat buffer by
    the step (over the slot); set to None again, the next backward must not add into it:
    the gradient is the backward's alone."""
    rng = np.random.default_rng(3)
    params = [mg.tensor(rng.standard_normal(s), device=device, requires_grad=True)
              for s in [(3, 4), (4,), (2, 2)]]
    opt = optim.Adam(params, lr=0.01, fused=True)
    opt.step()  # nothing to do, but packs nothing either: no gradients
    x = mg.tensor(rng.standard_normal((5, 3)), device=device)
    _loss(params, x).backward()
    opt.step()  # packed now
    opt.zero_grad()
    for p in params:
        p.grad = mg.full(p.shape, 100.0, device=device)
    opt.step()  # copies the hand-set gradients into the flat buffer
    for p in params:
        p.grad = None
    _loss(params, x).backward()
    expected = [mg.tensor(p.cpu().numpy(), requires_grad=True) for p in params]
    _loss(expected, mg.tensor(x.cpu().numpy())).backward()
    for p, q in zip(params[:2], expected[:2]):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-6)
    assert params[2].grad is None


def test_slots_take_a_gradient_added_in_by_its_op_under_autocast():
    """Under autocast the float32 weights are cast to float16, and the cast's backward
    adds the gradient into the weight's float32 ``.grad`` itself — into the offered slot
    when ``.grad`` is None (the sweep then makes it ``.grad``): same numbers as the
    per-tensor optimizer's fresh arrays."""
    from minigrad.amp import autocast

    def run(fused):
        mg.manual_seed(0)
        model = mg.nn.Sequential(mg.nn.Linear(6, 8), mg.nn.ReLU(), mg.nn.Linear(8, 3))
        opt = optim.Adam(model.parameters(), lr=0.01, fused=fused)
        rng = np.random.default_rng(4)
        grads = []
        for step in range(3):
            opt.zero_grad()
            with autocast(dtype=mg.float16):
                loss = model(mg.tensor(rng.standard_normal((4, 6)), dtype=mg.float32)).float()
            loss.sum().backward()
            if fused and step:  # written into the flat buffer by the backward
                flat = opt._fused_flat[0]
                assert all(p.grad.data.base is flat.grad for p in model.parameters())
            grads.append([p.grad.numpy().copy() for p in model.parameters()])
            opt.step()
        return grads, [p.numpy() for p in model.parameters()]

    (g1, p1), (g2, p2) = run(True), run(False)
    for a, b in zip(sum(g1, []), sum(g2, [])):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
