"""Transformer encoder/decoder layers and stacks: structure, residual algebra by hand,
gradients, errors, and PyTorch's outputs and gradients (same state dict) when installed."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad.testing import assert_close


def _t(a, device="cpu"):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True)


def test_post_norm_layer_is_its_formula(device):
    """norm2(y + ff(y)) with y = norm1(x + attn(x)), built from the layer's own parts."""
    rng = np.random.default_rng(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0).double()
    layer = layer.to(device)
    x = _t(rng.standard_normal((3, 2, 4)), device)
    attn = layer.self_attn(x, x, x, need_weights=False)[0]
    y = layer.norm1(x + attn)
    want = layer.norm2(y + layer.linear2(layer.linear1(y).relu()))
    assert_close(layer(x), want.detach(), rtol=1e-14)
    pre = nn.TransformerEncoderLayer(4, 2, 8, 0.0, norm_first=True).double().to(device)
    z = x + pre.self_attn(*(pre.norm1(x),) * 3, need_weights=False)[0]
    want = z + pre.linear2(pre.linear1(pre.norm2(z)).relu())
    assert_close(pre(x), want.detach(), rtol=1e-14)


def test_stacks_copy_the_layer_and_pass_gradients(device):
    rng = np.random.default_rng(1)
    layer = nn.TransformerEncoderLayer(4, 2, 8, 0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4)).double().to(device)
    names = [n for n, _ in enc.named_parameters()]
    assert names[0] == "layers.0.self_attn.in_proj_weight" and "layers.1.norm2.bias" in names
    assert names[-1] == "norm.bias"
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    x = _t(rng.standard_normal((2, 3, 4)), device)
    assert mg.gradcheck(lambda x, *p: enc(x), (x, *list(enc.parameters())[:6]))
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 8, 0.0, batch_first=True),
                                2).double().to(device)
    memory = _t(rng.standard_normal((2, 5, 4)), device)
    mask = mg.tensor(np.triu(np.ones((3, 3), bool), 1), device=device)   # True: masked
    out = dec(x, memory, tgt_mask=mask, tgt_is_causal=True)
    assert out.shape == (2, 3, 4)
    assert mg.gradcheck(lambda x, m: dec(x, m, tgt_mask=mask), (x, memory))


def test_errors():
    with pytest.raises(ValueError, match="activation should be 'relu' or 'gelu'"):
        nn.TransformerEncoderLayer(4, 2, activation="swish")
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.TransformerEncoderLayer(6, 4)
    with pytest.raises(ValueError, match="num_layers must be at least 1"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2), 0)
    layer = nn.TransformerEncoderLayer(4, 2)
    with pytest.raises(ValueError, match="give attn_mask too"):
        layer(mg.randn(3, 2, 4), is_causal=True)


@pytest.mark.parametrize("config", [
    dict(), dict(norm_first=True), dict(batch_first=True, activation="gelu"),
    dict(bias=False), dict(activation=lambda x: x.tanh())])
def test_match_torch(config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    tconfig = dict(config)
    if callable(config.get("activation")):
        tconfig["activation"] = torch.tanh
    enc_t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(
        8, 2, 16, 0.1, **tconfig), 2, norm=torch.nn.LayerNorm(8),
        enable_nested_tensor=False).double().eval()
    dec_t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(
        8, 2, 16, 0.1, **tconfig), 2).double().eval()
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.1, **config), 2,
                                norm=nn.LayerNorm(8)).double().eval()
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, 0.1, **config),
                                2).double().eval()
    for ours, theirs in ((enc, enc_t), (dec, dec_t)):
        ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})
    first = config.get("batch_first", False)
    src = rng.standard_normal((2, 5, 8) if first else (5, 2, 8))
    tgt = rng.standard_normal((2, 4, 8) if first else (4, 2, 8))
    tgt_mask = np.triu(np.ones((4, 4), bool), 1)
    padding = np.zeros((2, 5), bool)
    padding[1, 3:] = True
    x, y = mg.tensor(src, requires_grad=True), mg.tensor(tgt, requires_grad=True)
    xt, yt = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    memory = enc(x, src_key_padding_mask=mg.tensor(padding))
    memory_t = enc_t(xt, src_key_padding_mask=torch.tensor(padding))
    out = dec(y, memory, tgt_mask=mg.tensor(tgt_mask),
              memory_key_padding_mask=mg.tensor(padding))
    out_t = dec_t(yt, memory_t, tgt_mask=torch.tensor(tgt_mask),
                  memory_key_padding_mask=torch.tensor(padding))
    assert_close(out, out_t.detach().cpu().numpy(), rtol=1e-11, atol=1e-13)
    g = rng.standard_normal(out_t.shape)
    out.backward(mg.tensor(g))
    out_t.backward(torch.tensor(g))
    assert_close(x.grad, xt.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
    assert_close(y.grad, yt.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
    grads_t = dict(enc_t.named_parameters())
    for name, p in enc.named_parameters():
        assert_close(p.grad, grads_t[name].grad.cpu().numpy(), rtol=1e-9, atol=1e-12)


def test_transformer_is_its_encoder_then_its_decoder(device):
    rng = np.random.default_rng(2)
    model = nn.Transformer(4, 2, 2, 1, 8, 0.0, batch_first=True).double().to(device)
    names = [n for n, _ in model.named_parameters()]
    assert names[0] == "encoder.layers.0.self_attn.in_proj_weight"
    assert "encoder.norm.weight" in names and names[-1] == "decoder.norm.bias"
    assert len(model.encoder.layers) == 2 and len(model.decoder.layers) == 1
    src, tgt = _t(rng.standard_normal((2, 5, 4)), device), _t(rng.standard_normal((2, 3, 4)),
                                                                device)
    mask = nn.Transformer.generate_square_subsequent_mask(3, device=device, dtype=mg.float64)
    assert mask.tolist() == [[0.0, -np.inf, -np.inf], [0.0, 0.0, -np.inf], [0.0, 0.0, 0.0]]
    out = model(src, tgt, tgt_mask=mask, tgt_is_causal=True)
    memory = model.encoder(src)
    assert_close(out, model.decoder(tgt, memory, tgt_mask=mask).detach(), rtol=1e-14)
    assert mg.gradcheck(lambda s, t: model(s, t, tgt_mask=mask), (src, tgt))
    # the decoder is causal: the first output position does not see later targets
    later = tgt.detach().cpu().numpy().copy()
    later[:, 1:] += 1.0
    out2 = model(src, _t(later, device), tgt_mask=mask)
    assert_close(out2[:, 0], out[:, 0].detach(), rtol=1e-13)


def test_transformer_initializes_matrices_xavier_uniform():
    mg.manual_seed(0)
    model = nn.Transformer(16, 4, 1, 1, 32, 0.0)
    w = model.encoder.layers[0].linear1.weight            # (32, 16)
    bound = (6 / (16 + 32)) ** 0.5
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.9 * bound
    assert float(model.encoder.norm.weight.min()) == 1.0   # 1-d parameters keep theirs


def test_transformer_errors_and_custom_parts():
    model = nn.Transformer(4, 2, 1, 1, 8, 0.0)
    with pytest.raises(ValueError, match="batch sizes of src .* and tgt .* differ"):
        model(mg.randn(5, 2, 4), mg.randn(3, 3, 4))
    with pytest.raises(ValueError, match="must equal d_model = 4"):
        model(mg.randn(5, 2, 4), mg.randn(3, 2, 6))
    with pytest.raises(ValueError, match="both be 2-d"):
        model(mg.randn(5, 2, 4), mg.randn(3, 4))
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, 0.0), 1)
    custom = nn.Transformer(4, 2, custom_encoder=enc, num_decoder_layers=1,
                            dim_feedforward=8)
    assert custom.encoder is enc and custom.encoder.norm is None
    assert model(mg.randn(5, 4), mg.randn(3, 4)).shape == (3, 4)   # unbatched


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("config", [dict(), dict(norm_first=True, batch_first=True)])
def test_transformer_matches_torch(config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    theirs = torch.nn.Transformer(8, 2, 2, 2, 16, 0.1, **config).double().eval()
    ours = nn.Transformer(8, 2, 2, 2, 16, 0.1, **config).double().eval()
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})
    first = config.get("batch_first", False)
    src = rng.standard_normal((2, 5, 8) if first else (5, 2, 8))
    tgt = rng.standard_normal((2, 4, 8) if first else (4, 2, 8))
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=mg.float64)
    assert mask.tolist() == mask_t.tolist()
    x, y = mg.tensor(src, requires_grad=True), mg.tensor(tgt, requires_grad=True)
    xt, yt = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    out = ours(x, y, tgt_mask=mask)
    out_t = theirs(xt, yt, tgt_mask=mask_t)
    assert_close(out, out_t.detach().cpu().numpy(), rtol=1e-11, atol=1e-13)
    g = rng.standard_normal(out_t.shape)
    out.backward(mg.tensor(g))
    out_t.backward(torch.tensor(g))
    assert_close(x.grad, xt.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
    assert_close(y.grad, yt.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
