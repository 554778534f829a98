"""Fixes from the PyTorch-parity audit of ``minigrad.nn``: a query whose keys are all
masked (attention), the lazy instance norms' defaults, ceil_mode windows larger than the
input (pooling), zero-size Linear layers, ``embedding_bag(include_last_offset=True)``
with a final offset short of the input, and BCE's gradient at x = 0 or 1.

Each fix has tests that stand alone (values by hand, gradcheck in float64 with a random
cotangent) and a PyTorch oracle test that imports torch itself and skips without it."""
import itertools
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close


def _t(a, device="cpu", requires_grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device,
                     requires_grad=requires_grad)


def _np(t):
    return t.detach().cpu().numpy()


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ------------------------------------------------------------------ 1. attention


def _qkv(device, seed=0, shape=(2, 3, 4), S=5):
    rng = np.random.default_rng(seed)
    q = _t(rng.standard_normal(shape), device)
    k = _t(rng.standard_normal(shape[:-2] + (S, shape[-1])), device)
    v = _t(rng.standard_normal(shape[:-2] + (S, shape[-1])), device)
    return q, k, v


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_row_is_zero_with_zero_gradient(kind, device):
    """Query 1 sees no key: its output is 0 and it sends no gradient anywhere; the other
    rows are plain masked attention, and every gradient is finite."""
    q, k, v = _qkv(device)
    keep = np.array([[True] * 5, [False] * 5, [True, False, True, False, True]])
    if kind == "bool":
        mask = mg.tensor(keep, device=device)
    else:
        mask = mg.tensor(np.where(keep, 0.0, -np.inf), device=device)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    scores = _np(q) @ _np(k).swapaxes(-1, -2) / 2.0 + np.where(keep, 0.0, -np.inf)
    expected = np.zeros((2, 3, 4))
    for row in (0, 2):
        expected[:, row] = np.einsum("bs,bse->be", _softmax(scores[:, row]), _np(v))
    assert_close(out, expected, rtol=1e-13, atol=1e-15)
    assert (_np(out)[:, 1] == 0).all()
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(mg.tensor(g, device=device))
    assert all(np.isfinite(_np(t.grad)).all() for t in (q, k, v))
    assert (_np(q.grad)[:, 1] == 0).all()
    # the gradients of k and v are those of the two rows that see keys
    q2, k2, v2 = (_t(_np(t), device) for t in (q, k, v))
    rows = mg.tensor(np.array([0, 2]), device=device)
    out2 = F.scaled_dot_product_attention(q2.index_select(1, rows), k2, v2,
                                          attn_mask=mask.index_select(0, rows))
    out2.backward(mg.tensor(g[:, [0, 2]], device=device))
    assert_close(k.grad, _np(k2.grad), rtol=1e-12, atol=1e-14)
    assert_close(v.grad, _np(v2.grad), rtol=1e-12, atol=1e-14)
    assert mg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask), (q, k, v))
    assert mg.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask), (q, k, v))


def test_sdpa_all_masked_broadcast_mask_and_dropout(device):
    """A mask of shape (S,) that hides every key empties every row: all outputs 0; with
    dropout the empty rows stay 0."""
    q, k, v = _qkv(device, seed=2)
    none = mg.tensor(np.zeros(5, bool), device=device)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=none)
    assert (_np(out) == 0).all()
    out.sum().backward()
    assert (_np(q.grad) == 0).all() and (_np(k.grad) == 0).all() and \
        (_np(v.grad) == 0).all()
    mg.manual_seed(0)
    mask = mg.tensor(np.array([[True] * 5, [False] * 5, [True] * 5]), device=device)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.5)
    assert (_np(out)[:, 1] == 0).all() and np.isfinite(_np(out)).all()


def _mha_padded(device, need_weights, training=False):
    mg.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, batch_first=True).double().to(device)
    m.train(training)
    with mg.no_grad():
        m.out_proj.bias.data[...] = m.out_proj.bias.xp.asarray([0.5, -1.0, 2.0, 0.25])
    x = _t(np.random.default_rng(3).standard_normal((2, 3, 4)), device)
    kpm = mg.tensor(np.array([[True] * 3, [False, False, True]]), device=device)
    out, w = m(x, x, x, key_padding_mask=kpm, need_weights=need_weights)
    return m, x, kpm, out, w


def test_mha_fully_padded_sample_without_weights_gives_the_output_bias(device):
    """need_weights=False (PyTorch's scaled_dot_product_attention path): sample 0 sees no
    key, so its attention output is 0 and the layer returns out_proj's bias; the
    parameters' gradients are those of sample 1 alone (plus the bias's share)."""
    m, x, kpm, out, w = _mha_padded(device, need_weights=False)
    assert w is None
    assert_close(out[0], np.tile([0.5, -1.0, 2.0, 0.25], (3, 1)), rtol=0)
    g = np.random.default_rng(4).standard_normal(out.shape)
    out.backward(mg.tensor(g, device=device))
    for _, p in m.named_parameters():
        assert np.isfinite(_np(p.grad)).all()
    assert (_np(x.grad)[0] == 0).all()
    # sample 1 alone gives the same projections' gradients
    alone = nn.MultiheadAttention(4, 2, batch_first=True).double().to(device)
    alone.load_state_dict(m.state_dict())
    x1 = _t(_np(x)[1:], device)
    o1, _ = alone(x1, x1, x1, key_padding_mask=kpm[1:], need_weights=False)
    o1.backward(mg.tensor(g[1:], device=device))
    assert_close(m.in_proj_weight.grad, _np(alone.in_proj_weight.grad), rtol=1e-12)
    assert_close(m.out_proj.weight.grad, _np(alone.out_proj.weight.grad), rtol=1e-12)
    assert_close(m.out_proj.bias.grad, g.sum((0, 1)), rtol=1e-12)
    assert mg.gradcheck(lambda x: m(x, x, x, key_padding_mask=kpm, need_weights=False)[0],
                        (x,))


def test_mha_fully_masked_by_both_masks_together(device):
    """Query 0 of sample 0 is hidden from keys 0, 1 by attn_mask and from key 2 by the
    padding: only that (sample, query) row is empty; add_zero_attn gives it a key again."""
    mg.manual_seed(1)
    m = nn.MultiheadAttention(4, 2).double().to(device)
    x = _t(np.random.default_rng(5).standard_normal((3, 2, 4)), device)   # (L, N, E)
    am = mg.tensor(np.array([[True, True, False], [False] * 3, [False] * 3]), device=device)
    kpm = mg.tensor(np.array([[False, False, True], [False] * 3]), device=device)
    out, _ = m(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=False)
    assert_close(out[0, 0], _np(m.out_proj.bias), rtol=0)
    assert np.isfinite(_np(out)).all()
    assert not np.allclose(_np(out[0, 1]), _np(m.out_proj.bias))
    out.sum().backward()
    assert np.isfinite(_np(m.in_proj_weight.grad)).all()
    zero = nn.MultiheadAttention(4, 2, add_zero_attn=True).double().to(device)
    out, _ = zero(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=False)
    assert np.isfinite(_np(out)).all()


def test_mha_fully_padded_sample_with_weights_is_nan_as_pytorch(device):
    """need_weights=True takes PyTorch's plain softmax: NaN weights and output for the
    empty sample, NaN parameter gradients."""
    m, x, kpm, out, w = _mha_padded(device, need_weights=True)
    assert np.isnan(_np(out)[0]).all() and np.isnan(_np(w)[0]).all()
    assert np.isfinite(_np(out)[1]).all() and np.isfinite(_np(w)[1]).all()
    out.sum().backward()
    assert np.isnan(_np(m.in_proj_weight.grad)).any()


def test_transformer_encoder_layer_training_with_a_fully_padded_sample(device):
    mg.manual_seed(2)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
    layer = layer.double().to(device).train()
    x = _t(np.random.default_rng(6).standard_normal((2, 4, 8)), device)
    padding = mg.tensor(np.array([[True] * 4, [False, False, True, True]]), device=device)
    y = layer(x, src_key_padding_mask=padding)
    assert np.isfinite(_np(y)).all()
    (y * mg.tensor(np.random.default_rng(7).standard_normal(y.shape), device=device)
     ).sum().backward()
    assert np.isfinite(_np(x.grad)).all()
    for name, p in layer.named_parameters():
        assert np.isfinite(_np(p.grad)).all(), name


def test_fully_masked_attention_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.nn.attention import SDPBackend, sdpa_kernel

    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 2, 5, 4)),
              rng.standard_normal((2, 2, 5, 4))]
    keep = np.array([[True] * 5, [False] * 5, [True, False, False, False, True]])
    g = rng.standard_normal((2, 2, 3, 4))
    for mask in (keep, np.where(keep, 0.0, -np.inf), keep[1]):
        ours = [_t(a) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = F.scaled_dot_product_attention(*ours, attn_mask=mg.tensor(mask))
        with sdpa_kernel(SDPBackend.MATH):
            tout = torch.nn.functional.scaled_dot_product_attention(
                *theirs, attn_mask=torch.tensor(mask))
        assert_close(out, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
        out.backward(mg.tensor(g))
        tout.backward(torch.tensor(g))
        for a, b in zip(ours, theirs):
            assert_close(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_fully_padded_multihead_attention_matches_torch(need_weights, training):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True).double().train(training)
    ours = nn.MultiheadAttention(4, 2, batch_first=True).double().train(training)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    a = rng.standard_normal((2, 3, 4))
    kpm = np.array([[True] * 3, [False, True, False]])
    am = np.array([[False, False, True], [True, True, False], [False] * 3])
    x, xt = _t(a), torch.tensor(a, requires_grad=True)
    out, w = ours(x, x, x, key_padding_mask=mg.tensor(kpm), attn_mask=mg.tensor(am),
                  need_weights=need_weights)
    tout, tw = theirs(xt, xt, xt, key_padding_mask=torch.tensor(kpm),
                      attn_mask=torch.tensor(am), need_weights=need_weights)
    assert_close(out, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert (w is None) == (tw is None)
    if w is not None:
        assert_close(w, tw.detach().numpy(), rtol=1e-12, atol=1e-14)
    _same_gradients(rng, ours, theirs, (x, out), (xt, tout), rtol=1e-10, atol=1e-13)


def test_fully_padded_transformer_encoder_layer_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                              batch_first=True).double().train()
    ours = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    a = rng.standard_normal((2, 4, 8))
    padding = np.array([[True] * 4, [False, True, False, True]])
    x, xt = _t(a), torch.tensor(a, requires_grad=True)
    y = ours(x, src_key_padding_mask=mg.tensor(padding))
    yt = theirs(xt, src_key_padding_mask=torch.tensor(padding))
    assert_close(y, yt.detach().numpy(), rtol=1e-11, atol=1e-13)
    _same_gradients(rng, ours, theirs, (x, y), (xt, yt), rtol=1e-9, atol=1e-12)


def _same_gradients(rng, ours, theirs, mine, torchs, rtol, atol):
    """Backpropagate one random cotangent through (input, output) of both modules and
    compare the input's and every parameter's gradient."""
    import torch

    (x, y), (xt, yt) = mine, torchs
    g = rng.standard_normal(y.shape)
    y.backward(mg.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(x.grad, xt.grad.numpy(), rtol=rtol, atol=atol)
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, tgrads[name].grad.numpy(), rtol=rtol, atol=atol)


# ------------------------------------------------------------------ 2. lazy instance norms


@pytest.mark.parametrize("cls, shape", [(nn.LazyInstanceNorm1d, (2, 3, 5)),
                                        (nn.LazyInstanceNorm2d, (2, 3, 4, 2)),
                                        (nn.LazyInstanceNorm3d, (2, 3, 2, 2, 3))])
def test_lazy_instance_norms_default_to_affine_and_running_stats(cls, shape, device):
    """PyTorch's lazy instance norms default to affine=True, track_running_stats=True
    (not InstanceNorm's False, False): weight 1, bias 0, and running statistics updated
    with momentum 0.1 from the mean over the batch of each instance's statistics."""
    m = cls().double().to(device)
    assert m.affine and m.track_running_stats
    x = np.random.default_rng(11).standard_normal(shape)
    y = m(mg.tensor(x, device=device))
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                    "num_batches_tracked"]
    assert _np(m.weight).tolist() == [1.0] * 3 and _np(m.bias).tolist() == [0.0] * 3
    axes = tuple(range(2, x.ndim))
    mu, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    assert_close(y, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-12, atol=1e-12)
    n = math.prod(shape[2:])
    assert_close(m.running_mean, 0.1 * mu.reshape(2, 3).mean(0), rtol=1e-12)
    assert_close(m.running_var, 0.9 + 0.1 * (var * n / (n - 1)).reshape(2, 3).mean(0),
                 rtol=1e-12)
    off = cls(affine=False, track_running_stats=False)
    assert not off.affine and not off.track_running_stats


def test_lazy_instance_norm_loads_a_torch_state_dict():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    for name, shape in (("LazyInstanceNorm1d", (2, 3, 5)), ("LazyInstanceNorm2d", (2, 3, 4, 4)),
                        ("LazyInstanceNorm3d", (2, 3, 2, 3, 2))):
        theirs = getattr(torch.nn, name)().double()
        ours = getattr(nn, name)().double()
        assert (ours.affine, ours.track_running_stats) == (theirs.affine,
                                                           theirs.track_running_stats)
        with torch.no_grad():
            theirs(torch.tensor(rng.standard_normal(shape)))
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-1, 1)
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        x = rng.standard_normal(shape)
        for mode in ("eval", "train"):
            getattr(ours, mode)()
            getattr(theirs, mode)()
            assert_close(ours(mg.tensor(x)), theirs(torch.tensor(x)).detach().numpy(),
                         rtol=1e-12, atol=1e-12)
        for key, value in theirs.state_dict().items():
            assert_close(ours.state_dict()[key], value.numpy(), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ 3. ceil_mode pooling


def test_ceil_mode_window_larger_than_the_input_by_hand(device):
    """One partial window when the kernel overhangs the input (PyTorch's rule: ⌊(n + 2p −
    d(k − 1) − 1 + s − 1)/s⌋ + 1 windows, the last one starting inside the input)."""
    x = mg.tensor(np.arange(3.0).reshape(1, 1, 3), device=device)
    assert F.max_pool1d(x, 4, 4, ceil_mode=True).tolist() == [[[2.0]]]
    # count_include_pad: the window [0, 4) clipped at the end of the padding, 3 positions
    assert F.avg_pool1d(x, 4, 4, ceil_mode=True).tolist() == [[[1.0]]]
    assert nn.AvgPool1d(4, 4, ceil_mode=True, count_include_pad=False)(x).tolist() == \
        [[[1.0]]]
    # padding 1: the window [−1, 3) covers 4 padded positions, 3 real ones
    assert F.avg_pool1d(x, 4, 4, 1, ceil_mode=True).tolist() == [[[0.75]]]
    assert F.avg_pool1d(x, 4, 4, 1, ceil_mode=True, count_include_pad=False).tolist() == \
        [[[1.0]]]
    assert F.avg_pool2d(x.unsqueeze(-2), (1, 4), (1, 4), (0, 1), ceil_mode=True,
                        divisor_override=2).tolist() == [[[[1.5]]]]
    # padding 2, stride 4: windows [−2, 2) and [2, 6) (it starts inside the input)
    assert F.avg_pool1d(x, 4, 4, 2, ceil_mode=True, count_include_pad=False).tolist() == \
        [[[0.5, 2.0]]]
    # dilation 3: the taps 0 and 3 of the only window, 3 is past the end
    y = mg.tensor(np.array([[[1.0, 9.0, 7.0]]]), device=device)
    assert F.max_pool1d(y, 2, 3, dilation=3, ceil_mode=True).tolist() == [[[1.0]]]
    # the 4th window would start in the right padding: 3 windows, not 4
    z = mg.tensor(np.arange(5.0).reshape(1, 1, 5), device=device)
    assert F.max_pool1d(z, 2, 2, 1, ceil_mode=True).tolist() == [[[0.0, 2.0, 4.0]]]
    # 2-D: a 3×3 kernel on a 2×2 image
    w = mg.tensor(np.array([[[[1.0, 4.0], [3.0, 2.0]]]]), device=device)
    assert nn.MaxPool2d(3, 2, ceil_mode=True)(w).tolist() == [[[[4.0]]]]
    assert nn.AvgPool2d(3, 2, ceil_mode=True)(w).tolist() == [[[[2.5]]]]
    y3, idx = F.max_pool3d(w.unsqueeze(2), (1, 3, 3), (1, 2, 2), ceil_mode=True,
                           return_indices=True)
    assert y3.tolist() == [[[[[4.0]]]]] and idx.tolist() == [[[[[1]]]]]


def test_ceil_mode_partial_windows_gradcheck(device):
    rng = np.random.default_rng(13)
    x = _t(rng.permutation(10).reshape(1, 2, 5) / 7.0, device)
    for fn in (lambda x: F.max_pool1d(x, 7, 4, 1, ceil_mode=True),
               lambda x: F.max_pool1d(x, 3, 3, dilation=3, ceil_mode=True),
               lambda x: F.avg_pool1d(x, 7, 4, 1, ceil_mode=True),
               lambda x: F.avg_pool1d(x, 7, 4, 1, ceil_mode=True, count_include_pad=False)):
        assert fn(x).shape == (1, 2, 1)          # one window, larger than the input
        assert mg.gradcheck(fn, (x,))
        assert mg.gradgradcheck(fn, (x,))
    x2 = _t(rng.permutation(8).reshape(1, 2, 2, 2) / 3.0, device)
    assert mg.gradcheck(lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), (x2,))
    assert mg.gradcheck(lambda x: F.avg_pool2d(x, 3, 2, ceil_mode=True), (x2,))


def test_pools_with_no_window_are_refused():
    x = mg.arange(3.0).reshape(1, 1, 3)
    with pytest.raises(ValueError, match="max_pool1d: the kernel spans 5 positions.*ceil_mode"):
        F.max_pool1d(x, 5, 1, ceil_mode=True)                   # (3 − 5 + 0)/1 + 1 < 1
    with pytest.raises(ValueError, match="max_pool1d: the kernel spans 4 positions"):
        F.max_pool1d(x, 4, 4)                                   # no ceil_mode
    with pytest.raises(ValueError, match="avg_pool1d: the kernel spans 6 positions"):
        F.avg_pool1d(x, 6, 3, ceil_mode=True)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel size \(5, 5\).*larger than the "
                                         r"padded input size \(2, 2\) by more than stride"):
        F.max_pool2d(mg.zeros(1, 1, 2, 2), 5, 2, ceil_mode=True)
    with pytest.raises(ValueError, match=r"max_pool3d: kernel size .*dilated"):
        F.max_pool3d(mg.zeros(1, 1, 2, 2, 2), (1, 3, 3), (1, 2, 2), dilation=(1, 2, 2),
                     ceil_mode=True)
    # PyTorch's avg_pool3d refuses a kernel larger than the input even with ceil_mode
    with pytest.raises(ValueError, match="avg_pool3d refuses it even with ceil_mode"):
        F.avg_pool3d(mg.zeros(1, 1, 1, 2, 2), (1, 3, 3), (1, 2, 2), ceil_mode=True)


def test_ceil_mode_pooling_matches_torch():
    """Every small 1-D geometry (and some 2-D and 3-D ones) against PyTorch: the same
    output sizes, values, divisors, and the same refusals. Padding above half the kernel
    (which PyTorch refuses, minigrad allows up to half the dilated kernel) is left out."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(14)

    def both(ours, theirs, *args):
        """ours(x, *args) and theirs(xt, *args): equal, or both refused."""
        try:
            t = theirs(torch.tensor(args[0]), *args[1:])
        except RuntimeError:
            t = None
        try:
            m = ours(mg.tensor(args[0]), *args[1:])
        except ValueError:
            m = None
        assert (t is None) == (m is None), (ours.__name__, args[0].shape, args[1:])
        if t is not None:
            assert_close(m, t.numpy(), rtol=1e-12, atol=1e-14)

    for n in range(1, 7):
        a = rng.standard_normal((1, 2, n))
        for k, s, p, d, ceil in itertools.product(range(1, 7), range(1, 5), range(3),
                                                  (1, 2), (True, False)):
            if p > k // 2:
                continue
            both(F.max_pool1d, tf.max_pool1d, a, k, s, p, d, ceil)
            if d == 1:
                for cip in (True, False):
                    both(F.avg_pool1d, tf.avg_pool1d, a, k, s, p, ceil, cip)
                both(F.avg_pool2d, tf.avg_pool2d, a[:, :, None], (1, k), (1, s), (0, p), ceil,
                     True, 3)
    for h, w in ((2, 2), (3, 5)):
        a = rng.standard_normal((1, 2, h, w))
        for k, s, p, d in itertools.product(range(1, 6), range(1, 4), range(2), (1, 2)):
            if p > k // 2:
                continue
            both(F.max_pool2d, tf.max_pool2d, a, (k, 2), (s, 1), (p, 0), (d, 1), True)
            both(F.avg_pool2d, tf.avg_pool2d, a, (k, 2), (s, 1), (p, 0), True, False)
            both(F.max_pool3d, tf.max_pool3d, a[:, :, None], (1, k, 2), (1, s, 1), (0, p, 0),
                 (1, d, 1), True)
        for k in range(1, 6):
            both(F.avg_pool3d, tf.avg_pool3d, a[:, :, None], (1, k, k), (1, 2, 2), 0, True)


# ------------------------------------------------------------------ 4. zero-size Linear


@pytest.mark.filterwarnings("ignore:.*zero-element tensors")
@pytest.mark.parametrize("in_f, out_f, shape", [(0, 3, (2, 0)), (0, 3, (4, 2, 0)),
                                                (0, 3, (0,)), (3, 0, (2, 3)),
                                                (0, 0, (2, 0)), (3, 2, (0, 3))])
def test_zero_size_linear_forward_and_backward(in_f, out_f, shape, device):
    """y = x Wᵀ + b with an empty sum is b; the gradients are the (empty or zero)
    gradients of the formula: gW = gyᵀ x, gb = Σ gy, gx = gy W."""
    lin = nn.Linear(in_f, out_f).double().to(device)
    with mg.no_grad():
        lin.bias.data[...] = lin.bias.xp.arange(1.0, out_f + 1)
    x = mg.zeros(*shape, dtype=mg.float64, device=device, requires_grad=True)
    y = lin(x)
    lead = shape[:-1]
    assert y.shape == lead + (out_f,)
    assert_close(y, np.broadcast_to(np.arange(1.0, out_f + 1), lead + (out_f,)), rtol=0)
    g = np.random.default_rng(15).standard_normal(y.shape)
    y.backward(mg.tensor(g, device=device))
    assert lin.weight.grad.shape == (out_f, in_f) and x.grad.shape == shape
    assert (_np(lin.weight.grad) == 0).all() and (_np(x.grad) == 0).all()
    assert_close(lin.bias.grad, g.reshape(math.prod(lead), out_f).sum(0), rtol=1e-14, atol=0)
    nobias = nn.Linear(in_f, out_f, bias=False).double().to(device)
    nobias(x).sum().backward()
    assert nobias.weight.grad.shape == (out_f, in_f)


@pytest.mark.filterwarnings("ignore:.*zero-element tensors")
def test_zero_size_linear_matches_torch():
    torch = pytest.importorskip("torch")
    for in_f, out_f, shape in ((0, 3, (2, 0)), (3, 0, (2, 3)), (3, 2, (0, 3))):
        theirs = torch.nn.Linear(in_f, out_f).double()
        ours = nn.Linear(in_f, out_f).double()
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        x, xt = mg.zeros(*shape, dtype=mg.float64, requires_grad=True), \
            torch.zeros(*shape, dtype=torch.float64, requires_grad=True)
        y, yt = ours(x), theirs(xt)
        assert_close(y, yt.detach().numpy(), rtol=0)
        y.sum().backward()
        yt.sum().backward()
        assert_close(x.grad, xt.grad.numpy(), rtol=0)
        assert_close(ours.weight.grad, theirs.weight.grad.numpy(), rtol=0)
        assert_close(ours.bias.grad, theirs.bias.grad.numpy(), rtol=0)


# ------------------------------------------------------------------ 5. embedding_bag


def test_embedding_bag_last_offset_short_of_the_input_by_hand(device):
    """offsets (0, 2, 2, 5) with include_last_offset: three bags [0, 2), [2, 2) and, as in
    PyTorch's kernel, [2, 8) (the last bag runs to the end of the input; the final offset
    only counts the bags)."""
    w = mg.tensor(np.arange(30.0).reshape(10, 3), device=device)
    idx = mg.tensor(np.array([1, 2, 4, 5, 4, 3, 2, 9]), device=device)
    off = mg.tensor(np.array([0, 2, 2, 5]), device=device)
    W = np.arange(30.0).reshape(10, 3)
    last = W[[4, 5, 4, 3, 2, 9]]
    for mode, want in (("sum", [W[1] + W[2], [0, 0, 0], last.sum(0)]),
                       ("mean", [(W[1] + W[2]) / 2, [0, 0, 0], last.sum(0) / 6]),
                       ("max", [W[2], [0, 0, 0], W[9]])):
        y = F.embedding_bag(idx, w, off, mode=mode, include_last_offset=True)
        assert_close(y, np.array(want, dtype=float), rtol=1e-15)
    # a final offset equal to the input's length is the ordinary case
    y = F.embedding_bag(idx, w, mg.tensor(np.array([0, 2, 8]), device=device), mode="sum",
                        include_last_offset=True)
    assert_close(y, np.array([W[1] + W[2], W[[4, 5, 4, 3, 2, 9]].sum(0)]), rtol=1e-15)
    # offsets (0,) with include_last_offset: no bag at all
    y = F.embedding_bag(idx, w, mg.tensor(np.array([0]), device=device), mode="sum",
                        include_last_offset=True)
    assert y.shape == (0, 3)
    with pytest.raises(ValueError, match="stay within the 8 indices"):
        F.embedding_bag(idx, w, mg.tensor(np.array([0, 3, 9]), device=device),
                        include_last_offset=True)


def test_embedding_bag_last_offset_gradients(device):
    rng = np.random.default_rng(16)
    w = _t(rng.standard_normal((10, 3)), device)
    psw = _t(rng.random(8), device)
    idx = mg.tensor(np.array([1, 2, 4, 5, 4, 3, 2, 9]), device=device)
    off = mg.tensor(np.array([0, 2, 2, 5]), device=device)
    for mode in ("sum", "mean", "max"):
        assert mg.gradcheck(lambda w, mode=mode: F.embedding_bag(
            idx, w, off, mode=mode, include_last_offset=True), (w,))
    assert mg.gradcheck(lambda w, p: F.embedding_bag(idx, w, off, mode="sum",
                                                     per_sample_weights=p,
                                                     include_last_offset=True), (w, psw))
    # every index, the ones past the final offset too, is in the last bag
    y = F.embedding_bag(idx, w, off, mode="sum", per_sample_weights=psw,
                        include_last_offset=True)
    y.sum().backward()
    assert (_np(psw.grad) != 0).all()


def test_embedding_bag_last_offset_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(17)
    weights = rng.standard_normal((10, 3))
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    for off, mode, pad, weighted in itertools.product(
            ([0, 2, 2, 5], [0, 3], [0, 2, 5, 6], [0, 0], [0, 1, 1, 1], [0, 3, 7, 8], [0, 8, 8]),
            ("sum", "mean", "max"), (None, 4), (False, True)):
        if weighted and mode != "sum":
            continue
        w, wt = _t(weights), torch.tensor(weights, requires_grad=True)
        p = rng.random(8) if weighted else None
        pm = None if p is None else _t(p)
        pt = None if p is None else torch.tensor(p, requires_grad=True)
        y = F.embedding_bag(mg.tensor(idx), w, mg.tensor(np.array(off)), mode=mode,
                            per_sample_weights=pm, include_last_offset=True, padding_idx=pad)
        yt = torch.nn.functional.embedding_bag(torch.tensor(idx), wt, torch.tensor(off),
                                               mode=mode, per_sample_weights=pt,
                                               include_last_offset=True, padding_idx=pad)
        assert_close(y, yt.detach().numpy(), rtol=1e-13, atol=1e-15)
        g = rng.standard_normal(y.shape)
        y.backward(mg.tensor(g))
        yt.backward(torch.tensor(g))
        assert_close(w.grad, wt.grad.numpy(), rtol=1e-13, atol=1e-15)
        if weighted:
            assert_close(pm.grad, pt.grad.numpy(), rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ 6. BCE at x = 0 or 1

_EPS = float(np.float32(1e-12))   # PyTorch's ε, a float32


def test_bce_gradients_at_zero_and_one_by_hand(device):
    """gx = (x − y)/max(x(1 − x), ε), gy = −logit(x) (PyTorch's backward): at x = 0 or 1
    the input gradient is 0 where x = y and ±1/ε otherwise; the target gradient ±inf."""
    x = _t([0.0, 1.0, 0.0, 1.0, 0.5, 0.25], device)
    y = _t([0.0, 0.0, 1.0, 1.0, 0.3, 0.0], device)
    loss = F.binary_cross_entropy(x, y, reduction="none")
    # the clamp at −100 stays: 0, 100, 100, 0, then the ordinary values
    assert_close(loss, [0.0, 100.0, 100.0, 0.0, -(0.3 * math.log(0.5) + 0.7 * math.log(0.5)),
                        -math.log(0.75)], rtol=1e-15)
    loss.sum().backward()
    assert_close(x.grad, [0.0, 1 / _EPS, -1 / _EPS, 0.0, 0.2 / 0.25, 0.25 / 0.1875],
                 rtol=1e-15)
    assert _np(x.grad)[1] == 1.0 / _EPS                       # 1000000003995.80…
    assert_close(y.grad, [np.inf, -np.inf, np.inf, -np.inf, 0.0, math.log(3.0)], rtol=1e-15)
    # reductions and weights scale it: mean over 2, weight 3 on the first element
    x = _t([1.0, 0.0], device)
    F.binary_cross_entropy(x, _t([0.0, 0.0], device, False),
                           weight=mg.tensor([3.0, 1.0], dtype=mg.float64, device=device)
                           ).backward()
    assert_close(x.grad, [1.5 / _EPS, 0.0], rtol=1e-15)
    # float32: PyTorch's value too
    x32 = mg.tensor([0.0, 1.0], device=device, requires_grad=True)
    F.binary_cross_entropy(x32, mg.tensor([0.0, 0.0], device=device),
                           reduction="sum").backward()
    assert x32.grad.dtype == mg.float32
    assert _np(x32.grad).tolist() == [0.0, float(np.float32(1) / np.float32(_EPS))]


def test_bce_forward_uses_log1p_and_stays_twice_differentiable(device):
    """−log(1 − x) is computed as −log1p(−x), as PyTorch: exact for tiny x; inside (0, 1)
    both derivatives of the loss are checked, in x and in y."""
    tiny = F.binary_cross_entropy(_t([1e-10], device), _t([0.0], device), reduction="sum")
    assert tiny.item() == -math.log1p(-1e-10)
    rng = np.random.default_rng(18)
    x = _t(rng.uniform(0.05, 0.95, (3, 4)), device)
    y = _t(rng.uniform(0.05, 0.95, (3, 4)), device)
    w = mg.tensor(rng.uniform(0.5, 2.0, 4), device=device)
    for reduction in ("none", "mean", "sum"):
        def fn(x, y, reduction=reduction):
            return F.binary_cross_entropy(x, y, weight=w, reduction=reduction)

        assert mg.gradcheck(fn, (x, y))
        assert mg.gradgradcheck(fn, (x, y))


def test_bce_at_zero_and_one_matches_torch():
    torch = pytest.importorskip("torch")
    xs = [0.0, 1.0, 0.0, 1.0, 0.5, 1e-13, 1 - 1e-7, 1e-10, 0.3]
    ys = [0.0, 0.0, 1.0, 1.0, 0.3, 0.0, 0.7, 0.0, 0.2]
    g = np.linspace(0.3, 1.2, len(xs))
    for (dtype, tdtype, rtol), reduction, weighted in itertools.product(
            ((mg.float64, torch.float64, 1e-13), (mg.float32, torch.float32, 1e-6)),
            ("none", "mean", "sum"), (False, True)):
        w = np.linspace(0.5, 2.0, len(xs)) if weighted else None
        x = mg.tensor(xs, dtype=dtype, requires_grad=True)
        y = mg.tensor(ys, dtype=dtype, requires_grad=True)
        xt = torch.tensor(xs, dtype=tdtype, requires_grad=True)
        yt = torch.tensor(ys, dtype=tdtype, requires_grad=True)
        loss = F.binary_cross_entropy(x, y, None if w is None else mg.tensor(w, dtype=dtype),
                                      reduction=reduction)
        tloss = torch.nn.functional.binary_cross_entropy(
            xt, yt, None if w is None else torch.tensor(w, dtype=tdtype), reduction=reduction)
        assert_close(loss, tloss.detach().numpy(), rtol=rtol, atol=0)
        cot = g if reduction == "none" else np.array(1.0)
        loss.backward(mg.tensor(cot, dtype=dtype))
        tloss.backward(torch.tensor(cot, dtype=tdtype))
        assert_close(x.grad, xt.grad.numpy(), rtol=rtol, atol=0)
        assert_close(y.grad, yt.grad.numpy(), rtol=max(rtol, 1e-6), atol=0)
