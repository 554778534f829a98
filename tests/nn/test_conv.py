"""Conv1d/Conv2d: forward against a direct loop over output pixels (written here from the
definition), gradcheck over every combination of stride/padding/dilation/groups and on
hypothesis-drawn geometries, gradgradcheck of the three conv ops, errors, init; and a
PyTorch oracle when torch is importable."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from minigrad.kernels import cublas_gemm

import minigrad as mg
import minigrad.nn.conv as conv_module
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import assert_close


@pytest.fixture(autouse=True,
                params=["cpu_one_image_per_block", "gpu_layout", "device_kernels"])
def conv_layout(request, monkeypatch):
    """Run every test with the three ways a convolution is computed: the CPU's column
    layout (here with blocks of a single image, so that every batch has several blocks),
    the CuPy-array layout (the whole batch as one block, the compact grid; grouped
    convolutions on a GPU), and the GPU kernels' path (conv_device: im2col, strided-batched
    GEMMs, col2im) run with the kernels' NumPy twins."""
    if request.param == "gpu_layout":
        monkeypatch.setattr(conv_module, "_on_cpu", lambda xp: False)
        monkeypatch.setitem(cublas_gemm.direct_gemm._state, "on", False)  # on a GPU too
    elif request.param == "device_kernels":
        monkeypatch.setitem(conv_module.conv_device.reference_on_cpu._state, "on", True)
    else:
        monkeypatch.setattr(conv_module, "_BLOCK_BYTES", 1)
    return request.param


def conv2d_reference(x, w, b, stride, padding, dilation, groups):
    """y[n,o,h,w] = b[o] + Σ_{c,i,j} W[o,c,i,j]·x_pad[n, g·Cg + c, h·s + i·d, w·s + j·d]."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xpad = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xpad[:, :, ph:ph + H, pw:pw + W] = x
    Ho = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, O, Ho, Wo))
    Og = O // groups
    for o in range(O):
        g = o // Og
        for h in range(Ho):
            for v in range(Wo):
                patch = xpad[:, g * Cg:(g + 1) * Cg, h * sh:h * sh + dh * (kh - 1) + 1:dh,
                             v * sw:v * sw + dw * (kw - 1) + 1:dw]
                y[:, o, h, v] = (patch * w[o]).sum(axis=(1, 2, 3))
        if b is not None:
            y[:, o] += b[o]
    return y


def conv2d_reference_grads(x, w, gy, stride, padding, dilation, groups):
    """(gx, gW) of ⟨gy, conv(x, W)⟩ from the definition: every output pixel's receptive
    field patch gets W·gy added to gx and contributes gy·patch to gW."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = stride, padding, dilation
    xpad = np.zeros((N, C, H + pt + pb, W + pl + pr))
    xpad[:, :, pt:pt + H, pl:pl + W] = x
    gxpad, gw = np.zeros_like(xpad), np.zeros_like(w)
    Og = O // groups
    for k in range(groups):
        cs, os_ = slice(k * Cg, (k + 1) * Cg), slice(k * Og, (k + 1) * Og)
        for h in range(gy.shape[2]):
            for v in range(gy.shape[3]):
                rows = slice(h * sh, h * sh + dh * (kh - 1) + 1, dh)
                cols = slice(v * sw, v * sw + dw * (kw - 1) + 1, dw)
                g = gy[:, os_, h, v]  # (N, O/g)
                gw[os_] += np.einsum("no,ncij->ocij", g, xpad[:, cs, rows, cols])
                gxpad[:, cs, rows, cols] += np.einsum("no,ocij->ncij", g, w[os_])
    return gxpad[:, :, pt:pt + H, pl:pl + W], gw


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,groups", [
    ((5, 4, 7, 6), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 2),    # same size: transposed
    ((5, 3, 6, 9), (4, 3), (1, 1), ((1, 2), (2, 2)), (1, 2), 1),    # 'same', even kernel
    ((5, 4, 7, 5), (3, 2), (1, 1), ((0, 0), (1, 1)), (2, 1), 2),    # stride 1: col2im, gaps
    ((5, 2, 9, 7), (3, 3), (2, 1), ((1, 1), (0, 0)), (1, 1), 1),    # strided: compact grid
    ((5, 6, 5, 8), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 3),    # 1×1, stride 2
    ((5, 2, 4, 4), (1, 1), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),    # padding > kernel
])
def test_conv_blocks_and_grids_match_the_definition(shape, kernel, stride, padding, dilation,
                                                    groups, monkeypatch, conv_layout):
    """Forward, input and weight gradient against direct loops, with the batch of 5 cut
    into ragged blocks (2, 2, 1), on both grids and through both input-gradient paths."""
    if conv_layout != "gpu_layout":
        monkeypatch.setattr(conv_module, "_image_blocks",
                            lambda xp, N, nbytes: [(n, min(n + 2, N)) for n in range(0, N, 2)])
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((6, shape[1] // groups) + kernel)
    spec = conv_module.ConvSpec(kernel, stride, padding, dilation, groups)
    X, Wt = _t(x, "cpu"), _t(w, "cpu")
    y = conv_module.Conv2dFunction(spec)(X, Wt)
    xpad = np.pad(x, ((0, 0), (0, 0)) + padding)
    assert_close(y, conv2d_reference(xpad, w, None, stride, (0, 0), dilation, groups),
                 rtol=1e-10, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    y.backward(mg.tensor(gy))
    gx, gw = conv2d_reference_grads(x, w, gy, stride, padding, dilation, groups)
    assert_close(X.grad, gx, rtol=1e-10, atol=1e-12)
    assert_close(Wt.grad, gw, rtol=1e-10, atol=1e-12)
    assert mg.gradgradcheck(lambda a, b: conv_module.Conv2dFunction(spec)(a, b),
                            (_t(x[:2], "cpu"), _t(w, "cpu")))


@pytest.mark.parametrize("padding", [1, 0])  # same size (flipped conv) and col2im paths
def test_conv_of_an_empty_batch(padding):
    """N = 0: an empty output of the right shape, and zero gradients (no blocks at all)."""
    X = _t(np.zeros((0, 3, 5, 5)), "cpu")
    Wt = _t(np.random.default_rng(0).standard_normal((4, 3, 3, 3)), "cpu")
    b = _t(np.ones(4), "cpu")
    y = F.conv2d(X, Wt, b, padding=padding)
    assert y.shape == (0, 4, 5 - 2 + 2 * padding, 5 - 2 + 2 * padding)
    y.sum().backward()
    assert X.grad.shape == X.shape
    np.testing.assert_array_equal(Wt.grad.data, np.zeros(Wt.shape))
    np.testing.assert_array_equal(b.grad.data, np.zeros(4))
    y1 = F.conv1d(_t(np.zeros((0, 3, 7)), "cpu"), _t(np.ones((2, 3, 3)), "cpu"))
    assert y1.shape == (0, 2, 5)


@pytest.mark.parametrize("C, O", [(0, 2), (2, 0)])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_of_empty_channel_dims(C, O, stride):
    """No input channels: every output is the bias (a sum over nothing); no output channels:
    an empty output, and x's gradient zero. Gradients of the right (empty) shapes, on every
    path (the 'same'-size input gradient and col2im); conv_transpose2d too."""
    rng = np.random.default_rng(1)
    X = _t(rng.standard_normal((2, C, 5, 5)), "cpu")
    Wt = _t(rng.standard_normal((O, C, 3, 3)), "cpu")
    b = _t(rng.standard_normal(O), "cpu")
    y = F.conv2d(X, Wt, b, padding=1, stride=stride)
    Ho = 5 if stride == 1 else 3
    assert y.shape == (2, O, Ho, Ho)
    np.testing.assert_array_equal(y.data, np.broadcast_to(b.data[:, None, None], y.shape))
    (y * 3).sum().backward()
    assert X.grad.shape == X.shape and Wt.grad.shape == Wt.shape
    np.testing.assert_array_equal(X.grad.data, np.zeros(X.shape))
    np.testing.assert_array_equal(b.grad.data, np.full(O, 3.0 * 2 * Ho * Ho))
    yt = F.conv_transpose2d(_t(rng.standard_normal((2, O, 3, 3)), "cpu"),
                            _t(rng.standard_normal((O, C, 3, 3)), "cpu"), stride=stride)
    assert yt.shape == (2, C, 2 * stride + 3, 2 * stride + 3)
    np.testing.assert_array_equal(yt.data, np.zeros(yt.shape))


def test_conv_of_strided_input_and_broadcast_gradient():
    """x a transposed view and gy the zero-stride broadcast of y.sum()'s gradient: the
    blocks copy whatever strides they are given."""
    rng = np.random.default_rng(13)
    x = rng.standard_normal((6, 5, 3, 4))
    w = rng.standard_normal((4, 3, 3, 3))
    for padding in (1, 0):  # same size (transposed-convolution input gradient), col2im
        X = _t(np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3), "cpu")
        Wt = _t(w, "cpu")
        y = F.conv2d(X.transpose(1, 2), Wt, padding=padding)  # (6, 3, 5, 4), not contiguous
        assert_close(y, conv2d_reference(x.transpose(0, 2, 1, 3), w, None, (1, 1),
                                         (padding, padding), (1, 1), 1), rtol=1e-10,
                     atol=1e-12)
        y.sum().backward()
        p = ((padding, padding), (padding, padding))
        gx, gw = conv2d_reference_grads(x.transpose(0, 2, 1, 3), w, np.ones(y.shape),
                                        (1, 1), p, (1, 1), 1)
        assert_close(X.grad, gx.transpose(0, 2, 1, 3), rtol=1e-10, atol=1e-12)
        assert_close(Wt.grad, gw, rtol=1e-10, atol=1e-12)


def test_conv_float16_weight_gradient_sums_in_float32():
    """Half inputs: the weight gradient's sum over blocks is kept in float32."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((6, 3, 8, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    X = mg.tensor(x.astype(np.float16), requires_grad=True)
    Wt = mg.tensor(w.astype(np.float16), requires_grad=True)
    y = F.conv2d(X, Wt, padding=1)
    assert y.dtype == mg.float16
    gy = rng.standard_normal(y.shape)
    y.backward(mg.tensor(gy.astype(np.float16)))
    x16, w16 = x.astype(np.float16).astype(np.float64), w.astype(np.float16).astype(np.float64)
    gy16 = gy.astype(np.float16).astype(np.float64)
    gx, gw = conv2d_reference_grads(x16, w16, gy16, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    assert Wt.grad.dtype == mg.float16 and X.grad.dtype == mg.float16
    assert_close(Wt.grad.float(), gw, rtol=2e-3, atol=2e-2)
    assert_close(X.grad.float(), gx, rtol=2e-3, atol=2e-2)


@st.composite
def conv_cases(draw, max_side=6):
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    min_h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0])
    min_w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1])
    H = draw(st.integers(min_h, max(min_h, max_side)))
    W = draw(st.integers(min_w, max(min_w, max_side)))
    N = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((N, cin, H, W))
    w = rng.standard_normal((cout, cin // groups, kh, kw))
    b = rng.standard_normal(cout) if bias else None
    return x, w, b, stride, padding, dilation, groups


def _t(a, device, grad=True):
    return None if a is None else mg.tensor(a, dtype=mg.float64, device=device,
                                            requires_grad=grad)


@given(case=conv_cases())
def test_conv2d_forward_matches_direct_loop(case, device):
    x, w, b, stride, padding, dilation, groups = case
    y = F.conv2d(_t(x, device), _t(w, device), _t(b, device), stride, padding, dilation,
                 groups)
    assert_close(y, conv2d_reference(x, w, b, stride, padding, dilation, groups), rtol=1e-10,
                 atol=1e-12)


@given(case=conv_cases(max_side=5))
def test_conv2d_gradcheck_hypothesis(case, device):
    x, w, b, stride, padding, dilation, groups = case
    inputs = tuple(t for t in (_t(x, device), _t(w, device), _t(b, device)) if t is not None)
    assert mg.gradcheck(
        lambda *a: F.conv2d(a[0], a[1], a[2] if len(a) == 3 else None, stride, padding,
                            dilation, groups), inputs)


@pytest.mark.parametrize("stride,padding,dilation,groups",
                         list(itertools.product([1, 2], [0, 1], [1, 2], [1, 2])))
def test_conv2d_gradcheck_every_combination(stride, padding, dilation, groups, device):
    rng = np.random.default_rng(stride * 8 + padding * 4 + dilation * 2 + groups)
    x = _t(rng.standard_normal((2, 4, 6, 5)), device)
    w = _t(rng.standard_normal((4, 4 // groups, 3, 2)), device)
    b = _t(rng.standard_normal(4), device)
    assert mg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                        (x, w, b))


@pytest.mark.parametrize("stride,padding,dilation,groups",
                         [(1, 0, 1, 1), (2, 1, 1, 2), (1, 1, 2, 1), (2, 0, 2, 2)])
def test_conv2d_gradgradcheck(stride, padding, dilation, groups, device):
    """Second derivatives: every derivative of conv is again conv / grad_input /
    grad_weight, so the backward of the backward exists and is exact."""
    rng = np.random.default_rng(1)
    x = _t(rng.standard_normal((1, 2, 5, 4)), device)
    w = _t(rng.standard_normal((2, 2 // groups, 2, 2)), device)
    b = _t(rng.standard_normal(2), device)
    assert mg.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation,
                                                     groups), (x, w, b))


def test_conv_third_derivative_exists():
    """d³/dx dW dW of Σ conv(x, W)² style objectives: grad of grad of grad runs."""
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal((1, 1, 4, 4)), "cpu")
    w = _t(rng.standard_normal((1, 1, 2, 2)), "cpu")
    y = (F.conv2d(x, w) ** 2).sum()
    (gw,) = mg.autograd.grad(y, (w,), create_graph=True)
    (gx,) = mg.autograd.grad((gw * gw).sum(), (x,), create_graph=True)
    (gww,) = mg.autograd.grad(gx.sum(), (w,))
    assert gww.shape == w.shape and np.isfinite(gww.numpy()).all()


@st.composite
def conv1d_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, s, p, d = (draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 1)),
                  draw(st.integers(1, 2)))
    L = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 7))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    return (rng.standard_normal((2, cin, L)), rng.standard_normal((cout, cin // groups, k)),
            rng.standard_normal(cout), s, p, d, groups)


@given(case=conv1d_cases())
def test_conv1d_forward_and_gradcheck(case, device):
    x, w, b, s, p, d, g = case
    y = F.conv1d(_t(x, device), _t(w, device), _t(b, device), s, p, d, g)
    ref = conv2d_reference(x[:, :, None], w[:, :, None], b, (1, s), (0, p), (1, d), g)[:, :, 0]
    assert_close(y, ref, rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(lambda x, w, b: F.conv1d(x, w, b, s, p, d, g),
                        (_t(x, device), _t(w, device), _t(b, device)))


def test_depthwise_and_pointwise(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 5))
    dw = nn.Conv2d(3, 3, 3, padding=1, groups=3).double().to(device)
    pw = nn.Conv2d(3, 4, 1).double().to(device)
    assert dw.weight.shape == (3, 1, 3, 3) and pw.weight.shape == (4, 3, 1, 1)
    y = pw(dw(_t(x, device, grad=False)))
    ref = conv2d_reference(x, dw.weight.cpu().numpy(), dw.bias.cpu().numpy(), (1, 1), (1, 1),
                           (1, 1), 3)
    pw_w = pw.weight.cpu().numpy()[:, :, 0, 0]
    ref2 = np.einsum("oc,nchw->nohw", pw_w, ref) + pw.bias.cpu().numpy()[None, :, None, None]
    assert_close(y, ref2, rtol=1e-10, atol=1e-12)


def test_padding_same_and_valid_and_unbatched():
    x = mg.randn(3, 7, 6, dtype=mg.float64)
    conv = nn.Conv2d(3, 2, (4, 3), padding="same", dilation=(1, 2)).double()
    y = conv(x)  # unbatched input: (C, H, W) -> (C_out, H, W)
    assert y.shape == (2, 7, 6)
    # 'same' with an even kernel pads (1 top, 2 bottom): compare with explicit F.pad
    w = conv.weight.numpy()
    xp = np.pad(x.numpy(), ((0, 0), (1, 2), (2, 2)))
    ref = conv2d_reference(xp[None], w, conv.bias.numpy(), (1, 1), (0, 0), (1, 2), 1)[0]
    assert_close(y, ref, rtol=1e-10, atol=1e-12)
    assert nn.Conv2d(3, 2, 3, padding="valid")(mg.randn(1, 3, 5, 5)).shape == (1, 2, 3, 3)
    c1 = nn.Conv1d(2, 3, 4, padding="same")
    assert c1(mg.randn(2, 9)).shape == (3, 9)


@pytest.mark.parametrize("mode, np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                           ("circular", "wrap")])
def test_conv2d_padding_mode_against_the_definition(mode, np_mode, device):
    """padding_mode pads x in that mode (NumPy's np.pad names) and convolves unpadded."""
    rng = np.random.default_rng(11)
    mg.manual_seed(0)
    layer = nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(2, 1), padding_mode=mode)
    layer = layer.double().to(device)
    x = rng.standard_normal((2, 2, 5, 4))
    xpad = np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)), mode=np_mode)
    expected = conv2d_reference(xpad, layer.weight.cpu().numpy(), layer.bias.cpu().numpy(),
                                (1, 2), (0, 0), (1, 1), 1)
    xt = mg.tensor(x, device=device, requires_grad=True)
    assert_close(layer(xt), expected, rtol=1e-12)
    assert mg.gradcheck(lambda x, *params: layer(x), (xt, layer.weight, layer.bias))
    conv1 = nn.Conv1d(2, 2, 3, padding=2, padding_mode=mode).double().to(device)
    x1 = mg.tensor(rng.standard_normal((1, 2, 4)), device=device, requires_grad=True)
    assert mg.gradcheck(lambda x, *params: conv1(x), (x1, conv1.weight, conv1.bias))


def conv_transpose2d_reference(x, w, b, stride, padding, output_padding, groups, dilation):
    """From the definition: input pixel (h, v) of channel c scatters x·W[c, o] into the
    output window starting at (h·s − p, v·s − p), taps d apart; rows and columns that
    land outside [0, H_out) (the cut padding) are dropped."""
    N, C, H, W = x.shape
    _, Og, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    y = np.zeros((N, Og * groups, Ho, Wo))
    Cg = C // groups
    for c in range(C):
        g = c // Cg
        for h in range(H):
            for v in range(W):
                for i in range(kh):
                    for j in range(kw):
                        r, q = h * sh - ph + i * dh, v * sw - pw + j * dw
                        if 0 <= r < Ho and 0 <= q < Wo:
                            y[:, g * Og:(g + 1) * Og, r, q] += x[:, c, h, v, None] * w[c, :, i, j]
    if b is not None:
        y += b[None, :, None, None]
    return y


@st.composite
def conv_transpose_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin, og = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation))
    padding = tuple(draw(st.integers(0, (d * (k - 1)) // 2 + 1))
                    for k, d in zip(kernel, dilation))
    H, W = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    for n, s, p, d, k, o in zip((H, W), stride, padding, dilation, kernel, output_padding):
        assume((n - 1) * s - 2 * p + d * (k - 1) + o + 1 >= 1)
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    b = rng.standard_normal(og * groups) if draw(st.booleans()) else None
    return (rng.standard_normal((2, cin, H, W)), rng.standard_normal((cin, og) + kernel), b,
            stride, padding, output_padding, groups, dilation)


@given(case=conv_transpose_cases())
def test_conv_transpose2d_matches_the_definition_and_gradcheck(case, device):
    x, w, b, *geometry = case
    y = F.conv_transpose2d(_t(x, device), _t(w, device), _t(b, device), *geometry)
    assert_close(y, conv_transpose2d_reference(x, w, b, *geometry), rtol=1e-10, atol=1e-12)
    inputs = tuple(t for t in (_t(x, device), _t(w, device), _t(b, device)) if t is not None)
    assert mg.gradcheck(lambda x, w, *b: F.conv_transpose2d(x, w, b[0] if b else None,
                                                            *geometry), inputs)


def test_conv_transpose2d_is_the_adjoint_of_conv2d(device):
    """⟨conv2d(u, W), x⟩ = ⟨u, conv_transpose2d(x, W)⟩ for every u and x: the same W read
    as (C_out, C_in/g, k, k) by conv2d and as (C_in', C_out'/g, k, k) by the transpose."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 3, 3, 2))                   # conv2d: 6 → 4 channels, g = 2
    u = rng.standard_normal((2, 6, 9, 8))
    geometry = dict(stride=2, padding=1, dilation=(1, 2), groups=2)
    y = F.conv2d(_t(u, device), _t(w, device), **geometry)
    x = rng.standard_normal(y.shape)
    z = F.conv_transpose2d(_t(x, device), _t(w, device), output_padding=(0, 1), **geometry)
    assert z.shape == u.shape
    assert_close(mg.tensor((y.cpu().numpy() * x).sum()), np.array((u * z.cpu().numpy()).sum()),
                 rtol=1e-12)


@pytest.mark.parametrize("stride,padding,output_padding,dilation",
                         [(1, 0, 0, 1), (2, 1, 1, 1), (1, 1, 1, 2)])
def test_conv_transpose2d_gradgradcheck(stride, padding, output_padding, dilation, device):
    rng = np.random.default_rng(2)
    x = _t(rng.standard_normal((1, 2, 3, 3)), device)
    w = _t(rng.standard_normal((2, 2, 2, 3)), device)
    b = _t(rng.standard_normal(2), device)
    assert mg.gradgradcheck(lambda x, w, b: F.conv_transpose2d(
        x, w, b, stride, padding, output_padding, 1, dilation), (x, w, b))


def test_conv_transpose_layers(device):
    rng = np.random.default_rng(4)
    up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    up = up.double().to(device)
    assert up.weight.shape == (4, 3, 3, 3) and up.bias.shape == (6,)
    x = rng.standard_normal((2, 4, 5, 5))
    y = up(_t(x, device))
    assert y.shape == (2, 6, 10, 10)
    ref = conv_transpose2d_reference(x, up.weight.cpu().numpy(), up.bias.cpu().numpy(),
                                     (2, 2), (1, 1), (1, 1), 2, (1, 1))
    assert_close(y, ref, rtol=1e-10, atol=1e-12)
    assert up(_t(x, device), output_size=(9, 10)).shape == (2, 6, 9, 10)    # PyTorch's way
    with pytest.raises(ValueError, match=r"each size must be in \[9, 10\]"):
        up(_t(x, device), output_size=(11, 10))
    assert repr(up) == ("ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), "
                        "padding=(1, 1), output_padding=(1, 1), groups=2)")
    one = nn.ConvTranspose1d(2, 3, 4, stride=2, bias=False).double().to(device)
    x1 = rng.standard_normal((3, 2, 5))
    ref1 = conv_transpose2d_reference(x1[:, :, None], one.weight.cpu().numpy()[:, :, None],
                                      None, (1, 2), (0, 0), (0, 0), 1, (1, 1))[:, :, 0]
    assert_close(one(_t(x1, device)), ref1, rtol=1e-10, atol=1e-12)
    assert one(_t(x1[0], device)).shape == (3, 12)                         # unbatched


def test_conv_reprs_print_strings_unquoted_as_pytorch():
    """PyTorch's _ConvNd.extra_repr formats padding and padding_mode with str(), not
    repr(): ``padding=same``, ``padding_mode=reflect``."""
    assert repr(nn.Conv2d(2, 3, 3, padding="same", padding_mode="reflect")) == (
        "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=same, padding_mode=reflect)")
    assert repr(nn.Conv1d(2, 3, 3, padding="valid", padding_mode="circular", bias=False)) == (
        "Conv1d(2, 3, kernel_size=(3,), stride=(1,), padding=valid, bias=False, "
        "padding_mode=circular)")


def test_conv_transpose_init_and_errors():
    """PyTorch's init reads fan_in from the weight as stored, (C_in, C_out/g, k, k): here
    C_out/g·k² = 8·9, so every weight and bias lies in ±1/√72."""
    mg.manual_seed(0)
    bound = 1 / math.sqrt(8 * 9)
    up = nn.ConvTranspose2d(64, 8, 3)
    assert np.abs(up.weight.numpy()).max() <= bound and np.abs(up.bias.numpy()).max() <= bound
    assert np.abs(up.weight.numpy()).max() > 0.9 * bound
    with pytest.raises(ValueError, match="only padding_mode='zeros'"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="output_padding .* must be smaller than the stride"):
        F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), stride=2,
                           output_padding=2)
    with pytest.raises(ValueError, match="expects input with 2 channels"):
        F.conv_transpose2d(mg.randn(1, 3, 3, 3), mg.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match="is not positive"):
        F.conv_transpose2d(mg.randn(1, 2, 1, 1), mg.randn(2, 2, 1, 1), padding=1)


def test_conv_transpose_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    for ours, theirs, shape in [
            (nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0),
                                output_padding=(1, 2), groups=2, dilation=(1, 2)),
             torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0),
                                      output_padding=(1, 2), groups=2, dilation=(1, 2)),
             (2, 4, 5, 4)),
            (nn.ConvTranspose1d(3, 2, 3, stride=1, dilation=2, output_padding=1),
             torch.nn.ConvTranspose1d(3, 2, 3, stride=1, dilation=2, output_padding=1),
             (2, 3, 6))]:
        ours, theirs = ours.double(), theirs.double()
        for name, p in theirs.named_parameters():
            getattr(ours, name).data[...] = p.detach().numpy()
        x = rng.standard_normal(shape)
        X, T = _t(x, "cpu"), torch.tensor(x, requires_grad=True)
        y, yt = ours(X), theirs(T)
        g = rng.standard_normal(yt.shape)
        y.backward(_t(g, "cpu", grad=False))
        yt.backward(torch.tensor(g))
        assert_close(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        assert_close(X.grad, T.grad.numpy(), rtol=1e-12, atol=1e-12)
        for name, p in theirs.named_parameters():
            assert_close(getattr(ours, name).grad, p.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_conv_output_shape_formula():
    for H, k, s, p, d in itertools.product([5, 8], [1, 3], [1, 2, 3], [0, 1, 2], [1, 2]):
        if d * (k - 1) + 1 > H + 2 * p:
            continue
        y = F.conv2d(mg.zeros(1, 1, H, H), mg.zeros(1, 1, k, k), stride=s, padding=p,
                     dilation=d)
        assert y.shape[-1] == (H + 2 * p - d * (k - 1) - 1) // s + 1


def test_errors_name_the_layer_and_shapes():
    conv = nn.Conv2d(3, 6, 5)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 6.*expected input of shape \(N, 3, "
                                         r"H, W\).*got \(8, 1, 28, 28\)"):
        conv(mg.zeros(8, 1, 28, 28))
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels \\(5\\) must be divisible by groups"):
        nn.Conv2d(4, 5, 3, groups=2)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        nn.Conv2d(4, 4, 3, groups=0)
    with pytest.raises(ValueError, match=r"kernel size \(5, 5\).*larger than the padded "
                                         r"input size \(4, 4\)"):
        conv(mg.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="kernel size.*dilated: \\(5, 5\\)"):
        F.conv2d(mg.zeros(1, 1, 4, 4), mg.zeros(1, 1, 3, 3), dilation=2)
    with pytest.raises(ValueError, match="expects input with 4 channels"):
        F.conv2d(mg.zeros(1, 3, 4, 4), mg.zeros(2, 2, 1, 1), groups=2)
    with pytest.raises(ValueError, match="Conv1d.*expected input of shape \\(N, 2, L\\)"):
        nn.Conv1d(2, 2, 3)(mg.zeros(1, 3, 8))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")


def test_default_init_is_pytorch_kaiming_uniform_a_sqrt5():
    mg.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    bound = 1 / math.sqrt(fan_in)
    w = conv.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.05)
    assert np.abs(conv.bias.numpy()).max() <= bound
    grouped = nn.Conv2d(8, 8, 3, groups=4)  # fan_in = C_in/groups·k·k = 18
    assert np.abs(grouped.weight.numpy()).max() <= 1 / math.sqrt(18)


def test_conv_layer_trains_and_repr():
    conv = nn.Conv2d(1, 2, 3, stride=2, padding=1, dilation=1, groups=1, bias=False)
    assert repr(conv) == "Conv2d(1, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), " \
                         "bias=False)"
    assert [n for n, _ in conv.named_parameters()] == ["weight"]
    x = mg.randn(4, 1, 6, 6)
    before = float((conv(x) ** 2).mean())
    for _ in range(20):
        loss = (conv(x) ** 2).mean()
        conv.zero_grad()
        loss.backward()
        with mg.no_grad():
            conv.weight.data -= 0.5 * conv.weight.grad.data
    assert float((conv(x) ** 2).mean()) < 0.5 * before


def test_float32_and_float16_forward():
    x = mg.randn(2, 3, 6, 6)
    conv = nn.Conv2d(3, 4, 3)
    y32 = conv(x)
    assert y32.dtype == mg.float32
    y16 = conv.half()(x.half())
    assert y16.dtype == mg.float16
    assert_close(y16.float(), y32, rtol=2e-2, atol=2e-2)


# ------------------------------------------------------------------ oracle


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2), (1, 1, 1, 4), (3, 2, 2, 2)])
def test_conv2d_matches_torch(stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 9, 8))
    w = rng.standard_normal((8, 4 // groups, 3, 2))
    b = rng.standard_normal(8)
    conv = nn.Conv2d(4, 8, (3, 2), stride, padding, dilation, groups).double()
    tconv = torch.nn.Conv2d(4, 8, (3, 2), stride, padding, dilation, groups).double()
    tconv.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
    conv.load_state_dict({k: v.detach().numpy() for k, v in tconv.state_dict().items()})
    X = mg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    y, ty = conv(X), tconv(tx)
    assert_close(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    gy = rng.standard_normal(ty.shape)
    y.backward(mg.tensor(gy))
    ty.backward(torch.tensor(gy))
    assert_close(X.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-11)
    assert_close(conv.weight.grad, tconv.weight.grad.numpy(), rtol=1e-10, atol=1e-11)
    assert_close(conv.bias.grad, tconv.bias.grad.numpy(), rtol=1e-10, atol=1e-11)
    # the second derivative too: grad of ⟨gx, gx⟩ w.r.t. W
    X2 = mg.tensor(x, requires_grad=True)
    (gx,) = mg.autograd.grad(conv(X2), (X2,), mg.tensor(gy), create_graph=True)
    (gw2,) = mg.autograd.grad((gx * gx).sum(), (conv.weight,))
    tx2 = torch.tensor(x, requires_grad=True)
    (tgx,) = torch.autograd.grad(tconv(tx2), (tx2,), torch.tensor(gy), create_graph=True)
    (tgw2,) = torch.autograd.grad((tgx * tgx).sum(), (tconv.weight,))
    assert_close(gw2, tgw2.numpy(), rtol=1e-9, atol=1e-10)


def test_conv1d_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 11))
    conv = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2).double()
    tconv = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2).double()
    conv.load_state_dict({k: v.detach().numpy() for k, v in tconv.state_dict().items()})
    assert_close(conv(mg.tensor(x)), tconv(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                 atol=1e-12)


@pytest.mark.parametrize("bias", [False, True])
def test_weight_gradient_accumulates_into_grad(conv_layout, bias, monkeypatch):
    """A second backward adds to the weight's existing ``.grad`` (on the GPU path the
    weight-gradient GEMM adds into it itself, β = 1: leaf_grads/ADDED), exactly as
    accumulating two separately computed gradients does; a weight gradient hook still
    sees the gradient of each pass (that path does not add in place)."""
    added = []
    grad_weight = conv_module.conv_device.grad_weight

    def recorded(*args, add_to=None, **kwargs):
        added.append(add_to is not None)
        return grad_weight(*args, add_to=add_to, **kwargs)

    monkeypatch.setattr(conv_module.conv_device, "grad_weight", recorded)
    rng = np.random.default_rng(21)
    x = mg.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, stride=(2, 1), padding=1, bias=bias).double()
    gy = rng.standard_normal((2, 4, 3, 5))
    conv(x).backward(mg.tensor(gy))
    first, first_x = conv.weight.grad.numpy().copy(), x.grad.numpy().copy()
    grad_array = conv.weight.grad.data
    conv(x).backward(mg.tensor(gy * 0.5))
    assert conv.weight.grad.data is grad_array  # added in place, as PyTorch
    assert_close(conv.weight.grad, first * 1.5, rtol=1e-12, atol=1e-12)
    assert_close(x.grad, first_x * 1.5, rtol=1e-12, atol=1e-12)
    seen = []
    conv.weight.register_hook(lambda g: seen.append(g.numpy().copy()))
    conv(x).backward(mg.tensor(gy))
    assert len(seen) == 1
    assert_close(seen[0], first, rtol=1e-12, atol=1e-12)
    assert_close(conv.weight.grad, first * 2.5, rtol=1e-12, atol=1e-12)
    if conv_layout == "device_kernels":  # the second pass added by the GEMM, not the hooked
        assert added == [False, True, False]
