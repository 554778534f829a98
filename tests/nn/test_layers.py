"""Linear, LowRankLinear, Bilinear, activations, pooling, Embedding, Flatten, residual
blocks: forward against NumPy written from the definitions, gradcheck (float64, random
cotangent) on hypothesis-drawn shapes, gradgradcheck where second derivatives are used,
and the error messages."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import arrays, assert_close


def _t(a, device="cpu", grad=True):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=grad)


# ------------------------------------------------------------------ Linear


@given(data=st.data())
def test_linear_forward_and_gradcheck(data, device):
    lead = data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    fin, fout = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    bias = data.draw(st.booleans())
    x = data.draw(arrays(shape=tuple(lead) + (fin,)))
    lin = nn.Linear(fin, fout, bias=bias).double().to(device)
    X = _t(x, device)
    W = lin.weight.cpu().numpy()
    ref = x @ W.T + (lin.bias.cpu().numpy() if bias else 0)
    assert_close(lin(X), ref, rtol=1e-12, atol=1e-12)
    params = (X, lin.weight) + ((lin.bias,) if bias else ())
    assert mg.gradcheck(lambda *a: lin(a[0]), params)


@settings(max_examples=6)
@given(x=arrays(shape=st.tuples(st.integers(1, 3), st.just(3))))
def test_linear_gradgradcheck(x):
    lin = nn.Linear(3, 2).double()
    assert mg.gradgradcheck(lambda x, w, b: lin(x).tanh(), (_t(x), lin.weight, lin.bias))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lead", [(6,), (2, 3)])
def test_linear_gradients_accumulate_over_passes(device, dtype, lead):
    """Two backward passes add up in W.grad and b.grad: on CUDA the second pass's products
    are added into the existing .grad by cuBLAS itself (β = 1: W by gyᵀx, b by a row of
    ones times gy), checked here to be taken, against the float64 CPU sums."""
    from minigrad.amp import autocast_mode

    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(lead + (5,))
    gys = [rng.standard_normal(lead + (4,)) for _ in range(2)]
    taken = []
    sum_rows_into = autocast_mode.sum_rows_into
    from minigrad.nn import linear as linear_module

    def spy(*a):
        taken.append(sum_rows_into(*a))
        return taken[-1]

    grads = []
    for dev, dt in ((device, dtype), ("cpu", "float64")):
        mg.manual_seed(0)
        lin = nn.Linear(5, 4).to(dtype=getattr(mg, dt)).to(dev)
        x = mg.tensor(x0, dtype=getattr(mg, dt), device=dev)
        linear_module.sum_rows_into = spy
        try:
            for gy in gys:
                lin(x).backward(mg.tensor(gy, dtype=getattr(mg, dt), device=dev))
        finally:
            linear_module.sum_rows_into = sum_rows_into
        grads.append([p.grad.cpu().numpy().astype(np.float64) for p in (lin.weight, lin.bias)])
    tol = 1e-12 if dtype == "float64" else 2e-5
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    if device == "cuda":
        assert taken[:1] == [True]  # the second pass on CUDA (the first made the .grad)
    assert not any(taken[1:])  # never on the CPU


def test_functional_linear_and_errors():
    x, w, b = mg.randn(2, 3), mg.randn(4, 3), mg.randn(4)
    assert_close(F.linear(x, w, b), x.numpy() @ w.numpy().T + b.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=3, "
                                         r"bias=True\): expected input with last dimension "
                                         r"4 \(shape \(\*, 4\)\), got shape \(2, 5\)"):
        nn.Linear(4, 3)(mg.randn(2, 5))
    with pytest.raises(ValueError, match="linear: input of shape \\(2, 5\\) does not match "
                                         "weight of shape \\(4, 3\\)"):
        F.linear(mg.randn(2, 5), mg.randn(4, 3))
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.Linear(2, 2)(np.ones((1, 2)))


def test_mlp_learns_xor():
    mg.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    x = mg.tensor([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    y = mg.tensor([[0.0], [1], [1], [0]])
    for _ in range(500):
        loss = ((net(x) - y) ** 2).mean()
        net.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in net.parameters():
                p.data -= 0.2 * p.grad.data
    assert float(loss) < 0.01


# ------------------------------------------------------------------ LowRankLinear


def test_low_rank_from_linear_error_and_parameters():
    mg.manual_seed(0)
    dense = nn.Linear(40, 30).double()
    W = dense.weight.numpy()
    s = np.linalg.svd(W, compute_uv=False)
    for r in (1, 5, 30):
        low = nn.LowRankLinear.from_linear(dense, r)
        approx = (low.U @ low.V).numpy()
        err = np.linalg.norm(W - approx) / np.linalg.norm(W)
        assert low.relative_error == pytest.approx(err, rel=1e-6, abs=1e-12)
        # Eckart–Young: the error is the tail of the singular values
        assert low.relative_error == pytest.approx(
            math.sqrt((s[r:] ** 2).sum() / (s**2).sum()), rel=1e-6, abs=1e-12)
        assert low.num_parameters == r * (40 + 30) + 30
        assert low.dense_num_parameters == 40 * 30 + 30
        assert low.U.shape == (30, r) and low.V.shape == (r, 40)
    x = mg.randn(5, 40, dtype=mg.float64)
    full = nn.LowRankLinear.from_linear(dense, 30)
    assert_close(full(x), dense(x), rtol=1e-9, atol=1e-12)
    assert_close(full.weight, W, rtol=1e-9, atol=1e-12)
    assert "relative_error=" in repr(full) and "parameters=2130/1230" in repr(full)


def test_low_rank_errors_and_gradcheck():
    with pytest.raises(ValueError, match="rank must be in \\[1, min\\(in_features, "
                                         "out_features\\)\\] = \\[1, 3\\], got 4"):
        nn.LowRankLinear(3, 5, rank=4)
    low = nn.LowRankLinear(4, 3, rank=2).double()
    x = _t(np.random.default_rng(0).standard_normal((2, 4)))
    assert mg.gradcheck(lambda x, u, v, b: low(x), (x, low.U, low.V, low.bias))
    with pytest.raises(ValueError, match="LowRankLinear.*expected input with last dimension 4"):
        low(mg.randn(2, 5, dtype=mg.float64))


def test_low_rank_default_init_matches_linear_variance():
    mg.manual_seed(1)
    low = nn.LowRankLinear(400, 300, rank=50)
    w = (low.U @ low.V).numpy()
    assert w.var() == pytest.approx(1 / (3 * 400), rel=0.05)


def test_bilinear():
    bil = nn.Bilinear(3, 4, 2).double()
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    ref = np.einsum("ni,kij,nj->nk", x1, bil.weight.numpy(), x2) + bil.bias.numpy()
    assert_close(bil(_t(x1), _t(x2)), ref, rtol=1e-10)
    assert mg.gradcheck(lambda a, b, w: bil(a, b), (_t(x1), _t(x2), bil.weight))


# ------------------------------------------------------------------ activations

ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0), (0.0,)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x), (0.0,)),
    (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)), (0.0,)),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))), ()),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                      * (x + 0.044715 * x**3))), ()),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x)), ()),
    (nn.Tanh(), np.tanh, ()),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x)), ()),
    (nn.Softplus(2.0), lambda x: np.log1p(np.exp(2 * x)) / 2, ()),
    (nn.Softmax(-1), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), ()),
    (nn.LogSoftmax(-1), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)), ()),
    (nn.Softmin(-1), lambda x: np.exp(-x) / np.exp(-x).sum(-1, keepdims=True), ()),
    (nn.SELU(), lambda x: SELU_L * np.where(x > 0, x, SELU_A * np.expm1(x)), (0.0,)),
    (nn.CELU(0.6), lambda x: np.where(x > 0, x, 0.6 * np.expm1(x / 0.6)), (0.0,)),
    (nn.Hardtanh(-0.5, 2.0), lambda x: np.clip(x, -0.5, 2.0), (-0.5, 2.0)),
    (nn.ReLU6(), lambda x: np.clip(x, 0, 6), (0.0, 6.0)),
    (nn.Hardsigmoid(), lambda x: np.clip(x / 6 + 0.5, 0, 1), (-3.0, 3.0)),
    (nn.Hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    (nn.Mish(), lambda x: x * np.tanh(np.log1p(np.exp(x))), ()),
    (nn.LogSigmoid(), lambda x: -np.log1p(np.exp(-x)), ()),
    (nn.Softsign(), lambda x: x / (1 + np.abs(x)), ()),
    (nn.Threshold(0.5, -2.0), lambda x: np.where(x > 0.5, x, -2.0), (0.5,)),
    (nn.Hardshrink(0.4), lambda x: np.where(np.abs(x) > 0.4, x, 0.0), (-0.4, 0.4)),
    (nn.Softshrink(0.3), lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.3, 0.0),
     (-0.3, 0.3)),
    (nn.Tanhshrink(), lambda x: x - np.tanh(x), ()),
]
SELU_A, SELU_L = 1.6732632423543772, 1.0507009873554805   # Klambauer et al. 2017, eq. 14


@pytest.mark.parametrize("module,ref,kinks", ACTIVATIONS, ids=lambda a: repr(a)
                         if isinstance(a, nn.Module) else "")
@given(data=st.data())
def test_activation_modules(module, ref, kinks, data, device):
    x = data.draw(arrays(min_dims=1, max_dims=3, max_side=4, avoid=kinks, margin=1e-3))
    X = _t(x, device)
    assert_close(module(X), ref(x), rtol=1e-9, atol=1e-12)
    assert mg.gradcheck(module, (X,))


def test_activations_with_a_hidden_dim_or_a_parameter(device):
    """GLU halves a dim; PReLU learns one slope per channel (dim 1). By hand, then
    gradcheck through the input and the slopes."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3))
    a, b = x[:, :2], x[:, 2:]
    assert_close(nn.GLU(dim=1)(_t(x, device)), a / (1 + np.exp(-b)), rtol=1e-12)
    assert mg.gradcheck(nn.GLU(dim=1), (_t(x, device),))
    with pytest.raises(ValueError, match="must have an even size"):
        nn.GLU()(_t(x, device))
    prelu = nn.PReLU(4, init=0.1).double().to(device)
    assert_close(prelu.weight, np.full(4, 0.1), rtol=1e-7)          # init, from float32
    prelu.weight.data[...] = prelu.weight.xp.asarray([0.1, 0.2, -0.5, 2.0])
    slopes = np.array([0.1, 0.2, -0.5, 2.0])[:, None]
    assert_close(prelu(_t(x, device)), np.where(x > 0, x, slopes * x), rtol=1e-12)
    x_away = np.where(np.abs(x) < 1e-3, 0.5, x)
    assert mg.gradcheck(lambda x, w: prelu(x), (_t(x_away, device), prelu.weight))
    one = nn.PReLU().double().to(device)                     # one slope for every channel
    assert_close(one(_t(x, device)), np.where(x > 0, x, 0.25 * x), rtol=1e-12)
    with pytest.raises(ValueError, match="4 slopes for an input of shape"):
        prelu(_t(rng.standard_normal((2, 3)), device))
    with pytest.raises(ValueError, match="has 1 channel"):        # 1-D: one channel
        prelu(_t(rng.standard_normal(4), device))


def test_activations_of_integers_give_the_default_float_dtype():
    """sigmoid(int64 tensor) is float32, as in PyTorch (NumPy's rules gave float64);
    relu keeps the integers."""
    x = mg.tensor([1, 2, -3])
    for name in ["sigmoid", "tanh", "silu", "gelu", "elu", "softplus", "leaky_relu"]:
        y = getattr(F, name)(x)
        assert y.dtype == mg.float32, name
        assert_close(y, getattr(F, name)(x.float()).numpy())
    assert F.relu(x).dtype == mg.int64 and F.relu(x).tolist() == [1, 2, 0]


def test_shrink_activations_by_hand():
    """hardshrink keeps |x| > λ; softshrink moves x toward 0 by λ (the proximal map of
    λ|x|: argmin_y ½(y − x)² + λ|y|); both have gradient 0 at ±λ; λ < 0 is refused."""
    x = _t([-2.0, -0.5, 0.0, 0.5, 0.75, 2.0])
    assert F.hardshrink(x).tolist() == [-2.0, 0.0, 0.0, 0.0, 0.75, 2.0]
    assert F.softshrink(x).tolist() == [-1.5, 0.0, 0.0, 0.0, 0.25, 1.5]
    F.softshrink(x).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    assert F.hardshrink(mg.tensor([1, -3])).dtype == mg.float32          # integers: float
    with pytest.raises(ValueError, match="lambd must be >= 0"):
        F.softshrink(x, -0.1)
    with pytest.raises(ValueError, match="lambd must be >= 0"):
        nn.Softshrink(-1.0)
    assert repr(nn.Hardshrink()) == "Hardshrink(lambd=0.5)"


def test_hard_activations_have_zero_gradient_at_their_corners():
    """At the corners of Hardtanh/ReLU6/Hardsigmoid the gradient is 0 (PyTorch's choice),
    not the one-sided 1 that clamp gives."""
    corners = _t([-1.0, 1.0])
    F.hardtanh(corners).sum().backward()
    assert corners.grad.tolist() == [0.0, 0.0]
    x = _t([0.0, 6.0, 3.0])
    F.relu6(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    x = _t([-3.0, 3.0, 0.0])
    F.hardswish(x).sum().backward()                         # x/3 + ½ inside, 0 / 1 outside
    assert_close(x.grad, np.array([0.0, 1.0, 0.5]))


def test_new_activations_match_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 2)) * 4
    w = rng.random(4)
    cases = [("selu", ()), ("celu", (0.7,)), ("hardtanh", (-2.0, 1.5)), ("relu6", ()),
             ("hardsigmoid", ()), ("hardswish", ()), ("mish", ()), ("logsigmoid", ()),
             ("softsign", ()), ("glu", (1,)), ("threshold", (0.5, -3.0)), ("softmin", (1,)),
             ("prelu", (w,)), ("hardshrink", (0.7,)), ("softshrink", (1.2,)),
             ("tanhshrink", ())]
    for name, args in cases:
        X, T = _t(x), torch.tensor(x, requires_grad=True)
        ours = getattr(F, name)(X, *(_t(a) if isinstance(a, np.ndarray) else a for a in args))
        theirs = getattr(tf, name)(T, *(torch.tensor(a) if isinstance(a, np.ndarray) else a
                                        for a in args))
        g = rng.standard_normal(theirs.shape)
        ours.backward(_t(g, grad=False))
        theirs.backward(torch.tensor(g))
        assert_close(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
        # PyTorch's CELU and Hardsigmoid backwards round 1/α and 1/6 to float32 (at
        # x = −5.2, α = 0.7 it gives 5.94035463e-4 for e^(x/α) = 5.94035528e-4; ours is exact)
        assert_close(X.grad, T.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_activation_reprs_match_pytorch_text():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


def test_softmax_implicit_dim_and_functional():
    x = mg.randn(2, 3)
    assert_close(F.softmax(x).sum(1), np.ones(2), rtol=1e-6)  # 2-D: dim 1
    assert_close(nn.Softmax()(mg.randn(3)).sum(), np.ones(()), rtol=1e-6)  # 1-D: dim 0
    assert_close(F.log_softmax(x, dim=0).exp().sum(0), np.ones(3), rtol=1e-6)
    assert F.softmax(x, 1, dtype=mg.float64).dtype == mg.float64
    assert F.relu(mg.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
    assert F.one_hot(mg.tensor([0, 2]), 3).tolist() == [[1, 0, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="class values must be in \\[0, 2\\)"):
        F.one_hot(mg.tensor([0, 2]), 2)


# ------------------------------------------------------------------ pooling


def _max_pool_reference(x, k, s, p):
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * p, W + 2 * p), -np.inf)
    xp[:, :, p:p + H, p:p + W] = x
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    y = np.empty((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            y[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return y


@st.composite
def pool_cases(draw):
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    H = draw(st.integers(max(1, k - 2 * p), 6))
    W = draw(st.integers(max(1, k - 2 * p), 6))
    x = draw(arrays(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 2)), H, W),
                    unique=True))
    return x, k, s, p


@given(case=pool_cases())
def test_max_pool2d_forward_and_gradcheck(case, device):
    x, k, s, p = case
    X = _t(x, device)
    assert_close(F.max_pool2d(X, k, s, p), _max_pool_reference(x, k, s, p), rtol=1e-12)
    assert mg.gradcheck(lambda x: F.max_pool2d(x, k, s, p), (X,))


@given(case=pool_cases())
def test_avg_pool2d_forward_and_gradcheck(case, device):
    x, k, s, p = case
    X = _t(x, device)
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    xp[:, :, p:p + H, p:p + W] = x
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    ref = np.array([[xp[:, :, i * s:i * s + k, j * s:j * s + k].mean(axis=(2, 3))
                     for j in range(Wo)] for i in range(Ho)]).transpose(2, 3, 0, 1)
    assert_close(F.avg_pool2d(X, k, s, p), ref, rtol=1e-12, atol=1e-14)
    assert mg.gradcheck(lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=False), (X,))


@settings(max_examples=5)
@given(case=pool_cases())
def test_pool_gradgradcheck(case):
    x, k, s, p = case
    X = _t(x)
    assert mg.gradgradcheck(lambda x: F.max_pool2d(x, k, s, p), (X,))
    assert mg.gradgradcheck(lambda x: F.avg_pool2d(x, k, s, p), (X,))


def test_max_pool_ties_dilation_ceil_and_indices():
    x = mg.tensor([[[[1.0, 1.0], [1.0, 0.0]]]], requires_grad=True)
    y = F.max_pool2d(x, 2)
    y.backward(mg.ones_like(y))
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]  # the first maximum wins
    x = mg.arange(25.0).reshape(1, 1, 5, 5)
    y, idx = F.max_pool2d(x, 2, stride=2, dilation=2, return_indices=True)
    assert y.tolist() == [[[[12.0, 14.0], [22.0, 24.0]]]]
    assert idx.tolist() == [[[[12, 14], [22, 24]]]]
    y = F.max_pool2d(x, 2, ceil_mode=True)
    assert y.shape == (1, 1, 3, 3) and y[0, 0, 2, 2].item() == 24.0
    nanx = mg.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]])
    assert np.isnan(F.max_pool2d(nanx, 2).item())
    with pytest.raises(ValueError, match="padding \\(2, 2\\) should be at most half"):
        F.max_pool2d(mg.zeros(1, 1, 8, 8), 3, padding=2)
    with pytest.raises(ValueError, match="kernel size \\(5, 5\\).*larger than the padded "
                                         "input size \\(4, 4\\)"):
        nn.MaxPool2d(5)(mg.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="expected 3-D \\(unbatched\\) or 4-D input"):
        nn.AvgPool2d(2)(mg.zeros(4, 4))


def test_pool1d_and_adaptive():
    x = mg.arange(12.0).reshape(1, 2, 6)
    assert F.max_pool1d(x, 2).tolist() == [[[1, 3, 5], [7, 9, 11]]]
    assert F.avg_pool1d(x, 3).tolist() == [[[1, 4], [7, 10]]]
    X = _t(np.random.default_rng(0).standard_normal((2, 3, 7, 5)))
    y = F.adaptive_avg_pool2d(X, (3, 2))
    # PyTorch's windows: [floor(i·H/Ho), ceil((i+1)·H/Ho))
    x = X.numpy()
    ref = np.empty((2, 3, 3, 2))
    for i in range(3):
        for j in range(2):
            h0, h1 = (i * 7) // 3, -(-((i + 1) * 7) // 3)
            w0, w1 = (j * 5) // 2, -(-((j + 1) * 5) // 2)
            ref[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    assert_close(y, ref, rtol=1e-12)
    assert mg.gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), (X,))
    assert_close(nn.AdaptiveAvgPool2d(1)(X), x.mean(axis=(2, 3), keepdims=True), rtol=1e-12)
    assert nn.AdaptiveAvgPool2d((None, 1))(X).shape == (2, 3, 7, 1)
    assert nn.AdaptiveAvgPool1d(2)(mg.randn(1, 2, 5)).shape == (1, 2, 2)


def test_pooling_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 8))
    for k, s, p, d, ceil in [(2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False),
                             (2, 3, 1, 1, True)]:
        X, tx = _t(x), torch.tensor(x, requires_grad=True)
        y, i = F.max_pool2d(X, k, s, p, d, ceil, return_indices=True)
        ty, ti = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil, return_indices=True)
        gy = rng.standard_normal(ty.shape)
        y.backward(mg.tensor(gy))
        ty.backward(torch.tensor(gy))
        assert_close(y, ty.detach().numpy(), rtol=1e-12)
        assert np.array_equal(i.numpy(), ti.numpy())
        assert_close(X.grad, tx.grad.numpy(), rtol=1e-12)
        for cip in (True, False):
            a = F.avg_pool2d(_t(x), k, s, p, ceil, cip)
            b = torch.nn.functional.avg_pool2d(torch.tensor(x), k, s, p, ceil, cip)
            assert_close(a, b.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ Embedding


def test_embedding_forward_gradient_and_padding(device):
    emb = nn.Embedding(5, 3, padding_idx=0).double().to(device)
    assert np.all(emb.weight.cpu().numpy()[0] == 0)
    idx = mg.tensor([[1, 2, 1], [0, 4, 1]], device=device)
    y = emb(idx)
    assert y.shape == (2, 3, 3)
    assert_close(y, emb.weight.cpu().numpy()[idx.cpu().numpy()], rtol=0)
    gy = np.random.default_rng(0).standard_normal((2, 3, 3))
    y.backward(mg.tensor(gy, device=device))
    g = np.zeros((5, 3))
    np.add.at(g, idx.cpu().numpy(), gy)  # repeated indices accumulate
    g[0] = 0  # padding_idx gets no gradient
    assert_close(emb.weight.grad, g, rtol=1e-12)
    # padding_idx deliberately withholds the true gradient of its row: check without it
    assert mg.gradcheck(lambda w: F.embedding(idx, w), (emb.weight,))
    assert mg.gradcheck(lambda w: F.embedding(idx, w, padding_idx=3), (emb.weight,))
    assert mg.gradgradcheck(lambda w: F.embedding(idx, w) ** 2, (emb.weight,))


def test_embedding_options_and_errors():
    w = mg.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], dtype=mg.float64)
    emb = nn.Embedding.from_pretrained(w, max_norm=1.0)
    assert not emb.weight.requires_grad
    emb(mg.tensor([0, 1]))
    assert np.allclose(np.linalg.norm(emb.weight.numpy(), axis=1), [1.0, 0.5, 10.0], atol=1e-6)
    sg = nn.Embedding(3, 2, scale_grad_by_freq=True).double()
    out = sg(mg.tensor([1, 1, 2]))
    out.backward(mg.ones_like(out))
    assert sg.weight.grad.tolist() == [[0, 0], [1, 1], [1, 1]]
    with pytest.raises(IndexError, match="index 5 is out of range for 5 embeddings"):
        nn.Embedding(5, 2)(mg.tensor([1, 5]))
    with pytest.raises(TypeError, match="indices must be an integer tensor"):
        nn.Embedding(5, 2)(mg.tensor([1.0]))
    assert repr(nn.Embedding(10, 3, padding_idx=1)) == "Embedding(10, 3, padding_idx=1)"


def test_embedding_sparse_uses_minigrad_sparse():
    emb = nn.Embedding(6, 2, padding_idx=3, sparse=True).double()
    dense = nn.Embedding(6, 2, padding_idx=3).double()
    dense.load_state_dict(emb.state_dict())
    idx = mg.tensor([1, 3, 1, 5])
    out, ref = emb(idx), dense(idx)
    assert_close(out, ref, rtol=0)
    gy = mg.tensor(np.random.default_rng(0).standard_normal((4, 2)))
    out.backward(gy)
    ref.backward(gy)
    assert emb.weight.grad.is_sparse
    assert_close(emb.weight.grad.to_dense(), dense.weight.grad, rtol=1e-12)


# ------------------------------------------------------------------ containers of layers


def test_flatten_unflatten_identity():
    x = mg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(54, unused=1)(x) is x


def test_basic_block_and_residual():
    block = nn.BasicBlock(4, 8, stride=2).double()
    names = [n for n, _ in block.named_parameters()]
    assert names == ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                     "bn2.bias", "downsample.0.weight", "downsample.1.weight",
                     "downsample.1.bias"]  # torchvision's names
    x = _t(np.random.default_rng(0).standard_normal((2, 4, 6, 6)))
    assert block(x).shape == (2, 8, 3, 3)
    small = nn.BasicBlock(2, 2).double()
    xs = _t(np.random.default_rng(1).standard_normal((2, 2, 3, 3)))
    assert mg.gradcheck(small, (xs,), atol=1e-5, rtol=1e-3)
    res = nn.Residual(nn.Linear(3, 3).double())
    x3 = _t(np.random.default_rng(2).standard_normal((4, 3)))
    assert_close(res(x3), x3.numpy() + res.branch(x3).numpy(), rtol=1e-12)
    assert mg.gradgradcheck(lambda x: res(x).tanh(), (x3,))
