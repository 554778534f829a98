"""F.scaled_dot_product_attention: by hand, masks, grouped-query heads, gradients, errors,
and PyTorch's values and gradients when it is installed."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.testing import assert_close

from ..ulps import spacing


def _t(a, device="cpu"):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True)


def test_one_query_two_keys_by_hand(device):
    """q = (1, 0), keys (1, 0) and (0, 1), s = 1/√2: scores 1/√2 and 0, weights
    σ(1/√2) and 1 − σ(1/√2), output their mix of the values 10 and 20."""
    q, k, v = _t([[1.0, 0.0]], device), _t([[1.0, 0.0], [0.0, 1.0]], device), \
        _t([[10.0], [20.0]], device)
    w0 = 1 / (1 + math.exp(-1 / math.sqrt(2)))
    assert_close(F.scaled_dot_product_attention(q, k, v), np.array([[10 * w0 + 20 * (1 - w0)]]),
                 rtol=1e-14)
    w0 = 1 / (1 + math.exp(-3.0))                                  # scale 3
    assert_close(F.scaled_dot_product_attention(q, k, v, scale=3.0),
                 np.array([[10 * w0 + 20 * (1 - w0)]]), rtol=1e-14)


def test_masks(device):
    """is_causal equals the lower-triangular bool mask; a bool mask keeps True; a float
    mask is added (−inf there equals masking); a fully masked row is 0 (PyTorch 2.13)."""
    rng = np.random.default_rng(0)
    q, k, v = (_t(rng.standard_normal((2, 3, 4, 5)), device) for _ in range(3))
    causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    tril = mg.tensor(np.tril(np.ones((4, 4), bool)), device=device)
    assert_close(causal, F.scaled_dot_product_attention(q, k, v, attn_mask=tril).detach(),
                 rtol=1e-15)
    additive = mg.tensor(np.where(np.tril(np.ones((4, 4))) > 0, 0.0, -np.inf), device=device)
    assert_close(causal, F.scaled_dot_product_attention(q, k, v, attn_mask=additive).detach(),
                 rtol=1e-15)
    # the first query sees only the first key: its output is the first value
    assert_close(causal[..., 0, :], v[..., 0, :].detach(), rtol=1e-15)
    bias = mg.tensor(rng.standard_normal((4, 4)), device=device)
    scores = (q @ k.mT).detach().cpu().numpy() / math.sqrt(5) + bias.cpu().numpy()
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    # (on CUDA the softmax is e^(x − lse), rounded differently: atol for the sums that
    # cancel to ~1e-5 from terms ~1)
    assert_close(F.scaled_dot_product_attention(q, k, v, attn_mask=bias),
                 w @ v.detach().cpu().numpy(), rtol=1e-12, atol=1e-15)
    none = mg.tensor(np.zeros((4, 4), bool), device=device)
    assert (F.scaled_dot_product_attention(q, k, v, attn_mask=none).cpu().numpy() == 0).all()


def test_gradients_and_grouped_query_heads(device):
    rng = np.random.default_rng(1)
    q = _t(rng.standard_normal((1, 4, 3, 2)), device)
    k, v = (_t(rng.standard_normal((1, 2, 5, 2)), device) for _ in range(2))
    mask = mg.tensor(rng.random((3, 5)) > 0.3, device=device)
    mask.data[:, 0] = True                                          # no empty row
    assert mg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, enable_gqa=True), (q, k, v))
    assert mg.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, is_causal=True, enable_gqa=True), (q, k, v))
    # grouped: query heads 0, 1 use key/value head 0; 2, 3 use head 1
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    full = F.scaled_dot_product_attention(q, k.index_select(1, mg.tensor([0, 0, 1, 1])),
                                          v.index_select(1, mg.tensor([0, 0, 1, 1])))
    assert_close(out, full.detach(), rtol=1e-15)


def test_dropout_and_errors():
    q = k = v = mg.ones(2, 3)
    assert F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).tolist() == [[0.0] * 3] * 2
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mg.ones(2, 2), is_causal=True)
    with pytest.raises(ValueError, match="do not fit"):
        F.scaled_dot_product_attention(q, mg.ones(2, 4), v)
    with pytest.raises(ValueError, match="multiple of the key/value heads"):
        F.scaled_dot_product_attention(mg.ones(3, 2, 4), mg.ones(2, 2, 4), mg.ones(2, 2, 4),
                                       enable_gqa=True)
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 4, 6, 8)), rng.standard_normal((2, 2, 7, 8)),
              rng.standard_normal((2, 2, 7, 3))]
    bool_mask = rng.random((6, 7)) > 0.4
    bool_mask[:, 0] = True
    float_mask = rng.standard_normal((6, 7))
    for kwargs in (dict(), dict(is_causal=True), dict(scale=0.2),
                   dict(attn_mask=bool_mask), dict(attn_mask=float_mask)):
        ours = [_t(a) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        ok = {k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        y = F.scaled_dot_product_attention(*ours, enable_gqa=True, **ok)
        yt = torch.nn.functional.scaled_dot_product_attention(*theirs, enable_gqa=True, **tk)
        g = rng.standard_normal(yt.shape)
        y.backward(mg.tensor(g))
        yt.backward(torch.tensor(g))
        assert_close(y, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
        for o, t in zip(ours, theirs):
            assert_close(o.grad, t.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_half_attention_rounds_as_flash_attention(half_dtype, device):
    """Half Q, K, V: the scores and their softmax in float32, the weights P rounded to
    half for the product with V (flash attention's precision). Each output is then within
    half its ulp plus u·(P·|V|) of the float64 attention (u the half unit roundoff, P's
    rounding), and the output and gradients within u in relative norm. Rounding the
    scores to half as well, as before, broke both bounds (3x the first, 1.3x the second)."""
    u = 2.0**-11 if half_dtype == mg.float16 else 2.0**-8
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.uniform(-2, 2, (2, 4, 16, 32)).astype(np.float32)
                  .astype(half_dtype).astype(np.float64) for _ in range(4))
    exact = [mg.tensor(a, requires_grad=True) for a in (q, k, v)]
    y = F.scaled_dot_product_attention(*exact)
    y.backward(mg.tensor(g))
    ins = [mg.tensor(a, device=device).to(dtype=half_dtype).requires_grad_() for a in (q, k, v)]
    z = F.scaled_dot_product_attention(*ins)
    assert z.dtype == half_dtype
    z.backward(mg.tensor(g, device=device).to(dtype=half_dtype))
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(32)
    P = np.exp(scores - scores.max(-1, keepdims=True))
    P /= P.sum(-1, keepdims=True)
    O, Oh = y.detach().numpy(), z.to(dtype=mg.float64).detach().cpu().numpy()
    assert np.all(np.abs(Oh - O) <= 0.5 * spacing(O, half_dtype) + 1.01 * u * (P @ np.abs(v))
                  + 1e-6)
    for got, want in [(Oh, O)] + [(t.grad.to(dtype=mg.float64).cpu().numpy(), r.grad.numpy())
                                  for t, r in zip(ins, exact)]:
        assert np.linalg.norm(got - want) <= u * np.linalg.norm(want)
