"""Conv3d/ConvTranspose3d: values by hand (a delta, a box of ones), forward against a direct
loop over output voxels written here from the definition, the transposed convolution
against its scatter definition and as the adjoint of conv3d, gradcheck on hypothesis-drawn
geometries and gradgradcheck of the three conv ops, modules, errors; a PyTorch oracle at
the end (each oracle test imports torch itself and skips without it)."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.conv as conv_module
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.nn.conv3d import Conv3dFunction, Conv3dSpec
from minigrad.testing import assert_close


@pytest.fixture(autouse=True, params=["cpu_one_image_per_block", "gpu_layout"])
def conv_layout(request, monkeypatch):
    """Both column layouts: blocks of a single image (so every batch has several blocks and
    the weight gradient rebuilds its columns) and the whole batch as one block."""
    if request.param == "gpu_layout":
        monkeypatch.setattr(conv_module, "_on_cpu", lambda xp: False)
    else:
        monkeypatch.setattr(conv_module, "_BLOCK_BYTES", 1)
    return request.param


def _t(a, device="cpu", grad=True):
    return None if a is None else mg.tensor(a, dtype=mg.float64, device=device,
                                            requires_grad=grad)


def _triple(v):
    return (v,) * 3 if isinstance(v, int) else tuple(v)


def conv3d_reference(x, w, b, stride, padding, dilation, groups):
    """y[n,o,t,h,v] = b[o] + Σ_{c,i,j,l} W[o,c,i,j,l]·x_pad[n, g·Cg + c, t·s + i·d, ...]."""
    (sd, sh, sw), (dd, dh, dw) = _triple(stride), _triple(dilation)
    xpad = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in _triple(padding)))
    O, Cg, kd, kh, kw = w.shape
    D, H, W = xpad.shape[2:]
    out = ((D - dd * (kd - 1) - 1) // sd + 1, (H - dh * (kh - 1) - 1) // sh + 1,
           (W - dw * (kw - 1) - 1) // sw + 1)
    y = np.zeros((x.shape[0], O) + out)
    Og = O // groups
    for o in range(O):
        g = o // Og
        for t, h, v in itertools.product(*map(range, out)):
            patch = xpad[:, g * Cg:(g + 1) * Cg, t * sd:t * sd + dd * (kd - 1) + 1:dd,
                         h * sh:h * sh + dh * (kh - 1) + 1:dh,
                         v * sw:v * sw + dw * (kw - 1) + 1:dw]
            y[:, o, t, h, v] = (patch * w[o]).sum(axis=(1, 2, 3, 4))
        if b is not None:
            y[:, o] += b[o]
    return y


def conv_transpose3d_reference(x, w, b, stride, padding, output_padding, groups, dilation):
    """Input voxel (t, h, v) of channel c scatters x·W[c, o] into the output window that
    starts at (t, h, v)·s − p, taps d apart; what lands outside [0, n_out) is cut off."""
    s, p, op_, d = (_triple(a) for a in (stride, padding, output_padding, dilation))
    N, C = x.shape[:2]
    _, Og, *k = w.shape
    out = tuple((n - 1) * s_ - 2 * p_ + d_ * (k_ - 1) + o + 1
                for n, s_, p_, d_, k_, o in zip(x.shape[2:], s, p, d, k, op_))
    y = np.zeros((N, Og * groups) + out)
    Cg = C // groups
    for c in range(C):
        g = c // Cg
        for pos in itertools.product(*map(range, x.shape[2:])):
            for tap in itertools.product(*map(range, k)):
                q = tuple(a * s_ - p_ + i * d_ for a, s_, p_, i, d_ in zip(pos, s, p, tap, d))
                if all(0 <= qi < n for qi, n in zip(q, out)):
                    y[(slice(None), slice(g * Og, (g + 1) * Og)) + q] += (
                        x[(slice(None), c) + pos][:, None] * w[(c, slice(None)) + tap])
    if b is not None:
        y += b[None, :, None, None, None]
    return y


# ------------------------------------------------------------------ by hand


def test_conv3d_of_a_delta_is_the_flipped_kernel():
    """A single 1 at the centre of a 3×3×3 volume, 'valid' 2×2×2 kernel: output (t, h, w)
    reads W at (1 − t, 1 − h, 1 − w), the kernel flipped in all three dims."""
    x = np.zeros((1, 1, 3, 3, 3))
    x[0, 0, 1, 1, 1] = 1.0
    w = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    y = F.conv3d(_t(x), _t(w))
    assert y.shape == (1, 1, 2, 2, 2)
    assert_close(y[0, 0], w[0, 0, ::-1, ::-1, ::-1], rtol=0)
    # stride 2, dilation 2, padding 1: window t starts at padded position 2t and its taps
    # are 2 apart, so the delta (padded position 2) meets tap 1 − t: the flipped kernel again
    y = F.conv3d(_t(x), _t(w), stride=2, padding=1, dilation=2)
    assert_close(y[0, 0], w[0, 0, ::-1, ::-1, ::-1], rtol=0)
    # a 1×1×1 kernel with stride 2 samples the even positions: it misses the delta at
    # (1, 1, 1), unless a padding of 1 shifts the samples onto the odd ones
    three = _t(np.full((1, 1, 1, 1, 1), 3.0))
    assert not F.conv3d(_t(x), three, stride=2).numpy().any()
    y = F.conv3d(_t(x), three, stride=2, padding=1).numpy()
    assert y.shape == (1, 1, 3, 3, 3) and y[0, 0, 1, 1, 1] == 3.0 and y.sum() == 3.0


def test_conv3d_of_ones_counts_the_voxels_each_window_covers():
    """Ones through a 3×3×3 ones kernel with padding 1: 8 at a corner, 12 on an edge, 18
    on a face, 27 inside."""
    y = F.conv3d(mg.ones(1, 1, 4, 4, 4), mg.ones(1, 1, 3, 3, 3), padding=1)[0, 0].numpy()
    assert (y[0, 0, 0], y[0, 0, 1], y[0, 1, 1], y[1, 1, 1]) == (8.0, 12.0, 18.0, 27.0)
    # groups=2 with per-group constant kernels: each output channel sums its own group
    x = np.concatenate([np.ones((1, 1, 2, 2, 2)), 2 * np.ones((1, 1, 2, 2, 2))], axis=1)
    w = np.stack([np.full((1, 2, 2, 2), 1.0), np.full((1, 2, 2, 2), 10.0)])
    assert F.conv3d(_t(x), _t(w), groups=2).numpy().ravel().tolist() == [8.0, 160.0]


def test_conv_transpose3d_by_hand():
    """A 2-voxel input through a length-3 ones kernel with stride 2: windows overlap in
    the middle (1, 1, 2, 1, 1); output_padding 1 adds a 0 plane and padding 1 cuts one
    plane off each end."""
    x, w = mg.ones(1, 1, 2, 1, 1), mg.ones(1, 1, 3, 1, 1)
    assert F.conv_transpose3d(x, w, stride=2).numpy().ravel().tolist() == [1, 1, 2, 1, 1]
    y = F.conv_transpose3d(x, w, stride=2, padding=(1, 0, 0), output_padding=(1, 0, 0))
    assert y.numpy().ravel().tolist() == [1, 2, 1, 1]


# ------------------------------------------------------------------ definition, gradients


@st.composite
def conv3d_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 2)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(3))
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 4))
                 for k, d, p in zip(kernel, dilation, padding))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((draw(st.integers(1, 2)), cin) + size)
    w = rng.standard_normal((cout, cin // groups) + kernel)
    b = rng.standard_normal(cout) if draw(st.booleans()) else None
    return x, w, b, stride, padding, dilation, groups


@given(case=conv3d_cases())
def test_conv3d_matches_the_definition_and_gradcheck(case, device):
    x, w, b, stride, padding, dilation, groups = case
    y = F.conv3d(_t(x, device), _t(w, device), _t(b, device), stride, padding, dilation,
                 groups)
    assert_close(y, conv3d_reference(x, w, b, stride, padding, dilation, groups), rtol=1e-10,
                 atol=1e-12)
    inputs = tuple(t for t in (_t(x, device), _t(w, device), _t(b, device)) if t is not None)
    assert mg.gradcheck(lambda x, w, *b: F.conv3d(x, w, b[0] if b else None, stride, padding,
                                                  dilation, groups), inputs)


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 2), (1, 1, 2, 1), ((2, 1, 1), (0, 1, 1), (1, 1, 2), 2)])
def test_conv3d_gradgradcheck(stride, padding, dilation, groups, device):
    """Every derivative of conv3d is again conv3d / its input gradient / its weight
    gradient, so second derivatives exist and are exact."""
    rng = np.random.default_rng(1)
    x = _t(rng.standard_normal((1, 2, 3, 4, 3)), device)
    w = _t(rng.standard_normal((2, 2 // groups, 2, 2, 1)), device)
    b = _t(rng.standard_normal(2), device)
    assert mg.gradgradcheck(lambda x, w, b: F.conv3d(x, w, b, stride, padding, dilation,
                                                     groups), (x, w, b))


def test_conv3d_ops_gradgradcheck_directly():
    """The three Functions on their own (no bias), with the batch cut into blocks."""
    rng = np.random.default_rng(2)
    spec = Conv3dSpec((2, 1, 2), (1, 2, 1), ((1, 0), (0, 1), (1, 1)), (1, 1, 2), 1)
    x, w = _t(rng.standard_normal((2, 2, 3, 3, 3))), _t(rng.standard_normal((3, 2, 2, 1, 2)))
    assert mg.gradgradcheck(lambda a, b: Conv3dFunction(spec)(a, b), (x, w))


@st.composite
def conv_transpose3d_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin, og = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 2)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(3))
    size = tuple(draw(st.integers(1, 3)) for _ in range(3))
    for n, s, p, d, k, o in zip(size, stride, padding, dilation, kernel, output_padding):
        assume((n - 1) * s - 2 * p + d * (k - 1) + o + 1 >= 1)
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    b = rng.standard_normal(og * groups) if draw(st.booleans()) else None
    return (rng.standard_normal((2, cin) + size), rng.standard_normal((cin, og) + kernel), b,
            stride, padding, output_padding, groups, dilation)


@settings(max_examples=15)
@given(case=conv_transpose3d_cases())
def test_conv_transpose3d_matches_the_definition_and_gradcheck(case, device):
    x, w, b, *geometry = case
    y = F.conv_transpose3d(_t(x, device), _t(w, device), _t(b, device), *geometry)
    assert_close(y, conv_transpose3d_reference(x, w, b, *geometry), rtol=1e-10, atol=1e-12)
    inputs = tuple(t for t in (_t(x, device), _t(w, device), _t(b, device)) if t is not None)
    assert mg.gradcheck(lambda x, w, *b: F.conv_transpose3d(x, w, b[0] if b else None,
                                                            *geometry), inputs)


def test_conv_transpose3d_is_the_adjoint_of_conv3d(device):
    """⟨conv3d(u, W), x⟩ = ⟨u, conv_transpose3d(x, W)⟩ for every u and x."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 1, 3, 2, 2))                 # conv3d: 2 → 4 channels, g = 2
    u = rng.standard_normal((2, 2, 7, 6, 5))
    geometry = dict(stride=2, padding=(1, 0, 1), dilation=(1, 2, 1), groups=2)
    y = F.conv3d(_t(u, device), _t(w, device), **geometry)
    x = rng.standard_normal(y.shape)
    z = F.conv_transpose3d(_t(x, device), _t(w, device), output_padding=(0, 1, 1), **geometry)
    assert z.shape == u.shape
    assert np.isclose((y.cpu().numpy() * x).sum(), (u * z.cpu().numpy()).sum(), rtol=1e-12)


@pytest.mark.parametrize("stride,padding,output_padding,dilation",
                         [(1, 0, 0, 1), (2, 1, 1, 1), ((1, 2, 1), 1, (1, 0, 0), (2, 1, 1))])
def test_conv_transpose3d_gradgradcheck(stride, padding, output_padding, dilation, device):
    rng = np.random.default_rng(2)
    x = _t(rng.standard_normal((1, 2, 2, 3, 2)), device)
    w = _t(rng.standard_normal((2, 2, 2, 1, 2)), device)
    b = _t(rng.standard_normal(2), device)
    assert mg.gradgradcheck(lambda x, w, b: F.conv_transpose3d(
        x, w, b, stride, padding, output_padding, 1, dilation), (x, w, b))


def test_conv3d_with_a_depth_one_kernel_is_conv2d_of_each_slice():
    """Depth kernel 1, depth stride 1: every depth slice is convolved on its own by the
    2-D convolution (the tuned path), so the two implementations must agree."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4, 3, 6, 5)), rng.standard_normal((6, 2, 1, 3, 2))
    y = F.conv3d(_t(x), _t(w), stride=(1, 2, 1), padding=(0, 1, 1), dilation=(1, 1, 2),
                 groups=2)
    for t in range(3):
        y2 = F.conv2d(_t(x[:, :, t]), _t(w[:, :, 0]), stride=(2, 1), padding=1,
                      dilation=(1, 2), groups=2)
        assert_close(y[:, :, t], y2, rtol=1e-12, atol=1e-13)


def test_conv3d_of_a_strided_input_and_an_empty_batch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4, 5, 3))
    X = _t(np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4)))
    w = rng.standard_normal((2, 3, 2, 2, 2))
    y = F.conv3d(X.transpose(1, 2), _t(w), padding=1)             # a (2, 3, 4, 5, 3) view
    assert_close(y, conv3d_reference(x, w, None, 1, 1, 1, 1), rtol=1e-10, atol=1e-12)
    E, W = _t(np.zeros((0, 3, 4, 4, 4))), _t(w)
    y = F.conv3d(E, W, _t(np.ones(2)), padding=1)
    assert y.shape == (0, 2, 5, 5, 5)
    y.sum().backward()
    assert E.grad.shape == E.shape and not W.grad.numpy().any()
    assert F.conv_transpose3d(_t(np.zeros((0, 2, 2, 2, 2))), W).shape == (0, 3, 3, 3, 3)


def test_padding_same_valid_unbatched_and_padding_modes(device):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 5, 3))
    conv = nn.Conv3d(2, 3, (2, 3, 2), padding="same", dilation=(2, 1, 1)).double().to(device)
    y = conv(_t(x, device))                         # unbatched: (C, D, H, W) → (3, 4, 5, 3)
    assert y.shape == (3, 4, 5, 3)
    # 'same' with an even kernel puts the odd extra at the end: depth (1, 1), width (0, 1)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 1)))
    ref = conv3d_reference(xp[None], conv.weight.cpu().numpy(), conv.bias.cpu().numpy(), 1,
                           0, (2, 1, 1), 1)[0]
    assert_close(y, ref, rtol=1e-10, atol=1e-12)
    assert F.conv3d(_t(x[None], device), conv.weight, padding="valid").shape == (1, 3, 3, 3, 2)
    for mode, np_mode in [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")]:
        layer = nn.Conv3d(2, 2, 2, stride=(1, 2, 1), padding=(1, 1, 0), padding_mode=mode)
        layer = layer.double().to(device)
        xpad = np.pad(x[None], ((0, 0), (0, 0), (1, 1), (1, 1), (0, 0)), mode=np_mode)
        expected = conv3d_reference(xpad, layer.weight.cpu().numpy(), layer.bias.cpu().numpy(),
                                    (1, 2, 1), 0, 1, 1)
        xt = _t(x[None], device)
        assert_close(layer(xt), expected, rtol=1e-12)
        assert mg.gradcheck(lambda x, *params, layer=layer: layer(x),
                            (xt, layer.weight, layer.bias))


def test_conv3d_and_conv_transpose3d_modules(device):
    mg.manual_seed(0)
    conv = nn.Conv3d(4, 6, (3, 1, 2), stride=(1, 2, 1), groups=2)
    assert conv.weight.shape == (6, 2, 3, 1, 2) and conv.bias.shape == (6,)
    bound = 1 / math.sqrt(2 * 3 * 1 * 2)                 # fan_in = C_in/groups·kD·kH·kW
    assert np.abs(conv.weight.numpy()).max() <= bound
    assert repr(conv) == ("Conv3d(4, 6, kernel_size=(3, 1, 2), stride=(1, 2, 1), groups=2)")
    assert conv(mg.randn(2, 4, 5, 5, 5)).shape == (2, 6, 3, 3, 4)
    up = nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1, bias=False)
    up = up.double().to(device)
    assert up.weight.shape == (4, 2, 3, 3, 3) and up.bias is None
    x = np.random.default_rng(7).standard_normal((1, 4, 2, 3, 2))
    y = up(_t(x, device))
    assert y.shape == (1, 2, 4, 6, 4)
    assert_close(y, conv_transpose3d_reference(x, up.weight.cpu().numpy(), None, 2, 1, 1, 1, 1),
                 rtol=1e-10, atol=1e-12)
    assert up(_t(x, device), output_size=(3, 5, 4)).shape == (1, 2, 3, 5, 4)
    assert up(_t(x[0], device)).shape == (2, 4, 6, 4)                       # unbatched
    with pytest.raises(ValueError, match=r"each size must be in \[3, 4\]"):
        up(_t(x, device), output_size=(5, 6, 4))
    assert repr(up) == ("ConvTranspose3d(4, 2, kernel_size=(3, 3, 3), stride=(2, 2, 2), "
                        "padding=(1, 1, 1), output_padding=(1, 1, 1), bias=False)")


def test_conv3d_trains_and_runs_in_float32_and_float16():
    mg.manual_seed(1)
    conv = nn.Conv3d(1, 2, 2, bias=False)
    x = mg.randn(2, 1, 4, 4, 4)
    before = float((conv(x) ** 2).mean())
    for _ in range(20):
        loss = (conv(x) ** 2).mean()
        conv.zero_grad()
        loss.backward()
        with mg.no_grad():
            conv.weight.data -= 0.5 * conv.weight.grad.data
    assert float((conv(x) ** 2).mean()) < 0.5 * before
    y32 = conv(x)
    assert y32.dtype == mg.float32
    y16 = conv.half()(x.half())
    assert y16.dtype == mg.float16
    assert_close(y16.float(), y32, rtol=2e-2, atol=2e-2)


def test_errors_name_the_op_and_shapes():
    w = mg.zeros(2, 2, 3, 3, 3)
    with pytest.raises(ValueError, match=r"conv3d: weight must be 5-D"):
        F.conv3d(mg.zeros(1, 2, 4, 4, 4), mg.zeros(2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"conv3d: expected 4-D \(unbatched\) or 5-D input"):
        F.conv3d(mg.zeros(2, 4, 4), w)
    with pytest.raises(ValueError, match="expects input with 2 channels"):
        F.conv3d(mg.zeros(1, 3, 4, 4, 4), w)
    with pytest.raises(ValueError, match="out_channels \\(3\\) must be divisible by groups"):
        F.conv3d(mg.zeros(1, 2, 4, 4, 4), mg.zeros(3, 1, 1, 1, 1), groups=2)
    with pytest.raises(ValueError, match=r"kernel size \(3, 3, 3\) \(dilated: \(5, 5, 5\)\) is "
                                         r"larger than the padded input size \(4, 4, 4\)"):
        F.conv3d(mg.zeros(1, 2, 4, 4, 4), w, dilation=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv3d(mg.zeros(1, 2, 4, 4, 4), w, stride=2, padding="same")
    with pytest.raises(ValueError, match="expected an int or a triple for stride"):
        F.conv3d(mg.zeros(1, 2, 4, 4, 4), w, stride=(1, 2))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.conv3d(mg.zeros(1, 2, 4, 4, 4), w, mg.zeros(3))
    with pytest.raises(TypeError, match="dtype"):
        F.conv3d(mg.zeros(1, 2, 4, 4, 4, dtype=mg.float64), w)
    with pytest.raises(ValueError, match=r"Conv3d\(2, 4.*expected input of shape "
                                         r"\(N, 2, D, H, W\) or \(2, D, H, W\)"):
        nn.Conv3d(2, 4, 3)(mg.zeros(1, 3, 5, 5, 5))
    with pytest.raises(ValueError, match="output_padding .* must be smaller than the stride"):
        F.conv_transpose3d(mg.zeros(1, 2, 3, 3, 3), w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="is not positive"):
        F.conv_transpose3d(mg.zeros(1, 2, 1, 1, 1), mg.zeros(2, 2, 1, 1, 1), padding=1)
    with pytest.raises(ValueError, match="only padding_mode='zeros'"):
        nn.ConvTranspose3d(2, 2, 3, padding_mode="reflect")


# ------------------------------------------------------------------ oracle


def _copy_parameters(ours, theirs):
    for name, p in theirs.named_parameters():
        getattr(ours, name).data[...] = p.detach().numpy()


def _check_against_torch(torch, ours, theirs, x, rng):
    """Same parameters, then the same repr, output, input gradient and parameter
    gradients for a random cotangent."""
    _copy_parameters(ours, theirs)
    assert repr(ours) == repr(theirs)
    X, T = _t(x), torch.tensor(x, requires_grad=True)
    y, yt = ours(X), theirs(T)
    assert_close(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(yt.shape)
    y.backward(_t(g, grad=False))
    yt.backward(torch.tensor(g))
    assert_close(X.grad, T.grad.numpy(), rtol=1e-10, atol=1e-11)
    for name, p in theirs.named_parameters():
        assert_close(getattr(ours, name).grad, p.grad.numpy(), rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=(2, 3, 1), stride=(2, 1, 3), padding=(1, 0, 1), dilation=(1, 2, 1)),
    dict(kernel_size=2, padding="same", dilation=2, groups=2, bias=False),
    dict(kernel_size=3, stride=2, padding=2, padding_mode="reflect", groups=2),
    dict(kernel_size=(1, 2, 2), padding=(0, 1, 2), padding_mode="circular"),
])
def test_conv3d_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 6, 7, 5))
    ours = nn.Conv3d(4, 6, **kwargs).double()
    theirs = torch.nn.Conv3d(4, 6, **kwargs).double()
    _check_against_torch(torch, ours, theirs, x, rng)


def test_conv3d_second_derivative_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 2, 4, 3, 4))
    ours = nn.Conv3d(2, 2, 2, stride=(1, 2, 1), padding=1).double()
    theirs = torch.nn.Conv3d(2, 2, 2, stride=(1, 2, 1), padding=1).double()
    _copy_parameters(ours, theirs)
    X, T = _t(x), torch.tensor(x, requires_grad=True)
    y, yt = ours(X), theirs(T)
    g = rng.standard_normal(yt.shape)
    (gx,) = mg.autograd.grad(y, (X,), _t(g, grad=False), create_graph=True)
    (gw,) = mg.autograd.grad((gx * gx).sum(), (ours.weight,))
    (tgx,) = torch.autograd.grad(yt, (T,), torch.tensor(g), create_graph=True)
    (tgw,) = torch.autograd.grad((tgx * tgx).sum(), (theirs.weight,))
    assert_close(gw, tgw.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(0, 1, 1), output_padding=(0, 1, 2),
         groups=2, dilation=(2, 1, 1)),
    dict(kernel_size=2, stride=1, dilation=3, output_padding=2, bias=False),
])
def test_conv_transpose3d_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 4, 3, 4, 3))
    ours = nn.ConvTranspose3d(4, 6, **kwargs).double()
    theirs = torch.nn.ConvTranspose3d(4, 6, **kwargs).double()
    _check_against_torch(torch, ours, theirs, x, rng)
