"""Half tensors (float16, bfloat16) through the ops that compute in float32 and round once
(``Function.opmath`` and the ``in_float32`` decorator), as PyTorch's kernels do.

Each value and each gradient is checked against the float64 value at the same half inputs,
in units of the half format's spacing (ulps): within ½ ulp (correct rounding) plus 0.05
for float32's own error. Where the VJP reads the op's saved output, that output is the
rounded half one (as PyTorch's), and the reference is the VJP's formula, written out below,
in float64 on it. Computed op by op in half, silu's gradient was 180 ulps off where it
crosses zero, gelu's 615, hardswish's 840, sigmoid's value 1.8 ulps.
"""
import math
import zlib

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.autograd.function import Function

from ..ulps import ulps

BOUND = 0.55  # ulps: ½ for the rounding, 0.05 for float32's error before it
N = 400


def _ulps(a, ref, half):
    """ulps after an allowance of 8 float32 ulps of the largest |ref|: where a value cancels
    to near 0 (a gradient crossing zero), float32's error at the scale of the terms remains."""
    return ulps(a, ref, half, slack=2.0**-21 * np.nanmax(
        np.abs(np.where(np.isinf(ref), 0, ref)), initial=0))


def _i0e(x):
    return mg.special.i0e(mg.tensor(x)).numpy()


def _i1e(x):
    return mg.special.i1e(mg.tensor(x)).numpy()


SQRT_PI = math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2 * math.pi)

# The VJPs that read the saved output y, in float64 on the rounded y: f(xs, y, g) → grads.
FROM_OUTPUT = {
    "sigmoid": lambda xs, y, g: [g * y * (1 - y)],
    "tanh": lambda xs, y, g: [g * (1 - y * y)],
    "exp2": lambda xs, y, g: [g * y * math.log(2)],
    "rsqrt": lambda xs, y, g: [-0.5 * g * y**3],
    "tan": lambda xs, y, g: [g * (1 + y * y)],
    "ndtri": lambda xs, y, g: [g * SQRT_2PI * np.exp(y * y / 2)],
    "hypot": lambda xs, y, g: [g * xs[0] / y, g * xs[1] / y],
    "i0e": lambda xs, y, g: [g * (_i1e(xs[0]) - np.sign(xs[0]) * y)],
    "i1e": lambda xs, y, g: [g * (_i0e(xs[0]) - y * (np.sign(xs[0]) + 1 / xs[0]))],
    "softmax": lambda xs, y, g: [y * (g - (g * y).sum(-1, keepdims=True))],
    "log_softmax": lambda xs, y, g: [g - np.exp(y) * g.sum(-1, keepdims=True)],
    "logsumexp": lambda xs, y, g: [g * np.exp(xs[0] - y)],
    "fused_softmax": lambda xs, y, g: FROM_OUTPUT["softmax"](xs, y, g),
    "fused_log_softmax": lambda xs, y, g: FROM_OUTPUT["log_softmax"](xs, y, g),
    # gxⱼ = Σ_{i ≥ j} gᵢ·e^(xⱼ − yᵢ)
    "logcumsumexp": lambda xs, y, g: [np.exp(xs[0]) * np.cumsum((g * np.exp(-y))[::-1])[::-1]],
}

U = (-4.0, 4.0)
POS = (0.05, 6.0)
CASES = {  # name: (function, the range of each input)
    # Functions with opmath = True
    "sigmoid": (mg.sigmoid, [(-8.0, 8.0)]), "tanh": (mg.tanh, [U]),
    "exp2": (mg.exp2, [(-8.0, 8.0)]), "rsqrt": (mg.rsqrt, [POS]), "tan": (mg.tan, [(-1.4, 1.4)]),
    "erfinv": (mg.erfinv, [(-0.95, 0.95)]), "ndtri": (mg.special.ndtri, [(0.02, 0.98)]),
    "hypot": (mg.hypot, [U, U]), "i0e": (mg.special.i0e, [U]), "i1e": (mg.special.i1e, [(1, 6)]),
    "softmax": (lambda x: x.softmax(0), [U]), "log_softmax": (lambda x: x.log_softmax(0), [U]),
    "fused_softmax": (lambda x: mg.ops.fused.fused_softmax(x.reshape(4, -1)), [U]),
    "fused_log_softmax": (lambda x: mg.ops.fused.fused_log_softmax(x.reshape(4, -1)), [U]),
    "logsumexp": (lambda x: x.logsumexp(0), [U]),
    "logcumsumexp": (lambda x: x.logcumsumexp(0), [U]),
    "sin": (mg.sin, [U]), "cos": (mg.cos, [U]), "sinh": (mg.sinh, [U]), "cosh": (mg.cosh, [U]),
    "asin": (mg.asin, [(-0.95, 0.95)]), "acos": (mg.acos, [(-0.95, 0.95)]),
    "atan": (mg.atan, [U]), "asinh": (mg.asinh, [U]), "acosh": (mg.acosh, [(1.05, 6.0)]),
    "atanh": (mg.atanh, [(-0.95, 0.95)]), "erf": (mg.erf, [U]), "erfc": (mg.erfc, [(-3, 3)]),
    "log1p": (mg.log1p, [(-0.9, 4.0)]), "log2": (mg.log2, [POS]), "log10": (mg.log10, [POS]),
    "entr": (mg.special.entr, [POS]), "lgamma": (mg.lgamma, [(2.5, 6.0)]),
    "digamma": (mg.digamma, [(0.2, 1.3)]), "polygamma": (lambda x: mg.polygamma(1, x), [POS]),
    "i0": (mg.i0, [U]), "i1": (mg.special.i1, [U]),
    "igamma": (lambda a, x: mg.igamma(a.detach(), x), [(0.5, 5), POS]),
    "igammac": (lambda a, x: mg.igammac(a.detach(), x), [(0.5, 5), POS]),
    "logit": (mg.logit, [(0.05, 0.95)]),
    "sinc": (mg.sinc, [U]), "pow_scalar": (lambda x: x**2.5, [POS]),
    "pow": (mg.pow, [POS, (-2, 2)]), "atan2": (mg.atan2, [U, U]),
    "logaddexp": (mg.logaddexp, [U, U]), "logaddexp2": (mg.logaddexp2, [U, U]),
    "xlogy": (mg.xlogy, [U, POS]), "leaky_relu": (F.leaky_relu, [U]), "elu": (F.elu, [U]),
    "gelu": (F.gelu, [U]), "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [U]),
    "silu": (F.silu, [U]), "softplus": (F.softplus, [U]), "tanhshrink": (F.tanhshrink, [U]),
    "bias_act_gelu": (lambda x, b: mg.ops.fused.bias_act(x, b, "gelu"), [U, U]),
    # compositions decorated with in_float32
    "selu": (F.selu, [U]), "celu": (F.celu, [U]), "hardsigmoid": (F.hardsigmoid, [U]),
    "hardswish": (F.hardswish, [U]), "mish": (F.mish, [U]), "logsigmoid": (F.logsigmoid, [U]),
    "softsign": (F.softsign, [U]), "glu": (F.glu, [U]), "deg2rad": (mg.deg2rad, [U]),
    "rad2deg": (mg.rad2deg, [U]), "ndtr": (mg.special.ndtr, [U]),
    "xlog1py": (mg.special.xlog1py, [U, (-0.9, 4.0)]),
    "smooth_l1_loss": (lambda a, b: F.smooth_l1_loss(a, b, reduction="none"), [U, U]),
    "huber_loss": (lambda a, b: F.huber_loss(a, b, reduction="none"), [U, U]),
    "bce_with_logits": (lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
                        [U, (0.0, 1.0)]),
    "cross_entropy (probabilities)": (lambda a, b: F.cross_entropy(a.reshape(4, -1),
                                                                   b.reshape(4, -1)),
                                      [U, (0.0, 1.0)]),
    # reductions: float32 sums, and the mean's gy/n rounded once
    "mean": (lambda x: x.mean(), [U]), "var": (lambda x: x.var(), [U]),
    "std": (lambda x: x.std(), [U]), "nanmean": (mg.nanmean, [U]),
    "trapezoid": (mg.trapezoid, [U]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x[:400].reshape(4, 10, 10), 3),
                            [U]),
    "interpolate bilinear": (lambda x: F.interpolate(x[:400].reshape(1, 4, 10, 10),
                                                     scale_factor=1.5, mode="bilinear"), [U]),
    "interpolate bicubic": (lambda x: F.interpolate(x[:400].reshape(1, 4, 10, 10),
                                                    scale_factor=1.5, mode="bicubic"), [U]),
    "lerp": (mg.lerp, [U, U, (0.0, 1.0)]),
    "addcmul": (lambda a, b, c: mg.addcmul(a, b, c, value=0.3), [U, U, U]),
    "addcdiv": (lambda a, b, c: mg.addcdiv(a, b, c, value=0.3), [U, U, (0.5, 4.0)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x.reshape(4, -1), (len(x) // 4,),
                                                w[:len(x) // 4], b[:len(x) // 4]), [U, U, U]),
    "group_norm": (lambda x, w, b: F.group_norm(x.reshape(4, 4, -1), 2, w[:4], b[:4]),
                   [U, U, U]),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a.reshape(4, -1), b.reshape(4, -1)),
                          [U, U]),
    "renorm": (lambda x: mg.renorm(x.reshape(4, -1), 2, 0, 5.0), [U]),
    "bilinear": (lambda a, b, w: F.bilinear(a.reshape(-1, 4), b.reshape(-1, 4),
                                            w[:48].reshape(3, 4, 4)), [U, U, U]),
}


def _draw(rng, ranges, half):
    """Distinct half values in each range (ties would make a comparison of sorted or
    maximal elements ambiguous), as float64 arrays."""
    out = []
    for lo, hi in ranges:
        x = np.unique(rng.uniform(lo, hi, 4 * N).astype(np.float32).astype(half))[:N]
        out.append(rng.permutation(x.astype(np.float64)))
    n = min(len(x) for x in out) // 4 * 4
    return [x[:n] for x in out]


@pytest.mark.parametrize("name", sorted(CASES))
def test_half_value_and_gradient_rounded_once(name, half_dtype, device):
    half = half_dtype
    fn, ranges = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    xs = _draw(rng, ranges, half)
    ins_h = [mg.tensor(x, device=device).to(dtype=half).requires_grad_() for x in xs]
    ins_64 = [mg.tensor(x, requires_grad=True) for x in xs]   # the reference, on the CPU
    y_h, y_64 = fn(*ins_h), fn(*ins_64)
    assert y_h.dtype == half
    g = rng.uniform(-1, 1, y_h.shape).astype(np.float32).astype(half).astype(np.float64)
    y_h.backward(mg.tensor(g, device=device).to(dtype=half))
    y = y_h.to(dtype=mg.float64).cpu().numpy()
    err = _ulps(y, y_64.detach().numpy(), half)
    assert err.max() <= BOUND, f"value: {err.max():.2f} ulps"
    if name in FROM_OUTPUT:
        grads_ref = FROM_OUTPUT[name](xs, y, g)
    else:
        grads_ref = [None if t is None else t.numpy() for t in
                     mg.autograd.grad(y_64, ins_64, mg.tensor(g), allow_unused=True)]
    for i, (t, ref) in enumerate(zip(ins_h, grads_ref)):
        if ref is None:  # (igamma's shape a)
            assert t.grad is None
            continue
        assert t.grad.dtype == half
        err = _ulps(t.grad.to(dtype=mg.float64).cpu().numpy(), np.asarray(ref).reshape(t.shape),
                    half)
        assert err.max() <= BOUND, f"gradient of input {i}: {err.max():.2f} ulps"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_opmath_function_is_checked():
    """Each Function class with ``opmath`` set is on the graph of some case above."""
    seen = set()
    for fn, ranges in CASES.values():
        xs = [mg.tensor(np.linspace(0.5, 0.9, N), dtype=mg.float16, requires_grad=True)
              for _ in ranges]
        stack = [fn(*xs).grad_fn]
        while stack:
            node = stack.pop()
            if node is not None and not isinstance(node, mg.autograd.function.AccumulateGrad):
                seen.add(type(node))
                stack.extend(n for n, _ in node.next_functions)
    opmath = {c for c in _subclasses(Function) if c.opmath is True
              and not c.__module__.startswith("tests")}
    # _LogBase: through Log2 and Log10. _SoftmaxFromLSE: the cross-entropy's VJP when a
    # graph is recorded, a Softmax of the forward's float32 log-sum-exp
    missing = {c for c in opmath if not any(issubclass(s, c) for s in seen)}
    assert missing == {mg.ops.fused._SoftmaxFromLSE}, sorted(c.__name__ for c in missing)


def _silu_inputs(half):
    x = np.unique(np.linspace(-4, 4, 301).astype(np.float32).astype(half)).astype(np.float64)
    return x, mg.tensor(x).to(dtype=half)


def _silu_derivatives(x):
    """silu′ and silu″ in float64: σ(1 + x(1 − σ)) and σ(1 − σ)(2 + x(1 − 2σ))."""
    s = 1 / (1 + np.exp(-x))
    return s * (1 + x * (1 - s)), s * (1 - s) * (2 + x * (1 - 2 * s))


def test_second_derivative_and_tangent_in_half(half_dtype):
    """The double backward (create_graph) and the forward-mode tangent of an opmath op in
    half: each within an ulp of the float64 derivative (the first derivative, an
    intermediate of the second, is rounded to half once on the way)."""
    half = half_dtype
    x, xh = _silu_inputs(half)
    d1, d2 = _silu_derivatives(x)
    xh.requires_grad_()
    (g1,) = mg.autograd.grad(F.silu(xh).sum(), xh, create_graph=True)
    (g2,) = mg.autograd.grad(g1.sum(), xh)
    assert g1.dtype == g2.dtype == half
    assert _ulps(g1.to(dtype=mg.float64).detach().numpy(), d1, half).max() <= BOUND
    assert _ulps(g2.to(dtype=mg.float64).numpy(), d2, half).max() <= 1.0
    import minigrad.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        y = F.silu(fwAD.make_dual(xh.detach(), mg.ones_like(xh.detach())))
        tangent = fwAD.unpack_dual(y).tangent
    assert tangent.dtype == half
    assert _ulps(tangent.to(dtype=mg.float64).numpy(), d1, half).max() <= BOUND


def test_anomaly_mode_takes_the_same_float32_path(half_dtype):
    x, xh = _silu_inputs(half_dtype)
    grads = []
    for anomaly in (False, True):
        t = xh.detach().requires_grad_()
        with mg.autograd.set_detect_anomaly(anomaly):
            F.gelu(t).sum().backward()
        grads.append(t.grad.numpy())
    assert np.array_equal(grads[0].view(np.uint16), grads[1].view(np.uint16))


def test_half_results_keep_their_dtype_and_autocast_lists_stay_float32():
    """Outside autocast a half input gives a half result; inside, the functions on
    autocast's float32 list (var, std, losses) give float32, as PyTorch's."""
    x = mg.tensor([0.5, -1.0, 2.0, 0.25]).half()
    for fn in (F.silu, F.hardswish, F.mish, lambda t: t.var(),
               lambda t: F.smooth_l1_loss(t, t * 0)):
        assert fn(x).dtype == mg.float16
    with mg.amp.autocast(dtype=mg.float16):
        assert x.var().dtype == x.std().dtype == mg.float32
        assert F.smooth_l1_loss(x, x * 0).dtype == mg.float32
        assert F.binary_cross_entropy_with_logits(x, x * 0).dtype == mg.float32
        assert F.hardswish(x).dtype == F.silu(x).dtype == mg.float16


def test_bfloat16_nextafter_steps_on_the_bits():
    """bfloat16 has 7 mantissa bits: the next value after 1 is 1 + 2⁻⁷, before it 1 − 2⁻⁸;
    from 0 the smallest subnormal 2⁻¹³³; past the largest finite value inf."""
    if mg.bfloat16 is None:
        pytest.skip("no bfloat16 dtype (ml_dtypes)")
    bf = mg.bfloat16
    big = float(mg.finfo(bf).max)
    a = mg.tensor([1.0, 1.0, 0.0, -0.0, big, np.inf, 2.0, np.nan, -1.0]).to(dtype=bf)
    b = mg.tensor([2.0, 0.0, -1.0, 1.0, np.inf, 0.0, 2.0, 1.0, -2.0]).to(dtype=bf)
    got = mg.nextafter(a, b).to(dtype=mg.float64).numpy()
    want = [1 + 2.0**-7, 1 - 2.0**-8, -(2.0**-133), 2.0**-133, np.inf, big, 2.0, np.nan,
            -1 - 2.0**-7]
    np.testing.assert_array_equal(got, want)
