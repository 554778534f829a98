"""The table of ops under test: how to draw inputs for each, the function, its NumPy
forward reference, and whether its second derivative is checked.

Inputs are drawn by hypothesis (random shapes with size-1 dims, broadcasting pairs,
values kept away from kinks and ties) through :mod:`minigrad.testing`.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import strategies as st

import minigrad as mg
from minigrad.ops import fused
from minigrad.ops.activation import ReLUGrad
from minigrad.testing import arrays, broadcastable_shapes, shapes

SMALL = dict(max_dims=3, max_side=4)


@dataclass
class OpSpec:
    name: str
    draw: Callable  # (data) -> (tuple of float64 arrays, dict of op parameters)
    fn: Callable  # (*tensors, **params) -> tensor
    ref: Callable = None  # (*arrays, **params) -> array, NumPy forward reference
    gradgrad: bool = True
    tags: list = field(default_factory=list)



def _on(x, array):
    """An index or target array as a tensor on x's device (gather, scatter and the losses
    refuse one on another device, as PyTorch does)."""
    return mg.tensor(array, device=x.device)

def one(**kw):
    def draw(data):
        return (data.draw(arrays(**{**SMALL, **kw})),), {}
    return draw


def _relu_grad_draw(data):
    """g, and x of g's shape (with zeros and negatives) as a parameter."""
    (g,), _ = one()(data)
    x = data.draw(arrays(shape=g.shape, min_value=-2.0, max_value=2.0))
    return (g,), {"x": np.where(np.abs(x) < 0.3, 0.0, x)}


def positive(**kw):
    return one(min_value=0.2, max_value=3.0, **kw)


def pair(a_kw=None, b_kw=None, min_gap=0.0):
    def draw(data):
        sa, sb = data.draw(broadcastable_shapes(2, **SMALL))
        a = data.draw(arrays(shape=sa, **(a_kw or {})))
        b = data.draw(arrays(shape=sb, **(b_kw or {})))
        if min_gap:
            assume(np.all(np.abs(a - b) > min_gap))
        return (a, b), {}
    return draw


def with_dim(draw_kw=None, min_dims=1):
    """One array with at least ``min_dims`` dims, and a random valid dim."""
    def draw(data):
        x = data.draw(arrays(min_dims=min_dims, **{**SMALL, **(draw_kw or {})}))
        dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
        return x, dim
    return draw


def dim_op(name, fn, ref, draw_kw=None, min_dims=1, gradgrad=True):
    """An op with a ``dim`` argument: the dim is drawn with the input."""
    def draw(data):
        x, dim = with_dim(draw_kw, min_dims)(data)
        return (x,), {"dim": dim}
    return OpSpec(name, draw, lambda x, dim: fn(x, dim), lambda x, dim: ref(x, dim), gradgrad)


def _np_softplus(x):
    return np.where(x > 20, x, np.log1p(np.exp(x)))


def _np_gelu(x):
    from math import erf, sqrt
    return 0.5 * x * (1 + np.vectorize(erf)(x / sqrt(2)))


def _np_lse(x, d):
    m = x.max(axis=d, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=d, keepdims=True))).squeeze(d)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _draw_matmul(data, cases=("mm", "bmm", "broadcast", "vec_mat", "mat_vec", "dot")):
    case = data.draw(st.sampled_from(cases))
    m, k, n, b = (data.draw(st.integers(1, 4)) for _ in range(4))
    shapes_ = {"mm": ((m, k), (k, n)), "bmm": ((b, m, k), (b, k, n)),
               "broadcast": ((b, 1, m, k), (b, k, n)), "vec_mat": ((k,), (b, k, n)),
               "mat_vec": ((b, m, k), (k,)), "dot": ((k,), (k,))}[case]
    return tuple(data.draw(arrays(shape=s)) for s in shapes_), {}


def _draw_getitem(data):
    x = data.draw(arrays(min_dims=1, **SMALL))
    kind = data.draw(st.sampled_from(["slice", "int", "int_array", "bool_mask", "mixed"]))
    n = x.shape[0]
    if kind == "slice":
        start = data.draw(st.integers(-n, n))
        step = data.draw(st.sampled_from([1, 2, -1]))
        idx = slice(start, None, step)
    elif kind == "int":
        idx = data.draw(st.integers(-n, n - 1))
    elif kind == "int_array":  # repeated indices must accumulate
        idx = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    elif kind == "bool_mask":
        idx = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    else:
        idx = (Ellipsis, np.array(data.draw(st.lists(st.integers(0, x.shape[-1] - 1),
                                                      min_size=1, max_size=5))))
    return (x,), {"idx": idx}


def _draw_pad(data):
    """A mode and widths it accepts: constant may crop (negative widths), reflect needs
    width < size, circular width ≤ size."""
    x = data.draw(arrays(min_dims=1, **SMALL))
    k = data.draw(st.integers(1, x.ndim))
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    pad = []
    for d in reversed(range(x.ndim - k, x.ndim)):       # PyTorch order: last dim first
        n = x.shape[d]
        if mode == "constant":
            lo = data.draw(st.integers(-min(n, 1), 2))
            hi = data.draw(st.integers(-min(n + min(lo, 0), 1), 2))
        else:
            top = {"reflect": n - 1, "replicate": 2 if n else 0, "circular": n}[mode]
            lo, hi = (data.draw(st.integers(0, min(top, 2))) for _ in range(2))
        pad += [lo, hi]
    return (x,), {"pad": tuple(pad), "mode": mode}


def _np_pad(x, pad, mode):
    widths = [(0, 0)] * (x.ndim - len(pad) // 2) + [
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]
    x = x[tuple(slice(-min(lo, 0), x.shape[d] + min(hi, 0)) for d, (lo, hi) in enumerate(widths))]
    widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        return np.pad(x, widths, constant_values=0.5)
    return np.pad(x, widths, mode={"reflect": "reflect", "replicate": "edge",
                                   "circular": "wrap"}[mode])


def _draw_split(data):
    x, dim = with_dim()(data)
    return (x,), {"dim": dim, "size": data.draw(st.integers(1, max(x.shape[dim], 1)))}


def _draw_cat(data):
    base = list(data.draw(shapes(min_dims=1, **SMALL)))
    dim = data.draw(st.integers(0, len(base) - 1))
    xs = []
    for _ in range(data.draw(st.integers(1, 3))):
        s = list(base)
        s[dim] = data.draw(st.integers(1, 3))
        xs.append(data.draw(arrays(shape=tuple(s))))
    return tuple(xs), {"dim": dim}


def _draw_stack(data):
    s = data.draw(shapes(**SMALL))
    xs = tuple(data.draw(arrays(shape=s)) for _ in range(data.draw(st.integers(1, 3))))
    return xs, {"dim": data.draw(st.integers(-len(s) - 1, len(s)))}


def _draw_permute(data):
    x = data.draw(arrays(**SMALL))
    return (x,), {"dims": tuple(data.draw(st.permutations(range(x.ndim))))}


def _draw_reshape(data):
    x = data.draw(arrays(**SMALL))
    # a random factorization of the size into up to 3 dims, with -1 somewhere
    n = x.size
    dims = []
    while n > 1 and len(dims) < 2:
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        d = data.draw(st.sampled_from(divisors))
        dims.append(d)
        n //= d
    dims.append(n)
    if data.draw(st.booleans()):
        dims[data.draw(st.integers(0, len(dims) - 1))] = -1
    return (x,), {"shape": tuple(dims)}


def _draw_broadcast(data):
    (s_small, s_big) = data.draw(broadcastable_shapes(2, **SMALL))
    big = tuple(np.broadcast_shapes(s_small, s_big))
    return (data.draw(arrays(shape=s_small)),), {"shape": big}


def _draw_sum_to(data):
    (s_small, s_big) = data.draw(broadcastable_shapes(2, **SMALL))
    big = tuple(np.broadcast_shapes(s_small, s_big))
    return (data.draw(arrays(shape=big)),), {"shape": s_small}


def _draw_repeat(data):
    x = data.draw(arrays(max_dims=2, max_side=3))
    n = x.ndim + data.draw(st.integers(0, 1))
    return (x,), {"reps": tuple(data.draw(st.integers(1, 3)) for _ in range(n))}


def _draw_division_pair(data):
    """a, b for // and %: |b| ≥ 0.5 and a / b away from the integers, where ⌊a / b⌋ jumps."""
    (a, b), _ = pair(b_kw=dict(min_value=0.5, max_value=3.0))(data)
    b = b * data.draw(st.sampled_from([1.0, -1.0]))
    q = a / b
    assume(np.all(np.abs(q - np.round(q)) > 1e-3))
    return (a, b), {}


def _draw_gather(data):
    x, dim = with_dim()(data)
    shape = list(x.shape)
    shape[dim] = data.draw(st.integers(1, 4))               # more or fewer picks than size
    shape = [data.draw(st.integers(1, s)) if d != dim else s for d, s in enumerate(shape)]
    index = data.draw(arrays(shape=tuple(shape), min_value=0, max_value=x.shape[dim] - 1))
    return (x,), {"dim": dim, "index": np.round(index).astype(np.int64)}


def _np_gather(x, dim, index):
    dim %= x.ndim
    return np.take_along_axis(x[tuple(slice(0, s) if d != dim else slice(None)
                                      for d, s in enumerate(index.shape))], index, dim)


def _draw_roll(data):
    x, dim = with_dim()(data)
    return (x,), {"dim": dim, "shift": data.draw(st.integers(-5, 5))}


def _draw_clamp_tensor(data):
    """x with tensor bounds lo ≤ hi (or lo > hi: max wins), x away from both."""
    sx, slo, shi = data.draw(broadcastable_shapes(3, **SMALL))
    lo, hi = data.draw(arrays(shape=slo)), data.draw(arrays(shape=shi))
    x = data.draw(arrays(shape=sx))
    assume(np.all(np.abs(x - lo) > 1e-3) and np.all(np.abs(np.maximum(x, lo) - hi) > 1e-3))
    return (x, lo, hi), {}


def _draw_where(data):
    sa, sb, sc = data.draw(broadcastable_shapes(3, **SMALL))
    cond = data.draw(arrays(shape=sc)) > 0
    return (data.draw(arrays(shape=sa)), data.draw(arrays(shape=sb))), {"cond": cond}


def _draw_layer_norm(data):
    """x of 1-3 dims (rows of 2-4 elements, so that σ² > 0), normalized over its last k
    dims, with γ and β of that shape."""
    x = data.draw(arrays(min_dims=1, max_dims=3, min_side=2, max_side=4))
    k = data.draw(st.integers(1, x.ndim))
    shape = x.shape[x.ndim - k:]
    return (x, data.draw(arrays(shape=shape)), data.draw(arrays(shape=shape))), {}


def _np_layer_norm(x, w, b):
    a = tuple(range(x.ndim - w.ndim, x.ndim))
    d = x - x.mean(axis=a, keepdims=True)
    return d / np.sqrt((d * d).mean(axis=a, keepdims=True) + 1e-5) * w + b


def _draw_reduce(data, unique=False, min_side=1, **kw):
    x = data.draw(arrays(unique=unique, min_side=min_side, **{**SMALL, **kw}))
    dim = data.draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)
                              if x.ndim else st.none()))
    keepdim = data.draw(st.booleans())
    return x, dim, keepdim


def reduce_op(name, fn, ref, unique=False, gradgrad=True, **kw):
    def draw(data):
        x, dim, keepdim = _draw_reduce(data, unique, **kw)
        return (x,), {"dim": dim, "keepdim": keepdim}
    return OpSpec(name, draw, lambda x, dim, keepdim: fn(x, dim, keepdim),
                  lambda x, dim, keepdim: ref(x, dim, keepdim), gradgrad)


SPECS = [
    # arithmetic, with broadcasting
    OpSpec("add", pair(), lambda a, b: a + b, np.add),
    OpSpec("sub", pair(), lambda a, b: a - b, np.subtract),
    OpSpec("mul", pair(), lambda a, b: a * b, np.multiply),
    OpSpec("div", pair(b_kw=dict(min_value=0.5)), lambda a, b: a / b, np.divide),
    OpSpec("rsub_scalar", one(), lambda x: 2.5 - x, lambda x: 2.5 - x),
    OpSpec("rdiv_scalar", positive(), lambda x: 2.0 / x, lambda x: 2.0 / x),
    OpSpec("neg", one(), lambda x: -x, np.negative),
    OpSpec("pow_tensor", pair(a_kw=dict(min_value=0.3)), lambda a, b: a**b, np.power),
    OpSpec("pow_scalar_3", one(), lambda x: x**3, lambda x: x**3),
    OpSpec("pow_scalar_2", one(), lambda x: x**2, lambda x: x**2),
    OpSpec("pow_scalar_half", positive(), lambda x: x**0.5, np.sqrt),
    OpSpec("rpow", one(), lambda x: 2.0**x, lambda x: 2.0**x),
    OpSpec("floor_divide", _draw_division_pair, lambda a, b: a // b, np.floor_divide),
    OpSpec("remainder", _draw_division_pair, lambda a, b: a % b, np.remainder),
    OpSpec("rmod_scalar", one(min_value=0.55, max_value=2.9, avoid=(2.5, 2.5 / 2, 2.5 / 3,
                                                                    2.5 / 4)),
           lambda x: 2.5 % x, lambda x: np.remainder(2.5, x)),
    OpSpec("clone", one(), lambda x: x.clone(), lambda x: x),
    # elementwise math
    OpSpec("exp", one(), lambda x: x.exp(), np.exp),
    OpSpec("log", positive(), lambda x: x.log(), np.log),
    OpSpec("log1p", one(min_value=-0.8), lambda x: x.log1p(), np.log1p),
    OpSpec("sqrt", positive(), lambda x: x.sqrt(), np.sqrt),
    OpSpec("rsqrt", positive(), lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x)),
    OpSpec("abs", one(avoid=(0.0,)), lambda x: x.abs(), np.abs),
    OpSpec("sign", one(avoid=(0.0,)), lambda x: x.sign() * x, lambda x: np.sign(x) * x),
    OpSpec("sin", one(), lambda x: x.sin(), np.sin),
    OpSpec("cos", one(), lambda x: x.cos(), np.cos),
    OpSpec("erf", one(), lambda x: x.erf(), lambda x: np.vectorize(__import__("math").erf)(x)),
    OpSpec("clamp", one(avoid=(-0.5, 1.0)), lambda x: x.clamp(-0.5, 1.0),
           lambda x: np.clip(x, -0.5, 1.0)),
    OpSpec("clamp_min", one(avoid=(0.25,)), lambda x: x.clamp(min=0.25),
           lambda x: np.maximum(x, 0.25)),
    OpSpec("clamp_tensor", _draw_clamp_tensor, lambda x, lo, hi: x.clamp(lo, hi),
           lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)),
    OpSpec("masked_fill", one(avoid=(0.0,)), lambda x: x.masked_fill(x > 0, 0.5),
           lambda x: np.where(x > 0, 0.5, x)),
    OpSpec("maximum", pair(min_gap=1e-3), lambda a, b: a.maximum(b), np.maximum),
    OpSpec("minimum", pair(min_gap=1e-3), lambda a, b: a.minimum(b), np.minimum),
    OpSpec("where", _draw_where, lambda a, b, cond: mg.where(cond, a, b),
           lambda a, b, cond: np.where(cond, a, b)),
    # activations
    OpSpec("relu", one(avoid=(0.0,)), lambda x: x.relu(), lambda x: np.maximum(x, 0)),
    # ReLU's VJP as an op of its own (g differentiable, x a constant): its double backward
    OpSpec("relu_grad", _relu_grad_draw,
           lambda g, x: ReLUGrad()(g, _on(g, x)), lambda g, x: np.where(x > 0, g, 0.0)),
    OpSpec("leaky_relu", one(avoid=(0.0,)), lambda x: mg.leaky_relu(x, 0.1),
           lambda x: np.where(x > 0, x, 0.1 * x)),
    OpSpec("elu", one(avoid=(0.0,)), lambda x: mg.elu(x, 1.3),
           lambda x: np.where(x > 0, x, 1.3 * np.expm1(np.minimum(x, 0)))),
    OpSpec("gelu", one(), lambda x: mg.gelu(x), _np_gelu),
    OpSpec("gelu_tanh", one(), lambda x: mg.gelu(x, approximate="tanh"),
           lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    OpSpec("silu", one(), lambda x: mg.silu(x), lambda x: x * _sigmoid(x)),
    OpSpec("sigmoid", one(), lambda x: x.sigmoid(), _sigmoid),
    OpSpec("tanh", one(), lambda x: x.tanh(), np.tanh),
    OpSpec("tanhshrink", one(), lambda x: mg.nn.functional.tanhshrink(x),
           lambda x: x - np.tanh(x)),
    OpSpec("tanhshrink_series", one(min_value=-0.49, max_value=0.49),
           lambda x: mg.nn.functional.tanhshrink(x), lambda x: x - np.tanh(x)),
    OpSpec("softplus", one(min_value=-5, max_value=25, avoid=(20.0,)),
           lambda x: mg.softplus(x), _np_softplus),
    OpSpec("softplus_beta", one(), lambda x: mg.softplus(x, beta=2.0),
           lambda x: np.log1p(np.exp(2 * x)) / 2),
    OpSpec("hardsigmoid", one(min_value=-5, max_value=5, avoid=(-3.0, 3.0)),
           lambda x: mg.nn.functional.hardsigmoid(x), lambda x: np.clip(x + 3, 0, 6) / 6),
    OpSpec("hardswish", one(min_value=-5, max_value=5, avoid=(-3.0, 3.0)),
           lambda x: mg.nn.functional.hardswish(x), lambda x: x * np.clip(x + 3, 0, 6) / 6),
    OpSpec("mish", one(min_value=-5, max_value=25, avoid=(20.0,)),
           lambda x: mg.nn.functional.mish(x), lambda x: x * np.tanh(_np_softplus(x))),
    OpSpec("layer_norm", _draw_layer_norm,
           lambda x, w, b: mg.nn.functional.layer_norm(x, w.shape, w, b), _np_layer_norm),
    OpSpec("rms_norm", _draw_layer_norm,
           lambda x, w, b: mg.nn.functional.rms_norm(x, w.shape, w, eps=1e-3),
           lambda x, w, b: x / np.sqrt((x * x).mean(axis=tuple(range(x.ndim - w.ndim, x.ndim)),
                                               keepdims=True) + 1e-3) * w),
    # reductions
    reduce_op("sum", lambda x, d, k: x.sum(d, k), lambda x, d, k: np.sum(x, d, keepdims=k)),
    reduce_op("mean", lambda x, d, k: x.mean(d, k), lambda x, d, k: np.mean(x, d, keepdims=k)),
    reduce_op("var", lambda x, d, k: x.var(d, keepdim=k),
              lambda x, d, k: np.var(x, d, ddof=1, keepdims=k), min_side=2, min_dims=1),
    reduce_op("var_biased", lambda x, d, k: x.var(d, keepdim=k, correction=0),
              lambda x, d, k: np.var(x, d, keepdims=k)),
    reduce_op("std", lambda x, d, k: x.std(d, keepdim=k),
              lambda x, d, k: np.std(x, d, ddof=1, keepdims=k),
              unique=True, min_side=2, min_dims=1),  # distinct values: √ has a kink at 0,
    reduce_op("amax", lambda x, d, k: x.amax(d, k), lambda x, d, k: np.amax(x, d, keepdims=k),
              unique=True),
    reduce_op("amin", lambda x, d, k: x.amin(d, k), lambda x, d, k: np.amin(x, d, keepdims=k),
              unique=True),
    dim_op("max_dim", lambda x, d: x.max(d).values, lambda x, d: x.max(axis=d),
           draw_kw=dict(unique=True)),
    dim_op("min_dim", lambda x, d: x.min(d).values, lambda x, d: x.min(axis=d),
           draw_kw=dict(unique=True)),
    dim_op("logsumexp", lambda x, d: x.logsumexp(d), _np_lse),
    dim_op("softmax", lambda x, d: x.softmax(d),
           lambda x, d: np.exp(x) / np.exp(x).sum(axis=d, keepdims=True)),
    dim_op("log_softmax", lambda x, d: x.log_softmax(d),
           lambda x, d: x - np.log(np.exp(x).sum(axis=d, keepdims=True))),
    dim_op("cumsum", lambda x, d: x.cumsum(d), lambda x, d: np.cumsum(x, axis=d)),
    dim_op("logcumsumexp", lambda x, d: x.logcumsumexp(d),
           lambda x, d: np.logaddexp.accumulate(x, axis=d)),
    reduce_op("norm", lambda x, d, k: x.norm(2, d, k),
              lambda x, d, k: np.sqrt((x * x).sum(axis=d, keepdims=k)), min_value=0.1),
    reduce_op("norm_p3", lambda x, d, k: x.norm(3, d, k),
              lambda x, d, k: (np.abs(x) ** 3).sum(axis=d, keepdims=k) ** (1 / 3),
              min_value=0.1),
    # linear algebra
    OpSpec("matmul", _draw_matmul, lambda a, b: a @ b, np.matmul),
    OpSpec("matmul_float32_out", lambda data: _draw_matmul(data, ("mm", "bmm", "broadcast")),
           lambda a, b: mg.ops.linalg.MatMulFloat32()(a, b), np.matmul),
    # shapes
    OpSpec("reshape", _draw_reshape, lambda x, shape: x.reshape(shape),
           lambda x, shape: x.reshape(shape)),
    OpSpec("permute", _draw_permute, lambda x, dims: x.permute(*dims),
           lambda x, dims: np.transpose(x, dims)),
    OpSpec("transpose", one(min_dims=2), lambda x: x.transpose(0, -1),
           lambda x: np.swapaxes(x, 0, -1)),
    OpSpec("T", one(), lambda x: x.T, lambda x: x.T),
    OpSpec("flatten", one(), lambda x: x.flatten(), lambda x: x.reshape(-1)),
    OpSpec("squeeze_unsqueeze", one(), lambda x: x.unsqueeze(0).unsqueeze(-1).squeeze(),
           lambda x: x.squeeze()),
    OpSpec("broadcast_to", _draw_broadcast, lambda x, shape: x.broadcast_to(shape),
           lambda x, shape: np.broadcast_to(x, shape)),
    OpSpec("expand", one(max_dims=2), lambda x: x.unsqueeze(0).expand(3, *([-1] * x.ndim)),
           lambda x: np.broadcast_to(x, (3,) + x.shape)),
    OpSpec("sum_to", _draw_sum_to, lambda x, shape: x.sum_to(shape),
           lambda x, shape: x.sum(axis=tuple(range(x.ndim - len(shape)))).sum(
               axis=tuple(i for i, s in enumerate(shape) if s == 1),
               keepdims=True).reshape(shape)),
    OpSpec("repeat", _draw_repeat, lambda x, reps: x.repeat(*reps),
           lambda x, reps: np.tile(x, reps)),
    OpSpec("flip", one(min_dims=2), lambda x: x.flip(0), lambda x: np.flip(x, 0)),
    OpSpec("gather", _draw_gather,
           lambda x, dim, index: x.gather(dim, _on(x, index)), _np_gather),
    OpSpec("roll", _draw_roll, lambda x, dim, shift: x.roll(shift, dim),
           lambda x, dim, shift: np.roll(x, shift, dim)),
    OpSpec("roll_flat", one(), lambda x: x.roll(2), lambda x: np.roll(x, 2)),
    OpSpec("index_select", one(min_dims=1),
           lambda x: x.index_select(-1, mg.tensor([0, x.shape[-1] - 1, 0])),
           lambda x: x[..., [0, -1, 0]]),
    OpSpec("narrow_unbind", one(min_dims=2),
           lambda x: mg.stack(x.narrow(1, -1, 1).unbind(0)),
           lambda x: x[:, -1:]),
    OpSpec("unflatten", one(min_dims=1), lambda x: x.unflatten(-1, (1, -1)),
           lambda x: x.reshape(x.shape[:-1] + (1, x.shape[-1]))),
    OpSpec("getitem", _draw_getitem, lambda x, idx: x[idx],
           lambda x, idx: x[idx]),
    OpSpec("cat", _draw_cat, lambda *xs, dim: mg.cat(xs, dim),
           lambda *xs, dim: np.concatenate(xs, dim)),
    OpSpec("stack", _draw_stack, lambda *xs, dim: mg.stack(xs, dim),
           lambda *xs, dim: np.stack(xs, dim)),
    OpSpec("split", _draw_split,
           lambda x, size, dim: mg.cat(x.split(size, dim)[::-1], dim),
           lambda x, size, dim: np.concatenate(
               np.split(x, range(size, x.shape[dim], size), dim)[::-1], dim)),
    OpSpec("chunk", one(min_dims=1), lambda x: x.chunk(2, 0)[0],
           lambda x: x[: -(-x.shape[0] // 2)]),
    OpSpec("pad", _draw_pad,
           lambda x, pad, mode: mg.pad(x, pad, mode, value=0.5 if mode == "constant" else None),
           _np_pad),
]

# ------------------------------------- rounding, logs, products, sorting, scatter
_INTEGERS = tuple(float(i) for i in range(-3, 4))                 # where floor/ceil jump
_HALVES = tuple(i + 0.5 for i in range(-4, 4))                   # where round jumps
_TENTH_HALVES = tuple(np.round(np.arange(-3.05, 3.1, 0.1), 2))   # round(decimals=1)


def _with_zeros(x, data):
    """Some elements of ``x`` set to exactly 0: products are polynomials, so finite
    differences are valid there too."""
    mask = data.draw(arrays(shape=x.shape, min_value=0, max_value=1)) < 0.3
    return np.where(mask, 0.0, x)


def _draw_prod(data, zeros=False):
    # away from 0 (then exactly 0 where zeros): y / x, the gradient when no element is 0,
    # loses its second derivative to rounding for tiny x, as PyTorch's does
    x = data.draw(arrays(avoid=(0.0,), **SMALL))
    if zeros:
        x = _with_zeros(x, data)
    dim = data.draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
    return (x,), {"dim": dim, "keepdim": data.draw(st.booleans())}


def _np_prod(x, dim, keepdim):
    return np.prod(x, axis=dim, keepdims=keepdim and dim is not None) if dim is not None \
        else np.prod(x, keepdims=keepdim)


def _draw_cumprod_zeros(data):
    x, dim = with_dim(dict(avoid=(0.0,)))(data)
    return (_with_zeros(x, data),), {"dim": dim}


def _draw_sort(data):
    x, dim = with_dim(dict(unique=True))(data)
    return (x,), {"dim": dim, "descending": data.draw(st.booleans())}


def _np_sort(x, dim, descending):
    y = np.sort(x, axis=dim)
    return np.flip(y, dim) if descending else y


def _draw_topk(data):
    x, dim = with_dim(dict(unique=True))(data)
    return (x,), {"dim": dim, "k": data.draw(st.integers(0, x.shape[dim])),
                  "largest": data.draw(st.booleans())}


def _np_topk(x, dim, k, largest):
    return np.take(_np_sort(x, dim, largest), range(k), axis=dim)


def _draw_kth(data):
    x, dim = with_dim(dict(unique=True))(data)
    return (x,), {"dim": dim, "k": data.draw(st.integers(1, x.shape[dim])),
                  "keepdim": data.draw(st.booleans())}


def _draw_scatter(data):
    """x, src at least as large as index in every dim, index no larger than x except on
    dim, with repeated targets."""
    x, dim = with_dim()(data)
    ishape = tuple(data.draw(st.integers(1, 4)) if d == dim else data.draw(st.integers(1, n))
                   for d, n in enumerate(x.shape))
    src = data.draw(arrays(shape=tuple(n + data.draw(st.integers(0, 1)) for n in ishape)))
    index = data.draw(arrays(shape=ishape, min_value=0, max_value=x.shape[dim] - 1))
    return (x, src), {"dim": dim, "index": np.round(index).astype(np.int64)}


def _np_scatter(x, src, dim, index, add=False):
    """PyTorch's scatter as a loop; a target written twice keeps the last write."""
    out = np.array(x, copy=True)
    for pos in np.ndindex(*index.shape):
        t = list(pos)
        t[dim % x.ndim] = index[pos]
        v = src[pos] if np.ndim(src) else src
        out[tuple(t)] = out[tuple(t)] + v if add else v
    return out


MORE_SPECS = [
    OpSpec("floor", one(avoid=_INTEGERS), lambda x: x.floor(), np.floor),
    OpSpec("ceil", one(avoid=_INTEGERS), lambda x: x.ceil(), np.ceil),
    OpSpec("trunc", one(avoid=_INTEGERS), lambda x: x.trunc(), np.trunc),
    OpSpec("round", one(avoid=_HALVES), lambda x: x.round(), np.rint),
    OpSpec("round_decimals", one(avoid=_TENTH_HALVES), lambda x: x.round(decimals=1),
           lambda x: np.rint(x * 10) / 10),
    OpSpec("frac", one(avoid=_INTEGERS), lambda x: x.frac(), lambda x: x - np.trunc(x)),
    OpSpec("tan", one(min_value=-1.3, max_value=1.3), lambda x: x.tan(), np.tan),
    OpSpec("expm1", one(), lambda x: x.expm1(), np.expm1),
    OpSpec("exp2", one(), lambda x: x.exp2(), np.exp2),
    OpSpec("log2", positive(), lambda x: x.log2(), np.log2),
    OpSpec("log10", positive(), lambda x: x.log10(), np.log10),
    OpSpec("nan_to_num", one(avoid=(0.0,)), lambda x: x.log().nan_to_num(nan=0.5),
           lambda x: np.where(x > 0, np.log(np.abs(x)), 0.5)),
    OpSpec("prod", _draw_prod, lambda x, dim, keepdim: x.prod(dim, keepdim), _np_prod),
    OpSpec("prod_zeros", lambda data: _draw_prod(data, zeros=True),
           lambda x, dim, keepdim: x.prod(dim, keepdim), _np_prod),
    dim_op("cumprod", lambda x, d: x.cumprod(d), lambda x, d: np.cumprod(x, axis=d),
           draw_kw=dict(avoid=(0.0,))),
    OpSpec("cumprod_zeros", _draw_cumprod_zeros, lambda x, dim: x.cumprod(dim),
           lambda x, dim: np.cumprod(x, axis=dim)),
    OpSpec("sort", _draw_sort, lambda x, dim, descending: x.sort(dim, descending).values,
           _np_sort),
    OpSpec("topk", _draw_topk,
           lambda x, dim, k, largest: x.topk(k, dim, largest).values, _np_topk),
    OpSpec("kthvalue", _draw_kth, lambda x, dim, k, keepdim: x.kthvalue(k, dim, keepdim)[0],
           lambda x, dim, k, keepdim: np.take(np.sort(x, axis=dim), [k - 1], axis=dim)
           if keepdim else np.take(np.sort(x, axis=dim), k - 1, axis=dim)),
    dim_op("median_dim", lambda x, d: x.median(d).values,
           lambda x, d: np.take(np.sort(x, axis=d), (x.shape[d] - 1) // 2, axis=d),
           draw_kw=dict(unique=True)),
    OpSpec("median", one(unique=True), lambda x: x.median(),
           lambda x: np.sort(x, axis=None)[(x.size - 1) // 2]),
    OpSpec("nanmedian", one(unique=True), lambda x: x.nanmedian(),
           lambda x: np.sort(x, axis=None)[(x.size - 1) // 2]),
    OpSpec("scatter", _draw_scatter,
           lambda x, src, dim, index: x.scatter(dim, _on(x, index), src), _np_scatter),
    OpSpec("scatter_value", _draw_scatter,
           lambda x, src, dim, index: x.scatter(dim, _on(x, index), 0.5) + 0 * src.sum(),
           lambda x, src, dim, index: _np_scatter(x, 0.5, dim, index)),
    OpSpec("scatter_add", _draw_scatter,
           lambda x, src, dim, index: x.scatter_add(dim, _on(x, index), src),
           lambda x, src, dim, index: _np_scatter(x, src, dim, index, add=True)),
]
SPECS += MORE_SPECS


# ------------------------- inverse trigonometric, hyperbolic and special functions
def _three(*kws):
    """Three arrays of mutually broadcastable shapes, each drawn with its own keywords."""
    def draw(data):
        shape_list = data.draw(broadcastable_shapes(3, **SMALL))
        return tuple(data.draw(arrays(shape=s, **kw)) for s, kw in zip(shape_list, kws)), {}
    return draw


def _scipy_special(name, *first):
    """A scipy.special function (a test extra) as a forward reference, imported when the
    reference is computed: the test skips cleanly where SciPy is missing (the gradient
    checks of the same specs need no reference and still run)."""
    def ref(*args):
        special = pytest.importorskip("scipy.special")
        return getattr(special, name)(*first, *args)
    return ref


def _np_xlogy(x, z):
    return np.where(x == 0, 0.0, x * np.log(z))


def _np_lerp(a, b, w):
    return a + w * (b - a)


_AWAY_FROM_0 = dict(avoid=(0.0,), margin=0.5)  # |v| ≥ 0.5: a divisor, a sign that holds

MATH_SPECS = [
    OpSpec("sinh", one(), lambda x: x.sinh(), np.sinh),
    OpSpec("cosh", one(), lambda x: x.cosh(), np.cosh),
    OpSpec("asin", one(min_value=-0.9, max_value=0.9), lambda x: x.asin(), np.arcsin),
    OpSpec("acos", one(min_value=-0.9, max_value=0.9), lambda x: mg.arccos(x), np.arccos),
    OpSpec("atan", one(), lambda x: x.arctan(), np.arctan),
    OpSpec("asinh", one(), lambda x: mg.asinh(x), np.arcsinh),
    OpSpec("acosh", one(min_value=1.1, max_value=3.0), lambda x: x.acosh(), np.arccosh),
    OpSpec("atanh", one(min_value=-0.9, max_value=0.9), lambda x: x.atanh(), np.arctanh),
    OpSpec("erfc", one(), lambda x: x.erfc(), _scipy_special("erfc")),
    OpSpec("erfc_tail", one(min_value=3.0, max_value=12.0), lambda x: mg.erfc(x),
           _scipy_special("erfc")),
    OpSpec("erfinv", one(min_value=-0.95, max_value=0.95), lambda x: x.erfinv(),
           _scipy_special("erfinv")),
    OpSpec("logit", one(min_value=0.05, max_value=0.95), lambda x: x.logit(),
           lambda x: np.log(x / (1 - x))),
    OpSpec("logit_eps", one(min_value=-0.5, max_value=1.5, avoid=(0.1, 0.9)),
           lambda x: mg.logit(x, eps=0.1),
           lambda x: np.log(np.clip(x, 0.1, 0.9) / (1 - np.clip(x, 0.1, 0.9)))),
    OpSpec("sinc", one(), lambda x: x.sinc(), np.sinc),
    OpSpec("sinc_near_0", one(min_value=-0.01, max_value=0.01), lambda x: mg.sinc(x),
           np.sinc),
    OpSpec("deg2rad", one(), lambda x: x.deg2rad(), np.deg2rad),
    OpSpec("rad2deg", one(), lambda x: mg.rad2deg(x), np.rad2deg),
    # the cut of atan2 (a = 0, b < 0) and the origin, where hypot has a cone, kept away
    OpSpec("atan2", pair(a_kw=dict(avoid=(0.0,))), lambda a, b: a.atan2(b), np.arctan2),
    OpSpec("hypot", pair(a_kw=dict(avoid=(0.0,))), lambda a, b: mg.hypot(a, b), np.hypot),
    OpSpec("logaddexp", pair(), lambda a, b: a.logaddexp(b), np.logaddexp),
    OpSpec("logaddexp2", pair(), lambda a, b: mg.logaddexp2(a, b), np.logaddexp2),
    OpSpec("xlogy", pair(b_kw=dict(min_value=0.2, max_value=3.0)), lambda x, z: x.xlogy(z),
           _np_xlogy),
    OpSpec("entr", positive(), lambda x: mg.special.entr(x), lambda x: -x * np.log(x)),
    OpSpec("copysign", pair(a_kw=dict(avoid=(0.0,)), b_kw=_AWAY_FROM_0),
           lambda a, b: a.copysign(b), np.copysign),
    OpSpec("heaviside_times_x", one(avoid=(0.0,)),  # heaviside is a constant mask
           lambda x: x.heaviside(0.5) * x, lambda x: np.heaviside(x, 0.5) * x),
    OpSpec("lerp_scalar_low", pair(), lambda a, b: a.lerp(b, 0.3),
           lambda a, b: _np_lerp(a, b, 0.3)),
    OpSpec("lerp_scalar_high", pair(), lambda a, b: mg.lerp(a, b, 0.8),
           lambda a, b: _np_lerp(a, b, 0.8)),
    OpSpec("lerp_tensor", _three({}, {}, dict(min_value=-1.0, max_value=2.0, avoid=(-0.5, 0.5))),
           lambda a, b, w: a.lerp(b, w), _np_lerp),
    OpSpec("addcmul", _three({}, {}, {}), lambda a, b, c: a.addcmul(b, c, value=0.7),
           lambda a, b, c: a + 0.7 * b * c),
    OpSpec("addcdiv", _three({}, {}, _AWAY_FROM_0), lambda a, b, c: mg.addcdiv(a, b, c),
           lambda a, b, c: a + b / c),
    OpSpec("float_power", pair(a_kw=dict(min_value=0.3)), lambda a, b: a.float_power(b),
           np.float_power),
    OpSpec("float_power_scalar", one(), lambda x: mg.float_power(x, 3),
           lambda x: np.float_power(x, 3)),
    OpSpec("true_divide", pair(b_kw=_AWAY_FROM_0), lambda a, b: mg.true_divide(a, b),
           np.true_divide),
]
SPECS += MATH_SPECS


# --------------------------------------------------------------- fused forwards (ops/fused.py)
def _draw_ce(data):
    x = data.draw(arrays(shape=st.tuples(st.integers(1, 4), st.integers(2, 5))))
    N, C = x.shape
    t = np.array(data.draw(st.lists(st.integers(-1, C - 1), min_size=N, max_size=N)))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    assume(reduction != "mean" or (t != -1).any())  # an all-ignored mean is 0/0
    return (x,), {"target": t, "reduction": reduction,
                  "label_smoothing": data.draw(st.sampled_from([0.0, 0.25]))}


def _np_ce(x, target, reduction, label_smoothing):
    valid = target != -1
    x_t = x[np.arange(x.shape[0]), np.where(valid, target, 0)]
    rows = _np_lse(x, 1) - (1 - label_smoothing) * x_t - label_smoothing * x.mean(1)
    rows = np.where(valid, rows, 0.0)
    if reduction == "none":
        return rows
    return rows.sum() if reduction == "sum" else rows.sum() / valid.sum()


_NP_ACT = {
    "identity": lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "silu": lambda z: z / (1 + np.exp(-z)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), "gelu": _np_gelu,
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "softplus": lambda z: np.where(z > 20, z, np.logaddexp(z, 0)),
}


def _draw_bias_act(data):
    x = data.draw(arrays(shape=st.tuples(st.integers(1, 3), st.integers(1, 4))))
    b = data.draw(arrays(shape=(x.shape[1],)))
    assume(np.all(np.abs(x + b) > 1e-3))  # z = x + b away from the kinks at 0
    return (x, b), {"activation": data.draw(st.sampled_from(sorted(_NP_ACT)))}


FUSED_SPECS = [
    OpSpec("fused_cross_entropy", _draw_ce,
           lambda x, target, reduction, label_smoothing: fused.fused_cross_entropy(
               x, _on(x, target), ignore_index=-1, reduction=reduction,
               label_smoothing=label_smoothing), _np_ce),
    OpSpec("fused_softmax", one(min_dims=1), lambda x: fused.fused_softmax(x),
           lambda x: np.exp(x - _np_lse(x, -1)[..., None])),
    OpSpec("fused_log_softmax", one(min_dims=1), lambda x: fused.fused_log_softmax(x),
           lambda x: x - _np_lse(x, -1)[..., None]),
    OpSpec("bias_act", _draw_bias_act, lambda x, b, activation: fused.bias_act(x, b, activation),
           lambda x, b, activation: _NP_ACT[activation](x + b)),
]
SPECS += FUSED_SPECS


# --------------------------------------------------------------- linear algebra (ops/linalg.py)
# Inputs are built well-conditioned: diagonally dominant matrices (|det| away from 0),
# M + 5·I (singular values ≥ 1), spectra with gaps ≥ 0.5 (eigh, svd), SPD M·Mᵀ + n·I.
def _la_batch(data):
    return (data.draw(st.integers(1, 2)),) if data.draw(st.booleans()) else ()


def _la_dominant(data, flip=True):
    """A strictly diagonally dominant n×n matrix (nonsingular); a row sign flip makes the
    determinant negative half of the time."""
    n = data.draw(st.integers(1, 4))
    a = data.draw(arrays(shape=_la_batch(data) + (n, n), min_value=-1, max_value=1))
    a = a + (n + 0.5) * np.eye(n)
    if flip and data.draw(st.booleans()):
        a[..., 0, :] *= -1
    return a


def _la_full_rank(data, m=None, n=None):
    """An m×n matrix M + C/4 + 6·I with |mᵢⱼ| ≤ 1 and a fixed dense C (|cᵢⱼ| ≤ 1):
    singular values ≥ 1, and no column already triangular (where LAPACK's Householder QR
    skips a reflection and the signs of Q and R jump)."""
    m = m or data.draw(st.integers(1, 4))
    n = n or data.draw(st.integers(1, 4))
    c = np.sin(1.0 + np.arange(m)[:, None] + 2.3 * np.arange(n))
    return data.draw(arrays(shape=_la_batch(data) + (m, n), min_value=-1, max_value=1)) \
        + c / 4 + 6 * np.eye(m, n)


def _la_spectrum(data, batch, k):
    """Ascending values ≥ 0.5 apart (eigenvalues; singular values when shifted > 0)."""
    gaps = data.draw(arrays(shape=batch + (k,), min_value=0.5, max_value=2.0))
    return data.draw(st.floats(-3, 3)) + np.cumsum(gaps, axis=-1)


def _la_orthogonal(data, batch, n):
    return np.linalg.qr(data.draw(arrays(shape=batch + (n, n))))[0]


def _la_symmetric(data, invertible=False):
    """Q·diag(λ)·Qᵀ with eigenvalues ≥ 0.5 apart (and eigenvectors whose sign
    :func:`_np_signs` fixes), or (``invertible``) |λ| in [0.5, 3]."""
    n = data.draw(st.integers(1, 4))
    batch = _la_batch(data)
    q = _la_orthogonal(data, batch, n)
    if not invertible:
        assume(_np_sign_margin(q) > 0.05)
    if invertible:
        lam = data.draw(arrays(shape=batch + (n,), min_value=0.5, max_value=3.0))
        lam = lam * np.where(data.draw(arrays(shape=batch + (n,))) < 0, -1.0, 1.0)
    else:
        lam = _la_spectrum(data, batch, n)
    return (q * lam[..., None, :]) @ np.swapaxes(q, -1, -2)


def _la_svd_input(data):
    m, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    batch, k = _la_batch(data), min(m, n)
    s = _la_spectrum(data, batch, k)
    s = s - s[..., :1] + 0.5                           # smallest 0.5, gaps ≥ 0.5
    u = _la_orthogonal(data, batch, m)[..., :k]
    v = _la_orthogonal(data, batch, n)[..., :k]
    assume(_np_sign_margin(u) > 0.05)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _la_spd(data):
    n = data.draw(st.integers(1, 4))
    m = data.draw(arrays(shape=_la_batch(data) + (n, n), min_value=-1, max_value=1))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def _np_sqrth(a):
    lam, v = np.linalg.eigh(_np_sym(a))
    return (v * np.sqrt(lam)[..., None, :]) @ np.swapaxes(v, -1, -2)


def _draw_polar(data):
    """A full-rank m×n matrix with m ≥ n (singular values ≥ 1)."""
    n = data.draw(st.integers(1, 3))
    return (_la_full_rank(data, data.draw(st.integers(n, 4)), n),), {}


def _np_polar(a):
    w, sigma, vh = np.linalg.svd(a, full_matrices=False)
    h = (np.swapaxes(vh, -1, -2) * sigma[..., None, :]) @ vh
    batch = a.shape[:-2]
    return np.concatenate([(w @ vh).reshape(batch + (-1,)), h.reshape(batch + (-1,))], -1)


def _la_sym(A):
    return (A + A.mT) * 0.5


def _np_sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


_SIGN_WEIGHTS = np.array([1.0, 0.5772, 0.3183, 0.1415])


def _np_sign_projections(v):
    return np.einsum("i,...ij->...j", _SIGN_WEIGHTS[:v.shape[-2]], v)


def _np_signs(v):
    """sign(wᵀvᵢ) for each column vᵢ, with fixed weights w: eigen- and singular vectors
    are defined up to sign, and the specs fix it by this rule, which is locally constant
    where wᵀvᵢ ≠ 0 (the draws keep |wᵀvᵢ| > 0.05)."""
    return np.sign(_np_sign_projections(v))[..., None, :]


def _np_sign_margin(v):
    return np.abs(_np_sign_projections(v)).min() if v.size else 1.0


def _la_eigh(A, UPLO):
    lam, v = mg.linalg.eigh(_la_sym(A), UPLO)
    return mg.cat([lam, (v * _on(v, _np_signs(v.detach().cpu().numpy()))).flatten(-2)], -1)


def _np_eigh(a, UPLO):
    lam, v = np.linalg.eigh(_np_sym(a))
    return np.concatenate([lam, (v * _np_signs(v)).reshape(lam.shape[:-1] + (-1,))], -1)


def _la_svd(A):
    u, s, vh = mg.linalg.svd(A, full_matrices=False)
    sign = _on(u, _np_signs(u.detach().cpu().numpy()))  # (host: fixed weights, NumPy)
    return mg.cat([(u * sign).flatten(-2), s, (vh * sign.mT).flatten(-2)], -1)


def _np_svd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    sign = _np_signs(u)
    flat = s.shape[:-1] + (-1,)
    return np.concatenate([(u * sign).reshape(flat), s,
                           (vh * np.swapaxes(sign, -1, -2)).reshape(flat)], -1)


def _la_qr(A, mode):
    q, r = mg.linalg.qr(A, mode)
    return mg.cat([q.flatten(-2), r.flatten(-2)], -1)


def _np_qr(a, mode):
    q, r = np.linalg.qr(a, mode)
    flat = a.shape[:-2] + (-1,)
    return np.concatenate([q.reshape(flat), r.reshape(flat)], -1)


def _draw_la_products(data):
    kind = data.draw(st.sampled_from(["mm", "bmm", "outer", "inner", "dot", "addmm",
                                      "baddbmm", "addmv", "kron"]))
    n, k, m, b = (data.draw(st.integers(1, 4)) for _ in range(4))
    shapes_ = {"mm": [(n, k), (k, m)], "bmm": [(b, n, k), (b, k, m)], "outer": [(n,), (m,)],
               "inner": [(b, n, k), (m, k)], "dot": [(k,), (k,)],
               "addmm": [(m,), (n, k), (k, m)], "baddbmm": [(n, 1), (b, n, k), (b, k, m)],
               "addmv": [(1,), (n, k), (k,)],
               "kron": [(n, k), (b, 1, m)]}[kind]
    xs = tuple(data.draw(arrays(shape=s)) for s in shapes_)
    beta, alpha = data.draw(st.sampled_from([(1, 1), (0.5, -2.0), (0, 1.5)]))
    return xs, {"kind": kind, "beta": beta, "alpha": alpha}


def _la_products(*xs, kind, beta, alpha):
    if kind in ("addmm", "baddbmm", "addmv"):
        return getattr(mg, kind)(*xs, beta=beta, alpha=alpha)
    return getattr(mg, kind)(*xs)


def _np_products(*xs, kind, beta, alpha):
    if kind == "inner":
        return np.inner(*xs)
    if kind == "kron":
        return np.kron(*xs)
    if kind in ("addmm", "baddbmm", "addmv"):
        return beta * xs[0] + alpha * (xs[1] @ xs[2])
    return {"mm": np.matmul, "bmm": np.matmul, "outer": np.outer, "dot": np.dot}[kind](*xs)


_EINSUM_FORMS = {  # equation: shapes in letters (sizes drawn per letter)
    "ij,jk->ik": ["ij", "jk"], "ij,jk": ["ij", "jk"], "bij,bjk->bik": ["bij", "bjk"],
    "...ij,...jk": ["cij", "jk"], "ii->i": ["ii"], "ii": ["ii"], "iij,jk->ik": ["iij", "jk"],
    "ijk,j->i": ["ijk", "j"], "i,j->ij": ["i", "j"], "ij->": ["ij"], "ij,j->ij": ["ij", "j"],
    "...ii->...": ["cii"], "ba,ab": ["ba", "ab"], "ij,kj->jki": ["ij", "kj"],
}


def _draw_einsum(data):
    eq = data.draw(st.sampled_from(sorted(_EINSUM_FORMS)))
    size = {c: data.draw(st.integers(1, 3)) for c in "abcijk"}
    xs = tuple(data.draw(arrays(shape=tuple(size[c] for c in t))) for t in _EINSUM_FORMS[eq])
    if eq == "ij,j->ij" and data.draw(st.booleans()):       # a size-1 dim that broadcasts
        xs = (xs[0][:1], xs[1])
    return xs, {"eq": eq}


def _draw_structure(data):
    kind = data.draw(st.sampled_from(["tril", "triu", "diag1", "diag2", "diagonal",
                                      "diag_embed", "trace"]))
    x = data.draw(arrays(min_dims=1 if kind in ("diag1", "diag_embed") else 2, max_dims=3,
                         max_side=4))
    if kind == "diag1":
        x = x.reshape(-1)
    if kind in ("diag2", "trace"):
        x = x.reshape(x.shape[0], -1)
    d = x.ndim + (kind == "diag_embed")
    dim1, dim2 = data.draw(st.permutations(range(-d, 0)))[:2] if d >= 2 else (0, 1)
    return (x,), {"kind": kind, "k": data.draw(st.integers(-3, 3)), "dim1": dim1, "dim2": dim2}


def _la_structure(x, kind, k, dim1, dim2):
    if kind in ("tril", "triu"):
        return getattr(x, kind)(k)
    if kind in ("diag1", "diag2"):
        return mg.diag(x, k)
    if kind == "trace":
        return x.trace()
    if kind == "diagonal":
        return x.diagonal(k, dim1, dim2)
    return x.diag_embed(k, dim1, dim2)


def _np_structure(x, kind, k, dim1, dim2):
    if kind in ("tril", "triu"):
        return getattr(np, kind)(x, k)
    if kind in ("diag1", "diag2"):
        return np.diag(x, k)
    if kind == "trace":
        return np.trace(x)
    if kind == "diagonal":
        return np.diagonal(x, k, dim1, dim2)
    n = x.shape[-1] + abs(k)
    out = np.zeros(x.shape[:-1] + (n, n))                       # embed in the last two
    i = np.arange(x.shape[-1])
    out[..., i + max(-k, 0), i + max(k, 0)] = x
    return np.moveaxis(out, (-2, -1), (dim1, dim2))


def _draw_as_strided(data):
    """An array and a (size, stride, offset) that stays inside its row-major values;
    windows may overlap (their gradients add) or skip elements."""
    x = data.draw(arrays(min_dims=1, max_dims=3, max_side=4))
    n = x.size
    size = tuple(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3)))
    stride = tuple(data.draw(st.integers(0, 3)) for _ in size)
    reach = sum((k - 1) * s for k, s in zip(size, stride)) if all(size) else 0
    assume(reach < n)
    offset = data.draw(st.integers(0, n - 1 - reach))
    return (x,), {"size": size, "stride": stride, "offset": offset}


def _np_as_strided(x, size, stride, offset):
    flat = x.reshape(-1)
    index = offset + sum(np.arange(k).reshape((1,) * d + (k,) + (1,) * (len(size) - d - 1)) * s
                         for d, (k, s) in enumerate(zip(size, stride)))
    return flat[np.broadcast_to(index, size)]


def _draw_cross(data):
    (sa, sb) = data.draw(broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=3))
    n = max(len(sa), len(sb))                    # equal numbers of dims, as PyTorch requires
    sa, sb = ((1,) * (n - len(s)) + s[:-1] + (3,) for s in (sa, sb))
    return (data.draw(arrays(shape=sa)), data.draw(arrays(shape=sb))), {}


def _draw_cdist(data):
    """Rows of x1 and x2 from one array of distinct values: no two elements of a column
    coincide, so no |difference| sits on the kink at 0."""
    p_rows, r_rows, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    b = _la_batch(data)
    x = data.draw(arrays(shape=b + (p_rows + r_rows, m), unique=True))
    return (x[..., :p_rows, :], x[..., p_rows:, :]), {
        "p": data.draw(st.sampled_from([2.0, 1.0, 3.0, 0.5]))}  # inf: test_linalg.py


def _np_cdist(a, b, p):
    d = np.abs(a[..., :, None, :] - b[..., None, :, :])
    return d.max(-1) if p == float("inf") else (d**p).sum(-1) ** (1 / p)


def _draw_vector_norm(data):
    x, dim, keepdim = _draw_reduce(data, unique=True, min_value=0.1)
    x = x * np.where(np.arange(x.size).reshape(x.shape) % 2, -1.0, 1.0)  # signs, away from 0
    return (x,), {"ord": data.draw(st.sampled_from([2, 1, 3.5, 0.5, -1.5, float("inf"),
                                                    -float("inf"), 0])),
                  "dim": dim, "keepdim": keepdim}


def _np_vector_norm(x, ord, dim, keepdim):
    a = np.abs(x)
    if ord == 0:
        return np.sum(a != 0, axis=dim, keepdims=keepdim).astype(x.dtype)
    if abs(ord) == float("inf"):
        return (np.max if ord > 0 else np.min)(a, axis=dim, keepdims=keepdim)
    return (a**ord).sum(axis=dim, keepdims=keepdim) ** (1 / ord)


def _draw_matrix_norm(data):
    ord = data.draw(st.sampled_from(["fro", "nuc", 2, -2, 1, -1, float("inf"),
                                     -float("inf")]))
    if ord in ("nuc", 2, -2):  # the constructed spectrum is that of the last two dims
        x = _la_svd_input(data)
        dims = data.draw(st.sampled_from([(-2, -1), (-1, -2)]))
        return (x,), {"ord": ord, "dim": dims, "keepdim": data.draw(st.booleans())}
    x = data.draw(arrays(min_dims=2, max_dims=3, max_side=4, min_value=0.1, max_value=1.0))
    dims = tuple(data.draw(st.permutations(range(-x.ndim, 0)))[:2])
    # |xᵢⱼ| = u + 5i + 7j (i, j: positions along dims): row sums and column sums are
    # distinct (no ties for their max and min); every third entry negative
    i = np.arange(x.shape[dims[0]]).reshape([-1 if d == dims[0] % x.ndim else 1
                                             for d in range(x.ndim)])
    j = np.arange(x.shape[dims[1]]).reshape([-1 if d == dims[1] % x.ndim else 1
                                             for d in range(x.ndim)])
    x = (x + 5 * i + 7 * j) * np.where(np.arange(x.size).reshape(x.shape) % 3, 1.0, -1.0)
    return (x,), {"ord": ord, "dim": dims, "keepdim": data.draw(st.booleans())}


def _np_matrix_norm(x, ord, dim, keepdim):
    y = np.linalg.norm(np.moveaxis(x, dim, (-2, -1)), ord, axis=(-2, -1))
    if keepdim:
        for d in sorted(d % x.ndim for d in dim):
            y = np.expand_dims(y, d)
    return y


def _draw_solve(data):
    a = _la_dominant(data)
    n, batch = a.shape[-1], a.shape[:-2]
    vector, left = data.draw(st.booleans()), data.draw(st.booleans())
    if vector:
        b_shape = (n,) if data.draw(st.booleans()) else batch + (n,)
    else:
        k = data.draw(st.integers(1, 3))
        b_shape = (2,) * (not batch and data.draw(st.booleans())) + \
            ((n, k) if left else (k, n))                       # batch dims broadcast
    return (a, data.draw(arrays(shape=b_shape))), {"left": left}


def _np_solve(a, b, left):
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    at = a if left else np.swapaxes(a, -1, -2)
    if vector:
        return np.linalg.solve(at, b[..., None])[..., 0]
    x = np.linalg.solve(at, b if left else np.swapaxes(b, -1, -2))
    return x if left else np.swapaxes(x, -1, -2)


def _draw_pinv(data):
    hermitian = data.draw(st.booleans())
    a = _la_symmetric(data, invertible=True) if hermitian else _la_full_rank(data)
    return (a,), {"hermitian": hermitian}


def _draw_multi_dot(data):
    dims = [data.draw(st.integers(1, 4)) for _ in range(data.draw(st.integers(3, 5)))]
    xs = [data.draw(arrays(shape=(dims[i], dims[i + 1]))) for i in range(len(dims) - 1)]
    if data.draw(st.booleans()):
        xs[0] = xs[0][0]
    if data.draw(st.booleans()):
        xs[-1] = xs[-1][:, 0]
    return tuple(xs), {}


def _draw_matrix_power(data):
    return (_la_dominant(data),), {"n": data.draw(st.integers(-2, 3))}


LINALG_SPECS = [
    OpSpec("linalg_products", _draw_la_products, _la_products, _np_products),
    OpSpec("einsum", _draw_einsum, lambda *xs, eq: mg.einsum(eq, *xs),
           lambda *xs, eq: np.einsum(eq, *xs)),
    OpSpec("linalg_structure", _draw_structure, _la_structure, _np_structure),
    OpSpec("as_strided", _draw_as_strided,
           lambda x, size, stride, offset: x.as_strided(size, stride, offset), _np_as_strided),
    OpSpec("cross", _draw_cross, lambda a, b: mg.cross(a, b, -1),
           lambda a, b: np.cross(a, b)),
    OpSpec("cdist", _draw_cdist, lambda a, b, p: mg.cdist(a, b, p), _np_cdist),
    OpSpec("vector_norm", _draw_vector_norm,
           lambda x, ord, dim, keepdim: mg.linalg.vector_norm(x, ord, dim, keepdim),
           _np_vector_norm),
    OpSpec("matrix_norm", _draw_matrix_norm,
           lambda x, ord, dim, keepdim: mg.linalg.matrix_norm(x, ord, dim, keepdim),
           _np_matrix_norm),
    OpSpec("det", lambda data: ((_la_dominant(data),), {}), lambda a: mg.linalg.det(a),
           np.linalg.det),
    OpSpec("slogdet", lambda data: ((_la_dominant(data),), {}),
           lambda a: (lambda r: r.sign * 10 + r.logabsdet)(mg.linalg.slogdet(a)),
           lambda a: (lambda s, la: s * 10 + la)(*np.linalg.slogdet(a))),
    OpSpec("logdet", lambda data: ((_la_dominant(data, flip=False),), {}),
           lambda a: mg.logdet(a), lambda a: np.linalg.slogdet(a)[1]),
    OpSpec("inv", lambda data: ((_la_dominant(data),), {}), lambda a: mg.linalg.inv(a),
           np.linalg.inv),
    OpSpec("solve", _draw_solve, lambda a, b, left: mg.linalg.solve(a, b, left=left),
           _np_solve),
    OpSpec("cholesky", lambda data: ((_la_spd(data),), {"upper": data.draw(st.booleans())}),
           lambda a, upper: mg.linalg.cholesky(_la_sym(a), upper=upper),
           lambda a, upper: (lambda L: np.swapaxes(L, -1, -2) if upper else L)(
               np.linalg.cholesky(_np_sym(a)))),
    OpSpec("qr", lambda data: ((_la_full_rank(data),), {
               "mode": data.draw(st.sampled_from(["reduced", "complete"]))}),
           lambda a, mode: _la_qr(a, "reduced" if a.shape[-2] > a.shape[-1] else mode),
           lambda a, mode: _np_qr(a, "reduced" if a.shape[-2] > a.shape[-1] else mode)),
    OpSpec("eigh", lambda data: ((_la_symmetric(data),), {
               "UPLO": data.draw(st.sampled_from("LU"))}), _la_eigh, _np_eigh),
    OpSpec("eigvalsh", lambda data: ((_la_symmetric(data),), {}),
           lambda a: mg.linalg.eigvalsh(_la_sym(a)), lambda a: np.linalg.eigvalsh(a)),
    OpSpec("svd", lambda data: ((_la_svd_input(data),), {}), _la_svd, _np_svd),
    OpSpec("svdvals", lambda data: ((_la_svd_input(data),), {}),
           lambda a: mg.linalg.svdvals(a), lambda a: np.linalg.svd(a, compute_uv=False)),
    OpSpec("pinv", _draw_pinv,
           lambda a, hermitian: mg.linalg.pinv(_la_sym(a) if hermitian else a,
                                               hermitian=hermitian),
           lambda a, hermitian: np.linalg.pinv(a)),
    OpSpec("matrix_power", _draw_matrix_power,
           lambda a, n: mg.linalg.matrix_power(a, n), np.linalg.matrix_power),
    OpSpec("multi_dot", _draw_multi_dot, lambda *xs: mg.linalg.multi_dot(xs),
           lambda *xs: np.linalg.multi_dot(xs)),
    OpSpec("matrix_sqrth", lambda data: ((_la_spd(data),), {}),
           lambda a: mg.linalg.matrix_sqrth(_la_sym(a)), _np_sqrth),
    OpSpec("polar", _draw_polar,
           lambda a: mg.cat([p.flatten(-2) for p in mg.linalg.polar(a)], -1), _np_polar),
]
SPECS += LINALG_SPECS

_POLES = tuple(float(-k) for k in range(0, 5))                   # Γ, ψ, ψ⁽ⁿ⁾ poles
SPECIAL_SPECS = [
    OpSpec("lgamma", one(min_value=-4.5, max_value=8.0, avoid=_POLES, margin=0.05),
           lambda x: x.lgamma(), _scipy_special("gammaln")),
    OpSpec("digamma", one(min_value=-4.5, max_value=8.0, avoid=_POLES, margin=0.05),
           lambda x: x.digamma(), _scipy_special("digamma")),
    OpSpec("polygamma_1", one(min_value=0.2, max_value=6.0),
           lambda x: x.polygamma(1), _scipy_special("polygamma", 1)),
    OpSpec("polygamma_3", one(min_value=-2.5, max_value=6.0, avoid=_POLES, margin=0.3),
           lambda x: x.polygamma(3), _scipy_special("polygamma", 3)),
    OpSpec("ndtri", one(min_value=0.001, max_value=0.999),
           lambda x: mg.special.ndtri(x), _scipy_special("ndtri")),
]
SPECS += SPECIAL_SPECS


def _draw_fmod(data):
    (a, b), _ = pair(b_kw=dict(min_value=0.5, max_value=2.0))(data)
    near = np.abs(a / b - np.round(a / b)) < 1e-2      # fmod jumps where a/b is whole
    return (np.where(near, a + b / 4, a), b), {}


def _draw_mantissa(data):
    (x,), _ = one(avoid=(0.0,))(data)                   # frexp's mantissa jumps at 0, ±2ᵏ
    near = np.abs(np.log2(np.abs(x)) - np.round(np.log2(np.abs(x)))) < 1e-2
    return (np.where(near, x * 1.3, x),), {}


def _draw_incomplete_gamma(data):
    (x,), _ = one(min_value=0.05, max_value=10.0)(data)
    a = data.draw(arrays(shape=x.shape[-1:], min_value=0.3, max_value=6.0))
    return (x,), {"a": a}


# statistics and integer ops (minigrad/ops/statistics.py; i0, igamma in ops/special.py)
STATISTICS_SPECS = [
    OpSpec("fmax", pair(min_gap=1e-3), lambda a, b: mg.fmax(a, b), np.fmax),
    # one ulp from a: its gradient is 1 for a (PyTorch's), 0 for b
    OpSpec("nextafter", pair(min_gap=1e-3), lambda a, b: mg.nextafter(a, b), np.nextafter),
    OpSpec("fmin", pair(min_gap=1e-3), lambda a, b: mg.fmin(a, b), np.fmin),
    OpSpec("fmod", _draw_fmod, lambda a, b: mg.fmod(a, b), np.fmod),
    OpSpec("frexp_mantissa", _draw_mantissa, lambda x: mg.frexp(x).mantissa,
           lambda x: np.frexp(x)[0]),
    OpSpec("i0", one(min_value=-12.0, max_value=12.0), lambda x: mg.i0(x),
           _scipy_special("i0")),
    OpSpec("i0e", one(min_value=-12.0, max_value=12.0, avoid=(0.0,)),
           lambda x: mg.special.i0e(x), _scipy_special("i0e")),
    OpSpec("i1", one(min_value=-12.0, max_value=12.0), lambda x: mg.special.i1(x),
           _scipy_special("i1")),
    OpSpec("i1e", one(min_value=-12.0, max_value=12.0, avoid=(0.0,)),
           lambda x: mg.special.i1e(x), _scipy_special("i1e")),
    OpSpec("igamma", _draw_incomplete_gamma,
           lambda x, a: mg.igamma(mg.tensor(a, device=x.device), x),
           lambda x, a: _scipy_special("gammainc")(a, x)),
    OpSpec("igammac", _draw_incomplete_gamma,
           lambda x, a: mg.igammac(mg.tensor(a, device=x.device), x),
           lambda x, a: _scipy_special("gammaincc")(a, x)),
]
SPECS += STATISTICS_SPECS


# ------------------------------------------ indexing and LU (ops/indexing.py, ops/linalg.py)
def _draw_scatter_reduce(data):
    """x, an index no larger than x outside ``dim``, src of the index's shape, a reduce:
    values all distinct for amax/amin (no ties), away from 0 for prod."""
    reduce = data.draw(st.sampled_from(["sum", "prod", "mean", "amax", "amin"]))
    x_shape = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
    dim = data.draw(st.integers(0, len(x_shape) - 1))
    i_shape = tuple(data.draw(st.integers(1, 4 if j == dim else n))
                    for j, n in enumerate(x_shape))
    index = data.draw(arrays(shape=i_shape, min_value=0, max_value=x_shape[dim] - 1e-9))
    kw = {"amax": dict(unique=True), "amin": dict(unique=True),
          "prod": dict(avoid=(0.0,), margin=0.2, min_value=-1.5, max_value=1.5)}
    both = data.draw(arrays(shape=(int(np.prod(x_shape)) + int(np.prod(i_shape)),),
                            **kw.get(reduce, {})))
    cut = int(np.prod(x_shape))
    x, src = both[:cut].reshape(x_shape), both[cut:].reshape(i_shape)
    return (x, src), {"dim": dim, "index": index.astype(np.int64), "reduce": reduce,
                      "include_self": data.draw(st.booleans())}


def _np_scatter_reduce(x, src, dim, index, reduce, include_self):
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    target = np.ravel_multi_index(tuple(np.broadcast_arrays(*grid)), x.shape).reshape(-1)
    y, v = x.reshape(-1).copy(), src.reshape(-1)
    count = np.bincount(target, minlength=y.size) + (1 if include_self else 0)
    if not include_self:
        y[target] = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
    ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
             "amin": np.minimum}[reduce]
    ufunc.at(y, target, v)
    if reduce == "mean":
        y = y / np.maximum(count, 1)
    return y.reshape(x.shape)


def _draw_unfold(data):
    x, dim = with_dim()(data)
    n = x.shape[dim]
    return (x,), {"dim": dim, "size": data.draw(st.integers(0, n)),
                  "step": data.draw(st.integers(1, 3))}


def _np_unfold(x, dim, size, step):
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
    return windows[(slice(None),) * (dim % x.ndim) + (slice(None, None, step),)]


def _draw_lu(data):
    """A (batch..., m, n) with unambiguous pivots: B + 4·max(m, n)·I (each column strictly
    dominated by its diagonal entry, in every Schur complement too), rows shuffled."""
    m, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    a = data.draw(arrays(shape=_la_batch(data) + (m, n))) + 4 * max(m, n) * np.eye(m, n)
    return (a[..., data.draw(st.permutations(range(m))), :],), {}


def _np_lu(a):
    """L and U of the partial-pivoting LU (a plain per-matrix loop), packed as the test
    function packs them."""
    m, n = a.shape[-2:]
    k = min(m, n)
    out = []
    for A in a.reshape(-1, m, n).copy():
        for j in range(k):
            p = j + int(np.argmax(np.abs(A[j:, j])))
            A[[j, p]] = A[[p, j]]
            A[j + 1:, j] /= A[j, j]
            A[j + 1:, j + 1:] -= np.outer(A[j + 1:, j], A[j, j + 1:])
        L = np.tril(A[:, :k], -1) + np.eye(m, k)
        out.append(np.concatenate([L.reshape(-1), np.triu(A[:k]).reshape(-1)]))
    return np.stack(out).reshape(a.shape[:-2] + (-1,))


def _la_lu(a):
    _, L, U = mg.linalg.lu(a)
    return mg.cat([L.flatten(-2), U.flatten(-2)], -1)


INDEXING_LU_SPECS = [
    OpSpec("scatter_reduce", _draw_scatter_reduce,
           lambda x, s, dim, index, reduce, include_self: x.scatter_reduce(
               dim, _on(x, index), s, reduce, include_self=include_self),
           _np_scatter_reduce),
    OpSpec("unfold", _draw_unfold, lambda x, dim, size, step: x.unfold(dim, size, step),
           _np_unfold),
    OpSpec("lu", _draw_lu, _la_lu, _np_lu),
]
SPECS += INDEXING_LU_SPECS

SPEC_BY_NAME = {s.name: s for s in SPECS}
