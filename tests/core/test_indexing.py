"""PyTorch's indexing, scattering and splitting functions (minigrad/ops/indexing.py):
values worked out by hand, views where PyTorch returns views, gradients by gradcheck and
gradgradcheck on hypothesis-drawn inputs on every device, clear errors, and PyTorch as an
oracle when it is installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import arrays, assert_close


def _t(a, device="cpu", **kw):
    return mg.tensor(a, device=device, **kw)


def _f64(a, device):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=True)


def _i64(a, device):
    return mg.tensor(np.asarray(a, dtype=np.int64), device=device)


def _gradcheck(fn, *arrays_, device, second=True):
    xs = [_f64(a, device) for a in arrays_]
    assert mg.gradcheck(fn, xs)
    if second:
        assert mg.gradgradcheck(fn, xs)


# ------------------------------------------------------------------ by hand


def test_select_and_the_scatters_by_hand(device):
    x = _t([[1, 2, 3], [4, 5, 6]], device)
    assert mg.select(x, 0, 1).tolist() == [4, 5, 6]
    assert x.select(1, -1).tolist() == [3, 6] and x.select(-1, 0).tolist() == [1, 4]
    z = mg.zeros(2, 3, device=device)
    assert mg.select_scatter(z, _t([1.0, 2.0], device), 1, -1).tolist() == \
        [[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]]
    assert z.select_scatter(_t([7.0, 8.0, 9.0], device), 0, 0).tolist() == \
        [[7.0, 8.0, 9.0], [0.0, 0.0, 0.0]]
    assert mg.slice_scatter(z, mg.ones(2, 2, device=device), 1, 0, None, 2).tolist() == \
        [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]
    assert mg.slice_scatter(mg.zeros(5, device=device), _t([1.0, 2.0], device),
                            start=-2).tolist() == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert z.slice_scatter(mg.ones(2, 3, device=device)).tolist() == [[1.0] * 3] * 2
    assert mg.slice_scatter(z, mg.ones(2, 2, device=device), 1, 1, 100).tolist() == \
        [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]                      # end clipped, as Python's
    sq = mg.zeros(3, 3, device=device)
    assert mg.diagonal_scatter(sq, _t([1.0, 2.0], device), 1).tolist() == \
        [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
    assert sq.diagonal_scatter(_t([1.0, 2.0], device), -1).tolist() == \
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    src = _t(np.arange(6.0).reshape(3, 2), device)               # (rest dim, diagonal)
    out = mg.diagonal_scatter(mg.zeros(2, 2, 3, device=device), src, 0, 0, 1).cpu().numpy()
    for i in range(2):
        assert out[i, i].tolist() == src.cpu().numpy()[:, i].tolist()
    assert out[0, 1].tolist() == [0.0, 0.0, 0.0]
    # src of another dtype is converted to the input's, as PyTorch copies it
    assert mg.select_scatter(z, _t([1.0, 1.0], device, dtype=mg.float64), 1, 0).dtype == \
        mg.float32


def test_take_put_index_put_masked_scatter_by_hand(device):
    m = _t([[1, 2], [3, 4]], device)
    assert mg.take(m, _t([[0, -1], [2, 2]], device)).tolist() == [[1, 4], [3, 3]]
    assert m.take(_t(3, device)).tolist() == 4 and m.take(_t(3, device)).shape == ()
    z = mg.zeros(2, 3, device=device)
    idx, src = _t([0, -1, 0], device), _t([1.0, 2.0, 3.0], device)
    assert mg.put(z, idx, src).tolist() == [[3.0, 0.0, 0.0], [0.0, 0.0, 2.0]]  # last wins
    assert z.put(idx, src, accumulate=True).tolist() == [[4.0, 0.0, 0.0], [0.0, 0.0, 2.0]]
    assert z.put(_t([[0, 1]], device), _t([1.0, 2.0], device)).tolist() == \
        [[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]]
    assert mg.index_put(z, (_t([0, 1], device), _t([2, 0], device)),
                        _t(5.0, device)).tolist() == [[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]
    assert z.index_put((_t([1], device),), _t([1.0, 2.0, 3.0], device)).tolist() == \
        [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]
    z3 = mg.zeros(3, device=device)
    assert z3.index_put([_t([True, False, True], device)], _t(7.0, device)).tolist() == \
        [7.0, 0.0, 7.0]
    assert mg.index_put(z3, (_t([1, 1], device),), _t([1.0, 2.0], device),
                        accumulate=True).tolist() == [0.0, 3.0, 0.0]
    mask = _t([True, False, True], device)
    assert mg.masked_scatter(z, mask, _t(np.arange(10.0, dtype=np.float32), device)).tolist() \
        == [[0.0, 0.0, 1.0], [2.0, 0.0, 3.0]]
    wide = _t([[True, False, True], [False, False, True]], device)   # broadcasts the input
    assert z3.masked_scatter(wide, _t(np.arange(6.0, dtype=np.float32), device)).tolist() == \
        [[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]]


REDUCED = {  # x = [10, 2, -3, 4] with src [5, -1, 2, 6, 0.5] at [0, 0, 2, 2, 2]
    ("sum", True): [14.0, 2.0, 5.5, 4.0], ("sum", False): [4.0, 2.0, 8.5, 4.0],
    ("prod", True): [-50.0, 2.0, -18.0, 4.0], ("prod", False): [-5.0, 2.0, 6.0, 4.0],
    ("mean", True): [14 / 3, 2.0, 5.5 / 4, 4.0], ("mean", False): [2.0, 2.0, 8.5 / 3, 4.0],
    ("amax", True): [10.0, 2.0, 6.0, 4.0], ("amax", False): [5.0, 2.0, 6.0, 4.0],
    ("amin", True): [-1.0, 2.0, -3.0, 4.0], ("amin", False): [-1.0, 2.0, 0.5, 4.0],
}


@pytest.mark.parametrize("reduce, include_self", sorted(REDUCED))
def test_scatter_reduce_by_hand(reduce, include_self, device):
    x = _t([10.0, 2.0, -3.0, 4.0], device, dtype=mg.float64)
    src = _t([5.0, -1.0, 2.0, 6.0, 0.5], device, dtype=mg.float64)
    y = x.scatter_reduce(0, _t([0, 0, 2, 2, 2], device), src, reduce,
                         include_self=include_self)
    assert_close(y, np.array(REDUCED[reduce, include_self]), rtol=1e-14)


def test_scatter_reduce_on_rows_integers_and_index_reduce_by_hand(device):
    x = _t([[1.0, 2.0], [3.0, 4.0]], device)
    index = _t([[1, 1], [0, 1]], device)
    assert mg.scatter_reduce(x, 1, index, _t([[5.0, 6.0], [7.0, 8.0]], device),
                             "sum").tolist() == [[1.0, 13.0], [10.0, 12.0]]
    ints = mg.zeros(2, dtype=mg.int64, device=device)
    assert ints.scatter_reduce(0, _t([0, 0, 1], device), _t([-4, -3, -7], device), "mean",
                               include_self=False).tolist() == [-4, -7]   # rounds down
    assert _t([1, 2], device).scatter_reduce(0, _t([0], device), _t([5], device), "amin",
                                             include_self=False).tolist() == [5, 2]
    source = _t([[2.0, 1.0], [5.0, 0.5]], device)
    one = _t([1, 1], device)
    assert mg.index_reduce(x, 0, one, source, "amax").tolist() == [[1.0, 2.0], [5.0, 4.0]]
    assert x.index_reduce(0, one, source, "prod").tolist() == [[1.0, 2.0], [30.0, 2.0]]
    assert x.index_reduce(0, one, source, "mean", include_self=False).tolist() == \
        [[1.0, 2.0], [3.5, 0.75]]
    assert x.index_reduce(1, _t([0, 0], device), source, "amin").tolist() == \
        [[1.0, 2.0], [0.5, 4.0]]
    assert mg.index_reduce(_t(3.0, device), 0, _t([0], device), _t(4.0, device),
                           "prod").item() == 12.0


def test_scatter_reduce_gradients_by_hand(device):
    # amax, ties: the gradient is shared between the values equal to the result; PyTorch
    # counts a tie with input even when include_self=False (so src[0] gets 1/2 there)
    for include_self, gx, gsrc in ((True, [0.5, 0.0, 1.0], [0.5, 0.0, 1.0]),
                                   (False, [0.0, 0.0, 1.0], [0.5, 0.0, 1.0])):
        x, src = _f64([5.0, 1.0, 2.0], device), _f64([5.0, 3.0, 5.0], device)
        y = x.scatter_reduce(0, _t([0, 0, 1], device), src, "amax", include_self=include_self)
        assert y.tolist() == [5.0, 5.0, 2.0]
        y.sum().backward()
        assert x.grad.tolist() == gx and src.grad.tolist() == gsrc
    # prod with one zero at a position: its gradient is the product of the others
    x, src = _f64([3.0, 1.0], device), _f64([4.0, 0.0, 5.0], device)
    y = x.scatter_reduce(0, _t([0, 0, 1], device), src, "prod")
    assert y.tolist() == [0.0, 5.0]
    y.backward(_t([1.0, 2.0], device, dtype=mg.float64))
    assert x.grad.tolist() == [0.0, 10.0] and src.grad.tolist() == [0.0, 12.0, 2.0]
    # mean: each value gets gy / N
    x, src = _f64([5.0, 1.0, 2.0], device), _f64([4.0, 3.0, 5.0], device)
    y = x.scatter_reduce(0, _t([0, 0, 1], device), src, "mean", include_self=False)
    y.backward(_t([1.0, 2.0, 3.0], device, dtype=mg.float64))
    assert x.grad.tolist() == [0.0, 0.0, 3.0] and src.grad.tolist() == [0.5, 0.5, 2.0]


def test_splitting_by_hand(device):
    x = mg.arange(7, device=device)

    def lists(pieces):
        return [p.tolist() for p in pieces]

    assert lists(mg.tensor_split(x, 3)) == [[0, 1, 2], [3, 4], [5, 6]]
    assert lists(x.tensor_split([1, 5])) == [[0], [1, 2, 3, 4], [5, 6]]
    assert lists(x.tensor_split((-2, 3))) == [[0, 1, 2, 3, 4], [], [3, 4, 5, 6]]
    assert lists(x.tensor_split([9])) == [[0, 1, 2, 3, 4, 5, 6], []]
    assert lists(x.tensor_split(_t(2, device))) == [[0, 1, 2, 3], [4, 5, 6]]
    assert lists(x.tensor_split(_t([2], device))) == [[0, 1], [2, 3, 4, 5, 6]]
    assert len(x.tensor_split(9)) == 9 and x.tensor_split(9)[8].shape == (0,)
    m = _t(np.arange(12).reshape(3, 4), device)
    assert lists(m.tensor_split(2, dim=1)) == [[[0, 1], [4, 5], [8, 9]],
                                               [[2, 3], [6, 7], [10, 11]]]
    assert [p.shape for p in mg.hsplit(m, 2)] == [(3, 2), (3, 2)]
    assert lists(x.hsplit([2])) == [[0, 1], [2, 3, 4, 5, 6]]
    assert lists(mg.vsplit(m, [1])) == [[[0, 1, 2, 3]], [[4, 5, 6, 7], [8, 9, 10, 11]]]
    assert [p.shape for p in mg.dsplit(mg.zeros(1, 2, 4, device=device), [1, 3])] == \
        [(1, 2, 1), (1, 2, 2), (1, 2, 1)]
    assert lists(mg.split_with_sizes(x, [3, 4])) == [[0, 1, 2], [3, 4, 5, 6]]
    assert lists(m.split_with_sizes([1, 0, 3], dim=-1))[2] == [[1, 2, 3], [5, 6, 7],
                                                              [9, 10, 11]]


def test_unfold_narrow_copy_diagflat_by_hand(device):
    x = _t(np.arange(7.0), device)
    assert x.unfold(0, 3, 2).tolist() == [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]]
    assert x.unfold(0, 7, 3).tolist() == [list(np.arange(7.0))]
    assert x.unfold(0, 0, 1).shape == (8, 0)
    m = _t(np.arange(12.0).reshape(3, 4), device)
    assert m.unfold(1, 2, 1).shape == (3, 3, 2) and m.unfold(0, 2, 1).shape == (2, 4, 2)
    assert m.unfold(0, 2, 1)[1, 3].tolist() == [7.0, 11.0]
    assert _t(3.0, device).unfold(0, 1, 1).tolist() == [3.0]
    assert mg.narrow_copy(x, 0, -2, 2).tolist() == [5.0, 6.0]
    assert m.narrow_copy(1, 1, 2).tolist() == [[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]]
    assert mg.diagflat(_t([[1, 2], [3, 4]], device), -1).tolist() == \
        [[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 2, 0, 0, 0], [0, 0, 3, 0, 0], [0, 0, 0, 4, 0]]
    assert _t(5, device).diagflat(1).tolist() == [[0, 5], [0, 0]]


def test_views_and_copies_follow_pytorch(device):
    x = mg.zeros(3, 4, device=device)
    x.select(0, 1)[2] = 1.0                       # select: a view
    x.tensor_split(2, dim=1)[1][0, 0] = 2.0       # tensor_split: views
    x.split_with_sizes([1, 2])[1][1, 3] = 3.0     # split_with_sizes: views
    windows = x.unfold(1, 2, 2)                   # unfold: a view of the windows
    windows[2, 0, 0] = 4.0
    copy = x.narrow_copy(0, 0, 1)                 # narrow_copy: a copy
    copy[0, 0] = 9.0
    assert x.tolist() == [[0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 1.0, 0.0], [4.0, 0.0, 0.0, 3.0]]
    y = x.unfold(1, 2, 1)
    x[0, 1] = 5.0
    assert y[0, 0].tolist() == [0.0, 5.0] and y[0, 1].tolist() == [5.0, 2.0]
    s = x.select_scatter(mg.ones(4, device=device), 0, 0)  # the *_scatter: new tensors
    assert x[0, 0].item() == 0.0 and s[0, 0].item() == 1.0


# ------------------------------------------------------------------ errors


def test_bad_arguments_get_clear_errors():
    x = mg.zeros(2, 3)
    with pytest.raises(IndexError, match="select: cannot be applied to a 0-d"):
        mg.select(mg.tensor(1.0), 0, 0)
    with pytest.raises(IndexError, match=r"select: index 3 out of range .* at dim 1"):
        x.select(1, 3)
    with pytest.raises(TypeError, match="select: index must be an int"):
        x.select(1, 1.0)
    with pytest.raises(IndexError, match="select: dim 2 is out of range"):
        x.select(2, 0)
    with pytest.raises(ValueError, match=r"select_scatter: src must have the shape \(2,\)"):
        x.select_scatter(mg.zeros(3), 1, 0)
    with pytest.raises(TypeError, match="slice_scatter: src must be a tensor"):
        x.slice_scatter(1.0)
    with pytest.raises(ValueError, match="slice_scatter: step must be positive"):
        x.slice_scatter(mg.zeros(2, 1), 1, 0, 1, 0)
    with pytest.raises(ValueError, match=r"slice_scatter: src must have the shape \(2, 1\)"):
        x.slice_scatter(mg.zeros(2, 2), 1, 0, 1)
    with pytest.raises(ValueError, match=r"diagonal_scatter: src must have the shape \(2,\)"):
        mg.zeros(3, 3).diagonal_scatter(mg.zeros(3), 1)
    with pytest.raises(ValueError, match="diagonal_scatter: input must have at least 2"):
        mg.zeros(3).diagonal_scatter(mg.zeros(3))
    with pytest.raises(IndexError, match="take: index 6 is out of range .* 6 elements"):
        x.take(mg.tensor([6]))
    with pytest.raises(IndexError, match="take: index -7 is out of range"):
        x.take(mg.tensor([-7]))
    with pytest.raises(TypeError, match="take: index must be an integer tensor"):
        x.take(mg.tensor([1.0]))
    with pytest.raises(ValueError, match="put: source and index must have the same number"):
        x.put(mg.tensor([0, 1]), mg.zeros(3))
    with pytest.raises(IndexError, match="put: index 6 is out of range"):
        x.put(mg.tensor([6]), mg.zeros(1))
    with pytest.raises(TypeError, match="put: source must be a tensor"):
        x.put(mg.tensor([0]), 1.0)
    with pytest.raises(TypeError, match="index_put: values have dtype float64"):
        x.index_put((mg.tensor([0]),), mg.zeros(1, dtype=mg.float64))
    with pytest.raises(TypeError, match="index_put: indices must be integer or bool"):
        x.index_put((mg.tensor([0.0]),), mg.zeros(1))
    with pytest.raises(TypeError, match="index_put: indices must be a tuple of tensors"):
        x.index_put(mg.tensor([0]), mg.zeros(1))
    with pytest.raises(IndexError, match="index_put: index 2 is out of bounds"):
        x.index_put((mg.tensor([2]),), mg.zeros(1))
    with pytest.raises(IndexError, match="index_put: too many indices"):
        x.index_put((mg.tensor([0]),) * 3, mg.zeros(1))
    with pytest.raises(ValueError, match=r"values of shape \(2,\) cannot be broadcast"):
        x.index_put((mg.tensor([0]), mg.tensor([1])), mg.zeros(2))
    with pytest.raises(TypeError, match="masked_scatter: the mask must be boolean, got float32"):
        x.masked_scatter(mg.ones(3), mg.zeros(6))
    with pytest.raises(TypeError, match="masked_scatter: source has dtype int64"):
        x.masked_scatter(mg.ones(3, dtype=mg.bool), mg.zeros(6, dtype=mg.int64))
    with pytest.raises(ValueError, match="masked_scatter: source has 2 elements, fewer "
                                         "than the 6 true"):
        x.masked_scatter(mg.ones(3, dtype=mg.bool), mg.zeros(2))
    with pytest.raises(ValueError, match="masked_scatter: mask .* does not broadcast"):
        x.masked_scatter(mg.ones(2, dtype=mg.bool), mg.zeros(6))
    with pytest.raises(ValueError, match="scatter_reduce: reduce must be one of 'sum'"):
        x.scatter_reduce(0, mg.tensor([[0]]), mg.zeros(1, 1), "max")
    with pytest.raises(TypeError, match="scatter_reduce: src has dtype float64"):
        x.scatter_reduce(0, mg.tensor([[0]]), mg.zeros(1, 1, dtype=mg.float64), "sum")
    with pytest.raises(IndexError, match=r"scatter_reduce: index out of range \[0, 2\)"):
        x.scatter_reduce(0, mg.tensor([[2]]), mg.zeros(1, 1), "sum")
    with pytest.raises(ValueError, match="scatter_reduce: index must be an integer tensor"):
        x.scatter_reduce(0, mg.tensor([[0.0]]), mg.zeros(1, 1), "sum")
    with pytest.raises(TypeError, match="scatter_reduce: src must be a tensor"):
        x.scatter_reduce(0, mg.tensor([[0]]), 1.0, "sum")
    with pytest.raises(ValueError, match="index_reduce: reduce must be one of 'prod'"):
        x.index_reduce(0, mg.tensor([0]), mg.zeros(1, 3), "sum")
    with pytest.raises(ValueError, match=r"index_reduce: source must have shape \(1, 3\)"):
        x.index_reduce(0, mg.tensor([0]), mg.zeros(2, 3), "prod")
    with pytest.raises(ValueError, match="tensor_split: the number of sections must be "
                                         "positive"):
        x.tensor_split(0)
    with pytest.raises(ValueError, match="tensor_split: expects a tensor with at least 1"):
        mg.tensor(1.0).tensor_split(2)
    with pytest.raises(TypeError, match="tensor_split: indices_or_sections must be"):
        x.tensor_split(mg.tensor([1.0]))
    with pytest.raises(ValueError, match="hsplit: cannot split dim 1 of size 3 into 2"):
        x.hsplit(2)
    with pytest.raises(ValueError, match="vsplit: expects a tensor with at least 2 dims"):
        mg.zeros(4).vsplit(2)
    with pytest.raises(ValueError, match="dsplit: expects a tensor with at least 3 dims"):
        x.dsplit(1)
    with pytest.raises(ValueError, match=r"split_with_sizes: split_sizes \[1, 1\] must add "
                                         "up to 3"):
        x.split_with_sizes([1, 1], 1)
    with pytest.raises(ValueError, match="split_with_sizes: split_sizes must be "
                                         "non-negative"):
        x.split_with_sizes([4, -1], 1)
    with pytest.raises(ValueError, match=r"unfold: size 4 must be in \[0, 3\]"):
        x.unfold(1, 4, 1)
    with pytest.raises(ValueError, match="unfold: step must be positive"):
        x.unfold(1, 2, 0)


def test_second_derivative_of_prod_with_two_zeros_at_a_position_is_refused():
    x = mg.tensor([2.0, 3.0], dtype=mg.float64, requires_grad=True)
    src = mg.tensor([0.0, 0.0, 4.0], dtype=mg.float64, requires_grad=True)
    y = x.scatter_reduce(0, mg.tensor([0, 0, 1]), src, "prod")
    (gsrc,) = mg.autograd.grad(y.sum(), [src], retain_graph=True)  # first order works
    assert gsrc.tolist() == [0.0, 0.0, 3.0]
    with pytest.raises(RuntimeError, match="second derivative of reduce='prod'"):
        mg.autograd.grad(y.sum(), [src], create_graph=True)


# ------------------------------------------------------------------ gradients


@given(data=st.data())
def test_gradcheck_of_select_and_the_scatters(data, device):
    x = data.draw(arrays(min_dims=1, max_dims=3, max_side=4))
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[d]
    i = data.draw(st.integers(-n, n - 1))
    _gradcheck(lambda t: mg.select(t, d, i), x, device=device)
    src = data.draw(arrays(shape=np.take(x, 0, axis=d).shape))
    _gradcheck(lambda t, s: t.select_scatter(s, d, i), x, src, device=device)
    start = data.draw(st.one_of(st.none(), st.integers(-n - 1, n)))
    end = data.draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
    step = data.draw(st.integers(1, 3))
    part = x[(slice(None),) * (d % x.ndim) + (slice(start, end, step),)]
    src = data.draw(arrays(shape=part.shape))
    _gradcheck(lambda t, s: mg.slice_scatter(t, s, d, start, end, step), x, src,
               device=device)
    if x.ndim >= 2:
        d2 = (d + 1) % x.ndim
        offset = data.draw(st.integers(-x.shape[d2], x.shape[d2]))
        diag = np.diagonal(x, offset, d % x.ndim, d2)
        src = data.draw(arrays(shape=diag.shape))
        _gradcheck(lambda t, s: mg.diagonal_scatter(t, s, offset, d, d2), x, src,
                   device=device)


@given(data=st.data())
def test_gradcheck_of_take_put_index_put_masked_scatter(data, device):
    x = data.draw(arrays(min_dims=1, max_dims=3, max_side=4))
    size = x.size
    k = data.draw(st.integers(0, 5))
    flat = data.draw(st.lists(st.integers(-size, size - 1), min_size=k, max_size=k))
    idx = _i64(flat, device)
    _gradcheck(lambda t: mg.take(t, idx), x, device=device)
    src = data.draw(arrays(shape=(k,)))
    _gradcheck(lambda t, s: t.put(idx, s, accumulate=True), x, src, device=device)
    distinct = sorted({f % size for f in flat})
    didx = _i64(distinct, device)
    _gradcheck(lambda t, s: t.put(didx, s), x, src[:len(distinct)], device=device)
    rows = data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=3))
    values = data.draw(arrays(shape=(len(rows),) + x.shape[1:]))
    ridx = (_i64(rows, device),)
    _gradcheck(lambda t, v: mg.index_put(t, ridx, v, accumulate=True), x, values,
               device=device)
    last_row = values[-1:]                     # broadcast over the indexed rows
    _gradcheck(lambda t, v: mg.index_put(t, ridx, v), x, last_row, device=device)
    mask = data.draw(arrays(shape=x.shape[1:] if x.ndim > 1 else x.shape)) > 0
    m = mg.tensor(mask, device=device)
    count = int(np.broadcast_to(mask, x.shape).sum())
    source = data.draw(arrays(shape=(count + data.draw(st.integers(0, 2)),)))
    _gradcheck(lambda t, s: t.masked_scatter(m, s), x, source, device=device)


def _reduce_inputs(data, reduce):
    """x, a dim, an index no larger than x outside the dim, and a src of the index's
    shape: values all distinct for amax/amin (no ties), away from 0 for prod."""
    x_shape = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
    d = data.draw(st.integers(0, len(x_shape) - 1))
    idx_shape = tuple(data.draw(st.integers(1, 4 if j == d else n))
                      for j, n in enumerate(x_shape))
    index = np.asarray(data.draw(st.lists(st.integers(0, x_shape[d] - 1),
                                          min_size=int(np.prod(idx_shape)),
                                          max_size=int(np.prod(idx_shape)))))
    index = index.reshape(idx_shape)
    n_x = int(np.prod(x_shape))
    kw = dict(unique=True) if reduce in ("amax", "amin") else \
        dict(avoid=(0.0,), margin=0.2) if reduce == "prod" else {}
    both = data.draw(arrays(shape=(n_x + index.size,), **kw))
    if reduce == "prod":
        both = np.clip(both, -1.5, 1.5)
    return both[:n_x].reshape(x_shape), d, index, both[n_x:].reshape(idx_shape)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@given(data=st.data())
def test_gradcheck_of_scatter_reduce(data, reduce, device):
    x, d, index, src = _reduce_inputs(data, reduce)
    include_self = data.draw(st.booleans())
    idx = _i64(index, device)
    _gradcheck(lambda t, s: t.scatter_reduce(d, idx, s, reduce, include_self=include_self),
               x, src, device=device)


def test_gradcheck_of_scatter_reduce_prod_with_zeros(device):
    x = np.array([[0.0, 1.5, -2.0], [0.7, 0.0, 1.2]])
    src = np.array([[1.1, 0.0, -0.8, 0.0], [0.0, 2.0, 0.0, 0.9]])
    index = _i64([[0, 1, 1, 2], [2, 2, 0, 1]], device)   # one zero of src per position
    for include_self in (True, False):
        _gradcheck(lambda t, s, i=include_self: t.scatter_reduce(1, index, s, "prod",
                                                                 include_self=i),
                   x, src, device=device)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@given(data=st.data())
def test_gradcheck_of_index_reduce(data, reduce, device):
    x_shape = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
    d = data.draw(st.integers(-len(x_shape), len(x_shape) - 1))
    k = data.draw(st.integers(0, 4))
    index = data.draw(st.lists(st.integers(0, x_shape[d] - 1), min_size=k, max_size=k))
    s_shape = x_shape[:d % len(x_shape)] + (k,) + x_shape[d % len(x_shape) + 1:]
    n_x = int(np.prod(x_shape))
    kw = dict(unique=True) if reduce in ("amax", "amin") else \
        dict(avoid=(0.0,), margin=0.2) if reduce == "prod" else {}
    both = data.draw(arrays(shape=(n_x + int(np.prod(s_shape)),), **kw))
    x, source = both[:n_x].reshape(x_shape), both[n_x:].reshape(s_shape)
    include_self = data.draw(st.booleans())
    idx = _i64(index, device)
    _gradcheck(lambda t, s: t.index_reduce(d, idx, s, reduce, include_self=include_self),
               x, source, device=device)


@given(data=st.data())
def test_gradcheck_of_splitting_unfold_narrow_copy_diagflat(data, device):
    x = data.draw(arrays(min_dims=1, max_dims=3, max_side=4))
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[d]
    sections = data.draw(st.integers(1, 5))
    points = data.draw(st.lists(st.integers(-n, n + 1), max_size=3))
    _gradcheck(lambda t: t.tensor_split(sections, d), x, device=device)
    _gradcheck(lambda t: mg.tensor_split(t, points, d), x, device=device)
    cut = data.draw(st.integers(0, n))
    _gradcheck(lambda t: t.split_with_sizes([cut, n - cut], d), x, device=device)
    _gradcheck(lambda t: mg.hsplit(t, [1]), x, device=device)
    if x.ndim >= 2:
        _gradcheck(lambda t: mg.vsplit(t, 1), x, device=device)
    if x.ndim >= 3:
        _gradcheck(lambda t: mg.dsplit(t, [0, 2]), x, device=device)
    size = data.draw(st.integers(0, n))
    step = data.draw(st.integers(1, 3))
    _gradcheck(lambda t: t.unfold(d, size, step), x, device=device)
    start = data.draw(st.integers(-n, n - 1))
    length = data.draw(st.integers(0, n - start % n))
    _gradcheck(lambda t: t.narrow_copy(d, start, length), x, device=device)
    offset = data.draw(st.integers(-2, 2))
    _gradcheck(lambda t: mg.diagflat(t, offset), x, device=device)


# ------------------------------------------------------------------ PyTorch as oracle


@pytest.mark.filterwarnings("ignore:index_reduce")
def test_values_and_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((2, 4))
    v = rng.standard_normal(6)
    ties = np.array([[1.0, 2.0, 2.0, 0.5], [3.0, -1.0, 3.0, 3.0], [0.0, 1.0, 0.0, 2.0]])
    sr_index = np.array([[0, 0, 2, 1], [1, 3, 3, 3]])
    cases = [
        (lambda m, x: m.select(x, 1, -2), [a]),
        (lambda m, x, s: x.select_scatter(s, 0, 1), [a, b[0]]),
        (lambda m, x, s: m.slice_scatter(x, s, 1, -3, None, 2), [a, a[:, :2]]),
        (lambda m, x, s: m.diagonal_scatter(x, s, 1), [a, b[0, :3]]),
        (lambda m, x, s: x.diagonal_scatter(s, -1, 1, 0), [a, b[1, :3]]),
        (lambda m, x: m.take(x, m.tensor([[0, -1], [5, 5]])), [a]),
        (lambda m, x, s: m.put(x, m.tensor([0, -1, 3, 0]), s, accumulate=True), [a, b[0]]),
        (lambda m, x, s: x.put(m.tensor([0, -1, 3]), s), [a, b[0, :3]]),
        (lambda m, x, s: m.index_put(x, (m.tensor([2, 0]), m.tensor([1, 3])), s), [a, b[0, :2]]),
        (lambda m, x, s: x.index_put((m.tensor([0, 0]),), s, accumulate=True), [a, b]),
        (lambda m, x, s: x.index_put((m.tensor([True, False, True]),), s), [a, b[1]]),
        (lambda m, x, s: m.masked_scatter(x, x > 0.2, s), [a, v.repeat(2)]),
        (lambda m, x, s: x.masked_scatter(m.tensor([True, False, False, True]), s), [a, v]),
        *[(lambda m, x, s, r=r, i=i: x.scatter_reduce(1, m.tensor(sr_index), s, r,
                                                      include_self=i), [a, b])
          for r in ("sum", "prod", "mean", "amax", "amin") for i in (True, False)],
        *[(lambda m, x, s, r=r, i=i: x.scatter_reduce(1, m.tensor(sr_index), s, r,
                                                      include_self=i), [ties, ties[:2]])
          for r in ("amax", "amin") for i in (True, False)],
        *[(lambda m, x, s, r=r, i=i: x.index_reduce(0, m.tensor([2, 0, 2]), s, r,
                                                    include_self=i), [ties, ties[::-1]])
          for r in ("prod", "mean", "amax", "amin") for i in (True, False)],
        (lambda m, x: m.cat(m.tensor_split(x, 3, dim=1), 1) * x, [a]),
        (lambda m, x: x.tensor_split([1, -1], 1)[1] * 2, [a]),
        (lambda m, x: m.hsplit(x, 2)[1] * 2, [a]),
        (lambda m, x: m.vsplit(x, [1])[1] * 2, [a]),
        (lambda m, x: m.dsplit(x.reshape(1, 3, 4), 2)[0] * 2, [a]),
        (lambda m, x: x.split_with_sizes([1, 3], 1)[1] * 2, [a]),
        (lambda m, x: x.unfold(1, 2, 1) * x.unfold(1, 2, 1), [a]),
        (lambda m, x: x.unfold(0, 2, 1), [a]),
        (lambda m, x: x.unfold(1, 3, 2), [a]),
        (lambda m, x: m.narrow_copy(x, 1, -3, 2), [a]),
        (lambda m, x: m.diagflat(x, 2), [b]),
    ]
    for k, (fn, data) in enumerate(cases):
        xs = [mg.tensor(d, requires_grad=True) for d in data]
        ts = [torch.tensor(np.ascontiguousarray(d), requires_grad=True) for d in data]
        y, yt = fn(mg, *xs), fn(torch, *ts)
        assert_close(y, yt.detach().cpu().numpy(), rtol=1e-12, atol=1e-12, msg=f"case {k}")
        g = rng.standard_normal(yt.shape)
        y.backward(mg.tensor(g))
        yt.backward(torch.tensor(g))
        for x, t in zip(xs, ts):
            assert_close(x.grad, t.grad.cpu().numpy(), rtol=1e-12, atol=1e-12, msg=f"case {k}")


@pytest.mark.filterwarnings("ignore:index_reduce")
def test_integer_results_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.integers(-5, 6, size=(3, 4))
    src = rng.integers(-9, 10, size=(3, 4))
    index = rng.integers(0, 4, size=(3, 4))
    cases = [
        *[lambda m, t, r=r, i=i: t(x).scatter_reduce(1, t(index), t(src), r, include_self=i)
          for r in ("sum", "prod", "mean", "amax", "amin") for i in (True, False)],
        lambda m, t: t(x).take(t(index)),
        lambda m, t: t(x).index_put((t(index[0, :2] % 3),), t(src[:2]), accumulate=True),
        lambda m, t: t(x).index_reduce(1, t(np.array([3, 3, 0, 1])), t(src), "mean"),
    ]
    for fn in cases:
        ours = fn(mg, lambda a: mg.tensor(a))
        theirs = fn(torch, lambda a: torch.tensor(a))
        assert ours.tolist() == theirs.tolist()
