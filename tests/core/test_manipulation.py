"""PyTorch's manipulation, search, comparison and NaN-aware functions
(minigrad/ops/manipulation.py, the additions to sorting.py and reduction.py, the Tensor
helpers): values worked out by hand, gradients by gradcheck on hypothesis-drawn inputs on
every device, clear errors, and PyTorch as an oracle when it is installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import arrays, assert_close

SMALL = dict(min_dims=1, max_dims=3, max_side=4)


def _t(a, device="cpu", **kw):
    return mg.tensor(a, device=device, **kw)


def _f64(a, device):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=True)


# ------------------------------------------------------------------ by hand


def test_movedim_swapaxes_tile_by_hand(device):
    x = _t(np.arange(24).reshape(2, 3, 4), device)
    assert mg.movedim(x, 0, -1).shape == (3, 4, 2)
    assert mg.movedim(x, (0, 1), (2, 0)).shape == (3, 4, 2)
    assert x.moveaxis(2, 0).shape == (4, 2, 3)
    assert_close(mg.movedim(x, (0, 1), (2, 0)), np.moveaxis(x.cpu().numpy(), (0, 1), (2, 0)))
    assert mg.swapaxes(x, 0, 2).shape == (4, 3, 2) and x.swapdims(1, 2).shape == (2, 4, 3)
    assert mg.movedim(_t(5.0, device), 0, 0).item() == 5.0
    assert mg.tile(_t([1, 2], device), (2, 2)).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert mg.tile(_t([[1], [2]], device), (3,)).tolist() == [[1, 1, 1], [2, 2, 2]]


def test_repeat_interleave_by_hand(device):
    x = _t([[1, 2], [3, 4]], device)
    assert mg.repeat_interleave(x, 2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert x.repeat_interleave(_t([1, 2], device), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    assert mg.repeat_interleave(x, 3, dim=1).shape == (2, 6)
    assert mg.repeat_interleave(_t([2, 0, 1], device)).tolist() == [0, 0, 2]
    assert mg.repeat_interleave(_t(7, device), 3).tolist() == [7, 7, 7]


def test_stacking_and_atleast_by_hand(device):
    a, b = _t([1, 2], device), _t([3, 4], device)
    assert mg.hstack([a, b]).tolist() == [1, 2, 3, 4]
    assert mg.vstack([a, b]).tolist() == [[1, 2], [3, 4]] == mg.row_stack((a, b)).tolist()
    assert mg.dstack([a, b]).tolist() == [[[1, 3], [2, 4]]]
    assert mg.column_stack([a, b]).tolist() == [[1, 3], [2, 4]]
    m = _t([[1, 2], [3, 4]], device)
    assert mg.hstack([m, m]).shape == (2, 4) and mg.column_stack([m, a]).shape == (2, 3)
    s = _t(5, device)
    assert mg.atleast_1d(s).shape == (1,) and mg.atleast_2d(s).shape == (1, 1)
    assert mg.atleast_2d(a).shape == (1, 2) and mg.atleast_3d(a).shape == (1, 2, 1)
    assert mg.atleast_3d(m).shape == (2, 2, 1) and mg.atleast_3d(s).shape == (1, 1, 1)
    assert [t.shape for t in mg.atleast_1d(s, a)] == [(1,), (2,)]
    assert [t.shape for t in mg.atleast_2d([s, a])] == [(1, 1), (1, 2)]


def test_meshgrid_ij_and_xy_by_hand(device):
    x, y = _t([1, 2, 3], device), _t([4, 5], device)
    X, Y = mg.meshgrid(x, y)
    assert X.tolist() == [[1, 1], [2, 2], [3, 3]] and Y.tolist() == [[4, 5], [4, 5], [4, 5]]
    X, Y = mg.meshgrid([x, y], indexing="xy")
    assert X.tolist() == [[1, 2, 3], [1, 2, 3]] and Y.tolist() == [[4, 4, 4], [5, 5, 5]]
    grids = mg.meshgrid(x, y, _t([6, 7, 8, 9], device), indexing="xy")
    ref = np.meshgrid([1, 2, 3], [4, 5], [6, 7, 8, 9], indexing="xy")
    for g, r in zip(grids, ref):
        assert g.tolist() == r.tolist()


def test_rot90_flips_and_diff_by_hand(device):
    m = _t([[1, 2], [3, 4]], device)
    assert mg.rot90(m).tolist() == [[2, 4], [1, 3]]
    assert mg.rot90(m, 2).tolist() == [[4, 3], [2, 1]]
    assert mg.rot90(m, -1).tolist() == [[3, 1], [4, 2]] == mg.rot90(m, 3).tolist()
    assert mg.rot90(m, 1, (1, 0)).tolist() == [[3, 1], [4, 2]]
    assert mg.fliplr(m).tolist() == [[2, 1], [4, 3]] and mg.flipud(m).tolist() == [[3, 4], [1, 2]]
    x = _t([1, 4, 9, 16], device)
    assert mg.diff(x).tolist() == [3, 5, 7] and mg.diff(x, n=2).tolist() == [2, 2]
    assert mg.diff(x, n=0).tolist() == [1, 4, 9, 16] and mg.diff(x, n=5).tolist() == []
    assert mg.diff(x, prepend=_t([0], device), append=_t([20], device)).tolist() == \
        [1, 3, 5, 7, 4]
    assert mg.diff(m, dim=0).tolist() == [[2, 2]]
    assert mg.diff(_t([True, True, False], device)).tolist() == [False, True]


def test_indexing_functions_by_hand(device):
    x = _t([[10, 30, 20], [60, 40, 50]], device)
    assert mg.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1).tolist() == [[30], [60]]
    assert mg.take_along_dim(x, _t([5, 0], device)).tolist() == [50, 10]
    assert mg.take_along_dim(x, _t([[0], [2]], device).reshape(2, 1), 1).tolist() == \
        [[10], [50]]
    z = mg.zeros(3, 2, device=device)
    src = _t([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device)
    assert mg.index_add(z, 0, _t([0, 2, 0], device), src).tolist() == \
        [[6.0, 8.0], [0.0, 0.0], [3.0, 4.0]]
    assert z.index_add(0, _t([1, 1, 1], device), src, alpha=-1).tolist()[1] == [-9.0, -12.0]
    assert mg.index_copy(z, 0, _t([2, 0, 1], device), src).tolist() == \
        [[3.0, 4.0], [5.0, 6.0], [1.0, 2.0]]
    assert mg.index_fill(src, 1, _t([1], device), -1.0).tolist() == \
        [[1.0, -1.0], [3.0, -1.0], [5.0, -1.0]]
    assert mg.index_fill(src, 0, _t([-1], device), 0.0).tolist()[2] == [0.0, 0.0]
    assert mg.masked_select(src, src > 3).tolist() == [4.0, 5.0, 6.0]
    assert mg.masked_select(src, _t([True, False], device)).tolist() == [1.0, 3.0, 5.0]
    assert x.masked_select(mg.tensor(True, device=device)).shape == (6,)


def test_take_along_dim_broadcasts_outside_dim(device):
    x = _t(np.arange(6.0).reshape(2, 3), device)
    idx = _t([[2], [0]], device)
    assert mg.take_along_dim(x, idx, dim=1).tolist() == [[2.0], [3.0]]
    col = _t([[1, 0]], device)                         # (1, 2): broadcast over the rows
    assert mg.take_along_dim(x, col, dim=1).tolist() == [[1.0, 0.0], [4.0, 3.0]]


def test_search_and_counting_by_hand(device):
    v, i = mg.cummax(_t([1.0, 3.0, 2.0, 3.0, 5.0], device), 0)
    assert v.tolist() == [1.0, 3.0, 3.0, 3.0, 5.0] and i.tolist() == [0, 1, 1, 3, 4]
    v, i = mg.cummin(_t([[2.0, np.nan, 1.0, np.nan]], device), 1)
    assert np.isnan(v.tolist()[0][1:]).all() and i.tolist() == [[0, 1, 1, 3]]
    seq = _t([1, 3, 5, 7], device)
    assert mg.searchsorted(seq, _t([0, 3, 6, 9], device)).tolist() == [0, 1, 3, 4]
    assert mg.searchsorted(seq, _t([3, 7], device), right=True).tolist() == [2, 4]
    assert mg.searchsorted(seq, _t([3], device), side="right").tolist() == [2]
    assert mg.searchsorted(seq, 6).item() == 3 and mg.searchsorted(seq, 6).ndim == 0
    assert mg.searchsorted(seq, _t([3], device), out_int32=True).dtype == mg.int32
    # NaNs at the end of the sequence (sort's order): values placed by that order, a NaN
    # value after the numbers (left) or after the NaNs (right); see the README's
    # differences from PyTorch
    nans = _t([1.0, 2.0, np.nan, np.nan], device)
    assert mg.searchsorted(nans, _t([1.5, 3.0, np.nan], device)).tolist() == [1, 2, 2]
    assert mg.searchsorted(nans, _t([1.5, 3.0, np.nan], device), right=True).tolist() == \
        [1, 2, 4]
    rows = _t([[1, 3, 5], [2, 4, 6]], device)
    assert mg.searchsorted(rows, _t([[4], [4]], device)).tolist() == [[2], [1]]
    unsorted = _t([5, 1, 3], device)
    assert mg.searchsorted(unsorted, _t([2, 4], device),
                           sorter=_t([1, 2, 0], device)).tolist() == [1, 2]
    assert mg.bucketize(_t([0.5, 1.0, 1.5, 2.0, 2.5], device),
                        _t([1.0, 2.0], device)).tolist() == [0, 0, 1, 1, 2]
    assert mg.bucketize(_t([1.0, 2.0], device), _t([1.0, 2.0], device),
                        right=True).tolist() == [1, 2]
    u, inv, cnt = mg.unique(_t([[3, 1], [3, 2]], device), return_inverse=True,
                            return_counts=True)
    assert u.tolist() == [1, 2, 3] and inv.tolist() == [[2, 0], [2, 1]]
    assert cnt.tolist() == [1, 1, 2]
    rows_u, rows_inv = mg.unique(_t([[1, 2], [0, 5], [1, 2]], device), dim=0,
                                 return_inverse=True)
    assert rows_u.tolist() == [[0, 5], [1, 2]] and rows_inv.tolist() == [1, 0, 1]
    nz = _t([[0, 2], [3, 0]], device)
    assert mg.nonzero(nz).tolist() == [[0, 1], [1, 0]] == mg.argwhere(nz).tolist()
    assert [t.tolist() for t in nz.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    assert mg.nonzero(_t(3, device)).shape == (1, 0)
    assert mg.nonzero(_t(0, device)).shape == (0, 0)
    assert mg.count_nonzero(nz).item() == 2
    assert mg.count_nonzero(_t([[0, 1], [2, 3]], device), dim=0).tolist() == [1, 2]


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")  # the all-NaN row
def test_nan_aware_reductions_and_aminmax_by_hand(device):
    x = _f64([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], device)
    assert mg.nansum(x).item() == 4.0
    m = mg.nanmean(x, dim=1)
    assert m.tolist()[0] == 2.0 and np.isnan(m.tolist()[1])
    m[0].backward()
    assert x.grad.tolist()[0] == [0.5, 0.0, 0.5]
    assert mg.nansum(_t([1, 2], device)).item() == 3
    lo, hi = mg.aminmax(_t([[1.0, 5.0], [3.0, 2.0]], device), dim=0)
    assert lo.tolist() == [1.0, 2.0] and hi.tolist() == [3.0, 5.0]
    r = mg.aminmax(_t([4.0, -1.0], device))
    assert (r.min.item(), r.max.item()) == (-1.0, 4.0)
    v, mu = mg.var_mean(_t([1.0, 2.0, 3.0, 4.0], device))
    assert mu.item() == 2.5 and v.item() == pytest.approx(5 / 3)
    s, mu = mg.std_mean(_t([1.0, 3.0], device), correction=0)
    assert (s.item(), mu.item()) == (1.0, 2.0)


def test_comparison_and_new_tensor_helpers(device):
    a = _t([1.0, 2.0, np.nan], device)
    b = _t([1.0 + 1e-7, 2.1, np.nan], device)
    assert mg.isclose(a, b).tolist() == [True, False, False]
    assert a.isclose(b, equal_nan=True, rtol=0.1).tolist() == [True, True, True]
    assert not mg.allclose(a, b) and mg.allclose(a, b, rtol=0.1, equal_nan=True)
    assert mg.equal(a[:2], a[:2]) and not mg.equal(a[:2], a[:1])
    assert mg.logical_and(_t([1, 0, 2], device), _t([True, True, False], device)).tolist() \
        == [True, False, False]
    assert mg.logical_or(_t([0, 0], device), _t([0, 3], device)).tolist() == [False, True]
    assert mg.logical_xor(_t([1, 0], device), _t([1, 1], device)).tolist() == [False, True]
    x = mg.ones(2, dtype=mg.float64, device=device)
    z = x.new_zeros(2, 3)
    assert (z.shape, z.dtype, z.device) == ((2, 3), mg.float64, device)
    assert x.new_ones((1,)).tolist() == [1.0] and x.new_full(2, 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == mg.float64
    assert x.new_empty(4).shape == (4,)
    assert x.is_floating_point() and not _t([1], device).is_floating_point()
    assert mg.is_floating_point(x) and mg.is_tensor(x) and not mg.is_tensor(np.ones(2))
    assert x.element_size() == 8 and x.nbytes == 16 and mg.numel(z) == 6
    t = mg.zeros(3, 4, device=device).T
    assert not t.is_contiguous() and t.stride() == (1, 4)
    assert t.contiguous().is_contiguous() and t.contiguous().stride() == (3, 1)


def test_functional_aliases_of_methods(device):
    x = _t([[1.0, -2.0], [3.0, -4.0]], device)
    assert mg.clip(x, -1, 1).tolist() == [[1.0, -1.0], [1.0, -1.0]]
    assert mg.concat([x, x]).shape == (4, 2) == mg.concatenate((x, x), 0).shape
    assert mg.subtract(x, 1).tolist()[0] == [0.0, -3.0]
    assert mg.multiply(x, 2).tolist()[0] == [2.0, -4.0]
    assert mg.divide(x, 2).tolist()[0] == [0.5, -1.0]
    assert mg.negative(x).tolist()[1] == [-3.0, 4.0]
    assert mg.t(x).tolist() == [[1.0, 3.0], [-2.0, -4.0]]
    assert [u.tolist() for u in mg.unbind(x, 1)] == [[1.0, 3.0], [-2.0, -4.0]]
    assert mg.narrow(x, 1, 1, 1).tolist() == [[-2.0], [-4.0]]
    assert mg.index_select(x, 0, _t([1], device)).tolist() == [[3.0, -4.0]]
    assert mg.roll(x, 1, 0).tolist()[0] == [3.0, -4.0]
    assert mg.masked_fill(x, x < 0, 0.0).tolist() == [[1.0, 0.0], [3.0, 0.0]]
    assert mg.eq(x, 1.0).tolist()[0] == [True, False] and mg.ge(x, 3).tolist()[1][0]
    assert mg.clone(x).tolist() == x.tolist() and mg.broadcast_to(x[0], (3, 2)).shape == (3, 2)
    assert mg.unflatten(mg.zeros(6), 0, (2, 3)).shape == (2, 3)
    assert mg.clamp_min(x, 0).tolist()[0] == [1.0, 0.0]


# ------------------------------------------------------------------ errors


def test_bad_arguments_get_clear_errors():
    x = mg.zeros(2, 3)
    with pytest.raises(ValueError, match="movedim: 2 source dims but 1"):
        mg.movedim(x, (0, 1), 0)
    with pytest.raises(ValueError, match="movedim: repeated dim"):
        mg.movedim(x, (0, 0), (0, 1))
    with pytest.raises(IndexError, match="movedim: dim 5 is out of range"):
        mg.movedim(x, 5, 0)
    with pytest.raises(ValueError, match="repeat_interleave: 3 repeats for a dim of size 2"):
        mg.repeat_interleave(x, mg.tensor([1, 2, 3]), dim=0)
    with pytest.raises(ValueError, match="repeats must be non-negative"):
        mg.repeat_interleave(x, -1)
    with pytest.raises(TypeError, match="repeats must be an int or a 1-d integer"):
        mg.repeat_interleave(x, mg.tensor([1.5, 2.0]), dim=0)
    with pytest.raises(ValueError, match="tile: repeats must be non-negative"):
        mg.tile(x, (-1,))
    with pytest.raises(ValueError, match="meshgrid: expects 0-d or 1-d"):
        mg.meshgrid(x, x)
    with pytest.raises(ValueError, match="meshgrid: indexing must be"):
        mg.meshgrid(x[0], indexing="ji")
    with pytest.raises(ValueError, match="rot90: needs two different dims"):
        mg.rot90(x, 1, (0, 0))
    with pytest.raises(ValueError, match="diff: needs at least 1 dim"):
        mg.diff(mg.tensor(1.0))
    with pytest.raises(ValueError, match="take_along_dim: indices have 1 dims"):
        mg.take_along_dim(x, mg.tensor([0]), dim=1)
    with pytest.raises(ValueError, match="do not broadcast outside dim 1"):
        mg.take_along_dim(x, mg.zeros(3, 1, dtype=mg.int64), dim=1)
    with pytest.raises(IndexError, match="index out of range"):
        mg.take_along_dim(x, mg.tensor([[3]]), dim=1)
    with pytest.raises(ValueError, match=r"index_add: source must have shape \(2, 2\)"):
        mg.index_add(x, 1, mg.tensor([0, 1]), mg.zeros(2, 3))
    with pytest.raises(IndexError, match="index out of range"):
        mg.index_add(x, 0, mg.tensor([2]), mg.zeros(1, 3))
    with pytest.raises(ValueError, match="index_copy: index must be a 1-d integer"):
        mg.index_copy(x, 0, mg.tensor([[0]]), mg.zeros(1, 3))
    with pytest.raises(IndexError, match="index_fill: index out of range"):
        mg.index_fill(x, 1, mg.tensor([3]), 1.0)
    with pytest.raises(TypeError, match="masked_select: the mask must be boolean, got float32"):
        mg.masked_select(x, mg.ones(2, 3))
    with pytest.raises(ValueError, match="masked_select: mask .* does not broadcast"):
        mg.masked_select(x, mg.ones(4, dtype=mg.bool))
    with pytest.raises(ValueError, match="searchsorted: side must be"):
        mg.searchsorted(mg.tensor([1, 2]), mg.tensor([1]), side="middle")
    with pytest.raises(ValueError, match="right=True contradicts side='left'"):
        mg.searchsorted(mg.tensor([1, 2]), mg.tensor([1]), right=True, side="left")
    with pytest.raises(ValueError, match="same leading dims"):
        mg.searchsorted(mg.zeros(2, 3), mg.zeros(3, 1))
    with pytest.raises(ValueError, match="bucketize: boundaries must be 1-d"):
        mg.bucketize(mg.tensor([1.0]), mg.zeros(2, 2))
    with pytest.raises(TypeError, match="nanmean: expects a floating tensor"):
        mg.nanmean(mg.tensor([1, 2]))
    with pytest.raises(TypeError, match="aminmax: dim must be an int"):
        mg.aminmax(x, dim=(0, 1))
    with pytest.raises(TypeError, match="equal: expects a tensor"):
        mg.equal(x, 0)


# ------------------------------------------------------------------ gradients

def _gradcheck(fn, *arrays, device):
    xs = [_f64(a, device) for a in arrays]
    assert mg.gradcheck(fn, xs)
    assert mg.gradgradcheck(fn, xs)


@given(data=st.data())
def test_gradcheck_of_the_reshaping_functions(data, device):
    x = data.draw(arrays(**SMALL))
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    e = data.draw(st.integers(-x.ndim, x.ndim - 1))
    reps = tuple(data.draw(st.lists(st.integers(0, 2), min_size=1, max_size=3)))
    r = data.draw(st.integers(0, 2))
    _gradcheck(lambda t: mg.movedim(t, d, e), x, device=device)
    _gradcheck(lambda t: mg.tile(t, reps), x, device=device)
    _gradcheck(lambda t: mg.repeat_interleave(t, r, dim=d), x, device=device)
    _gradcheck(lambda t: mg.diff(t, n=1 + r % 2, dim=d), x, device=device)
    _gradcheck(lambda t: mg.atleast_3d(t), x, device=device)
    if x.ndim >= 2:
        _gradcheck(lambda t: mg.rot90(t, r + 1, (d % x.ndim, (d + 1) % x.ndim)), x,
                   device=device)


@given(data=st.data())
def test_gradcheck_of_stacking_and_meshgrid(data, device):
    n = data.draw(st.integers(1, 4))
    a = data.draw(arrays(shape=(n,)))
    b = data.draw(arrays(shape=(data.draw(st.integers(1, 4)),)))
    _gradcheck(lambda s, t: mg.hstack([s, t]), a, b, device=device)
    _gradcheck(lambda s, t: mg.dstack([s, s * t[0]]), a, b, device=device)
    _gradcheck(lambda s, t: mg.column_stack([s, s]).sum() * t, a, b, device=device)
    for indexing in ("ij", "xy"):
        def grid_product(s, t, indexing=indexing):
            X, Y = mg.meshgrid(s, t, indexing=indexing)
            return X * Y
        _gradcheck(grid_product, a, b, device=device)


@given(data=st.data())
def test_gradcheck_of_the_indexing_functions(data, device):
    x = data.draw(arrays(min_dims=2, max_dims=3, max_side=4))
    d = data.draw(st.integers(0, x.ndim - 1))
    n = x.shape[d]
    k = data.draw(st.integers(0, 5))
    index = data.draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
    source = data.draw(arrays(shape=x.shape[:d] + (k,) + x.shape[d + 1:]))
    idx = mg.tensor(np.asarray(index, dtype=np.int64), device=device)
    _gradcheck(lambda t, s: mg.index_add(t, d, idx, s, alpha=2.0), x, source, device=device)
    _gradcheck(lambda t: mg.index_fill(t, d, idx, 0.5), x, device=device)
    distinct = sorted(set(index))
    sub = source[(slice(None),) * d + (slice(0, len(distinct)),)]
    didx = mg.tensor(np.asarray(distinct, dtype=np.int64), device=device)
    _gradcheck(lambda t, s: mg.index_copy(t, d, didx, s), x, sub, device=device)
    take = data.draw(arrays(shape=x.shape[:d] + (k,) + x.shape[d + 1:], min_value=0,
                            max_value=n - 1)).astype(np.int64) if k else None
    if take is not None:
        tidx = mg.tensor(take, device=device)
        _gradcheck(lambda t: mg.take_along_dim(t, tidx, d), x, device=device)
    mask = mg.tensor(x > 0, device=device)
    _gradcheck(lambda t: mg.masked_select(t, mask), x, device=device)


@given(data=st.data())
def test_gradcheck_of_cummax_cummin_and_nan_reductions(data, device):
    x = data.draw(arrays(min_dims=1, max_dims=3, max_side=4, unique=True))
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    _gradcheck(lambda t: mg.cummax(t, d).values, x, device=device)
    _gradcheck(lambda t: mg.cummin(t, d).values, x, device=device)
    _gradcheck(lambda t: mg.aminmax(t, dim=d).max - mg.aminmax(t).min, x, device=device)
    holes = x.copy()
    holes.reshape(-1)[::3] = np.nan
    nan_mask = mg.tensor(np.isnan(holes), device=device)

    def with_nans(t):  # the NaNs are constants: the gradient is checked where it exists
        return mg.where(nan_mask, float("nan"), t)
    _gradcheck(lambda t: mg.nansum(with_nans(t), dim=d), x, device=device)
    counts = (~np.isnan(holes)).sum(axis=d)
    if counts.all():
        _gradcheck(lambda t: mg.nanmean(with_nans(t), dim=d, keepdim=True), x, device=device)
    _gradcheck(lambda t: mg.var_mean(t, d, correction=0)[0] + mg.std_mean(t)[1], x,
               device=device)


# ------------------------------------------------------------------ PyTorch as oracle


def test_values_and_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((2, 4))
    idx = np.array([2, 0, 2])
    cases = [
        (lambda m, x: m.movedim(x, (0, 1), (1, 0)), a),
        (lambda m, x: m.tile(x, (2, 1, 3)), a),
        (lambda m, x: m.repeat_interleave(x, 2, dim=1), a),
        (lambda m, x: m.repeat_interleave(x, m.tensor([1, 0, 3]), dim=0), a),
        (lambda m, x: m.hstack([x, x]), a),
        (lambda m, x: m.vstack([x, x[0]]), a),
        (lambda m, x: m.dstack([x, x]), a),
        (lambda m, x: m.column_stack([x[:, 0], x]), a),
        (lambda m, x: m.meshgrid(x[0], x[1], indexing="xy")[1], a),
        (lambda m, x: m.rot90(x, 3, [1, 0]), a),
        (lambda m, x: m.fliplr(x) * m.flipud(x), a),
        (lambda m, x: m.diff(x, n=2, dim=1, prepend=x[:, :1]), a),
        (lambda m, x: m.take_along_dim(x, m.tensor([[1], [0], [3]]), dim=1), a),
        (lambda m, x: m.index_add(x, 0, m.tensor(idx), x, alpha=0.5), a),
        (lambda m, x: m.index_copy(x, 1, m.tensor([3, 1]), x[:, :2]), a),
        (lambda m, x: m.index_fill(x, 1, m.tensor([0, 2]), -1.0), a),
        (lambda m, x: m.masked_select(x, x > 0), a),
        (lambda m, x: m.cummax(x, 1).values * 1.0, a),
        (lambda m, x: m.cummin(x, 0).values * 1.0, a),
        (lambda m, x: m.nansum(m.where(x > 1, float("nan"), x), 1), a),
        (lambda m, x: m.nanmean(m.where(x > 1.5, float("nan"), x), 0), b),
        (lambda m, x: m.var_mean(x, 1)[0] + m.std_mean(x, 0)[1].sum(), a),
        (lambda m, x: m.aminmax(x, dim=1).min, a),
    ]
    for fn, data in cases:
        x = mg.tensor(data, requires_grad=True)
        y = fn(mg, x)
        xt = torch.tensor(data, requires_grad=True)
        yt = fn(torch, xt)
        assert_close(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        g = rng.standard_normal(yt.shape)
        y.backward(mg.tensor(g))
        yt.backward(torch.tensor(g))
        assert_close(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_integer_results_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, size=(4, 5))
    seq = np.sort(rng.integers(0, 10, size=(4, 6)), axis=1)
    vals = rng.integers(-1, 11, size=(4, 3))
    f = np.array([0.5, np.nan, 2.0, 2.0, -1.0, np.nan, 3.0])
    cases = [
        lambda m, t: m.cummax(t(x), 1).indices,
        lambda m, t: m.cummin(t(x), 0).indices,
        lambda m, t: m.cummax(t(f), 0).indices,
        lambda m, t: m.cummin(t(f), 0).indices,
        lambda m, t: m.searchsorted(t(seq), t(vals)),
        lambda m, t: m.searchsorted(t(seq), t(vals), right=True),
        lambda m, t: m.searchsorted(t(seq[0]), t(vals)),
        lambda m, t: m.bucketize(t(vals), t(seq[0])),
        lambda m, t: m.bucketize(t(vals), t(seq[0]), right=True),
        lambda m, t: m.unique(t(x), return_inverse=True)[1],
        lambda m, t: m.unique(t(x), return_counts=True)[1],
        lambda m, t: m.unique(t(x % 2), dim=1),
        lambda m, t: m.nonzero(t(x)),
        lambda m, t: m.argwhere(t(x)),
        lambda m, t: m.count_nonzero(t(x), dim=1),
        lambda m, t: m.isclose(t(f), t(f), equal_nan=True),
        lambda m, t: m.logical_xor(t(x), t(x.T[:4, :4].sum(1, keepdims=True))),
        lambda m, t: m.repeat_interleave(t(np.array([2, 0, 3]))),
    ]
    for fn in cases:
        ours = fn(mg, lambda a: mg.tensor(a))
        theirs = fn(torch, lambda a: torch.tensor(a))
        assert ours.tolist() == theirs.tolist() or np.array_equal(
            np.asarray(ours.tolist(), dtype=float), theirs.double().numpy(), equal_nan=True)
