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
