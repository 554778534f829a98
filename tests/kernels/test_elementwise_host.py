"""minigrad's CuPy ElementwiseKernels run on the CPU by their own CUDA text, compiled as
host C++ by g++ (tests/kernels/elementwise_cuda.HostElementwiseKernel), against the NumPy
path each must equal: the cross-entropy VJP, ReLU's VJP and GradScaler's unscale-and-check.
(The activations' kernels: tests/amp/test_fused.py; batch norm's: tests/nn/test_norm.py;
the fused optimizers': tests/amp/test_fused_optim.py.) On a GPU the same kernels run in
the device tests; here their statements are checked on every CI run."""
import shutil

import numpy as np
import pytest

from minigrad import _backend
from tests.kernels.elementwise_cuda import host_cupy

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not found")


@pytest.fixture
def on_host(monkeypatch):
    """Kernel factories build HostElementwiseKernels: ``on_host(module, name)`` is the
    factory ``module.name`` unmemoized, so that it builds one now."""
    monkeypatch.setattr(_backend, "cupy", host_cupy)

    def factory(module, name):
        f = getattr(module, name).__wrapped__
        monkeypatch.setattr(module, name, f)
        return f
    return factory


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_vjp_kernel(on_host, dtype, reduction, label_smoothing):
    """``_ce_grad``'s kernel against its NumPy form: ignored rows (0, or NaN for a NaN row),
    a −inf logit, a NaN row; the mean's count, the sum's 1, the per-row gradient."""
    from minigrad.ops import fused

    on_host(fused, "_ce_grad_kernel")
    rng = np.random.default_rng(0)
    N, C, ignore = 7, 5, -100
    x = (rng.standard_normal((N, C)) * 3).astype(dtype)
    x[2, 1], x[4, :] = -np.inf, np.nan
    t = rng.integers(0, C, N)
    t[[1, 4]] = ignore
    acc = np.float64 if dtype == "float64" else np.float32
    with np.errstate(all="ignore"):
        lse = fused._lse_rows(np, x.astype(acc))
    gy = np.asarray(rng.standard_normal((N, 1)) if reduction == "none" else 1.7).astype(dtype)
    count = np.asarray(int((t != ignore).sum())) if reduction == "mean" else 1
    args = (x, lse, t, gy, count, ignore, 1.0 - label_smoothing, label_smoothing / C)
    want = fused._ce_grad(np, *args)
    got = fused._ce_grad("host", *args)  # any xp but NumPy: the kernel
    assert got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    eps = float(np.finfo(acc).eps)
    half = float(np.finfo(dtype).eps) / 2 if dtype == "float16" else 0.0
    w = np.nan_to_num(want.astype(np.float64))
    np.testing.assert_allclose(np.nan_to_num(got.astype(np.float64)), w,
                               rtol=half + 8 * eps, atol=8 * eps * np.abs(w).max())


@pytest.mark.parametrize("g_dtype", ["float16", "float32", "float64"])
def test_relu_vjp_kernel(on_host, g_dtype):
    """ReLUGrad's kernel: g where x > 0, else 0 (an inf or NaN g at x ≤ 0 gives 0; a NaN
    x gives 0), x of another dtype too: the NumPy path, bit for bit."""
    from minigrad.ops import activation

    kernel = on_host(activation, "_relu_grad_kernel")()
    g = np.array([1.5, -2.0, np.inf, np.nan, 3.0, -0.0, 7.0], g_dtype)
    for x in (np.array([1.0, 2.0, -1.0, 0.0, np.nan, 5.0, -0.0], np.float32),
              np.array([-1.0, 1e-300, 0.0, -3.0, 2.0, 1.0, np.inf])):
        want = activation.ReLUGrad().forward(np, g, x)
        got = kernel(g, x)
        assert got.dtype == g.dtype
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_grad_scaler_unscale_kernel(on_host, dtype):
    """The unscale-and-check kernel: g·(1/S) in place, the flag raised by an inf or NaN
    (and by a product that overflows), kept down otherwise: the NumPy path, bit for bit,
    subnormal results included."""
    from minigrad.amp import grad_scaler

    on_host(grad_scaler, "_unscale_kernel")
    rng = np.random.default_rng(1)
    for inv_scale, special in ((2.0**-16, []), (2.0**-16, [np.inf]), (2.0**3, [np.nan]),
                               (2.0**-24, []), (2.0**3, [6e4])):  # 4.8e5: inf in float16
        g0 = np.concatenate([rng.standard_normal(50) * 1e3, [0.0, -0.0, 6e-5], special])
        g0 = g0.astype(dtype)
        results = []
        for xp in (np, "host"):
            g, flag = g0.copy(), np.zeros(1, np.int32)
            grad_scaler._unscale_and_check(xp, g, inv_scale, flag)
            results.append((g, flag[0]))
        (want, want_flag), (got, got_flag) = results
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        assert got_flag == want_flag, (inv_scale, special)
        overflows = dtype == "float16" and special == [6e4]
        assert want_flag == (bool(special) and (special != [6e4] or overflows))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_row_kernels(on_host, monkeypatch, dtype, log):
    """Softmax's and log-softmax's CUDA path over the last dim (fused.softmax_rows and its
    VJP: the row kernel's lse, then the elementwise and reduction kernels run here by
    their CUDA text, lse by its NumPy form) against the NumPy path of the Functions:
    −inf logits, an all −inf row, a +inf and a NaN row give the same NaNs; values and
    gradients agree to a few ulps (e^(x − lse) rounds unlike e^(x − m)/Σ)."""
    from minigrad.ops import fused
    from minigrad.ops.reduction import LogSoftmax, Softmax

    on_host(fused, "_softmax_kernels")
    monkeypatch.setattr(fused, "_lse_rows", lambda xp, x2, f=fused._lse_rows: f(np, x2))
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, 6, 9)) * 4).astype(dtype)
    x[0, 1, [2, 5]] = -np.inf
    x[0, 2, :] = -np.inf
    x[1, 3, 4] = np.inf
    x[1, 4, 0] = np.nan
    gy = rng.standard_normal(x.shape).astype(dtype)
    f = (LogSoftmax if log else Softmax)(-1)
    with np.errstate(all="ignore"):
        want = f.forward(np, x)
        got = fused.softmax_rows(x, log=log)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    eps = float(np.finfo(dtype).eps)
    fin = np.isfinite(want)
    scale = np.abs(x[fin]) + 1 if log else 1  # log-softmax: x − lse's rounding
    np.testing.assert_array_less(np.abs(got[fin] - want[fin]),
                                 16 * eps * (np.abs(want[fin]) + scale) + 1e-300)

    rows = np.isfinite(want).all(axis=-1)  # the VJP on rows with a softmax
    y, g = want[rows], gy[rows]
    s = (g.sum(-1, keepdims=True) if log else (g * y).sum(-1, keepdims=True))
    want_gx = g - np.exp(y) * s if log else y * (g - s)
    got_gx = fused.softmax_rows_vjp(g, y, log=log)
    mag = np.abs(g).sum(-1, keepdims=True) + np.abs(g)
    np.testing.assert_array_less(np.abs(got_gx - want_gx), 16 * eps * mag + 1e-300)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("affine", ["weight and bias", "weight", "none"])
def test_layer_norm_kernels(on_host, dtype, affine):
    """LayerNormFunction's CUDA path (its reductions and elementwise kernels run here by
    their CUDA text) against its NumPy path: y, and the VJP's gx, gγ, gβ, to a few ulps
    of the values' and the sums' magnitudes; the NaN of one row where the NumPy path has
    it (that row of y and gx, and gγ's sums through it)."""
    import minigrad as mg
    from minigrad.nn import normalization

    on_host(normalization, "_ln_kernels")
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((3, 4, 2, 5)) * 2 + 1).astype(dtype)
    x[1, 2, 0, 3] = np.nan
    w, b = (rng.standard_normal((2, 5)).astype(dtype) for _ in range(2))
    g = rng.standard_normal(x.shape).astype(dtype)
    params = {"weight and bias": [w, b], "weight": [w], "none": []}[affine]
    results = []
    for xp in (np, "host"):  # any xp but NumPy: the kernels
        f = normalization.LayerNormFunction(2, 1e-5, affine != "none",
                                            affine == "weight and bias")
        f.inputs = tuple(mg.tensor(a) for a in [x] + params)
        with np.errstate(all="ignore"), mg.no_grad():  # the VJP of a backward unrecorded
            y = f.forward(xp, x, *params)
            grads = f._vjp_arrays(xp, g, x, 10)
        results.append([y] + [t.data for t in grads])
    eps = float(np.finfo(dtype).eps)
    rows = np.abs(g).reshape(12, 10).sum(1).max() * (np.abs(x[np.isfinite(x)]).max() + 1)
    for want, got in zip(*results):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        fin = np.isfinite(want)
        np.testing.assert_array_less(np.abs(got[fin] - want[fin]),
                                     64 * eps * (np.abs(want[fin]) + rows))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weight", [True, False])
def test_rms_norm_kernels(on_host, dtype, weight):
    """RMSNormFunction's CUDA path (LayerNormFunction's kernels with μ = 0, no β, Σ gd = 0,
    run here by their CUDA text) against its NumPy path: y, gx and gγ."""
    import minigrad as mg
    from minigrad.nn import normalization

    on_host(normalization, "_ln_kernels")
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((4, 3, 6)) * 2 + 0.5).astype(dtype)
    w = rng.standard_normal(6).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    params = [w] if weight else []
    results = []
    for xp in (np, "host"):  # any xp but NumPy: the kernels
        f = normalization.RMSNormFunction(1, 1e-6, weight)
        f.inputs = tuple(mg.tensor(a) for a in [x] + params)
        with mg.no_grad():
            y = f.forward(xp, x, *params)
            grads = f._vjp_arrays(xp, g, x, 6)
        results.append([y] + [t.data for t in (grads if weight else (grads,))])
    eps = float(np.finfo(dtype).eps)
    scale = np.abs(g).reshape(-1, 6).sum(1).max() * (np.abs(x).max() + 1)
    for want, got in zip(*results):
        np.testing.assert_array_less(np.abs(got - want), 64 * eps * (np.abs(want) + scale))
