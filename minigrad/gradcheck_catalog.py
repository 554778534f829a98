r"""The catalog of gradient checks behind ``minigrad gradcheck``: every differentiable op of
:mod:`minigrad.ops` and every layer exported by :mod:`minigrad.nn`, each with an input
builder that draws float64 inputs from a seeded NumPy generator away from the points
where the function is not differentiable (kinks of relu/abs/clamp, ties of max/min and
max-pooling, the bounds of log/sqrt/pow).

A :class:`Case` is a name, a kind (``"op"`` or ``"layer"``), and ``build(rng) -> (fn,
inputs)``; :func:`run_case` checks it with :func:`minigrad.gradcheck_report`, whose
verdict and worst relative and absolute errors make the row of the table. Layers are
checked with respect to their input *and* their parameters (passed to ``gradcheck`` as
inputs: it perturbs them in place); layers with randomness (dropout and its relatives)
reseed minigrad's generator at every call, so that every evaluation draws the same mask.

Coverage cannot drift: :func:`functions_reached` walks the graph of a case's outputs and
of their gradients (built with ``create_graph=True``), and ``tests/train/
test_gradcheck_catalog.py`` requires every ``Function`` subclass defined in
``minigrad.ops`` (and in ``minigrad.nn``) and every layer class in ``minigrad.nn.__all__``
to be reached by some case. A case that needs a GPU (``ToDevice``) declares what it
covers and is skipped without one.

Examples
--------
>>> result = run_case(get_case("tanh"))
>>> result.passed, result.max_rel_error < 1e-6
(True, True)
>>> [(e.shape, e.passed) for e in result.report.entries]
[((3, 4), True)]
"""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Case", "CaseResult", "CASES", "get_case", "run_case", "run_catalog",
           "functions_reached", "op_functions", "nn_functions", "nn_layer_classes",
           "format_table", "CONTAINERS"]

#: classes of ``nn.__all__`` that have no forward of their own (containers)
CONTAINERS = ("Module", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict")
#: base classes exported as PyTorch does, checked through their subclasses
BASES = ("RNNBase", "RNNCellBase")


@dataclass(frozen=True)
class Case:
    """One gradient check.

    build : ``rng -> (fn, inputs)``; the inputs that require grad are checked.
    covers : Function or layer class names a skipped case (``needs_cuda``) stands for.
    eps, atol, rtol : passed to :func:`minigrad.gradcheck`.
    """

    name: str
    kind: str
    build: Callable
    needs_cuda: bool = False
    covers: tuple = ()
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3
    layer: str | None = None


@dataclass
class CaseResult:
    """The outcome of one case: the verdict and worst errors of its
    :class:`~minigrad.gradcheck.GradcheckReport` (``report``; ``gradgrad_report`` with
    ``second_order``), or the reason it could not run (``message``)."""

    name: str
    kind: str
    passed: bool | None          # None: skipped
    max_rel_error: float = math.nan
    max_abs_error: float = math.nan
    n_checked: int = 0
    seconds: float = 0.0
    message: str = ""
    gradgrad: bool | None = None
    extra: dict = field(default_factory=dict)
    report: object = field(default=None, repr=False)
    gradgrad_report: object = field(default=None, repr=False)

    def to_dict(self):
        """The result for JSON, the reports as :meth:`GradcheckReport.to_dict`."""
        d = dict(self.__dict__)
        for key in ("report", "gradgrad_report"):
            d[key] = None if d[key] is None else d[key].to_dict()
        return d


# --------------------------------------------------------------------------- inputs
def _T(a, requires_grad=True):
    import minigrad as mg

    return mg.tensor(np.asarray(a, dtype=np.float64), dtype=mg.float64,
                     requires_grad=requires_grad)


def _normal(rng, *shape):
    return _T(rng.standard_normal(shape))


def _away(rng, *shape, lo=0.2, hi=1.5):
    """|x| in [lo, hi] with a random sign: no element near a kink at 0."""
    return _T(rng.choice([-1.0, 1.0], size=shape) * rng.uniform(lo, hi, size=shape))


def _off_hard_kinks(rng, *shape):
    """Values in each piece of hardsigmoid/hardswish (below −3, between, above 3), at
    least 0.1 from the kinks at ±3."""
    return _T(rng.choice([-4.5, -1.5, 0.5, 1.5, 4.5], size=shape)
              + rng.uniform(-1.4, 1.4, size=shape))


def _positive(rng, *shape, lo=0.5, hi=2.0):
    return _T(rng.uniform(lo, hi, size=shape))


def _distinct(rng, *shape, gap=0.1):
    """Values that are pairwise at least ``gap`` apart (no ties for max/min/pooling)."""
    n = int(np.prod(shape))
    values = (rng.permutation(n) - n / 2) * gap + rng.uniform(0, gap / 10, size=n)
    return _T(values.reshape(shape))


def _labels(rng, n, classes):
    import minigrad as mg

    return mg.tensor(rng.integers(0, classes, size=n))


# --------------------------------------------------------------------------- op cases
def _op(name, make, **kw):
    """An op case: ``make(rng) -> (fn, inputs)``."""
    return Case(name, "op", make, **kw)


def _unary(name, f, draw=_normal, shape=(3, 4), **kw):
    return _op(name, lambda rng: (f, (draw(rng, *shape),)), **kw)


def _binary(name, f, draw_a=_normal, draw_b=_normal, shapes=((3, 4), (4,)), **kw):
    return _op(name, lambda rng: (f, (draw_a(rng, *shapes[0]), draw_b(rng, *shapes[1]))), **kw)


def _op_cases():
    import minigrad as mg
    from minigrad.ops import fused
    from minigrad.ops.shape import IndexAdd, SumTo

    def where_case(rng):
        cond = mg.tensor(rng.uniform(size=(3, 4)) > 0.5)
        return (lambda a, b: mg.where(cond, a, b)), (_normal(rng, 3, 4), _normal(rng, 4))

    def maximum_case(rng):
        x = _distinct(rng, 2, 3, 4)
        return (lambda a, b: a.maximum(b)), (x[0].detach().requires_grad_(),
                                             x[1].detach().requires_grad_())

    def minimum_case(rng):
        x = _distinct(rng, 2, 3, 4)
        return (lambda a, b: a.minimum(b)), (x[0].detach().requires_grad_(),
                                             x[1].detach().requires_grad_())

    def getitem_int(rng):
        idx = np.array([2, 0, 2, 1])  # a repeated index: the scatter-add must accumulate
        return (lambda x: x[idx]), (_normal(rng, 3, 4),)

    def index_add(rng):
        idx = np.array([0, 2, 0])
        return (lambda g: IndexAdd((idx,), (4, 2))(g)), (_normal(rng, 3, 2),)

    def sum_to(rng):
        return (lambda x: SumTo((1, 4))(x)), (_normal(rng, 3, 4),)

    def cross_entropy(rng):
        t = _labels(rng, 5, 4)
        return (lambda x: fused.fused_cross_entropy(x, t, label_smoothing=0.1)), \
            (_normal(rng, 5, 4),)

    def matmul_batched(rng):
        return (lambda a, b: a @ b), (_normal(rng, 2, 3, 4), _normal(rng, 4, 5))

    def cast(x):
        return x.to(dtype=mg.float32).to(dtype=mg.float64)

    def with_zeros(rng, *shape):
        """Away from 0, then exactly 0 at a few places (products are polynomials)."""
        x = _away(rng, *shape).detach().numpy()
        x[0, 1] = x[2, 1] = x[2, 3] = 0.0           # one zero in rows 0, two in row 2
        return _T(x)

    def scatter_case(rng, add):
        index = mg.tensor([[2, 0, 1, 2], [0, 0, 2, 1]])     # a repeated target in row 1
        src = _normal(rng, 2, 5)                            # larger than index
        if add:
            return (lambda x, s: x.scatter_add(0, index, s)), (_normal(rng, 3, 4), src)
        return (lambda x, s: x.scatter(0, index, s)), (_normal(rng, 3, 4), src)

    def to_device(rng):
        return (lambda x: x.to("cuda").to("cpu")), (_normal(rng, 3),)

    return [
        # ----------------------------------------------------------- elementwise
        _binary("add", lambda a, b: a + b),
        _binary("sub", lambda a, b: a - b),
        _binary("mul", lambda a, b: a * b),
        _binary("div", lambda a, b: a / b, draw_b=_away),
        _binary("floor_divide (zero gradient)", lambda a, b: a // b + a, draw_b=_away),
        _binary("remainder", lambda a, b: a % b, draw_a=_away, draw_b=_away),
        _unary("neg", lambda x: -x),
        _binary("pow", lambda a, b: a ** b, draw_a=_positive, shapes=((3, 4), (3, 4))),
        _unary("pow_scalar", lambda x: x ** 3),
        _unary("pow_one (identity)", lambda x: x ** 1),
        _unary("clone (identity)", lambda x: x.clone() * 2),
        _unary("exp", lambda x: x.exp()),
        _unary("log", lambda x: x.log(), draw=_positive),
        _unary("log1p", lambda x: x.log1p(), draw=_positive),
        _unary("entr", lambda x: mg.special.entr(x), draw=_positive),
        _unary("sqrt", lambda x: x.sqrt(), draw=_positive),
        _unary("rsqrt", lambda x: x.rsqrt(), draw=_positive),
        _unary("abs", lambda x: x.abs(), draw=_away),
        _unary("sign", lambda x: x.sign() * x, draw=_away),
        _unary("sin", lambda x: x.sin()),
        _unary("cos", lambda x: x.cos()),
        _unary("erf", lambda x: x.erf()),
        _unary("floor, ceil, round, trunc (zero gradient)",
               lambda x: x.floor() + x.ceil() + x.round(decimals=1) + x.trunc() + x,
               draw=lambda rng, *s: _T(rng.integers(-3, 3, size=s) + 0.27)),
        _unary("frac", lambda x: x.frac(), draw=lambda rng, *s: _T(rng.uniform(-3, 3, s) // 1
                                                                  + rng.uniform(.1, .9, s))),
        _unary("tan", lambda x: x.tan(), draw=lambda rng, *s: _T(rng.uniform(-1.2, 1.2, s))),
        _unary("expm1", lambda x: x.expm1()),
        _unary("exp2", lambda x: x.exp2()),
        _unary("log2", lambda x: x.log2(), draw=_positive),
        _unary("log10", lambda x: x.log10(), draw=_positive),
        _unary("nan_to_num (log of negatives)", lambda x: x.log().nan_to_num(nan=0.5),
               draw=_away),
        _unary("clamp", lambda x: x.clamp(-0.5, 0.5),
               draw=lambda rng, *s: _T(rng.choice([-1.0, 0.0, 1.0], size=s) * 0.75
                                       + rng.uniform(-0.15, 0.15, size=s))),
        _op("maximum", maximum_case),
        _op("minimum", minimum_case),
        _op("where", where_case),
        _unary("cast float64→float32→float64", cast, eps=1e-3, atol=1e-4, rtol=1e-3),
        # elementwise math (inverse trig, hyperbolic, special)
        _unary("sinh", lambda x: x.sinh()),
        _unary("cosh", lambda x: x.cosh()),
        _unary("asin", lambda x: x.asin(), draw=lambda rng, *s: _T(rng.uniform(-.9, .9, s))),
        _unary("acos", lambda x: x.acos(), draw=lambda rng, *s: _T(rng.uniform(-.9, .9, s))),
        _unary("atan", lambda x: x.atan()),
        _unary("asinh", lambda x: x.asinh()),
        _unary("acosh", lambda x: x.acosh(), draw=lambda rng, *s: _T(rng.uniform(1.2, 3, s))),
        _unary("atanh", lambda x: x.atanh(), draw=lambda rng, *s: _T(rng.uniform(-.9, .9, s))),
        _unary("erfc", lambda x: x.erfc()),
        # the gamma family (minigrad/ops/special.py), away from the poles 0, −1, −2, ...
        _unary("lgamma", lambda x: x.lgamma(),
               draw=lambda rng, *s: _T(rng.integers(-3, 4, s) + rng.uniform(.1, .9, s))),
        _unary("digamma", lambda x: x.digamma(), draw=lambda rng, *s: _T(rng.uniform(.3, 5, s))),
        _unary("polygamma (n = 2)", lambda x: x.polygamma(2),
               draw=lambda rng, *s: _T(rng.uniform(.5, 5, s))),
        _unary("erfinv", lambda x: x.erfinv(),
               draw=lambda rng, *s: _T(rng.uniform(-.9, .9, s))),
        _unary("ndtri (central and tail branches)", lambda x: mg.special.ndtri(x),
               draw=lambda rng, *s: _T(rng.choice([0.01, 0.5, 0.99], size=s)
                                       + rng.uniform(-0.005, 0.005, size=s))),
        _unary("logit", lambda x: x.logit(), draw=lambda rng, *s: _T(rng.uniform(.1, .9, s))),
        _unary("logit (eps clamps below, inside, above)", lambda x: x.logit(eps=0.2),
               draw=lambda rng, *s: _T(rng.choice([0.05, 0.5, 0.95], size=s)
                                       + rng.uniform(-0.04, 0.04, size=s))),
        _unary("sinc", lambda x: x.sinc()),
        _unary("sinc (near 0: the series)", lambda x: x.sinc(),
               draw=lambda rng, *s: _T(rng.uniform(-0.05, 0.05, s))),
        _unary("deg2rad + rad2deg", lambda x: x.deg2rad() + x.rad2deg()),
        _binary("atan2", lambda a, b: a.atan2(b), draw_a=_away),
        _binary("hypot", lambda a, b: a.hypot(b), draw_a=_away),
        _binary("logaddexp", lambda a, b: a.logaddexp(b)),
        _binary("logaddexp2", lambda a, b: a.logaddexp2(b)),
        _binary("xlogy", lambda x, z: x.xlogy(z), draw_b=_positive),
        _binary("copysign", lambda a, b: a.copysign(b), draw_a=_away, draw_b=_away),
        _binary("float_power", lambda a, b: a.float_power(b), draw_a=_positive),
        _op("lerp (tensor weight)", lambda rng: (
            lambda a, b, w: a.lerp(b, w),
            (_normal(rng, 3, 4), _normal(rng, 4), _T(rng.uniform(0, 1, (3, 1)))))),
        _op("addcmul + addcdiv", lambda rng: (
            lambda a, b, c: a.addcmul(b, c, value=0.5) + a.addcdiv(b, c, value=2.0),
            (_normal(rng, 3, 4), _normal(rng, 4), _away(rng, 3, 1)))),
        # statistics and integer ops (minigrad/ops/statistics.py; i0 and igamma in
        # ops/special.py): the new rules, and the compositions with a kink or a sort
        _op("fmax, fmin", lambda rng: (
            lambda a, b: a.fmax(b) + a.fmin(b) * 2,
            tuple(t.detach().requires_grad_() for t in _distinct(rng, 2, 3, 4)))),
        _binary("nextafter", lambda a, b: a.nextafter(b)),
        _binary("fmod", lambda a, b: a.fmod(b),
                draw_a=lambda rng, *s: _T(rng.integers(-3, 4, s) * 0.75 + rng.uniform(.1, .6, s)),
                draw_b=lambda rng, *s: _T(np.full(s, 0.75))),
        _unary("frexp mantissa, ldexp", lambda x: x.frexp().mantissa + mg.ldexp(x, x),
               draw=lambda rng, *s: _T(rng.choice([-1.0, 1.0], s) * rng.uniform(1.1, 1.9, s)
                                       * 2.0 ** rng.integers(-3, 4, s))),
        _unary("i0, i0e, i1, i1e", lambda x: mg.i0(x) + mg.special.i0e(x) * mg.special.i1(x)
               + mg.special.i1e(x), draw=lambda rng, *s: _away(rng, *s, hi=12.0)),
        _op("igamma, igammac (in x)", lambda rng: (
            (lambda a: lambda x: mg.igamma(a, x) + 2 * mg.igammac(a, x))(
                _T(rng.uniform(0.5, 4.0, (3, 1)), requires_grad=False)),
            (_positive(rng, 3, 4, lo=0.2, hi=6.0),))),
        _unary("quantile, nanquantile, nanmedian, mode",
               lambda x: x.quantile(mg.tensor([0.3, 0.75], dtype=mg.float64), dim=1)
               + x.nanquantile(0.4, dim=1, interpolation="midpoint")
               + x.nanmedian(1).values + x.mode(1).values, draw=_distinct),
        _binary("cov (weights), corrcoef",
                lambda x, w: x.cov(correction=0, aweights=w) + x.corrcoef(),
                draw_b=_positive, shapes=((3, 5), (5,))),
        _binary("renorm, dist", lambda x, y: x.renorm(3, 1, 1.0) * y.dist(x[0], 1.5),
                draw_a=lambda rng, *s: _T(rng.uniform(0.3, 1.2, s) * rng.choice([-1, 1], s)),
                shapes=((3, 4), (4,))),
        # ----------------------------------------------------------- activations
        _unary("relu", lambda x: mg.relu(x), draw=_away),
        _unary("leaky_relu", lambda x: mg.leaky_relu(x, 0.1), draw=_away),
        _unary("elu", lambda x: mg.elu(x), draw=_away),
        _unary("gelu", lambda x: mg.gelu(x)),
        _unary("gelu (tanh)", lambda x: mg.gelu(x, approximate="tanh")),
        _unary("sigmoid", lambda x: x.sigmoid()),
        _unary("tanh", lambda x: x.tanh()),
        _unary("tanhshrink (closed form and series)", lambda x: mg.nn.functional.tanhshrink(x),
               draw=lambda rng, *s: _T(rng.choice([-2.0, -0.2, 0.2, 1.5], size=s)
                                       + rng.uniform(-0.1, 0.1, size=s))),
        _unary("silu", lambda x: mg.silu(x)),
        _unary("softplus", lambda x: mg.softplus(x)),
        _unary("hardsigmoid", lambda x: mg.nn.functional.hardsigmoid(x),
               draw=_off_hard_kinks),
        _unary("hardswish", lambda x: mg.nn.functional.hardswish(x), draw=_off_hard_kinks),
        _unary("mish", lambda x: mg.nn.functional.mish(x)),
        # ----------------------------------------------------------- reductions
        _unary("sum(dim)", lambda x: x.sum(dim=1)),
        _unary("mean(dim, keepdim)", lambda x: x.mean(dim=0, keepdim=True)),
        _unary("var", lambda x: x.var(dim=1)),
        _unary("std", lambda x: x.std(dim=0)),
        _unary("amax", lambda x: x.amax(dim=1), draw=_distinct),
        _unary("amin", lambda x: x.amin(dim=0), draw=_distinct),
        _unary("max(dim) values", lambda x: x.max(dim=1)[0], draw=_distinct),
        _unary("max (all)", lambda x: x.max(), draw=_distinct),
        _unary("median (all)", lambda x: x.median(), draw=_distinct),
        _unary("nanmedian (all)", lambda x: x.nanmedian(), draw=_distinct),
        _unary("logsumexp", lambda x: x.logsumexp(dim=1)),
        _unary("softmax", lambda x: x.softmax(dim=1)),
        _unary("log_softmax", lambda x: x.log_softmax(dim=0)),
        _unary("cumsum", lambda x: x.cumsum(dim=1)),
        _unary("logcumsumexp", lambda x: x.logcumsumexp(dim=1)),
        _unary("cumprod", lambda x: x.cumprod(dim=1), draw=_away),
        _unary("cumprod (zeros)", lambda x: x.cumprod(dim=1), draw=with_zeros),
        _unary("prod", lambda x: x.prod(), draw=_away),
        _unary("prod (dim, zeros)", lambda x: x.prod(dim=1), draw=with_zeros),
        _unary("sort (descending)", lambda x: x.sort(dim=1, descending=True).values,
               draw=_distinct),
        _unary("topk", lambda x: x.topk(2, dim=0).values, draw=_distinct),
        _unary("median", lambda x: x.median(dim=1).values, draw=_distinct),
        _unary("norm", lambda x: x.norm(), draw=_away),
        _unary("norm (p=3, dim)", lambda x: x.norm(3, dim=1), draw=_away),
        _unary("normalize", lambda x: mg.nn.functional.normalize(x, dim=1), draw=_away),
        _binary("cosine_similarity", lambda a, b: mg.nn.functional.cosine_similarity(a, b),
                shapes=((3, 4), (1, 4))),
        # ----------------------------------------------------------- shapes
        _unary("reshape", lambda x: x.reshape(2, 6) * _T(np.arange(12.0).reshape(2, 6), False)),
        _unary("permute", lambda x: x.permute(2, 0, 1), shape=(2, 3, 4)),
        _unary("transpose", lambda x: x.transpose(0, 1)),
        _unary("expand (broadcast_to)", lambda x: x.expand(2, 3, 4), shape=(3, 1)),
        _op("sum_to", sum_to),
        _unary("flip", lambda x: x.flip(1)),
        _unary("getitem (slices)", lambda x: x[1:, ::2]),
        _op("getitem (integer array, repeats)", getitem_int),
        _op("index_add (scatter-add)", index_add),
        _op("scatter", lambda rng: scatter_case(rng, add=False)),
        _op("scatter_add", lambda rng: scatter_case(rng, add=True)),
        _binary("cat", lambda a, b: mg.cat([a, b], dim=0), shapes=((2, 4), (3, 4))),
        _binary("stack", lambda a, b: mg.stack([a, b], dim=1), shapes=((3, 4), (3, 4))),
        _unary("split", lambda x: x.split(2, dim=1)[1]),
        _unary("pad", lambda x: mg.pad(x, (1, 2, 0, 1))),
        _unary("pad (reflect)", lambda x: mg.pad(x, (2, 1, 1, 0), "reflect")),
        _unary("pad (replicate)", lambda x: mg.pad(x, (2, 1), "replicate")),
        _unary("pad (circular)", lambda x: mg.pad(x, (4, 1, 3, 2), "circular")),
        _unary("repeat", lambda x: x.repeat(2, 1)),
        _op("to_device (cuda round trip)", to_device, needs_cuda=True, covers=("ToDevice",)),
        # ----------------------------------------------------------- linear algebra
        _binary("matmul", lambda a, b: a @ b, shapes=((3, 4), (4, 2))),
        _op("matmul (batched)", matmul_batched),
        _binary("matmul (vector)", lambda a, b: a @ b, shapes=((3, 4), (4,))),
        _binary("matmul with a float32 product of half operands (attention scores)",
                lambda a, b: mg.ops.linalg.MatMulFloat32()(a, b), shapes=((3, 4), (4, 2))),
        # linear algebra: products and structure (minigrad/ops/linalg.py)
        _binary("mm, addmm", lambda a, b: mg.addmm(b[0], a, b, beta=0.5, alpha=2.0),
                shapes=((3, 4), (4, 4))),
        _binary("bmm, baddbmm", lambda a, b: mg.baddbmm(a[:, :, :1], a, b, alpha=-1.5),
                shapes=((2, 3, 4), (2, 4, 2))),
        _binary("addmv, outer, inner, dot",
                lambda a, b: mg.addmv(b[:3], a, b) + mg.outer(a[:, 0], b).sum(1)
                + mg.inner(a, b) + mg.dot(a[1], b), shapes=((3, 4), (4,))),
        _binary("einsum (ellipsis, diagonal, summed in one operand)",
                lambda a, b: mg.einsum("...iij,jk->...ik", a, b),
                shapes=((2, 3, 3, 4), (4, 2))),
        _binary("einsum (implicit output, broadcast)", lambda a, b: mg.einsum("bij,jk", a, b),
                shapes=((1, 3, 4), (4, 2))),
        _unary("diagonal, diag_embed, diag, trace",
               lambda x: mg.diag_embed(x.diagonal(1, 0, 2), -1, 0, 2)
               + mg.diag(mg.diag(x[0], -1), 1).sum() + x[:, 0, :3].trace(),
               shape=(3, 2, 4)),
        _unary("tril, triu", lambda x: x.tril(-1) * 2 + x.triu(1), shape=(2, 3, 4)),
        _unary("as_strided (overlapping windows)", lambda x: x.as_strided((3, 4), (2, 1), 1),
               shape=(2, 5)),
        _binary("cross", lambda a, b: mg.cross(a, b, dim=0), shapes=((3, 4), (3, 1))),
        _binary("kron", lambda a, b: mg.kron(a, b), shapes=((2, 3), (2, 1, 2))),
        _binary("cdist (p=2, p=1)", lambda a, b: mg.cdist(a, b) + mg.cdist(a, b, 1.0),
                shapes=((3, 4), (2, 4))),
        # linear algebra: decompositions (minigrad/linalg.py), on well-conditioned inputs
        _unary("linalg.det", lambda a: mg.linalg.det(a),
               draw=lambda rng, *s: _T(rng.standard_normal(s) + 3 * np.eye(3)),
               shape=(2, 3, 3)),
        _unary("linalg.det (singular: cofactors)", lambda a: mg.linalg.det(a),
               draw=lambda rng, *s: _T([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])),
        _unary("linalg.slogdet", lambda a: mg.linalg.slogdet(a).logabsdet,
               draw=lambda rng, *s: _T(rng.standard_normal(s) - 3 * np.eye(3)), shape=(3, 3)),
        _unary("linalg.inv", lambda a: mg.linalg.inv(a),
               draw=lambda rng, *s: _T(rng.standard_normal(s) + 3 * np.eye(3)), shape=(3, 3)),
        _binary("linalg.solve", lambda a, b: mg.linalg.solve(a, b),
                draw_a=lambda rng, *s: _T(rng.standard_normal(s) + 3 * np.eye(3)),
                shapes=((2, 3, 3), (3, 2))),
        _unary("linalg.cholesky", lambda a: mg.linalg.cholesky((a + a.mT) / 2),
               draw=lambda rng, *s: (lambda m: _T(m @ m.T + 3 * np.eye(3)))(
                   rng.standard_normal(s)), shape=(3, 3)),
        _unary("linalg.qr (tall)", lambda a: mg.linalg.qr(a), shape=(4, 3)),
        _unary("linalg.qr (wide)", lambda a: mg.linalg.qr(a), shape=(2, 4)),
        _unary("linalg.eigh (V² is sign-free)",
               lambda a: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(
                   mg.linalg.eigh((a + a.mT) / 2)), shape=(3, 3)),
        _unary("linalg.eigvalsh", lambda a: mg.linalg.eigvalsh((a + a.mT) / 2), shape=(3, 3)),
        _unary("linalg.svd (U², Vh² are sign-free)",
               lambda a: (lambda r: (r.U ** 2, r.S, r.Vh ** 2))(
                   mg.linalg.svd(a, full_matrices=False)), shape=(4, 3)),
        _unary("linalg.svdvals, matrix_norm (nuc, 2)",
               lambda a: mg.linalg.svdvals(a) + mg.linalg.matrix_norm(a, "nuc")
               + mg.linalg.matrix_norm(a, 2), shape=(3, 4)),
        _unary("linalg.pinv", lambda a: mg.linalg.pinv(a), shape=(4, 3)),
        _unary("linalg.matrix_sqrth", lambda a: mg.linalg.matrix_sqrth((a + a.mT) / 2),
               draw=lambda rng, *s: (lambda m: _T(m @ m.T + 3 * np.eye(3)))(
                   rng.standard_normal(s)), shape=(3, 3)),
        _unary("linalg.polar", lambda a: tuple(mg.linalg.polar(a)), shape=(4, 3)),
        _unary("linalg.matrix_power (n = -2, 3)",
               lambda a: mg.linalg.matrix_power(a, -2) + mg.linalg.matrix_power(a, 3),
               draw=lambda rng, *s: _T(rng.standard_normal(s) + 3 * np.eye(3)), shape=(3, 3)),
        _binary("linalg.multi_dot", lambda a, b: mg.linalg.multi_dot([a[0], b, a, b]),
                shapes=((3, 4), (4, 3))),
        _unary("linalg.vector_norm (ord -1.5, 0.5)",
               lambda x: mg.linalg.vector_norm(x, -1.5, dim=1)
               + mg.linalg.vector_norm(x, 0.5, dim=1), draw=_away),
        # indexing, splitting and linear algebra additions (ops/indexing.py, ops/linalg.py)
        _binary("scatter_reduce (sum, mean; include_self=False)",
                lambda x, s: x.scatter_reduce(1, mg.tensor([[0, 0, 3], [2, 2, 2]]), s, "sum")
                + x.scatter_reduce(1, mg.tensor([[1, 1, 0], [3, 0, 3]]), s, "mean",
                                   include_self=False), shapes=((2, 4), (2, 3))),
        _binary("scatter_reduce (prod, one zero per position)",
                lambda x, s: x.scatter_reduce(1, mg.tensor([[0, 0, 3], [2, 2, 1]]),
                                              s * mg.tensor([[1.0, 0.0, 1.0]]), "prod"),
                draw_a=_away, draw_b=_away, shapes=((2, 4), (2, 3))),
        _op("scatter_reduce, index_reduce (amax, amin)", lambda rng: (
            lambda x, s: x.scatter_reduce(0, mg.tensor([[1, 1, 0], [1, 0, 0]]), s, "amax")
            + x.index_reduce(1, mg.tensor([2, 0, 2]), s, "amin", include_self=False),
            tuple(t.detach().requires_grad_() for t in _distinct(rng, 2, 2, 3)))),
        _binary("select_scatter, slice_scatter, index_put, masked_scatter, put",
                lambda x, s: x.select_scatter(s[0], 0, 1).slice_scatter(s[:, :2], 1, 2)
                .index_put((mg.tensor([0, 2]),), s[1]).masked_scatter(x > 0, s.reshape(-1))
                .put(mg.tensor([5, -1]), s[0, :2], accumulate=True),
                shapes=((3, 4), (3, 4))),
        _unary("unfold (overlapping windows), take",
               lambda x: x.unfold(1, 3, 1) * x.take(mg.tensor([[0, 5, 5]]))),
        _unary("linalg.lu (tall; rows to pivot)", lambda a: mg.linalg.lu(a)[1:],
               draw=lambda rng, *s: _T((rng.standard_normal(s) + 4 * np.eye(*s))[[2, 0, 3, 1]]),
               shape=(4, 3)),
        _binary("linalg.lu_factor, lu_solve (adjoint)",
                lambda a, b: mg.linalg.lu_solve(*mg.linalg.lu_factor(a), b, adjoint=True),
                draw_a=lambda rng, *s: _T((rng.standard_normal(s) + 3 * np.eye(3))[::-1]),
                shapes=((2, 3, 3), (3, 2))),
        _binary("cholesky_solve, cholesky_inverse, triangular_solve",
                lambda f, b: mg.cholesky_solve(b, f.tril()) + mg.cholesky_inverse(f.triu(),
                                                                                   upper=True)
                @ mg.triangular_solve(b, f, transpose=True).solution,
                draw_a=lambda rng, *s: _T(rng.standard_normal(s) + 3 * np.eye(3)),
                shapes=((3, 3), (3, 2))),
        # ----------------------------------------------------------- fused ops
        _op("fused_cross_entropy", cross_entropy),
        _unary("fused_softmax", lambda x: fused.fused_softmax(x)),
        _unary("fused_log_softmax", lambda x: fused.fused_log_softmax(x)),
        _binary("bias_act (gelu)", lambda x, b: fused.bias_act(x, b, "gelu")),
        _binary("bias_act (relu)", lambda x, b: fused.bias_act(x, b, "relu"), draw_a=_away,
                draw_b=lambda rng, *s: _T(np.zeros(s))),
    ]


# --------------------------------------------------------------------------- layer cases
def _layer(name, make_module, make_inputs, seeded=False, **kw):
    """A layer case: the module (built under ``mg.manual_seed(0)``, in float64) applied to
    ``make_inputs(rng)``; its parameters are checked too."""
    def build(rng):
        import minigrad as mg

        mg.manual_seed(0)
        module = make_module().double()
        inputs = tuple(make_inputs(rng))
        params = tuple(p for p in module.parameters() if p.requires_grad)
        n_in = len(inputs)

        def fn(*args):
            if seeded:
                mg.manual_seed(1)   # the same random mask at every evaluation
            return module(*args[:n_in])

        return fn, inputs + params
    return Case(name, "layer", build, layer=name.split(" ")[0], **kw)


def _ctc_on_fixed_targets(nn):
    """CTCLoss with its targets and lengths bound, so that the case's only input is the
    (T, N, C) log-probabilities (one target repeats a label: the no-skip rule)."""
    class CTCOnFixedTargets(nn.CTCLoss):
        def forward(self, log_probs):
            return super().forward(log_probs, [[1, 1, 3], [2, 3, 0]], [6, 5], [3, 2])

    return CTCOnFixedTargets(reduction="sum")


def _unpool_inputs(n, shape):
    """The inputs of MaxUnpool{n}d: values and indices of a kernel-2 max pooling of
    distinct values of ``shape``, the values checked."""
    def make(rng):
        from minigrad.nn import functional as F

        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
        y, indices = pool(_distinct(rng, *shape).detach(), 2, return_indices=True)
        return _T(y.numpy()), indices
    return make


def _layer_cases():
    import minigrad as mg
    from minigrad import nn

    x2 = lambda *shape, draw=_normal: (lambda rng: (draw(rng, *shape),))  # noqa: E731

    def logprobs(rng, n=4, c=3):
        return _T(np.log(rng.dirichlet(np.ones(c), size=n)))

    def probs(rng, n=4, c=3):
        return _T(rng.dirichlet(np.ones(c), size=n), requires_grad=False)

    def int_input(rng):
        return (mg.tensor(rng.integers(0, 5, size=(2, 3))),)

    F = nn.functional

    def sample_grid(rng, n, out, sizes, align_corners):
        """grid_sample points (n, *out, k) whose pixel coordinates (sizes in x, y[, z]
        order) are 0.1-0.4 or 0.6-0.9 past an integer, from 2 before the first pixel to
        2 past the last: away from the jumps of the taps, of rint and of the padding."""
        shape, cols = (n,) + out, []
        for m in sizes:
            u = (rng.integers(-2, m + 2, shape) + rng.uniform(0.1, 0.4, shape)
                 + 0.5 * rng.integers(0, 2, shape))
            cols.append(2 * u / (m - 1) - 1 if align_corners else (2 * u + 1) / m - 1)
        return _T(np.stack(cols, axis=-1))

    return [
        _layer("Linear", lambda: nn.Linear(4, 3), x2(2, 4)),
        _layer("Bilinear", lambda: nn.Bilinear(3, 2, 2),
               lambda rng: (_normal(rng, 2, 3), _normal(rng, 2, 2))),
        _layer("LowRankLinear", lambda: nn.LowRankLinear(5, 4, rank=2), x2(2, 5)),
        _layer("Linear24 (2:4 sparse)", lambda: nn.Linear24(8, 4, mask_update_every=0),
               x2(3, 8)),
        _layer("Identity", lambda: nn.Identity(), x2(2, 3)),
        _layer("Flatten", lambda: nn.Flatten(), x2(2, 2, 3)),
        _layer("Unflatten", lambda: nn.Unflatten(1, (2, 3)), x2(2, 6)),
        _layer("Sequential", lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)),
               x2(2, 3)),
        _layer("Conv1d", lambda: nn.Conv1d(2, 3, 3, padding=1), x2(2, 2, 5)),
        _layer("Conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), x2(2, 2, 4, 4)),
        _layer("Conv2d (padding_mode='reflect')",
               lambda: nn.Conv2d(2, 2, 3, padding=(2, 1), padding_mode="reflect"), x2(1, 2, 4, 4)),
        _layer("Conv1d (padding_mode='circular')",
               lambda: nn.Conv1d(2, 2, 3, padding=2, padding_mode="circular"), x2(2, 2, 3)),
        _layer("ConvTranspose2d (stride 2, output_padding 1)",
               lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
               x2(1, 2, 3, 3)),
        _layer("ConvTranspose1d", lambda: nn.ConvTranspose1d(2, 2, 3, stride=2), x2(2, 2, 3)),
        _layer("Upsample (bilinear)", lambda: nn.Upsample(scale_factor=(2, 1.5), mode="bilinear"),
               x2(1, 2, 3, 4)),
        _layer("Upsample (nearest)", lambda: nn.Upsample(size=(5, 3)), x2(1, 2, 3, 4)),
        _layer("Conv2d (stride 2, dilation 2)",
               lambda: nn.Conv2d(2, 2, 3, stride=2, padding=2, dilation=2), x2(1, 2, 5, 5)),
        _layer("Conv2d (depthwise, groups=4)", lambda: nn.Conv2d(4, 4, 3, padding=1, groups=4),
               x2(1, 4, 4, 4)),
        _layer("MaxPool1d", lambda: nn.MaxPool1d(2), x2(2, 2, 6, draw=_distinct)),
        _layer("MaxPool2d", lambda: nn.MaxPool2d(2), x2(2, 2, 4, 4, draw=_distinct)),
        _layer("MaxPool2d (overlapping, padded)", lambda: nn.MaxPool2d(3, stride=2, padding=1),
               x2(1, 2, 5, 5, draw=_distinct)),
        _layer("AvgPool1d", lambda: nn.AvgPool1d(2), x2(2, 2, 6)),
        _layer("AvgPool2d", lambda: nn.AvgPool2d(2), x2(2, 2, 4, 4)),
        _layer("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(2), x2(2, 2, 5)),
        _layer("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(1), x2(2, 3, 3, 3)),
        _layer("BatchNorm1d", lambda: nn.BatchNorm1d(3), x2(5, 3)),
        _layer("BatchNorm2d", lambda: nn.BatchNorm2d(2), x2(3, 2, 3, 3)),
        _layer("LayerNorm", lambda: nn.LayerNorm(4), x2(3, 4)),
        _layer("GroupNorm", lambda: nn.GroupNorm(2, 4), x2(2, 4, 3)),
        _layer("Dropout", lambda: nn.Dropout(0.3), x2(3, 4), seeded=True),
        _layer("Dropout1d", lambda: nn.Dropout1d(0.3), x2(2, 4, 3), seeded=True),
        _layer("Dropout2d", lambda: nn.Dropout2d(0.3), x2(2, 4, 2, 2), seeded=True),
        _layer("DropConnect", lambda: nn.DropConnect(4, 3, p=0.3), x2(2, 4), seeded=True),
        _layer("AlphaDropout", lambda: nn.AlphaDropout(0.3), x2(3, 4), seeded=True),
        _layer("FeatureAlphaDropout", lambda: nn.FeatureAlphaDropout(0.3), x2(2, 4, 3),
               seeded=True),
        _layer("StochasticDepth", lambda: nn.StochasticDepth(0.3), x2(4, 3), seeded=True),
        _layer("Embedding", lambda: nn.Embedding(5, 3), int_input),
        _layer("EmbeddingBag (max)", lambda: nn.EmbeddingBag(5, 3, mode="max"), int_input),
        _layer("RReLU (training: seeded slopes)", lambda: nn.RReLU(0.1, 0.4),
               x2(3, 4, draw=_away), seeded=True),
        _layer("Softmax2d", lambda: nn.Softmax2d(), x2(2, 3, 2, 2)),
        _layer("ChannelShuffle", lambda: nn.ChannelShuffle(2), x2(2, 4, 3)),
        _layer("CTCLoss", lambda: _ctc_on_fixed_targets(nn),
               lambda rng: (_normal(rng, 6, 2, 4).log_softmax(2).detach().requires_grad_(),)),
        _layer("ReLU", lambda: nn.ReLU(), x2(3, 4, draw=_away)),
        _layer("LeakyReLU", lambda: nn.LeakyReLU(0.1), x2(3, 4, draw=_away)),
        _layer("ELU", lambda: nn.ELU(), x2(3, 4, draw=_away)),
        _layer("GELU", lambda: nn.GELU(), x2(3, 4)),
        _layer("SiLU", lambda: nn.SiLU(), x2(3, 4)),
        _layer("Tanh", lambda: nn.Tanh(), x2(3, 4)),
        _layer("Sigmoid", lambda: nn.Sigmoid(), x2(3, 4)),
        _layer("Softplus", lambda: nn.Softplus(), x2(3, 4)),
        _layer("SELU", lambda: nn.SELU(), x2(3, 4, draw=_away)),
        _layer("CELU", lambda: nn.CELU(0.5), x2(3, 4, draw=_away)),
        _layer("Hardtanh", lambda: nn.Hardtanh(-0.5, 0.5), x2(3, 4, draw=_away)),
        _layer("ReLU6", lambda: nn.ReLU6(), x2(3, 4, draw=_away)),
        _layer("Hardsigmoid", lambda: nn.Hardsigmoid(), x2(3, 4)),
        _layer("Hardswish", lambda: nn.Hardswish(), x2(3, 4)),
        _layer("Mish", lambda: nn.Mish(), x2(3, 4)),
        _layer("LogSigmoid", lambda: nn.LogSigmoid(), x2(3, 4)),
        _layer("Softsign", lambda: nn.Softsign(), x2(3, 4, draw=_away)),
        _layer("Hardshrink", lambda: nn.Hardshrink(0.1), x2(3, 4, draw=_away)),  # |x| ≥ 0.2
        _layer("Softshrink", lambda: nn.Softshrink(0.1), x2(3, 4, draw=_away)),
        _layer("Tanhshrink", lambda: nn.Tanhshrink(), x2(3, 4)),
        _layer("PReLU", lambda: nn.PReLU(3), x2(2, 3, 4, draw=_away)),
        _layer("GLU", lambda: nn.GLU(), x2(3, 4)),
        _layer("Threshold", lambda: nn.Threshold(0.0, -1.0), x2(3, 4, draw=_away)),
        _layer("Softmin", lambda: nn.Softmin(dim=1), x2(3, 4)),
        _layer("Softmax", lambda: nn.Softmax(dim=1), x2(3, 4)),
        _layer("LogSoftmax", lambda: nn.LogSoftmax(dim=1), x2(3, 4)),
        _layer("Residual", lambda: nn.Residual(nn.Sequential(nn.Linear(3, 3), nn.Tanh())),
               x2(2, 3)),
        _layer("BasicBlock", lambda: nn.BasicBlock(2, 3, stride=2), x2(2, 2, 4, 4, draw=_away)),
        # 3-D layers and pooling extras
        _layer("Conv3d (groups=2)", lambda: nn.Conv3d(2, 4, (2, 3, 2), padding=(1, 1, 0),
                                                      groups=2), x2(2, 2, 3, 3, 3)),
        _layer("Conv3d (stride 2, dilation, padding_mode='circular')",
               lambda: nn.Conv3d(2, 2, 2, stride=2, padding=1, dilation=(1, 2, 1),
                                 padding_mode="circular"), x2(1, 2, 3, 4, 3)),
        _layer("ConvTranspose3d (stride 2, output_padding 1)",
               lambda: nn.ConvTranspose3d(2, 2, 2, stride=2, padding=1, output_padding=1),
               x2(1, 2, 2, 3, 2)),
        _layer("MaxPool3d (overlapping, padded)", lambda: nn.MaxPool3d(2, stride=1, padding=1),
               x2(1, 2, 3, 2, 3, draw=_distinct)),
        _layer("AvgPool3d (ceil_mode, count_include_pad=False)",
               lambda: nn.AvgPool3d(2, padding=1, ceil_mode=True, count_include_pad=False),
               x2(1, 2, 3, 4, 3)),
        _layer("AdaptiveAvgPool3d", lambda: nn.AdaptiveAvgPool3d((2, 1, 3)), x2(1, 2, 3, 3, 4)),
        _layer("AdaptiveMaxPool3d", lambda: nn.AdaptiveMaxPool3d((2, 2, 1)),
               x2(1, 2, 3, 3, 3, draw=_distinct)),
        _layer("BatchNorm3d", lambda: nn.BatchNorm3d(2), x2(2, 2, 2, 2, 2)),
        _layer("InstanceNorm3d", lambda: nn.InstanceNorm3d(2, affine=True), x2(2, 2, 2, 2, 3)),
        _layer("Dropout3d", lambda: nn.Dropout3d(0.3), x2(2, 4, 2, 2, 2), seeded=True),
        *[_layer(f"{name}3d", lambda name=name: getattr(nn, f"{name}3d")((1, 0, 0, 1, 1, 1)),
                 x2(1, 2, 2, 3, 2))
          for name in ("ZeroPad", "ReflectionPad", "ReplicationPad", "CircularPad")],
        _layer("ConstantPad3d", lambda: nn.ConstantPad3d((1, 0, 2, 1, 0, 1), 0.5),
               x2(2, 2, 2, 2)),
        *[_layer(f"MaxUnpool{n}d", lambda n=n: getattr(nn, f"MaxUnpool{n}d")(2),
                 _unpool_inputs(n, (1, 2) + (4, 2, 4)[3 - n:]))
          for n in (1, 2, 3)],
        _layer("LPPool1d", lambda: nn.LPPool1d(2, 3, stride=2), x2(2, 2, 7)),
        _layer("LPPool2d (p=3, ceil_mode)", lambda: nn.LPPool2d(3, 2, ceil_mode=True),
               x2(1, 2, 3, 5, draw=_positive)),
        _layer("LPPool3d (p=1.5)", lambda: nn.LPPool3d(1.5, 2), x2(1, 2, 2, 4, 2, draw=_positive)),
        # ----------------------------------------------------------- losses
        _layer("MSELoss", lambda: nn.MSELoss(),
               lambda rng: (_normal(rng, 3, 2), _T(rng.standard_normal((3, 2)), False))),
        _layer("L1Loss", lambda: nn.L1Loss(),
               lambda rng: (_away(rng, 3, 2), _T(np.zeros((3, 2)), False))),
        _layer("HuberLoss", lambda: nn.HuberLoss(delta=1.0),
               lambda rng: (_T(rng.choice([-2.0, -0.5, 0.5, 2.0], size=(3, 2))
                               + rng.uniform(-0.2, 0.2, size=(3, 2))),
                            _T(np.zeros((3, 2)), False))),
        _layer("SmoothL1Loss", lambda: nn.SmoothL1Loss(beta=1.0),
               lambda rng: (_T(rng.choice([-2.0, -0.5, 0.5, 2.0], size=(3, 2))
                               + rng.uniform(-0.2, 0.2, size=(3, 2))),
                            _T(np.zeros((3, 2)), False))),
        _layer("NLLLoss", lambda: nn.NLLLoss(), lambda rng: (logprobs(rng), _labels(rng, 4, 3))),
        _layer("CrossEntropyLoss", lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
               lambda rng: (_normal(rng, 4, 3), _labels(rng, 4, 3))),
        # the chunked path (ChunkedLinearCrossEntropy): two rows a chunk, a bias
        _layer("LinearCrossEntropyLoss", lambda: nn.LinearCrossEntropyLoss(
                   3, 4, bias=True, options=nn.LinearCrossEntropyOptions(batch_chunk_size=2)),
               lambda rng: (_normal(rng, 5, 3), _labels(rng, 5, 4))),
        _layer("BCELoss", lambda: nn.BCELoss(),
               lambda rng: (_T(rng.uniform(0.1, 0.9, size=(4, 2))),
                            _T(rng.integers(0, 2, size=(4, 2)).astype(float), False))),
        _layer("BCEWithLogitsLoss", lambda: nn.BCEWithLogitsLoss(),
               lambda rng: (_normal(rng, 4, 2),
                            _T(rng.uniform(0, 1, size=(4, 2)), False))),
        _layer("KLDivLoss", lambda: nn.KLDivLoss(reduction="batchmean"),
               lambda rng: (logprobs(rng), probs(rng))),
        _layer("DistillationLoss", lambda: nn.DistillationLoss(T=2.0, alpha=0.7),
               lambda rng: (_normal(rng, 4, 3), _T(rng.standard_normal((4, 3)), False),
                            _labels(rng, 4, 3))),
        # sampling grids, bilinear, multilabel margin, pdist
        _op("F.grid_sample (bilinear, zeros)", lambda rng: (
            lambda x, g: F.grid_sample(x, g, align_corners=False),
            (_normal(rng, 2, 2, 3, 4), sample_grid(rng, 2, (2, 3), (4, 3), False)))),
        _op("F.grid_sample (bicubic, reflection, align_corners)", lambda rng: (
            lambda x, g: F.grid_sample(x, g, "bicubic", "reflection", align_corners=True),
            (_normal(rng, 1, 2, 3, 4), sample_grid(rng, 1, (3, 2), (4, 3), True)))),
        _op("F.grid_sample (nearest, border)", lambda rng: (
            lambda x, g: F.grid_sample(x, g, "nearest", "border"),
            (_normal(rng, 1, 2, 3, 4), sample_grid(rng, 1, (2, 3), (4, 3), False)))),
        _op("F.grid_sample (5-D trilinear, reflection)", lambda rng: (
            lambda x, g: F.grid_sample(x, g, padding_mode="reflection"),
            (_normal(rng, 1, 2, 2, 3, 2), sample_grid(rng, 1, (2, 1, 2), (2, 3, 2), False)))),
        _op("F.affine_grid + F.grid_sample (border)", lambda rng: (
            lambda x, theta: F.grid_sample(
                x, F.affine_grid(theta, (2, 1, 3, 3), align_corners=False), "bilinear",
                "border", align_corners=False),
            (_normal(rng, 2, 1, 4, 5),
             _T([[[0.9, 0.3, 0.13], [-0.2, 1.1, -0.07]], [[1.3, 0.0, 0.31], [0.1, 0.7, 0.2]]])))),
        _op("F.bilinear", lambda rng: (
            F.bilinear, (_normal(rng, 2, 3), _normal(rng, 2, 4), _normal(rng, 2, 3, 4),
                         _normal(rng, 2)))),
        _op("F.pdist (p=2, p=1.5)", lambda rng: (
            lambda x: F.pdist(x) + F.pdist(x, 1.5), (_normal(rng, 4, 3),))),
        _layer("MultiLabelMarginLoss", lambda: nn.MultiLabelMarginLoss(),
               lambda rng: (_distinct(rng, 3, 4, gap=0.13),
                            mg.tensor([[3, 0, -1, 1], [1, -1, 2, 2], [0, 1, 2, 3]]))),
        _layer("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(scale_factor=2),
               x2(1, 2, 2, 3)),
        _layer("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(size=(3, 5)),
               x2(1, 2, 2, 3)),
    ] + _more_layer_cases(x2, _signs) + _lazy_and_other_layer_cases(x2)


def _sized(module, *shape):
    """A lazy module after its first call on zeros of ``shape`` (its parameters exist)."""
    import minigrad as mg

    module(mg.zeros(*shape))
    return module


def _asm_on_fixed_targets(nn):
    """AdaptiveLogSoftmaxWithLoss with its targets bound (one in the shortlist, one in
    each cluster), returning the per-sample log-probabilities."""
    import minigrad as mg

    class ASMOnFixedTargets(nn.AdaptiveLogSoftmaxWithLoss):
        def forward(self, input):
            return super().forward(input, mg.tensor([1, 4, 8])).output

    return ASMOnFixedTargets(6, 10, [3, 6], div_value=2.0, head_bias=True)


def _lazy_and_other_layer_cases(x2):
    import minigrad as mg
    from minigrad import nn

    u2 = mg.tensor([[[0.3, 0.7], [0.1, 0.9]]])
    u3 = mg.tensor([[[0.2, 0.5, 0.8]]])
    return [
        _layer("LazyLinear", lambda: _sized(nn.LazyLinear(2), 1, 3), x2(2, 3)),
        _layer("LazyConv1d", lambda: _sized(nn.LazyConv1d(2, 2), 1, 2, 4), x2(2, 2, 4)),
        _layer("LazyConv2d", lambda: _sized(nn.LazyConv2d(2, 2), 1, 2, 3, 3),
               x2(1, 2, 3, 3)),
        _layer("LazyConv3d", lambda: _sized(nn.LazyConv3d(2, 2), 1, 1, 3, 3, 2),
               x2(1, 1, 3, 3, 2)),
        _layer("LazyConvTranspose1d", lambda: _sized(nn.LazyConvTranspose1d(2, 2), 1, 2, 3),
               x2(2, 2, 3)),
        _layer("LazyConvTranspose2d",
               lambda: _sized(nn.LazyConvTranspose2d(2, 2, stride=2), 1, 2, 2, 2),
               x2(1, 2, 2, 2)),
        _layer("LazyConvTranspose3d",
               lambda: _sized(nn.LazyConvTranspose3d(1, 2), 1, 2, 2, 2, 2),
               x2(1, 2, 2, 2, 2)),
        _layer("LazyBatchNorm1d", lambda: _sized(nn.LazyBatchNorm1d(), 4, 3), x2(5, 3)),
        _layer("LazyBatchNorm2d", lambda: _sized(nn.LazyBatchNorm2d(), 2, 2, 2, 2),
               x2(3, 2, 2, 2)),
        _layer("LazyBatchNorm3d", lambda: _sized(nn.LazyBatchNorm3d(), 2, 2, 2, 2, 2),
               x2(2, 2, 2, 2, 2)),
        _layer("LazyInstanceNorm1d", lambda: _sized(nn.LazyInstanceNorm1d(affine=True),
                                                    2, 3, 4), x2(2, 3, 4)),
        _layer("LazyInstanceNorm2d", lambda: _sized(nn.LazyInstanceNorm2d(), 1, 2, 3, 3),
               x2(2, 2, 3, 3)),
        _layer("LazyInstanceNorm3d", lambda: _sized(nn.LazyInstanceNorm3d(affine=True),
                                                    1, 2, 2, 2, 3), x2(1, 2, 2, 2, 3)),
        _layer("SyncBatchNorm (one process: batch statistics)", lambda: nn.SyncBatchNorm(3),
               x2(4, 3, 2)),
        _layer("FractionalMaxPool2d (fixed samples)",
               lambda: nn.FractionalMaxPool2d((2, 3), output_size=(3, 2),
                                              _random_samples=u2),
               x2(1, 2, 5, 6, draw=_distinct)),
        _layer("FractionalMaxPool3d (fixed samples)",
               lambda: nn.FractionalMaxPool3d(2, output_size=(2, 3, 2), _random_samples=u3),
               x2(1, 1, 4, 4, 5, draw=_distinct)),
        _layer("AdaptiveLogSoftmaxWithLoss (fixed targets)", lambda: _asm_on_fixed_targets(nn),
               x2(3, 6)),
    ]


def _signs(rng, *shape):
    """±1 labels (a constant target)."""
    return _T(rng.choice([-1.0, 1.0], size=shape), False)


def _more_layer_cases(x2, signs):
    """Pooling, normalization, block, padding layers and margin/likelihood losses."""
    import minigrad as mg
    from minigrad import nn

    def ranking(rng, m=0.1):
        # x₂ = x₁ + y·(z − m) puts the hinge argument −y·(x₁ − x₂) + m at z, |z| ≥ 0.2
        a, y = rng.standard_normal(4), rng.choice([-1.0, 1.0], size=4)
        z = rng.choice([-1.0, 1.0], size=4) * rng.uniform(0.2, 1.0, size=4)
        return _T(a), _T(a + y * (z - m)), _T(y, False)

    widths = {"1d": (1, 2), "2d": (1, 2, 2, 1)}
    return [
        _layer("AdaptiveMaxPool1d", lambda: nn.AdaptiveMaxPool1d(3), x2(2, 2, 7, draw=_distinct)),
        _layer("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d((2, 3)),
               x2(1, 2, 5, 4, draw=_distinct)),
        _layer("InstanceNorm1d", lambda: nn.InstanceNorm1d(3, affine=True), x2(2, 3, 5)),
        _layer("InstanceNorm2d", lambda: nn.InstanceNorm2d(2, affine=True), x2(2, 2, 3, 3)),
        _layer("RMSNorm", lambda: nn.RMSNorm(4), x2(3, 4)),
        _layer("LocalResponseNorm", lambda: nn.LocalResponseNorm(3, alpha=0.5, k=2.0),
               x2(2, 4, 3)),
        _layer("Fold", lambda: nn.Fold((4, 5), 2, stride=(1, 2)), x2(2, 8, 6)),
        _layer("Unfold", lambda: nn.Unfold((2, 3), padding=1, stride=2), x2(1, 2, 4, 5)),
        _layer("PixelShuffle", lambda: nn.PixelShuffle(2), x2(1, 8, 2, 3)),
        _layer("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), x2(1, 2, 4, 6)),
        *[_layer(f"{name}{d}", lambda name=name, d=d: getattr(nn, f"{name}{d}")(widths[d]),
                 x2(2, 3, 4) if d == "1d" else x2(1, 2, 3, 4))
          for name in ("ZeroPad", "ReflectionPad", "ReplicationPad", "CircularPad")
          for d in ("1d", "2d")],
        _layer("ConstantPad1d", lambda: nn.ConstantPad1d((2, 1), 0.5), x2(2, 3)),
        _layer("ConstantPad2d", lambda: nn.ConstantPad2d(1, -1.0), x2(2, 2, 3)),
        # ----------------------------------------------------------- margin losses
        _layer("MarginRankingLoss", lambda: nn.MarginRankingLoss(margin=0.1), ranking),
        _layer("HingeEmbeddingLoss", lambda: nn.HingeEmbeddingLoss(margin=1.0),
               lambda rng: (_T(1.0 + _away(rng, 6).data), signs(rng, 6))),
        _layer("CosineEmbeddingLoss", lambda: nn.CosineEmbeddingLoss(margin=-0.9),
               lambda rng: (_normal(rng, 3, 4), _normal(rng, 3, 4), signs(rng, 3))),
        _layer("MultiheadAttention (bias_kv, weights too)",
               lambda: nn.MultiheadAttention(4, 2, add_bias_kv=True),
               lambda rng: (_normal(rng, 3, 2, 4), _normal(rng, 3, 2, 4),
                            _normal(rng, 3, 2, 4))),
        _layer("MultiheadAttention (cross, kdim/vdim, batch_first)",
               lambda: nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True),
               lambda rng: (_normal(rng, 2, 3, 4), _normal(rng, 2, 5, 3),
                            _normal(rng, 2, 5, 5))),
        _layer("RNNCell (relu)", lambda: nn.RNNCell(3, 4, nonlinearity="relu"),
               lambda rng: (_normal(rng, 2, 3), _away(rng, 2, 4))),
        _layer("LSTMCell", lambda: nn.LSTMCell(3, 4),
               lambda rng: (_normal(rng, 2, 3), (_normal(rng, 2, 4), _normal(rng, 2, 4)))),
        _layer("GRUCell", lambda: nn.GRUCell(3, 4), lambda rng: (_normal(rng, 2, 3),)),
        _layer("RNN (2 layers, bidirectional)",
               lambda: nn.RNN(3, 4, num_layers=2, bidirectional=True), x2(3, 2, 3)),
        _layer("LSTM (batch_first, proj_size)",
               lambda: nn.LSTM(3, 4, batch_first=True, proj_size=2), x2(2, 3, 3)),
        _layer("GRU (2 layers)", lambda: nn.GRU(3, 4, num_layers=2), x2(3, 2, 3)),
        _layer("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(
                   4, 2, dim_feedforward=6, dropout=0.0, activation="gelu"),
               x2(3, 2, 4)),
        _layer("TransformerDecoderLayer (norm_first)", lambda: nn.TransformerDecoderLayer(
                   4, 2, dim_feedforward=6, dropout=0.0, norm_first=True),
               lambda rng: (_normal(rng, 3, 2, 4), _normal(rng, 5, 2, 4))),
        _layer("TransformerEncoder", lambda: nn.TransformerEncoder(
                   nn.TransformerEncoderLayer(4, 2, 6, 0.0, batch_first=True), 2),
               x2(2, 3, 4)),
        _layer("TransformerDecoder", lambda: nn.TransformerDecoder(
                   nn.TransformerDecoderLayer(4, 2, 6, 0.0), 2, norm=nn.LayerNorm(4)),
               lambda rng: (_normal(rng, 3, 2, 4), _normal(rng, 5, 2, 4))),
        _layer("Transformer", lambda: nn.Transformer(4, 2, 1, 1, 6, 0.0, batch_first=True),
               lambda rng: (_normal(rng, 2, 3, 4), _normal(rng, 2, 2, 4))),
        _layer("PairwiseDistance", lambda: nn.PairwiseDistance(p=3.0),
               lambda rng: (_normal(rng, 3, 4), _normal(rng, 3, 4))),
        _layer("CosineSimilarity", lambda: nn.CosineSimilarity(dim=1),
               lambda rng: (_normal(rng, 3, 4), _normal(rng, 3, 4))),
        _layer("TripletMarginLoss", lambda: nn.TripletMarginLoss(margin=5.0, swap=True),
               lambda rng: (_normal(rng, 3, 4), _normal(rng, 3, 4), _normal(rng, 3, 4))),
        _layer("TripletMarginWithDistanceLoss", lambda: nn.TripletMarginWithDistanceLoss(
                   distance_function=lambda x, y: 1.0 - nn.functional.cosine_similarity(x, y),
                   margin=3.0, swap=True),
               lambda rng: (_normal(rng, 3, 4), _normal(rng, 3, 4), _normal(rng, 3, 4))),
        _layer("SoftMarginLoss", lambda: nn.SoftMarginLoss(),
               lambda rng: (_normal(rng, 3, 4), signs(rng, 3, 4))),
        _layer("MultiLabelSoftMarginLoss",
               lambda: nn.MultiLabelSoftMarginLoss(weight=mg.tensor([0.5, 1.0, 2.0])),
               lambda rng: (_normal(rng, 4, 3),
                            _T(rng.integers(0, 2, size=(4, 3)).astype(float), False))),
        _layer("MultiMarginLoss",
               lambda: nn.MultiMarginLoss(p=2, margin=0.55, weight=mg.tensor([0.5, 1.0, 2.0])),
               lambda rng: (_distinct(rng, 4, 3), _labels(rng, 4, 3))),
        # ----------------------------------------------------------- likelihoods
        _layer("PoissonNLLLoss", lambda: nn.PoissonNLLLoss(full=True),
               lambda rng: (_normal(rng, 3, 4),
                            _T(rng.integers(0, 5, size=(3, 4)).astype(float), False))),
        _layer("GaussianNLLLoss", lambda: nn.GaussianNLLLoss(full=True),
               lambda rng: (_normal(rng, 3, 2), _T(rng.standard_normal((3, 2)), False),
                            _positive(rng, 3, 1))),
    ]


def _all_cases():
    return _op_cases() + _layer_cases()


class _Cases:
    """The case list, built on first use (building imports the whole package)."""

    _cases = None

    def __iter__(self):
        return iter(self.get())

    def __len__(self):
        return len(self.get())

    def get(self):
        if _Cases._cases is None:
            _Cases._cases = _all_cases()
        return _Cases._cases


#: every case, ops first
CASES = _Cases()


def get_case(name):
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(f"no gradcheck case named {name!r}")


# --------------------------------------------------------------------------- running
def _float_outputs(out):
    from minigrad.dtypes import is_floating
    from minigrad.tensor import Tensor

    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and is_floating(o.dtype)]


def run_case(case, seed=0, second_order=False):
    """Check one case with :func:`minigrad.gradcheck_report` (every element, the
    cotangents drawn from ``seed``): its verdict and worst errors fill the
    :class:`CaseResult`, its table is the message of a failure. ``passed`` is None when
    the case is skipped."""
    import minigrad as mg
    from minigrad import random as _random

    if case.needs_cuda and not mg.cuda.is_available():
        return CaseResult(case.name, case.kind, None, message="skipped: needs CUDA")
    state = _random.get_rng_state()
    start = time.perf_counter()
    settings = dict(eps=case.eps, atol=case.atol, rtol=case.rtol, mode="full", seed=seed)
    try:
        fn, inputs = case.build(np.random.default_rng(seed))
        report = mg.gradcheck_report(fn, inputs, **settings)
        result = CaseResult(case.name, case.kind, report.passed,
                            max_rel_error=report.max_rel_error,
                            max_abs_error=report.max_abs_error,
                            n_checked=report.n_checked,
                            message="" if report.passed else str(report), report=report)
        if second_order:
            try:
                second = mg.gradgradcheck_report(fn, inputs, **settings)
                result.gradgrad, result.gradgrad_report = second.passed, second
                if not second.passed:
                    result.message = "\n".join(filter(None, [result.message, str(second)]))
            except (RuntimeError, NotImplementedError, TypeError, ValueError) as e:
                result.gradgrad = False
                result.message = f"gradgradcheck: {type(e).__name__}: {e}"
    except Exception as e:  # a case that cannot even run is a failure, with its reason
        result = CaseResult(case.name, case.kind, False, message=f"{type(e).__name__}: {e}")
    finally:
        _random.set_rng_state(state)
    result.seconds = time.perf_counter() - start
    return result


def run_catalog(cases=None, pattern=None, kind=None, seed=0, second_order=False,
                progress=None):
    """Run the cases (all by default; ``pattern``: a case-insensitive substring of the
    name; ``kind``: "op" or "layer"); returns the list of :class:`CaseResult`."""
    cases = list(CASES) if cases is None else list(cases)
    if pattern:
        cases = [c for c in cases if pattern.lower() in c.name.lower()]
    if kind:
        cases = [c for c in cases if c.kind == kind]
    results = []
    for case in cases:
        results.append(run_case(case, seed, second_order))
        if progress is not None:
            progress(results[-1])
    return results


def format_table(results):
    """A markdown pass/fail table with the worst errors of each case."""
    second = any(r.gradgrad is not None for r in results)
    head = ["case", "kind", "result", "max rel error", "max abs error", "elements", "time"]
    if second:
        head.insert(3, "gradgrad")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        status = "skipped" if r.passed is None else ("pass" if r.passed else "FAIL")
        row = [r.name, r.kind, status,
               "" if r.passed is None else f"{r.max_rel_error:.1e}",
               "" if r.passed is None else f"{r.max_abs_error:.1e}",
               str(r.n_checked), f"{r.seconds:.2f} s"]
        if second:
            row.insert(3, "" if r.gradgrad is None else ("pass" if r.gradgrad else "FAIL"))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- coverage
def functions_reached(case, seed=0, second_order=True):
    """Names of the Function classes in the graph of the case's outputs, of their
    gradients (built with ``create_graph=True``) and, with ``second_order``, of the
    gradients of those (the ops that only the backward of a backward uses)."""
    import minigrad as mg
    from minigrad import random as _random

    state = _random.get_rng_state()
    try:
        fn, inputs = case.build(np.random.default_rng(seed))
        xs = [x for x in inputs if getattr(x, "requires_grad", False)]
        with mg.enable_grad():
            outs = [o for o in _float_outputs(fn(*inputs)) if o.requires_grad]
            roots = list(outs)
            if outs:
                # cotangents that require grad, so that every backward op is recorded
                vs = [mg.ones_like(o).requires_grad_() for o in outs]
                grads = mg.autograd.grad(outs, xs, vs, create_graph=True, allow_unused=True)
                grads = [g for g in grads if g is not None and g.requires_grad]
                roots += grads
                if second_order and grads:  # the ops of the backward of the backward
                    ws = [mg.ones_like(g).requires_grad_() for g in grads]
                    roots += [g for g in mg.autograd.grad(grads, xs + vs, ws,
                                                          create_graph=True, allow_unused=True)
                              if g is not None]
    finally:
        _random.set_rng_state(state)
    seen, names = set(), set()
    stack = [t.creator for t in roots if getattr(t, "creator", None) is not None]
    while stack:  # iterative walk: deep graphs must not overflow the stack
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        names.add(type(f).__name__)
        for x in f.inputs or ():
            if getattr(x, "creator", None) is not None:
                stack.append(x.creator)
    return names


def _function_subclasses(package):
    from minigrad.autograd.function import Function

    pkg = importlib.import_module(package)
    modules = [pkg] + [importlib.import_module(f"{package}.{m.name}")
                       for m in pkgutil.iter_modules(pkg.__path__)]
    found = {}
    for mod in modules:
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, Function) and obj is not Function \
                    and obj.__module__ == mod.__name__ and not name.startswith("_"):
                found[name] = obj
    return found


def op_functions():
    """name → class of every public ``Function`` subclass defined in ``minigrad.ops``."""
    return _function_subclasses("minigrad.ops")


def nn_functions():
    """name → class of every public ``Function`` subclass defined in ``minigrad.nn``."""
    return _function_subclasses("minigrad.nn")


def nn_layer_classes():
    """name → class of every Module subclass in ``minigrad.nn.__all__`` except the
    containers without a forward (:data:`CONTAINERS`) and the bases (:data:`BASES`)."""
    from minigrad import nn

    out = {}
    for name in nn.__all__:
        obj = getattr(nn, name, None)
        if inspect.isclass(obj) and issubclass(obj, nn.Module) and \
                name not in CONTAINERS + BASES:
            out[name] = obj
    return out
