"""nn.init: gains and fans, sample statistics of every initializer against its formula
(large tensors, fixed seeds), in-place/no-grad/seeded behaviour, and the
variance-propagation experiment through 50 layers."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="Unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans_for_linear_and_conv_weights():
    assert init._calculate_fan_in_and_fan_out(mg.empty(30, 20)) == (20, 30)
    # conv (C_out, C_in/groups, kH, kW): fan_in = C_in/groups·kH·kW, fan_out = C_out·kH·kW
    assert init._calculate_fan_in_and_fan_out(nn.Conv2d(8, 6, 3, groups=2).weight) == (36, 54)
    assert init._calculate_fan_in_and_fan_out(mg.empty(4, 2, 5)) == (10, 20)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(mg.empty(5))


SHAPE = (500, 400)  # fan_in 400, fan_out 500; 2e5 samples: relative SE of a variance ≈ 0.3%
FAN_IN, FAN_OUT = 400, 500
CONV = (64, 32, 3, 3)  # fan_in 288, fan_out 576


def _uniform_var(bound):
    return bound**2 / 3


CASES = [
    # (name, call, shape, expected mean, expected variance, bound or None)
    ("uniform", lambda t: init.uniform_(t, -0.5, 1.5), SHAPE, 0.5, 4 / 12, (-0.5, 1.5)),
    ("normal", lambda t: init.normal_(t, 0.3, 2.0), SHAPE, 0.3, 4.0, None),
    ("xavier_uniform", lambda t: init.xavier_uniform_(t), SHAPE, 0, 2 / (FAN_IN + FAN_OUT),
     math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("xavier_uniform_gain", lambda t: init.xavier_uniform_(t, gain=5 / 3), SHAPE, 0,
     (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT), 5 / 3 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("xavier_normal", lambda t: init.xavier_normal_(t), SHAPE, 0, 2 / (FAN_IN + FAN_OUT), None),
    ("xavier_normal_gain", lambda t: init.xavier_normal_(t, gain=2.0), SHAPE, 0,
     4 * 2 / (FAN_IN + FAN_OUT), None),
    ("kaiming_uniform_default", lambda t: init.kaiming_uniform_(t), SHAPE, 0, 2 / FAN_IN,
     math.sqrt(6 / FAN_IN)),
    ("kaiming_uniform_relu_fan_out",
     lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), SHAPE, 0,
     2 / FAN_OUT, math.sqrt(6 / FAN_OUT)),
    ("kaiming_uniform_a_sqrt5", lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), SHAPE, 0,
     1 / (3 * FAN_IN), 1 / math.sqrt(FAN_IN)),
    ("kaiming_normal_relu", lambda t: init.kaiming_normal_(t, nonlinearity="relu"), SHAPE, 0,
     2 / FAN_IN, None),
    ("kaiming_normal_fan_out", lambda t: init.kaiming_normal_(t, mode="fan_out"), SHAPE, 0,
     2 / (1 + 0.01**2) / FAN_OUT, None),
    ("kaiming_normal_leaky_0.2", lambda t: init.kaiming_normal_(t, a=0.2), SHAPE, 0,
     2 / (1 + 0.04) / FAN_IN, None),
    ("kaiming_normal_tanh", lambda t: init.kaiming_normal_(t, nonlinearity="tanh"), SHAPE, 0,
     (5 / 3) ** 2 / FAN_IN, None),
    ("kaiming_normal_conv", lambda t: init.kaiming_normal_(t, nonlinearity="relu"), CONV, 0,
     2 / 288, None),
    ("kaiming_uniform_conv_fan_out",
     lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), CONV, 0, 2 / 576,
     math.sqrt(6 / 576)),
    ("xavier_normal_conv", lambda t: init.xavier_normal_(t), CONV, 0, 2 / (288 + 576), None),
    ("lecun_normal", lambda t: init.lecun_normal_(t), SHAPE, 0, 1 / FAN_IN, None),
    ("calibrated_normal", lambda t: init.calibrated_normal_(t), SHAPE, 0, 1 / FAN_IN, None),
    ("lecun_uniform", lambda t: init.lecun_uniform_(t), SHAPE, 0, 1 / FAN_IN,
     math.sqrt(3 / FAN_IN)),
    ("lecun_normal_conv", lambda t: init.lecun_normal_(t), CONV, 0, 1 / 288, None),
]


@pytest.mark.parametrize("name,fn,shape,mean,var,bound", CASES, ids=[c[0] for c in CASES])
def test_initializer_sample_statistics(name, fn, shape, mean, var, bound, device):
    t = mg.empty(*shape, device=device, dtype=mg.float64)
    out = fn(t)
    assert out is t
    a = t.cpu().numpy()
    n = a.size
    assert abs(a.mean() - mean) < 5 * math.sqrt(var / n), name
    assert a.var() == pytest.approx(var, rel=0.02), name
    if bound is not None:
        lo, hi = bound if isinstance(bound, tuple) else (-bound, bound)
        assert a.min() >= lo and a.max() <= hi
        assert a.min() < lo + 0.01 * (hi - lo) and a.max() > hi - 0.01 * (hi - lo)


def _trunc_moments(mean, std, a, b):
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    Phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    al, be = (a - mean) / std, (b - mean) / std
    Z = Phi(be) - Phi(al)
    m = (phi(al) - phi(be)) / Z
    v = 1 + (al * phi(al) - be * phi(be)) / Z - m * m
    return mean + std * m, std * std * v


@pytest.mark.parametrize("mean,std,a,b", [(0, 1, -2, 2), (0.5, 2.0, -1.0, 3.0),
                                          (0, 0.02, -0.04, 0.04), (0, 1, 1.0, 4.0)])
def test_trunc_normal_moments_and_bounds(mean, std, a, b):
    t = init.trunc_normal_(mg.empty(400, 500, dtype=mg.float64), mean, std, a, b)
    x = t.numpy()
    m, v = _trunc_moments(mean, std, a, b)
    assert x.min() >= a and x.max() <= b
    assert abs(x.mean() - m) < 5 * math.sqrt(v / x.size)
    assert x.var() == pytest.approx(v, rel=0.02)
    with pytest.raises(ValueError, match="expected a < b"):
        init.trunc_normal_(mg.empty(3), a=1, b=0)


def test_constant_zeros_ones_eye():
    t = mg.empty(3, 4)
    assert init.constant_(t, 0.25) is t and np.all(t.numpy() == 0.25)
    assert np.all(init.zeros_(t).numpy() == 0)
    assert np.all(init.ones_(t).numpy() == 1)
    assert np.array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="only 2-D"):
        init.eye_(mg.empty(2, 2, 2))


def test_dirac_conv_is_identity():
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    x = mg.randn(2, 3, 5, 5)
    assert np.allclose(conv(x).numpy(), x.numpy(), atol=1e-6)
    g = nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False)
    init.dirac_(g.weight, groups=2)
    x = mg.randn(1, 4, 4, 4)
    assert np.allclose(g(x).numpy(), x.numpy(), atol=1e-6)


@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (16, 4, 3, 3), (30, 30)])
def test_orthogonal(shape):
    t = init.orthogonal_(mg.empty(*shape, dtype=mg.float64), gain=2.0)
    q = t.numpy().reshape(shape[0], -1)
    rows, cols = q.shape
    if rows <= cols:
        assert np.allclose(q @ q.T, 4 * np.eye(rows), atol=1e-10)
    else:
        assert np.allclose(q.T @ q, 4 * np.eye(cols), atol=1e-10)


def test_orthogonal_sign_fix_makes_it_haar():
    """With Q ← Q·sign(diag R) the diagonal of Q is symmetric around zero (without the
    fix, NumPy's QR makes it biased)."""
    diags = [init.orthogonal_(mg.empty(4, 4, dtype=mg.float64)).numpy()[0, 0]
             for _ in range(400)]
    assert abs(np.mean(diags)) < 0.1


def test_sparse_init():
    t = init.sparse_(mg.empty(100, 30, dtype=mg.float64), sparsity=0.3, std=0.5)
    zeros_per_col = (t.numpy() == 0).sum(0)
    assert np.all(zeros_per_col == 30)


def test_in_place_under_no_grad_seeded_and_dtype_kept():
    lin = nn.Linear(5, 4)
    w = lin.weight
    out = init.kaiming_normal_(w)  # a Parameter that requires grad: no error, no graph
    assert out is w and w.requires_grad and w.is_leaf and w.dtype == mg.float32
    mg.manual_seed(42)
    a = init.xavier_uniform_(mg.empty(10, 10)).numpy().copy()
    mg.manual_seed(42)
    b = init.xavier_uniform_(mg.empty(10, 10)).numpy()
    assert np.array_equal(a, b)
    h = init.normal_(mg.empty(4, 4).half())
    assert h.dtype == mg.float16


def test_layer_defaults_are_pytorch_defaults():
    mg.manual_seed(0)
    lin = nn.Linear(300, 200)
    bound = 1 / math.sqrt(300)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.03)
    emb = nn.Embedding(1000, 64, padding_idx=3)
    assert emb.weight.numpy().std() == pytest.approx(1.0, rel=0.03)
    assert np.all(emb.weight.numpy()[3] == 0)


def test_bad_mode_and_empty_tensor():
    with pytest.raises(ValueError, match="Mode 'fan_avg' not supported"):
        init.kaiming_normal_(mg.empty(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        assert init.kaiming_uniform_(mg.empty(3, 0)).shape == (3, 0)
    with pytest.warns(UserWarning):
        assert nn.Linear(0, 3).weight.shape == (3, 0)  # as PyTorch: allowed, warns


# ------------------------------------------------------------------ variance propagation

WIDTH, BATCH, DEPTH = 1024, 128, 50


def _propagate(weight_init, act, seed=0, dtype=mg.float32, width=WIDTH):
    """Push x ~ N(0, 1) through DEPTH square layers h ← act(h Wᵀ); return the input std and
    each layer's activation std."""
    mg.manual_seed(seed)
    x = mg.randn(BATCH, width, dtype=dtype)
    h, stds = x, []
    with mg.no_grad():
        for _ in range(DEPTH):
            w = weight_init(mg.empty(width, width, dtype=dtype))
            h = (h @ w.T).tanh() if act == "tanh" else (h @ w.T).relu()
            stds.append(float(h.std()))
    return float(x.std()), np.array(stds)


@pytest.mark.parametrize("weight_init,act", [
    (lambda w: init.xavier_normal_(w, gain=init.calculate_gain("tanh")), "tanh"),
    (lambda w: init.xavier_uniform_(w, gain=init.calculate_gain("tanh")), "tanh"),
    (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), "relu"),
    (lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), "relu"),
], ids=["xavier_normal-tanh", "xavier_uniform-tanh", "kaiming_normal-relu",
        "kaiming_uniform-relu"])
def test_scaled_inits_keep_activation_std_through_50_layers(weight_init, act):
    s0, stds = _propagate(weight_init, act)
    assert np.all(stds > s0 / 2) and np.all(stds < 2 * s0), (stds.min(), stds.max())


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_unscaled_inits_explode_or_vanish(act):
    s0, small = _propagate(lambda w: init.normal_(w, 0.0, 0.01), act, width=256)
    assert small[-1] < 1e-10 * s0  # N(0, 0.01²): the signal vanishes
    if act == "relu":
        s0, big = _propagate(lambda w: init.normal_(w, 0.0, 1.0), act, dtype=mg.float64,
                            width=256)
        assert big[-1] > 1e30 * s0  # N(0, 1): it explodes (×√(n/2) ≈ 11 per layer)
    else:
        # tanh bounds the activations; N(0, 1) instead drives every unit into saturation
        mg.manual_seed(0)
        h = mg.randn(BATCH, 256)
        with mg.no_grad():
            for _ in range(3):
                h = (h @ init.normal_(mg.empty(256, 256)).T).tanh()
        assert (np.abs(h.numpy()) > 0.99).mean() > 0.8


def test_init_symmetry_example(capsys):
    """examples/init_symmetry.py: zero and constant init keep all hidden units identical
    (one distinct unit), random init separates them and fits much better."""
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "init_symmetry.py"
    main = runpy.run_path(str(path))["main"]
    res = main(["--steps", "400"])
    assert "distinct hidden unit(s)" in capsys.readouterr().out
    for name in ("zeros", "constant 0.3"):
        assert res[name]["units"] == 1 and res[name]["spread"] < 1e-6
    assert res["kaiming"]["units"] == 16 and res["kaiming"]["spread"] > 1
    assert res["kaiming"]["loss"] < 0.5 * min(res["zeros"]["loss"], res["constant 0.3"]["loss"])
