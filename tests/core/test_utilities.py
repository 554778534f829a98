"""PyTorch's top-level utilities: broadcast_tensors/broadcast_shapes, block_diag,
cartesian_prod, combinations, unravel_index, isin, rsub; trapezoid, cumulative_trapezoid
and gradient; the window functions; the dtype helpers (finfo, iinfo, promote_types,
can_cast, result_type); set_printoptions; norm; seed. Values by hand, gradients by
gradcheck on hypothesis-drawn inputs, clear errors, PyTorch as an oracle when installed."""
import itertools
import math

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


def _gradcheck(fn, *arrays_, device):
    xs = [_f64(a, device) for a in arrays_]
    assert mg.gradcheck(fn, xs)
    assert mg.gradgradcheck(fn, xs)


# ------------------------------------------------------------------ sets and shapes


def test_broadcasting_helpers_by_hand(device):
    assert mg.broadcast_shapes((2, 1), (3,), 1) == (2, 3)
    assert mg.broadcast_shapes() == () and mg.broadcast_shapes(4) == (4,)
    a, b, c = mg.broadcast_tensors(_t([[1], [2]], device), _t([3, 4, 5], device),
                                   _t(7, device))
    assert a.tolist() == [[1, 1, 1], [2, 2, 2]] and b.shape == c.shape == (2, 3)
    with pytest.raises(ValueError, match=r"shapes \(2,\), \(3,\) do not broadcast"):
        mg.broadcast_shapes((2,), (3,))


def test_block_diag_cartesian_prod_combinations_by_hand(device):
    m = mg.block_diag(_t([[1, 2], [3, 4]], device), _t([5], device), _t(6, device))
    assert m.tolist() == [[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 5, 0], [0, 0, 0, 6]]
    assert mg.block_diag(_t([[1]], device), _t([[2.5]], device)).dtype == mg.float32
    assert mg.block_diag(mg.zeros(0, 2, device=device), _t([[1]], device)).shape == (1, 3)
    assert mg.cartesian_prod(_t([1, 2], device), _t([3], device), _t([4, 5], device)).tolist() \
        == [[1, 3, 4], [1, 3, 5], [2, 3, 4], [2, 3, 5]]
    assert mg.cartesian_prod(_t([1, 2], device)).tolist() == [1, 2]
    x = _t([1, 2, 3], device)
    assert mg.combinations(x).tolist() == [[1, 2], [1, 3], [2, 3]]
    assert mg.combinations(x, 3).tolist() == [[1, 2, 3]]
    assert mg.combinations(x, 2, with_replacement=True).tolist() == \
        [[1, 1], [1, 2], [1, 3], [2, 2], [2, 3], [3, 3]]
    assert mg.combinations(x, 4).shape == (0, 4) and mg.combinations(x, 0).shape == (0,)
    with pytest.raises(ValueError, match="at most 2 dims"):
        mg.block_diag(mg.zeros(1, 1, 1))
    with pytest.raises(ValueError, match="1-d tensors"):
        mg.cartesian_prod(mg.zeros(2, 2))
    with pytest.raises(ValueError, match="non-negative integer"):
        mg.combinations(x, -1)


def test_unravel_index_isin_rsub_by_hand(device):
    rows, cols = mg.unravel_index(_t([5, 7, -1], device), (2, 4))
    assert rows.tolist() == [1, 1, 1] and cols.tolist() == [1, 3, 3]
    assert rows.dtype == mg.int64
    (flat,) = mg.unravel_index(_t(3, device), 5)
    assert flat.tolist() == 3
    with pytest.raises(IndexError, match="out of range for shape \\(2, 4\\)"):
        mg.unravel_index(_t([8], device), (2, 4))
    with pytest.raises(TypeError, match="integer indices"):
        mg.unravel_index(_t([1.0], device), (2, 4))
    e = _t([[1, 2], [3, 4]], device)
    assert mg.isin(e, _t([2, 4, 9], device)).tolist() == [[False, True], [False, True]]
    assert mg.isin(e, 3, invert=True).tolist() == [[True, True], [False, True]]
    assert mg.isin(2, e).tolist() is True
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = mg.rsub(x, 10, alpha=2)
    assert y.tolist() == [8.0, 6.0]
    y.sum().backward()
    assert x.grad.tolist() == [-2.0, -2.0]


@given(data=st.data())
def test_gradcheck_of_the_set_functions(data, device):
    a = data.draw(arrays(min_dims=0, max_dims=2, max_side=3))
    b = data.draw(arrays(min_dims=1, max_dims=1, max_side=4))
    _gradcheck(lambda s, t: mg.block_diag(s, t, s * 2), a, b, device=device)
    _gradcheck(lambda t: mg.combinations(t, 2) ** 2, b, device=device)
    _gradcheck(lambda t: mg.combinations(t, 3, with_replacement=True), b, device=device)

    def pair_products(t):
        c = mg.cartesian_prod(t, t * t)
        return c[:, 0] * c[:, 1]

    _gradcheck(pair_products, b, device=device)
    _gradcheck(lambda s, t: mg.broadcast_tensors(s, t)[0] * 1.0, a, b[:1], device=device)


def test_set_functions_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal(4), rng.standard_normal(())
    mine = mg.block_diag(mg.tensor(a), mg.tensor(b), mg.tensor(c))
    theirs = torch.block_diag(torch.tensor(a), torch.tensor(b), torch.tensor(c))
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    for r, rep in itertools.product((0, 1, 2, 3, 5), (False, True)):
        mine = mg.combinations(mg.tensor(b), r, rep)
        theirs = torch.combinations(torch.tensor(b), r, rep)
        assert mine.shape == tuple(theirs.shape), (r, rep)
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    np.testing.assert_array_equal(
        mg.cartesian_prod(mg.tensor(b), mg.tensor(b[:2])).numpy(),
        torch.cartesian_prod(torch.tensor(b), torch.tensor(b[:2])).numpy())
    idx = [0, 5, 11, -3]
    for m, t in zip(mg.unravel_index(mg.tensor(idx), (3, 4)),
                    torch.unravel_index(torch.tensor(idx), (3, 4))):
        assert m.tolist() == t.tolist()


# ------------------------------------------------------------------ numerical calculus


def test_trapezoid_and_cumulative_by_hand(device):
    y = _t([1.0, 2.0, 3.0], device)
    assert mg.trapezoid(y).item() == 4.0 == mg.trapz(y).item()
    assert mg.trapezoid(y, dx=0.5).item() == 2.0
    assert mg.trapezoid(y, _t([0.0, 1.0, 3.0], device)).item() == 1.5 + 5.0
    assert mg.cumulative_trapezoid(y).tolist() == [1.5, 4.0]
    m = _t([[1.0, 2.0], [3.0, 5.0]], device)
    assert mg.trapezoid(m, dim=0).tolist() == [2.0, 3.5]
    assert mg.trapezoid(m, _t([[0.0, 2.0], [0.0, 1.0]], device)).tolist() == [3.0, 4.0]
    assert mg.trapezoid(_t([1, 2, 3], device)).dtype == mg.float32   # integers: float
    assert mg.trapezoid(_t([7.0], device)).item() == 0.0
    assert mg.trapezoid(mg.zeros(2, 0, device=device)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="not both"):
        mg.trapezoid(y, _t([0.0, 1.0, 2.0], device), dx=1.0)
    with pytest.raises(ValueError, match="2 coordinates for a dim of size 3"):
        mg.trapezoid(y, _t([0.0, 1.0], device))


def test_gradient_by_hand(device):
    """f = x² sampled at 0..3: central differences 2x inside, one-sided at the edges; with
    edge_order=2 the parabola is exact at the edges too."""
    f = _t([0.0, 1.0, 4.0, 9.0], device)
    (g,) = mg.gradient(f)
    assert g.tolist() == [1.0, 2.0, 4.0, 5.0]
    (g,) = mg.gradient(f, edge_order=2)
    assert g.tolist() == [0.0, 2.0, 4.0, 6.0]
    (g,) = mg.gradient(f, spacing=0.5)
    assert g.tolist() == [2.0, 4.0, 8.0, 10.0]
    x = _t([0.0, 1.0, 3.0, 4.0], device)                           # uneven coordinates
    (g,) = mg.gradient(x * x, spacing=[x], edge_order=2)
    assert_close(g, [0.0, 2.0, 6.0, 8.0], atol=1e-5)               # exact for parabolas
    m = _t([[1.0, 2.0, 4.0], [2.0, 5.0, 9.0]], device)
    g0, g1 = mg.gradient(m)
    assert g0.tolist() == [[1.0, 3.0, 5.0]] * 2 and g1.tolist() == [[1.0, 1.5, 2.0],
                                                                    [3.0, 3.5, 4.0]]
    (g1,) = mg.gradient(m, spacing=[2.0], dim=1)
    assert g1.tolist() == [[0.5, 0.75, 1.0], [1.5, 1.75, 2.0]]
    with pytest.raises(RuntimeError, match="at least edge_order \\+ 1 = 3 samples"):
        mg.gradient(_t([1.0, 2.0], device), edge_order=2)
    with pytest.raises(RuntimeError, match="one per dim"):
        mg.gradient(m, spacing=[1.0])
    with pytest.raises(ValueError, match="edge_order must be 1 or 2"):
        mg.gradient(m, edge_order=3)


@given(data=st.data())
def test_numerical_calculus_matches_numpy(data):
    """NumPy's np.gradient and the trapezoid formula written out with NumPy."""
    y = data.draw(arrays(min_dims=1, max_dims=3, min_side=3, max_side=5))
    d = data.draw(st.integers(-y.ndim, y.ndim - 1))
    n = y.shape[d]
    x = np.cumsum(data.draw(arrays(shape=(n,), min_value=0.2, max_value=2.0)))
    edge = data.draw(st.sampled_from([1, 2]))
    (g,) = mg.gradient(mg.tensor(y), spacing=[mg.tensor(x)], dim=d, edge_order=edge)
    np.testing.assert_allclose(g.numpy(), np.gradient(y, x, axis=d, edge_order=edge),
                               rtol=1e-10, atol=1e-10)
    (g,) = mg.gradient(mg.tensor(y), spacing=0.7, dim=d, edge_order=edge)
    np.testing.assert_allclose(g.numpy(), np.gradient(y, 0.7, axis=d, edge_order=edge),
                               rtol=1e-10, atol=1e-10)
    ym = np.moveaxis(y, d, -1)
    terms = (ym[..., 1:] + ym[..., :-1]) / 2 * np.diff(x)
    np.testing.assert_allclose(mg.trapezoid(mg.tensor(y), mg.tensor(x), dim=d).numpy(),
                               terms.sum(-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        mg.cumulative_trapezoid(mg.tensor(y), mg.tensor(x), dim=d).numpy(),
        np.moveaxis(np.cumsum(terms, -1), -1, d), rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_gradcheck_of_numerical_calculus(data, device):
    y = data.draw(arrays(min_dims=1, max_dims=2, min_side=3, max_side=4))
    n = y.shape[-1]
    x = np.cumsum(data.draw(arrays(shape=(n,), min_value=0.3, max_value=2.0)))
    _gradcheck(lambda t: mg.trapezoid(t, dx=0.3), y, device=device)
    _gradcheck(lambda t, s: mg.cumulative_trapezoid(t, s), y, x, device=device)
    _gradcheck(lambda t: mg.gradient(t, edge_order=2)[-1], y, device=device)
    _gradcheck(lambda t, s: mg.gradient(t, spacing=[s], dim=-1, edge_order=2)[0], y, x,
               device=device)


def test_numerical_calculus_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    y = rng.standard_normal((3, 5))
    x = np.cumsum(rng.uniform(0.2, 1.0, 5))
    np.testing.assert_allclose(mg.trapezoid(mg.tensor(y), mg.tensor(x)).numpy(),
                               torch.trapezoid(torch.tensor(y), torch.tensor(x)).numpy())
    np.testing.assert_allclose(
        mg.cumulative_trapezoid(mg.tensor(y), dx=0.2, dim=0).numpy(),
        torch.cumulative_trapezoid(torch.tensor(y), dx=0.2, dim=0).numpy())
    for spacing, edge in itertools.product((1.0, [0.5, 2.0]), (1, 2)):
        mine = mg.gradient(mg.tensor(y), spacing=spacing, edge_order=edge)
        theirs = torch.gradient(torch.tensor(y), spacing=spacing, edge_order=edge)
        for m, t in zip(mine, theirs):
            np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
    coords = [np.cumsum(rng.uniform(0.2, 1.0, 3)), x]
    mine = mg.gradient(mg.tensor(y), spacing=[mg.tensor(c) for c in coords], edge_order=2)
    theirs = torch.gradient(torch.tensor(y), spacing=[torch.tensor(c) for c in coords],
                            edge_order=2)
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ windows

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


def test_windows_by_hand(device):
    assert mg.hann_window(4, device=device).tolist() == [0.0, 0.5, 1.0, 0.5]
    assert_close(mg.hann_window(5, periodic=False, dtype=mg.float64, device=device),
                 [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-15)
    assert mg.bartlett_window(5, periodic=False, device=device).tolist() == \
        [0.0, 0.5, 1.0, 0.5, 0.0]
    assert_close(mg.hamming_window(3, periodic=False, dtype=mg.float64, device=device),
                 [0.08, 1.0, 0.08], atol=1e-15)
    k = mg.kaiser_window(3, periodic=False, beta=2.0, dtype=mg.float64, device=device)
    assert_close(k, [1 / np.i0(2.0), 1.0, 1 / np.i0(2.0)], atol=1e-15)
    for name in WINDOWS:
        make = getattr(mg, name)
        assert make(0, device=device).shape == (0,)
        assert make(1, device=device).tolist() == [1.0]
        assert make(6, device=device).dtype == mg.float32
        w = make(8, requires_grad=True, dtype=mg.float64, device=device)
        assert w.requires_grad and w.dtype == mg.float64
        symmetric = make(9, periodic=False, dtype=mg.float64, device=device).tolist()
        np.testing.assert_allclose(make(8, dtype=mg.float64, device=device).tolist(),
                                   symmetric[:8])         # periodic = symmetric of N + 1
    with pytest.raises(ValueError, match="non-negative integer"):
        mg.hann_window(-1)
    with pytest.raises(TypeError, match="floating dtype"):
        mg.hann_window(4, dtype=mg.int64)


def test_symmetric_windows_match_numpy():
    for mine, theirs in ((mg.hann_window, np.hanning), (mg.hamming_window, np.hamming),
                         (mg.blackman_window, np.blackman), (mg.bartlett_window, np.bartlett)):
        np.testing.assert_allclose(mine(7, periodic=False, dtype=mg.float64).numpy(),
                                   theirs(7), atol=1e-15)
    np.testing.assert_allclose(mg.kaiser_window(7, False, 5.0, dtype=mg.float64).numpy(),
                               np.kaiser(7, 5.0), atol=1e-15)


def test_windows_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, n, periodic in itertools.product(WINDOWS, (0, 1, 2, 5, 8), (True, False)):
        mine = getattr(mg, name)(n, periodic, dtype=mg.float64).numpy()
        theirs = getattr(torch, name)(n, periodic, dtype=torch.float64).numpy()
        np.testing.assert_allclose(mine, theirs, atol=1e-12, err_msg=f"{name}({n})")


# ------------------------------------------------------------------ dtypes, printing, misc


def test_dtype_helpers():
    assert mg.finfo().eps == np.finfo(np.float32).eps
    assert mg.finfo(mg.float16).max == 65504 and mg.iinfo(mg.int8).min == -128
    assert mg.iinfo(mg.uint8).max == 255
    with pytest.raises(TypeError, match="floating dtype"):
        mg.finfo(mg.int32)
    with pytest.raises(TypeError, match="integer dtype"):
        mg.iinfo(mg.float32)
    assert mg.promote_types(mg.int64, mg.float16) == mg.float16
    assert mg.promote_types(mg.uint8, mg.int8) == mg.int16
    assert mg.promote_types(mg.bool, mg.int32) == mg.int32
    assert mg.can_cast(mg.float64, mg.float16) and not mg.can_cast(mg.float32, mg.int64)
    assert not mg.can_cast(mg.int32, mg.bool) and mg.can_cast(mg.bool, mg.uint8)
    assert mg.result_type(_t([1, 2]), 1.0) == mg.float32
    assert mg.result_type(_t([1, 2]), 1) == mg.int64
    assert mg.result_type(_t([1.0], dtype=mg.float16), _t(1.0, dtype=mg.float64)) == \
        mg.float16
    assert mg.result_type(1, 2.0) == mg.float32
    assert not mg.is_complex(_t([1.0]))


def test_dtype_helpers_match_pytorch():
    torch = pytest.importorskip("torch")
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
             "float64"]
    for a, b in itertools.product(names, names):
        mine = mg.promote_types(getattr(mg, a), getattr(mg, b))
        assert str(mine) == str(torch.promote_types(getattr(torch, a), getattr(torch, b))
                                ).replace("torch.", ""), (a, b)
        assert mg.can_cast(getattr(mg, a), getattr(mg, b)) == \
            torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


def test_set_printoptions():
    try:
        mg.set_printoptions(precision=2)
        assert repr(mg.tensor([1 / 3, 2.0])) == "tensor([0.33, 2.  ])"
        mg.set_printoptions(sci_mode=True, precision=3)
        assert repr(mg.tensor([1.5, 2e-5])) == "tensor([1.500e+00, 2.000e-05])"
        mg.set_printoptions(threshold=4, edgeitems=1)
        assert repr(mg.arange(10)) == "tensor([0, ..., 9])"
        mg.set_printoptions(profile="full")
        assert "..." not in repr(mg.arange(2000))
        with pytest.raises(ValueError, match="profile must be one of"):
            mg.set_printoptions(profile="long")
        with pytest.raises(ValueError, match="precision must be non-negative"):
            mg.set_printoptions(precision=-1)
    finally:
        mg.set_printoptions(profile="default")
    assert repr(mg.tensor([1 / 3])) == "tensor([0.33333334])"
    assert repr(mg.arange(1000.0)) == "tensor([  0.,   1.,   2., ..., 997., 998., 999.])"


def test_norm_function(device):
    a = np.array([[3.0, 0.0], [0.0, 4.0]])
    x = _t(a, device, dtype=mg.float64)
    assert mg.norm(x).item() == 5.0 and x.norm().item() == 5.0
    assert mg.norm(x, "nuc").item() == 7.0
    assert mg.norm(x, 1, dim=1).tolist() == [3.0, 4.0]
    assert mg.norm(_t([3, 4], device), dtype=mg.float64).item() == 5.0
    assert mg.norm(x, float("inf")).item() == 4.0
    assert math.isclose(mg.norm(x, 3).item(), (27 + 64) ** (1 / 3))


def test_seed_reseeds_every_generator_and_can_be_repeated():
    s = mg.seed()
    assert mg.initial_seed() == s and 0 <= s < 2**64
    a = mg.randn(4).tolist()
    mg.manual_seed(s)
    assert mg.randn(4).tolist() == a
    assert mg.seed() != s                       # fresh entropy each time
    mg.manual_seed(0)
