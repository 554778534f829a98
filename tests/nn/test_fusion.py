"""nn.utils.fusion (an eval-mode BatchNorm folded into the conv/linear layer before it),
skip_init and stateless.functional_call: by hand, equal outputs, errors, torch oracle."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn.utils import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    skip_init,
)


def _randomize_bn(bn, rng):
    with mg.no_grad():
        c = bn.num_features
        bn.running_mean.copy_(rng.standard_normal(c))
        bn.running_var.copy_(rng.uniform(0.5, 2.0, c))
        if bn.weight is not None:
            bn.weight.copy_(rng.standard_normal(c))
            bn.bias.copy_(rng.standard_normal(c))
    return bn.eval()


def test_fused_weights_by_hand():
    """One channel: s = γ/√(σ² + ε) = 2/√(3 + 1) = 1, so W' = W and b' = (b − μ) + β."""
    w = mg.tensor([[[[2.0]]]], dtype=mg.float64)
    fw, fb = fuse_conv_bn_weights(w, mg.tensor([1.0], dtype=mg.float64),
                                  mg.tensor([0.5], dtype=mg.float64),
                                  mg.tensor([3.0], dtype=mg.float64), 1.0,
                                  mg.tensor([2.0], dtype=mg.float64),
                                  mg.tensor([-1.0], dtype=mg.float64))
    assert isinstance(fw, nn.Parameter) and fw.tolist() == [[[[2.0]]]]
    assert fb.tolist() == [(1.0 - 0.5) * 1.0 - 1.0]
    fw, fb = fuse_conv_bn_weights(w, None, mg.tensor([0.5], dtype=mg.float64),
                                  mg.tensor([0.0], dtype=mg.float64), 0.25, None, None)
    assert fw.tolist() == [[[[4.0]]]] and fb.tolist() == [-1.0]       # s = 1/√0.25 = 2


@pytest.mark.parametrize("make", [
    lambda: (nn.Conv2d(3, 4, 3, padding=1, groups=1), nn.BatchNorm2d(4), (2, 3, 5, 5), False),
    lambda: (nn.Conv2d(4, 6, 3, groups=2, bias=False), nn.BatchNorm2d(6), (2, 4, 5, 5), False),
    lambda: (nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3, affine=False), (2, 2, 7), False),
    lambda: (nn.Conv3d(2, 3, 2), nn.BatchNorm3d(3), (1, 2, 4, 4, 4), False),
    lambda: (nn.ConvTranspose2d(3, 4, 3, stride=2), nn.BatchNorm2d(4), (2, 3, 4, 4), True),
])
def test_fused_layer_equals_the_pair(make):
    rng = np.random.default_rng(0)
    conv, bn, shape, transpose = make()
    conv = conv.to(dtype=mg.float64).eval()
    bn = _randomize_bn(bn.to(dtype=mg.float64), rng)
    x = mg.tensor(rng.standard_normal(shape))
    fused = fuse_conv_bn_eval(conv, bn, transpose=transpose)
    np.testing.assert_allclose(fused(x).numpy(), bn(conv(x)).numpy(), rtol=1e-12,
                               atol=1e-12)
    assert fused is not conv and fused.bias is not None


def test_linear_fusion_and_errors():
    rng = np.random.default_rng(1)
    lin = nn.Linear(4, 3).to(dtype=mg.float64).eval()
    bn = _randomize_bn(nn.BatchNorm1d(3).to(dtype=mg.float64), rng)
    x = mg.tensor(rng.standard_normal((5, 4)))
    np.testing.assert_allclose(fuse_linear_bn_eval(lin, bn)(x).numpy(), bn(lin(x)).numpy(),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError, match="only for eval mode"):
        fuse_conv_bn_eval(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    with pytest.raises(RuntimeError, match="no running statistics"):
        fuse_conv_bn_eval(nn.Conv2d(1, 2, 1).eval(),
                          nn.BatchNorm2d(2, track_running_stats=False).eval())
    with pytest.raises(ValueError, match="3 outputs, the BatchNorm 4 features"):
        fuse_linear_bn_eval(lin, nn.BatchNorm1d(4).eval())


def test_fusion_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch.nn.utils.fusion import fuse_conv_bn_eval as torch_fuse

    rng = np.random.default_rng(2)
    conv = nn.Conv2d(3, 4, 3).to(dtype=mg.float64).eval()
    bn = _randomize_bn(nn.BatchNorm2d(4).to(dtype=mg.float64), rng)
    tconv = torch.nn.Conv2d(3, 4, 3).double().eval()
    tbn = torch.nn.BatchNorm2d(4).double().eval()
    with torch.no_grad():
        for mine, theirs in ((conv, tconv), (bn, tbn)):
            for name, t in mine.state_dict().items():
                theirs.state_dict()[name].copy_(torch.tensor(t.numpy()))
    ours, ref = fuse_conv_bn_eval(conv, bn), torch_fuse(tconv, tbn)
    np.testing.assert_allclose(ours.weight.numpy(), ref.weight.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(ours.bias.numpy(), ref.bias.detach().numpy(), rtol=1e-13,
                               atol=1e-15)


def test_skip_init_and_stateless():
    lin = skip_init(nn.Linear, 3, 2)
    assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)
    lin = nn.Linear(2, 1)
    params = {"weight": mg.tensor([[1.0, 2.0]]), "bias": mg.tensor([0.5])}
    out = nn.utils.stateless.functional_call(lin, params, (mg.tensor([[1.0, 1.0]]),))
    assert out.tolist() == [[3.5]]
