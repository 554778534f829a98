"""Fractional max pooling and the adaptive softmax (AdaptiveLogSoftmaxWithLoss): windows and
values by hand, gradients by gradcheck on hypothesis-drawn inputs, errors, and PyTorch as an
oracle (same random samples, same weights) when installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn.fractional import _starts
from minigrad.testing import arrays


def test_window_starts_by_hand():
    """n = 10, k = 2, m = 5: α = 8/4 = 2; u = 0.5: ⌊(i + .5)·2⌋ − ⌊1⌋ = 0, 2, 4, 6; last 8."""
    assert _starts(np, np.array(0.5), 10, 2, 5).tolist() == [0, 2, 4, 6, 8]
    # α = (7 − 2)/(4 − 1) = 5/3, u = 0: ⌊i·5/3⌋ = 0, 1, 3; last 7 − 2 = 5
    assert _starts(np, np.array(0.0), 7, 2, 4).tolist() == [0, 1, 3, 5]
    assert _starts(np, np.array(0.3), 5, 3, 1).tolist() == [2]


def test_fractional_max_pool_by_hand(device):
    x = mg.arange(25.0, device=device).reshape(1, 1, 5, 5)
    y, idx = F.fractional_max_pool2d(x, 2, output_size=3, return_indices=True,
                                     _random_samples=mg.zeros(1, 1, 2, device=device))
    # α = (5 − 2)/(3 − 1) = 3/2, u = 0: starts 0, 1, 3 in both dims, windows [0, 1],
    # [1, 2], [3, 4]; x = 5·row + col grows along both, so each maximum is at the window's
    # last row and column: rows/cols 1, 2, 4
    assert y.tolist() == [[[[6.0, 7.0, 9.0], [11.0, 12.0, 14.0], [21.0, 22.0, 24.0]]]]
    assert idx.tolist() == [[[[6, 7, 9], [11, 12, 14], [21, 22, 24]]]]
    assert idx.dtype == mg.int64
    y = F.fractional_max_pool2d(x[0], 2, output_ratio=0.5)                 # unbatched
    assert y.shape == (1, 2, 2)
    assert nn.FractionalMaxPool3d(2, output_size=(2, 2, 2))(
        mg.randn(2, 3, 4, 4, 4, device=device)).shape == (2, 3, 2, 2, 2)


def test_fractional_pool_windows_are_random_per_sample_and_channel():
    x = mg.randn(4, 8, 9, 9)
    mg.manual_seed(0)
    a = F.fractional_max_pool2d(x, 2, output_size=5)
    mg.manual_seed(0)
    b = F.fractional_max_pool2d(x, 2, output_size=5)
    c = F.fractional_max_pool2d(x, 2, output_size=5)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()


@given(data=st.data())
def test_gradcheck_of_fractional_pooling(data):
    x = data.draw(arrays(shape=(1, 2, 5, 6), unique=True))
    u = data.draw(arrays(shape=(1, 2, 2), min_value=0.0, max_value=0.99))
    t = mg.tensor(x, requires_grad=True)
    fn = lambda v: F.fractional_max_pool2d(v, (2, 3), output_size=(3, 2),  # noqa: E731
                                           _random_samples=mg.tensor(u))
    assert mg.gradcheck(fn, [t]) and mg.gradgradcheck(fn, [t])
    x3 = data.draw(arrays(shape=(1, 1, 4, 4, 5), unique=True))
    u3 = data.draw(arrays(shape=(1, 1, 3), min_value=0.0, max_value=0.99))
    fn3 = lambda v: F.fractional_max_pool3d(v, 2, output_size=(2, 3, 2),  # noqa: E731
                                            _random_samples=mg.tensor(u3))
    assert mg.gradcheck(fn3, [mg.tensor(x3, requires_grad=True)])


def test_fractional_pool_errors():
    x = mg.zeros(1, 1, 5, 5)
    with pytest.raises(ValueError, match="exactly one of output_size and output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(ValueError, match="does not fit the input size"):
        F.fractional_max_pool2d(x, 3, output_size=4)
    with pytest.raises(ValueError, match="output_ratio must be in"):
        F.fractional_max_pool2d(x, 2, output_ratio=1.5)
    with pytest.raises(ValueError, match=r"_random_samples must have shape \(1, 1, 2\)"):
        F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=mg.zeros(1, 1, 3))
    with pytest.raises(ValueError, match="expected a 3-D or 4-D input"):
        F.fractional_max_pool2d(mg.zeros(5, 5), 2, output_size=2)


def test_with_indices_aliases():
    x = mg.arange(16.0).reshape(1, 1, 4, 4)
    y, i = F.max_pool2d_with_indices(x, 2)
    assert y.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]] and i.tolist() == [[[[5, 7], [13, 15]]]]
    assert F.adaptive_max_pool1d_with_indices(mg.arange(6.0).reshape(1, 1, 6), 2)[1].tolist() \
        == [[[2, 5]]]


def test_fractional_pooling_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dims, shape, k, out in [(2, (2, 3, 7, 9), (2, 3), (4, 5)), (2, (3, 6, 6), 2, 3),
                                (3, (1, 2, 5, 6, 7), (2, 2, 3), (3, 4, 2))]:
        x = rng.standard_normal(shape)
        n, c = (shape[0], shape[1]) if len(shape) == dims + 2 else (1, shape[0])
        u = rng.random((n, c, dims))
        mine = getattr(F, f"fractional_max_pool{dims}d")
        theirs = getattr(torch.nn.functional, f"fractional_max_pool{dims}d")
        xt = torch.tensor(x, requires_grad=True)
        y, i = mine(mg.tensor(x), k, out, return_indices=True, _random_samples=mg.tensor(u))
        ty, ti = theirs(xt, k, out, return_indices=True, _random_samples=torch.tensor(u))
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(i.numpy(), ti.numpy())


# ------------------------------------------------------------------ adaptive softmax


def _asm(dtype=mg.float64, **kw):
    return nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, **kw).to(dtype=dtype)


def test_adaptive_softmax_structure_and_probabilities():
    asm = _asm(head_bias=True)
    assert asm.head.weight.shape == (3 + 2, 8) and asm.head.bias is not None
    assert [tuple(layer.weight.shape) for p in asm.tail for layer in p] == \
        [(4, 8), (4, 4), (2, 8), (5, 2)]          # 8/2 = 4 → 7 − 3 = 4; 8/4 = 2 → 12 − 7
    x = mg.tensor(np.random.default_rng(0).standard_normal((6, 8)))
    logp = asm.log_prob(x)
    np.testing.assert_allclose(logp.exp().sum(1).numpy(), np.ones(6), rtol=1e-12)
    target = mg.tensor([0, 2, 3, 6, 7, 11])
    output, loss = asm(x, target)
    np.testing.assert_allclose(output.numpy(), logp.numpy()[np.arange(6), target.numpy()],
                               rtol=1e-12)
    assert loss.item() == pytest.approx(-output.numpy().mean())
    assert asm.predict(x).tolist() == logp.argmax(1).tolist()
    single, _ = asm(x[0], target[0])                                   # unbatched
    assert single.shape == () and single.item() == pytest.approx(output[0].item())


def test_adaptive_softmax_gradcheck():
    asm = _asm()
    x = mg.tensor(np.random.default_rng(1).standard_normal((5, 8)), requires_grad=True)
    target = mg.tensor([1, 4, 9, 0, 8])
    assert mg.gradcheck(lambda v: asm(v, target).output, [x])
    assert mg.gradcheck(lambda v: asm.log_prob(v), [x])


def test_adaptive_softmax_errors():
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [5, 3])
    with pytest.raises(ValueError, match="cutoffs should be"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [10])
    asm = _asm()
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 11\]"):
        asm(mg.zeros(2, 8, dtype=mg.float64), mg.tensor([0, 12]))
    with pytest.raises(ValueError, match="same batch size"):
        asm(mg.zeros(2, 8, dtype=mg.float64), mg.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer tensor"):
        asm(mg.zeros(2, 8, dtype=mg.float64), mg.tensor([0.0, 1.0]))


def test_adaptive_softmax_matches_pytorch():
    torch = pytest.importorskip("torch")
    mine = _asm(head_bias=True)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0,
                                                 head_bias=True).double()
    assert sorted(mine.state_dict()) == sorted(theirs.state_dict())
    mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(2)
    x = rng.standard_normal((9, 8))
    y = np.array([0, 2, 4, 7, 11, 5, 3, 9, 1])
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, loss = mine(xm, mg.tensor(y))
    tout, tloss = theirs(xt, torch.tensor(y))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(mine.tail[1][1].weight.grad.numpy(),
                               theirs.tail[1][1].weight.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(mine.log_prob(mg.tensor(x)).numpy(),
                               theirs.log_prob(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert mine.predict(mg.tensor(x)).tolist() == theirs.predict(torch.tensor(x)).tolist()
