"""Adaptive max pooling, instance/RMS/local-response normalization, fold/unfold, pixel
(un)shuffle and the padding layers: values against NumPy references written from the
formulas, gradcheck in float64 (random cotangents) on hypothesis-drawn shapes, gradgradcheck,
reprs (PyTorch's text), and clear errors. None of this needs PyTorch; the oracle tests at
the end import it inside each test and skip without it.
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import arrays, assert_close


def T(a, device="cpu", requires_grad=True):
    a = np.asarray(a)
    return mg.tensor(a, device=device, requires_grad=requires_grad and a.dtype.kind == "f")


# ----------------------------------------------------------------- adaptive max pooling


def windows(n_in, n_out):
    return [(i * n_in // n_out, -(-(i + 1) * n_in // n_out)) for i in range(n_out)]


def adaptive_max_ref(x, Ho, Wo):
    """Values and flat indices, window by window (first maximum in row-major order)."""
    H, W = x.shape[-2:]
    lead = x.shape[:-2]
    y, idx = np.empty(lead + (Ho, Wo)), np.empty(lead + (Ho, Wo), dtype=np.int64)
    for i, (a, b) in enumerate(windows(H, Ho)):
        for j, (c, d) in enumerate(windows(W, Wo)):
            win = x[..., a:b, c:d].reshape(lead + (-1,))
            k = win.argmax(-1)
            y[..., i, j] = win.max(-1)
            idx[..., i, j] = (a + k // (d - c)) * W + c + k % (d - c)
    return y, idx


@st.composite
def pool_case(draw):
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    H, W = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    Ho, Wo = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    x = draw(arrays(shape=lead + (H, W), unique=True))
    return x, (Ho, Wo)


@given(case=pool_case())
def test_adaptive_max_pool2d_matches_reference(case, device):
    x, size = case
    y, idx = F.adaptive_max_pool2d(T(x, device), size, return_indices=True)
    y_ref, idx_ref = adaptive_max_ref(x, *size)
    assert_close(y, y_ref)
    assert_close(idx, idx_ref)
    assert idx.dtype == np.int64


def test_adaptive_max_pool_ties_take_the_first_in_row_major_order():
    x = np.array([[[0.0, 5.0, 5.0], [5.0, 1.0, 5.0]]])  # every window of 1×1 output: all 5s
    y, idx = F.adaptive_max_pool2d(T(x), 1, return_indices=True)
    assert y.item() == 5.0 and idx.item() == 1
    xt = T(x)
    F.adaptive_max_pool2d(xt, 1).backward()
    assert_close(xt.grad, np.array([[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]))


@settings(max_examples=15)
@given(case=pool_case())
def test_adaptive_max_pool2d_gradcheck(case, device):
    x, size = case
    assert mg.gradcheck(lambda x: F.adaptive_max_pool2d(x, size), (T(x, device),))


def test_adaptive_max_pool_gradgradcheck_and_1d():
    x = np.random.default_rng(0).permutation(24).reshape(2, 3, 4) / 4.0
    assert mg.gradgradcheck(lambda x: F.adaptive_max_pool2d(x, (2, 3)), (T(x),))
    y, idx = F.adaptive_max_pool1d(T(x), 3, return_indices=True)
    y_ref, idx_ref = adaptive_max_ref(x[:, :, None, :], 1, 3)
    assert_close(y, y_ref[:, :, 0])
    assert_close(idx, idx_ref[:, :, 0])
    assert mg.gradcheck(lambda x: nn.AdaptiveMaxPool1d(2)(x), (T(x),))
    m = nn.AdaptiveMaxPool2d((None, 2), return_indices=True)
    out, _ = m(T(x))
    assert out.shape == (2, 3, 2)
    assert repr(m) == "AdaptiveMaxPool2d(output_size=(None, 2))"
    assert repr(nn.AdaptiveMaxPool1d(3)) == "AdaptiveMaxPool1d(output_size=3)"


def test_adaptive_max_pool_errors():
    with pytest.raises(ValueError, match="adaptive_max_pool2d: expected 3-D"):
        F.adaptive_max_pool2d(mg.randn(4, 4), 2)
    with pytest.raises(ValueError, match="adaptive_max_pool2d: output_size must be positive"):
        F.adaptive_max_pool2d(mg.randn(1, 4, 4), 0)
    with pytest.raises(ValueError, match="adaptive_max_pool2d: output_size must be an int"):
        F.adaptive_max_pool2d(mg.randn(1, 4, 4), (1, 2, 3))
    with pytest.raises(ValueError, match="adaptive_max_pool2d: expected a non-empty"):
        F.adaptive_max_pool2d(mg.randn(1, 0, 4), 2)
    with pytest.raises(ValueError, match="adaptive_max_pool1d: expected an int or a 1-tuple"):
        F.adaptive_max_pool1d(mg.randn(1, 2, 6), (2, 2))


# ----------------------------------------------------------------- instance norm


def instance_norm_ref(x, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(2, x.ndim))
    mu = x.mean(axes, keepdims=True)
    y = (x - mu) / np.sqrt(x.var(axes, keepdims=True) + eps)
    shape = (1, -1) + (1,) * len(axes)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


@st.composite
def instance_case(draw):
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    assume(np.prod(spatial) > 1)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) + spatial
    x = draw(arrays(shape=shape))
    assume((x.std(axis=tuple(range(2, x.ndim))) > 0.1).all())  # no flat instance
    return x


@settings(max_examples=15)
@given(x=instance_case())
def test_instance_norm_matches_reference_and_gradcheck(x, device):
    rng = np.random.default_rng(0)
    w, b = rng.uniform(0.5, 1.5, x.shape[1]), rng.standard_normal(x.shape[1])
    assert_close(F.instance_norm(T(x, device)), instance_norm_ref(x), rtol=1e-10, atol=1e-12)
    assert_close(F.instance_norm(T(x, device), weight=T(w, device), bias=T(b, device)),
                 instance_norm_ref(x, w, b), rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                        (T(x, device), T(w, device), T(b, device)))


def test_instance_norm_gradgradcheck():
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    assert mg.gradgradcheck(lambda x: F.instance_norm(x), (T(x),))


def test_instance_norm_running_stats_by_hand():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 5))
    m = nn.InstanceNorm1d(3, momentum=0.2, track_running_stats=True).double()
    y = m(T(x))
    assert_close(y, instance_norm_ref(x), rtol=1e-10)
    # running ← 0.8·running + 0.2·(batch mean of the per-instance statistics, var unbiased)
    mu = x.mean(2).mean(0)
    var = x.var(2, ddof=1).mean(0)
    assert_close(m.running_mean, 0.2 * mu, rtol=1e-12)
    assert_close(m.running_var, 0.8 + 0.2 * var, rtol=1e-12)
    assert m.num_batches_tracked.item() == 0  # PyTorch never increments it here
    m.eval()  # eval: the running statistics normalize
    expected = (x - m.running_mean.numpy()[:, None]) / np.sqrt(
        m.running_var.numpy()[:, None] + 1e-5)
    assert_close(m(T(x)), expected, rtol=1e-10)
    # momentum=None freezes the statistics (PyTorch passes 0.0, no cumulative average)
    frozen = nn.InstanceNorm1d(3, momentum=None, track_running_stats=True).double()
    frozen(T(x))
    assert_close(frozen.running_mean, np.zeros(3))


def test_instance_norm_defaults_unbatched_and_eval_without_tracking():
    m = nn.InstanceNorm2d(2)
    assert m.weight is None and m.bias is None and m.running_mean is None
    assert list(m.state_dict()) == []
    assert repr(m) == ("InstanceNorm2d(2, eps=1e-05, momentum=0.1, affine=False, bias=False, "
                       "track_running_stats=False)")
    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    m.eval()  # no running statistics: the input's own, in eval too
    assert_close(m(T(x)), instance_norm_ref(x[None])[0], rtol=1e-10)
    a = nn.InstanceNorm1d(4, affine=True, track_running_stats=True)
    assert list(a.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                    "num_batches_tracked"]


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial element"):
        F.instance_norm(mg.randn(2, 3, 1))
    with pytest.raises(ValueError, match=r"instance_norm: expected input \(N, C, \*\)"):
        F.instance_norm(mg.randn(2, 3))
    with pytest.raises(ValueError, match=r"instance_norm: weight has shape \(2,\)"):
        F.instance_norm(mg.randn(2, 3, 4), weight=mg.ones(2))
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        F.instance_norm(mg.randn(2, 3, 4), use_input_stats=False)
    with pytest.raises(ValueError, match=r"InstanceNorm1d\(.*expected 2D \(unbatched\) or 3D"):
        nn.InstanceNorm1d(3)(mg.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"dim=1 to match num_features \(3\)"):
        nn.InstanceNorm1d(3, affine=True)(mg.randn(2, 4, 5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.InstanceNorm1d(3)(mg.randn(2, 4, 5))  # affine=False: num_features unused
    assert any("does not match num_features" in str(w.message) for w in caught)


# ----------------------------------------------------------------- RMSNorm


@st.composite
def rms_case(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    k = draw(st.integers(1, len(shape)))
    x = draw(arrays(shape=shape, avoid=(0.0,), margin=0.1))
    return x, shape[len(shape) - k:]


@settings(max_examples=20)
@given(case=rms_case())
def test_rms_norm_matches_formula_and_gradcheck(case, device):
    x, ns = case
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    w = np.random.default_rng(4).uniform(0.5, 1.5, ns)
    eps = np.finfo(np.float64).eps  # eps=None: the dtype's machine epsilon
    ref = x / np.sqrt((x * x).mean(axes, keepdims=True) + eps) * w
    assert_close(F.rms_norm(T(x, device), ns, T(w, device)), ref, rtol=1e-12)
    assert mg.gradcheck(lambda x, w: F.rms_norm(x, ns, w, eps=1e-3),
                        (T(x, device), T(w, device)))


def test_rms_norm_module_gradgradcheck_and_dtypes():
    x = np.random.default_rng(5).standard_normal((3, 2, 4))
    m = nn.RMSNorm([2, 4], eps=1e-4).double()
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (2, 4)
    assert mg.gradgradcheck(lambda x: m(x), (T(x),))
    assert repr(nn.RMSNorm(4)) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    assert repr(nn.RMSNorm((2, 3), 1e-3, False)) == \
        "RMSNorm((2, 3), eps=0.001, elementwise_affine=False)"
    assert not list(nn.RMSNorm(4, elementwise_affine=False).parameters())
    # float32: float32's epsilon; float16 is computed in float32 and cast back
    x32 = (np.random.default_rng(6).standard_normal((2, 4)) * 1e-4).astype(np.float32)
    ref = x32 / np.sqrt((x32 * x32).mean(-1, keepdims=True) + np.finfo(np.float32).eps)
    assert_close(F.rms_norm(T(x32), 4), ref, rtol=1e-6)
    y16 = F.rms_norm(mg.tensor(x32.astype(np.float16)), 4)
    x16 = x32.astype(np.float16).astype(np.float32)
    ref16 = x16 / np.sqrt((x16 * x16).mean(-1, keepdims=True) + np.finfo(np.float32).eps)
    assert y16.dtype == np.float16
    assert_close(y16, ref16.astype(np.float16), rtol=1e-3)


def test_rms_norm_errors():
    with pytest.raises(ValueError, match=r"rms_norm: expected input with trailing shape \(3,\)"):
        F.rms_norm(mg.randn(2, 4), 3)
    with pytest.raises(ValueError, match=r"rms_norm: weight must have shape \(4,\)"):
        F.rms_norm(mg.randn(2, 4), 4, mg.ones(3))


# ----------------------------------------------------------------- local response norm


def lrn_ref(x, size, alpha=1e-4, beta=0.75, k=1.0):
    C = x.shape[1]
    out = np.empty_like(x)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        s = (x[:, lo:hi] ** 2).sum(1)
        out[:, c] = x[:, c] / (k + alpha / size * s) ** beta
    return out


@pytest.mark.parametrize("shape, size", [((2, 5, 3), 3), ((1, 4, 2, 3), 2), ((2, 3, 2), 5)])
def test_local_response_norm(shape, size):
    x = np.random.default_rng(7).standard_normal(shape)
    m = nn.LocalResponseNorm(size, alpha=0.5, beta=0.75, k=2.0)
    assert_close(m(T(x)), lrn_ref(x, size, 0.5, 0.75, 2.0), rtol=1e-12)
    assert mg.gradcheck(lambda x: m(x), (T(x),))
    assert repr(nn.LocalResponseNorm(2)) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"
    with pytest.raises(ValueError, match="local_response_norm: expected input"):
        F.local_response_norm(mg.randn(2, 3), 2)
    with pytest.raises(ValueError, match="local_response_norm: size must be a positive"):
        F.local_response_norm(mg.randn(2, 3, 4), 0)


# ----------------------------------------------------------------- unfold / fold


def unfold_ref(x, k, d, p, s):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    Ho = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    Wo = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    cols = np.empty((N, C * k[0] * k[1], Ho * Wo))
    for c in range(C):
        for i in range(k[0]):
            for j in range(k[1]):
                for h in range(Ho):
                    for w in range(Wo):
                        cols[:, (c * k[0] + i) * k[1] + j, h * Wo + w] = \
                            xp[:, c, h * s[0] + i * d[0], w * s[1] + j * d[1]]
    return cols


@st.composite
def fold_case(draw):
    pair = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))  # noqa: E731
    k, d, p, s = draw(pair(1, 3)), draw(pair(1, 2)), draw(pair(0, 2)), draw(pair(1, 3))
    H, W = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    assume(all(n + 2 * p_ >= d_ * (k_ - 1) + 1
               for n, k_, d_, p_ in zip((H, W), k, d, p)))
    x = draw(arrays(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W)))
    return x, dict(kernel_size=k, dilation=d, padding=p, stride=s)


@settings(max_examples=20)
@given(case=fold_case())
def test_unfold_matches_reference_and_fold_is_its_adjoint(case, device):
    x, g = case
    cols = F.unfold(T(x, device), **g)
    ref = unfold_ref(x, g["kernel_size"], g["dilation"], g["padding"], g["stride"])
    assert_close(cols, ref)
    # ⟨unfold(x), y⟩ = ⟨x, fold(y)⟩
    y = np.random.default_rng(8).standard_normal(ref.shape)
    folded = F.fold(T(y, device), x.shape[2:], **g)
    assert folded.shape == x.shape
    assert np.isclose((ref * y).sum(), (x * folded.cpu().numpy()).sum(), rtol=1e-10)


@settings(max_examples=10)
@given(case=fold_case())
def test_unfold_fold_gradcheck(case, device):
    x, g = case
    assert mg.gradcheck(lambda x: F.unfold(x, **g), (T(x, device),))
    cols = unfold_ref(x, g["kernel_size"], g["dilation"], g["padding"], g["stride"])
    assert mg.gradcheck(lambda c: F.fold(c, x.shape[2:], **g), (T(cols, device),))


def test_fold_counts_and_gradgradcheck_and_unbatched():
    ones = F.fold(mg.ones(1, 4, 4, dtype=mg.float64), (3, 3), 2)
    assert_close(ones[0, 0], np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]))
    x = np.random.default_rng(9).standard_normal((2, 4, 5))
    assert mg.gradgradcheck(lambda x: F.unfold(x, 2, padding=1, stride=2), (T(x),))
    cols = np.random.default_rng(10).standard_normal((8, 6))
    assert mg.gradgradcheck(lambda c: F.fold(c, (4, 5), 2, stride=(1, 2)), (T(cols),))
    assert F.unfold(T(x), 2).shape == (8, 12)  # (C, H, W) → (C·k², L)
    assert F.fold(T(cols), (4, 5), 2, stride=(1, 2)).shape == (2, 4, 5)
    # modules and PyTorch's reprs
    assert repr(nn.Fold(4, 2)) == \
        "Fold(output_size=4, kernel_size=2, dilation=1, padding=0, stride=1)"
    assert repr(nn.Unfold((2, 3), padding=1)) == \
        "Unfold(kernel_size=(2, 3), dilation=1, padding=1, stride=1)"
    assert_close(nn.Unfold(2, padding=1)(T(x)), F.unfold(T(x), 2, padding=1).numpy())


def test_unfold_fold_under_autocast_keep_the_dtype():
    x = mg.randn(1, 2, 4, 4)
    with mg.amp.autocast():
        cols = F.unfold(x, 2)
        back = F.fold(cols, (4, 4), 2)
    assert cols.dtype == np.float32 and back.dtype == np.float32


def test_unfold_fold_errors():
    with pytest.raises(ValueError, match=r"unfold: expected 3-D or 4-D input"):
        F.unfold(mg.randn(4, 4), 2)
    with pytest.raises(ValueError, match=r"unfold: kernel_size \(5, 5\) .*no sliding block"):
        F.unfold(mg.randn(1, 1, 4, 4), 5)
    with pytest.raises(ValueError, match="unfold: kernel_size .* must be positive"):
        F.unfold(mg.randn(1, 1, 4, 4), 2, stride=0)
    with pytest.raises(ValueError, match=r"fold: expected input's dimension 1 \(7"):
        F.fold(mg.randn(2, 7, 16), (5, 5), 2)
    with pytest.raises(ValueError, match=r"fold: output_size \(5, 5\) .* 4 × 4 sliding blocks, "
                                         r"but the input \(2, 8, 15\) has L = 15"):
        F.fold(mg.randn(2, 8, 15), (5, 5), 2)
    with pytest.raises(ValueError, match=r"fold: expected 2-D or 3-D input"):
        F.fold(mg.randn(2, 8, 4, 4), (5, 5), 2)


# ----------------------------------------------------------------- pixel shuffle


def test_pixel_shuffle_formula_inverse_and_gradients():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 1, 12, 2, 3))  # extra leading dims are allowed
    r = 2
    y = F.pixel_shuffle(T(x), r)
    ref = np.empty((2, 1, 3, 4, 6))
    for c in range(3):
        for i in range(r):
            for j in range(r):
                ref[:, :, c, i::r, j::r] = x[:, :, c * r * r + i * r + j]
    assert_close(y, ref)
    assert_close(F.pixel_unshuffle(y, r), x)
    assert mg.gradcheck(lambda x: nn.PixelShuffle(2)(x), (T(x),))
    assert mg.gradcheck(lambda x: nn.PixelUnshuffle(3)(x), (T(rng.standard_normal((2, 3, 6))),))
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(2)) == "PixelUnshuffle(downscale_factor=2)"


def test_pixel_shuffle_errors():
    with pytest.raises(ValueError, match=r"pixel_shuffle: the channel dim .* \(7\) must be "
                                         r"divisible by upscale_factor² = 4"):
        F.pixel_shuffle(mg.randn(2, 7, 3, 3), 2)
    with pytest.raises(ValueError, match="pixel_shuffle: expected a Tensor with at least 3"):
        F.pixel_shuffle(mg.randn(4, 3), 2)
    with pytest.raises(ValueError, match="pixel_unshuffle: the height and width"):
        F.pixel_unshuffle(mg.randn(1, 3, 5), 2)
    with pytest.raises(ValueError, match="downscale_factor must be a positive integer"):
        F.pixel_unshuffle(mg.randn(1, 4, 4), 0)


# ----------------------------------------------------------------- padding layers

NP_MODE = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect",
           "Replication": "edge", "Circular": "wrap"}


@pytest.mark.parametrize("kind", list(NP_MODE))
@pytest.mark.parametrize("dims", [1, 2])
def test_padding_layers_match_numpy_pad(kind, dims):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 4, 5)[-dims - 2:])
    padding = (1, 2) if dims == 1 else (1, 2, 3, 0)
    args = (padding, 1.5) if kind == "Constant" else (padding,)
    m = getattr(nn, f"{kind}Pad{dims}d")(*args)
    widths = [(0, 0), (0, 0)] + [(padding[2 * i], padding[2 * i + 1])
                                 for i in reversed(range(dims))]
    kw = dict(constant_values=1.5) if kind == "Constant" else {}
    assert_close(m(T(x)), np.pad(x, widths, NP_MODE[kind], **kw))
    assert_close(m(T(x[0])), np.pad(x[0], widths[1:], NP_MODE[kind], **kw))  # unbatched
    assert mg.gradcheck(lambda x: m(x), (T(x),))


def test_padding_reprs_are_pytorch_text():
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ZeroPad1d((1, 2))) == "ZeroPad1d((1, 2))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    assert repr(nn.ConstantPad2d((1, 2, 3, 4), 0.0)) == \
        "ConstantPad2d(padding=(1, 2, 3, 4), value=0.0)"
    assert repr(nn.ReflectionPad2d(1)) == "ReflectionPad2d((1, 1, 1, 1))"
    assert repr(nn.ReplicationPad1d((1, 2))) == "ReplicationPad1d((1, 2))"
    assert repr(nn.CircularPad2d(1)) == "CircularPad2d((1, 1, 1, 1))"
    assert nn.ZeroPad2d(1).padding == (1, 1, 1, 1) and nn.ZeroPad2d(1).value == 0.0


def test_padding_errors():
    with pytest.raises(ValueError, match=r"ZeroPad2d: padding must be an int or 4 ints"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match=r"ReflectionPad1d\(\(3, 3\)\): pad: reflect padding"):
        nn.ReflectionPad1d(3)(mg.randn(1, 2, 3))
    with pytest.raises(ValueError, match=r"ReflectionPad2d\(.*expected 3D \(unbatched\) or 4D"):
        nn.ReflectionPad2d(1)(mg.randn(3, 3))
    with pytest.raises(ValueError, match=r"CircularPad1d\(.*circular padding"):
        nn.CircularPad1d(4)(mg.randn(1, 2, 3))
    # constant padding takes any input, and a negative width crops
    assert nn.ZeroPad2d((-1, 0, 0, 0))(mg.randn(3, 4)).shape == (3, 3)


# ----------------------------------------------------------------- PyTorch oracle


def _module_oracle(ours, theirs, x, rtol=1e-10):
    torch = pytest.importorskip("torch")
    for name, p in theirs.named_parameters():
        getattr(ours, name).data[...] = p.detach().numpy()
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = ours(xm), theirs(xt)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(ym[1].numpy(), yt[1].numpy())
        ym, yt = ym[0], yt[0]
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=rtol, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(yt.shape)
    ym.backward(mg.tensor(v))
    yt.backward(torch.tensor(v))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(),
                                   rtol=rtol, atol=1e-12, err_msg=name)
    for name, b in theirs.named_buffers():
        np.testing.assert_allclose(getattr(ours, name).numpy(), b.numpy(), rtol=1e-12,
                                   err_msg=name)
    assert repr(ours) == repr(theirs)


ORACLE_LAYERS = [
    ("AdaptiveMaxPool1d", (3,), {"return_indices": True}, (2, 3, 7)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 5, 7)),
    ("AdaptiveMaxPool2d", ((None, 4),), {"return_indices": True}, (3, 4, 6)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}, (4, 3, 6)),
    ("InstanceNorm2d", (2,), {"affine": True, "momentum": 0.3, "track_running_stats": True},
     (3, 2, 4, 3)),
    ("InstanceNorm2d", (2,), {"affine": True}, (2, 3, 4)),
    ("RMSNorm", ((3, 4),), {}, (2, 3, 4)),
    ("RMSNorm", (4,), {"eps": 1e-3, "elementwise_affine": False}, (5, 4)),
    ("LocalResponseNorm", (3,), {"alpha": 0.1, "k": 1.5}, (2, 5, 3, 2)),
    ("LocalResponseNorm", (4,), {}, (2, 6, 3)),
    ("Unfold", ((2, 3),), {"dilation": (1, 2), "padding": 1, "stride": (2, 1)}, (2, 3, 5, 7)),
    ("Fold", ((4, 5), 2), {"stride": (1, 2)}, (2, 12, 6)),
    ("Fold", ((5, 6), (2, 3)), {"dilation": 2, "padding": (1, 0), "stride": 2}, (2, 6, 3)),
    ("PixelShuffle", (3,), {}, (2, 18, 2, 3)),
    ("PixelUnshuffle", (2,), {}, (1, 3, 4, 6)),
    ("ZeroPad2d", ((1, 2, 0, 3),), {}, (2, 3, 4, 5)),
    ("ConstantPad1d", ((2, 1), -0.5), {}, (2, 3, 4)),
    ("ConstantPad2d", (1, 2.0), {}, (3, 4, 5)),
    ("ReflectionPad1d", ((3, 1),), {}, (2, 3, 5)),
    ("ReflectionPad2d", ((1, 2, 3, 1),), {}, (2, 3, 4, 5)),
    ("ReplicationPad1d", (3,), {}, (3, 4)),
    ("ReplicationPad2d", ((2, 0, 1, 3),), {}, (2, 2, 3, 4)),
    ("CircularPad1d", ((2, 3),), {}, (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 2, 1),), {}, (2, 2, 3, 4)),
]


@pytest.mark.parametrize("name, args, kw, shape", ORACLE_LAYERS,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(ORACLE_LAYERS)])
def test_against_pytorch(name, args, kw, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(13).standard_normal(shape)
    _module_oracle(getattr(nn, name)(*args, **kw).double(),
                   getattr(torch.nn, name)(*args, **kw).double(), x)


def test_instance_norm_eval_against_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    theirs = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    rng = np.random.default_rng(14)
    for _ in range(2):  # two training steps move the running statistics
        _module_oracle(ours, theirs, rng.standard_normal((4, 3, 5)))
    ours.eval()
    theirs.eval()
    _module_oracle(ours, theirs, rng.standard_normal((2, 3, 5)))
