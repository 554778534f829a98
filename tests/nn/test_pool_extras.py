"""3-D pooling (max, average, adaptive), return_indices in PyTorch's flat per-plane
convention, max unpooling and LP (power-average) pooling: values by hand and against
window-by-window NumPy references written from the definitions (ragged sizes, padding,
dilation, ceil_mode), gradcheck in float64 with random cotangents, gradgradcheck, reprs
(PyTorch's text) and errors. The PyTorch oracle tests at the end import torch themselves
and skip without it."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import arrays, assert_close


def T(a, device="cpu", requires_grad=True):
    a = np.asarray(a)
    return mg.tensor(a, device=device, requires_grad=requires_grad and a.dtype.kind == "f")


def out_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size: ⌊ or ⌈ (n + 2p − d(k − 1) − 1)/s ⌉ + 1, minus the last
    window when ceil_mode lets it start in the right padding."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def windows_of(size, kernel, stride, padding, dilation, ceil_mode):
    """For every output position: the in-range input positions of its window (the taps
    per dim) and the number of positions its window covers of the padded input, clipped
    at the end of the padding (PyTorch's count_include_pad divisor)."""
    outs = [out_size(*a, ceil_mode) for a in zip(size, kernel, stride, padding, dilation)]
    for pos in itertools.product(*map(range, outs)):
        taps, padded = [], 1
        for o, n, k, s, p, d in zip(pos, size, kernel, stride, padding, dilation):
            start = o * s - p
            taps.append([start + i * d for i in range(k) if 0 <= start + i * d < n])
            padded *= min(start + d * (k - 1) + 1, n + p) - start
        yield pos, taps, padded, outs


def pool_reference(x, kernel, stride, padding, dilation, ceil_mode, op):
    """Max (values, flat indices of the first maximum in row-major order) or average
    (count_include_pad True and False) pooling of the trailing len(kernel) dims."""
    n = len(kernel)
    size = x.shape[-n:]
    lead = x.shape[:-n]
    results = None
    for pos, taps, padded, outs in windows_of(size, kernel, stride, padding, dilation,
                                              ceil_mode):
        if results is None:
            results = [np.zeros(lead + tuple(outs)), np.zeros(lead + tuple(outs), np.int64)]
        flat = [np.ravel_multi_index(t, size) for t in itertools.product(*taps)]
        vals = x.reshape(lead + (-1,))[..., flat]
        at = (Ellipsis,) + pos
        if op == "max":
            results[0][at] = vals.max(-1)
            results[1][at] = np.asarray(flat)[vals.argmax(-1)]
        else:
            results[0][at] = vals.sum(-1) / padded          # count_include_pad=True
            results[1] = results[1].astype(np.float64)
            results[1][at] = vals.sum(-1) / len(flat)      # count_include_pad=False
    return results


@st.composite
def pool3d_cases(draw, dilate=True):
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) if dilate else 1 for _ in range(3))
    padding = tuple(draw(st.integers(0, (d * (k - 1) + 1) // 2))
                    for k, d in zip(kernel, dilation))
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 5))
                 for k, d, p in zip(kernel, dilation, padding))
    lead = (draw(st.integers(1, 2)),) if draw(st.booleans()) else (2, draw(st.integers(1, 2)))
    x = draw(arrays(shape=lead + size, unique=True))
    return x, kernel, stride, padding, dilation, draw(st.booleans())


# ------------------------------------------------------------------ max_pool3d


def test_max_pool3d_by_hand():
    """arange(64) in a 4×4×4 volume: each 2×2×2 window's maximum is its last voxel, and
    its flat index equals its value."""
    x = mg.arange(64.0).reshape(1, 1, 4, 4, 4)
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    assert y.tolist() == [[[[[21.0, 23.0], [29.0, 31.0]], [[53.0, 55.0], [61.0, 63.0]]]]]
    assert idx.dtype == mg.int64 and idx.tolist() == y.numpy().astype(int).tolist()
    # ceil_mode on a ragged 3×3×5 volume keeps the partial last windows
    y = F.max_pool3d(mg.arange(45.0).reshape(1, 3, 3, 5), 2, ceil_mode=True)  # unbatched
    assert y.tolist() == [[[[21.0, 23.0, 24.0], [26.0, 28.0, 29.0]],
                           [[36.0, 38.0, 39.0], [41.0, 43.0, 44.0]]]]
    assert F.max_pool3d(mg.arange(45.0).reshape(1, 3, 3, 5), 2).shape == (1, 1, 1, 2)
    # a tie takes the first maximum in row-major order, and it alone gets the gradient
    x = mg.zeros(1, 2, 2, 2, requires_grad=True)
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    y.sum().backward()
    assert idx.tolist() == [[[[0]]]] and x.grad.numpy().ravel().tolist() == [1] + [0] * 7


def has_an_empty_window(x, kernel, stride, padding, dilation, ceil_mode):
    """Whether a dilated window's taps all fall in the padding (its maximum is −inf; PyTorch
    then reports an index outside the plane, which is nothing to compare with)."""
    return any(not all(taps) for _, taps, _, _ in windows_of(x.shape[-len(kernel):], kernel,
                                                             stride, padding, dilation,
                                                             ceil_mode))


@given(case=pool3d_cases())
def test_max_pool3d_matches_the_definition_and_gradcheck(case, device):
    x, kernel, stride, padding, dilation, ceil_mode = case
    assume(not has_an_empty_window(*case))
    y, idx = F.max_pool3d(T(x, device), kernel, stride, padding, dilation, ceil_mode, True)
    y_ref, idx_ref = pool_reference(x, kernel, stride, padding, dilation, ceil_mode, "max")
    assert_close(y, y_ref, rtol=0)
    np.testing.assert_array_equal(idx.cpu().numpy(), idx_ref)
    assert mg.gradcheck(lambda x: F.max_pool3d(x, kernel, stride, padding, dilation,
                                               ceil_mode), (T(x, device),))


@settings(max_examples=8)
@given(case=pool3d_cases(), undilated=pool3d_cases(dilate=False))
def test_max_and_avg_pool3d_gradgradcheck(case, undilated):
    x, kernel, stride, padding, dilation, ceil_mode = case
    assume(not has_an_empty_window(*case))
    assert mg.gradgradcheck(lambda x: F.max_pool3d(x, kernel, stride, padding, dilation,
                                                   ceil_mode), (T(x),))
    x, kernel, stride, padding, _, ceil_mode = undilated
    assert mg.gradgradcheck(lambda x: F.avg_pool3d(x, kernel, stride, padding, ceil_mode),
                            (T(x),))


def test_return_indices_1d_2d_follow_the_flat_plane_convention():
    """Indices count positions of the unpadded input plane: l in 1-D, h·W + w in 2-D, with
    padding, dilation and ceil_mode; the modules return them with return_indices=True."""
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * 11).reshape(2, 3, 11).astype(float)
    y, idx = nn.MaxPool1d(3, stride=2, padding=1, dilation=2, return_indices=True,
                          ceil_mode=True)(T(x))
    y_ref, idx_ref = pool_reference(x, (3,), (2,), (1,), (2,), True, "max")
    assert_close(y, y_ref, rtol=0)
    np.testing.assert_array_equal(idx.numpy(), idx_ref)
    x = rng.permutation(3 * 7 * 6).reshape(3, 7, 6).astype(float)            # unbatched
    y, idx = nn.MaxPool2d((3, 2), stride=(2, 3), padding=(1, 0), return_indices=True,
                          ceil_mode=True)(T(x))
    y_ref, idx_ref = pool_reference(x, (3, 2), (2, 3), (1, 0), (1, 1), True, "max")
    assert_close(y, y_ref, rtol=0)
    np.testing.assert_array_equal(idx.numpy(), idx_ref)


def test_max_pool3d_indices_with_a_large_dilation():
    """Kernel offsets are small ints; times a dilation of 70 they must not overflow."""
    x = np.zeros((1, 1, 1, 1, 150))
    x[..., 140] = 1.0
    y, idx = F.max_pool3d(T(x), (1, 1, 3), (1, 1, 200), dilation=70, return_indices=True)
    assert y.item() == 1.0 and idx.item() == 140


# ------------------------------------------------------------------ avg_pool3d


def test_avg_pool3d_by_hand():
    x = mg.arange(8.0).reshape(1, 1, 2, 2, 2)
    assert F.avg_pool3d(x, 2).item() == 3.5
    assert F.avg_pool3d(x, 2, divisor_override=2).item() == 14.0
    # padding 1, stride 2: the corner window holds one real voxel among 8 padded ones
    y = F.avg_pool3d(x, 2, stride=2, padding=1)
    assert y.shape == (1, 1, 2, 2, 2) and y[0, 0, 0, 0, 0].item() == 0.0 / 8
    assert y[0, 0, 1, 1, 1].item() == 7.0 / 8
    y = F.avg_pool3d(x, 2, stride=2, padding=1, count_include_pad=False)
    assert y.numpy().ravel().tolist() == list(range(8))


@given(case=pool3d_cases(dilate=False), count_include_pad=st.booleans())
def test_avg_pool3d_matches_the_definition_and_gradcheck(case, count_include_pad, device):
    x, kernel, stride, padding, _, ceil_mode = case
    y = F.avg_pool3d(T(x, device), kernel, stride, padding, ceil_mode, count_include_pad)
    with_pad, without = pool_reference(x, kernel, stride, padding, (1, 1, 1), ceil_mode, "avg")
    assert_close(y, with_pad if count_include_pad else without, rtol=1e-12, atol=1e-14)
    assert mg.gradcheck(lambda x: F.avg_pool3d(x, kernel, stride, padding, ceil_mode,
                                               count_include_pad, 3), (T(x, device),))


# ------------------------------------------------------------------ adaptive 3-D


def adaptive_windows(n_in, n_out):
    return [(i * n_in // n_out, -(-(i + 1) * n_in // n_out)) for i in range(n_out)]


def adaptive_reference(x, out):
    """Average, maximum and the flat index of the first maximum of every box."""
    size = x.shape[-3:]
    lead = x.shape[:-3]
    avg, mx = np.empty(lead + out), np.empty(lead + out)
    idx = np.empty(lead + out, np.int64)
    boxes = [adaptive_windows(n, o) for n, o in zip(size, out)]
    for pos in itertools.product(*map(range, out)):
        (a, b), (c, d), (e, f) = (boxes[k][pos[k]] for k in range(3))
        box = x[..., a:b, c:d, e:f]
        flat = box.reshape(lead + (-1,))
        k = flat.argmax(-1)
        t, h, w = np.unravel_index(k, box.shape[-3:])
        avg[(Ellipsis,) + pos] = flat.mean(-1)
        mx[(Ellipsis,) + pos] = flat.max(-1)
        idx[(Ellipsis,) + pos] = np.ravel_multi_index((a + t, c + h, e + w), size)
    return avg, mx, idx


@st.composite
def adaptive_cases(draw):
    lead = tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=2)))
    size = tuple(draw(st.integers(1, 5)) for _ in range(3))
    out = tuple(draw(st.integers(1, 6)) for _ in range(3))
    return draw(arrays(shape=lead + size, unique=True)), out


@given(case=adaptive_cases())
def test_adaptive_pool3d_matches_the_definition_and_gradcheck(case, device):
    x, out = case
    avg, mx, idx = adaptive_reference(x, out)
    assert_close(F.adaptive_avg_pool3d(T(x, device), out), avg, rtol=1e-12, atol=1e-14)
    y, i = F.adaptive_max_pool3d(T(x, device), out, return_indices=True)
    assert_close(y, mx, rtol=0)
    np.testing.assert_array_equal(i.cpu().numpy(), idx)
    assert mg.gradcheck(lambda x: F.adaptive_avg_pool3d(x, out), (T(x, device),))
    assert mg.gradcheck(lambda x: F.adaptive_max_pool3d(x, out), (T(x, device),))


def test_adaptive_pool3d_by_hand_and_ties():
    x = mg.arange(8.0).reshape(1, 2, 2, 2)
    assert F.adaptive_avg_pool3d(x, 1).item() == 3.5
    assert F.adaptive_avg_pool3d(x, (2, None, 1)).tolist() == [[[[0.5], [2.5]], [[4.5], [6.5]]]]
    assert nn.AdaptiveAvgPool3d((None, 1, 2))(x).shape == (1, 2, 1, 2)
    y, i = F.adaptive_max_pool3d(mg.ones(1, 3, 3, 3), 2, return_indices=True)
    # every box's first voxel in row-major order: boxes start at 0 and 1 along each dim
    assert i.tolist() == [[[[0, 1], [3, 4]], [[9, 10], [12, 13]]]]
    assert mg.gradgradcheck(lambda x: F.adaptive_max_pool3d(x, (2, 1, 2)),
                            (T(np.random.default_rng(1).permutation(27).reshape(1, 3, 3, 3)
                               .astype(float)),))


# ------------------------------------------------------------------ max unpooling


def test_max_unpool_places_values_at_their_indices():
    x = T(np.array([[[5.0, 7.0]]]))
    assert F.max_unpool1d(x, mg.tensor([[[1, 2]]]), 2).tolist() == [[[0.0, 5.0, 7.0, 0.0]]]
    y, i = F.max_pool2d(mg.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    assert F.max_unpool2d(y, i, 2).tolist() == [[[[0, 0, 0, 0], [0, 5, 0, 7], [0, 0, 0, 0],
                                                  [0, 13, 0, 15]]]]
    # a ragged 5×5 input pools to 2×2; output_size brings the 5×5 plane back
    x = mg.arange(25.0).reshape(1, 5, 5)
    y, i = nn.MaxPool2d(2, return_indices=True)(x)
    z = nn.MaxUnpool2d(2)(y, i, output_size=x.shape[-2:])
    assert z.shape == (1, 5, 5)
    assert np.flatnonzero(z.numpy()).tolist() == [6, 8, 16, 18]
    assert z.numpy().ravel()[[6, 8, 16, 18]].tolist() == [6.0, 8.0, 16.0, 18.0]


@given(case=pool3d_cases(dilate=False))
def test_max_unpool3d_inverts_max_pool3d_on_the_maxima(case, device):
    """unpool(max_pool(x)) = x at each window's maximum, 0 elsewhere; gradcheck of unpool
    where the indices are distinct (overlapping windows may report one maximum twice, and
    then PyTorch's gradient, a gather, is not the derivative of the write)."""
    x, kernel, stride, padding, _, _ = case
    y, idx = F.max_pool3d(T(x, device), kernel, stride, padding, return_indices=True)
    size = x.shape[-3:]
    z = F.max_unpool3d(y, idx, kernel, stride, padding, output_size=size)
    planes = x.reshape(-1, math.prod(size))
    flat = idx.cpu().numpy().reshape(len(planes), -1)
    expected = np.zeros(planes.shape)
    np.put_along_axis(expected, flat, np.take_along_axis(planes, flat, -1), -1)
    assert_close(z, expected.reshape(x.shape), rtol=0)
    if all(len(np.unique(row)) == row.size for row in flat):
        v = T(y.cpu().numpy(), device)
        assert mg.gradcheck(lambda v: F.max_unpool3d(v, idx, kernel, stride, padding,
                                                     output_size=size), (v,))


def test_max_unpool_gradient_is_a_gather_and_gradgradcheck(device):
    rng = np.random.default_rng(2)
    x = rng.permutation(2 * 4 * 6 * 4).reshape(2, 4, 6, 4).astype(float)
    y, i = F.max_pool2d(T(x, device), 2, return_indices=True)
    v = T(y.cpu().numpy(), device)
    z = F.max_unpool2d(v, i, 2)
    g = rng.standard_normal(z.shape)
    z.backward(mg.tensor(g, device=device))
    expected = np.take_along_axis(g.reshape(2, 4, -1), i.cpu().numpy().reshape(2, 4, -1), -1)
    assert_close(v.grad, expected.reshape(y.shape), rtol=0)
    assert mg.gradgradcheck(lambda v: F.max_unpool2d(v, i, 2), (T(y.cpu().numpy(), device),))
    x1 = rng.permutation(12).reshape(2, 6).astype(float)                       # unbatched
    y1, i1 = F.max_pool1d(T(x1, device), 3, return_indices=True)
    assert mg.gradcheck(lambda v: nn.MaxUnpool1d(3)(v, i1), (T(y1.cpu().numpy(), device),))


def test_max_unpool_errors_and_reprs():
    y, i = F.max_pool2d(mg.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"max_unpool2d: invalid output_size \(6, 4\) \(dim 0 "
                                         r"must be between 2 and 6"):
        F.max_unpool2d(y, i, 2, output_size=(6, 4))
    with pytest.raises(ValueError, match="output_size should have 2 or 4 elements"):
        F.max_unpool2d(y, i, 2, output_size=(4, 4, 4))
    with pytest.raises(ValueError, match="invalid max index 15: the output planes \\(3, 3\\)"):
        F.max_unpool2d(y, i, 2, stride=1)
    with pytest.raises(ValueError, match="indices must be an integer tensor of the input's"):
        F.max_unpool2d(y, i[..., :1], 2)
    with pytest.raises(ValueError, match="indices must be an integer tensor"):
        F.max_unpool2d(y, y, 2)
    with pytest.raises(ValueError, match=r"max_unpool3d: expected 4-D \(unbatched\) or 5-D"):
        F.max_unpool3d(y[0, 0], i[0, 0], 2)
    with pytest.raises(ValueError, match="1-tuple"):
        F.max_unpool1d(y[0], i[0], (2, 2))
    assert repr(nn.MaxUnpool1d(2)) == "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.MaxUnpool2d(2)) == ("MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), "
                                       "padding=(0, 0))")
    assert repr(nn.MaxUnpool3d(2, 1, 1)) == ("MaxUnpool3d(kernel_size=(2, 2, 2), "
                                             "stride=(1, 1, 1), padding=(1, 1, 1))")


# ------------------------------------------------------------------ LP pooling


def test_lp_pool_by_hand():
    x = mg.tensor([[3.0, 4.0, 1.0, -1.0, -2.0, 0.5]])
    # p = 2: √(Σ x²) over each window
    assert_close(F.lp_pool1d(x, 2, 2), np.array([[5.0, math.sqrt(2), math.sqrt(4.25)]]),
                 rtol=1e-6)
    # p = 1 is sum pooling, signs and all
    assert_close(F.lp_pool1d(x, 1, 2), np.array([[7.0, 0.0, -1.5]]), rtol=1e-6)
    assert_close(F.lp_pool1d(x, 1, 3, stride=1), np.array([[8.0, 4.0, -2.0, -2.5]]),
                 rtol=1e-6)
    # p = 3 with a negative window sum is NaN (a negative base to the power 1/3)
    y = F.lp_pool1d(x, 3, 2).numpy()
    assert np.isclose(y[0, 0], 91 ** (1 / 3)) and y[0, 1] == 0.0 and np.isnan(y[0, 2])
    # p = ±inf: the largest (smallest) |x| of each window
    assert F.lp_pool1d(x, math.inf, 2).tolist() == [[4.0, 1.0, 2.0]]
    assert F.lp_pool1d(x, -math.inf, 3).tolist() == [[1.0, 0.5]]


def test_lp_pool_p1_is_sum_pooling_in_2d_and_3d(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 6, 4))
    X = T(x, device)
    assert_close(F.lp_pool3d(X, 1, (2, 3, 2), stride=(1, 2, 2)),
                 F.avg_pool3d(X, (2, 3, 2), (1, 2, 2), divisor_override=1), rtol=1e-12)
    assert_close(F.lp_pool2d(X[0], 1, 2), F.avg_pool2d(X[0], 2) * 4, rtol=1e-12)
    # p = 2 on a 3-D window by hand
    assert_close(F.lp_pool3d(X, 2, 2)[0, 0, 0, 0, 0],
                 np.sqrt((x[0, 0, :2, :2, :2] ** 2).sum()), rtol=1e-12)


def test_lp_pool_ceil_mode_rescales_partial_windows_as_pytorch():
    """PyTorch computes avg_pool(x^p)·K: a ceil_mode window that hangs over the end is
    averaged over its real elements, then multiplied by the full kernel size."""
    x = mg.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    y = F.lp_pool1d(x, 2, 2, ceil_mode=True)
    assert_close(y, np.array([[math.sqrt(5), 5.0, math.sqrt(25 * 2)]]), rtol=1e-6)


def test_lp_pool_gradients(device):
    rng = np.random.default_rng(4)
    x = T(rng.uniform(0.5, 2.0, (2, 2, 3, 5, 4)), device)
    assert mg.gradcheck(lambda x: F.lp_pool3d(x, 3, (2, 2, 3), stride=1), (x,))
    assert mg.gradcheck(lambda x: F.lp_pool2d(x[0], 1.5, 2, ceil_mode=True), (x,))
    assert mg.gradcheck(lambda x: F.lp_pool1d(x[0, 0, 0], 2, 2, 3, True), (x,))
    assert mg.gradgradcheck(lambda x: F.lp_pool2d(x[0, 0], 2, (2, 3)), (x,))
    # a window of zeros: value 0 and gradient 0 (not 0·∞), as PyTorch documents
    z = mg.zeros(1, 4, requires_grad=True, dtype=mg.float64)
    y = F.lp_pool1d(z, 2, 2)
    y.sum().backward()
    assert y.tolist() == [[0.0, 0.0]] and z.grad.tolist() == [[0.0] * 4]


def test_lp_pool_modules_and_errors():
    assert repr(nn.LPPool1d(2, 3)) == "LPPool1d(norm_type=2, kernel_size=3, stride=None, " \
                                      "ceil_mode=False)"
    assert repr(nn.LPPool2d(1.5, 2, 1, True)) == ("LPPool2d(norm_type=1.5, kernel_size=2, "
                                                  "stride=1, ceil_mode=True)")
    assert nn.LPPool3d(2, (2, 1, 2))(mg.ones(1, 2, 4, 3, 4)).shape == (1, 2, 2, 3, 2)
    assert nn.LPPool2d(2, 2)(mg.ones(3, 4, 4)).shape == (3, 2, 2)
    with pytest.raises(ValueError, match=r"lp_pool3d: expected 4-D \(unbatched\) or 5-D"):
        F.lp_pool3d(mg.ones(4, 4, 4), 2, 2)
    with pytest.raises(ValueError, match="norm_type must be non-zero"):
        F.lp_pool2d(mg.ones(1, 4, 4), 0, 2)


# ------------------------------------------------------------------ modules, errors


def test_3d_pool_modules_and_reprs():
    assert repr(nn.MaxPool3d(2)) == ("MaxPool3d(kernel_size=2, stride=2, padding=0, "
                                     "dilation=1, ceil_mode=False)")
    m = nn.MaxPool3d((2, 1, 2), stride=1, padding=(1, 0, 1), return_indices=True,
                     ceil_mode=True)
    assert repr(m) == ("MaxPool3d(kernel_size=(2, 1, 2), stride=1, padding=(1, 0, 1), "
                       "dilation=1, ceil_mode=True)")
    y, i = m(mg.randn(2, 3, 4, 5))
    assert y.shape == i.shape == (2, 4, 4, 6)
    assert repr(nn.AvgPool3d(3, 2, 1, True, False, 5)) == ("AvgPool3d(kernel_size=3, stride=2, "
                                                           "padding=1)")
    assert nn.AvgPool3d(2, divisor_override=1)(mg.ones(1, 2, 2, 2)).item() == 8.0
    assert repr(nn.AdaptiveAvgPool3d((2, None, 3))) == ("AdaptiveAvgPool3d(output_size="
                                                         "(2, None, 3))")
    assert repr(nn.AdaptiveMaxPool3d(2, return_indices=True)) == ("AdaptiveMaxPool3d("
                                                                  "output_size=2)")
    y, i = nn.AdaptiveMaxPool3d((1, 2, 1), return_indices=True)(mg.randn(3, 4, 5, 6))
    assert y.shape == i.shape == (3, 1, 2, 1)


def test_3d_pool_errors():
    with pytest.raises(ValueError, match=r"max_pool3d: expected 4-D \(unbatched\) or 5-D input"):
        F.max_pool3d(mg.zeros(4, 4, 4), 2)
    with pytest.raises(ValueError, match=r"padding \(2, 0, 0\) should be at most half"):
        F.max_pool3d(mg.zeros(1, 8, 8, 8), 3, padding=(2, 0, 0))
    with pytest.raises(ValueError, match=r"kernel size \(3, 3, 3\) \(dilated: \(3, 3, 3\)\) is "
                                         r"larger than the padded input size \(2, 4, 4\)"):
        nn.AvgPool3d(3)(mg.zeros(1, 1, 2, 4, 4))
    with pytest.raises(ValueError, match="expected an int or a triple for kernel_size"):
        F.avg_pool3d(mg.zeros(1, 4, 4, 4), (2, 2))
    with pytest.raises(ValueError, match="divisor_override must be non-zero"):
        F.avg_pool3d(mg.zeros(1, 4, 4, 4), 2, divisor_override=0)
    with pytest.raises(ValueError, match="adaptive_avg_pool3d: output_size must be an int or "
                                         "a triple"):
        F.adaptive_avg_pool3d(mg.zeros(1, 4, 4, 4), (2, 2))
    with pytest.raises(ValueError, match="adaptive_max_pool3d: output_size must be positive"):
        F.adaptive_max_pool3d(mg.zeros(1, 4, 4, 4), (2, 0, 2))
    with pytest.raises(ValueError, match="adaptive_max_pool3d: expected a non-empty"):
        F.adaptive_max_pool3d(mg.zeros(1, 0, 4, 4), 2)


# ------------------------------------------------------------------ PyTorch oracle


def _oracle(ours, theirs, x, extra=(), torch_extra=()):
    """Values (and indices), and the input gradient for a random cotangent, equal."""
    torch = pytest.importorskip("torch")
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = ours(xm, *extra), theirs(xt, *torch_extra)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(ym[1].numpy(), yt[1].numpy())
        ym, yt = ym[0], yt[0]
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(yt.shape)
    ym.backward(mg.tensor(v))
    yt.backward(torch.tensor(v))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert repr(ours) == repr(theirs)


ORACLE_POOLS = [
    ("MaxPool3d", (2,), {}, (2, 3, 4, 5, 6)),
    ("MaxPool3d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "return_indices": True},
     (2, 2, 5, 6, 7)),
    ("MaxPool3d", ((2, 3, 2),), {"stride": (1, 2, 3), "dilation": (2, 1, 1), "padding": (1, 1, 0),
                                 "return_indices": True}, (3, 6, 5, 7)),
    ("MaxPool2d", ((3, 2),), {"stride": 2, "padding": 1, "dilation": (1, 2), "ceil_mode": True,
                              "return_indices": True}, (2, 3, 7, 8)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1, "return_indices": True}, (2, 3, 10)),
    ("AvgPool3d", (2,), {}, (2, 3, 4, 5, 6)),
    ("AvgPool3d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True,
                         "count_include_pad": False}, (2, 2, 5, 6, 7)),
    ("AvgPool3d", ((2, 3, 1),), {"stride": (2, 1, 2), "padding": (1, 1, 0), "ceil_mode": True,
                                 "divisor_override": 5}, (3, 5, 6, 7)),
    ("AdaptiveAvgPool3d", ((2, 3, 4),), {}, (2, 3, 5, 7, 6)),
    ("AdaptiveAvgPool3d", ((None, 1, 3),), {}, (3, 4, 5, 7)),
    ("AdaptiveMaxPool3d", ((2, 3, 4),), {"return_indices": True}, (2, 3, 5, 7, 6)),
    ("AdaptiveMaxPool3d", (3,), {}, (2, 4, 5, 7)),
    ("LPPool1d", (2, 3), {"stride": 2}, (2, 3, 10)),
    ("LPPool1d", (1, 4), {"ceil_mode": True}, (3, 10)),
    ("LPPool2d", (2, (2, 3)), {"stride": (1, 2), "ceil_mode": True}, (2, 3, 7, 8)),
    ("LPPool2d", (float("inf"), 2), {}, (2, 3, 6, 8)),
    ("LPPool3d", (2, 2), {}, (2, 2, 5, 6, 7)),
    ("LPPool3d", (1.5, (2, 1, 3)), {"stride": (1, 2, 2), "ceil_mode": True}, (2, 5, 6, 7)),
]


@pytest.mark.parametrize("name, args, kw, shape", ORACLE_POOLS,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(ORACLE_POOLS)])
def test_pools_against_pytorch(name, args, kw, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(13).standard_normal(shape)
    if name.startswith("LPPool") and args[0] not in (1, 2, float("inf")):
        x = np.abs(x) + 0.1                          # fractional powers of negatives: NaN
    _oracle(getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw), x)


@pytest.mark.parametrize("n, kernel, stride, padding, output_size, shape", [
    (1, 2, None, 0, None, (2, 3, 8)),
    (1, 3, 2, 1, (9,), (3, 9)),
    (2, 2, None, 0, None, (2, 3, 6, 8)),
    (2, (3, 2), (2, 2), (1, 0), (2, 3, 7, 9), (2, 3, 7, 9)),
    (3, 2, None, 0, None, (2, 2, 4, 6, 4)),
    (3, (2, 3, 2), (2, 2, 1), (1, 1, 0), (5, 6, 4), (2, 5, 6, 4)),
])
def test_max_unpool_against_pytorch(n, kernel, stride, padding, output_size, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(14).permutation(math.prod(shape)).reshape(shape).astype(float)
    pool = getattr(torch.nn.functional, f"max_pool{n}d")
    y, i = pool(torch.tensor(x), kernel, stride, padding, return_indices=True)
    ours, theirs = (getattr(m, f"MaxUnpool{n}d")(kernel, stride, padding) for m in (nn, torch.nn))
    _oracle(ours, theirs, y.numpy(), (mg.tensor(i.numpy()), output_size), (i, output_size))
    # and the indices minigrad's pooling returns are PyTorch's
    _, im = getattr(F, f"max_pool{n}d")(mg.tensor(x), kernel, stride, padding,
                                        return_indices=True)
    np.testing.assert_array_equal(im.numpy(), i.numpy())


def test_lp_pool_zero_windows_against_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(15).standard_normal((2, 3, 4, 6, 4))
    x[:, :, :2, :2] = 0.0
    _oracle(nn.LPPool3d(2, 2), torch.nn.LPPool3d(2, 2), x)
    _oracle(nn.LPPool2d(3, 2), torch.nn.LPPool2d(3, 2), x[0])   # negative sums: NaN both
