"""BatchNorm3d, InstanceNorm3d, Dropout3d and the 3-D padding layers: statistics and
masks by hand, values against NumPy (np.pad's modes), gradcheck in float64 with random
cotangents, reprs (PyTorch's text) and errors; the PyTorch oracle at the end imports torch
itself and skips without it."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close


def T(a, device="cpu", requires_grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device,
                     requires_grad=requires_grad)


# ------------------------------------------------------------------ BatchNorm3d


def test_batch_norm3d_statistics_by_hand(device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 2, 3, 4)) * 2 + 1
    bn = nn.BatchNorm3d(2, momentum=0.5).double().to(device)
    y = bn(T(x, device))
    mean, var = x.mean(axis=(0, 2, 3, 4)), x.var(axis=(0, 2, 3, 4))
    expected = (x - mean[:, None, None, None]) / np.sqrt(var[:, None, None, None] + 1e-5)
    assert_close(y, expected, rtol=1e-10, atol=1e-12)
    M = 3 * 2 * 3 * 4
    assert_close(bn.running_mean, 0.5 * mean, rtol=1e-12)
    assert_close(bn.running_var, 0.5 + 0.5 * var * M / (M - 1), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    z = bn(T(x, device))
    rm, rv = bn.running_mean.cpu().numpy(), bn.running_var.cpu().numpy()
    assert_close(z, (x - rm[:, None, None, None]) / np.sqrt(rv[:, None, None, None] + 1e-5),
                 rtol=1e-10)


def test_batch_norm3d_gradcheck_and_errors(device):
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm3d(2).double().to(device)
    x = T(rng.standard_normal((2, 2, 2, 2, 3)), device)
    assert mg.gradcheck(lambda x, w, b: bn(x), (x, bn.weight, bn.bias))
    assert mg.gradgradcheck(lambda x: nn.BatchNorm3d(2, affine=False).double().to(device)(x),
                            (x,))
    assert repr(bn) == ("BatchNorm3d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                        "track_running_stats=True)")
    with pytest.raises(ValueError, match=r"BatchNorm3d\(.*expected 5D input, got 4D input"):
        nn.BatchNorm3d(2)(mg.zeros(2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"expected input with 2 channels"):
        nn.BatchNorm3d(2)(mg.zeros(2, 3, 3, 3, 3))


# ------------------------------------------------------------------ InstanceNorm3d


def test_instance_norm3d_by_hand_and_gradcheck(device):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 2, 3, 2)) * 3 - 1
    norm = nn.InstanceNorm3d(3, affine=True).double().to(device)
    norm.weight.data[...] = norm.weight.xp.asarray([1.0, 2.0, -1.0])
    y = norm(T(x, device))
    mean = x.mean(axis=(2, 3, 4), keepdims=True)
    xhat = (x - mean) / np.sqrt(x.var(axis=(2, 3, 4), keepdims=True) + 1e-5)
    assert_close(y, xhat * np.array([1.0, 2.0, -1.0])[:, None, None, None], rtol=1e-10,
                 atol=1e-12)
    assert_close(norm(T(x[0], device)), y[0], rtol=1e-12)                   # unbatched
    assert mg.gradcheck(lambda x, w, b: norm(x), (T(x, device), norm.weight, norm.bias))
    assert repr(nn.InstanceNorm3d(3)) == ("InstanceNorm3d(3, eps=1e-05, momentum=0.1, "
                                          "affine=False, bias=False, "
                                          "track_running_stats=False)")
    with pytest.raises(ValueError, match=r"expected 4D \(unbatched\) or 5D input, got 3D"):
        nn.InstanceNorm3d(3)(mg.zeros(3, 4, 4))


# ------------------------------------------------------------------ Dropout3d


def test_dropout3d_drops_whole_volumes():
    mg.manual_seed(3)
    x = mg.ones(4, 6, 2, 3, 2, dtype=mg.float64)
    y = F.dropout3d(x, p=0.5).numpy()
    per_channel = y.reshape(4, 6, -1)
    assert (per_channel == per_channel[..., :1]).all()             # one draw per (n, c)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert 0 < (per_channel[..., 0] == 0).sum() < 24
    y1 = F.dropout3d(mg.ones(6, 2, 3, 2), p=0.5).numpy()            # unbatched (C, D, H, W)
    assert (y1.reshape(6, -1) == y1.reshape(6, -1)[:, :1]).all()
    assert F.dropout3d(x, p=1.0).numpy().sum() == 0.0
    layer = nn.Dropout3d(0.2)
    assert repr(layer) == "Dropout3d(p=0.2, inplace=False)"
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match=r"dropout3d: expected 4-D \(C, D, H, W\) or 5-D"):
        F.dropout3d(mg.ones(2, 3, 4), 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout3d(1.5)


def test_dropout3d_gradient_is_the_mask(device):
    x = T(np.random.default_rng(4).standard_normal((2, 3, 2, 2, 2)), device)

    def f(x):
        mg.manual_seed(5)
        return F.dropout3d(x, 0.4)

    assert mg.gradcheck(f, (x,))
    y = f(x)
    y.backward(mg.ones_like(y))
    kept = y.cpu().numpy() != 0
    assert_close(x.grad, kept / 0.6, rtol=1e-12)


# ------------------------------------------------------------------ padding


@pytest.mark.parametrize("layer, np_mode", [
    ("ZeroPad3d", "constant"), ("ReflectionPad3d", "reflect"), ("ReplicationPad3d", "edge"),
    ("CircularPad3d", "wrap")])
def test_pad3d_matches_numpy_and_gradcheck(layer, np_mode, device):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 2, 3, 4, 3))
    padding = (1, 2, 0, 3, 2, 1)             # (left, right, top, bottom, front, back)
    widths = ((0, 0), (0, 0), (2, 1), (0, 3), (1, 2))
    m = getattr(nn, layer)(padding)
    assert_close(m(T(x, device)), np.pad(x, widths, mode=np_mode), rtol=0)
    assert_close(m(T(x[0], device)), np.pad(x[0], widths[1:], mode=np_mode), rtol=0)
    assert mg.gradcheck(m, (T(x, device),))
    assert getattr(nn, layer)(1).padding == (1,) * 6


def test_constant_pad3d_and_reprs():
    x = mg.arange(8.0).reshape(1, 2, 2, 2)
    y = nn.ConstantPad3d((1, 0, 0, 1, 1, 0), -1.0)(x)
    assert y.shape == (1, 3, 3, 3)
    assert y[0, 0].tolist() == [[-1.0] * 3] * 3                      # the front plane
    assert y[0, 1].tolist() == [[-1.0, 0.0, 1.0], [-1.0, 2.0, 3.0], [-1.0, -1.0, -1.0]]
    assert mg.gradcheck(nn.ConstantPad3d(1, 2.0), (T(np.ones((1, 2, 1, 2))),))
    assert repr(nn.ZeroPad3d(1)) == "ZeroPad3d((1, 1, 1, 1, 1, 1))"
    assert repr(nn.ConstantPad3d((1, 2, 3, 4, 5, 6), 2.0)) == (
        "ConstantPad3d(padding=(1, 2, 3, 4, 5, 6), value=2.0)")
    assert repr(nn.ReflectionPad3d(1)) == "ReflectionPad3d((1, 1, 1, 1, 1, 1))"
    assert repr(nn.ReplicationPad3d(2)) == "ReplicationPad3d((2, 2, 2, 2, 2, 2))"
    assert repr(nn.CircularPad3d(1)) == "CircularPad3d((1, 1, 1, 1, 1, 1))"


def test_pad3d_errors():
    with pytest.raises(ValueError, match=r"ReflectionPad3d: padding must be an int or 6 ints"):
        nn.ReflectionPad3d((1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"ReflectionPad3d\(.*expected 4D \(unbatched\) or 5D"):
        nn.ReflectionPad3d(1)(mg.randn(3, 3, 3))
    with pytest.raises(ValueError, match=r"ReflectionPad3d\(.*reflect padding \(2, 2\)"):
        nn.ReflectionPad3d(2)(mg.randn(1, 2, 2, 4, 4))
    with pytest.raises(ValueError, match=r"CircularPad3d\(.*circular padding"):
        nn.CircularPad3d((0, 0, 0, 0, 3, 0))(mg.randn(1, 2, 2, 2))


# ------------------------------------------------------------------ PyTorch oracle


ORACLE_LAYERS = [
    ("BatchNorm3d", (3,), {}, (4, 3, 2, 3, 2)),
    ("BatchNorm3d", (3,), {"affine": False, "momentum": None}, (2, 3, 3, 2, 2)),
    ("InstanceNorm3d", (3,), {}, (2, 3, 2, 3, 4)),
    ("InstanceNorm3d", (2,), {"affine": True, "track_running_stats": True}, (3, 2, 3, 2, 3)),
    ("InstanceNorm3d", (2,), {"affine": True}, (2, 3, 2, 3)),
    ("ZeroPad3d", ((1, 2, 0, 3, 2, 1),), {}, (2, 3, 2, 3, 4)),
    ("ConstantPad3d", (1, -0.5), {}, (2, 3, 2, 3)),
    ("ReflectionPad3d", ((1, 2, 2, 0, 1, 1),), {}, (2, 2, 3, 4, 3)),
    ("ReplicationPad3d", (2,), {}, (2, 2, 3, 2)),
    ("CircularPad3d", ((2, 1, 0, 2, 1, 2),), {}, (1, 2, 3, 3, 4)),
]


@pytest.mark.parametrize("name, args, kw, shape", ORACLE_LAYERS,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(ORACLE_LAYERS)])
def test_against_pytorch(name, args, kw, shape):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(*args, **kw).double()
    theirs = getattr(torch.nn, name)(*args, **kw).double()
    rng = np.random.default_rng(7)
    for name_, p in theirs.named_parameters():
        p.data.uniform_(0.5, 1.5)
        getattr(ours, name_).data[...] = p.detach().numpy()
    for _ in range(2):    # a second step sees the running statistics moved
        x = rng.standard_normal(shape)
        xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        v = rng.standard_normal(yt.shape)
        ym.backward(mg.tensor(v))
        yt.backward(torch.tensor(v))
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        for name_, p in theirs.named_parameters():
            np.testing.assert_allclose(getattr(ours, name_).grad.numpy(), p.grad.numpy(),
                                       rtol=1e-9, atol=1e-12, err_msg=name_)
            getattr(ours, name_).grad = None
            p.grad = None
        for name_, b in theirs.named_buffers():
            np.testing.assert_allclose(getattr(ours, name_).numpy(), b.numpy(), rtol=1e-12,
                                       err_msg=name_)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    assert repr(ours) == repr(theirs)


def test_dropout3d_against_pytorch_semantics():
    """The masks differ (two generators), the rule does not: one Bernoulli(1 − p) per
    (sample, channel), survivors scaled by 1/(1 − p), in both."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal((3, 4, 2, 2, 3))
    for y in (F.dropout3d(mg.tensor(x), 0.25).numpy(),
              torch.nn.functional.dropout3d(torch.tensor(x), 0.25).numpy()):
        kept = (y != 0).reshape(3, 4, -1)
        assert (kept == kept[..., :1]).all()
        np.testing.assert_allclose(y[kept.reshape(y.shape)], x[kept.reshape(y.shape)] / 0.75,
                                   rtol=1e-12)
    assert repr(nn.Dropout3d(0.25)) == repr(torch.nn.Dropout3d(0.25))
