"""autocast: the thread-local region, the casting helpers, and the dtypes ops produce.

Products (matmul, linear, conv) return half inside a region, with float32 accumulation;
sums, softmaxes and losses return float32; the parameters' gradients stay float32. The
last test trains the digits MLP with float16 autocast + GradScaler and asks for the
float32 accuracy within one percentage point.

Tests marked ``wiring`` in their docstring need the hooks of minigrad/amp/autocast_mode.py
("Where the hooks sit") to be in place in ops/linalg.py, ops/reduction.py,
nn/linear.py and nn/conv.py.
"""
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad._backend import to_device
from minigrad.amp import (
    GradScaler,
    autocast,
    autocast_dtype,
    autocast_float32,
    autocast_inputs,
    half_matmul,
    is_autocast_enabled,
)
from minigrad.nn import functional as F


def host(a):
    return np.asarray(to_device(a, "cpu"))


def rel_err(a, ref):
    a, ref = host(a).astype(np.float64), np.asarray(ref, np.float64)
    return np.linalg.norm(a - ref) / np.linalg.norm(ref)


# --------------------------------------------------------------------------- the region


def test_region_state_nesting_and_restore():
    assert autocast_dtype() is None and not is_autocast_enabled()
    with autocast():
        assert autocast_dtype() == mg.float16
        with autocast(enabled=False):
            assert autocast_dtype() is None
        assert autocast_dtype() == mg.float16
    assert autocast_dtype() is None
    with pytest.raises(KeyError):
        with autocast():
            raise KeyError("boom")
    assert autocast_dtype() is None  # restored after an exception


def test_one_instance_reentered_and_as_decorator():
    region = autocast()
    with region:
        with region:
            assert autocast_dtype() == mg.float16
        assert autocast_dtype() == mg.float16
    assert autocast_dtype() is None

    @autocast()
    def inside():
        return autocast_dtype()

    @autocast(enabled=False)
    def outside():
        return autocast_dtype()

    assert inside() == mg.float16
    with autocast():
        assert outside() is None
    assert autocast_dtype() is None


def test_region_is_per_thread():
    seen = []
    with autocast():
        t = threading.Thread(target=lambda: seen.append(autocast_dtype()))
        t.start()
        t.join()
    assert seen == [None]


def test_pytorch_spellings_and_bad_dtypes():
    with autocast("cuda"):  # torch.autocast("cuda")
        assert autocast_dtype() == mg.float16
    with autocast(device_type="cpu", dtype=mg.float16, cache_enabled=True):
        assert autocast_dtype() == mg.float16
    with pytest.raises(ValueError, match="float16 or bfloat16"):
        autocast(dtype=mg.float32)
    with pytest.raises(TypeError, match="enabled"):
        autocast(enabled="yes")
    if mg.bfloat16 is None:
        with pytest.raises(TypeError, match="ml_dtypes"):
            autocast(dtype="bfloat16")


# --------------------------------------------------------------------------- helpers


def test_autocast_inputs_casts_float32_only_inside():
    x = mg.randn(3, 4, requires_grad=True)
    d = mg.randn(3, 4, dtype=mg.float64)
    i = mg.tensor([1, 2, 3])
    assert autocast_inputs(x, d, i, None, 2.0) == (x, d, i, None, 2.0)
    with autocast():
        hx, hd, hi, none, two = autocast_inputs(x, d, i, None, 2.0)
    assert hx.dtype == mg.float16 and hx.creator is not None  # a differentiable Cast
    assert hd is d and hi is i and none is None and two == 2.0  # float64 is not cast


def test_cast_gradient_returns_to_float32():
    x = mg.randn(5, requires_grad=True)
    with autocast():
        (h,) = autocast_inputs(x)
    (h * 3).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_array_equal(x.grad.data, np.full(5, 3.0, np.float32))


def test_autocast_float32_upcasts_half_only_inside():
    h = mg.randn(4).half()
    x = mg.randn(4)
    assert autocast_float32(h, x) == (h, x)
    with autocast():
        uh, ux = autocast_float32(h, x)
    assert uh.dtype == mg.float32 and ux is x


def test_half_matmul_accumulates_in_float32():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 3, 300)).astype(np.float16)
    b = rng.standard_normal((300, 5)).astype(np.float16)
    y = half_matmul(np, a, b)
    assert y.dtype == np.float16 and y.shape == (7, 3, 5)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_array_equal(y, (a.astype(np.float32) @ b.astype(np.float32)).astype(
        np.float16))
    assert rel_err(y, exact) < 1e-3  # one float16 rounding of the result, nothing more
    f = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(half_matmul(np, f, f.T), f @ f.T)  # non-half: xp.matmul


def test_float64_gradcheck_is_unaffected_inside_a_region():
    x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    W = mg.randn(4, 2, dtype=mg.float64, requires_grad=True)
    with autocast():
        assert mg.gradcheck(lambda x, W: (x @ W).tanh(), (x, W))


# --------------------------------------------------------------------------- op dtypes


def test_matmul_returns_half_and_leaf_gradients_stay_float32(device):
    """wiring: MatMul.amp_policy = "half" and half_matmul in MatMul.forward."""
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((8, 16)).astype(np.float32)
    W0 = rng.standard_normal((16, 4)).astype(np.float32)
    x = mg.tensor(x0, device=device, requires_grad=True)
    W = mg.tensor(W0, device=device, requires_grad=True)
    with autocast():
        y = x @ W
        y2 = mg.matmul(x, W)
        y3 = x.matmul(W)
        v = x @ W[:, 0]                 # matrix @ vector
        B = mg.tensor(rng.standard_normal((2, 8, 16)).astype(np.float32), device=device)
        yb = B @ W                      # batched
    for out in (y, y2, y3, v, yb):
        assert out.dtype == mg.float16
    assert rel_err(y.data, x0.astype(np.float64) @ W0) < 2e-3
    gy = rng.standard_normal((8, 4)).astype(np.float32)
    y.backward(mg.tensor(gy, device=device, dtype=mg.float16))
    assert x.grad.dtype == mg.float32 and W.grad.dtype == mg.float32
    gy16 = gy.astype(np.float16).astype(np.float64)
    assert rel_err(W.grad.data, x0.astype(np.float16).astype(np.float64).T @ gy16) < 2e-3
    assert rel_err(x.grad.data, gy16 @ W0.astype(np.float16).astype(np.float64).T) < 2e-3


def test_half_matmul_outside_a_region_accumulates_in_float32():
    """wiring: MatMul.forward computes half operands with half_matmul."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 2048)).astype(np.float16)
    b = rng.standard_normal((2048, 3)).astype(np.float16)
    y = mg.tensor(a) @ mg.tensor(b)
    assert y.dtype == mg.float16
    np.testing.assert_array_equal(
        y.data, (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16))


def test_reductions_and_softmaxes_run_in_float32():
    """wiring: amp_policy = "float32" on Sum, LogSumExp, Softmax, LogSoftmax, Cumsum, Norm,
    Exp, Log, Log1p, Pow, PowScalar, Rsqrt, Softplus."""
    h = mg.randn(4, 5).half()
    with autocast():
        outs = {
            "sum": h.sum(), "mean": h.mean(), "var": h.var(), "sum_dim": h.sum(1),
            "softmax": h.softmax(-1), "log_softmax": h.log_softmax(-1),
            "mg.softmax": mg.softmax(h, -1), "F.softmax": F.softmax(h, dim=1),
            "F.log_softmax": F.log_softmax(h, dim=1), "logsumexp": h.logsumexp(-1),
            "cumsum": h.cumsum(0), "norm": h.norm(),
            # PyTorch's CUDA float32 list: exp and log leave half's range quickly
            "exp": h.exp(), "log": h.abs().log(), "log1p": h.abs().log1p(), "pow": h**2,
            "pow_tensor": h.abs() ** h, "rsqrt": h.abs().rsqrt(), "softplus": F.softplus(h),
        }
    for name, out in outs.items():
        assert out.dtype == mg.float32, name


def test_linear_and_conv_return_half_and_keep_float32_grads(device):
    """wiring: LinearFunction and Conv2dFunction (with its gradient Functions)
    amp_policy = "half", their products through half_matmul."""
    mg.manual_seed(0)
    lin = nn.Linear(6, 3).to(device)
    conv = nn.Conv2d(2, 4, 3, padding=1).to(device)
    x = mg.randn(5, 6, device=device)
    img = mg.randn(2, 2, 6, 6, device=device)
    with autocast():
        y = lin(x)
        z = conv(img)
        yf = F.linear(x, lin.weight, lin.bias)
    assert y.dtype == z.dtype == yf.dtype == mg.float16
    ref = x.data.astype(np.float64) @ lin.weight.data.T.astype(np.float64) + lin.bias.data
    assert rel_err(y.data, host(ref)) < 2e-3
    (y.float().sum() + z.float().sum()).backward()
    for p in list(lin.parameters()) + list(conv.parameters()):
        assert p.grad is not None and p.grad.dtype == mg.float32 and p.dtype == mg.float32


def test_conv_transpose_with_bias_returns_half_and_keeps_float32_grads(half_dtype, device):
    """ConvTranspose1d/2d are half ops too (PyTorch's autocast lists conv_transpose): the
    float32 bias joins the half output in half instead of promoting it back to float32,
    and every parameter's gradient stays float32."""
    mg.manual_seed(0)
    up2 = nn.ConvTranspose2d(2, 3, 3, stride=2).to(device)
    up1 = nn.ConvTranspose1d(2, 3, 3, stride=2).to(device)
    img = mg.randn(2, 2, 4, 4, device=device)
    seq = mg.randn(2, 2, 5, device=device)
    with autocast(dtype=half_dtype):
        y2, y1 = up2(img), up1(seq)
    assert y2.dtype == y1.dtype == half_dtype
    # y = conv_transpose(x, W) + b: the float64 reference, to half precision
    ref = F.conv_transpose2d(img.double(), up2.weight.double(), up2.bias.double(), stride=2)
    assert rel_err(y2.float().data, host(ref.data)) < 2e-2
    (y2.float().sum() + y1.float().sum()).backward()
    for p in list(up2.parameters()) + list(up1.parameters()):
        assert p.grad is not None and p.grad.dtype == mg.float32 and p.dtype == mg.float32
    # gb = Σ over batch and positions of the cotangent 1: the number of output pixels
    np.testing.assert_allclose(host(up2.bias.grad.data), np.full(3, 2 * 9 * 9))


def test_losses_and_norms_are_float32_under_autocast(half_dtype):
    """wiring: the matmul hook (the logits are half) and the float32 reductions. bfloat16
    logits once failed the losses' floating-point check (NumPy calls its kind 'V')."""
    half = half_dtype
    mg.manual_seed(0)
    lin = nn.Linear(6, 3)
    ln = nn.LayerNorm(3)
    x = mg.randn(5, 6)
    t = mg.tensor([0, 1, 2, 1, 0])
    with autocast(dtype=half):
        logits = lin(x)
        assert logits.dtype == half
        assert F.cross_entropy(logits, t).dtype == mg.float32
        assert F.cross_entropy(logits, F.softmax(logits, 1)).dtype == mg.float32
        assert F.mse_loss(logits, mg.zeros(5, 3)).dtype == mg.float32
        assert F.binary_cross_entropy_with_logits(logits, mg.ones(5, 3)).dtype == mg.float32
        assert ln(logits).dtype == mg.float32


def test_a_cnn_trains_under_autocast(half_dtype, device):
    """Conv, BatchNorm, ReLU, max pooling, Linear and cross-entropy under autocast, on
    every device: half products, float32 loss, float32 parameter gradients equal (to half
    rounding) to those of the float32 model, and the optimizer steps."""
    half = half_dtype
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 2 * 2, 10)).to(device)
    x, y = mg.randn(16, 1, 8, 8, device=device), mg.randint(0, 10, (16,), device=device)
    F.cross_entropy(model(x), y).backward()
    want = [host(p.grad.data) for p in model.parameters()]
    model.zero_grad()
    with autocast(dtype=half):
        h = model[:3](x)  # conv, then batch norm of its half output: half, as in PyTorch
        assert h.dtype == half  # (the next convolution needs no cast)
        loss = F.cross_entropy(model[3:](h), y)
    assert loss.dtype == mg.float32
    loss.backward()
    # bfloat16 keeps 8 bits, and a rounded activation can change the element a max pool
    # picks: its first-layer gradient is some 17% (relative norm) off the float32 one
    tol = 2e-2 if half == mg.float16 else 0.3
    for p, w in zip(model.parameters(), want):
        assert p.grad.dtype == mg.float32
        assert rel_err(p.grad.data, w) < tol, rel_err(p.grad.data, w)
    before = [host(p.data).copy() for p in model.parameters()]
    optim.SGD(model.parameters(), lr=0.1).step()
    assert all(not np.array_equal(host(p.data), b) for p, b in zip(model.parameters(), before))


def test_max_pool_of_half_input_is_exact(half_dtype, device):
    """Max pooling picks one of its inputs: a half tensor pools to exactly the float32
    pool of the same values, and routes the gradient to the same elements."""
    half = half_dtype
    x32 = mg.randn(2, 3, 6, 6, device=device).to(dtype=half).float().requires_grad_()
    x16 = x32.detach().to(dtype=half).requires_grad_()
    y32, y16 = F.max_pool2d(x32, 2), F.max_pool2d(x16, 2)
    assert y16.dtype == half
    np.testing.assert_array_equal(host(y16.float().data), host(y32.data))
    gy = mg.randn(*y32.shape, device=device).to(dtype=half)
    y32.backward(gy.float())
    y16.backward(gy)
    np.testing.assert_array_equal(host(x16.grad.float().data), host(x32.grad.data))


def test_backward_after_leaving_the_region():
    x = mg.randn(4, 3, requires_grad=True)
    W = mg.randn(3, 2, requires_grad=True)
    with autocast():
        y = (x @ W).float().sum()
    y.backward()
    assert W.grad.dtype == mg.float32
    np.testing.assert_allclose(W.grad.data, x.data.sum(0)[:, None].repeat(2, 1), rtol=2e-3)


# --------------------------------------------------------------------------- training


def train_digits(use_amp, epochs=25, seed=0):
    """A 64-128-10 MLP on the digits with Adam; returns (test accuracy, logits dtype)."""
    from minigrad.data import digits_splits

    train, test = digits_splits(seed=0, flat=True)
    X, y = train.tensors if hasattr(train, "tensors") else (train[:][0], train[:][1])
    Xt, yt = test.tensors if hasattr(test, "tensors") else (test[:][0], test[:][1])
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=3e-3)
    scaler = GradScaler(enabled=use_amp)
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    dtype_seen = None
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n, 64):
            idx = mg.tensor(order[i:i + 64])
            opt.zero_grad()
            with autocast(enabled=use_amp):
                logits = model(X[idx])
                loss = F.cross_entropy(logits, y[idx])
            dtype_seen = logits.dtype
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    with mg.no_grad(), autocast(enabled=use_amp):
        pred = model(Xt).argmax(1)
    return float((pred.data == yt.data).mean()), dtype_seen


@pytest.mark.slow
def test_fp16_autocast_digits_mlp_matches_fp32_accuracy():
    """wiring: float16 autocast + GradScaler ends within 1 point of float32 accuracy."""
    acc32, dt32 = train_digits(False)
    acc16, dt16 = train_digits(True)
    assert dt32 == mg.float32
    assert dt16 == mg.float16, "the logits are not half: autocast is not wired into Linear"
    assert acc32 > 0.95
    assert abs(acc16 - acc32) <= 0.01, (acc32, acc16)


@pytest.mark.gpu
def test_cuda_autocast_matmul_uses_hgemm_shapes():
    """On CUDA a 2-D half matmul goes through minigrad.kernels.hgemm (ragged sizes)."""
    from minigrad._backend import cupy

    cp = cupy()
    rng = np.random.default_rng(0)
    for M, K, N in [(129, 77, 65), (64, 64, 64), (1, 513, 3)]:
        a = rng.standard_normal((M, K)).astype(np.float16)
        b = rng.standard_normal((K, N)).astype(np.float16)
        y = half_matmul(cp, cp.asarray(a), cp.asarray(b))
        assert y.dtype == np.float16
        assert rel_err(y, a.astype(np.float64) @ b.astype(np.float64)) < 5e-3
        yt = half_matmul(cp, cp.asarray(a), cp.asarray(b.T.copy()).T)  # transposed view
        assert rel_err(yt, a.astype(np.float64) @ b.astype(np.float64)) < 5e-3


@pytest.mark.gpu
def test_cuda_products_that_cupy_would_copy_go_to_cublas_directly(monkeypatch):
    """Transposed, batched-broadcast and half-to-float32 products on CUDA call cuBLAS
    through minigrad.kernels.cublas_gemm (no operand copies or casts), plain contiguous
    float32 ones cupy.matmul; inside direct_gemm(False) all of them cupy.matmul. Same
    numbers either way."""
    from minigrad.kernels import cublas_gemm

    from minigrad._backend import cupy

    cp = cupy()
    calls = []
    gemm = cublas_gemm.gemm

    def recorded(a, b, out_dtype=None, tf32=False):
        calls.append(out_dtype)
        return gemm(a, b, out_dtype=out_dtype, tf32=tf32)

    monkeypatch.setattr(cublas_gemm, "gemm", recorded)
    rng = np.random.default_rng(3)
    a = cp.asarray(rng.standard_normal((5, 7)))
    b = cp.asarray(rng.standard_normal((3, 9, 7)))
    cases = [(a.astype(cp.float32), a.T.astype(cp.float32).copy(), None, False),  # plain
             (a, b.transpose(0, 2, 1), None, True),             # broadcast + transposed view
             (a.astype(cp.float16), b.astype(cp.float16).transpose(0, 2, 1), np.float32, True)]
    for x, y, out_dtype, direct in cases:
        want = cp.matmul(x.astype(cp.float64), y.astype(cp.float64))
        calls.clear()
        got = half_matmul(cp, x, y, out_dtype=out_dtype)
        assert (len(calls) == 1) == direct
        assert rel_err(got.astype(cp.float64), want.get()) < 5e-3
        calls.clear()
        with cublas_gemm.direct_gemm(False):
            again = half_matmul(cp, x, y, out_dtype=out_dtype)
        assert calls == [] and again.dtype == got.dtype
        assert rel_err(again.astype(cp.float64), want.get()) < 5e-3


@pytest.mark.gpu
@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_cuda_half_matmul_large_outputs_and_bfloat16(monkeypatch, half):
    """Outputs of WGMMA_MIN_OUTPUT elements and more take hgemm_wgmma on an sm_90 GPU (and
    hgemm elsewhere); bfloat16 takes our GEMMs too (CuPy's matmul has no bfloat16), and
    batched bfloat16 products go to cuBLAS directly (cublas_gemm)."""
    from minigrad import kernels
    from minigrad._backend import cupy

    cp = cupy()
    try:
        dtype = np.dtype(half)
        cp.zeros(1, dtype=dtype)
    except Exception:
        pytest.skip(f"no {half} in this NumPy/CuPy")
    calls = []

    def recorded(name):
        gemm = getattr(kernels, name)

        def call(*args, **kwargs):
            calls.append(name)
            return gemm(*args, **kwargs)
        return call

    for name in ("hgemm", "hgemm_wgmma"):
        monkeypatch.setattr(kernels, name, recorded(name))
    rng = np.random.default_rng(1)
    tol = 5e-3 if half == "float16" else 2e-2
    for M, K, N in [(1100, 300, 1000), (129, 77, 65)]:
        a = rng.standard_normal((M, K)).astype(np.float32)
        b = rng.standard_normal((K, N)).astype(np.float32)
        want = a.astype(dtype).astype(np.float64) @ b.astype(dtype).astype(np.float64)
        for out_dtype in (None, np.float32):
            y = half_matmul(cp, cp.asarray(a).astype(dtype), cp.asarray(b).astype(dtype),
                            out_dtype=out_dtype)
            assert y.dtype == (dtype if out_dtype is None else np.float32)
            assert rel_err(y.astype(cp.float32), want) < tol
    big = "hgemm_wgmma" if cp.cuda.Device().compute_capability == "90" else "hgemm"
    assert calls == [big, big, "hgemm", "hgemm"]
    assert 1100 * 1000 >= kernels.WGMMA_MIN_OUTPUT > 129 * 65
    a3 = rng.standard_normal((2, 33, 17)).astype(np.float32)
    b3 = rng.standard_normal((2, 17, 9)).astype(np.float32)
    y3 = half_matmul(cp, cp.asarray(a3).astype(dtype), cp.asarray(b3).astype(dtype))
    assert y3.dtype == dtype
    want3 = a3.astype(dtype).astype(np.float64) @ b3.astype(dtype).astype(np.float64)
    assert rel_err(y3.astype(cp.float32), want3) < tol
