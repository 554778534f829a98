"""Fused forward ops (minigrad/ops/fused.py): softmax/log-softmax, softmax cross-entropy,
bias + activation.

Each is checked against the unfused minigrad ops it replaces (values and gradients), by
gradcheck and gradgradcheck in float64 on the CPU, and — on CUDA, where the forward is a
row kernel or one ElementwiseKernel — against the CPU float64 result.
"""
import itertools
import shutil
import subprocess

import numpy as np
import pytest

import minigrad as mg
from minigrad._backend import to_device
from minigrad.amp import autocast
from minigrad.nn import functional as F
from minigrad.ops.fused import (
    _REDUCTIONS,
    ACTIVATIONS,
    _act_source,
    bias_act,
    fused_cross_entropy,
    fused_log_softmax,
    fused_softmax,
)


def host(a):
    return np.asarray(to_device(getattr(a, "data", a), "cpu"))


def tol(device, dtype=np.float32):
    if device == "cpu" and dtype == np.float64:
        return dict(rtol=1e-12, atol=1e-12)
    return dict(rtol=2e-5, atol=2e-6)


def logits_and_target(rng, N=9, C=13, ignore=None):
    x = rng.standard_normal((N, C)) * 3
    t = rng.integers(0, C, N)
    if ignore is not None:
        t[[1, 4]] = ignore
    return x, t


# --------------------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("C", [3, 13, 300])  # one warp, a block, strided rows on CUDA
def test_cross_entropy_matches_unfused(reduction, label_smoothing, C, device):
    rng = np.random.default_rng(C)
    x0, t0 = logits_and_target(rng, N=11, C=C, ignore=-100)
    x = mg.tensor(x0.astype(np.float32), device=device, requires_grad=True)
    ref_x = mg.tensor(x0, requires_grad=True)  # float64 on cpu: the reference
    t = mg.tensor(t0, device=device)
    loss = fused_cross_entropy(x, t, reduction=reduction, label_smoothing=label_smoothing)
    ref = F.cross_entropy(ref_x, mg.tensor(t0), reduction=reduction,
                          label_smoothing=label_smoothing)
    assert loss.dtype == mg.float32 and loss.shape == ref.shape
    np.testing.assert_allclose(host(loss), ref.data, rtol=2e-5, atol=2e-6)
    gy = rng.standard_normal(ref.shape)
    loss.backward(mg.tensor(gy.astype(np.float32), device=device))
    ref.backward(mg.tensor(gy))
    np.testing.assert_allclose(host(x.grad), ref_x.grad.data, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_gradcheck_and_gradgradcheck(reduction, label_smoothing):
    rng = np.random.default_rng(1)
    x0, t0 = logits_and_target(rng, N=5, C=4, ignore=-1)
    x = mg.tensor(x0, requires_grad=True)
    t = mg.tensor(t0)

    def f(x):
        return fused_cross_entropy(x, t, ignore_index=-1, reduction=reduction,
                                   label_smoothing=label_smoothing)

    assert mg.gradcheck(f, (x,))
    assert mg.gradgradcheck(f, (x,))


def test_cross_entropy_edge_cases():
    x = mg.tensor([[0.0, -np.inf, 1.0], [2.0, 0.0, 0.0]], requires_grad=True)
    loss = fused_cross_entropy(x, mg.tensor([2, 0]))  # a -inf logit (a masked class)
    expected = ((np.log(1 + np.e) - 1) + (np.log(np.e**2 + 2) - 2)) / 2
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)
    loss.backward()
    assert np.isfinite(x.grad.data).all() and x.grad.data[0, 1] == 0
    # every target ignored: the mean is 0/0, as PyTorch
    with np.errstate(invalid="ignore"):
        assert np.isnan(fused_cross_entropy(x, mg.tensor([-100, -100])).item())
    with pytest.raises(IndexError, match="out of range for 3 classes"):
        fused_cross_entropy(x, mg.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"target must have shape \(2,\)"):
        fused_cross_entropy(x, mg.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class indices"):
        fused_cross_entropy(x, mg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(N, C\) logits"):
        fused_cross_entropy(mg.randn(2, 3, 4), mg.tensor([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        fused_cross_entropy(x, mg.tensor([0, 1]), reduction="avg")


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_cross_entropy_backward_without_a_graph_is_the_composition(dtype, device):
    """The VJP when no graph is recorded (``_ce_grad``: NumPy on the CPU, one kernel on
    CUDA) against the Tensor-op composition that ``create_graph=True`` takes, on the CPU:
    every reduction, label smoothing, ignored rows, int32 targets, NaN and inf logits (a
    NaN row's gradient is NaN, an ignored NaN row's too, −inf logits get 0), and a mean
    over no kept target (a NaN loss, 0/0, but zero gradients, as PyTorch)."""
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal((7, 5)) * 3
    x0[2, 1] = np.nan
    x0[3, 0] = -np.inf
    x0[4, 2] = np.nan  # an ignored row
    targets = [np.array([0, 4, 1, 2, -1, 3, -1], np.int32), np.full(7, -1, np.int64)]
    rtol = dict(float16=2e-3, float32=2e-6, float64=1e-13)[dtype]
    for t0, reduction, eps in itertools.product(targets, _REDUCTIONS, (0.0, 0.2)):
        gy = rng.standard_normal(7 if reduction == "none" else ())
        grads = []
        for dev, create_graph in ((device, False), ("cpu", True)):
            x = mg.tensor(x0, dtype=getattr(mg, dtype), device=dev, requires_grad=True)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                loss = fused_cross_entropy(x, mg.tensor(t0, device=dev), ignore_index=-1,
                                           reduction=reduction, label_smoothing=eps)
                loss.backward(mg.tensor(gy, dtype=loss.dtype, device=dev),
                              create_graph=create_graph)
            assert x.grad.dtype == x.dtype
            grads.append(host(x.grad).astype(np.float64))
        got, want = grads
        case = (t0.tolist(), reduction, eps)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=str(case))
        assert np.isnan(got[2]).all() and np.isnan(got[4]).all(), case
        if (t0 == -1).all():  # nothing kept: ignored rows get 0, not gy/0 (PyTorch's)
            assert (got[[0, 1, 3, 5, 6]] == 0).all(), case
        fin = np.isfinite(want)
        assert (got[3, 0] == 0) == (want[3, 0] == 0), case
        np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=rtol,
                                   err_msg=str(case))


def test_cross_entropy_is_float32_under_autocast():
    h = mg.randn(4, 5).half().requires_grad_()
    with autocast():
        loss = fused_cross_entropy(h, mg.tensor([0, 1, 2, 3]))
    assert loss.dtype == mg.float32
    loss.backward()
    assert h.grad.dtype == mg.float16


# --------------------------------------------------------------------------- softmaxes


@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 70), (4, 3000)])
def test_fused_softmaxes_match_the_ops(shape, device):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(shape) * 4
    x = mg.tensor(x0.astype(np.float32), device=device, requires_grad=True)
    ref_x = mg.tensor(x0, requires_grad=True)
    gy = rng.standard_normal(shape)
    for fused, ref in ((fused_softmax, mg.softmax), (fused_log_softmax, mg.log_softmax)):
        x.grad = ref_x.grad = None
        y, r = fused(x, -1), ref(ref_x, -1)
        np.testing.assert_allclose(host(y), r.data, rtol=2e-5, atol=2e-6)
        y.backward(mg.tensor(gy.astype(np.float32), device=device))
        r.backward(mg.tensor(gy))
        np.testing.assert_allclose(host(x.grad), ref_x.grad.data, rtol=2e-5, atol=2e-6)


def test_fused_softmaxes_gradcheck_and_gradgradcheck():
    x = mg.tensor(np.random.default_rng(2).standard_normal((3, 5)), requires_grad=True)
    for f in (fused_softmax, fused_log_softmax):
        assert mg.gradcheck(f, (x,))
        assert mg.gradgradcheck(f, (x,))
    with pytest.raises(ValueError, match="last dimension"):
        fused_softmax(x, 0)


def test_fused_softmax_handles_minus_inf_rows():
    x = mg.tensor([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, 2.0]])
    np.testing.assert_allclose(fused_log_softmax(x).data, mg.log_softmax(x, -1).data,
                               rtol=1e-6)
    np.testing.assert_allclose(fused_softmax(x).data, mg.softmax(x, -1).data, rtol=1e-6)


@pytest.mark.parametrize("C", [3, 40, 300])  # one element per lane, strided lanes, warps
def test_fused_softmaxes_and_cross_entropy_propagate_nan_and_inf(C, device):
    """NaN and ±inf logits give on every device what the unfused ops give (and PyTorch):
    a row with a NaN or a +inf logit is NaN throughout, −inf logits are masked classes.
    The CUDA row kernel once dropped a NaN met before a lane's first finite value (a
    finite loss for NaN logits); the fused ops once gave [nan, −inf] and an inf loss for a
    row with a +inf logit, where the unfused ones give NaN."""
    rng = np.random.default_rng(C)
    rows = rng.standard_normal((8, C))
    rows[0, 0] = np.nan                              # NaN before any finite value
    rows[1, C - 1] = np.nan                          # NaN after them
    rows[2, :] = np.nan
    rows[3, 0] = rows[3, C // 2] = np.inf            # two +inf: lse = inf
    rows[4, 0] = np.inf
    rows[5, :] = -np.inf
    rows[6, 0], rows[6, C - 1] = -np.inf, np.nan
    t = np.arange(8) % C

    def run(dev):
        x = mg.tensor(rows.astype(np.float32), device=dev)
        out = [fused_log_softmax(x), fused_softmax(x)]
        for eps in (0.0, 0.1):
            out.append(fused_cross_entropy(x, mg.tensor(t, device=dev), reduction="none",
                                           label_smoothing=eps))
        return [host(o) for o in out]

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        got, want = run(device), run("cpu")
        x = mg.tensor(rows.astype(np.float32))
        unfused = [mg.log_softmax(x, -1), mg.softmax(x, -1)] + [
            mg.nn.functional.cross_entropy(x, mg.tensor(t), reduction="none",
                                           label_smoothing=eps) for eps in (0.0, 0.1)]
    # rows 0-4 and 6 hold a NaN or a +inf: NaN everywhere
    bad = [0, 1, 2, 3, 4, 6]
    assert np.isnan(want[0][bad]).all() and np.isnan(want[2][bad]).all()
    for w, u in zip(want, unfused):  # the fused ops agree with the unfused ones on CPU
        np.testing.assert_array_equal(np.isnan(w), np.isnan(u.numpy()))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_array_equal(np.isposinf(g), np.isposinf(w))
        np.testing.assert_array_equal(np.isneginf(g), np.isneginf(w))
        fin = np.isfinite(w)
        np.testing.assert_allclose(g[fin], w[fin], rtol=2e-5, atol=2e-6)


# --------------------------------------------------------------------------- bias + act

CASES = [(name, {}) for name in ACTIVATIONS] + [
    ("gelu", {"approximate": "tanh"}), ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 0.7}), ("softplus", {"beta": 2.0, "threshold": 5.0})]
IDS = [n + "".join(f"-{v}" for v in kw.values()) for n, kw in CASES]


def unfused(x, b, name, kwargs):
    z = x + b
    if name == "identity":
        return z
    return getattr(F, name)(z, **kwargs)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_bias_act_matches_unfused(name, kwargs, device):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((6, 7)) * 2
    x0[np.abs(x0) < 1e-3] = 0.5  # away from relu's kink
    b0 = rng.standard_normal(7)
    x = mg.tensor(x0.astype(np.float32), device=device, requires_grad=True)
    b = mg.tensor(b0.astype(np.float32), device=device, requires_grad=True)
    rx, rb = mg.tensor(x0, requires_grad=True), mg.tensor(b0, requires_grad=True)
    y, r = bias_act(x, b, name, **kwargs), unfused(rx, rb, name, kwargs)
    assert y.dtype == mg.float32
    np.testing.assert_allclose(host(y), r.data, rtol=2e-5, atol=2e-6)
    gy = rng.standard_normal(y.shape)
    y.backward(mg.tensor(gy.astype(np.float32), device=device))
    r.backward(mg.tensor(gy))
    np.testing.assert_allclose(host(x.grad), rx.grad.data, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(host(b.grad), rb.grad.data, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_bias_act_gradcheck_and_gradgradcheck(name, kwargs):
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((2, 3, 2, 2))
    b0 = rng.standard_normal((3, 1, 1))  # a conv bias: one per channel
    z = x0 + b0
    x0[np.abs(z) < 0.05] += 0.2  # away from kinks
    x = mg.tensor(x0, requires_grad=True)
    b = mg.tensor(b0, requires_grad=True)
    f = lambda x, b: bias_act(x, b, name, **kwargs)
    assert mg.gradcheck(f, (x, b))
    if name not in ("relu", "leaky_relu", "identity"):  # piecewise linear: H = 0
        assert mg.gradgradcheck(f, (x, b))


@pytest.mark.parametrize("slope", [np.float64(0.2), np.float32(0.25), 1, -np.inf])
def test_bias_act_keywords_become_c_literals(slope, device):
    """NumPy scalars (``repr`` is ``np.float64(0.2)`` under NumPy 2) and non-finite values
    are written as C++ literals in the CUDA source; the result matches on every device."""
    src = _act_source("leaky_relu", {"negative_slope": slope})
    assert "np." not in src and "inf)" not in src and "nan" not in src, src
    x0 = np.array([[-1.5, 0.5], [2.0, -3.0]], np.float32)
    b0 = np.array([0.25, -0.25], np.float32)
    y = bias_act(mg.tensor(x0, device=device), mg.tensor(b0, device=device), "leaky_relu",
                 negative_slope=slope)
    with np.errstate(invalid="ignore", over="ignore"):
        z = (x0 + b0).astype(np.float64)
        ref = np.where(z > 0, z, z * float(slope))
    np.testing.assert_allclose(host(y), ref, rtol=1e-6)


def test_bias_act_checks_keywords_before_any_launch():
    with pytest.raises(ValueError, match="approximate"):
        bias_act(mg.randn(2, 3), mg.zeros(3), "gelu", approximate="fast")


def test_bias_act_rejects_unknown_names():
    x = mg.randn(2, 3)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        bias_act(x, mg.zeros(3), "swish")
    with pytest.raises(TypeError, match="alpha"):
        bias_act(x, mg.zeros(3), "relu", alpha=1.0)


@pytest.mark.gpu
def test_bias_act_half_on_cuda():
    """float16 x and bias on CUDA: computed in float32 inside the kernel, rounded once."""
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((64, 33)).astype(np.float16)
    b0 = rng.standard_normal(33).astype(np.float16)
    for name, kwargs in CASES:
        y = bias_act(mg.tensor(x0, device="cuda"), mg.tensor(b0, device="cuda"), name, **kwargs)
        assert y.dtype == mg.float16
        ref = unfused(mg.tensor(x0.astype(np.float64)), mg.tensor(b0.astype(np.float64)),
                      name, kwargs)
        np.testing.assert_allclose(host(y).astype(np.float64), ref.data, rtol=5e-3, atol=5e-3)


# ------------------------------------------------------- activations: one kernel on CUDA

ACT_CASES = [c for c in CASES if c[0] not in ("identity", "relu")]
ACT_IDS = [i for i, c in zip(IDS, CASES) if c in ACT_CASES]


def test_every_fused_activation_has_its_derivative():
    """The activation Functions' CUDA VJP kernels (fused.ACT_DERIVATIVES, gelu's own):
    one for each activation of ACTIVATIONS but identity and relu (ReLUGrad's), and each of
    those Functions says so (fused_cuda, kernel_args)."""
    from minigrad.ops.fused import ACT_DERIVATIVES

    assert set(ACT_DERIVATIVES) | {"gelu", "identity", "relu"} == set(ACTIVATIONS)
    for name, kwargs in ACT_CASES:
        cls, defaults, _ = ACTIVATIONS[name]
        f = cls(**{**defaults, **kwargs})
        assert cls.fused_cuda and f.kernel_args()[0] == name


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name,kwargs", ACT_CASES, ids=ACT_IDS)
def test_activation_values_and_gradients(name, kwargs, dtype, device):
    """F.<activation> alone, forward and VJP (one kernel each on CUDA, computing float16 in
    float32 and rounding once). float16: within half an ulp (subnormals included) plus
    float32's error of float64 at the same inputs, as the CPU's opmath path; float32 and
    float64: within a few ulps of the CPU's result in that dtype (CUDA's erfcf, tanhf are
    up to 4 ulps). Tails and non-finite inputs give the CPU's non-finite values."""
    from tests.ulps import ulps

    rng = np.random.default_rng(11)
    x0 = np.concatenate([rng.standard_normal(200) * 3, [0.0, -0.0, 1e-3, -1e-3, 15.0, -15.0,
                                                        40.0, -40.0, np.inf, -np.inf, np.nan]])
    x0 = x0.astype(dtype)
    gy0 = rng.standard_normal(x0.shape).astype(dtype)
    fn = getattr(F, name)

    def run(xs, gys, dev):
        x = mg.tensor(xs, device=dev, requires_grad=True)
        y = fn(x, **kwargs)
        y.backward(mg.tensor(gys, device=dev))
        assert y.dtype == x.dtype and x.grad.dtype == x.dtype
        return host(y).astype(np.float64), host(x.grad).astype(np.float64)

    got = run(x0, gy0, device)
    want = run(x0.astype(np.float64), gy0.astype(np.float64), "cpu") if dtype == "float16" \
        else run(x0, gy0, "cpu")
    eps, eps32 = float(np.finfo(dtype).eps), 2.0**-23
    g = np.abs(gy0.astype(np.float64))
    for a, w, gg in ((got[0], want[0], 0.0), (got[1], want[1], g)):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(w))
        fin = np.isfinite(w)
        np.testing.assert_array_equal(a[~fin], w[~fin])
        if dtype == "float16":
            slack = 8 * eps32 * (np.abs(w) + gg)
            if ACTIVATIONS[name][0].save_output:  # 1 − y² from the saved, rounded y
                slack = slack + eps * gg
            err = ulps(a, w, "float16", slack)
            assert err.max() <= 0.5, (x0[err > 0.5], err[err > 0.5])
        else:
            # gelu's tail is ill-conditioned: erfc(−z/√2) and e^(−2u) magnify the rounding
            # of their argument by about z² (the GPU and the CPU round it differently;
            # both gelus' VJPs differed by up to 16 ulps at z ≈ −5.5 on an H200)
            cond = 1 + x0[fin].astype(np.float64) ** 2 if name == "gelu" else 1
            err = np.abs(a[fin] - w[fin])
            bound = 8 * eps * cond * (np.abs(w[fin]) + np.broadcast_to(gg, w.shape)[fin]) \
                + np.finfo(dtype).smallest_subnormal
            bad = err > bound
            assert not bad.any(), (x0[fin][bad], err[bad], bound[bad])


@pytest.mark.parametrize("name,kwargs", ACT_CASES, ids=ACT_IDS)
def test_activation_double_backward(name, kwargs, device):
    """With create_graph the VJP is recorded (Tensor ops, not the kernel): the second
    derivative matches float64's, in float32 and (widened, opmath) in float16."""
    rng = np.random.default_rng(12)
    x0 = rng.standard_normal(50) * 2
    x0[np.abs(x0) < 1e-2] = 0.5
    fn = getattr(F, name)
    rx = mg.tensor(x0, requires_grad=True)
    (rg,) = mg.autograd.grad(fn(rx, **kwargs).sum(), rx, create_graph=True)
    (rh,) = mg.autograd.grad(rg.sum(), rx)
    for dtype, rtol, atol in ((np.float32, 1e-5, 1e-6), (np.float16, 4e-3, 2e-3)):
        x = mg.tensor(x0.astype(dtype), device=device, requires_grad=True)
        (g,) = mg.autograd.grad(fn(x, **kwargs).sum(), x, create_graph=True)
        assert g.requires_grad or name == "leaky_relu"
        np.testing.assert_allclose(host(g).astype(np.float64), rg.data, rtol=rtol, atol=atol)
        if name != "leaky_relu":  # piecewise linear: no second derivative graph
            (h,) = mg.autograd.grad(g.sum(), x)
            np.testing.assert_allclose(host(h).astype(np.float64), rh.data, rtol=rtol,
                                       atol=atol)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not found")
def test_cuda_sources_compile(tmp_path, monkeypatch):
    """The row kernels (float and double) compile with nvcc for sm_80, and every bias +
    activation ElementwiseKernel, the activations' own forward and VJP kernels, each in a
    kernel shaped as CuPy builds it
    (tests/kernels/elementwise_cuda.py), for float16/32/64 data."""
    from minigrad import _backend
    from minigrad.ops import fused
    from tests.kernels.elementwise_cuda import Recorder, kernel_source, nvcc_errors

    inst = "\n".join(
        f"template __global__ void lse_rows<{t}>(const {t}*, long long, {t}*);\n"
        f"template __global__ void ce_rows<{t}>(const {t}*, const long long*, long long, "
        f"long long, {t}, {t}, {t}*, {t}*);\n"
        f"template __global__ void ce_reduce<{t}>(const {t}*, const long long*, long long, "
        f"long long, int, {t}*, long long*);" for t in ("float", "double"))
    cu = tmp_path / "rows.cu"
    cu.write_text(fused._ROWS_SOURCE + inst)
    result = subprocess.run([shutil.which("nvcc"), "-arch=sm_80", "-cubin", "-o",
                             str(tmp_path / "rows.cubin"), str(cu)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]

    recorder = Recorder()
    monkeypatch.setattr(_backend, "cupy", recorder)
    literal_cases = [("leaky_relu", {"negative_slope": np.float64(0.2)}),
                     ("elu", {"alpha": -np.inf})]  # NumPy scalars, non-finite values
    for name, kwargs in CASES + literal_cases:
        defaults = ACTIVATIONS[name][1]
        items = tuple(sorted({**defaults, **kwargs}.items()))
        for dtype in ("float16", "float32", "float64"):
            fused._bias_act_kernel.__wrapped__(name, items, dtype, dtype, dtype)
            fused._bias_act_kernel.__wrapped__(name, items, dtype, None, dtype)
            if name not in ("identity", "relu"):
                fused._act_grad_kernel.__wrapped__(name, items, dtype, dtype)
    sources = [kernel_source(k, i) for i, k in enumerate(recorder.kernels)]
    assert nvcc_errors(sources, tmp_path) == ""


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not found")
def test_cuda_statements_run_on_the_host(tmp_path, monkeypatch):
    """Every activation kernel's CUDA statements, compiled as host C++ by g++ and run on the
    CPU (tests/kernels/elementwise_cuda.py): the forward, the bias + activation and the
    VJP kernels give their references' numbers (fused.act_reference,
    act_derivative_reference, the CPU formulas that the CuPy stand-in runs in their place)
    in float16, float32 and float64: the same NaNs and infinities, finite values within a
    few ulps (the two libms differ; gelu's tail as in the test above), and float16
    computed in float32, rounded once (half an ulp more)."""
    from minigrad import _backend
    from minigrad.ops import fused
    from tests.kernels.elementwise_cuda import Recorder, host_library, host_source, run_on_host

    recorder = Recorder()
    monkeypatch.setattr(_backend, "cupy", recorder)
    plan = []  # (kind, name, items, dtype): one per recorded kernel, in order
    for name, kwargs in CASES:
        items = tuple(sorted({**ACTIVATIONS[name][1], **kwargs}.items()))
        for dtype in ("float16", "float32", "float64"):
            fused._bias_act_kernel.__wrapped__(name, items, dtype, None, dtype)
            fused._bias_act_kernel.__wrapped__(name, items, dtype, dtype, dtype)
            plan += [("act", name, items, dtype), ("bias_act", name, items, dtype)]
            if name not in ("identity", "relu"):
                fused._act_grad_kernel.__wrapped__(name, items, dtype, dtype)
                plan.append(("grad", name, items, dtype))
    lib = host_library([host_source(k, i) for i, k in enumerate(recorder.kernels)], tmp_path)

    rng = np.random.default_rng(13)
    special = [0.0, -0.0, 1e-3, -1e-3, 2.999, -2.999, 3.0, -3.0, 3.001, -3.001, 15.0, -15.0,
               19.99, 20.0, 20.01, -20.0, 40.0, -40.0, np.inf, -np.inf, np.nan]
    x64 = np.concatenate([rng.standard_normal(400) * 4, special])
    b64 = np.concatenate([rng.standard_normal(400) * 0.5, np.zeros(len(special))])
    gy64 = rng.standard_normal(x64.size)
    for tag, (kind, name, items, dtype) in enumerate(plan):
        acc = np.float64 if dtype == "float64" else np.float32
        x, b, gy = (a.astype(dtype) for a in (x64, b64, gy64))
        out = np.full(x.size, np.nan, dtype)
        with np.errstate(all="ignore"):
            z = x.astype(acc) + (b.astype(acc) if kind == "bias_act" else 0)
            y = fused.act_reference(name, items, z)
            if kind == "grad":
                v = y.astype(dtype) if ACTIVATIONS[name][0].save_output else x
                run_on_host(lib, tag, v, gy, out)
                d = fused.act_derivative_reference(name, items, v.astype(acc))
                want, g = gy.astype(acc) * d, np.abs(gy64)
            else:
                run_on_host(lib, tag, *((x, b) if kind == "bias_act" else (x,)), out)
                want, g = y, 0.0
        got, want = out.astype(np.float64), want.astype(dtype).astype(np.float64)
        where = f"{kind} {name} {dict(items)} {dtype}"
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=where)
        fin = np.isfinite(want)
        np.testing.assert_array_equal(got[~fin], want[~fin], err_msg=where)
        eps, eps_acc = float(np.finfo(dtype).eps), float(np.finfo(acc).eps)
        cond = 1 + z[fin].astype(np.float64) ** 2 if name == "gelu" else 1
        mag = np.abs(want[fin]) + np.broadcast_to(g, want.shape)[fin]
        bound = (eps / 2 if dtype == "float16" else 0) * np.abs(want[fin]) \
            + 8 * eps_acc * cond * mag + np.finfo(dtype).smallest_subnormal
        err = np.abs(got[fin] - want[fin])
        bad = err > bound
        assert not bad.any(), (where, x[fin][bad], got[fin][bad], want[fin][bad])
