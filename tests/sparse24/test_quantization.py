"""INT8 quantization: the scale / zero-point formulas by hand, the s/2 error bound on
hypothesis-drawn tensors, per-channel scales, clamping, the straight-through gradient
(exactly), FakeQuantize's observer, QATLinear, post-training weight quantization."""
import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn, optim
from minigrad import quantization as Q
from minigrad.testing import arrays, assert_close


def test_asymmetric_formulas_by_hand():
    x = np.array([-0.7, 0.1, 1.3, 2.25])
    s, z = Q.calculate_qparams(x)
    assert float(s) == pytest.approx((2.25 + 0.7) / 255, rel=1e-15)
    assert int(z) == round(0.7 / float(s)) - 128
    q = Q.quantize(x)
    expected = np.clip(np.rint(x / float(s)) + int(z), -128, 127).astype(np.int8)
    np.testing.assert_array_equal(q.int_repr().numpy(), expected)
    assert q.int_repr().dtype == np.int8 and q.qscheme() == "per_tensor_affine"
    assert_close(q.dequantize(), float(s) * (expected.astype(np.float64) - int(z)), rtol=1e-15)
    # all-positive data: the range is widened to contain 0, so 0 is exact and z = -128
    s2, z2 = Q.calculate_qparams(np.array([0.5, 1.0, 2.0]))
    assert float(s2) == pytest.approx(2.0 / 255) and int(z2) == -128


def test_symmetric_formulas_by_hand():
    x = np.array([-3.0, 0.2, 1.0])
    s, z = Q.calculate_qparams(x, symmetric=True)
    assert float(s) == pytest.approx(3.0 / 127) and int(z) == 0
    q = Q.quantize(x, symmetric=True)
    np.testing.assert_array_equal(q.int_repr().numpy(), np.rint(x / (3.0 / 127)))
    assert q.int_repr().numpy().min() == -127  # the narrow range: -128 is never used
    assert q.qscheme() == "per_tensor_symmetric"


@pytest.mark.parametrize("symmetric", [False, True])
@given(x=arrays(shape=st.tuples(st.integers(1, 6), st.integers(1, 6)), min_value=-50.0,
                max_value=50.0))
def test_error_is_at_most_half_a_step(x, symmetric):
    for per_channel in (False, True):
        q = Q.quantize(x, symmetric=symmetric, per_channel=per_channel, axis=0)
        s = np.asarray(q.scale).reshape(-1, 1) if per_channel else float(q.scale)
        err = np.abs(x - q.dequantize().numpy())
        assert (err <= s / 2 * (1 + 1e-9) + 1e-12).all()
        # 0 is exactly representable
        zq = Q.quantize_per_channel(np.zeros_like(x), np.atleast_1d(q.scale) * np.ones(len(x)),
                                    np.atleast_1d(q.zero_point) * np.ones(len(x), np.int64),
                                    axis=0)
        assert (zq.dequantize().numpy() == 0).all()


def test_per_channel_scales_are_per_slice_formulas():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 7)) * np.array([[0.01], [1.0], [10.0], [100.0]])
    q = Q.quantize(W, symmetric=False, per_channel=True, axis=0)
    assert q.qscheme() == "per_channel_affine" and q.q_per_channel_axis() == 0
    for c in range(4):
        s, z = Q.calculate_qparams(W[c])
        assert q.q_per_channel_scales().numpy()[c] == pytest.approx(float(s), rel=1e-15)
        assert q.q_per_channel_zero_points().numpy()[c] == int(z)
    # per-channel error is far below per-tensor error on the small-scale row
    qt = Q.quantize(W)
    err_c = np.abs(W - q.dequantize().numpy())[0].max()
    err_t = np.abs(W - qt.dequantize().numpy())[0].max()
    assert err_c < err_t / 100
    # axis 1
    q1 = Q.quantize(W, symmetric=True, per_channel=True, axis=1)
    assert_close(q1.q_per_channel_scales(), np.abs(W).max(0) / 127, rtol=1e-15)


def test_narrower_grids():
    assert Q.quant_range() == (-128, 127) and Q.quant_range(symmetric=True) == (-127, 127)
    assert Q.quant_range(bits=4) == (-8, 7) and Q.quant_range(symmetric=True, bits=4) == (-7, 7)
    assert Q.quant_range(mg.uint8, bits=4) == (0, 15)
    x = np.random.default_rng(5).uniform(-1.0, 3.0, size=(3, 7))
    q = Q.quantize(x, bits=4)
    s = float(q.scale)
    assert s == pytest.approx((x.max() - min(x.min(), 0)) / 15)
    assert int(q.zero_point) == round(-min(x.min(), 0) / s) - 8
    r = q.int_repr().numpy()
    assert r.min() >= -8 and r.max() <= 7 and r.dtype == np.int8
    assert (np.abs(x - q.dequantize().numpy()) <= s / 2 * (1 + 1e-9)).all()
    assert q.nbytes() == -(-21 * 4 // 8) + 8  # packed 4-bit integers + scale + zero point
    with pytest.raises(ValueError, match="bits must be"):
        Q.quantize(x, bits=9)


def test_values_outside_the_range_are_clamped():
    q = Q.quantize_per_tensor(mg.tensor([-10.0, 0.0, 0.05, 10.0]), 0.1, 3)
    assert q.int_repr().tolist() == [-97, 3, 4, 103]  # half to even: 0.5 -> 0
    q = Q.quantize_per_tensor(mg.tensor([-100.0, 100.0]), 0.1, 3)
    assert q.int_repr().tolist() == [-128, 127]
    assert q.dequantize().tolist() == pytest.approx([-13.1, 12.4])
    u = Q.quantize(np.array([-1.0, 3.0]), dtype=mg.uint8)
    assert u.int_repr().dtype == np.uint8 and u.int_repr().tolist() == [0, 255]


def test_ste_gradient_exactly(device):
    """gx = gy where q_min <= round(x/s) + z <= q_max, 0 outside; checked element by
    element with a random cotangent, boundaries included."""
    s, z, qmin, qmax = 0.25, 10, -128, 127
    # lower edge: round(x/s) + z >= -128 <=> round(x/s) >= -138: x/s = -138.5 rounds (half
    # to even) to -138, inside; upper: round(x/s) <= 117: x/s = 117.5 rounds to 118, outside
    xs = np.array([-40.0, -34.75, -34.625, -34.5, -34.0, 0.0, 0.3, 29.0, 29.25, 29.375,
                   29.5, 50.0])
    inside = (np.rint(xs / s) + z >= qmin) & (np.rint(xs / s) + z <= qmax)
    assert inside.tolist() == [False, False, True, True, True, True, True, True, True, False,
                               False, False]
    x = mg.tensor(xs, dtype=mg.float64, device=device, requires_grad=True)
    gy = np.random.default_rng(1).standard_normal(len(xs))
    y = Q.fake_quantize_per_tensor_affine(x, s, z, qmin, qmax)
    q = Q.quantize_per_tensor(xs, s, z)
    assert_close(y, q.dequantize().numpy(), rtol=0)
    y.backward(mg.tensor(gy, device=device))
    assert_close(x.grad, np.where(inside, gy, 0.0), rtol=0)
    # per channel
    Xs = np.array([[-1.0, 0.2, 5.0], [-1.0, 0.2, 5.0]])
    X = mg.tensor(Xs, device=device, requires_grad=True)
    Y = Q.fake_quantize_per_channel_affine(X, np.array([0.01, 1.0]), np.array([0, 0]), 0,
                                           -128, 127)
    Y.backward(mg.tensor(np.ones((2, 3)), device=device))
    assert_close(X.grad, [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], rtol=0)  # 5/0.01 = 500 > 127
    assert_close(Y, [[-1.0, 0.2, 1.27], [-1.0, 0.0, 5.0]], rtol=1e-12)


def test_fake_quantize_module_observer():
    fq = Q.FakeQuantize(averaging_constant=0.5)
    x1, x2 = mg.tensor([-1.0, 2.0]), mg.tensor([-3.0, 4.0])
    fq(x1)
    assert float(fq.min_val.numpy()) == -1.0 and float(fq.max_val.numpy()) == 2.0
    fq(x2)  # x_min <- x_min + c (min(x) - x_min)
    assert float(fq.min_val.numpy()) == -2.0 and float(fq.max_val.numpy()) == 3.0
    s, z = Q.calculate_qparams(np.array([-2.0, 3.0]))
    assert float(fq.scale.numpy()) == pytest.approx(float(s))
    assert int(fq.zero_point.numpy()) == int(z)
    fq.eval()
    fq(mg.tensor([-100.0, 100.0]))  # no observation in eval mode
    assert float(fq.min_val.numpy()) == -2.0
    fq.disable_fake_quant()
    assert fq(x1) is x1
    fq.enable_fake_quant().train().disable_observer()
    fq(x2)
    assert float(fq.max_val.numpy()) == 3.0
    assert "quant_min=-128" in repr(fq)


def test_qat_linear_forward_and_gradients():
    mg.manual_seed(0)
    lin = nn.Linear(6, 4).double()
    qat = Q.QATLinear.from_float(lin)
    assert_close(qat.weight, lin.weight, rtol=0)
    x = np.random.default_rng(2).standard_normal((5, 6))
    X = mg.tensor(x, requires_grad=True)
    y = qat(X)
    s_x, z_x = Q.calculate_qparams(x)
    xq = Q.quantize_per_tensor(x, s_x, z_x).dequantize().numpy()
    Wq = Q.quantize(lin.weight.numpy(), symmetric=True, per_channel=True).dequantize().numpy()
    assert_close(y, xq @ Wq.T + lin.bias.numpy(), rtol=1e-12, atol=1e-12)
    gy = np.random.default_rng(3).standard_normal((5, 4))
    y.backward(mg.tensor(gy))
    # STE: the weight's range is its own, so every weight passes gY^T x_q; the input too
    assert_close(qat.weight.grad, gy.T @ xq, rtol=1e-12, atol=1e-12)
    assert_close(X.grad, gy @ Wq, rtol=1e-12, atol=1e-12)
    q = qat.quantized_weight()
    assert q.int_repr().dtype == np.int8 and q.qscheme() == "per_channel_symmetric"
    assert_close(q.dequantize(), Wq, rtol=0)


def test_qat_training_reduces_the_loss():
    mg.manual_seed(1)
    model = nn.Sequential(Q.QATLinear(4, 16), nn.ReLU(), Q.QATLinear(16, 1))
    x = mg.randn(64, 4)
    y = (x * mg.tensor([1.0, -2.0, 0.5, 3.0])).sum(1, keepdim=True)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_quantize_model_weights():
    mg.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10))
    model.add_module("emb", nn.Embedding(5, 3))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    stored = Q.quantize_model_weights(model)
    assert sorted(stored) == ["0", "3"]  # Conv2d and Linear; the Embedding is left alone
    for name, q in stored.items():
        W0 = before[f"{name}.weight"]
        W = model.get_submodule(name).weight.numpy()
        assert_close(W, q.dequantize(), rtol=0)
        s = q.q_per_channel_scales().numpy().reshape((-1,) + (1,) * (W0.ndim - 1))
        assert (np.abs(W - W0) <= s / 2 * (1 + 1e-6)).all()
        assert q.nbytes() < W0.nbytes / 2
    np.testing.assert_array_equal(model.emb.weight.numpy(), before["emb.weight"])
    np.testing.assert_array_equal(model[3].bias.numpy(), before["3.bias"])


def test_validation_errors():
    with pytest.raises(ValueError, match="signed type"):
        Q.quantize(np.ones(3), symmetric=True, dtype=mg.uint8)
    with pytest.raises(TypeError, match="int8 and uint8"):
        Q.quantize(np.ones(3), dtype=mg.int16)
    with pytest.raises(ValueError, match="scale must be positive"):
        Q.quantize_per_tensor(np.ones(3), 0.0, 0)
    with pytest.raises(ValueError, match="need 2 scales"):
        Q.quantize_per_channel(np.ones((2, 3)), np.ones(3), np.zeros(3), axis=0)
    with pytest.raises(ValueError, match="inf or NaN"):
        Q.calculate_qparams(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="quant_min"):
        Q.fake_quantize(mg.ones(2), 1.0, 0, 6, 5)
    with pytest.raises(ValueError, match="averaging_constant"):
        Q.FakeQuantize(averaging_constant=0.0)
    with pytest.raises(TypeError, match="QuantizedTensor"):
        Q.dequantize(np.ones(2))


def test_docstring_examples():
    result = doctest.testmod(Q, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
