"""Places where minigrad once disagreed with PyTorch, pinned down.

The first part works the expected numbers out by hand (or with NumPy) and runs without
PyTorch. The last part asks PyTorch itself, when it is installed: each such test fetches
it with ``pytest.importorskip`` inside the test, so the rest of the file runs anyway.
"""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_close


def _t(values, dtype=None, requires_grad=False):
    return mg.tensor(values, dtype=dtype, requires_grad=requires_grad)


# --------------------------------------------------------------------- type promotion


@pytest.mark.parametrize("make, dtype, values", [
    (lambda: _t([1, 2, 3]) + 1.5, mg.float32, [2.5, 3.5, 4.5]),
    (lambda: 1.5 - _t([1, 2]), mg.float32, [0.5, -0.5]),
    (lambda: _t([1, 2, 3]) / _t([2, 2, 2]), mg.float32, [0.5, 1.0, 1.5]),   # true division
    (lambda: 2 / _t([1, 2]), mg.float32, [2.0, 1.0]),
    (lambda: _t([1, 2]) + _t([3.0, 4.0]), mg.float32, [4.0, 6.0]),         # NumPy: float64
    (lambda: _t([1.0, 2.0]) + _t(3.0, mg.float64), mg.float32, [4.0, 5.0]),  # 0-d ranks lower
    (lambda: _t([1, 2]) + _t(3.0, mg.float64), mg.float64, [4.0, 5.0]),   # ... unless a float
    (lambda: _t([1, 2], mg.int32) + _t(3), mg.int32, [4, 5]),
    (lambda: _t([1.0, 2.0], mg.float16) + _t(3.0), mg.float16, [4.0, 5.0]),
    (lambda: _t([True, False]) + 1, mg.int64, [2, 1]),
    (lambda: _t([True, False]) ** 2, mg.int64, [1, 0]),
    (lambda: _t([1, 4]) ** 0.5, mg.float32, [1.0, 2.0]),
    (lambda: 2.0 ** _t([1, 2]), mg.float32, [2.0, 4.0]),
    (lambda: _t([1, 4]).sqrt(), mg.float32, [1.0, 2.0]),
    (lambda: _t([0, 0]).exp(), mg.float32, [1.0, 1.0]),
    (lambda: _t([1, 3]).mean(), mg.float32, 2.0),
    (lambda: _t([1, 2]).maximum(_t([1.5, 1.5])), mg.float32, [1.5, 2.0]),
    (lambda: _t([-3, 0, 4]).clamp(0.5), mg.float32, [0.5, 0.5, 4.0]),
    (lambda: _t([-3, 0, 4]).clamp(0, 2), mg.int64, [0, 0, 2]),
    (lambda: mg.cat([_t([1, 2]), _t([1.5])]), mg.float32, [1.0, 2.0, 1.5]),
    (lambda: mg.stack([_t([1, 2]), _t([1.5, 2.5])]), mg.float32, [[1, 2], [1.5, 2.5]]),
    (lambda: mg.where(_t([True, False]), _t([2, 3]), 0.5), mg.float32, [2.0, 0.5]),
    (lambda: mg.where(_t([True, False]), 1.0, 0.0), mg.float32, [1.0, 0.0]),
    (lambda: mg.where(_t([True, False]), 1, 0), mg.int64, [1, 0]),
    (lambda: _t([[1, 2]]) @ _t([[3.0], [4.0]]), mg.float32, [[11.0]]),  # PyTorch refuses
])
def test_type_promotion_follows_pytorch(make, dtype, values):
    y = make()
    assert y.dtype == dtype
    assert_close(y, np.asarray(values, dtype=dtype))


def test_gradients_come_back_in_each_inputs_dtype():
    x = _t([1.0, 2.0], mg.float32, requires_grad=True)
    w = _t([3.0, 4.0], mg.float64, requires_grad=True)
    y = x * w
    assert y.dtype == mg.float64
    y.sum().backward()
    assert x.grad.dtype == mg.float32 and w.grad.dtype == mg.float64
    assert_close(x.grad, np.array([3.0, 4.0], np.float32))


# --------------------------------------------------------------------- // and %


def test_floor_division_and_remainder_round_toward_minus_infinity():
    a, b = _t([-7, 7, -7]), _t([2, -2, -2])
    assert (a // b).tolist() == [-4, -4, 3]
    assert (a % b).tolist() == [1, -1, -1]               # the sign of the divisor
    assert (7 // _t([-2, 3])).tolist() == [-4, 2]
    assert (7 % _t([-2, 3])).tolist() == [-1, 1]
    assert (_t([-7.5, 7.0]) % -2).tolist() == [-1.5, -1.0]
    assert (_t([-7.5, 7.0]) // 2).tolist() == [-4.0, 3.0]
    assert _t([-7, 7]).div(2, rounding_mode="trunc").tolist() == [-3, 3]
    assert _t([-7, 7]).div(2, rounding_mode="floor").tolist() == [-4, 3]


def test_remainder_gradient():
    # y = a − ⌊a/b⌋·b: ∂y/∂a = 1, ∂y/∂b = −⌊a/b⌋ = −2 (5.5/2) and 3 (−3.2/1.5 = −2.13)
    a = _t([5.5, -3.2], mg.float64, requires_grad=True)
    b = _t([2.0, 1.5], mg.float64, requires_grad=True)
    (a % b).backward(_t([1.0, 10.0], mg.float64))
    assert_close(a.grad, np.array([1.0, 10.0]))
    assert_close(b.grad, np.array([-2.0, 30.0]))
    a.grad = b.grad = None
    (a // b).sum().backward()                             # piecewise constant
    assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [0.0, 0.0]


def test_logical_operators_and_reflections():
    m = _t([True, False])
    assert (m ^ _t([True, True])).tolist() == [False, True]
    assert (True & m).tolist() == [True, False]
    assert (False | m).tolist() == [True, False]
    assert _t([1.0, 0.0]).logical_not().tolist() == [False, True]
    assert (_t([1.0]) == None) is False  # noqa: E711 - the comparison under test
    assert (_t([1.0]) != None) is True  # noqa: E711


# --------------------------------------------------------------------- IEEE results, no warnings


def test_inf_and_nan_results_come_without_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (_t([1.0, -1.0]) / 0).tolist() == [np.inf, -np.inf]
        assert _t([0.0]).log().tolist() == [-np.inf]
        assert np.isnan(_t([-1.0]).sqrt().item())
        assert (_t([0.0]) ** -1).tolist() == [np.inf]
        assert _t([[-np.inf, -np.inf], [0.0, 0.0]]).logsumexp(1).tolist() == [
            -np.inf, pytest.approx(np.log(2))]
        assert np.isnan(_t([[-np.inf, -np.inf]]).softmax(1).data).all()
        assert _t([1e300]).tolist() == [np.inf]           # float32 overflow is inf
        inf = _t([np.inf, 0.0])
        assert np.isnan((inf - inf).tolist()[0]) and np.isnan((inf + -inf).tolist()[0])
        assert np.isnan((inf * _t([0.0, 1.0])).tolist()[0])           # 0·inf
        assert np.isnan(_t([np.inf, -np.inf]).sum().item())            # inf + (−inf)
        assert np.isnan(_t([np.inf, -np.inf]).mean().item())
        assert np.isnan(mg.nansum(_t([np.inf, -np.inf])).item())
    assert mg.nansum(_t([1, 2]), dtype=mg.float64).dtype == mg.float64
    assert _t([1, 2, 3]).nanmean(dtype=mg.float32).item() == 2.0


# --------------------------------------------------------------------- reductions


def test_empty_dim_tuple_reduces_every_dim():
    x = _t([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(dim=()).item() == 10.0
    assert x.mean(dim=()).item() == 2.5
    assert x.amax(dim=()).item() == 4.0
    assert x.sum(dim=(), keepdim=True).shape == (1, 1)


def test_reduction_dim_errors():
    x = mg.zeros(2, 3)
    with pytest.raises(ValueError, match="more than once"):
        x.sum((0, 0))
    with pytest.raises(IndexError, match="out of range"):
        mg.cat([x, x], 2)
    with pytest.raises(IndexError, match="out of range"):
        mg.stack([x, x], 3)


@pytest.mark.parametrize("op", [
    lambda x: x.squeeze(5), lambda x: x.unsqueeze(3), lambda x: x.unsqueeze(-4),
    lambda x: x.transpose(0, 2), lambda x: x.flatten(2), lambda x: x.gather(2, x.long()),
    lambda x: x.roll(1, 2), lambda x: x.unbind(-3),
])
def test_shape_ops_check_their_dims(op):
    # the old code took dims modulo ndim: squeeze(5) on a (2, 3) tensor squeezed dim 1
    with pytest.raises(IndexError, match="out of range"):
        op(mg.zeros(2, 3))


def test_zero_dim_reductions_along_dim_zero():
    x = _t(3.0)
    values, indices = x.max(0)
    assert values.shape == () and values.item() == 3.0 and indices.item() == 0
    assert x.cumsum(0).shape == ()
    assert x.argmax(0).item() == 0
    assert _t([[1.0, 5.0], [7.0, 2.0]]).argmax(keepdim=True).shape == (1, 1)
    assert mg.zeros(0, 3).amax(1).shape == (0,)


def test_max_along_dim_sends_the_gradient_to_the_returned_index_only():
    x = _t([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]], mg.float64, requires_grad=True)
    values, indices = x.max(1)
    assert values.tolist() == [3.0, 2.0] and indices.tolist() == [1, 0]  # first of the ties
    values.backward(_t([10.0, 20.0], mg.float64))
    assert x.grad.tolist() == [[0.0, 10.0, 0.0], [20.0, 0.0, 0.0]]
    x.grad = None
    x.min(1, keepdim=True).values.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    x.grad = None
    x.amax(1).sum().backward()                            # amax shares ties, as PyTorch's
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]


def test_max_and_min_of_two_tensors_are_elementwise():
    a, b = _t([1.0, 5.0]), _t([3.0, 3.0])
    assert a.max(b).tolist() == [3.0, 5.0]
    assert a.min(b).tolist() == [1.0, 3.0]


def test_var_second_positional_argument_is_unbiased():
    x = _t([1.0, 2.0, 3.0, 4.0], mg.float64)
    # Σ(x − 2.5)² = 5: biased 5/4, unbiased 5/3
    assert x.var(0, False).item() == pytest.approx(1.25)
    assert x.var(0, True).item() == pytest.approx(5 / 3)
    assert x.var(False).item() == pytest.approx(1.25)
    assert x.std(0, False).item() == pytest.approx(1.25 ** 0.5)
    assert x.var(0, keepdim=True).shape == (1,)
    assert x.var(0, correction=0).item() == pytest.approx(1.25)


def test_norm_orders():
    x = _t([[3.0, -4.0], [0.0, 0.0]])
    assert x.norm("fro").item() == pytest.approx(5.0)
    assert x.norm(float("-inf")).item() == 0.0
    assert x.norm(float("-inf"), dim=1).tolist() == [3.0, 0.0]


# --------------------------------------------------------------------- in-place updates


def test_augmented_assignment_is_in_place():
    x = _t([1.0, 2.0])
    alias = x
    x += 1
    x *= 2
    assert alias is x and alias.tolist() == [4.0, 6.0]
    y = _t([1.0, 2.0], mg.float32)
    y += _t([0.5, 0.5], mg.float64)                       # computed in float64, stored float32
    assert y.dtype == mg.float32 and y.tolist() == [1.5, 2.5]


def test_augmented_assignment_refuses_what_pytorch_refuses():
    n = _t([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        n += 1.5
    with pytest.raises(RuntimeError, match="can't be cast"):
        n.div_(2)
    with pytest.raises(RuntimeError, match="broadcast shape"):
        x = _t([1.0, 2.0])
        x += mg.ones(2, 2)


def test_augmented_assignment_in_a_graph_stays_differentiable():
    x = _t([1.0, 2.0], mg.float64, requires_grad=True)
    y = x * 2
    y += x                                                # recorded: y = 3x
    y.backward(_t([1.0, 10.0], mg.float64))
    assert x.grad.tolist() == [3.0, 30.0]


# --------------------------------------------------------------------- clamp and where


def test_clamp_with_tensor_bounds_and_its_gradient():
    x = _t([1.0, 5.0, -3.0], mg.float64, requires_grad=True)
    lo = _t([0.0, 0.0, 0.0], mg.float64, requires_grad=True)
    hi = _t([2.0, 4.0, 6.0], mg.float64, requires_grad=True)
    y = x.clamp(lo, hi)
    assert y.tolist() == [1.0, 4.0, 0.0]
    y.backward(_t([1.0, 10.0, 100.0], mg.float64))
    assert x.grad.tolist() == [1.0, 0.0, 0.0]
    assert hi.grad.tolist() == [0.0, 10.0, 0.0]
    assert lo.grad.tolist() == [0.0, 0.0, 100.0]
    assert _t([1.0, 5.0, -3.0]).clamp(3.0, 1.0).tolist() == [1.0, 1.0, 1.0]  # max wins
    assert _t([1.0, 5.0, -3.0]).clamp_min(0).tolist() == [1.0, 5.0, 0.0]
    assert _t([1.0, 5.0, -3.0]).clamp_max(2).tolist() == [1.0, 2.0, -3.0]


def test_where_forms():
    c = _t([True, False, True])
    assert [i.tolist() for i in mg.where(_t([1.0, 0.0, 2.0]))] == [[0, 2]]
    assert _t([1.0, 2.0, 3.0]).where(c, 0.0).tolist() == [1.0, 0.0, 3.0]
    assert _t([1.0, 2.0, 3.0]).masked_fill(c, -1.0).tolist() == [-1.0, 2.0, -1.0]


# --------------------------------------------------------------------- shape ops


def test_gather_roll_and_friends():
    x = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.gather(1, _t([[2, 0], [1, 1]])).tolist() == [[3.0, 1.0], [5.0, 5.0]]
    assert x.gather(0, _t([[1, 0, 1]])).tolist() == [[4.0, 2.0, 6.0]]
    assert x.roll(1, 1).tolist() == [[3.0, 1.0, 2.0], [6.0, 4.0, 5.0]]
    assert x.roll(-1, 0).tolist() == [[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]]
    assert x.roll(2).tolist() == [[5.0, 6.0, 1.0], [2.0, 3.0, 4.0]]    # flattened
    assert x.index_select(1, _t([2, 0, 2])).tolist() == [[3.0, 1.0, 3.0], [6.0, 4.0, 6.0]]
    assert x.narrow(1, -2, 2).tolist() == [[2.0, 3.0], [5.0, 6.0]]
    assert [t.tolist() for t in x.unbind(1)] == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert mg.zeros(2, 12).unflatten(1, (3, -1)).shape == (2, 3, 4)
    scalar = _t(3.0)
    assert scalar.roll(1).tolist() == 3.0 and scalar.roll(1).shape == ()
    with pytest.raises(IndexError, match="0-d tensor, which has no dimensions"):
        scalar.roll(1, 0)


def test_gather_gradient_accumulates_repeated_picks():
    x = _t([[1.0, 2.0, 3.0]], mg.float64, requires_grad=True)
    x.gather(1, _t([[2, 2, 0]])).backward(_t([[1.0, 10.0, 100.0]], mg.float64))
    assert x.grad.tolist() == [[100.0, 0.0, 11.0]]


# --------------------------------------------------------------------- creation


def test_arange_dtype_and_rounding():
    assert mg.arange(np.int64(3)).dtype == mg.int64
    assert mg.arange(_t(3)).tolist() == [0, 1, 2]
    assert mg.arange(0, 1, 0.25).dtype == mg.float32
    # start + i·step in float64, rounded once: 1.6 is float32(1.6), not 1 + 0.3 + 0.3 in f32
    expected = np.array([1.0, 1.3, 1.6, 1.9, 2.2], dtype=np.float32)
    assert mg.arange(1, 2.2, 0.3).tolist() == expected.tolist()


def test_tensor_from_a_list_of_tensors_and_from_text():
    assert mg.tensor([_t(1.5), _t(2.0)]).tolist() == [1.5, 2.0]
    assert mg.tensor([_t([1, 2]), _t([3, 4])]).shape == (2, 2)
    with pytest.raises(TypeError, match="expected numbers"):
        mg.tensor("abc")


# --------------------------------------------------------------------- autograd


def test_grad_materialize_grads():
    x = _t([1.0, 2.0], mg.float64, requires_grad=True)
    z = _t([1.0, 2.0], mg.float64, requires_grad=True)
    gx, gz = mg.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
    assert gx.tolist() == [2.0, 2.0] and gz.tolist() == [0.0, 0.0]


def test_jacobian_of_several_outputs_and_of_a_constant():
    F = mg.autograd.functional
    x = _t([1.0, 2.0], mg.float64)
    j_sq, j_two = F.jacobian(lambda x: (x * x, x * 2), x)
    assert j_sq.tolist() == [[2.0, 0.0], [0.0, 4.0]]
    assert j_two.tolist() == [[2.0, 0.0], [0.0, 2.0]]
    assert F.jacobian(lambda x: mg.ones(3, dtype=mg.float64), x).tolist() == [[0.0] * 2] * 3
    ((ja, jb),) = F.jacobian(lambda a, b: (a * b,), (x, _t([3.0, 5.0], mg.float64)))
    assert ja.tolist() == [[3.0, 0.0], [0.0, 5.0]] and jb.tolist() == [[1.0, 0.0], [0.0, 2.0]]


def test_vhp_equals_hvp():
    F = mg.autograd.functional
    x, v = _t([1.0, 2.0], mg.float64), _t([1.0, -1.0], mg.float64)
    f = lambda x: (x[0] * x[1] * x[1])  # noqa: E731 - H = [[0, 2x₁], [2x₁, 2x₀]]
    (y1, hv), (y2, vh) = F.hvp(f, x, v), F.vhp(f, x, v)
    assert y1.item() == y2.item() == 4.0
    assert hv.tolist() == vh.tolist() == [-4.0, 2.0]


# --------------------------------------------------------------------- against PyTorch

_ORACLE_CASES = {
    "int_plus_float": lambda m: m.tensor([1, 2, 3]) + 1.5,
    "int_true_div": lambda m: m.tensor([1, 2, 3]) / m.tensor([2, 2, 2]),
    "floordiv_neg": lambda m: m.tensor([-7, 7, -7]) // m.tensor([2, -2, -2]),
    "mod_neg": lambda m: m.tensor([-7.5, 7.0, -7.0]) % -2,
    "rmod": lambda m: 7 % m.tensor([-2, 3]),
    "int_pow_float": lambda m: m.tensor([1, 2, 3]) ** 0.5,
    "bool_plus_int": lambda m: m.tensor([True, False]) + 1,
    "f16_plus_0d_f32": lambda m: m.tensor([1.0, 2.0], dtype=m.float16) + m.tensor(3.0),
    "int_plus_0d_f64": lambda m: m.tensor([1, 2]) + m.tensor(3.0, dtype=m.float64),
    "cat_mixed": lambda m: m.cat([m.tensor([1, 2]), m.tensor([1.5])]),
    "where_scalars": lambda m: m.where(m.tensor([True, False]), 1.0, 0.0),
    "clamp_tensor": lambda m: m.tensor([1.0, 5.0, -3.0]).clamp(m.tensor([0.0, 0, 0]),
                                                               m.tensor([2.0, 4, 6])),
    "sum_empty_dims": lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=()),
    "var_positional": lambda m: m.tensor([1.0, 2.0, 3.0, 4.0]).var(0, False),
    "max_ties": lambda m: m.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]]).max(1)[1],
    "norm_fro": lambda m: m.tensor([[3.0, -4.0]]).norm("fro"),
    "arange_float": lambda m: m.arange(1, 2.2, 0.3),
    "gather": lambda m: m.tensor([[1.0, 2.0, 3.0]]).gather(1, m.tensor([[2, 0]])),
    "roll": lambda m: m.arange(6).reshape(2, 3).roll(1, 1),
    "logsumexp_neg_inf": lambda m: m.tensor([[-np.inf, -np.inf], [0.0, 1.0]]).logsumexp(1),
}


@pytest.mark.parametrize("name", sorted(_ORACLE_CASES))
def test_values_and_dtypes_match_pytorch(name):
    torch = pytest.importorskip("torch")
    make = _ORACLE_CASES[name]
    expected, actual = make(torch), make(mg)
    assert str(expected.dtype).replace("torch.", "") == str(actual.dtype)
    assert_close(actual, expected.numpy(), rtol=1e-6)


_GRAD_CASES = {
    "max_dim_ties": (lambda m, x: x.max(1)[0], [[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]]),
    "remainder": (lambda m, x: x % 1.5, [[5.5, -3.2, 0.7]]),
    "clamp_tensor_bounds": (lambda m, x: x.clamp(x[:, :1] * 0 + 0.5, x[:, 1:2] * 0 + 2.0),
                            [[1.0, 5.0, -3.0]]),
    "gather": (lambda m, x: x.gather(1, m.tensor([[2, 2, 0]])), [[1.0, 2.0, 3.0]]),
    "roll": (lambda m, x: x.roll(1, 1) * x, [[1.0, 2.0, 3.0]]),
    "var_unbiased_false": (lambda m, x: x.var(1, False), [[1.0, 2.0, 4.0]]),
}


@pytest.mark.parametrize("name", sorted(_GRAD_CASES))
def test_gradients_match_pytorch(name):
    torch = pytest.importorskip("torch")
    fn, values = _GRAD_CASES[name]
    g = None
    results = []
    for m in (torch, mg):
        x = m.tensor(values, dtype=m.float64, requires_grad=True)
        y = fn(m, x)
        if g is None:
            g = np.random.default_rng(0).standard_normal(tuple(y.shape))
        (gx,) = m.autograd.grad(y, x, m.tensor(g))
        results.append((np.asarray(y.detach().numpy()), np.asarray(gx.numpy())))
    (y_t, g_t), (y_m, g_m) = results
    assert_close(y_m, y_t, rtol=1e-12)
    assert_close(g_m, g_t, rtol=1e-12)


def test_functional_derivatives_match_pytorch():
    torch = pytest.importorskip("torch")
    xa, va = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -2.0])

    def f(x):
        return (x.sin() * x * x[0]).sum()

    for name in ("hvp", "vhp"):
        _, want = getattr(torch.autograd.functional, name)(f, torch.tensor(xa), torch.tensor(va))
        _, got = getattr(mg.autograd.functional, name)(f, mg.tensor(xa), mg.tensor(va))
        assert_close(got, want.numpy(), rtol=1e-12)
    want = torch.autograd.functional.hessian(f, torch.tensor(xa))
    assert_close(mg.autograd.functional.hessian(f, mg.tensor(xa)), want.numpy(), rtol=1e-12)
    want = torch.autograd.functional.jacobian(lambda x: (x.sin(), x * x), torch.tensor(xa))
    got = mg.autograd.functional.jacobian(lambda x: (x.sin(), x * x), mg.tensor(xa))
    for w, a in zip(want, got):
        assert_close(a, w.numpy(), rtol=1e-12)


def test_masked_gradients_select_rather_than_multiply():
    """relu's and where's backward pick gy where the branch was taken and 0 elsewhere: an
    inf or NaN upstream gradient at a position the branch did not take gives 0 there (as
    PyTorch), where multiplying by the 0/1 mask gave NaN (found by LP pooling's gradient
    at windows that sum to 0)."""
    x = mg.tensor([-1.0, 2.0], requires_grad=True)
    x.relu().backward(mg.tensor([float("inf"), 1.0]))
    assert x.grad.tolist() == [0.0, 1.0]
    a, b = mg.tensor([1.0, 2.0], requires_grad=True), mg.tensor([3.0, 4.0], requires_grad=True)
    mg.where(mg.tensor([True, False]), a, b).backward(mg.tensor([float("nan"), float("inf")]))
    assert a.grad.tolist()[1] == 0.0 and b.grad.tolist()[0] == 0.0
    # and the second derivative through the selection is still there
    z = mg.tensor([0.5, -0.5], dtype=mg.float64, requires_grad=True)
    assert mg.gradgradcheck(lambda t: mg.where(t > 0, t ** 3, t ** 2).relu(), (z,))


def test_minus_with_bool_is_refused_as_in_pytorch():
    mask = _t([True, False])
    for make in (lambda: mask - mask, lambda: _t([1, 2]) - mask, lambda: mask - 1,
                 lambda: 1 - mask, lambda: -mask):
        with pytest.raises(TypeError, match="bool tensor is not supported.*logical_not"):
            make()
    assert (~mask).tolist() == [False, True]
    assert mg.var(mask.float()).item() == pytest.approx(0.5)
