"""RReLU, Softmax2d, ChannelShuffle and the in-place functional activations (F.relu_ ...):
by hand, gradients, errors, and PyTorch as an oracle when installed."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close


def _t(a, device="cpu", grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def test_rrelu_slopes(device):
    m = nn.RReLU(0.1, 0.3).to(device)
    assert repr(m) == "RReLU(lower=0.1, upper=0.3)"
    mg.manual_seed(0)
    x = _t(-np.ones(20000), device)
    y = m(x).cpu().numpy()
    assert ((-0.3 <= y) & (y <= -0.1)).all() and abs(y.mean() + 0.2) < 0.005
    assert np.unique(y).size > 1000                             # one slope per element
    assert m(_t([2.0, 0.0], device)).tolist() == [2.0, 0.0]
    m.eval()
    assert m(_t([-2.0, 3.0], device)).tolist() == [-0.4, 3.0]     # (l + u)/2 = 0.2
    x = _t(np.linspace(-2, 2, 7) + 0.05, device, grad=True)

    def seeded(x):
        mg.manual_seed(3)                                       # the same slopes each call
        return F.rrelu(x, 0.2, 0.6, training=True)
    assert mg.gradcheck(seeded, (x,))
    with pytest.raises(ValueError, match="0 <= lower <= upper"):
        nn.RReLU(0.5, 0.1)


def test_softmax2d_and_channel_shuffle(device):
    x = _t(np.random.default_rng(0).standard_normal((2, 3, 4, 5)), device, grad=True)
    y = nn.Softmax2d()(x)
    assert_close(y.sum(dim=1), np.ones((2, 4, 5)), rtol=1e-14)
    assert_close(nn.Softmax2d()(x[0]), y[0].detach().cpu().numpy(), rtol=1e-14)
    assert mg.gradcheck(lambda t: nn.Softmax2d()(t) ** 2, (x,))
    with pytest.raises(ValueError, match="expects a 3-D or 4-D input"):
        nn.Softmax2d()(mg.zeros(3, 4))
    c = _t(np.arange(12.0).reshape(1, 6, 2), device, grad=True)
    s = nn.ChannelShuffle(2)(c)
    assert s[0, :, 0].tolist() == [0.0, 6.0, 2.0, 8.0, 4.0, 10.0]  # channels 0 3 1 4 2 5
    assert F.channel_shuffle(F.channel_shuffle(c, 2), 3).tolist() == c.tolist()  # inverse
    assert mg.gradcheck(lambda t: F.channel_shuffle(t, 3) * mg.arange(6.0, dtype=mg.float64,
                                                                      device=device)
                        .reshape(1, 6, 1), (c,))
    with pytest.raises(ValueError, match="6 channels do not divide into 4 groups"):
        F.channel_shuffle(c, 4)
    with pytest.raises(ValueError, match="groups must be a positive int"):
        nn.ChannelShuffle(0)(c)


@pytest.mark.parametrize("name, args, fn", [
    ("relu_", (), lambda x: np.maximum(x, 0)),
    ("leaky_relu_", (0.1,), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("elu_", (), lambda x: np.where(x > 0, x, np.expm1(x))),
    ("celu_", (2.0,), lambda x: np.where(x > 0, x, 2 * np.expm1(x / 2))),
    ("hardtanh_", (-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    ("threshold_", (0.2, -7.0), lambda x: np.where(x > 0.2, x, -7.0)),
    ("selu_", (), None),
    ("rrelu_", (0.25, 0.25), lambda x: np.where(x >= 0, x, 0.25 * x)),
])
def test_in_place_functional_activations(name, args, fn, device):
    values = np.array([-1.5, -0.3, 0.0, 0.4, 2.0])
    x = _t(values, device)
    out = getattr(F, name)(x, *args)
    assert out is x                               # written into x and x returned
    want = fn(values) if fn is not None else F.selu(_t(values)).cpu().numpy()
    assert_close(x, want, rtol=1e-14)
    y = _t(values, device, grad=True)             # recording: a new tensor, y untouched
    z = getattr(F, name)(y, *args)
    assert z is not y and y.tolist() == values.tolist()
    assert_close(z, want, rtol=1e-14)
    z.sum().backward()
    assert y.grad is not None


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 3, 3))
    for ours, theirs in [(nn.Softmax2d(), torch.nn.Softmax2d()),
                         (nn.ChannelShuffle(3), torch.nn.ChannelShuffle(3)),
                         (nn.RReLU(0.1, 0.4).eval(), torch.nn.RReLU(0.1, 0.4).eval())]:
        a, b = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = ours(a), theirs(b)
        assert_close(ya, yb.detach().cpu().numpy(), rtol=1e-14)
        g = rng.standard_normal(yb.shape)
        ya.backward(mg.tensor(g))
        yb.backward(torch.tensor(g))
        assert_close(a.grad, b.grad.cpu().numpy(), rtol=1e-14)
    for name, args in [("relu_", ()), ("leaky_relu_", (0.2,)), ("elu_", (0.7,)),
                       ("celu_", (1.3,)), ("selu_", ()), ("hardtanh_", (-0.3, 0.8)),
                       ("threshold_", (0.1, 5.0))]:
        a, b = mg.tensor(x.copy()), torch.tensor(x.copy())
        getattr(F, name)(a, *args)
        getattr(torch.nn.functional, name)(b, *args)
        assert_close(a, b.cpu().numpy(), rtol=1e-14)
