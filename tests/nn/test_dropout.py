"""Dropout, Dropout1d/2d, DropConnect, StochasticDepth: inverted scaling in training,
identity in eval, masks of the right granularity, seeded repeatability, gradients with a
fixed mask, and validation of p."""
import math

import numpy as np
import pytest
from hypothesis import given

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import arrays, assert_close


def _t(a, device="cpu", grad=True):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=grad)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_inverted_scaling_and_rate(p, device):
    x = mg.ones(200_000, device=device)
    y = nn.Dropout(p)(x).cpu().numpy()
    kept = y != 0
    assert np.allclose(y[kept], 1 / (1 - p))  # survivors scaled by 1/(1 − p)
    assert abs((~kept).mean() - p) < 0.005  # fraction dropped ≈ p (seeded: deterministic)
    assert abs(y.mean() - 1.0) < 0.02  # E[y] = x


def test_dropout_eval_is_identity_and_p_edges():
    x = mg.randn(5, 4)
    d = nn.Dropout(0.5)
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert np.all(nn.Dropout(1.0)(x).numpy() == 0)
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_same_seed_same_mask():
    x = mg.ones(100)
    mg.manual_seed(3)
    a = F.dropout(x, 0.3).numpy()
    mg.manual_seed(3)
    b = F.dropout(x, 0.3).numpy()
    c = F.dropout(x, 0.3).numpy()
    assert np.array_equal(a, b) and not np.array_equal(b, c)


@given(x=arrays(max_dims=3, max_side=4, min_dims=1))
def test_dropout_gradcheck_with_fixed_mask(x, device):
    """The mask is fixed across f(x ± h) and the analytic pass by re-seeding."""
    def f(x):
        mg.manual_seed(11)
        return F.dropout(x, 0.4)

    X = _t(x, device)
    assert mg.gradcheck(f, (X,))
    # the gradient is the mask scaled by 1/(1 − p)
    y = f(X)
    y.backward(mg.ones_like(y))
    mask = f(mg.ones_like(X)).cpu().numpy() != 0
    assert_close(X.grad, mask / 0.6, rtol=1e-12)


def test_invalid_p_raises():
    for p in (-0.1, 1.5, "a", None, True):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            nn.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1, but got 2"):
        F.dropout(mg.ones(3), 2)
    for cls in (nn.Dropout2d, nn.Dropout1d, nn.StochasticDepth):
        with pytest.raises(ValueError, match="between 0 and 1"):
            cls(-1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.DropConnect(3, 2, p=1.2)


def test_dropout2d_drops_whole_channels(device):
    x = mg.ones(64, 16, 5, 5, device=device)
    y = nn.Dropout2d(0.5)(x).cpu().numpy()
    per_channel = y.reshape(64, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.4 < (per_channel[..., 0] == 0).mean() < 0.6
    y3 = nn.Dropout2d(0.5)(mg.ones(16, 5, 5)).numpy().reshape(16, -1)  # unbatched (C, H, W)
    assert np.all((y3 == 0).all(-1) | (y3 == 2.0).all(-1))
    with pytest.raises(ValueError, match="dropout2d: expected 3-D .* or 4-D"):
        nn.Dropout2d()(mg.ones(4, 4))


def test_dropout1d_drops_whole_channels():
    y = nn.Dropout1d(0.5)(mg.ones(32, 8, 7)).numpy()
    assert np.all((y == 0).all(-1) | (y == 2.0).all(-1))


def test_dropconnect_masks_weights_in_training_only():
    mg.manual_seed(0)
    layer = nn.DropConnect(6, 4, p=0.5).double()
    x = _t(np.random.default_rng(0).standard_normal((3, 6)))
    W, b = layer.weight.numpy(), layer.bias.numpy()
    mg.manual_seed(5)
    y = layer(x)
    mg.manual_seed(5)
    mask = mg.random.bernoulli(W.shape, 0.5, np.float64)  # the same draw
    assert_close(y, x.numpy() @ (W * mask / 0.5).T + b, rtol=1e-12)
    layer.eval()
    assert_close(layer(x), x.numpy() @ W.T + b, rtol=1e-12)
    # state dict of a Linear
    assert list(layer.state_dict()) == ["weight", "bias"]

    def f(x, w, b):
        mg.manual_seed(9)
        return layer(x)

    layer.train()
    assert mg.gradcheck(f, (x, layer.weight, layer.bias))


def test_dropconnect_rate():
    layer = nn.DropConnect(100, 100, p=0.3, bias=False)
    mg.manual_seed(1)
    x = mg.eye(100)
    y = layer(x).numpy()  # row i = column i of masked W
    assert abs((y == 0).mean() - 0.3) < 0.02


def test_stochastic_depth_per_sample(device):
    sd = nn.StochasticDepth(0.25)
    x = mg.ones(4000, 3, 2, device=device)
    y = sd(x).cpu().numpy().reshape(4000, -1)
    dropped = (y == 0).all(1)
    kept = (y == 1 / 0.75).all(1)
    assert np.all(dropped | kept)  # whole samples, survivors scaled by 1/(1 − p)
    assert abs(dropped.mean() - 0.25) < 0.03
    sd.eval()
    assert sd(x) is x
    batch = nn.StochasticDepth(0.5, mode="batch")
    outs = {float(batch(mg.ones(3, 2)).numpy().sum()) for _ in range(20)}
    assert outs <= {0.0, 12.0} and len(outs) == 2  # all or nothing per batch
    with pytest.raises(ValueError, match="mode has to be 'row' or 'batch'"):
        nn.StochasticDepth(0.1, mode="col")


def test_stochastic_depth_residual_gradcheck():
    branch = nn.Linear(3, 3).double()
    block = nn.Residual(branch, drop_path=0.5)
    x = _t(np.random.default_rng(2).standard_normal((6, 3)))

    def f(x):
        mg.manual_seed(4)
        return block(x)

    assert mg.gradcheck(f, (x,))
    mg.manual_seed(4)
    y = block(x).numpy()
    mg.manual_seed(4)
    keep = mg.random.bernoulli((6, 1), 0.5, np.float64)
    assert_close(y, x.numpy() + branch(x).numpy() * keep / 0.5, rtol=1e-12)
    block.eval()
    assert_close(block(x), x.numpy() + branch(x).numpy(), rtol=1e-12)


def test_repr():
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"
    assert repr(nn.StochasticDepth(0.1)) == "StochasticDepth(p=0.1, mode=row)"
    assert repr(nn.DropConnect(2, 3, p=0.1)) == \
        "DropConnect(in_features=2, out_features=3, bias=True, p=0.1)"


ALPHA = 1.7580993408473766   # −λα of SELU (Klambauer et al. 2017)


def test_alpha_dropout_by_hand(device):
    """With the mask m of the same seed: y = a·x where kept, −α′a + α′ap where dropped,
    a = ((1 − p)(1 + pα′²))^(−½); the gradient is a·m; the identity in eval, at p = 0
    and by default (training=False, PyTorch's); zeros at p = 1."""
    p = 0.3
    a = 1 / math.sqrt((1 - p) * (1 + p * ALPHA ** 2))
    x = _t(np.random.default_rng(0).standard_normal((4, 5)), device)
    mg.manual_seed(7)
    y = F.alpha_dropout(x, p, training=True)
    mg.manual_seed(7)
    m = mg.random.bernoulli((4, 5), 1 - p, mg.float64, device)
    m = m.get() if hasattr(m, "get") else m
    want = np.where(m == 1, a * x.detach().cpu().numpy() + ALPHA * a * p,
                    -ALPHA * a + ALPHA * a * p)
    assert_close(y, want, rtol=1e-14, atol=1e-15)
    y.backward(mg.ones_like(y))
    assert_close(x.grad, a * m, rtol=1e-14)
    assert F.alpha_dropout(x, p) is x and F.alpha_dropout(x, 0.0, training=True) is x
    assert nn.AlphaDropout(p).eval()(x) is x
    assert F.alpha_dropout(x, 1.0, training=True).detach().cpu().numpy().tolist() == \
        [[0.0] * 5] * 4


def test_alpha_dropout_keeps_mean_and_variance():
    """The point of alpha dropout: a unit-normal input stays mean 0, variance 1."""
    mg.manual_seed(0)
    x = mg.randn(200000, dtype=mg.float64)
    for p in (0.05, 0.2, 0.5):
        y = nn.AlphaDropout(p)(x).numpy()
        assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.015, p


def test_feature_alpha_dropout_drops_whole_channels(device):
    mg.manual_seed(1)
    x = mg.ones(8, 6, 3, 2, device=device)
    y = nn.FeatureAlphaDropout(0.5)(x).cpu().numpy()
    per_channel = y.reshape(8, 6, -1)
    assert np.all(per_channel == per_channel[..., :1])          # one value per channel
    assert len(np.unique(per_channel.round(12))) == 2          # kept and dropped
    with pytest.raises(ValueError, match=r"\(N, C, \*\)"):
        F.feature_alpha_dropout(mg.ones(3), 0.5, training=True)
    assert repr(nn.AlphaDropout(0.2)) == "AlphaDropout(p=0.2, inplace=False)"
