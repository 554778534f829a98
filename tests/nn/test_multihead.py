"""nn.MultiheadAttention: by hand with one head, gradients, errors, and PyTorch's values,
weights and gradients (same state dict) when it is installed."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad.testing import assert_close


def _t(a, device="cpu"):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True)


def test_one_head_identity_projections_by_hand(device):
    """With identity projections and no biases, one head is plain attention:
    out = softmax(q kᵀ/√E) v; the weights are returned (averaged over the one head)."""
    mha = nn.MultiheadAttention(2, 1, bias=False).double().to(device)
    with mg.no_grad():
        eye = mha.in_proj_weight.xp.eye(2)
        mha.in_proj_weight.data[...] = mha.in_proj_weight.xp.concatenate([eye, eye, eye])
        mha.out_proj.weight.data[...] = eye
    q = _t([[[1.0, 0.0]]], device)                                   # (L=1, N=1, E=2)
    k = _t([[[1.0, 0.0]], [[0.0, 1.0]]], device)                     # (S=2, N=1, E=2)
    v = _t([[[10.0, 0.0]], [[20.0, 0.0]]], device)
    out, w = mha(q, k, v)
    w0 = 1 / (1 + math.exp(-1 / math.sqrt(2)))
    assert_close(w, np.array([[[w0, 1 - w0]]]), rtol=1e-14)
    assert_close(out, np.array([[[10 * w0 + 20 * (1 - w0), 0.0]]]), rtol=1e-14, atol=1e-15)


def test_parameters_gradients_and_layouts(device):
    rng = np.random.default_rng(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double().to(device)
    assert [n for n, _ in mha.named_parameters()] == [
        "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    x = _t(rng.standard_normal((2, 3, 4)), device)                   # (N, L, E)
    out, w = mha(x, x, x, average_attn_weights=False)
    assert out.shape == (2, 3, 4) and w.shape == (2, 2, 3, 3)
    assert_close(w.sum(-1), np.ones((2, 2, 3)), rtol=1e-14)
    assert mg.gradcheck(lambda x, *p: mha(x, x, x, need_weights=False)[0],
                        (x, *mha.parameters()))
    unbatched, uw = mha(x[0], x[0], x[0])
    assert_close(unbatched, out[0].detach(), rtol=1e-13)
    assert uw.shape == (3, 3)
    other = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True)
    assert [n for n, _ in other.named_parameters()] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "bias_k", "bias_v",
        "out_proj.weight", "out_proj.bias"]
    o, w = other(mg.randn(3, 2, 4), mg.randn(6, 2, 3), mg.randn(6, 2, 5))
    assert o.shape == (3, 2, 4) and w.shape == (2, 3, 8)              # 6 keys + bias + zero


def test_initialization_is_pytorch_s():
    """Xavier-uniform in_proj_weight (fan_in E, fan_out 3E), zero biases, Xavier-normal
    bias_k/bias_v."""
    mg.manual_seed(0)
    mha = nn.MultiheadAttention(16, 4, add_bias_kv=True)
    bound = math.sqrt(6 / (16 + 48))
    w = mha.in_proj_weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not mha.in_proj_bias.numpy().any() and not mha.out_proj.bias.numpy().any()
    assert mha.bias_k.shape == (1, 1, 16) and mha.bias_k.numpy().std() > 0


def test_errors():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(6, 4)
    mha = nn.MultiheadAttention(4, 2)
    x = mg.randn(3, 2, 4)
    with pytest.raises(ValueError, match="give attn_mask too"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        mha(x, x, x, attn_mask=mg.zeros(2, 2))
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):
        mha(x, x, x, key_padding_mask=mg.zeros(3, 2, dtype=mg.bool))
    with pytest.raises(ValueError, match="expected query"):
        mha(mg.randn(3, 2, 5), x, x)


@pytest.mark.parametrize("config", [
    dict(), dict(batch_first=True), dict(bias=False), dict(kdim=3, vdim=5),
    dict(add_bias_kv=True), dict(add_zero_attn=True), dict(add_bias_kv=True, kdim=3, vdim=5)])
def test_matches_torch(config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    E, H, L, S, N = 6, 3, 4, 5, 2
    kdim, vdim = config.get("kdim", E), config.get("vdim", E)
    ours = nn.MultiheadAttention(E, H, **config).double()
    theirs = torch.nn.MultiheadAttention(E, H, **config).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    first = config.get("batch_first", False)

    def shape(n, length, width):
        return (n, length, width) if first else (length, n, width)

    arrays = [rng.standard_normal(shape(N, L, E)), rng.standard_normal(shape(N, S, kdim)),
              rng.standard_normal(shape(N, S, vdim))]
    bool_mask = rng.random((L, S)) > 0.7
    bool_mask[:, 0] = False                                          # no query sees nothing
    padding = rng.random((N, S)) > 0.7
    padding[:, 1] = False
    for kwargs in (dict(), dict(attn_mask=bool_mask), dict(attn_mask=rng.standard_normal((L, S))),
                   dict(key_padding_mask=padding, average_attn_weights=False),
                   dict(attn_mask=bool_mask, key_padding_mask=padding)):
        xs = [mg.tensor(a, requires_grad=True) for a in arrays]
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        ok = {k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        out, w = ours(*xs, **ok)
        tout, tw = theirs(*ts, **tk)
        assert_close(out, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert_close(w, tw.detach().numpy(), rtol=1e-12, atol=1e-14)
        g = rng.standard_normal(tout.shape)
        out.backward(mg.tensor(g))
        tout.backward(torch.tensor(g))
        for a, b in zip(xs, ts):
            assert_close(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-13)
        tgrads = dict(theirs.named_parameters())
        for name, param in ours.named_parameters():
            assert_close(param.grad, tgrads[name].grad.numpy(), rtol=1e-10, atol=1e-13)
        ours.zero_grad()
        theirs.zero_grad()
