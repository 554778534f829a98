"""Rounding, more logs and exps, predicates, nan_to_num, prod/cumprod, sorting and
scatter, worked out by hand (or with NumPy): integer dtypes, empty tensors, zeros in
products, ties and NaN in sorts, repeated targets in scatters.

The tests at the end ask PyTorch itself, when it is installed; each fetches it with
``pytest.importorskip`` inside the test, so the rest of the file runs without it. The
random inputs of op_specs.py (gradcheck, gradgradcheck) cover the same ops too.
"""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_close


def _t(values, dtype=None, requires_grad=False):
    return mg.tensor(values, dtype=dtype, requires_grad=requires_grad)


def _grad(f, x, gy=None):
    """d(sum(gy·f(x)))/dx for a float64 leaf made from ``x``."""
    x = _t(x, mg.float64, requires_grad=True)
    y = f(x)
    y.backward(mg.ones_like(y) if gy is None else _t(gy, mg.float64))
    return x.grad


# --------------------------------------------------------------------- rounding


def test_round_is_half_to_even():
    x = _t([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, 2.51])
    assert_close(x.round(), np.array([0.0, 2.0, 2.0, -0.0, -2.0, 0.0, 3.0], np.float32))


def test_round_with_decimals():
    x = _t([1.25, 1.35, -0.05, 3.14159], mg.float64)
    # rint(12.5) = 12, rint(13.5) = 14, rint(-0.5) = -0
    assert_close(x.round(decimals=1), np.array([1.2, 1.4, -0.0, 3.1]))
    assert_close(mg.round(x, decimals=3), np.array([1.25, 1.35, -0.05, 3.142]))
    y = _t([1250.0, 1350.0, -150.0, 49.0], mg.float64)
    assert_close(y.round(decimals=-2), np.array([1200.0, 1400.0, -200.0, 0.0]))


@pytest.mark.parametrize("name, expected", [
    ("floor", [-2.0, -1.0, 0.0, 1.0, 2.0]),
    ("ceil", [-1.0, -0.0, 1.0, 2.0, 2.0]),
    ("trunc", [-1.0, -0.0, 0.0, 1.0, 2.0]),
    ("fix", [-1.0, -0.0, 0.0, 1.0, 2.0]),
    ("round", [-2.0, -0.0, 0.0, 2.0, 2.0]),
    ("frac", [-0.5, -0.25, 0.25, 0.75, 0.0]),
])
def test_rounding_values(name, expected):
    x = _t([-1.5, -0.25, 0.25, 1.75, 2.0])
    y = getattr(x, name)()
    assert y.dtype == mg.float32
    assert_close(y, np.array(expected, np.float32))
    assert_close(getattr(mg, name)(x), y)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
@pytest.mark.parametrize("dtype", [mg.int32, mg.int64])
def test_rounding_keeps_integer_dtypes(name, dtype):
    x = _t([-3, 0, 7], dtype)
    y = getattr(x, name)()
    assert y.dtype == dtype
    assert y.tolist() == [-3, 0, 7]


def test_frac_of_integers_is_zero_and_sign_of_bool_is_itself():
    y = _t([-3, 4], mg.int32).frac()                # PyTorch refuses integers here
    assert y.dtype == mg.int32 and y.tolist() == [0, 0]
    b = _t([True, False]).sign()
    assert b.dtype == mg.bool and b.tolist() == [True, False]
    s = _t([math.nan, -0.0, -2.0, 3.0]).sign()      # PyTorch: sign(nan) = 0
    assert s.tolist() == [0.0, 0.0, -1.0, 1.0] and str(s.tolist()[1]) == "0.0"


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_step_functions_have_zero_gradient(name):
    gx = _grad(lambda x: getattr(x, name)() * 3.0, [-1.3, 0.4, 2.7])
    assert_close(gx, np.zeros(3))


def test_frac_gradient_is_one():
    assert_close(_grad(lambda x: x.frac(), [-1.3, 0.4, 2.7], [2.0, -1.0, 0.5]),
                 np.array([2.0, -1.0, 0.5]))


def test_rounding_empty_tensors():
    for name in ("floor", "ceil", "round", "trunc", "frac", "tan", "log2"):
        y = getattr(mg.zeros(0, 3), name)()
        assert y.shape == (0, 3) and y.dtype == mg.float32


# --------------------------------------------------------------------- logs and exps


def test_tan_expm1_exp2_log2_log10_values_and_gradients():
    x = np.array([0.25, 0.5, 2.0])
    cases = {
        "tan": (np.tan(x), 1 / np.cos(x) ** 2),
        "expm1": (np.expm1(x), np.exp(x)),
        "exp2": (2.0**x, 2.0**x * math.log(2)),
        "log2": (np.log(x) / math.log(2), 1 / (x * math.log(2))),
        "log10": (np.log(x) / math.log(10), 1 / (x * math.log(10))),
    }
    for name, (value, slope) in cases.items():
        assert_close(getattr(_t(x, mg.float64), name)(), value, rtol=1e-12)
        assert_close(_grad(lambda t, name=name: getattr(t, name)(), x), slope, rtol=1e-12)
        assert_close(getattr(mg, name)(_t(x, mg.float64)), value, rtol=1e-12)


def test_expm1_is_accurate_near_zero():
    assert _t([1e-10], mg.float64).expm1().item() == pytest.approx(1e-10, rel=1e-12)


@pytest.mark.parametrize("name", ["tan", "expm1", "exp2", "log2", "log10", "reciprocal"])
def test_integer_inputs_give_float32(name):
    y = getattr(_t([1, 2, 4]), name)()
    assert y.dtype == mg.float32
    ref = {"tan": np.tan, "expm1": np.expm1, "exp2": np.exp2, "log2": np.log2,
           "log10": np.log10, "reciprocal": lambda v: 1 / v}[name]
    assert_close(y, ref(np.array([1.0, 2.0, 4.0])).astype(np.float32), rtol=1e-6)


def test_log2_log10_of_zero_and_negatives_are_silent():
    y = _t([0.0, -1.0, 8.0]).log2()
    assert y.tolist()[0] == -math.inf and math.isnan(y.tolist()[1]) and y.tolist()[2] == 3.0
    assert _t([1000.0]).log10().item() == pytest.approx(3.0)


def test_square_and_reciprocal_functions():
    assert mg.square(_t([-3, 2])).tolist() == [9, 4]
    assert mg.square(_t([-3, 2])).dtype == mg.int64
    assert_close(mg.reciprocal(_t([2.0, -4.0])), np.array([0.5, -0.25], np.float32))


# --------------------------------------------------------------------- predicates


def test_predicates():
    inf, nan = math.inf, math.nan
    x = _t([1.0, inf, -inf, nan, 0.0])
    expect = {
        "isnan": [False, False, False, True, False],
        "isinf": [False, True, True, False, False],
        "isfinite": [True, False, False, False, True],
        "isposinf": [False, True, False, False, False],
        "isneginf": [False, False, True, False, False],
    }
    for name, values in expect.items():
        y = getattr(x, name)()
        assert y.dtype == mg.bool and y.tolist() == values and not y.requires_grad
        assert getattr(mg, name)(x).tolist() == values
    ints = _t([1, 2])
    assert ints.isinf().tolist() == [False, False] and ints.isfinite().tolist() == [True, True]
    assert x.requires_grad_().isnan().requires_grad is False


def test_nan_to_num_values():
    inf, nan = math.inf, math.nan
    x = _t([nan, inf, -inf, 1.5])
    big = float(np.finfo(np.float32).max)
    assert x.nan_to_num().tolist() == [0.0, big, -big, 1.5]
    assert mg.nan_to_num(x, nan=2.0, posinf=9.0, neginf=-9.0).tolist() == [2.0, 9.0, -9.0, 1.5]
    assert _t([nan, inf], mg.float64).nan_to_num().tolist()[1] == np.finfo(np.float64).max
    assert _t([1, 2]).nan_to_num().tolist() == [1, 2]


def test_nan_to_num_gradient_passes_where_finite():
    x = _t([-1.0, 4.0, -2.0], mg.float64, requires_grad=True)
    y = x.log().nan_to_num(nan=7.0)                 # log: nan, finite, nan
    assert y.tolist() == [7.0, math.log(4.0), 7.0]
    y.backward(_t([1.0, 2.0, 3.0], mg.float64))
    assert x.grad.tolist() == [0.0, 0.5, 0.0]
    assert _t([0.0]).log().nan_to_num(neginf=-5.0).tolist() == [-5.0]


def test_any_all_with_dim_and_keepdim():
    x = _t([[True, False], [False, False]])
    assert mg.any(x).item() is True and mg.all(x).item() is False
    assert x.any(dim=1).tolist() == [True, False]
    assert mg.all(_t([[1, 2], [0, 3]]), dim=0, keepdim=True).tolist() == [[False, True]]
    assert mg.any(mg.zeros(0)).item() is False and mg.all(mg.zeros(0)).item() is True


# --------------------------------------------------------------------- prod and cumprod


def test_prod_values_and_dtypes():
    x = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.prod().item() == 720.0
    assert x.prod(1).tolist() == [6.0, 120.0]
    assert x.prod(0, keepdim=True).shape == (1, 3)
    assert mg.prod(x, -1).tolist() == [6.0, 120.0]
    assert _t([2, 3], mg.int32).prod().dtype == mg.int64          # as PyTorch
    assert _t([True, True]).prod().dtype == mg.int64
    assert mg.zeros(0).prod().item() == 1.0                       # empty product
    assert mg.zeros(2, 0).prod(1).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="prod"):
        x.prod((0, 1))                                            # PyTorch: one int dim


@pytest.mark.parametrize("x, expected", [
    ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),       # no zeros: y / x
    ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),        # one zero: only it gets the others' product
    ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),        # two zeros: all 0
    ([5.0], [1.0]),
])
def test_prod_gradient_with_zeros(x, expected):
    assert_close(_grad(lambda t: t.prod(), x), np.array(expected))


def test_prod_gradient_along_a_dim_with_zeros():
    gx = _grad(lambda t: t.prod(dim=0), [[2.0, 0.0, 0.0], [3.0, 5.0, 0.0]], [1.0, 2.0, 3.0])
    assert_close(gx, np.array([[3.0, 10.0, 0.0], [2.0, 0.0, 0.0]]))


def test_prod_second_derivative_with_a_zero():
    # f = a·b·c: the Hessian is [[0, c, b], [c, 0, a], [b, a, 0]], here at (2, 0, 4)
    x = _t([2.0, 0.0, 4.0], mg.float64, requires_grad=True)
    (g,) = mg.autograd.grad(x.prod(), x, create_graph=True)
    rows = [mg.autograd.grad(g[i], x, retain_graph=True)[0].tolist() for i in range(3)]
    assert rows == [[0.0, 4.0, 0.0], [4.0, 0.0, 2.0], [0.0, 2.0, 0.0]]


def test_cumprod_values_and_gradients():
    x = _t([[2.0, 3.0, 4.0]], mg.float64)
    assert x.cumprod(1).tolist() == [[2.0, 6.0, 24.0]]
    assert mg.cumprod(x, 0).tolist() == [[2.0, 3.0, 4.0]]
    # gxⱼ = Σ_{i ≥ j} Π_{k ≤ i, k ≠ j} xₖ
    assert_close(_grad(lambda t: t.cumprod(0), [2.0, 3.0, 4.0]), np.array([16.0, 10.0, 6.0]))
    assert_close(_grad(lambda t: t.cumprod(0), [2.0, 0.0, 4.0]), np.array([1.0, 10.0, 0.0]))
    assert_close(_grad(lambda t: t.cumprod(0), [0.0, 3.0, 0.0]), np.array([4.0, 0.0, 0.0]))


def test_cumprod_dtypes_and_edge_shapes():
    assert _t([1, 2, 3], mg.int32).cumprod(0).dtype == mg.int64
    assert _t([1, 2, 3], mg.int32).cumprod(0).tolist() == [1, 2, 6]
    assert _t(3.0).cumprod(0).item() == 3.0
    assert mg.zeros(0, 2).cumprod(0).shape == (0, 2)


def test_cumprod_second_derivative_with_a_zero():
    # y = (a, ab, abc); Σ y = a + ab + abc; Hessian [[0, 1 + c, b], [1 + c, 0, a], [b, a, 0]]
    x = _t([2.0, 0.0, 4.0], mg.float64, requires_grad=True)
    (g,) = mg.autograd.grad(x.cumprod(0).sum(), x, create_graph=True)
    rows = [mg.autograd.grad(g[i], x, retain_graph=True)[0].tolist() for i in range(3)]
    assert rows == [[0.0, 5.0, 0.0], [5.0, 0.0, 2.0], [0.0, 2.0, 0.0]]


# --------------------------------------------------------------------- sorting


def test_sort_values_indices_and_ties():
    x = _t([3.0, 1.0, 3.0, 2.0])
    values, indices = x.sort()
    assert values.tolist() == [1.0, 2.0, 3.0, 3.0] and indices.tolist() == [1, 3, 0, 2]
    assert indices.dtype == mg.int64
    out = mg.sort(x, descending=True)
    assert out.values.tolist() == [3.0, 3.0, 2.0, 1.0]
    assert out.indices.tolist() == [0, 2, 3, 1]         # ties keep index order (stable)
    assert x.argsort(descending=True, stable=True).tolist() == [0, 2, 3, 1]
    assert mg.argsort(x).tolist() == [1, 3, 0, 2]


def test_sort_nan_is_largest():
    nan = math.nan
    v, i = _t([2.0, nan, 1.0]).sort()
    assert v.tolist()[:2] == [1.0, 2.0] and math.isnan(v.tolist()[2]) and i.tolist() == [2, 0, 1]
    v, i = _t([2.0, nan, 1.0]).sort(descending=True)
    assert math.isnan(v.tolist()[0]) and i.tolist() == [1, 0, 2]


def test_sort_along_a_dim_integers_bool_and_0d():
    x = _t([[3, 1], [0, 2]])
    assert x.sort(dim=0).values.tolist() == [[0, 1], [3, 2]]
    assert x.sort(dim=0).indices.tolist() == [[1, 0], [0, 1]]
    assert x.sort().values.dtype == mg.int64
    b = _t([True, False, True]).sort(descending=True)
    assert b.values.tolist() == [True, True, False] and b.indices.tolist() == [0, 2, 1]
    s = _t(5.0).sort()
    assert s.values.item() == 5.0 and s.indices.item() == 0
    e = mg.zeros(2, 0).sort()
    assert e.values.shape == (2, 0) and e.indices.shape == (2, 0)


def test_sort_gradient_goes_back_to_the_source_positions():
    gx = _grad(lambda t: t.sort(descending=True).values, [1.0, 3.0, 2.0], [10.0, 20.0, 30.0])
    assert gx.tolist() == [30.0, 10.0, 20.0]


def test_topk():
    x = _t([[1.0, 5.0, 3.0, 4.0], [9.0, 0.0, 8.0, 7.0]])
    v, i = x.topk(2)
    assert v.tolist() == [[5.0, 4.0], [9.0, 8.0]] and i.tolist() == [[1, 3], [0, 2]]
    v, i = mg.topk(x, 1, dim=0, largest=False)
    assert v.tolist() == [[1.0, 0.0, 3.0, 4.0]] and i.tolist() == [[0, 1, 0, 0]]
    assert x.topk(0).values.shape == (2, 0)
    with pytest.raises(ValueError, match="topk"):
        x.topk(5)
    gx = _grad(lambda t: t.topk(2).values, [1.0, 5.0, 3.0, 4.0], [1.0, 2.0])
    assert gx.tolist() == [0.0, 1.0, 0.0, 2.0]


def test_kthvalue():
    x = _t([[3.0, 1.0, 2.0], [0.0, 6.0, 5.0]])
    v, i = x.kthvalue(2)
    assert v.tolist() == [2.0, 5.0] and i.tolist() == [2, 2]
    v, i = mg.kthvalue(x, 1, dim=0, keepdim=True)
    assert v.tolist() == [[0.0, 1.0, 2.0]] and i.tolist() == [[1, 0, 0]]
    with pytest.raises(ValueError, match="kthvalue"):
        x.kthvalue(4)
    gx = _grad(lambda t: t.kthvalue(3).values, [3.0, 1.0, 2.0])
    assert gx.tolist() == [1.0, 0.0, 0.0]


def test_median_is_the_lower_median():
    assert _t([4.0, 1.0, 3.0, 2.0]).median().item() == 2.0
    assert mg.median(_t([5, 1, 3])).item() == 3
    v, i = _t([[4.0, 1.0, 3.0, 2.0], [0.0, 9.0, 8.0, 7.0]]).median(dim=1)
    assert v.tolist() == [2.0, 7.0] and i.tolist() == [3, 3]
    v, i = _t([[4.0, 1.0], [3.0, 2.0]]).median(0, keepdim=True)
    assert v.shape == (1, 2) and v.tolist() == [[3.0, 1.0]]
    assert math.isnan(mg.zeros(0).median().item())
    gx = _grad(lambda t: t.median(), [4.0, 1.0, 3.0, 2.0])
    assert gx.tolist() == [0.0, 0.0, 0.0, 1.0]                 # one element gets it all


def test_median_of_a_slice_with_nan_is_nan():
    nan = math.nan
    v, i = _t([[3.0, nan, 1.0], [1.0, 2.0, 3.0]]).median(1)
    assert math.isnan(v.tolist()[0]) and i.tolist()[0] == 1 and v.tolist()[1] == 2.0
    assert math.isnan(_t([1.0, nan]).median().item())


# --------------------------------------------------------------------- scatter


def test_scatter_src_and_value():
    x = mg.zeros(3, 4)
    index = _t([[0, 1, 2, 0], [2, 2, 1, 1]])
    src = mg.arange(1.0, 9.0).reshape(2, 4)
    y = x.scatter(0, index, src)
    assert y.tolist() == [[1, 0, 0, 4], [0, 2, 7, 8], [5, 6, 3, 0]]
    assert x.tolist() == [[0.0] * 4] * 3                           # out of place
    assert mg.scatter(x, 1, _t([[3], [0]]), 7.0).tolist() == [[0, 0, 0, 7], [7, 0, 0, 0],
                                                               [0, 0, 0, 0]]
    assert x.scatter(1, _t([[3]]), value=-1.0).tolist()[0] == [0, 0, 0, -1]


def test_scatter_repeated_target_keeps_the_last_write():
    y = mg.zeros(3).scatter(0, _t([1, 1, 2, 1]), _t([1.0, 2.0, 3.0, 4.0]))
    assert y.tolist() == [0.0, 4.0, 3.0]


def test_scatter_gradients():
    x = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], mg.float64, requires_grad=True)
    src = _t([[10.0, 20.0, 30.0, 40.0]], mg.float64, requires_grad=True)   # wider than index
    index = _t([[2, 0, 0]])
    y = x.scatter(1, index, src)                  # row 0: position 0 written twice (20 wins)
    assert y.tolist() == [[30.0, 2.0, 10.0], [4.0, 5.0, 6.0]]
    y.backward(_t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], mg.float64))
    assert x.grad.tolist() == [[0.0, 2.0, 0.0], [4.0, 5.0, 6.0]]   # 0 where overwritten
    assert src.grad.tolist() == [[3.0, 0.0, 1.0, 0.0]]             # the loser and src[3]: 0


def test_scatter_add_accumulates_and_its_gradients():
    x = _t([1.0, 2.0, 3.0], mg.float64, requires_grad=True)
    src = _t([10.0, 20.0, 30.0], mg.float64, requires_grad=True)
    y = mg.scatter_add(x, 0, _t([2, 0, 2]), src)
    assert y.tolist() == [21.0, 2.0, 43.0]
    y.backward(_t([1.0, 2.0, 3.0], mg.float64))
    assert x.grad.tolist() == [1.0, 2.0, 3.0]
    assert src.grad.tolist() == [3.0, 1.0, 3.0]
    assert x.detach().scatter_add(0, _t([0]), _t([5.0], mg.float64)).tolist() == [6.0, 2.0, 3.0]


def test_scatter_on_integers_empty_index_and_0d():
    x = _t([[1, 2], [3, 4]])
    assert x.scatter(1, _t([[1], [0]]), _t([[9], [8]])).tolist() == [[1, 9], [8, 4]]
    assert x.scatter(1, _t([[1], [0]]), 7).dtype == mg.int64
    assert x.scatter_add(0, _t([[1, 1]]), _t([[5, 6]])).tolist() == [[1, 2], [8, 10]]
    empty = mg.zeros((2, 0), dtype=mg.int64)
    assert x.scatter(0, empty, empty).tolist() == x.tolist()
    assert x.scatter_add(0, empty, empty).tolist() == x.tolist()
    assert _t(1.0).scatter(0, _t(0), _t(5.0)).item() == 5.0
    assert _t(1.0).scatter_add(0, _t(0), _t(5.0)).item() == 6.0


def test_scatter_refuses_what_pytorch_refuses():
    x = mg.zeros(2, 3)
    with pytest.raises(TypeError, match="dtype"):
        x.scatter(0, _t([[0]]), _t([[1.0]], mg.float64))
    with pytest.raises(IndexError, match="out of range"):
        x.scatter(0, _t([[2]]), 1.0)
    with pytest.raises(IndexError, match="out of range"):
        x.scatter_add(0, _t([[-1]]), mg.ones(1, 1))
    with pytest.raises(ValueError, match="index"):
        x.scatter(0, _t([0]), 1.0)                                   # fewer dims
    with pytest.raises(ValueError, match="larger"):
        x.scatter(0, _t([[0, 1, 0, 1]]), mg.ones(1, 4))              # wider than x
    with pytest.raises(ValueError, match="larger"):
        x.scatter_add(0, _t([[0, 1]]), mg.ones(1, 1))                # wider than src


# --------------------------------------------------------------------- PyTorch as oracle


_ELEMENTWISE = ["floor", "ceil", "round", "trunc", "frac", "sign", "tan", "expm1", "exp2",
                "log2", "log10", "reciprocal", "square", "isnan", "isinf", "isfinite",
                "isposinf", "isneginf", "nan_to_num"]


@pytest.mark.parametrize("name", _ELEMENTWISE)
def test_elementwise_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-3, 3, 20), [0.5, 1.5, -2.5, 0.0, np.inf, -np.inf,
                                                  np.nan]])
    if name in ("log2", "log10"):
        x = np.abs(x)
    with np.errstate(all="ignore"):
        for dtype in (np.float32, np.float64):
            expected = getattr(torch, name)(torch.tensor(x.astype(dtype))).numpy()
            got = getattr(mg, name)(mg.tensor(x.astype(dtype)))
            assert got.dtype == expected.dtype
            assert_close(got, expected, rtol=1e-6)
    if name not in ("frac", "nan_to_num"):                           # PyTorch refuses ints
        ints = np.array([-3, 0, 2, 5], np.int32)
        expected = getattr(torch, name)(torch.tensor(ints)).numpy()
        got = getattr(mg, name)(mg.tensor(ints))
        assert got.dtype == expected.dtype
        assert_close(got, expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "frac", "sign", "tan",
                                  "expm1", "exp2", "log2", "log10", "reciprocal", "square",
                                  "nan_to_num"])
def test_elementwise_gradients_match_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 1.4, 12) * rng.choice([-1, 1], 12)
    if name in ("log2", "log10"):
        x = np.abs(x)
    gy = rng.standard_normal(12)
    tx = torch.tensor(x, requires_grad=True)
    getattr(torch, name)(tx).backward(torch.tensor(gy))
    mx = mg.tensor(x, requires_grad=True)
    getattr(mg, name)(mx).backward(mg.tensor(gy))
    assert_close(mx.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_round_decimals_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([1.25, 1.35, -0.05, 2.675, 1234.5, -1250.0, 0.125, 1e30], np.float32)
    for d in (-3, -2, -1, 1, 2, 3):
        expected = torch.round(torch.tensor(x), decimals=d).numpy()
        assert_close(mg.round(mg.tensor(x), decimals=d), expected, rtol=1e-6)


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_prod_and_cumprod_with_zeros_match_pytorch_to_second_order(dim):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for _ in range(20):
        x = rng.integers(-2, 3, size=(3, 4)) * rng.uniform(0.5, 1.5, size=(3, 4))
        fns = [("prod", lambda t, m: t.prod() if dim is None else t.prod(dim))]
        if dim is not None:
            fns.append(("cumprod", lambda t, m: t.cumprod(dim)))
        for _name, f in fns:
            tx, mx = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
            ty, my = f(tx, torch), f(mx, mg)
            assert_close(my, ty.detach().numpy(), rtol=1e-12)
            gy, v = rng.standard_normal(my.shape), rng.standard_normal(x.shape)
            (tg,) = torch.autograd.grad(ty, tx, torch.tensor(gy), create_graph=True)
            (mg_,) = mg.autograd.grad(my, mx, mg.tensor(gy), create_graph=True)
            assert_close(mg_, tg.detach().numpy(), rtol=1e-10, atol=1e-12)
            (tgg,) = torch.autograd.grad(tg, tx, torch.tensor(v))
            (mgg,) = mg.autograd.grad(mg_, mx, mg.tensor(v))
            assert_close(mgg, tgg.numpy(), rtol=1e-10, atol=1e-12)


def test_prod_and_cumprod_dtypes_match_pytorch():
    torch = pytest.importorskip("torch")
    for values in ([1, 2, 3], [True, False]):
        for dtype in ((np.int32, np.int64) if values[0] is not True else (np.bool_,)):
            a = np.array(values, dtype)
            assert mg.prod(mg.tensor(a)).dtype == torch.prod(torch.tensor(a)).numpy().dtype
            assert (mg.cumprod(mg.tensor(a), 0).dtype
                    == torch.cumprod(torch.tensor(a), 0).numpy().dtype)


def test_sorting_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=(4, 6)).astype(np.float32)     # many ties
    x[1, 2] = x[3, 0] = np.nan
    for dim in (0, 1, -1):
        for descending in (False, True):
            t = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
            m = mg.sort(mg.tensor(x), dim=dim, descending=descending)
            assert_close(m.values, t.values.numpy())
            assert m.indices.tolist() == t.indices.tolist()
            ta = torch.argsort(torch.tensor(x), dim=dim, descending=descending, stable=True)
            assert mg.argsort(mg.tensor(x), dim, descending).tolist() == ta.tolist()
    y = rng.permutation(24).astype(np.float64).reshape(4, 6)    # distinct: indices agree
    for dim in (0, 1):
        for k in (1, 3):
            for largest in (True, False):
                t = torch.topk(torch.tensor(y), k, dim, largest)
                m = mg.topk(mg.tensor(y), k, dim, largest)
                assert m.values.tolist() == t.values.tolist()
                assert m.indices.tolist() == t.indices.tolist()
            t = torch.kthvalue(torch.tensor(y), k, dim, keepdim=True)
            m = mg.kthvalue(mg.tensor(y), k, dim, keepdim=True)
            assert m.values.tolist() == t.values.tolist()
            assert m.indices.tolist() == t.indices.tolist()
        t, m = torch.median(torch.tensor(y), dim), mg.median(mg.tensor(y), dim)
        assert m.values.tolist() == t.values.tolist()
        assert m.indices.tolist() == t.indices.tolist()
    assert mg.median(mg.tensor(y)).item() == torch.median(torch.tensor(y)).item()
    t = torch.median(torch.tensor(x), 1)
    m = mg.median(mg.tensor(x), 1)
    assert_close(m.values, t.values.numpy())


def test_sort_and_topk_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.permutation(20).astype(np.float64).reshape(4, 5)
    for f in (lambda t, lib: lib.sort(t, 0, descending=True)[0],
              lambda t, lib: lib.topk(t, 3, 1)[0] * 2,
              lambda t, lib: lib.kthvalue(t, 2, 0)[0],
              lambda t, lib: lib.median(t, 1)[0]):
        tx, mx = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
        ty, my = f(tx, torch), f(mx, mg)
        g = rng.standard_normal(my.shape)
        ty.backward(torch.tensor(g))
        my.backward(mg.tensor(g))
        assert_close(mx.grad, tx.grad.numpy())


def test_scatter_and_scatter_add_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 5))
    src = rng.standard_normal((3, 5))
    gy = rng.standard_normal((4, 5))
    for dim in (0, 1):
        # distinct targets for scatter (PyTorch leaves repeated ones undefined)
        index = np.stack([rng.permutation(4)[:3] for _ in range(5)], 1) if dim == 0 else \
            np.stack([rng.permutation(5) for _ in range(3)])
        dup = rng.integers(0, x.shape[dim], size=index.shape)
        for name, idx in (("scatter", index), ("scatter_add", dup)):
            tx, ts = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
            mx, ms = mg.tensor(x, requires_grad=True), mg.tensor(src, requires_grad=True)
            ty = getattr(torch, name)(tx, dim, torch.tensor(idx), ts)
            my = getattr(mg, name)(mx, dim, mg.tensor(idx), ms)
            assert_close(my, ty.detach().numpy(), rtol=1e-12)
            ty.backward(torch.tensor(gy))
            my.backward(mg.tensor(gy))
            assert_close(mx.grad, tx.grad.numpy())
            assert_close(ms.grad, ts.grad.numpy())
        tv = torch.tensor(x).scatter(dim, torch.tensor(index), 2.5)
        assert_close(mg.tensor(x).scatter(dim, mg.tensor(index), 2.5), tv.numpy())


# --------------------------------------------------------------------- review regressions


def test_max_min_argmax_along_a_nonempty_dim_of_an_empty_tensor_are_empty():
    x = mg.zeros(0, 3)
    values, indices = x.max(dim=1)
    assert values.shape == (0,) and indices.shape == (0,)
    assert x.argmin(1, keepdim=True).shape == (0, 1)
    with pytest.raises(ValueError, match="empty dim"):
        x.max(dim=0)


def test_sort_and_median_of_bfloat16_with_nan():
    if mg.bfloat16 is None:
        pytest.skip("needs ml_dtypes")
    x = mg.tensor([1.0, float("nan"), 0.0, 2.0, -1.0], dtype=mg.bfloat16)
    values, indices = x.sort()
    assert indices.tolist() == [4, 2, 0, 3, 1]           # NaN sorts last
    assert values.tolist()[:4] == [-1.0, 0.0, 1.0, 2.0]
    assert x.sort(descending=True).indices.tolist() == [1, 3, 0, 2, 4]
    m = mg.tensor([[3.0, 1.0, 0.0, 2.0], [1.0, float("nan"), 0.0, 2.0]], dtype=mg.bfloat16)
    values, indices = m.median(1)
    assert values.tolist()[0] == 1.0 and np.isnan(values.tolist()[1])
    assert indices.tolist() == [1, 1]
    assert mg.zeros(0, dtype=mg.bfloat16).median().dtype == mg.bfloat16


def test_nan_to_num_of_bfloat16_replaces():
    if mg.bfloat16 is None:
        pytest.skip("needs ml_dtypes")
    x = mg.tensor([float("nan"), float("inf"), -float("inf"), 1.0], dtype=mg.bfloat16)
    big = float(mg.dtypes.finfo(mg.bfloat16).max)
    assert x.nan_to_num().tolist() == [0.0, big, -big, 1.0]
    assert x.nan_to_num(nan=5.0, posinf=2.0, neginf=-3.0).tolist() == [5.0, 2.0, -3.0, 1.0]


def test_sign_of_bfloat16_nan_is_zero_without_warning():
    if mg.bfloat16 is None:
        pytest.skip("needs ml_dtypes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.tensor([1.5, -2.5, 0.0, float("nan")], dtype=mg.bfloat16).sign()
    assert y.tolist() == [1.0, -1.0, 0.0, 0.0]


def test_materialize_grads_gives_zeros_even_for_inf_inputs():
    x = mg.tensor([1.0, float("inf")], requires_grad=True)
    z = mg.tensor([2.0], requires_grad=True)
    _, gx = mg.autograd.grad((z * 2).sum(), [z, x], materialize_grads=True)
    assert gx.tolist() == [0.0, 0.0]


def test_masked_fill_keeps_the_tensor_dtype():
    y = mg.tensor([1, 2, 3]).masked_fill(mg.tensor([True, False, True]), 2.7)
    assert y.dtype == mg.int64 and y.tolist() == [2, 2, 2]
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.masked_fill(mg.tensor([True, False]), mg.tensor(3.0, dtype=mg.float64))
    assert y.dtype == mg.float32 and y.tolist() == [3.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_norm_of_half_precision_does_not_overflow(dtype):
    dt = getattr(mg, dtype)
    if dt is None:
        pytest.skip("needs ml_dtypes")
    x = mg.full((4,), 300.0, dtype=dt, requires_grad=True)
    y2, y3 = x.norm(), x.norm(p=3)                 # ‖x‖₂ = 300·2, ‖x‖₃ = 300·4^(1/3)
    assert y2.dtype == dt and y2.item() == 600.0
    assert abs(y3.item() - 300 * 4 ** (1 / 3)) < 2
    y2.backward()                                  # gx = x / ‖x‖ = 1/2
    assert x.grad.tolist() == [0.5] * 4


def test_gather_refuses_negative_and_out_of_range_indices():
    x = mg.tensor([1.0, 2.0, 3.0])
    for bad in ([-1], [3]):
        with pytest.raises(IndexError, match="gather: index out of range"):
            x.gather(0, mg.tensor(bad))
    with pytest.raises(ValueError, match="larger than the input"):
        mg.tensor([[1.0, 2.0, 3.0]]).gather(1, mg.tensor([[0], [1]]))


def test_div_trunc_of_integers_is_exact():
    a = mg.tensor([-7, 7, 2**62 + 1, -7])
    y = a.div(mg.tensor([2, -2, 1, -2]), rounding_mode="trunc")
    assert y.dtype == mg.int64 and y.tolist() == [-3, -3, 2**62 + 1, 3]


def test_clamp_with_a_nan_tensor_bound_gives_nan():
    n = float("nan")
    y = mg.tensor([1.0, 2.0, n, 5.0]).clamp(min=mg.tensor([n, 0.0, 0.0, 0.0]),
                                            max=mg.tensor([3.0, n, 3.0, 3.0]))
    assert np.isnan(y.numpy()[:3]).all() and y.tolist()[3] == 3.0


def test_clamp_gradient_on_a_bound_is_the_minimum_norm_subgradient(device):
    """As PyTorch's since 2.14: 0 at a number bound (relu's and hardtanh's rule), half each
    for x and a single tensor bound on a tie; with two bounds, one a tensor, x takes it."""
    gy = mg.tensor([1.0, 2.0, 4.0, 8.0], dtype=mg.float64, device=device)
    cases = [(lambda x: x.clamp(0.0, 1.0), [0.0, 2.0, 0.0, 0.0]),
             (lambda x: x.clamp(min=0.0), [0.0, 2.0, 4.0, 8.0]),
             (lambda x: x.clamp_max(1.0), [1.0, 2.0, 0.0, 0.0]),
             (lambda x: x.relu(), [0.0, 2.0, 4.0, 8.0]),
             (lambda x: mg.nn.functional.hardtanh(x, 0.0, 1.0), [0.0, 2.0, 0.0, 0.0])]
    for f, want in cases:
        x = mg.tensor([0.0, 0.5, 1.0, 2.0], dtype=mg.float64, device=device, requires_grad=True)
        f(x).backward(gy)
        assert x.grad.tolist() == want
    x = mg.tensor([0.0, 0.5, 1.0, 2.0], dtype=mg.float64, device=device, requires_grad=True)
    lo = mg.tensor([0.0, 1.0, 1.0, 1.0], dtype=mg.float64, device=device, requires_grad=True)
    y = x.clamp(min=lo)
    assert y.tolist() == [0.0, 1.0, 1.0, 2.0]
    y.backward(gy)
    assert x.grad.tolist() == [0.5, 0.0, 2.0, 8.0] and lo.grad.tolist() == [0.5, 2.0, 2.0, 0.0]
    x.grad = None
    hi = mg.tensor([0.0, 1.0, 1.0, 1.0], dtype=mg.float64, device=device, requires_grad=True)
    mg.clamp_max(x, hi).backward(gy)                                  # min(x, hi)
    assert x.grad.tolist() == [0.5, 2.0, 2.0, 0.0] and hi.grad.tolist() == [0.5, 0.0, 2.0, 8.0]
    x.grad = lo.grad = hi.grad = None
    x.clamp(lo, hi).backward(gy)                   # two bounds: x takes a tie, whole
    assert x.grad.tolist() == [1.0, 0.0, 4.0, 0.0] and lo.grad.tolist() == [0.0, 2.0, 0.0, 0.0]
    assert hi.grad.tolist() == [0.0, 0.0, 0.0, 8.0]
    n = float("nan")                               # the NaN in y takes the gradient
    x = mg.tensor([n, 1.0], dtype=mg.float64, device=device, requires_grad=True)
    lo = mg.tensor([0.0, n], dtype=mg.float64, device=device, requires_grad=True)
    x.clamp(min=lo).backward(gy[:2])
    assert x.grad.tolist() == [1.0, 0.0] and lo.grad.tolist() == [0.0, 2.0]


def test_arange_with_an_integer_dtype_truncates_the_bounds():
    assert mg.arange(0, 5.5, dtype=mg.int64).tolist() == [0, 1, 2, 3, 4]
    assert mg.arange(-0.5, 3, dtype=mg.int64).tolist() == [0, 1, 2]
    assert mg.arange(0, 5.5, 1.5, dtype=mg.int64).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="step must be nonzero"):
        mg.arange(0, 5, 0.5, dtype=mg.int64)


def test_quiet_forwards_restore_numpy_error_state():
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = _t([1.0, -1.0]) / _t([0.0, 0.0])                  # ±inf, silently
        assert y.tolist() == [float("inf"), -float("inf")]
        assert np.isnan(_t([-1.0]).log().item())
        with np.errstate(under="raise"):                      # a caller's own state survives
            _t([1.0]).exp()
            assert np.geterr()["under"] == "raise" and np.geterr()["divide"] == "warn"
    assert np.geterr() == before
    with pytest.raises(ValueError):                          # restored after an error too
        _t([1.0, 2.0]) / _t([1.0, 2.0, 3.0])
    assert np.geterr() == before


def test_clamp_keeps_a_half_dtype(half_dtype):
    """NumPy promotes bfloat16 with a Python float bound to float32; clamp (and the margin
    losses built on it) must stay in the input's dtype."""
    x = mg.tensor([-2.0, 0.5, 3.0]).to(dtype=half_dtype)
    for y in (x.clamp(min=0.0), x.clamp(max=1.0), x.clamp(-1.0, 1.0)):
        assert y.dtype == half_dtype
    assert x.clamp(min=0.0).float().tolist() == [0.0, 0.5, 3.0]


def test_integer_division_by_zero_is_refused():
    """NumPy's integer // 0 and % 0 give 0 quietly; PyTorch and Python raise."""
    a, b = mg.tensor([7, -7]), mg.tensor([2, 0])
    for fn in (lambda: a // b, lambda: a % b, lambda: a.div(b, rounding_mode="trunc"),
               lambda: a // 0):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            fn()
    assert (a // mg.tensor([2, -3])).tolist() == [3, 2]            # floor: −7 // −3 = 2
    assert (mg.tensor([7.0]) // 0).tolist() == [float("inf")]       # floats: inf, as IEEE


def test_integer_tensor_to_a_numpy_float_power_is_float32():
    x = mg.tensor([1, 4, 9])
    assert (x ** np.float32(0.5)).dtype == mg.float32
    assert (x ** np.float32(0.5)).tolist() == [1.0, 2.0, 3.0]


def test_logcumsumexp_by_hand():
    """y = log Σ_{j ≤ i} e^{xⱼ}: [0, 0, 0] gives log 1, log 2, log 3; far below the running
    maximum nothing underflows ([−1000, 0] is [−1000, 0], where log Σ e^{x − max} with the
    global max would give −inf first); −inf entries contribute nothing."""
    x = mg.tensor([[0.0, 0.0, 0.0], [-1000.0, 0.0, -1000.0]], dtype=mg.float64)
    y = mg.logcumsumexp(x, 1)
    assert_close(y, np.array([[0.0, math.log(2), math.log(3)], [-1000.0, 0.0, 0.0]]),
                 rtol=1e-15, atol=1e-15)
    assert x.logcumsumexp(0)[1].tolist() == [0.0, math.log(2), math.log(1 + math.exp(-1000))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inf = mg.tensor([-math.inf, 1.0, -math.inf]).logcumsumexp(0)
    assert inf.tolist() == [-math.inf, 1.0, 1.0]
    assert mg.tensor(2.5).logcumsumexp(0).item() == 2.5
    assert mg.zeros(0, 3).logcumsumexp(0).shape == (0, 3)
    with pytest.raises(IndexError):
        mg.zeros(2, 3).logcumsumexp(2)
    with pytest.raises(TypeError, match="floating-point"):
        mg.tensor([1, 2]).logcumsumexp(0)


def test_logcumsumexp_gradient_by_hand():
    """gxⱼ = Σ_{i ≥ j} gyᵢ·e^{xⱼ − yᵢ}: for x = [0, 0], y = [0, log 2] and gy = [1, −2],
    gx₀ = 1 − 2·½ = 0 and gx₁ = −2·½ = −1 (signs of gy mixed on purpose)."""
    x = mg.tensor([0.0, 0.0], dtype=mg.float64, requires_grad=True)
    x.logcumsumexp(0).backward(mg.tensor([1.0, -2.0], dtype=mg.float64))
    assert_close(x.grad, np.array([0.0, -1.0]), atol=1e-15)


def test_logcumsumexp_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, g = rng.standard_normal((4, 5)) * 3, rng.standard_normal((4, 5))
    x = mg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y, yt = x.logcumsumexp(-1), torch.logcumsumexp(t, -1)
    y.backward(mg.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(y, yt.detach().numpy(), rtol=1e-14)
    assert_close(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)
